//! Access history in the UI: a user's privileged timeline (`/timeline`, yourself by default,
//! `?principal={id}` for someone else when you may read role assignments) and a role's "Who held
//! it" section on the role page, both from `/v1.0/openpim/accessHistory`.

use super::api::{q, seg, Api, GraphError};
use super::page;
use super::session::Session;
use super::view::{self, scope_label, Chrome};
use super::UiState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// Most names looked up for one table: past that, rows show ids (a long history stays fast).
const MAX_NAMES: usize = 100;
/// Most pages of history read for one table (100 intervals each).
const MAX_PAGES: usize = 20;

/// One interval of the history, as the tables show it.
pub struct TimelineRow {
    pub principal: String,
    pub role: String,
    pub scope: String,
    pub assignment: String,
    pub via: String,
    pub start: String,
    pub end: String,
    /// The interval ended (a role page's Expired tab shows these).
    pub ended: bool,
}

#[derive(Template)]
#[template(path = "timeline.html")]
struct TimelinePage {
    page: Chrome,
    whose: String,
    rows: Vec<TimelineRow>,
    starts: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TimelineQuery {
    principal: String,
}

/// Names principals by id: a user's sign-in name, a group's display name, else the id.
struct Names<'a> {
    api: &'a Api<'a>,
    known: HashMap<String, String>,
}

impl Names<'_> {
    async fn of(&mut self, id: &str) -> String {
        if id.is_empty() {
            return String::new();
        }
        if let Some(n) = self.known.get(id) {
            return n.clone();
        }
        if self.known.len() >= MAX_NAMES {
            return id.to_string();
        }
        let name = match self.api.get(&format!("/v1.0/users/{}", seg(id))).await {
            Ok(u) => u["userPrincipalName"].as_str().unwrap_or(id).to_string(),
            Err(_) => match self.api.get(&format!("/v1.0/groups/{}", seg(id))).await {
                Ok(g) => format!("{} (group)", g["displayName"].as_str().unwrap_or(id)),
                // Deleted since, or not readable by the caller: the id is what the history has.
                Err(_) => id.to_string(),
            },
        };
        self.known.insert(id.to_string(), name.clone());
        name
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn instant(v: &Value) -> Option<time::OffsetDateTime> {
    v.as_str().and_then(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
}

/// The history rows of `query` (`principalId=...` or `roleDefinitionId=...`), named, and when
/// the history began.
pub async fn rows(api: &Api<'_>, query: &str) -> Result<(Vec<TimelineRow>, String), GraphError> {
    // Pages followed here rather than with `list_all`: the first page also says when the
    // history began.
    let mut items = Vec::new();
    let mut starts = String::new();
    let mut next = Some(format!("/v1.0/openpim/accessHistory?{query}"));
    for _ in 0..MAX_PAGES {
        let Some(path) = next.take() else { break };
        let mut page = api.get(&path).await?;
        if starts.is_empty() {
            starts = view::when(instant(&page["historyStartsDateTime"]));
        }
        if let Value::Array(v) = page["value"].take() {
            items.extend(v);
        }
        next = page["@odata.nextLink"].as_str().and_then(|l| l.find("/v1.0/").map(|i| l[i..].to_string()));
    }
    let now = time::OffsetDateTime::now_utc();
    let mut names = Names { api, known: HashMap::new() };
    let mut out = Vec::with_capacity(items.len());
    for r in &items {
        let scope = match r["scope"].as_str() {
            Some(arm) => arm.to_string(),
            None => scope_label(r["directoryScopeId"].as_str().unwrap_or_default()),
        };
        let via = match r["groupId"].as_str() {
            Some(g) => names.of(g).await,
            None => "Direct".to_string(),
        };
        out.push(TimelineRow {
            principal: names.of(r["principalId"].as_str().unwrap_or_default()).await,
            role: r["roleDisplayName"].as_str().map_or_else(|| text(&r["roleDefinitionId"]), str::to_string),
            scope,
            assignment: text(&r["assignmentType"]),
            via,
            start: view::when(instant(&r["startDateTime"])),
            ended: instant(&r["endDateTime"]).is_some_and(|t| t <= now),
            end: match instant(&r["endDateTime"]) {
                Some(t) => view::when(Some(t)),
                None => "no end".to_string(),
            },
        });
    }
    Ok((out, starts))
}

pub async fn page(State(ui): State<UiState>, session: Session, Query(query): Query<TimelineQuery>) -> Response {
    let (chrome, me) = match page::start(&ui, &session, "my", "Privileged timeline").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api = Api::new(&ui.api, &session.token);
    let principal = match query.principal.trim() {
        "" => me.id.to_string(),
        other => other.to_string(),
    };
    let loaded = async {
        let whose = Names { api: &api, known: HashMap::new() }.of(&principal).await;
        let (rows, starts) = rows(&api, &format!("principalId={}", q(&principal))).await?;
        Ok::<_, GraphError>((whose, rows, starts))
    };
    match loaded.await {
        Ok((whose, rows, starts)) => {
            session.finish(view::render(StatusCode::OK, &TimelinePage { page: chrome, whose, rows, starts }))
        }
        Err(e) => page::load_failed(&session, chrome, &e),
    }
}
