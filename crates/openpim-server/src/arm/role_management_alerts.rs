//! PIM security alerts for Azure resources, api-version 2022-08-01-preview
//! (azure-rest-api-specs `RoleManagementAlerts.json`), at any ARM scope below the root:
//!
//! - `{scope}/providers/Microsoft.Authorization/roleManagementAlerts[/{name}]`: GET, list;
//!   PATCH `{"properties":{"isActive":false}}` dismisses (204); `POST .../{name}/refresh` and
//!   `POST .../refresh` scan now (202 + an alert operation, `Location` naming it);
//!   `.../{name}/alertIncidents[/{id}]` lists/gets the incidents.
//! - `roleManagementAlertConfigurations[/{name}]`: GET, list, PATCH (204) `isEnabled` and the
//!   owner alerts' thresholds, with the `alertConfigurationType` discriminator.
//! - `roleManagementAlertDefinitions[/{name}]`: GET, list.
//! - `roleManagementAlertOperations/{id}`: GET.
//!
//! Evaluation and persistence are `crate::alerts`' (the scan loop evaluates every scope with a
//! schedule); these handlers parse, authorise with Azure RBAC on the scope and render. Reading
//! needs `Microsoft.Authorization/roleManagementAlerts/read` (Reader has it through `*/read`);
//! dismissing, refreshing and configuring need `.../roleManagementAlerts/write` (Owner, User
//! Access Administrator).

use super::{empty, json, ArmError, ArmRequest, ArmResult};
use crate::alerts::{self as engine, azure_id};
use crate::state::{AppState, Audit};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use openpim_core::alerts::{
    AzureAlertConfiguration, AzureAlertKind, AzureConfigurationPatch, Incident, AZURE_RESOURCE, DUPLICATE_REASON,
};
use openpim_core::audit::category::AZURE_RESOURCE_MANAGEMENT;
use openpim_core::scope::ArmScope;
use openpim_proto::arm::ArmList;
use openpim_store::alerts::{StoredAlert, StoredAlertOperation};
use serde_json::{json, Map, Value};

pub const API_VERSIONS: &[&str] = &["2022-08-01-preview"];

pub const ALERTS: &str = "roleManagementAlerts";
pub const CONFIGURATIONS: &str = "roleManagementAlertConfigurations";
pub const DEFINITIONS: &str = "roleManagementAlertDefinitions";
pub const OPERATIONS: &str = "roleManagementAlertOperations";
const INCIDENTS: &str = "alertIncidents";

/// The RBAC actions the alert operations need.
pub const READ: &str = "Microsoft.Authorization/roleManagementAlerts/read";
pub const WRITE: &str = "Microsoft.Authorization/roleManagementAlerts/write";

