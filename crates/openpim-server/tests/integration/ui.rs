//! The web UI over real HTTP: sign-in, CSRF refusals, security headers, escaping, and API
//! refusals surfacing on pages. The UI calls the Graph API in-process, so what it may do is
//! checked here by asking the API afterwards.

use crate::common;

use common::ui::Browser;
use common::*;
use reqwest::StatusCode;
use std::time::Duration;

fn mfa_token(ts: &TestServer, upn: &str) -> String {
    common::mint_for_upn(&ts.server, upn, true, &[], time::OffsetDateTime::now_utc(), Duration::from_secs(3600))
}

/// Bob's eligibility schedules for `role`, as the API reports them.
async fn eligibilities(ts: &TestServer, principal: &str, role: &str) -> usize {
    let path = format!(
        "{RM}/roleEligibilitySchedules?$filter=principalId%20eq%20'{principal}'%20and%20roleDefinitionId%20eq%20'{role}'"
    );
    ts.list_all(&path, &ts.admin_token()).await.len()
}

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_and_pages_render_for_that_user() {
    let ts = TestServer::start().await;
    let mut b = Browser::new(&ts.base);

    // Not signed in: pages send the browser to the sign-in form.
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), "/signin");

    let form = b.get("/signin").await;
    assert!(form.body.contains("name=\"token\""), "the local issuer is on: token paste is offered");
    assert!(!form.body.contains("/signin/oidc/"), "no identity provider is configured: no provider sign-in");
    let csrf = form.csrf();
    let done = b.post("/signin", &[("csrf", &csrf), ("token", &ts.admin_token())]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let session = done.set_cookies().into_iter().find(|c| c.starts_with("openpim_session=")).expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attr), "{session} has {attr}");
    }
    assert!(!session.contains("Secure"), "plain http without an https public URL");

    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains(ADMIN_UPN), "the header names the signed-in user");
    assert!(home.body.contains("Signed in as"), "the flash message is shown once");
    let again = b.get("/").await;
    assert!(!again.body.contains("Signed in as"), "and not twice");
    for path in ["/roles", "/groups", "/audit", "/approvals", &format!("/roles/{USER_ADMINISTRATOR}")] {
        let p = b.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
    }
    let settings = b.get(&format!("/roles/{USER_ADMINISTRATOR}/settings")).await;
    assert_eq!(settings.status, StatusCode::OK);
    assert!(settings.body.contains("value=\"8\""), "default maximum activation is 8 hours");

    // Sign-out clears the session.
    let csrf = again.csrf();
    let out = b.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/").await.location(), "/signin");
    ts.stop().await;
}

