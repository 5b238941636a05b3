-- Notifications waiting to be delivered. Rows are written in the same transaction as the change
-- they announce, so nothing is lost when a receiver is down; a worker delivers and retries.
-- channel: webhook | email; status: pending | sent | failed
CREATE TABLE notification_outbox (
    id               TEXT PRIMARY KEY,
    channel          TEXT NOT NULL,
    event            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    recipients       TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX notification_outbox_due ON notification_outbox (status, next_attempt_at);