pub async fn handle(s: AppState, req: ArmRequest) -> ArmResult<Response> {
    let scope = alert_scope(&req)?;
    let types: Vec<String> = req.path.types.iter().map(|t| t.to_ascii_lowercase()).collect();
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    let names: Vec<&str> = req.path.names.iter().map(String::as_str).collect();
    let is = |t: &str, want: &str| t.eq_ignore_ascii_case(want);
    let m = &req.method;
    match (types.as_slice(), names.as_slice()) {
        ([t], []) if is(t, ALERTS) && m == Method::GET => list_alerts(&s, &req, &scope).await,
        ([t], [n]) if is(t, ALERTS) && is(n, "refresh") && m == Method::POST => refresh(&s, &req, &scope, None).await,
        ([t], [name]) if is(t, ALERTS) => {
            let kind = alert_kind(name)?;
            match *m {
                Method::GET => {
                    authorize_read(&s, &req, &scope)?;
                    Ok(json(StatusCode::OK, &render_alert(&s, &scope, kind).await?))
                }
                Method::PATCH => dismiss(&s, &req, &scope, kind).await,
                _ => Err(ArmError::method_not_allowed(m)),
            }
        }
        ([t, r], [name]) if is(t, ALERTS) && is(r, "refresh") && m == Method::POST => {
            let kind = alert_kind(name)?;
            refresh(&s, &req, &scope, Some(kind)).await
        }
        ([t, i], [name, rest @ ..]) if is(t, ALERTS) && is(i, INCIDENTS) && rest.len() <= 1 && m == Method::GET => {
            let kind = alert_kind(name)?;
            authorize_read(&s, &req, &scope)?;
            let incidents = s.store.alert_incidents(&azure_id(scope.key(), kind)).await?;
            let rendered = incidents.iter().map(|(i, _)| render_incident(&scope, kind, i));
            match rest {
                [] => Ok(json(StatusCode::OK, &ArmList::new(rendered.collect()))),
                [id] => {
                    let found = incidents.iter().find(|(i, _)| i.id.eq_ignore_ascii_case(id));
                    let (i, _) = found.ok_or_else(|| not_found("alert incident", id))?;
                    Ok(json(StatusCode::OK, &render_incident(&scope, kind, i)))
                }
                _ => unreachable!("rest has at most one name"),
            }
        }
        ([t, i, r], [_, _]) if is(t, ALERTS) && is(i, INCIDENTS) && is(r, "remediate") => Err(ArmError::new(
            StatusCode::BAD_REQUEST,
            "RemediationNotSupported",
            "OpenPIM does not remediate alert incidents for you: follow the alert definition's mitigationSteps, \
             then refresh the alert.",
        )),
        ([t], []) if is(t, CONFIGURATIONS) && m == Method::GET => {
            authorize_read(&s, &req, &scope)?;
            let stored = s.store.alert_configurations().await?;
            let value = AzureAlertKind::ALL
                .iter()
                .map(|k| render_configuration(&scope, *k, &engine::azure_configuration(&stored, scope.key(), *k)))
                .collect();
            Ok(json(StatusCode::OK, &ArmList::new(value)))
        }
        ([t], [name]) if is(t, CONFIGURATIONS) => {
            let kind = AzureAlertKind::from_name(name).ok_or_else(|| not_found("alert configuration", name))?;
            match *m {
                Method::GET => {
                    authorize_read(&s, &req, &scope)?;
                    let stored = s.store.alert_configurations().await?;
                    let c = engine::azure_configuration(&stored, scope.key(), kind);
                    Ok(json(StatusCode::OK, &render_configuration(&scope, kind, &c)))
                }
                Method::PATCH => configure(&s, &req, &scope, kind).await,
                _ => Err(ArmError::method_not_allowed(m)),
            }
        }
        ([t], []) if is(t, DEFINITIONS) && m == Method::GET => {
            authorize_read(&s, &req, &scope)?;
            let value = AzureAlertKind::ALL.iter().map(|k| render_definition(&scope, *k)).collect();
            Ok(json(StatusCode::OK, &ArmList::new(value)))
        }
        ([t], [name]) if is(t, DEFINITIONS) && m == Method::GET => {
            let kind = AzureAlertKind::from_name(name).ok_or_else(|| not_found("alert definition", name))?;
            authorize_read(&s, &req, &scope)?;
            Ok(json(StatusCode::OK, &render_definition(&scope, kind)))
        }
        ([t], [id]) if is(t, OPERATIONS) && m == Method::GET => {
            authorize_read(&s, &req, &scope)?;
            let op = match uuid::Uuid::try_parse(id) {
                Ok(id) => s.store.alert_operation(id).await?,
                Err(_) => None,
            };
            // An operation is read at the scope it was started at.
            let op = op
                .filter(|o| o.scope_type == AZURE_RESOURCE && o.scope_id == scope.key())
                .ok_or_else(|| not_found("alert operation", id))?;
            Ok(json(StatusCode::OK, &render_operation(&s, &scope, &op)))
        }
        _ if types.len() == 1 && names.len() <= 1 => Err(ArmError::method_not_allowed(m)),
        _ => Err(ArmError::invalid_resource_type(
            &req.path.types.join("/"),
            &req.path.namespace,
            Some(req.api_version.as_str()),
        )),
    }
}

/// Alerts are kept per management group, subscription, resource group or resource.
fn alert_scope(req: &ArmRequest) -> ArmResult<ArmScope> {
    req.path.parent.scope().filter(|s| !s.is_root()).cloned().ok_or_else(|| {
        ArmError::new(
            StatusCode::BAD_REQUEST,
            "InvalidScope",
            "PIM alerts are kept per management group, subscription, resource group or resource, not at '/'.",
        )
    })
}

