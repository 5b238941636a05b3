//! Who may do what: every API operation maps to the Entra resource action it needs, and the
//! caller must hold a role granting that action at a scope covering the target, right now.
//!
//! Using resource actions instead of role names means custom roles and scoped (administrative
//! unit) assignments work the way they do in Entra, with no list of role names to keep in step.

use crate::access::{AccessIndex, AccessPath};
use crate::error::{DomainError, DomainResult};
use crate::scope::DirectoryScope;
use crate::{Instant, ObjectId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateUser,
    UpdateUser,
    DeleteUser,
    CreateGroup,
    UpdateGroup,
    DeleteGroup,
    UpdateGroupMembers,
    /// Role-assignable groups have actions of their own in Entra: whoever controls such a group
    /// controls who holds its roles, so in the built-in catalog only Global and Privileged Role
    /// Administrators have them. Changing properties and members both need `allProperties/update`.
    CreateRoleAssignableGroup,
    UpdateRoleAssignableGroup,
    DeleteRoleAssignableGroup,
    ManageAdministrativeUnits,
    /// Applications and service principals: Application and Cloud Application Administrators
    /// (and Global Administrators) hold these; an assignment at `/{applicationObjectId}` grants
    /// them over that application only.
    CreateApplication,
    UpdateApplication,
    DeleteApplication,
    CreateServicePrincipal,
    UpdateServicePrincipal,
    EnableServicePrincipal,
    DisableServicePrincipal,
    DeleteServicePrincipal,
    ManageRoleDefinitions,
    ManageRoleAssignments,
    /// Change role settings (policy rules). Whoever may assign roles sets the rules for
    /// assigning them: Global and Privileged Role Administrators.
    ManageRolePolicies,
    /// Read everyone's schedule requests (justifications, tickets): Global Reader, Security
    /// Reader and role administrators. Everyone may read their own.
    ReadScheduleRequests,
    ReadAuditLogs,
}

impl Operation {
    pub fn required_action(self) -> &'static str {
        match self {
            Self::CreateUser => "microsoft.directory/users/create",
            Self::UpdateUser => "microsoft.directory/users/basic/update",
            Self::DeleteUser => "microsoft.directory/users/delete",
            Self::CreateGroup => "microsoft.directory/groups/create",
            Self::UpdateGroup => "microsoft.directory/groups/basic/update",
            Self::DeleteGroup => "microsoft.directory/groups/delete",
            Self::UpdateGroupMembers => "microsoft.directory/groups/members/update",
            Self::CreateRoleAssignableGroup => "microsoft.directory/groupsAssignableToRoles/create",
            Self::UpdateRoleAssignableGroup => "microsoft.directory/groupsAssignableToRoles/allProperties/update",
            Self::DeleteRoleAssignableGroup => "microsoft.directory/groupsAssignableToRoles/delete",
            Self::ManageRoleAssignments | Self::ManageRolePolicies => {
                "microsoft.directory/roleAssignments/allProperties/allTasks"
            }
            Self::ManageAdministrativeUnits => "microsoft.directory/administrativeUnits/allProperties/allTasks",
            Self::CreateApplication => "microsoft.directory/applications/create",
            Self::UpdateApplication => "microsoft.directory/applications/basic/update",
            Self::DeleteApplication => "microsoft.directory/applications/delete",
            Self::CreateServicePrincipal => "microsoft.directory/servicePrincipals/create",
            Self::UpdateServicePrincipal => "microsoft.directory/servicePrincipals/basic/update",
            Self::EnableServicePrincipal => "microsoft.directory/servicePrincipals/enable",
            Self::DisableServicePrincipal => "microsoft.directory/servicePrincipals/disable",
            Self::DeleteServicePrincipal => "microsoft.directory/servicePrincipals/delete",
            Self::ManageRoleDefinitions => "microsoft.directory/roleDefinitions/allProperties/allTasks",
            Self::ReadScheduleRequests => "microsoft.directory/roleAssignments/standard/read",
            Self::ReadAuditLogs => "microsoft.directory/auditLogs/allProperties/read",
        }
    }
}

