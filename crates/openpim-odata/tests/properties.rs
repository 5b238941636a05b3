//! Property tests: no input makes the parsers panic, and printing an AST and
//! parsing it back is the identity.

mod common;

use common::USER;
use openpim_odata::{compile_filter, evaluate, parse_filter, parse_query, CompareOp, Expr, Literal, Value};
use proptest::prelude::*;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        any::<i64>().prop_map(Literal::Int),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Literal::Float),
        ".{0,12}".prop_map(Literal::String),
        any::<u128>().prop_map(|n| Literal::Guid(Uuid::from_u128(n))),
        (-62_135_596_800i64..253_402_300_799, 0u32..1_000_000_000, -1439i32..=1439).prop_filter_map(
            "valid datetime",
            |(secs, nanos, offset_min)| {
                let offset = UtcOffset::from_whole_seconds(offset_min * 60).ok()?;
                let dt =
                    OffsetDateTime::from_unix_timestamp(secs).ok()?.replace_nanosecond(nanos).ok()?.to_offset(offset);
                // RFC 3339 can only print years 0..=9999 in the local offset.
                (0..=9999).contains(&dt.year()).then_some(Literal::DateTime(dt))
            }
        ),
    ]
}

fn prop_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["displayName", "id", "isBuiltIn", "priority", "initiatedBy/user/id", "a_b2", "Ünïcode"])
        .prop_map(str::to_string)
}

fn op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Ge, CompareOp::Lt, CompareOp::Le])
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (prop_name(), op(), literal()).prop_map(|(prop, op, value)| Expr::Compare { prop, op, value }),
        (prop_name(), prop::collection::vec(literal(), 1..4)).prop_map(|(prop, values)| Expr::In { prop, values }),
        (prop_name(), ".{0,8}").prop_map(|(prop, prefix)| Expr::StartsWith { prop, prefix }),
        (prop_name(), ".{0,8}").prop_map(|(prop, suffix)| Expr::EndsWith { prop, suffix }),
        (prop_name(), ".{0,8}").prop_map(|(prop, substring)| Expr::Contains { prop, substring }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(5, 48, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            (prop_name(), inner).prop_map(|(prop, e)| Expr::Any { prop, var: "x".into(), inner: Box::new(e) }),
        ]
    })
}

/// Text that is mostly filter-shaped, to get past the lexer more often than
/// uniformly random strings do.
fn filterish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "a",
        "eq",
        "ne",
        "gt",
        " ",
        "and",
        "or",
        "not",
        "(",
        ")",
        "'",
        "''",
        ",",
        ":",
        "/",
        "any",
        "in",
        "1",
        "-",
        "2024-01-01T00:00:00Z",
        "3fbd929d-8c56-4462-851e-0eb9a7b3a2a5",
        "startswith",
        "null",
        "true",
        "1.5e",
        "é",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_filter_never_panics(s in any::<String>()) {
        let _ = parse_filter(&s);
    }

    #[test]
    fn parse_filter_never_panics_on_filter_like_text(s in filterish()) {
        if let Ok(e) = parse_filter(&s) {
            // Whatever parses also survives checking, compiling and evaluating.
            let _ = compile_filter(&e, &USER, 1);
            let _ = evaluate(&e, &USER, &|_| Value::Null);
        }
    }

    #[test]
    fn display_then_parse_is_identity(e in expr()) {
        let text = e.to_string();
        prop_assert_eq!(parse_filter(&text), Ok(e), "text: {}", text);
    }

    #[test]
    fn parse_query_never_panics(s in any::<String>()) {
        let _ = parse_query(&s);
    }

    #[test]
    fn parse_query_never_panics_on_query_like_text(
        parts in prop::collection::vec(
            (prop::sample::select(vec!["$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$count", "$search", "x", "$"]),
             "[a-z0-9%()$=;,' ]{0,20}"),
            0..6)
    ) {
        let raw: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = parse_query(&raw.join("&"));
    }
}
