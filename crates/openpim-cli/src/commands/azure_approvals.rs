//! `openpim azure approvals list|show|approve|deny`: activations of Azure roles waiting for the
//! caller's decision, over ARM's `roleAssignmentApprovals` (api-version 2021-01-01-preview).
//!
//! ARM's approval resource carries its stages only (Azure's portal reads the request beside it,
//! with `roleAssignmentScheduleRequests?$filter=asApprover()`). OpenPIM also serves an approver the request through Graph's
//! `roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')` (directory and Azure roles
//! alike, an ARM scope in `directoryScopeId`), so the requester, role, scope, justification and
//! window come from there (`approvals::waiting_row`, as `openpim approvals list` shows them),
//! joined on the approval id; the role's name from ARM's tenant-level role definitions (readable
//! by every user of the tenant). The decision itself is ARM's `PATCH .../stages/{stageId}`.

use super::approvals::{is_azure, waiting_requests, waiting_row, WaitingRow};
use super::azure_pim::at;
use crate::client::enc;
use crate::context::Ctx;
use crate::error::{CliError, CliResult, Kind};
use crate::output::{details, emit, time, Table};
use clap::{Args, Subcommand};
use openpim_core::approval::{ReviewResult, StepStatus};
use openpim_proto::arm::approvals::{ApprovalStage, RoleAssignmentApproval, StageDecision};
use openpim_proto::arm::role_definitions::RoleDefinition;
use openpim_proto::schedules::UnifiedRoleScheduleRequest;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

const APPROVALS_API: &str = "2021-01-01-preview";
/// Role definitions are read at the tenant level, where any user of the tenant may read them.
const ROLES_API: &str = "2022-04-01";

#[derive(Subcommand)]
pub enum AzureApprovalsCommand {
    /// Azure role activations waiting for your decision.
    List,
    /// One approval: the request and its stages.
    Show {
        /// Approval id (a GUID or the full `/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}`),
        /// or the id of the request it decides.
        id: String,
    },
    /// Approve the stage assigned to you.
    Approve(DecideArgs),
    /// Deny the stage assigned to you.
    Deny(DecideArgs),
}

#[derive(Args)]
pub struct DecideArgs {
    /// Approval id (GUID or full id) or request id.
    id: String,
    /// Your justification (Azure's default settings require one).
    #[arg(long, visible_alias = "reason")]
    justification: Option<String>,
}

/// An approval as `list` and `show` print it (the `--output json` contract): ARM's ids and
/// stages, the overall status, and the request while it waits for the caller.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ApprovalView {
    /// The full resource id.
    id: String,
    /// The approval's GUID.
    approval_id: String,
    /// `InProgress`, `Approved`, `Denied` or `Expired`.
    status: &'static str,
    request: Option<WaitingRow>,
    stages: Vec<ApprovalStage>,
}

pub async fn run(ctx: &Ctx, cmd: AzureApprovalsCommand) -> CliResult<()> {
    match cmd {
        AzureApprovalsCommand::List => list(ctx).await,
        AzureApprovalsCommand::Show { id } => show(ctx, &id).await,
        AzureApprovalsCommand::Approve(a) => decide(ctx, a, ReviewResult::Approve).await,
        AzureApprovalsCommand::Deny(a) => decide(ctx, a, ReviewResult::Deny).await,
    }
}

fn collection() -> String {
    at("/", "roleAssignmentApprovals")
}

/// Where the approval as a whole stands, from its stages.
fn overall(stages: &[ApprovalStage]) -> &'static str {
    let result = |s: &ApprovalStage, r: ReviewResult| s.properties.review_result.eq_ignore_ascii_case(r.as_str());
    if stages.iter().any(|s| result(s, ReviewResult::Deny)) {
        "Denied"
    } else if stages.iter().any(|s| s.properties.status.eq_ignore_ascii_case("Expired")) {
        "Expired"
    } else if !stages.is_empty() && stages.iter().all(|s| result(s, ReviewResult::Approve)) {
        "Approved"
    } else {
        "InProgress"
    }
}

/// Azure role names by GUID, read once per run.
#[derive(Default)]
pub(super) struct AzureRoleNames(HashMap<Uuid, String>);

impl AzureRoleNames {
    pub(super) async fn name(&mut self, ctx: &Ctx, id: Uuid) -> String {
        if let Some(n) = self.0.get(&id) {
            return n.clone();
        }
        let path = format!("{}/{id}?api-version={ROLES_API}", at("/", "roleDefinitions"));
        // A role that cannot be read (no ARM token, say) shows as its GUID rather than failing
        // the whole list.
        let name = match ctx.arm.get_opt_as::<RoleDefinition>(&path).await {
            Ok(Some(r)) => r.properties.role_name,
            _ => id.to_string(),
        };
        self.0.insert(id, name.clone());
        name
    }
}

