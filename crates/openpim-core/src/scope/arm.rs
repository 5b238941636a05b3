//! Azure Resource Manager scopes: where an Azure role assignment applies.
//!
//! ```text
//! /providers/Microsoft.Management/managementGroups/{groupId}
//! /subscriptions/{subscriptionId}
//! /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}
//! /subscriptions/{subscriptionId}[/resourceGroups/{rg}]/providers/{namespace}/{type}/{name}[/{type}/{name}...]
//! ```
//!
//! ARM compares scopes case-insensitively, and clients spell them every way
//! (`resourcegroups`, `resourceGroups`). An `ArmScope` prints its fixed keywords in their documented
//! spelling and every name as it was given, and compares and hashes on the ASCII-lowercased form
//! of that text (ASCII only: byte offsets stay the same, so an ancestor's key is a prefix of its
//! descendant's key, which is what lets the access index walk ancestors without allocating).
//!
//! `/` on ARM's wire is ARM's root scope ([`ArmScope::root`]), above every management group: the
//! scope of what `elevateAccess` grants. It is a different scope from the directory tenant that
//! Graph also writes `/` (`DirectoryScope::Tenant`): [`Scope::parse`](super::Scope::parse) reads
//! `/` as the directory tenant, ARM's wire reads it with [`ArmScope::parse`], and the store keeps
//! the ARM root under its own text and key ([`ROOT_STORED`], also what `Scope` prints), so neither
//! can stand for the other.
//! The provider-qualified subscription form some PIM clients send,
//! `/providers/Microsoft.Subscription/subscriptions/{id}`, is read as `/subscriptions/{id}`.

use super::hierarchy::{ScopeHierarchy, MAX_MANAGEMENT_GROUP_DEPTH};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use uuid::Uuid;

/// The level of an ARM scope, from the widest to the narrowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArmScopeKind {
    /// ARM's root scope `/`: above every management group, subscription and resource.
    Root,
    ManagementGroup,
    Subscription,
    ResourceGroup,
    /// A resource, or a child resource (`.../servers/s1/databases/db1`).
    Resource,
}

/// Why a string is not an ARM scope. The parser is strict: lenient readings of what clients send
/// (repeated or trailing slashes) belong to the wire layer that knows the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArmScopeError {
    #[error("an ARM scope must start with '/'")]
    NotAbsolute,
    #[error("an ARM scope must not end with '/'")]
    TrailingSlash,
    #[error("an ARM scope must not contain an empty segment ('//')")]
    EmptySegment,
    #[error(
        "'{0}' does not start an ARM scope: expected '/subscriptions/{{id}}' or \
         '/providers/Microsoft.Management/managementGroups/{{id}}'"
    )]
    UnknownRoot(String),
    #[error("'{0}' is not a subscription id: subscription ids are GUIDs")]
    InvalidSubscriptionId(String),
    #[error("the {0} is missing")]
    Missing(&'static str),
    #[error("unexpected segment '{0}'")]
    UnexpectedSegment(String),
    #[error("'{0}' contains a character that cannot appear in an ARM scope")]
    InvalidCharacter(String),
}

/// How a `Scope` writes ARM's root scope, and so how the store keeps it (its `directory_scope_id`
/// column; lowercased, its `scope_key`): not `/`, which is the directory tenant's text and key.
/// It starts with `/providers/` so the store's ARM-row filters include it, and ARM's wire never
/// reads it as a scope ([`ArmScope::parse`] refuses it: a namespace without a resource type).
pub const ROOT_STORED: &str = "/providers/Microsoft.Authorization";

/// An ARM scope. Cheap to clone (one reference count).
#[derive(Clone)]
pub struct ArmScope(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// Canonical keywords, names as given.
    text: String,
    /// `text` ASCII-lowercased: what equality, ordering and hashing use.
    key: String,
    /// Where each scope on the path from the root of this string to itself ends in `text`
    /// (and `key`), with its kind: `/subscriptions/s`, `/subscriptions/s/resourceGroups/rg`, ...
    /// The last entry is this scope itself. ARM's root is on no other scope's path (its key is
    /// no prefix of theirs): the walks add it at the end. The root's own entry ends its `key`.
    path: Vec<(usize, ArmScopeKind)>,
    subscription_id: Option<Uuid>,
}

