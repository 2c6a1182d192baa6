//! The transaction coordinator: one producer id and epoch per
//! `transactional.id`, each transaction's partitions, the decision, and
//! the markers that carry it to every partition.
//!
//! **Simplification.** It lives on the always-available controller, and
//! its state is the controller's memory: Kafka keeps it in the replicated
//! `__transaction_state` partitions, and moves the coordinator with their
//! leadership when its broker dies. Here nothing can take it down, so a
//! decision, once made, is always carried out. It answers a producer at
//! once (as the controller answers a metadata request); only the markers
//! travel the network, to each partition's leader, and are asked for
//! again until that leader has committed them.
//!
//! **Epochs.** As in Kafka's transactions v2 (KIP-890), every transaction
//! ends with a new producer epoch: `EndTxn` returns it, and the next
//! transaction writes at it. A marker names the epoch of the transaction
//! it closes, so a leader tells a late retry of an old marker from the
//! open transaction, and fences a zombie's records (`INVALID_PRODUCER_EPOCH`).
//! `InitProducerId` bumps the epoch too, aborting a transaction left open.
//!
//! There is no `transaction.timeout.ms`: the harness's producers do not
//! crash, and each one ends what it begins.

use super::{MarkerAnswer, MarkerRequest, PartitionIdx};

/// Why a coordinator request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnError {
    /// `CONCURRENT_TRANSACTIONS`: the previous transaction's markers are
    /// still being written; retry after `retry.backoff.ms`.
    ConcurrentTransactions,
    /// `PRODUCER_FENCED`: a newer epoch of this `transactional.id` exists.
    ProducerFenced,
}

/// The markers of one decided transaction, until every leader has them.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Completing {
    /// The transaction's producer epoch (the one its records carry).
    epoch: u16,
    /// Commit (true) or abort.
    commit: bool,
    /// Partitions whose leader has not answered `Ok` yet.
    pending: Vec<PartitionIdx>,
}

/// One `transactional.id`'s state.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TxnEntry {
    /// The `transactional.id`.
    id: String,
    /// Its producer id.
    producer_id: u64,
    /// The current producer epoch.
    epoch: u16,
    /// Partitions of the open transaction (`AddPartitionsToTxn`). Bound:
    /// the partitions.
    partitions: Vec<PartitionIdx>,
    /// The previous transaction's markers, while any is unwritten.
    completing: Option<Completing>,
}

/// The transaction coordinator (see the module doc).
#[derive(Clone, Debug, Default)]
pub struct TxnCoordinator {
    /// One entry per `transactional.id`. Bound: the scenario's
    /// transactional producers.
    entries: Vec<TxnEntry>,
    /// The next producer id it hands out.
    next_producer_id: u64,
}

impl TxnCoordinator {
    /// A coordinator handing out producer ids from `first_producer_id`
    /// (apart from the idempotent producers' ids).
    pub fn new(first_producer_id: u64) -> TxnCoordinator {
        TxnCoordinator {
            entries: Vec::new(),
            next_producer_id: first_producer_id,
        }
    }

    fn entry(&mut self, producer_id: u64, epoch: u16) -> Result<&mut TxnEntry, TxnError> {
        let e = self
            .entries
            .iter_mut()
            .find(|e| e.producer_id == producer_id);
        match e {
            Some(e) if e.epoch == epoch => Ok(e),
            _ => Err(TxnError::ProducerFenced),
        }
    }

    /// `InitProducerId`: the producer id of `transactional.id` and a new
    /// epoch, fencing every older one. A transaction still open is
    /// aborted first (`CONCURRENT_TRANSACTIONS` until its markers are
    /// written); markers to send go to `out`.
    pub fn init(&mut self, id: &str, out: &mut Vec<MarkerRequest>) -> Result<(u64, u16), TxnError> {
        let Some(e) = self.entries.iter_mut().find(|e| e.id == id) else {
            let producer_id = self.next_producer_id;
            self.next_producer_id += 1;
            self.entries.push(TxnEntry {
                id: id.to_string(),
                producer_id,
                epoch: 0,
                partitions: Vec::new(),
                completing: None,
            });
            return Ok((producer_id, 0));
        };
        if e.completing.is_some() {
            return Err(TxnError::ConcurrentTransactions);
        }
        if !e.partitions.is_empty() {
            decide(e, false, out);
            return Err(TxnError::ConcurrentTransactions);
        }
        e.epoch = e.epoch.checked_add(1).expect("epochs below u16::MAX");
        Ok((e.producer_id, e.epoch))
    }

    /// `AddPartitionsToTxn`: `partition` joins the open transaction.
    pub fn add_partition(
        &mut self,
        (producer_id, epoch): (u64, u16),
        partition: PartitionIdx,
    ) -> Result<(), TxnError> {
        let e = self.entry(producer_id, epoch)?;
        if e.completing.is_some() {
            return Err(TxnError::ConcurrentTransactions);
        }
        if !e.partitions.contains(&partition) {
            e.partitions.push(partition);
        }
        Ok(())
    }

