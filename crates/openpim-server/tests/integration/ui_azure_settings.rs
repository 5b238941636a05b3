//! The web UI's Azure role settings editor and Azure approvals (issue #16), over real HTTP on
//! the fake-clock harness: an Owner edits a role's settings at a subscription (bad input and a
//! forged form change nothing; a Reader only reads them), and an activation that then needs
//! approval is approved on the Approvals page, which shows its scope, while its requester sees
//! it pending and then active (or cancels it). What the forms did is checked by asking the ARM
//! API afterwards.

use crate::arm_pim_requests::{arm_token, azure, call, make_eligible, rbac_assign, rg, sub, READER, V};
use crate::common::ui::{Browser, Page};
use crate::pim::Pim;
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The settings page (and the editor's target) of `role` at `scope`.
fn settings_page(scope: &str, role: &str) -> String {
    format!("/azure/settings?scope={}&role={role}", enc(scope))
}

/// `role`'s policy rules at `scope`, as ARM answers them.
async fn rules(pim: &Pim, token: &str, scope: &str, role: &str) -> Vec<Value> {
    let filter =
        enc(&format!("roleDefinitionId eq '{scope}/providers/Microsoft.Authorization/roleDefinitions/{role}'"));
    let path = format!("{scope}/providers/Microsoft.Authorization/roleManagementPolicies?{V}&$filter={filter}");
    let (status, body) = call(pim, Method::GET, &path, token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"][0]["properties"]["rules"].as_array().cloned().expect("rules")
}

fn rule<'a>(rules: &'a [Value], id: &str) -> &'a Value {
    rules.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("no rule {id} in {rules:?}"))
}

/// The editor's fields: Azure's defaults (8 hours, justification; eligibility up to a year,
/// active assignments up to 180 days, neither permanent), with `changes` over them.
fn form<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf", csrf),
        ("activation_hours", "8"),
        ("justification", "on"),
        ("approvers", ""),
        ("eligible_days", "365"),
        ("active_days", "180"),
    ];
    for (k, v) in changes {
        f.retain(|(key, _)| key != k);
        f.push((k, v));
    }
    f
}

/// The "Update role setting in PIM" audit records with `result`.
async fn setting_audits(pim: &Pim, result: &str) -> usize {
    pim.audits()
        .await
        .iter()
        .filter(|a| a["activityDisplayName"] == "Update role setting in PIM" && a["result"] == result)
        .count()
}

