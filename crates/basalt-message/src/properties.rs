//! The properties string: `name U+0001 value U+0002` repeated, UTF-8.
//!
//! ```text
//! KEYS\u{1}k1 k2\u{2}TAGS\u{1}TagA\u{2}UNIQ_KEY\u{1}7F00...\u{2}
//! ```
//!
//! Parsing follows `MessageDecoder.string2messageProperties`: a pair with an
//! empty name or an empty value is dropped, a later duplicate wins, invalid
//! UTF-8 becomes U+FFFD (Java's `new String(bytes, UTF_8)`), never an error.

use std::collections::HashMap;

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
/// The producer group a message was sent from (set on half messages and
/// recall markers).
pub const PRODUCER_GROUP: &str = "PGROUP";
/// Prefix of properties that are never stored.
pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";

/// A message's properties, one value per name, kept in the order they
/// came (a producer's, as Java stores its map's iteration order) with new
/// names after them: a send's pairs, and the CLUSTER the broker adds, then
/// sit in the text as they are stored and encode with one copy. (Sorted by
/// name, they took a sort, a sorted insert and a copy per run.) Readers
/// build maps, so the order is not part of the format.
///
/// Parsed once per send and asked for a dozen names: the text is copied
/// once into a buffer of its own and the map is a vector of spans into it,
/// where a string per name and value cost a copy (and, past 24 bytes, an
/// allocation) each. Inserts append to the buffer.
#[derive(Clone, Default)]
pub struct Properties {
    text: String,
    entries: Vec<Entry>,
}

