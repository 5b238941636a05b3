-- Web UI sessions. The browser's cookie holds a random session id; only its SHA-256 is stored,
-- so a copy of the database yields no usable cookie. Sign-out deletes the row, which ends the
-- session on every node at once. expires_at never exceeds the signing-in token's own expiry.
CREATE TABLE ui_sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    mfa         BIGINT NOT NULL,
    acrs        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX ui_sessions_user ON ui_sessions (user_id);
CREATE INDEX ui_sessions_expiry ON ui_sessions (expires_at);
