//! The harness's clients: producers that follow the leader, and readers
//! that fetch what is committed.
//!
//! A producer keeps one request in flight (`max.in.flight.requests=1`,
//! so its records stay in order) and a metadata cache of each
//! partition's leader. On `NOT_LEADER_OR_FOLLOWER` or a timeout it asks
//! the controller again (a metadata refresh, answered at once: the
//! controller is always available) and retries; `NOT_ENOUGH_REPLICAS`
//! is retried after `retry.backoff.ms`. An idempotent producer tags each
//! record with its producer id and a sequence per partition, the same on
//! every retry; when it gives a record up it takes a new producer id
//! (KIP-360's epoch bump), so its next sequence starts clean.
//!
//! A reader fetches every partition of its topic from the leader, from
//! offset 0, and notes each record it gets: the checker then asks
//! whether anything read was later gone.

use crate::broker::cluster::{ClientRequest, Idem, PartitionIdx, ProduceError};
use crate::broker::log::partition_for_key;
use crate::broker::{ClientId, MsgId};
#[cfg(not(target_arch = "wasm32"))]
use crate::config::ProducerTxnSpec;
use crate::config::{Acks, LogProducerSpec};
use crate::node::NodeId;

/// Kafka's `retry.backoff.ms`, shortened to the runs' time scale.
pub(super) const RETRY_BACKOFF_MS: u64 = 20;
/// How often a reader fetches each partition.
pub(super) const READ_INTERVAL_MS: u64 = 10;
/// A reader gives up on a fetch answer after this long.
pub(super) const READ_TIMEOUT_MS: u64 = 100;
/// Producer ids after a give-up step by this, past every client's first.
const PRODUCER_ID_STRIDE: u64 = 1_000;

/// What a resumed run adds to every producer's id so that each is above
/// `max`, the largest one stored (whole strides, so the clients' ids stay
/// apart): Kafka hands a new producer session a new id.
pub(super) fn past_producer_ids(max: u64) -> u64 {
    PRODUCER_ID_STRIDE * (max / PRODUCER_ID_STRIDE + 1)
}

/// One record a producer is trying to get acknowledged.
#[derive(Clone, Copy, Debug)]
pub(super) struct Attempt {
    /// The message.
    pub(super) msg: MsgId,
    /// Its partition.
    pub(super) partition: PartitionIdx,
    /// Its idempotence tag, fixed across retries.
    pub(super) idem: Option<Idem>,
    /// Sends so far.
    pub(super) sends: u32,
    /// Which send is current: answers and timeouts of older ones are
    /// ignored.
    pub(super) send_id: u64,
}

/// A producer of the harness.
#[derive(Clone, Debug)]
pub(super) struct Producer {
    /// Its settings.
    pub(super) spec: LogProducerSpec,
    /// The first partition index of its topic, and the topic's count.
    pub(super) topic: (PartitionIdx, u16),
    /// Records started so far.
    pub(super) started: u64,
    /// The record in flight.
    pub(super) current: Option<Attempt>,
    /// The idempotent producer id (changes after a give-up), or the
    /// coordinator's for a transactional producer.
    pub(super) producer_id: u64,
    /// The producer epoch: 0, or the coordinator's for a transactional
    /// producer (a new one for each transaction).
    pub(super) producer_epoch: u16,
    /// A transactional producer's state.
    pub(super) txn: Option<TxnClient>,
    /// Next sequence per partition of its topic.
    sequences: Vec<u32>,
    /// The next send's id.
    next_send_id: u64,
}

impl Producer {
    /// A producer of `spec` writing to partitions `first .. first + count`.
    pub(super) fn new(id: ClientId, spec: &LogProducerSpec, topic: (PartitionIdx, u16)) -> Self {
        Producer {
            spec: spec.clone(),
            topic,
            started: 0,
            current: None,
            producer_id: u64::from(id) + 1,
            producer_epoch: 0,
            txn: TxnClient::of(spec),
            sequences: vec![0; usize::from(topic.1)],
            next_send_id: 0,
        }
    }

