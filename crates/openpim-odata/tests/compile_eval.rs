//! Checking a filter against a schema, compiling it to SQL, and evaluating it
//! in memory: the same validation and the same answers.

mod common;

use common::USER;
use openpim_odata::{
    compile_filter, evaluate, parse_filter, EntitySchema, Expr, PreparedFilter, PropType, Property, SqlFragment,
    SqlParam, Value,
};
use time::macros::datetime;

fn sql(filter: &str) -> SqlFragment {
    sql_from(filter, 3)
}

fn sql_from(filter: &str, first: usize) -> SqlFragment {
    let e = parse_filter(filter).unwrap();
    compile_filter(&e, &USER, first).unwrap_or_else(|e| panic!("{filter}: {}", e.message))
}

/// The error, which must be the same from the compiler and the evaluator.
fn reject(filter: &str) -> String {
    let e = parse_filter(filter).unwrap();
    let c = compile_filter(&e, &USER, 1).expect_err(filter);
    let v = evaluate(&e, &USER, &|_| Value::Null).expect_err(filter);
    assert_eq!(c, v, "compile and evaluate disagree on {filter}");
    assert_eq!(c.code, "BadRequest");
    c.message
}

fn text(s: &str) -> SqlParam {
    SqlParam::Text(s.into())
}

#[test]
fn sql_shapes_and_numbering() {
    let f = sql("displayName eq 'Global Reader'");
    assert_eq!(f.sql, "LOWER(display_name) = LOWER($3)");
    assert_eq!(f.params, vec![text("Global Reader")]);

    let f = sql("priority gt 1 or isBuiltIn eq true and not (userPrincipalName ne 'A')");
    assert_eq!(f.sql, "(priority > $3 OR (is_built_in = $4 AND NOT (upn <> $5)))");
    assert_eq!(f.params, vec![SqlParam::Int(1), SqlParam::Int(1), text("A")]);

    let f = sql_from("priority ge 1 and priority le 2 and priority lt 3", 1);
    assert_eq!(f.sql, "((priority >= $1 AND priority <= $2) AND priority < $3)");

    let f = sql("id in (3FBD929D-8C56-4462-851E-0EB9A7B3A2A5, '00000000-0000-0000-0000-00000000000A')");
    assert_eq!(f.sql, "id IN ($3, $4)");
    assert_eq!(
        f.params,
        vec![text("3fbd929d-8c56-4462-851e-0eb9a7b3a2a5"), text("00000000-0000-0000-0000-00000000000a")]
    );

    let f = sql("displayName in ('a','B')");
    assert_eq!(f.sql, "LOWER(display_name) IN (LOWER($3), LOWER($4))");

    let f = sql("displayName eq null or createdDateTime ne null");
    assert_eq!(f.sql, "(display_name IS NULL OR created_at IS NOT NULL)");
    assert!(f.params.is_empty());
}

#[test]
fn sql_binds_storage_representations() {
    let f = sql("createdDateTime ge 2024-01-01T01:00:00.000001+01:00");
    assert_eq!(f.sql, "created_at >= $3");
    assert_eq!(f.params, vec![SqlParam::Int(1_704_067_200_000_001)]);
    // Quoted DateTime and GUID strings are coerced by the property type.
    assert_eq!(sql("createdDateTime lt '1970-01-01T00:00:00Z'").params, vec![SqlParam::Int(0)]);
    assert_eq!(
        sql("initiatedBy/user/id eq '3FBD929D-8C56-4462-851E-0EB9A7B3A2A5'").params,
        vec![text("3fbd929d-8c56-4462-851e-0eb9a7b3a2a5")]
    );
    assert_eq!(sql("isBuiltIn ne false").params, vec![SqlParam::Int(0)]);
    // Enum values match case-insensitively and bind in canonical casing.
    let f = sql("status eq 'pendingapproval'");
    assert_eq!((f.sql.as_str(), f.params), ("status = $3", vec![text("PendingApproval")]));
    // Wire names match case-insensitively.
    assert_eq!(sql("DISPLAYNAME eq 'x'").sql, "LOWER(display_name) = LOWER($3)");
}

