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
    /// E-mails go through this SMTP server.
    pub smtp: Option<SmtpConfig>,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No TLS (`smtp://host:25`): for a relay on the same host or a trusted network only.
    Plain,
    /// `smtp://host:587?tls=starttls` (or lettre's spelling, `tls=required`): STARTTLS, and the
    /// message is not sent if the server does not offer it.
    StartTls,
    /// `smtp://host:587?tls=opportunistic`: STARTTLS when offered, plain text otherwise.
    Opportunistic,
    /// `smtps://host:465`: TLS from the first byte.
    ImplicitTls,
}

/// Why an SMTP configuration was refused. Messages never contain the password.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("'{0}' is not a URL: use smtp://host:port, smtp://user@host:587?tls=starttls or smtps://user@host:465")]
    NotAUrl(String),
    #[error("'{0}': the scheme must be smtp:// or smtps://")]
    Scheme(String),
    #[error("'{0}': no host")]
    NoHost(String),
    #[error("'{url}': tls={value} is not one of starttls, required, opportunistic")]
    TlsMode { url: String, value: String },
    #[error("'{0}': smtps:// is implicit TLS already; ?tls= applies to smtp:// only")]
    TlsWithSmtps(String),
    #[error("'{url}': unknown parameter '{name}' (only tls= is understood)")]
    UnknownParameter { url: String, name: String },
    #[error("'{0}': a password is given both in the URL and in --smtp-password-file; give it once")]
    TwoPasswords(String),
    #[error("'{0}': a password without a user name: put the user in the URL (smtps://user@host)")]
    PasswordWithoutUser(String),
    #[error("'{0}': a CA file is given, but this URL does not use TLS")]
    CaWithoutTls(String),
    #[error("the CA file holds no PEM certificate")]
    EmptyCa,
    #[error("a sender address (--smtp-from) is required, like pim@example.com; got '{0}'")]
    Sender(String),
    #[error("'{url}': {reason}")]
    Transport { url: String, reason: String },
}

/// The SMTP server e-mails go through, parsed and checked once at start. The transport is built
/// here by lettre from the URL (`AsyncSmtpTransport::from_url`), so scheme, port defaults, TLS
/// mode and credentials follow lettre's reading of it; we only add the `starttls` spelling,
/// a password kept out of the URL, and a private CA.
#[derive(Clone)]
pub struct SmtpConfig {
    pub from: String,
    pub security: SmtpSecurity,
    /// Whether the client authenticates (a user name is in the URL).
    pub authenticated: bool,
    /// The URL with the password masked, for logs and errors.
    masked_url: String,
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the transport: lettre's Debug shows the credentials.
        f.debug_struct("SmtpConfig")
            .field("url", &self.masked_url)
            .field("from", &self.from)
            .field("security", &self.security)
            .field("authenticated", &self.authenticated)
            .finish()
    }
}

impl std::fmt::Display for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked_url)
    }
}

/// What `openpim serve` gives besides the URL.
#[derive(Debug, Default, Clone)]
pub struct SmtpSecrets {
    /// The password (from `--smtp-password-file`), when the URL carries only the user name.
    pub password: Option<String>,
    /// PEM certificates of a private CA the server's certificate is checked against (in addition
    /// to the public web roots).
    pub ca_pem: Option<Vec<u8>>,
}

/// `url` with its password, if any, replaced by `***`.
fn mask(url: &url::Url) -> String {
    let mut masked = url.clone();
    if masked.password().is_some() {
        let _ = masked.set_password(Some("***"));
    }
    masked.to_string()
}

impl SmtpConfig {
    /// An SMTP server from its URL alone (password, if any, in the URL; public CAs).
    pub fn parse(url: &str, from: &str) -> Result<Self, SmtpConfigError> {
        Self::new(url, from, SmtpSecrets::default())
    }

