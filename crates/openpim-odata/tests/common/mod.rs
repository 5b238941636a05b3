//! A small schema shared by the integration tests.
#![allow(dead_code)]

use openpim_odata::{EntitySchema, PropType, Property};

pub const STATUS: &[&str] = &["Provisioned", "PendingApproval", "Revoked"];

pub static USER: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.user",
    key_column: "id",
    properties: &[
        Property::new("id", "id", PropType::Guid),
        Property::new("displayName", "display_name", PropType::String).case_insensitive(),
        Property::new("userPrincipalName", "upn", PropType::String),
        Property::new("isBuiltIn", "is_built_in", PropType::Bool),
        Property::new("priority", "priority", PropType::Int),
        Property::new("createdDateTime", "created_at", PropType::DateTime),
        Property::new("status", "status", PropType::Enum(STATUS)),
        Property::new("initiatedBy/user/id", "initiator_id", PropType::Guid),
        Property::new("secret", "secret", PropType::String).not_filterable().not_sortable(),
        Property::new(
            "scopes",
            "SELECT scope AS value FROM user_scopes s WHERE s.user_id = users.id",
            PropType::StringCollection,
        )
        .case_insensitive(),
    ],
};
