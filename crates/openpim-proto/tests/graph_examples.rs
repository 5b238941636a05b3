//! Every response body in Graph's documented examples (tests/data/graph-pim-examples.json, a copy
//! of the project's reference set) deserialises into its proto type and serialises back to the
//! same JSON. Properties OpenPIM does not model are listed in `NOT_MODELLED` and removed first.

use openpim_proto::policies::{PolicyRule, UnifiedRoleManagementPolicyAssignment};
use openpim_proto::roles::UnifiedRoleDefinition;
use openpim_proto::schedules::UnifiedRoleScheduleRequest;
use openpim_proto::Collection;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

const EXAMPLES: &str = include_str!("data/graph-pim-examples.json");

/// Top-level properties of a single-entity response that belong to the response, not the entity:
/// the proto entity types carry the entity only (collections model their envelope).
const NOT_MODELLED: &[&str] = &["@odata.context"];

fn entity_body(mut body: Value) -> Value {
    if let Value::Object(m) = &mut body {
        for key in NOT_MODELLED {
            m.remove(*key);
        }
    }
    body
}

fn round_trip<T: Serialize + DeserializeOwned>(title: &str, body: &Value) -> T {
    let typed: T =
        serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{title}: does not deserialise: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(&back, body, "{title}: re-serialised JSON differs");
    typed
}

fn examples() -> Vec<Value> {
    serde_json::from_str(EXAMPLES).unwrap()
}

#[test]
fn every_documented_response_round_trips() {
    let mut checked = 0;
    for ex in examples() {
        let title = ex["title"].as_str().unwrap();
        let path = ex["path"].as_str().unwrap();
        let body = ex["responseBody"].clone();
        if body.is_null() {
            continue; // 204s: cancel, PATCH
        }
        let resource = path.split('?').next().unwrap().trim_end_matches('/');
        if resource.ends_with("ScheduleRequests") {
            let r: UnifiedRoleScheduleRequest = round_trip(title, &entity_body(body));
            assert_eq!(r.action, ex["requestBody"]["action"].as_str().unwrap(), "{title}");
        } else if resource.ends_with("/rules") {
            let c: Collection<PolicyRule> = round_trip(title, &body);
            assert!(c.value.len() > 1, "{title}");
        } else if resource.ends_with("roleManagementPolicyAssignments") {
            let _: Collection<UnifiedRoleManagementPolicyAssignment> = round_trip(title, &body);
        } else if resource.ends_with("roleDefinitions") {
            let _: UnifiedRoleDefinition = round_trip(title, &entity_body(body));
        } else {
            panic!("{title}: no proto type is mapped to {path}");
        }
        checked += 1;
    }
    assert_eq!(checked, 8, "every example with a response body is checked");
}

#[test]
fn rules_are_told_apart_by_odata_type() {
    let ex = examples().into_iter().find(|e| e["path"].as_str().unwrap().ends_with("/rules")).unwrap();
    let rules: Collection<PolicyRule> = serde_json::from_value(ex["responseBody"].clone()).unwrap();
    let expiration = rules.value.iter().find(|r| r.id() == "Expiration_Admin_Eligibility").unwrap();
    let PolicyRule::Expiration(e) = expiration else { panic!("not an expiration rule: {expiration:?}") };
    assert_eq!(e.maximum_duration, "P365D");
    assert_eq!(expiration.target().caller, "Admin");
    assert!(rules.value.iter().any(|r| matches!(r, PolicyRule::Notification(n) if n.notification_type == "Email")));
    assert!(rules.value.iter().any(|r| matches!(r, PolicyRule::Approval(_))));

    let unknown = serde_json::json!({"@odata.type": "#microsoft.graph.somethingElse", "id": "x"});
    assert!(serde_json::from_value::<PolicyRule>(unknown).is_err());
}

#[test]
fn context_and_paging_round_trip() {
    let page = serde_json::json!({
        "@odata.context": "https://host/v1.0/$metadata#users",
        "@odata.count": 3,
        "@odata.nextLink": "https://host/v1.0/users?$skiptoken=abc",
        "value": [],
    });
    let c: Collection<Value> = serde_json::from_value(page.clone()).unwrap();
    assert_eq!(c.count, Some(3));
    assert_eq!(
        serde_json::to_string(&c).unwrap(),
        serde_json::to_string(&page).unwrap(),
        "order as the server sends it"
    );
}
