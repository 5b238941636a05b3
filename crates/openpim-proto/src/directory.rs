//! user, group, administrativeUnit, application, servicePrincipal.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const USER_TYPE: &str = "microsoft.graph.user";
pub const GROUP_TYPE: &str = "microsoft.graph.group";
pub const AU_TYPE: &str = "microsoft.graph.administrativeUnit";
pub const APPLICATION_TYPE: &str = "microsoft.graph.application";
pub const SERVICE_PRINCIPAL_TYPE: &str = "microsoft.graph.servicePrincipal";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: Uuid,
    pub user_principal_name: String,
    pub display_name: String,
    pub mail_nickname: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub account_enabled: bool,
    /// `Member` or `Guest`.
    pub user_type: String,
    pub im_addresses: Vec<String>,
    #[serde(with = "crate::datetime")]
    pub created_date_time: OffsetDateTime,
    pub business_phones: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: String,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    pub is_assignable_to_role: bool,
    pub group_types: Vec<String>,
    pub visibility: Option<String>,
    #[serde(with = "crate::datetime")]
    pub created_date_time: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdministrativeUnit {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub visibility: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: Uuid,
    pub app_id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    #[serde(with = "crate::datetime")]
    pub created_date_time: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    #[serde(rename = "@odata.type", default, skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: Uuid,
    pub app_id: Uuid,
    pub app_display_name: Option<String>,
    pub display_name: String,
    pub description: Option<String>,
    pub service_principal_type: String,
    pub account_enabled: bool,
}

/// A `directoryObject` as Graph returns it where it may be any principal (`$expand=principal`,
/// group members), told apart by `@odata.type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DirectoryObject {
    User(User),
    Group(Group),
    ServicePrincipal(ServicePrincipal),
}

impl DirectoryObject {
    pub fn id(&self) -> Uuid {
        match self {
            Self::User(u) => u.id,
            Self::Group(g) => g.id,
            Self::ServicePrincipal(sp) => sp.id,
        }
    }

    pub fn display_name(&self) -> &str {
        match self {
            Self::User(u) => &u.display_name,
            Self::Group(g) => &g.display_name,
            Self::ServicePrincipal(sp) => &sp.display_name,
        }
    }

    /// Users only.
    pub fn user_principal_name(&self) -> Option<&str> {
        match self {
            Self::User(u) => Some(&u.user_principal_name),
            _ => None,
        }
    }
}