/// A pair: byte ranges of `Properties::text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    name: (usize, usize),
    value: (usize, usize),
    /// False for a pair `encode` must skip (see [`Properties::encode`]).
    storable: bool,
}

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
        // Room for what the broker adds (CLUSTER, a UNIQ_KEY) without a
        // reallocation.
        let mut text = String::with_capacity(s.len() + 64);
        text.push_str(s);
        let mut entries: Vec<Entry> = Vec::with_capacity(8);
        // One bit per (length, first byte) seen: a name whose bit is clear
        // is new without a look at the others. Past a few dozen names the
        // bits are all set and a look would be a scan of every earlier
        // pair (quadratic in a hostile message's thousands of names): a
        // map of the names takes over.
        let mut seen = 0u64;
        let mut by_name: Option<HashMap<&[u8], usize>> = None;
        let bytes = text.as_bytes();
        let mut pair_start = 0;
        // Both separators are ASCII: every split point is a char boundary.
        for pair in bytes.split(|&b| b == PROPERTY_SEP) {
            let at = pair_start;
            pair_start += pair.len() + 1;
            let Some(mid) = pair.iter().position(|&b| b == NAME_VALUE_SEP) else {
                continue;
            };
            if mid == 0 || mid + 1 == pair.len() {
                continue;
            }
            let entry = Entry {
                name: (at, at + mid),
                value: (at + mid + 1, at + pair.len()),
                // Split on both separators: a name holds neither, a value
                // no pair separator.
                storable: true,
            };
            let name = pair.get(..mid).unwrap_or_default();
            let first = pair.first().copied().unwrap_or_default();
            let bit = 1u64 << ((mid ^ usize::from(first).wrapping_mul(7)) & 63);
            let earlier = match &by_name {
                Some(map) => map.get(name).copied(),
                None if seen & bit == 0 => None,
                None => entries
                    .iter()
                    .position(|e| bytes.get(e.name.0..e.name.1) == Some(name)),
            };
            seen |= bit;
            match earlier.and_then(|i| entries.get_mut(i)) {
                // Java's reader keeps the last of duplicate names.
                Some(e) => e.value = entry.value,
                None => {
                    if let Some(map) = &mut by_name {
                        map.insert(name, entries.len());
                    }
                    entries.push(entry);
                    if by_name.is_none() && entries.len() > SCAN_LIMIT {
                        let names = entries
                            .iter()
                            .enumerate()
                            .map(|(i, e)| (bytes.get(e.name.0..e.name.1).unwrap_or_default(), i));
                        by_name = Some(names.collect());
                    }
                }
            }
        }
        drop(by_name);
        Self { text, entries }
    }

    fn at(&self, (start, end): (usize, usize)) -> &str {
        // Spans are only made from this set's own text, at ASCII separators
        // or whole appended strings: never out of range nor mid-char.
        self.text.get(start..end).unwrap_or_default()
    }

    /// The position of `name`'s pair. A message carries a handful of
    /// properties and the broker asks for a dozen names per send, most of
    /// them absent (timer, delay): a scan that compares lengths first
    /// settles most without a memcmp.
    fn find(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| {
            e.name.1 - e.name.0 == name.len() && self.bytes_at(e.name) == name.as_bytes()
        })
    }

    /// The bytes of a span: what name comparisons need, without the char
    /// boundary checks of [`Self::at`] (a third of a lookup's cost).
    fn bytes_at(&self, (start, end): (usize, usize)) -> &[u8] {
        self.text.as_bytes().get(start..end).unwrap_or_default()
    }

    /// Encodes as the stored string. Pairs whose name or value would not
    /// survive a round trip (empty, or containing a separator) are skipped,
    /// so `parse(encode(p)) == p` for what is kept.
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        // Names and values are whole UTF-8 strings and the separators
        // ASCII: never lossy.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// The length of [`Self::encode`]'s string, in bytes.
    pub fn encoded_len(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.storable)
            .map(|e| e.name.1 - e.name.0 + e.value.1 - e.value.0 + 2)
            .sum()
    }

    /// Appends [`Self::encode`]'s string to `out` (a record being built).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        // A pair parsed from a sorted string, or inserted new, sits in the
        // text as `name 1 value 2`, and sorted pairs one after another:
        // copied a run at a time (a send's six pairs cost four copies
        // each, ~400 instructions, one by one).
        let text = self.text.as_bytes();
        let mut run = 0..0;
        for e in self.entries.iter().filter(|e| e.storable) {
            let in_place = e.value.0 == e.name.1 + 1
                && text.get(e.name.1) == Some(&NAME_VALUE_SEP)
                && text.get(e.value.1) == Some(&PROPERTY_SEP);
            if in_place {
                if e.name.0 != run.end {
                    out.extend_from_slice(text.get(run).unwrap_or_default());
                    run = e.name.0..e.name.0;
                }
                run.end = e.value.1 + 1;
                continue;
            }
            out.extend_from_slice(text.get(run).unwrap_or_default());
            run = 0..0;
            out.extend_from_slice(self.at(e.name).as_bytes());
            out.push(NAME_VALUE_SEP);
            out.extend_from_slice(self.at(e.value).as_bytes());
            out.push(PROPERTY_SEP);
        }
        out.extend_from_slice(text.get(run).unwrap_or_default());
    }

    /// Pairs that survive encoding, in the order they are stored.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .filter(|e| e.storable)
            .map(|e| (self.at(e.name), self.at(e.value)))
    }

    /// The value for `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let e = self.entries.get(self.find(name)?)?;
        Some(self.at(e.value))
    }

    /// Whether any of `names` is held: one pass over the pairs, names
    /// compared as bytes (the send path asks this of every message, about
    /// names most messages lack).
    pub fn contains_any(&self, names: &[&str]) -> bool {
        self.entries.iter().any(|e| {
            let name = self.bytes_at(e.name);
            names.iter().any(|n| n.as_bytes() == name)
        })
    }

    /// The values for several names in one pass over the pairs (what
    /// [`Self::get`] would give for each): the index reads three names of
    /// every stored message.
    #[inline]
    pub fn get_many<const N: usize>(&self, names: [&str; N]) -> [Option<&str>; N] {
        let mut found = [None; N];
        for e in &self.entries {
            let name = self.bytes_at(e.name);
            if let Some(i) = names.iter().position(|n| n.as_bytes() == name) {
                if let Some(slot) = found.get_mut(i) {
                    *slot = Some(self.at(e.value));
                }
            }
        }
        found
    }

    fn append(&mut self, s: &str) -> (usize, usize) {
        let start = self.text.len();
        self.text.push_str(s);
        (start, self.text.len())
    }

    /// Sets `name` to `value`, returning the old value.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Option<String> {
        let (name, value) = (name.as_ref(), value.as_ref());
        let storable = storable_pair(name, value);
        match self.find(name) {
            Some(i) => {
                // The replaced value's bytes stay behind in the buffer: a
                // message's properties are edited a few times at most
                // before they are stored.
                let value_span = self.append(value);
                let old = self.entries.get(i).map(|e| self.at(e.value).to_owned());
                if let Some(e) = self.entries.get_mut(i) {
                    e.value = value_span;
                    e.storable = storable;
                }
                old
            }
            None => {
                // Written whole, `name 1 value 2`, after the pairs before
                // it, so encoding copies it with them (see `encode_into`).
                let name = self.append(name);
                self.text.push(NAME_VALUE_SEPARATOR);
                let value_span = self.append(value);
                self.text.push(PROPERTY_SEPARATOR);
                self.entries.push(Entry {
                    name,
                    value: value_span,
                    storable,
                });
                None
            }
        }
    }

    /// Sets a pair built ahead with [`Pair::new`]: what [`Self::insert`]
    /// does, without checking and laying the pair out again.
    pub fn insert_pair(&mut self, pair: &Pair) {
        if self.find(pair.name()).is_some() {
            self.insert(pair.name(), pair.value());
            return;
        }
        let start = self.text.len();
        self.text.push_str(&pair.text);
        let name = (start, start + pair.name_len);
        self.entries.push(Entry {
            name,
            value: (name.1 + 1, self.text.len() - 1),
            storable: pair.storable,
        });
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.find(name)?;
        let e = self.entries.remove(i);
        Some(self.at(e.value).to_owned())
    }

    /// Number of pairs held (including any that would not be stored).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no pair is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every pair held, stored or not, in stored order.
    fn all(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|e| (self.at(e.name), self.at(e.value)))
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
        split_keys(self.get(KEYS))
    }
}

