//! Applications (app registrations) and service principals.
//!
//! An application is a directory scope: a role assigned at `/{applicationObjectId}` grants its
//! rights over that one application (Entra's app-scoped assignments). A service principal is the
//! application's identity in the tenant: a principal that can hold roles, like a user or group.
//! Each application has at most one service principal here, linked by `appId`.

use crate::directory::{optional, required};
use crate::error::{DomainError, DomainResult};
use crate::{Instant, ObjectId};

/// Graph's `servicePrincipalType` for a service principal made from an application.
pub const SERVICE_PRINCIPAL_TYPE_APPLICATION: &str = "Application";

#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub id: ObjectId,
    /// The application (client) id, assigned at creation and never changed.
    pub app_id: ObjectId,
    pub display_name: String,
    pub description: Option<String>,
    pub created: Instant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServicePrincipal {
    pub id: ObjectId,
    /// The `appId` of the application this service principal represents.
    pub app_id: ObjectId,
    /// The application's display name when the service principal was made (Graph's read-only
    /// `appDisplayName`).
    pub app_display_name: Option<String>,
    pub display_name: String,
    pub description: Option<String>,
    pub service_principal_type: String,
    pub account_enabled: bool,
    pub created: Instant,
}

#[derive(Debug, Clone, Default)]
pub struct NewApplication {
    pub display_name: Option<String>,
    pub description: Option<String>,
}

