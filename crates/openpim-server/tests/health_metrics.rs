//! `/healthz` and `/metrics`: HTTP counters, access modes, and the domain's metrics (see
//! docs/OPERATIONS.md, "Metrics") moved by real actions.
//!
//! The metrics recorder is process-wide, so the tests of this binary run one at a time
//! ([`serial`]): a test asserting that a counter moved by exactly one must not see another
//! test's server move it.

mod common;
#[path = "pim/mod.rs"]
mod pim;

use common::*;
use reqwest::{Method, StatusCode};
use std::collections::{BTreeMap, HashMap};

/// Held for the whole of each test of this binary.
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

#[tokio::test]
async fn healthz_needs_no_token() {
    let _serial = serial().await;
    let ts = TestServer::start().await;
    let r = ts.client.send(ts.client.request(Method::GET, "/healthz", None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "ok");
    assert!(uuid::Uuid::parse_str(r.body["tenantId"].as_str().unwrap()).is_ok(), "{}", r.body);
    ts.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let _serial = serial().await;
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    let user = ts.create_user("metered@openpim.test").await;
    assert_eq!(ts.client.get("/v1.0/users", &admin).await.0, StatusCode::OK);
    assert_eq!(ts.client.get(&format!("/v1.0/users/{user}"), &admin).await.0, StatusCode::OK);

    let resp = ts.client.http.get(ts.client.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let line = |route: &str, method: &str, status: &str| {
        text.lines().find(|l| {
            l.starts_with("http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("method=\"{method}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    let list = line("/v1.0/users", "GET", "200").unwrap_or_else(|| panic!("no users list counter in:\n{text}"));
    let n: f64 = list.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1.0, "{list}");
    // Routes are labelled by template, not by concrete id.
    assert!(line("/v1.0/users/{id}", "GET", "200").is_some(), "{text}");
    assert!(!text.contains(&user), "ids must not become label values");
    assert!(line("/v1.0/users", "POST", "201").is_some(), "{text}");
    assert!(text.contains("http_request_duration_seconds"), "{text}");
    ts.stop().await;
}

/// The `http_requests_total` series in a `/metrics` text.
fn request_series(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("http_requests_total{")).collect()
}

#[tokio::test]
async fn metrics_are_served_to_loopback_clients_only_by_default() {
    let _serial = serial().await;
    let ts = TestServer::start().await;
    let direct = ts.client.http.get(ts.client.url("/metrics")).send().await.unwrap();
    assert_eq!(direct.status(), StatusCode::OK, "a direct loopback client may scrape");
    assert!(direct.text().await.unwrap().contains("http_requests_total"));
    // Through a proxy on the same host every client would look local: proxied requests are refused.
    for header in ["X-Forwarded-For", "Forwarded"] {
        let proxied =
            ts.client.send(ts.client.request(Method::GET, "/metrics", None).header(header, "for=203.0.113.9")).await;
        assert_graph_error(proxied.status, &proxied.body, 403, "Authorization_RequestDenied");
    }
    ts.stop().await;
}

#[tokio::test]
async fn metrics_with_token_access_need_a_reader_role() {
    let _serial = serial().await;
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new().await;
    let server = openpim_server::start(openpim_server::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: database.url.clone(),
        bootstrap_admin: ADMIN_UPN.to_string(),
        public_url: None,
        approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
        notifications: Default::default(),
        metrics_access: openpim_server::metrics::MetricsAccess::Token,
        tls: None,
        oidc_issuers: Vec::new(),
        local_issuer: true,
        audit_checkpoint_interval: openpim_server::DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
    })
    .await
    .unwrap();
    let client = Client::new(&format!("http://{}", server.addr));
    let mint = |upn: &str| {
        common::mint_for_upn(
            &server,
            upn,
            true,
            &[],
            time::OffsetDateTime::now_utc(),
            std::time::Duration::from_secs(600),
        )
    };
    let admin = mint(ADMIN_UPN);
    let create = |upn: &'static str| {
        let (client, admin) = (client.clone(), admin.clone());
        async move {
            let (status, body) = client
                .post("/v1.0/users", &admin, serde_json::json!({"userPrincipalName": upn, "displayName": upn}))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["id"].as_str().unwrap().to_string()
        }
    };
    let reader = create("reader@openpim.test").await;
    create("plain@openpim.test").await;
    let (status, body) = client
        .post(
            &format!("{RM}/roleAssignments"),
            &admin,
            serde_json::json!({"principalId": reader, "roleDefinitionId": GLOBAL_READER, "directoryScopeId": "/"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let anonymous = client.send(client.request(Method::GET, "/metrics", None)).await;
    assert_graph_error(anonymous.status, &anonymous.body, 401, "InvalidAuthenticationToken");
    let plain = client.send(client.request(Method::GET, "/metrics", Some(&mint("plain@openpim.test")))).await;
    assert_graph_error(plain.status, &plain.body, 403, "Authorization_RequestDenied");
    let resp = client.http.get(client.url("/metrics")).bearer_auth(mint("reader@openpim.test")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("http_requests_total"));
    server.stop().await.unwrap();
    database.drop().await;
}

#[tokio::test]
async fn made_up_methods_and_paths_do_not_grow_the_metrics() {
    let _serial = serial().await;
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    // Every label value a client can influence is seen once first, so the baseline has them.
    assert_eq!(ts.client.get("/v1.0/nothing-here", &admin).await.0, StatusCode::NOT_FOUND);
    let warm = Method::from_bytes(b"WARMUP").unwrap();
    ts.client.send(ts.client.request(warm, "/v1.0/users", Some(&admin))).await;
    let scrape = || async { ts.client.http.get(ts.client.url("/metrics")).send().await.unwrap().text().await.unwrap() };
    let before = request_series(&scrape().await).len();

    for i in 0..400 {
        let method = Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let path = if i % 2 == 0 { format!("/v1.0/users/{i}") } else { format!("/made/up/path{i}") };
        let r = ts.client.http.request(method, ts.client.url(&path)).bearer_auth(&admin).send().await.unwrap();
        assert!(r.status().is_client_error(), "{path}: {}", r.status());
        let r = ts.client.http.get(ts.client.url(&format!("/made/up/{i}"))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }

    let text = scrape().await;
    let after = request_series(&text);
    assert!(!text.contains("MADEUP"), "made-up methods became label values");
    assert!(!text.contains("/made/up"), "made-up paths became label values");
    assert!(after.iter().any(|l| l.contains("method=\"other\"")), "unknown methods are counted as other");
    // A few new (route, status) pairs at most (other tests in this binary add some), never one
    // per request.
    assert!(after.len() <= before + 40, "{before} series before, {} after:\n{}", after.len(), after.join("\n"));
    ts.stop().await;
}

// ------------------------------------------------------------------ the domain's metrics

/// One parsed `/metrics` text (the Prometheus text exposition format, version 0.0.4).
struct Exposition {
    text: String,
    samples: Vec<Sample>,
}

struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Exposition {
    /// Parses `text`, checking that it is well formed: every sample belongs to a family declared
    /// by a `# TYPE` line before it (histograms and summaries through their `_bucket`, `_sum`
    /// and `_count` series), labels are `name="value"` pairs, values are numbers.
    fn parse(text: String) -> Self {
        let mut types: HashMap<String, String> = HashMap::new();
        let mut samples = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("bad TYPE line: {line}"));
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "unknown type in: {line}"
                );
                assert!(types.insert(name.to_string(), kind.to_string()).is_none(), "{name} declared twice");
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let sample = parse_sample(line);
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    let base = sample.name.strip_suffix(suffix)?;
                    matches!(types.get(base).map(String::as_str), Some("histogram" | "summary")).then_some(base)
                })
                .unwrap_or(&sample.name);
            assert!(types.contains_key(family), "sample without a # TYPE line: {line}");
            samples.push(sample);
        }
        Self { text, samples }
    }

    /// The sum of the samples named `name` having every label in `labels` (0 when none).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v)))
            .map(|s| s.value)
            .sum()
    }

    /// Whether any sample is named `name`.
    fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.name == name)
    }

    /// The values label `label` takes on samples whose name starts with `prefix`.
    fn label_values(&self, prefix: &str, label: &str) -> std::collections::BTreeSet<String> {
        self.samples
            .iter()
            .filter(|s| s.name.starts_with(prefix))
            .filter_map(|s| s.labels.get(label).cloned())
            .collect()
    }
}

