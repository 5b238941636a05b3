//! ARM request paths, parsed into where the request's resource lives (its scope) and what it is
//! (provider namespace, resource types and names).
//!
//! ARM puts the scope in the middle of the path: `{scope}/providers/{Namespace}/{type}[/{name}
//! [/{childType}[/{childName}...]]]`. The *last* `providers` segment splits the two, so an
//! extension resource of a resource (`.../storageAccounts/a/providers/Microsoft.Authorization/
//! roleAssignments/x`) has the storage account as its scope. ARM's own paths without a provider
//! (`/subscriptions`, `/subscriptions/{s}/resourcegroups/{rg}`, `.../resources`) read as the
//! namespace `Microsoft.Resources` with the last segment pair as type and name.
//!
//! Clients differ in what they send: repeated slashes are collapsed (azure-core joins a scope
//! ending in `/` with a path starting with one), keywords compare ignoring case, and the
//! provider-qualified `/providers/Microsoft.Subscription/subscriptions/{id}` reads as
//! `/subscriptions/{id}`.

use super::error::{ArmError, ArmResult};
use axum::http::StatusCode;
use openpim_core::scope::{ArmScope, ArmScopeError};

/// The namespace of ARM's own resources (subscriptions, resource groups, resources).
pub const RESOURCES_NAMESPACE: &str = "Microsoft.Resources";

/// Where a request's resource lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmParent {
    /// The tenant: `/providers/...`, `/subscriptions`.
    Tenant,
    Scope(ArmScope),
}

impl ArmParent {
    pub fn scope(&self) -> Option<&ArmScope> {
        match self {
            Self::Tenant => None,
            Self::Scope(s) => Some(s),
        }
    }
}

/// A parsed ARM request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmPath {
    /// The path as received (still percent-encoded), repeated slashes collapsed, for next links.
    encoded: String,
    pub parent: ArmParent,
    /// The provider namespace as sent (`Microsoft.Authorization`), or [`RESOURCES_NAMESPACE`].
    pub namespace: String,
    /// The resource types from the outermost in: `["servers", "databases"]`.
    pub types: Vec<String>,
    /// The names, one per type; one fewer for a collection (`.../roleAssignments`).
    pub names: Vec<String>,
}

