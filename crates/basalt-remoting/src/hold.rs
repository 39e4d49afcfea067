//! Responses held back until a position is reached: a SYNC_FLUSH send is
//! answered once the store's durable offset passes its record.
//!
//! The handler finishes at once and hands its response to the connection's
//! writer with the position it waits for; the writer releases every held
//! response a step of the [`Gate`] covers in one write. A handler that
//! waited itself would cost a parked task, a channel and a timer per
//! message, and a wake-up per message at each group commit; here it is one
//! wake-up per connection per step.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use basalt_protocol::RemotingCommand;
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::Instant;

/// Where a gate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateState {
    /// Every position up to and including this one is reached.
    Open(u64),
    /// The gate will never move again: held responses are answered with
    /// the failure.
    Failed,
}

/// What a handler answers.
#[derive(Debug)]
pub enum Reply {
    /// A response to write now.
    Now(RemotingCommand),
    /// A response to write once the router's gate reaches `until` (or to
    /// rewrite as a timeout or failure if it does not).
    Held { cmd: RemotingCommand, until: u64 },
    /// A response to write once the router's burst hook has run for a
    /// position at or past `end` (the broker: its staged records are
    /// committed). A oneway request's position counts too.
    Staged { cmd: RemotingCommand, end: u64 },
}

impl Reply {
    /// The position the burst hook must reach first; 0 for none.
    pub(crate) fn hook_position(&self) -> u64 {
        match self {
            Reply::Staged { end, .. } => *end,
            Reply::Now(_) | Reply::Held { .. } => 0,
        }
    }
}

impl From<RemotingCommand> for Reply {
    fn from(cmd: RemotingCommand) -> Self {
        Reply::Now(cmd)
    }
}

/// Moves a gate: the side that knows the position (the store's flusher).
#[derive(Debug)]
pub struct GateSender(watch::Sender<GateState>);

impl GateSender {
    /// Records that every position up to `position` is reached.
    pub fn advance(&self, position: u64) {
        self.0.send_if_modified(|state| match state {
            GateState::Open(p) if *p < position => {
                *p = position;
                true
            }
            _ => false,
        });
    }

    /// Records that the gate will never move again.
    pub fn fail(&self) {
        self.0.send_replace(GateState::Failed);
    }
}

/// How held responses are answered, shared by every connection of a router.
#[derive(Debug, Clone)]
pub struct Gate {
    state: watch::Receiver<GateState>,
    timeout: Duration,
    on_timeout: fn(&mut RemotingCommand),
    on_failure: fn(&mut RemotingCommand),
}

impl Gate {
    /// A gate at `start`. A response held longer than `timeout` is passed to
    /// `on_timeout` and written; after [`GateSender::fail`] every held
    /// response goes through `on_failure`.
    pub fn new(
        start: u64,
        timeout: Duration,
        on_timeout: fn(&mut RemotingCommand),
        on_failure: fn(&mut RemotingCommand),
    ) -> (GateSender, Gate) {
        let (tx, rx) = watch::channel(GateState::Open(start));
        let gate = Gate {
            state: rx,
            timeout,
            on_timeout,
            on_failure,
        };
        (GateSender(tx), gate)
    }
}

/// Something for the writer to send.
pub(crate) enum Outbound {
    Now(RemotingCommand),
    Held {
        cmd: RemotingCommand,
        until: u64,
        /// The handler family's permit: a held response still counts
        /// against its limit, as a handler waiting for the flush would.
        permit: Option<OwnedSemaphorePermit>,
    },
    /// A response to write now, whose handler left work through `end` to
    /// the burst hook (see [`Reply::Staged`]): should the hook fall short,
    /// the connection rewrites it at its burst's end (a reply finished
    /// outside a burst was settled before it got here).
    Staged {
        cmd: RemotingCommand,
        end: u64,
    },
    /// A burst's responses, handed over at once (see `conn`).
    Burst(Vec<Outbound>),
}

struct Waiting {
    until: u64,
    deadline: Instant,
    cmd: RemotingCommand,
    _permit: Option<OwnedSemaphorePermit>,
}

