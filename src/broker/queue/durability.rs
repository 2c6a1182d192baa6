//! Crash and restart: what a durable queue keeps.
//!
//! A crash loses every message held in memory. What comes back is what the
//! message store ([`super::store`]) had on disk: the persistent messages
//! (`delivery_mode=2`) of `durable` queues (quorum queues always are) whose
//! entry reached the disk, read back the way recovery reads a log (CRC
//! checked, cut at the first damaged batch, so a torn write loses its batch
//! and everything after it). One the disk shows delivered comes back
//! `redelivered`. Every queue *definition* comes back (the clients declare
//! them again), so a transient queue comes back empty.
//!
//! The history says what happened to each message the broker held:
//!
//! - transient (or in a transient queue): `lost_in_crash`, as RabbitMQ
//!   promises, said at the crash;
//! - persistent in a durable queue but not on disk yet (its write was in
//!   flight, or torn): `lost_from_disk`. It cannot have been confirmed: a
//!   confirm waits for the disk;
//! - gone from the queue (acked, dead-lettered) but its leaving not on disk
//!   yet: `restored`, it will be delivered again.
//!
//! The disk is read at the crash itself (nothing changes it until the
//! restart), so what the broker holds while it is down is what will come back.

use super::queues::{QueueState, Ready};
use super::record::{self, StoreEntry, StoreLayoutError};
use super::QueueBroker;
use crate::broker::{MsgId, Note, Output, QueueId};
use crate::storage::{RecordBatch, Recovery, Storage, StreamId, Tear};
use std::collections::BTreeMap;

/// Copies per (queue, message): what the broker held or what came back.
type Copies = BTreeMap<(QueueId, MsgId), u32>;

/// One queue's messages as its stream on disk gives them: position → message.
type Kept = BTreeMap<u64, Ready>;

/// One queue's stream offsets of its `Enqueued` entries, by the position
/// the message holds now: what a resume compares with the record of what
/// was confirmed. A map of its own, beside [`Kept`], so the page's crash
/// path keeps the code it had.
type Offsets = BTreeMap<u64, u64>;

/// What a queue broker finds on its disk: per queue, the messages kept, the
/// offsets they were written at, and where the stream ends.
struct Disk {
    /// Per queue: its messages.
    kept: Vec<Kept>,
    /// Per queue: where each was enqueued in the stream.
    offsets: Vec<Offsets>,
    /// Per queue: where the stream's next record goes.
    ends: Vec<u64>,
}

impl QueueBroker {
    /// The broker process dies at `now_ms`; `tear` says what the disk was
    /// doing. Memory is gone; the queues hold what the disk kept.
    pub fn crash(
        &mut self,
        now_ms: u64,
        tear: Tear,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        assert!(self.up, "crash of a crashed broker");
        let held = self.forget_memory(out);
        storage.crash(now_ms, tear);
        let recovery = storage.recover();
        let Disk { kept, ends, .. } = self.read_disk(&recovery, storage);
        let back = copies(&kept);
        self.compare(&held, &back, out);
        self.store.crash(ends);
        self.queues.state = kept.into_iter().map(QueueState::with_ready).collect();
        // The dedup windows were memory too.
        self.fifo
            .iter_mut()
            .flatten()
            .for_each(|w| *w = Default::default());
        self.consumers.clear();
        self.wake.fired();
        self.up = false;
    }

    /// Comes back with the declared queues and what durable ones kept; tags
    /// from before the crash are stale from now on.
    pub fn restart(&mut self) {
        assert!(!self.up, "restart of a running broker");
        self.up = true;
        self.channels.restart();
    }

    /// Starts this fresh broker on a store an earlier run left (a page
    /// reload: that process is gone, its disk is not). Recovery reads the
    /// durable queues' streams exactly as a restart after a crash does (CRC
    /// checks, a damaged batch cut with the rest of its stream), and each
    /// message they keep comes back in its queue, `redelivered` if the disk
    /// shows it delivered: a `carried` note each, `confirmed` when its
    /// entry lies below the store's record of what was confirmed
    /// ([`Storage::acked_checkpoint`]; no record: all of them). Transient
    /// messages and transient queues' messages were never on disk: an
    /// earlier run's are simply not there, as after a RabbitMQ restart.
    pub fn resume(
        &mut self,
        recovery: &Recovery,
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) {
        assert!(
            self.queues
                .ids()
                .all(|q| self.queues.state(q).ready.is_empty()),
            "a resume starts from an empty broker"
        );
        let checkpoint = storage.acked_checkpoint();
        let disk = self.read_disk(recovery, storage);
        for (queue, (messages, offsets)) in (0..u16::MAX).zip(disk.kept.iter().zip(&disk.offsets)) {
            let end = checkpoint
                .as_ref()
                .map(|c| c.get(&StreamId::Queue { queue }).copied().unwrap_or(0));
            for (position, ready) in messages {
                let offset = offsets.get(position).copied().unwrap_or(0);
                self.stats.enqueued += 1;
                out.push(note(Note::Carried {
                    msg: ready.msg.id,
                    queue: QueueId::from(queue),
                    confirmed: end.is_none_or(|end| offset < end),
                    redelivered: ready.redelivered,
                }));
            }
        }
        self.store.crash(disk.ends);
        self.queues.state = disk.kept.into_iter().map(QueueState::with_ready).collect();
        self.queues.after_restore();
    }

