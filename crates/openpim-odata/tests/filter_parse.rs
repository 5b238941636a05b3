//! Parsing `$filter` text into the AST, and syntax errors.

use openpim_odata::{parse_filter, CompareOp, Expr, Literal, MAX_FILTER_DEPTH, MAX_FILTER_LEN};
use time::macros::datetime;
use uuid::Uuid;

fn p(s: &str) -> Expr {
    parse_filter(s).unwrap_or_else(|e| panic!("{s}: {}", e.message))
}

fn err(s: &str) -> String {
    let e = parse_filter(s).expect_err(s);
    assert_eq!(e.code, "BadRequest");
    e.message
}

fn cmp(prop: &str, op: CompareOp, value: Literal) -> Expr {
    Expr::Compare { prop: prop.into(), op, value }
}

fn s(v: &str) -> Literal {
    Literal::String(v.into())
}

fn and(a: Expr, b: Expr) -> Expr {
    Expr::And(Box::new(a), Box::new(b))
}

fn or(a: Expr, b: Expr) -> Expr {
    Expr::Or(Box::new(a), Box::new(b))
}

#[test]
fn every_comparison_operator() {
    for (kw, op) in [
        ("eq", CompareOp::Eq),
        ("ne", CompareOp::Ne),
        ("gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lt", CompareOp::Lt),
        ("le", CompareOp::Le),
    ] {
        assert_eq!(p(&format!("priority {kw} 5")), cmp("priority", op, Literal::Int(5)));
        assert_eq!(p(&format!("priority {} 5", kw.to_uppercase())), cmp("priority", op, Literal::Int(5)));
    }
}

#[test]
fn literal_on_the_left_flips_the_operator() {
    assert_eq!(p("'x' eq displayName"), cmp("displayName", CompareOp::Eq, s("x")));
    assert_eq!(p("5 lt priority"), cmp("priority", CompareOp::Gt, Literal::Int(5)));
    assert_eq!(p("5 ge priority"), cmp("priority", CompareOp::Le, Literal::Int(5)));
}

#[test]
fn literals() {
    assert_eq!(p("a eq true"), cmp("a", CompareOp::Eq, Literal::Bool(true)));
    assert_eq!(p("a eq False"), cmp("a", CompareOp::Eq, Literal::Bool(false)));
    assert_eq!(p("a eq null"), cmp("a", CompareOp::Eq, Literal::Null));
    assert_eq!(p("a eq -42"), cmp("a", CompareOp::Eq, Literal::Int(-42)));
    assert_eq!(p("a eq +42"), cmp("a", CompareOp::Eq, Literal::Int(42)));
    assert_eq!(p("a eq 2.5"), cmp("a", CompareOp::Eq, Literal::Float(2.5)));
    assert_eq!(p("a eq -1.5e3"), cmp("a", CompareOp::Eq, Literal::Float(-1500.0)));
    assert_eq!(p("a eq ''"), cmp("a", CompareOp::Eq, s("")));
    assert_eq!(p("a eq 'O''Brien'"), cmp("a", CompareOp::Eq, s("O'Brien")));
    assert_eq!(p("a eq ''''"), cmp("a", CompareOp::Eq, s("'")));
    assert_eq!(p("a eq 'Grüße, 世界'"), cmp("a", CompareOp::Eq, s("Grüße, 世界")));
}

#[test]
fn guid_literals_quoted_and_unquoted() {
    let g = Uuid::parse_str("3fbd929d-8c56-4462-851e-0eb9a7b3a2a5").unwrap();
    assert_eq!(
        p("principalId eq 3fbd929d-8c56-4462-851e-0eb9a7b3a2a5"),
        cmp("principalId", CompareOp::Eq, Literal::Guid(g))
    );
    assert_eq!(
        p("principalId eq 3FBD929D-8C56-4462-851E-0EB9A7B3A2A5"),
        cmp("principalId", CompareOp::Eq, Literal::Guid(g))
    );
    // Quoted stays a string; the schema coerces it (see compile tests).
    assert_eq!(
        p("principalId eq '3fbd929d-8c56-4462-851e-0eb9a7b3a2a5'"),
        cmp("principalId", CompareOp::Eq, s("3fbd929d-8c56-4462-851e-0eb9a7b3a2a5"))
    );
}

#[test]
fn datetime_literals() {
    let want = Literal::DateTime(datetime!(2024-01-01 00:00:00 UTC));
    assert_eq!(p("activityDateTime ge 2024-01-01T00:00:00Z"), cmp("activityDateTime", CompareOp::Ge, want));
    let frac = Literal::DateTime(datetime!(2024-03-05 10:20:30.125 +01:00));
    assert_eq!(p("d lt 2024-03-05T10:20:30.125+01:00"), cmp("d", CompareOp::Lt, frac));
    let neg = Literal::DateTime(datetime!(2024-03-05 10:20:00 -05:30));
    assert_eq!(p("d lt 2024-03-05T10:20-05:30"), cmp("d", CompareOp::Lt, neg));
    assert_eq!(p("d lt '2024-01-01T00:00:00Z'"), cmp("d", CompareOp::Lt, s("2024-01-01T00:00:00Z")));
}