#[test]
fn sql_string_functions_escape_like() {
    let f = sql("startswith(displayName,'50%_off\\')");
    assert_eq!(f.sql, "LOWER(display_name) LIKE LOWER($3) ESCAPE '\\'");
    assert_eq!(f.params, vec![text("50\\%\\_off\\\\%")]);
    let f = sql("endswith(userPrincipalName,'@x.com') and contains(userPrincipalName,'o''b')");
    assert_eq!(f.sql, "(upn LIKE $3 ESCAPE '\\' AND upn LIKE $4 ESCAPE '\\')");
    assert_eq!(f.params, vec![text("%@x.com"), text("%o'b%")]);
}

#[test]
fn sql_lambda_over_string_collection() {
    let f = sql("scopes/any(s: s eq '/' or startswith(s, '/admin'))");
    assert_eq!(
        f.sql,
        "EXISTS (SELECT 1 FROM (SELECT scope AS value FROM user_scopes s WHERE s.user_id = users.id) AS odata_any \
         WHERE (LOWER(odata_any.value) = LOWER($3) OR LOWER(odata_any.value) LIKE LOWER($4) ESCAPE '\\'))"
    );
    assert_eq!(f.params, vec![text("/"), text("/admin%")]);
}

#[test]
fn literals_never_reach_sql_text() {
    let f = sql("displayName eq 'x''); DROP TABLE users; --'");
    assert_eq!(f.sql, "LOWER(display_name) = LOWER($3)");
    assert_eq!(f.params, vec![text("x'); DROP TABLE users; --")]);
}

#[test]
fn semantic_errors() {
    assert_eq!(reject("foo eq 1"), "Could not find a property named 'foo' on type 'microsoft.graph.user'.");
    assert_eq!(reject("isBuiltIn eq 'yes'"), "Property 'isBuiltIn' expects a Boolean value, but got 'yes'.");
    assert_eq!(
        reject("isBuiltIn gt true"),
        "The 'gt' operator is not supported for property 'isBuiltIn' of type Boolean."
    );
    assert_eq!(reject("id eq 'abc'"), "Property 'id' expects a Guid value, but 'abc' is not a valid Guid.");
    assert_eq!(
        reject("id lt 3fbd929d-8c56-4462-851e-0eb9a7b3a2a5"),
        "The 'lt' operator is not supported for property 'id' of type Guid."
    );
    assert_eq!(reject("priority eq '1'"), "Property 'priority' expects an Int64 value, but got '1'.");
    assert_eq!(reject("priority eq 1.5"), "Property 'priority' expects an Int64 value, but got 1.5.");
    assert_eq!(
        reject("createdDateTime gt 'yesterday'"),
        "Property 'createdDateTime' expects a DateTimeOffset value, but got 'yesterday'."
    );
    assert_eq!(reject("displayName eq 5"), "Property 'displayName' expects a String value, but got 5.");
    assert_eq!(reject("status eq 'Bogus'"), "'Bogus' is not a valid value for property 'status'.");
    assert_eq!(
        reject("status gt 'Revoked'"),
        "The 'gt' operator is not supported for property 'status' of type enumeration."
    );
    assert_eq!(
        reject("secret eq 'x'"),
        "Filtering on property 'secret' of type 'microsoft.graph.user' is not supported."
    );
    assert_eq!(
        reject("priority gt null"),
        "The 'gt' operator cannot be used with null on property 'priority'; use 'eq null' or 'ne null'."
    );
    assert_eq!(
        reject("priority in (1, null)"),
        "null is not allowed in an 'in' list for property 'priority'; use 'eq null'."
    );
    assert_eq!(
        reject("startswith(id,'3f')"),
        "The function 'startswith' requires a String property, but 'id' is of type Guid."
    );
    assert_eq!(reject("displayName/any(d: d eq 'x')"), "Lambda operators are not supported on property 'displayName'.");
    assert_eq!(reject("scopes eq 'x'"), "Property 'scopes' is a collection; use 'scopes/any(x: x eq ...)'.");
    assert_eq!(
        reject("scopes/any(s: displayName eq 'x')"),
        "Inside any(), only the lambda variable 's' can be referenced, not 'displayName'."
    );
    assert_eq!(reject("scopes/any(s: s/any(t: t eq 'x'))"), "Lambda operators are not supported on property 's'.");
    // Errors deep inside boolean structure are still found.
    assert_eq!(
        reject("priority eq 1 or not (nope eq 2)"),
        "Could not find a property named 'nope' on type 'microsoft.graph.user'."
    );
}

