//! `Microsoft.Authorization/permissions` (api-version 2022-04-01): azure-mgmt-authorization's
//! `Permission`, one per role assignment in effect for the caller at the scope.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}
