#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

mod basics;
mod faults;
mod flush;
mod interop;
mod kill9;
mod queue_admin;
mod recovery;
mod stall;
mod transient;
