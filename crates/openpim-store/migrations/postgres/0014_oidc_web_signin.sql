-- Web sign-in through an external OpenID provider (authorization-code flow with PKCE).
--
-- oidc_auth_requests holds one row per sign-in sent to a provider and not yet back: the nonce,
-- the PKCE verifier and what to do afterwards (a pending role activation for MFA step-up). It is
-- keyed by the SHA-256 of the `state` parameter, so the table alone cannot answer a callback, and
-- any node sharing the store can. The callback deletes its row before using it (a replayed
-- callback finds nothing); rows past expires_at are swept when new ones are added.
CREATE TABLE oidc_auth_requests (
    state_hash      TEXT PRIMARY KEY,
    -- SHA-256 of the random value in the browser's short-lived sign-in cookie: the callback must
    -- come from the browser that started the sign-in.
    browser_hash    TEXT NOT NULL,
    issuer          TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    pkce_verifier   TEXT NOT NULL,
    -- The UI session being stepped up (SHA-256 of its id), replaced by the new one.
    replaces_session TEXT,
    -- JSON: the activation to complete after an MFA step-up.
    pending_action  TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);

-- Which provider signed a UI session in, and its ID token (sent back as id_token_hint at
-- sign-out); both empty for sessions opened with a pasted local token.
ALTER TABLE ui_sessions ADD COLUMN issuer TEXT;
ALTER TABLE ui_sessions ADD COLUMN id_token TEXT;
