//! `/auditLogs/directoryAudits`, and the same records as CSV at
//! `/openpim/auditLogs/directoryAudits/csv` (the one CSV format, `openpim_core::audit::csv`).

use super::object_id;
use super::ops::found;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::odata::OData;
use crate::state::{AppState, Audit};
use crate::wire::audit::directory_audit;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use openpim_core::audit::category::DIRECTORY_MANAGEMENT;
use openpim_core::audit::csv;
use openpim_core::authz::{cap, Granted};
use openpim_odata::{Expr, OrderBy};
use openpim_store::audit::{AuditSnapshot, StoredAudit};
use openpim_store::{schema, ListRequest, Page, StoreError};

const CONTEXT: &str = "auditLogs/directoryAudits";

pub(super) async fn authorize(s: &AppState, caller: &Caller) -> ApiResult<Granted<cap::ReadAuditLogs>> {
    let audit = Audit::new(DIRECTORY_MANAGEMENT, "Read audit logs", "Read");
    s.authorize::<cap::ReadAuditLogs>(caller, &[], &audit).await
}

/// Graph returns audit logs newest first unless the client asks otherwise.
fn newest_first() -> Vec<OrderBy> {
    vec![OrderBy { prop: "activityDateTime".into(), descending: true }]
}

pub async fn list(State(s): State<AppState>, caller: Caller, q: OData) -> ApiResult<Response> {
    authorize(&s, &caller).await?;
    let req = q.list_request(&schema::DIRECTORY_AUDIT)?;
    let newest_first = newest_first();
    let req = if req.orderby.is_empty() { ListRequest { orderby: &newest_first, ..req } } else { req };
    let page = s.store.list_audit(&req).await?;
    let chain = selects_chain(&q);
    Ok(q.collection(CONTEXT, page.map(|a| rendered(&a, chain)), req.offset))
}

pub async fn get(State(s): State<AppState>, caller: Caller, q: OData, Path(id): Path<String>) -> ApiResult<Response> {
    authorize(&s, &caller).await?;
    let a = found(s.store.get_audit(object_id(&id)?).await?, "directoryAudit", &id)?;
    Ok(q.entity(&format!("{CONTEXT}/$entity"), rendered(&a, selects_chain(&q))))
}

/// Whether `$select` names an audit-chain extension property: only then are they sent (Graph's
/// SDKs refuse properties their `directoryAudit` model lacks).
fn selects_chain(q: &OData) -> bool {
    q.options
        .select
        .iter()
        .any(|p| p.eq_ignore_ascii_case("openpim_chainSeq") || p.eq_ignore_ascii_case("openpim_chainHash"))
}

/// A record in Graph's shape, with the chain properties when they were selected.
fn rendered(a: &StoredAudit, chain: bool) -> serde_json::Value {
    let mut d = directory_audit(a);
    if let (false, Some(object)) = (chain, d.as_object_mut()) {
        object.remove("openpim_chainSeq");
        object.remove("openpim_chainHash");
    }
    d
}

/// Records read from the store per page while streaming the CSV.
const CSV_PAGE: usize = 200;

/// Where a CSV export is: the snapshot it reads, the query, and how many rows may still follow.
struct CsvExport {
    snapshot: AuditSnapshot,
    filter: Option<Expr>,
    orderby: Vec<OrderBy>,
    offset: u64,
    /// `$top`: the most rows the export may still hold (`None`: all of them).
    remaining: Option<usize>,
    done: bool,
}

impl CsvExport {
    /// The next page, or `None` when the export is complete.
    async fn next_page(&mut self) -> Result<Option<Vec<StoredAudit>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let top = self.remaining.map_or(CSV_PAGE, |r| r.min(CSV_PAGE));
        let req = ListRequest {
            filter: self.filter.as_ref(),
            orderby: &self.orderby,
            top,
            offset: self.offset,
            count: false,
        };
        let Page { items, has_more, .. } = self.snapshot.page(&req).await?;
        self.offset += items.len() as u64;
        if let Some(r) = &mut self.remaining {
            *r -= items.len();
        }
        self.done = !has_more || self.remaining == Some(0);
        Ok(Some(items))
    }
}

fn csv_chunk(items: &[StoredAudit]) -> Bytes {
    let mut out = String::with_capacity(items.len() * 512);
    for a in items {
        out.push_str(&csv::record_line(&a.record));
    }
    Bytes::from(out)
}

/// `GET /v1.0/openpim/auditLogs/directoryAudits/csv`: every record matching `$filter`, in
/// `$orderby` order (newest first by default), at most `$top` rows, as CSV with a header line.
/// Authorisation, the query options and the first page are checked before anything is sent, so
/// a refusal or a bad query is a Graph error; then the rest streams page by page from one
/// snapshot, so each record appears exactly once however many are written meanwhile.
pub async fn csv(State(s): State<AppState>, caller: Caller, q: OData) -> ApiResult<Response> {
    authorize(&s, &caller).await?;
    let req = q.list_request(&schema::DIRECTORY_AUDIT)?;
    let orderby = if req.orderby.is_empty() { newest_first() } else { req.orderby.to_vec() };
    let mut export = CsvExport {
        snapshot: s.store.audit_snapshot().await?,
        filter: req.filter.cloned(),
        orderby,
        offset: req.offset,
        remaining: q.options.top.map(|t| t as usize),
        done: false,
    };
    let first = export.next_page().await?.unwrap_or_default();
    let mut head = csv::header_line().into_bytes();
    head.extend_from_slice(&csv_chunk(&first));
    let rest = futures_util::stream::try_unfold(export, |mut export| async move {
        let page = export.next_page().await.inspect_err(|e| {
            tracing::error!(error = %e, "the audit CSV export failed after it started");
        })?;
        Ok::<_, StoreError>(page.map(|items| (csv_chunk(&items), export)))
    });
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, StoreError>(Bytes::from(head)) }),
        rest,
    );
    Ok((
        [
            (header::CONTENT_TYPE, csv::CONTENT_TYPE),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"openpim-audit.csv\""),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