    pub fn new(raw: &str, from: &str, secrets: SmtpSecrets) -> Result<Self, SmtpConfigError> {
        use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
        use lettre::{AsyncSmtpTransport, Tokio1Executor};
        // A URL that does not parse may still hold a password: do not echo it.
        let mut url = url::Url::parse(raw).map_err(|_| {
            SmtpConfigError::NotAUrl(raw.split_once('@').map_or(raw.to_string(), |(_, host)| format!("...@{host}")))
        })?;
        let masked = mask(&url);
        let mut tls = None;
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "tls" => tls = Some(value.to_ascii_lowercase()),
                other => return Err(SmtpConfigError::UnknownParameter { url: masked, name: other.to_string() }),
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => SmtpSecurity::Plain,
            ("smtp", Some("starttls" | "required")) => SmtpSecurity::StartTls,
            ("smtp", Some("opportunistic")) => SmtpSecurity::Opportunistic,
            ("smtp", Some(value)) => return Err(SmtpConfigError::TlsMode { url: masked, value: value.to_string() }),
            ("smtps", None) => SmtpSecurity::ImplicitTls,
            ("smtps", Some(_)) => return Err(SmtpConfigError::TlsWithSmtps(masked)),
            _ => return Err(SmtpConfigError::Scheme(masked)),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| SmtpConfigError::NoHost(masked.clone()))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(SmtpConfigError::Sender(from.to_string()));
        }
        if let Some(password) = &secrets.password {
            if url.password().is_some() {
                return Err(SmtpConfigError::TwoPasswords(masked));
            }
            if url.username().is_empty() {
                return Err(SmtpConfigError::PasswordWithoutUser(masked));
            }
            url.set_password(Some(password)).map_err(|()| SmtpConfigError::NoHost(masked.clone()))?;
        } else if url.password().is_some() && url.username().is_empty() {
            return Err(SmtpConfigError::PasswordWithoutUser(masked));
        }
        // lettre spells STARTTLS-or-fail `tls=required`.
        if security == SmtpSecurity::StartTls {
            url.set_query(Some("tls=required"));
        }
        let authenticated = !url.username().is_empty();
        if authenticated && url.password().is_none() {
            // lettre only authenticates when it has a password.
            return Err(SmtpConfigError::Transport {
                url: masked,
                reason: "a user name without a password: add --smtp-password-file".into(),
            });
        }
        let transport_error = |e: lettre::transport::smtp::Error| SmtpConfigError::Transport {
            url: masked.clone(),
            reason: e.to_string(),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
            .map_err(transport_error)?
            .timeout(Some(SEND_TIMEOUT));
        if let Some(pem) = &secrets.ca_pem {
            if security == SmtpSecurity::Plain {
                return Err(SmtpConfigError::CaWithoutTls(masked));
            }
            let text = String::from_utf8_lossy(pem);
            if !text.contains("-----BEGIN CERTIFICATE-----") {
                return Err(SmtpConfigError::EmptyCa);
            }
            let parameters = TlsParameters::builder(host)
                .add_root_certificate(Certificate::from_pem(pem).map_err(transport_error)?)
                .build_rustls()
                .map_err(transport_error)?;
            builder = builder.tls(match security {
                SmtpSecurity::ImplicitTls => Tls::Wrapper(parameters),
                SmtpSecurity::StartTls => Tls::Required(parameters),
                SmtpSecurity::Opportunistic | SmtpSecurity::Plain => Tls::Opportunistic(parameters),
            });
        }
        if authenticated && matches!(security, SmtpSecurity::Plain | SmtpSecurity::Opportunistic) {
            tracing::warn!(
                url = %masked,
                "SMTP credentials may cross the network in plain text: use smtps:// or ?tls=starttls unless the relay is local"
            );
        }
        Ok(Self { from: from.to_string(), security, authenticated, masked_url: masked, transport: builder.build() })
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
    use lettre::{AsyncTransport, Message};
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
    // lettre's timeout is per socket operation, and a server that stopped answering after
    // STARTTLS kept a send waiting for many minutes in our tests: it must not hold the delivery
    // worker (and its cluster-wide lock) forever, so the whole exchange has a deadline too.
    match tokio::time::timeout(SEND_TIMEOUT * 3, smtp.transport.send(message)).await {
        Ok(sent) => sent.map(|_| ()).map_err(|e| e.to_string()),
        Err(_) => Err(format!("the SMTP server {smtp} did not finish the exchange within {:?}", SEND_TIMEOUT * 3)),
    }
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
    deliver_due(state, &state.notifications).await
}

