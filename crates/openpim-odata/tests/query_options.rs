//! Query-string parsing, $select/$orderby validation, and skip tokens.

mod common;

use common::USER;
use openpim_odata::{
    compile_orderby, decode_skiptoken, encode_skiptoken, parse_filter, parse_query, validate_select, OrderBy,
    QueryOptions,
};

fn q(raw: &str) -> QueryOptions {
    parse_query(raw).unwrap_or_else(|e| panic!("{raw}: {}", e.message))
}

fn err(raw: &str) -> String {
    let e = parse_query(raw).expect_err(raw);
    assert_eq!(e.code, "BadRequest");
    e.message
}

#[test]
fn kiota_style_encoding() {
    let o = q("$filter=displayName%20eq%20%27Global%20Reader%27&$expand=policy%28%24expand%3Drules%29");
    assert_eq!(o.filter, Some(parse_filter("displayName eq 'Global Reader'").unwrap()));
    assert_eq!(o.filter_text.as_deref(), Some("displayName eq 'Global Reader'"));
    assert_eq!(o.expand.len(), 1);
    assert_eq!(o.expand[0].name, "policy");
    assert_eq!(o.expand[0].options.expand.len(), 1);
    assert_eq!(o.expand[0].options.expand[0].name, "rules");
    // Same thing, unencoded.
    assert_eq!(q("$expand=policy($expand=rules)").expand, o.expand);
}

/// Graph decodes `+` as a space, as .NET's `HttpUtility.UrlEncode` (ScubaGear, Maester,
/// PowerShell tools) writes it; a literal plus is `%2B`. (Before, `+` stayed a plus and
/// `displayName+eq+%27Global+Reader%27` was a syntax error.)
#[test]
fn plus_is_a_space_and_percent_2b_a_plus() {
    let o = q("$filter=displayName+eq+%27Global+Reader%27");
    assert_eq!(o.filter, Some(parse_filter("displayName eq 'Global Reader'").unwrap()));
    assert_eq!(o.filter_text.as_deref(), Some("displayName eq 'Global Reader'"));
    let o = q("%24filter=d%20ge%202024-01-01T00:00:00%2B01:00");
    assert_eq!(o.filter.unwrap().to_string(), "d ge 2024-01-01T00:00:00+01:00");
    assert_eq!(q("$search=a+b").search.as_deref(), Some("a b"));
    assert_eq!(q("$search=a%2Bb").search.as_deref(), Some("a+b"));
    assert_eq!(q("api-version=1+2").extra, vec![("api-version".to_string(), "1 2".to_string())]);
}

/// `$expand=*` (Graph PowerShell's `-ExpandProperty "*"`) was refused as an invalid name.
#[test]
fn expand_star() {
    let o = q("$expand=*");
    assert_eq!(o.expand.len(), 1);
    assert_eq!(o.expand[0].name, "*");
    assert_eq!(q("$expand=%2A").expand, o.expand);
    assert!(parse_query("$expand=a*").is_err());
}

/// Graph's docs write `$filter = ...`; the spaces around `=` are not part of the key or value.
#[test]
fn spaces_around_the_equals_sign() {
    let o = q("$filter = displayName eq 'a'&$TOP = 5&$select+=+id,displayName");
    assert_eq!(o.filter, Some(parse_filter("displayName eq 'a'").unwrap()));
    assert_eq!(o.top, Some(5));
    assert_eq!(o.select, vec!["id", "displayName"]);
    assert!(o.extra.is_empty(), "{:?}", o.extra);
}

#[test]
fn every_option() {
    let o = q("?$select=id,displayName&$orderby=displayName%20desc,id&$top=10&$skip=20&$skiptoken=abc&$count=true\
               &$search=%22displayName:foo%22&api-version=2&$expand=principal($select=id,displayName;$top=5)");
    assert_eq!(o.select, vec!["id", "displayName"]);
    assert_eq!(
        o.orderby,
        vec![
            OrderBy { prop: "displayName".into(), descending: true },
            OrderBy { prop: "id".into(), descending: false }
        ]
    );
    assert_eq!((o.top, o.skip, o.count), (Some(10), Some(20), true));
    assert_eq!(o.skiptoken.as_deref(), Some("abc"));
    assert_eq!(o.search.as_deref(), Some("\"displayName:foo\""));
    assert_eq!(o.extra, vec![("api-version".to_string(), "2".to_string())]);
    let principal = &o.expand[0];
    assert_eq!(principal.name, "principal");
    assert_eq!(principal.options.select, vec!["id", "displayName"]);
    assert_eq!(principal.options.top, Some(5));
}

#[test]
fn keys_without_dollar_and_any_case() {
    let o = q("filter=a%20eq%201&TOP=5&$Count=FALSE&$OrderBy=a%20ASC");
    assert!(o.filter.is_some());
    assert_eq!(o.top, Some(5));
    assert!(!o.count);
    assert_eq!(o.orderby, vec![OrderBy { prop: "a".into(), descending: false }]);
    assert!(o.extra.is_empty());
    assert_eq!(q("").filter, None);
    assert_eq!(q("&&foo&").extra, vec![("foo".to_string(), String::new())]);
}