    /// The highest message id the queues hold: a resumed run's new ids
    /// continue past it.
    pub fn max_msg_id(&self) -> Option<MsgId> {
        let ids = self.queues.ids().filter_map(|q| {
            let ready = self.queues.state(q).ready.values();
            ready.map(|r| r.msg.id).max()
        });
        ids.max()
    }

    /// Drops every message from memory: the ones the store does not keep
    /// are noted lost; the copies it keeps are counted, to compare with
    /// what the disk gives back.
    fn forget_memory(&mut self, out: &mut Vec<Output>) -> Copies {
        let mut held = Copies::new();
        let mut lost = 0;
        let mut forget = |q: QueueId, r: &Ready, out: &mut Vec<Output>| {
            if self.store.keeps(q, r.persistent) {
                *held.entry((q, r.msg.id)).or_default() += 1;
            } else {
                lost += 1;
                out.push(note(Note::LostInCrash {
                    msg: r.msg.id,
                    queue: q,
                }));
            }
        };
        for q in self.queues.ids() {
            self.queues
                .state(q)
                .ready
                .values()
                .for_each(|r| forget(q, r, out));
        }
        for u in self.channels.crash() {
            forget(u.queue, &u.ready, out);
        }
        self.stats.lost_in_crash += lost;
        held
    }

    /// Each queue's messages as its stream on disk gives them, and each
    /// stream's end (where its next record goes). A record this broker could
    /// not have written cuts the stream there; a store that cannot cut
    /// stops durable writes.
    fn read_disk(&mut self, recovery: &Recovery, storage: &mut dyn Storage) -> Disk {
        let n = self.queues.len();
        let mut kept = vec![BTreeMap::new(); n];
        let mut offsets = vec![BTreeMap::new(); n];
        let mut ends = vec![0; n];
        for (stream, batches) in &recovery.streams {
            let StreamId::Queue { queue } = *stream else {
                continue;
            };
            let q = usize::from(queue);
            if q >= n {
                continue; // Not a queue of this broker: left alone.
            }
            let end = recovery.report.streams.get(stream);
            ends[q] = end.and_then(|r| r.log_end_offset).unwrap_or(0);
            if let Err(bad) = replay(batches, &mut kept[q], &mut offsets[q]) {
                ends[q] = bad.offset;
                if storage.truncate(*stream, bad.offset).is_err() {
                    self.store.stop_writes();
                }
            }
        }
        Disk {
            kept,
            offsets,
            ends,
        }
    }

    /// Notes what the disk lost or gave back, compared with what the broker
    /// held of it, in (queue, message) order.
    fn compare(&mut self, held: &Copies, back: &Copies, out: &mut Vec<Output>) {
        let mut keys = std::collections::BTreeSet::new();
        keys.extend(held.keys().chain(back.keys()));
        for &(queue, msg) in keys {
            let had = held.get(&(queue, msg)).copied().unwrap_or(0);
            let got = back.get(&(queue, msg)).copied().unwrap_or(0);
            for _ in got..had {
                self.stats.lost_in_crash += 1;
                out.push(note(Note::LostFromDisk { msg, queue }));
            }
            for _ in had..got {
                self.stats.enqueued += 1;
                out.push(note(Note::Restored { msg, queue }));
            }
        }
    }
}

/// Replays one queue's stream into `into` (position → message) and
/// `offsets` (position → offset of its `Enqueued` entry; a moved message
/// keeps its offset, a removed one's is left, never looked up). Stops at
/// the first record of a layout this broker does not write.
fn replay(
    batches: &[RecordBatch],
    into: &mut Kept,
    offsets: &mut Offsets,
) -> Result<(), StoreLayoutError> {
    for r in batches.iter().flat_map(|b| &b.records) {
        match record::decode(r.offset, &r.value)? {
            StoreEntry::Enqueued { position, ready } => {
                into.insert(position, ready);
                offsets.insert(position, r.offset);
            }
            StoreEntry::Delivered {
                position,
                delivery_count,
            } => {
                if let Some(m) = into.get_mut(&position) {
                    m.redelivered = true;
                    m.delivery_count = delivery_count;
                }
            }
            StoreEntry::Moved { position, to } => {
                if let Some(m) = into.remove(&position) {
                    into.insert(to, m);
                }
                if let Some(&offset) = offsets.get(&position) {
                    offsets.insert(to, offset);
                }
            }
            StoreEntry::Removed { position } => {
                into.remove(&position);
            }
        }
    }
    Ok(())
}

/// Messages the durable queues of `recovery` would bring back on a resume
/// (what the page offers before anyone chose): each queue stream replayed
/// up to its first entry this broker could not have written.
pub fn stored_messages(recovery: &Recovery) -> u64 {
    let queues = recovery.streams.iter();
    let queues = queues.filter(|(s, _)| matches!(s, StreamId::Queue { .. }));
    let kept = queues.map(|(_, batches)| {
        let mut kept = Kept::new();
        // The cut is the resume's to report.
        let _ = replay(batches, &mut kept, &mut Offsets::new());
        kept.len() as u64
    });
    kept.sum()
}

/// Copies per (queue, message) of what the disk gave back.
fn copies(kept: &[Kept]) -> Copies {
    let mut c = Copies::new();
    for (q, ready) in (0..).zip(kept) {
        for r in ready.values() {
            *c.entry((q, r.msg.id)).or_default() += 1;
        }
    }
    c
}

fn note(n: Note) -> Output {
    Output::Note(n)
}
