//! Who may do what: every API operation maps to the Entra resource action it needs, and the
//! caller must hold a role granting that action at a scope covering the target, right now.
//!
//! Using resource actions instead of role names means custom roles and scoped (administrative
//! unit) assignments work the way they do in Entra, with no list of role names to keep in step.

use crate::access::{AccessIndex, AccessPath};
use crate::azure_assignment::{check_assignable_scope, AzureRoleFacts};
use crate::error::{DomainError, DomainResult};
use crate::roles::{PermissionDialect, RoleDefinition};
use crate::scope::{DirectoryScope, Scope, ScopeHierarchy};
use crate::{Instant, ObjectId};
use std::marker::PhantomData;

mod azure;
pub use azure::{grant_azure, AzureDenied, AzureGranted};

/// Declares [`Operation`] and, for each of its variants, the zero-sized marker of the same name in
/// [`cap`], from one list: an operation cannot exist without its capability type.
macro_rules! operations {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Operation {
            $($(#[$doc])* $name,)*
        }

        /// One zero-sized marker per [`Operation`], named alike.
        pub mod cap {
            $(
                #[derive(Debug, Clone, Copy)]
                pub struct $name;
                impl super::sealed::Sealed for $name {}
                impl super::Capability for $name {
                    const OPERATION: super::Operation = super::Operation::$name;
                }
            )*
        }
    };
}

operations! {
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
    /// Read who holds, is eligible for or asked for which role: everyone's role assignments,
    /// eligibility and assignment schedules, their instances and schedule requests
    /// (justifications, tickets), and another principal's access check. Entra's
    /// `roleAssignments/standard/read`: Directory Readers, Global Reader and role administrators;
    /// not a member user's default (knowing who can become Global Administrator is an
    /// attacker's map). Everyone reads their own through [`OwnPrincipal`].
    ReadRoleAssignments,
    /// Read role settings (role management policies and their rules): Entra's PIM readers
    /// (Global Reader, Security Reader, Security Operator, Security Administrator) and Privileged
    /// Role Administrators, as Graph documents for `roleManagementPolicies`.
    ReadRolePolicies,
    ReadAuditLogs,
    /// Read role definitions (the catalog and custom roles): every member user by Entra's
    /// default permissions; guests need a role that grants it (Directory Readers, Global Reader).
    ReadRoleDefinitions,
    /// Read users, groups, administrative units, applications and service principals. Entra's
    /// default user permissions let every member user do this; guests need a role that grants
    /// it (Directory Readers, Global Reader).
    ReadDirectory,
    /// Register Azure subscriptions with OpenPIM's resource hierarchy (the OpenPIM extension
    /// `PUT /openpim/azure/subscriptions/{id}`): tenant-wide administration, which only Global
    /// Administrators hold (`organization/allProperties/allTasks` is in no other built-in role
    /// and not allowed in custom roles).
    RegisterAzureSubscriptions,
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
            Self::ReadRoleAssignments => "microsoft.directory/roleAssignments/standard/read",
            Self::ReadRolePolicies => "microsoft.directory/privilegedIdentityManagement/allProperties/read",
            Self::ReadAuditLogs => "microsoft.directory/auditLogs/allProperties/read",
            Self::ReadDirectory => "microsoft.directory/users/standard/read",
            Self::ReadRoleDefinitions => "microsoft.directory/roleDefinitions/standard/read",
            Self::RegisterAzureSubscriptions => "microsoft.directory/organization/allProperties/allTasks",
        }
    }

    /// Operations Entra's default user permissions grant every member user (not guests) without
    /// any role.
    pub fn is_member_default(self) -> bool {
        matches!(self, Self::ReadDirectory | Self::ReadRoleDefinitions)
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A type-level name for one [`Operation`]: the parameter of [`Granted`]. Sealed: the set is
/// [`cap`]'s, generated from the operations, so `Granted<C>` always means "checked for `C::OPERATION`".
pub trait Capability: sealed::Sealed + Send + Sync + 'static {
    const OPERATION: Operation;
}

/// Why a [`Granted`] was issued.
#[derive(Debug, Clone, PartialEq)]
pub enum GrantBasis {
    /// A role the caller holds now (directly or through a group) grants the action.
    Role(AccessPath),
    /// Entra's default permissions of member users ([`Operation::is_member_default`]).
    MemberDefault,
}

