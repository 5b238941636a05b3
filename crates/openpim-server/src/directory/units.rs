//! Administrative units and their members.

use super::errors::{gone, member_exists, not_a_member, on_conflict};
use super::{settle, Audited, DirectoryEntity};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
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

/// Every unit operation needs the same capability, tenant-wide.
pub type Grant = Granted<cap::ManageAdministrativeUnits>;

async fn unit_in(tx: &mut WriteTx<'_>, id: ObjectId) -> ApiResult<AdministrativeUnit> {
    tx.unit_for_update(id).await?.ok_or_else(|| gone("administrativeUnit", id))
}

/// The right to manage units, tenant-wide.
pub async fn authorize(s: &AppState, caller: &Caller, audit: &Audit) -> ApiResult<Grant> {
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
        let now = s.now();
        let unit = new.build(ObjectId::new_v4(), now)?;
        let mut tx = s.store.begin_write().await?;
        let done =
            tx.insert_administrative_unit(&unit).await.map(|()| ((), unit.target(audit))).map_err(ApiError::from);
        settle(s, tx, caller, now, done).await.map(|()| unit)
    }

    async fn update(
        s: &AppState,
        caller: &Caller,
        _: &Grant,
        id: ObjectId,
        patch: AdministrativeUnitPatch,
        audit: Audit,
    ) -> ApiResult<Self> {
        let now = s.now();
        let mut tx = s.store.begin_write().await?;
        let done = async {
            let next = patch.apply(&unit_in(&mut tx, id).await?)?;
            tx.update_administrative_unit(&next).await?;
            Ok((next, audit))
        }
        .await;
        settle(s, tx, caller, now, done).await
    }

    /// Deletes a unit with its memberships and every assignment and eligibility scoped to it.
    async fn remove(s: &AppState, caller: &Caller, _: &Grant, id: ObjectId, audit: Audit) -> ApiResult<()> {
        let now = s.now();
        let mut tx = s.store.begin_write().await?;
        let done = async {
            unit_in(&mut tx, id).await?;
            let removed = tx.delete_administrative_unit(id).await?;
            Ok(((), audit.detail("removedSchedules", removed)))
        }
        .await;
        settle(s, tx, caller, now, done).await
    }
}

/// Adds a user or group to the unit (core's rule: nothing else belongs in one). `granted` must
/// have been checked on the member (`AppState::authorize_on_principal`): putting an account in a
/// unit hands it to the unit's scoped admins, so a protected account needs someone who may
/// assign roles.
pub async fn add_member(
    s: &AppState,
    caller: &Caller,
    _granted: &Grant,
    id: ObjectId,
    member: ObjectId,
    audit: Audit,
) -> ApiResult<()> {
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    let done = async {
        unit_in(&mut tx, id).await?;
        let object = tx.object_in_write(member).await?.ok_or_else(|| gone("directoryObject", member))?;
        check_au_member(object.kind())?;
        tx.add_unit_member(id, member, object.kind(), now).await.map_err(on_conflict(member_exists))?;
        Ok(((), audit))
    }
    .await;
    settle(s, tx, caller, now, done).await
}

pub async fn remove_member(
    s: &AppState,
    caller: &Caller,
    _granted: &Grant,
    id: ObjectId,
    member: ObjectId,
    audit: Audit,
) -> ApiResult<()> {
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    let done = async {
        unit_in(&mut tx, id).await?;
        if !tx.remove_unit_member(id, member).await? {
            return Err(not_a_member(member));
        }
        Ok(((), audit))
    }
    .await;
    settle(s, tx, caller, now, done).await
}
