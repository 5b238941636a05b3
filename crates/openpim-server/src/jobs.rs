//! Background tidy-up: moves schedules and requests to the status the clock says they have
//! (Granted → Provisioned at the start, → Expired at the end) and audits each transition.
//!
//! Correctness never depends on this job: the access check compares windows with `now` itself.
//! Every transition is a conditional update (`... WHERE status <> new`), so running the job
//! twice, or on several nodes at once, changes and audits each record exactly once.

use crate::state::AppState;
use openpim_core::audit::{category, detail, AuditRecord, AuditResult, AuditTarget};
use openpim_core::schedule::{Kind, RequestStatus, ScheduleStatus};
use openpim_core::{Instant, ObjectId};
use std::time::Duration;

/// How often the job runs.
pub const INTERVAL: Duration = Duration::from_secs(15);
const BATCH: u32 = 500;

fn system_record(
    at: Instant,
    activity: &str,
    target_kind: &'static str,
    target: ObjectId,
    details: Vec<(String, String)>,
) -> AuditRecord {
    AuditRecord {
        id: ObjectId::new_v4(),
        at,
        category: category::ROLE_MANAGEMENT,
        activity: activity.to_string(),
        operation_type: "Update",
        result: AuditResult::Success,
        result_reason: String::new(),
        initiated_by_id: None,
        initiated_by_upn: None,
        initiated_by_display_name: None,
        targets: vec![AuditTarget {
            id: target.to_string(),
            display_name: None,
            kind: target_kind,
            user_principal_name: None,
            modified_properties: Vec::new(),
        }],
        additional_details: details,
        correlation_id: ObjectId::new_v4(),
    }
}

/// Counter: records the tidy-up job moved, by `transition` (see [`count_transition`]).
pub const TRANSITIONS: &str = "openpim_tidy_transitions_total";

/// Counts one committed transition. `transition` is one of: `schedule_started`,
/// `assignment_expired`, `eligibility_expired`, `approval_timed_out`, `request_provisioned`.
fn count_transition(transition: &'static str) {
    metrics::counter!(TRANSITIONS, "transition" => transition).increment(1);
}

/// One pass; returns how many records it transitioned.
pub async fn tidy_once(state: &AppState) -> anyhow::Result<usize> {
    let now = state.now();
    let mut changed = 0;
    for kind in [Kind::Assignment, Kind::Eligibility] {
        for schedule in state.store.schedules_due(kind, now, BATCH).await? {
            let status = schedule.status_at(now);
            if status == schedule.status {
                continue;
            }
            let (activity, transition) = match (kind, status) {
                (Kind::Assignment, ScheduleStatus::Expired) => {
                    ("Remove member from role (PIM assignment expired)", "assignment_expired")
                }
                (Kind::Eligibility, ScheduleStatus::Expired) => {
                    ("Remove eligible member from role (PIM eligibility expired)", "eligibility_expired")
                }
                (_, _) => ("Role schedule started (PIM)", "schedule_started"),
            };
            let mut tx = state.store.begin_write().await?;
            if tx.set_schedule_status(&schedule, status, now).await? {
                let record = system_record(
                    now,
                    activity,
                    if schedule.principal_kind == openpim_core::directory::ObjectKind::Group {
                        "Group"
                    } else {
                        "User"
                    },
                    schedule.principal_id,
                    vec![
                        ("scheduleId".into(), schedule.id.to_string()),
                        ("roleDefinitionId".into(), schedule.role_definition_id.to_string()),
                        ("status".into(), status.as_str().into()),
                        // Where the role applied: also tells the metrics its role world.
                        (detail::DIRECTORY_SCOPE_ID.into(), schedule.scope.to_string()),
                    ],
                );
                state.commit(tx, &record).await.map_err(|e| anyhow::anyhow!("{}", e.message))?;
                count_transition(transition);
                changed += 1;
            } else {
                tx.rollback().await?;
            }
        }
    }
    for mut approval in state.store.expired_approvals(now, BATCH).await? {
        approval.status = openpim_core::approval::ApprovalStatus::TimedOut;
        // The request's scope, for the record (and the metrics' role world); approvals keep none.
        let scope = state.store.get_request(Kind::Assignment, approval.request_id).await?.map(|r| r.scope.to_string());
        let mut tx = state.store.begin_write().await?;
        if tx.save_pending_approval(&approval).await? {
            tx.transition_request(
                approval.request_id,
                RequestStatus::PendingApproval,
                RequestStatus::TimedOut,
                Some(now),
            )
            .await?;
            let record = system_record(
                now,
                "Role activation request timed out waiting for approval (PIM)",
                "User",
                approval.requester,
                [("requestId".into(), approval.request_id.to_string()), ("approvalId".into(), approval.id.to_string())]
                    .into_iter()
                    .chain(scope.map(|s| (detail::DIRECTORY_SCOPE_ID.to_string(), s)))
                    .collect(),
            );
            state.commit(tx, &record).await.map_err(|e| anyhow::anyhow!("{}", e.message))?;
            count_transition("approval_timed_out");
            changed += 1;
        } else {
            tx.rollback().await?;
        }
    }
    for request in state.store.requests_due(now, BATCH).await? {
        let mut tx = state.store.begin_write().await?;
        if tx
            .transition_request(request.id, RequestStatus::Granted, RequestStatus::Provisioned, request.completed)
            .await?
        {
            let record = system_record(
                now,
                "Schedule request provisioned (PIM)",
                "Role",
                request.role_definition_id,
                vec![
                    ("requestId".into(), request.id.to_string()),
                    (detail::DIRECTORY_SCOPE_ID.into(), request.scope.to_string()),
                ],
            );
            state.commit(tx, &record).await.map_err(|e| anyhow::anyhow!("{}", e.message))?;
            count_transition("request_provisioned");
            changed += 1;
        } else {
            tx.rollback().await?;
        }
    }
    Ok(changed)
}

/// Cluster-wide lock keys of the background jobs.
pub const TIDY_LOCK: i64 = 0x0_9e11_0001;
pub const NOTIFY_LOCK: i64 = 0x0_9e11_0002;

/// Runs `job` only if this node gets the job's cluster-wide lock (another node is running it
/// otherwise, which is just as good).
pub async fn locked<T>(
    state: &AppState,
    key: i64,
    job: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<Option<T>> {
    let Some(lock) = state.store.try_job_lock(key).await? else { return Ok(None) };
    let result = job.await;
    lock.release().await?;
    result.map(Some)
}

/// Runs `tidy_once` every [`INTERVAL`] until `stop` resolves (under `supervise`, which restarts
/// it after a panic).
pub async fn run(state: AppState, stop: tokio::sync::watch::Receiver<bool>) {
    let st = &state;
    // Another node holding the lock runs the pass: this loop is alive all the same.
    crate::supervise::every(st, crate::supervise::TIDY, INTERVAL, stop, move || async move {
        locked(st, TIDY_LOCK, tidy_once(st)).await.map(drop)
    })
    .await
}