/// ARM's 404 for an alert, configuration, definition, incident or operation that does not exist.
fn not_found(what: &str, name: &str) -> ArmError {
    ArmError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!("The {what} '{name}' does not exist at this scope."),
    )
}

fn alert_kind(name: &str) -> ArmResult<AzureAlertKind> {
    AzureAlertKind::from_name(name).ok_or_else(|| not_found("alert", name))
}

fn authorize_read(s: &AppState, req: &ArmRequest, scope: &ArmScope) -> ArmResult<()> {
    crate::azure::authorize_read(s, &req.caller, READ, scope).map(drop)
}

async fn authorize_write(s: &AppState, req: &ArmRequest, scope: &ArmScope, audit: &Audit) -> ArmResult<()> {
    crate::azure::authorize(s, &req.caller, WRITE, scope, audit).await.map(drop)
}

fn audit(activity: &'static str, scope: &ArmScope, name: &str) -> Audit {
    Audit::new(AZURE_RESOURCE_MANAGEMENT, activity, "Update").detail("alert", name).detail("scope", scope.as_str())
}

/// `PATCH roleManagementAlerts/{name}`: `isActive: false` dismisses (the current incidents stay
/// hidden until a scan finds a new one); `isActive: true` cannot be set (a scan decides that).
async fn dismiss(s: &AppState, req: &ArmRequest, scope: &ArmScope, kind: AzureAlertKind) -> ArmResult<Response> {
    authorize_write(s, req, scope, &audit("Dismiss PIM security alert", scope, kind.name())).await?;
    let mut body = req.json_body("Alert")?;
    for k in ["id", "name", "type"] {
        body.ignore(k);
    }
    let mut props = body.object("properties", "AlertProperties")?.ok_or_else(|| body.missing("properties"))?;
    let active = props.bool("isActive")?.ok_or_else(|| props.missing("isActive"))?;
    if active {
        return Err(props.invalid("isActive", "an alert can only be dismissed (false); a scan activates it."));
    }
    // The read-only properties of an alert sent back as read are accepted and ignored.
    for k in ["scope", "incidentCount", "lastModifiedDateTime", "lastScannedDateTime"] {
        props.ignore(k);
    }
    for k in ["alertDefinition", "alertIncidents", "alertConfiguration"] {
        props.ignore(k);
    }
    props.finish()?;
    body.finish()?;
    // An alert never scanned has nothing to dismiss: the dismissal is a no-op, as Azure's is
    // for an inactive alert.
    s.store.dismiss_alert(&azure_id(scope.key(), kind), req.caller.id(), s.now()).await?;
    s.record_audit(&audit("Dismiss PIM security alert", scope, kind.name()).success(&req.caller, s.now())).await;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `POST .../refresh`: 202 with the operation and `Location` naming it (the spec's
/// `final-state-via: location`).
async fn refresh(
    s: &AppState,
    req: &ArmRequest,
    scope: &ArmScope,
    kind: Option<AzureAlertKind>,
) -> ArmResult<Response> {
    let name = kind.map_or("refresh", AzureAlertKind::name);
    authorize_write(s, req, scope, &audit("Refresh PIM security alerts", scope, name)).await?;
    let op =
        engine::refresh_at(s, req.caller.id(), (scope.key(), AZURE_RESOURCE), kind.map(|k| azure_id(scope.key(), k)))
            .await?;
    let location =
        format!("{}{}?api-version={}", origin(s), scope.resource_id(OPERATIONS, op.id), req.api_version.as_str());
    let mut response = json(StatusCode::ACCEPTED, &render_operation(s, scope, &op));
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response.into_response())
}

/// `PATCH roleManagementAlertConfigurations/{name}`: `isEnabled` and, for the owner alerts,
/// their two thresholds; `alertConfigurationType`, when sent, must be the alert's.
async fn configure(s: &AppState, req: &ArmRequest, scope: &ArmScope, kind: AzureAlertKind) -> ArmResult<Response> {
    authorize_write(s, req, scope, &audit("Update PIM security alert configuration", scope, kind.name())).await?;
    let mut body = req.json_body("AlertConfiguration")?;
    for k in ["id", "name", "type"] {
        body.ignore(k);
    }
    let mut props =
        body.object("properties", "AlertConfigurationProperties")?.ok_or_else(|| body.missing("properties"))?;
    // The path already names the configuration, so a body without the discriminator is
    // unambiguous: azure-mgmt-authorization's `AlertConfiguration` model never sends it, and the
    // SDK must work unchanged. When present it must be this configuration's type.
    let discriminator = props.string("alertConfigurationType")?;
    if discriminator.is_some_and(|d| !d.eq_ignore_ascii_case(kind.configuration_type())) {
        return Err(props.invalid(
            "alertConfigurationType",
            format!("the configuration of {} is a '{}'.", kind.name(), kind.configuration_type()),
        ));
    }
    let mut patch = AzureConfigurationPatch { is_enabled: props.bool("isEnabled")?, ..Default::default() };
    if let Some((count, percentage)) = kind.threshold_names() {
        patch.count = props.int(count)?.map(i64::from);
        patch.percentage = props.int(percentage)?.map(i64::from);
    }
    for k in ["alertDefinitionId", "scope", "alertDefinition"] {
        props.ignore(k);
    }
    // A threshold of another kind is an unknown member of this configuration type.
    props.finish()?;
    body.finish()?;
    engine::configure_azure(s, scope.key(), kind, &patch, req.caller.id()).await?;
    s.record_audit(&audit("Update PIM security alert configuration", scope, kind.name()).success(&req.caller, s.now()))
        .await;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn list_alerts(s: &AppState, req: &ArmRequest, scope: &ArmScope) -> ArmResult<Response> {
    authorize_read(s, req, scope)?;
    let mut value = Vec::new();
    for kind in AzureAlertKind::ALL {
        value.push(render_alert(s, scope, kind).await?);
    }
    Ok(json(StatusCode::OK, &ArmList::new(value)))
}

fn resource(scope: &ArmScope, resource_type: &str, name: &str, properties: Value) -> Value {
    json!({
        "id": scope.resource_id(resource_type, name),
        "name": name,
        "type": format!("Microsoft.Authorization/{resource_type}"),
        "properties": properties,
    })
}

fn render_definition(scope: &ArmScope, kind: AzureAlertKind) -> Value {
    resource(
        scope,
        DEFINITIONS,
        kind.name(),
        json!({
            "displayName": kind.display_name(),
            "scope": scope.as_str(),
            "description": kind.description(),
            "severityLevel": severity(kind),
            "securityImpact": kind.security_impact(),
            "mitigationSteps": kind.mitigation_steps(),
            "howToPrevent": kind.how_to_prevent(),
            // OpenPIM has no one-click remediation (see `remediate` above).
            "isRemediatable": false,
            "isConfigurable": kind.is_configurable(),
        }),
    )
}

fn severity(kind: AzureAlertKind) -> &'static str {
    match kind.severity() {
        openpim_core::alerts::Severity::Low => "Low",
        openpim_core::alerts::Severity::Medium => "Medium",
        openpim_core::alerts::Severity::High => "High",
    }
}

fn render_configuration(scope: &ArmScope, kind: AzureAlertKind, c: &AzureAlertConfiguration) -> Value {
    let mut props = Map::new();
    props.insert("alertConfigurationType".into(), kind.configuration_type().into());
    props.insert("alertDefinitionId".into(), scope.resource_id(DEFINITIONS, kind.name()).into());
    props.insert("scope".into(), scope.as_str().into());
    props.insert("isEnabled".into(), c.is_enabled.into());
    if let (Some((count, percentage)), Some(t)) = (kind.threshold_names(), c.thresholds) {
        props.insert(count.into(), t.count.into());
        props.insert(percentage.into(), t.percentage.into());
    }
    resource(scope, CONFIGURATIONS, kind.name(), Value::Object(props))
}

fn render_incident(scope: &ArmScope, kind: AzureAlertKind, i: &Incident) -> Value {
    let mut props = Map::new();
    props.insert("alertIncidentType".into(), kind.incident_type().into());
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            props.insert(k.into(), v.into());
        }
    };
    match kind {
        AzureAlertKind::TooManyOwners | AzureAlertKind::TooManyPermanentOwners => {
            put("assigneeName", i.assignee_display_name.clone());
            put("assigneeType", i.assignee_type.clone());
        }
        AzureAlertKind::RolesAssignedOutsidePim => {
            put("assigneeDisplayName", i.assignee_display_name.clone());
            put("assigneeUserPrincipalName", i.assignee_user_principal_name.clone());
            put("assigneeId", i.assignee_id.map(|id| id.to_string()));
            put("roleDisplayName", i.role_display_name.clone());
            put("roleTemplateId", i.role_template_id.clone());
            put("roleDefinitionId", i.role_definition_id.map(|id| ArmScope::root().resource_id("roleDefinitions", id)));
            put("assignmentActivatedDate", i.assignment_created.map(crate::wire::datetime));
            put("requestorId", i.requestor_id.map(|id| id.to_string()));
        }
        AzureAlertKind::DuplicateRoleCreated => {
            put("roleName", i.role_display_name.clone());
            put("duplicateRoles", i.detail.clone());
            put("reason", Some(DUPLICATE_REASON.to_string()));
        }
    }
    let name = format!("{}/{INCIDENTS}/{}", kind.name(), i.id);
    let mut v = resource(scope, ALERTS, &name, Value::Object(props));
    v["name"] = i.id.clone().into();
    v["type"] = format!("Microsoft.Authorization/{ALERTS}/{INCIDENTS}").into();
    v
}