/// Delivers what is due through the channels of `config` (the server's, except in tests that
/// change a setting between passes, as an operator restarting with a corrected one would).
pub async fn deliver_due(state: &AppState, config: &NotificationConfig) -> anyhow::Result<usize> {
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
        assert_eq!((c.security, c.authenticated), (SmtpSecurity::Plain, false));
        assert_eq!(c.to_string(), "smtp://127.0.0.1:2525");
        let c = SmtpConfig::parse("smtps://pim:s%40cret@mail.example.com", "pim@x.test").unwrap();
        assert_eq!((c.security, c.authenticated), (SmtpSecurity::ImplicitTls, true));
        for starttls in ["starttls", "required", "STARTTLS"] {
            let c =
                SmtpConfig::parse(&format!("smtp://u:p@mail.example.com:587?tls={starttls}"), "pim@x.test").unwrap();
            assert_eq!(c.security, SmtpSecurity::StartTls);
        }
        let c = SmtpConfig::parse("smtp://mail.example.com?tls=opportunistic", "pim@x.test").unwrap();
        assert_eq!(c.security, SmtpSecurity::Opportunistic);
        // Refused: other schemes, modes and parameters, no sender, a user without a password.
        for bad in [
            "http://x",
            "smtp://x?tls=maybe",
            "smtps://x?tls=required",
            "smtp://x?tsl=required",
            "smtp://u@x?tls=starttls",
            "not a url",
        ] {
            assert!(SmtpConfig::parse(bad, "pim@x.test").is_err(), "{bad}");
        }
        assert!(matches!(SmtpConfig::parse("smtp://x:1", "nobody"), Err(SmtpConfigError::Sender(_))));
    }

    #[test]
    fn the_password_never_shows() {
        let c = SmtpConfig::parse("smtps://pim:hunter2@mail.example.com", "pim@x.test").unwrap();
        for shown in [
            format!("{c}"),
            format!("{c:?}"),
            format!("{:?}", NotificationConfig { webhook_url: None, smtp: Some(c.clone()) }),
        ] {
            assert!(!shown.contains("hunter2") && shown.contains("mail.example.com"), "{shown}");
        }
        let e = SmtpConfig::parse("smtps://pim:hunter2@mail.example.com?tls=x", "pim@x.test").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = SmtpConfig::parse("smtps://pim:hunter2@", "pim@x.test").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn a_password_file_and_a_private_ca() {
        let secrets = |password: Option<&str>, ca: Option<&[u8]>| SmtpSecrets {
            password: password.map(str::to_string),
            ca_pem: ca.map(<[u8]>::to_vec),
        };
        let c =
            SmtpConfig::new("smtp://pim@mail.example.com:587?tls=starttls", "pim@x.test", secrets(Some("pw"), None))
                .unwrap();
        assert!(c.authenticated && !format!("{c:?}").contains("pw@"));
        let twice = SmtpConfig::new("smtp://pim:a@mail.example.com", "pim@x.test", secrets(Some("b"), None));
        assert!(matches!(twice, Err(SmtpConfigError::TwoPasswords(_))));
        let nobody = SmtpConfig::new("smtps://mail.example.com", "pim@x.test", secrets(Some("b"), None));
        assert!(matches!(nobody, Err(SmtpConfigError::PasswordWithoutUser(_))));
        let plain_ca = SmtpConfig::new("smtp://mail.example.com", "pim@x.test", secrets(None, Some(b"x")));
        assert!(matches!(plain_ca, Err(SmtpConfigError::CaWithoutTls(_))));
        let empty_ca = SmtpConfig::new("smtps://mail.example.com", "pim@x.test", secrets(None, Some(b"nothing")));
        assert!(matches!(empty_ca, Err(SmtpConfigError::EmptyCa)));
    }
}
