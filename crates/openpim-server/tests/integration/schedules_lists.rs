//! The read side of PIM: schedules and instances (with `$filter`, `$expand`, get by id and
//! `filterByCurrentUser`), and the request collections with their visibility rules.

use crate::common;
use crate::pim;

use common::{assert_graph_error, GROUPS_ADMINISTRATOR, USER_ADMINISTRATOR};
use pim::*;
use reqwest::StatusCode;
use serde_json::Value;
use time::Duration;

const COLLECTIONS: [&str; 4] =
    [ELIGIBILITY_SCHEDULES, ASSIGNMENT_SCHEDULES, ELIGIBILITY_INSTANCES, ASSIGNMENT_INSTANCES];

/// Alice: eligible for User Administrator and has activated it. Bob: eligible for Groups
/// Administrator and has activated it. Returns (alice, alice token, bob, bob token).
async fn two_activated_users(pim: &Pim) -> (String, String, String, String) {
    let (alice, alice_token) = pim.user("alice").await;
    let (bob, bob_token) = pim.user("bob").await;
    pim.make_eligible(&alice, USER_ADMINISTRATOR).await;
    pim.make_eligible(&bob, GROUPS_ADMINISTRATOR).await;
    pim.activate_ok(&alice_token, &alice, USER_ADMINISTRATOR, "PT2H").await;
    pim.activate_ok(&bob_token, &bob, GROUPS_ADMINISTRATOR, "PT2H").await;
    (alice, alice_token, bob, bob_token)
}

fn principals(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|r| r["principalId"].as_str().expect("principalId")).collect()
}

#[tokio::test]
async fn collections_filter_by_principal_and_role() {
    let pim = Pim::start().await;
    let (alice, _, bob, _) = two_activated_users(&pim).await;
    let admin = pim.admin_token();
    for collection in COLLECTIONS {
        let all = pim.list(collection, &admin).await;
        assert!(
            principals(&all).contains(&alice.as_str()) && principals(&all).contains(&bob.as_str()),
            "{collection}: {all:?}"
        );

        let mine = pim.rows_of(collection, &alice).await;
        assert_eq!(mine.len(), 1, "{collection}: {mine:?}");
        assert_eq!(mine[0]["principalId"], alice.as_str());
        assert_eq!(mine[0]["roleDefinitionId"], USER_ADMINISTRATOR);
        assert_eq!(mine[0]["directoryScopeId"], "/");
        assert_eq!(mine[0]["appScopeId"], Value::Null);

        let by_role =
            pim.list(&format!("{collection}?$filter=roleDefinitionId eq '{GROUPS_ADMINISTRATOR}'"), &admin).await;
        assert_eq!(principals(&by_role), vec![bob.as_str()], "{collection}");
        let both = pim
            .list(
                &format!(
                    "{collection}?$filter=principalId eq '{alice}' and roleDefinitionId eq '{GROUPS_ADMINISTRATOR}'"
                ),
                &admin,
            )
            .await;
        assert!(both.is_empty(), "{collection}: {both:?}");
    }
    // Assignment rows tell activated from assigned; the bootstrap admin holds an assigned role.
    let activated = pim.list(&format!("{ASSIGNMENT_INSTANCES}?$filter=assignmentType eq 'Activated'"), &admin).await;
    let mut who = principals(&activated);
    who.sort();
    let mut expected = vec![alice.as_str(), bob.as_str()];
    expected.sort();
    assert_eq!(who, expected);
    let admin_rows = pim.rows_of(ASSIGNMENT_INSTANCES, &pim.admin_id).await;
    assert!(!admin_rows.is_empty() && admin_rows.iter().all(|r| r["assignmentType"] == "Assigned"), "{admin_rows:?}");
    pim.stop().await;
}