async fn render_alert(s: &AppState, scope: &ArmScope, kind: AzureAlertKind) -> ArmResult<Value> {
    let id = azure_id(scope.key(), kind);
    let stored: Option<StoredAlert> = s.store.alerts().await?.into_iter().find(|a| a.id == id);
    let incidents = s.store.alert_incidents(&id).await?;
    let configs = s.store.alert_configurations().await?;
    let config = engine::azure_configuration(&configs, scope.key(), kind);
    let when = |t: Option<openpim_core::Instant>| t.map(crate::wire::datetime);
    Ok(resource(
        scope,
        ALERTS,
        kind.name(),
        json!({
            "scope": scope.as_str(),
            "isActive": stored.as_ref().is_some_and(|a| a.is_active),
            "incidentCount": stored.as_ref().map_or(0, |a| a.incident_count),
            "lastModifiedDateTime": when(stored.as_ref().map(|a| a.last_modified)),
            "lastScannedDateTime": when(stored.as_ref().map(|a| a.last_scanned)),
            "alertDefinition": render_definition(scope, kind),
            "alertIncidents": incidents.iter().map(|(i, _)| render_incident(scope, kind, i)).collect::<Vec<_>>(),
            "alertConfiguration": render_configuration(scope, kind, &config),
        }),
    ))
}

