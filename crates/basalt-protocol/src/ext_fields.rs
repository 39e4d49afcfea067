//! `extFields`: a command header's string keys and values.
//!
//! A binary header's map is not copied: the decoded map keeps the frame's
//! header bytes (a shared slice) and a vector of spans into them, sorted by
//! key. Copying its two dozen strings (and checking each as UTF-8) was most
//! of a send's header decode, and a send reads each value exactly once,
//! through its typed header. Values are checked as UTF-8 when read. A map
//! built in code appends its text to a buffer of its own the same way.
//! The key order is a `BTreeMap`'s, so encoded headers stay byte-for-byte
//! stable.

use std::borrow::Cow;

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A byte range of the map's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key: Span,
    value: Span,
}

#[derive(Clone)]
enum Text {
    /// The header bytes of a received frame (not checked as UTF-8).
    Shared(Bytes),
    /// Text appended by inserts or by the JSON decoder: UTF-8.
    Own(String),
}

impl Default for Text {
    fn default() -> Self {
        Self::Own(String::new())
    }
}

impl Text {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Shared(b) => b,
            Self::Own(s) => s.as_bytes(),
        }
    }

    /// The text at `span`, if it is UTF-8 (own text always is: only its
    /// char boundaries are checked).
    fn str_at(&self, span: Span) -> Option<&str> {
        match self {
            Self::Shared(b) => std::str::from_utf8(b.get(span.start..span.end)?).ok(),
            Self::Own(s) => s.get(span.start..span.end),
        }
    }
}

#[derive(Clone, Default)]
pub struct ExtFields {
    text: Text,
    entries: Vec<Entry>,
}

