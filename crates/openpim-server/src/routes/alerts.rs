//! `/beta/identityGovernance/roleManagementAlerts`: PIM security alerts for Microsoft Entra
//! roles (beta only, as in Graph). Reading needs the PIM readers' right (`ReadRolePolicies`:
//! Global Reader, Security Reader/Operator/Administrator, Privileged Role and Global
//! Administrators, as Graph documents for these APIs); dismissing, refreshing and configuring
//! need the Privileged Role Administrator's (`ManageRolePolicies`). Evaluation and persistence
//! are `crate::alerts`'; these handlers parse, authorise, call it and render.

use super::ops::no_content;
use crate::alerts::{self as engine, ROOT};
use crate::auth::{Authorized, Caller};
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::alerts as wire;
use crate::wire::body::{Body, JsonObject};
use crate::wire::to_json;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use openpim_core::alerts::{apply, AlertKind, ConfigurationPatch, DIRECTORY_ROLE};
use openpim_core::audit::category::ROLE_MANAGEMENT;
use openpim_core::authz::cap;
use openpim_odata::{CompareOp, Expr, Literal};
use openpim_store::Page;
use serde_json::Value;

const BASE: &str = "identityGovernance/roleManagementAlerts";
const NAVIGATION: [&str; 3] = ["alertDefinition", "alertConfiguration", "alertIncidents"];

/// The `scopeId eq '...' and scopeType eq '...'` filter Graph requires on the collections;
/// true when it names the tenant's directory roles (the only scope alerts exist at).
fn scope_filter(q: &OData) -> ApiResult<bool> {
    fn collect(e: &Expr, out: &mut Vec<(String, String)>) -> bool {
        match e {
            Expr::And(a, b) => collect(a, out) && collect(b, out),
            Expr::Compare { prop, op: CompareOp::Eq, value: Literal::String(v) } => {
                out.push((prop.to_ascii_lowercase(), v.clone()));
                true
            }
            _ => false,
        }
    }
    let required = || {
        ApiError::bad_request(
            "A $filter on scopeId and scopeType is required, e.g. $filter=scopeId eq '/' and scopeType eq 'DirectoryRole'.",
        )
    };
    let filter = q.options.filter.as_ref().ok_or_else(required)?;
    let mut terms = Vec::new();
    if !collect(filter, &mut terms) {
        return Err(ApiError::bad_request(
            "Only 'scopeId eq' and 'scopeType eq' terms joined by 'and' are supported in $filter.",
        ));
    }
    let value = |name: &str| terms.iter().find(|(p, _)| p == name).map(|(_, v)| v.as_str());
    if terms.iter().any(|(p, _)| p != "scopeid" && p != "scopetype") {
        return Err(ApiError::bad_request(
            "Only 'scopeId eq' and 'scopeType eq' terms joined by 'and' are supported in $filter.",
        ));
    }
    let (Some(scope_id), Some(scope_type)) = (value("scopeid"), value("scopetype")) else { return Err(required()) };
    if !scope_type.eq_ignore_ascii_case(DIRECTORY_ROLE) {
        return Err(ApiError::bad_request(format!(
            "scopeType '{scope_type}' is not supported: alerts are served for 'DirectoryRole' (Microsoft Entra roles)."
        )));
    }
    Ok(scope_id == ROOT)
}

/// One alert rendered with the navigation properties `$expand` asked for.
async fn render_alert(s: &AppState, q: &OData, kind: AlertKind) -> ApiResult<Value> {
    let stored = s.store.alerts().await?;
    let mine = kind.id(s.tenant_id);
    let mut a = wire::alert(kind, s.tenant_id, stored.iter().find(|a| a.id.eq_ignore_ascii_case(&mine)));
    if q.expands("alertDefinition") {
        a.alert_definition = Some(wire::definition(kind, s.tenant_id));
    }
    if q.expands("alertConfiguration") {
        let configs = s.store.alert_configurations().await?;
        let c = engine::configuration(&configs, s.tenant_id, kind);
        a.alert_configuration = Some(wire::configuration(kind, s.tenant_id, &c));
    }
    if q.expands("alertIncidents") {
        let incidents = s.store.alert_incidents(&mine).await?;
        a.alert_incidents = Some(incidents.iter().map(|(i, _)| wire::incident(kind, i)).collect());
    }
    Ok(to_json(&a))
}

