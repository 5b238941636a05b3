//! Parse a raw URL query string into [`QueryOptions`], and check `$select` /
//! `$orderby` against a schema.
//!
//! Decoding follows what Graph accepts from every client: `%XX` is decoded,
//! `+` is a space as in HTML form encoding (what .NET's `HttpUtility.UrlEncode`
//! writes, so `displayName+eq+%27Global+Reader%27` works; a literal plus, as
//! in a `+01:00` offset, must be sent as `%2B`), and keys are case-insensitive
//! with an optional `$` prefix (`$filter`, `filter`, `$FILTER`) and may have
//! spaces around the `=` (`$filter = ...`, as Graph's own docs write it).

use percent_encoding::percent_decode_str;

use crate::error::{snippet, ODataError};
use crate::filter::{parse_filter, Expr};
use crate::schema::{EntitySchema, PropType};

/// Longest query string accepted, decoded or not. `$filter` has its own,
/// smaller limit ([`crate::MAX_FILTER_LEN`]).
pub const MAX_QUERY_LEN: usize = 32 * 1024;
/// Deepest `$expand` nesting accepted (`a($expand=b($expand=c))` is 3).
pub const MAX_EXPAND_DEPTH: usize = 4;
/// Graph's largest page size.
pub const MAX_TOP: u32 = 999;

#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub prop: String,
    pub descending: bool,
}

/// One `$expand` item with the options in its parentheses, e.g.
/// `principal($select=id,displayName)` or `policy($expand=rules)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpandItem {
    pub name: String,
    pub options: QueryOptions,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryOptions {
    pub filter: Option<Expr>,
    /// The decoded `$filter` text, for building next links.
    pub filter_text: Option<String>,
    pub select: Vec<String>,
    pub expand: Vec<ExpandItem>,
    pub orderby: Vec<OrderBy>,
    pub top: Option<u32>,
    pub skip: Option<u32>,
    /// Raw token; decode it with [`crate::decode_skiptoken`].
    pub skiptoken: Option<String>,
    pub count: bool,
    /// Raw `$search` text (Graph's form is `"property:words"`, quotes included).
    pub search: Option<String>,
    /// Decoded parameters that are not system query options (e.g.
    /// `api-version`), in order. Always empty inside an [`ExpandItem`].
    pub extra: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SysOpt {
    Filter,
    Select,
    Expand,
    OrderBy,
    Top,
    Skip,
    SkipToken,
    Count,
    Search,
}

impl SysOpt {
    const ALL: [SysOpt; 9] = [
        SysOpt::Filter,
        SysOpt::Select,
        SysOpt::Expand,
        SysOpt::OrderBy,
        SysOpt::Top,
        SysOpt::Skip,
        SysOpt::SkipToken,
        SysOpt::Count,
        SysOpt::Search,
    ];

    fn name(self) -> &'static str {
        match self {
            SysOpt::Filter => "$filter",
            SysOpt::Select => "$select",
            SysOpt::Expand => "$expand",
            SysOpt::OrderBy => "$orderby",
            SysOpt::Top => "$top",
            SysOpt::Skip => "$skip",
            SysOpt::SkipToken => "$skiptoken",
            SysOpt::Count => "$count",
            SysOpt::Search => "$search",
        }
    }

    /// `Ok(None)`: not a system option (no `$` and not a known name).
    fn classify(key: &str) -> Result<Option<SysOpt>, ODataError> {
        let bare = key.strip_prefix('$').unwrap_or(key);
        let found = Self::ALL.into_iter().find(|o| o.name()[1..].eq_ignore_ascii_case(bare));
        match found {
            None if key.starts_with('$') => {
                Err(ODataError::bad_request(format!("Query option '{}' is not supported.", snippet(key))))
            }
            found => Ok(found),
        }
    }
}

/// Parse a raw URL query string (the part after '?', still percent-encoded).
pub fn parse_query(raw: &str) -> Result<QueryOptions, ODataError> {
    if raw.len() > MAX_QUERY_LEN {
        return Err(ODataError::bad_request(format!(
            "The query string is {} bytes long; the maximum is {MAX_QUERY_LEN}.",
            raw.len()
        )));
    }
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    let mut opts = QueryOptions::default();
    let mut seen = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let (key, value) = (decode_component(k)?, decode_component(v)?);
        // `$filter = x` arrives as key `$filter ` and value ` x`.
        let key = key.trim();
        match SysOpt::classify(key)? {
            Some(opt) => apply(&mut opts, &mut seen, opt, value.trim(), 0)?,
            None => opts.extra.push((key.to_string(), value)),
        }
    }
    Ok(opts)
}

