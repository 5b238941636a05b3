//! ARM's resource-group and resource lists with `$filter` and `$top`, as Microsoft.Resources
//! serves them (`ResourceGroups_List`, `Resources_List`, `Resources_ListByResourceGroup`):
//! resource groups by tag, resources by type, name, location, resource group, `substringof` and
//! tags (answered without tags), `$top` as the page size with next links, ARM's
//! `InvalidFilterInQueryString` for the rest, and each caller seeing only what it may read.
//! SQLite always; PostgreSQL too when `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::common;

use common::arm::{admin_owns_subscription, arm, arm_token_for, assert_arm_error, assign};
use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SUB: &str = "7f5e3c4d-0000-4000-8000-00000000c771";
const RG_V: &str = "api-version=2021-04-01";
const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

fn rg(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{name}")
}

fn resource(group: &str, kind: &str, name: &str) -> String {
    format!("{}/providers/{kind}/{name}", rg(group))
}

/// PUTs a resource group or resource with `location` and `tags` as `token`.
async fn put_tagged(ts: &TestServer, token: &str, id: &str, location: &str, tags: Value) {
    let version = if id.contains("/providers/") { "2023-01-01" } else { "2021-04-01" };
    let body = json!({"location": location, "tags": tags});
    let r = arm(ts, Method::PUT, &format!("{id}?api-version={version}"), Some(token), Some(&body)).await;
    assert!(r.status.is_success(), "create {id}: {}", r.body);
}

/// Every item's name over all pages from `path` (following next links), and how many pages.
async fn names_over_pages(ts: &TestServer, token: &str, path: &str) -> (Vec<String>, usize) {
    let (mut names, mut pages, mut next) = (Vec::new(), 0, Some(path.to_string()));
    while let Some(url) = next {
        let r = arm(ts, Method::GET, &url, Some(token), None).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.body);
        names.extend(r.body["value"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()));
        next = r.body["nextLink"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages < 50, "runaway paging");
    }
    (names, pages)
}

