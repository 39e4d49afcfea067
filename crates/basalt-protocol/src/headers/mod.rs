//! Typed headers, one file per request family.

pub mod namesrv;
