//! `extFields`: a command header's string keys and values.
//!
//! A header holds a dozen short fields and is decoded once per request, so
//! this is a vector kept sorted by key rather than a tree: one allocation
//! for the lot, lookups by binary search, and the same key order a
//! `BTreeMap` would give (encoded headers stay byte-for-byte stable). Keys
//! and most values fit inline in a `CompactString`.

use compact_str::CompactString;
use serde::ser::{Serialize, SerializeMap, Serializer};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtFields {
    entries: Vec<(CompactString, CompactString)>,
}

impl ExtFields {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` entries (a reply's known fields).
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    /// Builds the map from pairs in wire order: one sort, so a header
    /// with a huge number of keys costs n log n, not n² inserts. The last
    /// of duplicate keys wins, as in Java's map.
    pub fn from_pairs(mut pairs: Vec<(CompactString, CompactString)>) -> Self {
        // Clients mostly send keys in order already (Java's HashMap yields
        // SEND_MESSAGE_V2's one-letter keys sorted): then there is nothing
        // to sort and, keys strictly rising, no duplicate to drop.
        if pairs.is_sorted_by(|a, b| key_cmp(&a.0, &b.0).is_lt()) {
            return Self { entries: pairs };
        }
        // Stable: duplicates keep their wire order for the dedup below.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                std::mem::swap(&mut later.1, &mut kept.1);
                true
            } else {
                false
            }
        });
        Self { entries: pairs }
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| key_cmp(k, key))
    }

    pub fn get(&self, key: &str) -> Option<&CompactString> {
        self.find(key)
            .ok()
            .and_then(|i| self.entries.get(i))
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Sets `key`, returning the value it replaces (the last of duplicate
    /// keys wins, as in Java's map).
    pub fn insert(&mut self, key: CompactString, value: CompactString) -> Option<CompactString> {
        // Headers are mostly written in key order: append without a search.
        if self
            .entries
            .last()
            .is_none_or(|(last, _)| key_cmp(last, &key).is_lt())
        {
            self.entries.push((key, value));
            return None;
        }
        match self.find(&key) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|slot| std::mem::replace(&mut slot.1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<CompactString> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&CompactString, &CompactString)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Byte order of keys, deciding keys that differ in their first byte
/// without a memcmp call: most do (SEND_MESSAGE_V2's are one letter each).
fn key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

impl<'a> IntoIterator for &'a ExtFields {
    type Item = (&'a CompactString, &'a CompactString);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (CompactString, CompactString)>,
        fn(&'a (CompactString, CompactString)) -> (&'a CompactString, &'a CompactString),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(CompactString, CompactString)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (CompactString, CompactString)>>(iter: I) -> Self {
        Self::from_pairs(iter.into_iter().collect())
    }
}

impl Serialize for ExtFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k.as_str(), v.as_str())?;
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
            ext.insert(k.into(), v.into());
        }
        let keys: Vec<&str> = ext.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "m", "queueId"]);
        assert_eq!(ext.get("a").map(CompactString::as_str), Some("4"));
        assert_eq!(ext.remove("m").as_deref(), Some("1"));
        assert!(!ext.contains_key("m") && ext.len() == 2);
        assert_eq!(ext.get("zz"), None);
    }

    #[test]
    fn from_pairs_sorts_and_keeps_the_last_duplicate() {
        let pairs = [("m", "1"), ("a", "2"), ("m", "3"), ("b", "4"), ("m", "5")]
            .map(|(k, v)| (CompactString::from(k), CompactString::from(v)));
        let ext = ExtFields::from_pairs(pairs.to_vec());
        let got: Vec<(&str, &str)> = ext.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, [("a", "2"), ("b", "4"), ("m", "5")]);
        // Many keys: one sort, not a quadratic run of inserts.
        let many: Vec<_> = (0..200_000u32)
            .rev()
            .map(|i| {
                (
                    CompactString::from(format!("k{i}")),
                    CompactString::from("v"),
                )
            })
            .collect();
        assert_eq!(ExtFields::from_pairs(many).len(), 200_000);
    }
}