/// Proof that `caller` was authorised for `C::OPERATION` (at the scopes it was checked for).
/// Its fields are private and [`grant`] / [`grant_on_principal`] are the only constructors, so an
/// operation that takes a `Granted<C>` cannot be called without the check: forgetting it does
/// not compile.
///
/// ```compile_fail
/// use openpim_core::authz::{cap, Granted};
/// // Not constructible outside this module:
/// let forged: Granted<cap::ManageRoleAssignments> = Granted { caller: uuid::Uuid::nil(), basis: todo!(), _cap: std::marker::PhantomData };
/// ```
#[derive(Debug, Clone)]
pub struct Granted<C: Capability> {
    caller: ObjectId,
    basis: GrantBasis,
    _cap: PhantomData<fn() -> C>,
}

impl<C: Capability> Granted<C> {
    fn new(caller: ObjectId, basis: GrantBasis) -> Self {
        Self { caller, basis, _cap: PhantomData }
    }

    /// The principal the grant was checked for.
    pub fn caller(&self) -> ObjectId {
        self.caller
    }

    pub fn basis(&self) -> &GrantBasis {
        &self.basis
    }

    pub fn operation(&self) -> Operation {
        C::OPERATION
    }
}

/// Proof that an operation concerns the caller's own principal only: their own schedules,
/// instances and requests (`filterByCurrentUser`), their own self-service requests. Made only
/// by [`own_principal`] from the authenticated subject, so "the caller's principal" cannot be
/// confused with an id taken from a request body or a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnPrincipal {
    principal: ObjectId,
}

impl OwnPrincipal {
    pub fn principal(&self) -> ObjectId {
        self.principal
    }
}

/// The [`OwnPrincipal`] proof of `subject`: everyone may act on and read what is their own.
pub fn own_principal(subject: Subject) -> OwnPrincipal {
    OwnPrincipal { principal: subject.id }
}

/// Who is asking: the facts about the caller the checks need beyond the access index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    pub id: ObjectId,
    /// A member user (not a guest, not a service principal): has Entra's default permissions.
    pub is_member_user: bool,
}

/// Checks `C::OPERATION` for `subject` on a target living in `target_scopes` and returns the
/// proof operations require.
pub fn grant<C: Capability>(
    index: &AccessIndex,
    subject: Subject,
    target_scopes: &[DirectoryScope],
    now: Instant,
) -> DomainResult<Granted<C>> {
    if C::OPERATION.is_member_default() && subject.is_member_user {
        return Ok(Granted::new(subject.id, GrantBasis::MemberDefault));
    }
    check(index, subject.id, C::OPERATION, target_scopes, now)
        .map(|path| Granted::new(subject.id, GrantBasis::Role(path)))
}

/// [`grant`] on the directory object `target`, with the protected-account rule of
/// [`check_on_principal`].
pub fn grant_on_principal<C: Capability>(
    index: &AccessIndex,
    subject: Subject,
    target: ObjectId,
    target_scopes: &[DirectoryScope],
    latent: &LatentRoles,
    now: Instant,
) -> DomainResult<Granted<C>> {
    check_on_principal(index, subject.id, C::OPERATION, target, target_scopes, latent, now)
        .map(|path| Granted::new(subject.id, GrantBasis::Role(path)))
}

/// Checks that `caller` may perform `op` on a target that lives in `target_scopes` (the tenant
/// plus every administrative unit the target belongs to). Returns the path that allowed it; an
/// answer, not a proof: operations that change or reveal state take a [`Granted`] from [`grant`].
pub fn check(
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

/// What the store knows about a principal that the access index does not: the roles it can
/// come to hold or to hand out without anyone assigning them again. The index answers only for
/// roles held now; these make an account just as valuable to an attacker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatentRoles {
    /// Roles of its live eligibilities, direct or through its groups, including future-dated ones
    /// (it can activate them, or will be able to).
    pub eligible_for: Vec<ObjectId>,
    /// Roles whose policy lists it, or a group it belongs to, as an approver of activations
    /// (whoever controls it decides who gets those roles).
    pub approver_for: Vec<ObjectId>,
}