#[tokio::test]
async fn an_owner_edits_azure_role_settings_bad_input_changes_nothing_and_a_reader_only_reads() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (_, _alice_token) = pim.user("alice").await;
    let ops = pim.group("ops", false).await;
    let (bob, bob_token) = pim.user("bob").await;
    rbac_assign(&pim, &admin, &sub(), READER, &bob).await;
    let subscription = sub();
    let page_path = settings_page(&subscription, READER);
    let before = rules(&pim, &admin, &subscription, READER).await;

    let mut b = Browser::signed_in(&pim.base(), &pim.admin_token()).await;
    let page = b.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<form method=\"post\" action=\"/azure/settings?scope="), "{}", page.body);
    assert!(page.body.contains("Save settings"), "{}", page.body);
    let csrf = page.csrf();

    // Bad input: the form says why; nothing is written, nothing audited.
    for (changes, why) in [
        (vec![("activation_hours", "forty")], "maximum activation must be a number of hours"),
        (vec![("activation_hours", "25")], "at most 24"),
        (vec![("eligible_days", "0")], "whole number of days"),
        (vec![("approval", "on"), ("approvers", "nobody@openpim.test")], "There is no user"),
        (vec![("approval", "on"), ("approvers", "no such group")], "no single group named"),
    ] {
        let shown = b.submit(&page_path, &form(&csrf, &changes)).await;
        assert!(shown.flash().contains(why), "{changes:?}: {}", shown.flash());
    }
    // Core's validation is the API's: approval without approvers is refused by the PATCH.
    let refused = b.submit(&page_path, &form(&csrf, &[("approval", "on")])).await;
    assert!(refused.flash().contains("Nothing was saved"), "{}", refused.flash());
    assert_eq!(rules(&pim, &admin, &subscription, READER).await, before);
    assert_eq!(setting_audits(&pim, "success").await, 0);
    assert_eq!(setting_audits(&pim, "failure").await, 1, "the refused PATCH is audited");

    // Without the CSRF field: refused before anything is sent.
    let forged = b.post(&page_path, &form("", &[("activation_hours", "2")])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(rules(&pim, &admin, &subscription, READER).await, before);

    // The edit: every setting the editor has, in one PATCH through the ARM operation.
    let saved = b
        .submit(
            &page_path,
            &form(
                &csrf,
                &[
                    ("activation_hours", "2"),
                    ("mfa", "on"),
                    ("ticket", "on"),
                    ("approval", "on"),
                    ("approvers", "alice@openpim.test, ops"),
                    ("eligible_days", "30"),
                    ("active_permanent", "on"),
                    ("active_days", "90"),
                ],
            ),
        )
        .await;
    assert!(saved.flash().starts_with("Saved: "), "{}", saved.flash());
    let after = rules(&pim, &admin, &subscription, READER).await;
    assert_eq!(rule(&after, "Expiration_EndUser_Assignment")["maximumDuration"], "PT2H");
    let enabled = rule(&after, "Enablement_EndUser_Assignment")["enabledRules"].clone();
    assert_eq!(enabled, serde_json::json!(["MultiFactorAuthentication", "Justification", "Ticketing"]));
    let approval = &rule(&after, "Approval_EndUser_Assignment")["setting"];
    assert_eq!(approval["isApprovalRequired"], true);
    let approvers = approval["approvalStages"][0]["primaryApprovers"].as_array().unwrap();
    assert_eq!(approvers.len(), 2, "{approval}");
    assert_eq!(approvers[0]["userType"], "User");
    assert_eq!(approvers[1]["userType"], "Group");
    assert_eq!(approvers[1]["id"], ops.as_str());
    let eligible = rule(&after, "Expiration_Admin_Eligibility");
    assert_eq!(
        (eligible["isExpirationRequired"].clone(), eligible["maximumDuration"].clone()),
        (true.into(), "P30D".into())
    );
    let active = rule(&after, "Expiration_Admin_Assignment");
    assert_eq!(
        (active["isExpirationRequired"].clone(), active["maximumDuration"].clone()),
        (false.into(), "P90D".into())
    );
    assert_eq!(setting_audits(&pim, "success").await, 1, "one PATCH, one audit record");
    // The page shows what was saved; settings are per scope, so the resource group below
    // keeps Azure's defaults.
    assert!(saved.body.contains("value=\"2\""), "{}", saved.body);
    assert!(saved.body.contains("value=\"alice@openpim.test, ops\""), "{}", saved.body);
    assert!(saved.body.contains("These settings were changed"), "{}", saved.body);
    let below = rules(&pim, &admin, &rg("web"), READER).await;
    assert_eq!(rule(&below, "Approval_EndUser_Assignment")["setting"]["isApprovalRequired"], false);
    // Saving the same again changes nothing.
    let again = b
        .submit(
            &page_path,
            &form(
                &csrf,
                &[
                    ("activation_hours", "2"),
                    ("mfa", "on"),
                    ("ticket", "on"),
                    ("approval", "on"),
                    ("approvers", "alice@openpim.test, ops"),
                    ("eligible_days", "30"),
                    ("active_permanent", "on"),
                    ("active_days", "90"),
                ],
            ),
        )
        .await;
    assert_eq!(again.flash(), "Nothing changed.");

    // A Reader at the subscription reads the settings, without the editor...
    let mut r = Browser::signed_in(&pim.base(), &bob_token).await;
    let read = r.get(&page_path).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert!(!read.body.contains("Save settings"), "{}", read.body);
    assert!(read.body.contains("2 hours"), "{}", read.body);
    assert!(read.body.contains("Owner, User Access Administrator"), "{}", read.body);
    // ...and a forged save is the API's refusal: nothing changes.
    let csrf = read.csrf();
    let refused = r.submit(&page_path, &form(&csrf, &[("activation_hours", "1")])).await;
    assert!(refused.flash().contains("AuthorizationFailed"), "{}", refused.flash());
    assert_eq!(rules(&pim, &admin, &subscription, READER).await, after);
    // A page naming no scope is a 400.
    let bad = r.get(&format!("/azure/settings?scope=nonsense&role={READER}")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    pim.stop().await;
}

/// The Approvals page's card for `role_name`, if it lists one.
fn card<'a>(page: &'a Page, role_name: &str) -> Option<&'a str> {
    page.body.split("<tr>").skip(1).find(|c| c.contains("name=\"pick\"") && c.contains(role_name))
}

