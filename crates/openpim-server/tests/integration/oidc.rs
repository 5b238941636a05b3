//! Access tokens from a real OpenID provider: panva's `oidc-provider` (tests/oidc/provider.mjs)
//! on a loopback port, trusted through `ServerConfig::oidc_issuers`. Tokens it issues are
//! accepted; tokens forged or mis-issued in every way listed in issue #14 are refused with a 401
//! Graph error; a key rotation is followed; MFA comes from the provider's `amr`.
//!
//! Needs node and `npm ci` in tests/oidc (see tests/common/oidc_provider.rs).

use crate::common;

use base64::Engine;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use openpim_server::auth::external::IssuerConfig;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

const AUDIENCE: &str = "api://openpim";
const ALICE: &str = "alice@openpim.test";
const BOB: &str = "bob@openpim.test";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyInfo {
    kid: String,
    alg: String,
    private_pem: String,
    public_pem: String,
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
    http: reqwest::Client,
}

impl Provider {
    /// Starts the provider, or `None` (after saying so on stderr) when node is not installed.
    async fn start() -> Option<Self> {
        let running = common::oidc_provider::start(&[("OIDC_AUDIENCE", AUDIENCE)]).await?;
        let ready: Ready = serde_json::from_value(running.start_line.clone()).expect("the start line's keys");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        Some(Self { _running: running, issuer: ready.issuer, keys: ready.keys, http })
    }

    /// OpenPIM's configuration for this provider; unknown `kid`s may refetch its keys every 1 s.
    fn issuer_config(&self) -> IssuerConfig {
        let mut config = IssuerConfig::new(&self.issuer, vec![AUDIENCE.to_string()]).unwrap();
        config.min_key_refetch = Duration::from_secs(1);
        config
    }

    /// An access token from the provider's token endpoint (client credentials; the client acts as
    /// one of the provider's users).
    async fn token(&self, client: &str, secret: &str) -> String {
        let resp = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(client, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("resource", AUDIENCE), ("scope", "openpim")])
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "token endpoint: {body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    async fn rotate(&self) -> KeyInfo {
        self.http.post(format!("{}/__test/rotate", self.issuer)).send().await.unwrap().json().await.unwrap()
    }

    async fn jwks_fetches(&self) -> u64 {
        let stats: Value =
            self.http.get(format!("{}/__test/stats", self.issuer)).send().await.unwrap().json().await.unwrap();
        stats["jwksFetches"].as_u64().unwrap()
    }

    fn es256_key(&self) -> &KeyInfo {
        self.keys.iter().find(|k| k.alg == "ES256").unwrap()
    }

    /// Claims like the provider's, for a token signed here with one of its keys.
    fn claims(&self, upn: &str) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({"iss": self.issuer, "aud": AUDIENCE, "sub": "alice", "preferred_username": upn,
               "amr": ["pwd", "mfa"], "iat": now, "exp": now + 600})
    }
}

/// `claims` signed ES256 with `key` (a provider key, or any other), naming `kid`.
fn sign(key: &KeyInfo, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_pem(key.private_pem.as_bytes()).unwrap()).unwrap()
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

async fn start_server(provider: &Provider) -> TestServer {
    let config = provider.issuer_config();
    TestServer::start_with(|c| c.oidc_issuers = vec![config]).await
}

/// `GET /v1.0/me` with `token`.
async fn me(ts: &TestServer, token: &str) -> Resp {
    ts.client.send(ts.client.request(Method::GET, "/v1.0/me", Some(token))).await
}

async fn assert_refused(ts: &TestServer, token: &str, why: &str) -> String {
    let r = me(ts, token).await;
    assert_graph_error(r.status, &r.body, 401, "InvalidAuthenticationToken");
    assert!(r.headers.get("www-authenticate").is_some(), "{why}: a 401 carries a Bearer challenge");
    r.body["error"]["message"].as_str().unwrap_or_else(|| panic!("{why}: {}", r.body)).to_string()
}