impl ArmScope {
    pub fn parse(raw: &str) -> Result<Self, ArmScopeError> {
        let rest = raw.strip_prefix('/').ok_or(ArmScopeError::NotAbsolute)?;
        if rest.is_empty() {
            return Ok(Self::root());
        }
        if rest.ends_with('/') {
            return Err(ArmScopeError::TrailingSlash);
        }
        let segments: Vec<&str> = rest.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(ArmScopeError::EmptySegment);
        }
        if let Some(bad) = segments.iter().find(|s| s.chars().any(|c| c.is_control() || matches!(c, '?' | '#'))) {
            return Err(ArmScopeError::InvalidCharacter((*bad).to_string()));
        }
        let mut builder = Builder::default();
        let mut rest = Segments(&segments);
        let first = rest.next("scope").expect("at least one segment");
        if first.eq_ignore_ascii_case("providers") {
            let namespace = rest.next("provider namespace")?;
            let collection = rest.next("resource type")?;
            if namespace.eq_ignore_ascii_case("Microsoft.Management")
                && collection.eq_ignore_ascii_case("managementGroups")
            {
                let id = rest.next("management group id")?;
                builder.push(&["/providers/Microsoft.Management/managementGroups/", id], ArmScopeKind::ManagementGroup);
                return match rest.peek() {
                    Some(s) => Err(ArmScopeError::UnexpectedSegment(s.to_string())),
                    None => Ok(builder.finish(None)),
                };
            }
            if !(namespace.eq_ignore_ascii_case("Microsoft.Subscription")
                && collection.eq_ignore_ascii_case("subscriptions"))
            {
                return Err(ArmScopeError::UnknownRoot(format!("/providers/{namespace}/{collection}")));
            }
        } else if !first.eq_ignore_ascii_case("subscriptions") {
            return Err(ArmScopeError::UnknownRoot(format!("/{first}")));
        }
        let subscription = rest.next("subscription id")?;
        let subscription_id =
            parse_guid(subscription).ok_or_else(|| ArmScopeError::InvalidSubscriptionId(subscription.to_string()))?;
        builder.push(&["/subscriptions/", subscription], ArmScopeKind::Subscription);
        if rest.peek().is_some_and(|s| s.eq_ignore_ascii_case("resourceGroups")) {
            rest.skip();
            let group = rest.next("resource group name")?;
            builder.push(&["/resourceGroups/", group], ArmScopeKind::ResourceGroup);
        }
        match rest.peek() {
            None => return Ok(builder.finish(Some(subscription_id))),
            Some(s) if s.eq_ignore_ascii_case("providers") => rest.skip(),
            Some(s) => return Err(ArmScopeError::UnexpectedSegment(s.to_string())),
        }
        let namespace = rest.next("provider namespace")?;
        // `.../providers/{namespace}` alone is not a scope: no `mark`.
        builder.append(&["/providers/", namespace]);
        let mut resources = 0;
        while let Some(resource_type) = rest.peek() {
            rest.skip();
            // `.../{type}/{name}/providers/{ns}/...` would be an extension resource of a
            // resource; Azure role assignments are not made there.
            if resource_type.eq_ignore_ascii_case("providers") {
                return Err(ArmScopeError::UnexpectedSegment(resource_type.to_string()));
            }
            let name = rest.next("resource name")?;
            builder.push(&["/", resource_type, "/", name], ArmScopeKind::Resource);
            resources += 1;
        }
        if resources == 0 {
            return Err(ArmScopeError::Missing("resource type"));
        }
        Ok(builder.finish(Some(subscription_id)))
    }

    /// ARM's root scope `/` (printed `/`, keyed and stored as [`ROOT_STORED`]).
    pub fn root() -> Self {
        static ROOT: std::sync::OnceLock<ArmScope> = std::sync::OnceLock::new();
        ROOT.get_or_init(|| {
            let key = ROOT_STORED.to_ascii_lowercase();
            ArmScope(Arc::new(Inner {
                text: "/".to_string(),
                path: vec![(key.len(), ArmScopeKind::Root)],
                key,
                subscription_id: None,
            }))
        })
        .clone()
    }

    /// The subscription scope `/subscriptions/{id}` (the id in its lowercase hyphenated form).
    pub fn subscription(id: Uuid) -> Self {
        let mut builder = Builder::default();
        builder.push(&["/subscriptions/", &id.to_string()], ArmScopeKind::Subscription);
        builder.finish(Some(id))
    }

    pub fn is_root(&self) -> bool {
        self.kind() == ArmScopeKind::Root
    }

    /// What goes before `/providers/...` in the id of something at this scope: the scope's text,
    /// and nothing for the root (`/providers/Microsoft.Authorization/roleAssignments/{id}`).
    pub fn id_prefix(&self) -> &str {
        if self.is_root() {
            ""
        } else {
            self.as_str()
        }
    }

    pub fn kind(&self) -> ArmScopeKind {
        self.0.path.last().expect("a scope is on its own path").1
    }

    /// The subscription this scope is in (or is); `None` for a management group.
    pub fn subscription_id(&self) -> Option<Uuid> {
        self.0.subscription_id
    }

    /// The canonical, case-folded form that equality and hashing use.
    pub fn key(&self) -> &str {
        &self.0.key
    }

    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// The scope directly above this one that the string itself names: a resource's parent
    /// resource or resource group (or subscription), a resource group's subscription. A
    /// subscription's or management group's parent is data: see [`ArmScope::parent_in`].
    pub fn parent(&self) -> Option<ArmScope> {
        let path = &self.0.path;
        (path.len() >= 2).then(|| self.prefix(path.len() - 2))
    }

    /// The scope directly above this one, the management groups from `hierarchy` included.
    pub fn parent_in<H: ScopeHierarchy + ?Sized>(&self, hierarchy: &H) -> Option<ArmScope> {
        self.ancestors(hierarchy).next()
    }

    /// Every scope above this one, nearest first: the management groups that `hierarchy` knows
    /// of, then ARM's root `/` (for every scope but the root itself).
    pub fn ancestors<'a, H: ScopeHierarchy + ?Sized>(
        &'a self,
        hierarchy: &'a H,
    ) -> impl Iterator<Item = ArmScope> + 'a {
        let on_path = (0..self.0.path.len() - 1).rev().map(|i| self.prefix(i));
        let root = (!self.is_root()).then(ArmScope::root);
        on_path.chain(self.management_groups_above(hierarchy).cloned()).chain(root)
    }

    /// The keys of this scope and of every scope above it, nearest first, ARM's root last: what
    /// the access index looks grants up by. Allocates nothing.
    pub fn self_and_ancestor_keys<'a, H: ScopeHierarchy + ?Sized>(
        &'a self,
        hierarchy: &'a H,
    ) -> impl Iterator<Item = &'a str> + 'a {
        let on_path = self.0.path.iter().rev().map(|&(end, _)| &self.0.key[..end]);
        let root = (!self.is_root()).then_some(ROOT_KEY);
        on_path.chain(self.management_groups_above(hierarchy).map(ArmScope::key)).chain(root)
    }

    /// True when a role assignment at `self` applies at `target`: `self` is `target` or one of
    /// its ancestors.
    pub fn covers<H: ScopeHierarchy + ?Sized>(&self, target: &ArmScope, hierarchy: &H) -> bool {
        target.self_and_ancestor_keys(hierarchy).any(|k| k == self.key())
    }

    /// The management groups above this scope's subscription (or above this management group),
    /// nearest first. Bounded, so a hierarchy with a cycle cannot hang a check.
    fn management_groups_above<'a, H: ScopeHierarchy + ?Sized>(
        &'a self,
        hierarchy: &'a H,
    ) -> impl Iterator<Item = &'a ArmScope> + 'a {
        let first = match (self.0.subscription_id, self.is_root()) {
            (_, true) => None,
            (Some(subscription), _) => hierarchy.parent_of_subscription(subscription),
            (None, _) => hierarchy.parent_of_management_group(self),
        };
        std::iter::successors(first, move |group| hierarchy.parent_of_management_group(group))
            .take(MAX_MANAGEMENT_GROUP_DEPTH)
    }

    /// The scope at `path[index]`: a prefix of this one.
    fn prefix(&self, index: usize) -> ArmScope {
        let end = self.0.path[index].0;
        ArmScope(Arc::new(Inner {
            text: self.0.text[..end].to_string(),
            key: self.0.key[..end].to_string(),
            path: self.0.path[..=index].to_vec(),
            subscription_id: self.0.subscription_id,
        }))
    }
}

