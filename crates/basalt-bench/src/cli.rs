//! Flags of `basalt bench producer | consumer | echo`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, Subcommand, Clone)]
pub enum BenchCommand {
    /// Send messages as fast as the workers can and report TPS and RT.
    Producer(ProducerArgs),
    /// Pull a topic's queues and report the receive rate and end-to-end latency.
    Consumer(ConsumerArgs),
    /// A bare server answering every send SEND_OK without storing (and
    /// routes to itself): the ceiling of the client/loopback path.
    Echo(EchoArgs),
}

/// How a producer worker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SendMode {
    /// One blocking request at a time per worker.
    Sync,
    /// Up to `--inflight` outstanding requests per worker.
    Async,
    /// Fire and forget; RT is the time to hand the frame to the writer.
    Oneway,
}

/// Request header encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderFormat {
    Json,
    Rocketmq,
}

#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Name server address (`host:port`); routes come from it.
    #[arg(short = 'n', long = "namesrv", default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic.
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Seconds to run (per ramp step for the producer).
    #[arg(short = 'd', long, default_value_t = 10)]
    pub duration: u64,
    /// Write the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Request timeout in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub timeout_ms: u64,
    /// Do not print the per-second progress lines.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ProducerArgs {
    #[command(flatten)]
    pub common: Common,
    /// Body size in bytes.
    #[arg(short = 's', long, default_value_t = 128)]
    pub size: usize,
    /// Concurrent workers (the starting point with `--ramp`).
    #[arg(short = 'w', long, default_value_t = 64)]
    pub threads: usize,
    /// TCP connections per broker; workers share them round-robin. Apache's
    /// client uses one.
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    #[arg(long, value_enum, default_value_t = SendMode::Sync)]
    pub mode: SendMode,
    /// Outstanding requests per worker in async mode.
    #[arg(long, default_value_t = 32)]
    pub inflight: usize,
    /// Messages per request; above 1 uses SEND_BATCH_MESSAGE.
    #[arg(short = 'b', long, default_value_t = 1)]
    pub batch: usize,
    /// Stop after this many requests instead of after `--duration`.
    #[arg(long)]
    pub count: Option<u64>,
    /// Double the workers each step (of `--duration` seconds) until TPS
    /// stops rising by more than 5% over the best step so far, two steps
    /// in a row (one step within the noise does not end the ramp), or
    /// `--max-threads` is passed.
    #[arg(long)]
    pub ramp: bool,
    #[arg(long, default_value_t = 512)]
    pub max_threads: usize,
    #[arg(long, value_enum, default_value_t = HeaderFormat::Rocketmq)]
    pub header: HeaderFormat,
    /// Producer group in the send header.
    #[arg(long, default_value = "benchmark_producer")]
    pub group: String,
}

/// Where a consumer starts in each queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StartFrom {
    /// Offset 0: drain what is stored.
    Earliest,
    /// The queue's max offset: only what arrives while running.
    Latest,
}

#[derive(Debug, Args, Clone)]
pub struct ConsumerArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(short = 'g', long, default_value = "benchmark_consumer")]
    pub group: String,
    #[arg(long, value_enum, default_value_t = StartFrom::Earliest)]
    pub from: StartFrom,
    /// Messages per pull.
    #[arg(long, default_value_t = 32)]
    pub pull_batch: i32,
    #[arg(long, value_enum, default_value_t = HeaderFormat::Rocketmq)]
    pub header: HeaderFormat,
    /// Stop once every queue reached the max offset it had at the start
    /// (or `--duration` passed): the rate is then the backlog over the time
    /// it took to drain, not over the whole duration.
    #[arg(long)]
    pub drain: bool,
}

#[derive(Debug, Args, Clone)]
pub struct EchoArgs {
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Port; 0 picks a free one.
    #[arg(long, default_value_t = 10911)]
    pub port: u16,
    /// Write `{"pid":..,"namesrv":"a:p","broker":"a:p"}` here once serving.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// Write queues the echo route offers.
    #[arg(long, default_value_t = 4)]
    pub queues: i32,
}
