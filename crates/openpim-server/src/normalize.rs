//! Case-insensitive path matching, as Graph does it, done once before routing.
//!
//! Graph matches the fixed segments of a path without regard to case
//! (`/v1.0/rolemanagement/directory/roleAssignments` is `roleAssignments`), while ids and other
//! key segments keep their value. The router matches exactly, so this layer rewrites a request's
//! fixed segments to the casing of the route they belong to before the router sees the request.
//! It learns the routes from the route table itself ([`crate::routes::graph_routes`]), so a new
//! route is covered the moment it is added.

use axum::extract::Request;
use axum::http::uri::{PathAndQuery, Uri};
use percent_encoding::percent_decode_str;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A fixed segment, in its canonical casing (`roleManagement`, `$count`).
    Fixed(String),
    /// `{id}`: any value, kept as sent.
    Key,
}

/// The route patterns, split into segments.
#[derive(Debug, Clone)]
pub struct PathCanon {
    routes: Arc<Vec<Vec<Segment>>>,
}

impl PathCanon {
    /// From route patterns such as `/v1.0/users/{id}/memberOf`.
    pub fn new(patterns: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        let routes = patterns
            .into_iter()
            .map(|p| {
                p.as_ref()
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            Segment::Key
                        } else {
                            Segment::Fixed(s.to_string())
                        }
                    })
                    .collect()
            })
            .collect();
        Self { routes: Arc::new(routes) }
    }

    /// The path with its fixed segments in canonical casing, or `None` when it needs no change
    /// (it already matches a route exactly, or matches none even ignoring case).
    pub fn canonical(&self, path: &str) -> Option<String> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        // Of the routes this path matches ignoring case, the one with the most fixed segments
        // wins, so `/USERS/$COUNT` is `/users/$count`, not the user whose id is `$COUNT`.
        let mut best: Option<(&Vec<Segment>, usize)> = None;
        for route in self.routes.iter().filter(|r| r.len() == segments.len()) {
            let mut fixed = 0;
            let matches = route.iter().zip(&segments).all(|(want, got)| match want {
                Segment::Key => true,
                Segment::Fixed(name) => {
                    fixed += 1;
                    let decoded = percent_decode_str(got).decode_utf8_lossy();
                    name.eq_ignore_ascii_case(&decoded)
                }
            });
            if matches && best.is_none_or(|(_, n)| fixed > n) {
                best = Some((route, fixed));
            }
        }
        let (route, _) = best?;
        let rewritten: Vec<&str> = route
            .iter()
            .zip(&segments)
            .map(|(want, got)| match want {
                Segment::Fixed(name) => name.as_str(),
                Segment::Key => *got,
            })
            .collect();
        let rewritten = format!("/{}", rewritten.join("/"));
        (rewritten != path).then_some(rewritten)
    }

    /// Rewrites the request's path (the query is kept as sent).
    pub fn apply(&self, mut req: Request) -> Request {
        if let Some(path) = self.canonical(req.uri().path()) {
            let path_and_query = match req.uri().query() {
                Some(q) => format!("{path}?{q}"),
                None => path,
            };
            if let Ok(pq) = path_and_query.parse::<PathAndQuery>() {
                let mut parts = req.uri().clone().into_parts();
                parts.path_and_query = Some(pq);
                if let Ok(uri) = Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                }
            }
        }
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon() -> PathCanon {
        PathCanon::new([
            "/v1.0/users",
            "/v1.0/users/$count",
            "/v1.0/users/{id}",
            "/v1.0/users/{id}/memberOf",
            "/v1.0/roleManagement/directory/roleAssignments",
            "/v1.0/policies/roleManagementPolicies/{id}/rules/{rule}",
        ])
    }

    #[test]
    fn fixed_segments_take_the_route_casing_and_keys_keep_theirs() {
        let c = canon();
        assert_eq!(
            c.canonical("/V1.0/rolemanagement/DIRECTORY/roleassignments").as_deref(),
            Some("/v1.0/roleManagement/directory/roleAssignments")
        );
        assert_eq!(c.canonical("/v1.0/Users/AbC-1/MEMBEROF").as_deref(), Some("/v1.0/users/AbC-1/memberOf"));
        assert_eq!(
            c.canonical("/v1.0/POLICIES/rolemanagementpolicies/DirectoryRole_X/RULES/Expiration_Admin_Eligibility")
                .as_deref(),
            Some("/v1.0/policies/roleManagementPolicies/DirectoryRole_X/rules/Expiration_Admin_Eligibility")
        );
    }

    #[test]
    fn the_most_specific_route_wins_and_exact_paths_are_left_alone() {
        let c = canon();
        assert_eq!(c.canonical("/v1.0/USERS/$COUNT").as_deref(), Some("/v1.0/users/$count"));
        assert_eq!(c.canonical("/v1.0/users/%24count").as_deref(), Some("/v1.0/users/$count"));
        assert_eq!(c.canonical("/v1.0/users/$count"), None);
        assert_eq!(c.canonical("/v1.0/users/abc"), None);
        assert_eq!(c.canonical("/v1.0/nothing"), None);
        assert_eq!(c.canonical("/healthz"), None);
    }

    #[test]
    fn the_query_is_kept() {
        let req =
            Request::builder().uri("/v1.0/USERS?$filter=displayName+eq+%27A%27").body(Default::default()).unwrap();
        let req = canon().apply(req);
        assert_eq!(req.uri().path(), "/v1.0/users");
        assert_eq!(req.uri().query(), Some("$filter=displayName+eq+%27A%27"));
    }
}
