//! What every page shares: the layout's data, flash messages, error pages, and formatting.

use super::api::GraphError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// A one-time message shown after a form's redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub ok: bool,
    pub text: String,
}

impl Flash {
    pub fn ok(text: impl Into<String>) -> Self {
        Self { ok: true, text: text.into() }
    }

    pub fn err(text: impl Into<String>) -> Self {
        Self { ok: false, text: text.into() }
    }

    /// A Graph error as the user reads it: code and message.
    pub fn graph(e: &GraphError) -> Self {
        Self::err(describe(e))
    }

    pub fn encode(&self) -> String {
        let text: String = self.text.chars().take(600).collect();
        let raw = format!("{}{}", if self.ok { 'o' } else { 'e' }, text);
        percent_encoding::utf8_percent_encode(&raw, percent_encoding::NON_ALPHANUMERIC).to_string()
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let text = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
        let mut chars = text.chars();
        let ok = match chars.next()? {
            'o' => true,
            'e' => false,
            _ => return None,
        };
        Some(Self { ok, text: chars.as_str().to_string() })
    }
}

/// How a refused action reads: the API's code and message (which says why).
pub fn describe(e: &GraphError) -> String {
    if e.is_forbidden() {
        format!("Not allowed. {}: {}", e.code, e.message)
    } else {
        format!("{}: {}", e.code, e.message)
    }
}

/// How a page the API would not show reads: a 403 says a role is needed.
pub fn describe_page(e: &GraphError) -> String {
    if e.is_forbidden() {
        format!("You need a role that allows this page. {}: {}", e.code, e.message)
    } else {
        describe(e)
    }
}

/// The layout's data: title, current section, who is signed in, the CSRF token for its forms.
pub struct Chrome {
    pub title: String,
    pub section: &'static str,
    pub user: String,
    pub csrf: String,
    pub flash: Option<Flash>,
    /// A problem loading the page (e.g. the API's 403), shown as a banner.
    pub error: Option<String>,
    /// The tenant has Azure resources: the navigation links to them.
    pub azure: bool,
    /// The user may read PIM security alerts: the navigation links to them.
    pub alerts: bool,
    /// Which sections the navigation offers (see `page::nav_for`).
    pub nav: Nav,
}

/// The sections the signed-in person may use, from their effective rights: the navigation
/// shows exactly these, and `page::start` answers 403 for the others. Overview, My roles, My
/// requests and Approvals are everyone's (anyone may be named an approver).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Nav {
    pub roles: bool,
    pub users: bool,
    pub groups: bool,
    pub audit: bool,
}

impl Chrome {
    /// `aria-current` for the navigation link of the current section.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section {
            "page"
        } else {
            "false"
        }
    }
}

/// Renders a template to an HTML response.
pub fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            plain_error(StatusCode::INTERNAL_SERVER_ERROR, "The page could not be rendered.")
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A minimal page for refusals that happen before a session is known.
pub fn plain_error(status: StatusCode, message: &str) -> Response {
    // A server-side failure names the request, so the person can hand the id to an operator,
    // who finds its log lines by it.
    let with_id;
    let message = match crate::transport::current() {
        Some(ids) if status.is_server_error() => {
            with_id = format!("{message} (Request id: {})", ids.request_id);
            with_id.as_str()
        }
        _ => message,
    };
    let t = MessagePage { title: status.canonical_reason().unwrap_or("Error"), message };
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, message.to_string()).into_response(),
    }
}

pub fn csrf_refused() -> Response {
    plain_error(
        StatusCode::FORBIDDEN,
        "The form's security token is missing or wrong, so nothing was changed. Reload the page and try again.",
    )
}

