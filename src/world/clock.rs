//! The event loop: the virtual clock and the event queue.
//!
//! Every event is [`Scheduled`] at a virtual time with a sequence number;
//! the queue pops the earliest `(time, seq)` first, so events of one
//! millisecond run in the order they were scheduled. [`World::step`] runs one
//! event and `dispatch` hands it to the room that handles it.

use super::{RunError, World, PENDING_EVENTS_MAX};
use crate::broker::{ClientId, Request};
use crate::client::ClientTimer;
use crate::client::Downlink;
use crate::config::BrokerSpec;
use crate::history::{Entry, Proc};
use crate::node::NodeId;
use crate::storage::{FlushId, FlushState};
use std::cmp::Ordering;

/// Sequence numbers of setting changes (`Ev::Setting`) start here: above
/// every other event's, so a change sorts after every other event of its
/// millisecond, whether it was scheduled when the world started (a replayed
/// scenario) or clicked while the run went on (then that millisecond's other
/// events have already run). Changes among themselves keep their order.
const SETTING_SEQ_BASE: u64 = 1 << 62;

/// Something that happens at a virtual time. Everything about a broker
/// names its node, so a cluster needs no new kinds of event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ev {
    /// A request reaches broker node `node`. `sent_ms` is when it left the
    /// client (only [`World::in_flight`] reads it).
    ToBroker {
        /// The node it was sent to.
        node: NodeId,
        /// The client that sent it.
        from: ClientId,
        /// When it left the client.
        sent_ms: u64,
        /// The request.
        req: Request,
    },
    /// A reply reaches a client; `conn` is the client connection it was sent on.
    ToClient {
        /// The node that sent it.
        node: NodeId,
        /// The client it goes to.
        to: ClientId,
        /// The client's connection it was sent on: replies of an older one
        /// are dropped.
        conn: u32,
        /// When it left the broker.
        sent_ms: u64,
        /// The message.
        msg: Downlink,
    },
    /// A client's timer fires.
    Timer {
        /// Whose timer.
        client: ClientId,
        /// The incarnation that set it: a dead process's timers are dropped.
        incarnation: u32,
        /// Which timer.
        timer: ClientTimer,
    },
    /// A broker node asked to be woken (visibility timeouts, group timers).
    BrokerWake(NodeId),
    /// A client learns that its connection died with broker node `node`.
    ConnectionLost {
        /// The client.
        client: ClientId,
        /// The node that crashed.
        node: NodeId,
        /// The connection that died (a newer one is left alone).
        conn: u32,
    },
    /// A fault of the scenario's `faults` list comes due, by index.
    Fault(u32),
    /// A live client setting of the scenario's `settings` list comes due.
    Setting(u32),
    /// A group commit of a node's storage reaches its completion time.
    FlushDone(NodeId, FlushId),
    /// A client crashed by an armed fault comes back (its `until_ms`).
    RestartClient(ClientId),
}

/// One entry of the event queue. Ordered by (time, sequence), earliest
/// first. Generic over the event so the replication harness
/// (`world::cluster`) orders its own events the same way.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scheduled<E = Ev> {
    /// When it runs (virtual ms).
    pub(super) at_ms: u64,
    /// Breaks ties at one millisecond: the order of scheduling.
    pub(super) seq: u64,
    /// What runs.
    pub(super) ev: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}

impl<E> Eq for Scheduled<E> {}

impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Scheduled<E> {
    /// Reversed, so `BinaryHeap` (a max-heap) pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at_ms, other.seq).cmp(&(self.at_ms, self.seq))
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// An event ran at this time.
    Ran {
        /// The virtual time it ran at.
        time_ms: u64,
    },
    /// Nothing left before the end of the run.
    Finished,
}

impl World {
    /// Runs the next event, if it is due before the end of the run.
    pub fn step(&mut self) -> Result<Step, RunError> {
        let Some(next) = self.queue.peek().copied() else {
            return Ok(Step::Finished);
        };
        if next.at_ms > self.end_ms {
            return Ok(Step::Finished);
        }
        if self.events_run >= self.scenario.limits.events_max {
            return Err(RunError::EventLimit {
                events_max: self.scenario.limits.events_max,
                time_ms: self.now_ms,
            });
        }
        if let Ev::FlushDone(node, flush) = next.ev {
            // Ask before popping: an IndexedDB flush may not be committed yet.
            let storage = &mut self.nodes[node.index()].storage;
            if storage.flush_state(flush, next.at_ms) == FlushState::InProgress {
                return self.flush_overdue(node, flush, next.at_ms);
            }
            self.flush_overdue = None;
        }
        self.queue.pop();
        assert!(next.at_ms >= self.now_ms, "the clock never goes back");
        self.now_ms = next.at_ms;
        self.events_run += 1;
        self.dispatch(next.ev);
        Ok(Step::Ran {
            time_ms: self.now_ms,
        })
    }

    /// A group commit is due at `at_ms` and the store has not finished it.
    /// Within the run-ahead ([`World::set_disk_run_ahead_ms`]) its
    /// completion is looked at again a millisecond later and the rest of the
    /// world runs on meanwhile: producers keep sending, and what they send
    /// waits in the broker for the next group commit, which takes all of it
    /// in one transaction. Past the run-ahead the world waits.
    fn flush_overdue(
        &mut self,
        node: NodeId,
        flush: FlushId,
        at_ms: u64,
    ) -> Result<Step, RunError> {
        let due_ms = match self.flush_overdue {
            Some((n, id, due_ms)) if n == node && id == flush => due_ms,
            _ => {
                self.flush_overdue = Some((node, flush, at_ms));
                at_ms
            }
        };
        let retry_ms = at_ms + 1;
        if retry_ms > due_ms.saturating_add(self.disk_run_ahead_ms) || retry_ms > self.end_ms {
            return Err(RunError::WaitingForStorage {
                node,
                flush,
                time_ms: at_ms,
            });
        }
        self.queue.pop();
        self.schedule(retry_ms, Ev::FlushDone(node, flush));
        self.step()
    }

