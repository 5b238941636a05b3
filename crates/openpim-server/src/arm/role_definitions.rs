//! `{scope}/providers/Microsoft.Authorization/roleDefinitions[/{roleDefinitionId}]`: list, get,
//! create or update (custom roles), delete. The operations are `crate::azure::role_definitions`;
//! this file reads requests and renders ARM's shapes.

use super::{ArmBody, ArmError, ArmRequest, ArmResult};
use crate::azure::role_definitions::{self as service, actions};
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::roles::azure::{self, AzureRoleType, CustomRoleWrite, RoleDefinitionQuery};
use openpim_core::roles::{RoleDefinition, RolePermission};
use openpim_core::scope::{ArmScope, ArmScopeKind};
use openpim_core::ObjectId;
use openpim_proto::arm::role_definitions::{self as proto, ROLE_DEFINITIONS_TYPE};

/// The api-versions of `Microsoft.Authorization/roleDefinitions` in Azure's REST specs; 2022-04-01
/// is the one the responses follow (and the Azure SDKs' default).
pub const API_VERSIONS: &[&str] = &["2022-04-01", "2022-05-01-preview", "2018-01-01-preview", "2015-07-01"];

pub async fn handle(state: AppState, req: ArmRequest) -> ArmResult<Response> {
    if req.path.types.len() != 1 {
        return Err(ArmError::invalid_resource_type(
            &req.path.types.join("/"),
            &req.path.namespace,
            Some(req.api_version.as_str()),
        ));
    }
    let scope = req.path.parent.scope().cloned();
    match (&req.method, req.path.name()) {
        (&Method::GET, None) => list(&state, &req, scope.as_ref()).await,
        (&Method::GET, Some(name)) => {
            let id = role_id(name)?;
            let role = service::get(&state, &req.caller, scope.as_ref(), id).await?;
            Ok(super::json(StatusCode::OK, &render(&role, scope.as_ref())))
        }
        (&Method::PUT, Some(name)) => put(&state, &req, scope, name).await,
        (&Method::DELETE, Some(name)) => delete(&state, &req, scope.as_ref(), name).await,
        (method, _) => Err(ArmError::method_not_allowed(method)),
    }
}

/// A role definition id in a path: a GUID (any case). Anything else names no role.
fn role_id(name: &str) -> ArmResult<ObjectId> {
    match (name.len() == 36).then(|| uuid::Uuid::try_parse(name).ok()).flatten() {
        Some(id) => Ok(id),
        None => Err(service::does_not_exist(name)),
    }
}

/// The collection's type within `Microsoft.Authorization`, as ids write it.
pub const COLLECTION: &str = "roleDefinitions";

/// The scope ARM names in a role definition's id: role definitions live at the tenant, a
/// management group or a subscription, so a read at a resource group or resource names the
/// subscription (`/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`,
/// the form Microsoft's docs show when reading at a subscription); a tenant-level read gives the
/// tenant form (`/providers/...`).
pub(super) fn id_scope(scope: Option<&ArmScope>) -> ArmScope {
    match scope {
        None => ArmScope::root(),
        Some(s) if s.kind() == ArmScopeKind::ManagementGroup => s.clone(),
        Some(s) => s.subscription_id().map_or_else(|| s.clone(), ArmScope::subscription),
    }
}

/// A role definition's id as read at `scope` (the tenant's for `None`).
pub(super) fn definition_id(scope: Option<&ArmScope>, role: ObjectId) -> String {
    id_scope(scope).resource_id(COLLECTION, role)
}

fn render(role: &RoleDefinition, scope: Option<&ArmScope>) -> proto::RoleDefinition {
    proto::RoleDefinition {
        id: definition_id(scope, role.id),
        name: role.id,
        resource_type: ROLE_DEFINITIONS_TYPE.to_string(),
        properties: proto::RoleDefinitionProperties {
            role_name: role.display_name.clone(),
            role_type: azure::role_type(role).to_string(),
            description: role.description.clone(),
            assignable_scopes: role.azure.assignable_scopes.clone(),
            permissions: role.role_permissions.iter().map(render_permission).collect(),
            created_on: role.created,
            updated_on: role.modified,
            created_by: role.azure.created_by.map(|id| id.to_string()),
            updated_by: role.azure.updated_by.map(|id| id.to_string()),
        },
    }
}

