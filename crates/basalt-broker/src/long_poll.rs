//! Parked pulls (and the timer) wake on the store's per-queue arrival
//! signal, not on a polling loop.

use std::sync::Arc;

use basalt_store::Store;
use tokio::sync::Notify;

pub struct Arrivals {
    store: Store,
}

impl Arrivals {
    pub fn new(store: &Store) -> Arc<Self> {
        Arc::new(Self {
            store: store.clone(),
        })
    }

    /// The signal of one queue: enable a `notified()` on it, then re-check
    /// the queue before waiting.
    pub fn of(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        self.store.arrival_signal(topic, queue_id)
    }
}