/// Decodes one key or value of a query string: `+` is a space, then `%XX`
/// escapes are decoded (so `%2B` is a literal plus).
pub fn decode_component(s: &str) -> Result<String, ODataError> {
    let spaced = s.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ODataError::bad_request("The query string is not valid UTF-8 after percent-decoding."))
}

/// Store one option's value; `depth` is the `$expand` nesting level.
fn apply(
    opts: &mut QueryOptions,
    seen: &mut Vec<SysOpt>,
    opt: SysOpt,
    value: &str,
    depth: usize,
) -> Result<(), ODataError> {
    if seen.contains(&opt) {
        return Err(ODataError::bad_request(format!("Query option '{}' was specified more than once.", opt.name())));
    }
    seen.push(opt);
    match opt {
        SysOpt::Filter => {
            opts.filter = Some(parse_filter(value)?);
            opts.filter_text = Some(value.to_string());
        }
        SysOpt::Select => {
            opts.select = split_list(value, b',', "$select")?
                .into_iter()
                .map(|name| check_name(name, "$select"))
                .collect::<Result<_, _>>()?;
        }
        SysOpt::Expand => opts.expand = parse_expand(value, depth + 1)?,
        SysOpt::OrderBy => opts.orderby = parse_orderby(value)?,
        SysOpt::Top => {
            opts.top =
                Some(value.trim().parse::<u32>().ok().filter(|n| (1..=MAX_TOP).contains(n)).ok_or_else(|| {
                    ODataError::bad_request(format!(
                        "Invalid value '{}' for $top; expected an integer from 1 to {MAX_TOP}.",
                        snippet(value)
                    ))
                })?)
        }
        SysOpt::Skip => {
            opts.skip = Some(value.trim().parse::<u32>().map_err(|_| {
                ODataError::bad_request(format!(
                    "Invalid value '{}' for $skip; expected a non-negative integer.",
                    snippet(value)
                ))
            })?)
        }
        SysOpt::SkipToken if depth > 0 => {
            return Err(ODataError::bad_request("Query option '$skiptoken' is not supported inside $expand."))
        }
        SysOpt::SkipToken => opts.skiptoken = Some(value.to_string()),
        SysOpt::Count => {
            opts.count = match value.trim() {
                v if v.eq_ignore_ascii_case("true") => true,
                v if v.eq_ignore_ascii_case("false") => false,
                _ => {
                    return Err(ODataError::bad_request(format!(
                        "Invalid value '{}' for $count; expected true or false.",
                        snippet(value)
                    )))
                }
            }
        }
        SysOpt::Search => opts.search = Some(value.to_string()),
    }
    Ok(())
}

/// `a,b(c;d),e` -> items, splitting only outside parentheses and quotes.
fn split_list<'a>(s: &'a str, sep: u8, option: &str) -> Result<Vec<&'a str>, ODataError> {
    let mut items = Vec::new();
    let (mut depth, mut quoted, mut start) = (0usize, false, 0);
    let unbalanced = || ODataError::bad_request(format!("Invalid {option}: unbalanced parentheses."));
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth = depth.checked_sub(1).ok_or_else(unbalanced)?,
            _ if b == sep && !quoted && depth == 0 => {
                items.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(unbalanced());
    }
    if quoted {
        return Err(ODataError::bad_request(format!("Invalid {option}: unterminated string literal.")));
    }
    items.push(&s[start..]);
    Ok(items)
}

/// A property path or navigation name: letters, digits, `_`, `.`, `/`.
fn check_name(name: &str, option: &str) -> Result<String, ODataError> {
    let name = name.trim();
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '/'))
        && !name.starts_with('/')
        && !name.ends_with('/');
    if valid {
        Ok(name.to_string())
    } else if name.is_empty() {
        Err(ODataError::bad_request(format!("Invalid {option}: empty property name.")))
    } else {
        Err(ODataError::bad_request(format!("Invalid {option}: '{}' is not a valid property name.", snippet(name))))
    }
}

