//! Bad expressions are refused at subscription time with a position and a
//! reason a client can act on; hostile ones cannot exhaust the stack.

use basalt_filter::{FilterError, SqlExpr, MAX_DEPTH, MAX_EXPRESSION_LEN};

fn refused(expr: &str) -> (usize, String) {
    match SqlExpr::parse(expr) {
        Err(FilterError::Syntax { position, message }) => (position, message),
        other => panic!("{expr:?}: expected a syntax error, got {other:?}"),
    }
}

#[test]
fn unbalanced_parentheses() {
    let (pos, msg) = refused("(a = 1 AND (b = 2)");
    assert_eq!(pos, 18);
    assert!(
        msg.contains("')'") && msg.contains("end of expression"),
        "{msg}"
    );
    // Java ignores everything after the first complete expression; we refuse.
    let (pos, msg) = refused("a = 1) OR b = 2");
    assert_eq!(pos, 5);
    assert!(msg.contains("after a complete expression"), "{msg}");
    refused("()");
    refused(")");
}

#[test]
fn unknown_operators() {
    for (expr, pos) in [
        ("a == 1", 3),
        ("a != 1", 2),
        ("a = 1 && b = 2", 6),
        ("a LIKE 'x%'", 2),
        ("a % 2 = 0", 2),
    ] {
        let (got, msg) = refused(expr);
        assert_eq!(got, pos, "{expr}: {msg}");
    }
    let (_, msg) = refused("a != 1");
    assert!(msg.contains("'!'") && msg.contains("<>"), "{msg}");
    let (_, msg) = refused("a NOT LIKE 'x'");
    assert!(msg.contains("after NOT"), "{msg}");
}

#[test]
fn unterminated_string_and_comment() {
    let (pos, msg) = refused("a = 'abc");
    assert_eq!(pos, 4);
    assert!(msg.contains("unterminated string"), "{msg}");
    let (pos, msg) = refused("a = 1 /* never closed");
    assert_eq!(pos, 6);
    assert!(msg.contains("comment"), "{msg}");
}

#[test]
fn ill_typed_expressions_name_the_problem() {
    let (_, msg) = refused("a = NULL");
    assert!(msg.contains("IS NULL"), "{msg}");
    let (_, msg) = refused("a BETWEEN 10 AND 0");
    assert!(msg.contains("lower bound 10"), "{msg}");
    let (_, msg) = refused("a > 'x'");
    assert!(msg.contains("only numbers"), "{msg}");
    let (_, msg) = refused("a > 99999999999999999999");
    assert!(msg.contains("out of range"), "{msg}");
    let (_, msg) = refused("a > 0.0");
    assert!(msg.contains("0.0"), "{msg}");
    let (pos, msg) = refused("a = 1 AND 5");
    assert_eq!(pos, 10);
    assert!(msg.contains("boolean"), "{msg}");
    refused("");
    refused("   ");
    refused("a IN ()");
    refused("a IS NOT 5");
}

#[test]
fn error_text_reads_well() {
    let err = SqlExpr::parse("a = 'x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid SQL92 expression at offset 4: unterminated string literal"
    );
}

#[test]
fn huge_nesting_is_refused_without_overflowing_the_stack() {
    for depth in [10_000, 60_000] {
        for open in ["(", "NOT ", "- ", "+ "] {
            let expr = open.repeat(depth) + "a";
            let expr = &expr[..expr.len().min(MAX_EXPRESSION_LEN)];
            assert!(
                matches!(SqlExpr::parse(expr), Err(FilterError::TooDeep { .. })),
                "{open}"
            );
        }
    }
    let chain = "a = ".repeat(5_000) + "a";
    assert!(matches!(
        SqlExpr::parse(&chain),
        Err(FilterError::TooDeep { .. })
    ));
    let chain = "a".to_owned() + &" CONTAINS 'x'".repeat(2_000);
    assert!(matches!(
        SqlExpr::parse(&chain),
        Err(FilterError::TooDeep { .. })
    ));
}

#[test]
fn reasonable_nesting_is_accepted() {
    let levels = MAX_DEPTH / 2 - 2;
    let expr = "(".repeat(levels) + "a = '1'" + &")".repeat(levels);
    let parsed = SqlExpr::parse(&expr).unwrap();
    assert!(parsed.evaluate(&|_| Some("1")));
}

#[test]
fn overlong_expressions_are_refused() {
    let expr = format!("a IN ({})", vec!["'x'"; MAX_EXPRESSION_LEN / 4].join(","));
    assert!(matches!(
        SqlExpr::parse(&expr),
        Err(FilterError::TooLong { .. })
    ));
}