fn render_permission(p: &RolePermission) -> proto::Permission {
    proto::Permission {
        actions: p.allowed_resource_actions.clone(),
        not_actions: p.excluded_resource_actions.clone(),
        data_actions: p.allowed_data_actions.clone(),
        not_data_actions: p.excluded_data_actions.clone(),
        condition: p.condition.clone(),
        condition_version: p.condition_version.clone(),
    }
}

async fn list(state: &AppState, req: &ArmRequest, scope: Option<&ArmScope>) -> ArmResult<Response> {
    let query = parse_filter(req.query.filter().unwrap_or(""))?;
    let roles = service::list(state, &req.caller, scope, &query).await?;
    let rendered: Vec<proto::RoleDefinition> = roles.iter().map(|r| render(r, scope)).collect();
    let page = req.paging()?.page(rendered, req, state);
    Ok(super::json(StatusCode::OK, &page))
}

/// ARM's `$filter` for role definitions: `roleName eq '{name}'`, `type eq 'CustomRole'` (or
/// `'BuiltInRole'`), `atScopeAndBelow()`, joined with `and`. Keywords ignore case; a quote in a
/// value is doubled (OData). Anything else is refused rather than ignored, so a client never
/// takes an unfiltered list for a filtered one. No source gives ARM's code for a filter it cannot
/// read; OpenPIM answers 400 `InvalidFilter`.
pub fn parse_filter(raw: &str) -> ArmResult<RoleDefinitionQuery> {
    let invalid = |why: &str| {
        ArmError::new(StatusCode::BAD_REQUEST, "InvalidFilter", format!("The $filter '{raw}' is not supported: {why}"))
    };
    let mut query = RoleDefinitionQuery::default();
    let mut rest = raw.trim();
    let mut first = true;
    while !rest.is_empty() {
        if !first {
            rest = strip_keyword(rest, "and").ok_or_else(|| invalid("expected 'and' between conditions."))?;
        }
        first = false;
        if let Some(after) = strip_keyword(rest, "atScopeAndBelow()") {
            query.at_scope_and_below = true;
            rest = after;
            continue;
        }
        let (property, after) = rest.split_once(char::is_whitespace).ok_or_else(|| invalid("incomplete condition."))?;
        let after = strip_keyword(after, "eq").ok_or_else(|| invalid("only 'eq' comparisons are supported."))?;
        let (value, after) = quoted(after).ok_or_else(|| invalid("expected a quoted value."))?;
        if property.eq_ignore_ascii_case("roleName") {
            query.role_name = Some(value);
        } else if property.eq_ignore_ascii_case("type") {
            let role_type =
                AzureRoleType::parse(&value).ok_or_else(|| invalid("type is 'BuiltInRole' or 'CustomRole'."))?;
            query.role_type = Some(role_type);
        } else {
            return Err(invalid("the properties are roleName and type, and the function atScopeAndBelow()."));
        }
        rest = after;
    }
    Ok(query)
}

/// `text` after the keyword `word` (any case) and the spaces around it.
fn strip_keyword<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let text = text.trim_start();
    let head = text.get(..word.len())?;
    let tail = &text[word.len()..];
    let ends_word = word.ends_with(')') || tail.is_empty() || tail.starts_with(char::is_whitespace);
    (head.eq_ignore_ascii_case(word) && ends_word).then(|| tail.trim_start())
}

/// A single-quoted OData string at the start of `text` (`''` is a quote), and what follows it.
fn quoted(text: &str) -> Option<(String, &str)> {
    let body = text.trim_start().strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().is_some_and(|&(_, n)| n == '\'') {
                chars.next();
                value.push('\'');
            } else {
                return Some((value, body[i + 1..].trim_start()));
            }
        } else {
            value.push(c);
        }
    }
    None
}