#[tokio::test]
async fn shapes_of_schedules_and_instances() {
    let pim = Pim::start().await;
    let (alice, _, _, _) = two_activated_users(&pim).await;
    let keys_base = ["id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId"];
    let schedule_keys = ["createdDateTime", "createdUsing", "modifiedDateTime", "status", "scheduleInfo", "memberType"];
    let expectations: [(&str, &str, &[&str]); 4] = [
        (ELIGIBILITY_SCHEDULES, "#microsoft.graph.unifiedRoleEligibilitySchedule", &schedule_keys),
        (ASSIGNMENT_SCHEDULES, "#microsoft.graph.unifiedRoleAssignmentSchedule", &schedule_keys),
        (
            ELIGIBILITY_INSTANCES,
            "#microsoft.graph.unifiedRoleEligibilityScheduleInstance",
            &["startDateTime", "endDateTime", "memberType", "roleEligibilityScheduleId"],
        ),
        (
            ASSIGNMENT_INSTANCES,
            "#microsoft.graph.unifiedRoleAssignmentScheduleInstance",
            &[
                "startDateTime",
                "endDateTime",
                "assignmentType",
                "memberType",
                "roleAssignmentOriginId",
                "roleAssignmentScheduleId",
            ],
        ),
    ];
    for (collection, odata_type, extra) in expectations {
        let rows = pim.rows_of(collection, &alice).await;
        let row = rows[0].as_object().unwrap();
        assert_eq!(row["@odata.type"], odata_type);
        for key in keys_base.iter().chain(extra.iter()) {
            assert!(row.contains_key(*key), "{collection} lacks '{key}': {row:?}");
        }
        assert_eq!(row["memberType"], "Direct");
    }
    let sched = pim.rows_of(ASSIGNMENT_SCHEDULES, &alice).await;
    assert_eq!(sched[0]["assignmentType"], "Activated");
    assert_eq!(sched[0]["scheduleInfo"]["expiration"]["type"], "afterDuration");
    assert_eq!(sched[0]["scheduleInfo"]["expiration"]["duration"], "PT2H");
    pim.stop().await;
}

