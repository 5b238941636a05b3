-- Role management policies: one per role at scope '/', its 17 rules as a JSON document
-- (openpim-core's `PolicyRule` serialised). Graph shows every policy twice, as
-- `DirectoryRole_{suffix}` and `Directory_{suffix}`; `id_suffix` is the shared part.
CREATE TABLE role_management_policies (
    id_suffix               TEXT PRIMARY KEY,
    role_definition_id      TEXT NOT NULL UNIQUE REFERENCES role_definitions (id) ON DELETE CASCADE,
    scope_id                TEXT NOT NULL,
    is_organization_default BIGINT NOT NULL,
    last_modified_at        BIGINT,
    last_modified_by_id     TEXT,
    last_modified_by_name   TEXT,
    rules                   TEXT NOT NULL
);
