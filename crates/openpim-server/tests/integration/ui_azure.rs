//! The web UI's Azure pages (issue #16) over real HTTP, on the fake-clock harness: the hierarchy
//! tree, a scope's assignments with the add/update/remove forms (and the 5-minute rule's
//! refusal shown), a reader who sees no admin forms, role settings at a scope, and My roles'
//! Azure part activating at a child scope and deactivating. What the forms did is checked by
//! asking the ARM API afterwards.

use crate::arm_pim_requests::{
    arm_token, azure, call, eligibility, rbac_assign, request_body, rg, schedule_for, sub, CONTRIBUTOR, READER, SUB, V,
};
use crate::pim::Pim;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use time::Duration;

/// A browser stand-in: keeps cookies, never follows redirects.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).unwrap_or_else(|| panic!("no csrf field in: {}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_string()
    }
}

impl Browser {
    fn new(pim: &Pim) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        Self { base: format!("http://{}", pim.server.addr), http, cookies: HashMap::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        let status = resp.status();
        let headers = resp.headers().clone();
        for c in headers.get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let body = resp.text().await.unwrap();
        Page { status, headers, body }
    }

    async fn get(&mut self, path: &str) -> Page {
        let resp =
            self.http.get(format!("{}{path}", self.base)).header("Cookie", self.cookie_header()).send().await.unwrap();
        self.finish(resp).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.base)).header("Cookie", self.cookie_header()).form(form);
        let resp = req.send().await.unwrap();
        self.finish(resp).await
    }

    /// Posts a form and follows its redirect: the page with the flash message.
    async fn submit(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let done = self.post(path, form).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{path}: {}", done.body);
        let to = done.location().to_string();
        self.get(&to).await
    }

    async fn sign_in(pim: &Pim, token: &str) -> Self {
        let mut b = Self::new(pim);
        let form = b.get("/signin").await;
        let csrf = form.csrf();
        let done = b.post("/signin", &[("csrf", &csrf), ("token", token)]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        b
    }
}

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

/// The text of the page's flash message.
fn flash(page: &Page) -> String {
    let start = page.body.find("class=\"flash").unwrap_or_else(|| panic!("no flash in: {}", page.body));
    let rest = &page.body[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</p>").unwrap();
    rest[open..close].to_string()
}

#[tokio::test]
async fn admins_browse_the_tree_and_add_update_and_remove_assignments_at_a_scope() {
    let pim = Pim::start().await;
    let admin = azure(&pim).await;
    let (alice, _) = pim.user("alice").await;
    let ops = pim.group("ops", false).await;
    let mut b = Browser::sign_in(&pim, &pim.admin_token()).await;

    // The navigation links to the Azure pages; the tree shows the subscriptions and their groups.
    let home = b.get("/").await;
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
    assert!(flash(&done).contains("AdminAssign: Provisioned"), "{}", flash(&done));
    let rows = schedules(&pim, &admin, "roleEligibilitySchedules", &sub(), &alice).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let end = rows[0]["properties"]["endDateTime"].as_str().unwrap().to_string();
    assert!(end.starts_with("2027-03-02"), "{end}");
    assert!(done.body.contains("alice") && done.body.contains("Direct"), "{}", done.body);

    // Below it, the same eligibility reads as inherited, without forms to change it there.
    let web = b.get(&scope_page(&rg("web"))).await;
    assert!(web.body.contains("Inherited"), "{}", web.body);
    assert!(!web.body.contains("action=\"/azure/remove\""), "{}", web.body);

    // Removing it within five minutes is refused, and the page says why.
    let refused = b
        .submit(
            "/azure/remove",
            &[("csrf", &csrf), ("scope", &subscription), ("kind", "eligible"), ("role", READER), ("principal", &alice)],
        )
        .await;
    assert!(flash(&refused).contains("EligibleDurationTooShort"), "{}", flash(&refused));
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
    assert!(flash(&updated).contains("AdminUpdate: Provisioned"), "{}", flash(&updated));
    let rows = schedules(&pim, &admin, "roleEligibilitySchedules", &sub(), &alice).await;
    assert!(rows[0]["properties"]["endDateTime"].as_str().unwrap().starts_with("2026-04-01"), "{rows:?}");

    // Remove, now allowed.
    let removed = b
        .submit(
            "/azure/remove",
            &[("csrf", &csrf), ("scope", &subscription), ("kind", "eligible"), ("role", READER), ("principal", &alice)],
        )
        .await;
    assert!(flash(&removed).contains("AdminRemove"), "{}", flash(&removed));
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
    assert!(flash(&added).contains("AdminAssign: Provisioned"), "{}", flash(&added));
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
    assert!(flash(&bad).contains("There is no user"), "{}", flash(&bad));
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
    assert!(flash(&bad).contains("Give a duration"), "{}", flash(&bad));
    assert!(schedules(&pim, &admin, "roleAssignmentSchedules", &data, &alice).await.is_empty());

    // Role settings at the scope: Azure's defaults, read-only.
    let settings = b
        .get(&format!(
            "/azure/settings?scope={}&role={READER}",
            percent_encoding::utf8_percent_encode(&data, percent_encoding::NON_ALPHANUMERIC)
        ))
        .await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.body);
    assert!(settings.body.contains("Reader at Resource group data"), "{}", settings.body);
    assert!(settings.body.contains("8 hours"), "{}", settings.body);
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

    let mut b = Browser::sign_in(&pim, &bob_token).await;
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
    assert!(flash(&refused).contains("AuthorizationFailed"), "{}", flash(&refused));
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
    let mut c = Browser::sign_in(&pim, &carol_token).await;
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

    let mut b = Browser::sign_in(&pim, &alice_token).await;
    let home = b.get("/").await;
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
    assert!(flash(&too_long).contains("RoleAssignmentRequestPolicyValidationFailed"), "{}", flash(&too_long));

    // Activate at the resource group.
    let active = b
        .submit(
            "/azure/activate",
            &[("csrf", &csrf), ("role", READER), ("scope", &web), ("hours", "1"), ("justification", "deploy")],
        )
        .await;
    assert!(flash(&active).contains("Active at Resource group web"), "{}", flash(&active));
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
    assert!(flash(&refused).contains("ActiveDurationTooShort"), "{}", flash(&refused));
    let (_, body) = call(&pim, Method::GET, &path, &alice_arm, None).await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1, "{body}");

    pim.advance(Duration::minutes(6));
    let done = b.submit("/azure/deactivate", &[("csrf", &csrf), ("role", READER), ("scope", &web)]).await;
    assert!(flash(&done).contains("Deactivated at Resource group web"), "{}", flash(&done));
    let (_, body) = call(&pim, Method::GET, &path, &alice_arm, None).await;
    assert!(body["value"].as_array().unwrap().is_empty(), "{body}");
    assert!(done.body.contains("No active Azure roles"), "{}", done.body);
    pim.stop().await;
}