fn page(items: Vec<Value>) -> Page<Value> {
    Page { items, has_more: false, count: None }
}

pub async fn list_alerts(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
) -> ApiResult<Response> {
    q.check_expand(wire::ALERT_TYPE, &NAVIGATION)?;
    let mut items = Vec::new();
    if scope_filter(&q)? {
        for kind in AlertKind::ALL {
            items.push(render_alert(&s, &q, kind).await?);
        }
    }
    let count = q.options.count.then_some(items.len() as u64);
    Ok(q.collection(&format!("{BASE}/alerts"), Page { count, ..page(items) }, 0))
}

pub async fn get_alert(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    q.check_expand(wire::ALERT_TYPE, &NAVIGATION)?;
    let kind = engine::kind_of(&s, &id, "unifiedRoleManagementAlert")?;
    Ok(q.entity(&format!("{BASE}/alerts/$entity"), render_alert(&s, &q, kind).await?))
}

pub async fn alert_incidents(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let kind = engine::kind_of(&s, &id, "unifiedRoleManagementAlert")?;
    let incidents = s.store.alert_incidents(&kind.id(s.tenant_id)).await?;
    let items = incidents.iter().map(|(i, _)| to_json(&wire::incident(kind, i))).collect();
    Ok(q.collection(&format!("{BASE}/alerts('{}')/alertIncidents", kind.id(s.tenant_id)), page(items), 0))
}

pub async fn alert_definition_of(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let kind = engine::kind_of(&s, &id, "unifiedRoleManagementAlert")?;
    Ok(q.entity(&format!("{BASE}/alertDefinitions/$entity"), to_json(&wire::definition(kind, s.tenant_id))))
}

pub async fn alert_configuration_of(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let kind = engine::kind_of(&s, &id, "unifiedRoleManagementAlert")?;
    configuration_response(&s, &q, kind).await
}

/// Dismisses `id` for `caller` (with the Privileged Role Administrator's right), audited.
async fn dismiss_as(s: &AppState, caller: &Caller, id: &str) -> ApiResult<()> {
    let kind = engine::kind_of(s, id, "unifiedRoleManagementAlert")?;
    let audit = Audit::new(ROLE_MANAGEMENT, "Dismiss PIM security alert", "Update").target(
        "Other",
        kind.id(s.tenant_id),
        Some(kind.display_name()),
        None,
    );
    s.authorize::<cap::ManageRolePolicies>(caller, &[], &audit).await?;
    s.store.dismiss_alert(&kind.id(s.tenant_id), caller.id(), s.now()).await?;
    s.record_audit(&audit.success(caller, s.now())).await;
    Ok(())
}

/// `PATCH .../alerts/{id}` with `{"isActive": false}`: Graph's way to dismiss an alert.
pub async fn update_alert(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let mut body = Body::new(body, wire::ALERT_TYPE);
    let active = body.bool("isActive")?;
    body.finish()?;
    match active {
        Some(false) => {}
        Some(true) => {
            return Err(ApiError::bad_request(
                "An alert becomes active only through a scan; set isActive to false to dismiss it.",
            ))
        }
        None => return Err(ApiError::bad_request("The request body must set 'isActive' to false.")),
    }
    dismiss_as(&s, &caller, &id).await?;
    Ok(no_content())
}

/// `POST .../alerts/{id}/dismiss` (an OpenPIM extension: the same as the PATCH above).
pub async fn dismiss(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    dismiss_as(&s, &caller, &id).await?;
    Ok(no_content())
}

async fn start_refresh(s: &AppState, q: &OData, caller: &Caller, alert: Option<String>) -> ApiResult<Response> {
    let audit = Audit::new(ROLE_MANAGEMENT, "Refresh PIM security alerts", "Update").target(
        "Other",
        alert.clone().unwrap_or_else(|| DIRECTORY_ROLE.to_string()),
        None,
        None,
    );
    s.authorize::<cap::ManageRolePolicies>(caller, &[], &audit).await?;
    let op = engine::refresh(s, caller.id(), alert).await?;
    let location = format!("{}/{BASE}/operations/{}", q.base, op.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)]).into_response())
}

