//! Directory operations, independent of any wire format: create, update and delete users,
//! groups, administrative units, applications and service principals, and add or remove
//! members of groups and administrative units. Handlers (the generic entity handlers in
//! `routes::directory`, the web UI through them, any future surface) parse, authorise, call one
//! operation here and render what it returns.
//!
//! Every operation takes the proof of the authorization it needs ([`Granted`]), so a handler that
//! forgets the check does not compile. Each owns its write, as `pim::requests::submit` does: it
//! opens the write transaction first, reads inside it the entity and every fact that decides the
//! outcome (row-locked on PostgreSQL), calls core's rules, maps store conflicts to the errors a
//! client understands ([`errors`]) and commits with its audit record. Cross-entity invariants
//! (the last Global Administrator) are the store's, checked at commit.

pub mod applications;
pub mod errors;
pub mod groups;
pub mod service_principals;
pub mod units;
pub mod users;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::{AppState, Audit};
use openpim_core::authz::{Capability, Granted};
use openpim_core::{Instant, ObjectId};
use openpim_store::WriteTx;
use std::future::Future;

/// What an operation does to an entity, as the audit log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Add,
    Update,
    Delete,
}

impl Change {
    /// Graph's `operationType` of the audit record.
    pub fn operation_type(self) -> &'static str {
        match self {
            Self::Add => "Add",
            Self::Update => "Update",
            Self::Delete => "Delete",
        }
    }
}

/// The audit vocabulary of a directory entity: its category, Entra's activity names and how it
/// appears as a target.
pub trait Audited {
    const CATEGORY: &'static str;
    /// The activity of adding, updating and deleting one, in [`Change`]'s order.
    const ACTIVITIES: [&'static str; 3];
    /// Adds this entity as a target of `audit`.
    fn target(&self, audit: Audit) -> Audit;
}

/// A directory entity kind's operations. The `authorize_*` checks hand out the proofs the
/// changes take (a denial is audited and answered 403); each change owns its write.
pub trait DirectoryEntity: Audited + Sized + Send + Sync + 'static {
    /// What a client supplies for a new one (core validates it when building the entity).
    type New: Send + 'static;
    /// A partial update (core applies it to the entity as read inside the write).
    type Patch: Send + Sync + 'static;
    type CreateGrant: Send + Sync + 'static;
    type UpdateGrant: Send + Sync + 'static;
    type DeleteGrant: Send + Sync + 'static;

    fn id(&self) -> ObjectId;

    fn authorize_create(
        s: &AppState,
        caller: &Caller,
        new: &Self::New,
        audit: &Audit,
    ) -> impl Future<Output = ApiResult<Self::CreateGrant>> + Send;
    fn authorize_update(
        &self,
        s: &AppState,
        caller: &Caller,
        patch: &Self::Patch,
        audit: &Audit,
    ) -> impl Future<Output = ApiResult<Self::UpdateGrant>> + Send;
    fn authorize_delete(
        &self,
        s: &AppState,
        caller: &Caller,
        audit: &Audit,
    ) -> impl Future<Output = ApiResult<Self::DeleteGrant>> + Send;

    /// Creates one; `audit` is the record of the attempt, targeted at the new entity here.
    fn create(
        s: &AppState,
        caller: &Caller,
        granted: &Self::CreateGrant,
        new: Self::New,
        audit: Audit,
    ) -> impl Future<Output = ApiResult<Self>> + Send;
    /// Applies `patch` to the entity `id` as it is inside the write and returns the result.
    fn update(
        s: &AppState,
        caller: &Caller,
        granted: &Self::UpdateGrant,
        id: ObjectId,
        patch: Self::Patch,
        audit: Audit,
    ) -> impl Future<Output = ApiResult<Self>> + Send;
    fn remove(
        s: &AppState,
        caller: &Caller,
        granted: &Self::DeleteGrant,
        id: ObjectId,
        audit: Audit,
    ) -> impl Future<Output = ApiResult<()>> + Send;
}

