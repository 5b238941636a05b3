//! Committed changes that the in-memory access index must follow.
//!
//! The store emits one `IndexUpdate` per committed change; this node applies it directly and
//! other nodes receive it (or reload it) from the change feed.

use crate::access::Grant;
use crate::roles::RoleDefinition;
use crate::scope::ArmScope;
use crate::ObjectId;

#[derive(Debug, Clone, PartialEq)]
pub enum IndexUpdate {
    RoleDefinitionSaved(RoleDefinition),
    RoleDefinitionDeleted(ObjectId),
    GrantAdded(Grant),
    GrantRemoved(ObjectId),
    /// A subscription or management group moved under another management group (or to the
    /// top, `None`): the ARM ancestry that scope strings do not spell out.
    ManagementGroupParentSet {
        child: ArmScope,
        parent: Option<ArmScope>,
    },
    /// A group was created or changed. Role-assignable groups pass on directory roles to their
    /// members; any security group (role-assignable ones are) passes on Azure roles.
    GroupSaved {
        group_id: ObjectId,
        is_assignable_to_role: bool,
        is_security_enabled: bool,
    },
    GroupDeleted(ObjectId),
    MemberAdded {
        group_id: ObjectId,
        member_id: ObjectId,
    },
    MemberRemoved {
        group_id: ObjectId,
        member_id: ObjectId,
    },
    /// A user or other principal left the directory: drop everything it held.
    PrincipalDeleted(ObjectId),
}