/// A principal is protected when it holds a privileged role (now, directly or through a group),
/// belongs to a role-assignable group, is eligible for a privileged role (now or later), or
/// approves activations of one. Changing such an account, or the membership of such a group, is
/// as good as holding those roles, so only those who could assign the roles anyway may do it.
pub fn is_protected(index: &AccessIndex, principal: ObjectId, latent: &LatentRoles, now: Instant) -> bool {
    let privileged = |role: &ObjectId| index.role(role).is_some_and(|r| r.is_privileged);
    index.in_role_assignable_group(principal)
        || index.effective_grants(principal, now).iter().any(|e| privileged(&e.grant.role_definition_id))
        || latent.eligible_for.iter().any(privileged)
        || latent.approver_for.iter().any(privileged)
}

/// Checks `op` on the directory object `target`, adding the protected-account rule.
/// `latent` is what the store knows of `target` (see [`LatentRoles`]).
pub fn check_on_principal(
    index: &AccessIndex,
    caller: ObjectId,
    op: Operation,
    target: ObjectId,
    target_scopes: &[DirectoryScope],
    latent: &LatentRoles,
    now: Instant,
) -> DomainResult<AccessPath> {
    let path = check(index, caller, op, target_scopes, now)?;
    if caller != target && is_protected(index, target, latent, now) {
        // Tenant-wide: a role-assignment right scoped to an administrative unit does not reach
        // tenant-wide privileged roles.
        check(index, caller, Operation::ManageRoleAssignments, &[DirectoryScope::Tenant], now).map_err(|_| {
            DomainError::forbidden(
                "Insufficient privileges to complete the operation. The target holds, is eligible \
                 for or approves privileged roles, or belongs to a role-assignable group; only \
                 administrators who may assign roles can change it.",
            )
        })?;
    }
    Ok(path)
}

/// Built-in roles Entra lets be assigned at an administrative unit ("Assign Microsoft Entra roles
/// with administrative unit scope", learn.microsoft.com): Authentication, Cloud Device, Groups,
/// Helpdesk, License, Password, Printer, Privileged Authentication, SharePoint, Teams, Teams
/// Devices and User Administrator. Every other built-in role is tenant-wide only.
pub const AU_SCOPABLE_BUILTIN_ROLES: [ObjectId; 12] = [
    uuid::uuid!("c4e39bd9-1100-46d3-8c65-fb160da0071f"), // Authentication Administrator
    uuid::uuid!("7698a772-787b-4ac8-901f-60d6b08affd2"), // Cloud Device Administrator
    uuid::uuid!("fdd7a751-b60b-444a-984c-02652fe8fa1c"), // Groups Administrator
    uuid::uuid!("729827e3-9c14-49f7-bb1b-9608f156bbb8"), // Helpdesk Administrator
    uuid::uuid!("4d6ac14f-3453-41d0-bef9-a3e0c569773a"), // License Administrator
    uuid::uuid!("966707d0-3269-4727-9be2-8c3a10f19b9d"), // Password Administrator
    uuid::uuid!("644ef478-e28f-4e28-b9dc-3fdde9aa0b1f"), // Printer Administrator
    uuid::uuid!("7be44c8a-adaf-4e2a-84d6-ab2649e08a13"), // Privileged Authentication Administrator
    uuid::uuid!("f28a1f50-f6e7-4571-818b-6a12f2af6b6c"), // SharePoint Administrator
    uuid::uuid!("69091246-20e8-4a56-aa4d-066075b2a7a8"), // Teams Administrator
    uuid::uuid!("3d762c5a-1b6c-493f-843e-55a3b42923d4"), // Teams Devices Administrator
    uuid::uuid!("fe930be7-5e62-47db-91af-98c3a49a38b1"), // User Administrator
];

/// Resource-action prefixes that make a custom role assignable at an administrative unit: Entra
/// allows it when the role has at least one permission on users, groups or devices.
const AU_RELEVANT_ACTIONS: [&str; 3] =
    ["microsoft.directory/users/", "microsoft.directory/groups/", "microsoft.directory/devices/"];

