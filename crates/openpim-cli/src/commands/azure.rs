//! `openpim azure ...`: PIM for Azure resources (roles, assignments, activate, deactivate, my
//! roles; `azure_pim.rs`; approvals, `azure_approvals.rs`; role settings, `azure_policy.rs`) and `openpim azure subscription add`, which registers an Azure subscription with OpenPIM's resource
//! hierarchy (the server's `PUT /openpim/azure/subscriptions/{id}` extension; Global
//! Administrators). Running it again renames the subscription or moves it to another
//! management group.

use super::azure_pim;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{details, emit};
use clap::Subcommand;
use openpim_proto::arm::subscriptions::{RegisterSubscription, Subscription};
use uuid::Uuid;

#[derive(Subcommand)]
pub enum AzureCommand {
    /// Subscriptions.
    #[command(subcommand)]
    Subscription(SubscriptionCommand),
    /// Azure role definitions at a scope.
    Roles(azure_pim::RolesArgs),
    /// Eligible and active Azure role assignments at a scope (admins).
    #[command(subcommand)]
    Assignments(azure_pim::AzureAssignmentsCommand),
    /// Activate an Azure role you are eligible for, at its scope or one below.
    Activate(azure_pim::ActivateArgs),
    /// End your activation of an Azure role.
    Deactivate(azure_pim::DeactivateArgs),
    /// What you hold in Azure.
    #[command(subcommand)]
    My(azure_pim::AzureMyCommand),
    /// Azure role settings at a scope: show, set.
    #[command(subcommand)]
    Policy(super::azure_policy::AzurePolicyCommand),
    /// Azure role activations waiting for your approval: list, show, approve, deny.
    #[command(subcommand)]
    Approvals(super::azure_approvals::AzureApprovalsCommand),
}

#[derive(Subcommand)]
pub enum SubscriptionCommand {
    /// Register a subscription (or rename it, or move it to another management group).
    Add {
        /// The subscription id (a GUID).
        #[arg(long)]
        id: Uuid,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// The management group holding it (an id or a full id); the tenant root group by default.
        #[arg(long = "management-group")]
        management_group: Option<String>,
    },
}

pub async fn run(ctx: &Ctx, cmd: AzureCommand) -> CliResult<()> {
    match cmd {
        AzureCommand::Roles(a) => azure_pim::roles(ctx, a).await,
        AzureCommand::Assignments(c) => azure_pim::assignments(ctx, c).await,
        AzureCommand::Activate(a) => azure_pim::activate(ctx, a).await,
        AzureCommand::Deactivate(a) => azure_pim::deactivate(ctx, a).await,
        AzureCommand::My(c) => azure_pim::my(ctx, c).await,
        AzureCommand::Policy(c) => super::azure_policy::run(ctx, c).await,
        AzureCommand::Approvals(c) => super::azure_approvals::run(ctx, c).await,
        AzureCommand::Subscription(SubscriptionCommand::Add { id, name, management_group }) => {
            let body = RegisterSubscription { display_name: name, management_group_id: management_group };
            let path = format!("/openpim/azure/subscriptions/{id}");
            let registered: Subscription = ctx.client.put_as(&path, &body).await?;
            emit(ctx.format, &registered, || {
                details(&[
                    ("Subscription", registered.subscription_id.clone()),
                    ("Name", registered.display_name.clone()),
                    ("Management group", registered.management_group_id.clone().unwrap_or_default()),
                    ("State", registered.state.clone()),
                ])
            });
            Ok(())
        }
    }
}
