//! Applications (app registrations). An application is a directory scope (`/{objectId}`), so
//! deleting one removes what is scoped to it, and its service principal with what that holds.

use super::errors::{changed_since_authorized, gone};
use super::{write, Audited, DirectoryEntity};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::{AppState, Audit};
use openpim_core::applications::{Application, ApplicationPatch, NewApplication};
use openpim_core::audit::category::APPLICATION_MANAGEMENT;
use openpim_core::authz::{cap, Granted};
use openpim_core::scope::DirectoryScope;
use openpim_core::ObjectId;

impl Audited for Application {
    const CATEGORY: &'static str = APPLICATION_MANAGEMENT;
    const ACTIVITIES: [&'static str; 3] = ["Add application", "Update application", "Delete application"];
    fn target(&self, audit: Audit) -> Audit {
        audit.target("Application", self.id, Some(&self.display_name), None).detail("appId", self.app_id)
    }
}

/// Where an admin may act on `app`: the tenant, or the application itself.
pub fn scopes(app: &Application) -> [DirectoryScope; 2] {
    [DirectoryScope::Tenant, DirectoryScope::Object(app.id)]
}

/// The rights deleting an application needs: its own, and deleting its service principal (the
/// same checks as deleting that directly: its own right and the protected-principal rule).
pub struct RemovalGrant {
    pub application: Granted<cap::DeleteApplication>,
    /// The service principal the check was made for, with its proof; `None` when it had none.
    pub service_principal: Option<(ObjectId, Granted<cap::DeleteServicePrincipal>)>,
}

impl DirectoryEntity for Application {
    type New = NewApplication;
    type Patch = ApplicationPatch;
    type CreateGrant = Granted<cap::CreateApplication>;
    type UpdateGrant = Granted<cap::UpdateApplication>;
    type DeleteGrant = RemovalGrant;

    fn id(&self) -> ObjectId {
        self.id
    }

    async fn authorize_create(
        s: &AppState,
        caller: &Caller,
        _: &NewApplication,
        audit: &Audit,
    ) -> ApiResult<Self::CreateGrant> {
        s.authorize(caller, &[], audit).await
    }

    /// An admin assigned at the application's own scope (`/{id}`) may change it.
    async fn authorize_update(
        &self,
        s: &AppState,
        caller: &Caller,
        _: &ApplicationPatch,
        audit: &Audit,
    ) -> ApiResult<Self::UpdateGrant> {
        s.authorize(caller, &scopes(self), audit).await
    }

    async fn authorize_delete(&self, s: &AppState, caller: &Caller, audit: &Audit) -> ApiResult<RemovalGrant> {
        let application = s.authorize(caller, &scopes(self), audit).await?;
        let service_principal = match s.store.get_service_principal_by_app_id(self.app_id).await? {
            Some(sp) => Some((sp.id, s.authorize_on_principal(caller, sp.id, audit).await?)),
            None => None,
        };
        Ok(RemovalGrant { application, service_principal })
    }

    async fn create(
        s: &AppState,
        caller: &Caller,
        _: &Self::CreateGrant,
        new: NewApplication,
        audit: Audit,
    ) -> ApiResult<Self> {
        let app = new.build(ObjectId::new_v4(), ObjectId::new_v4(), s.now())?;
        let audit = app.target(audit);
        write(s, caller, async |tx, _| Ok((tx.insert_application(&app).await?, audit))).await.map(|()| app)
    }

    async fn update(
        s: &AppState,
        caller: &Caller,
        _: &Self::UpdateGrant,
        id: ObjectId,
        patch: ApplicationPatch,
        audit: Audit,
    ) -> ApiResult<Self> {
        write(s, caller, async |tx, _| {
            let current = tx.application_for_update(id).await?.ok_or_else(|| gone("application", id))?;
            let next = patch.apply(&current)?;
            tx.update_application(&next).await?;
            Ok((next, audit))
        })
        .await
    }

    /// Deletes an application, its service principal (which loses everything it holds) and
    /// every assignment and eligibility scoped to the application. A service principal other
    /// than the one `granted` was checked for (made meanwhile) refuses the write.
    async fn remove(
        s: &AppState,
        caller: &Caller,
        granted: &RemovalGrant,
        id: ObjectId,
        audit: Audit,
    ) -> ApiResult<()> {
        write(s, caller, async |tx, now| {
            let app = tx.application_for_update(id).await?.ok_or_else(|| gone("application", id))?;
            let sp = tx.service_principal_by_app_id(app.app_id).await?;
            if sp.as_ref().map(|sp| sp.id) != granted.service_principal.as_ref().map(|(id, _)| *id) {
                return Err(changed_since_authorized());
            }
            let removed = tx.delete_application(&app, now).await?;
            let audit = match &sp {
                Some(sp) => audit.target("ServicePrincipal", sp.id, Some(&sp.display_name), None),
                None => audit,
            };
            Ok(((), if removed > 0 { audit.detail("removedScopedSchedules", removed) } else { audit }))
        })
        .await
    }
}