/// A hidden field's value in `html`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// The request a queue row decides: its approval and stage (`approval|stage`, as the row's
/// checkbox sends it).
fn pick(row: &str) -> String {
    let marker = "name=\"pick\" value=\"";
    let start = row.find(marker).unwrap_or_else(|| panic!("no pick in {row}")) + marker.len();
    row[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn an_azure_activation_needing_approval_is_approved_on_the_approvals_page() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (_alice, alice_token) = pim.user("alice").await;
    let (bob, bob_token) = pim.user("bob").await;
    make_eligible(&pim, &admin, &sub(), &bob, READER, "P30D").await;

    // The admin requires approval for Reader at the subscription, by Alice or Bob.
    let subscription = sub();
    let page_path = settings_page(&subscription, READER);
    let mut a = Browser::signed_in(&pim.base(), &pim.admin_token()).await;
    let csrf = a.get(&page_path).await.csrf();
    let saved = require_approval_by_alice_or_bob(&mut a, &page_path, &csrf).await;
    assert!(saved.flash().contains("Approval_EndUser_Assignment"), "{}", saved.flash());

    // Bob activates at a resource group below: pending, shown on his My roles.
    let mut b = Browser::signed_in(&pim.base(), &bob_token).await;
    let home = b.get("/my-roles").await;
    assert!(home.body.contains("Request activation"), "{}", home.body);
    let csrf = home.csrf();
    let web = rg("web");
    let pending = b
        .submit(
            "/azure/activate",
            &[("csrf", &csrf), ("role", READER), ("scope", &web), ("hours", "1"), ("justification", "deploy")],
        )
        .await;
    assert!(pending.flash().contains("waiting for approval"), "{}", pending.flash());
    assert!(pending.body.contains("Azure activations waiting for approval"), "{}", pending.body);
    assert!(pending.body.contains("PendingApproval"), "{}", pending.body);

    // Bob is an approver too, but never of his own request: his page does not list it, and a
    // forged decision is refused.
    let own = b.get("/approvals").await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(card(&own, "Reader").is_none(), "{}", own.body);
    let mut al = Browser::signed_in(&pim.base(), &alice_token).await;
    let list = al.get("/approvals").await;
    let shown = card(&list, "Reader").unwrap_or_else(|| panic!("no card: {}", list.body));
    let pick = pick(shown);
    assert!(pick.split_once('|').is_some_and(|(a, s)| !a.is_empty() && !s.is_empty()), "{pick}");
    let forged = b.submit("/approvals", &[("csrf", &csrf), ("pick", &pick), ("decision", "Approve")]).await;
    assert!(forged.flash().contains("AuthorizationFailed"), "{}", forged.flash());

    // Alice's page shows the request with its scope: the resource group's name and path.
    assert!(shown.contains("bob (bob@openpim.test)"), "{shown}");
    assert!(shown.contains("Resource group web"), "{shown}");
    assert!(shown.contains(&format!("<code>{web}</code>")), "{shown}");
    assert!(shown.contains("deploy"), "{shown}");
    assert!(shown.contains("for 1 hour"), "{shown}");
    // The stage asks the approver's reason (Azure's default): without one, the API's refusal
    // is shown and the request still waits.
    let csrf = list.csrf();
    let decide = [("csrf", csrf.as_str()), ("pick", &pick), ("decision", "Approve")];
    let unexplained = al.submit("/approvals", &decide).await;
    assert!(unexplained.flash().contains("ApproverJustificationRequired"), "{}", unexplained.flash());
    assert!(card(&unexplained, "Reader").is_some(), "{}", unexplained.body);
    let mut with_reason = decide.to_vec();
    with_reason.push(("reason", "release window"));
    let approved = al.submit("/approvals", &with_reason).await;
    assert!(approved.flash().contains("approved"), "{}", approved.flash());
    assert!(card(&approved, "Reader").is_none(), "{}", approved.body);

    // Bob's My roles: active at the resource group, nothing pending.
    let home = b.get("/my-roles").await;
    assert!(!home.body.contains("Azure activations waiting for approval"), "{}", home.body);
    assert!(home.body.contains("aria-label=\"Deactivate Reader at"), "{}", home.body);
    let path =
        format!("{web}/providers/Microsoft.Authorization/roleAssignmentScheduleInstances?{V}&$filter=asTarget()");
    let (status, body) = call(&pim, Method::GET, &path, &arm_token(&pim, &bob), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"].as_array().unwrap().len(), 1, "{body}");
    assert!(body["value"][0]["properties"]["scope"].as_str().unwrap().ends_with("/resourceGroups/web"));
    pim.stop().await;
}

/// Saves "require approval by Alice or Bob" with the other settings at Azure's defaults.
async fn require_approval_by_alice_or_bob(b: &mut Browser, page_path: &str, csrf: &str) -> Page {
    b.submit(page_path, &form(csrf, &[("approval", "on"), ("approvers", "alice@openpim.test, bob@openpim.test")])).await
}

#[tokio::test]
async fn a_pending_azure_activation_is_canceled_from_my_roles() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (_alice, _) = pim.user("alice").await;
    let (bob, bob_token) = pim.user("bob").await;
    make_eligible(&pim, &admin, &sub(), &bob, READER, "P30D").await;
    let subscription = sub();
    let page_path = settings_page(&subscription, READER);
    let mut a = Browser::signed_in(&pim.base(), &pim.admin_token()).await;
    let csrf = a.get(&page_path).await.csrf();
    require_approval_by_alice_or_bob(&mut a, &page_path, &csrf).await;

    let mut b = Browser::signed_in(&pim.base(), &bob_token).await;
    let csrf = b.get("/my-roles").await.csrf();
    let pending = b
        .submit(
            "/azure/activate",
            &[("csrf", &csrf), ("role", READER), ("scope", &subscription), ("hours", "1"), ("justification", "x")],
        )
        .await;
    let row = pending.body.split("azure-pending-h").nth(2).expect("the pending table").to_string();
    let (id, scope) = (hidden(&row, "id"), hidden(&row, "scope"));
    assert!(row.contains("action=\"/azure/cancel\""), "{row}");
    // A form naming no request changes nothing.
    let bad = b.submit("/azure/cancel", &[("csrf", &csrf), ("id", "nonsense"), ("scope", &scope)]).await;
    assert!(bad.flash().contains("names no Azure request"), "{}", bad.flash());
    let canceled = b.submit("/azure/cancel", &[("csrf", &csrf), ("id", &id), ("scope", &scope)]).await;
    assert_eq!(canceled.flash(), "The request is canceled.");
    assert!(!canceled.body.contains("azure-pending-h"), "{}", canceled.body);
    let path = format!("{scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{id}?{V}");
    let (status, body) = call(&pim, Method::GET, &path, &arm_token(&pim, &bob), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["properties"]["status"], "Canceled");
    pim.stop().await;
}
