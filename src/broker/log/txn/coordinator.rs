//! The transaction coordinator: Kafka's two-phase commit, as a pure state
//! machine.
//!
//! A transactional producer names itself with a `transactional.id`. The
//! coordinator keeps one entry per id and walks it through Kafka's states:
//!
//! ```text
//!            AddPartitionsToTxn            EndTxn(commit)       PrepareCommit durable
//!   Empty ───────────────────► Ongoing ──────────────────► PrepareCommit ─────► CompleteCommit
//!     ▲                           │  EndTxn(abort), timeout,                     (markers written)
//!     │                           ▼  InitProducerId of a new instance
//!     └──── (next txn) ──── PrepareAbort ──── PrepareAbort durable ─────► CompleteAbort
//! ```
//!
//! - **`InitProducerId`** gives the caller a producer id and a *new epoch*.
//!   Every request carries (producer id, epoch); one with an older epoch is
//!   refused with [`TxnError::ProducerFenced`]. That is how a zombie (an old
//!   instance that was paused, not dead) is stopped from writing after its
//!   replacement started. If the old instance left a transaction open, it is
//!   aborted first.
//! - **The commit point** is the `PrepareCommit` record reaching the disk.
//!   Before it, a crash aborts the transaction; after it, a crash *completes*
//!   the commit on recovery. Only then are the markers written: one control
//!   record per partition in the transaction, taking up an offset like any
//!   record, and the consumer offsets committed inside the transaction
//!   (`TxnOffsetCommit`) become the group's committed offsets.
//! - **`transaction.timeout.ms`**: an Ongoing transaction older than its
//!   timeout is aborted by the coordinator, and the epoch is bumped so the
//!   slow producer is fenced.
//!
//! Every state change is a record in the `Txn` stream of [`crate::storage`]
//! (Kafka's `__transaction_state`), so a restart rebuilds the table with
//! [`TxnCoordinator::recover`] and finishes what each phase started:
//! Ongoing aborts, PrepareCommit commits, PrepareAbort aborts.
//!
//! Simplifications: the coordinator lives on the one broker (a broker crash
//! is a coordinator crash); partitions check a producer's epoch against the
//! coordinator directly instead of keeping their own producer state;
//! `AddOffsetsToTxn` and `TxnOffsetCommit` are one request.

use super::state_log::{decode, encode};
use super::{
    GroupId, PartitionId, TopicId, TxnError, TxnIdx, TxnNote, TxnReply, OFFSETS_PER_TXN_MAX,
    PARTITIONS_PER_TXN_MAX, TXN_IDS_MAX,
};
use crate::broker::ClientId;
use crate::storage::{Record, RecordBatch};
use std::collections::BTreeMap;

/// Kafka's `TransactionState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TxnState {
    /// Has a producer id and epoch, no transaction yet.
    Empty,
    /// A transaction is open: partitions added, records and offsets coming.
    Ongoing,
    /// `EndTxn(commit)` arrived; once this record is durable the commit
    /// cannot be taken back (the commit point).
    PrepareCommit,
    /// Aborting: `EndTxn(abort)`, a timeout, or a new instance's
    /// `InitProducerId`.
    PrepareAbort,
    /// The commit markers are written; the next transaction may begin.
    CompleteCommit,
    /// The abort markers are written; the next transaction may begin.
    CompleteAbort,
}

impl TxnState {
    /// The state's byte in a `Txn` stream record.
    pub(super) fn code(self) -> u8 {
        self as u8
    }

    /// The inverse of [`Self::code`]; `None` for a byte no state has.
    pub(super) fn from_code(c: u8) -> Option<TxnState> {
        use TxnState::*;
        [
            Empty,
            Ongoing,
            PrepareCommit,
            PrepareAbort,
            CompleteCommit,
            CompleteAbort,
        ]
        .get(c as usize)
        .copied()
    }

    /// A new transaction may begin (`Empty` or a completed one).
    pub fn is_idle(self) -> bool {
        matches!(
            self,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        )
    }

    /// Kafka's name of the state, as the history writes it.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }
}

