//! The message store: what durable queues write through [`Storage`], and
//! the publisher confirms that wait for it.
//!
//! Only persistent messages (`delivery_mode=2`) in durable queues are
//! written; everything else lives in memory and dies in a crash. Each
//! durable queue has its own stream ([`StreamId::Queue`]) of entries
//! ([`StoreEntry`]), written in *group commits* as the log broker writes:
//! at most one flush in flight, and the next one takes every entry that
//! piled up meanwhile, one record batch per queue.
//!
//! A publisher confirm for a persistent message routed to a durable queue
//! goes out only once the flush holding its entry is durable, as RabbitMQ
//! confirms a persistent message only once it is on disk. Other confirms go
//! out at once.
//!
//! A store that refuses a write, or a flush that fails, stops durable
//! writes until the next crash: nothing more waiting is confirmed, so the
//! publishers time out and retry, and nothing confirmed before is touched.

use super::record::{self, StoreEntry};
use crate::broker::{ClientId, MsgId, Output, QueueId};
use crate::storage::{FlushId, FlushState, Record, RecordBatch, Storage, StorageError, StreamId};
use std::collections::VecDeque;

/// A confirm held until the disk has its message.
#[derive(Clone, Copy, Debug)]
struct WaitingConfirm {
    /// Entries recorded when it was asked for: durable once `durable` reaches it.
    needs: u64,
    /// The publisher.
    to: ClientId,
    /// The message.
    msg: MsgId,
    /// `basic.ack` (true) or `basic.nack`.
    ok: bool,
}

/// One queue's stream: where its next record goes, and where it ends on disk.
#[derive(Clone, Copy, Debug, Default)]
struct StreamEnds {
    /// The offset the stream's next record gets.
    next: u64,
    /// Every record below it is durable.
    durable: u64,
}

/// The flush in flight.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    /// Storage's ticket, to match the completion.
    id: FlushId,
    /// Entries recorded when it was sealed: all of them durable once it is.
    sealed: u64,
}

/// Durable queues' entries on their way to storage, and the confirms
/// waiting for them.
#[derive(Clone, Debug)]
pub(super) struct MessageStore {
    /// Per queue: whether it is durable (its persistent messages are written).
    durable: Vec<bool>,
    /// Per queue: entries not yet appended to storage. Bound: what piles up
    /// during one flush.
    pending: Vec<Vec<StoreEntry>>,
    /// Per queue: where its stream's next record goes, and where the
    /// stream ends on disk (as of the last durable flush: what the page's
    /// record of confirmations keeps). One vector for both keeps the queue
    /// broker small beside the log broker (`Broker` holds either).
    ends: Vec<StreamEnds>,
    /// Entries recorded since the last crash, over all queues.
    recorded: u64,
    /// Of those, how many are durable.
    durable_upto: u64,
    /// The one flush in flight, if any.
    flush: Option<InFlight>,
    /// Confirms waiting for the disk, in the order they were asked for.
    /// Bound: publishes during one flush.
    waiting: VecDeque<WaitingConfirm>,
    /// The store refused a write: nothing more is written (or confirmed
    /// from the disk) until the next crash.
    writes_stopped: bool,
    /// Flushes begun, for the stats.
    pub(super) flushes: u64,
}

impl MessageStore {
    /// A store for queues whose durability `durable[q]` says.
    pub(super) fn new(durable: Vec<bool>) -> MessageStore {
        let n = durable.len();
        MessageStore {
            durable,
            pending: vec![Vec::new(); n],
            ends: vec![StreamEnds::default(); n],
            recorded: 0,
            durable_upto: 0,
            flush: None,
            waiting: VecDeque::new(),
            writes_stopped: false,
            flushes: 0,
        }
    }