/// An entity kind with members (groups, administrative units): adding and removing them.
pub trait Members: DirectoryEntity {
    type AddGrant: Send + Sync + 'static;
    type RemoveGrant: Send + Sync + 'static;
    /// Entra's activities for adding and removing a member.
    const MEMBER_ACTIVITIES: [&'static str; 2];

    fn authorize_add(
        &self,
        s: &AppState,
        caller: &Caller,
        member: ObjectId,
        audit: &Audit,
    ) -> impl Future<Output = ApiResult<Self::AddGrant>> + Send;
    fn authorize_remove(
        &self,
        s: &AppState,
        caller: &Caller,
        audit: &Audit,
    ) -> impl Future<Output = ApiResult<Self::RemoveGrant>> + Send;
    /// Adds the principal `member` to `owner`, as core's rules for this kind allow.
    fn add_member(
        s: &AppState,
        caller: &Caller,
        granted: &Self::AddGrant,
        owner: ObjectId,
        member: ObjectId,
        audit: Audit,
    ) -> impl Future<Output = ApiResult<()>> + Send;
    fn remove_member(
        s: &AppState,
        caller: &Caller,
        granted: &Self::RemoveGrant,
        owner: ObjectId,
        member: ObjectId,
        audit: Audit,
    ) -> impl Future<Output = ApiResult<()>> + Send;
}

/// The audit record of adding `member` to (or removing it from) `owner`.
pub fn member_audit<E: Members>(change: Change, owner: &E, member: ObjectId) -> Audit {
    let activity = if change == Change::Add { E::MEMBER_ACTIVITIES[0] } else { E::MEMBER_ACTIVITIES[1] };
    owner.target(Audit::new(E::CATEGORY, activity, change.operation_type())).detail("memberId", member)
}

/// The audit record of `change` to an entity of type `E` (not yet targeted: see [`Audited::target`]).
pub fn audit_of<E: Audited>(change: Change) -> Audit {
    let activity = match change {
        Change::Add => E::ACTIVITIES[0],
        Change::Update => E::ACTIVITIES[1],
        Change::Delete => E::ACTIVITIES[2],
    };
    Audit::new(E::CATEGORY, activity, change.operation_type())
}

/// A proof of the right to change a group: role-assignable groups have capabilities of their own
/// (`groupsAssignableToRoles/*`), and an operation checks inside its write that the proof it was
/// given is the one the group needs.
pub enum GroupGrant<Plain: Capability, RoleAssignable: Capability> {
    Plain(Granted<Plain>),
    RoleAssignable(Granted<RoleAssignable>),
}

impl<P: Capability, R: Capability> GroupGrant<P, R> {
    /// Whether this proof covers a group with this `is_assignable_to_role`.
    pub fn covers(&self, is_assignable_to_role: bool) -> bool {
        matches!((self, is_assignable_to_role), (Self::Plain(_), false) | (Self::RoleAssignable(_), true))
    }
}

/// Runs `change` in one write transaction opened first, so everything it reads decides the
/// outcome at commit, and commits it with the audit record it returns; an error rolls it back.
/// A change that wrote nothing (a patch equal to what is stored) commits and audits nothing.
async fn write<T>(
    s: &AppState,
    caller: &Caller,
    change: impl AsyncFnOnce(&mut WriteTx<'_>, Instant) -> ApiResult<(T, Audit)>,
) -> ApiResult<T> {
    let now = s.now();
    let mut tx = s.store.begin_write().await?;
    match change(&mut tx, now).await {
        Ok((value, _)) if tx.is_unchanged() => {
            tx.rollback().await?;
            Ok(value)
        }
        Ok((value, audit)) => {
            s.commit(tx, &audit.success(caller, now)).await?;
            Ok(value)
        }
        Err(e) => {
            tx.rollback().await?;
            Err(e)
        }
    }
}