/// A partial update: outer `None` = leave as is; `Some(None)` = clear an optional field.
#[derive(Debug, Clone, Default)]
pub struct ApplicationPatch {
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    /// Present only to be refused when it would change: `appId` is read-only.
    pub app_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewServicePrincipal {
    /// The `appId` of an application of this tenant (required).
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub account_enabled: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct ServicePrincipalPatch {
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    pub account_enabled: Option<bool>,
    /// Present only to be refused when it would change: `appId` is read-only.
    pub app_id: Option<String>,
}

/// Parses the `appId` a client sent: a GUID.
pub fn parse_app_id(raw: &str) -> DomainResult<ObjectId> {
    ObjectId::parse_str(raw.trim())
        .map_err(|_| DomainError::bad_request(format!("Invalid value specified for property 'appId': '{raw}'.")))
}

fn check_app_id_unchanged(sent: Option<String>, current: ObjectId) -> DomainResult<()> {
    match sent {
        Some(raw) if parse_app_id(&raw).ok() != Some(current) => {
            Err(DomainError::bad_request("Property 'appId' is read-only and cannot be changed."))
        }
        _ => Ok(()),
    }
}

impl NewApplication {
    /// Builds a new application with a fresh `app_id`.
    pub fn build(self, id: ObjectId, app_id: ObjectId, now: Instant) -> DomainResult<Application> {
        Ok(Application {
            id,
            app_id,
            display_name: required("displayName", self.display_name)?,
            description: optional("description", self.description)?,
            created: now,
        })
    }
}

impl ApplicationPatch {
    pub fn apply(self, app: &Application) -> DomainResult<Application> {
        check_app_id_unchanged(self.app_id, app.app_id)?;
        let mut next = app.clone();
        if let Some(v) = self.display_name {
            next.display_name = required("displayName", Some(v))?;
        }
        if let Some(v) = self.description {
            next.description = optional("description", v)?;
        }
        Ok(next)
    }
}

impl NewServicePrincipal {
    /// Builds the service principal of `application`, which the caller looked up by the
    /// `appId` given (`None` when no application of this tenant has it). `existing` says whether
    /// that application already has a service principal.
    pub fn build(
        self,
        id: ObjectId,
        application: Option<&Application>,
        existing: bool,
        now: Instant,
    ) -> DomainResult<ServicePrincipal> {
        let raw = self.app_id.ok_or_else(|| {
            DomainError::bad_request("Property 'appId' is required when creating a service principal.")
        })?;
        let app_id = parse_app_id(&raw)?;
        let app = application.filter(|a| a.app_id == app_id).ok_or_else(|| {
            DomainError::bad_request(format!(
                "The appId '{app_id}' of the service principal does not reference a valid application object."
            ))
        })?;
        if existing {
            return Err(DomainError::conflict(
                "Request_MultipleObjectsWithSameKeyValue",
                format!("The application with appId '{app_id}' already has a service principal."),
            ));
        }
        let display_name = match self.display_name {
            Some(name) => required("displayName", Some(name))?,
            None => app.display_name.clone(),
        };
        Ok(ServicePrincipal {
            id,
            app_id,
            app_display_name: Some(app.display_name.clone()),
            display_name,
            description: optional("description", self.description)?,
            service_principal_type: SERVICE_PRINCIPAL_TYPE_APPLICATION.to_string(),
            account_enabled: self.account_enabled.unwrap_or(true),
            created: now,
        })
    }
}

impl ServicePrincipalPatch {
    pub fn apply(self, sp: &ServicePrincipal) -> DomainResult<ServicePrincipal> {
        check_app_id_unchanged(self.app_id, sp.app_id)?;
        let mut next = sp.clone();
        if let Some(v) = self.display_name {
            next.display_name = required("displayName", Some(v))?;
        }
        if let Some(v) = self.description {
            next.description = optional("description", v)?;
        }
        if let Some(v) = self.account_enabled {
            next.account_enabled = v;
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Instant {
        time::macros::datetime!(2026-01-01 00:00 UTC)
    }

    fn app() -> Application {
        NewApplication { display_name: Some("Payroll".into()), description: None }
            .build(ObjectId::new_v4(), ObjectId::new_v4(), now())
            .unwrap()
    }

    #[test]
    fn applications_need_a_name_and_keep_their_app_id() {
        let e = NewApplication::default().build(ObjectId::new_v4(), ObjectId::new_v4(), now()).unwrap_err();
        assert!(e.message.contains("displayName"), "{e}");
        let a = app();
        let same = ApplicationPatch { app_id: Some(a.app_id.to_string()), ..Default::default() }.apply(&a).unwrap();
        assert_eq!(same, a);
        let e = ApplicationPatch { app_id: Some(ObjectId::new_v4().to_string()), ..Default::default() }
            .apply(&a)
            .unwrap_err();
        assert!(e.message.contains("appId"), "{e}");
        let renamed =
            ApplicationPatch { display_name: Some("HR".into()), description: Some(Some("d".into())), app_id: None }
                .apply(&a)
                .unwrap();
        assert_eq!((renamed.display_name.as_str(), renamed.description.as_deref()), ("HR", Some("d")));
    }

    #[test]
    fn a_service_principal_needs_an_application_of_this_tenant() {
        let a = app();
        let new = |app_id: Option<String>| NewServicePrincipal { app_id, ..Default::default() };
        let e = new(None).build(ObjectId::new_v4(), Some(&a), false, now()).unwrap_err();
        assert!(e.message.contains("appId"), "{e}");
        let e = new(Some("nope".into())).build(ObjectId::new_v4(), None, false, now()).unwrap_err();
        assert!(e.message.contains("appId"), "{e}");
        let e = new(Some(ObjectId::new_v4().to_string())).build(ObjectId::new_v4(), None, false, now()).unwrap_err();
        assert!(e.message.contains("does not reference a valid application"), "{e}");
        let e = new(Some(a.app_id.to_string())).build(ObjectId::new_v4(), Some(&a), true, now()).unwrap_err();
        assert_eq!(e.code, "Request_MultipleObjectsWithSameKeyValue");
        let sp = new(Some(a.app_id.to_string())).build(ObjectId::new_v4(), Some(&a), false, now()).unwrap();
        assert_eq!(sp.display_name, "Payroll");
        assert_eq!(sp.app_display_name.as_deref(), Some("Payroll"));
        assert_eq!(sp.service_principal_type, "Application");
        assert!(sp.account_enabled);
        let off = ServicePrincipalPatch { account_enabled: Some(false), ..Default::default() }.apply(&sp).unwrap();
        assert!(!off.account_enabled);
    }
}
