-- OpenPIM schema. Conventions (shared with the PostgreSQL migrations):
--   ids are lowercase GUID TEXT; instants are BIGINT microseconds since the Unix epoch (UTC);
--   booleans are BIGINT 0/1; JSON documents are TEXT.

CREATE TABLE tenant (
    id          TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    user_principal_name  TEXT NOT NULL,
    upn_lower            TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    mail_nickname        TEXT NOT NULL,
    given_name           TEXT,
    surname              TEXT,
    mail                 TEXT,
    job_title            TEXT,
    department           TEXT,
    account_enabled      BIGINT NOT NULL,
    created_at           BIGINT NOT NULL
);
CREATE INDEX users_display_name ON users (display_name);

CREATE TABLE directory_groups (
    id                     TEXT PRIMARY KEY,
    display_name           TEXT NOT NULL,
    description            TEXT,
    mail_nickname          TEXT NOT NULL,
    mail_enabled           BIGINT NOT NULL,
    security_enabled       BIGINT NOT NULL,
    is_assignable_to_role  BIGINT NOT NULL,
    created_at             BIGINT NOT NULL
);
CREATE INDEX groups_display_name ON directory_groups (display_name);

-- member_type: 'user' | 'group' | 'servicePrincipal'
CREATE TABLE group_members (
    group_id     TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL,
    member_type  TEXT NOT NULL,
    added_at     BIGINT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

CREATE TABLE administrative_units (
    id            TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    description   TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE administrative_unit_members (
    unit_id      TEXT NOT NULL REFERENCES administrative_units (id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL,
    member_type  TEXT NOT NULL,
    added_at     BIGINT NOT NULL,
    PRIMARY KEY (unit_id, member_id)
);
CREATE INDEX administrative_unit_members_member ON administrative_unit_members (member_id);

CREATE TABLE role_definitions (
    id                TEXT PRIMARY KEY,
    template_id       TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    description       TEXT NOT NULL,
    is_built_in       BIGINT NOT NULL,
    is_enabled        BIGINT NOT NULL,
    is_privileged     BIGINT NOT NULL,
    version           TEXT,
    role_permissions  TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    modified_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX role_definitions_display_name ON role_definitions (display_name);

-- Assignment schedules: every active role assignment, direct or PIM, permanent or time-bound.
-- The access index is built from these rows; a row grants during [start_at, end_at).
-- status: Provisioned | Granted (starts later) | Expired (ended; kept for renewals).
CREATE TABLE role_assignments (
    id                  TEXT PRIMARY KEY,
    principal_id        TEXT NOT NULL,
    principal_type      TEXT NOT NULL,
    role_definition_id  TEXT NOT NULL REFERENCES role_definitions (id),
    directory_scope_id  TEXT NOT NULL,
    app_scope_id        TEXT,
    status              TEXT NOT NULL,
    assignment_type     TEXT NOT NULL,
    start_at            BIGINT NOT NULL,
    end_at              BIGINT,
    expiration_type     TEXT NOT NULL,
    duration            TEXT,
    created_using       TEXT,
    activated_using     TEXT,
    created_at          BIGINT NOT NULL,
    modified_at         BIGINT NOT NULL,
    created_by          TEXT
);
-- One live schedule per principal, role and scope: the database, not only the application,
-- refuses a second concurrent activation.
CREATE UNIQUE INDEX role_assignments_live ON role_assignments (principal_id, role_definition_id, directory_scope_id)
    WHERE status <> 'Expired';
CREATE INDEX role_assignments_role ON role_assignments (role_definition_id);
CREATE INDEX role_assignments_activated_using ON role_assignments (activated_using);

-- Eligibility schedules: who may activate which role where, and when.
CREATE TABLE role_eligibilities (
    id                  TEXT PRIMARY KEY,
    principal_id        TEXT NOT NULL,
    principal_type      TEXT NOT NULL,
    role_definition_id  TEXT NOT NULL REFERENCES role_definitions (id),
    directory_scope_id  TEXT NOT NULL,
    app_scope_id        TEXT,
    status              TEXT NOT NULL,
    assignment_type     TEXT,
    start_at            BIGINT NOT NULL,
    end_at              BIGINT,
    expiration_type     TEXT NOT NULL,
    duration            TEXT,
    created_using       TEXT,
    activated_using     TEXT,
    created_at          BIGINT NOT NULL,
    modified_at         BIGINT NOT NULL,
    created_by          TEXT
);
CREATE UNIQUE INDEX role_eligibilities_live ON role_eligibilities (principal_id, role_definition_id, directory_scope_id)
    WHERE status <> 'Expired';
CREATE INDEX role_eligibilities_role ON role_eligibilities (role_definition_id);

-- Schedule requests of both kinds (kind: eligibility | assignment), kept as history.
CREATE TABLE schedule_requests (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    action              TEXT NOT NULL,
    principal_id        TEXT NOT NULL,
    role_definition_id  TEXT NOT NULL,
    directory_scope_id  TEXT NOT NULL,
    justification       TEXT,
    start_at            BIGINT,
    expiration_type     TEXT,
    end_at              BIGINT,
    duration            TEXT,
    ticket_number       TEXT,
    ticket_system       TEXT,
    status              TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    completed_at        BIGINT,
    created_by          TEXT NOT NULL,
    target_schedule_id  TEXT,
    approval_id         TEXT,
    custom_data         TEXT
);
CREATE INDEX schedule_requests_principal ON schedule_requests (kind, principal_id);
CREATE INDEX schedule_requests_status ON schedule_requests (status);

CREATE TABLE audit_log (
    id                      TEXT PRIMARY KEY,
    activity_at             BIGINT NOT NULL,
    category                TEXT NOT NULL,
    activity_display_name   TEXT NOT NULL,
    operation_type          TEXT NOT NULL,
    result                  TEXT NOT NULL,
    result_reason           TEXT NOT NULL,
    initiated_by_user_id    TEXT,
    initiated_by_upn        TEXT,
    target_resources        TEXT NOT NULL,
    additional_details      TEXT NOT NULL,
    correlation_id          TEXT NOT NULL,
    logged_by_service       TEXT NOT NULL
);
CREATE INDEX audit_log_activity_at ON audit_log (activity_at);

-- The change feed: every committed write appends one row; nodes follow it by seq.
CREATE TABLE change_feed (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           BIGINT NOT NULL,
    entity       TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    operation    TEXT NOT NULL
);