/// `POST .../alerts/refresh` with `{"scopeId": "/", "scopeType": "DirectoryRole"}`: 202 and
/// the operation's URL in `Location`.
pub async fn refresh_all(State(s): State<AppState>, caller: Caller, q: OData, body: JsonObject) -> ApiResult<Response> {
    let mut body = Body::new(body, "microsoft.graph.unifiedRoleManagementAlert.refresh");
    let scope_id = body.string("scopeId")?;
    let scope_type = body.string("scopeType")?;
    body.finish()?;
    match (scope_id.as_deref(), scope_type.as_deref()) {
        (Some(ROOT), Some(t)) if t.eq_ignore_ascii_case(DIRECTORY_ROLE) => {}
        (Some(_), Some(t)) if t.eq_ignore_ascii_case(DIRECTORY_ROLE) => {
            return Err(ApiError::bad_request("Alerts for Microsoft Entra roles exist at scopeId '/' only."))
        }
        (Some(_), Some(t)) => {
            return Err(ApiError::bad_request(format!("scopeType '{t}' is not supported; use 'DirectoryRole'.")))
        }
        _ => return Err(ApiError::bad_request("The request body must name 'scopeId' and 'scopeType'.")),
    }
    start_refresh(&s, &q, &caller, None).await
}

/// `POST .../alerts/{id}/refresh`.
pub async fn refresh_one(
    State(s): State<AppState>,
    caller: Caller,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let kind = engine::kind_of(&s, &id, "unifiedRoleManagementAlert")?;
    start_refresh(&s, &q, &caller, Some(kind.id(s.tenant_id))).await
}

pub async fn list_definitions(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
) -> ApiResult<Response> {
    let items = if scope_filter(&q)? {
        AlertKind::ALL.iter().map(|k| to_json(&wire::definition(*k, s.tenant_id))).collect()
    } else {
        Vec::new()
    };
    Ok(q.collection(&format!("{BASE}/alertDefinitions"), page(items), 0))
}

pub async fn get_definition(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let kind = engine::kind_of(&s, &id, "unifiedRoleManagementAlertDefinition")?;
    Ok(q.entity(&format!("{BASE}/alertDefinitions/$entity"), to_json(&wire::definition(kind, s.tenant_id))))
}

async fn configuration_response(s: &AppState, q: &OData, kind: AlertKind) -> ApiResult<Response> {
    let configs = s.store.alert_configurations().await?;
    let c = engine::configuration(&configs, s.tenant_id, kind);
    Ok(q.entity(&format!("{BASE}/alertConfigurations/$entity"), to_json(&wire::configuration(kind, s.tenant_id, &c))))
}

pub async fn list_configurations(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
) -> ApiResult<Response> {
    let mut items = Vec::new();
    if scope_filter(&q)? {
        let configs = s.store.alert_configurations().await?;
        for kind in AlertKind::ALL {
            let c = engine::configuration(&configs, s.tenant_id, kind);
            items.push(to_json(&wire::configuration(kind, s.tenant_id, &c)));
        }
    }
    Ok(q.collection(&format!("{BASE}/alertConfigurations"), page(items), 0))
}

pub async fn get_configuration(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let kind = engine::kind_of(&s, &id, "unifiedRoleManagementAlertConfiguration")?;
    configuration_response(&s, &q, kind).await
}

fn int(body: &mut Body, key: &str) -> ApiResult<Option<i64>> {
    match body.take_value(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(_) => Err(ApiError::bad_request(format!(
            "Invalid value for property '{key}' of type '{}': expected an integer.",
            wire::CONFIGURATION_TYPE
        ))),
    }
}