fn parse_sample(line: &str) -> Sample {
    let (head, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in: {line}")),
    };
    let Some((name, rest)) = head.split_once('{') else {
        return Sample { name: head.to_string(), labels: BTreeMap::new(), value };
    };
    let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"));
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert!(
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad label name in: {line}"
        );
        assert_eq!(chars.next(), Some('"'), "unquoted label value in: {line}");
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => value.push(chars.next().unwrap_or_else(|| panic!("bad escape in: {line}"))),
                Some('"') => break,
                Some(c) => value.push(c),
                None => panic!("unterminated label value in: {line}"),
            }
        }
        labels.insert(key, value);
        match chars.next() {
            Some(',') | None => {}
            Some(c) => panic!("unexpected '{c}' in: {line}"),
        }
    }
    assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "bad name: {line}");
    Sample { name: name.to_string(), labels, value }
}

async fn scrape_at(client: &Client) -> Exposition {
    let resp = client.http.get(client.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    Exposition::parse(resp.text().await.unwrap())
}

/// Scrapes until `metric{labels}` is `before + delta`, then checks it is exactly that. Background
/// loops (notification delivery, tidy-up) may be the ones to act, a moment later than the
/// request that made the work; the wait is only a bound for a failing test, never a measurement.
async fn moved_by(client: &Client, before: &Exposition, metric: &str, labels: &[(&str, &str)], delta: f64) {
    let target = before.value(metric, labels) + delta;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let now = scrape_at(client).await.value(metric, labels);
        if now >= target || std::time::Instant::now() > deadline {
            assert_eq!(now, target, "{metric}{labels:?} should have moved by exactly {delta}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The label values every OpenPIM metric may carry (docs/OPERATIONS.md lists the same sets).
fn assert_bounded_labels(m: &Exposition) {
    let allowed: &[(&str, &[&str])] = &[
        ("world", &["directory", "azure"]),
        (
            "kind",
            &[
                "activation",
                "deactivation",
                "eligibility",
                "assignment",
                "approval",
                "expiry",
                "lifecycle",
                "cancellation",
                "policy",
                "role_definition",
                "directory",
                "other",
            ],
        ),
        ("result", &["success", "failure", "gave_up"]),
        ("outcome", &["approved", "denied", "timed_out"]),
        (
            "transition",
            &[
                "schedule_started",
                "assignment_expired",
                "eligibility_expired",
                "approval_timed_out",
                "request_provisioned",
            ],
        ),
        ("channel", &["webhook", "email"]),
        (
            "reason",
            &[
                "missing",
                "malformed",
                "expired",
                "lifetime_too_long",
                "bad_signature",
                "wrong_issuer",
                "wrong_audience",
                "alg_not_allowed",
                "unknown_key",
                "issuer_unreachable",
                "issuer_disabled",
                "unknown_user",
                "sign_in_mismatch",
            ],
        ),
        ("source", &["assigned", "activated"]),
        ("loop", &["tidyUp", "notifications", "changeFeedFollower", "auditCheckpoints", "pimAlerts"]),
    ];
    for (label, values) in allowed {
        for v in m.label_values("openpim_", label) {
            assert!(values.contains(&v.as_str()), "label {label}=\"{v}\" is not in the documented set");
        }
    }
    // Per-role series: the built-in privileged roles only (Microsoft's catalog), never more.
    let roles = m.label_values("openpim_active_privileged_assignments", "role");
    assert!((20..=40).contains(&roles.len()), "{roles:?}");
    assert!(roles.contains("Global Administrator") && !roles.contains("Directory Readers"), "{roles:?}");
}

/// The outcome rule of User Administrator at the tenant requiring approval by `approver`.
async fn require_approval(pim: &pim::Pim, approver: &str) {
    let rows = pim
        .list(
            &format!(
                "/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' \
                 and roleDefinitionId eq '{USER_ADMINISTRATOR}'"
            ),
            &pim.admin_token(),
        )
        .await;
    let policy = rows[0]["policyId"].as_str().unwrap();
    let (status, body) = pim
        .client
        .patch(
            &format!("/v1.0/policies/roleManagementPolicies/{policy}/rules/Approval_EndUser_Assignment"),
            &pim.admin_token(),
            pim::approval_rule(vec![pim::single_user(approver)]),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// Files a selfActivate of User Administrator that waits for approval; returns (approval, step).
async fn pending_activation(pim: &pim::Pim, who: &str, token: &str, approver_token: &str) -> (String, String) {
    let (status, body) = pim.activate(token, who, USER_ADMINISTRATOR, "PT2H").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "PendingApproval", "{body}");
    let approval = body["approvalId"].as_str().unwrap().to_string();
    let (status, a) = pim
        .client
        .get(&format!("/v1.0/roleManagement/directory/roleAssignmentApprovals/{approval}"), approver_token)
        .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    (approval, a["steps"][0]["id"].as_str().unwrap().to_string())
}

async fn decide(pim: &pim::Pim, token: &str, (approval, step): &(String, String), result: &str) {
    let (status, body) = pim
        .client
        .patch(
            &format!("/v1.0/roleManagement/directory/roleAssignmentApprovals/{approval}/steps/{step}"),
            token,
            serde_json::json!({"reviewResult": result, "justification": "reviewed"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

const CHANGES: &str = "openpim_audited_changes_total";
const DECISIONS: &str = "openpim_approval_decisions_total";
const TRANSITIONS: &str = "openpim_tidy_transitions_total";
const DELIVERIES: &str = "openpim_notification_deliveries_total";
const PRIVILEGED: &str = "openpim_active_privileged_assignments";

fn dir(kind: &'static str, result: &'static str) -> [(&'static str, &'static str); 3] {
    [("world", "directory"), ("kind", kind), ("result", result)]
}

/// Activations, eligibilities, approvals (approved, denied, timed out), refusals, expiries and
/// failed webhook deliveries, each moving its metric by exactly what it did, with the gauges
/// read from state at each scrape. On SQLite, and on PostgreSQL with OPENPIM_TEST_POSTGRES_URL.
#[tokio::test]
async fn domain_events_move_their_metrics_by_exactly_what_happened() {
    let _serial = serial().await;
    // A webhook nobody listens on: every delivery fails.
    let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let pim = pim::Pim::start_with(openpim_server::notify::NotificationConfig {
        webhook_url: Some(format!("http://127.0.0.1:{port}/hook")),
        smtp: None,
    })
    .await;
    let c = &pim.client;
    let (bob, bob_t) = pim.user("bob").await;
    let (alice, alice_t) = pim.user("alice").await;
    let (carol, carol_t) = pim.user("carol").await;
    let (dave, dave_t) = pim.user("dave").await;
    let (eve, eve_t) = pim.user("eve").await;
    let m0 = scrape_at(c).await;
    assert_eq!(m0.value(PRIVILEGED, &[("role", "Helpdesk Administrator")]), 0.0);
    assert_eq!(m0.value(PRIVILEGED, &[("role", "Global Administrator"), ("source", "assigned")]), 1.0, "the admin");
    assert_eq!(m0.value("openpim_pending_approvals", &[]), 0.0);

    // Eligibilities, an activation, and an activation refused (eve is not eligible).
    pim.make_eligible(&bob, HELPDESK_ADMINISTRATOR).await;
    for who in [&bob, &carol, &dave] {
        pim.make_eligible(who, USER_ADMINISTRATOR).await;
    }
    pim.activate_ok(&bob_t, &bob, HELPDESK_ADMINISTRATOR, "PT1H").await;
    let (status, body) = pim.activate(&eve_t, &eve, HELPDESK_ADMINISTRATOR, "PT1H").await;
    assert!(status.is_client_error(), "{status}: {body}");
    let m1 = scrape_at(c).await;
    let delta = |m: &Exposition, name: &str, labels: &[(&str, &str)]| m.value(name, labels) - m0.value(name, labels);
    assert_eq!(delta(&m1, CHANGES, &dir("eligibility", "success")), 4.0);
    assert_eq!(delta(&m1, CHANGES, &dir("activation", "success")), 1.0);
    assert_eq!(delta(&m1, CHANGES, &dir("activation", "failure")), 1.0);
    assert_eq!(delta(&m1, CHANGES, &[("world", "azure")]), 0.0);
    assert_eq!(m1.value(PRIVILEGED, &[("role", "Helpdesk Administrator"), ("source", "activated")]), 1.0);
    assert_eq!(m1.value(PRIVILEGED, &[("role", "Helpdesk Administrator"), ("source", "assigned")]), 0.0);
    assert_eq!(delta(&m1, "openpim_index_grants", &[]), 1.0, "bob's activation");
    assert_eq!(delta(&m1, "openpim_index_principals", &[]), 1.0, "bob holds a role now");

    // Approvals: one approved, one denied, one left to time out.
    require_approval(&pim, &alice).await;
    let approved = pending_activation(&pim, &bob, &bob_t, &alice_t).await;
    let denied = pending_activation(&pim, &carol, &carol_t, &alice_t).await;
    let _waiting = pending_activation(&pim, &dave, &dave_t, &alice_t).await;
    assert_eq!(scrape_at(c).await.value("openpim_pending_approvals", &[]), 3.0);
    decide(&pim, &alice_t, &approved, "Approve").await;
    decide(&pim, &alice_t, &denied, "Deny").await;
    let m2 = scrape_at(c).await;
    assert_eq!(m2.value("openpim_pending_approvals", &[]), 1.0);
    assert_eq!(delta(&m2, CHANGES, &dir("policy", "success")), 1.0);
    assert_eq!(delta(&m2, DECISIONS, &[("world", "directory"), ("outcome", "approved")]), 1.0);
    assert_eq!(delta(&m2, DECISIONS, &[("world", "directory"), ("outcome", "denied")]), 1.0);
    assert_eq!(delta(&m2, DECISIONS, &[("outcome", "timed_out")]), 0.0);
    assert_eq!(delta(&m2, CHANGES, &dir("approval", "success")), 2.0);
    assert_eq!(m2.value(PRIVILEGED, &[("role", "User Administrator"), ("source", "activated")]), 1.0, "bob's");

    // Every item queued so far fails once (the webhook is down; the next try is 5 s later on
    // the server's clock, which stands still): the delivery loop counts each failure once.
    let queued = pim.server.state.store.outbox_count("pending").await.unwrap() as f64;
    assert!(queued >= 6.0, "eligibilities, activations, approval requests: {queued}");
    pim.server.state.loops.poke(openpim_server::supervise::NOTIFICATIONS);
    moved_by(c, &m0, DELIVERIES, &[("channel", "webhook"), ("result", "failure")], queued).await;
    pim.advance(time::Duration::seconds(3));
    let m3 = scrape_at(c).await;
    assert_eq!(delta(&m3, DELIVERIES, &[("result", "success")]), 0.0);
    assert_eq!(m3.value("openpim_notification_outbox_depth", &[]), queued);
    assert_eq!(m3.value("openpim_notification_outbox_oldest_age_seconds", &[]), 3.0, "queued at T0");

    // A day later: the undecided approval timed out, both activations expired.
    pim.advance(time::Duration::hours(25));
    openpim_server::jobs::tidy_once(&pim.server.state).await.unwrap();
    moved_by(c, &m0, TRANSITIONS, &[("transition", "approval_timed_out")], 1.0).await;
    moved_by(c, &m0, TRANSITIONS, &[("transition", "assignment_expired")], 2.0).await;
    let m4 = scrape_at(c).await;
    assert_eq!(delta(&m4, TRANSITIONS, &[("transition", "eligibility_expired")]), 0.0, "permanent");
    assert_eq!(delta(&m4, DECISIONS, &[("world", "directory"), ("outcome", "timed_out")]), 1.0);
    assert_eq!(delta(&m4, CHANGES, &dir("expiry", "success")), 2.0);
    assert_eq!(m4.value("openpim_pending_approvals", &[]), 0.0);
    assert_eq!(m4.value(PRIVILEGED, &[("source", "activated")]), 0.0, "nothing activated is left");

    // Every audited change is one writer of one write group: the group sizes add up to them.
    let changes = delta(&m4, CHANGES, &[]);
    assert_eq!(delta(&m4, "openpim_write_group_size_sum", &[]), changes);
    assert!(delta(&m4, "openpim_write_group_size_count", &[]) >= 1.0);
    assert_eq!(
        delta(&m4, "openpim_write_commit_seconds_count", &[]),
        delta(&m4, "openpim_write_group_size_count", &[]),
        "one commit latency per group"
    );
    assert_eq!(m4.value("openpim_loop_healthy", &[("loop", "tidyUp")]), 1.0);
    assert_eq!(m4.value("openpim_loop_healthy", &[("loop", "notifications")]), 1.0);
    let postgres = std::env::var("OPENPIM_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty());
    assert_eq!(m4.has("openpim_follower_lag_entries"), postgres, "follower lag on PostgreSQL only");

    // Nothing a client sent became a label value.
    assert_bounded_labels(&m4);
    for secret in [&bob, &alice, &carol, &dave, &eve] {
        assert!(!m4.text.contains(secret.as_str()), "an id became a label value");
    }
    assert!(!m4.text.contains("INC-4711") && !m4.text.contains("@openpim.test"), "request text in labels");
    pim.stop().await;
}

/// A JWT with `claims` and a made-up signature (only its shape matters here).
fn unsigned_jwt(claims: serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.c2lnbmF0dXJl", b64(&serde_json::json!({"alg": "ES256", "typ": "JWT"})), b64(&claims))
}

/// Each refused token moves `openpim_token_rejections_total` by one under its reason, and the
/// issuer a forged token claims does not become a label value.
#[tokio::test]
async fn refused_tokens_are_counted_by_reason() {
    let _serial = serial().await;
    let ts = TestServer::start().await;
    let before = scrape_at(&ts.client).await;
    let call = |token: Option<String>| {
        let client = ts.client.clone();
        async move {
            let r = client.send(client.request(Method::GET, "/v1.0/me", token.as_deref())).await;
            assert_graph_error(r.status, &r.body, 401, "InvalidAuthenticationToken");
        }
    };
    let now = time::OffsetDateTime::now_utc();
    let good = ts.admin_token();
    let other = ts.mint(ADMIN_UPN, now - time::Duration::seconds(30), std::time::Duration::from_secs(600));
    // Another token's signature on this token's header and claims.
    let (signed, _) = good.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{}", other.rsplit_once('.').unwrap().1);
    let expired = ts.mint(ADMIN_UPN, now - time::Duration::hours(3), std::time::Duration::from_secs(3600));
    let foreign = unsigned_jwt(serde_json::json!({"iss": "https://evil.example/issuer-xyz", "sub": "x"}));

    call(None).await;
    call(Some("not-a-jwt".into())).await;
    call(Some(forged.clone())).await;
    call(Some(forged)).await;
    call(Some(expired)).await;
    call(Some(foreign)).await;
    let m = scrape_at(&ts.client).await;
    let moved = |reason: &str| {
        let labels = [("reason", reason)];
        m.value("openpim_token_rejections_total", &labels) - before.value("openpim_token_rejections_total", &labels)
    };
    assert_eq!(moved("missing"), 1.0);
    assert_eq!(moved("malformed"), 1.0);
    assert_eq!(moved("bad_signature"), 2.0, "a refused token is verified (and counted) each time");
    assert_eq!(moved("expired"), 1.0);
    assert_eq!(moved("wrong_issuer"), 1.0);
    assert_eq!(moved("unknown_user"), 0.0);
    assert!(!m.text.contains("evil.example"), "a token's claims became a label value");
    assert_bounded_labels(&m);
    // A good token is not counted.
    assert_eq!(ts.client.get("/v1.0/me", &good).await.0, StatusCode::OK);
    let after = scrape_at(&ts.client).await;
    assert_eq!(after.value("openpim_token_rejections_total", &[]), m.value("openpim_token_rejections_total", &[]));
    ts.stop().await;
}

/// Azure changes count in the `azure` world: elevate access and an Owner assignment through
/// ARM (two assignments), the subscription registered (the hierarchy), and a refused ARM
/// assignment by a user without rights.
#[tokio::test]
async fn azure_changes_count_in_the_azure_world() {
    let _serial = serial().await;
    let ts = TestServer::start().await;
    let plain = ts.create_user("plain-arm@openpim.test").await;
    let before = scrape_at(&ts.client).await;
    let sub = "00000000-0000-0000-0000-00000000a001";
    common::arm::admin_owns_subscription(&ts, &[sub], &[]).await;
    let token = common::arm::arm_token_for(&ts, "plain-arm@openpim.test");
    let path = format!(
        "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{}?{}",
        uuid::Uuid::new_v4(),
        common::arm::AUTHORIZATION_VERSION
    );
    let body = serde_json::json!({"properties": {
        "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{}", common::arm::OWNER_ROLE),
        "principalId": plain,
    }});
    let refused = common::arm::arm(&ts, Method::PUT, &path, Some(&token), Some(&body)).await;
    common::arm::assert_arm_error(&refused, 403, "AuthorizationFailed");

    let m = scrape_at(&ts.client).await;
    let moved = |labels: &[(&str, &str)]| m.value(CHANGES, labels) - before.value(CHANGES, labels);
    assert_eq!(moved(&[("world", "azure"), ("kind", "assignment"), ("result", "success")]), 2.0);
    assert_eq!(moved(&[("world", "azure"), ("kind", "assignment"), ("result", "failure")]), 1.0);
    assert_eq!(moved(&[("world", "azure"), ("kind", "directory"), ("result", "success")]), 1.0, "registered");
    assert_eq!(moved(&[("world", "directory")]), 0.0);
    assert_bounded_labels(&m);
    assert!(!m.text.contains(sub), "a scope became a label value");
    ts.stop().await;
}

/// `audit_checkpoint_interval` (`--audit-checkpoint-interval`) paces the checkpoint loop: a
/// record added after the start-up checkpoint is covered by a new one within a few intervals
/// (at the 5-minute default it would not be, in this test's time).
#[tokio::test]
async fn audit_checkpoints_follow_the_configured_interval() {
    let _serial = serial().await;
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new().await;
    let server = openpim_server::start(openpim_server::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: database.url.clone(),
        bootstrap_admin: ADMIN_UPN.to_string(),
        public_url: None,
        approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
        notifications: Default::default(),
        metrics_access: Default::default(),
        tls: None,
        oidc_issuers: Vec::new(),
        local_issuer: true,
        audit_checkpoint_interval: std::time::Duration::from_millis(200),
    })
    .await
    .unwrap();
    let client = Client::new(&format!("http://{}", server.addr));
    let admin = common::mint_for_upn(
        &server,
        ADMIN_UPN,
        true,
        &[],
        time::OffsetDateTime::now_utc(),
        std::time::Duration::from_secs(600),
    );
    let newest = || {
        let (client, admin) = (client.clone(), admin.clone());
        async move {
            let (status, body) =
                client.get("/v1.0/openpim/auditChain/checkpoints?$orderby=seq desc&$top=1", &admin).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["value"][0]["seq"].as_i64().unwrap_or(0)
        }
    };
    let (status, body) = client
        .post("/v1.0/users", &admin, serde_json::json!({"userPrincipalName": "paced@openpim.test", "displayName": "p"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, audits) = client
        .get(
            "/v1.0/auditLogs/directoryAudits?$select=id,openpim_chainSeq&$orderby=openpim_chainSeq desc&$top=1",
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{audits}");
    let head = audits["value"][0]["openpim_chainSeq"].as_i64().expect("the newest record's chain place");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while newest().await < head {
        assert!(std::time::Instant::now() < deadline, "no checkpoint covered seq {head} within 20 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.stop().await.unwrap();
}
