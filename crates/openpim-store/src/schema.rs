//! How each entity set's wire properties map to columns, for `$filter`, `$orderby` and `$select`.

use openpim_odata::{EntitySchema, PropType, Property};

const fn p(name: &'static str, column: &'static str, ty: PropType) -> Property {
    Property { name, column, ty, case_insensitive: false, filterable: true, sortable: true }
}

/// A string compared case-insensitively, as Graph does for names.
const fn ci(name: &'static str, column: &'static str) -> Property {
    Property { name, column, ty: PropType::String, case_insensitive: true, filterable: true, sortable: true }
}

pub static USER: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.user",
    key_column: "id",
    properties: &[
        p("id", "id", PropType::Guid),
        ci("userPrincipalName", "user_principal_name"),
        ci("displayName", "display_name"),
        ci("mailNickname", "mail_nickname"),
        ci("givenName", "given_name"),
        ci("surname", "surname"),
        ci("mail", "mail"),
        ci("jobTitle", "job_title"),
        ci("department", "department"),
        p("accountEnabled", "account_enabled", PropType::Bool),
        p("createdDateTime", "created_at", PropType::DateTime),
        p("userType", "user_type", PropType::Enum(&["Member", "Guest"])),
        // Selectable; not filterable (stored as JSON text, which SQLite and PostgreSQL unpack differently).
        p("imAddresses", "im_addresses", PropType::StringCollection).not_filterable().not_sortable(),
    ],
};

pub static GROUP: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.group",
    key_column: "id",
    properties: &[
        p("id", "id", PropType::Guid),
        ci("displayName", "display_name"),
        ci("description", "description"),
        ci("mailNickname", "mail_nickname"),
        p("mailEnabled", "mail_enabled", PropType::Bool),
        p("securityEnabled", "security_enabled", PropType::Bool),
        p("isAssignableToRole", "is_assignable_to_role", PropType::Bool),
        p("createdDateTime", "created_at", PropType::DateTime),
    ],
};

pub static ADMINISTRATIVE_UNIT: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.administrativeUnit",
    key_column: "id",
    properties: &[p("id", "id", PropType::Guid), ci("displayName", "display_name"), ci("description", "description")],
};

pub static APPLICATION: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.application",
    key_column: "id",
    properties: &[
        p("id", "id", PropType::Guid),
        p("appId", "app_id", PropType::Guid),
        ci("displayName", "display_name"),
        ci("description", "description"),
        p("createdDateTime", "created_at", PropType::DateTime),
    ],
};

pub static SERVICE_PRINCIPAL: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.servicePrincipal",
    key_column: "id",
    properties: &[
        p("id", "id", PropType::Guid),
        p("appId", "app_id", PropType::Guid),
        ci("appDisplayName", "app_display_name"),
        ci("displayName", "display_name"),
        ci("description", "description"),
        ci("servicePrincipalType", "service_principal_type"),
        p("accountEnabled", "account_enabled", PropType::Bool),
    ],
};

pub static ROLE_DEFINITION: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.unifiedRoleDefinition",
    key_column: "id",
    properties: &[
        p("id", "id", PropType::Guid),
        p("templateId", "template_id", PropType::Guid),
        ci("displayName", "display_name"),
        ci("description", "description"),
        p("isBuiltIn", "is_built_in", PropType::Bool),
        p("isEnabled", "is_enabled", PropType::Bool),
        p("isPrivileged", "is_privileged", PropType::Bool),
        p("version", "version", PropType::String),
    ],
};

pub static ROLE_ASSIGNMENT: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.unifiedRoleAssignment",
    key_column: "id",
    properties: &[
        p("id", "id", PropType::Guid),
        p("principalId", "principal_id", PropType::Guid),
        p("roleDefinitionId", "role_definition_id", PropType::Guid),
        p("directoryScopeId", "directory_scope_id", PropType::String),
        p("appScopeId", "app_scope_id", PropType::String),
        // Graph's older name for the directory scope, still returned beside it.
        p("resourceScope", "directory_scope_id", PropType::String),
    ],
};

pub static DIRECTORY_AUDIT: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.directoryAudit",
    key_column: "id",
    properties: &[
        p("id", "id", PropType::Guid),
        p("activityDateTime", "activity_at", PropType::DateTime),
        ci("category", "category"),
        ci("activityDisplayName", "activity_display_name"),
        ci("operationType", "operation_type"),
        ci("result", "result"),
        ci("loggedByService", "logged_by_service"),
        p("correlationId", "correlation_id", PropType::Guid),
        p("initiatedBy/user/id", "initiated_by_user_id", PropType::Guid),
        ci("initiatedBy/user/userPrincipalName", "initiated_by_upn"),
        ci("initiatedBy/user/displayName", "initiated_by_display_name"),
        // OpenPIM extensions: the record's place in the audit chain.
        p("openpim_chainSeq", "chain_seq", PropType::Int),
        p("openpim_chainHash", "chain_hash", PropType::String),
        // OpenPIM extension, for `$filter` only: the record's target resources as their stored
        // JSON text, so `contains(openpim_targets,'bob')` finds records naming bob (by name,
        // sign-in name or id) the same way on SQLite and PostgreSQL.
        ci("openpim_targets", "target_resources").not_sortable(),
    ],
};

