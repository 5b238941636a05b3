//! The vocabulary of `additionalDetails` keys: every writer uses these names, so auditors (and
//! the CSV) find the same fact under the same key whichever endpoint or job wrote the record.
//! Values are plain text: instants in RFC 3339, durations in ISO 8601.

/// The schedule request's action (`selfActivate`, `adminAssign`, ...).
pub const ACTION: &str = "action";
/// The schedule request the record is about.
pub const REQUEST_ID: &str = "requestId";
/// The request's status after this event.
pub const STATUS: &str = "status";
/// The request's status before this event.
pub const PREVIOUS_STATUS: &str = "previousStatus";
/// Who asked: the principal of a self-service request or the admin who filed an admin request.
pub const REQUESTOR_ID: &str = "requestorId";
pub const REQUESTOR_NAME: &str = "requestorName";
/// The user or group a role is assigned to or activated for.
pub const PRINCIPAL_ID: &str = "principalId";
pub const PRINCIPAL_NAME: &str = "principalName";
pub const ROLE_DEFINITION_ID: &str = "roleDefinitionId";
pub const ROLE_NAME: &str = "roleName";
/// Where the role applies, and the scope's name ("Directory" for `/`, the unit's name...).
pub const DIRECTORY_SCOPE_ID: &str = "directoryScopeId";
pub const DIRECTORY_SCOPE_NAME: &str = "directoryScopeName";
pub const JUSTIFICATION: &str = "justification";
pub const TICKET_NUMBER: &str = "ticketNumber";
pub const TICKET_SYSTEM: &str = "ticketSystem";
/// The window the requester asked for (`requestedEnd` or `requestedDuration` as they asked).
pub const REQUESTED_START: &str = "requestedStartDateTime";
pub const REQUESTED_END: &str = "requestedEndDateTime";
pub const REQUESTED_DURATION: &str = "requestedDuration";
/// The window actually granted (absent end: permanent).
pub const GRANTED_START: &str = "grantedStartDateTime";
pub const GRANTED_END: &str = "grantedEndDateTime";
pub const GRANTED_DURATION: &str = "grantedDuration";
/// The schedule created, replaced or removed.
pub const SCHEDULE_ID: &str = "scheduleId";
pub const ROLE_ASSIGNMENT_ID: &str = "roleAssignmentId";
/// Approvals: the approval, the stage decided (1-based), its result and the approver's reason.
pub const APPROVAL_ID: &str = "approvalId";
pub const APPROVAL_STAGE: &str = "approvalStage";
pub const APPROVAL_RESULT: &str = "approvalResult";
pub const APPROVAL_REASON: &str = "approvalReason";
pub const APPROVER_ID: &str = "approverId";
pub const APPROVER_NAME: &str = "approverName";
/// Policies: the policy and the rule changed (old and new values go in `modifiedProperties`).
pub const POLICY_ID: &str = "policyId";
pub const RULE_ID: &str = "ruleId";
/// Why an approved or otherwise accepted change could not be carried out.
pub const FAILURE: &str = "failure";
/// Side effects: activations revoked with an eligibility, self-service asks answered by an admin.
pub const REVOKED_ACTIVATIONS: &str = "revokedActivations";
/// Activations cut short because the eligibility they came from was shortened.
pub const TRUNCATED_ACTIVATIONS: &str = "truncatedActivations";
pub const ANSWERED_SELF_REQUESTS: &str = "answeredSelfRequests";
pub const MEMBER_ID: &str = "memberId";
pub const MEMBER_NAME: &str = "memberName";

/// Detail keys holding an id, each with the key the store's write path adds beside it holding
/// the name it resolved: records keep ids (stable) and names (readable) together.
pub const NAMED_IDS: &[(&str, &str)] = &[
    (DIRECTORY_SCOPE_ID, DIRECTORY_SCOPE_NAME),
    (REQUESTOR_ID, REQUESTOR_NAME),
    (PRINCIPAL_ID, PRINCIPAL_NAME),
    (ROLE_DEFINITION_ID, ROLE_NAME),
    (APPROVER_ID, APPROVER_NAME),
    (MEMBER_ID, MEMBER_NAME),
];

/// The name of the tenant-wide scope `/`, as Entra's audit history shows it.
pub const TENANT_SCOPE_NAME: &str = "Directory";
