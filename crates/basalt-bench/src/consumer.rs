//! `basalt bench consumer`: one long-polling pull loop per read queue.
//!
//! The rate counts messages received; the latency is end to end, from the
//! message's born timestamp (the producer's clock, milliseconds) to receipt.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use basalt_message::BlankOrRecord;
use basalt_protocol::headers::client::{OffsetResponse, QueueRequest};
use basalt_protocol::headers::pull::{sys_flag, PullMessageRequest, PullMessageResponse};
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use basalt_remoting::Connection;
use bytes::Bytes;
use serde::Serialize;

use crate::cli::{ConsumerArgs, HeaderFormat, StartFrom};
use crate::report::{self, Recorder, Slot, Summary};
use crate::route::{self, QueueTarget};
use crate::BenchError;

/// Long-poll time the broker may hold a pull.
const SUSPEND_MS: i64 = 1000;

/// What `--json` holds for a consumer run.
#[derive(Debug, Serialize)]
pub struct ConsumerReport {
    pub tool: &'static str,
    pub topic: String,
    pub from: StartFrom,
    pub queues: usize,
    /// RT figures are end-to-end latencies (born timestamp to receipt).
    pub summary: Summary,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

struct Puller {
    conn: Arc<Connection>,
    topic: String,
    group: String,
    queue_id: i32,
    batch: i32,
    serialize: SerializeType,
    timeout: Duration,
}

impl Puller {
    async fn max_offset(&self) -> Result<i64, BenchError> {
        let mut cmd =
            RemotingCommand::request(RequestCode::GetMaxOffset).with_header(&QueueRequest {
                topic: self.topic.clone(),
                queue_id: self.queue_id,
            });
        cmd.serialize_type = self.serialize;
        let r = self
            .conn
            .invoke(cmd, self.timeout)
            .await
            .map_err(|source| BenchError::Remoting {
                what: "GET_MAX_OFFSET",
                source,
            })?;
        if r.response_code() != ResponseCode::Success {
            return Err(BenchError::Refused {
                what: "GET_MAX_OFFSET",
                code: r.code,
                remark: r.remark.unwrap_or_default(),
            });
        }
        Ok(r.header::<OffsetResponse>()?.offset)
    }

    fn pull_cmd(&self, offset: i64) -> RemotingCommand {
        let mut cmd =
            RemotingCommand::request(RequestCode::PullMessage).with_header(&PullMessageRequest {
                consumer_group: self.group.clone(),
                topic: self.topic.clone(),
                queue_id: self.queue_id,
                queue_offset: offset,
                max_msg_nums: self.batch,
                sys_flag: sys_flag::SUSPEND | sys_flag::SUBSCRIPTION,
                commit_offset: 0,
                suspend_timeout_millis: SUSPEND_MS,
                subscription: Some("*".into()),
                sub_version: 0,
                expression_type: Some("TAG".into()),
                max_msg_bytes: None,
            });
        cmd.serialize_type = self.serialize;
        cmd
    }

    async fn run(self, mut offset: i64, drain: Option<Drain>, rec: Arc<Recorder>, slot: Arc<Slot>) {
        let timeout = self.timeout + Duration::from_millis(SUSPEND_MS as u64);
        while !rec.stopped() {
            if let Some(d) = drain.as_ref().filter(|d| offset >= d.target) {
                if d.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                    rec.stop();
                }
                return;
            }
            let r = match self.conn.invoke(self.pull_cmd(offset), timeout).await {
                Ok(r) => r,
                Err(e) => {
                    rec.fail(|| format!("pull queue {}: {e}", self.queue_id));
                    if self.conn.is_closed() {
                        return;
                    }
                    continue;
                }
            };
            let code = r.response_code();
            match code {
                ResponseCode::Success
                | ResponseCode::PullNotFound
                | ResponseCode::PullRetryImmediately
                | ResponseCode::PullOffsetMoved => {}
                _ => {
                    rec.fail(|| {
                        format!(
                            "pull code {}: {}",
                            r.code,
                            r.remark.clone().unwrap_or_default()
                        )
                    });
                    continue;
                }
            }
            match r.header::<PullMessageResponse>() {
                Ok(h) => offset = h.next_begin_offset,
                Err(e) => {
                    rec.fail(|| format!("pull response header: {e}"));
                    continue;
                }
            }
            if code == ResponseCode::Success {
                let now = now_ms();
                if let Err(e) = each_born(&r.body, |born| {
                    let ms = u64::try_from(now.saturating_sub(born)).unwrap_or(0);
                    slot.record_us(ms.saturating_mul(1000));
                }) {
                    rec.fail(|| format!("pull body: {e}"));
                }
            }
        }
    }
}