/// One connection's held responses, in arrival (hence deadline) order.
pub(crate) struct Holding {
    gate: Option<Gate>,
    /// False once the gate's sender is gone: only deadlines are left to wait on.
    live: bool,
    waiting: VecDeque<Waiting>,
    /// The other buffer `release` sorts into, kept to reuse its allocation.
    spare: VecDeque<Waiting>,
    /// Fires at the oldest response's deadline; kept armed across wake-ups
    /// rather than registered with the timer wheel anew each time.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Holding {
    pub(crate) fn new(gate: Option<Gate>) -> Self {
        Self {
            live: gate.is_some(),
            gate,
            waiting: VecDeque::new(),
            spare: VecDeque::new(),
            timer: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Moves what of `out` need not (or cannot) wait into `ready`.
    pub(crate) fn admit(&mut self, out: Outbound, ready: &mut Vec<RemotingCommand>) {
        // The gate's state and the clock are read once per hand-over, not
        // per response: a burst of SYNC_FLUSH replies paid a lock of the
        // watch channel and a clock read each (~100 instructions).
        let mut at = None;
        self.admit_at(out, ready, &mut at);
    }

    fn admit_at(
        &mut self,
        out: Outbound,
        ready: &mut Vec<RemotingCommand>,
        at: &mut Option<(GateState, Instant)>,
    ) {
        match out {
            Outbound::Burst(all) => {
                for out in all {
                    self.admit_at(out, ready, at);
                }
            }
            Outbound::Now(cmd) | Outbound::Staged { cmd, .. } => ready.push(cmd),
            Outbound::Held { cmd, until, permit } => {
                ready.extend(self.hold(cmd, until, permit, at));
            }
        }
    }

    /// `cmd` if it need not (or cannot) wait for `until`; else it is held.
    /// `at` is the gate's state and the deadline of a response held now,
    /// read on first use.
    fn hold(
        &mut self,
        mut cmd: RemotingCommand,
        until: u64,
        permit: Option<OwnedSemaphorePermit>,
        at: &mut Option<(GateState, Instant)>,
    ) -> Option<RemotingCommand> {
        let Some(gate) = &self.gate else {
            // A router without a gate has nothing to wait for.
            return Some(cmd);
        };
        let (state, deadline) =
            *at.get_or_insert_with(|| (*gate.state.borrow(), Instant::now() + gate.timeout));
        match state {
            GateState::Open(p) if p >= until => Some(cmd),
            GateState::Failed => {
                (gate.on_failure)(&mut cmd);
                Some(cmd)
            }
            GateState::Open(_) => {
                self.waiting.push_back(Waiting {
                    until,
                    deadline,
                    cmd,
                    _permit: permit,
                });
                None
            }
        }
    }

    /// Resolves when the gate moved or the oldest response is due. Only
    /// called while something is held.
    pub(crate) async fn changed(&mut self) {
        let Some(deadline) = self.waiting.front().map(|w| w.deadline) else {
            return std::future::pending().await;
        };
        let timer = match &mut self.timer {
            Some(t) => {
                if t.deadline() != deadline {
                    t.as_mut().reset(deadline);
                }
                t
            }
            None => self
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        match &mut self.gate {
            Some(gate) if self.live => tokio::select! {
                moved = gate.state.changed() => self.live = moved.is_ok(),
                () = timer.as_mut() => {}
            },
            _ => timer.as_mut().await,
        }
    }

    /// Moves every response the gate or the clock decided into `out`.
    pub(crate) fn release(&mut self, out: &mut Vec<RemotingCommand>) {
        let Some(gate) = &mut self.gate else { return };
        let state = *gate.state.borrow_and_update();
        let now = Instant::now();
        let mut kept = std::mem::take(&mut self.spare);
        for mut w in self.waiting.drain(..) {
            match state {
                GateState::Open(p) if p >= w.until => out.push(w.cmd),
                GateState::Failed => {
                    (gate.on_failure)(&mut w.cmd);
                    out.push(w.cmd);
                }
                GateState::Open(_) if w.deadline <= now => {
                    (gate.on_timeout)(&mut w.cmd);
                    out.push(w.cmd);
                }
                GateState::Open(_) => kept.push_back(w),
            }
        }
        self.spare = std::mem::replace(&mut self.waiting, kept);
    }
}