/// `2026-11-23T01:02:03.5Z` → `2026-11-23 01:02 UTC`; nothing when there is no time.
pub fn when(t: Option<time::OffsetDateTime>) -> String {
    let Some(t) = t else { return String::new() };
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// An instant as a `<time>` element: UTC text (as [`when`]) that `static/app.js` rewrites to the
/// browser's time zone, with the UTC time kept in the hover title. Empty without a time.
/// Templates print it with `|safe`.
pub fn time_html(t: Option<time::OffsetDateTime>) -> String {
    let Some(t) = t else { return String::new() };
    let t = t.to_offset(time::UtcOffset::UTC);
    let iso = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let text = when(Some(t));
    // Only digits, dashes, colons and letters from the format above: nothing to escape.
    format!("<time datetime=\"{iso}\" title=\"{text}\">{text}</time>")
}

/// The `$skiptoken` of a collection's `@odata.nextLink`: what a list page's "Next page" link
/// carries (as `after`) to ask the API for the next page.
pub fn skiptoken_of(next_link: Option<&str>) -> Option<String> {
    let query = next_link?.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        let k = percent_encoding::percent_decode_str(k).decode_utf8().ok()?;
        (k == "$skiptoken")
            .then(|| percent_encoding::percent_decode_str(v).decode_utf8().ok().map(|v| v.into_owned()))?
    })
}

/// A list's sortable column header: where it links (the same list sorted by `key`, ascending
/// unless it is the current ascending sort) and its `aria-sort`.
pub struct SortLink {
    pub href: String,
    pub aria_sort: &'static str,
}

/// The header link of column `key` on a list at `base` (`/users?q=x`: every parameter but the
/// sort and the page), sorted now by `current` (descending when `desc`).
pub fn sort_link(base: &str, key: &str, current: &str, desc: bool) -> SortLink {
    let sep = if base.contains('?') { '&' } else { '?' };
    let (next_desc, aria_sort) = match (key == current, desc) {
        (true, false) => (true, "ascending"),
        (true, true) => (false, "descending"),
        (false, _) => (false, "none"),
    };
    let href = format!("{base}{sep}sort={key}{}", if next_desc { "&desc=1" } else { "" });
    SortLink { href, aria_sort }
}

/// A directory scope as people read it.
pub fn scope_label(scope: &str) -> String {
    match scope {
        "/" | "" => "Directory".to_string(),
        other => other.strip_prefix("/administrativeUnits/").map_or(other.to_string(), |u| format!("Unit {u}")),
    }
}