    /// `EndTxn`: the decision, commit or abort, is made here and now (the
    /// point of no return); its markers go to `out`. Returns the epoch
    /// of the next transaction.
    pub fn end(
        &mut self,
        (producer_id, epoch): (u64, u16),
        commit: bool,
        out: &mut Vec<MarkerRequest>,
    ) -> Result<u16, TxnError> {
        let e = self.entry(producer_id, epoch)?;
        if e.completing.is_some() {
            return Err(TxnError::ConcurrentTransactions);
        }
        decide(e, commit, out);
        Ok(e.epoch)
    }

    /// A leader's answer to a marker: the partition is done, or asked
    /// again at the next [`TxnCoordinator::retry`].
    pub fn answered(&mut self, a: MarkerAnswer) {
        let r = a.request;
        let Some(e) = self.entries.iter_mut().find(|e| {
            let c = e.completing.as_ref();
            e.producer_id == r.producer_id && c.is_some_and(|c| c.epoch == r.producer_epoch)
        }) else {
            return; // an answer to a transaction already complete
        };
        let c = e.completing.as_mut().expect("found by it");
        if a.result.is_ok() {
            c.pending.retain(|p| *p != r.partition);
        }
        if c.pending.is_empty() {
            e.completing = None;
        }
    }

    /// Every marker not yet answered `Ok`, asked for again.
    pub fn retry(&self, out: &mut Vec<MarkerRequest>) {
        for e in &self.entries {
            let Some(c) = &e.completing else { continue };
            out.extend(c.pending.iter().map(|&partition| MarkerRequest {
                partition,
                producer_id: e.producer_id,
                producer_epoch: c.epoch,
                commit: c.commit,
            }));
        }
    }

    /// A transaction a resumed cluster's stored logs leave without a
    /// marker in `partitions` (this coordinator's state is not stored):
    /// its markers are written again, commit when a stored marker of it
    /// says so, else abort.
    pub fn recover(
        &mut self,
        (producer_id, epoch): (u64, u16),
        commit: bool,
        partitions: Vec<PartitionIdx>,
    ) {
        self.next_producer_id = self.next_producer_id.max(producer_id + 1);
        self.entries.push(TxnEntry {
            id: String::new(), // a real transactional.id is never empty
            producer_id,
            epoch: epoch.saturating_add(1),
            partitions: Vec::new(),
            completing: Some(Completing {
                epoch,
                commit,
                pending: partitions,
            }),
        });
    }

    /// Whether markers are still being written.
    pub fn is_busy(&self) -> bool {
        self.entries.iter().any(|e| e.completing.is_some())
    }
}

/// Decides the open transaction of `e` (abort or commit), bumps the
/// epoch, and sends one marker to each of its partitions.
fn decide(e: &mut TxnEntry, commit: bool, out: &mut Vec<MarkerRequest>) {
    let pending = std::mem::take(&mut e.partitions);
    let epoch = e.epoch;
    out.extend(pending.iter().map(|&partition| MarkerRequest {
        partition,
        producer_id: e.producer_id,
        producer_epoch: epoch,
        commit,
    }));
    e.epoch = epoch.checked_add(1).expect("epochs below u16::MAX");
    if !pending.is_empty() {
        e.completing = Some(Completing {
            epoch,
            commit,
            pending,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_completes_when_every_marker_is_answered() {
        let mut c = TxnCoordinator::new(500);
        let mut out = Vec::new();
        let ids = c.init("t1", &mut out).expect("new");
        assert_eq!(ids, (500, 0));
        c.add_partition(ids, 0).expect("open");
        c.add_partition(ids, 2).expect("open");
        assert_eq!(c.end(ids, true, &mut out), Ok(1));
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|m| m.commit && m.producer_epoch == 0));
        assert_eq!(
            c.add_partition((500, 1), 1),
            Err(TxnError::ConcurrentTransactions)
        );
        assert_eq!(c.add_partition(ids, 1), Err(TxnError::ProducerFenced));
        c.answered(MarkerAnswer {
            request: out[0],
            result: Ok(()),
        });
        let mut again = Vec::new();
        c.retry(&mut again);
        assert_eq!(again, vec![out[1]]);
        c.answered(MarkerAnswer {
            request: out[1],
            result: Ok(()),
        });
        assert!(!c.is_busy());
        assert_eq!(c.add_partition((500, 1), 1), Ok(()));
        // A new incarnation aborts the open transaction and fences epoch 1.
        out.clear();
        assert_eq!(
            c.init("t1", &mut out),
            Err(TxnError::ConcurrentTransactions)
        );
        assert!(out.iter().all(|m| !m.commit && m.producer_epoch == 1));
    }
}
