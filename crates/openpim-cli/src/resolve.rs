//! Turning what people type into ids, and ids back into names: roles by display name
//! (case-insensitive, exact), id or template id; principals by UPN, object id or group name.
//! Nothing found, or more than one match, is an error (exit 4) rather than a guess.

use crate::client::{enc, literal};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use openpim_proto::directory::{Group, User};
use openpim_proto::roles::UnifiedRoleDefinition;
use uuid::Uuid;

pub const ROLE_DEFINITIONS: &str = "/v1.0/roleManagement/directory/roleDefinitions";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Group,
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub id: Uuid,
    pub kind: PrincipalKind,
    /// UPN of a user, display name of a group.
    pub name: String,
}

fn is_guid(raw: &str) -> bool {
    uuid::Uuid::parse_str(raw).is_ok()
}

/// Locks a cache; a poisoned lock only means another task panicked mid-update of a cache.
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ctx {
    /// Every role definition.
    pub async fn roles(&self) -> CliResult<Vec<UnifiedRoleDefinition>> {
        if let Some(r) = lock(&self.roles).clone() {
            return Ok(r);
        }
        let all: Vec<UnifiedRoleDefinition> = self.client.get_all_as(ROLE_DEFINITIONS).await?;
        *lock(&self.roles) = Some(all.clone());
        Ok(all)
    }

    /// The role `arg` names: an id, a template id, or a display name (case-insensitive, exact).
    pub async fn role(&self, arg: &str) -> CliResult<UnifiedRoleDefinition> {
        let arg = arg.trim();
        let roles = self.roles().await?;
        let as_id = Uuid::parse_str(arg).ok();
        let is_id = |r: &UnifiedRoleDefinition| as_id == Some(r.id);
        let mut matches: Vec<&UnifiedRoleDefinition> = roles
            .iter()
            .filter(|r| {
                is_id(r) || (as_id.is_some() && r.template_id == as_id) || r.display_name.eq_ignore_ascii_case(arg)
            })
            .collect();
        // An exact id match wins over a custom role that shares its template id.
        if matches.len() > 1 {
            if let Some(exact) = matches.iter().find(|r| is_id(r)) {
                matches = vec![*exact];
            }
        }
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(CliError::not_found(
                "RoleNotFound",
                format!("no role is named '{arg}' or has that id; `openpim roles list` shows them"),
            )),
            many => Err(CliError::not_found(
                "AmbiguousRole",
                format!(
                    "'{arg}' matches {} roles ({}); use the id",
                    many.len(),
                    many.iter().map(|r| r.id.to_string()).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// The display name of role `id` (the id itself if unknown).
    pub async fn role_name(&self, id: Uuid) -> String {
        match self.roles().await {
            Ok(roles) => roles.iter().find(|r| r.id == id).map_or_else(|| id.to_string(), |r| r.display_name.clone()),
            Err(_) => id.to_string(),
        }
    }

    /// The signed-in user (`GET /v1.0/me`).
    pub async fn me(&self) -> CliResult<User> {
        if let Some(me) = lock(&self.me).clone() {
            return Ok(me);
        }
        let me: User = self.client.get_as("/v1.0/me").await?;
        *lock(&self.me) = Some(me.clone());
        Ok(me)
    }

    /// A user (by UPN or id) or a group (by id or display name).
    pub async fn principal(&self, arg: &str) -> CliResult<Principal> {
        let arg = arg.trim();
        let user = |u: User| Principal { id: u.id, kind: PrincipalKind::User, name: u.user_principal_name };
        let group = |g: Group| Principal { id: g.id, kind: PrincipalKind::Group, name: g.display_name };
        if is_guid(arg) {
            if let Some(u) = self.client.get_opt_as(&format!("/v1.0/users/{}", enc(arg))).await? {
                return Ok(user(u));
            }
            if let Some(g) = self.client.get_opt_as(&format!("/v1.0/groups/{}", enc(arg))).await? {
                return Ok(group(g));
            }
            return Err(CliError::not_found("PrincipalNotFound", format!("no user or group has the id {arg}")));
        }
        if arg.contains('@') {
            return match self.client.get_opt_as(&format!("/v1.0/users/{}", enc(arg))).await? {
                Some(u) => Ok(user(u)),
                None => Err(CliError::not_found("PrincipalNotFound", format!("no user is signed in as '{arg}'"))),
            };
        }
        let filter = format!("displayName eq {}", literal(arg));
        let groups: Vec<Group> = self.client.get_all_as(&format!("/v1.0/groups?$filter={}", enc(&filter))).await?;
        let count = groups.len();
        match (groups.into_iter().next(), count) {
            (Some(g), 1) => Ok(group(g)),
            (_, 0) => Err(CliError::not_found(
                "PrincipalNotFound",
                format!("no group is named '{arg}' (give users by UPN, e.g. bob@example.com)"),
            )),
            (_, n) => Err(CliError::not_found(
                "AmbiguousPrincipal",
                format!("{n} groups are named '{arg}'; use the group's id"),
            )),
        }
    }

    /// A principal id shown as a UPN or group name (the id itself if it cannot be read).
    pub async fn principal_name(&self, id: Uuid) -> String {
        if let Some(n) = lock(&self.names).get(&id) {
            return n.clone();
        }
        let name = match self.client.get_opt_as::<User>(&format!("/v1.0/users/{id}")).await {
            Ok(Some(u)) => u.user_principal_name,
            _ => match self.client.get_opt_as::<Group>(&format!("/v1.0/groups/{id}")).await {
                Ok(Some(g)) => format!("{} (group)", g.display_name),
                _ => id.to_string(),
            },
        };
        lock(&self.names).insert(id, name.clone());
        name
    }
}
