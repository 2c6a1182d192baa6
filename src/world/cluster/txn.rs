//! Transactional producers and the coordinator's markers.
//!
//! A transactional producer (a `log_producer` with `transactional`) runs
//! Kafka's loop, one record in flight:
//!
//! ```text
//! InitProducerId(transactional.id)        once: producer id and epoch
//! loop {
//!     AddPartitionsToTxn(partition)       before a partition's first record
//!     Produce(record, producer id, epoch, sequence)   at the leader, acks=all
//!     ... records_per_transaction records ...
//!     EndTxn(commit | abort)              the decision; a new epoch back
//! }
//! ```
//!
//! The coordinator answers at once (it lives on the always-available
//! controller); each decision's markers go to the partitions' leaders
//! over the network and are asked for again every [`MARKER_RETRY_MS`]
//! until each leader has committed its marker. A record given up (its
//! retries spent, or `INVALID_PRODUCER_EPOCH`) aborts its transaction;
//! its message is not sent again (the next transaction writes new ones).
//! `PRODUCER_FENCED` (another instance of its `transactional.id` called
//! `InitProducerId` since) stops the producer for good, as in Kafka.
//! After `duration_ms` the producer ends the transaction it has open.
//!
//! What the checker needs goes to the facts: each ended transaction,
//! with its records and the decision the producer heard.

use super::ClusterRun;
#[cfg(not(target_arch = "wasm32"))]
use super::Ev;
use crate::broker::ClientId;
#[cfg(not(target_arch = "wasm32"))]
use crate::{
    broker::cluster::{MarkerRequest, TxnError},
    check::cluster::TxnFact,
};

/// The coordinator's first producer id: far above the idempotent
/// producers' (client index + 1, plus 1,000 per give-up).
#[cfg(not(target_arch = "wasm32"))]
pub(super) const FIRST_PRODUCER_ID: u64 = 1 << 40;
/// How often the coordinator asks again for markers not yet written.
#[cfg(not(target_arch = "wasm32"))]
pub(super) const MARKER_RETRY_MS: u64 = 100;

#[cfg(not(target_arch = "wasm32"))]
impl ClusterRun {
    /// A transactional producer has its producer id, or asks for it now
    /// (`InitProducerId`); on `CONCURRENT_TRANSACTIONS` it comes back
    /// after the backoff. Whether it may produce.
    pub(super) fn txn_ready(&mut self, c: ClientId) -> bool {
        let p = self.producers[c as usize].as_mut().expect("a producer");
        let Some(t) = &mut p.txn else { return true };
        if t.ready || t.fenced {
            return !t.fenced;
        }
        let mut markers = Vec::new();
        let answer = self
            .coordinator
            .init(&t.spec.transactional_id, &mut markers);
        self.send_markers(markers);
        let p = self.producers[c as usize].as_mut().expect("a producer");
        match answer {
            Ok((producer_id, epoch)) => {
                p.new_epoch(producer_id, epoch);
                p.txn.as_mut().expect("transactional").ready = true;
                true
            }
            Err(_) => {
                let at = self.now_ms + super::clients::RETRY_BACKOFF_MS;
                self.schedule(at, Ev::Produce(c));
                false
            }
        }
    }

    /// Before the current record's first send: its partition joins the
    /// open transaction (`AddPartitionsToTxn`). `false` when the record
    /// must wait (`CONCURRENT_TRANSACTIONS`: a retry is scheduled) or was
    /// given up (fenced).
    pub(super) fn txn_add_partition(&mut self, c: ClientId) -> bool {
        let p = self.producers[c as usize].as_mut().expect("a producer");
        let (ids, a) = (
            (p.producer_id, p.producer_epoch),
            p.current.expect("a record"),
        );
        let Some(t) = &mut p.txn else { return true };
        if t.added.contains(&a.partition) {
            return true;
        }
        match self.coordinator.add_partition(ids, a.partition) {
            Ok(()) => {
                t.added.push(a.partition);
                true
            }
            Err(TxnError::ConcurrentTransactions) => {
                let at = self.now_ms + super::clients::RETRY_BACKOFF_MS;
                self.schedule(at, Ev::Retry(c, a.send_id));
                false
            }
            Err(TxnError::ProducerFenced) => {
                t.fenced = true; // a newer instance exists: stop
                p.give_up();
                self.next_record(c); // ends the transaction, unanswered
                false
            }
        }
    }

    /// Ends the open transaction, if it has begun (`EndTxn`): commit
    /// unless a record failed or the application aborts this one. The
    /// decision and its records go to the facts; the next transaction
    /// writes at the epoch the coordinator returns.
    pub(super) fn txn_end(&mut self, c: ClientId) {
        let p = self.producers[c as usize].as_mut().expect("a producer");
        let ids = (p.producer_id, p.producer_epoch);
        let Some(t) = &mut p.txn else { return };
        if t.added.is_empty() && t.records.is_empty() {
            return; // nothing begun
        }
        let commit = t.commits();
        let mut markers = Vec::new();
        let answer = match t.fenced {
            false => self.coordinator.end(ids, commit, &mut markers),
            true => Err(TxnError::ProducerFenced),
        };
        let fact = TxnFact {
            transactional_id: t.spec.transactional_id.clone(),
            at_ms: self.now_ms,
            producer_id: ids.0,
            producer_epoch: ids.1,
            records: std::mem::take(&mut t.records),
            committed: answer.ok().map(|_| commit),
        };
        t.added.clear();
        t.failed = false;
        t.ended += 1;
        match answer {
            Ok(epoch) => p.new_epoch(ids.0, epoch),
            Err(_) => t.fenced = true,
        }
        self.facts.txns.push(fact);
        self.send_markers(markers);
    }

    /// Sends each marker to its partition's leader (none while the
    /// partition is offline), and keeps the retry timer going while any
    /// is unwritten.
    pub(super) fn send_markers(&mut self, markers: Vec<MarkerRequest>) {
        for m in markers {
            if let Some(leader) = self.controller.leader_of(m.partition) {
                self.send_marker(leader, m);
            }
        }
        if self.coordinator.is_busy() && !self.marker_retry {
            self.marker_retry = true;
            self.schedule(self.now_ms + MARKER_RETRY_MS, Ev::MarkerRetry);
        }
    }

    /// The retry timer: every marker not yet answered `Ok`, again.
    pub(super) fn marker_retry_due(&mut self) {
        self.marker_retry = false;
        let mut markers = Vec::new();
        self.coordinator.retry(&mut markers);
        self.send_markers(markers);
    }
}

/// The page's build has no transactional producer (see
/// `clients::TxnClient`) and no coordinator: every producer may produce
/// at once and has no transaction to end, exactly as the native code
/// goes for a producer without `transactional`.
#[cfg(target_arch = "wasm32")]
impl ClusterRun {
    pub(super) fn txn_ready(&mut self, _: ClientId) -> bool {
        true
    }

    pub(super) fn txn_add_partition(&mut self, _: ClientId) -> bool {
        true
    }

    pub(super) fn txn_end(&mut self, _: ClientId) {}
}