/// The Azure roles' requests waiting for the caller.
async fn waiting_azure(ctx: &Ctx) -> CliResult<Vec<UnifiedRoleScheduleRequest>> {
    Ok(waiting_requests(ctx).await?.into_iter().filter(is_azure).collect())
}

/// The GUID an approval argument names: a GUID, or the GUID at the end of the full id.
fn approval_guid(raw: &str) -> Option<Uuid> {
    let raw = raw.trim().trim_end_matches('/');
    let lower = raw.to_ascii_lowercase();
    let tail = match lower.find("/roleassignmentapprovals/") {
        Some(i) => raw[i + "/roleAssignmentApprovals/".len()..].split('/').next().unwrap_or(""),
        None => raw,
    };
    Uuid::parse_str(tail).ok()
}

/// The approval `arg` names (an approval id, or the id of a request waiting for the caller),
/// with the request's facts when it waits for the caller.
async fn find(ctx: &Ctx, arg: &str) -> CliResult<ApprovalView> {
    let not_found = || {
        CliError::not_found(
            "RoleAssignmentApprovalNotFound",
            format!(
                "no Azure approval or request '{arg}' that you may see; `openpim azure approvals list` shows yours"
            ),
        )
    };
    let id = approval_guid(arg).ok_or_else(not_found)?;
    let waiting = waiting_azure(ctx).await?;
    // A request id stands for its approval.
    let approval_id = match waiting.iter().find(|r| r.id == id).and_then(|r| r.approval_id.as_deref()) {
        Some(a) => approval_guid(a).ok_or_else(not_found)?,
        None => id,
    };
    let path = format!("{}/{approval_id}?api-version={APPROVALS_API}", collection());
    let approval: RoleAssignmentApproval = ctx.arm.get_opt_as(&path).await?.ok_or_else(not_found)?;
    // The request's facts while it waits for the caller; its requester, or an approver after the
    // decision, see the approval's stages only (ARM serves the request to its principal and to
    // readers of role assignments at its scope).
    let request = match waiting.into_iter().find(|r| same_approval(r, approval_id)) {
        Some(r) => Some(waiting_row(ctx, &mut AzureRoleNames::default(), r).await),
        None => None,
    };
    Ok(view(approval, request))
}

fn same_approval(r: &UnifiedRoleScheduleRequest, approval: Uuid) -> bool {
    r.approval_id.as_deref().and_then(approval_guid) == Some(approval)
}

fn view(a: RoleAssignmentApproval, request: Option<WaitingRow>) -> ApprovalView {
    ApprovalView {
        status: overall(&a.properties.stages),
        id: a.id,
        approval_id: a.name,
        request,
        stages: a.properties.stages,
    }
}

async fn list(ctx: &Ctx) -> CliResult<()> {
    let path = format!("{}?api-version={APPROVALS_API}&$filter={}", collection(), enc("asApprover()"));
    // asApprover() names every approval listing the caller as an approver, their own requests
    // and other stages' turns included; the list is what waits for the caller's decision now.
    let approvals: Vec<RoleAssignmentApproval> = ctx.arm.get_all_arm_as(&path).await?;
    let approvals: Vec<RoleAssignmentApproval> = approvals
        .into_iter()
        .filter(|a| {
            a.properties
                .stages
                .iter()
                .any(|s| s.properties.assigned_to_me && s.properties.status.parse() == Ok(StepStatus::InProgress))
        })
        .collect();
    let mut waiting = if approvals.is_empty() { Vec::new() } else { waiting_azure(ctx).await? };
    let mut names = AzureRoleNames::default();
    let mut rows = Vec::with_capacity(approvals.len());
    for a in approvals {
        let request = match approval_guid(&a.name) {
            Some(g) => match waiting.iter().position(|r| same_approval(r, g)) {
                Some(i) => Some(waiting_row(ctx, &mut names, waiting.swap_remove(i)).await),
                None => None,
            },
            None => None,
        };
        rows.push(view(a, request));
    }
    emit(ctx.format, &rows, || {
        let mut t = Table::new(&["APPROVAL", "REQUESTED", "REQUESTER", "ROLE", "SCOPE", "WINDOW", "JUSTIFICATION"]);
        for r in &rows {
            let f = r.request.as_ref();
            t.row(vec![
                r.approval_id.clone(),
                f.map(|f| time(f.created_date_time)).unwrap_or_default(),
                f.map(|f| f.requester.clone()).unwrap_or_default(),
                f.map(|f| f.role.clone()).unwrap_or_default(),
                f.map(|f| f.directory_scope_id.clone()).unwrap_or_default(),
                f.map(|f| f.window.clone()).unwrap_or_default(),
                f.and_then(|f| f.justification.clone()).unwrap_or_default(),
            ]);
        }
        t.render()
    });
    Ok(())
}

