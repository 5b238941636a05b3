//! A role's permission blocks (`role_definitions.role_permissions`).
//!
//! - Version 1, a bare JSON array of `{"allowedResourceActions", "excludedResourceActions",
//!   "condition"}`: what directory roles have always been stored as (Entra has no data plane and
//!   no condition version).
//! - Version 2, `{"v": 2, "permissions": [...]}` with ARM's four lists and `conditionVersion`:
//!   Azure roles (issue #15).
//!
//! A role whose blocks fit version 1 is still written as version 1, so directory rows keep their
//! bytes and a node of the previous release reads them; anything with data actions or a
//! condition version is written as version 2.

use crate::StoreResult;
use openpim_core::roles::RolePermission;
use serde::{Deserialize, Serialize};

pub fn encode(permissions: &[RolePermission]) -> StoreResult<String> {
    if permissions.iter().all(fits_v1) {
        let records: Vec<RolePermissionV1> = permissions.iter().cloned().map(RolePermissionV1::from).collect();
        super::to_json("role permissions", &records)
    } else {
        let record = RolePermissionsV2 {
            v: Version2,
            permissions: permissions.iter().cloned().map(RolePermissionV2::from).collect(),
        };
        super::to_json("role permissions", &record)
    }
}

pub fn decode(raw: &str) -> StoreResult<Vec<RolePermission>> {
    let stored: Stored = super::from_json("role permissions", raw)?;
    Ok(match stored {
        Stored::V1(records) => records.into_iter().map(RolePermission::from).collect(),
        Stored::V2(record) => record.permissions.into_iter().map(RolePermission::from).collect(),
    })
}

fn fits_v1(p: &RolePermission) -> bool {
    p.allowed_data_actions.is_empty() && p.excluded_data_actions.is_empty() && p.condition_version.is_none()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    V1(Vec<RolePermissionV1>),
    V2(RolePermissionsV2),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RolePermissionV1 {
    allowed_resource_actions: Vec<String>,
    excluded_resource_actions: Vec<String>,
    condition: Option<String>,
}

/// The `"v": 2` marker: serialises as `2` and accepts nothing else.
#[derive(Debug)]
struct Version2;

impl Serialize for Version2 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(2)
    }
}

impl<'de> Deserialize<'de> for Version2 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u8::deserialize(d)? {
            2 => Ok(Version2),
            other => Err(serde::de::Error::custom(format!("role permissions version {other} is not 2"))),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolePermissionsV2 {
    v: Version2,
    permissions: Vec<RolePermissionV2>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RolePermissionV2 {
    actions: Vec<String>,
    not_actions: Vec<String>,
    data_actions: Vec<String>,
    not_data_actions: Vec<String>,
    condition: Option<String>,
    condition_version: Option<String>,
}

impl From<RolePermission> for RolePermissionV1 {
    /// Only called for blocks that [`fits_v1`]: the data lists are empty and there is no
    /// condition version.
    fn from(p: RolePermission) -> Self {
        let RolePermission {
            allowed_resource_actions,
            excluded_resource_actions,
            allowed_data_actions: _,
            excluded_data_actions: _,
            condition,
            condition_version: _,
        } = p;
        Self { allowed_resource_actions, excluded_resource_actions, condition }
    }
}

impl From<RolePermissionV1> for RolePermission {
    fn from(r: RolePermissionV1) -> Self {
        let RolePermissionV1 { allowed_resource_actions, excluded_resource_actions, condition } = r;
        Self {
            allowed_resource_actions,
            excluded_resource_actions,
            allowed_data_actions: Vec::new(),
            excluded_data_actions: Vec::new(),
            condition,
            condition_version: None,
        }
    }
}

impl From<RolePermission> for RolePermissionV2 {
    fn from(p: RolePermission) -> Self {
        let RolePermission {
            allowed_resource_actions,
            excluded_resource_actions,
            allowed_data_actions,
            excluded_data_actions,
            condition,
            condition_version,
        } = p;
        Self {
            actions: allowed_resource_actions,
            not_actions: excluded_resource_actions,
            data_actions: allowed_data_actions,
            not_data_actions: excluded_data_actions,
            condition,
            condition_version,
        }
    }
}

impl From<RolePermissionV2> for RolePermission {
    fn from(r: RolePermissionV2) -> Self {
        let RolePermissionV2 { actions, not_actions, data_actions, not_data_actions, condition, condition_version } = r;
        Self {
            allowed_resource_actions: actions,
            excluded_resource_actions: not_actions,
            allowed_data_actions: data_actions,
            excluded_data_actions: not_data_actions,
            condition,
            condition_version,
        }
    }
}
