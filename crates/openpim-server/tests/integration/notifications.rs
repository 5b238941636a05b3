//! Notifications: webhook and e-mail deliveries through the outbox, to a local webhook receiver
//! and a local SMTP sink, including delivery after a receiver that was down comes back.

use crate::common;

use axum::routing::post;
use common::{Client, ADMIN_UPN, RM, USER_ADMINISTRATOR};
use openpim_server::notify::{NotificationConfig, SmtpConfig};
use openpim_server::state::Clock;
use openpim_server::{RunningServer, ServerConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone)]
struct FakeClock(Arc<Mutex<time::OffsetDateTime>>);

impl Clock for FakeClock {
    fn now(&self) -> time::OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

impl FakeClock {
    fn advance(&self, d: time::Duration) {
        *self.0.lock().unwrap() += d;
    }
}

/// Webhook bodies received, in order.
type Received = Arc<Mutex<Vec<Value>>>;

async fn start_webhook_receiver(listener: TcpListener) -> Received {
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                StatusCode::NO_CONTENT
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    received
}

/// A minimal SMTP sink: accepts every message and keeps (recipients, data).
type Mails = Arc<Mutex<Vec<(Vec<String>, String)>>>;

async fn start_smtp_sink() -> (SocketAddr, Mails) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mails: Mails = Arc::default();
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let (mut rcpts, mut data, mut in_data) = (Vec::new(), String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().unwrap().push((std::mem::take(&mut rcpts), std::mem::take(&mut data)));
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        rcpts.push(line[8..].trim().trim_matches(|c| c == '<' || c == '>').to_string());
                        b"250 ok\r\n"
                    } else if upper.starts_with("DATA") {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (addr, mails)
}

struct Setup {
    server: RunningServer,
    client: Client,
    clock: FakeClock,
    database: common::TestDatabase,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn stop(self) {
        self.server.stop().await.unwrap();
        self.database.drop().await;
    }
}

async fn start(notifications: NotificationConfig) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let database = common::TestDatabase::new().await;
    let clock = FakeClock(Arc::new(Mutex::new(time::macros::datetime!(2026-06-01 09:00 UTC))));
    let server = openpim_server::start_with_clock(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            database_url: database.url.clone(),
            bootstrap_admin: ADMIN_UPN.into(),
            public_url: None,
            approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
            notifications,
            metrics_access: Default::default(),
            tls: None,
            oidc_issuers: Vec::new(),
            local_issuer: true,
            audit_checkpoint_interval: openpim_server::DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
        },
        Box::new(clock.clone()),
    )
    .await
    .unwrap();
    let client = Client::new(&format!("http://{}", server.addr));
    Setup { server, client, clock, database, _dir: dir }
}

fn token(s: &Setup, upn: &str) -> String {
    common::mint_for_upn(&s.server, upn, true, &[], time::OffsetDateTime::now_utc(), Duration::from_secs(3600))
}

