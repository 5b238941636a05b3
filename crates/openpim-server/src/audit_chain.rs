//! The tamper-evident audit chain, server side: signing checkpoints with the local issuer key
//! (a background loop), the export bundle an auditor verifies offline, and the verification of
//! a bundle (used by `openpim audit verify`). The chain itself is built by the store's write
//! path and defined in `openpim_core::audit::chain`.

use crate::auth::LocalIssuer;
use crate::state::AppState;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use openpim_core::audit::chain::{
    self, ChainBreak, ChainedRecord, Checkpoint, CheckpointClaims, Start, Verified, CHAIN_VERSION, CHECKPOINT_TYPE,
};
use openpim_store::audit::ChainExcerpt;
use openpim_store::StoreError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `format` of an export bundle.
pub const BUNDLE_FORMAT: &str = "openpim-audit-bundle/v1";

/// Signs the chain head as a checkpoint, unless it is already checkpointed (or empty). Several
/// nodes may race to sign the same head; the store keeps the first. Returns the stored one.
pub async fn checkpoint_once(state: &AppState) -> Result<Option<Checkpoint>, StoreError> {
    let head = state.store.audit_chain_head().await?;
    if head.seq == 0 {
        return Ok(None);
    }
    if state.store.latest_audit_checkpoint().await?.is_some_and(|c| c.seq >= head.seq) {
        return Ok(None);
    }
    let at = state.now();
    let claims = CheckpointClaims {
        typ: CHECKPOINT_TYPE.into(),
        chain_version: CHAIN_VERSION,
        seq: head.seq,
        chain_hash: head.hash.clone(),
        iat: at.unix_timestamp(),
    };
    let (key_id, signature) = state.issuer.sign_checkpoint(&claims);
    let cp = Checkpoint {
        seq: head.seq,
        chain_hash: head.hash,
        created_at: (at.unix_timestamp_nanos() / 1000) as i64,
        key_id,
        signature,
    };
    Ok(state.store.insert_audit_checkpoint(&cp).await?.then_some(cp))
}

/// The checkpoint loop, under `supervise`: signs the head `every` so often (`--audit-checkpoint-interval`)
/// when records were added since the last checkpoint.
pub async fn run(state: AppState, stop: tokio::sync::watch::Receiver<bool>, every: Duration) {
    let st = &state;
    crate::supervise::every(st, crate::supervise::AUDIT_CHECKPOINTS, every, stop, move || async move {
        if let Some(cp) = checkpoint_once(st).await? {
            tracing::debug!(seq = cp.seq, "signed an audit chain checkpoint");
        }
        Ok::<_, anyhow::Error>(())
    })
    .await
}

/// What an auditor takes away: records (every stored field, as stored, with the chain
/// fields), the checkpoints in their range, and the keys that sign checkpoints. Verifiable
/// with the canonical encoding of `docs/SECURITY.md` alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub format: String,
    pub chain_version: u32,
    /// The local issuer the keys belong to.
    pub issuer: String,
    /// RFC 3339.
    pub exported_date_time: String,
    /// The first seq asked for: 1 for the whole chain.
    pub from_seq: i64,
    /// The chain head when exported.
    pub head_seq: i64,
    pub head_hash: String,
    /// Records 1..=this existed before the chain and were chained on upgrade.
    pub legacy_through: Option<i64>,
    pub keys: JwkSet,
    pub records: Vec<ChainedRecord>,
    pub checkpoints: Vec<Checkpoint>,
}

impl Bundle {
    pub fn new(issuer: &LocalIssuer, from_seq: i64, excerpt: ChainExcerpt, now: time::OffsetDateTime) -> Self {
        Self {
            format: BUNDLE_FORMAT.into(),
            chain_version: CHAIN_VERSION,
            issuer: issuer.issuer().to_string(),
            exported_date_time: openpim_proto::datetime::format(now),
            from_seq,
            head_seq: excerpt.head.seq,
            head_hash: excerpt.head.hash,
            legacy_through: excerpt.head.legacy_through,
            keys: issuer_keys(issuer),
            records: excerpt.records,
            checkpoints: excerpt.checkpoints,
        }
    }
}

