//! Scopes: where a role assignment, eligibility or policy applies.
//!
//! One type with two families, so one schedule engine and one access index serve both role
//! worlds: directory scopes for Entra roles ([`DirectoryScope`]) and Azure Resource Manager scopes
//! for Azure roles ([`ArmScope`]). Both are exchanged as the strings their APIs use and never
//! cover each other. Both APIs write their root `/`, and Graph's directory tenant and ARM's root
//! scope (what `elevateAccess` grants) are different scopes: a `Scope` never writes ARM's root as
//! `/`. It prints and parses it as [`ROOT_STORED`] (what the store keeps, and what Graph's lists
//! show if they meet such a row), while `Scope::parse("/")` is the directory tenant; only ARM's
//! wire writes and reads ARM's root as `/` (`ArmScope`'s `Display` and `ArmScope::parse`).

mod arm;
mod directory;
mod hierarchy;
mod resource_id;

pub use arm::{ArmScope, ArmScopeError, ArmScopeKind, ROOT_STORED};
pub use directory::DirectoryScope;
pub use hierarchy::{
    HierarchyError, ManagementGroupTree, NoManagementGroups, ScopeHierarchy, MAX_MANAGEMENT_GROUP_DEPTH,
};
pub use resource_id::{AuthorizationResourceId, AUTHORIZATION_NAMESPACE};

use crate::error::{DomainError, DomainResult};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Directory(DirectoryScope),
    Arm(ArmScope),
}

impl Scope {
    /// Reads either family from its text: strings starting with `/subscriptions` or `/providers`
    /// are ARM scopes (with ARM's errors; [`ROOT_STORED`] is ARM's root), everything else a
    /// directory scope (with Graph's; `/` is the directory tenant).
    pub fn parse(raw: &str) -> DomainResult<Self> {
        if raw.eq_ignore_ascii_case(ROOT_STORED) {
            return Ok(Self::Arm(ArmScope::root()));
        }
        let first = raw.strip_prefix('/').map(|rest| rest.split('/').next().unwrap_or_default());
        let is_arm =
            first.is_some_and(|s| s.eq_ignore_ascii_case("subscriptions") || s.eq_ignore_ascii_case("providers"));
        if !is_arm {
            return DirectoryScope::parse(raw).map(Self::Directory);
        }
        ArmScope::parse(raw).map(Self::Arm).map_err(|e| {
            DomainError::invalid("InvalidScope", format!("'{raw}' is not a valid Azure resource scope: {e}."))
        })
    }

    pub const TENANT: Scope = Scope::Directory(DirectoryScope::Tenant);

    pub fn as_directory(&self) -> Option<DirectoryScope> {
        match self {
            Self::Directory(d) => Some(*d),
            Self::Arm(_) => None,
        }
    }

    /// The directory scope, or Graph's 400 for a `directoryScopeId` that is not one: for Graph
    /// surfaces, which serve directory roles only.
    pub fn require_directory(&self) -> DomainResult<DirectoryScope> {
        self.as_directory().ok_or_else(|| {
            DomainError::invalid(
                "InvalidDirectoryScope",
                format!("'{self}' is an Azure resource scope, not a valid directoryScopeId."),
            )
        })
    }

    pub fn as_arm(&self) -> Option<&ArmScope> {
        match self {
            Self::Arm(a) => Some(a),
            Self::Directory(_) => None,
        }
    }

    /// The text the store keys this scope on (its `scope_key` column): ARM scopes compare
    /// case-insensitively, so their ASCII-lowercased form ([`ROOT_STORED`] lowercased for ARM's
    /// root); directory scopes print in one spelling with lowercase GUIDs, and lowercasing them
    /// keeps one rule for both families. The two roots' keys differ (`/` is the directory's).
    pub fn key(&self) -> String {
        match self {
            Self::Directory(d) => d.to_string().to_ascii_lowercase(),
            Self::Arm(a) => a.key().to_string(),
        }
    }

    /// True when an assignment at `self` grants rights at `target`. Within the directory, the
    /// tenant covers everything and a narrower scope only itself; within ARM, a scope covers
    /// itself and everything below it (`hierarchy` places subscriptions in management groups).
    /// A directory scope never covers an ARM scope, nor the other way round.
    pub fn covers<H: ScopeHierarchy + ?Sized>(&self, target: &Scope, hierarchy: &H) -> bool {
        match (self, target) {
            (Self::Directory(s), Self::Directory(t)) => s.covers(t),
            (Self::Arm(s), Self::Arm(t)) => s.covers(t, hierarchy),
            _ => false,
        }
    }
}

impl From<DirectoryScope> for Scope {
    fn from(scope: DirectoryScope) -> Self {
        Self::Directory(scope)
    }
}

impl From<ArmScope> for Scope {
    fn from(scope: ArmScope) -> Self {
        Self::Arm(scope)
    }
}

impl PartialEq<DirectoryScope> for Scope {
    fn eq(&self, other: &DirectoryScope) -> bool {
        self.as_directory().is_some_and(|d| d == *other)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Directory(d) => d.fmt(f),
            // Never `/`, which is the directory tenant's text.
            Self::Arm(a) if a.is_root() => f.write_str(ROOT_STORED),
            Self::Arm(a) => a.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests;