impl ExtFields {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` entries (a reply's known fields).
    pub fn with_capacity(n: usize) -> Self {
        Self {
            text: Text::Own(String::with_capacity(n * 32)),
            entries: Vec::with_capacity(n),
        }
    }

    /// Builds the map from pairs in wire order; see `ExtFieldsBuilder`.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut own = String::new();
        let mut b = ExtFieldsBuilder::with_capacity(0);
        for (k, v) in pairs {
            let key = append(&mut own, k.as_ref());
            let value = append(&mut own, v.as_ref());
            b.entries.push(Entry { key, value });
        }
        b.finish(Text::Own(own), None)
    }

    fn at(&self, span: Span) -> &[u8] {
        // Spans are only made from this map's own text: never out of range.
        self.text
            .bytes()
            .get(span.start..span.end)
            .unwrap_or_default()
    }

    fn find(&self, key: &[u8]) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|e| key_cmp(self.at(e.key), key))
    }

    /// The value of `key`; `None` if absent or not UTF-8.
    pub fn get(&self, key: &str) -> Option<&str> {
        let i = self.find(key.as_bytes()).ok()?;
        let e = self.entries.get(i)?;
        self.text.str_at(e.value)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key.as_bytes()).is_ok()
    }

    /// A received header's text, copied once so it can grow. Bytes that
    /// are not UTF-8 are replaced (U+FFFD) then, which moves the spans:
    /// those are rebuilt over the new text.
    fn make_own(&mut self) {
        let Text::Shared(b) = &self.text else {
            return;
        };
        if let Ok(s) = std::str::from_utf8(b) {
            self.text = Text::Own(s.to_owned());
            return;
        }
        let mut own = String::with_capacity(b.len());
        for e in &mut self.entries {
            let lossy = |span: Span| {
                String::from_utf8_lossy(b.get(span.start..span.end).unwrap_or_default())
            };
            e.key = append(&mut own, &lossy(e.key));
            e.value = append(&mut own, &lossy(e.value));
        }
        self.text = Text::Own(own);
    }

    /// Sets `key` (the last of duplicate keys wins, as in Java's map).
    pub fn insert(&mut self, key: &str, value: &str) {
        // Headers are mostly written in key order into a map of their own
        // (a reply's): appended with nothing else to decide.
        if let Text::Own(own) = &mut self.text {
            let after_last = self.entries.last().is_none_or(|last| {
                let last = own.as_bytes().get(last.key.start..last.key.end);
                key_cmp(last.unwrap_or_default(), key.as_bytes()).is_lt()
            });
            if after_last {
                own.reserve(key.len() + value.len());
                let key = append(own, key);
                let value = append(own, value);
                self.entries.push(Entry { key, value });
                return;
            }
        }
        self.insert_sorted(key, value);
    }

    /// [`Self::insert`] anywhere in the order, or over a received map.
    fn insert_sorted(&mut self, key: &str, value: &str) {
        let in_order = self
            .entries
            .last()
            .is_none_or(|last| key_cmp(self.at(last.key), key.as_bytes()).is_lt());
        let found = if in_order {
            Err(self.entries.len())
        } else {
            self.find(key.as_bytes())
        };
        self.make_own();
        let Text::Own(own) = &mut self.text else {
            return;
        };
        match found {
            Ok(i) => {
                // The old value's bytes stay behind: a header lives for one
                // request.
                let value = append(own, value);
                if let Some(e) = self.entries.get_mut(i) {
                    e.value = value;
                }
            }
            Err(i) => {
                let key = append(own, key);
                let value = append(own, value);
                self.entries.insert(i, Entry { key, value });
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.find(key.as_bytes()).ok()?;
        let e = self.entries.remove(i);
        Some(String::from_utf8_lossy(self.at(e.value)).into_owned())
    }

    /// Entries in key order, as bytes (what a typed header reads: it checks
    /// only the values it keeps).
    pub fn raw_iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        // The text's bytes once, not per span (a match on its kind each).
        let text = self.text.bytes();
        let at = move |span: Span| text.get(span.start..span.end).unwrap_or_default();
        self.entries.iter().map(move |e| (at(e.key), at(e.value)))
    }

    /// Entries in key order as text, with bytes that are not UTF-8
    /// replaced (U+FFFD), as Java's decoder would have read them. Own text
    /// (a reply's) is UTF-8 already: no check, no copy.
    pub(crate) fn text_iter(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        let text = |span| match self.text.str_at(span) {
            Some(s) => Cow::Borrowed(s),
            None => String::from_utf8_lossy(self.at(span)),
        };
        self.entries
            .iter()
            .map(move |e| (text(e.key), text(e.value)))
    }

    /// Entries in key order; a pair that is not UTF-8 is skipped.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .filter_map(|e| Some((self.text.str_at(e.key)?, self.text.str_at(e.value)?)))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn append(own: &mut String, s: &str) -> Span {
    let start = own.len();
    own.push_str(s);
    Span {
        start,
        end: own.len(),
    }
}

/// Collects a received header's pairs in wire order as spans of its bytes,
/// then sorts them once: a header with a huge number of keys costs
/// n log n, not n² inserts. The last of duplicate keys wins, as in Java's
/// map.
pub(crate) struct ExtFieldsBuilder {
    entries: Vec<Entry>,
}

impl ExtFieldsBuilder {
    pub(crate) fn with_capacity(entries: usize) -> Self {
        Self {
            entries: Vec::with_capacity(entries),
        }
    }

    /// Adds the pair at these byte ranges of the text `finish` gets.
    pub(crate) fn push(&mut self, key: (usize, usize), value: (usize, usize)) {
        self.entries.push(Entry {
            key: Span {
                start: key.0,
                end: key.1,
            },
            value: Span {
                start: value.0,
                end: value.1,
            },
        });
    }

    /// The map over `text`, the header bytes the pushed ranges index.
    /// `keys_rising`: the caller compared each key with the one pushed
    /// before it as it read them (cheap there: both are at hand) and found
    /// every one strictly greater, so there is nothing to sort or drop;
    /// false has them sorted.
    pub(crate) fn finish_shared(self, text: Bytes, keys_rising: bool) -> ExtFields {
        self.finish(Text::Shared(text), Some(keys_rising))
    }

    /// The map over `text`, a buffer the pushed ranges index (the JSON
    /// decoder writes the unescaped strings there).
    pub(crate) fn finish_own(self, text: String) -> ExtFields {
        self.finish(Text::Own(text), None)
    }

    /// `keys_rising` as in `finish_shared`; `None` checks the order here.
    fn finish(self, text: Text, keys_rising: Option<bool>) -> ExtFields {
        let mut entries = self.entries;
        let bytes = text.bytes();
        let key = |e: &Entry| bytes.get(e.key.start..e.key.end).unwrap_or_default();
        // Clients mostly send keys in order already (Java's HashMap yields
        // SEND_MESSAGE_V2's one-letter keys sorted): then there is nothing
        // to sort and, keys strictly rising, no duplicate to drop.
        let rising = keys_rising
            .unwrap_or_else(|| entries.is_sorted_by(|a, b| key_cmp(key(a), key(b)).is_lt()));
        if !rising {
            // Stable: duplicates keep their wire order for the dedup below.
            entries.sort_by(|a, b| key_cmp(key(a), key(b)));
            entries.dedup_by(|later, kept| {
                let same = key(later) == key(kept);
                if same {
                    kept.value = later.value;
                }
                same
            });
        }
        ExtFields { text, entries }
    }
}

/// Byte order of keys, deciding keys that differ in their first byte
/// without a memcmp call: most do (SEND_MESSAGE_V2's are one letter each).
pub(crate) fn key_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    match (a.first(), b.first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.raw_iter().eq(other.raw_iter())
    }
}

impl Eq for ExtFields {}

impl std::fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        f.debug_map()
            .entries(self.raw_iter().map(|(k, v)| (lossy(k), lossy(v))))
            .finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self::from_pairs(iter)
    }
}

/// As JSON, text that is not UTF-8 is replaced (see `text_iter`).
impl Serialize for ExtFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (key, value) in self.text_iter() {
            map.serialize_entry(&key, &value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_replacing_inserts_and_removal() {
        let mut ext = ExtFields::new();
        for (k, v) in [("m", "1"), ("a", "2"), ("queueId", "3"), ("a", "4")] {
            ext.insert(k, v);
        }
        let keys: Vec<&str> = ext.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "m", "queueId"]);
        assert_eq!(ext.get("a"), Some("4"));
        assert_eq!(ext.remove("m").as_deref(), Some("1"));
        assert!(!ext.contains_key("m") && ext.len() == 2);
        assert_eq!(ext.get("zz"), None);
        assert_eq!(ext, ExtFields::from_pairs([("queueId", "3"), ("a", "4")]));
    }

    #[test]
    fn from_pairs_sorts_and_keeps_the_last_duplicate() {
        let pairs = [("m", "1"), ("a", "2"), ("m", "3"), ("b", "4"), ("m", "5")];
        let ext = ExtFields::from_pairs(pairs);
        let got: Vec<(&str, &str)> = ext.iter().collect();
        assert_eq!(got, [("a", "2"), ("b", "4"), ("m", "5")]);
        let ext = ExtFields::from_pairs([("ключ", "é😀"), ("a", "")]);
        assert_eq!(ext.get("ключ"), Some("é😀"));
        assert_eq!(ext.get("a"), Some(""));
        // Many keys: one sort, not a quadratic run of inserts.
        let many: Vec<_> = (0..200_000u32)
            .rev()
            .map(|i| (format!("k{i}"), "v"))
            .collect();
        assert_eq!(ExtFields::from_pairs(many).len(), 200_000);
    }

    #[test]
    fn shared_text_reads_bad_utf8_as_absent_until_copied_then_replaced() {
        // "k" -> "v", "x" -> 0xFF (not UTF-8), over one shared buffer.
        let text = Bytes::from_static(b"kvx\xFF");
        let mut b = ExtFieldsBuilder::with_capacity(2);
        b.push((2, 3), (3, 4));
        b.push((0, 1), (1, 2));
        let mut ext = b.finish_shared(text, false);
        assert_eq!(ext.get("k"), Some("v"));
        assert!(ext.contains_key("x") && ext.get("x").is_none());
        assert_eq!(ext.iter().count(), 1);
        // JSON replaces what is not UTF-8, as Java's decoder reads it.
        let json = serde_json::to_string(&ext).unwrap();
        assert_eq!(json, "{\"k\":\"v\",\"x\":\"\u{FFFD}\"}");
        // Copied to grow, the text is made UTF-8 the same way.
        ext.insert("a", "1");
        ext.insert("k", "w");
        let got: Vec<(&str, &str)> = ext.iter().collect();
        assert_eq!(got, [("a", "1"), ("k", "w"), ("x", "\u{FFFD}")]);
        assert_eq!(ext.remove("x").as_deref(), Some("\u{FFFD}"));
    }
}
