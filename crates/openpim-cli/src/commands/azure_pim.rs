//! `openpim azure roles|assignments|activate|deactivate|my`: PIM for Azure resources over the
//! server's Azure Resource Manager routes (`{scope}/providers/Microsoft.Authorization/...`),
//! with the token for ARM's audience (`Ctx::arm`). Roles are named by their Azure role name
//! (case-insensitive, exact) or GUID, looked up at the command's scope (`activate` and
//! `deactivate`: among the caller's own eligibilities or activations); principals by UPN, object
//! id or group name through Graph, as the directory commands name them.

use super::{duration_arg, rfc3339_arg};
use crate::client::{enc, literal};
use crate::context::Ctx;
use crate::duration::{human_iso, to_iso};
use crate::error::{CliError, CliResult, Kind};
use crate::output::{details, emit, end_time, time, Table};
use clap::{ArgGroup, Args, Subcommand};
use openpim_core::scope::{ArmScope, AUTHORIZATION_NAMESPACE};
use openpim_proto::arm::pim::{Expiration, Schedule, ScheduleInfo, ScheduleRequest, TicketInfo};
use openpim_proto::arm::pim_requests::{NewScheduleRequest, NewScheduleRequestProperties};
use openpim_proto::arm::role_definitions::RoleDefinition;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// The api-version of the PIM requests, schedules and instances (azure-mgmt-authorization's).
pub(crate) const PIM_API: &str = "2020-10-01";
/// The api-version of role definitions.
pub(crate) const ROLES_API: &str = "2022-04-01";
/// One hour unless asked otherwise, as `openpim activate`.
const DEFAULT_ACTIVATION_SECS: u64 = 3600;

/// clap parser for an ARM scope: `/` (the tenant), `/subscriptions/{id}[/resourceGroups/{rg}[/providers/...]]`
/// or `/providers/Microsoft.Management/managementGroups/{id}`; a trailing `/` is dropped.
pub fn scope_arg(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s == "/" {
        return Ok(s.to_string());
    }
    let s = s.trim_end_matches('/');
    let lower = s.to_ascii_lowercase();
    let sub = lower.strip_prefix("/subscriptions/").map(|r| r.split('/').next().unwrap_or(""));
    let valid = match sub {
        Some(id) => Uuid::parse_str(id).is_ok(),
        None => {
            lower.starts_with("/providers/microsoft.management/managementgroups/") && !s.ends_with("managementGroups")
        }
    };
    if valid && !s.contains("//") && !s.contains(['?', '#', ' ']) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{raw}' is not an ARM scope: use /subscriptions/{{id}}[/resourceGroups/{{name}}...] or \
             /providers/Microsoft.Management/managementGroups/{{id}}"
        ))
    }
}

/// Is `raw` an ARM scope below the tenant (a management group, subscription, resource group or
/// resource)? Directory scopes (`/`, `/administrativeUnits/{id}`, `/{objectId}`) are not.
pub fn is_arm_scope(raw: &str) -> bool {
    raw.trim() != "/" && scope_arg(raw).is_ok()
}

/// `{scope}/providers/Microsoft.Authorization/{collection}` (the tenant's for `/`), through core's
/// one builder. The scopes come from `scope_arg` or the server's answers, so they parse; anything
/// else is sent as written, for the server to refuse with its own error.
pub fn at(scope: &str, collection: &str) -> String {
    ArmScope::parse(scope).map_or_else(
        |_| format!("{scope}/providers/{AUTHORIZATION_NAMESPACE}/{collection}"),
        |s| s.collection_id(collection),
    )
}

/// The two PIM collections of ARM: eligibilities and (active) role assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Collection {
    Eligible,
    Active,
}

impl Collection {
    fn label(self) -> &'static str {
        match self {
            Collection::Eligible => "eligible",
            Collection::Active => "active",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Collection::Eligible => "roleEligibility",
            Collection::Active => "roleAssignment",
        }
    }

    fn of(eligible: bool, active: bool) -> Vec<Collection> {
        match (eligible, active) {
            (true, false) => vec![Collection::Eligible],
            (false, true) => vec![Collection::Active],
            _ => vec![Collection::Eligible, Collection::Active],
        }
    }
}

#[derive(Args)]
pub struct RolesArgs {
    /// The ARM scope whose roles to list (its assignable custom roles included) [default: the tenant].
    #[arg(long, value_parser = scope_arg)]
    scope: Option<String>,
    /// Custom roles only.
    #[arg(long)]
    custom: bool,
}

