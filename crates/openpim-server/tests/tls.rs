//! HTTPS: `--tls-cert`/`--tls-key` serve the API over rustls with a certificate generated here,
//! and a renewed certificate is put in service without a restart (on file change and on SIGHUP),
//! while a broken one is refused and the previous one kept.

mod common;

use common::*;
use openpim_server::tls::TlsFiles;
use openpim_server::{RunningServer, ServerConfig};
use reqwest::StatusCode;
use std::path::Path;
use std::time::Duration;

/// The name the certificates are issued for; the clients resolve it to the server's address.
const HOST: &str = "openpim.test";

struct Pem {
    cert: String,
    key: String,
}

fn self_signed(key: &rcgen::KeyPair) -> Pem {
    let params = rcgen::CertificateParams::new(vec![HOST.to_string()]).expect("certificate parameters");
    let cert = params.self_signed(key).expect("self-signed certificate");
    Pem { cert: cert.pem(), key: key.serialize_pem() }
}

fn fresh_self_signed() -> Pem {
    self_signed(&rcgen::KeyPair::generate().expect("key pair"))
}

fn write(files: &TlsFiles, pem: &Pem) {
    std::fs::write(&files.cert, &pem.cert).unwrap();
    std::fs::write(&files.key, &pem.key).unwrap();
}

async fn start_tls(dir: &Path, files: &TlsFiles) -> anyhow::Result<RunningServer> {
    openpim_server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.join("data"),
        database_url: None,
        bootstrap_admin: ADMIN_UPN.to_string(),
        public_url: None,
        approval_timeout: openpim_server::DEFAULT_APPROVAL_TIMEOUT,
        notifications: Default::default(),
        metrics_access: Default::default(),
        tls: Some(files.clone()),
        oidc_issuers: Vec::new(),
        local_issuer: true,
        audit_checkpoint_interval: openpim_server::DEFAULT_AUDIT_CHECKPOINT_INTERVAL,
    })
    .await
}

/// A client that trusts only `pem`'s certificate (no system roots).
fn client_trusting(pem: &Pem, server: &RunningServer) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.cert.as_bytes()).unwrap())
        .resolve(HOST, server.addr)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn url(server: &RunningServer, path: &str) -> String {
    format!("https://{HOST}:{}{path}", server.addr.port())
}

async fn me_status(client: &reqwest::Client, server: &RunningServer, token: &str) -> Result<StatusCode, String> {
    client
        .get(url(server, "/v1.0/me"))
        .bearer_auth(token)
        .send()
        .await
        .map(|r| r.status())
        .map_err(|e| format!("{e:?}"))
}

fn admin_token(server: &RunningServer) -> String {
    mint_for_upn(server, ADMIN_UPN, false, &[], time::OffsetDateTime::now_utc(), Duration::from_secs(600))
}

