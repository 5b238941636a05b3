//! Service principals: an application's identity in the tenant, a principal that can hold roles
//! like a user or a group.

use super::errors::{changed_since_authorized, duplicate_service_principal, gone, on_conflict};
use super::{write, Audited, DirectoryEntity};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::{AppState, Audit};
use openpim_core::applications::{parse_app_id, NewServicePrincipal, ServicePrincipal, ServicePrincipalPatch};
use openpim_core::audit::category::APPLICATION_MANAGEMENT;
use openpim_core::authz::{cap, Granted};
use openpim_core::ObjectId;

impl Audited for ServicePrincipal {
    const CATEGORY: &'static str = APPLICATION_MANAGEMENT;
    const ACTIVITIES: [&'static str; 3] =
        ["Add service principal", "Update service principal", "Delete service principal"];
    fn target(&self, audit: Audit) -> Audit {
        audit.target("ServicePrincipal", self.id, Some(&self.display_name), None).detail("appId", self.app_id)
    }
}

/// The proofs a change to a service principal needs. Entra has separate actions for its
/// properties and for turning its sign-in on and off; a change that changes nothing still needs
/// the right to update it.
#[derive(Default)]
pub struct UpdateGrant {
    pub properties: Option<Granted<cap::UpdateServicePrincipal>>,
    pub enable: Option<Granted<cap::EnableServicePrincipal>>,
    pub disable: Option<Granted<cap::DisableServicePrincipal>>,
}

impl UpdateGrant {
    /// Authorises turning `current` into `next` for `caller` (each needed action on the service
    /// principal as a principal: a privileged one is protected).
    pub async fn check(
        s: &AppState,
        caller: &Caller,
        current: &ServicePrincipal,
        next: &ServicePrincipal,
        audit: &Audit,
    ) -> ApiResult<Self> {
        let mut grant = Self::default();
        if properties_change(current, next) || next == current {
            grant.properties = Some(s.authorize_on_principal(caller, current.id, audit).await?);
        }
        match (current.account_enabled, next.account_enabled) {
            (false, true) => grant.enable = Some(s.authorize_on_principal(caller, current.id, audit).await?),
            (true, false) => grant.disable = Some(s.authorize_on_principal(caller, current.id, audit).await?),
            _ => {}
        }
        Ok(grant)
    }

    /// Whether these proofs cover turning `current` into `next`.
    fn covers(&self, current: &ServicePrincipal, next: &ServicePrincipal) -> bool {
        let needs_properties = properties_change(current, next) || next == current;
        let properties = !needs_properties || self.properties.is_some();
        let sign_in = match (current.account_enabled, next.account_enabled) {
            (false, true) => self.enable.is_some(),
            (true, false) => self.disable.is_some(),
            _ => true,
        };
        properties && sign_in
    }
}

fn properties_change(current: &ServicePrincipal, next: &ServicePrincipal) -> bool {
    (&next.display_name, &next.description) != (&current.display_name, &current.description)
}

impl DirectoryEntity for ServicePrincipal {
    type New = NewServicePrincipal;
    type Patch = ServicePrincipalPatch;
    type CreateGrant = Granted<cap::CreateServicePrincipal>;
    type UpdateGrant = UpdateGrant;
    type DeleteGrant = Granted<cap::DeleteServicePrincipal>;

    fn id(&self) -> ObjectId {
        self.id
    }

    async fn authorize_create(
        s: &AppState,
        caller: &Caller,
        _: &NewServicePrincipal,
        audit: &Audit,
    ) -> ApiResult<Self::CreateGrant> {
        s.authorize(caller, &[], audit).await
    }

    /// Which actions a change needs depends on what it changes (see [`UpdateGrant`]).
    async fn authorize_update(
        &self,
        s: &AppState,
        caller: &Caller,
        patch: &ServicePrincipalPatch,
        audit: &Audit,
    ) -> ApiResult<UpdateGrant> {
        let next = patch.clone().apply(self)?;
        UpdateGrant::check(s, caller, self, &next, audit).await
    }

    /// A service principal holding privileged roles is protected like a privileged user.
    async fn authorize_delete(&self, s: &AppState, caller: &Caller, audit: &Audit) -> ApiResult<Self::DeleteGrant> {
        s.authorize_on_principal(caller, self.id, audit).await
    }

    /// Creates the service principal of the application named by `appId`, read inside the write
    /// with whether it already has one (the unique index catches a twin committed meanwhile).
    async fn create(
        s: &AppState,
        caller: &Caller,
        _: &Self::CreateGrant,
        new: NewServicePrincipal,
        audit: Audit,
    ) -> ApiResult<Self> {
        let app_id = new.app_id.as_deref().map(parse_app_id).transpose()?;
        write(s, caller, async |tx, now| {
            let (application, existing) = match app_id {
                Some(app_id) => {
                    (tx.application_by_app_id(app_id).await?, tx.service_principal_by_app_id(app_id).await?.is_some())
                }
                None => (None, false),
            };
            let sp = new.build(ObjectId::new_v4(), application.as_ref(), existing, now)?;
            tx.insert_service_principal(&sp).await.map_err(on_conflict(|| duplicate_service_principal(sp.app_id)))?;
            let audit = sp.target(audit);
            Ok((sp, audit))
        })
        .await
    }

    /// A patch that changes nothing writes nothing.
    async fn update(
        s: &AppState,
        caller: &Caller,
        granted: &UpdateGrant,
        id: ObjectId,
        patch: ServicePrincipalPatch,
        audit: Audit,
    ) -> ApiResult<Self> {
        write(s, caller, async |tx, _| {
            let current = tx.service_principal_for_update(id).await?.ok_or_else(|| gone("servicePrincipal", id))?;
            let next = patch.apply(&current)?;
            if !granted.covers(&current, &next) {
                return Err(changed_since_authorized());
            }
            if next != current {
                tx.update_service_principal(&next).await?;
            }
            let audit = audit.detail("accountEnabled", next.account_enabled);
            Ok((next, audit))
        })
        .await
    }

    /// Deletes a service principal as a user is deleted: its memberships, assignments and
    /// eligibilities go, its pending requests and activations are revoked, and what is scoped
    /// to it.
    async fn remove(s: &AppState, caller: &Caller, _: &Self::DeleteGrant, id: ObjectId, audit: Audit) -> ApiResult<()> {
        write(s, caller, async |tx, now| {
            tx.service_principal_for_update(id).await?.ok_or_else(|| gone("servicePrincipal", id))?;
            Ok((tx.delete_service_principal(id, now).await?, audit))
        })
        .await
    }
}
