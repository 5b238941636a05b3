//! Which management group holds which subscription or management group.
//!
//! Everything below a subscription is spelled out in the scope string; what is above it is not:
//! `/subscriptions/{id}` does not say which management groups it sits in, and groups nest. So the
//! ancestor relation takes that part as data, through [`ScopeHierarchy`]. The access index keeps
//! a [`ManagementGroupTree`] (filled through `IndexUpdate::ManagementGroupParentSet`); code that
//! knows no management groups passes [`NoManagementGroups`].

use super::arm::{ArmScope, ArmScopeKind};
use std::collections::HashMap;
use uuid::Uuid;

/// Azure allows six levels of management groups below the root group; the walk stops after
/// this many groups, so a hierarchy with a cycle (a bug in whoever supplies it) cannot hang a
/// check.
pub const MAX_MANAGEMENT_GROUP_DEPTH: usize = 16;

/// Where the management groups are: the parent of a subscription or of a management group.
pub trait ScopeHierarchy {
    /// The management group directly containing the subscription, if known.
    fn parent_of_subscription(&self, subscription_id: Uuid) -> Option<&ArmScope>;
    /// The management group directly containing `group` (a management-group scope), if known.
    fn parent_of_management_group(&self, group: &ArmScope) -> Option<&ArmScope>;
}

/// A hierarchy with no management groups: subscriptions are the top of ARM.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoManagementGroups;

impl ScopeHierarchy for NoManagementGroups {
    fn parent_of_subscription(&self, _: Uuid) -> Option<&ArmScope> {
        None
    }
    fn parent_of_management_group(&self, _: &ArmScope) -> Option<&ArmScope> {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HierarchyError {
    #[error("only a subscription or a management group has a parent management group, not '{0}'")]
    NotContainable(ArmScope),
    #[error("'{0}' is not a management group")]
    NotAManagementGroup(ArmScope),
    #[error("placing '{child}' under '{parent}' would make a management group its own ancestor")]
    Cycle { child: ArmScope, parent: ArmScope },
}

/// The management-group tree as a map from child to parent. It refuses cycles, so walking it
/// always ends.
#[derive(Debug, Clone, Default)]
pub struct ManagementGroupTree {
    of_subscription: HashMap<Uuid, ArmScope>,
    of_group: HashMap<ArmScope, ArmScope>,
}

impl ManagementGroupTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts `child` (a subscription or management group) under `parent`, or at the top when
    /// `parent` is `None`.
    pub fn set_parent(&mut self, child: &ArmScope, parent: Option<ArmScope>) -> Result<(), HierarchyError> {
        if let Some(parent) = &parent {
            if parent.kind() != ArmScopeKind::ManagementGroup {
                return Err(HierarchyError::NotAManagementGroup(parent.clone()));
            }
        }
        match (child.kind(), parent) {
            (ArmScopeKind::Subscription, parent) => {
                let id = child.subscription_id().expect("a subscription scope has its id");
                match parent {
                    Some(p) => self.of_subscription.insert(id, p),
                    None => self.of_subscription.remove(&id),
                };
            }
            (ArmScopeKind::ManagementGroup, None) => {
                self.of_group.remove(child);
            }
            (ArmScopeKind::ManagementGroup, Some(parent)) => {
                let mut above = Some(&parent);
                while let Some(group) = above {
                    if group == child {
                        return Err(HierarchyError::Cycle { child: child.clone(), parent });
                    }
                    above = self.of_group.get(group);
                }
                self.of_group.insert(child.clone(), parent);
            }
            _ => return Err(HierarchyError::NotContainable(child.clone())),
        }
        Ok(())
    }
}

impl ScopeHierarchy for ManagementGroupTree {
    fn parent_of_subscription(&self, subscription_id: Uuid) -> Option<&ArmScope> {
        self.of_subscription.get(&subscription_id)
    }
    fn parent_of_management_group(&self, group: &ArmScope) -> Option<&ArmScope> {
        self.of_group.get(group)
    }
}
