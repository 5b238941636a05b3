//! `openpim roles list|show|create-custom`: the role catalog.

use crate::client::enc;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{details, emit, Table};
use crate::resolve::ROLE_DEFINITIONS;
use clap::Subcommand;
use openpim_proto::roles::{NewUnifiedRoleDefinition, NewUnifiedRolePermission, UnifiedRoleDefinition};
use serde::Serialize;
use uuid::Uuid;

/// A role as `roles list` prints it (its JSON is the `--output json` contract).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoleRow {
    id: Uuid,
    display_name: String,
    template_id: Option<Uuid>,
    is_built_in: bool,
    is_enabled: bool,
    description: Option<String>,
}

#[derive(Subcommand)]
pub enum RolesCommand {
    /// List role definitions (built-in and custom).
    List {
        /// Only roles whose display name contains this text (case-insensitive).
        #[arg(long)]
        name: Option<String>,
        /// Only custom roles.
        #[arg(long, conflicts_with = "builtin")]
        custom: bool,
        /// Only built-in roles.
        #[arg(long)]
        builtin: bool,
    },
    /// Show one role with its permissions.
    Show {
        /// Display name, id or template id.
        role: String,
    },
    /// Create a custom role.
    CreateCustom {
        /// Display name of the new role.
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// Allowed resource actions (repeatable or comma-separated), e.g.
        /// microsoft.directory/users/basic/update.
        #[arg(long = "action", value_delimiter = ',', required = true)]
        actions: Vec<String>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
}

pub async fn run(ctx: &Ctx, cmd: RolesCommand) -> CliResult<()> {
    match cmd {
        RolesCommand::List { name, custom, builtin } => list(ctx, name, custom, builtin).await,
        RolesCommand::Show { role } => show(ctx, &role).await,
        RolesCommand::CreateCustom { name, description, actions, disabled } => {
            create(ctx, name, description, actions, disabled).await
        }
    }
}

async fn list(ctx: &Ctx, name: Option<String>, custom: bool, builtin: bool) -> CliResult<()> {
    let needle = name.map(|n| n.to_lowercase());
    let mut roles: Vec<RoleRow> = ctx
        .roles()
        .await?
        .into_iter()
        .filter(|r| needle.as_ref().is_none_or(|n| r.display_name.to_lowercase().contains(n.as_str())))
        .filter(|r| !(custom && r.is_built_in || builtin && !r.is_built_in))
        .map(|r| RoleRow {
            id: r.id,
            display_name: r.display_name,
            template_id: r.template_id,
            is_built_in: r.is_built_in,
            is_enabled: r.is_enabled,
            description: r.description,
        })
        .collect();
    roles.sort_by_key(|r| r.display_name.to_lowercase());
    emit(ctx.format, &roles, || {
        let mut t = Table::new(&["NAME", "ID", "TYPE", "ENABLED"]);
        for r in &roles {
            t.row(vec![
                r.display_name.clone(),
                r.id.to_string(),
                if r.is_built_in { "built-in" } else { "custom" }.into(),
                if r.is_enabled { "yes" } else { "no" }.into(),
            ]);
        }
        t.render()
    });
    Ok(())
}

fn actions_of(role: &UnifiedRoleDefinition) -> Vec<String> {
    role.role_permissions.iter().flat_map(|p| p.allowed_resource_actions.iter().cloned()).collect()
}

async fn show(ctx: &Ctx, arg: &str) -> CliResult<()> {
    let id = ctx.role(arg).await?.id;
    let role: UnifiedRoleDefinition =
        ctx.client.get_as(&format!("{ROLE_DEFINITIONS}/{}", enc(&id.to_string()))).await?;
    emit(ctx.format, &role, || {
        let actions = actions_of(&role);
        let mut out = details(&[
            ("Name", role.display_name.clone()),
            ("Id", role.id.to_string()),
            ("Template id", role.template_id.map(|t| t.to_string()).unwrap_or_default()),
            ("Type", if role.is_built_in { "built-in" } else { "custom" }.into()),
            ("Enabled", if role.is_enabled { "yes" } else { "no" }.into()),
            ("Description", role.description.clone().unwrap_or_default()),
            ("Permissions", format!("{} allowed actions", actions.len())),
        ]);
        for a in actions {
            out.push_str(&format!("  {a}\n"));
        }
        out
    });
    Ok(())
}

async fn create(
    ctx: &Ctx,
    name: String,
    description: Option<String>,
    actions: Vec<String>,
    disabled: bool,
) -> CliResult<()> {
    let actions: Vec<String> = actions.into_iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
    let body = NewUnifiedRoleDefinition {
        display_name: name,
        description,
        is_enabled: !disabled,
        role_permissions: vec![NewUnifiedRolePermission { allowed_resource_actions: actions }],
    };
    let role: UnifiedRoleDefinition = ctx.client.post_as(ROLE_DEFINITIONS, &body).await?;
    emit(ctx.format, &role, || format!("Created custom role '{}' ({})\n", role.display_name, role.id));
    Ok(())
}
