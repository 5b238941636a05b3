//! users, groups, administrative units, applications, service principals.

use super::body::Body;
use super::datetime;
use crate::error::ApiResult;
use openpim_core::applications::{
    Application, ApplicationPatch, NewApplication, NewServicePrincipal, ServicePrincipal, ServicePrincipalPatch,
};
use openpim_core::directory::{
    AdministrativeUnit, AdministrativeUnitPatch, Group, GroupPatch, NewAdministrativeUnit, NewGroup, NewUser, User,
    UserPatch,
};
use openpim_store::directory::{DirectoryObject, ScopeObject};
use serde_json::{json, Value};

pub const USER_TYPE: &str = "microsoft.graph.user";
pub const GROUP_TYPE: &str = "microsoft.graph.group";
pub const AU_TYPE: &str = "microsoft.graph.administrativeUnit";
pub const APPLICATION_TYPE: &str = "microsoft.graph.application";
pub const SERVICE_PRINCIPAL_TYPE: &str = "microsoft.graph.servicePrincipal";

pub fn user(u: &User) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.user",
        "id": u.id,
        "userPrincipalName": u.user_principal_name,
        "displayName": u.display_name,
        "mailNickname": u.mail_nickname,
        "givenName": u.given_name,
        "surname": u.surname,
        "mail": u.mail,
        "jobTitle": u.job_title,
        "department": u.department,
        "accountEnabled": u.account_enabled,
        "userType": u.user_type.as_str(),
        "imAddresses": u.im_addresses,
        "createdDateTime": datetime(u.created),
        "businessPhones": [],
    })
}

pub fn group(g: &Group) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.group",
        "id": g.id,
        "displayName": g.display_name,
        "description": g.description,
        "mailNickname": g.mail_nickname,
        "mailEnabled": g.mail_enabled,
        "securityEnabled": g.security_enabled,
        "isAssignableToRole": g.is_assignable_to_role,
        "groupTypes": [],
        "visibility": if g.is_assignable_to_role { Some("Private") } else { None },
        "createdDateTime": datetime(g.created),
    })
}

pub fn administrative_unit(u: &AdministrativeUnit) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.administrativeUnit",
        "id": u.id,
        "displayName": u.display_name,
        "description": u.description,
        "visibility": null,
    })
}

pub fn application(a: &Application) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.application",
        "id": a.id,
        "appId": a.app_id,
        "displayName": a.display_name,
        "description": a.description,
        "createdDateTime": datetime(a.created),
    })
}

pub fn service_principal(sp: &ServicePrincipal) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": sp.id,
        "appId": sp.app_id,
        "appDisplayName": sp.app_display_name,
        "displayName": sp.display_name,
        "description": sp.description,
        "servicePrincipalType": sp.service_principal_type,
        "accountEnabled": sp.account_enabled,
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
    };
    if let Some(types) = b.string_list("groupTypes")? {
        if !types.is_empty() {
            return Err(crate::error::ApiError::bad_request(
                "Only security groups are supported: groupTypes must be empty.",
            ));
        }
    }
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