/// A pair checked and laid out once (`name 1 value 2`) to be set on many
/// messages: the CLUSTER the broker adds to every one it stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    text: String,
    name_len: usize,
    storable: bool,
}

impl Pair {
    pub fn new(name: &str, value: &str) -> Self {
        Self {
            text: format!("{name}{NAME_VALUE_SEPARATOR}{value}{PROPERTY_SEPARATOR}"),
            name_len: name.len(),
            storable: storable_pair(name, value),
        }
    }

    pub fn name(&self) -> &str {
        self.text.get(..self.name_len).unwrap_or_default()
    }

    pub fn value(&self) -> &str {
        let end = self.text.len().saturating_sub(1);
        self.text.get(self.name_len + 1..end).unwrap_or_default()
    }
}

/// The space-separated tokens of a `KEYS` value, empty ones skipped.
pub fn split_keys(keys: Option<&str>) -> impl Iterator<Item = &str> {
    keys.unwrap_or("").split(' ').filter(|k| !k.is_empty())
}

/// Pairs a parse checks for an earlier one of the same name by a scan.
const SCAN_LIMIT: usize = 32;

// The separators as bytes, for the parser's byte scan (both are ASCII).
const NAME_VALUE_SEP: u8 = NAME_VALUE_SEPARATOR as u8;
const PROPERTY_SEP: u8 = PROPERTY_SEPARATOR as u8;

/// Whether a pair survives `encode` then `parse` as it is. Each string is
/// checked in one pass without an early exit, which the compiler turns
/// into vector compares: names and values are short, and a `contains`
/// per separator cost a `memchr` call each (~90 instructions for the
/// CLUSTER value every send adds).
fn storable_pair(name: &str, value: &str) -> bool {
    let has = |s: &str, sep: fn(u8) -> bool| s.bytes().fold(false, |found, b| found | sep(b));
    !name.is_empty()
        && !value.is_empty()
        && !has(name, |b| b == NAME_VALUE_SEP || b == PROPERTY_SEP)
        && !has(value, |b| b == PROPERTY_SEP)
}

/// Equal when they hold the same pairs, in any order (as maps are).
impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        fn sorted(p: &Properties) -> Vec<(&str, &str)> {
            let mut pairs: Vec<(&str, &str)> = p.all().collect();
            pairs.sort_unstable();
            pairs
        }
        self.len() == other.len() && sorted(self) == sorted(other)
    }
}

impl Eq for Properties {}

impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.all()).finish()
    }
}

