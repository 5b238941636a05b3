//! Turning what people type into ids, and ids back into names: roles by display name
//! (case-insensitive, exact), id or template id; principals by UPN, object id or group name.
//! Nothing found, or more than one match, is an error (exit 4) rather than a guess.

use crate::client::{enc, literal};
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::s;
use serde_json::Value;

pub const ROLE_DEFINITIONS: &str = "/v1.0/roleManagement/directory/roleDefinitions";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Group,
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub id: String,
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
    /// Every role definition (names and ids only).
    pub async fn roles(&self) -> CliResult<Vec<Value>> {
        if let Some(r) = lock(&self.roles).clone() {
            return Ok(r);
        }
        let all = self
            .client
            .get_all(&format!("{ROLE_DEFINITIONS}?$select=id,displayName,templateId,isBuiltIn,isEnabled,description"))
            .await?;
        *lock(&self.roles) = Some(all.clone());
        Ok(all)
    }

    /// The role `arg` names: an id, a template id, or a display name (case-insensitive, exact).
    pub async fn role(&self, arg: &str) -> CliResult<Value> {
        let arg = arg.trim();
        let roles = self.roles().await?;
        let mut matches: Vec<&Value> = roles
            .iter()
            .filter(|r| {
                s(r, "id").eq_ignore_ascii_case(arg)
                    || s(r, "templateId").eq_ignore_ascii_case(arg)
                    || s(r, "displayName").eq_ignore_ascii_case(arg)
            })
            .collect();
        // An exact id match wins over a custom role that shares its template id.
        if matches.len() > 1 {
            if let Some(exact) = matches.iter().find(|r| s(r, "id").eq_ignore_ascii_case(arg)) {
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
                    many.iter().map(|r| s(r, "id")).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// The display name of role `id` (the id itself if unknown).
    pub async fn role_name(&self, id: &str) -> String {
        match self.roles().await {
            Ok(roles) => roles
                .iter()
                .find(|r| s(r, "id").eq_ignore_ascii_case(id))
                .map(|r| s(r, "displayName").to_string())
                .unwrap_or_else(|| id.to_string()),
            Err(_) => id.to_string(),
        }
    }

    /// The signed-in user (`GET /v1.0/me`).
    pub async fn me(&self) -> CliResult<Value> {
        if let Some(me) = lock(&self.me).clone() {
            return Ok(me);
        }
        let me = self.client.get("/v1.0/me").await?;
        if s(&me, "id").is_empty() {
            return Err(CliError::new(crate::error::Kind::Server, "BadResponse", "/v1.0/me has no id"));
        }
        *lock(&self.me) = Some(me.clone());
        Ok(me)
    }

    /// A user (by UPN or id) or a group (by id or display name).
    pub async fn principal(&self, arg: &str) -> CliResult<Principal> {
        let arg = arg.trim();
        let user = |u: Value| Principal {
            id: s(&u, "id").to_string(),
            kind: PrincipalKind::User,
            name: s(&u, "userPrincipalName").to_string(),
        };
        let group = |g: Value| Principal {
            id: s(&g, "id").to_string(),
            kind: PrincipalKind::Group,
            name: s(&g, "displayName").to_string(),
        };
        if is_guid(arg) {
            if let Some(u) = self.client.get_opt(&format!("/v1.0/users/{}", enc(arg))).await? {
                return Ok(user(u));
            }
            if let Some(g) = self.client.get_opt(&format!("/v1.0/groups/{}", enc(arg))).await? {
                return Ok(group(g));
            }
            return Err(CliError::not_found("PrincipalNotFound", format!("no user or group has the id {arg}")));
        }
        if arg.contains('@') {
            return match self.client.get_opt(&format!("/v1.0/users/{}", enc(arg))).await? {
                Some(u) => Ok(user(u)),
                None => Err(CliError::not_found("PrincipalNotFound", format!("no user is signed in as '{arg}'"))),
            };
        }
        let filter = format!("displayName eq {}", literal(arg));
        let groups = self.client.get_all(&format!("/v1.0/groups?$filter={}", enc(&filter))).await?;
        match groups.len() {
            1 => Ok(group(groups.into_iter().next().unwrap_or_default())),
            0 => Err(CliError::not_found(
                "PrincipalNotFound",
                format!("no group is named '{arg}' (give users by UPN, e.g. bob@example.com)"),
            )),
            n => Err(CliError::not_found(
                "AmbiguousPrincipal",
                format!("{n} groups are named '{arg}'; use the group's id"),
            )),
        }
    }

    /// A principal id shown as a UPN or group name (the id itself if it cannot be read).
    pub async fn principal_name(&self, id: &str) -> String {
        if id.is_empty() {
            return String::new();
        }
        if let Some(n) = lock(&self.names).get(id) {
            return n.clone();
        }
        let name = match self.client.get_opt(&format!("/v1.0/users/{}", enc(id))).await {
            Ok(Some(u)) => s(&u, "userPrincipalName").to_string(),
            _ => match self.client.get_opt(&format!("/v1.0/groups/{}", enc(id))).await {
                Ok(Some(g)) => format!("{} (group)", s(&g, "displayName")),
                _ => id.to_string(),
            },
        };
        lock(&self.names).insert(id.to_string(), name.clone());
        name
    }
}