/// A drain run: this queue is done at `target`; the run stops when the
/// last queue is.
struct Drain {
    target: i64,
    remaining: Arc<AtomicUsize>,
}

/// Calls `f` with the born timestamp of every record in a pull body.
fn each_born(body: &Bytes, mut f: impl FnMut(i64)) -> Result<(), BenchError> {
    let mut rest = body.clone();
    while let Some(size) = rest.get(..4) {
        let mut four = [0u8; 4];
        four.copy_from_slice(size);
        let size = usize::try_from(i32::from_be_bytes(four)).unwrap_or(0);
        if size == 0 || size > rest.len() {
            return Err(BenchError::Args(format!(
                "bad record size {size} in pull body"
            )));
        }
        let one = rest.split_to(size);
        if let BlankOrRecord::Record(r) = BlankOrRecord::decode(&one, false)? {
            f(r.born_timestamp);
        }
    }
    Ok(())
}

/// Runs the consumer for `--duration` seconds and returns its report.
pub async fn run(a: ConsumerArgs) -> Result<ConsumerReport, BenchError> {
    let timeout = Duration::from_millis(a.common.timeout_ms);
    let queues: Vec<QueueTarget> =
        route::read_queues(&a.common.namesrv, &a.common.topic, timeout).await?;
    let mut conns: BTreeMap<String, Arc<Connection>> = BTreeMap::new();
    for q in &queues {
        if !conns.contains_key(&q.broker_addr) {
            conns.insert(q.broker_addr.clone(), route::connect(&q.broker_addr).await?);
        }
    }
    println!(
        "consumer: topic {} on {} ({} queues), from {:?}",
        a.common.topic,
        conns.keys().cloned().collect::<Vec<_>>().join(","),
        queues.len(),
        a.from
    );
    let rec = Recorder::new(queues.len(), 1)?;
    let mut pullers = Vec::new();
    for (i, q) in queues.iter().enumerate() {
        let Some(conn) = conns.get(&q.broker_addr) else {
            continue;
        };
        let p = Puller {
            conn: Arc::clone(conn),
            topic: a.common.topic.clone(),
            group: a.group.clone(),
            queue_id: q.queue_id,
            batch: a.pull_batch,
            serialize: match a.header {
                HeaderFormat::Json => SerializeType::Json,
                HeaderFormat::Rocketmq => SerializeType::RocketMq,
            },
            timeout,
        };
        let max = p.max_offset().await?;
        let start = match a.from {
            StartFrom::Earliest => 0,
            StartFrom::Latest => max,
        };
        pullers.push((i, p, start, max));
    }
    let remaining = Arc::new(AtomicUsize::new(pullers.len()));
    let mut handles = Vec::new();
    for (i, p, start, max) in pullers {
        let drain = a.drain.then(|| Drain {
            target: max,
            remaining: Arc::clone(&remaining),
        });
        if let Some(slot) = rec.slot(i) {
            handles.push(tokio::spawn(p.run(start, drain, Arc::clone(&rec), slot)));
        }
    }
    let until = Some(Instant::now() + Duration::from_secs(a.common.duration));
    let summary = report::report(&rec, "pull".into(), queues.len(), until, a.common.quiet).await?;
    summary.print("consumer");
    for h in handles {
        let _ = h.await;
    }
    for c in conns.values() {
        c.close();
    }
    let report = ConsumerReport {
        tool: "basalt-bench",
        topic: a.common.topic.clone(),
        from: a.from,
        queues: queues.len(),
        summary,
    };
    if let Some(path) = &a.common.json {
        report::write_json(path, &report)?;
    }
    Ok(report)
}