/// Can `role` be granted at an administrative unit? Built-in roles that manage users, groups or
/// devices, and custom roles with at least one such permission.
pub fn can_scope_to_administrative_unit(role: &RoleDefinition) -> bool {
    if role.is_built_in {
        AU_SCOPABLE_BUILTIN_ROLES.contains(&role.template_id) || AU_SCOPABLE_BUILTIN_ROLES.contains(&role.id)
    } else {
        role.role_permissions
            .iter()
            .flat_map(|p| &p.allowed_resource_actions)
            .any(|a| AU_RELEVANT_ACTIONS.iter().any(|prefix| a.to_ascii_lowercase().starts_with(prefix)))
    }
}

/// Checks that `role` may be granted (assigned, made eligible, activated, updated, extended or
/// renewed) at `scope`: the one rule every write that grants a role goes through (PIM requests of
/// both kinds, direct assignments; Azure RBAC assignments through the same
/// [`check_assignable_scope`]). A role applies only in its own world: directory roles at
/// directory scopes, Azure roles at ARM scopes. An Azure role only at or below one of its
/// `assignableScopes` (`hierarchy` places subscriptions in management groups), as ARM refuses
/// a role assignment or schedule request elsewhere. An administrative unit scope only takes the
/// roles Entra documents for it: a Global Administrator "scoped" to a unit would mean nothing,
/// and an attacker allowed to assign roles in a unit must not be able to hand out tenant-wide
/// power there.
pub fn check_assignable_at<H: ScopeHierarchy + ?Sized>(
    role: &RoleDefinition,
    scope: &Scope,
    hierarchy: &H,
) -> DomainResult<()> {
    let directory_scope = match (role.dialect, scope) {
        (PermissionDialect::Directory, Scope::Directory(d)) => d,
        (PermissionDialect::Azure, Scope::Arm(arm)) => {
            let facts = AzureRoleFacts::of(role, role.azure.assignable_scopes.clone())
                .expect("an Azure-dialect role has Azure role facts");
            return check_assignable_scope(&facts, arm, hierarchy);
        }
        (PermissionDialect::Directory, Scope::Arm(_)) => {
            return Err(DomainError::bad_request(format!(
                "The role '{}' is a directory role and cannot be granted at the Azure resource scope '{scope}'.",
                role.display_name
            )))
        }
        (PermissionDialect::Azure, Scope::Directory(_)) => {
            return Err(DomainError::bad_request(format!(
                "The role '{}' is an Azure resource role and cannot be granted at the directory scope '{scope}'.",
                role.display_name
            )))
        }
    };
    let DirectoryScope::AdministrativeUnit(_) = directory_scope else { return Ok(()) };
    if can_scope_to_administrative_unit(role) {
        Ok(())
    } else {
        Err(DomainError::bad_request(format!(
            "The role '{}' cannot be assigned at an administrative unit scope ('{scope}'): only roles \
             that manage users, groups or devices (such as User, Groups, Helpdesk, Authentication, \
             License or Password Administrator) can be scoped to an administrative unit.",
            role.display_name
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Grant, GrantSource};
    use crate::catalog::{
        self, GLOBAL_ADMINISTRATOR, GROUPS_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR, USER_ADMINISTRATOR,
    };
    use crate::change::IndexUpdate;
    use crate::scope::NoManagementGroups;
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
            scope: scope.into(),
            start: None,
            end: None,
            source: GrantSource::Assigned,
        }));
        idx
    }

    const ALL: [Operation; 17] = [
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
        Operation::ReadRoleAssignments,
        Operation::ReadRolePolicies,
        Operation::ReadAuditLogs,
    ];

    #[test]
    fn grants_are_issued_only_when_the_check_passes() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let (admin, nobody) = (ObjectId::new_v4(), ObjectId::new_v4());
        let idx = index_with(admin, PRIVILEGED_ROLE_ADMINISTRATOR, DirectoryScope::Tenant);
        let member = |id| Subject { id, is_member_user: true };
        let granted = grant::<cap::ManageRoleAssignments>(&idx, member(admin), &[], now).unwrap();
        assert_eq!(granted.caller(), admin);
        assert_eq!(granted.operation(), Operation::ManageRoleAssignments);
        assert!(
            matches!(granted.basis(), GrantBasis::Role(p) if p.grant.role_definition_id == PRIVILEGED_ROLE_ADMINISTRATOR)
        );
        let e = grant::<cap::ManageRoleAssignments>(&idx, member(nobody), &[], now).unwrap_err();
        assert_eq!(e.code, "Authorization_RequestDenied");
    }

    #[test]
    fn members_read_the_directory_by_default_and_guests_need_a_role() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let (reader, guest) = (ObjectId::new_v4(), ObjectId::new_v4());
        let idx = index_with(reader, catalog::DIRECTORY_READERS, DirectoryScope::Tenant);
        let member = Subject { id: ObjectId::new_v4(), is_member_user: true };
        assert_eq!(grant::<cap::ReadDirectory>(&idx, member, &[], now).unwrap().basis(), &GrantBasis::MemberDefault);
        assert!(grant::<cap::ReadDirectory>(&idx, Subject { id: guest, is_member_user: false }, &[], now).is_err());
        let guest_reader = Subject { id: reader, is_member_user: false };
        assert!(matches!(
            grant::<cap::ReadDirectory>(&idx, guest_reader, &[], now).unwrap().basis(),
            GrantBasis::Role(_)
        ));
        // The default covers reading the directory only: a member may not read everyone's requests.
        assert!(grant::<cap::ReadRoleAssignments>(&idx, member, &[], now).is_err());
    }

    #[test]
    fn reading_who_holds_roles_needs_a_directory_read_role_and_settings_a_pim_reader() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let member = |id| Subject { id, is_member_user: true };
        let reader = ObjectId::new_v4();
        let idx = index_with(reader, catalog::DIRECTORY_READERS, DirectoryScope::Tenant);
        // Directory Readers see everyone's assignments and schedules, not the PIM settings.
        grant::<cap::ReadRoleAssignments>(&idx, member(reader), &[], now).unwrap();
        assert!(grant::<cap::ReadRolePolicies>(&idx, member(reader), &[], now).is_err());
        // A member without a role sees neither: only their own.
        let plain = ObjectId::new_v4();
        assert!(grant::<cap::ReadRoleAssignments>(&idx, member(plain), &[], now).is_err());
        assert!(grant::<cap::ReadRolePolicies>(&idx, member(plain), &[], now).is_err());
        // Role definitions are every member's to read; a guest needs Directory Readers.
        grant::<cap::ReadRoleDefinitions>(&idx, member(plain), &[], now).unwrap();
        let guest = |id| Subject { id, is_member_user: false };
        assert!(grant::<cap::ReadRoleDefinitions>(&idx, guest(plain), &[], now).is_err());
        grant::<cap::ReadRoleDefinitions>(&idx, guest(reader), &[], now).unwrap();
        assert_eq!(own_principal(member(plain)).principal(), plain);
        // Global Reader and Privileged Role Administrator read both.
        for role in [catalog::GLOBAL_READER, PRIVILEGED_ROLE_ADMINISTRATOR] {
            let who = ObjectId::new_v4();
            let idx = index_with(who, role, DirectoryScope::Tenant);
            grant::<cap::ReadRoleAssignments>(&idx, member(who), &[], now).unwrap();
            grant::<cap::ReadRolePolicies>(&idx, member(who), &[], now).unwrap();
        }
    }

    #[test]
    fn global_administrator_may_do_everything() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let admin = ObjectId::new_v4();
        let idx = index_with(admin, GLOBAL_ADMINISTRATOR, DirectoryScope::Tenant);
        for op in ALL {
            check(&idx, admin, op, &[], now).unwrap_or_else(|e| panic!("{op:?}: {e}"));
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
            check(&idx, pra, op, &[], now).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        }
        assert!(check(&idx, pra, Operation::CreateUser, &[], now).is_err());
    }

    #[test]
    fn user_and_groups_administrators_cannot_touch_roles() {
        let now = datetime!(2026-06-01 00:00 UTC);
        for role in [USER_ADMINISTRATOR, GROUPS_ADMINISTRATOR] {
            let who = ObjectId::new_v4();
            let idx = index_with(who, role, DirectoryScope::Tenant);
            check(&idx, who, Operation::CreateGroup, &[], now).unwrap();
            check(&idx, who, Operation::UpdateGroupMembers, &[], now).unwrap();
            for op in [
                Operation::ManageRoleAssignments,
                Operation::ManageRoleDefinitions,
                Operation::CreateRoleAssignableGroup,
                Operation::UpdateRoleAssignableGroup,
            ] {
                let e = check(&idx, who, op, &[], now).unwrap_err();
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
        check(&idx, who, Operation::UpdateUser, &[DirectoryScope::Tenant, au], now).unwrap();
        assert!(check(&idx, who, Operation::UpdateUser, &[DirectoryScope::Tenant], now).is_err());
        assert!(check(&idx, who, Operation::CreateUser, &[], now).is_err());
    }

    #[test]
    fn user_administrators_cannot_touch_privileged_accounts() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let ua = ObjectId::new_v4();
        let mut idx = index_with(ua, USER_ADMINISTRATOR, DirectoryScope::Tenant);
        let (plain, admin) = (ObjectId::new_v4(), ObjectId::new_v4());
        let none = LatentRoles::default();
        idx.apply(IndexUpdate::GrantAdded(Grant {
            id: ObjectId::new_v4(),
            principal_id: admin,
            role_definition_id: GLOBAL_ADMINISTRATOR,
            scope: DirectoryScope::Tenant.into(),
            start: None,
            end: None,
            source: GrantSource::Assigned,
        }));
        check_on_principal(&idx, ua, Operation::UpdateUser, plain, &[DirectoryScope::Tenant], &none, now).unwrap();
        let e = check_on_principal(&idx, ua, Operation::UpdateUser, admin, &[DirectoryScope::Tenant], &none, now)
            .unwrap_err();
        assert!(e.message.contains("privileged"), "{e}");
        // The Global Administrator may, and anyone may pass the rule for themselves.
        check_on_principal(&idx, admin, Operation::UpdateUser, ua, &[DirectoryScope::Tenant], &none, now).unwrap();
        // Membership of a role-assignable group protects too.
        let group = ObjectId::new_v4();
        idx.apply(IndexUpdate::GroupSaved { group_id: group, is_assignable_to_role: true, is_security_enabled: true });
        idx.apply(IndexUpdate::MemberAdded { group_id: group, member_id: plain });
        assert!(
            check_on_principal(&idx, ua, Operation::UpdateUser, plain, &[DirectoryScope::Tenant], &none, now).is_err()
        );
    }

    #[test]
    fn eligibility_for_or_approving_a_privileged_role_protects_an_account() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let ua = ObjectId::new_v4();
        let idx = index_with(ua, USER_ADMINISTRATOR, DirectoryScope::Tenant);
        let target = ObjectId::new_v4();
        let tenant = [DirectoryScope::Tenant];
        let change =
            |latent: &LatentRoles| check_on_principal(&idx, ua, Operation::UpdateUser, target, &tenant, latent, now);
        // Nothing held, nothing latent: a User Administrator may change it.
        change(&LatentRoles::default()).unwrap();
        // Eligible (now or later) for Global Administrator: protected.
        let eligible = LatentRoles { eligible_for: vec![GLOBAL_ADMINISTRATOR], ..Default::default() };
        assert!(change(&eligible).unwrap_err().message.contains("eligible"));
        // Approver of Privileged Role Administrator activations: protected.
        let approver = LatentRoles { approver_for: vec![PRIVILEGED_ROLE_ADMINISTRATOR], ..Default::default() };
        assert!(change(&approver).is_err());
        // Latent non-privileged roles (Groups Administrator is not privileged) do not protect.
        let harmless =
            LatentRoles { eligible_for: vec![GROUPS_ADMINISTRATOR], approver_for: vec![GROUPS_ADMINISTRATOR] };
        change(&harmless).unwrap();
        // Someone who may assign roles tenant-wide may still change the protected account.
        let pra = ObjectId::new_v4();
        let idx = index_with(pra, PRIVILEGED_ROLE_ADMINISTRATOR, DirectoryScope::Tenant);
        assert!(is_protected(&idx, target, &eligible, now));
        check(&idx, pra, Operation::ManageRoleAssignments, &tenant, now).unwrap();
    }

    #[test]
    fn only_the_roles_entra_documents_can_be_scoped_to_an_administrative_unit() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let roles = catalog::builtin_roles(now);
        let role = |id: ObjectId| roles.iter().find(|r| r.id == id).expect("built-in role");
        let au = DirectoryScope::AdministrativeUnit(ObjectId::new_v4());
        for id in AU_SCOPABLE_BUILTIN_ROLES {
            check_assignable_at(role(id), &au.into(), &NoManagementGroups)
                .unwrap_or_else(|e| panic!("{}: {e}", role(id).display_name));
        }
        for id in [GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR, crate::catalog::GLOBAL_READER] {
            let e = check_assignable_at(role(id), &au.into(), &NoManagementGroups).unwrap_err();
            assert_eq!(e.code, "Request_BadRequest", "{e}");
            assert!(e.message.contains("administrative unit"), "{e}");
            // Tenant-wide is fine.
            check_assignable_at(role(id), &Scope::TENANT, &NoManagementGroups).unwrap();
        }
        // A custom role: scopable when it manages users, groups or devices.
        let mut custom = role(USER_ADMINISTRATOR).clone();
        custom.id = ObjectId::new_v4();
        custom.template_id = custom.id;
        custom.is_built_in = false;
        custom.role_permissions = vec![crate::roles::RolePermission {
            allowed_resource_actions: vec!["microsoft.directory/users/basic/update".into()],
            ..Default::default()
        }];
        check_assignable_at(&custom, &au.into(), &NoManagementGroups).unwrap();
        custom.role_permissions[0].allowed_resource_actions = vec!["microsoft.directory/applications/create".into()];
        assert!(check_assignable_at(&custom, &au.into(), &NoManagementGroups).is_err());
    }

    #[test]
    fn roles_are_granted_only_in_their_own_world() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let roles = catalog::builtin_roles(now);
        let user_admin = roles.iter().find(|r| r.id == USER_ADMINISTRATOR).unwrap();
        let subscription = Scope::parse("/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d").unwrap();
        let e = check_assignable_at(user_admin, &subscription, &NoManagementGroups).unwrap_err();
        assert!(e.message.contains("directory role"), "{e}");
        let mut azure = user_admin.clone();
        azure.dialect = crate::roles::PermissionDialect::Azure;
        azure.azure.assignable_scopes = vec!["/".into()];
        check_assignable_at(&azure, &subscription, &NoManagementGroups).unwrap();
        let e = check_assignable_at(&azure, &Scope::TENANT, &NoManagementGroups).unwrap_err();
        assert!(e.message.contains("Azure resource role"), "{e}");
    }

    #[test]
    fn an_azure_role_is_granted_only_at_or_below_its_assignable_scopes() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let reader = crate::azure_catalog::builtin_role_by_name("Reader").unwrap();
        let mut custom = crate::roles::azure::from_catalog(reader, now);
        custom.is_built_in = false;
        let sub = "/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
        custom.azure.assignable_scopes = vec![format!("{sub}/resourceGroups/web")];
        let at = |s: &str| Scope::parse(s).unwrap();
        check_assignable_at(&custom, &at(&format!("{sub}/resourceGroups/web")), &NoManagementGroups).unwrap();
        check_assignable_at(&custom, &at(&format!("{sub}/resourceGroups/WEB/providers/A.B/c/d")), &NoManagementGroups)
            .unwrap();
        for outside in [sub.to_string(), format!("{sub}/resourceGroups/data")] {
            let e = check_assignable_at(&custom, &at(&outside), &NoManagementGroups).unwrap_err();
            assert_eq!(e.code, "InvalidRoleAssignmentScope", "{e}");
        }
        // Built-in roles are assignable everywhere ARM reaches.
        let builtin = crate::roles::azure::from_catalog(reader, now);
        check_assignable_at(&builtin, &at(sub), &NoManagementGroups).unwrap();
    }

    #[test]
    fn nobody_without_a_role_may_do_anything() {
        let now = datetime!(2026-06-01 00:00 UTC);
        let idx = index_with(ObjectId::new_v4(), GLOBAL_ADMINISTRATOR, DirectoryScope::Tenant);
        let stranger = ObjectId::new_v4();
        for op in ALL {
            assert!(check(&idx, stranger, op, &[], now).is_err(), "{op:?}");
        }
    }
}