/// Waits (up to 10 s) until `client` gets through, i.e. the server presents the certificate it trusts.
async fn until_trusted(client: &reqwest::Client, server: &RunningServer, token: &str) {
    for _ in 0..100 {
        if me_status(client, server, token).await == Ok(StatusCode::OK) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server never presented the renewed certificate");
}

fn files_in(dir: &Path) -> TlsFiles {
    TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") }
}

#[tokio::test]
async fn serves_https_with_the_given_certificate_and_not_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    let pem = fresh_self_signed();
    write(&files, &pem);
    let server = start_tls(dir.path(), &files).await.expect("server starts with TLS");
    assert_eq!(server.state.listen_origin, format!("https://{}", server.addr));
    let token = admin_token(&server);

    let client = client_trusting(&pem, &server);
    let resp = client.get(url(&server, "/v1.0/me")).bearer_auth(&token).send().await.expect("TLS handshake");
    assert_eq!(resp.status(), StatusCode::OK);
    let me: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(me["userPrincipalName"], ADMIN_UPN);

    // The web UI's cookies are Secure without a --public-url: the server itself speaks https.
    let signin = client.get(url(&server, "/signin")).send().await.unwrap();
    let cookies: Vec<&str> = signin.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap()).collect();
    assert!(!cookies.is_empty() && cookies.iter().all(|c| c.contains("; Secure")), "{cookies:?}");

    // A client that does not trust the certificate refuses the connection.
    let stranger = client_trusting(&fresh_self_signed(), &server);
    assert!(me_status(&stranger, &server, &token).await.is_err(), "an untrusted certificate is refused");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new().get(format!("http://{}/v1.0/me", server.addr)).bearer_auth(&token).send().await;
    assert!(plain.is_err() || plain.unwrap().status() != StatusCode::OK, "plain HTTP is not served");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_bad_certificate_or_key_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    // Missing files.
    let e = start_tls(dir.path(), &files).await.err().expect("no certificate: no start");
    assert!(format!("{e:#}").contains("cert.pem"), "{e:#}");
    // A key that is not the certificate's.
    let pem = fresh_self_signed();
    let other = fresh_self_signed();
    write(&files, &Pem { cert: pem.cert, key: other.key });
    assert!(start_tls(dir.path(), &files).await.is_err(), "a mismatched key is refused");
    // Not PEM at all.
    write(&files, &Pem { cert: "not a certificate".into(), key: "nor a key".into() });
    assert!(start_tls(dir.path(), &files).await.is_err(), "garbage is refused");
}

#[tokio::test]
async fn a_renewed_certificate_is_served_after_the_files_change_and_a_broken_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    let first = fresh_self_signed();
    write(&files, &first);
    let server = start_tls(dir.path(), &files).await.unwrap();
    let token = admin_token(&server);
    let trusts_first = client_trusting(&first, &server);
    assert_eq!(me_status(&trusts_first, &server, &token).await, Ok(StatusCode::OK));

    // A broken renewal (the key of another certificate) leaves the first one in service.
    let second = fresh_self_signed();
    write(&files, &Pem { cert: second.cert.clone(), key: fresh_self_signed().key });
    tokio::time::sleep(openpim_server::tls::POLL * 2).await;
    assert_eq!(me_status(&trusts_first, &server, &token).await, Ok(StatusCode::OK), "the old certificate stays");

    // The complete renewal is picked up without a restart.
    write(&files, &second);
    let trusts_second = client_trusting(&second, &server);
    until_trusted(&trusts_second, &server, &token).await;
    // A fresh connection now gets the new certificate, which the old client does not trust.
    let fresh_first = client_trusting(&first, &server);
    assert!(me_status(&fresh_first, &server, &token).await.is_err(), "the old certificate is out of service");
    server.stop().await.unwrap();
}

/// The files are rewritten with a renewed certificate whose size and modification time equal the
/// old one's, so only the signal can tell the server to reload.
#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let files = files_in(dir.path());
    let first = fresh_self_signed();
    write(&files, &first);
    let server = start_tls(dir.path(), &files).await.unwrap();
    let token = admin_token(&server);
    let stamp = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let (cert_time, key_time) = (stamp(&files.cert), stamp(&files.key));

    // A new key (P-256 keys all have the same PEM length) and a certificate of the same length
    // (ECDSA signatures vary by a byte or two).
    let second = std::iter::repeat_with(fresh_self_signed).find(|p| p.cert.len() == first.cert.len()).unwrap();
    assert_eq!(second.key.len(), first.key.len());
    write(&files, &second);
    for (path, time) in [(&files.cert, cert_time), (&files.key, key_time)] {
        std::fs::File::options().write(true).open(path).unwrap().set_modified(time).unwrap();
    }
    tokio::time::sleep(openpim_server::tls::POLL * 2).await;
    let trusts_second = client_trusting(&second, &server);
    assert!(me_status(&trusts_second, &server, &token).await.is_err(), "no reload before the signal");

    let kill = std::process::Command::new("kill").args(["-HUP", &std::process::id().to_string()]).status().unwrap();
    assert!(kill.success());
    until_trusted(&trusts_second, &server, &token).await;
    server.stop().await.unwrap();
}