impl ArmPath {
    pub fn parse(encoded_path: &str) -> ArmResult<Self> {
        let encoded = collapse_slashes(encoded_path);
        let mut segments: Vec<String> = encoded
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        if segments.len() >= 3
            && segments[0].eq_ignore_ascii_case("providers")
            && segments[1].eq_ignore_ascii_case("Microsoft.Subscription")
            && segments[2].eq_ignore_ascii_case("subscriptions")
        {
            segments.drain(..2);
        }
        if let Some(bad) = segments.iter().find(|s| s.chars().any(char::is_control)) {
            return Err(ArmError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequestUri",
                format!("The path segment '{}' contains a control character.", bad.escape_debug()),
            ));
        }
        if segments.is_empty() {
            return Err(not_found(&encoded));
        }
        let providers = segments.iter().rposition(|s| s.eq_ignore_ascii_case("providers"));
        let (scope_segments, namespace, rest) = match providers {
            Some(i) => {
                let namespace = segments.get(i + 1).cloned().ok_or_else(|| not_found(&encoded))?;
                (&segments[..i], namespace, &segments[i + 2..])
            }
            None => {
                // ARM's own collections and items: the last segment is a type (odd count) or a
                // type and a name (even count).
                let split = if segments.len().is_multiple_of(2) {
                    segments.len().saturating_sub(2)
                } else {
                    segments.len() - 1
                };
                (&segments[..split], RESOURCES_NAMESPACE.to_string(), &segments[split..])
            }
        };
        if rest.is_empty() {
            return Err(ArmError::invalid_resource_type("", &namespace, None));
        }
        let parent = if scope_segments.is_empty() {
            ArmParent::Tenant
        } else {
            ArmParent::Scope(parse_scope(&format!("/{}", scope_segments.join("/")))?)
        };
        let types = rest.iter().step_by(2).cloned().collect();
        let names = rest.iter().skip(1).step_by(2).cloned().collect();
        Ok(Self { encoded, parent, namespace, types, names })
    }

    /// The path as received, slashes collapsed.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The path with its scope and names replaced by placeholders, for the request log
    /// (`{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`): what was asked for,
    /// in a few distinct values.
    pub fn route_pattern(&self) -> String {
        let mut out = String::new();
        if let ArmParent::Scope(_) = self.parent {
            out.push_str("{scope}");
        }
        if self.namespace != RESOURCES_NAMESPACE {
            out.push_str("/providers/");
            out.push_str(&self.namespace);
        }
        for (i, t) in self.types.iter().enumerate() {
            out.push('/');
            out.push_str(t);
            if i < self.names.len() {
                out.push_str("/{name}");
            }
        }
        out
    }

    /// The outermost resource type (`roleAssignments`, `resourceGroups`).
    pub fn resource_type(&self) -> &str {
        &self.types[0]
    }

    /// The outermost name, if the path names one.
    pub fn name(&self) -> Option<&str> {
        self.names.first().map(String::as_str)
    }

    /// True for a collection (the last type has no name).
    pub fn is_collection(&self) -> bool {
        self.names.len() < self.types.len()
    }

    /// True when the path is `{namespace}/{type}` (ignoring case) with no nested types beyond
    /// an optional name.
    pub fn is(&self, namespace: &str, resource_type: &str) -> bool {
        self.types.len() == 1 && self.in_namespace(namespace) && self.types[0].eq_ignore_ascii_case(resource_type)
    }

    pub fn in_namespace(&self, namespace: &str) -> bool {
        self.namespace.eq_ignore_ascii_case(namespace)
    }

    /// The addressed resource's id, decoded: the scope, `/providers/{namespace}`, then each type
    /// and name. `None` for a collection.
    pub fn resource_id(&self) -> Option<String> {
        if self.is_collection() {
            return None;
        }
        let mut id = self.parent.scope().map(|s| s.as_str().to_string()).unwrap_or_default();
        id.push_str("/providers/");
        id.push_str(&self.namespace);
        for (t, n) in self.types.iter().zip(&self.names) {
            id.push('/');
            id.push_str(t);
            id.push('/');
            id.push_str(n);
        }
        Some(id)
    }

    /// The ARM type of the addressed resource: `Microsoft.Sql/servers/databases`.
    pub fn full_type(&self) -> String {
        std::iter::once(self.namespace.as_str())
            .chain(self.types.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// A scope from a request path, as ARM refuses a bad one: a malformed subscription id is
/// ARM's `InvalidSubscriptionId` (400); anything else that is no scope is 400 `InvalidScope`
/// (no source gives ARM's code for it; the name is ours).
pub fn parse_scope(text: &str) -> ArmResult<ArmScope> {
    ArmScope::parse(text).map_err(|e| match e {
        ArmScopeError::InvalidSubscriptionId(id) => invalid_subscription_id(&id),
        other => {
            ArmError::new(StatusCode::BAD_REQUEST, "InvalidScope", format!("The scope '{text}' is not valid: {other}."))
        }
    })
}

/// ARM's answer for a subscription id that is not a GUID.
pub fn invalid_subscription_id(id: &str) -> ArmError {
    ArmError::new(
        StatusCode::BAD_REQUEST,
        "InvalidSubscriptionId",
        format!("The provided subscription identifier '{id}' is malformed or invalid."),
    )
}

fn not_found(path: &str) -> ArmError {
    ArmError::new(StatusCode::NOT_FOUND, "NotFound", format!("The path '{path}' does not name an Azure resource."))
}

fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-000000000001";

    fn parse(p: &str) -> ArmPath {
        ArmPath::parse(p).unwrap_or_else(|e| panic!("{p}: {e:?}"))
    }

    #[test]
    fn arm_own_paths() {
        let p = parse("/subscriptions");
        assert_eq!(
            (p.parent.clone(), p.namespace.as_str(), p.types.clone(), p.is_collection()),
            (ArmParent::Tenant, RESOURCES_NAMESPACE, vec!["subscriptions".to_string()], true)
        );
        let p = parse(&format!("/subscriptions/{SUB}"));
        assert_eq!((p.parent.clone(), p.name()), (ArmParent::Tenant, Some(SUB)));
        let p = parse(&format!("/Subscriptions/{SUB}/resourcegroups/RG1"));
        assert!(p.is(RESOURCES_NAMESPACE, "resourceGroups"));
        assert_eq!(p.parent.scope().unwrap().as_str(), format!("/subscriptions/{SUB}"));
        assert_eq!(p.name(), Some("RG1"));
        let p = parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/resources"));
        assert!(p.is(RESOURCES_NAMESPACE, "resources") && p.is_collection());
        assert_eq!(p.parent.scope().unwrap().as_str(), format!("/subscriptions/{SUB}/resourceGroups/rg"));
    }

    #[test]
    fn provider_paths_split_at_the_last_providers() {
        let p = parse("/providers/Microsoft.Management/managementGroups/mg1");
        assert_eq!(
            (p.parent.clone(), p.full_type(), p.name()),
            (ArmParent::Tenant, "Microsoft.Management/managementGroups".into(), Some("mg1"))
        );
        let p = parse(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg//providers/Microsoft.Storage/storageAccounts/a/providers/Microsoft.Authorization/roleAssignments/"
        ));
        assert!(p.is("microsoft.authorization", "ROLEASSIGNMENTS") && p.is_collection());
        assert_eq!(
            p.parent.scope().unwrap().as_str(),
            format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a")
        );
        assert_eq!(p.encoded(), format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/providers/Microsoft.Authorization/roleAssignments"));
        let p =
            parse(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1/databases/db1"));
        assert_eq!(
            (p.full_type(), p.names.clone()),
            ("Microsoft.Sql/servers/databases".into(), vec!["s1".to_string(), "db1".to_string()])
        );
        assert!(!p.is_collection());
        assert_eq!(
            p.resource_id().unwrap(),
            format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1/databases/db1")
        );
        // The provider-qualified subscription reads as the plain one.
        let p = parse(&format!(
            "/providers/Microsoft.Subscription/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions"
        ));
        assert_eq!(p.parent.scope().unwrap().as_str(), format!("/subscriptions/{SUB}"));
        let p = parse(&format!("/providers/Microsoft.Subscription/subscriptions/{SUB}"));
        assert_eq!(
            (p.parent.clone(), p.namespace.as_str(), p.name()),
            (ArmParent::Tenant, RESOURCES_NAMESPACE, Some(SUB))
        );
    }

    #[test]
    fn bad_paths_are_arm_errors() {
        assert_eq!(ArmPath::parse("/subscriptions/nope/resourceGroups/rg").unwrap_err().code, "InvalidSubscriptionId");
        assert_eq!(ArmPath::parse("/providers").unwrap_err().status, StatusCode::NOT_FOUND);
        assert_eq!(ArmPath::parse("/").unwrap_err().status, StatusCode::NOT_FOUND);
        assert_eq!(ArmPath::parse("").unwrap_err().status, StatusCode::NOT_FOUND);
        assert_eq!(ArmPath::parse("/providers/Microsoft.Foo").unwrap_err().code, "InvalidResourceType");
        assert_eq!(ArmPath::parse("/subscriptions/x%00y").unwrap_err().code, "InvalidRequestUri");
    }
}
