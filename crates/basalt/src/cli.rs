//! Command-line flags. Every flag can also come from the environment, and
//! overrides the same key in a `-c` properties file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "basalt",
    version,
    about = "A RocketMQ-compatible message broker"
)]
pub struct Cli {
    /// Log filter, e.g. `info`, `debug`, `basalt_remoting=trace`.
    #[arg(long, global = true, env = "BASALT_LOG", default_value = "info")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the name server and a broker in one process.
    Start(RoleArgs),
    /// Run the name server alone.
    Namesrv(RoleArgs),
    /// Run a broker alone, registering with `-n` name servers.
    Broker(RoleArgs),
    /// Check a store directory read-only (CommitLog CRCs, ConsumeQueue
    /// entries) and optionally print every record. Works on stores written
    /// by Apache RocketMQ too.
    Inspect(InspectArgs),
    /// Load tools: `producer`, `consumer`, and a bare `echo` server.
    Bench(basalt_bench::BenchArgs),
}

#[derive(Debug, Args, Clone)]
pub struct InspectArgs {
    /// The store root (`storePathRootDir`, e.g. `./data/store`).
    pub store_dir: PathBuf,
    /// Print every record, not only the summary.
    #[arg(long)]
    pub records: bool,
}

#[derive(Debug, Args, Clone)]
pub struct RoleArgs {
    /// Data directory; created if missing.
    #[arg(long, env = "BASALT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// RocketMQ `.properties` file (namesrv.properties / broker.conf keys).
    #[arg(short = 'c', long = "config", env = "BASALT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Name server port (`listenPort` of namesrv.properties); 0 picks a free one.
    #[arg(long, env = "BASALT_NAMESRV_PORT")]
    pub namesrv_port: Option<u16>,
    /// Broker port (`listenPort` of broker.conf); 0 picks a free one.
    #[arg(long, env = "BASALT_BROKER_PORT")]
    pub broker_port: Option<u16>,
    /// Name servers for a broker (`namesrvAddr`), `;`-separated. Wins over
    /// the config file, which wins over the NAMESRV_ADDR environment
    /// variable (RocketMQ's order).
    #[arg(short = 'n', long = "namesrv-addr")]
    pub namesrv_addr: Option<String>,
    /// Address to bind.
    #[arg(long, env = "BASALT_BIND", default_value = "0.0.0.0")]
    pub bind: String,
    /// Print every setting (defaults, then the config file and flags) as
    /// `key=value` lines and exit, as `mqbroker -p` does.
    #[arg(short = 'p', long = "print-config")]
    pub print_config: bool,
    /// Print the important settings only and exit (`mqbroker -m`).
    #[arg(short = 'm', long = "print-important", conflicts_with = "print_config")]
    pub print_important: bool,
}
