//! `openpim access check [--at]` and `openpim access history` through the real binary against a
//! real server whose clock the test moves: an activation seen while it holds, after it expired
//! (at a past instant), and in the history by principal and by role; refusals and bad input.

mod common;

use common::*;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

const CREATE_USERS: &str = "microsoft.directory/users/create";

fn at(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap_or_else(|| panic!("not a date: {v}")), &Rfc3339).expect("RFC 3339")
}

fn text(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_check_at_a_past_instant_and_the_history() {
    let cli = Cli::start().await;
    let admin = cli.admin().await;
    let (bob_id, bob) = cli.user("bob").await;
    let add = [
        "assignments",
        "add",
        "--principal",
        "bob@openpim.test",
        "--role",
        "User Administrator",
        "--type",
        "eligible",
        "--justification",
        "on call",
    ];
    cli.ok(&admin, &add).await;
    cli.advance(Duration::minutes(1));
    let req = cli.ok(&bob, &["activate", "User Administrator", "--justification", "INC-42", "--duration", "1h"]).await;
    assert_eq!(req["status"], "Provisioned", "{req}");
    let start = at(&req["scheduleInfo"]["startDateTime"]);

    cli.advance(Duration::minutes(10));
    let now = cli.ok(&admin, &["access", "check", "--action", CREATE_USERS, "--principal", "bob@openpim.test"]).await;
    assert_eq!(now["allowed"], true, "{now}");
    assert!(now.get("historyComplete").is_none(), "today's answer: {now}");

    // An hour later it has expired; asked about ten minutes in, it was held.
    cli.advance(Duration::hours(1));
    let later = cli.ok(&bob, &["access", "check", "--action", CREATE_USERS]).await;
    assert_eq!(later["allowed"], false, "{later}");
    let then_at = text(start + Duration::minutes(10));
    let then =
        cli.ok(&admin, &["access", "check", "--action", CREATE_USERS, "--principal", &bob_id, "--at", &then_at]).await;
    assert_eq!(then["allowed"], true, "{then}");
    assert_eq!(then["historyComplete"], true, "{then}");
    assert_eq!(then["grantedBy"]["assignmentType"], "Activated", "{then}");
    assert_eq!(at(&then["grantedBy"]["startDateTime"]), start);
    assert_eq!(at(&then["grantedBy"]["endDateTime"]), start + Duration::hours(1));

    // The history: by principal (bob asks about himself) and by role (the admin).
    let mine = cli.ok(&bob, &["access", "history", "--principal", "bob@openpim.test"]).await;
    let rows = mine.as_array().expect("an array of intervals");
    assert_eq!(rows.len(), 1, "{mine}");
    assert_eq!(rows[0]["roleDisplayName"], "User Administrator");
    assert_eq!(rows[0]["memberType"], "Direct");
    assert_eq!((at(&rows[0]["startDateTime"]), at(&rows[0]["endDateTime"])), (start, start + Duration::hours(1)));
    let by_role = cli.ok(&admin, &["access", "history", "--role", "User Administrator"]).await;
    assert!(by_role.as_array().unwrap().iter().any(|r| r["principalId"] == bob_id.as_str()), "{bob_id} in {by_role}");
    // The table names the principal and the path.
    let table = cli.run(Some(&admin), &["access", "history", "--principal", &bob_id, "--output", "table"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("bob@openpim.test") && table.stdout.contains("direct"), "{}", table.stdout);

    // Refusals and bad input.
    cli.fails(&bob, &["access", "history", "--role", "User Administrator"])
        .await
        .assert_error(3, "Authorization_RequestDenied");
    let future = text(OffsetDateTime::now_utc() + Duration::days(2));
    cli.fails(&admin, &["access", "check", "--action", CREATE_USERS, "--at", &future])
        .await
        .assert_error(5, "Request_BadRequest");
    let usage = cli.fails(&admin, &["access", "history"]).await;
    assert_eq!(usage.code, 2, "principal or role is required: {}", usage.stderr);
    let usage = cli.fails(&admin, &["access", "check", "--action", CREATE_USERS, "--at", "yesterday"]).await;
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    cli.stop().await;
}
