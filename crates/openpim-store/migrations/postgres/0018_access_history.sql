-- Point-in-time access (issue #21): an append-only history of who held what, written by
-- `WriteTx::commit` from the same access-index updates every change already produces
-- (`openpim-store/src/history.rs`). A row is inserted when a grant, membership or group kind
-- starts; the only later write to it sets `closed_at` (once, when still NULL) and shortens
-- `valid_to` to that instant when it ends early. Nothing else ever updates or deletes a row.
-- Instants are microseconds since the Unix epoch, as everywhere in the store.

-- A role held by a principal at a scope (a schedule instance: direct, activated, Azure RBAC or
-- Azure PIM, told apart by `source` and the scope's family). `[valid_from, valid_to)` is when it
-- granted; `valid_to` NULL is open-ended. `grant_id` is the role assignment (schedule) id.
CREATE TABLE grant_history (
    seq BIGSERIAL PRIMARY KEY,
    grant_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    source TEXT NOT NULL,
    grant_start BIGINT,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    recorded_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX grant_history_principal ON grant_history (principal_id, valid_from);
CREATE INDEX grant_history_role ON grant_history (role_definition_id, valid_from);
CREATE INDEX grant_history_open ON grant_history (grant_id) WHERE closed_at IS NULL;

-- `member_id` was a direct member of `group_id` during `[valid_from, valid_to)`.
CREATE TABLE membership_history (
    seq BIGSERIAL PRIMARY KEY,
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    recorded_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX membership_history_member ON membership_history (member_id, valid_from);
CREATE INDEX membership_history_group ON membership_history (group_id, valid_from);
-- The open row of a membership, found on every add and remove (groups can be large).
CREATE INDEX membership_history_open ON membership_history (group_id, member_id) WHERE closed_at IS NULL;

-- What a group passed on to its members during `[valid_from, valid_to)`: directory roles when
-- role-assignable, Azure roles when security-enabled.
CREATE TABLE group_kind_history (
    seq BIGSERIAL PRIMARY KEY,
    group_id TEXT NOT NULL,
    is_assignable_to_role BIGINT NOT NULL,
    is_security_enabled BIGINT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    recorded_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX group_kind_history_group ON group_kind_history (group_id, valid_from);

-- When the history began: the first start after this migration recorded what existed then
-- (earlier history was never kept). One row.
CREATE TABLE access_history_start (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    started_at BIGINT NOT NULL
);
