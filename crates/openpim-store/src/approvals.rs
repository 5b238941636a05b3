//! Approvals of activation requests.

use crate::codec::{id_text, micros, RowExt};
use crate::{records, Store, StoreError, StoreResult, WriteTx};
use openpim_core::approval::{Approval, ApprovalStatus};
use openpim_core::{Instant, ObjectId};
use sqlx::any::AnyRow;

fn status_text(s: ApprovalStatus) -> &'static str {
    match s {
        ApprovalStatus::Pending => "Pending",
        ApprovalStatus::Approved => "Approved",
        ApprovalStatus::Denied => "Denied",
        ApprovalStatus::TimedOut => "TimedOut",
        ApprovalStatus::Canceled => "Canceled",
    }
}

fn decode(r: &AnyRow) -> StoreResult<Approval> {
    let status = match r.text("status")?.as_str() {
        "Pending" => ApprovalStatus::Pending,
        "Approved" => ApprovalStatus::Approved,
        "Denied" => ApprovalStatus::Denied,
        "TimedOut" => ApprovalStatus::TimedOut,
        _ => ApprovalStatus::Canceled,
    };
    Ok(Approval {
        id: r.id("id")?,
        request_id: r.id("request_id")?,
        requester: r.id("requester_id")?,
        status,
        steps: records::approval_steps::decode(&r.text("steps")?)?,
        created: r.time("created_at")?,
        expires: r.time("expires_at")?,
    })
}

impl Store {
    pub async fn get_approval(&self, id: ObjectId) -> StoreResult<Option<Approval>> {
        let row = sqlx::query("SELECT * FROM approvals WHERE id = $1")
            .bind(id_text(id))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }

    /// Pending approvals that have not expired at `now` (filtered to the caller's by the server).
    pub async fn pending_approvals(&self, now: Instant) -> StoreResult<Vec<Approval>> {
        let rows =
            sqlx::query("SELECT * FROM approvals WHERE status = 'Pending' AND expires_at > $1 ORDER BY created_at")
                .bind(micros(now))
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::Db)?;
        rows.iter().map(decode).collect()
    }

    /// How many approvals are pending and not expired at `now` (for metrics: a count over the
    /// `(status, expires_at)` index, whatever the size of the history).
    pub async fn count_pending_approvals(&self, now: Instant) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM approvals WHERE status = 'Pending' AND expires_at > $1")
            .bind(micros(now))
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::Db)?;
        Ok(row.int("n")?.max(0) as u64)
    }

    /// Pending approvals whose time is up (for the tidy-up job).
    pub async fn expired_approvals(&self, now: Instant, limit: u32) -> StoreResult<Vec<Approval>> {
        let sql = format!("SELECT * FROM approvals WHERE status = 'Pending' AND expires_at <= $1 LIMIT {limit}");
        let rows = sqlx::query(&sql).bind(micros(now)).fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter().map(decode).collect()
    }

    /// Ids of every group `member` belongs to directly (approvers may be listed as groups).
    pub async fn group_ids_of(&self, member: ObjectId) -> StoreResult<Vec<ObjectId>> {
        let rows = sqlx::query("SELECT group_id FROM group_members WHERE member_id = $1")
            .bind(id_text(member))
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::Db)?;
        rows.iter().map(|r| r.id("group_id")).collect()
    }
}

impl WriteTx<'_> {
    /// Ids of every group `member` belongs to directly, read inside the write (who may decide
    /// a step depends on it).
    pub async fn group_ids_of(&mut self, member: ObjectId) -> StoreResult<Vec<ObjectId>> {
        let sql = format!("SELECT group_id FROM group_members WHERE member_id = $1{}", self.lock_rows(true));
        let rows = sqlx::query(&sql).bind(id_text(member)).fetch_all(self.conn()).await.map_err(StoreError::Db)?;
        rows.iter().map(|r| r.id("group_id")).collect()
    }

    /// An approval, read (and on PostgreSQL row-locked) inside the write, so two approvers
    /// deciding different steps at once cannot overwrite each other's step.
    pub async fn approval(&mut self, id: ObjectId) -> StoreResult<Option<Approval>> {
        let sql = format!("SELECT * FROM approvals WHERE id = $1{}", self.lock_rows(false));
        let row = sqlx::query(&sql).bind(id_text(id)).fetch_optional(self.conn()).await.map_err(StoreError::Db)?;
        row.as_ref().map(decode).transpose()
    }

    pub async fn insert_approval(&mut self, a: &Approval) -> StoreResult<()> {
        let steps = records::approval_steps::encode(&a.steps)?;
        sqlx::query(
            "INSERT INTO approvals (id, request_id, requester_id, status, steps, created_at, expires_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(id_text(a.id))
        .bind(id_text(a.request_id))
        .bind(id_text(a.requester))
        .bind(status_text(a.status))
        .bind(steps)
        .bind(micros(a.created))
        .bind(micros(a.expires))
        .execute(self.conn())
        .await
        .map_err(StoreError::from_write)?;
        self.feed("approvals", a.id, "add");
        Ok(())
    }

    /// Saves a decided or progressed approval, only if it was still pending (so two approvers
    /// deciding at once, or the timeout job racing an approver, cannot both win).
    pub async fn save_pending_approval(&mut self, a: &Approval) -> StoreResult<bool> {
        let steps = records::approval_steps::encode(&a.steps)?;
        let done = sqlx::query("UPDATE approvals SET status = $2, steps = $3 WHERE id = $1 AND status = 'Pending'")
            .bind(id_text(a.id))
            .bind(status_text(a.status))
            .bind(steps)
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        let changed = done.rows_affected() > 0;
        if changed {
            self.feed("approvals", a.id, "update");
        }
        Ok(changed)
    }

    /// Is an activation request already waiting for approval for this principal, role, scope?
    pub async fn pending_activation_exists(
        &mut self,
        principal: ObjectId,
        role: ObjectId,
        scope: &str,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM schedule_requests WHERE kind = 'assignment' AND status = 'PendingApproval' \
             AND principal_id = $1 AND role_definition_id = $2 AND scope_key = $3",
        )
        .bind(id_text(principal))
        .bind(id_text(role))
        // The key of a scope is its canonical text lowercased; callers pass the canonical text.
        .bind(scope.to_ascii_lowercase())
        .fetch_optional(self.conn())
        .await
        .map_err(StoreError::Db)?;
        Ok(row.is_some())
    }

    /// Sets a request's approval id.
    pub async fn set_request_approval(&mut self, request: ObjectId, approval: ObjectId) -> StoreResult<()> {
        sqlx::query("UPDATE schedule_requests SET approval_id = $2 WHERE id = $1")
            .bind(id_text(request))
            .bind(id_text(approval))
            .execute(self.conn())
            .await
            .map_err(StoreError::Db)?;
        Ok(())
    }
}
