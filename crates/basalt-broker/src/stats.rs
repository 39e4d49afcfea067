//! Broker statistics as RocketMQ's `BrokerStatsManager` keeps them, for
//! VIEW_BROKER_STATS_DATA (`mqadmin statsAll`, the console), the TPS in
//! GET_BROKER_RUNTIME_INFO (`mqadmin brokerStatus`) and the consume TPS
//! of GET_CONSUME_STATS.
//!
//! Each item (a stats name and key, e.g. `TOPIC_PUT_NUMS` / topic) is a
//! running sum and a count, sampled every period (10 s) into three windows
//! as RocketMQ's `StatsItem` does: the last 6 samples (a minute), the last
//! 6 of every 60th (an hour) and the last 24 of every 360th (a day). A
//! window reports the sum between its first and last sample, that sum per
//! second, and the sum per counted call.
//!
//! Messages got are counted by the pull handler. Messages put are not
//! counted on the send path at all: the sampler reads them off the
//! ConsumeQueues (each queue's max offset only grows by the entries put),
//! which costs sends nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use basalt_store::Store;

use crate::topics::{now_ms, Topics};

pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";
/// The broker's totals without system topics (the daily figures).
pub const BROKER_PUT_NUMS_WITHOUT_SYSTEM_TOPIC: &str = "BROKER_PUT_NUMS_WITHOUT_SYSTEM_TOPIC";
pub const BROKER_GET_NUMS_WITHOUT_SYSTEM_TOPIC: &str = "BROKER_GET_NUMS_WITHOUT_SYSTEM_TOPIC";
const NAMES: [&str; 6] = [
    TOPIC_PUT_NUMS,
    GROUP_GET_NUMS,
    BROKER_PUT_NUMS,
    BROKER_GET_NUMS,
    BROKER_PUT_NUMS_WITHOUT_SYSTEM_TOPIC,
    BROKER_GET_NUMS_WITHOUT_SYSTEM_TOPIC,
];

/// Samples kept per window, and how many periods apart they are.
const MINUTE: (usize, u64) = (7, 1);
const HOUR: (usize, u64) = (7, 60);
const DAY: (usize, u64) = (25, 360);

/// One window's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Snapshot {
    pub sum: u64,
    pub tps: f64,
    pub avgpt: f64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at_ms: i64,
    value: u64,
    times: u64,
}

#[derive(Debug, Default)]
struct Item {
    value: u64,
    times: u64,
    minute: VecDeque<Sample>,
    hour: VecDeque<Sample>,
    day: VecDeque<Sample>,
}

impl Item {
    fn sample(&mut self, tick: u64, now: i64, period_ms: i64) {
        let now_sample = Sample {
            at_ms: now,
            value: self.value,
            times: self.times,
        };
        for (list, (keep, every)) in [
            (&mut self.minute, MINUTE),
            (&mut self.hour, HOUR),
            (&mut self.day, DAY),
        ] {
            if !tick.is_multiple_of(every) {
                continue;
            }
            // RocketMQ starts each window with a zero sample one step back,
            // so a new item's first window is not empty.
            if list.is_empty() {
                let step = period_ms.saturating_mul(i64::try_from(every).unwrap_or(i64::MAX));
                list.push_back(Sample {
                    at_ms: now.saturating_sub(step),
                    value: 0,
                    times: 0,
                });
            }
            list.push_back(now_sample);
            while list.len() > keep {
                list.pop_front();
            }
        }
    }
}

/// The figures between two samples (none: all zero).
fn between(first: Option<&Sample>, last: Option<&Sample>) -> Snapshot {
    let (Some(first), Some(last)) = (first, last) else {
        return Snapshot::default();
    };
    let sum = last.value.saturating_sub(first.value);
    let ms = last.at_ms.saturating_sub(first.at_ms);
    let times = last.times.saturating_sub(first.times);
    Snapshot {
        sum,
        tps: if ms > 0 {
            sum as f64 * 1000.0 / ms as f64
        } else {
            0.0
        },
        avgpt: if times > 0 {
            sum as f64 / times as f64
        } else {
            0.0
        },
    }
}

/// A whole window: its first and last sample.
fn window(list: &VecDeque<Sample>) -> Snapshot {
    between(list.front(), list.back())
}

/// The last step of a window: its last two samples.
fn last_step(list: &VecDeque<Sample>) -> Snapshot {
    between(list.iter().rev().nth(1), list.back())
}

/// The three windows of one item.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Windows {
    pub minute: Snapshot,
    pub hour: Snapshot,
    pub day: Snapshot,
}

pub struct Stats {
    cluster: String,
    broker: String,
    period: Duration,
    items: Mutex<HashMap<(&'static str, String), Item>>,
    /// What the sampler last read off each queue (topic, queue id).
    put_seen: Mutex<HashMap<(String, i32), u64>>,
    mornings: Mutex<Mornings>,
}

/// The broker's put and get totals at the last two local midnights
/// (RocketMQ's `BrokerStats`: 0 until the first midnight).
#[derive(Debug, Default, Clone, Copy)]
pub struct Mornings {
    day: Option<chrono::NaiveDate>,
    pub put_today: u64,
    pub put_yesterday: u64,
    pub get_today: u64,
    pub get_yesterday: u64,
}

impl Stats {
    pub fn new(cluster: &str, broker: &str, period: Duration) -> Self {
        Self {
            cluster: cluster.to_owned(),
            broker: broker.to_owned(),
            period: period.max(Duration::from_millis(10)),
            items: Mutex::new(HashMap::new()),
            put_seen: Mutex::new(HashMap::new()),
            mornings: Mutex::new(Mornings::default()),
        }
    }