/// [`ROOT_STORED`] lowercased: the root's key.
const ROOT_KEY: &str = "/providers/microsoft.authorization";

/// Subscription ids are GUIDs in their hyphenated form (`uuid` alone would also take braces,
/// URNs and the 32-digit form, which ARM does not).
fn parse_guid(raw: &str) -> Option<Uuid> {
    (raw.len() == 36).then(|| Uuid::try_parse(raw).ok()).flatten()
}

#[derive(Default)]
struct Builder {
    text: String,
    path: Vec<(usize, ArmScopeKind)>,
}

impl Builder {
    fn append(&mut self, parts: &[&str]) {
        parts.iter().for_each(|p| self.text.push_str(p));
    }

    /// Appends `parts` and records that the text so far names a scope of `kind`.
    fn push(&mut self, parts: &[&str], kind: ArmScopeKind) {
        self.append(parts);
        self.path.push((self.text.len(), kind));
    }

    fn finish(self, subscription_id: Option<Uuid>) -> ArmScope {
        let key = self.text.to_ascii_lowercase();
        ArmScope(Arc::new(Inner { text: self.text, key, path: self.path, subscription_id }))
    }
}

/// A cursor over the segments, naming what is missing when they run out.
struct Segments<'s, 'a>(&'s [&'a str]);

impl<'a> Segments<'_, 'a> {
    fn next(&mut self, what: &'static str) -> Result<&'a str, ArmScopeError> {
        let (first, rest) = self.0.split_first().ok_or(ArmScopeError::Missing(what))?;
        self.0 = rest;
        Ok(first)
    }
    fn peek(&self) -> Option<&'a str> {
        self.0.first().copied()
    }
    fn skip(&mut self) {
        self.0 = &self.0[1..];
    }
}

impl PartialEq for ArmScope {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for ArmScope {}

impl Hash for ArmScope {
    fn hash<S: Hasher>(&self, state: &mut S) {
        self.key().hash(state);
    }
}

impl PartialOrd for ArmScope {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ArmScope {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(other.key())
    }
}

impl fmt::Display for ArmScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)
    }
}

impl fmt::Debug for ArmScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArmScope({:?})", self.0.text)
    }
}

impl std::str::FromStr for ArmScope {
    type Err = ArmScopeError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}
