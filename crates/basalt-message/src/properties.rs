//! The properties string: `name U+0001 value U+0002` repeated, UTF-8.
//!
//! ```text
//! KEYS\u{1}k1 k2\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}7F00...\u{2}
//! ```
//!
//! Parsing follows `MessageDecoder.string2messageProperties`: a pair with an
//! empty name or an empty value is dropped, a later duplicate wins, invalid
//! UTF-8 becomes U+FFFD (Java's `new String(bytes, UTF_8)`), never an error.

use compact_str::CompactString;

/// Separates a name from its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Ends every pair, the last one included.
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Space-separated business keys; each is indexed.
pub const KEYS: &str = "KEYS";
/// The message tag; its Java hash is the ConsumeQueue tags code.
pub const TAGS: &str = "TAGS";
/// "false" lets the broker answer before flush/replication.
pub const WAIT: &str = "WAIT";
/// Delay level 1..18.
pub const DELAY: &str = "DELAY";
/// The client-side unique message id (also indexed).
pub const UNIQ_KEY: &str = "UNIQ_KEY";
/// Original topic of a scheduled/half/timer message.
pub const REAL_TOPIC: &str = "REAL_TOPIC";
/// Original queue id of a scheduled/half/timer message.
pub const REAL_QID: &str = "REAL_QID";
/// Transaction half-message marker.
pub const TRAN_MSG: &str = "TRAN_MSG";
/// Prefix of properties that are never stored.
pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";

/// A message's properties. Ordered by name so encoding is deterministic.
/// A message carries a handful, parsed once per send: a vector sorted by
/// name costs one allocation where a tree costs one per node. Names and
/// most values are short: `CompactString` keeps them inline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(Vec<(CompactString, CompactString)>);

impl Properties {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a properties string from raw stored bytes.
    pub fn decode(bytes: &[u8]) -> Self {
        Self::parse(&String::from_utf8_lossy(bytes))
    }

    /// Parses a properties string.
    pub fn parse(s: &str) -> Self {
        let pairs = s
            .split(PROPERTY_SEPARATOR)
            .filter_map(|pair| pair.split_once(NAME_VALUE_SEPARATOR))
            .filter(|(name, value)| !name.is_empty() && !value.is_empty())
            .map(|(name, value)| (CompactString::from(name), CompactString::from(value)))
            .collect();
        Self::from_pairs(pairs)
    }

    /// Sorts `pairs` by name; the last of duplicate names wins.
    fn from_pairs(mut pairs: Vec<(CompactString, CompactString)>) -> Self {
        // Names strictly rising (as this broker stores them): no sort, and
        // no duplicate to drop.
        if pairs.is_sorted_by(|a, b| a.0 < b.0) {
            return Self(pairs);
        }
        // Stable, so duplicates keep their order for the dedup.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                std::mem::swap(&mut later.1, &mut kept.1);
                true
            } else {
                false
            }
        });
        Self(pairs)
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        let first = name.as_bytes().first();
        self.0.binary_search_by(|(k, _)| {
            // Property names mostly differ in their first byte: decide
            // those without a memcmp call (the order stays byte order).
            match (k.as_bytes().first(), first) {
                (Some(a), Some(b)) if a != b => a.cmp(b),
                _ => k.as_str().cmp(name),
            }
        })
    }

    /// Encodes as the stored string. Pairs whose name or value would not
    /// survive a round trip (empty, or containing a separator) are skipped,
    /// so `parse(encode(p)) == p` for what is kept.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len_hint());
        for (name, value) in self.iter() {
            out.push_str(name);
            out.push(NAME_VALUE_SEPARATOR);
            out.push_str(value);
            out.push(PROPERTY_SEPARATOR);
        }
        out
    }

    fn encoded_len_hint(&self) -> usize {
        self.0.iter().map(|(k, v)| k.len() + v.len() + 2).sum()
    }

    /// Pairs that survive encoding, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .filter(|(k, v)| storable(k) && storable(v) && !k.contains(NAME_VALUE_SEPARATOR))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        // A message carries a handful of properties and the broker asks for
        // a dozen names per send, most of them absent (timer, delay): a scan
        // that compares lengths first settles most without a memcmp.
        if self.0.len() <= 16 {
            return self
                .0
                .iter()
                .find(|(k, _)| k.len() == name.len() && k.as_str() == name)
                .map(|(_, v)| v.as_str());
        }
        let i = self.find(name).ok()?;
        self.0.get(i).map(|(_, v)| v.as_str())
    }

    /// Sets `name` to `value`, returning the old value.
    pub fn insert(
        &mut self,
        name: impl Into<CompactString>,
        value: impl Into<CompactString>,
    ) -> Option<String> {
        let name = name.into();
        match self.find(&name) {
            Ok(i) => self
                .0
                .get_mut(i)
                .map(|slot| std::mem::replace(&mut slot.1, value.into()).into_string()),
            Err(i) => {
                self.0.insert(i, (name, value.into()));
                None
            }
        }
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.find(name).ok()?;
        Some(self.0.remove(i).1.into_string())
    }

    /// Number of pairs held (including any that would not be stored).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no pair is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `TAGS` value.
    pub fn tags(&self) -> Option<&str> {
        self.get(TAGS)
    }

    /// The `UNIQ_KEY` value.
    pub fn uniq_key(&self) -> Option<&str> {
        self.get(UNIQ_KEY)
    }

    /// The space-separated `KEYS`, empty tokens skipped.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.get(KEYS)
            .unwrap_or("")
            .split(' ')
            .filter(|k| !k.is_empty())
    }
}

fn storable(s: &str) -> bool {
    !s.is_empty() && !s.contains(PROPERTY_SEPARATOR)
}

impl FromIterator<(String, String)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self::from_pairs(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_java_quirks() {
        let p = Properties::parse("A\u{1}1\u{2}\u{1}x\u{2}B\u{1}\u{2}C\u{1}x\u{1}y\u{2}A\u{1}2");
        assert_eq!(p.get("A"), Some("2"));
        assert_eq!(p.get("B"), None);
        assert_eq!(p.get("C"), Some("x\u{1}y"));
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn encodes_with_trailing_separator() {
        let mut p = Properties::new();
        p.insert("TAGS", "a");
        p.insert("KEYS", "k1  k2");
        assert_eq!(p.encode(), "KEYS\u{1}k1  k2\u{2}TAGS\u{1}a\u{2}");
        assert_eq!(p.keys().collect::<Vec<_>>(), ["k1", "k2"]);
    }

    proptest! {
        #[test]
        fn round_trip(pairs in proptest::collection::btree_map("[^\u{1}\u{2}]{1,8}", "[^\u{2}]{1,8}", 0..8)) {
            let p: Properties = pairs.into_iter().collect();
            prop_assert_eq!(Properties::parse(&p.encode()), p);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let p = Properties::decode(&bytes);
            let again = Properties::parse(&p.encode());
            prop_assert_eq!(again, p);
        }
    }
}
