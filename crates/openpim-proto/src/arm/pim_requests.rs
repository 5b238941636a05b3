//! The body a client PUTs to `roleEligibilityScheduleRequests/{name}` or
//! `roleAssignmentScheduleRequests/{name}` (azure-mgmt-authorization's request models with only
//! the writable properties; `pim::ScheduleRequest` is the answer). Used by `openpim azure`.

use super::pim::{ScheduleInfo, TicketInfo};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewScheduleRequest {
    pub properties: NewScheduleRequestProperties,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewScheduleRequestProperties {
    /// The full role definition id (`{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}`).
    pub role_definition_id: String,
    pub principal_id: String,
    /// `AdminAssign`, `AdminRemove`, `SelfActivate`, `SelfDeactivate`, ...
    pub request_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_info: Option<ScheduleInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_info: Option<TicketInfo>,
}