#[derive(Subcommand)]
pub enum AzureAssignmentsCommand {
    /// Eligible and active role assignments in effect at a scope (schedule instances; plain RBAC
    /// role assignments show as active, assigned).
    List {
        /// ARM scope: /subscriptions/{id}[/resourceGroups/{name}...] or a management group.
        #[arg(long, value_parser = scope_arg)]
        scope: String,
        /// Eligibilities only.
        #[arg(long, conflicts_with = "active")]
        eligible: bool,
        /// Active assignments only.
        #[arg(long)]
        active: bool,
    },
    /// Make a principal eligible for (or active in) an Azure role at a scope (AdminAssign).
    Add(AddArgs),
    /// Remove an eligible or active assignment (AdminRemove).
    Remove(RemoveArgs),
}

#[derive(Args)]
#[command(group(ArgGroup::new("window").required(true).args(["duration", "end", "permanent"])))]
pub struct AddArgs {
    /// ARM scope: /subscriptions/{id}[/resourceGroups/{name}...] or a management group.
    #[arg(long, value_parser = scope_arg)]
    scope: String,
    /// Azure role name (case-insensitive) or role definition GUID.
    #[arg(long)]
    role: String,
    /// UPN, object id or group name.
    #[arg(long)]
    principal: String,
    /// An eligibility, to activate later (the default).
    #[arg(long, conflicts_with = "active")]
    eligible: bool,
    /// An active assignment, in effect now.
    #[arg(long)]
    active: bool,
    /// How long it lasts, e.g. 8h, 30d, P365D.
    #[arg(long, value_parser = duration_arg)]
    duration: Option<u64>,
    /// When it ends (RFC 3339).
    #[arg(long, value_parser = rfc3339_arg)]
    end: Option<OffsetDateTime>,
    /// No end (when the role's settings allow it).
    #[arg(long)]
    permanent: bool,
    #[arg(long)]
    justification: Option<String>,
    /// Ticket number, when the settings ask for one.
    #[arg(long)]
    ticket: Option<String>,
    /// Ticket system of --ticket.
    #[arg(long)]
    ticket_system: Option<String>,
}

#[derive(Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["eligible", "active"])))]
pub struct RemoveArgs {
    /// ARM scope: /subscriptions/{id}[/resourceGroups/{name}...] or a management group.
    #[arg(long, value_parser = scope_arg)]
    scope: String,
    /// Azure role name (case-insensitive) or role definition GUID.
    #[arg(long)]
    role: String,
    /// UPN, object id or group name.
    #[arg(long)]
    principal: String,
    /// Remove the eligibility.
    #[arg(long)]
    eligible: bool,
    /// Remove the active assignment.
    #[arg(long)]
    active: bool,
    #[arg(long)]
    justification: Option<String>,
}

#[derive(Args)]
pub struct ActivateArgs {
    /// Azure role name (case-insensitive) or role definition GUID of a role you are eligible for.
    role: String,
    /// Where to activate it: the eligibility's scope or one below it.
    #[arg(long, value_parser = scope_arg)]
    scope: String,
    /// How long, e.g. 30m, 1h, PT2H (default 1h).
    #[arg(long, value_parser = duration_arg)]
    duration: Option<u64>,
    #[arg(long)]
    justification: Option<String>,
    /// Ticket number, when the role's settings ask for one.
    #[arg(long)]
    ticket: Option<String>,
    /// Ticket system of --ticket.
    #[arg(long)]
    ticket_system: Option<String>,
}

#[derive(Args)]
pub struct DeactivateArgs {
    /// Azure role name (case-insensitive) or role definition GUID of an active role.
    role: String,
    /// The scope it was activated at.
    #[arg(long, value_parser = scope_arg)]
    scope: String,
}

#[derive(Subcommand)]
pub enum AzureMyCommand {
    /// Your Azure eligibilities and activations in effect now, at every scope.
    Roles,
}

