//! The Azure resource hierarchy OpenPIM keeps (issue #15): management groups (a tree under the
//! tenant root group, whose id is the tenant id), subscriptions (each in one management group),
//! resource groups and resources. These are the scopes Azure roles are assigned at.
//!
//! Rules only, no IO: names and ids as ARM accepts them, the tree staying a tree, what may be
//! changed. Error codes are ARM's where a source gives them (`ResourceGroupNotFound`,
//! `SubscriptionNotFound`, `ResourceNotFound`, `LocationRequired`,
//! `InvalidResourceGroupLocation`); where none does, the module names its choice.

use crate::error::{DomainError, DomainResult};
use crate::scope::{ArmScope, ManagementGroupTree};
use crate::{Instant, ObjectId};
use std::collections::BTreeMap;
use uuid::Uuid;

/// ARM's limit on management group ids and resource group names.
pub const MAX_NAME_CHARS: usize = 90;
/// Display names of management groups and subscriptions.
pub const MAX_DISPLAY_NAME_CHARS: usize = 256;
/// ARM allows 50 tags per resource, names up to 512 and values up to 256 characters.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_NAME_CHARS: usize = 512;
pub const MAX_TAG_VALUE_CHARS: usize = 256;
/// The largest opaque document (a resource's `properties`, `sku`, ...) kept, in bytes of JSON.
pub const MAX_OPAQUE_BYTES: usize = 64 * 1024;

/// A management group. `parent_id` is `None` only for the tenant root group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementGroup {
    /// The group id as created (compared ignoring case).
    pub id: String,
    pub display_name: String,
    pub parent_id: Option<String>,
    pub updated: Instant,
    pub updated_by: Option<ObjectId>,
}

impl ManagementGroup {
    pub fn scope(&self) -> DomainResult<ArmScope> {
        management_group_scope(&self.id)
    }

    pub fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }
}

/// `/providers/Microsoft.Management/managementGroups/{id}`.
pub fn management_group_scope(id: &str) -> DomainResult<ArmScope> {
    validate_management_group_id(id)?;
    ArmScope::parse(&format!("/providers/Microsoft.Management/managementGroups/{id}"))
        .map_err(|e| DomainError::invalid("InvalidManagementGroupId", e.to_string()))
}

/// Management group ids: 1 to 90 letters, digits, `-`, `_`, `(`, `)` and `.`, not ending in `.`
/// (ARM's documented rule). The code for a bad one is ours: no source gives ARM's.
pub fn validate_management_group_id(id: &str) -> DomainResult<()> {
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_NAME_CHARS
        && !id.ends_with('.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '(' | ')' | '.'));
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "InvalidManagementGroupId",
            format!(
                "The management group id '{id}' is invalid: use 1 to {MAX_NAME_CHARS} letters, digits, '-', '_', \
                 '(', ')' or '.', not ending with '.'."
            ),
        ))
    }
}

/// A display name: present (after trimming) and at most [`MAX_DISPLAY_NAME_CHARS`].
pub fn validate_display_name(name: &str) -> DomainResult<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(DomainError::invalid(
            "InvalidDisplayName",
            format!("The display name must be 1 to {MAX_DISPLAY_NAME_CHARS} characters."),
        ));
    }
    Ok(())
}

/// Placing `child` (a management group or subscription scope) under the group `parent`: the
/// tree must stay a tree. ARM's code for a cycle is not documented; `BadRequest` is its general
/// one.
pub fn check_parent(tree: &ManagementGroupTree, child: &ArmScope, parent: &ArmScope) -> DomainResult<()> {
    let mut trial = tree.clone();
    trial
        .set_parent(child, Some(parent.clone()))
        .map_err(|e| DomainError::invalid("BadRequest", format!("The management group cannot be moved: {e}.")))
}