fn origin(s: &AppState) -> String {
    match &s.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => s.listen_origin.clone(),
    }
}

/// ARM's `AlertOperationResult`: the status capitalised as the spec's examples write it, the
/// detail a JSON text naming the alerts scanned, `resourceLocation` the alert (or the scope's
/// alerts) the operation refreshed.
fn render_operation(s: &AppState, scope: &ArmScope, op: &StoredAlertOperation) -> Value {
    let status = match op.status.as_str() {
        "notStarted" => "NotStarted",
        "running" => "Running",
        "succeeded" => "Succeeded",
        _ => "Failed",
    };
    let kinds: Vec<AzureAlertKind> = match op.alert_id.as_deref().and_then(|a| a.rsplit(':').next()) {
        Some(name) => AzureAlertKind::from_name(name).into_iter().collect(),
        None => AzureAlertKind::ALL.to_vec(),
    };
    let detail = match status {
        "Succeeded" => "Alert scan is complete.",
        "Running" => "Alert scan is running.",
        "NotStarted" => "Alert scan is not yet started.",
        _ => "Alert scan failed.",
    };
    let result: Vec<Value> = kinds.iter().map(|k| json!({"name": k.name(), "statusDetail": detail})).collect();
    let target = match kinds.as_slice() {
        [one] if op.alert_id.is_some() => scope.resource_id(ALERTS, one.name()),
        _ => scope.collection_id(ALERTS),
    };
    json!({
        "id": op.id.to_string(),
        "status": status,
        "statusDetail": json!({"result": result}).to_string(),
        "createdDateTime": crate::wire::datetime(op.created),
        "lastActionDateTime": crate::wire::datetime(op.last_action),
        "resourceLocation": format!("{}{target}?api-version={}", origin(s), API_VERSIONS[0]),
    })
}