/// One `transactional.id`'s entry (Kafka's `TransactionMetadata`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnMeta {
    /// Handed out once per `transactional.id` and kept across instances.
    pub producer_id: u64,
    /// Bumped by every `InitProducerId` and every coordinator abort:
    /// requests with an older one are a zombie's.
    pub epoch: u16,
    /// Where the two-phase commit stands.
    pub state: TxnState,
    /// `transaction.timeout.ms` of the current instance.
    pub transaction_timeout_ms: u64,
    /// When the current transaction began (its first `AddPartitionsToTxn`).
    pub started_ms: u64,
    /// Bound: [`PARTITIONS_PER_TXN_MAX`]. Sorted, no repeats.
    pub partitions: Vec<(TopicId, PartitionId)>,
    /// Bound: [`OFFSETS_PER_TXN_MAX`]. One entry per (group, partition).
    pub offsets: Vec<(GroupId, PartitionId, u64)>,
    /// The client waiting for `EndTxn`'s answer.
    pub waiting: Option<ClientId>,
    /// `Txn` stream offset of the Prepare record: markers wait until the
    /// disk has it.
    pub(super) prepare_offset: Option<u64>,
}

/// What the broker must do for a decided transaction: write one marker per
/// partition, and (commit only) apply the transaction's offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerJob {
    /// The decided `transactional.id`, to complete once markers are written.
    pub txn: TxnIdx,
    /// Written into every marker, so a partition knows whose records it ends.
    pub producer_id: u64,
    /// The decision's epoch, written into every marker.
    pub epoch: u16,
    /// Commit markers (`true`) or abort markers.
    pub commit: bool,
    /// Every partition the transaction wrote to: one marker each.
    pub partitions: Vec<(TopicId, PartitionId)>,
    /// Consumer offsets to apply on commit: (group, partition, offset).
    pub offsets: Vec<(GroupId, PartitionId, u64)>,
    /// Who to tell `Ended` once the markers are written.
    pub reply_to: Option<ClientId>,
}

/// The coordinator's table of `transactional.id`s and its `Txn` stream.
#[derive(Clone, Debug, Default)]
pub struct TxnCoordinator {
    /// One entry per `transactional.id`: the two-phase commit's state.
    /// Bound: [`TXN_IDS_MAX`].
    txns: BTreeMap<TxnIdx, TxnMeta>,
    /// The producer id the next new `transactional.id` gets (never reused,
    /// so a recovered table and a new id cannot collide).
    next_producer_id: u64,
    /// State records not yet handed to storage.
    pending: Vec<Record>,
    /// Next offset in the `Txn` stream.
    stream_end: u64,
    /// Records of the `Txn` stream before this offset are durable.
    durable_end: u64,
}

impl TxnCoordinator {
    /// An empty table; the first producer id it hands out is 1000.
    pub fn new() -> TxnCoordinator {
        TxnCoordinator {
            next_producer_id: 1000,
            ..TxnCoordinator::default()
        }
    }

    /// The entry of one `transactional.id`, if it ever called `InitProducerId`.
    pub fn meta(&self, txn: TxnIdx) -> Option<&TxnMeta> {
        self.txns.get(&txn)
    }

