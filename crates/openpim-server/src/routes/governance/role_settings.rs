//! `privilegedAccess/{provider}[/resources/{id}]/roleSettings`: each role's policy as a
//! governanceRoleSetting. aadRoles: the directory role's policy (its id is the v1.0 policy id);
//! a PATCH becomes rule updates through the one policy write path
//! (`pim::policies::update_rules`: validation, audit, all or none). azureResources: the policy
//! of an Azure role at the resource's ARM scope (`azure::policies`, its id the ARM policy
//! name), read and written with ARM's rights (`roleManagementPolicies/read` and `/write` at the
//! scope: Owner, User Access Administrator).

use super::{azure, beta_error, from_arm, page_in_memory, resources, role_definitions, Location, Provider};
use crate::arm::ArmCaller;
use crate::auth::Caller;
use crate::azure::policies::{self as arm_policies, ArmPolicy};
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::pim::policies::PolicyReader;
use crate::pim::{self};
use crate::routes::ops::no_content;
use crate::state::{AppState, Audit};
use crate::wire::body::{Body, JsonObject};
use crate::wire::governance as wire;
use crate::wire::policies::rule as v1_rule;
use axum::extract::State;
use axum::response::Response;
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::audit::detail;
use openpim_core::authz::cap;
use openpim_core::governance::settings::{self, ApproverNames};
use openpim_core::policy::rules::PolicyRule;
use openpim_core::scope::Scope;
use openpim_core::ObjectId;
use openpim_odata::{EntitySchema, PropType, Property};
use openpim_store::directory::DirectoryObject;
use openpim_store::policies::StoredPolicy;
use serde_json::Value;
use std::collections::HashMap;

pub const CONTEXT: &str = "governanceRoleSettings";
const NAVIGATION: &[&str] = &["resource", "roleDefinition"];

const fn p(name: &'static str, ty: PropType) -> Property {
    Property::new(name, name, ty)
}

pub static SCHEMA: EntitySchema = EntitySchema {
    type_name: wire::ROLE_SETTING_TYPE,
    key_column: "id",
    properties: &[
        p("id", PropType::String).case_insensitive(),
        p("resourceId", PropType::Guid),
        p("roleDefinitionId", PropType::Guid),
        p("isDefault", PropType::Bool),
        p("lastUpdatedDateTime", PropType::DateTime),
        p("lastUpdatedBy", PropType::String).case_insensitive(),
    ],
};

fn setting_not_found(id: &str) -> ApiError {
    ApiError::bad_request_code("RoleSettingNotFound", format!("The role setting '{id}' was not found."))
}

/// The approvers' names and mail, read before rendering (ApprovalRule lists them).
struct Names(HashMap<ObjectId, (String, String)>);

impl ApproverNames for Names {
    fn describe(&self, id: ObjectId) -> Option<(String, String)> {
        self.0.get(&id).cloned()
    }
}

async fn names(s: &AppState, rules: &[PolicyRule]) -> ApiResult<Names> {
    let mut found = HashMap::new();
    for id in openpim_core::approval::listed_approvers(rules) {
        let described = match s.store.find_object(id).await? {
            Some(DirectoryObject::User(u)) => Some((u.display_name, u.mail.unwrap_or(u.user_principal_name))),
            Some(DirectoryObject::Group(g)) => Some((g.display_name, String::new())),
            _ => None,
        };
        if let Some(d) = described {
            found.insert(id, d);
        }
    }
    Ok(Names(found))
}

/// A role setting of either provider.
enum Setting {
    Directory(StoredPolicy),
    Azure(ArmPolicy),
}

impl Setting {
    fn view(&self) -> wire::PolicyView<'_> {
        match self {
            Setting::Directory(p) => p.into(),
            Setting::Azure(p) => p.into(),
        }
    }

    /// Where the policy applies: the tenant, or its ARM scope.
    fn scope(&self) -> Scope {
        match self {
            Setting::Directory(_) => Scope::parse("/").expect("'/' is the directory root"),
            Setting::Azure(p) => Scope::Arm(p.scope.clone()),
        }
    }
}

