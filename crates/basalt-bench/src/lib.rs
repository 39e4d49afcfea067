//! `basalt bench`: a load generator for any RocketMQ name server + broker,
//! and a bare echo server that gives the ceiling of the client/loopback path.
//!
//! Sits outside the data path, on the client side of it: it speaks the
//! remoting protocol through `basalt-remoting` and `basalt-protocol` as any
//! producer or consumer would, and resolves routes from the name server, so
//! it loads Apache RocketMQ exactly as it loads Basalt. It must not depend on
//! any role crate (`basalt-broker`, `basalt-namesrv`, `basalt-store`): what
//! it measures has to be reachable only over the wire.
//!
//! ```text
//! producer: N workers -> M connections per broker -> SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE
//! consumer: one pull loop per read queue -> PULL_MESSAGE (long poll)
//! echo:     GET_ROUTEINFO_BY_TOPIC -> itself; sends -> SEND_OK, nothing stored
//! ```

pub mod cli;
pub mod consumer;
pub mod echo;
pub mod error;
pub mod producer;
pub mod report;
pub mod route;

pub use cli::{BenchArgs, BenchCommand};
pub use error::BenchError;

/// Runs one `basalt bench` subcommand to its end.
pub async fn run(args: BenchArgs) -> Result<(), BenchError> {
    match args.command {
        BenchCommand::Producer(p) => producer::run(p).await.map(|_| ()),
        BenchCommand::Consumer(c) => consumer::run(c).await.map(|_| ()),
        BenchCommand::Echo(e) => echo::run(e).await,
    }
}
