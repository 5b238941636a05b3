//! The one error type of this crate.
//!
//! Every failure here is reported to a Graph client as an OData error body
//! (`{"error":{"code":..,"message":..}}`), so the error carries exactly those
//! two fields. The message is meant to be shown to the caller verbatim: it says
//! what was wrong and, for `$filter`, where (a byte offset into the filter).

use std::fmt::Display;

/// An error with a Graph-style `code` and a human-readable `message`.
///
/// `code` is [`ODataError::BAD_REQUEST`] for anything the client got wrong
/// (syntax, unknown properties, type mismatches). The only other code,
/// [`ODataError::INTERNAL`], marks a bug in the calling service (for example a
/// row getter that returns a value of the wrong type); it must map to HTTP 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ODataError {
    pub code: &'static str,
    pub message: String,
}

impl ODataError {
    /// Code for client mistakes (HTTP 400).
    pub const BAD_REQUEST: &'static str = "BadRequest";
    /// Code for mistakes of the calling service, never of the client (HTTP 500).
    pub const INTERNAL: &'static str = "InternalServerError";

    pub fn bad_request(message: impl Into<String>) -> Self {
        ODataError { code: Self::BAD_REQUEST, message: message.into() }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ODataError { code: Self::INTERNAL, message: message.into() }
    }

    /// A `$filter` syntax error at byte offset `pos` of the filter text.
    pub(crate) fn filter_syntax(pos: usize, what: impl Display) -> Self {
        Self::bad_request(format!("Invalid $filter: {what} at position {pos}"))
    }

    /// True for errors the client caused (HTTP 400).
    pub fn is_bad_request(&self) -> bool {
        self.code == Self::BAD_REQUEST
    }
}

/// Shorten user-supplied text before echoing it in a message, so a 4 KiB
/// string literal does not become a 4 KiB error body.
pub(crate) fn snippet(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    if text.chars().count() <= MAX_CHARS {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(MAX_CHARS).collect();
        s.push('…');
        s
    }
}
