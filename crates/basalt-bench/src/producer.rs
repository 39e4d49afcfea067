//! `basalt bench producer`: N workers sending fixed random bodies.
//!
//! Like Apache's `benchmark.Producer`: each sync worker does one blocking
//! send after another; queues are taken round-robin from the topic's route.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use basalt_message::{encode_batch, BatchItem, Properties};
use basalt_protocol::headers::send::SendMessageRequestV2;
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use basalt_remoting::{Connection, RemotingError};
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;

use crate::cli::{HeaderFormat, ProducerArgs, SendMode};
use crate::report::{self, Recorder, Summary};
use crate::route::{self, AUTO_CREATE_TOPIC, DEFAULT_TOPIC_QUEUE_NUMS};
use crate::BenchError;

/// What `--json` holds for a producer run.
#[derive(Debug, Serialize)]
pub struct ProducerReport {
    pub tool: &'static str,
    pub topic: String,
    pub mode: SendMode,
    pub header: HeaderFormat,
    pub size: usize,
    pub batch: usize,
    pub connections: usize,
    /// One per ramp step (one without `--ramp`).
    pub steps: Vec<Summary>,
    /// The step with the highest TPS.
    pub best: Summary,
}

/// Connections per broker and the queues to cycle through.
struct Fleet {
    /// (broker index, queue id)
    queues: Vec<(usize, i32)>,
    conns: Vec<Vec<Arc<Connection>>>,
    next: AtomicUsize,
}

impl Fleet {
    fn pick(&self, worker: usize) -> Option<(&Arc<Connection>, i32)> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (broker, queue) = self.queues.get(n % self.queues.len().max(1))?;
        let conns = self.conns.get(*broker)?;
        let conn = conns.get(worker % conns.len().max(1))?;
        Some((conn, *queue))
    }
}

/// Builds the send requests.
struct Template {
    topic: String,
    group: String,
    body: Bytes,
    batch: usize,
    serialize: SerializeType,
    uniq_prefix: String,
    seq: AtomicI64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A fixed pseudo-random body (xorshift), printable like Java's.
fn body(size: usize) -> Bytes {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id());
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'a' + (x % 26) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

impl Template {
    fn new(a: &ProducerArgs) -> Self {
        Self {
            topic: a.common.topic.clone(),
            group: a.group.clone(),
            body: body(a.size),
            batch: a.batch.max(1),
            serialize: match a.header {
                HeaderFormat::Json => SerializeType::Json,
                HeaderFormat::Rocketmq => SerializeType::RocketMq,
            },
            uniq_prefix: format!("{:08X}{:08X}", std::process::id(), now_ms() as u32),
            seq: AtomicI64::new(0),
        }
    }

    fn uniq_key(&self) -> String {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{}{seq:016X}", self.uniq_prefix)
    }

    fn build(&self, queue_id: i32) -> Result<RemotingCommand, BenchError> {
        let (code, props, body, batch) = if self.batch > 1 {
            let items = (0..self.batch)
                .map(|_| {
                    let mut p = Properties::new();
                    p.insert("UNIQ_KEY", self.uniq_key());
                    p.insert("WAIT", "true");
                    BatchItem {
                        flag: 0,
                        body: self.body.clone(),
                        properties: p,
                    }
                })
                .collect::<Vec<_>>();
            let body = Bytes::from(encode_batch(&items)?);
            (
                RequestCode::SendBatchMessage,
                "WAIT\u{1}true\u{2}".to_owned(),
                body,
                Some(true),
            )
        } else {
            (
                RequestCode::SendMessageV2,
                format!("UNIQ_KEY\u{1}{}\u{2}WAIT\u{1}true\u{2}", self.uniq_key()),
                self.body.clone(),
                None,
            )
        };
        let mut cmd = RemotingCommand::request(code)
            .with_header(&SendMessageRequestV2 {
                a: self.group.as_str().into(),
                b: self.topic.clone(),
                c: AUTO_CREATE_TOPIC.into(),
                d: DEFAULT_TOPIC_QUEUE_NUMS,
                e: queue_id,
                f: 0,
                g: now_ms(),
                h: 0,
                i: Some(props),
                j: Some(0),
                k: Some(false),
                m: batch,
                ..SendMessageRequestV2::default()
            })
            .with_body(body);
        cmd.serialize_type = self.serialize;
        Ok(cmd)
    }
}

struct Step {
    fleet: Arc<Fleet>,
    template: Arc<Template>,
    rec: Arc<Recorder>,
    budget: Option<Arc<AtomicI64>>,
    timeout: Duration,
    mode: SendMode,
    inflight: usize,
}

impl Step {
    /// Takes one request from the `--count` budget; false when it is spent.
    fn take(&self) -> bool {
        match &self.budget {
            None => true,
            Some(b) => {
                if b.fetch_sub(1, Ordering::Relaxed) > 0 {
                    true
                } else {
                    self.rec.stop();
                    false
                }
            }
        }
    }

    fn outcome(
        &self,
        slot: &report::Slot,
        started: Instant,
        r: Result<RemotingCommand, RemotingError>,
    ) {
        match r {
            Ok(resp) if resp.response_code() == ResponseCode::Success => {
                slot.record(started.elapsed())
            }
            Ok(resp) => self.rec.fail(|| {
                format!(
                    "response code {}: {}",
                    resp.code,
                    resp.remark.unwrap_or_default()
                )
            }),
            Err(e) => self.rec.fail(|| e.to_string()),
        }
    }

