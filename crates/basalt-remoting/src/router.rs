//! Request code -> handler, with a concurrency limit per request family.
//!
//! The router table is the only list of codes a role serves. A code that is
//! not in it is answered REQUEST_CODE_NOT_SUPPORTED, as Java does.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use basalt_protocol::command::FLAG_RESPONSE;
use basalt_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use futures::FutureExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::hold::{Gate, Outbound, Reply};
use crate::Connection;

/// A request as a handler sees it: the command and the connection it came on
/// (to learn the peer, or to call the client back later).
pub struct Request {
    pub cmd: RemotingCommand,
    pub conn: Arc<Connection>,
}

type BoxFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;
/// Calls a handler and polls its future once, with the connection's
/// context: the reply if it is ready, or the rest of the work, boxed.
type Handler = Arc<dyn Fn(Request, &mut Context<'_>) -> Poll<Reply, BoxFuture> + Send + Sync>;

/// A handler's first poll: its reply, or the future still to run.
enum Poll<T, F> {
    Ready(T),
    Pending(F),
}

/// Polls a handler's future once where it was made; `park` turns it into
/// the boxed future the connection awaits if it must wait.
fn poll_first<Fut>(
    mut fut: Fut,
    cx: &mut Context<'_>,
    park: impl FnOnce(Fut) -> BoxFuture,
) -> Poll<Reply, BoxFuture>
where
    Fut: Future + Unpin,
    Fut::Output: Into<Reply>,
{
    match Pin::new(&mut fut).poll(cx) {
        std::task::Poll::Ready(out) => Poll::Ready(out.into()),
        std::task::Poll::Pending => Poll::Pending(park(fut)),
    }
}

type CloseHook = Arc<dyn Fn(&Connection) + Send + Sync>;
type BurstHook = Arc<dyn Fn(u64) -> u64 + Send + Sync>;

/// The burst hook and how a reply it could not cover is rewritten.
#[derive(Clone)]
struct BurstEnd {
    hook: BurstHook,
    on_failure: fn(&mut RemotingCommand),
}

impl BurstEnd {
    /// Runs the hook for a reply that finished outside a burst, and
    /// rewrites the reply if the hook fell short of its position.
    fn settle(&self, reply: &mut Reply) {
        let position = reply.hook_position();
        if position > 0 && (self.hook)(position) < position {
            if let Reply::Staged { cmd, .. } = reply {
                (self.on_failure)(cmd);
            }
        }
    }
}

/// A group of request codes that share a concurrency limit, like one of
/// Java's processor thread pools. Requests beyond `limit` wait; beyond
/// `limit + queue` waiting, or waiting longer than the family's wait
/// limit, they are refused with SYSTEM_BUSY, which clients take as a cue
/// to retry elsewhere.
pub struct Family {
    name: &'static str,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    max_wait: Option<Duration>,
}

impl Family {
    pub fn new(name: &'static str, limit: usize, queue: usize) -> Arc<Self> {
        Self::with_max_wait(name, limit, queue, None)
    }

    /// A family whose requests wait for a permit at most `max_wait`
    /// (RocketMQ's `waitTimeMillsInSendQueue` and friends, enforced by its
    /// `BrokerFastFailure`).
    pub fn with_max_wait(
        name: &'static str,
        limit: usize,
        queue: usize,
        max_wait: Option<Duration>,
    ) -> Arc<Self> {
        Arc::new(Self {
            name,
            permits: Arc::new(Semaphore::new(limit.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
            max_wait,
        })
    }

    /// Requests waiting for a permit now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Runs `handler` under a permit. The permit comes back with the
    /// reply, so a held reply keeps counting against the limit until it is
    /// written.
    async fn run(&self, handler: Handler, req: Request) -> (Reply, Option<OwnedSemaphorePermit>) {
        let permit = match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    let busy = RemotingCommand::response(
                        ResponseCode::SystemBusy,
                        format!(
                            "[OVERLOAD]system busy, {} requests queued in {}",
                            self.queue, self.name
                        ),
                    );
                    return (busy.into(), None);
                }
                let acquire = Arc::clone(&self.permits).acquire_owned();
                let acquired = match self.max_wait {
                    Some(max) => tokio::time::timeout(max, acquire).await,
                    None => Ok(acquire.await),
                };
                let queued = self.waiting.fetch_sub(1, Ordering::AcqRel);
                match acquired {
                    Ok(Ok(p)) => p,
                    Err(_) => {
                        let busy = RemotingCommand::response(
                            ResponseCode::SystemBusy,
                            format!(
                                "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: {}ms, size of queue: {}",
                                self.max_wait.map_or(0, |d| d.as_millis()),
                                queued
                            ),
                        );
                        return (busy.into(), None);
                    }
                    Ok(Err(_)) => {
                        let closed = RemotingCommand::response(
                            ResponseCode::SystemBusy,
                            format!("[REJECTREQUEST]{} is closed", self.name),
                        );
                        return (closed.into(), None);
                    }
                }
            }
        };
        let mut req = Some(req);
        let code = req.as_ref().map_or(0, |r| r.cmd.code);
        let first = std::future::poll_fn(|cx| {
            let started = req
                .take()
                .map(|req| std::panic::catch_unwind(AssertUnwindSafe(|| handler(req, cx))));
            std::task::Poll::Ready(started)
        })
        .await;
        let reply = match first {
            Some(Ok(Poll::Ready(reply))) => reply,
            Some(Ok(Poll::Pending(fut))) => AssertUnwindSafe(fut)
                .catch_unwind()
                .await
                .unwrap_or_else(|_| handler_failed(code)),
            // A handler that panicked is answered, as on the direct path.
            Some(Err(_)) => handler_failed(code),
            // poll_fn's closure ran once, with the request.
            None => RemotingCommand::response(ResponseCode::SystemError, None).into(),
        };
        (reply, Some(permit))
    }
}