/// `PATCH .../alertConfigurations/{id}`: `isEnabled` and the kind's thresholds; 204.
pub async fn update_configuration(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: JsonObject,
) -> ApiResult<Response> {
    let kind = engine::kind_of(&s, &id, "unifiedRoleManagementAlertConfiguration")?;
    let mut body = Body::new(body, wire::CONFIGURATION_TYPE);
    if let Some(t) = body.take_value("@odata.type") {
        let expected = format!("#microsoft.graph.{}", kind.configuration_type());
        if !t.as_str().is_some_and(|t| t.eq_ignore_ascii_case(&expected) || t.eq_ignore_ascii_case(&expected[1..])) {
            return Err(ApiError::bad_request(format!(
                "The configuration '{id}' is of type '{expected}'; the body's @odata.type does not match."
            )));
        }
    }
    let patch = ConfigurationPatch {
        is_enabled: body.bool("isEnabled")?,
        global_admin_count_threshold: int(&mut body, "globalAdminCountThreshold")?,
        percentage_of_global_admins_out_of_roles_threshold: int(
            &mut body,
            "percentageOfGlobalAdminsOutOfRolesThreshold",
        )?,
        duration: match body.string("duration")? {
            None => None,
            Some(raw) => Some(openpim_core::duration::parse(&raw).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Invalid value for property 'duration': '{raw}' is not an ISO 8601 duration."
                ))
            })?),
        },
    };
    body.finish()?;
    let audit = Audit::new(ROLE_MANAGEMENT, "Update PIM security alert setting", "Update").target(
        "Other",
        kind.id(s.tenant_id),
        Some(kind.display_name()),
        None,
    );
    s.authorize::<cap::ManageRolePolicies>(&caller, &[], &audit).await?;
    let configs = s.store.alert_configurations().await?;
    let current = engine::configuration(&configs, s.tenant_id, kind);
    let next = apply(kind, current, &patch)?;
    let show =
        |c: &openpim_core::alerts::AlertConfiguration| to_json(&wire::configuration(kind, s.tenant_id, c)).to_string();
    let audit = audit.modified("alertConfiguration", Some(show(&current)), Some(show(&next)));
    s.store
        .save_alert_configuration(&engine::stored_configuration(kind, s.tenant_id, &next), caller.id(), s.now())
        .await?;
    s.record_audit(&audit.success(&caller, s.now())).await;
    Ok(no_content())
}

pub async fn get_operation(
    State(s): State<AppState>,
    _reader: Authorized<cap::ReadRolePolicies>,
    q: OData,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let op = uuid::Uuid::parse_str(&id).ok();
    let op = match op {
        Some(op) => s.store.alert_operation(op).await?,
        None => None,
    };
    let op = op.ok_or_else(|| ApiError::not_found("longRunningOperation", &id))?;
    Ok(q.entity(&format!("{BASE}/operations/$entity"), wire::operation(&op, &q.base)))
}

impl super::GraphRoutes {
    /// The `roleManagementAlerts` routes (beta-only, as in Graph).
    pub(crate) fn alerts(self) -> Self {
        use axum::routing::{get, post};
        self.beta_route("/beta/identityGovernance/roleManagementAlerts/alerts", get(list_alerts))
            .beta_route("/beta/identityGovernance/roleManagementAlerts/alerts/refresh", post(refresh_all))
            .beta_route("/beta/identityGovernance/roleManagementAlerts/alerts/{id}", get(get_alert).patch(update_alert))
            .beta_route("/beta/identityGovernance/roleManagementAlerts/alerts/{id}/refresh", post(refresh_one))
            .beta_route("/beta/identityGovernance/roleManagementAlerts/alerts/{id}/dismiss", post(dismiss))
            .beta_route(
                "/beta/identityGovernance/roleManagementAlerts/alerts/{id}/alertIncidents",
                get(alert_incidents),
            )
            .beta_route(
                "/beta/identityGovernance/roleManagementAlerts/alerts/{id}/alertDefinition",
                get(alert_definition_of),
            )
            .beta_route(
                "/beta/identityGovernance/roleManagementAlerts/alerts/{id}/alertConfiguration",
                get(alert_configuration_of),
            )
            .beta_route("/beta/identityGovernance/roleManagementAlerts/alertDefinitions", get(list_definitions))
            .beta_route("/beta/identityGovernance/roleManagementAlerts/alertDefinitions/{id}", get(get_definition))
            .beta_route("/beta/identityGovernance/roleManagementAlerts/alertConfigurations", get(list_configurations))
            .beta_route(
                "/beta/identityGovernance/roleManagementAlerts/alertConfigurations/{id}",
                get(get_configuration).patch(update_configuration),
            )
            .beta_route("/beta/identityGovernance/roleManagementAlerts/operations/{id}", get(get_operation))
    }
}
