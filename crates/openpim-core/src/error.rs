//! Domain errors. Each carries a Graph-style error code and an HTTP-ish kind; the server maps
//! the kind to a status code and renders `{"error":{"code","message"}}`.

use std::fmt;

/// How a failure should be reported to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or violates a rule (HTTP 400).
    Invalid,
    /// The caller is not allowed to do this (HTTP 403).
    Forbidden,
    /// The target does not exist (HTTP 404).
    NotFound,
    /// The request conflicts with existing state (HTTP 409, or 400 where Graph uses 400).
    Conflict,
}

/// A rule violation, with the Graph error code a client can branch on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
}

impl DomainError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Invalid, code, message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::invalid("Request_BadRequest", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Forbidden, code: "Authorization_RequestDenied", message: message.into() }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::NotFound, code: "Request_ResourceNotFound", message: message.into() }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Conflict, code, message: message.into() }
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for DomainError {}

pub type DomainResult<T> = Result<T, DomainError>;
