-- The Azure resource hierarchy (issue #15): management groups, subscriptions, resource groups and
-- resources. ARM compares ids and names ignoring case, so each table keys on the ASCII-lowercased
-- id (`*_key`) and keeps the spelling the resource was created with for display. Tags and the
-- opaque documents of resources are JSON text.

-- `parent_key` is NULL only for the tenant root group (its id is the tenant id).
CREATE TABLE azure_management_groups (
    id_key        TEXT PRIMARY KEY,
    id            TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    parent_key    TEXT REFERENCES azure_management_groups (id_key),
    updated_at    BIGINT NOT NULL,
    updated_by    TEXT
);
CREATE INDEX azure_management_groups_parent ON azure_management_groups (parent_key);

CREATE TABLE azure_subscriptions (
    id                    TEXT PRIMARY KEY,
    display_name          TEXT NOT NULL,
    management_group_key  TEXT NOT NULL REFERENCES azure_management_groups (id_key),
    state                 TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    modified_at           BIGINT NOT NULL
);
CREATE INDEX azure_subscriptions_group ON azure_subscriptions (management_group_key);

-- `scope_key`: "/subscriptions/{id}/resourcegroups/{name}" lowercased.
CREATE TABLE azure_resource_groups (
    scope_key        TEXT PRIMARY KEY,
    subscription_id  TEXT NOT NULL REFERENCES azure_subscriptions (id),
    name             TEXT NOT NULL,
    location         TEXT NOT NULL,
    tags             TEXT NOT NULL,
    managed_by       TEXT,
    created_at       BIGINT NOT NULL,
    modified_at      BIGINT NOT NULL
);
CREATE INDEX azure_resource_groups_subscription ON azure_resource_groups (subscription_id);

-- `scope_key`: the resource id lowercased; child resources sit below their parent's key.
CREATE TABLE azure_resources (
    scope_key           TEXT PRIMARY KEY,
    id                  TEXT NOT NULL,
    resource_group_key  TEXT NOT NULL REFERENCES azure_resource_groups (scope_key),
    resource_type       TEXT NOT NULL,
    name                TEXT NOT NULL,
    location            TEXT,
    tags                TEXT NOT NULL,
    kind                TEXT,
    properties          TEXT,
    sku                 TEXT,
    created_at          BIGINT NOT NULL,
    modified_at         BIGINT NOT NULL
);
CREATE INDEX azure_resources_group ON azure_resources (resource_group_key);