#[tokio::test]
async fn bad_tokens_and_forged_sign_ins_are_refused() {
    let ts = TestServer::start().await;
    let mut b = Browser::new(&ts.base);
    // Garbage and expired tokens go back to the form with a message and no session.
    let expired =
        ts.mint(ADMIN_UPN, time::OffsetDateTime::now_utc() - time::Duration::hours(2), Duration::from_secs(60));
    for token in ["not-a-token", expired.as_str()] {
        let page = b.sign_in(token).await;
        assert!(page.body.contains("Sign-in failed"), "{}", page.body);
        assert!(!b.cookies.contains_key("openpim_session"));
    }
    // A token for a user who does not exist.
    let page = b.sign_in(&ts.token_for("ghost@openpim.test")).await;
    assert!(page.body.contains("Sign-in failed"));
    assert!(!b.cookies.contains_key("openpim_session"));
    // A sign-in post without the pre-session cookie's CSRF token is refused.
    let mut other = Browser::new(&ts.base);
    let refused = other.post("/signin", &[("csrf", "x"), ("token", &ts.admin_token())]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!other.cookies.contains_key("openpim_session"));
    ts.stop().await;
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_or_from_another_site_change_nothing() {
    let ts = TestServer::start().await;
    let bob = ts.create_user("bob@openpim.test").await;
    let mut b = Browser::new(&ts.base);
    let page = b.sign_in(&ts.admin_token()).await;
    let csrf = page.csrf();
    let path = format!("/roles/{USER_ADMINISTRATOR}/assign");
    let form = |csrf: &'static str| {
        vec![("csrf", csrf), ("member", "bob@openpim.test"), ("kind", "eligible"), ("permanent", "on")]
    };
    for bad in ["", "AAAA", "not-the-token-at-all-but-just-as-long-as-one-43c"] {
        let refused = b.post(&path, &form(bad)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "csrf {bad:?}");
        assert!(refused.body.contains("security token"));
    }
    let no_field = b.post(&path, &[("member", "bob@openpim.test"), ("kind", "eligible"), ("permanent", "on")]).await;
    assert_eq!(no_field.status, StatusCode::FORBIDDEN);
    // The right token, but sent by another site's page.
    let mut good = form("");
    good[0].1 = Box::leak(csrf.clone().into_boxed_str());
    let cross =
        b.post_with(&path, &good, &[("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")]).await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let cross_origin = b.post_with(&path, &good, &[("Origin", "http://evil.example")]).await;
    assert_eq!(cross_origin.status, StatusCode::FORBIDDEN);
    assert_eq!(eligibilities(&ts, &bob, USER_ADMINISTRATOR).await, 0, "nothing was assigned");

    // The same form with the right token from the same origin works.
    let origin = ts.base.clone();
    let ok = b.post_with(&path, &good, &[("Origin", &origin), ("Sec-Fetch-Site", "same-origin")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(eligibilities(&ts, &bob, USER_ADMINISTRATOR).await, 1);
    let role_page = b.get(ok.location()).await;
    assert!(role_page.body.contains("is now eligible"), "{}", role_page.body);
    assert!(role_page.body.contains("bob@openpim.test"));
    ts.stop().await;
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let ts = TestServer::start().await;
    let mut b = Browser::new(&ts.base);
    let signin = b.get("/signin").await;
    let home = b.sign_in(&ts.admin_token()).await;
    for page in [&signin, &home] {
        let h = |name: &str| page.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        assert!(h("content-security-policy").starts_with("default-src 'self'"));
        assert!(!h("content-security-policy").contains("unsafe-inline"));
        assert_eq!(h("x-frame-options"), "DENY");
        assert_eq!(h("referrer-policy"), "same-origin");
        assert_eq!(h("cache-control"), "no-store");
        // No inline script: the one script is the self-hosted progressive enhancement.
        let self_hosted = "<script src=\"/static/app.js\" defer></script>";
        assert_eq!(page.body.matches("<script").count(), page.body.matches(self_hosted).count(), "{}", page.body);
        assert!(!page.body.contains("style="), "no inline styles");
    }
    let css = b.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"].to_str().unwrap().starts_with("text/css"));
    let js = b.get("/static/app.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(js.body.contains("time[datetime]"));
    assert!(home.body.contains("<script src=\"/static/app.js\" defer></script>"), "pages load it");
    // The API's own responses are unchanged: JSON errors, no UI redirect.
    let api = ts.client.send(ts.client.request(reqwest::Method::GET, "/v1.0/me", None)).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.body["error"]["code"], "InvalidAuthenticationToken");
    ts.stop().await;
}

#[tokio::test]
async fn display_names_that_look_like_html_are_escaped() {
    let ts = TestServer::start().await;
    let evil = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let id = ts.create_user_named("mallory@openpim.test", evil).await;
    ts.assign_role(&id, GLOBAL_READER, "/").await;
    let mut b = Browser::new(&ts.base);
    let home = b.sign_in(&mfa_token(&ts, "mallory@openpim.test")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"), "{}", home.body);
    assert!(!home.body.contains("<script>alert"));
    assert!(!home.body.contains("<img src=x"));
    // An admin viewing the role's (active) holders sees the name escaped too.
    let mut admin = Browser::new(&ts.base);
    admin.sign_in(&ts.admin_token()).await;
    let role = admin.get(&format!("/roles/{GLOBAL_READER}?tab=active")).await;
    assert!(role.body.contains("&#60;script&#62;"));
    assert!(!role.body.contains("<script>alert"));
    ts.stop().await;
}

#[tokio::test]
async fn a_non_admin_cannot_add_an_assignment_and_sees_the_api_refusal() {
    let ts = TestServer::start().await;
    let bob = ts.create_user("bob@openpim.test").await;
    let mut b = Browser::new(&ts.base);
    let home = b.sign_in(&mfa_token(&ts, "bob@openpim.test")).await;
    let csrf = home.csrf();
    let path = format!("/roles/{USER_ADMINISTRATOR}/assign");
    let resp = b
        .post(&path, &[("csrf", &csrf), ("member", "bob@openpim.test"), ("kind", "eligible"), ("permanent", "on")])
        .await;
    assert_eq!(resp.status, StatusCode::SEE_OTHER);
    let page = b.get(resp.location()).await;
    assert!(page.body.contains("Not allowed. Authorization_RequestDenied"), "{}", page.body);
    assert_eq!(eligibilities(&ts, &bob, USER_ADMINISTRATOR).await, 0);
    // Pages that need a role are the HTML 403 page, and not in the navigation.
    for path in ["/audit", "/users", "/groups", "/roles"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("<h2 id=\"problem-h\">403 Forbidden</h2>"), "{path}: {}", page.body);
        assert!(page.body.contains("You need a directory role that allows this page"), "{}", page.body);
        assert!(!page.body.contains(&format!("href=\"{path}\"")), "{path} is not linked: {}", page.body);
    }
    // The CSV is the API's export, which refuses with the API's 403.
    let csv = b.get("/audit.csv").await;
    assert_eq!(csv.status, StatusCode::FORBIDDEN);
    assert!(csv.body.contains("You need a role that allows this page. Authorization_RequestDenied"));
    ts.stop().await;
}

#[tokio::test]
async fn activation_shows_requirements_and_policy_failures_as_banners() {
    let ts = TestServer::start().await;
    let bob = ts.create_user("bob@openpim.test").await;
    let mut admin = Browser::new(&ts.base);
    let page = admin.sign_in(&ts.admin_token()).await;
    let csrf = page.csrf();
    let added = admin
        .post(
            &format!("/roles/{USER_ADMINISTRATOR}/assign"),
            &[("csrf", &csrf), ("member", "bob@openpim.test"), ("kind", "eligible"), ("permanent", "on")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);

    let mut b = Browser::new(&ts.base);
    b.sign_in(&mfa_token(&ts, "bob@openpim.test")).await;
    // My roles lists the role with Activate, which opens the focused form with the requirements.
    let list = b.get("/my-roles").await;
    assert!(list.body.contains("aria-label=\"Activate User Administrator\""), "{}", list.body);
    let home = b.get(&format!("/my-roles/activate?role={USER_ADMINISTRATOR}&scope=%2F")).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("User Administrator"));
    assert!(home.body.contains("at most 8 hours"));
    assert!(home.body.contains("Multi-factor authentication"));
    assert!(home.body.contains("A justification"));
    let csrf = home.csrf();
    // Without a justification the API refuses; the banner carries its code and rule.
    let role = USER_ADMINISTRATOR.to_string();
    let no_reason = b.post("/activate", &[("csrf", &csrf), ("role", &role), ("scope", "/"), ("hours", "1")]).await;
    let page = b.get(no_reason.location()).await;
    assert!(page.body.contains("RoleAssignmentRequestPolicyValidationFailed"), "{}", page.body);
    assert!(page.body.contains("JustificationRule"));
    // With one it is active.
    let ok = b
        .post(
            "/activate",
            &[("csrf", &csrf), ("role", &role), ("scope", "/"), ("hours", "1"), ("justification", "INC-1")],
        )
        .await;
    let page = b.get(ok.location()).await;
    assert!(page.body.contains("User Administrator is active."), "{}", page.body);
    assert!(page.body.contains("Activated"));
    let check = format!("/v1.0/openpim/accessCheck?principalId={bob}&action=microsoft.directory/users/create");
    let (_, body) = ts.client.get(&check, &ts.admin_token()).await;
    assert_eq!(body["allowed"], true);
    // A malformed duration is a clear message, not a crash.
    let bad = b.post("/activate", &[("csrf", &csrf), ("role", &role), ("scope", "/"), ("hours", "soon")]).await;
    let page = b.get(bad.location()).await;
    assert!(page.body.contains("number of hours"));
    ts.stop().await;
}

/// The cookie used to be the bearer token itself, and sign-out only asked the browser to forget
/// it: a stolen cookie kept working after sign-out (issue #12). Now it names a server-side
/// session that sign-out deletes.
#[tokio::test]
async fn sign_out_ends_the_session_so_a_stolen_cookie_is_refused() {
    let ts = TestServer::start().await;
    let mut b = Browser::new(&ts.base);
    let token = ts.admin_token();
    let home = b.sign_in(&token).await;
    assert_eq!(home.status, StatusCode::OK);
    let cookie = b.cookies.get("openpim_session").expect("session cookie").clone();
    assert_ne!(cookie, token, "the cookie does not carry the bearer token");
    assert!(!cookie.contains('.'), "nor any JWT");

    // A thief copies the cookie into another browser: it works while the session lives...
    let mut thief = Browser::new(&ts.base);
    thief.cookies.insert("openpim_session".into(), cookie.clone());
    let stolen = thief.get("/roles").await;
    assert_eq!(stolen.status, StatusCode::OK, "{}", stolen.body);

    // ...and not after the user signs out.
    let csrf = home.csrf();
    let out = b.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(!b.cookies.contains_key("openpim_session"));
    thief.cookies.insert("openpim_session".into(), cookie.clone());
    let refused = thief.get("/roles").await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(refused.location(), "/signin");
    assert!(!thief.cookies.contains_key("openpim_session"), "the dead cookie is cleared");
    // A form posted with it changes nothing either.
    thief.cookies.insert("openpim_session".into(), cookie);
    let post = thief.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(post.status, StatusCode::SEE_OTHER);
    assert_eq!(post.location(), "/signin");
    // The bearer token itself is unaffected: it is the API's to judge, and still valid.
    assert_eq!(ts.client.get("/v1.0/me", &token).await.0, StatusCode::OK);
    ts.stop().await;
}

#[tokio::test]
async fn an_invalid_session_cookie_sends_the_browser_back_to_sign_in() {
    let ts = TestServer::start().await;
    let mut b = Browser::new(&ts.base);
    let expired =
        ts.mint(ADMIN_UPN, time::OffsetDateTime::now_utc() - time::Duration::hours(2), Duration::from_secs(60));
    for bad in [expired.as_str(), "garbage"] {
        b.cookies.insert("openpim_session".into(), bad.into());
        let page = b.get("/roles").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/signin");
        assert!(!b.cookies.contains_key("openpim_session"), "the bad cookie is cleared");
        let form = b.get("/signin").await;
        assert!(form.body.contains("Please sign in again"), "{}", form.body);
    }
    ts.stop().await;
}

#[tokio::test]
async fn admins_update_and_remove_through_the_role_page_and_refusals_show_the_api_code() {
    let ts = TestServer::start().await;
    let bob = ts.create_user("bob@openpim.test").await;
    let mut admin = Browser::new(&ts.base);
    let csrf = admin.sign_in(&ts.admin_token()).await.csrf();
    let role = format!("/roles/{GLOBAL_READER}");
    let end = (time::OffsetDateTime::now_utc() + time::Duration::days(7)).date();
    let end = format!("{end}T12:00");
    let added = admin
        .post(
            &format!("{role}/assign"),
            &[("csrf", &csrf), ("member", "bob@openpim.test"), ("kind", "eligible"), ("end", &end)],
        )
        .await;
    let page = admin.get(added.location()).await;
    assert!(page.body.contains("is now eligible"), "{}", page.body);
    assert!(page.body.contains(&format!("{} UTC", end.replace('T', " "))), "the end time is shown");

    // Bob may ask to extend an eligibility that ends within 14 days; an admin decides.
    let mut b = Browser::new(&ts.base);
    b.sign_in(&mfa_token(&ts, "bob@openpim.test")).await;
    let home = b.get("/my-roles").await;
    assert!(home.body.contains("aria-label=\"Extend eligibility for Global Reader\""), "{}", home.body);
    let extend = b
        .post(
            "/extend",
            &[("csrf", &home.csrf()), ("role", GLOBAL_READER), ("scope", "/"), ("kind", "eligibility"), ("days", "30")],
        )
        .await;
    assert!(b.get(extend.location()).await.body.contains("waiting for an administrator"));

    // The admin moves the end; the API reports the new end.
    let new_end = (time::OffsetDateTime::now_utc() + time::Duration::days(20)).date();
    let updated = admin
        .post(
            &format!("{role}/update"),
            &[
                ("csrf", &csrf),
                ("kind", "eligible"),
                ("principal", &bob),
                ("scope", "/"),
                ("end", &format!("{new_end}T08:30")),
            ],
        )
        .await;
    let page = admin.get(updated.location()).await;
    assert!(page.body.contains("Updated"), "{}", page.body);
    let path = format!("{RM}/roleEligibilitySchedules?$filter=principalId%20eq%20'{bob}'");
    let schedules = ts.list_all(&path, &ts.admin_token()).await;
    assert_eq!(schedules.len(), 1);
    let got = schedules[0]["scheduleInfo"]["expiration"]["endDateTime"].as_str().unwrap().to_string();
    assert!(got.starts_with(&format!("{new_end}T08:30:00")), "{got}");

    // Removing asks first: the confirmation says whose assignment goes and that it is too
    // recent; nothing changes.
    let remove = [("csrf", csrf.as_str()), ("kind", "eligible"), ("principal", bob.as_str()), ("scope", "/")];
    let asked = admin.post(&format!("{role}/remove"), &remove).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(
        asked.body.contains("bob (bob@openpim.test) will no longer be able to activate Global Reader"),
        "{}",
        asked.body
    );
    assert!(asked.body.contains("less than 5 minutes ago"), "{}", asked.body);
    assert_eq!(eligibilities(&ts, &bob, GLOBAL_READER).await, 1);
    // Confirmed right away, it breaks the 5-minute rule: the API's code is shown, nothing changes.
    let removed = admin.post(&format!("{role}/remove"), &[&remove[..], &[("confirmed", "yes")]].concat()).await;
    let page = admin.get(removed.location()).await;
    assert!(page.body.contains("class=\"flash err\""), "{}", page.body);
    assert!(page.body.contains("EligibleDurationTooShort"), "{}", page.body);
    assert!(page.body.contains("Retry after"), "{}", page.body);
    assert_eq!(eligibilities(&ts, &bob, GLOBAL_READER).await, 1);

    // A typo in the member or a bad date is a clear message.
    let typo = admin
        .post(
            &format!("{role}/assign"),
            &[("csrf", &csrf), ("member", "nobody@openpim.test"), ("kind", "eligible"), ("permanent", "on")],
        )
        .await;
    assert!(admin.get(typo.location()).await.body.contains("There is no user"));
    let bad_date = admin
        .post(
            &format!("{role}/assign"),
            &[("csrf", &csrf), ("member", "bob@openpim.test"), ("kind", "active"), ("end", "soon")],
        )
        .await;
    assert!(admin.get(bad_date.location()).await.body.contains("is not a date and time"));
    ts.stop().await;
}

#[tokio::test]
async fn nobody_approves_their_own_request_through_the_ui() {
    let ts = TestServer::start().await;
    let bob = ts.create_user("bob@openpim.test").await;
    let mut admin = Browser::new(&ts.base);
    let csrf = admin.sign_in(&ts.admin_token()).await.csrf();
    let role = format!("/roles/{USER_ADMINISTRATOR}");
    admin
        .post(
            &format!("{role}/assign"),
            &[("csrf", &csrf), ("member", "bob@openpim.test"), ("kind", "eligible"), ("permanent", "on")],
        )
        .await;
    // Approval by bob himself, set through the settings editor.
    let settings = admin.get(&format!("{role}/settings")).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("activation_hours", "8"),
        ("mfa", "on"),
        ("justification", "on"),
        ("approval", "on"),
        ("stage1_approvers", "bob@openpim.test"),
        ("stage1_timeout", "1"),
        ("stage1_approver_justification", "on"),
        ("stage1_escalation_minutes", "0"),
        ("eligible_permanent", "on"),
        ("eligible_days", "365"),
        ("active_permanent", "on"),
        ("active_days", "180"),
        ("active_justification", "on"),
    ];
    assert_eq!(settings.status, StatusCode::OK);
    // First the review: what changes, nothing saved yet.
    let review = admin.post(&format!("{role}/settings"), &form).await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert!(review.body.contains("Stage 1 approvers"), "{}", review.body);
    assert!(review.body.contains("<span class=\"new\">bob@openpim.test</span>"), "{}", review.body);
    let saved = admin.post(&format!("{role}/settings"), &[&form[..], &[("confirmed", "yes")]].concat()).await;
    let page = admin.get(saved.location()).await;
    assert!(page.body.contains("Saved: Approval_EndUser_Assignment."), "{}", page.body);
    assert!(page.body.contains("value=\"bob@openpim.test\""));

    let mut b = Browser::new(&ts.base);
    let home = b.sign_in(&mfa_token(&ts, "bob@openpim.test")).await;
    let csrf_b = home.csrf();
    let asked = b
        .post(
            "/activate",
            &[("csrf", &csrf_b), ("role", USER_ADMINISTRATOR), ("scope", "/"), ("hours", "1"), ("justification", "x")],
        )
        .await;
    assert!(b.get(asked.location()).await.body.contains("waiting for approval"));
    let path = format!("{RM}/roleAssignmentScheduleRequests?$filter=principalId%20eq%20'{bob}'");
    let requests = ts.list_all(&path, &ts.admin_token()).await;
    let approval = requests[0]["approvalId"].as_str().unwrap().to_string();
    let decided = b.post("/approvals", &[("csrf", &csrf_b), ("one", &format!("Approve|{approval}|"))]).await;
    let page = b.get(decided.location()).await;
    let flash = page.body.split("class=\"flash err\"").nth(1).expect("an error banner").split("</p>").next().unwrap();
    assert!(flash.contains("Authorization_RequestDenied: Nobody can approve or deny their own request."), "{flash}");
    let requests = ts.list_all(&path, &ts.admin_token()).await;
    assert_eq!(requests[0]["status"], "PendingApproval", "still pending");
    ts.stop().await;
}

#[tokio::test]
async fn groups_show_their_members_and_a_group_can_be_made_eligible_by_name() {
    let ts = TestServer::start().await;
    let bob = ts.create_user_named("bob@openpim.test", "Bob Builder").await;
    let group = ts.create_group("Helpdesk Admins", true).await;
    ts.add_group_member(&group, &bob).await;
    ts.create_group("Not assignable", false).await;
    let mut admin = Browser::new(&ts.base);
    let csrf = admin.sign_in(&ts.admin_token()).await.csrf();
    let groups = admin.get("/groups").await;
    assert!(groups.body.contains(&format!("<a href=\"/groups/{group}\">Helpdesk Admins</a>")), "{}", groups.body);
    assert!(!groups.body.contains("Not assignable"), "only role-assignable groups are listed");
    let members = admin.get(&format!("/groups/{group}")).await;
    assert!(members.body.contains(&format!("<a href=\"/users/{bob}\">Bob Builder</a>")), "{}", members.body);
    assert!(members.body.contains("<td data-label=\"Sign-in name\">bob@openpim.test</td>"), "{}", members.body);

    let role = format!("/roles/{USER_ADMINISTRATOR}");
    let added = admin
        .post(
            &format!("{role}/assign"),
            &[("csrf", &csrf), ("member", "Helpdesk Admins"), ("kind", "eligible"), ("permanent", "on")],
        )
        .await;
    let page = admin.get(added.location()).await;
    assert!(page.body.contains("Helpdesk Admins is now eligible"), "{}", page.body);
    assert!(page.body.contains("<td data-label=\"Type\">Group</td>"), "{}", page.body);
    // Bob is eligible through the group, and My roles says so.
    let mut b = Browser::new(&ts.base);
    b.sign_in(&mfa_token(&ts, "bob@openpim.test")).await;
    let home = b.get("/my-roles").await;
    // (The API's eligibility instances say "Group" without naming it.)
    assert!(home.body.contains("<td data-label=\"Membership\">Group</td>"), "{}", home.body);
    ts.stop().await;
}

/// The policy id of `role` at the tenant scope.
async fn policy_of(ts: &TestServer, role: &str) -> String {
    let rows = ts
        .list_all(
            &format!(
                "/v1.0/policies/roleManagementPolicyAssignments?$filter=scopeId%20eq%20'/'%20and%20scopeType%20eq%20'DirectoryRole'%20and%20roleDefinitionId%20eq%20'{role}'"
            ),
            &ts.admin_token(),
        )
        .await;
    rows[0]["policyId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn my_roles_shows_the_requirements_the_api_enforces() {
    let ts = TestServer::start().await;
    let bob = ts.create_user("bob@openpim.test").await;
    let admin = ts.admin_token();
    let (status, body) = ts
        .client
        .post(
            &format!("{RM}/roleEligibilityScheduleRequests"),
            &admin,
            serde_json::json!({"action": "adminAssign", "principalId": bob, "roleDefinitionId": USER_ADMINISTRATOR,
                   "directoryScopeId": "/", "justification": "on call",
                   "scheduleInfo": {"expiration": {"type": "noExpiration"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The enablement rule no longer lists Justification, but the approval rule requires the
    // requester's justification: core's effective rules (and so the API) still require one.
    let policy = policy_of(&ts, USER_ADMINISTRATOR).await;
    let rules = format!("/v1.0/policies/roleManagementPolicies/{policy}/rules");
    let (status, body) = ts
        .client
        .patch(
            &format!("{rules}/Enablement_EndUser_Assignment"),
            &admin,
            serde_json::json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
                   "id": "Enablement_EndUser_Assignment", "enabledRules": ["MultiFactorAuthentication"]}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = ts
        .client
        .patch(
            &format!("{rules}/Approval_EndUser_Assignment"),
            &admin,
            serde_json::json!({"@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
                   "id": "Approval_EndUser_Assignment",
                   "setting": {"isApprovalRequired": true, "isRequestorJustificationRequired": true,
                               "approvalMode": "SingleStage",
                               "approvalStages": [{"approvalStageTimeOutInDays": 1, "isApproverJustificationRequired": false,
                                                   "escalationTimeInMinutes": 0, "isEscalationEnabled": false,
                                                   "primaryApprovers": [{"@odata.type": "#microsoft.graph.singleUser", "userId": ts.admin_id}],
                                                   "escalationApprovers": []}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let mut b = Browser::new(&ts.base);
    b.sign_in(&mfa_token(&ts, "bob@openpim.test")).await;
    let home = b.get(&format!("/my-roles/activate?role={USER_ADMINISTRATOR}&scope=%2F")).await;
    assert!(home.body.contains("User Administrator"), "{}", home.body);
    assert!(home.body.contains("<li>A justification</li>"), "{}", home.body);
    assert!(home.body.contains("Justification (required)"), "{}", home.body);
    assert!(home.body.contains("<li>Approval: "), "{}", home.body);
    // What the page says is what the API does: without a justification it refuses.
    let csrf = home.csrf();
    let role = USER_ADMINISTRATOR.to_string();
    let refused = b.post("/activate", &[("csrf", &csrf), ("role", &role), ("scope", "/"), ("hours", "1")]).await;
    let page = b.get(refused.location()).await;
    assert!(page.body.contains("JustificationRule"), "{}", page.body);
    ts.stop().await;
}

#[tokio::test]
async fn download_csv_is_the_apis_csv_export() {
    let ts = TestServer::start().await;
    ts.create_user_named("csv@openpim.test", "CSV Person").await;
    let mut admin = Browser::new(&ts.base);
    admin.sign_in(&ts.admin_token()).await;
    let csv = admin.get("/audit.csv?actor=admin%40openpim.test").await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    // Byte for byte what the API serves for the same filter.
    let filter = "initiatedBy/user/userPrincipalName%20eq%20'admin%40openpim.test'";
    let api = ts
        .client
        .http
        .get(ts.client.url(&format!("/v1.0/openpim/auditLogs/directoryAudits/csv?$filter={filter}")))
        .bearer_auth(ts.admin_token())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.body, api);
    assert!(csv.body.starts_with("\"activityDateTime\",\"category\""), "{}", csv.body);
    assert!(csv.body.contains("CSV Person"), "{}", csv.body);
    ts.stop().await;
}

#[tokio::test]
async fn a_member_without_a_reading_role_is_not_offered_the_role_pages() {
    let ts = TestServer::start().await;
    ts.create_user("bob@openpim.test").await;
    let mut admin = Browser::new(&ts.base);
    admin.sign_in(&ts.admin_token()).await;
    let as_admin = admin.get(&format!("/roles/{USER_ADMINISTRATOR}")).await;
    assert!(!as_admin.body.contains("shown to directory readers"), "an administrator sees the holders");
    assert!(as_admin.body.contains("Eligible assignments"));

    // A member without a role that reads assignments or settings is not offered the Roles
    // pages at all: the HTML 403, nothing of the role's holders.
    let mut b = Browser::new(&ts.base);
    b.sign_in(&ts.token_for("bob@openpim.test")).await;
    let page = b.get(&format!("/roles/{USER_ADMINISTRATOR}")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(!page.body.contains("Eligible assignments"));
    ts.stop().await;
}

/// The directory pages render through the partials they share with the Azure pages
/// (`holder_sections.html`, `holder_row.html`, `eligible_card.html`, `role_row.html`) exactly as
/// before: the same columns, forms, field names and accessible names, and nothing of Azure's.
#[tokio::test]
async fn directory_pages_render_the_shared_partials_as_before() {
    let ts = TestServer::start().await;
    let bob = ts.create_user("bob@openpim.test").await;
    let mut admin = Browser::new(&ts.base);
    let csrf = admin.sign_in(&ts.admin_token()).await.csrf();
    let role = format!("/roles/{GLOBAL_READER}");
    let added = admin
        .submit(
            &format!("{role}/assign"),
            &[("csrf", &csrf), ("member", "bob@openpim.test"), ("kind", "eligible"), ("permanent", "on")],
        )
        .await;
    assert!(added.body.contains("is now eligible"), "{}", added.body);

    // The role's page: the holder table of a role, with its forms posting to the role.
    let page = added.body;
    let header = "<thead><tr><th scope=\"col\">Member</th><th scope=\"col\">Type</th><th scope=\"col\">Via</th>\
                  <th scope=\"col\">Scope</th><th scope=\"col\">Start</th><th scope=\"col\">End</th>\
                  <th scope=\"col\">Actions</th></tr></thead>";
    assert!(page.contains(header), "{page}");
    assert!(page.contains("<td data-label=\"Member\">bob (bob@openpim.test)</td>"), "{page}");
    assert!(page.contains("<td data-label=\"Type\">User</td>"), "{page}");
    assert!(page.contains("<td data-label=\"Scope\">Directory</td>"), "{page}");
    assert!(page.contains(&format!("<form method=\"post\" action=\"{role}/remove\" class=\"inline\">")), "{page}");
    assert!(page.contains(&format!("<form method=\"post\" action=\"{role}/update\" class=\"stack\">")), "{page}");
    assert!(page.contains(&format!("<input type=\"hidden\" name=\"principal\" value=\"{bob}\">")), "{page}");
    assert!(page.contains("<input type=\"hidden\" name=\"kind\" value=\"eligible\">"), "{page}");
    assert!(page.contains("aria-label=\"Remove bob (bob@openpim.test)\""), "{page}");
    assert!(page.contains("<label for=\"e0-end\">New end (UTC)</label>"), "{page}");
    for azure_only in ["data-label=\"Role\"", "name=\"role\"", "name=\"days\"", "Settings of"] {
        assert!(!page.contains(azure_only), "{azure_only} on a directory role's page: {page}");
    }

    // Bob's My roles: the eligible row links to its activation form, which posts to /activate
    // at the eligibility's own scope.
    let mut b = Browser::new(&ts.base);
    b.sign_in(&mfa_token(&ts, "bob@openpim.test")).await;
    let home = b.get("/my-roles").await.body;
    assert!(home.contains("<th scope=\"row\" data-label=\"Role\">Global Reader</th>"), "{home}");
    let href = format!("/my-roles/activate?role={GLOBAL_READER}&#38;scope=%2F");
    assert!(home.contains(&href), "{home}");
    // The directory table comes before (and outside) the Azure part.
    let azure = home.find("aria-labelledby=\"azure-h\"").unwrap_or(home.len());
    assert!(home.find(&href).unwrap() < azure, "{home}");
    let form = b.get(&href.replace("&#38;", "&")).await.body;
    assert!(
        form.contains("<form method=\"post\" action=\"/activate\" class=\"stack card\" aria-describedby=\"reqs\">"),
        "{form}"
    );
    assert!(form.contains("<input type=\"hidden\" name=\"scope\" value=\"/\">"), "{form}");
    assert!(!form.contains("Activate at"), "no scope to choose: {form}");

    // Activated, it is an active row; within its first 5 minutes the row explains why it
    // offers no Deactivate.
    let csrf = b.get("/my-roles").await.csrf();
    let active = b
        .submit(
            "/activate",
            &[("csrf", &csrf), ("role", GLOBAL_READER), ("scope", "/"), ("hours", "1"), ("justification", "audit")],
        )
        .await
        .body;
    assert!(active.contains("<th scope=\"row\" data-label=\"Role\">Global Reader</th>"), "{active}");
    assert!(active.contains("an activation lasts at least 5 minutes"), "{active}");
    assert!(!active.contains("aria-label=\"Deactivate Global Reader\""), "{active}");

    // Deactivate asks for confirmation first and changes nothing until confirmed; confirmed
    // within the 5 minutes, it is the API's refusal.
    let path = format!("{RM}/roleAssignmentScheduleInstances?$filter=principalId%20eq%20'{bob}'");
    let ask = b.post("/deactivate", &[("csrf", &csrf), ("role", GLOBAL_READER), ("scope", "/")]).await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    assert!(ask.body.contains("Please confirm"), "{}", ask.body);
    assert!(ask.body.contains("Your activation of Global Reader at Directory ends now"), "{}", ask.body);
    assert!(ask.body.contains("<input type=\"hidden\" name=\"confirmed\" value=\"yes\">"), "{}", ask.body);
    assert_eq!(ts.list_all(&path, &ts.admin_token()).await.len(), 1, "still active");
    let refused = b
        .submit("/deactivate", &[("csrf", &csrf), ("role", GLOBAL_READER), ("scope", "/"), ("confirmed", "yes")])
        .await;
    assert!(refused.flash().contains("ActiveDurationTooShort"), "{}", refused.flash());
    assert_eq!(ts.list_all(&path, &ts.admin_token()).await.len(), 1, "still active");
}

async fn member_count(ts: &TestServer, group: &str) -> usize {
    ts.list_all(&format!("/v1.0/groups/{group}/members"), &ts.admin_token()).await.len()
}

/// Users and group members (issue #20): destructive actions answer with a confirmation page
/// that changes nothing; the confirmed post does the change through the API.
#[tokio::test]
async fn users_and_members_change_only_once_confirmed() {
    let ts = TestServer::start().await;
    let admin_token = ts.admin_token();
    let mut admin = Browser::new(&ts.base);
    let csrf = admin.sign_in(&admin_token).await.csrf();

    let created = admin
        .submit(
            "/users",
            &[("csrf", &csrf), ("display_name", "Erin Example"), ("user_principal_name", "erin@openpim.test")],
        )
        .await;
    assert!(created.body.contains("Created user erin@openpim.test."), "{}", created.body);
    let (status, erin) = ts.client.get("/v1.0/users/erin@openpim.test", &admin_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(erin["accountEnabled"], false, "the create form's checkbox was not sent");
    assert_eq!(erin["mailNickname"], "erin");
    let id = erin["id"].as_str().unwrap().to_string();

    // Delete without confirmation: the page that says what happens; nothing is deleted.
    let ask = admin.post(&format!("/users/{id}/delete"), &[("csrf", &csrf), ("name", "erin@openpim.test")]).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("erin@openpim.test will be deleted from the directory"), "{}", ask.body);
    assert!(ask.body.contains("<input type=\"hidden\" name=\"confirmed\" value=\"yes\">"), "{}", ask.body);
    assert!(ask.body.contains(&format!("<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">")));
    assert_eq!(ts.client.get(&format!("/v1.0/users/{id}"), &admin_token).await.0, StatusCode::OK);
    // The confirmation still needs the CSRF token.
    let forged = admin.post(&format!("/users/{id}/delete"), &[("csrf", "x"), ("confirmed", "yes")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Group members: removing one is confirmed too.
    let group = ts.create_group("Tier0", true).await;
    let added =
        admin.submit(&format!("/groups/{group}/members"), &[("csrf", &csrf), ("member", "erin@openpim.test")]).await;
    assert!(added.body.contains("Added erin@openpim.test to the group."), "{}", added.body);
    assert_eq!(member_count(&ts, &group).await, 1);
    let form = [("csrf", csrf.as_str()), ("member_id", id.as_str()), ("member_name", "erin"), ("group_name", "Tier0")];
    let ask = admin.post(&format!("/groups/{group}/members/remove"), &form).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("erin will no longer be a member of Tier0"), "{}", ask.body);
    assert_eq!(member_count(&ts, &group).await, 1);
    let mut confirmed = form.to_vec();
    confirmed.push(("confirmed", "yes"));
    let removed = admin.submit(&format!("/groups/{group}/members/remove"), &confirmed).await;
    assert!(removed.body.contains("Removed erin from the group."), "{}", removed.body);
    assert_eq!(member_count(&ts, &group).await, 0);

    let deleted = admin
        .submit(&format!("/users/{id}/delete"), &[("csrf", &csrf), ("name", "erin@openpim.test"), ("confirmed", "yes")])
        .await;
    assert!(deleted.body.contains("Deleted erin@openpim.test."), "{}", deleted.body);
    assert_eq!(ts.client.get(&format!("/v1.0/users/{id}"), &admin_token).await.0, StatusCode::NOT_FOUND);

    // An API refusal is shown as a message: a User Administrator may not delete an admin.
    ts.user_with_role("uadmin@openpim.test", USER_ADMINISTRATOR).await;
    let mut ua = Browser::new(&ts.base);
    let csrf = ua.sign_in(&ts.token_for("uadmin@openpim.test")).await.csrf();
    let refused = ua
        .submit(&format!("/users/{}/delete", ts.admin_id), &[("csrf", &csrf), ("name", "admin"), ("confirmed", "yes")])
        .await;
    assert!(refused.body.contains("Not allowed. Authorization_RequestDenied"), "{}", refused.body);
    assert_eq!(ts.client.get(&format!("/v1.0/users/{}", ts.admin_id), &admin_token).await.0, StatusCode::OK);
    ts.stop().await;
}

/// Unknown pages are HTML; unknown API paths keep the API's JSON errors.
#[tokio::test]
async fn unknown_pages_are_html_and_unknown_api_paths_json() {
    let ts = TestServer::start().await;
    let browser_get = |path: &str| {
        ts.client.http.get(ts.client.url(path)).header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8").send()
    };
    let page = browser_get("/no-such-page").await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let headers = page.headers().clone();
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'self'"));
    assert!(page.text().await.unwrap().contains("<h1>Not Found</h1>"));
    // Under the API's prefixes, or from an API client (no HTML accepted): Graph's JSON 404.
    for api in ["/v1.0/no-such-thing", "/beta/no-such-thing", "/openpim/nothing", "/v2.0/users"] {
        let resp = browser_get(api).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{api}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "UnknownError", "{api}: {body}");
    }
    let (status, body) = ts.client.get("/no-such-page", &ts.admin_token()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "UnknownError", "{body}");
    ts.stop().await;
}