async fn render_view(s: &AppState, loc: &Location, setting: &Setting) -> ApiResult<(Value, ObjectId, Scope)> {
    let view = setting.view();
    let scope = setting.scope();
    let resource_id = azure::governance_id(loc, &scope);
    let v = wire::json(&wire::role_setting(resource_id, &view, &names(s, view.rules).await?));
    Ok((v, resource_id, scope))
}

async fn render(s: &AppState, q: &OData, loc: &Location, setting: &Setting) -> ApiResult<Value> {
    let (mut v, resource_id, scope) = render_view(s, loc, setting).await?;
    if q.expands("resource") {
        v["resource"] = resources::of_row(s, loc, &scope).await?;
    }
    if q.expands("roleDefinition") {
        let role = setting.view().role_definition_id;
        v["roleDefinition"] = match role_definitions::of_row(s, resource_id, &scope, role).await? {
            Some(mut d) => {
                // `roleDefinition($expand=resource)`.
                if nested_expands(q, "roleDefinition", "resource") {
                    d["resource"] = resources::of_row(s, loc, &scope).await?;
                }
                d
            }
            None => Value::Null,
        };
    }
    Ok(v)
}

/// Does `$expand=outer($expand=inner)` ask for `inner`?
pub fn nested_expands(q: &OData, outer: &str, inner: &str) -> bool {
    q.options
        .expand
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(outer))
        .any(|e| e.options.expand.iter().any(|i| i.name.eq_ignore_ascii_case(inner)))
}

/// The rendered setting of `role`, if the caller may read it (a role's `roleSetting`).
/// azureResources: the role's policy at the location's scope, for a reader of policies there.
pub async fn of_role(s: &AppState, loc: &Location, caller: &Caller, role: ObjectId) -> ApiResult<Option<Value>> {
    let setting = match loc.provider {
        Provider::AadRoles => {
            let readable = pim::policies::readable(s, &PolicyReader::of(s, caller)).await?;
            readable.into_iter().find(|p| p.role_definition_id == role).map(Setting::Directory)
        }
        Provider::AzureResources => {
            let scope = loc.azure_scope();
            let arm_caller = ArmCaller(caller.clone());
            if crate::azure::authorize_read(s, &arm_caller, arm_policies::READ, &scope).is_err() {
                return Ok(None);
            }
            let Some(role) = s.store.azure_role_definition(role).await? else { return Ok(None) };
            arm_policies::policies_of(s, &scope, vec![role]).await.map_err(from_arm)?.pop().map(Setting::Azure)
        }
    };
    Ok(match setting {
        Some(p) => Some(render_view(s, loc, &p).await?.0),
        None => None,
    })
}

pub async fn list(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    q.check_expand(wire::ROLE_SETTING_TYPE, NAVIGATION)?;
    let settings: Vec<Setting> = match loc.provider {
        Provider::AadRoles => pim::policies::readable(&s, &PolicyReader::of(&s, &caller))
            .await?
            .into_iter()
            .map(Setting::Directory)
            .collect(),
        Provider::AzureResources => {
            loc.visible_azure(&s, caller.id()).await?;
            let scope = loc.azure_scope();
            let arm_caller = ArmCaller(caller.clone());
            let roles =
                arm_policies::list_roles(&s, &arm_caller, &scope, None, arm_policies::READ).await.map_err(from_arm)?;
            arm_policies::policies_of(&s, &scope, roles)
                .await
                .map_err(from_arm)?
                .into_iter()
                .map(Setting::Azure)
                .collect()
        }
    };
    let mut items = Vec::with_capacity(settings.len());
    for p in &settings {
        items.push(render(&s, &q, &loc, p).await?);
    }
    let (page, offset) = page_in_memory(&q, items, &SCHEMA)?;
    Ok(q.collection(CONTEXT, page, offset))
}

