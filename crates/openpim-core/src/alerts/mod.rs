//! PIM security alerts (Graph beta `identityGovernance/roleManagementAlerts`): their
//! definitions, configurations, and the pure evaluation the server runs on a schedule and on
//! `refresh`. The server gathers the facts (who holds which privileged role and how, the
//! policies' MFA rule, last activations and sign-ins) and persists what comes out.

mod azure;
mod config;
mod definitions;
mod evaluate;

pub use azure::{
    apply_azure, evaluate_azure, AzureAlertConfiguration, AzureAlertKind, AzureConfigurationPatch, AzureFacts,
    AzureHolding, AzureRoleFacts, OwnerThresholds, PermissionSet, AZURE_RESOURCE, DUPLICATE_REASON,
    PRIVILEGED_AZURE_ROLES,
};
pub use config::{apply, AlertConfiguration, ConfigurationPatch, Thresholds};
pub use definitions::{AlertKind, Severity, DIRECTORY_ROLE};
pub use evaluate::{evaluate, reconcile, Facts, Holding, HoldingKind, Incident, PrincipalFacts, Reconciled, RoleFacts};
