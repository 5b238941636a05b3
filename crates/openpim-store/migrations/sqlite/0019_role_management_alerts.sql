-- PIM security alerts (Graph beta identityGovernance/roleManagementAlerts). One row per alert
-- (id: DirectoryRole_{tenant}_{key}), rewritten by each scan with conditional updates; the
-- incidents of its last scan, each remembering whether a dismissal covered it; configuration
-- overrides (absent: OpenPIM's defaults); refresh operations; the last sign-in seen per user.
CREATE TABLE role_management_alerts (
    id                TEXT PRIMARY KEY,
    scope_id          TEXT NOT NULL,
    scope_type        TEXT NOT NULL,
    is_active         BIGINT NOT NULL,
    incident_count    BIGINT NOT NULL,
    last_modified_at  BIGINT NOT NULL,
    last_scanned_at   BIGINT NOT NULL,
    dismissed_at      BIGINT,
    dismissed_by      TEXT
);

CREATE TABLE role_management_alert_incidents (
    alert_id                  TEXT NOT NULL REFERENCES role_management_alerts (id) ON DELETE CASCADE,
    id                        TEXT NOT NULL,
    assignee_id               TEXT,
    assignee_display_name     TEXT,
    assignee_upn              TEXT,
    role_definition_id        TEXT,
    role_display_name         TEXT,
    role_template_id          TEXT,
    assignment_created_at     BIGINT,
    last_sign_in_at           BIGINT,
    last_activation_at        BIGINT,
    dismissed                 BIGINT NOT NULL,
    PRIMARY KEY (alert_id, id)
);

CREATE TABLE role_management_alert_configurations (
    id                          TEXT PRIMARY KEY,
    is_enabled                  BIGINT NOT NULL,
    global_admin_count          BIGINT,
    percentage_of_global_admins BIGINT,
    duration_seconds            BIGINT,
    modified_at                 BIGINT NOT NULL,
    modified_by                 TEXT
);

-- status: notStarted | running | succeeded | failed
CREATE TABLE role_management_alert_operations (
    id              TEXT PRIMARY KEY,
    scope_id        TEXT NOT NULL,
    scope_type      TEXT NOT NULL,
    alert_id        TEXT,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_action_at  BIGINT NOT NULL,
    created_by      TEXT
);
CREATE INDEX role_management_alert_operations_status ON role_management_alert_operations (status);

CREATE TABLE user_sign_ins (
    user_id         TEXT PRIMARY KEY,
    last_sign_in_at BIGINT NOT NULL
);
