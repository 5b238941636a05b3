//! The tamper-evident audit chain over HTTP (an OpenPIM extension): `openpim_chainSeq` and
//! `openpim_chainHash` on every `directoryAudit`, signed checkpoints, and the export bundle that
//! verifies, and stops verifying at the right record once a row is changed in the database.

use crate::common;

use common::*;
use openpim_core::audit::chain::ChainBreak;
use openpim_server::audit_chain::{self, Bundle};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::{AnyConnection, Connection, Executor};

const AUDITS: &str = "/v1.0/auditLogs/directoryAudits";
const CHECKPOINTS: &str = "/v1.0/openpim/auditChain/checkpoints";
const EXPORT: &str = "/v1.0/openpim/auditChain/export";

/// Some changes and a denied attempt (audited too).
async fn activity(ts: &TestServer) {
    let user = ts.create_user("chained@openpim.test").await;
    ts.assign_role(&user, GLOBAL_READER, "/").await;
    let plain = ts.token_for("chained@openpim.test");
    let (status, _) = ts.client.post("/v1.0/users", &plain, json!({"displayName": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn export(ts: &TestServer, query: &str) -> Bundle {
    let (status, body) = ts.client.get(&format!("{EXPORT}{query}"), &ts.admin_token()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).expect("a bundle")
}

async fn tamper(ts: &TestServer, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(ts.server.state.store.url()).await.expect("direct connection");
    conn.execute(sql).await.expect(sql);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn every_audit_record_carries_its_chain_place_read_only() {
    let ts = TestServer::start().await;
    activity(&ts).await;
    let admin = ts.admin_token();
    // Not in the default shape (Graph's SDKs map every property of a directoryAudit)...
    let plain = ts.list_all(AUDITS, &admin).await;
    assert!(plain.iter().all(|a| a.get("openpim_chainSeq").is_none() && a.get("openpim_chainHash").is_none()));
    // ... but there when selected.
    let all = ts
        .list_all(
            &format!("{AUDITS}?$select=id,result,openpim_chainSeq,openpim_chainHash&$orderby=openpim_chainSeq"),
            &admin,
        )
        .await;
    assert!(all.len() >= 4, "{all:?}");
    let seqs: Vec<i64> = all.iter().map(|a| a["openpim_chainSeq"].as_i64().expect("a chain seq")).collect();
    assert_eq!(seqs, (1..=all.len() as i64).collect::<Vec<_>>(), "one gapless chain, in order");
    for a in &all {
        let hash = a["openpim_chainHash"].as_str().expect("a chain hash");
        assert!(hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()), "{hash}");
    }
    // The denied attempt is in the chain like the changes.
    assert!(all.iter().any(|a| a["result"] == "failure" && a["openpim_chainSeq"].is_i64()), "{all:?}");

    // $select and $filter know the extension properties.
    let (status, body) =
        ts.client.get(&format!("{AUDITS}?$select=id,openpim_chainSeq&$filter=openpim_chainSeq ge 2"), &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["value"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|a| a["openpim_chainSeq"].as_i64().unwrap() >= 2), "{body}");
    assert!(items[0].get("openpim_chainHash").is_none() && items[0].get("activityDisplayName").is_none(), "{body}");

    // Read-only: directoryAudits take no writes, the chain fields included.
    let id = all[0]["id"].as_str().unwrap();
    let r = ts
        .client
        .send(
            ts.client
                .request(Method::PATCH, &format!("{AUDITS}/{id}"), Some(&admin))
                .json(&json!({"openpim_chainSeq": 99})),
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let (_, again) = ts.client.get(&format!("{AUDITS}/{id}?$select=id,openpim_chainSeq"), &admin).await;
    assert_eq!(again["openpim_chainSeq"], all[0]["openpim_chainSeq"]);
    ts.stop().await;
}

#[tokio::test]
async fn signed_checkpoints_and_the_export_bundle_verify() {
    let ts = TestServer::start().await;
    activity(&ts).await;
    let state = &ts.server.state;
    let cp = audit_chain::checkpoint_once(state).await.unwrap().expect("a checkpoint of the head");
    assert!(audit_chain::checkpoint_once(state).await.unwrap().is_none(), "nothing new: no second checkpoint");
    // A write afterwards, then the next checkpoint.
    ts.create_user("later@openpim.test").await;
    let cp2 = audit_chain::checkpoint_once(state).await.unwrap().expect("the new head");
    assert!(cp2.seq > cp.seq);

    let admin = ts.admin_token();
    let (status, body) = ts.client.get(CHECKPOINTS, &admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Oldest first; the server's own checkpoint loop may have signed others besides.
    let listed = body["value"].as_array().unwrap();
    let seqs: Vec<i64> = listed.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs.contains(&cp2.seq), "{body}");
    let first = listed.iter().find(|c| c["seq"] == cp.seq).expect("the first checkpoint");
    assert_eq!(first["chainHash"], cp.chain_hash.as_str());
    assert_eq!(first["signature"], cp.signature.as_str());
    let (_, paged) = ts.client.get(&format!("{CHECKPOINTS}?$top=1"), &admin).await;
    assert_eq!(paged["value"].as_array().unwrap().len(), 1);
    assert!(paged["@odata.nextLink"].is_string(), "{paged}");

    let bundle = export(&ts, "").await;
    let v = audit_chain::verify_bundle(&bundle, None).unwrap().expect("a clean chain verifies");
    assert_eq!(v.checkpoints, seqs.len());
    assert_eq!(v.records, bundle.records.len());
    assert_eq!(bundle.keys.keys[0].common.key_id.as_deref(), Some(cp.key_id.as_str()));
    // The checkpoint is a JWS by the issuer's key and nothing else verifies it.
    assert!(audit_chain::verify_checkpoint(&cp, &bundle.keys).is_ok());
    let mut forged = cp.clone();
    forged.chain_hash = "00".repeat(32);
    assert!(audit_chain::verify_checkpoint(&forged, &bundle.keys).unwrap_err().contains("not for this checkpoint"));
    let other = tempfile::tempdir().unwrap();
    let stranger = openpim_server::auth::LocalIssuer::load_or_create(other.path()).unwrap();
    let wrong = jsonwebtoken::jwk::JwkSet { keys: vec![stranger.public_jwk()] };
    assert!(matches!(audit_chain::verify_bundle(&bundle, Some(&wrong)).unwrap(), Err(ChainBreak::BadSignature { .. })));

    // An excerpt verifies from where it starts.
    let excerpt = export(&ts, &format!("?fromSeq=2&toSeq={}", cp.seq)).await;
    assert_eq!(excerpt.records.first().unwrap().chain_seq, Some(2));
    assert_eq!(excerpt.records.last().unwrap().chain_seq, Some(cp.seq));
    assert!(excerpt.checkpoints.iter().all(|c| (2..=cp.seq).contains(&c.seq)));
    assert!(excerpt.checkpoints.iter().any(|c| c.seq == cp.seq));
    let v = audit_chain::verify_bundle(&excerpt, None).unwrap().unwrap();
    assert_eq!(v.checkpoints, excerpt.checkpoints.len());

    // The data directory verifies offline while the server runs (SQLite).
    if state.store.backend() == openpim_store::Backend::Sqlite {
        let offline = audit_chain::bundle_from_data_dir(ts.data_dir()).await.unwrap();
        assert_eq!(offline.records.len(), bundle.records.len());
        assert!(audit_chain::verify_bundle(&offline, None).unwrap().is_ok());
    }
    ts.stop().await;
}

#[tokio::test]
async fn the_export_refuses_bad_input_and_non_readers() {
    let ts = TestServer::start().await;
    let admin = ts.admin_token();
    for query in ["?fromSeq=0", "?fromSeq=abc", "?toSeq=-1", "?fromSeq=5&toSeq=2", "?from=1"] {
        let (status, body) = ts.client.get(&format!("{EXPORT}{query}"), &admin).await;
        assert_graph_error(status, &body, 400, "Request_BadRequest");
    }
    let (status, body) = ts.client.get(&format!("{CHECKPOINTS}?$filter=nope eq 1"), &admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    ts.create_user("nobody@openpim.test").await;
    let plain = ts.token_for("nobody@openpim.test");
    for path in [EXPORT, CHECKPOINTS] {
        let (status, body) = ts.client.get(path, &plain).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    ts.stop().await;
}

#[tokio::test]
async fn rows_changed_in_the_database_fail_verification_at_the_right_record() {
    let ts = TestServer::start().await;
    activity(&ts).await;
    audit_chain::checkpoint_once(&ts.server.state).await.unwrap().expect("a checkpoint");
    let clean = export(&ts, "").await;
    assert!(audit_chain::verify_bundle(&clean, None).unwrap().is_ok());
    let id_at = |seq: i64| clean.records.iter().find(|r| r.chain_seq == Some(seq)).unwrap().id.clone();

    // Edited: a refusal turned into a success.
    tamper(&ts, "UPDATE audit_log SET result_reason = 'nothing to see' WHERE chain_seq = 2").await;
    let broken = audit_chain::verify_bundle(&export(&ts, "").await, None).unwrap();
    assert_eq!(broken, Err(ChainBreak::Edited { seq: 2, id: id_at(2) }));
    // The API shows the edited row with its (now wrong) chain fields, as stored.
    let (_, row) = ts.client.get(&format!("{AUDITS}/{}", id_at(2)), &ts.admin_token()).await;
    assert_eq!(row["resultReason"], "nothing to see");

    // Deleted: the first break in chain order is now the gap at seq 1, before the edit at seq 2.
    tamper(&ts, "DELETE FROM audit_log WHERE chain_seq = 1").await;
    let broken = audit_chain::verify_bundle(&export(&ts, "").await, None).unwrap();
    assert_eq!(broken, Err(ChainBreak::Missing { expected: 1, found: 2, id: id_at(2) }));
    ts.stop().await;
}

#[tokio::test]
async fn the_checkpoint_loop_signs_when_poked() {
    let ts = TestServer::start().await;
    activity(&ts).await;
    let state = &ts.server.state;
    state.loops.poke(openpim_server::supervise::AUDIT_CHECKPOINTS);
    let start = std::time::Instant::now();
    let head = state.store.audit_chain_head().await.unwrap();
    loop {
        let latest = state.store.latest_audit_checkpoint().await.unwrap();
        if latest.as_ref().is_some_and(|c| c.seq >= head.seq) {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "the loop never signed a checkpoint");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let r = ts.client.send(ts.client.request(Method::GET, "/healthz", None)).await;
    let body: Value = r.body;
    assert_eq!(body["loops"][openpim_server::supervise::AUDIT_CHECKPOINTS]["state"], "running", "{body}");
    ts.stop().await;
}