/// The audit chain's signed checkpoints (an OpenPIM extension).
pub static AUDIT_CHECKPOINT: EntitySchema = EntitySchema {
    type_name: "openpim.auditChainCheckpoint",
    key_column: "seq",
    properties: &[
        p("seq", "seq", PropType::Int),
        p("chainHash", "chain_hash", PropType::String),
        p("createdDateTime", "created_at", PropType::DateTime),
        p("keyId", "key_id", PropType::String),
    ],
};

/// Held schedules and instances (see `schedules::held_view`): `principalId` is the holder.
macro_rules! held_schema {
    ($name:ident, $type_name:expr, [$($extra:expr),*]) => {
        pub static $name: EntitySchema = EntitySchema {
            type_name: $type_name,
            key_column: "id",
            properties: &[
                p("id", "id", PropType::String),
                p("principalId", "principal_id", PropType::Guid),
                p("roleDefinitionId", "role_definition_id", PropType::Guid),
                p("directoryScopeId", "directory_scope_id", PropType::String),
                p("appScopeId", "app_scope_id", PropType::String),
                p("status", "status", PropType::String),
                ci("memberType", "member_type"),
                ci("assignmentType", "assignment_type"),
                // A direct role assignment (no request created it) shows no start, as in Graph.
                p(
                    "startDateTime",
                    "(CASE WHEN created_using IS NULL THEN NULL ELSE start_at END)",
                    PropType::DateTime
                ),
                p("endDateTime", "end_at", PropType::DateTime),
                p("createdDateTime", "created_at", PropType::DateTime),
                p("modifiedDateTime", "modified_at", PropType::DateTime),
                p("createdUsing", "created_using", PropType::String),
                $($extra),*
            ],
        };
    };
}

held_schema!(ASSIGNMENT_SCHEDULE, "microsoft.graph.unifiedRoleAssignmentSchedule", []);
held_schema!(
    ASSIGNMENT_INSTANCE,
    "microsoft.graph.unifiedRoleAssignmentScheduleInstance",
    [
        p("roleAssignmentScheduleId", "schedule_id", PropType::String),
        p("roleAssignmentOriginId", "schedule_id", PropType::String)
    ]
);
held_schema!(ELIGIBILITY_SCHEDULE, "microsoft.graph.unifiedRoleEligibilitySchedule", []);
held_schema!(
    ELIGIBILITY_INSTANCE,
    "microsoft.graph.unifiedRoleEligibilityScheduleInstance",
    [p("roleEligibilityScheduleId", "schedule_id", PropType::String)]
);

pub static SCHEDULE_REQUEST: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.unifiedRoleScheduleRequest",
    key_column: "id",
    properties: &[
        p("id", "id", PropType::Guid),
        ci("action", "action"),
        p("principalId", "principal_id", PropType::Guid),
        p("roleDefinitionId", "role_definition_id", PropType::Guid),
        p("directoryScopeId", "directory_scope_id", PropType::String),
        p("status", "status", PropType::String),
        p("createdDateTime", "created_at", PropType::DateTime),
        p("completedDateTime", "completed_at", PropType::DateTime),
        p("targetScheduleId", "target_schedule_id", PropType::String),
        p("approvalId", "approval_id", PropType::String),
        p("createdBy/user/id", "created_by", PropType::Guid),
    ],
};

pub static POLICY: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.unifiedRoleManagementPolicy",
    key_column: "id",
    properties: &[
        p("id", "id", PropType::String),
        p("scopeId", "scope_id", PropType::String),
        p("scopeType", "scope_type", PropType::Enum(&["Directory", "DirectoryRole"])),
        p("isOrganizationDefault", "is_organization_default", PropType::Bool),
        p("lastModifiedDateTime", "last_modified_at", PropType::DateTime),
    ],
};

pub static POLICY_ASSIGNMENT: EntitySchema = EntitySchema {
    type_name: "microsoft.graph.unifiedRoleManagementPolicyAssignment",
    key_column: "id",
    properties: &[
        p("policyId", "id", PropType::String),
        p("scopeId", "scope_id", PropType::String),
        p("scopeType", "scope_type", PropType::Enum(&["Directory", "DirectoryRole"])),
        p("roleDefinitionId", "role_definition_id", PropType::Guid),
    ],
};