    /// No `transactional.id` has an entry.
    pub fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }

    /// The current epoch of a producer id, to fence partition writes.
    pub fn epoch_of(&self, producer_id: u64) -> Option<u16> {
        self.txns
            .values()
            .find(|m| m.producer_id == producer_id)
            .map(|m| m.epoch)
    }

    /// `InitProducerId`: a fresh producer id for a new `transactional.id`,
    /// else the same id with the epoch bumped. An open transaction of the
    /// previous instance is aborted (its markers follow once that is durable).
    pub fn init_producer_id(
        &mut self,
        now_ms: u64,
        txn: TxnIdx,
        transaction_timeout_ms: u64,
        notes: &mut Vec<TxnNote>,
    ) -> TxnReply {
        assert!(transaction_timeout_ms > 0, "validated");
        if !self.txns.contains_key(&txn) && self.txns.len() >= TXN_IDS_MAX {
            return error(TxnError::LimitExceeded);
        }
        let next_pid = self.next_producer_id;
        let meta = self.txns.entry(txn).or_insert_with(|| TxnMeta {
            producer_id: next_pid,
            epoch: 0,
            state: TxnState::Empty,
            transaction_timeout_ms,
            started_ms: now_ms,
            partitions: Vec::new(),
            offsets: Vec::new(),
            waiting: None,
            prepare_offset: None,
        });
        if meta.producer_id == next_pid {
            self.next_producer_id += 1;
        }
        match meta.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                return error(TxnError::ConcurrentTransactions)
            }
            TxnState::Ongoing => {
                meta.epoch = meta.epoch.checked_add(1).expect("epochs below u16::MAX");
                self.begin_prepare(txn, false, None, notes);
                return error(TxnError::ConcurrentTransactions);
            }
            _ => {}
        }
        let meta = self.txns.get_mut(&txn).expect("inserted");
        meta.epoch = meta.epoch.checked_add(1).expect("epochs below u16::MAX");
        meta.transaction_timeout_ms = transaction_timeout_ms;
        let (producer_id, epoch) = (meta.producer_id, meta.epoch);
        self.set_state(txn, TxnState::Empty, notes);
        TxnReply::ProducerId { producer_id, epoch }
    }

    /// Checks (producer id, epoch) against the entry: an older epoch is a
    /// zombie.
    fn current(
        &mut self,
        txn: TxnIdx,
        producer_id: u64,
        epoch: u16,
        notes: &mut Vec<TxnNote>,
    ) -> Result<(), TxnError> {
        let Some(meta) = self.txns.get(&txn) else {
            return Err(TxnError::InvalidTxnState);
        };
        if meta.producer_id != producer_id || meta.epoch != epoch {
            notes.push(TxnNote::Fenced {
                txn,
                producer_id,
                epoch,
            });
            return Err(TxnError::ProducerFenced);
        }
        Ok(())
    }

    /// `AddPartitionsToTxn`: the first one begins the transaction (Ongoing).
    pub fn add_partition(
        &mut self,
        now_ms: u64,
        txn: TxnIdx,
        producer_id: u64,
        epoch: u16,
        tp: (TopicId, PartitionId),
        notes: &mut Vec<TxnNote>,
    ) -> TxnReply {
        if let Err(e) = self.current(txn, producer_id, epoch, notes) {
            return error(e);
        }
        let meta = self.txns.get_mut(&txn).expect("checked");
        match meta.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                return error(TxnError::ConcurrentTransactions)
            }
            s if s.is_idle() => {
                meta.partitions.clear();
                meta.offsets.clear();
                meta.started_ms = now_ms;
            }
            _ => {}
        }
        if let Err(at) = meta.partitions.binary_search(&tp) {
            if meta.partitions.len() >= PARTITIONS_PER_TXN_MAX {
                return error(TxnError::LimitExceeded);
            }
            meta.partitions.insert(at, tp);
        }
        self.set_state(txn, TxnState::Ongoing, notes);
        TxnReply::Added
    }

    /// May this producer write to this partition now? (The partition's side
    /// of fencing, and no writes outside an added partition.)
    pub fn check_produce(
        &mut self,
        txn: TxnIdx,
        producer_id: u64,
        epoch: u16,
        tp: (TopicId, PartitionId),
        notes: &mut Vec<TxnNote>,
    ) -> Result<(), TxnError> {
        self.current(txn, producer_id, epoch, notes)?;
        let meta = &self.txns[&txn];
        let ok = meta.state == TxnState::Ongoing && meta.partitions.binary_search(&tp).is_ok();
        ok.then_some(()).ok_or(TxnError::InvalidTxnState)
    }

    /// `TxnOffsetCommit`: the offset becomes the group's only if the
    /// transaction commits.
    pub fn add_offset(
        &mut self,
        txn: TxnIdx,
        producer_id: u64,
        epoch: u16,
        entry: (GroupId, PartitionId, u64),
        notes: &mut Vec<TxnNote>,
    ) -> TxnReply {
        if let Err(e) = self.current(txn, producer_id, epoch, notes) {
            return error(e);
        }
        let meta = self.txns.get_mut(&txn).expect("checked");
        if meta.state != TxnState::Ongoing {
            return error(TxnError::InvalidTxnState);
        }
        let (g, p, o) = entry;
        let full = meta.offsets.len() >= OFFSETS_PER_TXN_MAX;
        match meta.offsets.iter_mut().find(|e| (e.0, e.1) == (g, p)) {
            Some(e) => e.2 = o,
            None if full => return error(TxnError::LimitExceeded),
            None => meta.offsets.push(entry),
        }
        self.set_state(txn, TxnState::Ongoing, notes);
        TxnReply::Added
    }

    /// `EndTxn`: moves to PrepareCommit or PrepareAbort. The answer comes
    /// later, once the Prepare record is durable and the markers are written
    /// (see [`Self::on_durable`]); `None` here means "wait".
    pub fn end_txn(
        &mut self,
        from: ClientId,
        txn: TxnIdx,
        producer_id: u64,
        epoch: u16,
        commit: bool,
        notes: &mut Vec<TxnNote>,
    ) -> Option<TxnReply> {
        if let Err(e) = self.current(txn, producer_id, epoch, notes) {
            return Some(error(e));
        }
        let state = self.txns[&txn].state;
        match (state, commit) {
            (TxnState::Ongoing, _) => {
                self.begin_prepare(txn, commit, Some(from), notes);
                None
            }
            // A retried EndTxn whose first try already completed.
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => {
                Some(TxnReply::Ended { commit })
            }
            (TxnState::PrepareCommit | TxnState::PrepareAbort, _) => {
                Some(error(TxnError::ConcurrentTransactions))
            }
            _ => Some(error(TxnError::InvalidTxnState)),
        }
    }

    fn begin_prepare(
        &mut self,
        txn: TxnIdx,
        commit: bool,
        reply_to: Option<ClientId>,
        notes: &mut Vec<TxnNote>,
    ) {
        let state = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        let offset = self.set_state(txn, state, notes);
        let meta = self.txns.get_mut(&txn).expect("exists");
        meta.prepare_offset = Some(offset);
        meta.waiting = reply_to;
    }

    /// Aborts every Ongoing transaction past its `transaction.timeout.ms`,
    /// bumping the epoch so the late producer is fenced.
    pub fn expire(&mut self, now_ms: u64, notes: &mut Vec<TxnNote>) {
        let expired: Vec<TxnIdx> = self
            .txns
            .iter()
            .filter(|(_, m)| m.state == TxnState::Ongoing)
            .filter(|(_, m)| m.started_ms + m.transaction_timeout_ms <= now_ms)
            .map(|(t, _)| *t)
            .collect();
        for txn in expired {
            notes.push(TxnNote::TimedOut { txn });
            let meta = self.txns.get_mut(&txn).expect("listed");
            meta.epoch = meta.epoch.checked_add(1).expect("epochs below u16::MAX");
            self.begin_prepare(txn, false, None, notes);
        }
    }

    /// The group's partitions with offsets in a transaction not completed
    /// yet (Ongoing or Prepare*): their committed offset may still move, so
    /// an `OffsetFetch` of them answers `UNSTABLE_OFFSET_COMMIT` (KIP-447).
    pub fn pending_offsets(&self, group: GroupId) -> u64 {
        let open = self.txns.values().filter(|m| {
            matches!(
                m.state,
                TxnState::Ongoing | TxnState::PrepareCommit | TxnState::PrepareAbort
            )
        });
        let offsets = open.flat_map(|m| m.offsets.iter());
        let mine = offsets.filter(|(g, _, _)| *g == group);
        // Partitions are below `bounds::PARTITIONS_MAX` (64): one bit each.
        mine.fold(0, |set, (_, p, _)| {
            set | 1u64.checked_shl(u32::from(*p)).unwrap_or(0)
        })
    }

    /// The earliest `transaction.timeout.ms` deadline, for the broker's wake.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        let ongoing = self.txns.values().filter(|m| m.state == TxnState::Ongoing);
        ongoing
            .map(|m| m.started_ms + m.transaction_timeout_ms)
            .min()
    }

    /// The `Txn` stream is durable up to `end`: every Prepare now on disk has
    /// passed its point of no return, so its markers may be written. The
    /// broker writes them and then calls [`Self::complete`].
    pub fn on_durable(&mut self, end: u64) -> Vec<MarkerJob> {
        assert!(end >= self.durable_end, "durability only grows");
        self.durable_end = end;
        let ready = self
            .txns
            .iter()
            .filter(|(_, m)| m.prepare_offset.is_some_and(|o| o < end));
        ready.map(|(t, m)| job(*t, m)).collect()
    }

    /// Markers are written: Complete{Commit,Abort}.
    pub fn complete(&mut self, txn: TxnIdx, notes: &mut Vec<TxnNote>) {
        let meta = self.txns.get_mut(&txn).expect("a decided txn");
        let state = match meta.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            s => panic!("complete from {s:?}"),
        };
        meta.prepare_offset = None;
        meta.waiting = None;
        self.set_state(txn, state, notes);
    }

    /// Records the entry's new state: in memory now, in the `Txn` stream at
    /// the broker's next flush. Returns the record's stream offset.
    fn set_state(&mut self, txn: TxnIdx, state: TxnState, notes: &mut Vec<TxnNote>) -> u64 {
        let meta = self.txns.get_mut(&txn).expect("exists");
        meta.state = state;
        notes.push(TxnNote::State {
            txn,
            producer_id: meta.producer_id,
            epoch: meta.epoch,
            state,
        });
        let offset = self.stream_end;
        self.pending.push(encode(offset, txn, meta));
        self.stream_end += 1;
        offset
    }

    /// State records since the last call, as one batch for the `Txn` stream.
    pub fn take_batch(&mut self) -> Option<RecordBatch> {
        if self.pending.is_empty() {
            return None;
        }
        let records = std::mem::take(&mut self.pending);
        Some(RecordBatch {
            base_offset: records[0].offset,
            records,
        })
    }

    /// A crash: memory is gone.
    pub fn crash(&mut self) {
        *self = TxnCoordinator::new();
    }

    /// Rebuilds the table from the `Txn` stream (last record per id wins) and
    /// resolves what each phase left: Ongoing → PrepareAbort (with an epoch
    /// bump), PrepareCommit and PrepareAbort stay and get their markers at
    /// once (their Prepare record is on disk). Returns the marker jobs, and
    /// the offset of the first record it could not read, if any.
    ///
    /// A record that passed its batch's CRC but is not a state record this
    /// coordinator writes (data from another build, or forged) ends the
    /// stream there: the table is rebuilt from the records before it, and the
    /// caller cuts the stream at that offset, as recovery cuts a damaged
    /// batch. Reading on past it could resurrect a stale state.
    ///
    /// `fits` says whether a decoded record names only partitions and
    /// groups this broker has: a record that passed every check but names
    /// partition 200 of a 3-partition topic is just as unreadable.
    pub fn recover(
        &mut self,
        batches: &[RecordBatch],
        fits: &dyn Fn(&TxnMeta) -> bool,
        notes: &mut Vec<TxnNote>,
    ) -> (Vec<MarkerJob>, Option<u64>) {
        *self = TxnCoordinator::new();
        let mut unreadable = None;
        for r in batches.iter().flat_map(|b| &b.records) {
            let Some((txn, meta)) = decode(r).filter(|(_, m)| fits(m)) else {
                unreadable = Some(r.offset);
                break;
            };
            self.next_producer_id = self
                .next_producer_id
                .max(meta.producer_id.saturating_add(1));
            self.txns.insert(txn, meta);
            self.stream_end = r.offset + 1;
        }
        self.durable_end = self.stream_end;
        let ongoing: Vec<TxnIdx> = self
            .txns
            .iter()
            .filter(|(_, m)| m.state == TxnState::Ongoing)
            .map(|(t, _)| *t)
            .collect();
        for txn in ongoing {
            let meta = self.txns.get_mut(&txn).expect("listed");
            meta.epoch = meta.epoch.checked_add(1).expect("epochs below u16::MAX");
            self.begin_prepare(txn, false, None, notes);
        }
        // Recovered Prepares are on disk. The PrepareAborts just made need not
        // wait for theirs: abort is what a further crash would decide anyway.
        for m in self.txns.values_mut() {
            if matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
                m.prepare_offset = Some(0);
            }
        }
        let durable = self.durable_end;
        let ready = self
            .txns
            .iter()
            .filter(|(_, m)| m.prepare_offset.is_some_and(|o| o < durable));
        (ready.map(|(t, m)| job(*t, m)).collect(), unreadable)
    }
}

