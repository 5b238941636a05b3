//! `openpim login --server URL` with the device flow at a real OpenID provider (panva's
//! oidc-provider, tests/oidc/provider.mjs), the user step done by a script that fills in the
//! provider's own pages; then signed-in commands with the provider's tokens, silent refresh of an
//! expired access token (with refresh-token rotation), a key rotation at the provider, a refused
//! refresh token, logout, and a profile file others can read.
//!
//! Needs node and `npm ci` in tests/oidc (see the server's tests/common/oidc_provider.rs).

mod common;
#[path = "../../openpim-server/tests/common/oidc_provider.rs"]
mod oidc_provider;

use base64::Engine;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const AUDIENCE: &str = "api://openpim";
const ALICE: &str = "alice@openpim.test";
/// Access tokens live this long, so the test sees them expire.
const ACCESS_TTL_SECS: &str = "5";

/// The provider as the server's issuer file describes it: JIT-created users, the provider's
/// public device-flow client, and unknown `kid`s may refetch its keys every second.
fn issuer_file(issuer: &str, dir: &std::path::Path) -> Vec<openpim_server::auth::external::IssuerConfig> {
    let path = dir.join("issuers.toml");
    std::fs::write(
        &path,
        format!(
            "[[issuer]]\nurl = \"{issuer}\"\naudience = \"{AUDIENCE}\"\njit = true\ncli_client_id = \"openpim-cli\"\n\
             min_key_refetch_secs = 1\n"
        ),
    )
    .unwrap();
    openpim_server::auth::issuer_file::load(&path).expect("the issuer file is valid")
}

/// A browser for the provider's pages: cookies by name, no automatic redirects.
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

/// A page's first form: where it posts, and its fields.
struct Form {
    action: String,
    fields: Vec<(String, String)>,
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_string())
}

/// The first `<form>` of `html` with its `<input>`s: hidden ones keep their value, `user_code`,
/// `login` and `password` are filled in.
fn first_form(html: &str, user_code: &str, login: &str) -> Option<Form> {
    let start = html.find("<form")?;
    let end = start + html[start..].find("</form>")?;
    let form = &html[start..end];
    let open_tag = &form[..form.find('>')?];
    let mut fields = Vec::new();
    for piece in form.split("<input").skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        let Some(name) = attribute(tag, "name") else { continue };
        let value = match name.as_str() {
            "user_code" if attribute(tag, "value").is_none() => user_code.to_string(),
            "login" => login.to_string(),
            "password" => "any password".to_string(),
            _ => attribute(tag, "value").unwrap_or_default(),
        };
        fields.push((name, value));
    }
    Some(Form { action: attribute(open_tag, "action")?, fields })
}

impl Browser {
    fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self { http, cookies: BTreeMap::new() }
    }

    /// Sends `req` with the cookies, keeps the ones set, follows redirects; the final page.
    async fn fetch(&mut self, base: &str, mut req: reqwest::RequestBuilder) -> String {
        for _ in 0..10 {
            let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            if !cookie.is_empty() {
                req = req.header("cookie", cookie);
            }
            let resp = req.send().await.expect("the provider answers");
            for set in resp.headers().get_all("set-cookie") {
                let pair = set.to_str().unwrap().split(';').next().unwrap();
                if let Some((name, value)) = pair.split_once('=') {
                    self.cookies.insert(name.trim().to_string(), value.to_string());
                }
            }
            if resp.status().is_redirection() {
                let location = resp.headers()["location"].to_str().unwrap().to_string();
                let url = if location.starts_with('/') { format!("{base}{location}") } else { location };
                req = self.http.get(url);
                continue;
            }
            assert!(resp.status().is_success(), "provider page {}: {}", resp.status(), resp.text().await.unwrap());
            return resp.text().await.unwrap();
        }
        panic!("more than 10 redirects at the provider");
    }

    /// What a person does at the verification URI: enter the code, confirm it, sign in as
    /// `login`, consent, until the provider says the sign-in succeeded.
    async fn complete_device_sign_in(&mut self, issuer: &str, user_code: &str, login: &str) {
        let mut page = self.fetch(issuer, self.http.get(format!("{issuer}/device"))).await;
        for _ in 0..6 {
            if page.contains("Sign-in Success") {
                return;
            }
            let form = first_form(&page, user_code, login).unwrap_or_else(|| panic!("no form on the page: {page}"));
            page = self.fetch(issuer, self.http.post(&form.action).form(&form.fields)).await;
        }
        panic!("the device sign-in did not finish: {page}");
    }

    /// Enters the code, then presses "Abort" on the provider's confirmation page.
    async fn abort_device_sign_in(&mut self, issuer: &str, user_code: &str) {
        let page = self.fetch(issuer, self.http.get(format!("{issuer}/device"))).await;
        let enter = first_form(&page, user_code, "").expect("the code form");
        let page = self.fetch(issuer, self.http.post(&enter.action).form(&enter.fields)).await;
        let mut confirm = first_form(&page, user_code, "").expect("the confirmation form");
        assert!(confirm.fields.iter().any(|(k, _)| k == "confirm"), "a confirmation page: {page}");
        confirm.fields.push(("abort".into(), "yes".into()));
        self.fetch(issuer, self.http.post(&confirm.action).form(&confirm.fields)).await;
    }
}

