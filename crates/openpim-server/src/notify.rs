//! Notifications: on the events Entra notifies about, queue a webhook call and/or an e-mail in
//! the outbox (in the same transaction as the change), and deliver them with retries.
//! Disabled unless a webhook URL or an SMTP server is configured.

use crate::error::ApiResult;
use crate::state::AppState;
use crate::wire::datetime;
use openpim_core::catalog::{GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR};
pub use openpim_core::notify::Event;
use openpim_core::notify::{self, DefaultRecipients};
use openpim_core::scope::Scope;
use openpim_core::ObjectId;
use openpim_store::outbox::OutboxItem;
use openpim_store::WriteTx;
use serde_json::{json, Value};
use std::time::Duration;

/// Where notifications go. Both channels are optional; with neither, nothing is queued.
#[derive(Debug, Clone, Default)]
pub struct NotificationConfig {
    /// Every event is POSTed here as JSON.
    pub webhook_url: Option<String>,
    /// E-mails go through this SMTP server (plain SMTP, for a local relay).
    pub smtp: Option<SmtpConfig>,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub from: String,
}

impl SmtpConfig {
    /// Parses `smtp://host:port`.
    pub fn parse(url: &str, from: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("smtp://").ok_or_else(|| format!("'{url}': use smtp://host:port"))?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| format!("'{url}': bad port"))?),
            None => (rest.to_string(), 25),
        };
        if host.is_empty() || !from.contains('@') {
            return Err("an SMTP host and a sender address (--smtp-from) are required".into());
        }
        Ok(Self { host, port, from: from.to_string() })
    }
}

impl NotificationConfig {
    pub fn enabled(&self) -> bool {
        self.webhook_url.is_some() || self.smtp.is_some()
    }
}

/// What happened, for the payload and for finding recipients.
pub struct Announcement {
    pub event: Event,
    pub request_id: Option<ObjectId>,
    pub principal_id: ObjectId,
    pub role_definition_id: ObjectId,
    pub scope: Scope,
    /// Whose role settings (notification rules included) apply: the scope the request's rules
    /// were read at (`pim::requests::policy_scope`), above `scope` for an activation below its
    /// eligibility.
    pub policy_scope: Scope,
    pub justification: Option<String>,
    /// Users or groups that approve (for `ApprovalRequired`).
    pub approvers: Vec<ObjectId>,
}

/// Queues `a` on the configured channels inside `tx`.
pub async fn enqueue(state: &AppState, tx: &mut WriteTx<'_>, a: &Announcement) -> ApiResult<()> {
    let config = &state.notifications;
    if !config.enabled() {
        return Ok(());
    }
    let now = state.now();
    // Read through the write's own connection: taking a pool connection while holding the
    // writer lock can starve the writer (and everyone queued behind it) of connections.
    let rules = tx.policy_rules_at(a.role_definition_id, &a.policy_scope).await?.unwrap_or_default();
    let defaults = DefaultRecipients {
        admins: tx.addresses_of_role_holders(&[GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR], now).await?,
        requestor: tx.addresses_of(&[a.principal_id]).await?,
        approvers: tx.addresses_of(&a.approvers).await?,
    };
    let recipients = notify::recipients(&rules, a.event, &defaults);
    let role_name = state.index().role(&a.role_definition_id).map(|r| r.display_name.clone());
    let payload = json!({
        "event": a.event.as_str(),
        "occurredDateTime": datetime(now),
        "requestId": a.request_id,
        "principalId": a.principal_id,
        "roleDefinitionId": a.role_definition_id,
        "roleDisplayName": role_name,
        "directoryScopeId": a.scope.to_string(),
        "justification": a.justification,
        "recipients": recipients,
    })
    .to_string();
    if config.webhook_url.is_some() {
        tx.enqueue_notification("webhook", a.event.as_str(), &payload, &recipients, now).await?;
    }
    if config.smtp.is_some() && !recipients.is_empty() {
        tx.enqueue_notification("email", a.event.as_str(), &payload, &recipients, now).await?;
    }
    Ok(())
}

const BATCH: u32 = 100;
const MAX_ATTEMPTS: i64 = 12;
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Exponential backoff: 5 s, 10 s, 20 s, ... capped at 15 minutes.
fn backoff(attempts: i64) -> time::Duration {
    let secs = 5i64.saturating_mul(1i64 << attempts.clamp(0, 20)).min(15 * 60);
    time::Duration::seconds(secs)
}

async fn send_webhook(client: &reqwest::Client, url: &str, item: &OutboxItem) -> Result<(), String> {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-openpim-event", &item.event)
        .header("x-openpim-delivery", item.id.to_string())
        .body(item.payload.clone())
        .send()
        .await
        // Without the URL: webhook URLs often hold a secret (Slack's, Teams'), and this error is
        // logged and kept in the outbox.
        .map_err(|e| e.without_url().to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("webhook answered {}", resp.status()))
    }
}

