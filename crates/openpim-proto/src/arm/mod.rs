//! Azure Resource Manager's JSON shapes (issue #15), one file per API area. ARM sends camelCase
//! property names and leaves absent optional properties out; a list is `{"value": [...],
//! "nextLink": "..."}` and an error `{"error": {"code", "message", ...}}`.

pub mod approvals;
pub mod envelope;
pub mod error;
pub mod management_groups;
pub mod permissions;
pub mod pim;
pub mod pim_requests;
pub mod policies;
pub mod resource_groups;
pub mod resources;
pub mod role_assignments;
pub mod role_definitions;
pub mod subscriptions;

pub use envelope::ArmList;
pub use error::{ArmAdditionalInfo, ArmErrorBody, ArmErrorDetail};
