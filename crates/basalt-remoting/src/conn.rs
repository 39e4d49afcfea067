//! One TCP connection: a reader loop, a writer task, and the table of calls
//! awaiting a response. Servers and clients use the same type, because both
//! ends may send requests (the broker calls clients back).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use basalt_protocol::frame::DEFAULT_MAX_FRAME;
use basalt_protocol::{RemotingCommand, ResponseCode};
use futures::{FutureExt, SinkExt, StreamExt};
use parking_lot::Mutex;
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;

use crate::codec::RemotingCodec;
use crate::hold::{Holding, Outbound};
use crate::router::Started;
use crate::{RemotingError, Request, Router};

/// Outbound commands buffered per connection before senders wait.
const OUTBOUND_QUEUE: usize = 1024;

static NEXT_CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Settings of one connection.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// Largest frame accepted. Default: 16 MiB.
    pub max_frame: usize,
    /// A connection that sends nothing for this long is closed, which also
    /// ends half-open connections. Default: 120 s (RocketMQ's channel idle).
    pub idle_timeout: Duration,
}

impl Default for ConnConfig {
    fn default() -> Self {
        Self {
            max_frame: DEFAULT_MAX_FRAME,
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// A live connection. Cheap to share; handlers get it with each request.
pub struct Connection {
    id: u64,
    peer: SocketAddr,
    local: SocketAddr,
    tx: mpsc::Sender<Outbound>,
    pending: Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>,
    next_opaque: AtomicI32,
    closed: CancellationToken,
}

impl Connection {
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Resolves when the connection has closed.
    pub async fn closed(&self) {
        self.closed.cancelled().await;
    }

    /// Closes the connection; pending calls fail with `Closed`.
    pub fn close(&self) {
        self.closed.cancel();
    }

    fn next_opaque(&self) -> i32 {
        self.next_opaque.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends a request and waits for its response.
    pub async fn invoke(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let opaque = self.next_opaque();
        cmd.opaque = opaque;
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(opaque, tx);
        let outcome = tokio::time::timeout(timeout, async {
            self.tx
                .send(Outbound::Now(cmd))
                .await
                .map_err(|_| RemotingError::Closed)?;
            rx.await.map_err(|_| RemotingError::Closed)
        })
        .await;
        self.pending.lock().remove(&opaque);
        outcome.map_err(|_| RemotingError::Timeout { opaque, timeout })?
    }

    /// Sends a oneway request: no response will come.
    pub async fn send_oneway(&self, cmd: RemotingCommand) -> Result<(), RemotingError> {
        let mut cmd = cmd.oneway();
        cmd.opaque = self.next_opaque();
        self.tx
            .send(Outbound::Now(cmd))
            .await
            .map_err(|_| RemotingError::Closed)
    }

    fn complete(&self, response: RemotingCommand) {
        let waiter = self.pending.lock().remove(&response.opaque);
        match waiter {
            Some(tx) => {
                let _ = tx.send(response);
            }
            None => tracing::debug!(
                peer = %self.peer,
                opaque = response.opaque,
                "response to no pending call (timed out?)"
            ),
        }
    }
}

/// Starts the reader and writer of `stream`. The returned future resolves
/// when the connection has ended, after the router's close hooks ran.
pub(crate) fn start(
    stream: TcpStream,
    router: Arc<Router>,
    config: ConnConfig,
    shutdown: CancellationToken,
) -> Result<(Arc<Connection>, tokio::task::JoinHandle<()>), RemotingError> {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let (read_half, write_half) = stream.into_split();
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let conn = Arc::new(Connection {
        id: NEXT_CONN_ID.fetch_add(1, Ordering::Relaxed),
        peer,
        local,
        tx,
        pending: Mutex::new(HashMap::new()),
        next_opaque: AtomicI32::new(1),
        closed: shutdown.child_token(),
    });
    // A gate step can release hundreds of held replies at once: written
    // 8 KiB at a time (tokio-util's default boundary) they cost a `writev`
    // and a client wake-up each (SYNC_FLUSH at 512 threads: 107 -> 118 K
    // msg/s with 64 KiB, medians of 3).
    let mut sink = FramedWrite::new(write_half, RemotingCodec::new(config.max_frame));
    sink.set_backpressure_boundary(IO_CHUNK);
    let writer = tokio::spawn(write_loop(
        sink,
        rx,
        conn.closed.clone(),
        Holding::new(router.gate()),
    ));
    // 64 KiB reads: tokio-util's default 8 KiB cost the broker a
    // `recvfrom` per ~25 requests under load (0.043 per message at 512
    // threads, 0.0067 with 64 KiB).
    let reader =
        FramedRead::with_capacity(read_half, RemotingCodec::new(config.max_frame), IO_CHUNK);
    let handle = tokio::spawn(read_loop(reader, Arc::clone(&conn), router, config, writer));
    Ok((conn, handle))
}

/// Connects to `addr`; requests the peer sends us are served by `router`.
pub async fn connect(
    addr: impl ToSocketAddrs,
    router: Arc<Router>,
) -> Result<Arc<Connection>, RemotingError> {
    let stream = TcpStream::connect(addr).await?;
    let (conn, _task) = start(
        stream,
        router,
        ConnConfig::default(),
        CancellationToken::new(),
    )?;
    Ok(conn)
}

async fn write_loop(
    mut sink: FramedWrite<tokio::net::tcp::OwnedWriteHalf, RemotingCodec>,
    mut rx: mpsc::Receiver<Outbound>,
    closed: CancellationToken,
    mut held: Holding,
) {
    let mut ready = Vec::new();
    loop {
        let mut gathered = false;
        tokio::select! {
            out = rx.recv() => match out {
                Some(out) => {
                    gathered = matches!(out, Outbound::Burst(_));
                    held.admit(out, &mut ready);
                }
                None => break,
            },
            () = held.changed(), if !held.is_empty() => held.release(&mut ready),
            () = closed.cancelled() => break,
        }
        if ready.is_empty() {
            continue;
        }
        // Let the tasks that are ready run first: handlers finishing in the
        // same tick (a pull batch) then share one write. Without it each
        // response woke this task straight away (tokio's LIFO slot) and
        // cost a `writev` of its own. A read loop's burst comes gathered.
        if !gathered {
            tokio::task::yield_now().await;
        }
        // Batch whatever is queued now into one flush.
        while let Ok(out) = rx.try_recv() {
            held.admit(out, &mut ready);
        }
        let mut result = Ok(());
        for cmd in ready.drain(..) {
            if result.is_ok() {
                result = sink.feed(cmd).await;
            }
        }
        if let Err(e) = result.and(sink.flush().await) {
            tracing::debug!(error = %e, "write failed; closing connection");
            break;
        }
    }
    closed.cancel();
}

/// Bytes a connection reads at once, and writes before flushing.
const IO_CHUNK: usize = 64 << 10;

/// Requests started before their responses go to the writer: bounds the
/// latency a long run of buffered requests adds to the first one.
const MAX_BURST: usize = 64;

/// What a burst of requests leaves for its end: responses, and the
/// requests that finish later.
#[derive(Default)]
struct Burst {
    started: usize,
    /// The furthest position the burst's answers wait for (see
    /// [`crate::Reply::Staged`]); 0 for none.
    hook_position: u64,
    replies: Vec<Outbound>,
    later: Vec<Pin<Box<dyn Future<Output = Option<Outbound>> + Send>>>,
}

impl Burst {
    /// Runs the router's burst hook, then hands the responses to the
    /// writer and the waiting requests to tasks of their own, so nothing
    /// is answered before the hook has run. False once the writer is gone.
    async fn finish(&mut self, router: &Router, conn: &Connection) -> bool {
        if self.started == 0 {
            return true;
        }
        self.started = 0;
        let position = std::mem::take(&mut self.hook_position);
        let reached = router.burst_end(position);
        if reached < position {
            // Rare (the hook's work failed): only then are the staged
            // replies looked at.
            for out in &mut self.replies {
                if let Outbound::Staged { cmd, end } = out {
                    if *end > reached {
                        router.burst_failed(cmd);
                    }
                }
            }
        }
        for fut in self.later.drain(..) {
            let tx = conn.tx.clone();
            drop(tokio::spawn(async move {
                if let Some(out) = fut.await {
                    let _ = tx.send(out).await;
                }
            }));
        }
        // One hand-over for the burst: a send per response cost a
        // channel operation each, and a unit of the task's budget.
        let replies = match self.replies.len() {
            0 => return true,
            1 => self.replies.pop(),
            n => Some(Outbound::Burst(std::mem::replace(
                &mut self.replies,
                Vec::with_capacity(n),
            ))),
        };
        let Some(out) = replies else { return true };
        let now = match &out {
            Outbound::Now(_) | Outbound::Staged { .. } => true,
            Outbound::Burst(all) => all
                .iter()
                .any(|o| matches!(o, Outbound::Now(_) | Outbound::Staged { .. })),
            Outbound::Held { .. } => false,
        };
        if conn.tx.send(out).await.is_err() {
            return false;
        }
        if now {
            // The writer (woken into this worker's LIFO slot) writes the
            // burst now, while the peer can act on it, rather than after
            // the next bursts this loop would read first. Held responses
            // (SYNC_FLUSH sends) wait for the flush anyway.
            tokio::task::yield_now().await;
        }
        true
    }
}

async fn read_loop(
    mut frames: FramedRead<tokio::net::tcp::OwnedReadHalf, RemotingCodec>,
    conn: Arc<Connection>,
    router: Arc<Router>,
    config: ConnConfig,
    writer: tokio::task::JoinHandle<()>,
) {
    // One idle timer re-armed when it fires, not a timeout per frame: a
    // timer registration per request showed in profiles.
    let idle = tokio::time::sleep(config.idle_timeout);
    tokio::pin!(idle);
    let mut last_frame = Instant::now();
    let mut burst = Burst::default();
    loop {
        // Frames already read are taken without waiting; the burst ends
        // when the next one would need the socket (or at its limit).
        let buffered = if burst.started < MAX_BURST {
            frames.next().now_or_never()
        } else {
            None
        };
        let next = match buffered {
            Some(next) => next,
            None => {
                if !burst.finish(&router, &conn).await {
                    break;
                }
                tokio::select! {
                    () = conn.closed.cancelled() => break,
                    () = &mut idle => {
                        let quiet_until = last_frame + config.idle_timeout;
                        if Instant::now() >= quiet_until {
                            tracing::info!(peer = %conn.peer, "closing idle connection");
                            break;
                        }
                        idle.as_mut().reset(quiet_until);
                        continue;
                    }
                    next = frames.next() => {
                        // Once per wait, not per frame: a burst's frames
                        // arrive together, and the clock read showed in
                        // profiles.
                        last_frame = Instant::now();
                        next
                    }
                }
            }
        };
        let frame = match next {
            None => break,
            Some(Err(e)) => {
                tracing::warn!(peer = %conn.peer, error = %e, "closing connection on bad frame");
                break;
            }
            Some(Ok(frame)) => frame,
        };
        match frame {
            Ok(cmd) if cmd.is_response() => conn.complete(cmd),
            Ok(cmd) => {
                let req = Request {
                    cmd,
                    conn: Arc::clone(&conn),
                };
                burst.started += 1;
                match start_request(&router, req).await {
                    Some(Started::Now(out, position)) => {
                        burst.hook_position = burst.hook_position.max(position);
                        burst.replies.extend(out);
                    }
                    None => {}
                    Some(Started::Later(fut)) => burst.later.push(fut),
                }
            }
            Err(e) => {
                // The frame's boundaries were sound, only its header was
                // not: answer, and keep serving the connection.
                tracing::debug!(peer = %conn.peer, error = %e, "undecodable header");
                let reply = RemotingCommand::response(
                    ResponseCode::SystemError,
                    format!("decode error: {e}"),
                );
                burst.started += 1;
                burst.replies.push(Outbound::Now(reply));
            }
        }
    }
    // Whatever the burst left is finished (the hook must run) even though
    // its responses may no longer reach the peer.
    let _ = burst.finish(&router, &conn).await;
    conn.closed.cancel();
    conn.pending.lock().clear();
    let _ = writer.await;
    router.closed(&conn);
}

/// Starts a request in place (see [`Router::start`], which answers a
/// panicking handler SYSTEM_ERROR). Should the router itself panic, the
/// request is lost (`None`), not the connection.
async fn start_request(router: &Router, req: Request) -> Option<Started> {
    let mut req = Some(req);
    std::future::poll_fn(|cx| {
        let started = req.take().and_then(|req| {
            std::panic::catch_unwind(AssertUnwindSafe(|| router.start(req, cx))).ok()
        });
        if started.is_none() {
            tracing::error!("request routing panicked; request dropped");
        }
        Poll::Ready(started)
    })
    .await
}
