//! Web UI sign-in through a real OpenID provider (panva's `oidc-provider`, tests/oidc/provider.mjs):
//! the authorization-code flow driven hop by hop with reqwest, through the provider's own login
//! page. Covers sign-in (confidential and public clients) and sign-out, refused callbacks (forged
//! state, replay, another browser, the provider's error), ID tokens for another client or nonce,
//! unknown users, MFA step-up on activation, and a server with the local issuer turned off.
//!
//! Needs node and `npm ci` in tests/oidc, like tests/oidc.rs: without node the tests say so and
//! return; with node but without the packages they fail.

use crate::common;

use base64::Engine;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openpim_server::auth::external::{ExternalIssuers, IssuerConfig, WebClient};
use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const AUDIENCE: &str = "api://openpim";
const WEB_CLIENT: &str = "openpim-web";
const WEB_SECRET: &str = "openpim-web-secret";
const BOB: &str = "bob@openpim.test";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyInfo {
    kid: String,
    alg: String,
    private_pem: String,
}

#[derive(Deserialize)]
struct Ready {
    issuer: String,
    keys: Vec<KeyInfo>,
}

/// The running provider; killed when dropped.
struct Provider {
    _running: common::oidc_provider::RunningProvider,
    issuer: String,
    keys: Vec<KeyInfo>,
}

impl Provider {
    /// Starts the provider (the suite's shared start-up, `common::oidc_provider`), or `None`
    /// (after saying so on stderr) when node is not installed.
    async fn start() -> Option<Self> {
        let running = common::oidc_provider::start(&[("OIDC_AUDIENCE", AUDIENCE)]).await?;
        let ready: Ready = serde_json::from_value(running.start_line.clone())
            .unwrap_or_else(|e| panic!("start line {}: {e}", running.start_line));
        Some(Self { _running: running, issuer: ready.issuer, keys: ready.keys })
    }

    /// OpenPIM's configuration for this provider, with the web client.
    fn issuer_config(&self, jit: bool) -> IssuerConfig {
        let mut config = IssuerConfig::new(&self.issuer, vec![AUDIENCE.to_string()]).unwrap();
        config.web_client = Some(WebClient { client_id: WEB_CLIENT.into(), client_secret: Some(WEB_SECRET.into()) });
        config.display_name = Some("Test IdP".into());
        config.jit = jit;
        config
    }

    /// Registers the web client's redirect URIs for an OpenPIM server at `base`.
    async fn register(&self, base: &str) {
        let resp = reqwest::Client::new()
            .post(format!("{}/__test/web-client", self.issuer))
            .json(&json!({"redirect_uris": [format!("{base}/signin/oidc/callback")],
                          "post_logout_redirect_uris": [format!("{base}/signin")]}))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }
}

async fn start(provider: &Provider, jit: bool) -> TestServer {
    let config = provider.issuer_config(jit);
    let ts = TestServer::start_with(|c| c.oidc_issuers = vec![config]).await;
    provider.register(&ts.base).await;
    ts
}

/// A browser stand-in for two sites on one host (cookies are per host, not per port, as in
/// browsers); never follows redirects, so each hop can be looked at.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

struct Page {
    status: StatusCode,
    csp: String,
    location: String,
    set_cookies: Vec<String>,
    body: String,
}

