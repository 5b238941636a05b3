//! Directory scopes: where an Entra role assignment applies.
//!
//! Graph writes them as strings: `/` (the whole tenant), `/administrativeUnits/{id}` (members of
//! an administrative unit) or `/{objectId}` (one object, e.g. an application).

use crate::error::{DomainError, DomainResult};
use crate::ObjectId;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirectoryScope {
    Tenant,
    AdministrativeUnit(ObjectId),
    Object(ObjectId),
}

impl DirectoryScope {
    pub fn parse(raw: &str) -> DomainResult<Self> {
        let invalid = || {
            DomainError::invalid(
                "InvalidDirectoryScope",
                format!(
                    "'{raw}' is not a valid directoryScopeId: expected '/', \
                     '/administrativeUnits/{{id}}' or '/{{objectId}}'"
                ),
            )
        };
        if raw == "/" {
            return Ok(Self::Tenant);
        }
        let rest = raw.strip_prefix('/').ok_or_else(invalid)?;
        if let Some((head, id)) = rest.split_once('/') {
            if head.eq_ignore_ascii_case("administrativeUnits") {
                return ObjectId::parse_str(id).map(Self::AdministrativeUnit).map_err(|_| invalid());
            }
            return Err(invalid());
        }
        ObjectId::parse_str(rest).map(Self::Object).map_err(|_| invalid())
    }

    /// True when an assignment at `self` grants rights over something at `target`.
    /// The tenant scope covers everything; other scopes cover only themselves.
    pub fn covers(&self, target: &DirectoryScope) -> bool {
        matches!(self, Self::Tenant) || self == target
    }
}

impl fmt::Display for DirectoryScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tenant => f.write_str("/"),
            Self::AdministrativeUnit(id) => write!(f, "/administrativeUnits/{id}"),
            Self::Object(id) => write!(f, "/{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_form() {
        let id = "3fbd929d-8c56-4462-851e-0eb9a7b3a2a5";
        for raw in ["/".to_string(), format!("/administrativeUnits/{id}"), format!("/{id}")] {
            assert_eq!(DirectoryScope::parse(&raw).unwrap().to_string(), raw);
        }
        // Graph accepts the segment name case-insensitively; we normalise it.
        let s = DirectoryScope::parse(&format!("/AdministrativeUnits/{id}")).unwrap();
        assert_eq!(s.to_string(), format!("/administrativeUnits/{id}"));
    }

    #[test]
    fn rejects_garbage() {
        for raw in ["", "tenant", "//", "/administrativeUnits/", "/administrativeUnits/x", "/nope/x", "/x"] {
            let e = DirectoryScope::parse(raw).unwrap_err();
            assert_eq!(e.code, "InvalidDirectoryScope", "{raw}");
        }
    }

    #[test]
    fn tenant_covers_all_but_narrow_scopes_cover_only_themselves() {
        let au = DirectoryScope::AdministrativeUnit(ObjectId::new_v4());
        let other = DirectoryScope::AdministrativeUnit(ObjectId::new_v4());
        assert!(DirectoryScope::Tenant.covers(&au));
        assert!(au.covers(&au));
        assert!(!au.covers(&other));
        assert!(!au.covers(&DirectoryScope::Tenant));
    }
}