/// Maps request codes to handlers.
#[derive(Default, Clone)]
pub struct Router {
    routes: HashMap<i32, (Handler, Arc<Family>)>,
    close_hooks: Vec<CloseHook>,
    burst_end: Option<BurstEnd>,
    gate: Option<Gate>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Holds [`Reply::Held`] responses until `gate` reaches their position.
    pub fn with_gate(mut self, gate: Gate) -> Self {
        self.gate = Some(gate);
        self
    }

    pub(crate) fn gate(&self) -> Option<Gate> {
        self.gate.clone()
    }

    /// Serves `code` with `handler` under `family`'s limit. The handler
    /// answers a [`RemotingCommand`] or a [`Reply`]. Its future is boxed
    /// when called; [`Self::route_unpin`] avoids that.
    pub fn route<F, Fut>(mut self, code: RequestCode, family: &Arc<Family>, handler: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Into<Reply>,
    {
        let handler: Handler = Arc::new(move |req, cx| {
            let fut = handler(req);
            let fut: BoxFuture = Box::pin(async move { fut.await.into() });
            // Already boxed: kept as it is if it must wait.
            poll_first(fut, cx, |f| f)
        });
        self.routes
            .insert(code.as_i32(), (handler, Arc::clone(family)));
        self
    }

    /// [`Self::route`] for a handler whose future can move once polled:
    /// it is polled where it was made, and boxed only if it must wait.
    /// The send handler answers in its first poll (its future is an
    /// `Either` of a ready value and a box), so a send costs no
    /// allocation for its dispatch.
    pub fn route_unpin<F, Fut>(
        mut self,
        code: RequestCode,
        family: &Arc<Family>,
        handler: F,
    ) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future + Unpin + Send + 'static,
        Fut::Output: Into<Reply>,
    {
        let handler: Handler = Arc::new(move |req, cx| {
            poll_first(handler(req), cx, |f| {
                Box::pin(async move { f.await.into() })
            })
        });
        self.routes
            .insert(code.as_i32(), (handler, Arc::clone(family)));
        self
    }

    /// Serves `code` with a synchronous handler over shared state `S`: the
    /// common shape of a role's handlers, which see only the state they use.
    pub fn route_sync<S, F>(
        self,
        code: RequestCode,
        family: &Arc<Family>,
        state: &Arc<S>,
        handler: F,
    ) -> Self
    where
        S: Send + Sync + 'static,
        F: Fn(&S, &Request) -> RemotingCommand + Send + Sync + 'static,
    {
        let state = Arc::clone(state);
        self.route(code, family, move |req| {
            std::future::ready(handler(&state, &req))
        })
    }

    /// Runs `hook` when a connection closes (e.g. to forget a broker or a
    /// client registered through it).
    pub fn on_close(mut self, hook: impl Fn(&Connection) + Send + Sync + 'static) -> Self {
        self.close_hooks.push(Arc::new(hook));
        self
    }

    /// Runs `hook` each time a connection has started every request it had
    /// read (up to a burst's limit), before their responses go to the
    /// writer (Netty's `channelReadComplete`), when any of them answered
    /// [`Reply::Staged`]: with the furthest position they wait for. Work a
    /// burst of handlers left for later (the broker's staged appends) is
    /// finished there, once. A request that finishes outside a burst runs
    /// it for its own position.
    ///
    /// The hook returns how far it got: at least the position it was given
    /// once all of it is done. A staged reply past what it reached (its
    /// work failed) goes through `on_failure` before it is written, so no
    /// client is told of success for work that was not done.
    pub fn on_burst_end(
        mut self,
        hook: impl Fn(u64) -> u64 + Send + Sync + 'static,
        on_failure: fn(&mut RemotingCommand),
    ) -> Self {
        self.burst_end = Some(BurstEnd {
            hook: Arc::new(hook),
            on_failure,
        });
        self
    }

    /// Runs the burst hook for `position`; returns how far it got
    /// (`u64::MAX` when there was nothing to run).
    pub(crate) fn burst_end(&self, position: u64) -> u64 {
        match self.burst_end.as_ref().filter(|_| position > 0) {
            Some(end) => (end.hook)(position),
            None => u64::MAX,
        }
    }

    /// Rewrites a burst's reply its hook did not cover (see
    /// [`Self::on_burst_end`]).
    pub(crate) fn burst_failed(&self, cmd: &mut RemotingCommand) {
        if let Some(end) = &self.burst_end {
            (end.on_failure)(cmd);
        }
    }

    pub(crate) fn closed(&self, conn: &Connection) {
        for hook in &self.close_hooks {
            hook(conn);
        }
    }

    /// Starts one request: looks its handler up and polls it once, here.
    /// Most handlers (a send under ASYNC_FLUSH or SYNC_FLUSH, offset and
    /// route queries) finish in that poll, and their response comes back
    /// at once, without a task, a box around the dispatch or clones of the
    /// connection for it. Requests that wait (long polls, a full family)
    /// come back as a future to run in a task of their own. `None` in
    /// either is a oneway request, which is never answered.
    pub(crate) fn start(&self, req: Request, cx: &mut Context<'_>) -> Started {
        let meta = Meta {
            oneway: req.cmd.is_oneway(),
            opaque: req.cmd.opaque,
            code: req.cmd.code,
            serialize_type: req.cmd.serialize_type,
        };
        let Some((handler, family)) = self.routes.get(&meta.code) else {
            let unsupported = RemotingCommand::response(
                ResponseCode::RequestCodeNotSupported,
                format!(" request type {} not supported", meta.code),
            );
            return Started::Now(meta.finish(unsupported.into(), None), 0);
        };
        let Ok(permit) = Arc::clone(&family.permits).try_acquire_owned() else {
            // The handler runs once a permit frees, outside any burst: what
            // it left staged is finished by the burst hook here, as a
            // burst's end would have.
            let (handler, family) = (Arc::clone(handler), Arc::clone(family));
            let burst_end = self.burst_end.clone();
            return Started::Later(Box::pin(async move {
                let (mut reply, permit) = family.run(handler, req).await;
                if let Some(end) = &burst_end {
                    end.settle(&mut reply);
                }
                meta.finish(reply, permit)
            }));
        };
        // A handler that panics is answered SYSTEM_ERROR, as RocketMQ
        // answers a processor's exception: the client learns at once
        // instead of at its timeout.
        match std::panic::catch_unwind(AssertUnwindSafe(|| handler(req, cx))) {
            Err(_) => Started::Now(meta.finish(handler_failed(meta.code), Some(permit)), 0),
            Ok(Poll::Ready(reply)) => {
                let position = reply.hook_position();
                Started::Now(meta.finish(reply, Some(permit)), position)
            }
            Ok(Poll::Pending(fut)) => {
                let burst_end = self.burst_end.clone();
                Started::Later(Box::pin(async move {
                    let mut reply = AssertUnwindSafe(fut)
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|_| handler_failed(meta.code));
                    if let Some(end) = &burst_end {
                        end.settle(&mut reply);
                    }
                    meta.finish(reply, Some(permit))
                }))
            }
        }
    }
}

