//! The message store at the bottom of Basalt's data path.
//!
//! The broker hands typed messages ([`basalt_message::MessageExtBrokerInner`])
//! to [`Store::put`]; the store appends them to the CommitLog in Apache
//! RocketMQ's on-disk format, indexes them into per-queue ConsumeQueues and
//! IndexFiles, applies the flush policy (SYNC_FLUSH group commit or
//! ASYNC_FLUSH), and serves pulls from [`Store::get`] as zero-copy slices of
//! the mapped files. Readers wait for "new data in topic/queue" on
//! [`Store::arrival_signal`]; it never calls up into the broker.
//!
//! Depends on `basalt-message` only: nothing on protocol, remoting or broker.
//! `unsafe` lives in one module (`mmap`), each block with a `// SAFETY:` note.
//!
//! # Guarantees
//!
//! - **Acknowledgement.** Under `SYNC_FLUSH` a put answers
//!   [`PutStatus::PutOk`] only once its bytes are durable (msync through the
//!   [`Disk`] seam), or [`PutStatus::FlushDiskTimeout`] after
//!   `syncFlushTimeout` (the record stays stored and is flushed later).
//!   Dropping the future after the append likewise leaves the record stored.
//!   [`Store::append`] leaves that wait to the caller, who hears of every
//!   sync through a [`DurabilityListener`].
//!   Under `ASYNC_FLUSH` a put answers once the record is in the page cache.
//! - **Visibility.** A record is readable by [`Store::get`] and wakes the waiters
//!   of [`Store::arrival_signal`] once it is committed to the file: under
//!   ASYNC_FLUSH before [`Store::put`] or [`Store::append`] returns (records
//!   of [`Store::stage`] at the caller's [`Store::commit_staged`]); with
//!   the transient store pool, when the flusher commits it; under
//!   SYNC_FLUSH once the group commit has written and synced it (RocketMQ
//!   dispatches up to its flushed position there, `getConfirmOffset`).
//!   Whatever a put acknowledged is in the page cache, and survives the
//!   process.
//! - **Poisoning.** A failed sync or CommitLog write poisons the store:
//!   every later write fails with [`StoreError::Poisoned`], and records
//!   staged behind a failed write are never written (their puts were
//!   answered as failed); reads go on; reopening recovers.
//! - **Recovery.** The `abort` marker tells a crash from a clean shutdown.
//!   A torn tail is truncated; an invalid record followed by valid data is
//!   refused with file and offset ([`RecoveryPolicy`], default
//!   `TRUNCATE_TORN_TAIL`). ConsumeQueues and index are trimmed to the
//!   CommitLog end and rebuilt from it where entries are missing.
//! - **Disk full.** ENOSPC while creating a file, or usage above
//!   `diskMaxUsedSpaceRatio`, refuses writes with [`StoreError::DiskFull`];
//!   reads go on and writes resume when space returns.
//! - **Exclusivity.** One `Store` per directory (flock on `<root>/lock`).

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
mod queue_admin;
mod read;
mod recovery;
mod retention;
mod scan;
mod segments;
mod signals;
mod stall;
mod store;
mod topic_delete;
mod transient;
mod types;
mod warm;

pub use checkpoint::CheckpointData;
pub use config::{FlushDiskType, RecoveryPolicy, StoreConfig};
pub use consume_queue::CqEntry;
pub use delay::{DelayLevels, SCHEDULE_TOPIC};
pub use disk::{Disk, DiskUsage, RealDisk};
pub use error::{Result, StoreError};
pub use flush::DurabilityListener;
pub use queue_admin::{QueueEntries, MAX_QUEUE_ENTRIES};
pub use retention::Retention;
pub use stall::StalledWrite;
pub use store::Store;
pub use types::{
    AppendResult, AppendResults, Appended, GetResult, GetStatus, PutOutcome, PutStatus,
    RecoveryReport,
};
