//! Groups: the role-assignable groups and their members.

use super::api::{Api, GraphError};
use super::page;
use super::session::Session;
use super::view::{self, Chrome};
use super::UiState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use openpim_proto::directory::{DirectoryObject, Group};

struct Member {
    name: String,
    upn: String,
}

struct GroupRow {
    name: String,
    description: String,
    members: Vec<Member>,
}

#[derive(Template)]
#[template(path = "groups.html")]
struct GroupsPage {
    page: Chrome,
    groups: Vec<GroupRow>,
}

pub async fn page(State(ui): State<UiState>, session: Session) -> Response {
    let (chrome, _) = match page::start(&ui, &session, "groups", "Role-assignable groups").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let loaded = async {
        let groups: Vec<Group> = api.list_all_as("/v1.0/groups?$filter=isAssignableToRole%20eq%20true").await?;
        let mut rows = Vec::with_capacity(groups.len());
        for g in groups {
            let members: Vec<DirectoryObject> = api.list_all_as(&format!("/v1.0/groups/{}/members", g.id)).await?;
            rows.push(GroupRow {
                name: g.display_name,
                description: g.description.unwrap_or_default(),
                members: members
                    .iter()
                    .map(|m| Member {
                        name: m.display_name().to_string(),
                        upn: m.user_principal_name().unwrap_or_default().to_string(),
                    })
                    .collect(),
            });
        }
        rows.sort_by_key(|g| g.name.to_lowercase());
        Ok::<_, GraphError>(rows)
    };
    match loaded.await {
        Ok(groups) => session.finish(view::render(StatusCode::OK, &GroupsPage { page: chrome, groups })),
        Err(e) => page::load_failed(&session, chrome, &e),
    }
}
