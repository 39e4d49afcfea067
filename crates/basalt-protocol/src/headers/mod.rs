//! Typed headers, one file per request family.

pub mod admin;
pub mod client;
pub mod namesrv;
pub mod pull;
pub mod send;
pub mod transaction;