#[test]
fn property_paths() {
    assert_eq!(p("initiatedBy/user/id eq 'x'"), cmp("initiatedBy/user/id", CompareOp::Eq, s("x")));
}

#[test]
fn precedence_and_binds_tighter_than_or() {
    let (a, b, c) = (
        cmp("a", CompareOp::Eq, Literal::Int(1)),
        cmp("b", CompareOp::Eq, Literal::Int(2)),
        cmp("c", CompareOp::Eq, Literal::Int(3)),
    );
    assert_eq!(p("a eq 1 or b eq 2 and c eq 3"), or(a.clone(), and(b.clone(), c.clone())));
    assert_eq!(p("a eq 1 and b eq 2 or c eq 3"), or(and(a.clone(), b.clone()), c.clone()));
    assert_eq!(p("(a eq 1 or b eq 2) and c eq 3"), and(or(a.clone(), b.clone()), c.clone()));
    // Left associative.
    assert_eq!(p("a eq 1 and b eq 2 and c eq 3"), and(and(a.clone(), b.clone()), c.clone()));
    assert_eq!(p("((a eq 1))"), a);
}

#[test]
fn not_binds_tightest() {
    let a = cmp("a", CompareOp::Eq, Literal::Int(1));
    let b = cmp("b", CompareOp::Eq, Literal::Int(2));
    let not_a = Expr::Not(Box::new(a.clone()));
    assert_eq!(p("not a eq 1"), not_a);
    assert_eq!(p("not (a eq 1)"), not_a);
    assert_eq!(p("not(a eq 1)"), not_a);
    assert_eq!(p("not a eq 1 and b eq 2"), and(not_a.clone(), b.clone()));
    assert_eq!(p("not (a eq 1 and b eq 2)"), Expr::Not(Box::new(and(a.clone(), b))));
    assert_eq!(p("not not a eq 1"), Expr::Not(Box::new(not_a)));
}

#[test]
fn string_functions() {
    assert_eq!(
        p("startswith(displayName,'Glo')"),
        Expr::StartsWith { prop: "displayName".into(), prefix: "Glo".into() }
    );
    assert_eq!(
        p("endswith( mail , '@contoso.com' )"),
        Expr::EndsWith { prop: "mail".into(), suffix: "@contoso.com".into() }
    );
    assert_eq!(p("contains(a/b,'it''s')"), Expr::Contains { prop: "a/b".into(), substring: "it's".into() });
    assert_eq!(p("StartsWith(x,'a')"), Expr::StartsWith { prop: "x".into(), prefix: "a".into() });
    let sw = Expr::StartsWith { prop: "x".into(), prefix: "a".into() };
    assert_eq!(p("startswith(x,'a') eq true"), sw);
    assert_eq!(p("startswith(x,'a') eq false"), Expr::Not(Box::new(sw.clone())));
    assert_eq!(p("startswith(x,'a') ne true"), Expr::Not(Box::new(sw)));
}

#[test]
fn lambda_any() {
    let inner = or(cmp("s", CompareOp::Eq, s("a")), Expr::StartsWith { prop: "s".into(), prefix: "b".into() });
    assert_eq!(
        p("scopes/any(s: s eq 'a' or startswith(s,'b'))"),
        Expr::Any { prop: "scopes".into(), var: "s".into(), inner: Box::new(inner) }
    );
    assert_eq!(
        p("x/y/any(v:v eq 1) and a eq 2"),
        and(
            Expr::Any {
                prop: "x/y".into(),
                var: "v".into(),
                inner: Box::new(cmp("v", CompareOp::Eq, Literal::Int(1)))
            },
            cmp("a", CompareOp::Eq, Literal::Int(2))
        )
    );
}

#[test]
fn in_operator() {
    assert_eq!(p("status in ('a','b')"), Expr::In { prop: "status".into(), values: vec![s("a"), s("b")] });
    assert_eq!(
        p("n in (1, 2 ,3)"),
        Expr::In { prop: "n".into(), values: vec![Literal::Int(1), Literal::Int(2), Literal::Int(3)] }
    );
}

