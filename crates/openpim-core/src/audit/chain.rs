//! The tamper-evident audit chain: every stored audit record commits to the one before it.
//!
//! Each record gets a sequence number `chainSeq` (1, 2, 3, ... with no gaps, assigned in the
//! write transaction) and `chainHash = SHA-256(chainPrevHash || canonical bytes)`, where
//! `chainPrevHash` is the previous record's `chainHash` (32 zero bytes for seq 1). Editing a
//! stored field changes the record's hash; deleting a record leaves a gap in the sequence;
//! moving a record puts it after a record whose hash is not its `chainPrevHash`. Signed
//! checkpoints (see [`Checkpoint`]) pin the chain head at a moment, so that a tail cut off (the
//! newest records deleted) or a chain rewritten without the issuer key is caught as well.
//!
//! # Canonical bytes, version 1
//!
//! Everything is taken from the stored row as it is stored (text columns byte for byte, the
//! JSON columns as their stored text), so an auditor can recompute hashes from an export
//! without knowing how OpenPIM renders records:
//!
//! ```text
//! "openpim-audit-chain/v1\n"                        23 ASCII bytes, the version tag
//! chainSeq                                           8 bytes, big-endian signed
//! id                                                 text field (below)
//! activityAt                                         8 bytes, big-endian signed: µs since the Unix epoch
//! category, activityDisplayName, operationType, result, resultReason,
//! initiatedByUserId, initiatedByUpn, initiatedByDisplayName,
//! targetResources, additionalDetails, correlationId, loggedByService
//!                                                    text fields, in this order
//! ```
//!
//! A text field is `0x00` when the value is null, else `0x01`, its UTF-8 length as 4 bytes
//! big-endian, and its UTF-8 bytes. The hash is SHA-256 over the 32 bytes of `chainPrevHash`
//! followed by these bytes; hashes are written as lowercase hex.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The version of the canonical encoding (and of checkpoints' payload).
pub const CHAIN_VERSION: u32 = 1;
/// The version tag that starts every record's canonical bytes.
pub const TAG_V1: &[u8] = b"openpim-audit-chain/v1\n";
/// `chainPrevHash` of the first record (seq 1): 32 zero bytes, in hex.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored audit row with its chain fields, every field as stored. The export bundle carries
/// records in this shape (`camelCase` JSON). The chain fields are `None` for a row that was
/// inserted around the write path (it has no place in the chain, which verification reports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainedRecord {
    pub chain_seq: Option<i64>,
    pub chain_prev_hash: Option<String>,
    pub chain_hash: Option<String>,
    pub id: String,
    /// Microseconds since the Unix epoch.
    pub activity_at: i64,
    pub category: String,
    pub activity_display_name: String,
    pub operation_type: String,
    pub result: String,
    pub result_reason: String,
    pub initiated_by_user_id: Option<String>,
    pub initiated_by_upn: Option<String>,
    pub initiated_by_display_name: Option<String>,
    /// The stored JSON text.
    pub target_resources: String,
    /// The stored JSON text.
    pub additional_details: String,
    pub correlation_id: String,
    pub logged_by_service: String,
}

fn text(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            // Audit fields are far below 4 GiB; a longer one could not be stored either.
            out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
}

impl ChainedRecord {
    /// The record's canonical bytes (version 1) at position `seq` (see the module docs).
    pub fn canonical_bytes(&self, seq: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(TAG_V1);
        out.extend_from_slice(&seq.to_be_bytes());
        text(&mut out, Some(&self.id));
        out.extend_from_slice(&self.activity_at.to_be_bytes());
        for field in [
            Some(self.category.as_str()),
            Some(&self.activity_display_name),
            Some(&self.operation_type),
            Some(&self.result),
            Some(&self.result_reason),
            self.initiated_by_user_id.as_deref(),
            self.initiated_by_upn.as_deref(),
            self.initiated_by_display_name.as_deref(),
            Some(&self.target_resources),
            Some(&self.additional_details),
            Some(&self.correlation_id),
            Some(&self.logged_by_service),
        ] {
            text(&mut out, field);
        }
        out
    }

    /// The hash this record has at `seq` after a record whose hash is `prev_hash` (hex).
    /// `None` when `prev_hash` is not 32 bytes of hex.
    pub fn hash_after(&self, prev_hash: &str, seq: i64) -> Option<String> {
        let prev = decode_hash(prev_hash)?;
        let mut h = Sha256::new();
        h.update(prev);
        h.update(self.canonical_bytes(seq));
        Some(hex::encode(h.finalize()))
    }
}

