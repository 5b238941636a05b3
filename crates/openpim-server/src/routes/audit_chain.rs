//! OpenPIM extension: the audit chain's signed checkpoints
//! (`/v1.0/openpim/auditChain/checkpoints`) and the verifiable export bundle
//! (`/v1.0/openpim/auditChain/export`), for whoever may read audit logs; the keys that sign
//! the checkpoints (`/v1.0/openpim/auditChain/keys`), for anyone.

use super::audit::authorize;
use crate::audit_chain::Bundle;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::odata::OData;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use openpim_core::audit::chain::Checkpoint;
use openpim_odata::OrderBy;
use openpim_store::{schema, ListRequest};
use serde_json::{json, Value};
use std::collections::HashMap;

const CONTEXT: &str = "openpim/auditChain/checkpoints";

fn checkpoint(c: &Checkpoint) -> Value {
    let created = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(c.created_at) * 1000)
        .map(openpim_proto::datetime::format)
        .unwrap_or_default();
    json!({
        "seq": c.seq,
        "chainHash": c.chain_hash,
        "createdDateTime": created,
        "keyId": c.key_id,
        "signature": c.signature,
    })
}

/// `GET /v1.0/openpim/auditChain/checkpoints`: oldest first, paged like any Graph collection.
pub async fn checkpoints(State(s): State<AppState>, caller: Caller, q: OData) -> ApiResult<Response> {
    authorize(&s, &caller).await?;
    let req = q.list_request(&schema::AUDIT_CHECKPOINT)?;
    let oldest_first = vec![OrderBy { prop: "seq".into(), descending: false }];
    let req = if req.orderby.is_empty() { ListRequest { orderby: &oldest_first, ..req } } else { req };
    let page = s.store.list_audit_checkpoints(&req).await?;
    Ok(q.collection(CONTEXT, page.map(|c| checkpoint(&c)), req.offset))
}

/// `GET /v1.0/openpim/auditChain/keys`: the local issuer's public key(s) as a JWK set (RFC 7517),
/// which checkpoints are signed with. Public like any JWKS document (public keys only): an
/// auditor fetches it, or keeps a copy, to check checkpoints without the data directory.
pub async fn keys(State(s): State<AppState>) -> Response {
    let set = crate::audit_chain::issuer_keys(&s.issuer);
    ([(axum::http::header::CONTENT_TYPE, "application/jwk-set+json")], Json(set)).into_response()
}

/// A `fromSeq`/`toSeq` parameter: a positive whole number.
fn seq_param(params: &HashMap<String, String>, name: &str) -> ApiResult<Option<i64>> {
    match params.get(name) {
        None => Ok(None),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(ApiError::bad_request(format!("'{name}' must be a sequence number (1 or more), not '{raw}'."))),
        },
    }
}

/// `GET /v1.0/openpim/auditChain/export?fromSeq=&toSeq=`: the records `fromSeq..=toSeq` (the
/// whole chain by default) with every stored field, the checkpoints in that range and the
/// issuer's public key, read from one snapshot.
pub async fn export(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    authorize(&s, &caller).await?;
    if let Some(unknown) = params.keys().find(|k| !matches!(k.as_str(), "fromSeq" | "toSeq")) {
        return Err(ApiError::bad_request(format!(
            "Unknown query parameter '{unknown}': the export takes fromSeq and toSeq."
        )));
    }
    let from = seq_param(&params, "fromSeq")?.unwrap_or(1);
    let to = seq_param(&params, "toSeq")?;
    if to.is_some_and(|to| to < from) {
        return Err(ApiError::bad_request("'toSeq' must not be less than 'fromSeq'."));
    }
    let excerpt = s.store.audit_chain_excerpt(from, to).await?;
    Ok(Json(Bundle::new(&s.issuer, from, excerpt, s.now())).into_response())
}
