//! ARM's list envelope and paging: `{"value": [...], "nextLink": "<absolute URL>"}`. The next
//! link repeats the request (path, `api-version`, `$filter`, ...) with an opaque `$skiptoken`
//! (the same checksummed offset token as Graph's), on the server's public origin (never `Host`).

use super::error::{ArmError, ArmResult};
use super::ArmRequest;
use crate::state::AppState;
use axum::http::StatusCode;
use openpim_proto::arm::ArmList;

/// Items per page when an area does not choose.
pub const DEFAULT_PAGE_SIZE: usize = 200;

/// Where a list request starts and how much it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub offset: u64,
    pub size: usize,
}

impl Paging {
    /// The page a request asks for: from its `$skiptoken`, or the first.
    pub fn of(req: &ArmRequest) -> ArmResult<Self> {
        let offset = match req.query.skiptoken() {
            None => 0,
            Some(token) => openpim_odata::decode_skiptoken(token).map_err(|_| {
                ArmError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidSkipToken",
                    "The $skiptoken is not one this server issued.",
                )
            })?,
        };
        Ok(Self { offset, size: DEFAULT_PAGE_SIZE })
    }

    pub fn with_size(self, size: usize) -> Self {
        Self { size: size.max(1), ..self }
    }

    /// This page of `all` (every item of the list, in its order), with a next link when more
    /// follow.
    pub fn page<T>(self, all: Vec<T>, req: &ArmRequest, state: &AppState) -> ArmList<T> {
        let total = all.len();
        let start = usize::try_from(self.offset).unwrap_or(usize::MAX).min(total);
        let end = start.saturating_add(self.size).min(total);
        let value: Vec<T> = all.into_iter().skip(start).take(end - start).collect();
        let next_link = (end < total).then(|| next_link(req, state, end as u64));
        ArmList { value, next_link }
    }
}

/// The absolute URL of the page starting at `offset`.
pub fn next_link(req: &ArmRequest, state: &AppState, offset: u64) -> String {
    let origin = match &state.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => state.listen_origin.clone(),
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in req.query.pairs().filter(|(n, _)| !n.eq_ignore_ascii_case("$skiptoken")) {
        query.append_pair(name, value);
    }
    query.append_pair("$skiptoken", &openpim_odata::encode_skiptoken(offset));
    format!("{origin}{}?{}", req.path.encoded(), query.finish())
}