    pub fn mornings(&self) -> Mornings {
        *self.mornings.lock()
    }

    /// Moves the midnight totals on when the local date changed.
    fn roll_day(&self, today: chrono::NaiveDate) {
        let (put, get) = (
            self.total(BROKER_PUT_NUMS_WITHOUT_SYSTEM_TOPIC, &self.cluster),
            self.total(BROKER_GET_NUMS_WITHOUT_SYSTEM_TOPIC, &self.cluster),
        );
        let mut m = self.mornings.lock();
        match m.day {
            Some(day) if day != today => {
                m.put_yesterday = m.put_today;
                m.get_yesterday = m.get_today;
                m.put_today = put;
                m.get_today = get;
            }
            _ => {}
        }
        m.day = Some(today);
    }

    /// The per-second rates over the last 10 s, minute and 10 minutes
    /// (RocketMQ's `putTps`): the last two samples of the minute list, the
    /// minute list, and the last two of the hour list.
    pub fn recent_tps(&self, name: &'static str, key: &str) -> [f64; 3] {
        let items = self.items.lock();
        let Some(item) = items.get(&(name, key.to_owned())) else {
            return [0.0; 3];
        };
        [
            last_step(&item.minute).tps,
            window(&item.minute).tps,
            last_step(&item.hour).tps,
        ]
    }