    /// Lets the world run up to `ms` virtual ms past a group commit's
    /// completion time while a real store has not finished it (the page's
    /// IndexedDB at high speed: the browser commits once per turn of its
    /// event loop, while a frame covers many virtual ms). 0, the default,
    /// waits at once, which makes a run on a real store the same as on the
    /// memory store, event for event. The memory store finishes every flush
    /// on time, so this never changes its runs.
    pub fn set_disk_run_ahead_ms(&mut self, ms: u64) {
        self.disk_run_ahead_ms = ms;
    }

    /// Runs every event due at or before `t_ms` (capped at the end of the run)
    /// and moves the clock to that time.
    pub fn run_until(&mut self, t_ms: u64) -> Result<(), RunError> {
        let until = t_ms.min(self.end_ms);
        while self.queue.peek().is_some_and(|s| s.at_ms <= until) {
            self.step()?;
        }
        self.now_ms = self.now_ms.max(until);
        Ok(())
    }

    /// Runs to `duration_ms`.
    pub fn run(&mut self) -> Result<(), RunError> {
        self.run_until(self.end_ms)
    }

    /// Runs to the end; a log run then drains for `limits.drain_ms` (see
    /// [`World::drain`]). What `brokerlab run` and `sweep` judge.
    pub fn finish(&mut self) -> Result<(), RunError> {
        match self.scenario.broker {
            BrokerSpec::Queue(_) => self.run(),
            BrokerSpec::Log(_) => self.drain(self.scenario.limits.drain_ms),
        }
    }

    /// The final drain of a log run: every broker node and every crashed
    /// consumer come back, and the run goes on `drain_ms` longer so the
    /// groups can read what is left. Only after it does the checker report
    /// `unseen`.
    pub fn drain(&mut self, drain_ms: u64) -> Result<(), RunError> {
        self.run()?;
        for node in self.node_ids() {
            self.restart_broker(node);
        }
        for c in 0..self.clients.len() as ClientId {
            if self.clients[c as usize].client.back_for_drain() {
                self.restart_client(c);
            }
        }
        self.end_ms = self.end_ms.saturating_add(drain_ms);
        self.run()?;
        self.drained = true;
        Ok(())
    }

    /// Virtual time of the next pending event, if any. The page's frame loop
    /// uses it to jump over idle time instead of stepping through it.
    pub fn next_event_ms(&self) -> Option<u64> {
        self.queue.peek().map(|s| s.at_ms)
    }

    /// Whether nothing is left to run before the end of the run.
    pub fn is_finished(&self) -> bool {
        self.queue.peek().is_none_or(|s| s.at_ms > self.end_ms)
    }

    /// The virtual clock (ms since the run started).
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// When the run ends: `duration_ms`, plus the drain once it started.
    pub fn end_ms(&self) -> u64 {
        self.end_ms
    }

    /// Events run so far (bounded by `limits.events_max`).
    pub fn events_run(&self) -> u64 {
        self.events_run
    }

    /// Schedules `settings[i]` in the late band (see [`SETTING_SEQ_BASE`]).
    pub(super) fn schedule_setting(&mut self, at_ms: u64, i: usize) {
        assert!(at_ms >= self.now_ms, "cannot schedule in the past");
        assert!(
            i <= crate::config::setting::bounds::SETTINGS_MAX,
            "validated"
        );
        self.queue.push(Scheduled {
            at_ms,
            seq: SETTING_SEQ_BASE + i as u64,
            ev: Ev::Setting(i as u32),
        });
    }

    pub(super) fn schedule(&mut self, at_ms: u64, ev: Ev) {
        assert!(at_ms >= self.now_ms, "cannot schedule in the past");
        assert!(
            self.next_seq < SETTING_SEQ_BASE,
            "sequence numbers run below the late band"
        );
        assert!(
            self.queue.len() < PENDING_EVENTS_MAX,
            "event queue over its bound"
        );
        self.queue.push(Scheduled {
            at_ms,
            seq: self.next_seq,
            ev,
        });
        self.next_seq += 1;
    }

    pub(super) fn record(&mut self, process: Proc, entry: Entry) {
        self.history.push(self.now_ms, process, entry);
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::ToBroker {
                node, from, req, ..
            } => self.arrive_at_broker(node, from, req),
            Ev::ToClient { to, conn, msg, .. } => self.arrive_at_client(to, conn, msg),
            Ev::Timer {
                client,
                incarnation,
                timer,
            } => self.client_timer(client, incarnation, timer),
            Ev::BrokerWake(node) => self.broker_wake(node),
            Ev::FlushDone(node, id) => self.flush_done(node, id),
            Ev::ConnectionLost { client, conn, .. } => self.connection_lost(client, conn),
            Ev::Fault(i) => {
                let fault = self.scenario.faults[i as usize].clone();
                self.apply_fault(&fault);
            }
            Ev::Setting(i) => self.apply_setting(i as usize),
            Ev::RestartClient(c) => self.restart_client(c),
        }
    }
}