/// The saved profile `default`.
fn profile(cli: &Cli) -> Value {
    let text = std::fs::read_to_string(cli.profile_file()).expect("the profile file");
    serde_json::from_str::<Value>(&text).unwrap()["profiles"]["default"].clone()
}

/// The `kid` in a JWT's header.
fn kid(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_string()
}

/// Starts `openpim login --server URL --output json` and reads its instructions up to the user
/// code: the running login, the code, what it showed, and the rest of its standard error (read
/// until it exits).
async fn start_login(cli: &Cli) -> (tokio::process::Child, String, String, tokio::task::JoinHandle<String>) {
    let mut login = tokio::process::Command::new(env!("CARGO_BIN_EXE_openpim"));
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("OPENPIM_")) {
        login.env_remove(k);
    }
    let mut login = login
        .args(["login", "--server", &cli.base, "--output", "json"])
        .env("OPENPIM_CONFIG_DIR", cli.config.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(login.stderr.take().unwrap()).lines();
    let mut shown = String::new();
    let user_code = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), stderr.next_line())
            .await
            .expect("login shows a code within 30 s")
            .unwrap()
            .unwrap_or_else(|| panic!("login ended before showing a code: {shown}"));
        shown.push_str(&line);
        shown.push('\n');
        if let Some(code) = line.split("enter the code ").nth(1) {
            break code.trim().to_string();
        }
    };
    let rest = tokio::spawn(async move {
        let mut rest = String::new();
        while let Ok(Some(line)) = stderr.next_line().await {
            rest.push_str(&line);
            rest.push('\n');
        }
        rest
    });
    (login, user_code, shown, rest)
}

