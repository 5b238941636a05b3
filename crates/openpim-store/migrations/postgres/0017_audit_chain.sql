-- The tamper-evident audit chain (openpim_core::audit::chain): each record's place and hash,
-- assigned in the write transaction that inserts it.
ALTER TABLE audit_log ADD COLUMN chain_seq BIGINT;
ALTER TABLE audit_log ADD COLUMN chain_prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN chain_hash TEXT;
CREATE UNIQUE INDEX audit_log_chain_seq ON audit_log (chain_seq);

-- The chain head: one row. Records written before this migration are chained, oldest first,
-- the first time a server opens the database (SHA-256 is not available in SQLite's SQL);
-- `legacy_through` is the last seq chained that way and `legacy_chained_at` when it happened.
CREATE TABLE audit_chain_head (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    chain_version      INTEGER NOT NULL,
    seq                BIGINT NOT NULL,
    hash               TEXT NOT NULL,
    legacy_through     BIGINT,
    legacy_chained_at  BIGINT
);
INSERT INTO audit_chain_head (id, chain_version, seq, hash)
    VALUES (1, 1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Signed checkpoints: "record `seq` has hash `chain_hash`", a compact JWS by the issuer key.
CREATE TABLE audit_checkpoints (
    seq         BIGINT PRIMARY KEY,
    chain_hash  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    key_id      TEXT NOT NULL,
    signature   TEXT NOT NULL
);
