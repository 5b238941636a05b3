//! `/providers/Microsoft.Management/managementGroups[/{groupId}]`: list, get (with
//! `$expand=children`), create or update, delete.
//!
//! Azure answers PUT and DELETE asynchronously (202 and an operation to poll). OpenPIM commits
//! the change before it answers, so it answers with the final state instead: PUT 200 with the
//! group, DELETE 204. Those are what azure-mgmt-managementgroups 2.0.0 accepts without polling
//! (`begin_create_or_update` takes 200; `begin_delete` takes only 202 or 204, so not 200 with a
//! body; tests/azure_sdk/test_hierarchy.py runs both).

use super::{json, ArmError, ArmParent, ArmRequest, ArmResult};
use crate::azure::hierarchy::{self, GroupInput};
use crate::state::AppState;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use openpim_core::azure_resources::{ManagementGroup, Subscription};
use openpim_proto::arm::management_groups::{self as wire, TYPE};

pub const API_VERSIONS: &[&str] = &["2021-04-01", "2020-05-01", "2020-10-01", "2023-04-01"];

fn full_id(id: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{id}")
}

pub async fn handle(state: AppState, req: ArmRequest) -> ArmResult<Response> {
    let subscription_under_group = req.path.types.len() == 2
        && req.path.types[1].eq_ignore_ascii_case("subscriptions")
        && req.path.names.len() == 2;
    if req.path.parent == ArmParent::Tenant && subscription_under_group {
        return subscription(&state, &req).await;
    }
    if req.path.parent != ArmParent::Tenant || req.path.types.len() > 1 {
        return Err(ArmError::invalid_resource_type(
            &req.path.types.join("/"),
            &req.path.namespace,
            Some(req.api_version.as_str()),
        ));
    }
    match (req.method.clone(), req.path.name().map(str::to_string)) {
        (Method::GET, None) => list(&state, &req).await,
        (Method::GET, Some(id)) => get(&state, &req, &id).await,
        (Method::PUT, Some(id)) => put(&state, &req, &id).await,
        (Method::DELETE, Some(id)) => delete(&state, &req, &id).await,
        (method, _) => Err(ArmError::method_not_allowed(&method)),
    }
}

async fn list(state: &AppState, req: &ArmRequest) -> ArmResult<Response> {
    let groups = hierarchy::management_groups(state, &req.caller).await?;
    let tenant = state.tenant_id.to_string();
    let items: Vec<wire::ManagementGroupInfo> = groups
        .into_iter()
        .map(|g| wire::ManagementGroupInfo {
            id: full_id(&g.id),
            kind: TYPE.into(),
            name: g.id.clone(),
            properties: wire::ManagementGroupInfoProperties { tenant_id: tenant.clone(), display_name: g.display_name },
        })
        .collect();
    Ok(json(StatusCode::OK, &req.paging()?.page(items, req, state)))
}

async fn get(state: &AppState, req: &ArmRequest, id: &str) -> ArmResult<Response> {
    let group = hierarchy::management_group(state, &req.caller, id).await?;
    let parent = parent_of(state, &group).await?;
    let children = match req.query.get("$expand") {
        Some(expand) if expand.eq_ignore_ascii_case("children") => {
            let (groups, subscriptions) = hierarchy::children_of(state, &group).await?;
            Some(children(groups, subscriptions))
        }
        _ => None,
    };
    Ok(json(StatusCode::OK, &render(state, &group, parent.as_ref(), children)))
}

async fn put(state: &AppState, req: &ArmRequest, id: &str) -> ArmResult<Response> {
    let mut body = req.json_body("CreateManagementGroupRequest")?;
    for read_only in ["id", "type", "name"] {
        body.ignore(read_only);
    }
    let mut input = GroupInput { display_name: None, parent: None };
    if let Some(mut props) = body.object("properties", "CreateManagementGroupProperties")? {
        props.ignore("tenantId");
        props.ignore("children");
        input.display_name = props.string("displayName")?;
        if let Some(mut details) = props.object("details", "CreateManagementGroupDetails")? {
            for read_only in ["version", "updatedTime", "updatedBy"] {
                details.ignore(read_only);
            }
            if let Some(mut parent) = details.object("parent", "CreateParentGroupInfo")? {
                parent.ignore("name");
                parent.ignore("displayName");
                input.parent = parent.string("id")?;
                parent.finish()?;
            }
            details.finish()?;
        }
        props.finish()?;
    }
    body.finish()?;
    let (group, _created) = hierarchy::put_management_group(state, &req.caller, id, input).await?;
    let parent = parent_of(state, &group).await?;
    Ok(json(StatusCode::OK, &render(state, &group, parent.as_ref(), None)))
}

