//! Users.

use super::errors::{duplicate_upn, gone, on_conflict};
use super::{write, Audited, DirectoryEntity};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Audit};
use openpim_core::audit::category::USER_MANAGEMENT;
use openpim_core::authz::{cap, Granted};
use openpim_core::directory::{NewUser, User, UserPatch};
use openpim_core::ObjectId;

impl Audited for User {
    const CATEGORY: &'static str = USER_MANAGEMENT;
    const ACTIVITIES: [&'static str; 3] = ["Add user", "Update user", "Delete user"];
    fn target(&self, audit: Audit) -> Audit {
        audit.target("User", self.id, Some(&self.display_name), Some(&self.user_principal_name))
    }
}

impl DirectoryEntity for User {
    type New = NewUser;
    type Patch = UserPatch;
    type CreateGrant = Granted<cap::CreateUser>;
    type UpdateGrant = Granted<cap::UpdateUser>;
    type DeleteGrant = Granted<cap::DeleteUser>;

    fn id(&self) -> ObjectId {
        self.id
    }

    async fn authorize_create(
        s: &AppState,
        caller: &Caller,
        _: &NewUser,
        audit: &Audit,
    ) -> ApiResult<Self::CreateGrant> {
        s.authorize(caller, &[], audit).await
    }

    /// A privileged account is protected (`authz::is_protected`).
    async fn authorize_update(
        &self,
        s: &AppState,
        caller: &Caller,
        _: &UserPatch,
        audit: &Audit,
    ) -> ApiResult<Self::UpdateGrant> {
        s.authorize_on_principal(caller, self.id, audit).await
    }

    async fn authorize_delete(&self, s: &AppState, caller: &Caller, audit: &Audit) -> ApiResult<Self::DeleteGrant> {
        s.authorize_on_principal(caller, self.id, audit).await
    }

    /// A userPrincipalName already taken (in any casing) is refused.
    async fn create(
        s: &AppState,
        caller: &Caller,
        _: &Self::CreateGrant,
        new: NewUser,
        audit: Audit,
    ) -> ApiResult<User> {
        let user = new.build(ObjectId::new_v4(), s.now())?;
        write(s, caller, async |tx, _| {
            if tx.upn_taken(&user.user_principal_name).await? {
                return Err(duplicate_upn(&user.user_principal_name));
            }
            tx.insert_user(&user).await.map_err(on_conflict(|| duplicate_upn(&user.user_principal_name)))?;
            Ok(((), user.target(audit)))
        })
        .await
        .map(|()| user)
    }

    /// Patching the user as it is inside the write keeps a concurrent PATCH of other properties.
    async fn update(
        s: &AppState,
        caller: &Caller,
        _: &Self::UpdateGrant,
        id: ObjectId,
        patch: UserPatch,
        audit: Audit,
    ) -> ApiResult<User> {
        write(s, caller, async |tx, _| {
            let current = tx.user_for_update(id).await?.ok_or_else(|| gone("user", id))?;
            let next = patch.apply(&current)?;
            tx.update_user(&next).await.map_err(on_conflict(|| duplicate_upn(&next.user_principal_name)))?;
            Ok((next, audit))
        })
        .await
    }

    /// Deletes a user with its memberships, what it holds and what is scoped to it (`/{id}`).
    /// Nobody deletes their own account; the last Global Administrator is the store's invariant.
    async fn remove(s: &AppState, caller: &Caller, _: &Self::DeleteGrant, id: ObjectId, audit: Audit) -> ApiResult<()> {
        if id == caller.id() {
            return Err(ApiError::bad_request("You cannot delete your own account."));
        }
        write(s, caller, async |tx, now| {
            tx.user_for_update(id).await?.ok_or_else(|| gone("user", id))?;
            tx.delete_user(id, now).await?;
            Ok(((), audit))
        })
        .await
    }
}