async fn send_email(smtp: &SmtpConfig, item: &OutboxItem) -> Result<(), String> {
    use lettre::message::Mailbox;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let payload: Value = serde_json::from_str(&item.payload).map_err(|e| e.to_string())?;
    let event = notify_event(&item.event);
    let role = payload["roleDisplayName"].as_str().unwrap_or("a role");
    let subject = format!("OpenPIM: {} ({role})", event.map_or("Notification", Event::subject));
    let body = format!(
        "{}\n\nRole: {role}\nScope: {}\nPrincipal: {}\nRequest: {}\nJustification: {}\nWhen: {}\n",
        event.map_or("An OpenPIM event occurred.", Event::subject),
        payload["directoryScopeId"].as_str().unwrap_or("/"),
        payload["principalId"].as_str().unwrap_or(""),
        payload["requestId"].as_str().unwrap_or("-"),
        payload["justification"].as_str().unwrap_or("-"),
        payload["occurredDateTime"].as_str().unwrap_or(""),
    );
    let from: Mailbox = smtp.from.parse().map_err(|e| format!("sender: {e}"))?;
    let mut builder = Message::builder().from(from).subject(subject);
    for r in &item.recipients {
        builder = builder.to(r.parse::<Mailbox>().map_err(|e| format!("recipient '{r}': {e}"))?);
    }
    let message = builder.body(body).map_err(|e| e.to_string())?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        .timeout(Some(SEND_TIMEOUT))
        .build();
    transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
}

fn notify_event(name: &str) -> Option<Event> {
    use Event::*;
    [EligibilityAssigned, AssignmentAssigned, Activated, ApprovalRequired, ActivationApproved, ActivationDenied]
        .into_iter()
        .find(|e| e.as_str() == name)
}

/// Counter: delivery attempts, by `channel` (`webhook`, `email`) and `result` (`success`,
/// `failure`: will be retried, `gave_up`: the last attempt failed and the item is dropped).
pub const DELIVERIES: &str = "openpim_notification_deliveries_total";

/// Delivers what is due; returns how many were delivered.
pub async fn deliver_once(state: &AppState) -> anyhow::Result<usize> {
    let config = &state.notifications;
    let client = reqwest::Client::builder().timeout(SEND_TIMEOUT).build()?;
    let now = state.now();
    let mut delivered = 0;
    for item in state.store.outbox_due(now, BATCH).await? {
        let result = match (item.channel.as_str(), &config.webhook_url, &config.smtp) {
            ("webhook", Some(url), _) => send_webhook(&client, url, &item).await,
            ("email", _, Some(smtp)) => send_email(smtp, &item).await,
            (channel, _, _) => Err(format!("channel '{channel}' is no longer configured")),
        };
        // The channel label is bounded: an item's channel is one this server queues.
        let channel = if item.channel == "email" { "email" } else { "webhook" };
        match result {
            Ok(()) => {
                state.store.outbox_sent(item.id, state.now()).await?;
                metrics::counter!(DELIVERIES, "channel" => channel, "result" => "success").increment(1);
                delivered += 1;
            }
            Err(error) => {
                let give_up = item.attempts + 1 >= MAX_ATTEMPTS;
                let result = if give_up { "gave_up" } else { "failure" };
                metrics::counter!(DELIVERIES, "channel" => channel, "result" => result).increment(1);
                tracing::warn!(id = %item.id, channel = %item.channel, %error, give_up, "notification delivery failed");
                state
                    .store
                    .outbox_failed_attempt(item.id, &error, state.now() + backoff(item.attempts), give_up)
                    .await?;
            }
        }
    }
    Ok(delivered)
}

/// How often the delivery worker looks for due notifications.
pub const POLL: Duration = Duration::from_secs(2);

pub async fn run(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    if !state.notifications.enabled() {
        return;
    }
    use crate::supervise::NOTIFICATIONS;
    let mut tick = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = state.loops.poked(NOTIFICATIONS) => {}
            _ = stop.changed() => break,
        }
        state.loops.pass_starts(NOTIFICATIONS);
        // One node delivers at a time, so a receiver never gets the same item twice.
        match crate::jobs::locked(&state, crate::jobs::NOTIFY_LOCK, deliver_once(&state)).await {
            Ok(_) => state.loops.pass_succeeded(NOTIFICATIONS),
            Err(e) => tracing::warn!(error = %e, "notification pass failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), time::Duration::seconds(5));
        assert_eq!(backoff(1), time::Duration::seconds(10));
        assert_eq!(backoff(30), time::Duration::minutes(15));
    }

    #[test]
    fn smtp_urls() {
        let c = SmtpConfig::parse("smtp://127.0.0.1:2525", "pim@x.test").unwrap();
        assert_eq!((c.host.as_str(), c.port), ("127.0.0.1", 2525));
        assert_eq!(SmtpConfig::parse("smtp://relay", "pim@x.test").unwrap().port, 25);
        assert!(SmtpConfig::parse("http://x", "pim@x.test").is_err());
        assert!(SmtpConfig::parse("smtp://x:1", "nobody").is_err());
    }
}
