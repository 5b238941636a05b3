//! The web UI's Azure pages (issue #16) over real HTTP, on the fake-clock harness: the hierarchy
//! tree, a scope's assignments with the add/update/remove forms (and the 5-minute rule's
//! refusal shown), a reader who sees no admin forms, role settings at a scope, and My roles'
//! Azure part activating at a child scope and deactivating. What the forms did is checked by
//! asking the ARM API afterwards.

use crate::arm_pim_requests::{
    arm_token, azure, call, eligibility, rbac_assign, request_body, rg, schedule_for, sub, CONTRIBUTOR, READER, SUB, V,
};
use crate::common::ui::Browser;
use crate::pim::Pim;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use time::Duration;

fn scope_page(scope: &str) -> String {
    format!("/azure/scope?id={}", percent_encoding::utf8_percent_encode(scope, percent_encoding::NON_ALPHANUMERIC))
}

/// The live schedules of `collection` at `scope` for `principal`, as ARM reports them.
async fn schedules(pim: &Pim, admin: &str, collection: &str, scope: &str, principal: &str) -> Vec<Value> {
    let path =
        format!("{scope}/providers/Microsoft.Authorization/{collection}?{V}&$filter=principalId%20eq%20'{principal}'");
    let (status, body) = call(pim, Method::GET, &path, admin, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn admins_browse_the_tree_and_add_update_and_remove_assignments_at_a_scope() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (alice, _) = pim.user("alice").await;
    let ops = pim.group("ops", false).await;
    let mut b = Browser::signed_in(&pim.base(), &pim.admin_token()).await;

    // The navigation links to the Azure pages; the tree shows the subscriptions and their groups.
    let home = b.get("/my-roles").await;
    assert!(home.body.contains("href=\"/azure\""), "{}", home.body);
    let tree = b.get("/azure").await;
    assert_eq!(tree.status, StatusCode::OK, "{}", tree.body);
    assert!(tree.body.contains(&format!("sub {SUB}")), "{}", tree.body);
    for link in [scope_page(&sub()), scope_page(&rg("web")), scope_page(&rg("data"))] {
        assert!(tree.body.contains(&link), "{link} missing from the tree: {}", tree.body);
    }
    // Resource groups sit below their subscription.
    assert!(tree.body.find(&scope_page(&sub())).unwrap() < tree.body.find(&scope_page(&rg("web"))).unwrap());

    // The subscription's page: the admin's RBAC Owner assignment, and the forms (Owner there).
    let page = b.get(&scope_page(&sub())).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("action=\"/azure/assign\""), "{}", page.body);
    assert!(page.body.contains(&format!("<option value=\"{READER}\">Reader</option>")), "{}", page.body);
    assert!(page.body.contains("Owner"), "{}", page.body);

    // Add: Alice eligible for Reader at the subscription, for 365 days.
    let csrf = page.csrf();
    let subscription = sub();
    let done = b
        .submit(
            "/azure/assign",
            &[
                ("csrf", &csrf),
                ("scope", &subscription),
                ("kind", "eligible"),
                ("role", READER),
                ("member", "alice@openpim.test"),
                ("days", "365"),
                ("justification", "on call"),
            ],
        )
        .await;
    assert!(done.flash().contains("AdminAssign: Provisioned"), "{}", done.flash());
    let rows = schedules(&pim, &admin, "roleEligibilitySchedules", &sub(), &alice).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let end = rows[0]["properties"]["endDateTime"].as_str().unwrap().to_string();
    assert!(end.starts_with("2027-03-02"), "{end}");
    assert!(done.body.contains("alice") && done.body.contains("Direct"), "{}", done.body);

    // Below it, the same eligibility reads as inherited, without forms to change it there.
    let web = b.get(&scope_page(&rg("web"))).await;
    assert!(web.body.contains("Inherited"), "{}", web.body);
    assert!(!web.body.contains("action=\"/azure/remove\""), "{}", web.body);

    // Removing asks first: a confirmation page naming who loses what, and nothing changes.
    let remove = [
        ("csrf", csrf.as_str()),
        ("scope", subscription.as_str()),
        ("kind", "eligible"),
        ("role", READER),
        ("principal", alice.as_str()),
    ];
    let asked = b.post("/azure/remove", &remove).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("Remove an eligible assignment"), "{}", asked.body);
    assert!(asked.body.contains("<input type=\"hidden\" name=\"confirmed\" value=\"yes\">"), "{}", asked.body);
    assert_eq!(schedules(&pim, &admin, "roleEligibilitySchedules", &sub(), &alice).await.len(), 1);
    // Confirmed within five minutes, it is refused, and the page says why.
    let confirmed = [&remove[..], &[("confirmed", "yes")]].concat();
    let refused = b.submit("/azure/remove", &confirmed).await;
    assert!(refused.flash().contains("EligibleDurationTooShort"), "{}", refused.flash());
    assert!(refused.flash().contains("5-minute rule"), "{}", refused.flash());
    assert_eq!(schedules(&pim, &admin, "roleEligibilitySchedules", &sub(), &alice).await.len(), 1);

    // Update: 30 days from now.
    pim.advance(Duration::minutes(6));
    let updated = b
        .submit(
            "/azure/update",
            &[
                ("csrf", &csrf),
                ("scope", &subscription),
                ("kind", "eligible"),
                ("role", READER),
                ("principal", &alice),
                ("days", "30"),
            ],
        )
        .await;
    assert!(updated.flash().contains("AdminUpdate: Provisioned"), "{}", updated.flash());
    let rows = schedules(&pim, &admin, "roleEligibilitySchedules", &sub(), &alice).await;
    assert!(rows[0]["properties"]["endDateTime"].as_str().unwrap().starts_with("2026-04-01"), "{rows:?}");

    // Remove, now allowed.
    let removed = b.submit("/azure/remove", &confirmed).await;
    assert!(removed.flash().contains("AdminRemove"), "{}", removed.flash());
    assert!(schedules(&pim, &admin, "roleEligibilitySchedules", &sub(), &alice).await.is_empty());

    // An active assignment for a group, named by its display name, at a resource group.
    let data = rg("data");
    let added = b
        .submit(
            "/azure/assign",
            &[
                ("csrf", &csrf),
                ("scope", &data),
                ("kind", "active"),
                ("role", READER),
                ("member", "ops"),
                ("days", "30"),
                ("justification", "ops rota"),
            ],
        )
        .await;
    assert!(added.flash().contains("AdminAssign: Provisioned"), "{}", added.flash());
    let rows = schedules(&pim, &admin, "roleAssignmentSchedules", &data, &ops).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["properties"]["principalType"], "Group");

    // Bad input is a message, and nothing is sent: an unknown user, a missing duration.
    let bad = b
        .submit(
            "/azure/assign",
            &[
                ("csrf", &csrf),
                ("scope", &data),
                ("kind", "active"),
                ("role", READER),
                ("member", "nobody@openpim.test"),
                ("days", "3"),
            ],
        )
        .await;
    assert!(bad.flash().contains("There is no user"), "{}", bad.flash());
    let bad = b
        .submit(
            "/azure/assign",
            &[
                ("csrf", &csrf),
                ("scope", &data),
                ("kind", "active"),
                ("role", READER),
                ("member", "alice@openpim.test"),
            ],
        )
        .await;
    assert!(bad.flash().contains("Give a duration"), "{}", bad.flash());
    assert!(schedules(&pim, &admin, "roleAssignmentSchedules", &data, &alice).await.is_empty());

    // Role settings at the scope: Azure's defaults, in the editor (the admin may change them).
    let settings = b
        .get(&format!(
            "/azure/settings?scope={}&role={READER}",
            percent_encoding::utf8_percent_encode(&data, percent_encoding::NON_ALPHANUMERIC)
        ))
        .await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.body);
    assert!(settings.body.contains("Reader at Resource group data"), "{}", settings.body);
    assert!(settings.body.contains("name=\"activation_hours\""), "{}", settings.body);
    assert!(settings.body.contains("value=\"8\""), "{}", settings.body);
    assert!(
        settings.body.contains("Azure&#x27;s default settings") || settings.body.contains("Azure's default"),
        "{}",
        settings.body
    );
    pim.stop().await;
}