    /// Per durable queue: the end of its stream on disk (every entry below
    /// it is durable).
    pub(super) fn durable_ends(&self) -> impl Iterator<Item = (QueueId, u64)> + '_ {
        let durable = (0..).zip(&self.durable).filter(|(_, d)| **d);
        durable.map(|(q, _)| (q, self.ends[q as usize].durable))
    }

    /// Whether a message that is `persistent` is written in queue `q`.
    pub(super) fn keeps(&self, q: QueueId, persistent: bool) -> bool {
        persistent && self.durable[q as usize]
    }

    /// Records `entry` for queue `q` if it keeps a `persistent` message.
    pub(super) fn record(&mut self, q: QueueId, persistent: bool, entry: StoreEntry) {
        if self.keeps(q, persistent) {
            self.pending[q as usize].push(entry);
            self.recorded += 1;
        }
    }

    /// Entries recorded so far: a mark to tell whether a publish wrote any.
    pub(super) fn mark(&self) -> u64 {
        self.recorded
    }

    /// The publisher confirm for `msg`: at once, or, with `wait`, once
    /// every entry recorded so far is durable.
    pub(super) fn confirm(
        &mut self,
        (to, msg, ok): (ClientId, MsgId, bool),
        wait: bool,
        out: &mut Vec<Output>,
    ) {
        if !wait {
            out.push(Output::Confirm { to, msg, ok });
            return;
        }
        let needs = self.recorded;
        self.waiting
            .push_back(WaitingConfirm { needs, to, msg, ok });
    }

    /// If no flush is in flight and entries are pending, appends them (one
    /// batch per queue) and begins one flush for all of them.
    pub(super) fn write(&mut self, now_ms: u64, storage: &mut dyn Storage, out: &mut Vec<Output>) {
        if self.flush.is_some() || self.writes_stopped || self.recorded == self.durable_upto {
            return;
        }
        if self.try_write(now_ms, storage, out).is_err() {
            self.writes_stopped = true;
        }
    }

    fn try_write(
        &mut self,
        now_ms: u64,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) -> Result<(), StorageError> {
        for q in 0..self.pending.len() {
            let entries = std::mem::take(&mut self.pending[q]);
            if entries.is_empty() {
                continue;
            }
            let base_offset = self.ends[q].next;
            let records = (base_offset..)
                .zip(&entries)
                .map(|(offset, e)| Record {
                    offset,
                    timestamp_ms: now_ms,
                    producer_id: 0,
                    key: None,
                    value: record::encode(e),
                })
                .collect();
            let batch = RecordBatch {
                base_offset,
                records,
            };
            let queue = u16::try_from(q).expect("validated: at most QUEUES_MAX queues");
            storage.append(StreamId::Queue { queue }, &batch)?;
            self.ends[q].next = batch.next_offset();
        }
        let ticket = storage.begin_flush(now_ms)?;
        self.flushes += 1;
        self.flush = Some(InFlight {
            id: ticket.id,
            sealed: self.recorded,
        });
        out.push(Output::FlushAt {
            id: ticket.id,
            at_ms: ticket.completes_at_ms,
        });
        Ok(())
    }

    /// Flush `id` reached its completion time and storage says `state`:
    /// durable, its waiting confirms go out (and the next flush begins);
    /// failed, durable writes stop. A flush from before a crash is ignored.
    pub(super) fn flush_done(
        &mut self,
        now_ms: u64,
        id: FlushId,
        state: FlushState,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        let Some(flush) = self.flush.take_if(|f| f.id == id) else {
            return;
        };
        match state {
            FlushState::Durable => {
                self.durable_upto = flush.sealed;
                // Nothing is appended while a flush is in flight (`write`
                // waits for it), so every stream ends where it was sealed.
                self.ends.iter_mut().for_each(|e| e.durable = e.next);
                while let Some(w) = self.waiting.front().filter(|w| w.needs <= flush.sealed) {
                    out.push(Output::Confirm {
                        to: w.to,
                        msg: w.msg,
                        ok: w.ok,
                    });
                    self.waiting.pop_front();
                }
                self.write(now_ms, storage, out);
            }
            // Not durable at its completion time: the world pauses and asks
            // again (IndexedDB), so this is not the answer.
            FlushState::InProgress => self.flush = Some(flush),
            FlushState::Failed(_) => self.writes_stopped = true,
        }
    }

    /// A crash: pending entries, the flush in flight and the waiting
    /// confirms are gone. `next_offset[q]` is the end of queue `q`'s
    /// stream as recovery found it.
    pub(super) fn crash(&mut self, next_offset: Vec<u64>) {
        assert_eq!(next_offset.len(), self.durable.len(), "one end per queue");
        self.pending.iter_mut().for_each(Vec::clear);
        let ends = next_offset.into_iter();
        self.ends = ends
            .map(|end| StreamEnds {
                next: end,
                durable: end,
            })
            .collect();
        self.recorded = 0;
        self.durable_upto = 0;
        self.flush = None;
        self.waiting.clear();
        self.writes_stopped = false;
    }

    /// The store cannot be written safely any more (a stream it could not cut).
    pub(super) fn stop_writes(&mut self) {
        self.writes_stopped = true;
    }
}
