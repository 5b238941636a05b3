//! The OData query layer: paging, `$count`, `$select`, `$orderby`, `$filter` errors, and URL forms.

use crate::common;

use common::*;
use reqwest::StatusCode;
use std::collections::HashSet;

async fn server_with_users(n: usize) -> TestServer {
    let ts = TestServer::start().await;
    for i in 0..n {
        // Display names deliberately not in creation order.
        let name = format!("{} Person{i}", ["Kim", "Ana", "Zed", "Bea", "Ola", "Max", "Ian"][i % 7]);
        ts.create_user_named(&format!("p{i}@openpim.test"), &name).await;
    }
    ts
}

#[tokio::test]
async fn paging_with_next_links() {
    let ts = server_with_users(7).await;
    let admin = ts.admin_token();
    let total = 8; // 7 + the bootstrap admin

    let (status, first) = ts.client.get("/v1.0/users?$top=3", &admin).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(ids(&first).len(), 3);
    let next = first["@odata.nextLink"].as_str().expect("nextLink on a partial page");
    assert!(next.starts_with(&format!("{}/v1.0/users?", ts.base)), "absolute next link: {next}");
    assert!(next.contains("$skiptoken="), "{next}");
    assert!(next.contains("top=3"), "the page size is kept: {next}");

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut url = Some("/v1.0/users?$top=3".to_string());
    while let Some(u) = url {
        let (status, page) = ts.client.get(&u, &admin).await;
        assert_eq!(status, StatusCode::OK, "{u}: {page}");
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 3);
        seen.extend(page_ids);
        pages += 1;
        url = page["@odata.nextLink"].as_str().map(str::to_string);
        if url.is_none() {
            assert!(page.get("@odata.nextLink").is_none());
        }
        assert!(pages <= 10, "paging does not terminate");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), total, "{seen:?}");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), total, "every user exactly once: {seen:?}");

    // Paging keeps $filter and $orderby.
    let mut names = Vec::new();
    let mut url = Some("/v1.0/users?$filter=startswith(displayName,'Person') or startswith(userPrincipalName,'p')&$orderby=displayName&$top=2".to_string());
    while let Some(u) = url {
        let (status, page) = ts.client.get(&u, &admin).await;
        assert_eq!(status, StatusCode::OK, "{u}: {page}");
        names.extend(page["value"].as_array().unwrap().iter().map(|v| v["displayName"].as_str().unwrap().to_string()));
        url = page["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(names.len(), 7, "{names:?}");
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);

    // A full page with nothing after it carries no next link.
    let (_, all) = ts.client.get("/v1.0/users?$top=8", &admin).await;
    assert_eq!(ids(&all).len(), 8);
    assert!(all.get("@odata.nextLink").is_none(), "{all}");
    ts.stop().await;
}

