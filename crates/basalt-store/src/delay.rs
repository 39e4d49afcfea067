//! Delay levels (`messageDelayLevel`): in `SCHEDULE_TOPIC_XXXX` the
//! ConsumeQueue tags code is the delivery time, computed from the record's
//! `DELAY` level and store time, both when appending and when recovery
//! rebuilds a queue (RocketMQ computes it in dispatch, ignoring the
//! message's own tags code).

use basalt_message::{properties, tags_code, Properties};

use crate::error::{Result, StoreError};

/// RocketMQ's scheduled-message topic.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// Parsed `messageDelayLevel`: level `i` (1-based) waits `millis[i-1]`.
/// The broker's scheduled delivery reads the same table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayLevels {
    millis: Vec<i64>,
}

impl DelayLevels {
    /// Parses e.g. `"1s 5s 10s 30s 1m 2m ... 2h"` (units s, m, h, d).
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = || StoreError::Config(format!("messageDelayLevel {spec:?} is not valid"));
        let millis = spec
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(|level| {
                let unit_at = level.len().checked_sub(1).ok_or_else(bad)?;
                // Checked: a token ending in a multi-byte character has no
                // boundary one byte from its end.
                let (num, unit) = level.split_at_checked(unit_at).ok_or_else(bad)?;
                let unit: i64 = match unit {
                    "s" => 1_000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    "d" => 86_400_000,
                    _ => return Err(bad()),
                };
                num.parse::<i64>()
                    .map(|n| n.saturating_mul(unit))
                    .map_err(|_| bad())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { millis })
    }

    /// How many levels there are.
    pub fn len(&self) -> usize {
        self.millis.len()
    }

    pub fn is_empty(&self) -> bool {
        self.millis.is_empty()
    }

    /// The delay of a 1-based level, if it exists.
    pub fn millis(&self, level: usize) -> Option<i64> {
        level
            .checked_sub(1)
            .and_then(|i| self.millis.get(i))
            .copied()
    }

    /// The ConsumeQueue tags code of a record.
    pub(crate) fn cq_tags_code(
        &self,
        topic: &str,
        tags: Option<&str>,
        props: &Properties,
        store_timestamp: i64,
    ) -> i64 {
        let code = tags_code(tags);
        if topic != SCHEDULE_TOPIC {
            return code;
        }
        let Some(level) = props
            .get(properties::DELAY)
            .and_then(|d| d.parse::<usize>().ok())
        else {
            return code;
        };
        let level = level.min(self.millis.len());
        match level.checked_sub(1).and_then(|i| self.millis.get(i)) {
            Some(ms) => store_timestamp.saturating_add(*ms),
            None => code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_topic_uses_delivery_time() {
        let levels =
            DelayLevels::parse("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h")
                .unwrap();
        let mut p = Properties::new();
        p.insert("TAGS", "a");
        assert_eq!(
            levels.cq_tags_code("T", p.tags(), &p, 1000),
            tags_code(Some("a"))
        );
        p.insert("DELAY", "3");
        assert_eq!(
            levels.cq_tags_code(SCHEDULE_TOPIC, p.tags(), &p, 1000),
            11_000
        );
        p.insert("DELAY", "99");
        assert_eq!(
            levels.cq_tags_code(SCHEDULE_TOPIC, p.tags(), &p, 0),
            7_200_000
        );
        assert!(DelayLevels::parse("1x").is_err());
        assert!(DelayLevels::parse("s").is_err());
        // A last character of several bytes is refused, not split inside.
        assert!(DelayLevels::parse("1\u{79d2}").is_err());
        assert!(DelayLevels::parse("1s\u{a0} 5s").is_err());
    }
}
