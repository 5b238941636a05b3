//! Groups and their members.

use super::errors::{changed_since_authorized, gone, member_exists, not_a_member, on_conflict};
use super::{write, Audited, DirectoryEntity, GroupGrant, Members};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::{AppState, Audit};
use openpim_core::audit::category::GROUP_MANAGEMENT;
use openpim_core::audit::detail;
use openpim_core::authz::{cap, Capability};
use openpim_core::directory::{check_group_member, Group, GroupPatch, NewGroup};
use openpim_core::ObjectId;
use openpim_store::WriteTx;

impl Audited for Group {
    const CATEGORY: &'static str = GROUP_MANAGEMENT;
    const ACTIVITIES: [&'static str; 3] = ["Add group", "Update group", "Delete group"];
    fn target(&self, audit: Audit) -> Audit {
        audit.target("Group", self.id, Some(&self.display_name), None)
    }
}

/// The right to change a group's members: for a role-assignable group, joining it is as good as
/// holding its roles, so it takes the role-assignable groups' own capability.
pub type MembersGrant = GroupGrant<cap::UpdateGroupMembers, cap::UpdateRoleAssignableGroup>;

/// Authorises `Plain` or `RoleAssignable`, whichever a group with `is_assignable_to_role` needs.
/// An existing group is checked as a principal: a protected group (eligible for or approving a
/// privileged role) needs the right to assign roles.
async fn authorize<Plain: Capability, RoleAssignable: Capability>(
    s: &AppState,
    caller: &Caller,
    existing: Option<ObjectId>,
    is_assignable_to_role: bool,
    audit: &Audit,
) -> ApiResult<GroupGrant<Plain, RoleAssignable>> {
    Ok(match (is_assignable_to_role, existing) {
        (false, None) => GroupGrant::Plain(s.authorize(caller, &[], audit).await?),
        (true, None) => GroupGrant::RoleAssignable(s.authorize(caller, &[], audit).await?),
        (false, Some(id)) => GroupGrant::Plain(s.authorize_on_principal(caller, id, audit).await?),
        (true, Some(id)) => GroupGrant::RoleAssignable(s.authorize_on_principal(caller, id, audit).await?),
    })
}

/// The group `id` read (row-locked) inside the write, if `granted` covers it.
async fn group_in<P: Capability, R: Capability>(
    tx: &mut WriteTx<'_>,
    id: ObjectId,
    granted: &GroupGrant<P, R>,
) -> ApiResult<Group> {
    let group = tx.group_for_update(id).await?.ok_or_else(|| gone("group", id))?;
    if granted.covers(group.is_assignable_to_role) {
        Ok(group)
    } else {
        Err(changed_since_authorized())
    }
}

impl DirectoryEntity for Group {
    type New = NewGroup;
    type Patch = GroupPatch;
    type CreateGrant = GroupGrant<cap::CreateGroup, cap::CreateRoleAssignableGroup>;
    type UpdateGrant = GroupGrant<cap::UpdateGroup, cap::UpdateRoleAssignableGroup>;
    type DeleteGrant = GroupGrant<cap::DeleteGroup, cap::DeleteRoleAssignableGroup>;

    fn id(&self) -> ObjectId {
        self.id
    }

    async fn authorize_create(
        s: &AppState,
        caller: &Caller,
        new: &NewGroup,
        audit: &Audit,
    ) -> ApiResult<Self::CreateGrant> {
        authorize(s, caller, None, new.is_assignable_to_role.unwrap_or(false), audit).await
    }

    async fn authorize_update(
        &self,
        s: &AppState,
        caller: &Caller,
        _: &GroupPatch,
        audit: &Audit,
    ) -> ApiResult<Self::UpdateGrant> {
        authorize(s, caller, Some(self.id), self.is_assignable_to_role, audit).await
    }

    async fn authorize_delete(&self, s: &AppState, caller: &Caller, audit: &Audit) -> ApiResult<Self::DeleteGrant> {
        authorize(s, caller, Some(self.id), self.is_assignable_to_role, audit).await
    }

