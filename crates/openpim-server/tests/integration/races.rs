//! Check-then-act races and the one write path under load (issues #12, #13, #23): every fact
//! that decides a write is read inside the write, concurrent read-modify-writes keep both
//! changes, refused and denied attempts are all audited without stalling anyone, and extreme
//! instants are a 400, not a panic.

use crate::common;
use crate::pim;

use common::{assert_graph_error, USER_ADMINISTRATOR};
use pim::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant as StdInstant};
use time::Duration;

const POLICIES: &str = "/v1.0/policies/roleManagementPolicies";
const POLICY_ASSIGNMENTS: &str = "/v1.0/policies/roleManagementPolicyAssignments";

/// A tiny deterministic generator (xorshift), so a failing interleaving can be replayed by seed.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A short pause of 0..`max_us` microseconds, to shift one side of a race against the other.
    fn pause(&mut self, max_us: u64) -> StdDuration {
        StdDuration::from_micros(self.next() % max_us)
    }
}

/// Every item of a collection, following next links.
async fn list_all(pim: &Pim, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(path.to_string());
    while let Some(url) = next {
        let (status, body) = pim.client.get(&url, &pim.admin_token()).await;
        assert_eq!(status, StatusCode::OK, "GET {url}: {body}");
        items.extend(body["value"].as_array().unwrap_or_else(|| panic!("not a collection: {body}")).iter().cloned());
        next = body["@odata.nextLink"].as_str().map(str::to_string);
    }
    items
}

async fn is_member(pim: &Pim, group: &str, member: &str) -> bool {
    let rows = list_all(pim, &format!("/v1.0/groups/{group}/members")).await;
    rows.iter().any(|m| m["id"] == member)
}

// ---------------------------------------------------------------- item 1: facts inside the write

/// Random interleavings of "remove a member from a role-assignable group" and "that member
/// activates the group's eligibility": whatever the order, a non-member never holds the role.
/// Before the facts were read inside the write, most interleavings left the ex-member active.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_removed_while_activating_through_the_group_never_keeps_the_role() {
    const ROUNDS: u64 = 40;
    let pim = Arc::new(Pim::start().await);
    let group = pim.group("Helpdesk admins", true).await;
    pim.make_eligible(&group, USER_ADMINISTRATOR).await;
    let mut seed = Seeded(0x9e37_79b9_7f4a_7c15);
    for round in 0..ROUNDS {
        let (user, token) = pim.user(&format!("racer{round}")).await;
        pim.add_member(&group, &user).await;
        let (remove_delay, activate_delay) = (seed.pause(3_000), seed.pause(3_000));
        let remover = {
            let (pim, group, user) = (pim.clone(), group.clone(), user.clone());
            tokio::spawn(async move {
                tokio::time::sleep(remove_delay).await;
                pim.client.delete(&format!("/v1.0/groups/{group}/members/{user}/$ref"), &pim.admin_token()).await
            })
        };
        let activator = {
            let (pim, user, token) = (pim.clone(), user.clone(), token.clone());
            tokio::spawn(async move {
                tokio::time::sleep(activate_delay).await;
                pim.activate(&token, &user, USER_ADMINISTRATOR, "PT1H").await
            })
        };
        let (removed, body) = remover.await.expect("remover finishes");
        assert_eq!(removed, StatusCode::NO_CONTENT, "round {round}: {body}");
        let (activated, body) = activator.await.expect("activator finishes");
        assert!(
            activated == StatusCode::CREATED || activated == StatusCode::BAD_REQUEST,
            "round {round}: {activated} {body}"
        );
        if activated == StatusCode::BAD_REQUEST {
            assert_graph_error(activated, &body, 400, "RoleAssignmentDoesNotExist");
        }
        assert!(!is_member(&pim, &group, &user).await, "round {round}: the removal took effect");
        let held = pim.rows_of(ASSIGNMENT_INSTANCES, &user).await;
        assert!(held.is_empty(), "round {round} (seeded): a non-member holds the role: {held:?}");
        assert!(!pim.allowed(&token, CREATE_USERS).await, "round {round}: a non-member can act with the role");
    }
    Arc::try_unwrap(pim).ok().expect("no task holds the server").stop().await;
}