fn parse_orderby(value: &str) -> Result<Vec<OrderBy>, ODataError> {
    split_list(value, b',', "$orderby")?
        .into_iter()
        .map(|item| {
            let mut words = item.split_whitespace();
            let prop = check_name(words.next().unwrap_or(""), "$orderby")?;
            let descending = match words.next() {
                None => false,
                Some(d) if d.eq_ignore_ascii_case("asc") => false,
                Some(d) if d.eq_ignore_ascii_case("desc") => true,
                Some(d) => {
                    return Err(ODataError::bad_request(format!(
                        "Invalid $orderby: expected 'asc' or 'desc' after '{prop}' but found '{}'.",
                        snippet(d)
                    )))
                }
            };
            if let Some(extra) = words.next() {
                return Err(ODataError::bad_request(format!(
                    "Invalid $orderby: unexpected '{}' after '{prop}'.",
                    snippet(extra)
                )));
            }
            Ok(OrderBy { prop, descending })
        })
        .collect()
}

fn parse_expand(value: &str, depth: usize) -> Result<Vec<ExpandItem>, ODataError> {
    if depth > MAX_EXPAND_DEPTH {
        return Err(ODataError::bad_request(format!(
            "Invalid $expand: nesting is deeper than {MAX_EXPAND_DEPTH} levels."
        )));
    }
    let mut items = Vec::new();
    for item in split_list(value, b',', "$expand")? {
        let item = item.trim();
        let (name, inner) = match item.find('(') {
            None => (item, None),
            Some(open) => match item.strip_suffix(')') {
                Some(body) => (&item[..open], Some(body.get(open + 1..).unwrap_or(""))),
                None => {
                    return Err(ODataError::bad_request(format!(
                        "Invalid $expand: unexpected text after ')' in '{}'.",
                        snippet(item)
                    )))
                }
            },
        };
        let mut options = QueryOptions::default();
        let mut seen = Vec::new();
        for pair in inner.map(|s| split_list(s, b';', "$expand")).transpose()?.unwrap_or_default() {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match SysOpt::classify(k.trim())? {
                Some(opt) => apply(&mut options, &mut seen, opt, v, depth)?,
                None => {
                    return Err(ODataError::bad_request(format!(
                        "Query option '{}' is not supported inside $expand.",
                        snippet(k.trim())
                    )))
                }
            }
        }
        // `*` expands every navigation property (Graph PowerShell's `-ExpandProperty "*"`).
        let name = if name.trim() == "*" { "*".to_string() } else { check_name(name, "$expand")? };
        items.push(ExpandItem { name, options });
    }
    Ok(items)
}

/// Check `$select` names: each must name a property of the schema, or the
/// first segment of a property path (`$select=initiatedBy` when the schema has
/// `initiatedBy/user/id`), since Graph selects whole top-level properties.
pub fn validate_select(select: &[String], schema: &EntitySchema) -> Result<(), ODataError> {
    for name in select {
        let top_level = schema.properties.iter().any(|p| {
            p.name.eq_ignore_ascii_case(name)
                || p.name.split('/').next().is_some_and(|first| first.eq_ignore_ascii_case(name))
        });
        if !top_level {
            return Err(schema.unknown_property(name));
        }
    }
    Ok(())
}

/// Validate `$orderby` and build `ORDER BY ...`. Case-insensitive strings
/// sort by `LOWER(col)`; nulls sort first ascending and last descending (as
/// OData specifies, and spelled out because SQLite and PostgreSQL default
/// differently); the key column is appended as a tie-break for stable paging.
pub fn compile_orderby(orderby: &[OrderBy], schema: &EntitySchema) -> Result<String, ODataError> {
    let mut parts = Vec::with_capacity(orderby.len() + 1);
    let mut has_key = false;
    for ob in orderby {
        let p = schema.require(&ob.prop)?;
        if !p.sortable || p.ty == PropType::StringCollection {
            return Err(ODataError::bad_request(format!(
                "Sorting by property '{}' of type '{}' is not supported.",
                p.name, schema.type_name
            )));
        }
        has_key |= p.column == schema.key_column;
        let col = if p.case_insensitive && p.ty == PropType::String {
            format!("LOWER({})", p.column)
        } else {
            p.column.to_string()
        };
        let dir = if ob.descending { "DESC NULLS LAST" } else { "ASC NULLS FIRST" };
        parts.push(format!("{col} {dir}"));
    }
    if !has_key {
        parts.push(format!("{} ASC", schema.key_column));
    }
    Ok(format!("ORDER BY {}", parts.join(", ")))
}