impl FromIterator<(String, String)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut p = Self::new();
        for (name, value) in iter {
            p.insert(name, value);
        }
        p
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

    /// Thousands of names (a properties string may hold ~8 000), past
    /// the scan's limit: each read once, the last of a duplicate kept.
    #[test]
    fn many_names_parse_once_each() {
        let mut text = String::new();
        for i in 0..8_000 {
            text.push_str(&format!("k{i}\u{1}v{i}\u{2}"));
        }
        text.push_str("k7\u{1}last\u{2}k7999\u{1}end\u{2}");
        let p = Properties::parse(&text);
        assert_eq!(p.len(), 8_000);
        assert_eq!(
            (p.get("k7"), p.get("k7999"), p.get("k0")),
            (Some("last"), Some("end"), Some("v0"))
        );
    }

    #[test]
    fn get_many_reads_as_get_does() {
        let mut p = Properties::parse("KEYS\u{1}k1 k2\u{2}TAGS\u{1}t\u{2}");
        p.insert("WAIT", "true");
        for names in [["TAGS", "UNIQ_KEY", "KEYS"], ["WAIT", "TAGS", "X"]] {
            assert_eq!(p.get_many(names), names.map(|n| p.get(n)));
        }
        assert_eq!(split_keys(p.get(KEYS)).collect::<Vec<_>>(), ["k1", "k2"]);
    }

    #[test]
    fn encodes_with_trailing_separator() {
        let mut p = Properties::new();
        p.insert("TAGS", "a");
        p.insert("KEYS", "k1  k2");
        assert_eq!(p.encode(), "TAGS\u{1}a\u{2}KEYS\u{1}k1  k2\u{2}");
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

        /// Parsing reads what Java's split-based reader reads: pairs split
        /// on PROPERTY_SEP, each at its first NAME_VALUE_SEP, empty names
        /// and values dropped, the last duplicate kept.
        #[test]
        fn parses_as_splitting_does(text in "[AB\u{1}\u{2}a]{0,32}") {
            let mut want = std::collections::BTreeMap::new();
            for pair in text.split(PROPERTY_SEPARATOR) {
                if let Some((name, value)) = pair.split_once(NAME_VALUE_SEPARATOR) {
                    if !name.is_empty() && !value.is_empty() {
                        want.insert(name, value);
                    }
                }
            }
            let p = Properties::parse(&text);
            let got: std::collections::BTreeMap<&str, &str> = p.all().collect();
            prop_assert_eq!(p.len(), got.len(), "one pair per name");
            prop_assert_eq!(got, want);
        }

        /// Copying runs of the text writes what writing each stored pair
        /// writes, whatever parsing and editing left in the text.
        #[test]
        fn encoding_in_runs_writes_each_stored_pair(
            text in "[AB\u{1}\u{2}a]{0,24}",
            edits in proptest::collection::vec(("[AB\u{1}]{0,2}", "[ab\u{2}]{0,2}", any::<bool>()), 0..5)
        ) {
            let mut p = Properties::parse(&text);
            for (name, value, remove) in &edits {
                if *remove {
                    p.remove(name);
                } else {
                    p.insert(name, value);
                }
            }
            let mut naive = Vec::new();
            for (name, value) in p.iter() {
                naive.extend_from_slice(name.as_bytes());
                naive.push(NAME_VALUE_SEP);
                naive.extend_from_slice(value.as_bytes());
                naive.push(PROPERTY_SEP);
            }
            let mut out = b"x".to_vec();
            p.encode_into(&mut out);
            prop_assert_eq!(out.get(1..), Some(&naive[..]));
        }

        /// A pair built ahead sets what `insert` sets, stored or not.
        #[test]
        fn insert_pair_is_insert(
            text in "[AB\u{1}\u{2}a]{0,16}",
            name in "[AB\u{1}\u{2}]{0,2}",
            value in "[ab\u{1}\u{2}]{0,2}",
        ) {
            let mut by_pair = Properties::parse(&text);
            let mut by_insert = by_pair.clone();
            by_pair.insert_pair(&Pair::new(&name, &value));
            by_insert.insert(&name, &value);
            prop_assert_eq!(&by_pair, &by_insert);
            prop_assert_eq!(by_pair.encode(), by_insert.encode());
        }

        /// A record reserves `encoded_len` bytes and writes `encode_into`:
        /// the two must agree, unstorable pairs (skipped) included.
        #[test]
        fn encoded_len_is_what_encoding_writes(
            pairs in proptest::collection::vec(("[a-c\u{1}\u{2}]{0,3}", "[a-c\u{1}\u{2}]{0,3}"), 0..6)
        ) {
            let mut p = Properties::new();
            for (name, value) in &pairs {
                p.insert(name, value);
            }
            let mut out = Vec::new();
            p.encode_into(&mut out);
            prop_assert_eq!(out.len(), p.encoded_len());
            let encoded = p.encode();
            prop_assert_eq!(encoded.as_bytes(), &out[..]);
            // What is written reads back as the storable pairs.
            prop_assert_eq!(Properties::parse(&p.encode()).len(), p.iter().count());
        }
    }
}