#[tokio::test]
async fn a_reader_sees_no_admin_forms_and_refusals_change_nothing() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (bob, bob_token) = pim.user("bob").await;
    let (carol, carol_token) = pim.user("carol").await;
    rbac_assign(&pim, &admin, &sub(), READER, &bob).await;

    let mut b = Browser::signed_in(&pim.base(), &bob_token).await;
    let page = b.get(&scope_page(&sub())).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("action=\"/azure/assign\""), "{}", page.body);
    assert!(page.body.contains("roleAssignments/write"), "{}", page.body);
    assert!(page.body.contains("bob"), "his own Reader assignment shows: {}", page.body);

    // A forged form: the API refuses, the page says so, nothing is created.
    let csrf = page.csrf();
    let subscription = sub();
    let refused = b
        .submit(
            "/azure/assign",
            &[
                ("csrf", &csrf),
                ("scope", &subscription),
                ("kind", "eligible"),
                ("role", READER),
                ("member", "carol@openpim.test"),
                ("days", "30"),
            ],
        )
        .await;
    assert!(refused.flash().contains("AuthorizationFailed"), "{}", refused.flash());
    assert!(schedules(&pim, &admin, "roleEligibilitySchedules", &sub(), &carol).await.is_empty());

    // Without the CSRF field: refused before anything is sent.
    let no_csrf = b
        .post(
            "/azure/assign",
            &[
                ("scope", &subscription),
                ("kind", "eligible"),
                ("role", READER),
                ("member", "carol@openpim.test"),
                ("days", "30"),
            ],
        )
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);

    // Someone who cannot read role assignments there sees the API's refusal, not the rows.
    let mut c = Browser::signed_in(&pim.base(), &carol_token).await;
    let page = c.get(&scope_page(&sub())).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(page.body.contains("AuthorizationFailed"), "{}", page.body);
    assert!(!page.body.contains("bob"), "{}", page.body);
    // Nor its settings.
    let settings = c.get(&format!("/azure/settings?scope=%2Fsubscriptions%2F{SUB}&role={READER}")).await;
    assert_eq!(settings.status, StatusCode::FORBIDDEN, "{}", settings.body);
    // A scope that is not one is a 400 page.
    let bad = c.get("/azure/scope?id=nonsense").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    pim.stop().await;
}