/// Checks that `caller` may perform `op` on a target that lives in `target_scopes` (the tenant
/// plus every administrative unit the target belongs to). Returns the path that allowed it.
pub fn authorize(
    index: &AccessIndex,
    caller: ObjectId,
    op: Operation,
    target_scopes: &[DirectoryScope],
    now: Instant,
) -> DomainResult<AccessPath> {
    let action = op.required_action();
    let tenant = [DirectoryScope::Tenant];
    let scopes = if target_scopes.is_empty() { &tenant[..] } else { target_scopes };
    scopes.iter().find_map(|s| index.check(caller, action, s, now)).ok_or_else(|| {
        DomainError::forbidden(format!(
            "Insufficient privileges to complete the operation. The caller needs a role \
                 that grants '{action}'."
        ))
    })
}

/// A principal is protected when it holds a privileged role (now, directly or through a group)
/// or belongs to a role-assignable group. Changing such an account is as good as holding its
/// roles, so Entra lets only those who could assign those roles anyway touch it.
pub fn is_protected(index: &AccessIndex, principal: ObjectId, now: Instant) -> bool {
    index.in_role_assignable_group(principal)
        || index
            .effective_grants(principal, now)
            .iter()
            .any(|e| index.role(&e.grant.role_definition_id).is_some_and(|r| r.is_privileged))
}

