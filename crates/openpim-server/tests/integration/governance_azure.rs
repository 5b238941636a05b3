//! Graph beta PIM iteration 2, provider `azureResources` (`/beta/privilegedAccess/azureResources`):
//! a view over the Azure hierarchy and ARM PIM. The set-up is the ARM PIM suite's
//! (`arm_pim_requests::azure`): the admin elevated, subscriptions `SUB` (owned by the admin, with
//! resource groups `web` and `data`) and `OTHER_SUB`. SQLite always; PostgreSQL too when
//! `OPENPIM_TEST_POSTGRES_URL` is set.

use crate::arm_pim_requests::{azure, rbac_assign, rg, sub, OTHER_SUB, READER, SUB};
use crate::common::{assert_graph_error, USER_ADMINISTRATOR};
use crate::pim::Pim;
use reqwest::StatusCode;
use serde_json::{json, Value};

const AZ: &str = "/beta/privilegedAccess/azureResources";

async fn get(pim: &Pim, path: &str, token: &str) -> (StatusCode, Value) {
    pim.client.get(&format!("{AZ}{path}"), token).await
}

async fn post(pim: &Pim, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    pim.client.post(&format!("{AZ}{path}"), token, body).await
}

/// The governanceResource with externalId `scope` among `items`.
fn by_external_id<'a>(items: &'a [Value], scope: &str) -> Option<&'a Value> {
    items.iter().find(|r| r["externalId"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(scope)))
}

/// The governance id of the resource at `scope`, read from `token`'s list.
async fn resource_id(pim: &Pim, token: &str, scope: &str) -> String {
    let items = pim.list(&format!("{AZ}/resources"), token).await;
    let r = by_external_id(&items, scope).unwrap_or_else(|| panic!("{scope} not in {items:?}"));
    r["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn resources_are_the_azure_scopes_the_caller_holds_a_role_on() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (bob, bob_t) = pim.user("bob").await;
    rbac_assign(&pim, &admin, &sub(), READER, &bob).await;

    // Bob reads SUB and what is in it, not OTHER_SUB nor the management groups above.
    let items = pim.list(&format!("{AZ}/resources"), &bob_t).await;
    let s = by_external_id(&items, &sub()).expect("the subscription");
    assert_eq!(s["type"], "subscription");
    assert_eq!(s["status"], "Active");
    assert_eq!(s["displayName"], format!("sub {SUB}"));
    assert_eq!(s["registeredRoot"], sub());
    assert!(s["registeredDateTime"].as_str().is_some_and(|t| t.ends_with('Z')), "{s}");
    let web = by_external_id(&items, &rg("web")).expect("rg web");
    assert_eq!(web["type"], "resourcegroup");
    assert_eq!(web["displayName"], "web");
    assert_eq!(web["registeredRoot"], sub());
    assert!(by_external_id(&items, &rg("data")).is_some());
    assert!(by_external_id(&items, &format!("/subscriptions/{OTHER_SUB}")).is_none(), "{items:?}");
    assert!(items.iter().all(|r| r["type"] != "managementgroup"), "{items:?}");

    // The admin (User Access Administrator at `/`) sees everything, the tenant root group too.
    let all = pim.list(&format!("{AZ}/resources"), &pim.admin_token()).await;
    assert!(by_external_id(&all, &format!("/subscriptions/{OTHER_SUB}")).is_some());
    assert!(all.iter().any(|r| r["type"] == "managementgroup"), "{all:?}");

    // Ids are stable: the same resource has the same id for every caller; get and $filter work.
    let web_id = web["id"].as_str().unwrap();
    assert_eq!(by_external_id(&all, &rg("web")).unwrap()["id"], web_id);
    let (status, got) = get(&pim, &format!("/resources/{web_id}?$expand=parent"), &bob_t).await;
    assert_eq!(status, StatusCode::OK, "{got}");
    assert_eq!(got["externalId"], rg("web"));
    assert_eq!(got["parent"]["externalId"], sub());
    assert_eq!(got["parent"]["id"], s["id"]);
    let filtered = pim.list(&format!("{AZ}/resources?$filter=type eq 'resourcegroup'"), &bob_t).await;
    assert_eq!(filtered.len(), 2, "{filtered:?}");

    // A resource bob holds nothing on answers as a missing one: 404 in Graph's shape.
    let other_id = by_external_id(&all, &format!("/subscriptions/{OTHER_SUB}")).unwrap()["id"].as_str().unwrap();
    let (status, body) = get(&pim, &format!("/resources/{other_id}"), &bob_t).await;
    assert_graph_error(status, &body, 404, "ResourceNotFound");
    let (status, body) = get(&pim, &format!("/resources/{}/roleDefinitions", uuid::Uuid::new_v4()), &bob_t).await;
    assert_graph_error(status, &body, 404, "ResourceNotFound");
    let (status, body) = get(&pim, "/resources/not-a-guid", &bob_t).await;
    assert_graph_error(status, &body, 404, "ResourceNotFound");

    // register: 200 for an existing scope bob holds a role on (any casing); the documented
    // error for one he does not, one that does not exist, and one that is not a scope.
    let (status, body) = post(&pim, "/resources/register", &bob_t, json!({"externalId": sub().to_uppercase()})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for bad in [format!("/subscriptions/{OTHER_SUB}"), rg("missing"), "nonsense".to_string()] {
        let (status, body) = post(&pim, "/resources/register", &bob_t, json!({"externalId": bad})).await;
        assert_graph_error(status, &body, 400, "ResourceNotFound");
    }
    pim.stop().await;
}

#[tokio::test]
async fn role_definitions_are_the_azure_roles_assignable_at_the_resource() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (bob, bob_t) = pim.user("bob").await;
    rbac_assign(&pim, &admin, &sub(), READER, &bob).await;
    let sub_id = resource_id(&pim, &bob_t, &sub()).await;

    let roles = pim.list(&format!("{AZ}/resources/{sub_id}/roleDefinitions"), &bob_t).await;
    let reader = roles.iter().find(|r| r["templateId"] == READER).expect("Reader");
    assert_eq!(reader["id"], READER);
    assert_eq!(reader["displayName"], "Reader");
    assert_eq!(reader["resourceId"], sub_id.as_str());
    assert_eq!(
        reader["externalId"],
        format!("{}/providers/Microsoft.Authorization/roleDefinitions/{READER}", sub())
    );
    // Azure roles only: no directory role is a role of an Azure resource.
    assert!(roles.iter().all(|r| r["id"] != USER_ADMINISTRATOR), "a directory role listed");
    assert!(roles.len() > 100, "the built-in Azure roles: {}", roles.len());

    let path = format!("/resources/{sub_id}/roleDefinitions/{READER}?$expand=resource");
    let (status, one) = get(&pim, &path, &bob_t).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["externalId"], reader["externalId"]);
    assert_eq!(one["resource"]["externalId"], sub());
    let (status, body) = get(&pim, &format!("/resources/{sub_id}/roleDefinitions/{USER_ADMINISTRATOR}"), &bob_t).await;
    assert_graph_error(status, &body, 400, "RoleNotFound");

    // The provider level lists every Azure role, read at ARM's root.
    let (status, top) = get(&pim, &format!("/roleDefinitions/{READER}"), &bob_t).await;
    assert_eq!(status, StatusCode::OK, "{top}");
    assert_eq!(top["externalId"], format!("/providers/Microsoft.Authorization/roleDefinitions/{READER}"));
    pim.stop().await;
}