/// An instance row as the azure commands print it (its JSON is the `--output json` contract).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureRow {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The instance's full ARM id.
    pub id: String,
    pub principal_id: String,
    /// The principal's e-mail (UPN) or display name, as the server expands it.
    pub principal: String,
    pub principal_type: String,
    /// The full role definition id.
    pub role_definition_id: String,
    pub role: String,
    pub scope: String,
    /// `Direct`, `Group` or `Inherited`.
    pub member_type: String,
    /// Active rows: `Assigned` or `Activated`.
    pub assignment_type: Option<String>,
    pub status: String,
    pub start_date_time: String,
    /// None: permanent.
    pub end_date_time: Option<String>,
    /// `my roles` only: when it ends, for people and scripts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends: Option<String>,
}

fn row(kind: Collection, s: Schedule) -> AzureRow {
    let p = s.properties;
    let principal = p.expanded_properties.principal;
    AzureRow {
        kind: kind.label(),
        id: s.id,
        principal: principal.email.or(principal.display_name).unwrap_or_else(|| p.principal_id.clone()),
        principal_id: p.principal_id,
        principal_type: p.principal_type,
        role: p.expanded_properties.role_definition.display_name.unwrap_or_else(|| p.role_definition_id.clone()),
        role_definition_id: p.role_definition_id,
        scope: p.scope,
        member_type: p.member_type,
        assignment_type: p.assignment_type,
        status: p.status,
        start_date_time: p.start_date_time,
        end_date_time: p.end_date_time,
        ends: None,
    }
}

fn instant(raw: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(raw, &Rfc3339).ok()
}

fn rows_table(ctx: &Ctx, rows: &[AzureRow], with_principal: bool) -> String {
    let mut headers = vec!["TYPE"];
    if with_principal {
        headers.push("PRINCIPAL");
    }
    headers.extend(["ROLE", "SCOPE", "MEMBER", "START", "END"]);
    let mut t = Table::new(&headers);
    for r in rows {
        let kind = match &r.assignment_type {
            Some(a) if r.kind == "active" => format!("active ({})", a.to_lowercase()),
            _ => r.kind.to_string(),
        };
        let mut cells = vec![kind];
        if with_principal {
            cells.push(r.principal.clone());
        }
        let end = match r.end_date_time.as_deref() {
            None => "permanent".to_string(),
            Some(raw) => instant(raw).map_or_else(|| raw.to_string(), |t| end_time(Some(t), ctx.now)),
        };
        cells.extend([
            r.role.clone(),
            r.scope.clone(),
            r.member_type.clone(),
            instant(&r.start_date_time).map_or_else(|| r.start_date_time.clone(), time),
            end,
        ]);
        t.row(cells);
    }
    t.render()
}

pub async fn roles(ctx: &Ctx, a: RolesArgs) -> CliResult<()> {
    let scope = a.scope.as_deref().unwrap_or("/");
    let mut path = format!("{}?api-version={ROLES_API}", at(scope, "roleDefinitions"));
    if a.custom {
        path.push_str(&format!("&$filter={}", enc("type eq 'CustomRole'")));
    }
    let roles: Vec<RoleDefinition> = ctx.arm.get_all_arm_as(&path).await?;
    emit(ctx.format, &roles, || {
        let mut t = Table::new(&["NAME", "ID", "TYPE", "DESCRIPTION"]);
        for r in &roles {
            t.row(vec![
                r.properties.role_name.clone(),
                r.name.to_string(),
                r.properties.role_type.clone(),
                r.properties.description.clone(),
            ]);
        }
        t.render()
    });
    Ok(())
}