/// An ISO 8601 duration such as `PT8H` or `PT90M` in words; the raw value when unusual.
pub fn duration_words(iso: &str) -> String {
    match openpim_core::duration::parse(iso) {
        Some(d) => {
            let mins = d.whole_minutes();
            if mins % (24 * 60) == 0 && mins >= 24 * 60 {
                plural(mins / (24 * 60), "day")
            } else if mins % 60 == 0 && mins >= 60 {
                plural(mins / 60, "hour")
            } else {
                plural(mins, "minute")
            }
        }
        None => iso.to_string(),
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Minutes in an ISO 8601 duration (0 when it does not parse).
pub fn duration_minutes(iso: &str) -> i64 {
    openpim_core::duration::parse(iso).map_or(0, |d| d.whole_minutes())
}

/// A list's paging links: the page shown, how many there are, and the links to the neighbours
/// (empty at either end). Lists page on the server, so every link is a plain GET.
pub struct Pager {
    pub page: usize,
    pub pages: usize,
    pub prev: String,
    pub next: String,
}

impl Pager {
    /// Page `requested` (1-based, clamped) of `total` items, `per_page` a page; `href(n)` is page n's link.
    /// Returns the pager and the index range of the page's items.
    pub fn new(
        requested: usize,
        total: usize,
        per_page: usize,
        href: impl Fn(usize) -> String,
    ) -> (Self, std::ops::Range<usize>) {
        let pages = total.div_ceil(per_page).max(1);
        let page = requested.clamp(1, pages);
        let link = |n: usize| if (1..=pages).contains(&n) && n != page { href(n) } else { String::new() };
        let range = ((page - 1) * per_page).min(total)..(page * per_page).min(total);
        (Self { page, pages, prev: link(page.wrapping_sub(1)), next: link(page + 1) }, range)
    }
}

/// What a query value keeps unencoded: RFC 3986's unreserved characters (so `sort=-name` reads
/// as itself in the address bar).
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `?a=1&b=x` from the pairs whose value is not empty (values percent-encoded).
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", percent_encoding::utf8_percent_encode(v, QUERY_VALUE)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn server_error_pages_name_the_request() {
        let body = |resp: Response| async move {
            String::from_utf8(axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap()
        };
        let (ids, page) = crate::transport::in_request(async {
            plain_error(StatusCode::SERVICE_UNAVAILABLE, "The store is unavailable.")
        })
        .await;
        assert!(body(page).await.contains(&format!("The store is unavailable. (Request id: {})", ids.request_id)));
        // A refusal the person can act on needs no id; outside a request there is none.
        let (_, page) = crate::transport::in_request(async { plain_error(StatusCode::FORBIDDEN, "No.") }).await;
        assert!(!body(page).await.contains("Request id"));
        assert!(!body(plain_error(StatusCode::INTERNAL_SERVER_ERROR, "Oops.")).await.contains("Request id"));
    }

    #[test]
    fn flash_round_trips() {
        for f in [Flash::ok("Done: <b>ok</b>; 100% sure"), Flash::err("RoleAssignmentExists: é")] {
            assert_eq!(Flash::decode(&f.encode()), Some(f));
        }
        assert_eq!(Flash::decode("xjunk"), None);
        assert_eq!(Flash::decode(""), None);
    }

    #[test]
    fn pages() {
        let (p, r) = Pager::new(2, 123, 25, |n| format!("/roles?page={n}"));
        assert_eq!((p.page, p.pages, r), (2, 5, 25..50));
        assert_eq!((p.prev.as_str(), p.next.as_str()), ("/roles?page=1", "/roles?page=3"));
        let (p, r) = Pager::new(9, 123, 25, |n| format!("?page={n}"));
        assert_eq!((p.page, r, p.next.as_str()), (5, 100..123, ""));
        let (p, r) = Pager::new(0, 0, 25, |n| format!("?page={n}"));
        assert_eq!((p.page, p.pages, r, p.prev.as_str()), (1, 1, 0..0, ""));
        assert_eq!(query_string(&[("q", "a b&c"), ("sort", ""), ("page", "2")]), "?q=a%20b%26c&page=2");
        assert_eq!(query_string(&[("sort", "-name")]), "?sort=-name");
        assert_eq!(query_string(&[("q", "")]), "");
    }

    #[test]
    fn paging_and_sorting_links() {
        assert_eq!(skiptoken_of(Some("http://h/v1.0/users?$top=2&%24skiptoken=abc%3D")).as_deref(), Some("abc="));
        assert_eq!(skiptoken_of(Some("http://h/v1.0/users?$top=2")), None);
        assert_eq!(skiptoken_of(None), None);
        let l = sort_link("/users?q=a", "displayName", "displayName", false);
        assert_eq!((l.href.as_str(), l.aria_sort), ("/users?q=a&sort=displayName&desc=1", "ascending"));
        let l = sort_link("/users", "department", "displayName", true);
        assert_eq!((l.href.as_str(), l.aria_sort), ("/users?sort=department", "none"));
    }

    #[test]
    fn formats() {
        assert_eq!(when(Some(time::macros::datetime!(2026-11-23 01:02:03.5 UTC))), "2026-11-23 01:02 UTC");
        assert_eq!(when(Some(time::macros::datetime!(2026-11-23 02:02:03 +01:00))), "2026-11-23 01:02 UTC");
        assert_eq!(when(None), "");
        assert_eq!(
            time_html(Some(time::macros::datetime!(2026-11-23 02:02:03 +01:00))),
            "<time datetime=\"2026-11-23T01:02:03Z\" title=\"2026-11-23 01:02 UTC\">2026-11-23 01:02 UTC</time>"
        );
        assert_eq!(time_html(None), "");
        assert_eq!(duration_words("PT8H"), "8 hours");
        assert_eq!(duration_words("PT90M"), "90 minutes");
        assert_eq!(duration_words("P365D"), "365 days");
        assert_eq!(scope_label("/"), "Directory");
    }
}
