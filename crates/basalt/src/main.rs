//! The `basalt` binary: starts roles on one runtime.
//!
//! Sits above every role crate; it parses flags and `.properties` files,
//! binds listeners, hands each role its listener and a shutdown future, and
//! writes `<data-dir>/run/ready.json` once everything serves.

mod cli;
mod inspect;
mod print_config;
mod properties;
mod run;

use clap::Parser;

// The send and pull paths allocate a few small buffers per message; glibc's
// malloc spent ~15% of the broker's CPU on them under load (perf, 256
// producer threads), mimalloc's thread-local free lists far less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(cli.log_level.as_str())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // At least two workers: a worker blocked in a CommitLog write stuck on
    // the disk must leave another to serve the name server and the
    // connections that do not write (one core would give one). An
    // explicit TOKIO_WORKER_THREADS still wins.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get().max(2)));
    }
    let runtime = builder.enable_all().thread_name("basalt").build()?;
    match cli.command {
        cli::Command::Inspect(args) => inspect::run(&args),
        command => runtime.block_on(run::run(command)),
    }
}