impl Page {
    /// The value of hidden field `name` in the first form that has it.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start =
            self.body.find(&marker).unwrap_or_else(|| panic!("no {name} field in: {}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_string()
    }

    /// Every hidden field of the page, in order.
    fn hidden_fields(&self) -> Vec<(String, String)> {
        self.body
            .split("<input type=\"hidden\" ")
            .skip(1)
            .filter_map(|rest| {
                let name = rest.split("name=\"").nth(1)?.split('"').next()?;
                let value = rest.split("value=\"").nth(1)?.split('"').next()?;
                Some((name.to_string(), value.to_string()))
            })
            .collect()
    }

    /// The first form's `action`.
    fn form_action(&self) -> String {
        let start = self.body.find("action=\"").unwrap_or_else(|| panic!("no form in: {}", self.body)) + 8;
        self.body[start..].split('"').next().unwrap().replace("&amp;", "&")
    }

    fn sets_session(&self) -> bool {
        self.set_cookies.iter().any(|c| c.starts_with("openpim_session=") && !c.starts_with("openpim_session=;"))
    }
}

impl Browser {
    fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self { http, cookies: HashMap::new() }
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        let status = resp.status();
        let csp =
            resp.headers().get("content-security-policy").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let location = resp.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        let set_cookies: Vec<String> =
            resp.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
        for c in &set_cookies {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || attrs.to_ascii_lowercase().contains("max-age=0") || attrs.contains("1970") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page { status, csp, location, set_cookies, body: resp.text().await.unwrap() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn get(&mut self, url: &str) -> Page {
        let resp = self.http.get(url).header("Cookie", self.cookie_header()).send().await.unwrap();
        self.finish(resp).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let resp = self.http.post(url).header("Cookie", self.cookie_header()).form(form).send().await.unwrap();
        self.finish(resp).await
    }
}

/// `location` made absolute against `base` (the provider answers with paths).
fn absolute(base: &str, location: &str) -> String {
    reqwest::Url::parse(base).unwrap().join(location).unwrap().to_string()
}

fn query(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// From the provider's authorization URL to its redirect back to OpenPIM's callback, through
/// its login page as `login`. Returns the callback URL (not yet visited).
async fn through_provider(browser: &mut Browser, provider: &Provider, authorize: &str, login: &str) -> String {
    let mut url = authorize.to_string();
    for _ in 0..10 {
        if url.contains("/signin/oidc/callback") {
            return url;
        }
        let page = browser.get(&url).await;
        if page.status.is_redirection() {
            url = absolute(&url, &page.location);
            continue;
        }
        assert_eq!(page.status, StatusCode::OK, "{url}: {}", page.body);
        let action = absolute(&provider.issuer, &page.form_action());
        let posted = if page.body.contains("name=\"login\"") {
            // The provider's login form.
            browser.post(&action, &[("prompt", "login"), ("login", login), ("password", "any")]).await
        } else {
            // A form the provider submits by script (ending its session of another account).
            let fields = page.hidden_fields();
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            browser.post(&action, &fields).await
        };
        assert!(posted.status.is_redirection(), "login: {} {}", posted.status, posted.body);
        url = absolute(&action, &posted.location);
    }
    panic!("the provider never sent the browser back to OpenPIM");
}

/// "Sign in with Test IdP" up to the callback URL.
async fn to_callback(browser: &mut Browser, ts: &TestServer, provider: &Provider, login: &str) -> String {
    let start = browser.get(&format!("{}/signin/oidc/0", ts.base)).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let q = query(&start.location);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], WEB_CLIENT);
    assert_eq!(q["redirect_uri"], format!("{}/signin/oidc/callback", ts.base));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 32 && q["nonce"].len() >= 32);
    assert!(!q.contains_key("prompt"), "a plain sign-in does not force a new login");
    through_provider(browser, provider, &start.location, login).await
}

/// The flash the next page shows (the callback answers a page that moves on to it).
async fn landing(browser: &mut Browser, ts: &TestServer, callback: &Page) -> Page {
    assert_eq!(callback.status, StatusCode::OK, "{}", callback.body);
    assert!(callback.body.contains("http-equiv=\"refresh\""), "{}", callback.body);
    // Where the page moves on to: the sign-in page, the overview, or after a step-up My roles.
    let to = callback.body.split("url=").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or("/");
    browser.get(&format!("{}{to}", ts.base)).await
}

#[tokio::test]
async fn a_person_signs_in_with_the_provider_and_signs_out_there_too() {
    let Some(provider) = Provider::start().await else { return };
    let ts = start(&provider, false).await;
    ts.create_user(BOB).await;
    let mut browser = Browser::new();
    let signin = browser.get(&format!("{}/signin", ts.base)).await;
    assert!(signin.body.contains("Sign in with Test IdP"), "{}", signin.body);
    assert!(signin.body.contains("name=\"token\""), "the local issuer is on: token paste stays");

    let callback_url = to_callback(&mut browser, &ts, &provider, "bob").await;
    assert!(!query(&callback_url).contains_key("id_token"), "no token travels in a URL");
    let callback = browser.get(&callback_url).await;
    assert!(callback.sets_session(), "{:?}", callback.set_cookies);
    let session_cookie = callback.set_cookies.iter().find(|c| c.starts_with("openpim_session=")).unwrap();
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Strict"), "{session_cookie}");
    let home = landing(&mut browser, &ts, &callback).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Signed in as bob@openpim.test with Test IdP."), "{}", home.body);

    // Sign-out ends the session here and continues to the provider's end-session endpoint.
    // Forms may be redirected to the provider (sign-out, step-up), and nowhere else.
    assert!(home.csp.contains(&format!("form-action 'self' {};", provider.issuer)), "{}", home.csp);
    let csrf = home.field("csrf");
    let old_session = browser.cookies["openpim_session"].clone();
    let out = browser.post(&format!("{}/signout", ts.base), &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert!(out.location.starts_with(&provider.issuer), "{}", out.location);
    let q = query(&out.location);
    assert!(q["id_token_hint"].split('.').count() == 3, "{q:?}");
    assert_eq!(q["post_logout_redirect_uri"], format!("{}/signin", ts.base));
    // The provider accepts that request (its confirmation page).
    let at_provider = browser.get(&out.location).await;
    assert_eq!(at_provider.status, StatusCode::OK, "{}", at_provider.body);
    assert!(at_provider.body.contains("sign-out"), "{}", at_provider.body);
    // The old cookie no longer opens anything.
    browser.cookies.insert("openpim_session".into(), old_session);
    let after = browser.get(&format!("{}/", ts.base)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location, "/signin");
    ts.stop().await;
}

#[tokio::test]
async fn a_public_client_signs_in_with_pkce_alone() {
    let Some(provider) = Provider::start().await else { return };
    let mut config = provider.issuer_config(false);
    config.web_client = Some(WebClient { client_id: "openpim-web-public".into(), client_secret: None });
    let ts = TestServer::start_with(|c| c.oidc_issuers = vec![config]).await;
    provider.register(&ts.base).await;
    ts.create_user(BOB).await;
    let mut browser = Browser::new();
    let start = browser.get(&format!("{}/signin/oidc/0", ts.base)).await;
    assert_eq!(query(&start.location)["client_id"], "openpim-web-public");
    let callback_url = through_provider(&mut browser, &provider, &start.location, "bob").await;
    let callback = browser.get(&callback_url).await;
    assert!(callback.sets_session(), "{:?}", callback.set_cookies);
    let home = landing(&mut browser, &ts, &callback).await;
    assert!(home.body.contains("Signed in as bob@openpim.test with Test IdP."), "{}", home.body);
    ts.stop().await;
}

#[tokio::test]
async fn forged_replayed_and_foreign_callbacks_open_no_session() {
    let Some(provider) = Provider::start().await else { return };
    let ts = start(&provider, false).await;
    ts.create_user(BOB).await;
    let mut browser = Browser::new();
    let callback_url = to_callback(&mut browser, &ts, &provider, "bob").await;

    // Another state than the one sent: nothing is found for it.
    let mut forged = reqwest::Url::parse(&callback_url).unwrap();
    let code = query(&callback_url)["code"].clone();
    forged.query_pairs_mut().clear().append_pair("code", &code).append_pair("state", &"0".repeat(64));
    let page = browser.get(forged.as_str()).await;
    assert!(!page.sets_session());
    let shown = landing(&mut browser, &ts, &page).await;
    assert!(shown.body.contains("expired or was already used"), "{}", shown.body);

    // The genuine answer works once; replayed, it is refused.
    let page = browser.get(&callback_url).await;
    assert!(page.sets_session(), "{:?}", page.set_cookies);
    let replay = browser.get(&callback_url).await;
    assert!(!replay.sets_session());
    let shown = landing(&mut browser, &ts, &replay).await;
    assert!(shown.body.contains("expired or was already used"), "{}", shown.body);

    // An answer carried to another browser (no sign-in cookie of its own) is refused.
    let mut victim = Browser::new();
    let callback_url = to_callback(&mut victim, &ts, &provider, "bob").await;
    let mut attacker = Browser::new();
    let page = attacker.get(&callback_url).await;
    assert!(!page.sets_session());
    let shown = landing(&mut attacker, &ts, &page).await;
    assert!(shown.body.contains("started in another browser"), "{}", shown.body);

    // The provider's refusal (the person aborts at its login page) is a message, not a 500.
    let mut browser = Browser::new();
    let start = browser.get(&format!("{}/signin/oidc/0", ts.base)).await;
    let mut url = start.location.clone();
    let login_page = loop {
        let page = browser.get(&url).await;
        if !page.status.is_redirection() {
            break url;
        }
        url = absolute(&url, &page.location);
    };
    let aborted = browser.get(&format!("{login_page}/abort")).await;
    let back = absolute(&login_page, &aborted.location);
    let back = through_provider(&mut browser, &provider, &back, "bob").await;
    assert_eq!(query(&back)["error"], "access_denied");
    let page = browser.get(&back).await;
    assert!(!page.sets_session());
    let shown = landing(&mut browser, &ts, &page).await;
    assert!(shown.body.contains("Test IdP did not sign you in: access_denied"), "{}", shown.body);
    ts.stop().await;
}

#[tokio::test]
async fn a_provider_user_unknown_to_the_directory_is_refused_unless_created_just_in_time() {
    let Some(provider) = Provider::start().await else { return };
    let ts = start(&provider, false).await;
    let mut browser = Browser::new();
    let callback_url = to_callback(&mut browser, &ts, &provider, "carol").await;
    let page = browser.get(&callback_url).await;
    assert!(!page.sets_session());
    let shown = landing(&mut browser, &ts, &page).await;
    assert!(shown.body.contains("does not exist in this directory"), "{}", shown.body);
    ts.stop().await;

    let ts = start(&provider, true).await;
    let mut browser = Browser::new();
    let callback_url = to_callback(&mut browser, &ts, &provider, "carol").await;
    let page = browser.get(&callback_url).await;
    assert!(page.sets_session(), "{:?}", page.set_cookies);
    let (status, carol) = ts.client.get("/v1.0/users/carol@openpim.test", &ts.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "created just in time: {carol}");
    ts.stop().await;
}

/// An ID token signed with the provider's own key: only what the test changes is wrong.
fn id_token(provider: &Provider, claims: &Value) -> String {
    let key = provider.keys.iter().find(|k| k.alg == "ES256").unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_pem(key.private_pem.as_bytes()).unwrap()).unwrap()
}

#[tokio::test]
async fn id_tokens_for_another_client_or_sign_in_are_refused() {
    let Some(provider) = Provider::start().await else { return };
    let issuers = ExternalIssuers::new(vec![provider.issuer_config(false)]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let good = json!({"iss": provider.issuer, "aud": WEB_CLIENT, "sub": "bob", "preferred_username": BOB,
                      "nonce": "n-1", "amr": ["pwd"], "iat": now, "exp": now + 600});
    // Control: nothing changed, accepted and mapped like an access token.
    let verified = issuers.verify_id_token(&provider.issuer, &id_token(&provider, &good), "n-1").await.unwrap();
    assert!(!verified.mfa);
    assert_eq!(format!("{:?}", verified.user), format!("{:?}", vec![openpim_server::auth::UserKey::Upn(BOB.into())]));

    let refused = |claims: Value, nonce: &'static str, why: &'static str| {
        let token = id_token(&provider, &claims);
        let issuers = &issuers;
        let issuer = provider.issuer.clone();
        async move {
            let e = issuers.verify_id_token(&issuer, &token, nonce).await.expect_err(why);
            assert_eq!(e.status.as_u16(), 401, "{why}");
            e.message
        }
    };
    let msg = refused(good.clone(), "n-2", "another sign-in's nonce").await;
    assert!(msg.contains("nonce"), "{msg}");
    let mut no_nonce = good.clone();
    no_nonce.as_object_mut().unwrap().remove("nonce");
    refused(no_nonce, "n-1", "no nonce").await;
    let mut other_aud = good.clone();
    other_aud["aud"] = json!(AUDIENCE);
    let msg = refused(other_aud, "n-1", "an access token's audience").await;
    assert!(msg.contains("Audience"), "{msg}");
    let mut other_azp = good.clone();
    other_azp["aud"] = json!([WEB_CLIENT, "someone-else"]);
    other_azp["azp"] = json!("someone-else");
    let msg = refused(other_azp, "n-1", "issued to another client").await;
    assert!(msg.contains("azp"), "{msg}");
    let mut expired = good.clone();
    expired["exp"] = json!(now - 3600);
    refused(expired, "n-1", "expired").await;
    let mut other_issuer = good.clone();
    other_issuer["iss"] = json!(format!("{}/other", provider.issuer));
    refused(other_issuer, "n-1", "another issuer").await;
}

#[tokio::test]
async fn activating_a_role_that_needs_mfa_steps_up_at_the_provider_and_completes() {
    let Some(provider) = Provider::start().await else { return };
    let ts = start(&provider, false).await;
    let bob = ts.create_user(BOB).await;
    ts.create_user("alice@openpim.test").await;
    let (status, body) = ts
        .client
        .post(
            &format!("{RM}/roleEligibilityScheduleRequests"),
            &ts.admin_token(),
            json!({"action": "adminAssign", "principalId": bob, "roleDefinitionId": USER_ADMINISTRATOR,
                   "directoryScopeId": "/", "justification": "on call",
                   "scheduleInfo": {"expiration": {"type": "noExpiration"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let mut browser = Browser::new();
    let callback_url = to_callback(&mut browser, &ts, &provider, "bob").await;
    let callback = browser.get(&callback_url).await;
    let home = landing(&mut browser, &ts, &callback).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    let listed = browser.get(&format!("{}/my-roles", ts.base)).await;
    assert!(listed.body.contains("User Administrator"), "{}", listed.body);
    let first_session = browser.cookies["openpim_session"].clone();

    // Bob's provider sign-in had no MFA; the role's policy needs it: off to the provider.
    let csrf = home.field("csrf");
    let activate = [
        ("csrf", csrf.as_str()),
        ("role", USER_ADMINISTRATOR),
        ("scope", "/"),
        ("hours", "1"),
        ("justification", "INC-4711 password resets"),
        ("ticket_number", ""),
        ("ticket_system", ""),
    ];
    let sent = browser.post(&format!("{}/activate", ts.base), &activate).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert!(sent.location.starts_with(&provider.issuer), "step-up goes to the provider: {}", sent.location);
    let q = query(&sent.location);
    assert_eq!(q["prompt"], "login");
    let claims: Value = serde_json::from_str(&q["claims"]).unwrap();
    assert_eq!(claims["id_token"]["amr"], json!({"essential": true, "values": ["mfa"]}));
    // Nothing was activated yet.
    let active = ts.list_all(&format!("{RM}/roleAssignmentScheduleInstances"), &ts.admin_token()).await;
    assert!(!active.iter().any(|a| a["principalId"] == bob.as_str()), "{active:?}");

    // Someone else (alice, with MFA) signing in at that prompt takes nothing over.
    let callback_url = through_provider(&mut browser, &provider, &sent.location, "alice").await;
    let callback = browser.get(&callback_url).await;
    assert!(!callback.sets_session(), "{:?}", callback.set_cookies);
    let home = landing(&mut browser, &ts, &callback).await;
    assert!(home.body.contains("not for the account of this session"), "{}", home.body);
    assert!(home.body.contains("bob@openpim.test"), "still bob's session: {}", home.body);
    let active = ts.list_all(&format!("{RM}/roleAssignmentScheduleInstances"), &ts.admin_token()).await;
    assert!(!active.iter().any(|a| a["principalId"] == bob.as_str()), "{active:?}");

    // Bob tries again; the provider asks for the login again (prompt=login) and, asked for MFA,
    // asserts it.
    let csrf = home.field("csrf");
    let activate = [
        ("csrf", csrf.as_str()),
        ("role", USER_ADMINISTRATOR),
        ("scope", "/"),
        ("hours", "1"),
        ("justification", "INC-4711 password resets"),
        ("ticket_number", ""),
        ("ticket_system", ""),
    ];
    let sent = browser.post(&format!("{}/activate", ts.base), &activate).await;
    assert!(sent.location.starts_with(&provider.issuer), "{}", sent.location);
    let callback_url = through_provider(&mut browser, &provider, &sent.location, "bob").await;
    let callback = browser.get(&callback_url).await;
    assert!(callback.sets_session(), "{:?}", callback.set_cookies);
    let home = landing(&mut browser, &ts, &callback).await;
    assert!(home.body.contains("User Administrator is active."), "{}", home.body);
    let active = ts.list_all(&format!("{RM}/roleAssignmentScheduleInstances"), &ts.admin_token()).await;
    let bobs: Vec<&Value> = active.iter().filter(|a| a["principalId"] == bob.as_str()).collect();
    assert_eq!(bobs.len(), 1, "{active:?}");
    assert_eq!(bobs[0]["roleDefinitionId"], USER_ADMINISTRATOR);
    // The session without MFA was replaced by the new one.
    assert_ne!(browser.cookies["openpim_session"], first_session);
    let mut old = Browser::new();
    old.cookies.insert("openpim_session".into(), first_session);
    assert_eq!(old.get(&format!("{}/", ts.base)).await.location, "/signin");
    ts.stop().await;
}

#[tokio::test]
async fn with_the_local_issuer_off_only_the_provider_signs_people_in() {
    let Some(provider) = Provider::start().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut config = provider.issuer_config(true);
    config.jit = true;
    let server = openpim_server::start(openpim_server::ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        database_url: None,
        bootstrap_admin: ADMIN_UPN.to_string(),
        public_url: None,
        approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
        notifications: Default::default(),
        metrics_access: Default::default(),
        tls: None,
        oidc_issuers: vec![config],
        local_issuer: false,
        audit_checkpoint_interval: openpim_server::DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
    })
    .await
    .unwrap();
    let base = format!("http://{}", server.addr);
    provider.register(&base).await;
    let mut browser = Browser::new();
    let signin = browser.get(&format!("{base}/signin")).await;
    assert!(signin.body.contains("Sign in with Test IdP"), "{}", signin.body);
    assert!(!signin.body.contains("name=\"token\""), "no token paste: {}", signin.body);
    // The paste form's POST is refused too, even with a valid local token and CSRF field.
    let admin = user_id_by_upn(&server, ADMIN_UPN).unwrap();
    let token = mint_for_id(&server, &admin.to_string(), true);
    // The page has no form, so no CSRF field: derive it from the pre-session cookie as the
    // server does, so the refusal below is about token sign-in being off and nothing else.
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    digest.update(b"openpim-ui-csrf\0");
    digest.update(browser.cookies["openpim_presession"].as_bytes());
    let csrf = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.finish().as_ref());
    let pasted = browser.post(&format!("{base}/signin"), &[("csrf", &csrf), ("token", &token)]).await;
    assert_eq!(pasted.status, StatusCode::FORBIDDEN, "{}", pasted.body);
    assert!(pasted.body.contains("Signing in with a token is turned off"), "{}", pasted.body);
    assert!(!pasted.sets_session());
    // And the API refuses local tokens from clients.
    let api = reqwest::Client::new().get(format!("{base}/v1.0/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let body: Value = api.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("--local-issuer=false"), "{body}");
    // ARM routes too, with a local token of ARM's audience.
    let arm_request = openpim_server::auth::TokenRequest {
        oid: admin,
        upn: String::new(),
        mfa: true,
        acrs: vec![],
        ttl: std::time::Duration::from_secs(3600),
    };
    let arm_token = server.state.issuer.mint_for(
        &arm_request,
        openpim_server::auth::TokenAudience::Arm,
        time::OffsetDateTime::now_utc(),
    );
    let arm = reqwest::Client::new()
        .get(format!("{base}/subscriptions?api-version=2022-12-01"))
        .bearer_auth(&arm_token)
        .send()
        .await
        .unwrap();
    assert_eq!(arm.status(), StatusCode::UNAUTHORIZED);
    let body: Value = arm.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("--local-issuer=false"), "{body}");
    // Clients learn it before they hold a token.
    let discovery: Value =
        reqwest::get(format!("{base}/openpim/signin-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(discovery["localIssuerEnabled"], json!(false), "{discovery}");

    // The provider's sign-in works, and its pages (in-process API calls) load.
    let start = browser.get(&format!("{base}/signin/oidc/0")).await;
    let callback_url = through_provider(&mut browser, &provider, &start.location, "carol").await;
    let callback = browser.get(&callback_url).await;
    assert!(callback.sets_session(), "{:?}", callback.set_cookies);
    let home = browser.get(&format!("{base}/")).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("Signed in as carol@openpim.test"), "{}", home.body);
    server.stop().await.unwrap();
}
