//! The notification outbox.

use crate::codec::{id_text, micros, RowExt};
use crate::{records, Store, StoreError, StoreResult, WriteTx};
use openpim_core::{Instant, ObjectId};

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: ObjectId,
    /// `webhook` or `email`.
    pub channel: String,
    pub event: String,
    /// The JSON document delivered (the webhook body; the e-mail is rendered from it).
    pub payload: String,
    pub recipients: Vec<String>,
    pub attempts: i64,
    pub created: Instant,
}

impl Store {
    /// Pending items whose next attempt is due.
    pub async fn outbox_due(&self, now: Instant, limit: u32) -> StoreResult<Vec<OutboxItem>> {
        let sql = format!(
            "SELECT * FROM notification_outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at LIMIT {limit}"
        );
        let rows = sqlx::query(&sql).bind(micros(now)).fetch_all(self.pool()).await.map_err(StoreError::Db)?;
        rows.iter()
            .map(|r| {
                Ok(OutboxItem {
                    id: r.id("id")?,
                    channel: r.text("channel")?,
                    event: r.text("event")?,
                    payload: r.text("payload")?,
                    recipients: records::string_list::decode(&r.text("recipients")?)?,
                    attempts: r.int("attempts")?,
                    created: r.time("created_at")?,
                })
            })
            .collect()
    }

    /// Counts items by status (`pending`, `sent`, `failed`), for tests and metrics.
    pub async fn outbox_count(&self, status: &str) -> StoreResult<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM notification_outbox WHERE status = $1")
            .bind(status.to_string())
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::Db)?;
        Ok(row.int("n")? as u64)
    }

    /// The undelivered backlog: how many items are pending and when the oldest was queued
    /// (for metrics: reads only the pending rows, through the `(status, ...)` index).
    pub async fn outbox_backlog(&self) -> StoreResult<(u64, Option<Instant>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM notification_outbox WHERE status = 'pending'",
        )
        .fetch_one(self.pool())
        .await
        .map_err(StoreError::Db)?;
        Ok((row.int("n")?.max(0) as u64, row.opt_time("oldest")?))
    }

    /// Records a successful delivery (only once, even if two workers raced).
    pub async fn outbox_sent(&self, id: ObjectId, now: Instant) -> StoreResult<()> {
        sqlx::query(
            "UPDATE notification_outbox SET status = 'sent', sent_at = $2 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id_text(id))
        .bind(micros(now))
        .execute(self.pool())
        .await
        .map_err(StoreError::Db)?;
        Ok(())
    }

    /// Records a failed attempt: retry at `next` or, when `give_up`, mark it failed for good.
    pub async fn outbox_failed_attempt(
        &self,
        id: ObjectId,
        error: &str,
        next: Instant,
        give_up: bool,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE notification_outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3, \
             status = CASE WHEN $4 = 1 THEN 'failed' ELSE status END WHERE id = $1 AND status = 'pending'",
        )
        .bind(id_text(id))
        .bind(micros(next))
        .bind(error.chars().take(500).collect::<String>())
        .bind(i64::from(give_up))
        .execute(self.pool())
        .await
        .map_err(StoreError::Db)?;
        Ok(())
    }
}

impl WriteTx<'_> {
    /// E-mail addresses (mail, else UPN) of enabled users holding any of `roles` at `now`,
    /// directly. Read inside the write that queues the notification: a writer never takes a
    /// second pool connection while it holds the writer lock.
    pub async fn addresses_of_role_holders(&mut self, roles: &[ObjectId], now: Instant) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for role in roles {
            let rows = sqlx::query(
                "SELECT u.mail, u.user_principal_name FROM role_assignments a JOIN users u ON u.id = a.principal_id \
                 WHERE a.role_definition_id = $1 AND a.status <> 'Expired' AND a.start_at <= $2 \
                 AND (a.end_at IS NULL OR a.end_at > $2) AND u.account_enabled = 1",
            )
            .bind(id_text(*role))
            .bind(micros(now))
            .fetch_all(self.conn())
            .await
            .map_err(StoreError::Db)?;
            for r in &rows {
                out.push(r.opt_text("mail")?.unwrap_or(r.text("user_principal_name")?));
            }
        }
        Ok(out)
    }

    /// E-mail addresses of users (mail, else UPN); group ids expand to their user members.
    pub async fn addresses_of(&mut self, ids: &[ObjectId]) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for id in ids {
            let rows = sqlx::query(
                "SELECT mail, user_principal_name FROM users WHERE id = $1 \
                 UNION ALL SELECT u.mail, u.user_principal_name FROM group_members m JOIN users u ON u.id = m.member_id \
                 WHERE m.group_id = $1",
            )
            .bind(id_text(*id))
            .fetch_all(self.conn())
            .await
            .map_err(StoreError::Db)?;
            for r in &rows {
                out.push(r.opt_text("mail")?.unwrap_or(r.text("user_principal_name")?));
            }
        }
        Ok(out)
    }

    /// Queues a notification with the change that causes it.
    pub async fn enqueue_notification(
        &mut self,
        channel: &str,
        event: &str,
        payload: &str,
        recipients: &[String],
        now: Instant,
    ) -> StoreResult<()> {
        let recipients = records::string_list::encode(recipients)?;
        sqlx::query(
            "INSERT INTO notification_outbox (id, channel, event, payload, recipients, status, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
        )
        .bind(id_text(ObjectId::new_v4()))
        .bind(channel.to_string())
        .bind(event.to_string())
        .bind(payload.to_string())
        .bind(recipients)
        .bind(micros(now))
        .execute(self.conn())
        .await
        .map_err(StoreError::Db)?;
        Ok(())
    }
}