/// The role `arg` names at `scope`: a GUID, or a role name (case-insensitive, exact) through
/// ARM's `$filter=roleName eq '...'`.
pub async fn role(ctx: &Ctx, scope: &str, arg: &str) -> CliResult<RoleDefinition> {
    let arg = arg.trim();
    let collection = at(scope, "roleDefinitions");
    if let Ok(id) = Uuid::parse_str(arg) {
        let path = format!("{collection}/{id}?api-version={ROLES_API}");
        return match ctx.arm.get_opt_as::<RoleDefinition>(&path).await? {
            Some(r) => Ok(r),
            None => Err(CliError::not_found("RoleNotFound", format!("no Azure role has the id {id} at {scope}"))),
        };
    }
    let filter = format!("roleName eq {}", literal(arg));
    let path = format!("{collection}?api-version={ROLES_API}&$filter={}", enc(&filter));
    let named = |roles: Vec<RoleDefinition>| -> Vec<RoleDefinition> {
        roles.into_iter().filter(|r| r.properties.role_name.eq_ignore_ascii_case(arg)).collect()
    };
    let mut matches = named(ctx.arm.get_all_arm_as(&path).await?);
    if matches.is_empty() {
        // The name in another case: ARM's filter compares exactly, people do not type that way.
        matches = named(ctx.arm.get_all_arm_as(&format!("{collection}?api-version={ROLES_API}")).await?);
    }
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(CliError::not_found(
            "RoleNotFound",
            format!("no Azure role is named '{arg}' at {scope}; `openpim azure roles --scope {scope}` shows them"),
        )),
        n => Err(CliError::not_found(
            "AmbiguousRole",
            format!(
                "'{arg}' matches {n} Azure roles ({}); use the id",
                matches.iter().map(|r| r.name.to_string()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// What `activate` and `deactivate` need of a role: its GUID and name.
struct HeldRole {
    id: Uuid,
    name: String,
}

impl HeldRole {
    /// Its full id at `scope` (what a request's `roleDefinitionId` carries).
    fn id_at(&self, scope: &str) -> String {
        format!("{}/{}", at(scope, "roleDefinitions"), self.id)
    }
}

/// The role `arg` names among the caller's own `kind` rows (eligibilities to activate, active
/// roles to deactivate): someone eligible may hold no right to read role definitions at the
/// scope, and Azure's own clients take the role from the eligibility too. A GUID is taken as is.
async fn held_role(ctx: &Ctx, kind: Collection, arg: &str) -> CliResult<HeldRole> {
    let arg = arg.trim();
    let rows = mine(ctx, kind).await?;
    let guid_of = |r: &AzureRow| r.role_definition_id.rsplit('/').next().and_then(|g| Uuid::parse_str(g).ok());
    if let Ok(id) = Uuid::parse_str(arg) {
        let name = rows.iter().find(|r| guid_of(r) == Some(id)).map_or_else(|| id.to_string(), |r| r.role.clone());
        return Ok(HeldRole { id, name });
    }
    let mut found: Vec<HeldRole> = Vec::new();
    for r in rows.iter().filter(|r| r.role.eq_ignore_ascii_case(arg)) {
        if let Some(id) = guid_of(r) {
            if !found.iter().any(|f| f.id == id) {
                found.push(HeldRole { id, name: r.role.clone() });
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(CliError::not_found(
            "RoleNotFound",
            format!("you hold no {} Azure role named '{arg}'; `openpim azure my roles` shows yours", kind.label()),
        )),
        n => Err(CliError::not_found(
            "AmbiguousRole",
            format!(
                "'{arg}' matches {n} Azure roles ({}); use the id",
                found.iter().map(|r| r.id.to_string()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

pub async fn assignments(ctx: &Ctx, cmd: AzureAssignmentsCommand) -> CliResult<()> {
    match cmd {
        AzureAssignmentsCommand::List { scope, eligible, active } => list(ctx, &scope, eligible, active).await,
        AzureAssignmentsCommand::Add(a) => add(ctx, a).await,
        AzureAssignmentsCommand::Remove(a) => remove(ctx, a).await,
    }
}

async fn instances(ctx: &Ctx, scope: &str, kind: Collection, filter: Option<&str>) -> CliResult<Vec<AzureRow>> {
    let mut path = format!("{}?api-version={PIM_API}", at(scope, &format!("{}ScheduleInstances", kind.prefix())));
    if let Some(f) = filter {
        path.push_str(&format!("&$filter={}", enc(f)));
    }
    let found: Vec<Schedule> = ctx.arm.get_all_arm_as(&path).await?;
    Ok(found.into_iter().map(|s| row(kind, s)).collect())
}

/// The caller's own `kind` rows at every scope: the tenant's list with `asTarget()` (the caller's
/// and their groups' rows, as Azure's portal reads them). A server that refuses that filter with
/// `InvalidFilter` is asked with `principalId eq '{me}'`, which OpenPIM also answers with the
/// caller's group rows (OpenPIM's azpim base strips the `)` of `asTarget()` before matching it;
/// the fallback keeps `my roles` working until that is fixed).
async fn mine(ctx: &Ctx, kind: Collection) -> CliResult<Vec<AzureRow>> {
    match instances(ctx, "/", kind, Some("asTarget()")).await {
        Err(e) if e.code == "InvalidFilter" => {
            let me = my_id(ctx).await?;
            instances(ctx, "/", kind, Some(&format!("principalId eq '{me}'"))).await
        }
        other => other,
    }
}

async fn list(ctx: &Ctx, scope: &str, eligible: bool, active: bool) -> CliResult<()> {
    let mut rows = Vec::new();
    for kind in Collection::of(eligible, active) {
        rows.extend(instances(ctx, scope, kind, None).await?);
    }
    emit(ctx.format, &rows, || rows_table(ctx, &rows, true));
    Ok(())
}

/// ARM's request types the CLI sends (`requestType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestType {
    AdminAssign,
    AdminUpdate,
    AdminRemove,
    SelfActivate,
    SelfDeactivate,
}

impl RequestType {
    fn as_str(self) -> &'static str {
        match self {
            RequestType::AdminAssign => "AdminAssign",
            RequestType::AdminUpdate => "AdminUpdate",
            RequestType::AdminRemove => "AdminRemove",
            RequestType::SelfActivate => "SelfActivate",
            RequestType::SelfDeactivate => "SelfDeactivate",
        }
    }
}

/// One schedule request, as every command builds it: a request type for a principal in a role
/// at a scope, in one of the two collections, with the window, justification and ticket a kind
/// adds. `send` PUTs it under a new GUID name.
pub(crate) struct RequestBuilder {
    kind: Collection,
    scope: String,
    properties: NewScheduleRequestProperties,
}

impl RequestBuilder {
    pub(crate) fn new(
        kind: Collection,
        request_type: RequestType,
        scope: &str,
        role_definition_id: String,
        principal: Uuid,
    ) -> Self {
        Self {
            kind,
            scope: scope.to_string(),
            properties: NewScheduleRequestProperties {
                role_definition_id,
                principal_id: principal.to_string(),
                request_type: request_type.as_str().to_string(),
                schedule_info: None,
                justification: None,
                ticket_info: None,
            },
        }
    }

    /// Ends after `duration` seconds, at `end`, or never.
    pub(crate) fn window(mut self, duration: Option<u64>, end: Option<OffsetDateTime>) -> Self {
        self.properties.schedule_info = Some(window(duration, end));
        self
    }

    /// A start ahead (`scheduleInfo.startDateTime`; none: now). Call after [`Self::window`].
    pub(crate) fn starting(mut self, start: Option<OffsetDateTime>) -> Self {
        if let Some(info) = self.properties.schedule_info.as_mut() {
            info.start_date_time = start.and_then(|t| t.format(&Rfc3339).ok());
        }
        self
    }

    pub(crate) fn justification(mut self, justification: Option<String>) -> Self {
        self.properties.justification = justification;
        self
    }

    /// `ticketInfo` when a ticket number or system was given.
    fn ticket(mut self, number: Option<String>, system: Option<String>) -> Self {
        self.properties.ticket_info = (number.is_some() || system.is_some())
            .then_some(TicketInfo { ticket_number: number, ticket_system: system });
        self
    }

    fn body(self) -> NewScheduleRequest {
        NewScheduleRequest { properties: self.properties }
    }

    pub(crate) async fn send(self, ctx: &Ctx) -> CliResult<ScheduleRequest> {
        let path = format!(
            "{}/{}?api-version={PIM_API}",
            at(&self.scope, &format!("{}ScheduleRequests", self.kind.prefix())),
            Uuid::new_v4()
        );
        ctx.arm.put_as(&path, &self.body()).await
    }
}

fn window(duration: Option<u64>, end: Option<OffsetDateTime>) -> ScheduleInfo {
    let expiration = match (duration, end) {
        (Some(d), _) => {
            Expiration { expiration_type: "AfterDuration".into(), end_date_time: None, duration: Some(to_iso(d)) }
        }
        (None, Some(t)) => Expiration {
            expiration_type: "AfterDateTime".into(),
            end_date_time: t.format(&Rfc3339).ok(),
            duration: None,
        },
        (None, None) => Expiration { expiration_type: "NoExpiration".into(), end_date_time: None, duration: None },
    };
    ScheduleInfo { start_date_time: None, expiration }
}

/// "for 8h", "until 2026-03-02 09:00 UTC (in ...)", "permanent", as a request asked.
fn requested_end(ctx: &Ctx, req: &ScheduleRequest) -> String {
    let Some(exp) = req.properties.schedule_info.as_ref().map(|i| &i.expiration) else {
        return String::new();
    };
    match (exp.duration.as_deref(), exp.end_date_time.as_deref()) {
        (Some(d), _) => format!("for {}", human_iso(d)),
        (None, Some(end)) => instant(end).map_or_else(|| end.to_string(), |t| end_time(Some(t), ctx.now)),
        (None, None) => "permanent".into(),
    }
}

fn request_details(ctx: &Ctx, req: &ScheduleRequest, kind: Collection, principal: &str, role: &str) -> String {
    let mut pairs = vec![
        ("Request", req.name.clone()),
        ("Status", req.properties.status.clone()),
        ("Type", kind.label().to_string()),
        ("Principal", principal.to_string()),
        ("Role", role.to_string()),
        ("Scope", req.properties.scope.clone()),
    ];
    let ends = requested_end(ctx, req);
    if !ends.is_empty() {
        pairs.push(("Ends", ends));
    }
    if let Some(approval) = &req.properties.approval_id {
        pairs.push(("Approval", approval.clone()));
    }
    details(&pairs)
}

async fn add(ctx: &Ctx, a: AddArgs) -> CliResult<()> {
    let role = role(ctx, &a.scope, &a.role).await?;
    let principal = ctx.principal(&a.principal).await?;
    let kind = if a.active { Collection::Active } else { Collection::Eligible };
    let req = RequestBuilder::new(kind, RequestType::AdminAssign, &a.scope, role.id.clone(), principal.id)
        .window(a.duration, a.end)
        .justification(a.justification)
        .ticket(a.ticket, a.ticket_system)
        .send(ctx)
        .await?;
    emit(ctx.format, &req, || request_details(ctx, &req, kind, &principal.name, &role.properties.role_name));
    Ok(())
}

async fn remove(ctx: &Ctx, a: RemoveArgs) -> CliResult<()> {
    let role = role(ctx, &a.scope, &a.role).await?;
    let principal = ctx.principal(&a.principal).await?;
    let kind = if a.active { Collection::Active } else { Collection::Eligible };
    let req = RequestBuilder::new(kind, RequestType::AdminRemove, &a.scope, role.id.clone(), principal.id)
        .justification(a.justification)
        .send(ctx)
        .await?;
    emit(ctx.format, &req, || {
        format!(
            "Removed the {} assignment of {} to {} at {} (request {}, status {})\n",
            kind.label(),
            principal.name,
            role.properties.role_name,
            a.scope,
            req.name,
            req.properties.status
        )
    });
    Ok(())
}

/// The signed-in user's object id (Graph's `/me`, with the Graph token).
async fn my_id(ctx: &Ctx) -> CliResult<Uuid> {
    ctx.me().await.map(|me| me.id).map_err(|e| {
        if e.kind == Kind::Auth {
            CliError::new(
                Kind::Auth,
                &e.code,
                format!("{} (the azure commands read who you are from Graph's /me with --token or the profile's token; the ARM token goes in --arm-token)", e.message),
            )
        } else {
            e
        }
    })
}

pub async fn activate(ctx: &Ctx, a: ActivateArgs) -> CliResult<()> {
    let role = held_role(ctx, Collection::Eligible, &a.role).await?;
    let me = my_id(ctx).await?;
    let req = RequestBuilder::new(Collection::Active, RequestType::SelfActivate, &a.scope, role.id_at(&a.scope), me)
        .window(Some(a.duration.unwrap_or(DEFAULT_ACTIVATION_SECS)), None)
        .justification(a.justification)
        .ticket(a.ticket, a.ticket_system)
        .send(ctx)
        .await?;
    emit(ctx.format, &req, || {
        let mut pairs = vec![
            ("Role", role.name.clone()),
            ("Scope", req.properties.scope.clone()),
            ("Status", req.properties.status.clone()),
            ("Request", req.name.clone()),
        ];
        if let Some(approval) = &req.properties.approval_id {
            pairs.push(("Approval", approval.clone()));
        }
        let ends = requested_end(ctx, &req);
        if !ends.is_empty() {
            pairs.push(("Duration", ends));
        }
        let mut out = details(&pairs);
        if req.properties.status.eq_ignore_ascii_case("PendingApproval") {
            out.push_str("Waiting for an approver.\n");
        }
        out
    });
    Ok(())
}

pub async fn deactivate(ctx: &Ctx, a: DeactivateArgs) -> CliResult<()> {
    let role = held_role(ctx, Collection::Active, &a.role).await?;
    let me = my_id(ctx).await?;
    let req = RequestBuilder::new(Collection::Active, RequestType::SelfDeactivate, &a.scope, role.id_at(&a.scope), me)
        .send(ctx)
        .await?;
    emit(ctx.format, &req, || {
        format!(
            "Deactivated {} at {} (request {}, status {})\n",
            role.name, req.properties.scope, req.name, req.properties.status
        )
    });
    Ok(())
}

pub async fn my(ctx: &Ctx, cmd: AzureMyCommand) -> CliResult<()> {
    match cmd {
        AzureMyCommand::Roles => {
            // At the tenant with asTarget(): the caller's rows (their groups' too) at every scope.
            let mut rows = Vec::new();
            for kind in [Collection::Eligible, Collection::Active] {
                rows.extend(mine(ctx, kind).await?);
            }
            for r in &mut rows {
                let end = r.end_date_time.as_deref().and_then(instant);
                r.ends = Some(end_time(end, ctx.now));
            }
            emit(ctx.format, &rows, || rows_table(ctx, &rows, false));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_arm_scopes() {
        let sub = "/subscriptions/5c1e0f3a-9b7d-4c2e-8f10-0000000000c1";
        assert_eq!(scope_arg(&format!("{sub}/")).unwrap(), sub);
        assert_eq!(scope_arg(&format!("{sub}/resourceGroups/web")).unwrap(), format!("{sub}/resourceGroups/web"));
        assert_eq!(scope_arg("/").unwrap(), "/");
        assert!(scope_arg("/providers/Microsoft.Management/managementGroups/root").is_ok());
        for bad in ["", "subscriptions/x", "/subscriptions/not-a-guid", "/administrativeUnits/x", "/providers/x"] {
            assert!(scope_arg(bad).is_err(), "{bad}");
        }
        assert_eq!(at("/", "roleDefinitions"), "/providers/Microsoft.Authorization/roleDefinitions");
        assert_eq!(
            at(sub, "roleEligibilityScheduleRequests"),
            format!("{sub}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests")
        );
    }

    #[test]
    fn one_builder_for_every_request_kind() {
        let me = Uuid::new_v4();
        let sub = "/subscriptions/5c1e0f3a-9b7d-4c2e-8f10-0000000000c1";
        let body = |b: RequestBuilder| serde_json::to_value(b.body()).unwrap()["properties"].clone();
        let assign = RequestBuilder::new(Collection::Eligible, RequestType::AdminAssign, sub, "r".into(), me)
            .window(Some(3600), None)
            .justification(Some("web tier".into()))
            .ticket(Some("T-1".into()), None);
        let v = body(assign);
        assert_eq!(v["requestType"], "AdminAssign");
        assert_eq!(v["principalId"], me.to_string());
        assert_eq!(v["roleDefinitionId"], "r");
        assert_eq!(v["scheduleInfo"]["expiration"]["duration"], "PT1H");
        assert_eq!(v["justification"], "web tier");
        assert_eq!(v["ticketInfo"], serde_json::json!({"ticketNumber": "T-1", "ticketSystem": null}));
        // A removal or a deactivation carries no window, justification or ticket it was not given.
        let v = body(RequestBuilder::new(Collection::Active, RequestType::SelfDeactivate, sub, "r".into(), me));
        assert_eq!(v["requestType"], "SelfDeactivate");
        for absent in ["scheduleInfo", "justification", "ticketInfo"] {
            assert!(v.get(absent).is_none(), "{absent} in {v}");
        }
        let v = body(
            RequestBuilder::new(Collection::Eligible, RequestType::AdminRemove, sub, "r".into(), me).ticket(None, None),
        );
        assert!(v.get("ticketInfo").is_none(), "{v}");
        assert!(is_arm_scope(sub) && !is_arm_scope("/") && !is_arm_scope("/administrativeUnits/x"));
    }

    #[test]
    fn windows_are_arm_schedule_info() {
        let json = |i: ScheduleInfo| serde_json::to_value(i).unwrap();
        assert_eq!(json(window(Some(3600), None))["expiration"]["duration"], "PT1H");
        assert_eq!(json(window(Some(3600), None))["expiration"]["type"], "AfterDuration");
        let end = time::macros::datetime!(2026-03-02 09:00 UTC);
        assert_eq!(json(window(None, Some(end)))["expiration"]["endDateTime"], "2026-03-02T09:00:00Z");
        assert_eq!(json(window(None, None))["expiration"]["type"], "NoExpiration");
    }
}