/// Concurrent HTTP: many members activate through the group while the admin removes half of
/// them; afterwards exactly the members who stayed may hold the role.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_removals_and_activations_leave_only_members_active() {
    const MEMBERS: usize = 16;
    let pim = Arc::new(Pim::start().await);
    let group = pim.group("Rotating admins", true).await;
    pim.make_eligible(&group, USER_ADMINISTRATOR).await;
    let mut users = Vec::new();
    for i in 0..MEMBERS {
        let (id, token) = pim.user(&format!("member{i}")).await;
        pim.add_member(&group, &id).await;
        users.push((id, token));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(MEMBERS + MEMBERS / 2));
    let mut tasks = Vec::new();
    for (i, (id, token)) in users.iter().enumerate() {
        {
            let (pim, id, token, barrier) = (pim.clone(), id.clone(), token.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                pim.activate(&token, &id, USER_ADMINISTRATOR, "PT1H").await
            }));
        }
        if i % 2 == 0 {
            let (pim, group, id, barrier) = (pim.clone(), group.clone(), id.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                pim.client.delete(&format!("/v1.0/groups/{group}/members/{id}/$ref"), &pim.admin_token()).await
            }));
        }
    }
    for t in tasks {
        let (status, body) = t.await.expect("task finishes");
        assert!(!status.is_server_error(), "{status} {body}");
    }
    for (i, (id, _)) in users.iter().enumerate() {
        let member = is_member(&pim, &group, id).await;
        assert_eq!(member, i % 2 == 1, "member{i}");
        let held = pim.rows_of(ASSIGNMENT_INSTANCES, id).await;
        if !member {
            assert!(held.is_empty(), "member{i} left the group but holds the role: {held:?}");
        }
    }
    Arc::try_unwrap(pim).ok().expect("no task holds the server").stop().await;
}

// ---------------------------------------------------------------- item 5: one write path for refusals

/// Forbidden, refused and valid traffic at once, bounded to 32 requests in flight: no 5xx, no
/// request waits more than 10 s (a stall bound, not a benchmark), and every denied or refused
/// attempt reaches the audit log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_beside_valid_writes_are_all_audited_and_nothing_stalls() {
    let pim = Arc::new(Pim::start().await);
    mixed_traffic(pim.clone()).await;
    Arc::try_unwrap(pim).ok().expect("no task holds the server").stop().await;
}

/// The same mix with notifications on: every activation then also queues notifications inside
/// its write (reading the recipients), which once took a second pool connection while holding
/// the writer and let only a fraction of the activations finish beside forbidden traffic.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_notifications_on_refusals_still_neither_stall_nor_go_unaudited() {
    // Deliveries go nowhere (a closed port): only queueing them is under test here.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let notifications = openpim_server::notify::NotificationConfig {
        webhook_url: Some(format!("http://127.0.0.1:{port}/hook")),
        smtp: None,
    };
    let pim = Arc::new(Pim::start_with(notifications).await);
    mixed_traffic(pim.clone()).await;
    let queued = pim.server.state.store.outbox_count("pending").await.unwrap();
    assert!(queued >= 40, "each valid activation queued its notifications ({queued} queued)");
    Arc::try_unwrap(pim).ok().expect("no task holds the server").stop().await;
}