/// What a management group still holds, which refuses its deletion.
pub fn check_deletable(group: &ManagementGroup, child_groups: usize, subscriptions: usize) -> DomainResult<()> {
    if group.is_root() {
        return Err(DomainError::invalid("BadRequest", "The tenant root management group cannot be deleted."));
    }
    if child_groups + subscriptions > 0 {
        // No source gives ARM's code; the docs say only "if a management group contains child
        // resources, the request will fail". `BadRequest` is ARM's general code.
        return Err(DomainError::invalid(
            "BadRequest",
            format!(
                "The management group '{}' has {child_groups} child management group(s) and {subscriptions} \
                 subscription(s): move or delete them first.",
                group.id
            ),
        ));
    }
    Ok(())
}

/// ARM's subscription states; OpenPIM registers subscriptions `Enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::AsRefStr)]
pub enum SubscriptionState {
    Enabled,
    Warned,
    PastDue,
    Disabled,
    Deleted,
}

/// A subscription registered with OpenPIM, in one management group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: Uuid,
    pub display_name: String,
    pub management_group_id: String,
    pub state: SubscriptionState,
    pub created: Instant,
    pub modified: Instant,
}

impl Subscription {
    pub fn scope(&self) -> ArmScope {
        subscription_scope(self.id)
    }
}

pub fn subscription_scope(id: Uuid) -> ArmScope {
    ArmScope::parse(&format!("/subscriptions/{id}")).expect("a GUID makes a subscription scope")
}

/// A resource group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceGroup {
    pub subscription_id: Uuid,
    /// As created (ARM compares it ignoring case and keeps the first spelling).
    pub name: String,
    pub location: String,
    pub tags: BTreeMap<String, String>,
    pub managed_by: Option<String>,
    pub created: Instant,
    pub modified: Instant,
}

impl ResourceGroup {
    pub fn scope(&self) -> DomainResult<ArmScope> {
        resource_group_scope(self.subscription_id, &self.name)
    }
}

pub fn resource_group_scope(subscription_id: Uuid, name: &str) -> DomainResult<ArmScope> {
    validate_resource_group_name(name)?;
    ArmScope::parse(&format!("/subscriptions/{subscription_id}/resourceGroups/{name}"))
        .map_err(|e| DomainError::invalid("InvalidResourceGroupName", e.to_string()))
}

/// Resource group names: 1 to 90 characters, letters (any script), digits, `_`, `-`, `.`, `(`
/// and `)`, not ending in `.` (ARM's documented rule). The code is ours.
pub fn validate_resource_group_name(name: &str) -> DomainResult<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.ends_with('.')
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'));
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "InvalidResourceGroupName",
            format!(
                "Resource group name '{name}' is invalid: use 1 to {MAX_NAME_CHARS} letters, digits, '_', '-', '.', \
                 '(' or ')', not ending with '.'."
            ),
        ))
    }
}

/// A location name such as `westeurope`: required where ARM requires it, letters, digits and
/// spaces (`West Europe` is how some clients send it). ARM keeps any it knows; OpenPIM has no
/// region catalog and keeps what it is given.
pub fn validate_location(location: Option<&str>) -> DomainResult<String> {
    let Some(location) = location.map(str::trim).filter(|l| !l.is_empty()) else {
        return Err(DomainError::invalid("LocationRequired", "The location property is required for this definition."));
    };
    if location.chars().count() > MAX_NAME_CHARS || !location.chars().all(|c| c.is_alphanumeric() || c == ' ') {
        return Err(DomainError::invalid(
            "LocationNotAvailableForResourceGroup",
            format!("The location '{location}' is not valid."),
        ));
    }
    Ok(location.to_string())
}

/// A resource group keeps its location: ARM refuses a PUT naming another one.
pub fn check_same_location(existing: &ResourceGroup, requested: &str) -> DomainResult<()> {
    if normalise_location(&existing.location) == normalise_location(requested) {
        return Ok(());
    }
    Err(DomainError::conflict(
        "InvalidResourceGroupLocation",
        format!(
            "Invalid resource group location '{requested}'. The Resource group already exists in location '{}'.",
            existing.location
        ),
    ))
}

