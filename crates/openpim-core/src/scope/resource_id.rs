//! Ids of `Microsoft.Authorization` resources: `{scope}/providers/Microsoft.Authorization/{type}/{name}`.
//!
//! Every ARM id of a role assignment, role definition, PIM schedule, request, policy or approval
//! has this shape, and every one must remember that ARM's root scope `/` is written as nothing
//! (`/providers/Microsoft.Authorization/roleAssignments/{name}`, never `//providers/...`). One
//! builder here, so no caller formats it by hand, and one reader for the ids clients send back.

use super::arm::ArmScope;
use std::fmt::Display;
use uuid::Uuid;

/// The namespace of every resource this module names.
pub const AUTHORIZATION_NAMESPACE: &str = "Microsoft.Authorization";

impl ArmScope {
    /// `{scope}/providers/Microsoft.Authorization/{resource_type}/{name}`, with nothing before
    /// `/providers` at ARM's root. `resource_type` is the type within the namespace
    /// (`roleAssignments`, `RoleEligibilityScheduleRequests`), written as given.
    pub fn resource_id(&self, resource_type: &str, name: impl Display) -> String {
        format!("{}/{name}", self.collection_id(resource_type))
    }

    /// `{scope}/providers/Microsoft.Authorization/{resource_type}`: the collection's path, with
    /// nothing before `/providers` at ARM's root.
    pub fn collection_id(&self, resource_type: &str) -> String {
        format!("{}/providers/{AUTHORIZATION_NAMESPACE}/{resource_type}", self.id_prefix())
    }
}

/// A `Microsoft.Authorization` resource id read back, borrowing from the text it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorizationResourceId<'a> {
    /// What came before `/providers/Microsoft.Authorization/`, as sent (`""` at ARM's root). Not
    /// checked to be a scope: the callers read the name, and refuse a scope where it matters.
    pub scope: &'a str,
    pub resource_type: &'a str,
    pub name: &'a str,
}

impl<'a> AuthorizationResourceId<'a> {
    /// Reads `{scope}/providers/Microsoft.Authorization/{type}/{name}` (the keywords in any case,
    /// one trailing `/` tolerated). `None` for anything else.
    pub fn parse(raw: &'a str) -> Option<Self> {
        let trimmed = raw.trim();
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        let (head, name) = trimmed.rsplit_once('/')?;
        let (head, resource_type) = head.rsplit_once('/')?;
        let (scope, namespace) = head.rsplit_once('/')?;
        let cut = scope.len().checked_sub("/providers".len())?;
        let (scope, providers) = (scope.get(..cut)?, scope.get(cut..)?);
        let valid = providers.eq_ignore_ascii_case("/providers")
            && namespace.eq_ignore_ascii_case(AUTHORIZATION_NAMESPACE)
            && !resource_type.is_empty()
            && !name.is_empty();
        valid.then_some(Self { scope, resource_type, name })
    }

    /// The name in an id of `resource_type` (compared case-insensitively, as ARM compares types),
    /// or `raw` itself when it is a bare name (no `/`), as clients may send either.
    pub fn name_of(raw: &'a str, resource_type: &str) -> Option<&'a str> {
        let raw = raw.trim();
        if !raw.contains('/') {
            return (!raw.is_empty()).then_some(raw);
        }
        Self::parse(raw).filter(|id| id.resource_type.eq_ignore_ascii_case(resource_type)).map(|id| id.name)
    }

    /// [`name_of`](Self::name_of) for the types whose names are GUIDs (role definitions,
    /// assignments, schedules): the GUID in its hyphenated form, any case.
    pub fn guid_of(raw: &str, resource_type: &str) -> Option<Uuid> {
        let name = AuthorizationResourceId::name_of(raw, resource_type)?;
        (name.len() == 36).then(|| Uuid::try_parse(name).ok()).flatten()
    }
}
