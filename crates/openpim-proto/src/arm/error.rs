//! ARM's error body: the common-types `ErrorResponse` (`{"error": {"code", "message", "target",
//! "details", "additionalInfo"}}`); the older `CloudError` is the same with only code and message.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmErrorBody {
    pub error: ArmErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ArmErrorDetail>,
    #[serde(default, rename = "additionalInfo", skip_serializing_if = "Vec::is_empty")]
    pub additional_info: Vec<ArmAdditionalInfo>,
}

/// Common-types `ErrorAdditionalInfo`: a typed bag of extra facts about an error. OpenPIM puts
/// the request's ids here (type `OpenPIM.RequestIds`), where Graph has `innerError`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmAdditionalInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub info: serde_json::Value,
}