/// Authorises `op` on the directory object `target`, adding the protected-account rule.
pub fn authorize_on_principal(
    index: &AccessIndex,
    caller: ObjectId,
    op: Operation,
    target: ObjectId,
    target_scopes: &[DirectoryScope],
    now: Instant,
) -> DomainResult<AccessPath> {
    let path = authorize(index, caller, op, target_scopes, now)?;
    if caller != target && is_protected(index, target, now) {
        authorize(index, caller, Operation::ManageRoleAssignments, &[DirectoryScope::Tenant], now).map_err(|_| {
            DomainError::forbidden(
                "Insufficient privileges to complete the operation. The target holds privileged \
                 roles or belongs to a role-assignable group; only administrators who may assign \
                 roles can change it.",
            )
        })?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Grant, GrantSource};
    use crate::catalog::{
        self, GLOBAL_ADMINISTRATOR, GROUPS_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR, USER_ADMINISTRATOR,
    };
    use crate::change::IndexUpdate;
    use time::macros::datetime;

    fn index_with(principal: ObjectId, role: ObjectId, scope: DirectoryScope) -> AccessIndex {
        let now = datetime!(2026-01-01 00:00 UTC);
        let mut idx = AccessIndex::new();
        for r in catalog::builtin_roles(now) {
            idx.apply(IndexUpdate::RoleDefinitionSaved(r));
        }
        idx.apply(IndexUpdate::GrantAdded(Grant {
            id: ObjectId::new_v4(),
            principal_id: principal,
            role_definition_id: role,
            scope,
            start: None,
            end: None,
            source: GrantSource::Assigned,
        }));
        idx
    }

    const ALL: [Operation; 16] = [
        Operation::CreateUser,
        Operation::UpdateUser,
        Operation::DeleteUser,
        Operation::CreateGroup,
        Operation::UpdateGroup,
        Operation::DeleteGroup,
        Operation::UpdateGroupMembers,
        Operation::CreateRoleAssignableGroup,
        Operation::UpdateRoleAssignableGroup,
        Operation::DeleteRoleAssignableGroup,
        Operation::ManageAdministrativeUnits,
        Operation::ManageRoleDefinitions,
        Operation::ManageRoleAssignments,
        Operation::ManageRolePolicies,
        Operation::ReadScheduleRequests,
        Operation::ReadAuditLogs,
    ];

    #[test]
    fn global_administrator_may_do_everything() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let admin = ObjectId::new_v4();
        let idx = index_with(admin, GLOBAL_ADMINISTRATOR, DirectoryScope::Tenant);
        for op in ALL {
            authorize(&idx, admin, op, &[], now).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        }
    }

    #[test]
    fn privileged_role_administrator_manages_roles_but_not_users() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let pra = ObjectId::new_v4();
        let idx = index_with(pra, PRIVILEGED_ROLE_ADMINISTRATOR, DirectoryScope::Tenant);
        for op in [
            Operation::ManageRoleAssignments,
            Operation::ManageRoleDefinitions,
            Operation::CreateRoleAssignableGroup,
            Operation::UpdateRoleAssignableGroup,
            Operation::DeleteRoleAssignableGroup,
        ] {
            authorize(&idx, pra, op, &[], now).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        }
        assert!(authorize(&idx, pra, Operation::CreateUser, &[], now).is_err());
    }

    #[test]
    fn user_and_groups_administrators_cannot_touch_roles() {
        let now = datetime!(2026-06-01 00:00 UTC);
        for role in [USER_ADMINISTRATOR, GROUPS_ADMINISTRATOR] {
            let who = ObjectId::new_v4();
            let idx = index_with(who, role, DirectoryScope::Tenant);
            authorize(&idx, who, Operation::CreateGroup, &[], now).unwrap();
            authorize(&idx, who, Operation::UpdateGroupMembers, &[], now).unwrap();
            for op in [
                Operation::ManageRoleAssignments,
                Operation::ManageRoleDefinitions,
                Operation::CreateRoleAssignableGroup,
                Operation::UpdateRoleAssignableGroup,
            ] {
                let e = authorize(&idx, who, op, &[], now).unwrap_err();
                assert_eq!(e.code, "Authorization_RequestDenied");
            }
        }
    }

    #[test]
    fn scoped_admins_act_only_inside_their_unit() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let who = ObjectId::new_v4();
        let au = DirectoryScope::AdministrativeUnit(ObjectId::new_v4());
        let idx = index_with(who, USER_ADMINISTRATOR, au);
        authorize(&idx, who, Operation::UpdateUser, &[DirectoryScope::Tenant, au], now).unwrap();
        assert!(authorize(&idx, who, Operation::UpdateUser, &[DirectoryScope::Tenant], now).is_err());
        assert!(authorize(&idx, who, Operation::CreateUser, &[], now).is_err());
    }

    #[test]
    fn user_administrators_cannot_touch_privileged_accounts() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let ua = ObjectId::new_v4();
        let mut idx = index_with(ua, USER_ADMINISTRATOR, DirectoryScope::Tenant);
        let (plain, admin) = (ObjectId::new_v4(), ObjectId::new_v4());
        idx.apply(IndexUpdate::GrantAdded(Grant {
            id: ObjectId::new_v4(),
            principal_id: admin,
            role_definition_id: GLOBAL_ADMINISTRATOR,
            scope: DirectoryScope::Tenant,
            start: None,
            end: None,
            source: GrantSource::Assigned,
        }));
        authorize_on_principal(&idx, ua, Operation::UpdateUser, plain, &[DirectoryScope::Tenant], now).unwrap();
        let e =
            authorize_on_principal(&idx, ua, Operation::UpdateUser, admin, &[DirectoryScope::Tenant], now).unwrap_err();
        assert!(e.message.contains("privileged"), "{e}");
        // The Global Administrator may, and anyone may pass the rule for themselves.
        authorize_on_principal(&idx, admin, Operation::UpdateUser, ua, &[DirectoryScope::Tenant], now).unwrap();
        // Membership of a role-assignable group protects too.
        let group = ObjectId::new_v4();
        idx.apply(IndexUpdate::GroupSaved { group_id: group, is_assignable_to_role: true });
        idx.apply(IndexUpdate::MemberAdded { group_id: group, member_id: plain });
        assert!(authorize_on_principal(&idx, ua, Operation::UpdateUser, plain, &[DirectoryScope::Tenant], now).is_err());
    }

    #[test]
    fn nobody_without_a_role_may_do_anything() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let idx = index_with(ObjectId::new_v4(), GLOBAL_ADMINISTRATOR, DirectoryScope::Tenant);
        let stranger = ObjectId::new_v4();
        for op in ALL {
            assert!(authorize(&idx, stranger, op, &[], now).is_err(), "{op:?}");
        }
    }
}