    /// When its record number `i` is due.
    pub(super) fn due_ms(&self, i: u64) -> u64 {
        let interval = match (self.spec.interval_ms, self.spec.rate_per_s) {
            (Some(ms), _) => ms,
            (None, Some(rate)) => (1000 / rate).max(1),
            (None, None) => 1,
        };
        self.spec.start_ms + i * interval
    }

    /// Starts its next record as message `msg`.
    pub(super) fn start(&mut self, msg: MsgId) {
        let i = self.started;
        self.started += 1;
        let (first, count) = self.topic;
        let p = match self.spec.keys.len() {
            0 => (i % u64::from(count)) as u16,
            n => {
                let key = &self.spec.keys[(i % n as u64) as usize];
                partition_for_key(key.as_bytes(), u32::from(count))
            }
        };
        let idem = self.spec.enable_idempotence.then(|| {
            let seq = &mut self.sequences[usize::from(p)];
            *seq += 1;
            Idem {
                producer_id: self.producer_id,
                producer_epoch: self.producer_epoch,
                sequence: *seq - 1,
            }
        });
        self.current = Some(Attempt {
            msg,
            partition: first + p,
            idem,
            sends: 0,
            send_id: 0,
        });
    }

    /// The request for the current record, counting a send.
    pub(super) fn send(&mut self) -> Option<(ClientRequest, u64)> {
        let a = self.current.as_mut()?;
        a.sends += 1;
        self.next_send_id += 1;
        a.send_id = self.next_send_id;
        let req = ClientRequest::Produce {
            partition: a.partition,
            msg: a.msg,
            acks: self.spec.acks,
            idem: a.idem,
            txn: self.txn.is_some(),
        };
        Some((req, a.send_id))
    }

    /// Whether the current record may be sent again.
    pub(super) fn may_retry(&self) -> bool {
        self.current.is_some_and(|a| a.sends <= self.spec.retries)
    }

    /// The current record is given up: with idempotence, a new producer
    /// id and fresh sequences; in a transaction, the transaction must
    /// abort (the record may have landed: it is counted in it).
    pub(super) fn give_up(&mut self) {
        let current = self.current.take();
        if let (Some(t), Some(a)) = (&mut self.txn, current) {
            return t.fail((a.partition, a.msg));
        }
        if self.spec.enable_idempotence {
            self.producer_id += PRODUCER_ID_STRIDE;
            self.sequences.iter_mut().for_each(|s| *s = 0);
        }
    }

    /// A new producer epoch (a transactional producer's next
    /// transaction): sequences start at 0 again.
    #[cfg(not(target_arch = "wasm32"))]
    pub(super) fn new_epoch(&mut self, producer_id: u64, epoch: u16) {
        (self.producer_id, self.producer_epoch) = (producer_id, epoch);
        self.sequences.iter_mut().for_each(|s| *s = 0);
    }

    /// Whether it answers at all (`acks=0` never hears back).
    pub(super) fn expects_answer(&self) -> bool {
        self.spec.acks != Acks::Zero
    }
}

/// What a producer does after an error answer.
pub(super) fn after_error(e: ProduceError) -> Retry {
    match e {
        ProduceError::NotLeaderOrFollower => Retry::RefreshNow,
        ProduceError::NotEnoughReplicas | ProduceError::NotEnoughReplicasAfterAppend => {
            Retry::Backoff
        }
        ProduceError::OutOfOrderSequence | ProduceError::InvalidProducerEpoch => Retry::GiveUp,
    }
}

/// How a producer retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Retry {
    /// Refresh the metadata and send again at once.
    RefreshNow,
    /// Send again after `retry.backoff.ms`.
    Backoff,
    /// Fatal for this record.
    GiveUp,
}