/// Why a bundle could not be checked at all (as opposed to a chain that is broken).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not an OpenPIM audit bundle (format '{0}', expected '{BUNDLE_FORMAT}')")]
    Format(String),
    #[error("unsupported chain version {0} (this build verifies version {CHAIN_VERSION})")]
    Version(u32),
}

/// Checks a bundle: the chain from its first record, and every checkpoint's signature by the
/// keys in `trusted` (the auditor's own copy), or the bundle's own keys when none is given.
pub fn verify_bundle(bundle: &Bundle, trusted: Option<&JwkSet>) -> Result<Result<Verified, ChainBreak>, BundleError> {
    if bundle.format != BUNDLE_FORMAT {
        return Err(BundleError::Format(bundle.format.clone()));
    }
    if bundle.chain_version != CHAIN_VERSION {
        return Err(BundleError::Version(bundle.chain_version));
    }
    let keys = trusted.unwrap_or(&bundle.keys);
    let start = if bundle.from_seq <= 1 { Start::Genesis } else { Start::At(bundle.from_seq) };
    Ok(chain::verify(&bundle.records, &bundle.checkpoints, start, |cp| verify_checkpoint(cp, keys)))
}

/// Checks that `cp.signature` is a checkpoint JWS by the key `cp.key_id` in `keys` and that it
/// signs exactly `cp`'s seq and hash.
pub fn verify_checkpoint(cp: &Checkpoint, keys: &JwkSet) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(&cp.signature).map_err(|e| format!("not a JWS: {e}"))?;
    if header.kid.as_deref() != Some(cp.key_id.as_str()) {
        return Err(format!("signed by key {:?}, but the checkpoint names key '{}'", header.kid, cp.key_id));
    }
    let jwk = keys.find(&cp.key_id).ok_or_else(|| format!("no trusted key '{}'", cp.key_id))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key '{}' is unusable: {e}", cp.key_id))?;
    let mut v = Validation::new(Algorithm::ES256);
    // A checkpoint is a statement about the past: no expiry, audience or issuer to check.
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_aud = false;
    let claims = jsonwebtoken::decode::<CheckpointClaims>(&cp.signature, &key, &v)
        .map_err(|e| format!("signature check failed: {e}"))?
        .claims;
    if claims.typ != CHECKPOINT_TYPE || claims.chain_version != CHAIN_VERSION {
        return Err("the signed payload is not an audit checkpoint of this chain version".into());
    }
    if claims.seq != cp.seq || claims.chain_hash != cp.chain_hash {
        return Err(format!(
            "the signature is for seq {} hash {}, not for this checkpoint's seq {} hash {}",
            claims.seq, claims.chain_hash, cp.seq, cp.chain_hash
        ));
    }
    Ok(())
}

/// The keys that sign checkpoints: the local issuer's public key, as a JWK set. Served at
/// `/v1.0/openpim/auditChain/keys` and put in every bundle.
pub fn issuer_keys(issuer: &LocalIssuer) -> JwkSet {
    JwkSet { keys: vec![issuer.public_jwk()] }
}

/// Reads trusted keys from a file: a JWKS (`{"keys": [...]}`), or an earlier bundle (its keys).
pub fn parse_keys(bytes: &[u8]) -> Result<JwkSet, String> {
    if let Ok(bundle) = serde_json::from_slice::<Bundle>(bytes) {
        return Ok(bundle.keys);
    }
    serde_json::from_slice::<JwkSet>(bytes).map_err(|e| format!("not a JWK set or an audit bundle: {e}"))
}

/// Reads the bundle of a data directory without a server: the SQLite database opened
/// read-only (a running server is not disturbed) and the issuer's public key.
pub async fn bundle_from_data_dir(dir: &std::path::Path) -> anyhow::Result<Bundle> {
    let issuer = LocalIssuer::load(dir)?;
    let excerpt = openpim_store::audit::read_sqlite_chain_readonly(&dir.join("openpim.db")).await?;
    Ok(Bundle::new(&issuer, 1, excerpt, time::OffsetDateTime::now_utc()))
}
