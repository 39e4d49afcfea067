use basalt_filter::{java_string_hash, Filter, TagFilter};

#[test]
fn java_hash_codes() {
    // Values of String.hashCode() in Java.
    assert_eq!(java_string_hash(""), 0);
    assert_eq!(java_string_hash("TagA"), 2_598_919);
    assert_eq!(java_string_hash("*"), 42);
    assert_eq!(java_string_hash("hello world, this overflows"), 161_437_415);
    // Outside the BMP: two UTF-16 units.
    assert_eq!(java_string_hash("😀"), 1_772_899);
    assert_eq!(java_string_hash("é"), 233);
}

#[test]
fn star_and_empty_subscribe_to_everything() {
    for expr in ["*", ""] {
        let f = TagFilter::parse(expr);
        assert!(f.is_all());
        assert!(f.matches_code(12_345));
        assert!(f.matches_tag(None));
        assert!(f.matches_tag(Some("anything")));
    }
}

#[test]
fn tags_are_split_trimmed_and_hashed() {
    let f = TagFilter::parse(" TagA ||TagB||| TagC ||  || ");
    assert!(!f.is_all());
    let tags: Vec<&str> = f.tags().iter().map(String::as_str).collect();
    assert_eq!(tags, ["TagA", "TagB", "| TagC"]);
    assert!(f.matches_code(i64::from(java_string_hash("TagA"))));
    assert!(f.matches_code(i64::from(java_string_hash("| TagC"))));
    assert!(!f.matches_code(i64::from(java_string_hash("TagC"))));
    assert!(f.matches_tag(Some("TagB")));
    assert!(!f.matches_tag(Some("tagb")));
    assert!(!f.matches_tag(None));
}

#[test]
fn codes_compare_on_their_low_32_bits() {
    let f = TagFilter::parse("TagA");
    let code = i64::from(java_string_hash("TagA"));
    assert!(f.matches_code(code + (1 << 32)));
    assert!(!f.matches_code(code + 1));
}

#[test]
fn only_an_exact_star_is_the_wildcard() {
    let f = TagFilter::parse(" * ");
    assert!(!f.is_all());
    assert!(f.matches_code(42));
    assert!(!f.matches_code(7));
    // Blank: no tag at all. The broker's code check passes nothing, while
    // the client-side tag check (empty set) passes everything, as in Java.
    let f = TagFilter::parse("   ");
    assert!(!f.matches_code(0));
    assert!(f.matches_tag(Some("x")));
}

#[test]
fn filter_tag_variant() {
    let Ok(Filter::Tag(f)) = Filter::parse("TAG", "a||b") else {
        panic!()
    };
    assert_eq!(f.codes().len(), 2);
}
