//! Approvals: activation requests waiting for the signed-in user's decision, as a queue (who,
//! what, why, the window asked for, how long it has waited) with Approve/Deny per request and a
//! bulk decision on the selected ones with one reason: the directory's through Graph, Azure
//! resources' through ARM (`azure_approvals`).

use super::api::{seg, Api, GraphError};
use super::page;
use super::session::Session;
use super::view::{self, Chrome, Flash};
use super::UiState;
use askama::Template;
use axum::extract::RawForm;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use openpim_core::approval::{ReviewResult, StepStatus};
use openpim_core::schedule::ExpirationType;
use openpim_core::scope::Scope;
use openpim_proto::approvals::{Approval, StepDecision};
use openpim_proto::schedules::{RequestSchedule, UnifiedRoleScheduleRequest};

const RM: &str = "/v1.0/roleManagement/directory";

/// A request waiting for the caller's decision, from either world.
pub(super) struct Row {
    pub approval_id: String,
    /// Azure approvals: the stage assigned to the caller (ARM decides per stage); empty for
    /// the directory's, whose step the decision looks up.
    pub stage_id: String,
    pub requester: String,
    pub role_name: String,
    pub scope_label: String,
    /// Azure approvals: the scope's full path (the label names it by display name).
    pub scope_path: String,
    pub justification: String,
    pub ticket: String,
    pub window: String,
    pub created: String,
    pub created_at: time::OffsetDateTime,
    pub key: String,
}

impl Row {
    /// What the form's checkbox or button sends for this request: the approval and, for
    /// Azure, its stage (Graph approval ids and ARM approval names are GUIDs, so `|` separates).
    pub fn pick(&self) -> String {
        format!("{}|{}", self.approval_id, self.stage_id)
    }
}

/// A queue row with how long it has waited.
pub struct QueueRow {
    pub r: Row,
    pub waited: String,
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    page: Chrome,
    rows: Vec<QueueRow>,
}

/// "from START for 2 hours" / "from START until END", from a request's scheduleInfo.
pub(super) fn window(info: Option<&RequestSchedule>) -> String {
    let Some(info) = info else { return window_of(None, None) };
    let exp = &info.expiration;
    let end = match exp.kind.parse() {
        Ok(ExpirationType::AfterDuration) => Some(Ends::After(exp.duration.clone().unwrap_or_default())),
        Ok(ExpirationType::AfterDateTime) => Some(Ends::At(exp.end_date_time)),
        _ => None,
    };
    window_of(info.start_date_time, end)
}

/// How a requested window ends: after an ISO 8601 duration, or at a time.
pub(super) enum Ends {
    After(String),
    At(Option<time::OffsetDateTime>),
}

/// A requested window in words (`None`: no end).
pub(super) fn window_of(start: Option<time::OffsetDateTime>, end: Option<Ends>) -> String {
    let start = match view::when(start) {
        s if s.is_empty() => "when approved".to_string(),
        s => format!("from {s}"),
    };
    match end {
        Some(Ends::After(iso)) => format!("{start} for {}", view::duration_words(&iso)),
        Some(Ends::At(t)) => format!("{start} until {}", view::when(t)),
        None => format!("{start}, no end"),
    }
}

/// Every request waiting for the caller's decision, oldest first: the directory's through
/// Graph's approver list, Azure's through ARM.
pub(super) async fn queue(ui: &UiState, session: &Session) -> Result<Vec<Row>, GraphError> {
    let api = Api::new(&ui.api, &session.token);
    let path = format!(
        "{RM}/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')?$expand=principal,roleDefinition"
    );
    let requests = api.list_all_as::<UnifiedRoleScheduleRequest>(&path).await?;
    // Graph's approver list carries Azure roles' requests too; the page reads those through ARM
    // (`azure_approvals::rows`), which names the stage to decide.
    let mut rows: Vec<Row> = requests
        .iter()
        .filter(|r| matches!(Scope::parse(&r.directory_scope_id), Ok(Scope::Directory(_))))
        .enumerate()
        .map(|(i, r)| {
            let p = r.principal.as_ref();
            let ticket = [&r.ticket_info.ticket_system, &r.ticket_info.ticket_number]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            Row {
                approval_id: r.approval_id.clone().unwrap_or_default(),
                stage_id: String::new(),
                requester: format!(
                    "{} ({})",
                    p.map(|p| p.display_name()).unwrap_or_default(),
                    p.and_then(|p| p.user_principal_name()).unwrap_or_default()
                ),
                role_name: r.role_definition.as_ref().map(|d| d.display_name.clone()).unwrap_or_default(),
                scope_label: view::scope_label(&r.directory_scope_id),
                scope_path: String::new(),
                justification: r.justification.clone().unwrap_or_default(),
                ticket,
                window: window(r.schedule_info.as_ref()),
                created: view::when(Some(r.created_date_time)),
                created_at: r.created_date_time,
                key: format!("r{i}"),
            }
        })
        .collect();
    // Azure activations wait here too.
    rows.extend(super::azure_approvals::rows(ui, session, rows.len()).await?);
    rows.sort_by_key(|r| r.created_at);
    Ok(rows)
}

