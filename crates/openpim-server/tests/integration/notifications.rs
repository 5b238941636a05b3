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
