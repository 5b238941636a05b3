-- Approvals of activation requests; steps are openpim-core's `ApprovalStep`s as JSON.
-- status: Pending | Approved | Denied | TimedOut | Canceled
CREATE TABLE approvals (
    id            TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL UNIQUE REFERENCES schedule_requests (id),
    requester_id  TEXT NOT NULL,
    status        TEXT NOT NULL,
    steps         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX approvals_pending ON approvals (status, expires_at);

-- At most one activation request waiting for approval per principal, role and scope.
CREATE UNIQUE INDEX schedule_requests_one_pending ON schedule_requests (principal_id, role_definition_id, directory_scope_id)
    WHERE kind = 'assignment' AND status = 'PendingApproval';
