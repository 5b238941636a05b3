//! A tiny seeded store read back through OpenPIM's own API: the rows the seeder writes are rows
//! the server decodes, indexes and serves, and the loadgen measurements run against it.

use openpim_bench::workload::{InstanceKind, PrincipalRef, Workload};
use openpim_core::access::AccessIndex;
use openpim_loadgen::args::Size;
use openpim_loadgen::{activate, fsync, hello, http_load, seed};
use openpim_server::auth::{LocalIssuer, TokenRequest};
use openpim_server::ServerConfig;
use serde_json::Value;
use std::time::Duration;

async fn get(http: &reqwest::Client, base: &str, path: &str, token: &str) -> (u16, Value) {
    let resp = http.get(format!("{base}{path}")).bearer_auth(token).send().await.expect("server answers");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_rows_read_back_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let spec = seed::spec_for(Size::Users(300));
    let report = seed::run(&data, &spec).await.expect("seed");
    let w = Workload::generate(&spec);
    assert_eq!(report.users, 300);
    assert_eq!(report.groups as usize, w.groups.len());
    assert_eq!(report.custom_roles, spec.custom_roles as u64);
    assert_eq!(
        report.eligibilities + report.assignments + report.skipped_duplicates,
        spec.instances as u64,
        "every instance is loaded or skipped as a live duplicate"
    );
    assert!(report.assignments > 100 && report.eligibilities > 300, "{report:?}");
    assert!(seed::run(&data, &spec).await.is_err(), "seeding twice into one directory is refused");

    let server = openpim_server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.clone(),
        database_url: None,
        bootstrap_admin: seed::ADMIN_UPN.to_string(),
        public_url: None,
        approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
        notifications: Default::default(),
        metrics_access: Default::default(),
        tls: None,
        oidc_issuers: Vec::new(),
        local_issuer: true,
        audit_checkpoint_interval: openpim_server::DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
    })
    .await
    .expect("the server starts on the seeded directory");
    assert!(server.created_admin.is_none(), "the seeder bootstrapped the store already");
    let base = format!("http://{}", server.addr);
    let req = TokenRequest::for_upn(&server.state.store, seed::ADMIN_UPN, true, vec![], Duration::from_secs(600))
        .await
        .expect("the seeded admin exists");
    let admin = LocalIssuer::load(&data).unwrap().mint(&req, time::OffsetDateTime::now_utc());
    let http = reqwest::Client::new();

    // Directory objects.
    let (status, user) = get(&http, &base, &format!("/v1.0/users/{}", w.user_id(17)), &admin).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["userPrincipalName"], w.user_principal_name(17));
    assert_eq!(user["displayName"], w.user_display_name(17));
    assert_eq!(user["accountEnabled"], true);
    let role_group = w.groups.iter().find(|g| g.is_assignable_to_role).unwrap();
    let (status, group) = get(&http, &base, &format!("/v1.0/groups/{}", role_group.id), &admin).await;
    assert_eq!(status, 200, "{group}");
    assert_eq!(group["isAssignableToRole"], true);
    assert_eq!(group["displayName"], role_group.display_name);
    let (status, members) =
        get(&http, &base, &format!("/v1.0/groups/{}/members?$top=999", role_group.id), &admin).await;
    assert_eq!(status, 200, "{members}");
    assert_eq!(members["value"].as_array().unwrap().len(), role_group.members.len());
    let unit = &w.administrative_units[0];
    let (status, au) = get(&http, &base, &format!("/v1.0/directory/administrativeUnits/{}", unit.id), &admin).await;
    assert_eq!(status, 200, "{au}");
    assert_eq!(au["displayName"], unit.display_name);
    let custom = w.roles.iter().find(|r| !r.is_built_in).unwrap();
    let (status, role) =
        get(&http, &base, &format!("/v1.0/roleManagement/directory/roleDefinitions/{}", custom.id), &admin).await;
    assert_eq!(status, 200, "{role}");
    assert_eq!(role["isBuiltIn"], false);

    // An active, current, direct assignment is an instance of its principal.
    let (idx, inst) = w
        .instances
        .iter()
        .enumerate()
        .find(|(_, i)| i.kind == InstanceKind::Active && i.is_current() && matches!(i.principal, PrincipalRef::User(_)))
        .unwrap();
    let principal = w.principal_id(inst.principal);
    let path = format!(
        "/v1.0/roleManagement/directory/roleAssignmentScheduleInstances?$filter=principalId eq '{principal}'&$top=100"
    );
    let (status, list) = get(&http, &base, &path, &admin).await;
    assert_eq!(status, 200, "{list}");
    let found = list["value"].as_array().unwrap().iter().find(|v| {
        v["roleAssignmentScheduleId"] == w.instance_id(idx).to_string() || v["id"] == w.instance_id(idx).to_string()
    });
    let found = found.unwrap_or_else(|| panic!("instance {} missing from {list}", w.instance_id(idx)));
    assert_eq!(found["roleDefinitionId"], w.roles[inst.role as usize].id.to_string());
    assert_eq!(found["directoryScopeId"], w.directory_scope(inst.scope).to_string());

    // The server's access index answers the workload's queries as an index built straight from
    // the workload does. The seed placed the workload's `now` at `seeded_at`; a query is compared
    // only when the reference answer is the same at both ends of the time the checks take.
    let mut reference = AccessIndex::new();
    for u in w.index_updates() {
        reference.apply(u);
    }
    let seeded_at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(report.seeded_at_us) * 1000).unwrap();
    let early = w.now + (time::OffsetDateTime::now_utc() - seeded_at);
    let queries = w.queries(300, 9);
    let mut answers = Vec::new();
    for q in &queries {
        let path = format!(
            "/v1.0/openpim/accessCheck?principalId={}&action={}&directoryScopeId={}",
            q.principal,
            openpim_loadgen::checks::encode(&q.action),
            openpim_loadgen::checks::encode(&q.scope.to_string())
        );
        let (status, body) = get(&http, &base, &path, &admin).await;
        assert_eq!(status, 200, "{body}");
        answers.push(body["allowed"].as_bool().unwrap());
    }
    let late = w.now + (time::OffsetDateTime::now_utc() - seeded_at) + time::Duration::seconds(1);
    let (mut compared, mut allowed) = (0, 0);
    for (q, got) in queries.iter().zip(answers) {
        let a = reference.check(q.principal, &q.action, &q.scope, early).is_some();
        let b = reference.check(q.principal, &q.action, &q.scope, late).is_some();
        if a == b {
            assert_eq!(got, a, "access check for {q:?}");
            compared += 1;
            allowed += usize::from(a);
        }
    }
    assert!(compared >= 290, "only {compared} queries were stable");
    assert!(allowed > 20 && allowed < compared, "the mix has both answers ({allowed} of {compared} allowed)");

    // The seeder recorded the access history of what it loaded, so the server's first start had
    // nothing to backfill: the history begins with the directory, and a direct activation that
    // ended before the seed is on record over its whole window, asked over the window and at an
    // instant within it.
    assert!(report.history_rows > report.assignments, "{report:?}");
    let (idx, inst) = w
        .instances
        .iter()
        .enumerate()
        .find(|(_, i)| {
            i.kind == InstanceKind::Active
                && i.window_class() == openpim_bench::workload::WindowClass::Expired
                && matches!(i.principal, PrincipalRef::User(_))
                && !w.role_actions[i.role as usize].is_empty()
        })
        .unwrap();
    let principal = w.principal_id(inst.principal);
    let minutes = |m: i32| seeded_at + time::Duration::minutes(i64::from(m));
    let rfc = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let path = format!(
        "/v1.0/openpim/accessHistory?principalId={principal}&from={}&to={}&$top=999",
        openpim_loadgen::checks::encode(&rfc(seeded_at - openpim_loadgen::checks::HISTORY_WINDOW)),
        openpim_loadgen::checks::encode(&rfc(seeded_at))
    );
    let (status, history) = get(&http, &base, &path, &admin).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["historyComplete"], true, "{history}");
    let parse = |v: &Value| {
        time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
    };
    let started = parse(&history["historyStartsDateTime"]);
    assert!(started < seeded_at - time::Duration::days(300), "the history starts with the seeded directory: {history}");
    let role = w.roles[inst.role as usize].id.to_string();
    let interval = history["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| {
            v["roleDefinitionId"] == role
                && v["memberType"] == "Direct"
                && v["assignmentType"] == "Activated"
                && parse(&v["startDateTime"]) == minutes(inst.start_min)
        })
        .unwrap_or_else(|| panic!("instance {} missing from {history}", w.instance_id(idx)));
    assert_eq!(parse(&interval["endDateTime"]), minutes(inst.end_min), "{interval}");
    let action = &w.action_universe[w.role_actions[inst.role as usize][0] as usize];
    let check = |at: time::OffsetDateTime| {
        format!(
            "/v1.0/openpim/accessCheck?principalId={principal}&action={}&directoryScopeId={}&at={}",
            openpim_loadgen::checks::encode(action),
            openpim_loadgen::checks::encode(&w.directory_scope(inst.scope).to_string()),
            openpim_loadgen::checks::encode(&rfc(at))
        )
    };
    let midway = minutes(inst.start_min) + (minutes(inst.end_min) - minutes(inst.start_min)) / 2;
    let (status, then) = get(&http, &base, &check(midway), &admin).await;
    assert_eq!(status, 200, "{then}");
    assert_eq!(then["allowed"], true, "held midway through its window: {then}");
    // The history URLs the benchmark loads all answer.
    for kind in [openpim_loadgen::checks::HistoryKind::History, openpim_loadgen::checks::HistoryKind::CheckAt] {
        let urls = openpim_loadgen::checks::history_urls(&w, &base, 50, 3, kind, time::OffsetDateTime::now_utc());
        let load = http_load::run(http_load::Options {
            urls,
            connections: 2,
            duration: Duration::from_millis(300),
            warmup: Duration::ZERO,
            headers: vec![("Authorization".into(), format!("Bearer {admin}"))],
        })
        .await
        .unwrap();
        assert!(load.acceptable() && load.requests > 0, "{kind:?}: {load:?}");
    }

    // The measurements run against it and answer correctly.
    let act = activate::run(&base, &data, 8, 24).await.expect("activate");
    assert_eq!(act.activations, 24, "{act:?}");
    assert!(act.acceptable());
    let again = activate::targets(&data, 10_000).await;
    assert!(again.is_err() || again.unwrap().len() < 10_000);
    let load = http_load::run(http_load::Options {
        urls: vec![format!("{base}/v1.0/openpim/accessCheck?action=microsoft.directory/users/password/update")],
        connections: 2,
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(50),
        headers: vec![("Authorization".into(), format!("Bearer {admin}"))],
    })
    .await
    .unwrap();
    assert!(load.acceptable() && load.requests > 0, "{load:?}");
    let bad = http_load::run(http_load::Options {
        urls: vec![format!("{base}/v1.0/openpim/accessCheck?action=x")],
        connections: 1,
        duration: Duration::from_millis(100),
        warmup: Duration::ZERO,
        headers: vec![],
    })
    .await
    .unwrap();
    assert!(bad.non_2xx > 0 && !bad.acceptable(), "401s are counted as failures: {bad:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn ceilings_run() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = tokio::spawn(hello::serve(addr));
    let mut report = None;
    for _ in 0..200 {
        let r = http_load::run(http_load::Options {
            urls: vec![format!("http://{addr}/")],
            connections: 4,
            duration: Duration::from_millis(200),
            warmup: Duration::ZERO,
            headers: vec![],
        })
        .await
        .unwrap();
        if r.acceptable() {
            report = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await; // the listener is not bound yet
    }
    let r = report.expect("the hello server answers");
    assert!(r.requests > 10 && r.latency.count > 10, "{r:?}");
    server.abort();

    let dir = tempfile::tempdir().unwrap();
    let f = fsync::run(dir.path(), Duration::from_millis(200)).await.unwrap();
    assert!(f.commits > 0 && f.latency.count == f.commits, "{f:?}");
}
