//! Administrative units and their members.

use super::errors::{gone, member_exists, not_a_member, on_conflict};
use super::{write, Audited, DirectoryEntity, Members};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::{AppState, Audit};
use openpim_core::audit::category::DIRECTORY_MANAGEMENT;
use openpim_core::authz::{cap, Granted};
use openpim_core::directory::{check_au_member, AdministrativeUnit, AdministrativeUnitPatch, NewAdministrativeUnit};
use openpim_core::ObjectId;
use openpim_store::WriteTx;

impl Audited for AdministrativeUnit {
    const CATEGORY: &'static str = DIRECTORY_MANAGEMENT;
    const ACTIVITIES: [&'static str; 3] =
        ["Add administrative unit", "Update administrative unit", "Delete administrative unit"];
    fn target(&self, audit: Audit) -> Audit {
        audit.target("Other", self.id, Some(&self.display_name), None)
    }
}

/// Every unit operation needs the same capability.
pub type Grant = Granted<cap::ManageAdministrativeUnits>;

async fn unit_in(tx: &mut WriteTx<'_>, id: ObjectId) -> ApiResult<AdministrativeUnit> {
    tx.unit_for_update(id).await?.ok_or_else(|| gone("administrativeUnit", id))
}

/// The right to manage units, tenant-wide.
async fn authorize(s: &AppState, caller: &Caller, audit: &Audit) -> ApiResult<Grant> {
    s.authorize(caller, &[], audit).await
}

impl DirectoryEntity for AdministrativeUnit {
    type New = NewAdministrativeUnit;
    type Patch = AdministrativeUnitPatch;
    type CreateGrant = Grant;
    type UpdateGrant = Grant;
    type DeleteGrant = Grant;

    fn id(&self) -> ObjectId {
        self.id
    }

    async fn authorize_create(s: &AppState, caller: &Caller, _: &Self::New, audit: &Audit) -> ApiResult<Grant> {
        authorize(s, caller, audit).await
    }

    async fn authorize_update(
        &self,
        s: &AppState,
        caller: &Caller,
        _: &Self::Patch,
        audit: &Audit,
    ) -> ApiResult<Grant> {
        authorize(s, caller, audit).await
    }

    async fn authorize_delete(&self, s: &AppState, caller: &Caller, audit: &Audit) -> ApiResult<Grant> {
        authorize(s, caller, audit).await
    }

    async fn create(s: &AppState, caller: &Caller, _: &Grant, new: Self::New, audit: Audit) -> ApiResult<Self> {
        let unit = new.build(ObjectId::new_v4(), s.now())?;
        let audit = unit.target(audit);
        write(s, caller, async |tx, _| Ok((tx.insert_administrative_unit(&unit).await?, audit))).await.map(|()| unit)
    }

    async fn update(
        s: &AppState,
        caller: &Caller,
        _: &Grant,
        id: ObjectId,
        patch: AdministrativeUnitPatch,
        audit: Audit,
    ) -> ApiResult<Self> {
        write(s, caller, async |tx, _| {
            let next = patch.apply(&unit_in(tx, id).await?)?;
            tx.update_administrative_unit(&next).await?;
            Ok((next, audit))
        })
        .await
    }

    /// Deletes a unit with its memberships and every assignment and eligibility scoped to it.
    async fn remove(s: &AppState, caller: &Caller, _: &Grant, id: ObjectId, audit: Audit) -> ApiResult<()> {
        write(s, caller, async |tx, _| {
            unit_in(tx, id).await?;
            let removed = tx.delete_administrative_unit(id).await?;
            Ok(((), audit.detail("removedSchedules", removed)))
        })
        .await
    }
}

impl Members for AdministrativeUnit {
    type AddGrant = Grant;
    type RemoveGrant = Grant;
    const MEMBER_ACTIVITIES: [&'static str; 2] =
        ["Add member to administrative unit", "Remove member from administrative unit"];

    /// Checked on the member: putting an account in a unit hands it to the unit's scoped admins,
    /// so a protected account needs someone who may assign roles.
    async fn authorize_add(&self, s: &AppState, caller: &Caller, member: ObjectId, audit: &Audit) -> ApiResult<Grant> {
        s.authorize_on_principal(caller, member, audit).await
    }

    async fn authorize_remove(&self, s: &AppState, caller: &Caller, audit: &Audit) -> ApiResult<Grant> {
        authorize(s, caller, audit).await
    }

    /// Core's rule: only users and groups belong in a unit.
    async fn add_member(
        s: &AppState,
        caller: &Caller,
        _: &Grant,
        id: ObjectId,
        member: ObjectId,
        audit: Audit,
    ) -> ApiResult<()> {
        write(s, caller, async |tx, now| {
            unit_in(tx, id).await?;
            let object = tx.object_in_write(member).await?.ok_or_else(|| gone("directoryObject", member))?;
            check_au_member(object.kind())?;
            tx.add_unit_member(id, member, object.kind(), now).await.map_err(on_conflict(member_exists))?;
            Ok(((), audit))
        })
        .await
    }

    async fn remove_member(
        s: &AppState,
        caller: &Caller,
        _: &Grant,
        id: ObjectId,
        member: ObjectId,
        audit: Audit,
    ) -> ApiResult<()> {
        write(s, caller, async |tx, _| {
            unit_in(tx, id).await?;
            match tx.remove_unit_member(id, member).await? {
                true => Ok(((), audit)),
                false => Err(not_a_member(member)),
            }
        })
        .await
    }
}