/// Creates bob (with a mail address), makes him eligible, and has him activate. Returns bob's id.
async fn eligible_then_activate(s: &Setup) -> String {
    let admin = token(s, ADMIN_UPN);
    let (st, bob) = s
        .client
        .post(
            "/v1.0/users",
            &admin,
            json!({"userPrincipalName": "bob@openpim.test", "displayName": "Bob", "mail": "bob@mail.test"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{bob}");
    let bob_id = bob["id"].as_str().unwrap().to_string();
    let request = |action: &str, exp: Value| {
        json!({"action": action, "principalId": bob_id, "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": "/",
               "justification": "on call", "scheduleInfo": {"expiration": exp}})
    };
    let (st, body) = s
        .client
        .post(
            &format!("{RM}/roleEligibilityScheduleRequests"),
            &admin,
            request("adminAssign", json!({"type": "noExpiration"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    let (st, body) = s
        .client
        .post(
            &format!("{RM}/roleAssignmentScheduleRequests"),
            &token(s, "bob@openpim.test"),
            request("selfActivate", json!({"type": "afterDuration", "duration": "PT1H"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    bob_id
}

#[tokio::test]
async fn nothing_is_queued_when_notifications_are_off() {
    let s = start(NotificationConfig::default()).await;
    eligible_then_activate(&s).await;
    for status in ["pending", "sent", "failed"] {
        assert_eq!(s.server.state.store.outbox_count(status).await.unwrap(), 0);
    }
    s.stop().await;
}

#[tokio::test]
async fn webhook_deliveries_survive_a_receiver_outage() {
    // Reserve a port, then close it: the receiver is "down" until we listen there again.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let s = start(NotificationConfig { webhook_url: Some(format!("http://127.0.0.1:{port}/hook")), smtp: None }).await;
    let bob = eligible_then_activate(&s).await;
    let store = &s.server.state.store;
    assert_eq!(store.outbox_count("pending").await.unwrap(), 2, "eligibility + activation queued");

    assert_eq!(openpim_server::notify::deliver_once(&s.server.state).await.unwrap(), 0, "receiver down");
    assert_eq!(store.outbox_count("pending").await.unwrap(), 2, "kept for a retry");
    // Not due again until the backoff has passed.
    let received = start_webhook_receiver(TcpListener::bind(("127.0.0.1", port)).await.unwrap()).await;
    assert_eq!(openpim_server::notify::deliver_once(&s.server.state).await.unwrap(), 0, "backing off");
    s.clock.advance(time::Duration::seconds(6));
    assert_eq!(openpim_server::notify::deliver_once(&s.server.state).await.unwrap(), 2);
    assert_eq!(store.outbox_count("sent").await.unwrap(), 2);
    assert_eq!(store.outbox_count("pending").await.unwrap(), 0);

    let got = received.lock().unwrap().clone();
    let events: Vec<&str> = got.iter().map(|b| b["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["eligibilityAssigned", "activated"]);
    let activated = &got[1];
    assert_eq!(activated["principalId"], bob.as_str());
    assert_eq!(activated["roleDefinitionId"], USER_ADMINISTRATOR);
    assert_eq!(activated["roleDisplayName"], "User Administrator");
    assert_eq!(activated["justification"], "on call");
    let recipients: Vec<&str> =
        activated["recipients"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(recipients.contains(&"bob@mail.test"), "requestor notified: {recipients:?}");
    assert!(recipients.contains(&ADMIN_UPN), "admins notified: {recipients:?}");
    // Delivered once: another pass sends nothing new.
    assert_eq!(openpim_server::notify::deliver_once(&s.server.state).await.unwrap(), 0);
    assert_eq!(received.lock().unwrap().len(), 2);
    s.stop().await;
}

#[tokio::test]
async fn emails_reach_the_smtp_sink_and_respect_the_notification_rules() {
    let (addr, mails) = start_smtp_sink().await;
    let smtp = SmtpConfig::parse(&format!("smtp://{addr}"), "pim@openpim.test").unwrap();
    let s = start(NotificationConfig { webhook_url: None, smtp: Some(smtp) }).await;
    // Silence admin notifications for activations of User Administrator.
    let admin = token(&s, ADMIN_UPN);
    let filter = format!(
        "/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{USER_ADMINISTRATOR}'"
    );
    let (st, body) = s.client.get(&filter, &admin).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let policy = body["value"][0]["policyId"].as_str().unwrap().to_string();
    let (st, body) = s
        .client
        .patch(
            &format!("/v1.0/policies/roleManagementPolicies/{policy}/rules/Notification_Admin_EndUser_Assignment"),
            &admin,
            json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyNotificationRule",
                   "id": "Notification_Admin_EndUser_Assignment", "notificationType": "Email", "recipientType": "Admin",
                   "notificationLevel": "None", "isDefaultRecipientsEnabled": true, "notificationRecipients": []}),
        )
        .await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{body}");

    eligible_then_activate(&s).await;
    assert_eq!(openpim_server::notify::deliver_once(&s.server.state).await.unwrap(), 2);
    let got = mails.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let (eligibility_rcpts, eligibility_mail) = &got[0];
    assert!(
        eligibility_rcpts.contains(&"bob@mail.test".to_string()) && eligibility_rcpts.contains(&ADMIN_UPN.to_string())
    );
    assert!(eligibility_mail.contains("You are eligible for a role"), "{eligibility_mail}");
    let (activation_rcpts, activation_mail) = &got[1];
    assert_eq!(activation_rcpts, &vec!["bob@mail.test".to_string()], "admins silenced for activations");
    assert!(activation_mail.contains("User Administrator"), "{activation_mail}");
    s.stop().await;
}

/// A real SMTP server (Python's aiosmtpd, tests/smtp_tls/server.py) that requires TLS and
/// authentication, started for one test; scripts/test-smtp-tls.sh provides its virtualenv and a
/// test CA through OPENPIM_TEST_SMTP_PYTHON and OPENPIM_TEST_SMTP_CERTS.
struct TlsSmtpServer {
    _child: tokio::process::Child,
    port: u16,
    out: std::path::PathBuf,
    ca_pem: Vec<u8>,
    _dir: tempfile::TempDir,
}

const SMTP_USER: &str = "pim";
const SMTP_PASSWORD: &str = "s3cret pass";

impl TlsSmtpServer {
    /// None (and a loud note) when the environment lacks the Python server.
    async fn start(mode: &str) -> Option<Self> {
        let (Ok(python), Ok(certs)) =
            (std::env::var("OPENPIM_TEST_SMTP_PYTHON"), std::env::var("OPENPIM_TEST_SMTP_CERTS"))
        else {
            eprintln!(
                "SKIPPED: e-mail over TLS needs OPENPIM_TEST_SMTP_PYTHON and OPENPIM_TEST_SMTP_CERTS; \
                 run scripts/test-smtp-tls.sh"
            );
            return None;
        };
        let certs = std::path::Path::new(&certs);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("messages.jsonl");
        let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/smtp_tls/server.py");
        let mut child = tokio::process::Command::new(python)
            .arg(script)
            .args(["--mode", mode, "--port", &port.to_string(), "--user", SMTP_USER, "--password", SMTP_PASSWORD])
            .arg("--cert")
            .arg(certs.join("server.pem"))
            .arg("--key")
            .arg(certs.join("server-key.pem"))
            .arg("--out")
            .arg(&out)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the SMTP test server starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        assert!(
            matches!(&ready, Ok(Ok(Some(line))) if line == "READY"),
            "the SMTP test server did not start: {ready:?}"
        );
        let ca_pem = std::fs::read(certs.join("ca.pem")).unwrap();
        Some(Self { _child: child, port, out, ca_pem, _dir: dir })
    }

    /// What the server accepted, as it saw each session.
    fn received(&self) -> Vec<Value> {
        match std::fs::read_to_string(&self.out) {
            Ok(text) => text.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => panic!("{e}"),
        }
    }

    fn config(&self, url: &str, password: &str) -> SmtpConfig {
        let secrets = openpim_server::notify::SmtpSecrets {
            password: Some(password.to_string()),
            ca_pem: Some(self.ca_pem.clone()),
        };
        SmtpConfig::new(&url.replace("PORT", &self.port.to_string()), "pim@openpim.test", secrets).unwrap()
    }
}

/// Notifications reach an SMTP server that requires TLS and AUTH (`url`); with a wrong password
/// (and, for STARTTLS, without TLS) delivery fails, is kept and retried, and nothing is lost once
/// the setting is right.
async fn emails_over_tls(mode: &str, url: &str, security: openpim_server::notify::SmtpSecurity) {
    let Some(smtp) = TlsSmtpServer::start(mode).await else { return };
    let wrong = smtp.config(url, "not the password");
    assert_eq!(wrong.security, security);
    assert!(!format!("{wrong:?}").contains("not the password"));
    let s = start(NotificationConfig { webhook_url: None, smtp: Some(wrong) }).await;
    eligible_then_activate(&s).await;
    let store = &s.server.state.store;
    assert_eq!(store.outbox_count("pending").await.unwrap(), 2);

    // Refused by the server: nothing delivered, both kept for a retry.
    assert_eq!(openpim_server::notify::deliver_once(&s.server.state).await.unwrap(), 0);
    assert_eq!(store.outbox_count("pending").await.unwrap(), 2);
    assert_eq!(store.outbox_count("failed").await.unwrap(), 0);
    assert!(smtp.received().is_empty());
    if mode == "starttls" {
        // Without TLS the server refuses to go on (it requires STARTTLS first).
        let plain = SmtpConfig::new(
            &format!("smtp://{SMTP_USER}@127.0.0.1:{}", smtp.port),
            "pim@openpim.test",
            openpim_server::notify::SmtpSecrets { password: Some(SMTP_PASSWORD.into()), ca_pem: None },
        )
        .unwrap();
        // Past any backoff (the server's own worker may have retried meanwhile, with the same
        // wrong password).
        s.clock.advance(time::Duration::hours(1));
        let config = NotificationConfig { webhook_url: None, smtp: Some(plain) };
        assert_eq!(openpim_server::notify::deliver_due(&s.server.state, &config).await.unwrap(), 0);
        assert!(smtp.received().is_empty());
    }
    s.clock.advance(time::Duration::hours(1));
    let due = store.outbox_due(s.server.state.now(), 10).await.unwrap();
    assert_eq!(due.len(), 2, "both due again");
    assert!(due.iter().all(|i| i.attempts >= 1), "the failed attempts are counted: {due:?}");

    // The right password (an operator's restart with the fixed setting): both arrive.
    let right = NotificationConfig { webhook_url: None, smtp: Some(smtp.config(url, SMTP_PASSWORD)) };
    assert_eq!(openpim_server::notify::deliver_due(&s.server.state, &right).await.unwrap(), 2);
    assert_eq!(store.outbox_count("sent").await.unwrap(), 2);
    assert_eq!(store.outbox_count("pending").await.unwrap(), 0);
    let got = smtp.received();
    assert_eq!(got.len(), 2, "{got:?}");
    for message in &got {
        // The server's own view of each session.
        assert_eq!(message["tls"], true, "{message}");
        assert_eq!(message["starttls"], mode == "starttls", "{message}");
        assert_eq!(message["authenticated"], true, "{message}");
        assert_eq!(message["user"], SMTP_USER, "{message}");
        assert_eq!(message["from"], "pim@openpim.test");
        assert!(message["rcpts"].as_array().unwrap().contains(&json!("bob@mail.test")), "{message}");
    }
    assert!(got[0]["data"].as_str().unwrap().contains("You are eligible for a role"), "{}", got[0]);
    assert!(got[1]["data"].as_str().unwrap().contains("User Administrator"), "{}", got[1]);
    s.stop().await;
}

#[tokio::test]
async fn emails_go_over_starttls_with_authentication() {
    emails_over_tls(
        "starttls",
        "smtp://pim@127.0.0.1:PORT?tls=starttls",
        openpim_server::notify::SmtpSecurity::StartTls,
    )
    .await;
}

#[tokio::test]
async fn emails_go_over_implicit_tls_with_authentication() {
    emails_over_tls("implicit", "smtps://pim@127.0.0.1:PORT", openpim_server::notify::SmtpSecurity::ImplicitTls).await;
}