fn decode_hash(h: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(h, &mut out).ok()?;
    Some(out)
}

/// A signed statement "the chain's record `seq` has hash `chain_hash`", made by the issuer key
/// every so often. `signature` is a compact JWS (ES256, header `kid` = `key_id`) whose payload
/// is [`CheckpointClaims`]; anyone with the issuer's public key can check it with a JWT library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub seq: i64,
    pub chain_hash: String,
    /// When it was signed, µs since the Unix epoch.
    pub created_at: i64,
    pub key_id: String,
    pub signature: String,
}

/// The signed payload of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointClaims {
    /// Always "openpim-audit-checkpoint", so no other token of the issuer passes as one.
    pub typ: String,
    pub chain_version: u32,
    pub seq: i64,
    pub chain_hash: String,
    /// Seconds since the Unix epoch.
    pub iat: i64,
}

pub const CHECKPOINT_TYPE: &str = "openpim-audit-checkpoint";

/// Where the records handed to [`verify`] start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// At seq 1, after [`GENESIS_HASH`]: the whole chain.
    Genesis,
    /// At this seq, after whatever `chainPrevHash` the first record names (an excerpt: its
    /// link to earlier records is taken on trust unless a checkpoint covers it).
    At(i64),
}

/// The first thing wrong with a chain, in chain order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("record {id} has no chain position: it was inserted around the write path")]
    Unchained { id: String },
    #[error("record seq {expected} is missing (deleted?): the next record is seq {found} (id {id})")]
    Missing { expected: i64, found: i64, id: String },
    #[error("record seq {seq} (id {id}) appears again or out of order, where seq {expected} was expected")]
    OutOfOrder { expected: i64, seq: i64, id: String },
    #[error(
        "record seq {seq} (id {id}) does not follow the record before it (its chainPrevHash is another record's hash): reordered, or the record before it was rewritten"
    )]
    PrevMismatch { seq: i64, id: String },
    #[error("record seq {seq} (id {id}) does not match its hash: a field was edited")]
    Edited { seq: i64, id: String },
    #[error("checkpoint at seq {seq} is not validly signed: {why}")]
    BadSignature { seq: i64, why: String },
    #[error("checkpoint at seq {seq} signs hash {signed}, but record seq {seq} (id {id}) has hash {found}: the chain was rewritten")]
    CheckpointMismatch { seq: i64, id: String, signed: String, found: String },
    #[error("a signed checkpoint names seq {seq}, but the chain ends at seq {head}: records after it were deleted")]
    Truncated { seq: i64, head: i64 },
}

impl ChainBreak {
    /// The seq and id of the first broken record, when the break is at a record.
    pub fn record(&self) -> (Option<i64>, Option<&str>) {
        match self {
            Self::Unchained { id } => (None, Some(id)),
            Self::Missing { expected, id, .. } => (Some(*expected), Some(id)),
            Self::OutOfOrder { seq, id, .. }
            | Self::PrevMismatch { seq, id }
            | Self::Edited { seq, id }
            | Self::CheckpointMismatch { seq, id, .. } => (Some(*seq), Some(id)),
            Self::BadSignature { seq, .. } | Self::Truncated { seq, .. } => (Some(*seq), None),
        }
    }
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub records: usize,
    pub checkpoints: usize,
    pub first_seq: Option<i64>,
    /// The last record's seq and hash.
    pub head: Option<(i64, String)>,
    /// The newest checkpoint verified (seq): records after it are proven only by the chain.
    pub last_checkpoint: Option<i64>,
}