/// Forbidden, refused and valid requests interleaved, at most 32 in flight; see the tests above.
async fn mixed_traffic(pim: Arc<Pim>) {
    const FORBIDDEN: usize = 160;
    const REFUSED: usize = 80;
    const VALID: usize = 40;
    const STALL_BOUND: StdDuration = StdDuration::from_secs(10);
    // Mallory has no role: creating users is forbidden (403, audited as a denial).
    let (mallory, mallory_token) = pim.user("mallory").await;
    // Eve is not eligible: activating is refused (400, audited as a failure).
    let (eve, eve_token) = pim.user("eve").await;
    let mut valid = Vec::new();
    for i in 0..VALID {
        let (id, token) = pim.user(&format!("valid{i}")).await;
        pim.make_eligible(&id, USER_ADMINISTRATOR).await;
        valid.push((id, token));
    }
    let in_flight = Arc::new(tokio::sync::Semaphore::new(32));
    let mut tasks = Vec::new();
    let mut spawn = |kind: &'static str, i: usize| {
        let (pim, in_flight) = (pim.clone(), in_flight.clone());
        let (mallory_token, eve, eve_token) = (mallory_token.clone(), eve.clone(), eve_token.clone());
        let valid = valid.get(i).cloned();
        tasks.push(tokio::spawn(async move {
            let _slot = in_flight.acquire().await.expect("semaphore open");
            let started = StdInstant::now();
            let (status, body) = match kind {
                "forbidden" => {
                    pim.client
                        .post(
                            "/v1.0/users",
                            &mallory_token,
                            json!({"userPrincipalName": format!("x{i}@openpim.test"), "displayName": "x",
                                   "accountEnabled": true}),
                        )
                        .await
                }
                "refused" => pim.activate(&eve_token, &eve, USER_ADMINISTRATOR, "PT1H").await,
                _ => {
                    let (id, token) = valid.expect("a valid user");
                    pim.activate(&token, &id, USER_ADMINISTRATOR, "PT1H").await
                }
            };
            (kind, status, body, started.elapsed())
        }));
    };
    // Interleave the kinds so each kind meets the others.
    for i in 0..FORBIDDEN {
        spawn("forbidden", i);
        if i % 2 == 0 && i / 2 < REFUSED {
            spawn("refused", i / 2);
        }
        if i % 4 == 0 && i / 4 < VALID {
            spawn("valid", i / 4);
        }
    }
    for t in tasks {
        let (kind, status, body, took) = t.await.expect("task finishes");
        assert!(!status.is_server_error(), "{kind}: {status} {body}");
        assert!(took < STALL_BOUND, "{kind} took {took:?}");
        match kind {
            "forbidden" => assert_graph_error(status, &body, 403, "Authorization_RequestDenied"),
            "refused" => assert_graph_error(status, &body, 400, "RoleAssignmentDoesNotExist"),
            _ => assert_eq!(status, StatusCode::CREATED, "{body}"),
        }
    }
    let audits = list_all(&pim, "/v1.0/auditLogs/directoryAudits?$top=999").await;
    let failures_by =
        |who: &str| audits.iter().filter(|a| a["initiatedBy"]["user"]["id"] == who && a["result"] == "failure").count();
    assert_eq!(failures_by(&mallory), FORBIDDEN, "every denied attempt is audited");
    assert_eq!(failures_by(&eve), REFUSED, "every refused attempt is audited");
    for (id, _) in &valid {
        assert_eq!(pim.rows_of(ASSIGNMENT_INSTANCES, id).await.len(), 1, "{id} activated");
    }
}

// ---------------------------------------------------------------- item 6: extreme instants

#[tokio::test]
async fn a_start_at_the_end_of_the_calendar_is_a_400_not_a_panic() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    let end_of_time = json!({"startDateTime": "9999-12-31T23:59:59Z",
                             "expiration": {"type": "afterDuration", "duration": "PT1H"}});
    let (status, body) = pim
        .assignment_request(&token, request("selfActivate", &alice, USER_ADMINISTRATOR, Some(end_of_time.clone())))
        .await;
    assert_graph_error(status, &body, 400, "InvalidRoleAssignmentRequestSchedule");
    let (bob, _) = pim.user("bob").await;
    let (status, body) = pim
        .eligibility_request(&pim.admin_token(), request("adminAssign", &bob, USER_ADMINISTRATOR, Some(end_of_time)))
        .await;
    assert_graph_error(status, &body, 400, "InvalidRoleAssignmentRequestSchedule");
    // Nothing was created, and the server still answers.
    assert!(pim.rows_of(ELIGIBILITY_SCHEDULES, &bob).await.is_empty());
    assert!(pim.rows_of(ASSIGNMENT_SCHEDULES, &alice).await.is_empty());
    pim.stop().await;
}

