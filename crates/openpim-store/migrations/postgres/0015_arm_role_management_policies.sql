-- Role settings of Azure resource roles (issue #16): one policy per (role definition, ARM scope),
-- not inherited down the hierarchy, as Azure documents. A row exists only once the policy was
-- changed (PATCH); every other (role, scope) answers Azure's defaults (core's
-- `policy::rules::azure_default_rules`). The id is the policy's ARM name, a GUID derived from the
-- role and the scope key (so it is stable before and after the first change). `scope_key` is the
-- ASCII-lowercased scope (ARM compares scopes ignoring case); `scope_id` keeps the text as given.
-- `rules` is the same JSON document as role_management_policies.rules (store records v1).
CREATE TABLE arm_role_management_policies (
    id                    TEXT PRIMARY KEY,
    role_definition_id    TEXT NOT NULL REFERENCES role_definitions (id) ON DELETE CASCADE,
    scope_id              TEXT NOT NULL,
    scope_key             TEXT NOT NULL,
    last_modified_at      BIGINT,
    last_modified_by_id   TEXT,
    last_modified_by_name TEXT,
    rules                 TEXT NOT NULL,
    UNIQUE (role_definition_id, scope_key)
);
CREATE INDEX arm_role_management_policies_scope ON arm_role_management_policies (scope_key);