fn error(error: TxnError) -> TxnReply {
    TxnReply::Error { error }
}

fn job(txn: TxnIdx, m: &TxnMeta) -> MarkerJob {
    MarkerJob {
        txn,
        producer_id: m.producer_id,
        epoch: m.epoch,
        commit: m.state == TxnState::PrepareCommit,
        partitions: m.partitions.clone(),
        offsets: m.offsets.clone(),
        reply_to: m.waiting,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::log::txn::state_log::{decode, encode};

    #[test]
    fn unreadable_state_records_end_recovery_there() {
        let meta = |epoch| TxnMeta {
            producer_id: 1001,
            epoch,
            state: TxnState::CompleteCommit,
            transaction_timeout_ms: 60_000,
            started_ms: 0,
            partitions: Vec::new(),
            offsets: Vec::new(),
            waiting: None,
            prepare_offset: None,
        };
        // An exhausted epoch could not be bumped at recovery: refused.
        assert_eq!(decode(&encode(0, 1, &meta(u16::MAX))), None);
        let mut garbled = encode(1, 2, &meta(3));
        garbled.value.truncate(5);
        let batch = RecordBatch {
            base_offset: 0,
            records: vec![encode(0, 1, &meta(2)), garbled, encode(2, 1, &meta(9))],
        };
        let mut c = TxnCoordinator::new();
        let (jobs, unreadable) = c.recover(&[batch], &|_| true, &mut Vec::new());
        assert!(jobs.is_empty());
        assert_eq!(unreadable, Some(1), "stops at the garbled record");
        assert_eq!(
            c.meta(1).map(|m| m.epoch),
            Some(2),
            "the record after it is not read"
        );
        assert_eq!(c.stream_end, 1);
    }
}