    async fn create(
        s: &AppState,
        caller: &Caller,
        granted: &Self::CreateGrant,
        new: NewGroup,
        audit: Audit,
    ) -> ApiResult<Group> {
        let group = new.build(ObjectId::new_v4(), s.now())?;
        if !granted.covers(group.is_assignable_to_role) {
            return Err(changed_since_authorized());
        }
        let audit = group.target(audit).detail("isAssignableToRole", group.is_assignable_to_role);
        write(s, caller, async |tx, _| Ok((tx.insert_group(&group).await?, audit))).await.map(|()| group)
    }

    async fn update(
        s: &AppState,
        caller: &Caller,
        granted: &Self::UpdateGrant,
        id: ObjectId,
        patch: GroupPatch,
        audit: Audit,
    ) -> ApiResult<Group> {
        write(s, caller, async |tx, _| {
            let next = patch.apply(&group_in(tx, id, granted).await?)?;
            tx.update_group(&next).await?;
            Ok((next, audit))
        })
        .await
    }

    /// Deletes a group with its memberships, what it holds and what is scoped to it (`/{id}`).
    async fn remove(
        s: &AppState,
        caller: &Caller,
        granted: &Self::DeleteGrant,
        id: ObjectId,
        audit: Audit,
    ) -> ApiResult<()> {
        write(s, caller, async |tx, now| {
            group_in(tx, id, granted).await?;
            Ok((tx.delete_group(id, now).await?, audit))
        })
        .await
    }
}

impl Members for Group {
    type AddGrant = MembersGrant;
    type RemoveGrant = MembersGrant;
    const MEMBER_ACTIVITIES: [&'static str; 2] = ["Add member to group", "Remove member from group"];

    /// A group eligible for or approving a privileged role is protected like an account:
    /// joining it is as good as holding or handing out that role.
    async fn authorize_add(
        &self,
        s: &AppState,
        caller: &Caller,
        _: ObjectId,
        audit: &Audit,
    ) -> ApiResult<MembersGrant> {
        authorize(s, caller, Some(self.id), self.is_assignable_to_role, audit).await
    }

    async fn authorize_remove(&self, s: &AppState, caller: &Caller, audit: &Audit) -> ApiResult<MembersGrant> {
        authorize(s, caller, Some(self.id), self.is_assignable_to_role, audit).await
    }

    /// Core's rules: no group in a role-assignable group, no group in itself.
    async fn add_member(
        s: &AppState,
        caller: &Caller,
        granted: &MembersGrant,
        id: ObjectId,
        member: ObjectId,
        audit: Audit,
    ) -> ApiResult<()> {
        write(s, caller, async |tx, now| {
            let group = group_in(tx, id, granted).await?;
            let object = tx.object_in_write(member).await?.ok_or_else(|| gone("directoryObject", member))?;
            check_group_member(&group, member, object.kind())?;
            tx.add_group_member(id, member, object.kind(), now).await.map_err(on_conflict(member_exists))?;
            Ok(((), audit))
        })
        .await
    }

    /// In the same write, the member loses what it activated from the group's eligibilities.
    async fn remove_member(
        s: &AppState,
        caller: &Caller,
        granted: &MembersGrant,
        id: ObjectId,
        member: ObjectId,
        audit: Audit,
    ) -> ApiResult<()> {
        write(s, caller, async |tx, _| {
            group_in(tx, id, granted).await?;
            if !tx.remove_group_member(id, member).await? {
                return Err(not_a_member(member));
            }
            let eligibilities = tx.eligibility_ids_of(id).await?;
            let mut revoked = tx.revoke_activations_from(&eligibilities, Some(member)).await?;
            // Members of a nested group lose what they activated through it (Azure roles honour
            // nested security groups), here and in every group above this one.
            revoked.extend(tx.revoke_activations_no_longer_reached(id).await?);
            Ok(((), if revoked.is_empty() { audit } else { audit.detail(detail::REVOKED_ACTIVATIONS, revoked.len()) }))
        })
        .await
    }
}
