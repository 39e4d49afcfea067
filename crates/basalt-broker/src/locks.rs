//! Queue locks for orderly consumers (RocketMQ's `RebalanceLockManager`):
//! per (group, queue) one owner client; a lock lives 60 s after its last
//! renewal; the owner renews, others wait for expiry.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use basalt_protocol::body::client::MessageQueue;
use parking_lot::Mutex;
use tokio::time::Instant;

/// RocketMQ's `rocketmq.broker.rebalance.lockMaxLiveTime` default.
pub const LOCK_MAX_LIVE: Duration = Duration::from_secs(60);

struct Lease {
    client_id: String,
    renewed: Instant,
}

#[derive(Default)]
pub struct Locks {
    table: Mutex<HashMap<String, HashMap<MessageQueue, Lease>>>,
}

impl Locks {
    /// Locks what it can of `mqs` for `client_id`; returns the queues it
    /// now holds.
    pub fn lock(
        &self,
        group: &str,
        mqs: &BTreeSet<MessageQueue>,
        client_id: &str,
        now: Instant,
    ) -> BTreeSet<MessageQueue> {
        let mut table = self.table.lock();
        let leases = table.entry(group.to_owned()).or_default();
        let mut ok = BTreeSet::new();
        for mq in mqs {
            let free = leases.get(mq).is_none_or(|l| {
                l.client_id == client_id || now.saturating_duration_since(l.renewed) > LOCK_MAX_LIVE
            });
            if free {
                leases.insert(
                    mq.clone(),
                    Lease {
                        client_id: client_id.to_owned(),
                        renewed: now,
                    },
                );
                ok.insert(mq.clone());
            }
        }
        ok
    }

    pub fn unlock(&self, group: &str, mqs: &BTreeSet<MessageQueue>, client_id: &str) {
        if let Some(leases) = self.table.lock().get_mut(group) {
            for mq in mqs {
                if leases.get(mq).is_some_and(|l| l.client_id == client_id) {
                    leases.remove(mq);
                }
            }
        }
    }

    /// True unless some queue of `group` is under a live lock
    /// (RocketMQ's `isLockAllExpired`): an orderly consumer holds them.
    pub fn all_expired(&self, group: &str, now: Instant) -> bool {
        self.table.lock().get(group).is_none_or(|leases| {
            leases
                .values()
                .all(|l| now.saturating_duration_since(l.renewed) > LOCK_MAX_LIVE)
        })
    }

    /// Whether `client_id` holds a live lock on `mq`.
    pub fn is_locked_by(
        &self,
        group: &str,
        mq: &MessageQueue,
        client_id: &str,
        now: Instant,
    ) -> bool {
        self.table
            .lock()
            .get(group)
            .and_then(|l| l.get(mq))
            .is_some_and(|l| {
                l.client_id == client_id
                    && now.saturating_duration_since(l.renewed) <= LOCK_MAX_LIVE
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_renews_others_wait_for_expiry() {
        let locks = Locks::default();
        let mq = MessageQueue {
            broker_name: "b".into(),
            queue_id: 0,
            topic: "T".into(),
        };
        let set = BTreeSet::from([mq.clone()]);
        let t0 = Instant::now();
        assert_eq!(locks.lock("g", &set, "c1", t0).len(), 1);
        assert!(locks
            .lock("g", &set, "c2", t0 + Duration::from_secs(30))
            .is_empty());
        assert_eq!(
            locks
                .lock("g", &set, "c1", t0 + Duration::from_secs(50))
                .len(),
            1
        );
        assert!(locks
            .lock("g", &set, "c2", t0 + Duration::from_secs(100))
            .is_empty());
        assert_eq!(
            locks
                .lock("g", &set, "c2", t0 + Duration::from_secs(111))
                .len(),
            1
        );
        locks.unlock("g", &set, "c1");
        assert!(locks.is_locked_by("g", &mq, "c2", t0 + Duration::from_secs(111)));
        locks.unlock("g", &set, "c2");
        assert!(!locks.is_locked_by("g", &mq, "c2", t0 + Duration::from_secs(111)));
    }
}