/// ARM treats `West Europe` and `westeurope` as the same region.
pub fn normalise_location(location: &str) -> String {
    location.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

/// Tags: at most 50, names 1 to 512 characters without `<>%&\?/`, values at most 256.
pub fn validate_tags(tags: &BTreeMap<String, String>) -> DomainResult<()> {
    let invalid = |m: String| Err(DomainError::invalid("InvalidTag", m));
    if tags.len() > MAX_TAGS {
        return invalid(format!("At most {MAX_TAGS} tags are allowed; {} were given.", tags.len()));
    }
    for (name, value) in tags {
        if name.is_empty()
            || name.chars().count() > MAX_TAG_NAME_CHARS
            || name.chars().any(|c| matches!(c, '<' | '>' | '%' | '&' | '\\' | '?' | '/'))
        {
            return invalid(format!(
                "The tag name '{name}' is invalid: 1 to {MAX_TAG_NAME_CHARS} characters, none of < > % & \\ ? /."
            ));
        }
        if value.chars().count() > MAX_TAG_VALUE_CHARS {
            return invalid(format!("The value of tag '{name}' is longer than {MAX_TAG_VALUE_CHARS} characters."));
        }
    }
    Ok(())
}

/// A resource in a resource group, with what ARM's generic resource API carries; `properties`,
/// `sku` and `plan`-like documents are kept as the JSON text the client sent (core never reads
/// JSON; the wire layer checks it is an object and bounded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The resource's full id: a scope of kind `Resource` (`.../providers/{ns}/{type}/{name}...`).
    pub id: ArmScope,
    /// `{namespace}/{type}[/{childType}...]` as sent.
    pub resource_type: String,
    /// The last name of the id.
    pub name: String,
    pub location: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub kind: Option<String>,
    pub properties: Option<String>,
    pub sku: Option<String>,
    pub created: Instant,
    pub modified: Instant,
}

/// A resource name segment: 1 to 260 characters without control characters or the characters
/// ARM reserves in ids (`<>%&:\?/#`). Each provider has stricter rules of its own, which OpenPIM
/// does not know; the code is ours.
pub fn validate_resource_name(name: &str) -> DomainResult<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 260
        && !name.chars().any(|c| c.is_control() || matches!(c, '<' | '>' | '%' | '&' | ':' | '\\' | '?' | '/' | '#'));
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid("InvalidResourceName", format!("The resource name '{name}' is invalid.")))
    }
}

/// An opaque JSON document within [`MAX_OPAQUE_BYTES`].
pub fn validate_opaque_size(property: &str, json_text: &str) -> DomainResult<()> {
    if json_text.len() > MAX_OPAQUE_BYTES {
        return Err(DomainError::invalid(
            "InvalidRequestContent",
            format!(
                "The property '{property}' is {} bytes of JSON; at most {MAX_OPAQUE_BYTES} are kept.",
                json_text.len()
            ),
        ));
    }
    Ok(())
}

/// ARM's answers for scopes that do not exist.
pub mod not_found {
    use super::*;

    pub fn management_group(id: &str) -> DomainError {
        // ARM answers a missing group with 403/404 depending on access; the code is ours.
        DomainError {
            kind: crate::error::ErrorKind::NotFound,
            code: "ManagementGroupNotFound",
            message: format!("The management group '{id}' could not be found."),
        }
    }

    pub fn subscription(id: &str) -> DomainError {
        DomainError {
            kind: crate::error::ErrorKind::NotFound,
            code: "SubscriptionNotFound",
            message: format!("The subscription '{id}' could not be found."),
        }
    }

    pub fn resource_group(name: &str) -> DomainError {
        DomainError {
            kind: crate::error::ErrorKind::NotFound,
            code: "ResourceGroupNotFound",
            message: format!("Resource group '{name}' could not be found."),
        }
    }