#[tokio::test]
async fn provider_tokens_are_accepted_and_forged_or_misissued_ones_refused() {
    let Some(provider) = Provider::start().await else { return };
    let ts = start_server(&provider).await;
    ts.create_user(ALICE).await;

    // A token from the token endpoint (ES256), mapped by preferred_username.
    let r = me(&ts, &provider.token("alice-cli", "alice-secret").await).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["userPrincipalName"], ALICE);
    // PS256, with the provider's RSA key.
    let r = me(&ts, &provider.token("alice-ps256", "alice-secret").await).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The local issuer keeps working next to it.
    assert_eq!(ts.client.get("/v1.0/me", &ts.admin_token()).await.0, StatusCode::OK);

    let key = provider.es256_key().clone();
    let good = provider.claims(ALICE);
    // Control: the same construction with nothing wrong is accepted, so each refusal below is
    // about the one thing changed.
    assert_eq!(me(&ts, &sign(&key, &key.kid, &good)).await.status, StatusCode::OK);

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut expired = good.clone();
    expired["iat"] = json!(now - 7200);
    expired["exp"] = json!(now - 3600);
    let msg = assert_refused(&ts, &sign(&key, &key.kid, &expired), "expired").await;
    assert!(msg.contains("expired"), "{msg}");

    let mut not_yet = good.clone();
    not_yet["nbf"] = json!(now + 3600);
    assert_refused(&ts, &sign(&key, &key.kid, &not_yet), "not yet valid").await;

    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("api://someone-else");
    let msg = assert_refused(&ts, &sign(&key, &key.kid, &wrong_audience), "wrong audience").await;
    assert!(msg.contains("Audience"), "{msg}");

    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!(format!("{}/other", provider.issuer));
    let msg = assert_refused(&ts, &sign(&key, &key.kid, &wrong_issuer), "wrong issuer").await;
    assert!(msg.contains("Issuer"), "{msg}");

    // `alg: none`, unsigned.
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": key.kid})), b64(&good));
    assert_refused(&ts, &none, "alg none").await;

    // HS256 "signed" with the provider's public key as the HMAC secret.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(key.kid.clone());
    let confused = jsonwebtoken::encode(&hs, &good, &EncodingKey::from_secret(key.public_pem.as_bytes())).unwrap();
    let msg = assert_refused(&ts, &confused, "HS256 with the public key").await;
    assert!(msg.contains("algorithm"), "{msg}");

    // The provider's kid, but another key's signature.
    let stranger = provider_key_pair();
    assert_refused(&ts, &sign(&stranger, &key.kid, &good), "wrong signature").await;

    // A genuine token for a user OpenPIM does not know.
    let msg = assert_refused(&ts, &provider.token("carol-cli", "carol-secret").await, "unknown user").await;
    assert!(msg.contains("does not exist"), "{msg}");
    ts.stop().await;
}

/// A P-256 key pair the provider never published.
fn provider_key_pair() -> KeyInfo {
    let pair = rcgen::KeyPair::generate().unwrap();
    KeyInfo {
        kid: "forged".into(),
        alg: "ES256".into(),
        private_pem: pair.serialize_pem(),
        public_pem: pair.public_key_pem(),
    }
}

#[tokio::test]
async fn a_rotated_key_is_fetched_and_forged_kids_are_refused_without_flooding_the_provider() {
    let Some(provider) = Provider::start().await else { return };
    let ts = start_server(&provider).await;
    ts.create_user(ALICE).await;
    let before = provider.token("alice-cli", "alice-secret").await;
    assert_eq!(me(&ts, &before).await.status, StatusCode::OK);
    let fetches = provider.jwks_fetches().await;
    assert_eq!(fetches, 1, "the first token fetched the key set once");

    let new_key = provider.rotate().await;
    // Past the refetch bound configured for the test (1 s).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = provider.token("alice-cli", "alice-secret").await;
    let kid = jsonwebtoken::decode_header(&after).unwrap().kid.unwrap();
    assert_eq!(kid, new_key.kid, "the provider signs with its new key");
    let r = me(&ts, &after).await;
    assert_eq!(r.status, StatusCode::OK, "the new key was fetched: {}", r.body);
    assert_eq!(provider.jwks_fetches().await, fetches + 1);
    // The old key is still published, and tokens it signed still good.
    assert_eq!(me(&ts, &before).await.status, StatusCode::OK);

    // A flood of tokens naming keys the provider never had: all refused, at most one refetch.
    let forged = provider_key_pair();
    let fetches = provider.jwks_fetches().await;
    for i in 0..20 {
        let msg =
            assert_refused(&ts, &sign(&forged, &format!("forged-{i}"), &provider.claims(ALICE)), "forged kid").await;
        assert!(msg.contains("signing key"), "{msg}");
    }
    assert!(provider.jwks_fetches().await <= fetches + 1, "unknown kids refetch the key set at a bounded rate");
    ts.stop().await;
}

