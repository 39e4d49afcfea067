//! Latency histograms, the per-second progress line, and the summary.
//!
//! Each worker records into its own slot (an uncontended lock); once a
//! second the reporter folds every slot into the interval and the run total.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde::Serialize;

use crate::BenchError;

/// Highest recordable latency: one minute, in microseconds.
const MAX_US: u64 = 60_000_000;

fn histogram() -> Result<Histogram<u64>, BenchError> {
    Histogram::new_with_bounds(1, MAX_US, 3).map_err(|e| BenchError::Histogram(e.to_string()))
}

/// One worker's latencies since the last report.
pub struct Slot {
    hist: Mutex<Histogram<u64>>,
}

impl Slot {
    /// Records one successful request that took `rt`.
    pub fn record(&self, rt: Duration) {
        let us = u64::try_from(rt.as_micros()).unwrap_or(MAX_US);
        self.record_us(us);
    }

    pub fn record_us(&self, us: u64) {
        self.hist.lock().saturating_record(us.clamp(1, MAX_US));
    }
}

/// Shared by the workers of one run and its reporter.
pub struct Recorder {
    slots: Vec<Arc<Slot>>,
    failures: AtomicU64,
    first_failure: Mutex<Option<String>>,
    stop: AtomicBool,
    /// Messages per recorded request (the batch size).
    per_request: u64,
}

impl Recorder {
    pub fn new(workers: usize, per_request: usize) -> Result<Arc<Self>, BenchError> {
        let mut slots = Vec::with_capacity(workers);
        for _ in 0..workers.max(1) {
            slots.push(Arc::new(Slot {
                hist: Mutex::new(histogram()?),
            }));
        }
        Ok(Arc::new(Self {
            slots,
            failures: AtomicU64::new(0),
            first_failure: Mutex::new(None),
            stop: AtomicBool::new(false),
            per_request: per_request.max(1) as u64,
        }))
    }

    /// The slot of worker `i`.
    pub fn slot(&self, i: usize) -> Option<Arc<Slot>> {
        self.slots.get(i % self.slots.len().max(1)).cloned()
    }

    pub fn fail(&self, why: impl FnOnce() -> String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_failure.lock();
        if first.is_none() {
            *first = Some(why());
        }
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn drain_into(&self, into: &mut Histogram<u64>) {
        for slot in &self.slots {
            let mut h = slot.hist.lock();
            // Both histograms share bounds, so adding cannot fail.
            let _ = into.add(&*h);
            h.reset();
        }
    }
}

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Rt {
    pub avg_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Rt {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            avg_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// One progress line.
#[derive(Debug, Clone, Serialize)]
pub struct Second {
    pub t: u64,
    pub tps: f64,
    pub rt: Rt,
    pub failures: u64,
}

/// The figures of one run (or one ramp step).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub label: String,
    pub workers: usize,
    pub seconds: f64,
    /// Messages acknowledged (requests x batch).
    pub messages: u64,
    pub failures: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
    /// Messages per second over the whole run.
    pub tps: f64,
    pub rt: Rt,
    pub per_second: Vec<Second>,
}

impl Summary {
    pub fn print(&self, what: &str) {
        println!(
            "{what} summary [{}]: {} workers, {:.1} s, {} msgs, {:.0} msg/s, {}, failures {}",
            self.label,
            self.workers,
            self.seconds,
            self.messages,
            self.tps,
            fmt_rt(&self.rt),
            self.failures
        );
        if let Some(f) = &self.first_failure {
            println!("first failure: {f}");
        }
    }
}

fn fmt_rt(rt: &Rt) -> String {
    format!(
        "rt avg {:.3} p50 {:.3} p99 {:.3} p999 {:.3} max {:.3} ms",
        rt.avg_ms, rt.p50_ms, rt.p99_ms, rt.p999_ms, rt.max_ms
    )
}

/// Prints a line each second until `rec` is stopped (by the caller, or
/// because `until` passed), then returns the run's summary.
pub async fn report(
    rec: &Recorder,
    label: String,
    workers: usize,
    until: Option<Instant>,
    quiet: bool,
) -> Result<Summary, BenchError> {
    let start = Instant::now();
    let mut total = histogram()?;
    let mut interval = histogram()?;
    let mut per_second = Vec::new();
    let mut failures_seen = 0;
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let mut last = start;
    loop {
        let done = tokio::select! {
            _ = tick.tick() => until.is_some_and(|u| Instant::now() >= u) || rec.stopped(),
            () = wait_stopped(rec) => true,
        };
        if done {
            rec.stop();
        }
        let now = Instant::now();
        interval.reset();
        rec.drain_into(&mut interval);
        let _ = total.add(&interval);
        let failures = rec.failures.load(Ordering::Relaxed);
        let elapsed = now.duration_since(last).as_secs_f64().max(1e-9);
        last = now;
        let line = Second {
            t: now.duration_since(start).as_secs(),
            tps: (interval.len() * rec.per_request) as f64 / elapsed,
            rt: Rt::of(&interval),
            failures: failures - failures_seen,
        };
        failures_seen = failures;
        if !quiet && !done {
            println!(
                "[{:>4}s] {label} tps {:>9.0} | {} | failures {}",
                line.t,
                line.tps,
                fmt_rt(&line.rt),
                line.failures
            );
        }
        if !done {
            per_second.push(line);
        }
        if done {
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64().max(1e-9);
    let messages = total.len() * rec.per_request;
    Ok(Summary {
        label,
        workers,
        seconds,
        messages,
        failures: rec.failures.load(Ordering::Relaxed),
        first_failure: rec.first_failure.lock().clone(),
        tps: messages as f64 / seconds,
        rt: Rt::of(&total),
        per_second,
    })
}

async fn wait_stopped(rec: &Recorder) {
    while !rec.stopped() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), BenchError> {
    let io = |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = serde_json::to_vec_pretty(value).map_err(|e| io(std::io::Error::other(e)))?;
    std::fs::write(path, text).map_err(io)
}