#[tokio::test]
async fn expand_principal_role_definition_and_activated_using() {
    let pim = Pim::start().await;
    let (alice, _, _, _) = two_activated_users(&pim).await;
    let admin = pim.admin_token();
    for collection in COLLECTIONS {
        let rows = pim
            .list(&format!("{collection}?$filter=principalId eq '{alice}'&$expand=principal,roleDefinition"), &admin)
            .await;
        assert_eq!(rows.len(), 1, "{collection}");
        let p = &rows[0]["principal"];
        assert_eq!(p["@odata.type"], "#microsoft.graph.user", "{collection}: {p}");
        assert_eq!(p["id"], alice.as_str());
        assert_eq!(p["userPrincipalName"], "alice@openpim.test");
        let r = &rows[0]["roleDefinition"];
        assert_eq!(r["id"], USER_ADMINISTRATOR, "{collection}: {r}");
        assert_eq!(r["displayName"], "User Administrator");
        assert_eq!(r["isBuiltIn"], true);
    }
    let eligibility = pim.rows_of(ELIGIBILITY_SCHEDULES, &alice).await;
    let eligibility_id = eligibility[0]["id"].as_str().unwrap();

    let inst = pim
        .list(&format!("{ASSIGNMENT_INSTANCES}?$filter=principalId eq '{alice}'&$expand=activatedUsing"), &admin)
        .await;
    let used = &inst[0]["activatedUsing"];
    assert_eq!(used["id"], eligibility_id, "{used}");
    assert_eq!(used["@odata.type"], "#microsoft.graph.unifiedRoleEligibilityScheduleInstance");
    assert_eq!(used["roleEligibilityScheduleId"], eligibility_id);
    let sched = pim
        .list(&format!("{ASSIGNMENT_SCHEDULES}?$filter=principalId eq '{alice}'&$expand=activatedUsing"), &admin)
        .await;
    let used = &sched[0]["activatedUsing"];
    assert_eq!(used["id"], eligibility_id, "{used}");
    assert_eq!(used["@odata.type"], "#microsoft.graph.unifiedRoleEligibilitySchedule");
    // An assigned (not activated) row has nothing to expand.
    let admin_rows = pim
        .list(
            &format!("{ASSIGNMENT_INSTANCES}?$filter=principalId eq '{}'&$expand=activatedUsing", pim.admin_id),
            &admin,
        )
        .await;
    assert_eq!(admin_rows[0]["activatedUsing"], Value::Null);
    // The activation request expands to its eligibility too.
    let (status, body) = pim
        .client
        .get(
            &format!(
                "{ASSIGNMENT_REQUESTS}/{}?$expand=activatedUsing,targetSchedule",
                sched[0]["id"].as_str().unwrap()
            ),
            &admin,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["activatedUsing"]["id"], eligibility_id, "{body}");
    assert_eq!(body["targetSchedule"]["id"], sched[0]["id"], "{body}");
    // Eligibilities have no activatedUsing.
    let (status, err) = pim.client.get(&format!("{ELIGIBILITY_SCHEDULES}?$expand=activatedUsing"), &admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    pim.stop().await;
}

#[tokio::test]
async fn get_by_id() {
    let pim = Pim::start().await;
    let (alice, _, _, _) = two_activated_users(&pim).await;
    let admin = pim.admin_token();
    for collection in COLLECTIONS {
        let rows = pim.rows_of(collection, &alice).await;
        let id = rows[0]["id"].as_str().unwrap();
        let (status, one) = pim.client.get(&format!("{collection}/{id}"), &admin).await;
        assert_eq!(status, StatusCode::OK, "{collection}/{id}: {one}");
        let context = one["@odata.context"].as_str().unwrap();
        let set = collection.rsplit('/').next().unwrap();
        assert!(context.ends_with(&format!("#roleManagement/directory/{set}/$entity")), "{context}");
        let mut without_context = one.clone();
        without_context.as_object_mut().unwrap().remove("@odata.context");
        assert_eq!(without_context, rows[0], "{collection}: the entity reads the same as in the list");

        let (status, err) = pim.client.get(&format!("{collection}/00000000-0000-0000-0000-000000000001"), &admin).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{collection}: {err}");
        assert!(err["error"]["code"].is_string(), "{err}");
    }
    pim.stop().await;
}

#[tokio::test]
async fn filter_by_current_user_returns_only_the_callers_rows() {
    let pim = Pim::start().await;
    let (alice, alice_token, bob, bob_token) = two_activated_users(&pim).await;
    for collection in COLLECTIONS {
        for form in ["filterByCurrentUser(on='principal')", "filterByCurrentUser(on=%27principal%27)"] {
            for (who, token) in [(&alice, &alice_token), (&bob, &bob_token)] {
                let rows = pim.list(&format!("{collection}/{form}"), token).await;
                assert_eq!(principals(&rows), vec![who.as_str()], "{collection}/{form}");
            }
            // The admin sees their own bootstrap assignment only (and no eligibility).
            let rows = pim.list(&format!("{collection}/{form}"), &pim.admin_token()).await;
            assert!(rows.iter().all(|r| r["principalId"] == pim.admin_id.as_str()), "{collection}/{form}: {rows:?}");
        }
        // Other options of the function are for requests only.
        let (status, err) =
            pim.client.get(&format!("{collection}/filterByCurrentUser(on='approver')"), &alice_token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{collection}: {err}");
        // And $filter composes with it.
        let rows = pim
            .list(&format!("{collection}/filterByCurrentUser(on='principal')?$filter=roleDefinitionId eq '{GROUPS_ADMINISTRATOR}'"), &alice_token)
            .await;
        assert!(rows.is_empty(), "{collection}: {rows:?}");
    }
    pim.stop().await;
}

#[tokio::test]
async fn request_collections_and_their_visibility() {
    let pim = Pim::start().await;
    let (alice, alice_token, bob, bob_token) = two_activated_users(&pim).await;
    let admin = pim.admin_token();

    // The admin lists everything.
    let all = pim.list(ASSIGNMENT_REQUESTS, &admin).await;
    assert_eq!(all.len(), 2, "{all:?}");
    for r in &all {
        assert_request_shape(r, "roleAssignmentScheduleRequests");
        assert_eq!(r["@odata.type"], "#microsoft.graph.unifiedRoleAssignmentScheduleRequest");
    }
    let eligibility = pim.list(ELIGIBILITY_REQUESTS, &admin).await;
    assert_eq!(eligibility.len(), 2, "{eligibility:?}");
    let (status, body) = pim.client.get(ASSIGNMENT_REQUESTS, &admin).await;
    assert!(
        body["@odata.context"].as_str().unwrap().ends_with("#roleManagement/directory/roleAssignmentScheduleRequests"),
        "{status} {body}"
    );
    let filtered = pim.list(&format!("{ASSIGNMENT_REQUESTS}?$filter=principalId eq '{alice}'"), &admin).await;
    assert_eq!(principals(&filtered), vec![alice.as_str()]);
    let filtered = pim
        .list(&format!("{ASSIGNMENT_REQUESTS}?$filter=action eq 'selfActivate' and status eq 'Provisioned'"), &admin)
        .await;
    assert_eq!(filtered.len(), 2);

    // A plain user may not list everything, only their own.
    for set in [ASSIGNMENT_REQUESTS, ELIGIBILITY_REQUESTS] {
        let (status, err) = pim.client.get(set, &alice_token).await;
        assert_graph_error(status, &err, 403, "Authorization_RequestDenied");
        for form in ["filterByCurrentUser(on='principal')", "filterByCurrentUser(on=%27principal%27)"] {
            let mine = pim.list(&format!("{set}/{form}"), &alice_token).await;
            assert_eq!(principals(&mine), vec![alice.as_str()], "{set}/{form}");
        }
    }
    // Eligibility requests made by the admin for alice: principal is alice, creator is the admin.
    let created_by_admin =
        pim.list(&format!("{ELIGIBILITY_REQUESTS}/filterByCurrentUser(on='createdBy')"), &admin).await;
    assert_eq!(created_by_admin.len(), 2);
    let created_by_alice =
        pim.list(&format!("{ELIGIBILITY_REQUESTS}/filterByCurrentUser(on='createdBy')"), &alice_token).await;
    assert!(created_by_alice.is_empty());

    // Someone else's request by id is not there for a plain user; one's own is.
    let bobs = pim.list(&format!("{ASSIGNMENT_REQUESTS}/filterByCurrentUser(on='principal')"), &bob_token).await;
    let bobs_id = bobs[0]["id"].as_str().unwrap();
    let (status, err) = pim.client.get(&format!("{ASSIGNMENT_REQUESTS}/{bobs_id}"), &alice_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    assert!(err["error"]["code"].is_string(), "{err}");
    let (status, own) = pim.client.get(&format!("{ASSIGNMENT_REQUESTS}/{bobs_id}"), &bob_token).await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["principalId"], bob.as_str());
    let (status, _) = pim.client.get(&format!("{ASSIGNMENT_REQUESTS}/{bobs_id}"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    // The id space of the two request kinds is separate.
    let (status, _) = pim.client.get(&format!("{ELIGIBILITY_REQUESTS}/{bobs_id}"), &admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A malformed id.
    let (status, _) = pim.client.get(&format!("{ASSIGNMENT_REQUESTS}/not-a-guid"), &admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    pim.stop().await;
}

#[tokio::test]
async fn direct_role_assignments_appear_as_assigned_instances() {
    let pim = Pim::start().await;
    let (carol, carol_token) = pim.user("carol").await;
    let (status, ra) = pim
        .client
        .post(
            &rm("roleAssignments"),
            &pim.admin_token(),
            serde_json::json!({"@odata.type": "#microsoft.graph.unifiedRoleAssignment",
                   "principalId": carol, "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": "/"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ra}");
    let ra_id = ra["id"].as_str().unwrap();
    let inst = pim.rows_of(ASSIGNMENT_INSTANCES, &carol).await;
    assert_eq!(inst.len(), 1, "{inst:?}");
    assert_eq!(inst[0]["assignmentType"], "Assigned");
    assert_eq!(inst[0]["memberType"], "Direct");
    assert_eq!(inst[0]["roleAssignmentOriginId"], ra_id);
    assert_eq!(inst[0]["endDateTime"], Value::Null);
    let sched = pim.rows_of(ASSIGNMENT_SCHEDULES, &carol).await;
    assert_eq!(sched.len(), 1);
    assert_eq!(sched[0]["assignmentType"], "Assigned");
    assert_eq!(sched[0]["scheduleInfo"]["expiration"]["type"], "noExpiration");
    let mine = pim.list(&format!("{ASSIGNMENT_INSTANCES}/filterByCurrentUser(on='principal')"), &carol_token).await;
    assert_eq!(mine.len(), 1);
    // A duplicate through PIM is refused, and deleting the assignment removes the instance.
    let (status, err) = pim
        .assignment_request(
            &pim.admin_token(),
            request("adminAssign", &carol, USER_ADMINISTRATOR, Some(no_expiration())),
        )
        .await;
    assert_graph_error(status, &err, 400, "RoleAssignmentExists");
    pim.advance(Duration::minutes(1));
    let (status, _) = pim.client.delete(&format!("{}/{ra_id}", rm("roleAssignments")), &pim.admin_token()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(pim.rows_of(ASSIGNMENT_INSTANCES, &carol).await.is_empty());
    pim.stop().await;
}

#[tokio::test]
async fn bad_filters_are_rejected() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let bad = [
        "$filter=nonsense eq 'x'",
        "$filter=principalId eq",
        "$filter=principalId eq 'not-a-guid'",
        "$filter=(principalId eq '00000000-0000-0000-0000-000000000001'",
        "$orderby=nonsense",
        "$expand=nonsense",
    ];
    for collection in COLLECTIONS.iter().chain([ELIGIBILITY_REQUESTS, ASSIGNMENT_REQUESTS].iter()) {
        for q in bad {
            let (status, err) = pim.client.get(&format!("{collection}?{q}"), &admin).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{collection}?{q}: {err}");
            assert!(err["error"]["code"].is_string() && err["error"]["message"].is_string(), "{err}");
        }
    }
    pim.stop().await;
}

/// A role assigned directly (`POST roleAssignments`, not through PIM) shows `startDateTime: null`
/// in its instance and schedule, as Graph's list-instances example does: "roles assigned outside
/// PIM" checks (the M365 baseline) look for exactly `startDateTime == null`, `Assigned`, `Direct`.
/// Before, the stored creation time was shown and such roles looked PIM-managed.
#[tokio::test]
async fn direct_assignments_show_no_start() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (carol, _) = pim.user("carol").await;
    let (status, body) = pim
        .client
        .post(
            &rm("roleAssignments"),
            &admin,
            serde_json::json!({"principalId": carol, "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": "/"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (alice, _, _, _) = two_activated_users(&pim).await;

    for principal in [carol.as_str(), pim.admin_id.as_str()] {
        let instances = pim.rows_of(ASSIGNMENT_INSTANCES, principal).await;
        assert_eq!(instances.len(), 1, "{instances:?}");
        let i = &instances[0];
        assert_eq!(i["startDateTime"], Value::Null, "{i}");
        assert_eq!(i["endDateTime"], Value::Null, "{i}");
        assert_eq!(i["assignmentType"], "Assigned", "{i}");
        assert_eq!(i["memberType"], "Direct", "{i}");
        let schedules = pim.rows_of(ASSIGNMENT_SCHEDULES, principal).await;
        assert_eq!(schedules[0]["scheduleInfo"]["startDateTime"], Value::Null, "{}", schedules[0]);
        assert_eq!(schedules[0]["createdUsing"], Value::Null, "{}", schedules[0]);
    }
    // A PIM activation keeps its start.
    let activated = pim.rows_of(ASSIGNMENT_INSTANCES, &alice).await;
    assert_eq!(at(&activated[0]["startDateTime"]), pim.now());
    // Filtering agrees with what is shown.
    let outside_pim = pim.list(&format!("{ASSIGNMENT_INSTANCES}?$filter=startDateTime eq null"), &admin).await;
    let mut who = principals(&outside_pim);
    who.sort();
    let mut want = vec![carol.as_str(), pim.admin_id.as_str()];
    want.sort();
    assert_eq!(who, want);
    let in_pim = pim.list(&format!("{ASSIGNMENT_SCHEDULES}?$filter=startDateTime ne null"), &admin).await;
    assert!(!principals(&in_pim).contains(&carol.as_str()) && principals(&in_pim).contains(&alice.as_str()));
    pim.stop().await;
}

/// Request collections (list, get and `filterByCurrentUser`) expand every navigation property
/// Graph documents for them; `$expand=*` expands them all; `$select` keeps what was expanded.
#[tokio::test]
async fn requests_expand_their_navigation_properties() {
    let pim = Pim::start().await;
    let (alice, alice_token, _, _) = two_activated_users(&pim).await;
    let admin = pim.admin_token();
    let eligibility = pim.rows_of(ELIGIBILITY_SCHEDULES, &alice).await;
    let eligibility_id = eligibility[0]["id"].as_str().unwrap().to_string();
    let assignment = pim.rows_of(ASSIGNMENT_SCHEDULES, &alice).await;
    let assignment_id = assignment[0]["id"].as_str().unwrap().to_string();

    let check_assignment_request = |r: &Value| {
        assert_eq!(r["roleDefinition"]["id"], USER_ADMINISTRATOR, "{r}");
        assert_eq!(r["principal"]["id"], alice.as_str(), "{r}");
        assert_eq!(r["targetSchedule"]["id"], assignment_id.as_str(), "{r}");
        assert_eq!(r["activatedUsing"]["id"], eligibility_id.as_str(), "{r}");
    };
    let expand = "$expand=roleDefinition,activatedUsing,principal,targetSchedule";
    let filter = format!("$filter=principalId eq '{alice}'");
    let listed = pim.list(&format!("{ASSIGNMENT_REQUESTS}?{filter}&{expand}"), &admin).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    check_assignment_request(&listed[0]);
    let request_id = listed[0]["id"].as_str().unwrap().to_string();
    let (status, one) = pim.client.get(&format!("{ASSIGNMENT_REQUESTS}/{request_id}?{expand}"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    check_assignment_request(&one);
    let mine =
        pim.list(&format!("{ASSIGNMENT_REQUESTS}/filterByCurrentUser(on='principal')?{expand}"), &alice_token).await;
    check_assignment_request(&mine[0]);
    // `*` expands the same, plus the scopes (the tenant's directoryScope is null).
    let starred = pim.list(&format!("{ASSIGNMENT_REQUESTS}?{filter}&$expand=*"), &admin).await;
    check_assignment_request(&starred[0]);
    let row = starred[0].as_object().unwrap();
    assert!(row.contains_key("directoryScope") && row.contains_key("appScope"), "{row:?}");
    // `$select` keeps the expanded properties.
    let selected = pim.list(&format!("{ASSIGNMENT_REQUESTS}?{filter}&$select=id,status&{expand}"), &admin).await;
    check_assignment_request(&selected[0]);
    assert!(selected[0].get("principalId").is_none(), "{}", selected[0]);
    assert_eq!(selected[0]["status"], "Provisioned");

    // Eligibility requests: roleDefinition, principal, targetSchedule (no activatedUsing).
    let expand = "$expand=roleDefinition,principal,targetSchedule";
    let listed = pim.list(&format!("{ELIGIBILITY_REQUESTS}?{filter}&{expand}"), &admin).await;
    assert_eq!(listed[0]["roleDefinition"]["id"], USER_ADMINISTRATOR, "{}", listed[0]);
    assert_eq!(listed[0]["principal"]["id"], alice.as_str());
    assert_eq!(listed[0]["targetSchedule"]["id"], eligibility_id.as_str());
    let (status, err) = pim.client.get(&format!("{ELIGIBILITY_REQUESTS}?$expand=activatedUsing"), &admin).await;
    assert_graph_error(status, &err, 400, "Request_BadRequest");

    // Schedules and instances: `*` and `$select` with `$expand`, list and get.
    for collection in COLLECTIONS {
        let rows = pim.list(&format!("{collection}?{filter}&$expand=*"), &admin).await;
        assert_eq!(rows[0]["principal"]["id"], alice.as_str(), "{collection}: {}", rows[0]);
        assert_eq!(rows[0]["roleDefinition"]["id"], USER_ADMINISTRATOR, "{collection}");
        if collection.contains("Assignment") {
            assert_eq!(rows[0]["activatedUsing"]["id"], eligibility_id.as_str(), "{collection}: {}", rows[0]);
        } else {
            assert!(rows[0].get("activatedUsing").is_none(), "{collection}: {}", rows[0]);
        }
        let id = rows[0]["id"].as_str().unwrap();
        let (status, one) =
            pim.client.get(&format!("{collection}/{id}?$select=id&$expand=principal,roleDefinition"), &admin).await;
        assert_eq!(status, StatusCode::OK, "{collection}: {one}");
        assert_eq!(one["principal"]["id"], alice.as_str(), "{collection}: {one}");
        assert_eq!(one["roleDefinition"]["id"], USER_ADMINISTRATOR, "{collection}: {one}");
        assert!(one.get("principalId").is_none(), "{collection}: {one}");
    }
    pim.stop().await;
}

/// `@odata.context` carries the projection Graph writes for `$select`/`$expand`, and the
/// `filterByCurrentUser` functions answer a typed collection, as Graph does.
#[tokio::test]
async fn context_urls_follow_select_expand_and_functions() {
    let pim = Pim::start().await;
    let (_, alice_token, _, _) = two_activated_users(&pim).await;
    let admin = pim.admin_token();
    let context = |body: &Value| body["@odata.context"].as_str().unwrap_or_default().to_string();
    let (_, body) = pim.client.get(&format!("{}?$expand=principal", rm("roleAssignments")), &admin).await;
    assert!(context(&body).ends_with("$metadata#roleManagement/directory/roleAssignments(principal())"), "{body}");
    let (_, body) = pim
        .client
        .get(
            "/v1.0/policies/roleManagementPolicies?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'&$expand=rules&$top=1",
            &admin,
        )
        .await;
    assert!(context(&body).ends_with("$metadata#policies/roleManagementPolicies(rules())"), "{}", context(&body));
    let (_, body) = pim.client.get("/v1.0/users?$select=id,displayName", &admin).await;
    assert!(context(&body).ends_with("$metadata#users(id,displayName)"), "{}", context(&body));
    let (_, body) = pim.client.get(&format!("/v1.0/users/{}?$select=id", pim.admin_id), &admin).await;
    assert!(context(&body).ends_with("$metadata#users(id)/$entity"), "{}", context(&body));
    let (_, body) = pim.client.get(&format!("{ASSIGNMENT_INSTANCES}?$select=id&$expand=roleDefinition"), &admin).await;
    assert!(
        context(&body).ends_with("#roleManagement/directory/roleAssignmentScheduleInstances(id,roleDefinition())"),
        "{}",
        context(&body)
    );
    for (collection, ty) in [
        (ELIGIBILITY_REQUESTS, "unifiedRoleEligibilityScheduleRequest"),
        (ASSIGNMENT_REQUESTS, "unifiedRoleAssignmentScheduleRequest"),
        (ELIGIBILITY_SCHEDULES, "unifiedRoleEligibilitySchedule"),
        (ASSIGNMENT_SCHEDULES, "unifiedRoleAssignmentSchedule"),
        (ELIGIBILITY_INSTANCES, "unifiedRoleEligibilityScheduleInstance"),
        (ASSIGNMENT_INSTANCES, "unifiedRoleAssignmentScheduleInstance"),
    ] {
        let (status, body) =
            pim.client.get(&format!("{collection}/filterByCurrentUser(on='principal')"), &alice_token).await;
        assert_eq!(status, StatusCode::OK, "{collection}: {body}");
        assert!(
            context(&body).ends_with(&format!("$metadata#Collection(microsoft.graph.{ty})")),
            "{collection}: {}",
            context(&body)
        );
        assert!(!body["value"].as_array().unwrap().is_empty(), "{collection}: {body}");
    }
    pim.stop().await;
}

/// Graph's create-eligibility example: a 2-year eligibility under the default rules
/// (`isExpirationRequired: false`, `maximumDuration: P365D`) is Provisioned, and lists with its
/// full end. When expiration is not required, maximumDuration does not cap the end (as a
/// permanent schedule would be allowed). Before, it was refused with ExpirationRule.
#[tokio::test]
async fn long_schedules_are_accepted_when_expiration_is_not_required() {
    let pim = Pim::start().await;
    let admin = pim.admin_token();
    let (dana, _) = pim.user("dana").await;
    let end = pim.now() + Duration::days(730);
    let (status, body) =
        pim.eligibility_request(&admin, request("adminAssign", &dana, USER_ADMINISTRATOR, Some(until(end)))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned", "{body}");
    let rows = pim.rows_of(ELIGIBILITY_SCHEDULES, &dana).await;
    assert_eq!(at(&rows[0]["scheduleInfo"]["expiration"]["endDateTime"]), end, "{}", rows[0]);
    // Active assignments likewise (default P180D, not required).
    let end = pim.now() + Duration::days(400);
    let (status, body) =
        pim.assignment_request(&admin, request("adminAssign", &dana, GROUPS_ADMINISTRATOR, Some(until(end)))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned", "{body}");
    pim.stop().await;
}