#[tokio::test]
async fn mfa_is_what_the_provider_asserts() {
    let Some(provider) = Provider::start().await else { return };
    let ts = start_server(&provider).await;
    let alice = ts.create_user(ALICE).await;
    let bob = ts.create_user(BOB).await;
    for user in [&alice, &bob] {
        let (status, body) = ts
            .client
            .post(&format!("{RM}/roleEligibilityScheduleRequests"), &ts.admin_token(), activation(user, "adminAssign"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // The default policy of User Administrator requires MFA on activation. Bob's provider
    // session has none.
    let bob_token = provider.token("bob-cli", "bob-secret").await;
    let (status, body) = ts
        .client
        .post(&format!("{RM}/roleAssignmentScheduleRequests"), &bob_token, activation(&bob, "selfActivate"))
        .await;
    assert_graph_error(status, &body, 400, "RoleAssignmentRequestPolicyValidationFailed");
    assert!(body.to_string().contains("MfaRule"), "{body}");
    // Alice's has (amr contains mfa).
    let alice_token = provider.token("alice-cli", "alice-secret").await;
    let (status, body) = ts
        .client
        .post(&format!("{RM}/roleAssignmentScheduleRequests"), &alice_token, activation(&alice, "selfActivate"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "Provisioned", "{body}");
    ts.stop().await;
}

/// A schedule request for User Administrator at the tenant: `adminAssign` makes `principal`
/// permanently eligible, `selfActivate` activates for an hour.
fn activation(principal: &str, action: &str) -> Value {
    let schedule = if action == "adminAssign" {
        json!({"expiration": {"type": "noExpiration"}})
    } else {
        json!({"expiration": {"type": "afterDuration", "duration": "PT1H"}})
    };
    json!({"action": action, "principalId": principal, "roleDefinitionId": USER_ADMINISTRATOR,
           "directoryScopeId": "/", "justification": "Ticket INC-4711", "scheduleInfo": schedule})
}

#[tokio::test]
async fn an_issuer_with_just_in_time_creation_adds_an_unknown_user_once() {
    let Some(provider) = Provider::start().await else { return };
    let mut config = provider.issuer_config();
    config.jit = true;
    let ts = TestServer::start_with(|c| c.oidc_issuers = vec![config]).await;
    let carol = "carol@openpim.test";
    let r = me(&ts, &provider.token("carol-cli", "carol-secret").await).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["userPrincipalName"], carol);
    assert_eq!(r.body["displayName"], "Carol");
    let id = r.body["id"].clone();
    // A second token finds the same user instead of creating another.
    let again = me(&ts, &provider.token("carol-cli", "carol-secret").await).await;
    assert_eq!(again.body["id"], id);
    let (status, user) = ts.client.get(&format!("/v1.0/users/{carol}"), &ts.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["id"], id);
    // The creation is audited once, as an "Add user" by the sign-in.
    let audits = ts.list_all("/v1.0/auditLogs/directoryAudits", &ts.admin_token()).await;
    let added: Vec<&Value> = audits
        .iter()
        .filter(|a| a["activityDisplayName"] == "Add user" && a["targetResources"][0]["id"] == id)
        .collect();
    assert_eq!(added.len(), 1, "{audits:?}");
    assert!(added[0].to_string().contains(&provider.issuer), "{}", added[0]);
    // Just-in-time creation gives no roles: Carol cannot create users.
    let (status, body) = ts
        .client
        .post(
            "/v1.0/users",
            &provider.token("carol-cli", "carol-secret").await,
            json!({"accountEnabled": true, "displayName": "X", "mailNickname": "x", "userPrincipalName": "x@openpim.test",
                   "passwordProfile": {"password": "Secret-123456"}}),
        )
        .await;
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    ts.stop().await;
}

/// The sign-in configuration is served without a token and lists what clients need: issuer,
/// public client id, scopes, audience and how to ask for it. No provider is contacted for it.
#[tokio::test]
async fn signin_configuration_tells_clients_how_to_sign_in() {
    use openpim_server::auth::external::{AudienceVia, CliSignIn};
    let mut entra = IssuerConfig::new("https://login.example.com/t/v2.0", vec!["api://openpim".into()]).unwrap();
    entra.display_name = Some("Contoso".into());
    entra.cli = CliSignIn { client_id: Some("cli-app".into()), audience_via: AudienceVia::Scope };
    let web_only = IssuerConfig::new("http://127.0.0.1:9", vec![AUDIENCE.into()]).unwrap();
    let ts = TestServer::start_with(|c| c.oidc_issuers = vec![entra, web_only]).await;
    let r = ts.client.send(ts.client.request(Method::GET, "/openpim/signin-configuration", None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({
            "localIssuerEnabled": true,
            "issuers": [
                {"issuer": "https://login.example.com/t/v2.0", "displayName": "Contoso", "cliClientId": "cli-app",
                 "scopes": ["openid", "profile", "offline_access", "api://openpim/.default"],
                 "audience": "api://openpim", "resource": null},
                {"issuer": "http://127.0.0.1:9", "displayName": "127.0.0.1", "cliClientId": null,
                 "scopes": ["openid", "profile", "offline_access"], "audience": AUDIENCE, "resource": AUDIENCE}
            ]
        })
    );
    // Without issuers: an empty list, and the local issuer.
    let plain = TestServer::start().await;
    let r = plain.client.send(plain.client.request(Method::GET, "/openpim/signin-configuration", None)).await;
    assert_eq!(r.body, json!({"localIssuerEnabled": true, "issuers": []}));
}
