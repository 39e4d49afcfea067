//! Bytes on TCP to typed commands and back.
//!
//! Data path: a [`server`] accepts connections; each [`conn`] decodes frames
//! with the [`codec`] (bounded by the max frame size), hands requests to the
//! [`Router`], which admits them under their family's concurrency limit and
//! calls the role's handler, and writes the reply (at once, or once the
//! router's [`hold`] gate passes the position the reply waits for).
//! Responses to calls this side made (client calls, or server-to-client
//! calls such as transaction check-back) are matched by `opaque` in
//! [`Connection`].
//!
//! Depends on `basalt-protocol` only; knows nothing of brokers or name servers.

pub mod codec;
pub mod conn;
pub mod error;
pub mod hold;
pub mod router;
pub mod server;

pub use conn::{connect, Connection};
pub use error::RemotingError;
pub use hold::{Gate, GateSender, GateState, Reply};
pub use router::{Family, Request, Router};
pub use server::{serve, ServerConfig};
