//! users, groups, administrative units, applications, service principals.

use super::body::Body;
use super::to_json;
use crate::error::ApiResult;
use openpim_core::applications::{
    Application, ApplicationPatch, NewApplication, NewServicePrincipal, ServicePrincipal, ServicePrincipalPatch,
};
use openpim_core::directory::{
    AdministrativeUnit, AdministrativeUnitPatch, Group, GroupPatch, NewAdministrativeUnit, NewGroup, NewUser, User,
    UserPatch,
};
use openpim_proto::directory as proto;
use openpim_proto::odata_type;
use openpim_store::directory::{DirectoryObject, ScopeObject};
use serde_json::Value;

pub use proto::{APPLICATION_TYPE, AU_TYPE, GROUP_TYPE, SERVICE_PRINCIPAL_TYPE, USER_TYPE};

pub fn user(u: &User) -> Value {
    to_json(&proto::User {
        odata_type: Some(odata_type(USER_TYPE)),
        id: u.id,
        user_principal_name: u.user_principal_name.clone(),
        display_name: u.display_name.clone(),
        mail_nickname: u.mail_nickname.clone(),
        given_name: u.given_name.clone(),
        surname: u.surname.clone(),
        mail: u.mail.clone(),
        job_title: u.job_title.clone(),
        department: u.department.clone(),
        account_enabled: u.account_enabled,
        user_type: u.user_type.to_string(),
        im_addresses: u.im_addresses.clone(),
        created_date_time: u.created,
        business_phones: vec![],
    })
}

pub fn group(g: &Group) -> Value {
    to_json(&proto::Group {
        odata_type: Some(odata_type(GROUP_TYPE)),
        id: g.id,
        display_name: g.display_name.clone(),
        description: g.description.clone(),
        mail_nickname: g.mail_nickname.clone(),
        mail_enabled: g.mail_enabled,
        security_enabled: g.security_enabled,
        is_assignable_to_role: g.is_assignable_to_role,
        group_types: g.group_types(),
        visibility: g.is_assignable_to_role.then(|| "Private".to_string()),
        created_date_time: g.created,
    })
}

pub fn administrative_unit(u: &AdministrativeUnit) -> Value {
    to_json(&proto::AdministrativeUnit {
        odata_type: Some(odata_type(AU_TYPE)),
        id: u.id,
        display_name: u.display_name.clone(),
        description: u.description.clone(),
        visibility: None,
    })
}

pub fn application(a: &Application) -> Value {
    to_json(&proto::Application {
        odata_type: Some(odata_type(APPLICATION_TYPE)),
        id: a.id,
        app_id: a.app_id,
        display_name: a.display_name.clone(),
        description: a.description.clone(),
        created_date_time: a.created,
    })
}

pub fn service_principal(sp: &ServicePrincipal) -> Value {
    to_json(&proto::ServicePrincipal {
        odata_type: Some(odata_type(SERVICE_PRINCIPAL_TYPE)),
        id: sp.id,
        app_id: sp.app_id,
        app_display_name: sp.app_display_name.clone(),
        display_name: sp.display_name.clone(),
        description: sp.description.clone(),
        service_principal_type: sp.service_principal_type.clone(),
        account_enabled: sp.account_enabled,
    })
}

pub fn directory_object(o: &DirectoryObject) -> Value {
    match o {
        DirectoryObject::User(u) => user(u),
        DirectoryObject::Group(g) => group(g),
        DirectoryObject::ServicePrincipal(sp) => service_principal(sp),
    }
}

/// The object a `/{objectId}` directory scope expands to.
pub fn scope_object(o: &ScopeObject) -> Value {
    match o {
        ScopeObject::Principal(p) => directory_object(p),
        ScopeObject::Application(a) => application(a),
    }
}

pub fn read_new_application(mut b: Body) -> ApiResult<NewApplication> {
    let new = NewApplication { display_name: b.string("displayName")?, description: b.string("description")? };
    // Sign-in settings are not modelled: OpenPIM manages roles, not app sign-ins.
    b.ignore("signInAudience");
    b.finish()?;
    Ok(new)
}

pub fn read_application_patch(mut b: Body) -> ApiResult<ApplicationPatch> {
    let patch = ApplicationPatch {
        display_name: b.string("displayName")?,
        description: b.nullable_string("description")?,
        app_id: b.string("appId")?,
    };
    b.ignore("signInAudience");
    b.finish()?;
    Ok(patch)
}

pub fn read_new_service_principal(mut b: Body) -> ApiResult<NewServicePrincipal> {
    let new = NewServicePrincipal {
        app_id: b.string("appId")?,
        display_name: b.string("displayName")?,
        description: b.string("description")?,
        account_enabled: b.bool("accountEnabled")?,
    };
    b.finish()?;
    Ok(new)
}

