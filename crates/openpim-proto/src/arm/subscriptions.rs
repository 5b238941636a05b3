//! `GET /subscriptions` and `/subscriptions/{id}` (api-version 2022-12-01; also 2020-01-01,
//! 2021-01-01), and the OpenPIM extension that registers a subscription.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// `/subscriptions/{subscriptionId}`.
    pub id: String,
    pub subscription_id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// `Enabled`, `Warned`, `PastDue`, `Disabled`, `Deleted`.
    pub state: String,
    pub subscription_policies: SubscriptionPolicies,
    /// `RoleBased`: access is Azure RBAC.
    pub authorization_source: String,
    /// OpenPIM: the management group holding it (not in ARM's model; clients ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_group_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionPolicies {
    pub location_placement_id: String,
    pub quota_id: String,
    pub spending_limit: String,
}

/// The body of `PUT /openpim/azure/subscriptions/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterSubscription {
    pub display_name: String,
    /// A management group id or its full id; the tenant root group when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_group_id: Option<String>,
}
