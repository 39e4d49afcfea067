//! Parked pulls wake on the store's arrival signal, not on a polling loop.
//!
//! The store publishes every append on a broadcast channel; one task here
//! turns those into per-queue `Notify`s that suspended pulls wait on.

use std::collections::HashMap;
use std::sync::Arc;

use basalt_store::Store;
use parking_lot::Mutex;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

type QueueKey = (Arc<str>, i32);

#[derive(Default)]
pub struct Arrivals {
    queues: Mutex<HashMap<QueueKey, Arc<Notify>>>,
}

impl Arrivals {
    /// Starts the task that forwards the store's arrivals until `stop`.
    pub fn spawn(store: &Store, stop: CancellationToken) -> Arc<Self> {
        let this = Arc::new(Self::default());
        let mut rx = store.subscribe_arrivals();
        let me = Arc::clone(&this);
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    () = stop.cancelled() => break,
                    next = rx.recv() => next,
                };
                match next {
                    Ok(a) => {
                        let n = me.queues.lock().get(&(a.topic, a.queue_id)).cloned();
                        if let Some(n) = n {
                            n.notify_waiters();
                        }
                    }
                    // Missed some signals: wake everyone to re-check.
                    Err(RecvError::Lagged(_)) => {
                        for n in me.queues.lock().values() {
                            n.notify_waiters();
                        }
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });
        this
    }

    /// The signal of one queue.
    pub fn of(&self, topic: &str, queue_id: i32) -> Arc<Notify> {
        let mut q = self.queues.lock();
        Arc::clone(q.entry((Arc::from(topic), queue_id)).or_default())
    }
}