#[tokio::test]
async fn count_needs_consistency_level() {
    let ts = server_with_users(4).await;
    let admin = ts.admin_token();
    let (status, body) = ts.client.get("/v1.0/users?$count=true", &admin).await;
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    assert!(body["error"]["message"].as_str().unwrap().contains("ConsistencyLevel"), "{body}");

    let (status, body) = ts.client.get_eventual("/v1.0/users?$count=true&$top=2", &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["@odata.count"], 5);
    assert_eq!(ids(&body).len(), 2);
    let (status, body) =
        ts.client.get_eventual("/v1.0/users?$count=true&$filter=startswith(userPrincipalName,'p')", &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["@odata.count"], 4);
    // Not a directory object: no header needed.
    let (status, body) = ts.client.get(&format!("{RM}/roleAssignments?$count=true"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["@odata.count"], 1);
    let (status, body) = ts.client.get("/v1.0/users?$count=maybe", &admin).await;
    assert_graph_error(status, &body, 400, "BadRequest");
    ts.stop().await;
}

#[tokio::test]
async fn select_and_orderby() {
    let ts = server_with_users(5).await;
    let admin = ts.admin_token();
    let (status, body) = ts.client.get("/v1.0/users?$select=displayName", &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["value"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    for item in items {
        let keys: Vec<&String> = item.as_object().unwrap().keys().filter(|k| !k.starts_with("@odata.")).collect();
        assert_eq!(keys, ["displayName"], "{item}");
    }
    let (status, body) =
        ts.client.get(&format!("/v1.0/users/{}?$select=id,userPrincipalName", ts.admin_id), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userPrincipalName"], ADMIN_UPN);
    assert!(body.get("displayName").is_none(), "{body}");
    let (status, body) = ts.client.get("/v1.0/users?$select=displayName,nonsense", &admin).await;
    assert_graph_error(status, &body, 400, "BadRequest");
    assert!(body["error"]["message"].as_str().unwrap().contains("nonsense"), "{body}");

    for (q, descending) in
        [("$orderby=displayName desc", true), ("$orderby=displayName", false), ("$orderby=displayName asc", false)]
    {
        let (status, body) = ts.client.get(&format!("/v1.0/users?{q}"), &admin).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let names: Vec<String> = body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["displayName"].as_str().unwrap().to_lowercase())
            .collect();
        let mut want = names.clone();
        want.sort();
        if descending {
            want.reverse();
        }
        assert_eq!(names, want, "{q}");
        assert_eq!(names.len(), 6);
    }
    let (status, body) = ts.client.get("/v1.0/users?$orderby=nonsense", &admin).await;
    assert_graph_error(status, &body, 400, "BadRequest");
    ts.stop().await;
}

#[tokio::test]
async fn bad_query_options_are_400() {
    let ts = server_with_users(3).await;
    let admin = ts.admin_token();
    let (status, body) = ts.client.get("/v1.0/users?$filter=shoeSize eq 42", &admin).await;
    assert_graph_error(status, &body, 400, "BadRequest");
    assert!(body["error"]["message"].as_str().unwrap().contains("shoeSize"), "{body}");
    for path in [
        "/v1.0/users?$filter=displayName eq",
        "/v1.0/users?$filter=displayName eq 'unterminated",
        "/v1.0/users?$filter=(displayName eq 'a'",
        "/v1.0/users?$filter=accountEnabled eq 'yes'",
        "/v1.0/users?$filter=id eq 'not-a-guid'",
        "/v1.0/users?$top=0",
        "/v1.0/users?$top=5000",
        "/v1.0/users?$top=-1",
        "/v1.0/users?$top=abc",
        "/v1.0/users?$skiptoken=AAAAAAAAAAAAAAAAAA",
        "/v1.0/users?$skiptoken=garbage",
        "/v1.0/users?$foo=bar",
        "/v1.0/users?$filter=displayName eq 'a'&$filter=displayName eq 'b'",
        "/v1.0/roleManagement/directory/roleDefinitions?$filter=bogus eq 1",
        "/v1.0/auditLogs/directoryAudits?$filter=activityDateTime ge 'yesterday'",
    ] {
        let (status, body) = ts.client.get(path, &admin).await;
        assert_graph_error(status, &body, 400, "BadRequest");
    }

    // A tampered next link.
    let (_, page) = ts.client.get("/v1.0/users?$top=2", &admin).await;
    let next = page["@odata.nextLink"].as_str().unwrap().to_string();
    let pos = next.find("$skiptoken=").unwrap() + "$skiptoken=".len();
    let mut tampered = next.clone().into_bytes();
    tampered[pos + 3] = if tampered[pos + 3] == b'A' { b'B' } else { b'A' };
    let (status, body) = ts.client.get(std::str::from_utf8(&tampered).unwrap(), &admin).await;
    assert_graph_error(status, &body, 400, "BadRequest");
    // The untampered one still works.
    assert_eq!(ts.client.get(&next, &admin).await.0, StatusCode::OK);
    // A well-formed token whose offset no database can take is a bad token, not a server fault.
    let huge = openpim_odata::encode_skiptoken(u64::MAX);
    for q in [format!("$skiptoken={huge}"), format!("$skiptoken={huge}&$skip=5")] {
        let (status, body) = ts.client.get(&format!("/v1.0/users?{q}"), &admin).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
    }
    ts.stop().await;
}

#[tokio::test]
async fn url_forms_clients_send() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    // Kiota percent-encodes everything, including the '$'.
    for q in [
        "%24filter=displayName%20eq%20%27Global%20Reader%27",
        "$filter=displayName%20eq%20%27Global%20Reader%27",
        "$filter=displayName eq 'Global Reader'",
        "$FILTER=displayName eq 'global reader'",
    ] {
        let (status, body) = ts.client.get(&format!("{RM}/roleDefinitions?{q}"), &admin).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        assert_eq!(ids(&body), vec![GLOBAL_READER.to_string()], "{q}");
    }
    // Trailing slash on collections and entities.
    let (status, body) = ts.client.get("/v1.0/users/", &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), vec![ts.admin_id.clone()]);
    let (status, body) = ts.client.get(&format!("{RM}/roleDefinitions/?$filter=isBuiltIn eq false"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(ids(&body).is_empty());
    let (status, body) = ts.client.get(&format!("/v1.0/users/{}/", ts.admin_id), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Non-system parameters without '$' are tolerated.
    let (status, body) = ts.client.get("/v1.0/users?api-version=1.0", &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // $filter with `in` and datetimes.
    let (status, body) = ts
        .client
        .get(&format!("{RM}/roleDefinitions?$filter=id in ('{GLOBAL_READER}','{GLOBAL_ADMINISTRATOR}')"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body).len(), 2);
    let (status, body) = ts.client.get("/v1.0/users?$filter=createdDateTime ge 2000-01-01T00:00:00Z", &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body).len(), 1);
    ts.stop().await;
}

#[tokio::test]
async fn unsupported_expand_and_search_are_refused_not_ignored() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    for path in [
        "/v1.0/users?$expand=manager",
        "/v1.0/me?$expand=memberOf",
        "/v1.0/groups?$expand=owners",
        "/v1.0/directory/administrativeUnits?$expand=members",
        "/v1.0/users?$search=\"displayName:adm\"",
        "/v1.0/roleManagement/directory/roleDefinitions?$search=\"global\"",
    ] {
        let (status, body) = ts.client.get(path, &admin).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
        assert!(
            body["error"]["message"].as_str().unwrap().contains('$')
                || body["error"]["message"].as_str().unwrap().contains("navigation"),
            "{path}: {body}"
        );
    }
    ts.stop().await;
}

#[tokio::test]
async fn count_path_segments_answer_a_bare_number() {
    let ts = server_with_users(4).await;
    let admin = ts.admin_token();
    let text = |path: &str, eventual: bool| {
        let mut req = ts.client.request(reqwest::Method::GET, path, Some(&admin));
        if eventual {
            req = req.header("ConsistencyLevel", "eventual");
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let content_type = resp.headers().get("content-type").map(|h| h.to_str().unwrap().to_string());
            (status, content_type, resp.text().await.unwrap())
        }
    };
    // Four users plus the bootstrap administrator.
    let (status, content_type, body) = text("/v1.0/users/$count", true).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.unwrap().starts_with("text/plain"));
    assert_eq!(body, "5");
    let (status, _, body) = text("/v1.0/users/$count", false).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, _, all) = text("/v1.0/roleManagement/directory/roleDefinitions/$count", false).await;
    let (_, _, custom) =
        text("/v1.0/roleManagement/directory/roleDefinitions/$count?$filter=isBuiltIn eq false", false).await;
    assert!(all.parse::<u64>().unwrap() >= 60);
    assert_eq!(custom, "0");
    let (_, _, assignments) = text("/v1.0/roleManagement/directory/roleAssignments/$count", false).await;
    assert_eq!(assignments, "1", "the bootstrap Global Administrator");
    let (_, _, groups) = text("/v1.0/groups/$count", true).await;
    assert_eq!(groups, "0");
    ts.stop().await;
}

/// .NET's `HttpUtility.UrlEncode` (ScubaGear, Maester, PowerShell tools) writes spaces as `+`;
/// Graph decodes them, inside literals too, and a literal plus is `%2B`. Before, these were 400s
/// or matched nothing.
#[tokio::test]
async fn plus_in_query_strings_is_a_space() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    for q in [
        "$filter=displayName+eq+%27Global+Reader%27",
        "%24filter=displayName+eq+'Global+Reader'",
        "$filter=displayName%20eq%20%27Global+Reader%27",
        "$filter=startswith(displayName,+'Global+Read')&$select=id,displayName",
    ] {
        let (status, body) = ts.client.get(&format!("{RM}/roleDefinitions?{q}"), &admin).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        assert_eq!(ids(&body), vec![GLOBAL_READER.to_string()], "{q}");
    }
    // `%2B` is a plus: no role is named "Global+Reader".
    let (status, body) =
        ts.client.get(&format!("{RM}/roleDefinitions?$filter=displayName+eq+'Global%2BReader'"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(ids(&body).is_empty(), "{body}");
    // Next links keep working when the query used `+`.
    ts.create_user_named("p1@openpim.test", "Plus One").await;
    ts.create_user_named("p2@openpim.test", "Plus Two").await;
    let (status, first) = ts.client.get("/v1.0/users?$filter=startswith(displayName,'Plus+')&$top=1", &admin).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(ids(&first).len(), 1);
    let next = first["@odata.nextLink"].as_str().expect("next link").to_string();
    let (status, second) = ts.client.get(&next, &admin).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(ids(&second).len(), 1);
    assert_ne!(ids(&first), ids(&second));
    ts.stop().await;
}

/// Graph matches path segments ignoring case (ids keep their value) and query option names
/// ignoring case, with spaces around `=` as its docs write them. Before, these were 404s/400s.
#[tokio::test]
async fn paths_and_option_names_ignore_case() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    for path in [
        "/v1.0/rolemanagement/directory/roleAssignments",
        "/V1.0/ROLEMANAGEMENT/Directory/RoleAssignments",
        "/v1.0/roleManagement/directory/roleassignments/",
    ] {
        let (status, body) = ts.client.get(path, &admin).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["value"].as_array().map(Vec::len), Some(1), "{path}: {body}");
    }
    let (status, body) = ts.client.get(&format!("/v1.0/Users/{}", ts.admin_id), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], ts.admin_id.as_str());
    // `$count` is a fixed segment, not a user id.
    let (status, body) = ts.client.get_eventual("/v1.0/USERS/$COUNT", &admin).await;
    assert_eq!((status, body), (StatusCode::OK, serde_json::json!(1)));
    // Functions too.
    let (status, body) = ts
        .client
        .get(&format!("{RM}/roleassignmentscheduleinstances/FilterByCurrentUser(on='principal')"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"][0]["principalId"], ts.admin_id.as_str(), "{body}");
    // Fixed segments between keys; the keys (policy and rule ids) are passed on as sent.
    let (_, policies) = ts
        .client
        .get(
            "/v1.0/policies/roleManagementPolicies?$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'&$top=1",
            &admin,
        )
        .await;
    let policy = policies["value"][0]["id"].as_str().expect("a policy id").to_string();
    let (status, body) = ts
        .client
        .get(&format!("/v1.0/POLICIES/roleManagementpolicies/{policy}/RULES/Expiration_Admin_Eligibility"), &admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], "Expiration_Admin_Eligibility");
    let (status, body) = ts.client.get("/v1.0/nosuchthing", &admin).await;
    assert_graph_error(status, &body, 404, "UnknownError");
    for q in [
        "$Filter=displayName eq 'Global Reader'&$TOP=5",
        "$filter = displayName eq 'Global Reader'",
        "$filter+=+displayName+eq+'Global+Reader'&$Select = id",
    ] {
        let (status, body) = ts.client.get(&format!("{RM}/roleDefinitions?{q}"), &admin).await;
        assert_eq!(status, StatusCode::OK, "{q}: {body}");
        assert_eq!(ids(&body), vec![GLOBAL_READER.to_string()], "{q}");
    }
    ts.stop().await;
}