/// A setting of the location's provider by id, if the caller may read it. azureResources: the
/// policy at the path's resource, or at the provider level at any resource the caller can see
/// (the id, a UUID v5 of the role and the scope, does not tell the scope).
async fn find(s: &AppState, caller: &Caller, loc: &Location, id: &str) -> ApiResult<Setting> {
    match loc.provider {
        Provider::AadRoles => {
            let p = pim::policies::get(s, &PolicyReader::of(s, caller), id).await?;
            p.filter(|p| p.scope_id == "/").map(Setting::Directory).ok_or_else(|| setting_not_found(id))
        }
        Provider::AzureResources => {
            let arm_caller = ArmCaller(caller.clone());
            let scopes = match loc.visible_azure(s, caller.id()).await? {
                Some(r) => vec![r.scope.clone()],
                None => azure::visible_to(s, caller.id()).await?.into_iter().map(|r| r.scope).collect(),
            };
            for scope in scopes {
                if let Ok(p) = arm_policies::get(s, &arm_caller, &scope, id).await {
                    return Ok(Setting::Azure(p));
                }
            }
            Err(setting_not_found(id))
        }
    }
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, loc: Location) -> ApiResult<Response> {
    q.check_expand(wire::ROLE_SETTING_TYPE, NAVIGATION)?;
    let p = find(&s, &caller, &loc, loc.id()).await?;
    let v = render(&s, &q, &loc, &p).await?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), v))
}

/// `roleSettings/{id}/roleDefinition`.
pub async fn role_definition(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    loc: Location,
) -> ApiResult<Response> {
    q.check_expand(wire::ROLE_DEFINITION_TYPE, &["resource", "roleSetting"])?;
    let p = find(&s, &caller, &loc, loc.id()).await?;
    let r = role_definitions::find(&s, &loc, &p.view().role_definition_id.to_string()).await?;
    let v = role_definitions::render(&s, &q, &loc, &caller, &r).await?;
    Ok(q.entity(&format!("{}/$entity", role_definitions::CONTEXT), v))
}

/// PATCH: the lists sent replace the rules they map to; 204.
pub async fn update(State(s): State<AppState>, caller: Caller, loc: Location, body: JsonObject) -> ApiResult<Response> {
    if loc.provider == Provider::AzureResources {
        return update_azure(&s, &caller, &loc, body).await;
    }
    let id = loc.id();
    let p = s.store.get_policy(id).await?.filter(|p| p.scope_id == "/").ok_or_else(|| setting_not_found(id))?;
    let audit = Audit::new(ROLE_MANAGEMENT, "Update role setting in PIM", "Update")
        .target("Role", p.role_definition_id, None, None)
        .detail(detail::POLICY_ID, &p.id);
    let granted = s.authorize::<cap::ManageRolePolicies>(&caller, &[], &audit).await?;
    let patch = wire::read_setting_patch(Body::new(body, wire::ROLE_SETTING_TYPE))?;
    let incoming = settings::to_rules(&p.rules, &patch)?;
    if incoming.is_empty() {
        return Ok(no_content());
    }
    let audited = |changes: &[pim::policies::RuleChange]| {
        changes.iter().fold(audit, |a, c| {
            crate::audit_detail::rule_change(a, &c.updated.id, &v1_rule(&c.before), &v1_rule(&c.updated))
        })
    };
    pim::policies::update_rules(&s, &granted, &caller, &p.id, incoming, audited).await.map_err(beta_error)?;
    Ok(no_content())
}

/// azureResources PATCH: ARM's policy update at the policy's scope, with ARM's right
/// (`roleManagementPolicies/write` there; a refusal is audited) and its audit; 204.
async fn update_azure(s: &AppState, caller: &Caller, loc: &Location, body: JsonObject) -> ApiResult<Response> {
    let Setting::Azure(p) = find(s, caller, loc, loc.id()).await? else {
        return Err(setting_not_found(loc.id()));
    };
    let arm_caller = ArmCaller(caller.clone());
    let audit = arm_policies::change_audit(&p);
    let granted =
        crate::azure::authorize(s, &arm_caller, arm_policies::WRITE, &p.scope, &audit).await.map_err(from_arm)?;
    let patch = wire::read_setting_patch(Body::new(body, wire::ROLE_SETTING_TYPE))?;
    let incoming = settings::to_rules(&p.rules, &patch)?;
    if incoming.is_empty() {
        return Ok(no_content());
    }
    let rule_json = crate::arm::role_management_policies::rule_json;
    arm_policies::update(s, &granted, &arm_caller, &p, incoming, rule_json)
        .await
        .map_err(|e| beta_error(from_arm(e)))?;
    Ok(no_content())
}
