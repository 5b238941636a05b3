//! The client commands' one error type: a code, a message and the exit status scripts rely on.

use std::fmt;
use std::process::ExitCode;

/// What went wrong, as far as a script calling `openpim` needs to know (docs/CLI.md lists these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not signed in, token refused (401) or not allowed (403).
    Auth,
    /// 404, or a role/principal/request name that resolves to nothing (or to several things).
    NotFound,
    /// The server refused the request under its rules (400, 409, 422 and other 4xx).
    Refused,
    /// 5xx, an unreadable answer, or no answer at all.
    Server,
    /// Arguments that parse but do not make sense together (clap's own errors exit 2 as well).
    Usage,
    /// A local problem outside the HTTP exchange (profile file, output file).
    Local,
    /// Not an error: `openpim plan` found changes to make (exit 2, as `terraform plan
    /// -detailed-exitcode`), so CI can tell drift from failure.
    ChangesPending,
    /// `openpim audit verify` found the audit chain broken (edited, deleted, reordered records or
    /// a bad checkpoint signature).
    Tampered,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Auth => 3,
            Kind::NotFound => 4,
            Kind::Refused => 5,
            Kind::Server => 6,
            Kind::Usage => 2,
            // Usage-like: the command could not be carried out as asked.
            Kind::Local => 1,
            Kind::ChangesPending => 2,
            Kind::Tampered => 7,
        }
    }

    /// The kind of an HTTP error status.
    pub fn of_status(status: u16) -> Kind {
        match status {
            401 | 403 => Kind::Auth,
            404 => Kind::NotFound,
            400..=499 => Kind::Refused,
            _ => Kind::Server,
        }
    }
}

#[derive(Debug, Clone)]
pub struct CliError {
    pub kind: Kind,
    /// The server's error code (e.g. `RoleAssignmentRequestPolicyValidationFailed`) or ours.
    pub code: String,
    pub message: String,
}

impl CliError {
    pub fn new(kind: Kind, code: &str, message: impl Into<String>) -> Self {
        Self { kind, code: code.to_string(), message: message.into() }
    }

    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, code, message)
    }

    pub fn refused(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::Refused, code, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, "InvalidArgument", message)
    }

    pub fn local(code: &str, message: impl Into<String>) -> Self {
        Self::new(Kind::Local, code, message)
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.exit_code())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CliError {}

pub type CliResult<T> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_documented_exit_codes() {
        assert_eq!(Kind::of_status(401).exit_code(), 3);
        assert_eq!(Kind::of_status(403).exit_code(), 3);
        assert_eq!(Kind::of_status(404).exit_code(), 4);
        for s in [400, 409, 422] {
            assert_eq!(Kind::of_status(s).exit_code(), 5, "{s}");
        }
        assert_eq!(Kind::of_status(500).exit_code(), 6);
        assert_eq!(Kind::of_status(503).exit_code(), 6);
    }
}
