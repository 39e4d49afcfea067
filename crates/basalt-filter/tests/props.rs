//! Property tests: client-controlled input never panics.

use basalt_filter::{Filter, SqlExpr, TagFilter};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "a",
    "b",
    "(",
    ")",
    "NOT",
    "AND",
    "OR",
    "IS",
    "NULL",
    "IN",
    "BETWEEN",
    "CONTAINS",
    "STARTSWITH",
    "ENDSWITH",
    "TRUE",
    "FALSE",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    ",",
    "'x'",
    "'5'",
    "''",
    "5",
    "0",
    "2147483648",
    "1.5",
    ".5",
    "1e400",
    "5L",
    "--",
    "/*",
    "*/",
    "\n",
    "'",
    "9999999999999999999",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..40).prop_map(|w| w.join(" "))
}

fn value() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        Just("5".to_owned()),
        Just("x".to_owned()),
        Just("NaN".to_owned()),
        Just("true".to_owned()),
        Just("2147483648".to_owned()),
        "\\PC{0,6}",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,80}") {
        let _ = SqlExpr::parse(&s);
        let _ = Filter::parse("SQL92", &s);
        let t = TagFilter::parse(&s);
        let _ = t.matches_code(0);
        let _ = t.matches_tag(Some(&s));
    }

    #[test]
    fn parse_then_evaluate_never_panics(s in token_soup(), a in value(), b in value()) {
        if let Ok(expr) = SqlExpr::parse(&s) {
            let _ = expr.evaluate(&|k| match k {
                "a" => a.as_deref(),
                "b" => b.as_deref(),
                _ => None,
            });
        }
    }

    #[test]
    fn negation_never_makes_both_true(s in token_soup(), a in value()) {
        // NOT flips TRUE and FALSE; NULL and errors stay non-matching. So an
        // expression and its negation can never both match.
        if let (Ok(e), Ok(n)) = (SqlExpr::parse(&s), SqlExpr::parse(&format!("NOT ({s})"))) {
            let props = |k: &str| if k == "a" { a.as_deref() } else { None };
            prop_assert!(!(e.evaluate(&props) && n.evaluate(&props)));
        }
    }
}