fn handler_failed(code: i32) -> Reply {
    tracing::error!(request = code, "request handler panicked");
    RemotingCommand::response(
        ResponseCode::SystemError,
        format!("request {code} failed inside the server"),
    )
    .into()
}

/// A started request (see [`Router::start`]): answered at once, with the
/// position the burst hook must reach before the answer goes out (0 for
/// none), or later.
pub(crate) enum Started {
    Now(Option<Outbound>, u64),
    Later(Pin<Box<dyn Future<Output = Option<Outbound>> + Send>>),
}

/// What answering a request needs to know of it once its handler has it.
#[derive(Clone, Copy)]
struct Meta {
    oneway: bool,
    opaque: i32,
    code: i32,
    serialize_type: SerializeType,
}

impl Meta {
    /// The response to send, or `None` for a oneway request, which is never
    /// answered (not even on error).
    fn finish(self, reply: Reply, permit: Option<OwnedSemaphorePermit>) -> Option<Outbound> {
        let (mut response, until, staged) = match reply {
            Reply::Now(cmd) => (cmd, None, None),
            // The caller ran the hook (or leaves it to the burst's end).
            Reply::Staged { cmd, end } => (cmd, None, Some(end)),
            Reply::Held { cmd, until } => (cmd, Some(until), None),
        };
        if self.oneway {
            // Nobody hears a refused oneway request (END_TRANSACTION,
            // UNREGISTER_CLIENT, ...): say it here.
            if response.code != ResponseCode::Success.as_i32() {
                tracing::warn!(
                    request = self.code,
                    response = response.code,
                    remark = ?response.remark,
                    "oneway request refused"
                );
            }
            return None;
        }
        response.opaque = self.opaque;
        response.flag |= FLAG_RESPONSE;
        // Answer in the header format the request used: every official
        // client decodes both (the format is in the frame), and the binary
        // one costs a fraction of JSON on the send path.
        response.serialize_type = self.serialize_type;
        Some(match (until, staged) {
            (Some(until), _) => Outbound::Held {
                cmd: response,
                until,
                permit,
            },
            (None, Some(end)) => Outbound::Staged { cmd: response, end },
            (None, None) => Outbound::Now(response),
        })
    }
}
