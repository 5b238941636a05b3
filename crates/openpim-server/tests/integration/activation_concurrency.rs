//! Many identical activations at once: exactly one wins, the rest are told the assignment
//! exists, and nothing fails with a server error.

use crate::common;
use crate::pim;

use common::{assert_graph_error, USER_ADMINISTRATOR};
use pim::*;
use reqwest::StatusCode;

const RACERS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_identical_activations_yield_exactly_one() {
    let pim = Pim::start().await;
    let (alice, token) = pim.user("alice").await;
    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    let body = request("selfActivate", &alice, USER_ADMINISTRATOR, Some(for_duration(None, "PT1H")));

    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = Vec::with_capacity(RACERS);
    for _ in 0..RACERS {
        let client = pim.client.clone();
        let token = token.clone();
        let body = body.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            client.post(ASSIGNMENT_REQUESTS, &token, body).await
        }));
    }
    let mut created = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (status, resp) = task.await.expect("task completes");
        assert!(!status.is_server_error(), "server error: {status} {resp}");
        if status == StatusCode::CREATED {
            assert_eq!(resp["status"], "Provisioned", "{resp}");
            created.push(resp);
        } else {
            assert_graph_error(status, &resp, 400, "RoleAssignmentExists");
            refused += 1;
        }
    }
    assert_eq!(created.len(), 1, "exactly one activation wins: {created:?}");
    assert_eq!(refused, RACERS - 1);

    let instances = pim.rows_of(ASSIGNMENT_INSTANCES, &alice).await;
    assert_eq!(instances.len(), 1, "{instances:?}");
    assert_eq!(instances[0]["roleAssignmentScheduleId"], created[0]["id"]);
    assert_eq!(pim.rows_of(ASSIGNMENT_SCHEDULES, &alice).await.len(), 1);
    // Only the winner was recorded as a request.
    let requests = pim.list(&format!("{ASSIGNMENT_REQUESTS}/filterByCurrentUser(on='principal')"), &token).await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(pim.allowed(&token, CREATE_USERS).await);
    pim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_activations_of_different_users_all_succeed() {
    let pim = Pim::start().await;
    let mut users = Vec::new();
    for i in 0..10 {
        let (id, token) = pim.user(&format!("user{i}")).await;
        pim.make_eligible(&id, USER_ADMINISTRATOR).await;
        users.push((id, token));
    }
    let mut tasks = Vec::new();
    for (id, token) in &users {
        let client = pim.client.clone();
        let token = token.clone();
        let body = request("selfActivate", id, USER_ADMINISTRATOR, Some(for_duration(None, "PT1H")));
        tasks.push(tokio::spawn(async move { client.post(ASSIGNMENT_REQUESTS, &token, body).await }));
    }
    for task in tasks {
        let (status, resp) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{resp}");
    }
    for (id, token) in &users {
        assert_eq!(pim.rows_of(ASSIGNMENT_INSTANCES, id).await.len(), 1);
        assert!(pim.allowed(token, CREATE_USERS).await);
    }
    pim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_eligibility_assignments_yield_exactly_one() {
    let pim = Pim::start().await;
    let (alice, _) = pim.user("alice").await;
    let body = request("adminAssign", &alice, USER_ADMINISTRATOR, Some(no_expiration()));
    let admin = pim.admin_token();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, admin, body) = (pim.client.clone(), admin.clone(), body.clone());
        tasks.push(tokio::spawn(async move { client.post(ELIGIBILITY_REQUESTS, &admin, body).await }));
    }
    let mut created = 0;
    for task in tasks {
        let (status, resp) = task.await.unwrap();
        if status == StatusCode::CREATED {
            created += 1;
        } else {
            assert_graph_error(status, &resp, 400, "RoleAssignmentExists");
        }
    }
    assert_eq!(created, 1);
    assert_eq!(pim.rows_of(ELIGIBILITY_SCHEDULES, &alice).await.len(), 1);
    pim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tidy_up_passes_transition_each_schedule_once() {
    let pim = Pim::start().await;
    let mut users = Vec::new();
    for i in 0..5 {
        let (id, token) = pim.user(&format!("user{i}")).await;
        pim.make_eligible(&id, USER_ADMINISTRATOR).await;
        pim.activate_ok(&token, &id, USER_ADMINISTRATOR, "PT1H").await;
        users.push(id);
    }
    pim.advance(time::Duration::hours(1));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let state = pim.server.state.clone();
        tasks.push(tokio::spawn(async move { openpim_server::jobs::tidy_once(&state).await.unwrap() }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, users.len(), "each expiry is made (and counted) by exactly one pass");
    let audits = pim.audits().await;
    let expiries = audits
        .iter()
        .filter(|a| a["activityDisplayName"].as_str().is_some_and(|s| s.contains("PIM assignment expired")))
        .count();
    assert_eq!(expiries, users.len(), "each expiry audited once");
    pim.stop().await;
}
