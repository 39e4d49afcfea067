//! The broker role: producers send here, consumers pull from here.
//!
//! Data path: `basalt-remoting` hands decoded commands to [`handlers`]
//! (one file per request family); they read typed headers from
//! `basalt-protocol`, act on the broker's tables ([`topics`], [`groups`],
//! [`offsets`], [`clients`], [`locks`]) and on the store, and [`respond`]
//! turns every error into a reply. The broker registers itself with name
//! servers through the same remoting client any peer uses.
//!
//! Depends on protocol, remoting and store; nothing depends on it but the
//! binary.

pub mod clients;
pub mod config;
pub mod error;
pub mod groups;
pub mod handlers;
pub mod locks;
pub mod offsets;
pub mod rebuild;
pub mod recall;
pub mod register;
pub mod respond;
mod routes;
pub mod schedule;
mod serve;
pub mod settings;
pub mod stats;
pub mod timer;
pub mod topics;
pub mod transaction;

pub use config::BrokerConfig;
pub use error::BrokerError;
pub use serve::{open, Broker, Listeners};