    /// Adds `value` to an item; `calls` counts one call for the average
    /// per call (RocketMQ counts none for the broker totals, and Basalt
    /// cannot for puts, which it samples).
    fn add(
        items: &mut HashMap<(&'static str, String), Item>,
        name: &'static str,
        key: &str,
        value: u64,
        calls: bool,
    ) {
        let item = items.entry((name, key.to_owned())).or_default();
        item.value = item.value.saturating_add(value);
        item.times = item.times.saturating_add(u64::from(calls));
    }

    /// A pull of `topic` by `group` that delivered `n` messages.
    pub fn got(&self, topic: &str, group: &str, n: usize) {
        let n = n as u64;
        let key = format!("{topic}@{group}");
        let mut items = self.items.lock();
        Self::add(&mut items, GROUP_GET_NUMS, &key, n, true);
        Self::add(&mut items, BROKER_GET_NUMS, &self.cluster, n, false);
        if !self.is_system(topic) {
            let name = BROKER_GET_NUMS_WITHOUT_SYSTEM_TOPIC;
            Self::add(&mut items, name, &self.cluster, n, false);
        }
    }

    /// Drops a deleted topic's items (RocketMQ's `onTopicDeleted`).
    pub fn topic_deleted(&self, topic: &str) {
        let group_prefix = format!("{topic}@");
        self.items.lock().retain(|(name, key), _| match *name {
            TOPIC_PUT_NUMS => key != topic,
            GROUP_GET_NUMS => !key.starts_with(&group_prefix),
            _ => true,
        });
        self.put_seen.lock().retain(|(t, _), _| t != topic);
    }

    /// Drops a deleted group's items (RocketMQ's `onGroupDeleted`).
    pub fn group_deleted(&self, group: &str) {
        let suffix = format!("@{group}");
        self.items
            .lock()
            .retain(|(name, key), _| *name != GROUP_GET_NUMS || !key.ends_with(&suffix));
    }

    /// An item's windows; `None` if nothing was counted under it.
    pub fn windows(&self, name: &str, key: &str) -> Option<Windows> {
        let name = NAMES.into_iter().find(|n| *n == name)?;
        let items = self.items.lock();
        let item = items.get(&(name, key.to_owned()))?;
        Some(Windows {
            minute: window(&item.minute),
            hour: window(&item.hour),
            day: window(&item.day),
        })
    }

    /// An item's running sum (0 if nothing was counted).
    pub fn total(&self, name: &'static str, key: &str) -> u64 {
        self.items
            .lock()
            .get(&(name, key.to_owned()))
            .map_or(0, |i| i.value)
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// Counts the entries put since the last look, queue by queue (a
    /// queue's max offset only grows by the entries put to it; one that
    /// fell was deleted and made again, and counts from zero).
    fn read_puts(&self, store: &Store, topics: &Topics) {
        // Counted apart from the items: pulls wait on their lock, not on
        // this scan of every queue.
        let mut puts = Vec::new();
        {
            let mut seen = self.put_seen.lock();
            for (name, ends) in queue_ends(store, topics) {
                let mut put = 0u64;
                for (q, now) in ends.into_iter().enumerate() {
                    let q = i32::try_from(q).unwrap_or(i32::MAX);
                    let before = seen.insert((name.clone(), q), now).unwrap_or(0);
                    put += if now >= before { now - before } else { now };
                }
                if put > 0 {
                    puts.push((name, put));
                }
            }
        }
        if puts.is_empty() {
            return;
        }
        let (mut broker, mut user) = (0u64, 0u64);
        let mut items = self.items.lock();
        for (name, put) in &puts {
            Self::add(&mut items, TOPIC_PUT_NUMS, name, *put, false);
            broker += put;
            if !self.is_system(name) {
                user += put;
            }
        }
        Self::add(&mut items, BROKER_PUT_NUMS, &self.cluster, broker, false);
        if user > 0 {
            let name = BROKER_PUT_NUMS_WITHOUT_SYSTEM_TOPIC;
            Self::add(&mut items, name, &self.cluster, user, false);
        }
    }

    /// RocketMQ's system topics, with the ones named after this broker:
    /// its cluster, its name, and the cluster's reply topic.
    fn is_system(&self, topic: &str) -> bool {
        crate::topics::is_system(topic)
            || topic == self.cluster
            || topic == self.broker
            || topic
                .strip_suffix("_REPLY_TOPIC")
                .is_some_and(|c| c == self.cluster)
    }

    fn sample(&self, tick: u64) {
        let now = now_ms();
        let period_ms = i64::try_from(self.period.as_millis()).unwrap_or(i64::MAX);
        for item in self.items.lock().values_mut() {
            item.sample(tick, now, period_ms);
        }
    }

    /// Samples every period until `stop`. Puts made before the start (a
    /// restart's store) are not counted as put now.
    pub async fn run(self: Arc<Self>, store: Store, topics: Arc<Topics>, stop: CancellationToken) {
        let mut seen = HashMap::new();
        for (name, ends) in queue_ends(&store, &topics) {
            for (q, end) in ends.into_iter().enumerate() {
                seen.insert((name.clone(), i32::try_from(q).unwrap_or(i32::MAX)), end);
            }
        }
        *self.put_seen.lock() = seen;
        let mut every = tokio::time::interval(self.period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick = 0u64;
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = every.tick() => {}
            }
            self.read_puts(&store, &topics);
            self.sample(tick);
            self.roll_day(chrono::Local::now().date_naive());
            tick = tick.wrapping_add(1);
        }
    }
}

/// Every topic's queue ends (max offsets), queue 0 first.
fn queue_ends(store: &Store, topics: &Topics) -> Vec<(String, Vec<u64>)> {
    topics
        .all()
        .into_iter()
        .map(|(name, config)| {
            let queues = config.read_queue_nums.max(config.write_queue_nums).max(0);
            let ends = (0..queues).map(|q| store.max_offset(&name, q)).collect();
            (name, ends)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_report_the_sum_between_first_and_last_sample() {
        let stats = Stats::new("c", "b", Duration::from_secs(10));
        stats.got("T", "g", 5);
        stats.sample(0);
        stats.got("T", "g", 3);
        stats.got("T", "g", 2);
        stats.sample(1);
        let w = stats.windows(GROUP_GET_NUMS, "T@g").unwrap_or_default();
        assert_eq!(w.minute.sum, 10);
        assert!((w.minute.avgpt - 10.0 / 3.0).abs() < 1e-9, "{w:?}");
        // Broker totals count no calls (RocketMQ's avgpt 0 there).
        let b = stats.windows(BROKER_GET_NUMS, "c").unwrap_or_default();
        assert_eq!((b.minute.sum, b.minute.avgpt), (10, 0.0));
        assert!(w.minute.tps > 0.0);
        // The hour and day windows took only the first tick's sample (and
        // their zero start).
        assert_eq!(w.hour.sum, 5);
        assert_eq!(w.day.sum, 5);
        assert_eq!(stats.total(BROKER_GET_NUMS, "c"), 10);
        assert!(stats.windows(GROUP_GET_NUMS, "T@other").is_none());
        // The minute keeps 7 samples: old counts leave it.
        for tick in 2..20 {
            stats.sample(tick);
        }
        let w = stats.windows(GROUP_GET_NUMS, "T@g").unwrap_or_default();
        assert_eq!(w.minute.sum, 0);
        assert_eq!(w.day.sum, 5);
        stats.group_deleted("g");
        assert!(stats.windows(GROUP_GET_NUMS, "T@g").is_none());
        assert!(stats.windows(BROKER_GET_NUMS, "c").is_some());
    }

    #[test]
    fn midnight_totals_move_on_when_the_date_changes() {
        let stats = Stats::new("c", "b", Duration::from_secs(10));
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default();
        stats.roll_day(day(27));
        stats.got("T", "g", 4);
        stats.got("RMQ_SYS_TRANS_HALF_TOPIC", "CID_RMQ_SYS_TRANS", 7);
        stats.roll_day(day(27));
        assert_eq!(stats.mornings().get_today, 0);
        stats.roll_day(day(28));
        stats.got("T", "g", 1);
        stats.roll_day(day(29));
        let m = stats.mornings();
        assert_eq!((m.get_yesterday, m.get_today), (4, 5));
    }
}