/// A transactional producer's side of its transactions. None in the
/// page's build: it has no transactional producers (see
/// `LogProducerSpec::transactional`), and an uninhabited type lets the
/// compiler drop every path that would handle one.
#[cfg(target_arch = "wasm32")]
#[derive(Clone, Debug)]
pub(super) enum TxnClient {}

#[cfg(target_arch = "wasm32")]
impl TxnClient {
    fn of(_: &LogProducerSpec) -> Option<TxnClient> {
        None
    }

    pub(super) fn is_due(&self) -> bool {
        match *self {}
    }

    pub(super) fn record(&mut self, _: (PartitionIdx, MsgId)) {
        match *self {}
    }

    fn fail(&mut self, _: (PartitionIdx, MsgId)) {
        match *self {}
    }
}

/// A transactional producer's side of its transactions.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Debug)]
pub(super) struct TxnClient {
    /// Its `transactional.id` and how it groups records.
    pub(super) spec: ProducerTxnSpec,
    /// Whether `InitProducerId` answered (the producer id and epoch are
    /// the producer's).
    pub(super) ready: bool,
    /// `PRODUCER_FENCED`: a newer instance of its `transactional.id`
    /// exists. Fatal, as in Kafka: this zombie writes nothing more.
    pub(super) fenced: bool,
    /// Records of the open transaction: acknowledged, or given up (they
    /// may have landed). Bound: `records_per_transaction`.
    pub(super) records: Vec<(PartitionIdx, MsgId)>,
    /// Partitions added to the open transaction (`AddPartitionsToTxn`).
    pub(super) added: Vec<PartitionIdx>,
    /// A record was given up: the transaction must abort.
    pub(super) failed: bool,
    /// Transactions ended so far.
    pub(super) ended: u64,
}

#[cfg(not(target_arch = "wasm32"))]
impl TxnClient {
    fn of(spec: &LogProducerSpec) -> Option<TxnClient> {
        spec.transactional.clone().map(TxnClient::new)
    }

    fn new(spec: ProducerTxnSpec) -> TxnClient {
        TxnClient {
            spec,
            ready: false,
            fenced: false,
            records: Vec::new(),
            added: Vec::new(),
            failed: false,
            ended: 0,
        }
    }

    /// An acknowledged record joins the open transaction.
    pub(super) fn record(&mut self, record: (PartitionIdx, MsgId)) {
        self.records.push(record);
    }

    /// A record given up: it may have landed, so it counts in the
    /// transaction, which must abort.
    fn fail(&mut self, record: (PartitionIdx, MsgId)) {
        self.records.push(record);
        self.failed = true;
    }

    /// Whether the open transaction is to end now: it is full, or it
    /// lost a record.
    pub(super) fn is_due(&self) -> bool {
        self.failed || self.records.len() >= self.spec.records_per_transaction as usize
    }

    /// Whether the application commits the open transaction (else it
    /// aborts: a record failed, or it is an `abort_every`-th one).
    pub(super) fn commits(&self) -> bool {
        let n = u64::from(self.spec.abort_every);
        !self.failed && (n == 0 || !(self.ended + 1).is_multiple_of(n))
    }
}

/// A reader of one topic: its position and outstanding fetch per
/// partition.
#[derive(Clone, Debug)]
pub(super) struct Reader {
    /// The first partition index of its topic, and the count.
    pub(super) topic: (PartitionIdx, u16),
    /// `isolation.level=read_committed`.
    pub(super) read_committed: bool,
    /// Next offset per partition of the topic.
    pub(super) positions: Vec<u64>,
    /// Per partition: the fetch in flight (to which broker, given up at).
    pub(super) outstanding: Vec<Option<(NodeId, u64)>>,
}

impl Reader {
    /// A reader of partitions `first .. first + count` from offset 0.
    pub(super) fn new(topic: (PartitionIdx, u16), read_committed: bool) -> Reader {
        let n = usize::from(topic.1);
        Reader {
            topic,
            read_committed,
            positions: vec![0; n],
            outstanding: vec![None; n],
        }
    }
}
