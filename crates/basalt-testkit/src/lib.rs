//! Dev-only helpers shared by the integration tests of every crate.
//!
//! Sits beside the data path, never on it: no production crate depends on
//! it. Tests wait on conditions with deadlines ([`eventually`]) and on the
//! binary's `ready.json` ([`Basalt::start`]), never on sleeps.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Polls `check` until it returns `Some`, or fails after `deadline`.
pub async fn eventually<T, F, Fut>(deadline: Duration, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() >= end {
            return Err(format!("condition not met within {deadline:?}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A running `basalt` process with its own data dir; killed on drop.
pub struct Basalt {
    child: Child,
    data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    ready: serde_json::Value,
}

impl Basalt {
    /// Starts `bin` with `args` plus `--data-dir` in a fresh temp dir and
    /// ports 0, and waits (up to 30 s) for `ready.json`.
    pub fn start(bin: &Path, subcommand: &str, extra: &[&str]) -> Result<Self, String> {
        let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data_dir = tmp.path().join("data");
        let mut s = Self::start_in(bin, subcommand, &data_dir, extra)?;
        s._tmp = Some(tmp);
        Ok(s)
    }

    /// Like [`Basalt::start`], with a data dir the caller owns.
    pub fn start_in(
        bin: &Path,
        subcommand: &str,
        data_dir: &Path,
        extra: &[&str],
    ) -> Result<Self, String> {
        let ready_path = data_dir.join("run").join("ready.json");
        let _ = std::fs::remove_file(&ready_path);
        let mut child = Command::new(bin)
            .arg(subcommand)
            .arg("--data-dir")
            .arg(data_dir)
            .args([
                "--namesrv-port",
                "0",
                "--broker-port",
                "0",
                "--bind",
                "127.0.0.1",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot spawn {}: {e}", bin.display()))?;
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(raw) = std::fs::read(&ready_path) {
                if let Ok(ready) = serde_json::from_slice::<serde_json::Value>(&raw) {
                    return Ok(Self {
                        child,
                        data_dir: data_dir.to_path_buf(),
                        _tmp: None,
                        ready,
                    });
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("basalt exited before ready: {status}"));
            }
            if Instant::now() >= end {
                let _ = child.kill();
                return Err("basalt not ready within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An address from ready.json, e.g. `namesrv`.
    pub fn addr(&self, role: &str) -> Option<String> {
        self.ready.get(role)?.as_str().map(str::to_owned)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit status (up to `deadline`).
    pub fn terminate(&mut self, deadline: Duration) -> Result<std::process::ExitStatus, String> {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err("kill -TERM failed".into());
        }
        let end = Instant::now() + deadline;
        loop {
            if let Some(st) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(st);
            }
            if Instant::now() >= end {
                return Err(format!("still running {deadline:?} after SIGTERM"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Basalt {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