pub fn read_service_principal_patch(mut b: Body) -> ApiResult<ServicePrincipalPatch> {
    let patch = ServicePrincipalPatch {
        display_name: b.string("displayName")?,
        description: b.nullable_string("description")?,
        account_enabled: b.bool("accountEnabled")?,
        app_id: b.string("appId")?,
    };
    b.finish()?;
    Ok(patch)
}

pub fn read_new_user(mut b: Body) -> ApiResult<NewUser> {
    let new = NewUser {
        user_principal_name: b.string("userPrincipalName")?,
        display_name: b.string("displayName")?,
        mail_nickname: b.string("mailNickname")?,
        given_name: b.string("givenName")?,
        surname: b.string("surname")?,
        mail: b.string("mail")?,
        job_title: b.string("jobTitle")?,
        department: b.string("department")?,
        account_enabled: b.bool("accountEnabled")?,
        user_type: b.string("userType")?,
        im_addresses: b.string_list("imAddresses")?,
    };
    // OpenPIM authenticates through tokens; a password sent by a Graph client is not kept.
    b.ignore("passwordProfile");
    b.ignore("usageLocation");
    b.finish()?;
    Ok(new)
}

pub fn read_user_patch(mut b: Body) -> ApiResult<UserPatch> {
    let patch = UserPatch {
        user_principal_name: b.string("userPrincipalName")?,
        display_name: b.string("displayName")?,
        mail_nickname: b.string("mailNickname")?,
        given_name: b.nullable_string("givenName")?,
        surname: b.nullable_string("surname")?,
        mail: b.nullable_string("mail")?,
        job_title: b.nullable_string("jobTitle")?,
        department: b.nullable_string("department")?,
        account_enabled: b.bool("accountEnabled")?,
        user_type: b.string("userType")?,
        im_addresses: b.string_list("imAddresses")?,
    };
    b.ignore("passwordProfile");
    b.ignore("usageLocation");
    b.finish()?;
    Ok(patch)
}

pub fn read_new_group(mut b: Body) -> ApiResult<NewGroup> {
    let new = NewGroup {
        display_name: b.string("displayName")?,
        description: b.string("description")?,
        mail_nickname: b.string("mailNickname")?,
        mail_enabled: b.bool("mailEnabled")?,
        security_enabled: b.bool("securityEnabled")?,
        is_assignable_to_role: b.bool("isAssignableToRole")?,
        group_types: b.string_list("groupTypes")?,
    };
    b.ignore("visibility");
    b.finish()?;
    Ok(new)
}

pub fn read_group_patch(mut b: Body) -> ApiResult<GroupPatch> {
    let patch = GroupPatch {
        display_name: b.string("displayName")?,
        description: b.nullable_string("description")?,
        mail_nickname: b.string("mailNickname")?,
        security_enabled: b.bool("securityEnabled")?,
        mail_enabled: b.bool("mailEnabled")?,
        is_assignable_to_role: b.bool("isAssignableToRole")?,
    };
    b.finish()?;
    Ok(patch)
}

pub fn read_new_administrative_unit(mut b: Body) -> ApiResult<NewAdministrativeUnit> {
    let new = NewAdministrativeUnit { display_name: b.string("displayName")?, description: b.string("description")? };
    b.ignore("visibility");
    b.finish()?;
    Ok(new)
}

pub fn read_administrative_unit_patch(mut b: Body) -> ApiResult<AdministrativeUnitPatch> {
    let patch = AdministrativeUnitPatch {
        display_name: b.string("displayName")?,
        description: b.nullable_string("description")?,
    };
    b.ignore("visibility");
    b.finish()?;
    Ok(patch)
}

/// Reads `{"@odata.id": ".../directoryObjects/{id}"}` (the body of a `$ref` POST).
pub fn read_reference(b: &serde_json::Map<String, Value>) -> ApiResult<uuid::Uuid> {
    let bad = || {
        crate::error::ApiError::bad_request(
            "The request body must be {\"@odata.id\": \"https://graph.microsoft.com/v1.0/directoryObjects/{id}\"}.",
        )
    };
    let url = b.get("@odata.id").and_then(Value::as_str).ok_or_else(bad)?;
    let last = url.trim_end_matches('/').rsplit('/').next().ok_or_else(bad)?;
    // Graph also accepts directoryObjects('{id}') style keys.
    let key = last
        .trim_start_matches("directoryObjects(")
        .trim_start_matches('\'')
        .trim_end_matches(')')
        .trim_end_matches('\'');
    uuid::Uuid::parse_str(key).map_err(|_| bad())
}