pub async fn page(State(ui): State<UiState>, session: Session) -> Response {
    let (chrome, _) = match page::start(&ui, &session, "approvals", "Approvals").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let rows = match queue(&ui, &session).await {
        Ok(r) => r,
        Err(e) => return page::load_failed(&session, chrome, &e),
    };
    let now = ui.app.now();
    let rows =
        rows.into_iter().map(|r| QueueRow { waited: super::my_roles::span_words(now - r.created_at), r }).collect();
    session.finish(view::render(StatusCode::OK, &ApprovalsPage { page: chrome, rows }))
}

/// The decision form: `csrf`, `reason`, and either `one` (a row's button: `Approve|pick` or
/// `Deny|pick`) or `decision` (the bulk buttons) with the selected rows' `pick` values. Read by
/// hand: the selection repeats a field, which a struct form cannot hold.
struct DecideForm {
    csrf: String,
    reason: String,
    decision: String,
    picks: Vec<String>,
}

impl DecideForm {
    fn read(body: &[u8]) -> Self {
        let mut f =
            DecideForm { csrf: String::new(), reason: String::new(), decision: String::new(), picks: Vec::new() };
        let mut one = None;
        for (k, v) in url::form_urlencoded::parse(body) {
            match &*k {
                "csrf" => f.csrf = v.into_owned(),
                "reason" => f.reason = v.into_owned(),
                "decision" => f.decision = v.into_owned(),
                "pick" => f.picks.push(v.into_owned()),
                "one" => one = Some(v.into_owned()),
                _ => {}
            }
        }
        // A row's own button decides that row alone, whatever else is selected.
        if let Some((decision, pick)) = one.as_deref().and_then(|o| o.split_once('|')) {
            f.decision = decision.to_string();
            f.picks = vec![pick.to_string()];
        }
        f
    }
}

/// Approves or denies each chosen request: a directory approval's step in progress assigned to
/// the caller is PATCHed, an Azure one's stage is decided through ARM. Whether the caller may
/// decide is the API's call; each request's outcome is reported.
pub async fn decide(State(ui): State<UiState>, session: Session, RawForm(body): RawForm) -> Response {
    let f = DecideForm::read(&body);
    if let Some(refused) = session.csrf_refusal(&f.csrf) {
        return refused;
    }
    // Exactly the form's buttons; the API reads any casing, the form sends these.
    let decision = match f.decision.as_str() {
        "Approve" => ReviewResult::Approve,
        "Deny" => ReviewResult::Deny,
        _ => return session.redirect("/approvals", Flash::err("Choose Approve or Deny.")),
    };
    if f.picks.is_empty() {
        return session.redirect("/approvals", Flash::err("Select at least one request."));
    }
    let reason = f.reason.trim();
    let reason = Some(reason).filter(|r| !r.is_empty()).map(str::to_string);
    let (mut done, mut refused) = (0, Vec::new());
    for pick in &f.picks {
        let (approval, stage) = pick.split_once('|').unwrap_or((pick, ""));
        let result = if stage.trim().is_empty() {
            decide_directory(&ui, &session, approval.trim(), decision, reason.clone()).await
        } else {
            super::azure_approvals::decide(&ui, &session, approval.trim(), stage.trim(), decision, reason.clone()).await
        };
        match result {
            Ok(()) => done += 1,
            Err(e) if e.is_unauthenticated() => return super::signin::expired(&session, &e.message),
            Err(e) => refused.push(view::describe(&e)),
        }
    }
    let verb = if decision == ReviewResult::Approve { "approved" } else { "denied" };
    let flash = match (done, refused.len()) {
        (1, 0) => Flash::ok(format!("The request is {verb}.")),
        (n, 0) => Flash::ok(format!("{n} requests are {verb}.")),
        (n, _) => Flash::err(format!("{n} {verb}; refused: {}", refused.join(" · "))),
    };
    session.redirect("/approvals", flash)
}

/// A directory approval: finds the step in progress assigned to the caller and PATCHes it.
async fn decide_directory(
    ui: &UiState,
    session: &Session,
    approval: &str,
    decision: ReviewResult,
    reason: Option<String>,
) -> Result<(), GraphError> {
    let api = Api::new(&ui.api, &session.token);
    let base = format!("{RM}/roleAssignmentApprovals/{}", seg(approval));
    let approval: Approval = api.get_as(&base).await?;
    let in_progress = |s: &&openpim_proto::approvals::ApprovalStep| s.status.parse() == Ok(StepStatus::InProgress);
    let step = approval
        .steps
        .iter()
        .find(|s| s.assigned_to_me && in_progress(s))
        .or_else(|| approval.steps.iter().find(in_progress))
        .ok_or_else(|| GraphError {
            status: StatusCode::BAD_REQUEST,
            code: "ApprovalNotPending".into(),
            message: "This request has no stage waiting for a decision.".into(),
        })?;
    let body = StepDecision { review_result: decision.to_string(), justification: reason };
    api.patch_with(&format!("{base}/steps/{}", step.id), &body).await
}
