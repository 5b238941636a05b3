//! `openpim roles list|show|create-custom`: the role catalog.

use crate::client::enc;
use crate::context::Ctx;
use crate::error::CliResult;
use crate::output::{details, emit, s, Table};
use crate::resolve::ROLE_DEFINITIONS;
use clap::Subcommand;
use serde_json::{json, Value};

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
    let mut roles: Vec<Value> = ctx
        .roles()
        .await?
        .into_iter()
        .filter(|r| needle.as_ref().is_none_or(|n| s(r, "displayName").to_lowercase().contains(n.as_str())))
        .filter(|r| {
            let is_builtin = r["isBuiltIn"].as_bool().unwrap_or(false);
            !(custom && is_builtin || builtin && !is_builtin)
        })
        .map(|r| {
            json!({
                "id": r["id"], "displayName": r["displayName"], "templateId": r["templateId"],
                "isBuiltIn": r["isBuiltIn"], "isEnabled": r["isEnabled"], "description": r["description"],
            })
        })
        .collect();
    roles.sort_by_key(|r| s(r, "displayName").to_lowercase());
    emit(ctx.format, &Value::from(roles.clone()), || {
        let mut t = Table::new(&["NAME", "ID", "TYPE", "ENABLED"]);
        for r in &roles {
            t.row(vec![
                s(r, "displayName").into(),
                s(r, "id").into(),
                if r["isBuiltIn"].as_bool().unwrap_or(false) { "built-in" } else { "custom" }.into(),
                if r["isEnabled"].as_bool().unwrap_or(false) { "yes" } else { "no" }.into(),
            ]);
        }
        t.render()
    });
    Ok(())
}

fn actions_of(role: &Value) -> Vec<String> {
    role["rolePermissions"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["allowedResourceActions"].as_array().into_iter().flatten())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

async fn show(ctx: &Ctx, arg: &str) -> CliResult<()> {
    let id = s(&ctx.role(arg).await?, "id").to_string();
    let role = ctx.client.get(&format!("{ROLE_DEFINITIONS}/{}", enc(&id))).await?;
    emit(ctx.format, &role, || {
        let actions = actions_of(&role);
        let mut out = details(&[
            ("Name", s(&role, "displayName").into()),
            ("Id", s(&role, "id").into()),
            ("Template id", s(&role, "templateId").into()),
            ("Type", if role["isBuiltIn"].as_bool().unwrap_or(false) { "built-in" } else { "custom" }.into()),
            ("Enabled", if role["isEnabled"].as_bool().unwrap_or(false) { "yes" } else { "no" }.into()),
            ("Description", s(&role, "description").into()),
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
    let body = json!({
        "displayName": name,
        "description": description,
        "isEnabled": !disabled,
        "rolePermissions": [{"allowedResourceActions": actions}],
    });
    let role = ctx.client.post(ROLE_DEFINITIONS, &body).await?;
    emit(ctx.format, &role, || format!("Created custom role '{}' ({})\n", s(&role, "displayName"), s(&role, "id")));
    Ok(())
}