/// Verifies `records` (in seq order, unchained ones anywhere) and the `checkpoints` that fall in
/// their range. `check_signature` checks one checkpoint's JWS and that its payload names the
/// checkpoint's seq and hash. Returns the first break in chain order.
pub fn verify(
    records: &[ChainedRecord],
    checkpoints: &[Checkpoint],
    start: Start,
    check_signature: impl Fn(&Checkpoint) -> Result<(), String>,
) -> Result<Verified, ChainBreak> {
    if let Some(r) = records.iter().find(|r| r.chain_seq.is_none() || r.chain_hash.is_none()) {
        return Err(ChainBreak::Unchained { id: r.id.clone() });
    }
    let mut by_seq: Vec<&Checkpoint> = checkpoints.iter().collect();
    by_seq.sort_by_key(|c| c.seq);
    let first_seq = match start {
        Start::Genesis => 1,
        Start::At(seq) => seq,
    };
    let mut cps = by_seq.into_iter().filter(|c| c.seq >= first_seq).peekable();
    let mut expected = first_seq;
    let mut prev: Option<String> = match start {
        Start::Genesis => Some(GENESIS_HASH.to_string()),
        Start::At(_) => None,
    };
    let mut verified_cps = 0;
    let mut last_checkpoint = None;
    for r in records {
        let (seq, hash) = (r.chain_seq.unwrap_or_default(), r.chain_hash.clone().unwrap_or_default());
        if seq > expected {
            return Err(ChainBreak::Missing { expected, found: seq, id: r.id.clone() });
        }
        if seq < expected {
            return Err(ChainBreak::OutOfOrder { expected, seq, id: r.id.clone() });
        }
        let claimed_prev = r.chain_prev_hash.clone().unwrap_or_default();
        let prev_hash = prev.take().unwrap_or_else(|| claimed_prev.clone());
        if claimed_prev != prev_hash {
            return Err(ChainBreak::PrevMismatch { seq, id: r.id.clone() });
        }
        if r.hash_after(&prev_hash, seq).as_deref() != Some(hash.as_str()) {
            return Err(ChainBreak::Edited { seq, id: r.id.clone() });
        }
        while let Some(cp) = cps.next_if(|c| c.seq <= seq) {
            check_signature(cp).map_err(|why| ChainBreak::BadSignature { seq: cp.seq, why })?;
            // Checkpoints are at record seqs; one between the records seen would be a gap,
            // which the sequence check above already reported.
            if cp.chain_hash != hash {
                return Err(ChainBreak::CheckpointMismatch {
                    seq,
                    id: r.id.clone(),
                    signed: cp.chain_hash.clone(),
                    found: hash.clone(),
                });
            }
            verified_cps += 1;
            last_checkpoint = Some(seq);
        }
        prev = Some(hash);
        expected = seq + 1;
    }
    if let Some(cp) = cps.next() {
        check_signature(cp).map_err(|why| ChainBreak::BadSignature { seq: cp.seq, why })?;
        return Err(ChainBreak::Truncated { seq: cp.seq, head: expected - 1 });
    }
    let head = records.last().map(|r| (r.chain_seq.unwrap_or_default(), r.chain_hash.clone().unwrap_or_default()));
    Ok(Verified {
        records: records.len(),
        checkpoints: verified_cps,
        first_seq: records.first().and_then(|r| r.chain_seq),
        head,
        last_checkpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: i64) -> ChainedRecord {
        ChainedRecord {
            chain_seq: None,
            chain_prev_hash: None,
            chain_hash: None,
            id: format!("id-{n}"),
            activity_at: 1_700_000_000_000_000 + n,
            category: "RoleManagement".into(),
            activity_display_name: "Add member to role".into(),
            operation_type: "Assign".into(),
            result: "success".into(),
            result_reason: String::new(),
            initiated_by_user_id: None,
            initiated_by_upn: Some("a@x".into()),
            initiated_by_display_name: None,
            target_resources: "[]".into(),
            additional_details: "[]".into(),
            correlation_id: "c".into(),
            logged_by_service: "PIM".into(),
        }
    }

    fn chain(n: i64) -> Vec<ChainedRecord> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let mut r = record(seq);
                let hash = r.hash_after(&prev, seq).unwrap();
                r.chain_seq = Some(seq);
                r.chain_prev_hash = Some(prev.clone());
                r.chain_hash = Some(hash.clone());
                prev = hash;
                r
            })
            .collect()
    }

    fn cp(records: &[ChainedRecord], seq: i64) -> Checkpoint {
        Checkpoint {
            seq,
            chain_hash: records[seq as usize - 1].chain_hash.clone().unwrap(),
            created_at: 0,
            key_id: "k".into(),
            signature: "good".into(),
        }
    }

    fn sig(c: &Checkpoint) -> Result<(), String> {
        (c.signature == "good").then_some(()).ok_or_else(|| "bad signature".to_string())
    }

    #[test]
    fn the_encoding_is_the_documented_one() {
        let r = record(1);
        let bytes = r.canonical_bytes(7);
        assert!(bytes.starts_with(b"openpim-audit-chain/v1\n"));
        assert_eq!(&bytes[23..31], &7i64.to_be_bytes());
        assert_eq!(&bytes[31..36], &[1, 0, 0, 0, 4]);
        assert_eq!(&bytes[36..40], b"id-1");
        // A null differs from an empty string.
        let mut a = record(1);
        a.initiated_by_user_id = Some(String::new());
        assert_ne!(a.hash_after(GENESIS_HASH, 1), record(1).hash_after(GENESIS_HASH, 1));
        // Moving bytes between adjacent fields changes the hash (length prefixes).
        let (mut b, mut c) = (record(1), record(1));
        b.category = "ab".into();
        b.activity_display_name = "c".into();
        c.category = "a".into();
        c.activity_display_name = "bc".into();
        assert_ne!(b.hash_after(GENESIS_HASH, 1), c.hash_after(GENESIS_HASH, 1));
    }

    #[test]
    fn a_clean_chain_verifies_with_its_checkpoints() {
        let records = chain(5);
        let v = verify(&records, &[cp(&records, 2), cp(&records, 5)], Start::Genesis, sig).unwrap();
        assert_eq!((v.records, v.checkpoints, v.last_checkpoint), (5, 2, Some(5)));
        assert_eq!(v.head.unwrap().0, 5);
    }

    #[test]
    fn each_kind_of_tampering_names_the_first_broken_record() {
        let records = chain(5);
        let mut edited = records.clone();
        edited[2].result = "failure".into();
        assert_eq!(verify(&edited, &[], Start::Genesis, sig), Err(ChainBreak::Edited { seq: 3, id: "id-3".into() }));

        let mut deleted = records.clone();
        deleted.remove(1);
        assert_eq!(
            verify(&deleted, &[], Start::Genesis, sig),
            Err(ChainBreak::Missing { expected: 2, found: 3, id: "id-3".into() })
        );

        // Two rows' seqs swapped: read in seq order, id-4 now stands at seq 3.
        let mut swapped = records.clone();
        swapped.swap(2, 3);
        swapped[2].chain_seq = Some(3);
        swapped[3].chain_seq = Some(4);
        assert_eq!(
            verify(&swapped, &[], Start::Genesis, sig),
            Err(ChainBreak::PrevMismatch { seq: 3, id: "id-4".into() })
        );

        let mut unchained = records.clone();
        unchained[4].chain_seq = None;
        assert!(matches!(verify(&unchained, &[], Start::Genesis, sig), Err(ChainBreak::Unchained { .. })));

        let mut forged = cp(&records, 3);
        forged.signature = "forged".into();
        assert!(matches!(
            verify(&records, &[forged], Start::Genesis, sig),
            Err(ChainBreak::BadSignature { seq: 3, .. })
        ));

        // The newest records cut off: the signed checkpoint at seq 5 is beyond the head.
        let checkpoint = cp(&records, 5);
        assert_eq!(
            verify(&records[..3], &[checkpoint], Start::Genesis, sig),
            Err(ChainBreak::Truncated { seq: 5, head: 3 })
        );
    }

    #[test]
    fn a_chain_rewritten_without_the_key_fails_at_the_checkpoint() {
        let records = chain(4);
        let checkpoint = cp(&records, 4);
        // Rewrite record 2 and recompute every later hash (what an attacker with db access can do).
        let mut rewritten = records.clone();
        rewritten[1].result = "failure".into();
        let mut prev = rewritten[0].chain_hash.clone().unwrap();
        for r in rewritten.iter_mut().skip(1) {
            let seq = r.chain_seq.unwrap();
            r.chain_prev_hash = Some(prev.clone());
            let hash = r.hash_after(&prev, seq).unwrap();
            r.chain_hash = Some(hash.clone());
            prev = hash;
        }
        assert!(verify(&rewritten, &[], Start::Genesis, sig).is_ok());
        assert!(matches!(
            verify(&rewritten, &[checkpoint], Start::Genesis, sig),
            Err(ChainBreak::CheckpointMismatch { seq: 4, .. })
        ));
    }

    #[test]
    fn an_excerpt_starts_where_it_says() {
        let records = chain(5);
        let v = verify(&records[2..], &[cp(&records, 1), cp(&records, 4)], Start::At(3), sig).unwrap();
        assert_eq!((v.records, v.checkpoints, v.first_seq), (3, 1, Some(3)));
        assert!(matches!(verify(&records[2..], &[], Start::Genesis, sig), Err(ChainBreak::Missing { .. })));
    }
}
