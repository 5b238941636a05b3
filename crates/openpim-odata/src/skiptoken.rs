//! Opaque `$skiptoken` values for `@odata.nextLink`.
//!
//! A token is URL-safe base64 (no padding) of 13 bytes: a version byte, the
//! row offset as a big-endian u64, and an FNV-1a checksum of those 9 bytes.
//! The checksum is not a secret MAC: it only makes garbage and edited tokens
//! fail loudly instead of silently paging from a random offset. That is
//! enough, because the offset grants nothing a client could not ask for with
//! `$skip`. The version byte lets the format change (e.g. to keyset paging)
//! while old links fail cleanly.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::ODataError;

const VERSION: u8 = 1;
const PAYLOAD_LEN: usize = 13;

fn checksum(bytes: &[u8]) -> [u8; 4] {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h.to_be_bytes()
}

/// Encode a row offset as an opaque token.
pub fn encode_skiptoken(offset: u64) -> String {
    let mut payload = Vec::with_capacity(PAYLOAD_LEN);
    payload.push(VERSION);
    payload.extend_from_slice(&offset.to_be_bytes());
    let sum = checksum(&payload);
    payload.extend_from_slice(&sum);
    URL_SAFE_NO_PAD.encode(payload)
}

/// Decode a token from [`encode_skiptoken`]; anything else is BadRequest.
pub fn decode_skiptoken(token: &str) -> Result<u64, ODataError> {
    let invalid = || ODataError::bad_request("Invalid $skiptoken");
    // 13 bytes encode to 18 characters; refuse to decode anything else.
    if token.len() != 18 {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    if bytes.len() != PAYLOAD_LEN || bytes[0] != VERSION || bytes[9..] != checksum(&bytes[..9]) {
        return Err(invalid());
    }
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&bytes[1..9]);
    Ok(u64::from_be_bytes(offset))
}
