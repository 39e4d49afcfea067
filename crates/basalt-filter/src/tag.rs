//! Tag subscriptions (`TagA || TagB`), as Java's `FilterAPI.buildSubscriptionData`
//! builds them.

use std::collections::BTreeSet;

/// Java's `String.hashCode()`: over UTF-16 code units, wrapping.
///
/// The ConsumeQueue stores this as a message's tags code, so a tag filter can
/// reject most messages without reading the CommitLog.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// A parsed tag expression.
///
/// `*` and the empty string subscribe to everything. Anything else is split on
/// `||`; each part is trimmed the way Java's `String.trim` does (every char up
/// to U+0020) and empty parts are dropped. Note that, as in Java, the `*`
/// shortcut only applies to exactly `*`: `" * "` subscribes to the literal tag
/// `*`, and an all-blank expression subscribes to no tag at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    all: bool,
    tags: BTreeSet<String>,
    codes: BTreeSet<i32>,
}

impl TagFilter {
    /// Parses a tag expression; every string is a valid tag expression.
    pub fn parse(expr: &str) -> TagFilter {
        if expr.is_empty() || expr == "*" {
            return TagFilter {
                all: true,
                tags: BTreeSet::new(),
                codes: BTreeSet::new(),
            };
        }
        let tags: BTreeSet<String> = expr
            .split("||")
            .map(|t| t.trim_matches(|c: char| c <= ' '))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        let codes = tags.iter().map(|t| java_string_hash(t)).collect();
        TagFilter {
            all: false,
            tags,
            codes,
        }
    }

    /// Whether this subscribes to every message (`*` or empty).
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// The subscribed tags (empty when [`TagFilter::is_all`]).
    pub fn tags(&self) -> &BTreeSet<String> {
        &self.tags
    }

    /// The Java hash codes of the subscribed tags, as sent in `codeSet`.
    pub fn codes(&self) -> &BTreeSet<i32> {
        &self.codes
    }

    /// The broker's ConsumeQueue pre-filter: does a message whose tags code is
    /// `tags_code` qualify? Like Java (`tagsCode.intValue()`), only the low 32
    /// bits of the stored code are compared. Hash collisions pass here; the
    /// client re-checks with [`TagFilter::matches_tag`].
    pub fn matches_code(&self, tags_code: i64) -> bool {
        // Truncation is the Java behaviour (Long.intValue).
        #[allow(clippy::cast_possible_truncation)]
        let code = tags_code as i32;
        self.all || self.codes.contains(&code)
    }

    /// The exact check on a message's tag, as the Java client applies it after
    /// the broker's code pre-filter: everything passes when subscribing to all
    /// (or to no tag at all); otherwise the message needs one of the tags.
    pub fn matches_tag(&self, tag: Option<&str>) -> bool {
        if self.all || self.tags.is_empty() {
            return true;
        }
        tag.is_some_and(|t| self.tags.contains(t))
    }
}