// ---------------------------------------------------------------- item 2: policy PATCH lost updates

async fn policy_id(pim: &Pim, role: &str) -> String {
    let path = format!(
        "{POLICY_ASSIGNMENTS}?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole' and roleDefinitionId eq '{role}'"
    );
    let rows = pim.list(&path, &pim.admin_token()).await;
    rows[0]["policyId"].as_str().expect("policyId").to_string()
}

fn rule_target(caller: &str, level: &str) -> Value {
    json!({"@odata.type": "microsoft.graph.unifiedRoleManagementPolicyRuleTarget", "caller": caller,
           "operations": ["All"], "level": level, "inheritableSettings": [], "enforcedSettings": []})
}

/// Two admins PATCH different rules of one policy at once, round after round: both changes stick.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_different_rules_both_stick() {
    let pim = Arc::new(Pim::start().await);
    let policy = policy_id(&pim, USER_ADMINISTRATOR).await;
    let rule_url = |rule: &str| format!("{POLICIES}/{policy}/rules/{rule}");
    for round in 1..=12u32 {
        let max = format!("PT{}H", round % 8 + 1);
        let enabled: &[&str] = if round % 2 == 0 { &["Justification"] } else { &["Justification", "Ticketing"] };
        let expiration = json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
            "id": "Expiration_EndUser_Assignment", "isExpirationRequired": true, "maximumDuration": max,
            "target": rule_target("EndUser", "Assignment")});
        let enablement = json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
            "id": "Enablement_EndUser_Assignment", "enabledRules": enabled,
            "target": rule_target("EndUser", "Assignment")});
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = Vec::new();
        for (rule, body) in
            [("Expiration_EndUser_Assignment", expiration), ("Enablement_EndUser_Assignment", enablement)]
        {
            let (pim, url, barrier) = (pim.clone(), rule_url(rule), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                pim.client.patch(&url, &pim.admin_token(), body).await
            }));
        }
        for t in tasks {
            let (status, body) = t.await.expect("task finishes");
            assert_eq!(status, StatusCode::NO_CONTENT, "round {round}: {body}");
        }
        let (_, exp) = pim.client.get(&rule_url("Expiration_EndUser_Assignment"), &pim.admin_token()).await;
        let (_, ena) = pim.client.get(&rule_url("Enablement_EndUser_Assignment"), &pim.admin_token()).await;
        assert_eq!(exp["maximumDuration"], max, "round {round}: the expiration change was lost: {exp}");
        assert_eq!(ena["enabledRules"], json!(enabled), "round {round}: the enablement change was lost: {ena}");
    }
    Arc::try_unwrap(pim).ok().expect("no task holds the server").stop().await;
}

// ---------------------------------------------------------------- item 3: users PATCH

/// Two PATCHes of different properties of one user at once: both stick.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_user_patches_of_different_properties_both_stick() {
    let pim = Arc::new(Pim::start().await);
    let (carol, _) = pim.user("carol").await;
    for round in 0..20 {
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = Vec::new();
        for body in [json!({"displayName": format!("Carol {round}")}), json!({"jobTitle": format!("Title {round}")})] {
            let (pim, carol, barrier) = (pim.clone(), carol.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                pim.client.patch(&format!("/v1.0/users/{carol}"), &pim.admin_token(), body).await
            }));
        }
        for t in tasks {
            let (status, body) = t.await.expect("task finishes");
            assert_eq!(status, StatusCode::NO_CONTENT, "round {round}: {body}");
        }
        let (_, user) = pim.client.get(&format!("/v1.0/users/{carol}"), &pim.admin_token()).await;
        assert_eq!(user["displayName"], format!("Carol {round}"), "round {round}: {user}");
        assert_eq!(user["jobTitle"], format!("Title {round}"), "round {round}: {user}");
    }
    Arc::try_unwrap(pim).ok().expect("no task holds the server").stop().await;
}

