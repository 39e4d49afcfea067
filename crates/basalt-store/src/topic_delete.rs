//! Deleting a topic's ConsumeQueues (RocketMQ `deleteTopics`), and the
//! tombstones that keep recovery from bringing them back.
//!
//! The topic's records stay in the CommitLog until retention removes their
//! files. A recovery that re-dispatches the CommitLog would rebuild the
//! deleted queues from them (or mix them into a re-created topic's new
//! queues), so each deletion leaves a tombstone: records of that topic below
//! the CommitLog end at deletion are not dispatched again.
//!
//! ```text
//! <storePathRootDir>/deletedTopics.json   {"<topic>": <commit-log end at deletion>, ...}
//! ```
//! Basalt-only; Apache RocketMQ ignores the file. A tombstone is dropped once
//! retention has removed every CommitLog file below it.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::append::validate_topic;
use crate::error::{Result, StoreError};
use crate::store::{Shared, Store};

const FILE: &str = "deletedTopics.json";

fn path(root: &Path) -> PathBuf {
    root.join(FILE)
}

/// Loads the tombstones (none when the file is missing).
pub(crate) fn load(root: &Path) -> Result<HashMap<String, u64>> {
    let p = path(root);
    match fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            file: p,
            offset: 0,
            reason: format!("deleted-topic tombstones: {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
        Err(e) => Err(StoreError::io("read", p, e)),
    }
}

/// Writes the tombstones durably (temp file, fsync, rename, fsync dir).
fn save(root: &Path, tombstones: &HashMap<String, u64>) -> Result<()> {
    let p = path(root);
    let tmp = root.join(format!("{FILE}.tmp"));
    let json = serde_json::to_vec(tombstones).map_err(|e| StoreError::Corrupt {
        file: p.clone(),
        offset: 0,
        reason: format!("deleted-topic tombstones do not serialise: {e}"),
    })?;
    let write = || -> std::io::Result<()> {
        let f = fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut &f, &json)?;
        f.sync_all()?;
        fs::rename(&tmp, &p)?;
        fs::File::open(root)?.sync_all()
    };
    write().map_err(|e| StoreError::io("write", &p, e))
}

/// Prefix of a deleted topic's queue directory, moved into the store root
/// until it is removed; one left by a crash is removed at the next open.
const TRASH_PREFIX: &str = ".deleted-queues-";

/// A name no other deletion uses (not the topic's: with the prefix, a
/// long retry topic's would pass the file system's name limit).
fn trash_name() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{TRASH_PREFIX}{nanos}-{seq}")
}

/// Removes deleted topics' queue directories a crash left behind.
pub(crate) fn empty_trash(root: &Path) -> Result<()> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) => return Err(StoreError::io("read dir", root, e)),
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(TRASH_PREFIX)
        {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(|e| StoreError::io("delete", path, e))?;
        }
    }
    Ok(())
}

impl Shared {
    /// Is the record of `topic` at `phys` from before the topic was deleted?
    pub(crate) fn deleted_record(&self, topic: &str, phys: u64) -> bool {
        self.deleted_topics
            .lock()
            .get(topic)
            .is_some_and(|end| phys < *end)
    }
}

impl Store {
    /// Deletes `topic`'s ConsumeQueues: files, in-memory queues and the next
    /// queue offsets, so a later put to the same topic starts at queue offset
    /// 0 (RocketMQ `deleteTopics`). Returns false when the store had no
    /// queue for it. Pulls already holding the queue finish on the unlinked
    /// files. The CommitLog records stay until retention removes them and are
    /// not dispatched again by recovery. Blocking (file deletion).
    pub fn delete_topic(&self, topic: &str) -> Result<bool> {
        self.delete_topic_if(topic, || true)
    }

    /// [`Store::delete_topic`] if `still_wanted` holds once no put can
    /// reach the topic's queues: a caller deleting topics it found unused
    /// checks there that none was created since.
    pub fn delete_topic_if(
        &self,
        topic: &str,
        still_wanted: impl FnOnce() -> bool,
    ) -> Result<bool> {
        validate_topic(topic, 0)?;
        let s = &self.shared;
        let root = &s.config.store_path_root_dir;
        let _files = s.queue_files.lock();
        // Under the append lock no put assigns this topic's offsets meanwhile.
        let mut st = s.append.lock();
        if !s.queues.has_topic(topic) || !still_wanted() {
            return Ok(false);
        }
        // The tombstone is durable before anything is forgotten: a failed
        // save leaves the topic as it was (forgetting its next offsets first
        // made the next put overwrite the queue from offset 0).
        {
            let mut tombstones = s.deleted_topics.lock();
            let min = s.commitlog.segments().min_offset();
            let mut next = tombstones.clone();
            next.retain(|_, end| *end > min);
            next.insert(topic.to_owned(), s.commitlog.end());
            save(root, &next)?;
            *tombstones = next;
        }
        for (_, _, cq) in s.queues.all().iter().filter(|(t, _, _)| t == topic) {
            // A file being created ahead must not land in the removed directory.
            cq.segments().settle_ahead();
        }
        // Moved aside under the lock, deleted after it: a put right after
        // the lock creates the topic's directory anew, and deleting by name
        // took that one (the queue then wrote to unlinked files and failed
        // at its next file).
        let trash = move_aside(root, &s.config.consume_queue_dir().join(topic))?;
        // Forgotten only once their files are out of the way: a put to a
        // forgotten queue whose files were still there would reopen them at
        // their old end while numbering its messages from 0. (Queues are
        // created only under the append lock, which is held.)
        let queues = s.queues.remove_topic(topic).unwrap_or_default();
        st.queue_offsets.remove(topic);
        drop(st);
        if let Some(trash) = trash {
            remove(&trash)?;
        }
        tracing::info!(topic, queues = queues.len(), "topic deleted from the store");
        Ok(true)
    }
}

/// Takes a queue directory out of the store, under the append lock: moved
/// into the trash, returned to be [`remove`]d after the lock; on another
/// file system (a linked queue directory) deleted in place at once, before
/// a put can create it anew. `None` when nothing is left to remove.
pub(crate) fn move_aside(root: &Path, dir: &Path) -> Result<Option<PathBuf>> {
    let trash = root.join(trash_name());
    match fs::rename(dir, &trash) {
        Ok(()) => Ok(Some(trash)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            remove(dir)?;
            Ok(None)
        }
        Err(e) => Err(StoreError::io("move aside", dir, e)),
    }
}

/// Deletes what [`move_aside`] moved.
pub(crate) fn remove(trash: &Path) -> Result<()> {
    match fs::remove_dir_all(trash) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(StoreError::io("delete", trash, e))
        }
        _ => Ok(()),
    }
}