async fn list(ts: &TestServer, token: &str, path: &str) -> Value {
    let r = arm(ts, Method::GET, path, Some(token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    r.body
}

fn names(list: &Value) -> Vec<&str> {
    list["value"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect()
}

/// The estate: three groups (two tagged), and resources of two types in two of them.
async fn estate(ts: &TestServer) -> String {
    let admin = admin_owns_subscription(ts, &[SUB], &[]).await;
    put_tagged(ts, &admin, &rg("prod-web"), "westeurope", json!({"Environment": "Prod", "team": "web"})).await;
    put_tagged(ts, &admin, &rg("dev-web"), "westeurope", json!({"environment": "Dev"})).await;
    put_tagged(ts, &admin, &rg("plain"), "eastus", json!({})).await;
    let storage = "Microsoft.Storage/storageAccounts";
    let vms = "Microsoft.Compute/virtualMachines";
    put_tagged(ts, &admin, &resource("prod-web", vms, "web-demo-1"), "westeurope", json!({"department": "sales"}))
        .await;
    put_tagged(ts, &admin, &resource("prod-web", storage, "prodlogs"), "westeurope", json!({"owner": "ann"})).await;
    put_tagged(ts, &admin, &resource("dev-web", vms, "web-demo-2"), "eastus", json!({"owner": "bob"})).await;
    put_tagged(ts, &admin, &resource("dev-web", storage, "devlogs"), "West Europe", json!({})).await;
    admin
}

#[tokio::test]
async fn resource_groups_filter_by_tag_and_page_by_top() {
    let ts = TestServer::start().await;
    let admin = estate(&ts).await;
    let groups = |q: &str| format!("/subscriptions/{SUB}/resourcegroups?{RG_V}&{q}");

    let all = list(&ts, &admin, &groups("")).await;
    assert_eq!(names(&all), ["dev-web", "plain", "prod-web"]);
    // Tag names ignore case; tag values do not.
    let tagged = list(&ts, &admin, &groups("$filter=tagName+eq+'ENVIRONMENT'")).await;
    assert_eq!(names(&tagged), ["dev-web", "prod-web"]);
    let prod = list(&ts, &admin, &groups("$filter=tagName eq 'environment' and tagValue eq 'Prod'")).await;
    assert_eq!(names(&prod), ["prod-web"]);
    assert_eq!(prod["value"][0]["tags"]["team"], "web", "resource groups keep their tags");
    let prod_lower =
        list(&ts, &admin, &groups("$filter=tagName%20eq%20'environment'%20and%20tagValue%20eq%20'prod'")).await;
    assert!(names(&prod_lower).is_empty(), "{prod_lower}");
    // What ARM does not filter resource groups on is refused, never ignored.
    for bad in ["name eq 'plain'", "tagValue eq 'Prod'", "location eq 'eastus'", "tagName eq 'x"] {
        let r = arm(&ts, Method::GET, &groups(&format!("$filter={bad}")), Some(&admin), None).await;
        assert_arm_error(&r, 400, "InvalidFilterInQueryString");
        assert!(r.body["error"]["message"].as_str().unwrap().starts_with("Invalid $filter '"), "{}", r.body);
    }

    // `$top` is the page size; the next link keeps it and the filter.
    let r = arm(&ts, Method::GET, &groups("$top=1&$filter=tagName eq 'environment'"), Some(&admin), None).await;
    assert_eq!(names(&r.body), ["dev-web"], "{}", r.body);
    let link = r.body["nextLink"].as_str().expect("a next link");
    assert!(link.contains("%24top=1") && link.contains("%24filter="), "{link}");
    let (paged, pages) = names_over_pages(&ts, &admin, &groups("$top=2")).await;
    assert_eq!((paged, pages), (vec!["dev-web".to_string(), "plain".into(), "prod-web".into()], 2));
    for bad in ["$top=0", "$top=-3", "$top=many"] {
        let r = arm(&ts, Method::GET, &groups(bad), Some(&admin), None).await;
        assert_arm_error(&r, 400, "InvalidQueryParameterValue");
    }
    ts.stop().await;
}

#[tokio::test]
async fn resources_list_at_the_subscription_and_the_group_with_arms_filters() {
    let ts = TestServer::start().await;
    let admin = estate(&ts).await;
    let in_sub = |q: &str| format!("/subscriptions/{SUB}/resources?{RG_V}&{q}");
    let in_group = |g: &str, q: &str| format!("{}/resources?{RG_V}&{q}", rg(g));

    let all = list(&ts, &admin, &in_sub("")).await;
    assert_eq!(names(&all), ["web-demo-2", "devlogs", "web-demo-1", "prodlogs"], "ordered by id");
    let first = &all["value"][0];
    assert_eq!(first["type"], "Microsoft.Compute/virtualMachines");
    assert_eq!(first["id"], resource("dev-web", "Microsoft.Compute/virtualMachines", "web-demo-2"));
    assert!(first.get("properties").is_none(), "lists leave properties out: {first}");
    assert_eq!(first["tags"]["owner"], "bob");

    let cases: &[(&str, &[&str])] = &[
        ("resourceType eq 'microsoft.compute/virtualMachines'", &["web-demo-2", "web-demo-1"]),
        ("resourceType ne 'Microsoft.Compute/virtualMachines'", &["devlogs", "prodlogs"]),
        ("name eq 'PRODLOGS'", &["prodlogs"]),
        ("substringof('demo', name)", &["web-demo-2", "web-demo-1"]),
        ("substringof('prod', resourceGroup)", &["web-demo-1", "prodlogs"]),
        ("resourceGroup eq 'dev-web'", &["web-demo-2", "devlogs"]),
        ("location eq 'westeurope'", &["devlogs", "web-demo-1", "prodlogs"]),
        (
            "(substringof('logs', name) or substringof('demo-2', name)) and resourceType eq 'Microsoft.Storage/storageAccounts'",
            &["devlogs", "prodlogs"],
        ),
        ("startswith(tagName, 'depart')", &["web-demo-1"]),
        ("tagName eq 'Owner'", &["web-demo-2", "prodlogs"]),
    ];
    for (filter, expected) in cases {
        let body = list(&ts, &admin, &in_sub(&format!("$filter={filter}"))).await;
        assert_eq!(names(&body), *expected, "{filter}");
    }
    // Filtered by tag, resources come without their tags (as ARM answers).
    let by_tag = list(&ts, &admin, &in_sub("$filter=tagName eq 'owner' and tagValue eq 'ann'")).await;
    assert_eq!(names(&by_tag), ["prodlogs"]);
    assert!(by_tag["value"][0].get("tags").is_none(), "{by_tag}");

    // The same at a resource group.
    let group =
        list(&ts, &admin, &in_group("prod-web", "$filter=resourceType eq 'Microsoft.Compute/virtualMachines'")).await;
    assert_eq!(names(&group), ["web-demo-1"]);
    let (paged, pages) = names_over_pages(&ts, &admin, &in_group("dev-web", "$top=1")).await;
    assert_eq!((paged, pages), (vec!["web-demo-2".to_string(), "devlogs".into()], 2));
    let (paged, pages) = names_over_pages(&ts, &admin, &in_sub("$top=3&$filter=substringof('o', name)")).await;
    assert_eq!((paged.len(), pages), (4, 2), "{paged:?}");

    // Refused: what ARM does not filter on, what OpenPIM does not keep, tags mixed with others.
    for bad in [
        "type eq 'x'",
        "plan/publisher eq 'x'",
        "identity/principalId eq 'x'",
        "substringof('x', location)",
        "tagName eq 'owner' and name eq 'prodlogs'",
        "name eq prodlogs",
    ] {
        let r = arm(&ts, Method::GET, &in_sub(&format!("$filter={bad}")), Some(&admin), None).await;
        assert_arm_error(&r, 400, "InvalidFilterInQueryString");
        let r = arm(&ts, Method::GET, &in_group("dev-web", &format!("$filter={bad}")), Some(&admin), None).await;
        assert_arm_error(&r, 400, "InvalidFilterInQueryString");
    }
    let r = arm(&ts, Method::GET, &in_sub("$top=0"), Some(&admin), None).await;
    assert_arm_error(&r, 400, "InvalidQueryParameterValue");
    let r = arm(
        &ts,
        Method::GET,
        &format!("/subscriptions/00000000-0000-4000-8000-0000000000ff/resources?{RG_V}"),
        Some(&admin),
        None,
    )
    .await;
    assert_arm_error(&r, 404, "SubscriptionNotFound");
    let r = arm(&ts, Method::POST, &in_sub(""), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.body);
    ts.stop().await;
}

#[tokio::test]
async fn lists_show_only_what_the_caller_may_read() {
    let ts = TestServer::start().await;
    let admin = estate(&ts).await;
    let reader = ts.create_user("reader@lists.test").await;
    let reader_token = arm_token_for(&ts, "reader@lists.test");
    ts.create_user("nobody@lists.test").await;
    let nobody_token = arm_token_for(&ts, "nobody@lists.test");
    // Reader on one resource group only.
    assign(&ts, &admin, &rg("dev-web"), READER, &reader).await;

    let sub_resources = format!("/subscriptions/{SUB}/resources?{RG_V}");
    assert_eq!(names(&list(&ts, &reader_token, &sub_resources).await), ["web-demo-2", "devlogs"]);
    let filtered = format!("{sub_resources}&$filter=substringof('logs', name)");
    assert_eq!(names(&list(&ts, &reader_token, &filtered).await), ["devlogs"]);
    let groups = format!("/subscriptions/{SUB}/resourcegroups?{RG_V}");
    assert_eq!(names(&list(&ts, &reader_token, &groups).await), ["dev-web"]);
    // Another group's list needs reading that group.
    let r = arm(&ts, Method::GET, &format!("{}/resources?{RG_V}", rg("prod-web")), Some(&reader_token), None).await;
    assert_arm_error(&r, 403, "AuthorizationFailed");
    // Nothing readable: empty lists, as for resource groups.
    assert!(names(&list(&ts, &nobody_token, &sub_resources).await).is_empty());
    assert!(names(&list(&ts, &nobody_token, &groups).await).is_empty());
    ts.stop().await;
}
