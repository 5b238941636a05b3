//! How ARM's PIM answers name a scope (issue #16): `expandedProperties.scope` of requests,
//! schedules and instances, the items of `eligibleChildResources` and a policy's
//! `policyProperties.scope` carry the resource's display name and type from the hierarchy the
//! server holds (a management group's and a subscription's displayName, a resource group's name
//! as created, a resource's name and type), not the id's last segment; a scope that no longer
//! exists falls back to its last segment. SQLite always; PostgreSQL too when
//! `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::arm_pim_requests::{arm_token, azure, call, eligibility, request_body, schedule_for, sub, READER, SUB, V};
use crate::pim::Pim;
use openpim_core::scope::ArmScope;
use openpim_server::azure::scope_labels::{label, ScopeLabel};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The resource group as created (`WebTier`) and as the requests spell it (`webtier`).
fn web_tier(spelling: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{spelling}")
}

fn shop() -> String {
    format!("{}/providers/Microsoft.Web/sites/shop", web_tier("WebTier"))
}

async fn create(pim: &Pim, admin: &str, id: &str, version: &str) {
    let (status, body) =
        call(pim, Method::PUT, &format!("{id}?api-version={version}"), admin, Some(&json!({"location": "westeurope"})))
            .await;
    assert!(status.is_success(), "create {id}: {body}");
}

fn items(body: &Value) -> &Vec<Value> {
    body["value"].as_array().unwrap_or_else(|| panic!("no value array in {body}"))
}

#[tokio::test]
async fn pim_answers_name_scopes_by_their_display_names_and_types() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    create(&pim, &admin, &web_tier("WebTier"), "2021-04-01").await;
    create(&pim, &admin, &shop(), "2023-01-01").await;
    let (alice, _) = pim.user("alice").await;
    let alice_arm = arm_token(&pim, &alice);
    let root_group = format!("/providers/Microsoft.Management/managementGroups/{}", pim.server.state.tenant_id);

    // What Azure would show for each scope, by lowercased id.
    let expected: HashMap<String, (String, &str)> = [
        (root_group.clone(), ("Tenant Root Group".to_string(), "managementgroup")),
        (sub(), (format!("sub {SUB}"), "subscription")),
        (web_tier("WebTier"), ("WebTier".to_string(), "resourcegroup")),
        (shop(), ("shop".to_string(), "Microsoft.Web/sites")),
        (format!("/subscriptions/{SUB}/resourceGroups/web"), ("web".to_string(), "resourcegroup")),
        (format!("/subscriptions/{SUB}/resourceGroups/data"), ("data".to_string(), "resourcegroup")),
    ]
    .into_iter()
    .map(|(id, v)| (id.to_ascii_lowercase(), v))
    .collect();
    let check = |scope: &Value| {
        let id = scope["id"].as_str().unwrap_or_else(|| panic!("no id in {scope}")).to_ascii_lowercase();
        let (name, kind) = expected.get(&id).unwrap_or_else(|| panic!("unexpected scope {scope}"));
        assert_eq!(
            (scope["displayName"].as_str(), scope["type"].as_str()),
            (Some(name.as_str()), Some(*kind)),
            "{scope}"
        );
    };

    // AdminAssign at each level answers the scope's label; the group is named `webtier` here,
    // and still shown as created.
    for scope in [root_group.clone(), sub(), web_tier("webtier"), shop()] {
        let body = request_body("AdminAssign", &alice, READER, Some(schedule_for("P30D")));
        let (status, created) = eligibility(&pim, &admin, &scope, &body).await;
        assert_eq!(status, StatusCode::CREATED, "{scope}: {created}");
        check(&created["properties"]["expandedProperties"]["scope"]);
    }
    let resource_request = items(
        &call(
            &pim,
            Method::GET,
            &format!(
                "{}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests?$filter=asTarget()&{V}",
                shop()
            ),
            &alice_arm,
            None,
        )
        .await
        .1,
    )
    .clone();
    assert!(!resource_request.is_empty());
    resource_request.iter().for_each(|r| check(&r["properties"]["expandedProperties"]["scope"]));

    // Schedules and instances seen from the resource: its own and the three above it, each
    // labelled as its own scope.
    for collection in ["roleEligibilitySchedules", "roleEligibilityScheduleInstances"] {
        let path = format!("{}/providers/Microsoft.Authorization/{collection}?$filter=asTarget()&{V}", shop());
        let (status, body) = call(&pim, Method::GET, &path, &alice_arm, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(items(&body).len(), 4, "{collection}: {body}");
        items(&body).iter().for_each(|s| check(&s["properties"]["expandedProperties"]["scope"]));
    }

    // eligibleChildResources names each scope by its display name and type; a resource type
    // filters, and so does `resource` for any resource.
    let children =
        |filter: &str| format!("{}/providers/Microsoft.Authorization/eligibleChildResources?{filter}{V}", sub());
    let (status, body) = call(&pim, Method::GET, &children(""), &alice_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(items(&body).len(), 5, "the subscription, three groups and the site: {body}");
    for item in items(&body) {
        check(&json!({"id": item["id"], "displayName": item["name"], "type": item["type"]}));
    }
    for filter in
        ["resourceType eq 'Microsoft.Web/sites'", "resourceType eq 'microsoft.web/SITES'", "resourceType eq 'resource'"]
    {
        let (status, body) = call(&pim, Method::GET, &children(&format!("$filter={filter}&")), &alice_arm, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let names: Vec<&str> = items(&body).iter().map(|i| i["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["shop"], "{filter}");
    }

    // A policy's scope reads the same label.
    let policies = format!(
        "{}/providers/Microsoft.Authorization/roleManagementPolicies?$filter=roleDefinitionId%20eq%20'{}/providers/Microsoft.Authorization/roleDefinitions/{READER}'&{V}",
        web_tier("webtier"),
        web_tier("webtier")
    );
    let (status, body) = call(&pim, Method::GET, &policies, &admin, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(items(&body)[0]["properties"]["policyProperties"]["scope"]["displayName"], "WebTier");
    pim.stop().await;
}

#[tokio::test]
async fn a_scope_that_no_longer_exists_is_named_by_its_last_segment() {
    let pim = Pim::start().await;
    azure(&pim).await;
    let state = &pim.server.state;
    let cases = [
        (format!("/subscriptions/{SUB}/resourceGroups/gone"), "gone", "resourcegroup"),
        (
            format!("/subscriptions/{SUB}/resourceGroups/gone/providers/Microsoft.Sql/servers/s1/databases/db1"),
            "db1",
            "Microsoft.Sql/servers/databases",
        ),
        ("/providers/Microsoft.Management/managementGroups/Retired".to_string(), "Retired", "managementgroup"),
        (
            "/subscriptions/7a1c0de5-0000-4000-8000-00000000dead".to_string(),
            "7a1c0de5-0000-4000-8000-00000000dead",
            "subscription",
        ),
        ("/".to_string(), "Root", "root"),
    ];
    for (raw, display_name, scope_type) in cases {
        let scope = ArmScope::parse(&raw).unwrap();
        let got = label(state, &scope).await.unwrap_or_else(|e| panic!("{raw}: {e:?}"));
        assert_eq!(got, ScopeLabel { display_name: display_name.into(), scope_type: scope_type.into() }, "{raw}");
    }
    // An existing subscription has its display name, not its id.
    let existing = label(state, &ArmScope::parse(&sub()).unwrap()).await.unwrap();
    assert_eq!(existing.display_name, format!("sub {SUB}"));
    pim.stop().await;
}