#[test]
fn syntax_errors_say_what_and_where() {
    assert_eq!(err("displayName eq"), "Invalid $filter: expected a value after 'eq' at position 14");
    assert_eq!(err(""), "Invalid $filter: the expression is empty");
    assert_eq!(err("   "), "Invalid $filter: the expression is empty");
    assert_eq!(
        err("a eq 1 b eq 2"),
        "Invalid $filter: expected 'and', 'or' or the end of the expression but found 'b' at position 7"
    );
    assert_eq!(
        err("displayName foo 'x'"),
        "Invalid $filter: expected a comparison operator (eq, ne, gt, ge, lt, le, in) after 'displayName' but found 'foo' at position 12"
    );
    assert_eq!(err("(a eq 1"), "Invalid $filter: expected ')' but found end of input at position 7");
    assert_eq!(
        err("a eq 1)"),
        "Invalid $filter: expected 'and', 'or' or the end of the expression but found ')' at position 6"
    );
    assert_eq!(err("a eq 'x"), "Invalid $filter: unterminated string literal at position 5");
    assert_eq!(
        err("a eq b"),
        "Invalid $filter: expected a value after 'eq' but found property 'b' (comparing two properties is not supported) at position 5"
    );
    assert_eq!(err("'a' eq 'b'"), "Invalid $filter: expected a property on one side of 'eq' at position 7");
    assert_eq!(err("a in ()"), "Invalid $filter: the 'in' operator needs at least one value at position 6");
    assert_eq!(
        err("a in ('x' 'y')"),
        "Invalid $filter: expected ',' or ')' in the 'in' list but found ''y'' at position 10"
    );
    assert_eq!(err("tolower(a) eq 'x'"), "Invalid $filter: 'tolower' is not a supported function at position 0");
    assert_eq!(
        err("startswith('a',b)"),
        "Invalid $filter: the first argument of startswith must be a property at position 11"
    );
    assert_eq!(
        err("startswith(a,1)"),
        "Invalid $filter: the second argument of startswith must be a string literal but found '1' at position 13"
    );
    assert_eq!(err("x/any()"), "Invalid $filter: any() without a lambda expression is not supported at position 6");
    assert_eq!(err("x/all(y:y eq 1)"), "Invalid $filter: the 'all' lambda operator is not supported at position 2");
    assert_eq!(err("x/any(y y eq 1)"), "Invalid $filter: expected ':' but found 'y' at position 8");
    assert_eq!(
        err("a eq 1 and"),
        "Invalid $filter: expected an expression but reached the end of the input at position 10"
    );
    assert_eq!(err("a eq 1 and and"), "Invalid $filter: expected a property or a value but found 'and' at position 11");
    assert_eq!(err("a eq #"), "Invalid $filter: unexpected character '#' at position 5");
    assert_eq!(err("a eq 2024-01-01"), "Invalid $filter: date literal '2024-01-01' is not supported; use a DateTimeOffset such as 2024-01-01T00:00:00Z at position 5");
    assert_eq!(
        err("a eq 2024-02-30T00:00:00Z"),
        "Invalid $filter: invalid DateTimeOffset literal '2024-02-30T00:00:00Z' at position 5"
    );
    assert_eq!(
        err("a eq 9223372036854775808"),
        "Invalid $filter: number '9223372036854775808' is out of range at position 5"
    );
    assert_eq!(err("a/ eq 1"), "Invalid $filter: expected a property name after '/' but found 'eq' at position 3");
}

#[test]
fn length_limit() {
    let long = format!("a eq '{}'", "x".repeat(MAX_FILTER_LEN));
    assert_eq!(
        err(&long),
        format!("Invalid $filter: the expression is {} bytes long; the maximum is 4096", long.len())
    );
    let just_fits = format!("a eq '{}'", "x".repeat(MAX_FILTER_LEN - 7));
    assert_eq!(just_fits.len(), MAX_FILTER_LEN);
    assert!(parse_filter(&just_fits).is_ok());
}

#[test]
fn depth_limit() {
    let nested = |n: usize| format!("{}a eq 1{}", "(".repeat(n), ")".repeat(n));
    assert!(parse_filter(&nested(MAX_FILTER_DEPTH)).is_ok());
    assert_eq!(
        err(&nested(MAX_FILTER_DEPTH + 1)),
        "Invalid $filter: the expression is nested more than 32 levels deep at position 32"
    );
    assert!(err(&"not ".repeat(MAX_FILTER_DEPTH + 1)).contains("nested more than 32 levels"));
    // Thousands of parentheses: rejected quickly, no stack overflow.
    assert!(err(&"(".repeat(MAX_FILTER_LEN)).contains("nested more than 32 levels"));
    assert!(err(&"not (".repeat(800)).contains("nested more than 32 levels"));
    // Flat chains are not nesting; they are bounded by MAX_FILTER_NODES.
    assert!(parse_filter(&vec!["a eq 1"; 50].join(" and ")).is_ok());
    assert!(err(&vec!["a eq''"; 400].join("or ")).contains("more than 100 operators"));
}

#[test]
fn display_is_canonical() {
    let src = "not (A eq 1) AND (b eq 'it''s' OR c in (1,2)) and startswith(d,'x') or s/any(v:v ne null)";
    assert_eq!(
        p(src).to_string(),
        "not (A eq 1) and (b eq 'it''s' or c in (1,2)) and startswith(d,'x') or s/any(v:v ne null)"
    );
    let right_nested = and(
        cmp("a", CompareOp::Eq, Literal::Int(1)),
        and(cmp("b", CompareOp::Eq, Literal::Int(2)), cmp("c", CompareOp::Eq, Literal::Int(3))),
    );
    assert_eq!(right_nested.to_string(), "a eq 1 and (b eq 2 and c eq 3)");
    assert_eq!(p(&right_nested.to_string()), right_nested);
    assert_eq!(p("d eq 2024-01-01T00:00:00.5+01:00").to_string(), "d eq 2024-01-01T00:00:00.5+01:00");
    assert_eq!(p("d eq 1.0").to_string(), "d eq 1.0");
}