#[test]
fn empty_in_list_from_a_constructed_ast_is_rejected() {
    let e = Expr::In { prop: "priority".into(), values: vec![] };
    let err = compile_filter(&e, &USER, 1).unwrap_err();
    assert_eq!(err.message, "The 'in' operator on property 'priority' requires at least one value.");
}

#[test]
fn first_param_zero_is_a_caller_bug() {
    let e = parse_filter("priority eq 1").unwrap();
    assert_eq!(compile_filter(&e, &USER, 0).unwrap_err().code, "InternalServerError");
}

/// A sample row; unnamed properties are null.
fn row(name: &str) -> Value {
    match name {
        "id" => Value::String("3FBD929D-8C56-4462-851E-0EB9A7B3A2A5".into()),
        "displayName" => Value::String("Global Reader".into()),
        "userPrincipalName" => Value::String("Admin@Contoso.com".into()),
        "isBuiltIn" => Value::Bool(true),
        "priority" => Value::Int(5),
        "createdDateTime" => Value::DateTime(datetime!(2024-06-01 12:00:00.000000900 UTC)),
        "status" => Value::String("Provisioned".into()),
        "scopes" => Value::StringList(vec!["/".into(), "/Admin/Units".into()]),
        _ => Value::Null,
    }
}

fn eval(filter: &str) -> bool {
    let e = parse_filter(filter).unwrap();
    evaluate(&e, &USER, &row).unwrap_or_else(|e| panic!("{filter}: {}", e.message))
}

#[test]
fn evaluate_matches_sql_semantics() {
    let truths = [
        "displayName eq 'global reader'",
        "displayName ne 'x'",
        "displayName gt 'GLOBAL'",
        "userPrincipalName eq 'Admin@Contoso.com'",
        "startswith(displayName,'GLOBAL')",
        "endswith(userPrincipalName,'@Contoso.com')",
        "contains(displayName,'l r')",
        "id eq 3fbd929d-8c56-4462-851e-0eb9a7b3a2a5",
        "id eq '3fbd929d-8c56-4462-851e-0eb9a7b3a2a5'",
        "isBuiltIn eq true",
        "priority ge 5 and priority le 5 and priority in (1, 5)",
        "createdDateTime ge 2024-06-01T12:00:00Z and createdDateTime lt 2024-06-01T12:00:00.000001Z",
        "createdDateTime gt 2024-06-01T13:00:00+02:00",
        "status eq 'PROVISIONED'",
        "initiatedBy/user/id eq null",
        "displayName ne null",
        "scopes/any(s: s eq '/admin/units')",
        "scopes/any(s: startswith(s, '/ADMIN'))",
        "not (priority eq 4)",
        "priority eq 4 or priority eq 5",
    ];
    for f in truths {
        assert!(eval(f), "{f} should match");
    }
    let falsehoods = [
        "userPrincipalName eq 'admin@contoso.com'",
        "endswith(userPrincipalName,'@contoso.com')",
        "contains(displayName,'%')",
        "isBuiltIn ne true",
        "priority lt 5",
        "status eq 'Revoked'",
        "scopes/any(s: s eq 'x')",
        "not (displayName ne null)",
        "priority eq 4 and priority eq 5",
    ];
    for f in falsehoods {
        assert!(!eval(f), "{f} should not match");
    }
}