/// Reads a PUT body: `{"name"?, "id"?, "type"?, "properties": {"roleName", "description"?,
/// "type"?, "permissions", "assignableScopes", read-only fields ignored}}`. The GUID in the path
/// is the role's identity: a body `name` or `id` naming another GUID is refused.
fn read_body(req: &ArmRequest, id: ObjectId, scope: Option<ArmScope>) -> ArmResult<CustomRoleWrite> {
    let mut body = req.json_body("RoleDefinition")?;
    if let Some(name) = body.string("name")? {
        if uuid::Uuid::try_parse(&name).ok() != Some(id) {
            return Err(body.invalid(
                "name",
                format_args!("'{name}' does not match the role definition id '{id}' in the request URI."),
            ));
        }
    }
    if let Some(full_id) = body.string("id")? {
        let last = full_id.rsplit('/').next().unwrap_or("");
        if uuid::Uuid::try_parse(last).ok() != Some(id) {
            return Err(body.invalid(
                "id",
                format_args!("'{full_id}' does not match the role definition id '{id}' in the request URI."),
            ));
        }
    }
    if let Some(t) = body.string("type")? {
        if !t.eq_ignore_ascii_case(ROLE_DEFINITIONS_TYPE) {
            return Err(body.invalid("type", format_args!("'{t}' is not '{ROLE_DEFINITIONS_TYPE}'.")));
        }
    }
    let mut props = body.object("properties", "RoleDefinitionProperties")?.ok_or_else(|| body.missing("properties"))?;
    body.finish()?;
    let role_name = props.required_string("roleName")?;
    let description = props.string("description")?.unwrap_or_default();
    let role_type = props.string("type")?;
    let assignable_scopes = props.string_list("assignableScopes")?.unwrap_or_default();
    let mut permissions = Vec::new();
    for mut block in props.objects("permissions", "Permission")?.unwrap_or_default() {
        permissions.push(read_permission(&mut block)?);
        block.finish()?;
    }
    for read_only in ["createdOn", "updatedOn", "createdBy", "updatedBy"] {
        props.ignore(read_only);
    }
    props.finish()?;
    Ok(CustomRoleWrite { id, scope, role_name, description, role_type, assignable_scopes, permissions })
}

fn read_permission(b: &mut ArmBody) -> ArmResult<RolePermission> {
    Ok(RolePermission {
        allowed_resource_actions: b.string_list("actions")?.unwrap_or_default(),
        excluded_resource_actions: b.string_list("notActions")?.unwrap_or_default(),
        allowed_data_actions: b.string_list("dataActions")?.unwrap_or_default(),
        excluded_data_actions: b.string_list("notDataActions")?.unwrap_or_default(),
        condition: b.string("condition")?,
        condition_version: b.string("conditionVersion")?,
    })
}

/// PUT: 201 with the role, for a new role and an update alike (the Azure SDKs accept only 201).
async fn put(state: &AppState, req: &ArmRequest, scope: Option<ArmScope>, name: &str) -> ArmResult<Response> {
    let id = match (name.len() == 36).then(|| uuid::Uuid::try_parse(name).ok()).flatten() {
        Some(id) => id,
        // No source gives ARM's code for a malformed id in a PUT; the role-assignment family's.
        None => {
            return Err(ArmError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRoleDefinitionId",
                format!("The role definition ID '{name}' is not valid: role definition IDs are GUIDs."),
            ))
        }
    };
    let write = read_body(req, id, scope.clone())?;
    let existing = state.store.get_role_definition(id).await?;
    let audit = service::audit_of(
        if existing.is_some() { "Update Azure role definition" } else { "Add Azure role definition" },
        if existing.is_some() { "Update" } else { "Add" },
        id,
        &write.role_name,
    );
    // Core's rules first (a 400 says what is wrong with the body); the write re-checks them
    // against the role as it is inside the transaction.
    let role = match write.clone().build(existing.as_ref(), req.caller.id(), state.now()) {
        Ok(role) => role,
        Err(e) => return Err(service::refuse(state, &req.caller, &audit, e).await),
    };
    let scopes = service::scopes_to_authorize(&role, existing.as_ref());
    // Rights before existence: a caller without rights at a scope learns nothing about it
    // (403 whether it exists or not), as the hierarchy's own reads answer.
    let rights = service::authorize_on_all(state, &req.caller, actions::WRITE, &scopes, &audit).await?;
    service::check_scopes_exist(state, &req.caller, &scopes, &audit).await?;
    let written = service::put(state, &req.caller, &rights, write, &audit).await?;
    Ok(super::json(StatusCode::CREATED, &render(&written.role, scope.as_ref())))
}

