//! Request handlers, one file per family, and the router table: the only
//! list of codes the broker serves.

pub mod admin;
pub mod broker_wide;
pub mod client;
pub mod consumer_admin;
pub mod consumer_call;
pub mod locks;
pub mod offset;
pub mod pull;
pub mod query;
pub mod queue_view;
pub mod recall;
pub mod reply;
pub mod send;
pub mod send_back;
pub mod stats;
pub mod transaction;

use std::future::Future;
use std::sync::Arc;

use basalt_protocol::{RemotingCommand, RequestCode};
use basalt_remoting::{Family, Reply, Request, Router};
use futures::FutureExt;

use crate::respond::reply;
use crate::BrokerError;

pub type Outcome = Result<RemotingCommand, BrokerError>;

/// Adds a synchronous handler that sees only the state `S` it needs.
pub fn add<S: Send + Sync + 'static>(
    router: Router,
    code: RequestCode,
    family: &Arc<Family>,
    state: &Arc<S>,
    handler: fn(&S, &Request) -> Outcome,
) -> Router {
    router.route_sync(code, family, state, move |s, req| reply(handler(s, req)))
}

/// Adds an async handler over state `S`. It answers a command, or a
/// [`Reply`] that may be held back (a SYNC_FLUSH send, answered once its
/// record is durable). Its future is boxed once, so it may be any future
/// (a long-polling pull waits in that box); see [`add_unpin`] for one
/// that need not be boxed.
pub fn add_async<S, F, Fut, T>(
    router: Router,
    code: RequestCode,
    family: &Arc<Family>,
    state: &Arc<S>,
    handler: F,
) -> Router
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, BrokerError>> + Send + 'static,
    T: Into<Reply> + 'static,
{
    let state = Arc::clone(state);
    router.route(code, family, move |req| {
        handler(Arc::clone(&state), req).map(into_reply)
    })
}

/// [`add_async`] for a handler whose future can move once polled (a ready
/// value, or a box: the send path's). The router polls it where it was
/// made and boxes it only if it must wait: no allocation per send.
pub fn add_unpin<S, F, Fut, T>(
    router: Router,
    code: RequestCode,
    family: &Arc<Family>,
    state: &Arc<S>,
    handler: F,
) -> Router
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, BrokerError>> + Unpin + Send + 'static,
    T: Into<Reply> + 'static,
{
    let state = Arc::clone(state);
    router.route_unpin(code, family, move |req| {
        handler(Arc::clone(&state), req).map(into_reply)
    })
}

fn into_reply<T: Into<Reply>>(outcome: Result<T, BrokerError>) -> Reply {
    outcome.map_or_else(|e| reply(Err(e)).into(), Into::into)
}