    async fn worker(self: Arc<Self>, i: usize) {
        let Some(slot) = self.rec.slot(i) else { return };
        let mut pending = FuturesUnordered::new();
        while !self.rec.stopped() && self.take() {
            let Some((conn, queue)) = self.fleet.pick(i) else {
                return;
            };
            if conn.is_closed() {
                self.rec
                    .fail(|| format!("connection to {} closed", conn.peer()));
                self.rec.stop();
                return;
            }
            let cmd = match self.template.build(queue) {
                Ok(c) => c,
                Err(e) => {
                    self.rec.fail(|| e.to_string());
                    self.rec.stop();
                    return;
                }
            };
            let started = Instant::now();
            match self.mode {
                SendMode::Sync => {
                    let r = conn.invoke(cmd, self.timeout).await;
                    self.outcome(&slot, started, r);
                }
                SendMode::Oneway => match conn.send_oneway(cmd).await {
                    Ok(()) => slot.record(started.elapsed()),
                    Err(e) => self.rec.fail(|| e.to_string()),
                },
                SendMode::Async => {
                    let conn = Arc::clone(conn);
                    let timeout = self.timeout;
                    pending.push(async move { (started, conn.invoke(cmd, timeout).await) });
                    if pending.len() >= self.inflight.max(1) {
                        if let Some((s, r)) = pending.next().await {
                            self.outcome(&slot, s, r);
                        }
                    }
                }
            }
        }
        while let Some((s, r)) = pending.next().await {
            self.outcome(&slot, s, r);
        }
    }
}

async fn run_step(
    a: &ProducerArgs,
    fleet: &Arc<Fleet>,
    template: &Arc<Template>,
    workers: usize,
) -> Result<Summary, BenchError> {
    let rec = Recorder::new(workers, a.batch)?;
    let step = Arc::new(Step {
        fleet: Arc::clone(fleet),
        template: Arc::clone(template),
        rec: Arc::clone(&rec),
        budget: a
            .count
            .map(|c| Arc::new(AtomicI64::new(i64::try_from(c).unwrap_or(i64::MAX)))),
        timeout: Duration::from_millis(a.common.timeout_ms),
        mode: a.mode,
        inflight: a.inflight,
    });
    let handles = (0..workers)
        .map(|i| tokio::spawn(Arc::clone(&step).worker(i)))
        .collect::<Vec<_>>();
    let until = match a.count {
        Some(_) => None,
        None => Some(Instant::now() + Duration::from_secs(a.common.duration)),
    };
    let label = format!("{:?}x{workers}", a.mode).to_lowercase();
    let summary = report::report(&rec, label, workers, until, a.common.quiet).await?;
    // Workers finish their request in flight (bounded by the timeout).
    for h in handles {
        let _ = h.await;
    }
    Ok(summary)
}

/// Steps in a row without a 5% rise that end a ramp.
const RAMP_PATIENCE: usize = 2;

/// Runs the producer (a ramp with `--ramp`) and returns its report.
pub async fn run(a: ProducerArgs) -> Result<ProducerReport, BenchError> {
    if a.threads == 0 || a.connections == 0 || a.size == 0 {
        return Err(BenchError::Args(
            "--threads, --connections and --size must be positive".into(),
        ));
    }
    let timeout = Duration::from_millis(a.common.timeout_ms);
    let targets = route::write_queues(&a.common.namesrv, &a.common.topic, timeout).await?;
    let mut brokers: Vec<String> = Vec::new();
    let mut queues = Vec::new();
    for t in targets {
        let idx = match brokers.iter().position(|b| *b == t.broker_addr) {
            Some(i) => i,
            None => {
                brokers.push(t.broker_addr.clone());
                brokers.len() - 1
            }
        };
        queues.push((idx, t.queue_id));
    }
    let mut conns = Vec::new();
    for b in &brokers {
        let mut per = Vec::new();
        for _ in 0..a.connections {
            per.push(route::connect(b).await?);
        }
        conns.push(per);
    }
    println!(
        "producer: topic {} on {} ({} queues), {:?}, {} B body, batch {}, {} connection(s) per broker",
        a.common.topic,
        brokers.join(","),
        queues.len(),
        a.mode,
        a.size,
        a.batch,
        a.connections
    );
    let fleet = Arc::new(Fleet {
        queues,
        conns,
        next: AtomicUsize::new(0),
    });
    let template = Arc::new(Template::new(&a));
    let mut steps: Vec<Summary> = Vec::new();
    let mut workers = a.threads;
    let mut flat = 0;
    loop {
        let s = run_step(&a, &fleet, &template, workers).await?;
        s.print("producer");
        let best = steps.iter().map(|p| p.tps).fold(0.0, f64::max);
        flat = if s.tps > best * 1.05 { 0 } else { flat + 1 };
        steps.push(s);
        if !a.ramp || flat >= RAMP_PATIENCE || workers.saturating_mul(2) > a.max_threads {
            break;
        }
        workers *= 2;
    }
    let best = steps
        .iter()
        .max_by(|x, y| x.tps.total_cmp(&y.tps))
        .cloned()
        .ok_or_else(|| BenchError::Args("no step ran".into()))?;
    if a.ramp {
        println!(
            "ramp: saturation at {} workers: {:.0} msg/s, rt avg {:.3} p99 {:.3} max {:.3} ms",
            best.workers, best.tps, best.rt.avg_ms, best.rt.p99_ms, best.rt.max_ms
        );
    }
    for per in &fleet.conns {
        for c in per {
            c.close();
        }
    }
    let report = ProducerReport {
        tool: "basalt-bench",
        topic: a.common.topic.clone(),
        mode: a.mode,
        header: a.header,
        size: a.size,
        batch: a.batch,
        connections: a.connections,
        steps,
        best,
    };
    if let Some(path) = &a.common.json {
        report::write_json(path, &report)?;
    }
    Ok(report)
}