/// Waits until the saved access token has expired (by its `expiresAt`).
async fn wait_past_expiry(cli: &Cli) {
    let expires_at = profile(cli)["provider"]["expiresAt"].as_i64().expect("expiresAt");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    tokio::time::sleep(Duration::from_secs((expires_at - now + 1).max(0) as u64)).await;
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_flow_login_then_silent_refresh_across_a_key_rotation() {
    let Some(provider) =
        oidc_provider::start(&[("OIDC_AUDIENCE", AUDIENCE), ("OIDC_ACCESS_TTL", ACCESS_TTL_SECS)]).await
    else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let cli = Cli::start_with(issuer_file(&provider.issuer, files.path())).await;

    // `openpim login --server URL`: the CLI shows the code on standard error and waits.
    let (login, user_code, shown, rest) = start_login(&cli).await;
    assert!(shown.contains(&format!("open {}/device?user_code={user_code}", provider.issuer)), "{shown}");
    // The person takes a while: the CLI's first poll (after the provider's 5 s default interval)
    // is answered `authorization_pending`, and it keeps waiting.
    tokio::time::sleep(Duration::from_secs(6)).await;
    Browser::new().complete_device_sign_in(&provider.issuer, &user_code, "alice").await;
    let done = tokio::time::timeout(Duration::from_secs(60), login.wait_with_output())
        .await
        .expect("login finishes after the sign-in")
        .unwrap();
    assert!(done.status.success(), "login failed: {}", rest.await.unwrap());
    let out: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!((out["user"].as_str(), out["issuer"].as_str()), (Some(ALICE), Some(provider.issuer.as_str())));

    // The profile holds the provider's tokens, readable by the owner only.
    #[cfg(unix)]
    assert_eq!(mode(&cli.profile_file()), 0o600);
    let first = profile(&cli);
    assert_eq!(first["provider"]["issuer"].as_str(), Some(provider.issuer.as_str()));
    let first_refresh = first["provider"]["refreshToken"].as_str().expect("a refresh token is kept").to_string();
    let first_token = first["token"].as_str().unwrap().to_string();

    // A signed-in command, with no token given: the profile's is used.
    let my = cli.exec(&["my", "roles", "--output", "json"], &[]).await;
    assert_eq!(my.code, 0, "{}", my.stderr);
    assert_eq!(my.json(), Value::Array(vec![]), "Alice was just created: she holds nothing");

    // Expired: the next command refreshes first (the server's leeway would still take the old
    // token, so the proof is the new tokens saved), and the rotated refresh token is kept.
    wait_past_expiry(&cli).await;
    let my = cli.exec(&["my", "roles", "--output", "json"], &[]).await;
    assert_eq!(my.code, 0, "{}", my.stderr);
    let second = profile(&cli);
    let second_token = second["token"].as_str().unwrap().to_string();
    let second_refresh = second["provider"]["refreshToken"].as_str().unwrap().to_string();
    assert_ne!(second_token, first_token, "a new access token after expiry");
    assert_ne!(second_refresh, first_refresh, "the provider rotated the refresh token and the CLI kept the new one");
    #[cfg(unix)]
    assert_eq!(mode(&cli.profile_file()), 0o600);

    // The provider rotates its signing key; the refreshed token is signed with the new key and
    // the server, which has not seen that key yet, fetches it and accepts the token.
    let rotated: Value = reqwest::Client::new()
        .post(format!("{}/__test/rotate", provider.issuer))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    wait_past_expiry(&cli).await;
    let me = cli.exec(&["my", "roles", "--output", "json"], &[]).await;
    assert_eq!(me.code, 0, "{}", me.stderr);
    let third = profile(&cli);
    assert_eq!(kid(third["token"].as_str().unwrap()), rotated["kid"].as_str().unwrap());
    assert_ne!(kid(&second_token), kid(third["token"].as_str().unwrap()));

    // Two commands at once on an expired token: one refreshes, the other waits for it and uses
    // the new token (presenting the rotated-away refresh token would make the provider revoke
    // the whole sign-in).
    wait_past_expiry(&cli).await;
    let args = ["my", "roles", "--output", "json"];
    let (a, b) = tokio::join!(cli.exec(&args, &[]), cli.exec(&args, &[]));
    assert_eq!((a.code, b.code), (0, 0), "{}\n{}", a.stderr, b.stderr);
    let after = cli.exec(&args, &[]).await;
    assert_eq!(after.code, 0, "the sign-in survived concurrent refreshes: {}", after.stderr);

    // A refresh token the provider refuses (revoked, or used twice) means signing in again.
    let mut broken: Value = serde_json::from_str(&std::fs::read_to_string(cli.profile_file()).unwrap()).unwrap();
    broken["profiles"]["default"]["provider"]["refreshToken"] = Value::from("not-a-refresh-token");
    broken["profiles"]["default"]["provider"]["expiresAt"] = Value::from(0);
    let saved = std::fs::read_to_string(cli.profile_file()).unwrap();
    std::fs::write(cli.profile_file(), serde_json::to_string(&broken).unwrap()).unwrap();
    let refused = cli.exec(&["my", "roles", "--output", "json"], &[]).await;
    refused.assert_error(3, "NotSignedIn");
    assert!(refused.stderr.contains("openpim login"), "{}", refused.stderr);
    std::fs::write(cli.profile_file(), saved).unwrap();

    // A profile file others may read is refused, not used.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(cli.profile_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
        cli.exec(&["my", "roles", "--output", "json"], &[]).await.assert_error(1, "ProfileFileExposed");
        std::fs::set_permissions(cli.profile_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    // Logout forgets the tokens, and revokes the refresh token at the provider: a copy of it is
    // refused there afterwards.
    let last_refresh = profile(&cli)["provider"]["refreshToken"].as_str().unwrap().to_string();
    let out = cli.exec(&["logout", "--output", "json"], &[]).await;
    assert_eq!(
        (out.json()["removed"].as_bool(), out.json()["refreshTokenRevoked"].as_bool()),
        (Some(true), Some(true))
    );
    assert!(!std::fs::read_to_string(cli.profile_file()).unwrap().contains("refreshToken"));
    let reuse = reqwest::Client::new()
        .post(format!("{}/token", provider.issuer))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", last_refresh.as_str()),
            ("client_id", "openpim-cli"),
            ("resource", AUDIENCE),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reuse.status().as_u16(), 400, "the revoked refresh token is refused");
    assert_eq!(reuse.json::<Value>().await.unwrap()["error"], "invalid_grant");
    cli.exec(&["--server", &cli.base, "my", "roles", "--output", "json"], &[]).await.assert_error(3, "NotSignedIn");
    cli.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_sign_in_aborted_at_the_provider_is_refused_and_saves_nothing() {
    let Some(provider) = oidc_provider::start(&[("OIDC_AUDIENCE", AUDIENCE)]).await else { return };
    let files = tempfile::tempdir().unwrap();
    let cli = Cli::start_with(issuer_file(&provider.issuer, files.path())).await;
    let (login, user_code, _, rest) = start_login(&cli).await;
    Browser::new().abort_device_sign_in(&provider.issuer, &user_code).await;
    let done = tokio::time::timeout(Duration::from_secs(60), login.wait_with_output())
        .await
        .expect("login ends after the refusal")
        .unwrap();
    let rest = rest.await.unwrap();
    assert_eq!(done.status.code(), Some(3), "access_denied is a sign-in failure (exit 3): {rest}");
    assert!(rest.contains("error: SignInDenied: "), "{rest}");
    assert!(done.stdout.is_empty(), "nothing on stdout: {}", String::from_utf8_lossy(&done.stdout));
    assert!(!cli.profile_file().exists(), "no profile saved");
    cli.stop().await;
}