#[tokio::test]
async fn my_roles_activates_an_azure_eligibility_at_a_child_scope_and_deactivates_it() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (alice, alice_token) = pim.user("alice").await;
    let (status, body) =
        eligibility(&pim, &admin, &sub(), &request_body("AdminAssign", &alice, READER, Some(schedule_for("P365D"))))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // And Contributor through a group she is in.
    let deployers = pim.group("deployers", false).await;
    pim.add_member(&deployers, &alice).await;
    let (status, body) = eligibility(
        &pim,
        &admin,
        &rg("data"),
        &request_body("AdminAssign", &deployers, CONTRIBUTOR, Some(schedule_for("P30D"))),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let mut b = Browser::signed_in(&pim.base(), &alice_token).await;
    let home = b.get("/my-roles").await;
    assert!(home.body.contains("Via: Group deployers"), "{}", home.body);
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Eligible Azure roles"), "{}", home.body);
    assert!(home.body.contains("Reader"), "{}", home.body);
    // The scope is preselected; the resource groups below it are offered.
    assert!(home.body.contains(&format!("<option value=\"{}\" selected>", sub())), "{}", home.body);
    assert!(home.body.contains(&format!("<option value=\"{}\"", rg("web"))), "{}", home.body);
    assert!(home.body.contains("At most 8 hours"), "{}", home.body);

    // Longer than the policy allows: the API's refusal is shown; nothing is active.
    let csrf = home.csrf();
    let web = rg("web");
    let too_long = b
        .submit(
            "/azure/activate",
            &[("csrf", &csrf), ("role", READER), ("scope", &web), ("hours", "9"), ("justification", "deploy")],
        )
        .await;
    assert!(too_long.flash().contains("RoleAssignmentRequestPolicyValidationFailed"), "{}", too_long.flash());

    // Activate at the resource group.
    let active = b
        .submit(
            "/azure/activate",
            &[("csrf", &csrf), ("role", READER), ("scope", &web), ("hours", "1"), ("justification", "deploy")],
        )
        .await;
    assert!(active.flash().contains("Active at Resource group web"), "{}", active.flash());
    let alice_arm = arm_token(&pim, &alice);
    let path =
        format!("{web}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances?{V}&$filter=asTarget()");
    let (status, body) = call(&pim, Method::GET, &path, &alice_arm, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows = body["value"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0]["properties"]["assignmentType"], "Activated");
    assert_eq!(rows[0]["properties"]["scope"], web.as_str());
    assert!(active.body.contains("Active Azure roles"), "{}", active.body);
    assert!(active.body.contains("aria-label=\"Deactivate Reader at"), "{}", active.body);

    // Deactivating within five minutes is refused with the reason.
    let refused = b.submit("/azure/deactivate", &[("csrf", &csrf), ("role", READER), ("scope", &web)]).await;
    assert!(refused.flash().contains("ActiveDurationTooShort"), "{}", refused.flash());
    let (_, body) = call(&pim, Method::GET, &path, &alice_arm, None).await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1, "{body}");

    pim.advance(Duration::minutes(6));
    let done = b.submit("/azure/deactivate", &[("csrf", &csrf), ("role", READER), ("scope", &web)]).await;
    assert!(done.flash().contains("Deactivated at Resource group web"), "{}", done.flash());
    let (_, body) = call(&pim, Method::GET, &path, &alice_arm, None).await;
    assert!(body["value"].as_array().unwrap().is_empty(), "{body}");
    assert!(done.body.contains("No active Azure roles"), "{}", done.body);
    pim.stop().await;
}