/// DELETE: 200 with the deleted role, or 204 when there is none (ARM: "already deleted or does
/// not exist").
async fn delete(state: &AppState, req: &ArmRequest, scope: Option<&ArmScope>, name: &str) -> ArmResult<Response> {
    let Ok(id) = role_id(name) else { return Ok(super::empty(StatusCode::NO_CONTENT)) };
    let Some(role) = state.store.azure_role_definition(id).await? else {
        return Ok(super::empty(StatusCode::NO_CONTENT));
    };
    let audit = service::audit_of("Delete Azure role definition", "Delete", id, &role.display_name);
    if let Err(e) = azure::check_writable(&role) {
        return Err(service::refuse(state, &req.caller, &audit, e).await);
    }
    let scopes = azure::assignable_arm_scopes(&role);
    let rights = service::authorize_on_all(state, &req.caller, actions::DELETE, &scopes, &audit).await?;
    match service::delete(state, &req.caller, &rights, id, &audit).await? {
        Some(deleted) => Ok(super::json(StatusCode::OK, &render(&deleted, scope))),
        None => Ok(super::empty(StatusCode::NO_CONTENT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_as_arm_writes_them() {
        let q = parse_filter("roleName eq 'Virtual Machine Contributor'").unwrap();
        assert_eq!(q.role_name.as_deref(), Some("Virtual Machine Contributor"));
        let q = parse_filter("type eq 'CustomRole'").unwrap();
        assert_eq!(q.role_type, Some(AzureRoleType::CustomRole));
        let q = parse_filter("atScopeAndBelow()").unwrap();
        assert!(q.at_scope_and_below && q.role_name.is_none());
        let q =
            parse_filter("  TYPE EQ 'builtinrole' AND atscopeandbelow() and roleName eq 'it''s and more'  ").unwrap();
        assert_eq!(q.role_type, Some(AzureRoleType::BuiltInRole));
        assert!(q.at_scope_and_below);
        assert_eq!(q.role_name.as_deref(), Some("it's and more"));
        assert_eq!(parse_filter("").unwrap(), RoleDefinitionQuery::default());
        for bad in [
            "roleName eq 'unterminated",
            "roleName ne 'x'",
            "description eq 'x'",
            "type eq 'Custom'",
            "roleName eq 'a' or type eq 'CustomRole'",
            "atScopeAndBelow",
            "roleName eq 'a' 'b'",
        ] {
            let e = parse_filter(bad).unwrap_err();
            assert_eq!((e.status, e.code.as_str()), (StatusCode::BAD_REQUEST, "InvalidFilter"), "{bad}");
        }
    }

    #[test]
    fn ids_name_the_subscription_or_group_they_were_read_at() {
        let role = uuid::uuid!("b24988ac-6180-42a0-ab88-20f7382dd24c");
        let rg = ArmScope::parse("/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d/resourceGroups/rg").unwrap();
        assert_eq!(
            definition_id(Some(&rg), role),
            "/subscriptions/9a1f2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        );
        let mg = ArmScope::parse("/providers/Microsoft.Management/managementGroups/Marketing").unwrap();
        assert_eq!(
            definition_id(Some(&mg), role),
            "/providers/Microsoft.Management/managementGroups/Marketing/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
        );
        for tenant in [None, Some(ArmScope::root())] {
            assert_eq!(
                definition_id(tenant.as_ref(), role),
                "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"
            );
        }
    }
}
