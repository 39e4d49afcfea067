/// Java's `String.hashCode()`: `h = 31*h + c` over UTF-16 code units with
/// 32-bit wrapping. Tag codes and IndexFile slots depend on matching it exactly,
/// including for characters outside the BMP (two surrogate units each).
pub fn java_string_hash(s: &str) -> i32 {
    java_string_hash_concat(&[s])
}

/// The Java hash of the concatenation of `parts`, without building it.
pub fn java_string_hash_concat(parts: &[&str]) -> i32 {
    parts.iter().fold(0i32, |h, part| continue_hash(h, part))
}

fn continue_hash(h: i32, s: &str) -> i32 {
    let step = |h: i32, unit: i32| h.wrapping_mul(31).wrapping_add(unit);
    // An ASCII byte is its own UTF-16 unit: the per-char UTF-16 encoder
    // cost several times this loop on every indexed key of every send.
    if s.is_ascii() {
        s.bytes().fold(h, |h, b| step(h, i32::from(b)))
    } else {
        s.encode_utf16().fold(h, |h, unit| step(h, i32::from(unit)))
    }
}

/// The ConsumeQueue tags code: the Java hash of the `TAGS` property,
/// sign-extended; 0 when there is no tag (an empty tag counts as none).
pub fn tags_code(tags: Option<&str>) -> i64 {
    match tags {
        Some(t) if !t.is_empty() => i64::from(java_string_hash(t)),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn hashes_as_java_steps_over_utf16(s in "\\PC{0,40}", t in "[a-zA-Z0-9#_]{0,20}") {
            let naive = |x: &str| {
                x.encode_utf16()
                    .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
            };
            proptest::prop_assert_eq!(java_string_hash(&s), naive(&s));
            proptest::prop_assert_eq!(java_string_hash(&t), naive(&t));
            let joined = format!("{t}{s}");
            proptest::prop_assert_eq!(java_string_hash_concat(&[&t, &s]), naive(&joined));
        }
    }

    #[test]
    fn matches_java_values() {
        // Values computed with java.lang.String#hashCode.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("abcd"), 2_987_074);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // U+1F600 is the surrogate pair D83D DE00.
        assert_eq!(java_string_hash("\u{1F600}"), 0xD83D * 31 + 0xDE00);
        // Mixed parts hash as their concatenation, whichever path each takes.
        assert_eq!(
            java_string_hash_concat(&["T#", "é\u{1F600}x"]),
            java_string_hash("T#é\u{1F600}x")
        );
        assert_eq!(java_string_hash("T#é\u{1F600}x"), -1_795_894_085);
        assert_eq!(tags_code(Some("polygenelubricants")), -2_147_483_648);
        assert_eq!(tags_code(None), 0);
        assert_eq!(tags_code(Some("")), 0);
    }
}