fn show_table(v: &ApprovalView) -> String {
    let mut pairs = vec![("Approval", v.approval_id.clone()), ("Status", v.status.to_string())];
    if let Some(f) = &v.request {
        pairs.extend([
            ("Requested", time(f.created_date_time)),
            ("Requester", f.requester.clone()),
            ("Role", f.role.clone()),
            ("Scope", f.directory_scope_id.clone()),
            ("Window", f.window.clone()),
            ("Justification", f.justification.clone().unwrap_or_default()),
        ]);
    }
    let mut out = details(&pairs);
    out.push('\n');
    let mut t = Table::new(&["STAGE", "ID", "STATUS", "RESULT", "YOURS", "REVIEWED BY", "JUSTIFICATION"]);
    for s in &v.stages {
        let p = &s.properties;
        let reviewer = p.reviewed_by.as_ref().map(|r| {
            r.user_principal_name.clone().or_else(|| r.principal_name.clone()).unwrap_or_else(|| r.principal_id.clone())
        });
        t.row(vec![
            p.display_name.clone(),
            s.name.clone(),
            p.status.clone(),
            p.review_result.clone(),
            if p.assigned_to_me { "yes" } else { "no" }.to_string(),
            reviewer.unwrap_or_default(),
            p.justification.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&t.render());
    out
}

async fn show(ctx: &Ctx, id: &str) -> CliResult<()> {
    let v = find(ctx, id).await?;
    emit(ctx.format, &v, || show_table(&v));
    Ok(())
}

async fn decide(ctx: &Ctx, a: DecideArgs, result: ReviewResult) -> CliResult<()> {
    let v = find(ctx, &a.id).await?;
    let in_progress = |s: &&ApprovalStage| s.properties.status.parse() == Ok(StepStatus::InProgress);
    // The stage assigned to me; failing that, the stage in progress, so the server (which checks
    // every decision, self-approval included) says why I may not decide it.
    let stage = v
        .stages
        .iter()
        .filter(in_progress)
        .find(|s| s.properties.assigned_to_me)
        .or_else(|| v.stages.iter().find(in_progress))
        .ok_or_else(|| {
            CliError::new(
                Kind::Refused,
                "ApprovalNotPending",
                format!("approval {} has no stage in progress (it is {})", v.approval_id, v.status),
            )
        })?;
    let body = StageDecision { review_result: result.as_str().to_string(), justification: a.justification };
    let path = format!("{}/stages/{}?api-version={APPROVALS_API}", v.id, enc(&stage.name));
    let decided: ApprovalStage = ctx.arm.patch_as(&path, &body).await?;
    emit(ctx.format, &decided, || {
        let verb = if result == ReviewResult::Approve { "Approved" } else { "Denied" };
        let who = v.request.as_ref().map(|f| format!(": {} as {} at {}", f.requester, f.role, f.directory_scope_id));
        format!("{verb} approval {} ({}){}\n", v.approval_id, decided.properties.display_name, who.unwrap_or_default())
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openpim_proto::arm::approvals::StageProperties;

    fn stage(status: &str, result: &str) -> ApprovalStage {
        ApprovalStage {
            id: String::new(),
            name: String::new(),
            resource_type: String::new(),
            properties: StageProperties {
                display_name: "Stage 1".into(),
                status: status.into(),
                review_result: result.into(),
                assigned_to_me: false,
                reviewed_by: None,
                reviewed_date_time: None,
                justification: None,
            },
        }
    }

    #[test]
    fn approval_ids_in_both_forms() {
        let g = Uuid::new_v4();
        assert_eq!(approval_guid(&g.to_string()), Some(g));
        assert_eq!(approval_guid(&format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{g}")), Some(g));
        assert_eq!(approval_guid(&format!("/providers/microsoft.authorization/roleassignmentapprovals/{g}/")), Some(g));
        assert_eq!(approval_guid("not-an-id"), None);
    }

    #[test]
    fn overall_status_from_stages() {
        assert_eq!(overall(&[stage("InProgress", "NotReviewed")]), "InProgress");
        assert_eq!(overall(&[stage("Completed", "Approve")]), "Approved");
        assert_eq!(overall(&[stage("Completed", "Approve"), stage("Completed", "Deny")]), "Denied");
        assert_eq!(overall(&[stage("Expired", "NotReviewed")]), "Expired");
        assert_eq!(overall(&[stage("Completed", "Approve"), stage("InProgress", "NotReviewed")]), "InProgress");
    }
}