    pub fn resource(resource_type: &str, name: &str, resource_group: &str) -> DomainError {
        DomainError {
            kind: crate::error::ErrorKind::NotFound,
            code: "ResourceNotFound",
            message: format!(
                "The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. For \
                 more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, parent: Option<&str>) -> ManagementGroup {
        ManagementGroup {
            id: id.into(),
            display_name: id.into(),
            parent_id: parent.map(str::to_string),
            updated: Instant::UNIX_EPOCH,
            updated_by: None,
        }
    }

    #[test]
    fn names_as_arm_accepts_them() {
        for ok in ["mg1", "Contoso-Prod_(EU).1", &"a".repeat(90)] {
            validate_management_group_id(ok).unwrap();
        }
        for bad in ["", "ends.", "has space", "slash/x", &"a".repeat(91)] {
            assert_eq!(validate_management_group_id(bad).unwrap_err().code, "InvalidManagementGroupId", "{bad}");
        }
        for ok in ["rg", "Ünïcode-RG", "a(b).c_d"] {
            validate_resource_group_name(ok).unwrap();
        }
        for bad in ["", "rg.", "r/g", "r g", &"r".repeat(91)] {
            assert_eq!(validate_resource_group_name(bad).unwrap_err().code, "InvalidResourceGroupName", "{bad}");
        }
        assert_eq!(validate_location(None).unwrap_err().code, "LocationRequired");
        assert_eq!(validate_location(Some("  ")).unwrap_err().code, "LocationRequired");
        assert_eq!(validate_location(Some("West Europe")).unwrap(), "West Europe");
        validate_resource_name("acct1").unwrap();
        assert!(validate_resource_name("a/b").is_err());
    }

    #[test]
    fn a_group_moves_only_where_the_tree_stays_a_tree() {
        let root = management_group_scope("root").unwrap();
        let a = management_group_scope("a").unwrap();
        let b = management_group_scope("b").unwrap();
        let mut tree = ManagementGroupTree::new();
        tree.set_parent(&a, Some(root.clone())).unwrap();
        tree.set_parent(&b, Some(a.clone())).unwrap();
        check_parent(&tree, &b, &root).unwrap();
        assert_eq!(check_parent(&tree, &a, &b).unwrap_err().code, "BadRequest");
        assert!(check_parent(&tree, &a, &a).is_err());
        // The check does not change the tree.
        check_parent(&tree, &b, &root).unwrap();
        assert!(check_parent(&tree, &root, &b).is_err());
    }

    #[test]
    fn deletion_needs_an_empty_non_root_group() {
        assert!(check_deletable(&group("root", None), 0, 0).is_err());
        let g = group("g", Some("root"));
        assert!(check_deletable(&g, 1, 0).unwrap_err().message.contains("1 child management group"));
        assert!(check_deletable(&g, 0, 2).is_err());
        check_deletable(&g, 0, 0).unwrap();
    }

    #[test]
    fn resource_groups_keep_their_location_and_tags_are_bounded() {
        let rg = ResourceGroup {
            subscription_id: Uuid::nil(),
            name: "rg".into(),
            location: "westeurope".into(),
            tags: BTreeMap::new(),
            managed_by: None,
            created: Instant::UNIX_EPOCH,
            modified: Instant::UNIX_EPOCH,
        };
        check_same_location(&rg, "West Europe").unwrap();
        assert_eq!(check_same_location(&rg, "eastus").unwrap_err().code, "InvalidResourceGroupLocation");
        let many: BTreeMap<String, String> = (0..51).map(|i| (format!("t{i}"), "v".into())).collect();
        assert!(validate_tags(&many).is_err());
        assert!(validate_tags(&BTreeMap::from([("a/b".into(), "v".into())])).is_err());
        validate_tags(&BTreeMap::from([("env".into(), "prod".into())])).unwrap();
    }
}
