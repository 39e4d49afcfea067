//! Table-driven checks: every expected outcome came from RocketMQ's Java filter.

use basalt_filter::{Filter, SqlExpr};
use std::collections::HashMap;

fn unescape(s: &str) -> String {
    s.replace("\\n", "\n").replace("\\t", "\t")
}

fn run_table(table: &str) {
    let mut failures = Vec::new();
    let mut count = 0;
    for line in table.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cols = line.splitn(3, '\t');
        let (expected, expr, props) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap_or(""),
        );
        let expr = unescape(expr);
        let map: HashMap<String, String> = props
            .split('|')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let got = match SqlExpr::parse(&expr) {
            Err(_) => "ERR",
            Ok(e) if e.evaluate(&|k| map.get(k).map(String::as_str)) => "MATCH",
            Ok(_) => "NO",
        };
        count += 1;
        if got != expected {
            failures.push(format!(
                "{expr:?} with {props:?}: expected {expected}, got {got}"
            ));
        }
    }
    assert!(count > 0);
    assert!(
        failures.is_empty(),
        "{} of {count} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn curated_cases_match_java() {
    run_table(include_str!("sql_cases.txt"));
}

#[test]
fn random_cases_match_java_oracle() {
    run_table(include_str!("java_oracle.txt"));
}

#[test]
fn filter_parse_dispatches_on_type() {
    assert!(matches!(Filter::parse("TAG", "a || b"), Ok(Filter::Tag(_))));
    assert!(matches!(Filter::parse("tag", "*"), Ok(Filter::Tag(_))));
    assert!(matches!(Filter::parse("", "*"), Ok(Filter::Tag(_))));
    assert!(matches!(
        Filter::parse("SQL92", "a = 1"),
        Ok(Filter::Sql(_))
    ));
    assert!(matches!(
        Filter::parse("sql92", "a = 1"),
        Ok(Filter::Sql(_))
    ));
    let err = Filter::parse("CLASS", "x").unwrap_err();
    assert!(err.to_string().contains("CLASS"), "{err}");
    assert!(Filter::parse("SQL92", "a >").is_err());
}

#[test]
fn evaluate_with_a_closure_over_borrowed_values() {
    let expr = SqlExpr::parse("region = 'eu' AND price BETWEEN 10 AND 20").unwrap();
    let props = [("region", "eu"), ("price", "15")];
    assert!(expr.evaluate(&|k| props.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)));
    assert!(!expr.evaluate(&|_| None));
    assert_eq!(expr.source(), "region = 'eu' AND price BETWEEN 10 AND 20");
}

#[test]
fn long_and_chains_stay_flat() {
    // Java builds a left-deep tree here; a flat chain must not count as depth.
    let expr = vec!["a = '1'"; 5_000].join(" AND ");
    let parsed = SqlExpr::parse(&expr).unwrap();
    assert!(parsed.evaluate(&|k| (k == "a").then_some("1")));
    let expr = vec!["a = '2'"; 5_000].join(" OR ") + " OR a = '1'";
    assert!(SqlExpr::parse(&expr)
        .unwrap()
        .evaluate(&|k| (k == "a").then_some("1")));
}