async fn delete(state: &AppState, req: &ArmRequest, id: &str) -> ArmResult<Response> {
    hierarchy::delete_management_group(state, &req.caller, id).await?;
    Ok(super::empty(StatusCode::NO_CONTENT))
}

async fn parent_of(state: &AppState, group: &ManagementGroup) -> ArmResult<Option<ManagementGroup>> {
    match &group.parent_id {
        Some(parent) => Ok(state.store.get_management_group(parent).await?),
        None => Ok(None),
    }
}

fn children(groups: Vec<ManagementGroup>, subscriptions: Vec<Subscription>) -> Vec<wire::ManagementGroupChild> {
    let groups = groups.into_iter().map(|g| wire::ManagementGroupChild {
        kind: TYPE.into(),
        id: full_id(&g.id),
        name: g.id,
        display_name: g.display_name,
    });
    let subscriptions = subscriptions.into_iter().map(|s| wire::ManagementGroupChild {
        kind: "/subscriptions".into(),
        id: format!("/subscriptions/{}", s.id),
        name: s.id.to_string(),
        display_name: s.display_name,
    });
    groups.chain(subscriptions).collect()
}

fn render(
    state: &AppState,
    group: &ManagementGroup,
    parent: Option<&ManagementGroup>,
    children: Option<Vec<wire::ManagementGroupChild>>,
) -> wire::ManagementGroup {
    wire::ManagementGroup {
        id: full_id(&group.id),
        kind: TYPE.into(),
        name: group.id.clone(),
        properties: wire::ManagementGroupProperties {
            tenant_id: state.tenant_id.to_string(),
            display_name: group.display_name.clone(),
            details: Some(wire::ManagementGroupDetails {
                // OpenPIM keeps no revision counter; ARM's `version` only changes with it.
                version: 1,
                updated_time: openpim_proto::datetime::format(group.updated),
                updated_by: group.updated_by.map(|id| id.to_string()),
                parent: parent.map(|p| wire::ParentGroupInfo {
                    id: full_id(&p.id),
                    name: p.id.clone(),
                    display_name: p.display_name.clone(),
                }),
            }),
            children,
        },
    }
}

/// `PUT|GET|DELETE .../managementGroups/{group}/subscriptions/{id}`: move a registered
/// subscription into the group (DELETE: back to the root group), or read it there. 200 with
/// `SubscriptionUnderManagementGroup`.
async fn subscription(state: &AppState, req: &ArmRequest) -> ArmResult<Response> {
    let (group, id) = (req.path.names[0].as_str(), req.path.names[1].as_str());
    let subscription = match req.method {
        Method::GET => hierarchy::subscription_in_group(state, &req.caller, group, id).await?,
        Method::PUT => hierarchy::move_subscription(state, &req.caller, group, id, None).await?,
        Method::DELETE => {
            let root = state.tenant_id.to_string();
            hierarchy::move_subscription(state, &req.caller, &root, id, Some(group)).await?
        }
        ref method => return Err(ArmError::method_not_allowed(method)),
    };
    let group_id = subscription.management_group_id.clone();
    Ok(json(
        StatusCode::OK,
        &wire::SubscriptionUnderManagementGroup {
            id: format!("{}/subscriptions/{}", full_id(&group_id), subscription.id),
            kind: "Microsoft.Management/managementGroups/subscriptions".into(),
            name: subscription.id.to_string(),
            properties: wire::SubscriptionUnderManagementGroupProperties {
                tenant: state.tenant_id.to_string(),
                display_name: subscription.display_name.clone(),
                parent: wire::DescendantParentGroupInfo { id: full_id(&group_id) },
                state: subscription.state.to_string(),
            },
        },
    ))
}