// ---------------------------------------------------------------- item 4: shortened eligibility

/// `adminUpdate` that ends an eligibility sooner cuts the activation made from it to the new
/// end, as `adminRemove` revokes it: nobody stays active past their eligibility.
#[tokio::test]
async fn shortening_an_eligibility_cuts_its_activation() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    pim.activate_ok(&token, &alice, USER_ADMINISTRATOR, "PT8H").await;
    let new_end = pim.now() + Duration::hours(1);
    let (status, body) = pim
        .eligibility_request(
            &pim.admin_token(),
            request("adminUpdate", &alice, USER_ADMINISTRATOR, Some(until(new_end))),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let active = pim.rows_of(ASSIGNMENT_SCHEDULES, &alice).await;
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(at(&active[0]["scheduleInfo"]["expiration"]["endDateTime"]), new_end, "{active:?}");
    assert!(pim.allowed(&token, CREATE_USERS).await, "still active until the new end");
    pim.advance(Duration::hours(1));
    assert!(!pim.allowed(&token, CREATE_USERS).await, "not one second past the eligibility's end");
    pim.stop().await;
}

// ---------------------------------------------------------------- item 9: when to retry

#[tokio::test]
async fn the_five_minute_lock_says_when_to_retry() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    let activated = pim.activate_ok(&token, &alice, USER_ADMINISTRATOR, "PT1H").await;
    let retry_at = at(&activated["createdDateTime"]) + Duration::minutes(5);
    let (status, body) = pim.deactivate(&token, &alice, USER_ADMINISTRATOR).await;
    assert_graph_error(status, &body, 400, "ActiveDurationTooShort");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(message.ends_with(&format!("; retry after {}", rfc3339(retry_at))), "{message}");
    pim.stop().await;
}

// ---------------------------------------------------------------- item 8: rate limits

/// Past its budget of refused attempts a caller is answered 429 with `Retry-After` in Graph's
/// shape, before any work, while other callers are served; sign-ins are limited per address.
#[tokio::test]
async fn refused_attempts_and_sign_ins_are_rate_limited_per_caller() {
    use openpim_server::limits::RateLimitConfig;
    let pim = Pim::start().await;
    let (_, mallory) = pim.user("mallory").await;
    let (_, alice) = pim.user("alice").await;
    pim.server.state.limits.configure(RateLimitConfig { refusals_per_minute: 3, signins_per_minute: 2 });
    let create = |n: usize| json!({"userPrincipalName": format!("x{n}@openpim.test"), "displayName": "x", "accountEnabled": true});
    // Three refusals are the budget; the fourth is still answered (and spends past it).
    for n in 0..4 {
        let (status, body) = pim.client.post("/v1.0/users", &mallory, create(n)).await;
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    }
    let resp = pim.client.send(pim.client.request(reqwest::Method::GET, "/v1.0/me", Some(&mallory))).await;
    assert_graph_error(resp.status, &resp.body, 429, "TooManyRequests");
    let retry: u64 = resp.headers["retry-after"].to_str().unwrap().parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // Another caller is not affected.
    let (status, body) = pim.client.get("/v1.0/me", &alice).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Sign-in: two attempts a minute from this address, the third waits.
    for _ in 0..2 {
        // Refused for its missing CSRF token (an HTML page), but not rate limited.
        let r = pim.client.http.post(pim.client.url("/signin")).form(&[("token", "x")]).send().await.unwrap();
        assert_ne!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let r = pim.client.send(pim.client.request(reqwest::Method::POST, "/signin", None).form(&[("token", "x")])).await;
    assert_graph_error(r.status, &r.body, 429, "TooManyRequests");
    assert!(r.headers.contains_key("retry-after"));
    pim.stop().await;
}
