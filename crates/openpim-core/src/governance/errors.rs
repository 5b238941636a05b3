//! The beta API's error codes for the engine's refusals. The engine speaks v1.0's codes; the beta
//! docs document a different set for the same situations (all 400): a client of either API
//! branches on its own.

/// The beta code for an engine (v1.0) error code; codes the beta API shares or has no name for
/// pass through unchanged.
pub fn beta_code(code: &str) -> Option<&'static str> {
    Some(match code {
        "RoleDefinitionDoesNotExist" => "RoleNotFound",
        // The schedule rules (the 5-minute minimum, the policy's maximum, extend/renew windows)
        // are the policy validation the beta docs name.
        "ActiveDurationTooShort"
        | "EligibleDurationTooShort"
        | "InvalidRoleAssignmentRequestSchedule"
        | "InvalidExtendRequest"
        | "InvalidRenewRequest"
        | "RoleAssignmentRequestPolicyValidationFailed" => "RoleAssignmentRequestPolicyValidationFailed",
        "RequestNotCancelable" => "RequestCannotBeCancelled",
        "InvalidPolicyRule" => "InvalidRoleSetting",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_codes_read_as_documented_beta_codes() {
        assert_eq!(beta_code("RoleDefinitionDoesNotExist"), Some("RoleNotFound"));
        assert_eq!(beta_code("ActiveDurationTooShort"), Some("RoleAssignmentRequestPolicyValidationFailed"));
        assert_eq!(beta_code("RequestNotCancelable"), Some("RequestCannotBeCancelled"));
        assert_eq!(beta_code("InvalidPolicyRule"), Some("InvalidRoleSetting"));
        assert_eq!(beta_code("RoleAssignmentExists"), None);
        assert_eq!(beta_code("PendingRoleAssignmentRequest"), None);
    }
}