#[test]
fn expand_with_filter_and_nesting() {
    let o = q("$expand=roleDefinition($filter=displayName%20eq%20%27a%3Bb%27;$select=id),principal");
    assert_eq!(o.expand.len(), 2);
    let rd = &o.expand[0].options;
    assert_eq!(rd.filter_text.as_deref(), Some("displayName eq 'a;b'"));
    assert_eq!(rd.select, vec!["id"]);
    assert_eq!(o.expand[1].name, "principal");
    assert_eq!(q("$expand=a(expand=b(expand=c(expand=d)))").expand[0].options.expand[0].name, "b");
}

#[test]
fn option_errors() {
    assert_eq!(err("$xyz=1"), "Query option '$xyz' is not supported.");
    assert_eq!(err("$filter=a%20eq%201&filter=b%20eq%202"), "Query option '$filter' was specified more than once.");
    assert_eq!(err("$top=0"), "Invalid value '0' for $top; expected an integer from 1 to 999.");
    assert_eq!(err("$top=1000"), "Invalid value '1000' for $top; expected an integer from 1 to 999.");
    assert_eq!(err("$top=-1"), "Invalid value '-1' for $top; expected an integer from 1 to 999.");
    assert_eq!(err("$top=ten"), "Invalid value 'ten' for $top; expected an integer from 1 to 999.");
    assert_eq!(err("$skip=-5"), "Invalid value '-5' for $skip; expected a non-negative integer.");
    assert_eq!(err("$count=yes"), "Invalid value 'yes' for $count; expected true or false.");
    assert_eq!(err("$orderby=a%20up"), "Invalid $orderby: expected 'asc' or 'desc' after 'a' but found 'up'.");
    assert_eq!(err("$orderby=a%20asc%20b"), "Invalid $orderby: unexpected 'b' after 'a'.");
    assert_eq!(err("$orderby=a,,b"), "Invalid $orderby: empty property name.");
    assert_eq!(err("$select=id,"), "Invalid $select: empty property name.");
    assert_eq!(err("$select=id;drop"), "Invalid $select: 'id;drop' is not a valid property name.");
    assert_eq!(err("$expand=policy(%24expand%3Drules"), "Invalid $expand: unbalanced parentheses.");
    assert_eq!(err("$expand=policy($bogus=1)"), "Query option '$bogus' is not supported.");
    assert_eq!(err("$expand=policy(bogus=1)"), "Query option 'bogus' is not supported inside $expand.");
    assert_eq!(err("$expand=policy($skiptoken=x)"), "Query option '$skiptoken' is not supported inside $expand.");
    assert_eq!(err("$expand=policy($top=1;top=2)"), "Query option '$top' was specified more than once.");
    assert_eq!(
        err("$expand=a($expand=b($expand=c($expand=d($expand=e))))"),
        "Invalid $expand: nesting is deeper than 4 levels."
    );
    assert_eq!(err("$filter=%FF"), "The query string is not valid UTF-8 after percent-decoding.");
    assert_eq!(err("$filter=a%20eq"), "Invalid $filter: expected a value after 'eq' at position 4");
    assert_eq!(err("$filter="), "Invalid $filter: the expression is empty");
    assert!(err(&format!("x={}", "a".repeat(40_000))).contains("maximum is 32768"));
}

#[test]
fn select_validation() {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(validate_select(&names(&["id", "DisplayName", "initiatedBy", "secret"]), &USER).is_ok());
    assert_eq!(
        validate_select(&names(&["id", "nope"]), &USER).unwrap_err().message,
        "Could not find a property named 'nope' on type 'microsoft.graph.user'."
    );
}

#[test]
fn orderby_compilation() {
    let ob = |prop: &str, descending: bool| OrderBy { prop: prop.into(), descending };
    assert_eq!(compile_orderby(&[], &USER).unwrap(), "ORDER BY id ASC");
    assert_eq!(
        compile_orderby(&[ob("displayName", true), ob("createdDateTime", false)], &USER).unwrap(),
        "ORDER BY LOWER(display_name) DESC NULLS LAST, created_at ASC NULLS FIRST, id ASC"
    );
    assert_eq!(compile_orderby(&[ob("ID", true)], &USER).unwrap(), "ORDER BY id DESC NULLS LAST");
    assert_eq!(
        compile_orderby(&[ob("nope", false)], &USER).unwrap_err().message,
        "Could not find a property named 'nope' on type 'microsoft.graph.user'."
    );
    assert_eq!(
        compile_orderby(&[ob("secret", false)], &USER).unwrap_err().message,
        "Sorting by property 'secret' of type 'microsoft.graph.user' is not supported."
    );
    assert!(compile_orderby(&[ob("scopes", false)], &USER).is_err());
}

#[test]
fn skiptoken_round_trip_and_tampering() {
    for n in [0, 1, 100, 999, u64::from(u32::MAX), u64::MAX] {
        let t = encode_skiptoken(n);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{t}");
        assert_eq!(decode_skiptoken(&t), Ok(n));
    }
    let good = encode_skiptoken(100);
    let mut bytes = good.clone().into_bytes();
    for i in 0..bytes.len() {
        let orig = bytes[i];
        bytes[i] = if orig == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(decode_skiptoken(&tampered).unwrap_err().message, "Invalid $skiptoken", "{tampered}");
        bytes[i] = orig;
    }
    for garbage in ["", "abc", "!!!!!!!!!!!!!!!!!!", &good[1..], &format!("{good}A"), "é"] {
        assert_eq!(decode_skiptoken(garbage).unwrap_err().message, "Invalid $skiptoken");
    }
}