#[test]
fn comparisons_with_null_are_unknown_even_under_not() {
    // initiatedBy/user/id is null in the sample row. As in SQL, a comparison
    // with NULL is unknown, and NOT unknown is still unknown: no match either way.
    assert!(!eval("initiatedBy/user/id eq 3fbd929d-8c56-4462-851e-0eb9a7b3a2a5"));
    assert!(!eval("not (initiatedBy/user/id eq 3fbd929d-8c56-4462-851e-0eb9a7b3a2a5)"));
    assert!(!eval("initiatedBy/user/id ne 3fbd929d-8c56-4462-851e-0eb9a7b3a2a5"));
    // Unknown OR true is true; unknown AND false is false, so NOT of it is true.
    assert!(eval("initiatedBy/user/id eq 3fbd929d-8c56-4462-851e-0eb9a7b3a2a5 or priority eq 5"));
    assert!(eval("not (initiatedBy/user/id eq 3fbd929d-8c56-4462-851e-0eb9a7b3a2a5 and priority eq 4)"));
    // any() over a null collection is false, so its negation matches.
    let none = |_: &str| Value::Null;
    let e = parse_filter("not scopes/any(s: s eq 'x')").unwrap();
    assert!(evaluate(&e, &USER, &none).unwrap());
}

#[test]
fn prepared_filter_checks_once() {
    let e = parse_filter("priority gt 2").unwrap();
    let f = PreparedFilter::new(&e, &USER).unwrap();
    assert_eq!(f.to_sql(7).unwrap().sql, "priority > $7");
    let rows = [1, 2, 3, 4];
    let hits: Vec<i64> = rows.iter().copied().filter(|&n| f.matches(&|_| Value::Int(n)).unwrap()).collect();
    assert_eq!(hits, vec![3, 4]);
}

#[test]
fn mistyped_row_values_are_internal_errors() {
    let e = parse_filter("priority eq 1").unwrap();
    let err = evaluate(&e, &USER, &|_| Value::String("1".into())).unwrap_err();
    assert_eq!(err.code, "InternalServerError");
}

#[test]
fn case_sensitive_collection_elements() {
    static ROLE: EntitySchema = EntitySchema {
        type_name: "microsoft.graph.role",
        key_column: "id",
        properties: &[Property::new("tags", "SELECT tag AS value FROM tags", PropType::StringCollection)],
    };
    let e = parse_filter("tags/any(t: t eq 'A')").unwrap();
    assert_eq!(
        compile_filter(&e, &ROLE, 1).unwrap().sql,
        "EXISTS (SELECT 1 FROM (SELECT tag AS value FROM tags) AS odata_any WHERE odata_any.value = $1)"
    );
    assert!(!evaluate(&e, &ROLE, &|_| Value::StringList(vec!["a".into()])).unwrap());
    assert!(evaluate(&e, &ROLE, &|_| Value::StringList(vec!["a".into(), "A".into()])).unwrap());
}

#[test]
fn largest_filter_fits_a_small_stack() {
    // MAX_FILTER_NODES bounds the tree every pass recurses over: 50
    // comparisons joined by 49 `or`s is the deepest flat chain accepted.
    // Check, compile, evaluate, print and drop it on a small stack (a quarter
    // of a default thread stack; debug builds need about half of that).
    let chain = |n: usize| vec!["priority eq 1"; n].join(" or ");
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let e = parse_filter(&chain(50)).unwrap();
            let f = compile_filter(&e, &USER, 1).unwrap();
            assert_eq!(f.params.len(), 50);
            assert!(evaluate(&e, &USER, &|_| Value::Int(2)).is_ok());
            assert_eq!(parse_filter(&e.to_string()).unwrap(), e);
        })
        .unwrap();
    handle.join().unwrap();
    let err = parse_filter(&chain(51)).unwrap_err();
    assert_eq!(
        err.message,
        format!(
            "Invalid $filter: the expression has more than 100 operators and comparisons at position {}",
            chain(50).len() + " or ".len()
        )
    );
}
