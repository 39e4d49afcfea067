//! The message store at the bottom of Basalt's data path.
//!
//! The broker hands typed messages ([`basalt_message::MessageExtBrokerInner`])
//! to [`Store::put`]; the store appends them to the CommitLog in Apache
//! RocketMQ's on-disk format, indexes them into per-queue ConsumeQueues and
//! IndexFiles, applies the flush policy (SYNC_FLUSH group commit or
//! ASYNC_FLUSH), and serves pulls from [`Store::get`] as zero-copy slices of
//! the mapped files. It publishes "new data for topic/queue" on
//! [`Store::subscribe_arrivals`]; it never calls up into the broker.
//!
//! Depends on `basalt-message` only: nothing on protocol, remoting or broker.
//! `unsafe` lives in one module (`mmap`), each block with a `// SAFETY:` note.

mod append;
mod checkpoint;
mod commitlog;
mod config;
mod consume_queue;
mod delay;
mod disk;
mod error;
mod flush;
mod index;
pub mod inspect;
mod mmap;
mod read;
mod recovery;
mod retention;
mod scan;
mod segments;
mod store;
mod transient;
mod types;

pub use checkpoint::CheckpointData;
pub use config::{FlushDiskType, RecoveryPolicy, StoreConfig};
pub use consume_queue::CqEntry;
pub use delay::SCHEDULE_TOPIC;
pub use disk::{Disk, DiskUsage, RealDisk};
pub use error::{Result, StoreError};
pub use store::Store;
pub use types::{AppendResult, Arrival, GetResult, GetStatus, PutOutcome, PutStatus};
