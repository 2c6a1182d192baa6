//! A producer: publishes `count` messages on a fixed schedule.
//!
//! With publisher confirms (`confirm.select`) it tracks every unconfirmed
//! message. When a confirm does not come within `timeout_ms` it re-publishes the
//! *same* message id, up to `max_retries` times. That is the at-least-once
//! producer's bargain: the first copy may have reached the broker and only the
//! confirm got lost, so a retry can create a duplicate. With retries used up
//! the outcome is `info` (unknown). Without confirms every publish is `info`:
//! fire-and-forget never learns whether it worked.

use super::id_map::IdMap;
use super::{
    Client, ClientOutput, ClientSettings, ClientTimer, ClientView, Ctx, Downlink, Lookup, NewKeys,
    Reconnect,
};
use crate::broker::log::{partition_for_key, LogReply, LogRequest, PartitionId, TopicId};
use crate::broker::log::{producer_id, ProducerIdent};
use crate::broker::{ClientId, KeyId, Message, MsgId, Properties, Request, Target};
use crate::config::{
    Acks, ConfirmSpec, FaultAction, LogBrokerSpec, LogProducerSpec, Partitioner, ProducerSpec,
    QueueBrokerSpec, Scenario, Setting,
};
use crate::history::{Entry, LogEntry, Names, OpType};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Keyless records the sticky partitioner sends to one partition before it
/// moves to the next (standing in for one full `batch.size`).
pub const STICKY_BATCH_RECORDS: u64 = 16;

/// Where a producer's messages go.
#[derive(Clone, Debug)]
pub enum Route {
    /// An exchange or queue of the queue broker.
    Queue(Target),
    /// A topic of the log broker. `key_partitions[k]` is the partition of
    /// key `k` (murmur2, computed once); keyless records follow `partitioner`.
    /// A map by key, not by position in `keys`: a live key change must not
    /// move a retry of an older message to another partition.
    Log {
        /// The topic it produces to.
        topic: TopicId,
        /// The topic's partition count.
        partitions: u32,
        /// Each key's partition.
        key_partitions: BTreeMap<KeyId, PartitionId>,
        /// Where keyless records go: sticky batches or round-robin.
        partitioner: Partitioner,
        /// `acks`: 0, 1 or all.
        acks: Acks,
    },
}

/// A published message waiting for its confirm.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// The message, re-sent as is on a retry.
    msg: Message,
    /// 0 for the first send; a deadline of an older attempt is ignored.
    attempt: u32,
    /// `enable.idempotence`: its sequence number in its partition, the same
    /// on every retry.
    sequence: u32,
}

#[derive(Clone, Debug)]
/// A producer: publishes `count` messages on a schedule, with or without
/// confirms (see the module docs).
pub struct Producer {
    /// Its client id: messages carry it as their producer.
    id: ClientId,
    /// Where its messages go.
    route: Route,
    /// Keys used in turn; empty means messages have no key.
    keys: Vec<KeyId>,
    /// Message `k` is due at `start_ms + (k - seq_base) * period_num / period_den`
    /// (integer maths, so 3 messages per second land at 0, 333, 666 ms exactly).
    period_num: u64,
    /// See `period_num`.
    period_den: u64,
    /// When message `seq_base` is due.
    start_ms: u64,
    /// The message the schedule counts from: 0, or where a live rate change
    /// re-anchored it (see [`Producer::set_rate`]).
    seq_base: u64,
    /// Messages it publishes in all.
    count: u64,
    /// Each message's payload size.
    payload_bytes: u32,
    /// Publisher confirms (`None`: fire and forget, every publish is `info`).
    confirms: Option<ConfirmSpec>,
    /// `delivery_mode=2` (a durable queue keeps these across a broker
    /// restart), `expiration` and `headers`, set on every publish.
    props: Properties,
    /// Running; a crashed producer publishes nothing until restarted.
    alive: bool,
    /// Messages published so far (the next one's `seq`).
    next_seq: u64,
    /// Bound: `confirms.window`.
    pending: IdMap<Pending>,
    /// The window was full at a publish slot; publish again when it frees up.
    blocked: bool,
    /// Confirm deadlines in time order: (at_ms, msg, attempt). Every attempt
    /// gets `now + timeout_ms`, so appending keeps the order. One timer covers
    /// the earliest entry instead of one timer per message, which keeps the
    /// world's event queue small. Entries of confirmed messages are skipped when
    /// they come due. Bound: messages published within one `timeout_ms`.
    deadlines: VecDeque<(u64, MsgId, u32)>,
    /// When the pending deadline timer fires, if one is set.
    timer_at_ms: Option<u64>,
    /// `enable.idempotence` (log route only).
    idempotence: bool,
    /// Restarts so far: a restarted idempotent producer is a new producer id.
    incarnation: u32,
    /// Next sequence number per partition for the current producer id.
    /// Bound: partitions of the topic.
    sequences: BTreeMap<PartitionId, u32>,
    /// Messages a `crash_after_send` left unacknowledged, re-sent at restart
    /// (an application retrying an unknown outcome). Bound: the window.
    resend: Vec<Message>,
    /// Set by [`Producer::keep_unacked_at_crash`] for the next crash.
    keep_unacked: bool,
    /// No publish slot runs after this time (the scenario's `duration_ms`),
    /// also while the final drain of a log run goes on.
    stop_ms: u64,
}

/// How a producer is set up, resolved from its scenario entry.
#[derive(Clone, Debug)]
pub struct ProducerConfig {
    /// Where its messages go.
    pub route: Route,
    /// Keys used in turn; empty means messages have no key.
    pub keys: Vec<KeyId>,
    /// One message every `period_num / period_den` ms.
    pub period_num: u64,
    /// See `period_num`.
    pub period_den: u64,
    /// When the first message is due.
    pub start_ms: u64,
    /// Messages it publishes in all.
    pub count: u64,
    /// Each message's payload size (the log stores it).
    pub payload_bytes: u32,
    /// Publisher confirms: timeout, retries, window (`None`: fire and forget).
    pub confirms: Option<ConfirmSpec>,
    /// `delivery_mode`, `expiration`, `headers` on every publish (queue route only).
    pub props: Properties,
    /// `enable.idempotence` (log route, needs confirms).
    pub idempotence: bool,
    /// No publishing after this time (the scenario's `duration_ms`).
    pub stop_ms: u64,
}

impl Producer {
    /// A running producer whose first publish slot is not set yet.
    pub fn new(id: ClientId, cfg: ProducerConfig) -> Producer {
        assert!(
            cfg.period_den > 0 && cfg.period_num > 0,
            "validated: positive rate"
        );
        Producer {
            id,
            route: cfg.route,
            keys: cfg.keys,
            period_num: cfg.period_num,
            period_den: cfg.period_den,
            start_ms: cfg.start_ms,
            seq_base: 0,
            count: cfg.count,
            payload_bytes: cfg.payload_bytes,
            confirms: cfg.confirms,
            props: cfg.props,
            alive: true,
            next_seq: 0,
            pending: IdMap::default(),
            blocked: false,
            deadlines: VecDeque::new(),
            timer_at_ms: None,
            idempotence: cfg.idempotence,
            incarnation: 0,
            sequences: BTreeMap::new(),
            resend: Vec::new(),
            keep_unacked: false,
            stop_ms: cfg.stop_ms,
        }
    }

    /// When message `seq` is due.
    fn due_ms(&self, seq: u64) -> u64 {
        assert!(seq >= self.seq_base, "the schedule never goes back");
        let offset = u128::from(seq - self.seq_base) * u128::from(self.period_num)
            / u128::from(self.period_den);
        self.start_ms
            .saturating_add(u64::try_from(offset).unwrap_or(u64::MAX))
    }

    /// The first timer, set when the world starts.
    pub fn start(&self, out: &mut Vec<ClientOutput>) {
        out.push(ClientOutput::Timer {
            at_ms: self.due_ms(0),
            timer: ClientTimer::Publish,
        });
    }

    /// A live rate change: one message every `period_num / period_den` ms.
    /// The schedule is re-anchored at `now_ms` from the next message on; the
    /// publish slot already scheduled keeps its time (the change applies from
    /// the slot after it). `count` stays the total this producer publishes.
    pub fn set_rate(&mut self, now_ms: u64, period_num: u64, period_den: u64) {
        assert!(period_num > 0 && period_den > 0, "validated: positive rate");
        self.period_num = period_num;
        self.period_den = period_den;
        self.start_ms = now_ms;
        self.seq_base = self.next_seq;
    }

    /// A live key change: from the next message on, messages cycle through
    /// `keys` (empty: no key). `key_partitions` adds the new keys' partitions
    /// (log route); retries of older messages keep their key and partition.
    pub fn set_keys(&mut self, keys: Vec<KeyId>, key_partitions: &[(KeyId, PartitionId)]) {
        if let Route::Log {
            key_partitions: map,
            ..
        } = &mut self.route
        {
            map.extend(key_partitions.iter().copied());
            assert!(
                keys.iter().all(|k| map.contains_key(k)),
                "every key has a partition"
            );
        }
        self.keys = keys;
    }

    /// Messages per second as the page shows it (rounded down; at least 1).
    pub fn rate_per_s(&self) -> u64 {
        (1000 * self.period_den / self.period_num).max(1)
    }

    /// How many keys the producer cycles through.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Messages published so far.
    pub fn published(&self) -> u64 {
        self.next_seq
    }

    /// A publish slot: publish one message (or block if the window is full).
    pub fn on_publish_slot(
        &mut self,
        now_ms: u64,
        next_msg_id: &mut MsgId,
        out: &mut Vec<ClientOutput>,
    ) {
        if self.next_seq >= self.count {
            return;
        }
        if let Some(c) = self.confirms {
            if self.pending.len() as u64 >= u64::from(c.window) {
                self.blocked = true;
                return;
            }
        }
        let key = if self.keys.is_empty() {
            None
        } else {
            Some(self.keys[(self.next_seq % self.keys.len() as u64) as usize])
        };
        let msg = Message {
            id: *next_msg_id,
            producer: self.id,
            seq: self.next_seq,
            key,
            payload_bytes: self.payload_bytes,
        };
        *next_msg_id += 1;
        self.next_seq += 1;
        out.push(ClientOutput::Record(Entry::Publish {
            ty: OpType::Invoke,
            msg: msg.id,
            key,
        }));
        let sequence = self.next_sequence(msg);
        out.push(ClientOutput::Send(self.request(msg, sequence)));
        match self.confirms {
            Some(c) => {
                let pending = Pending {
                    msg,
                    attempt: 0,
                    sequence,
                };
                self.pending.insert(msg.id, pending);
                self.add_deadline(now_ms + c.timeout_ms, msg.id, 0, out);
            }
            None => out.push(ClientOutput::Record(Entry::Publish {
                ty: OpType::Info,
                msg: msg.id,
                key,
            })),
        }
        if self.next_seq < self.count {
            let at_ms = self.due_ms(self.next_seq).max(now_ms);
            out.push(ClientOutput::Timer {
                at_ms,
                timer: ClientTimer::Publish,
            });
        }
    }

    /// `enable.idempotence`: the next sequence number of `msg`'s partition
    /// (0 when idempotence is off; unused then).
    fn next_sequence(&mut self, msg: Message) -> u32 {
        if !self.idempotence {
            return 0;
        }
        let partition = self.partition_of(msg);
        let next = self.sequences.entry(partition).or_insert(0);
        let sequence = *next;
        *next = next.wrapping_add(1);
        sequence
    }

    fn partition_of(&self, msg: Message) -> PartitionId {
        let Route::Log {
            partitions,
            key_partitions,
            partitioner,
            ..
        } = &self.route
        else {
            return 0;
        };
        match msg.key {
            Some(k) => key_partitions[&k],
            None => keyless_partition(*partitioner, msg.seq, *partitions),
        }
    }

    /// The request that carries `msg`. A retry builds the same request, so a
    /// log record goes to the same partition again (at a new offset, unless
    /// `enable.idempotence` lets the broker spot the repeated `sequence`).
    fn request(&self, msg: Message, sequence: u32) -> Request {
        match &self.route {
            Route::Queue(target) => Request::Publish {
                target: *target,
                msg,
                confirm: self.confirms.is_some(),
                props: self.props,
            },
            Route::Log { topic, acks, .. } if self.idempotence => {
                assert!(*acks == Acks::All, "validated: idempotence needs acks=all");
                Request::Log(LogRequest::ProduceIdempotent {
                    topic: *topic,
                    partition: self.partition_of(msg),
                    msg,
                    producer: ProducerIdent {
                        id: producer_id(self.id, self.incarnation),
                        epoch: 0,
                    },
                    sequence,
                })
            }
            Route::Log { topic, acks, .. } => {
                let partition = self.partition_of(msg);
                Request::Log(LogRequest::Produce {
                    topic: *topic,
                    partition,
                    msg,
                    acks: *acks,
                })
            }
        }
    }

    /// A log broker's produce response: records where the record landed,
    /// then settles it like a confirm.
    pub fn on_produce_ack(
        &mut self,
        now_ms: u64,
        msg: MsgId,
        partition: PartitionId,
        offset: u64,
        out: &mut Vec<ClientOutput>,
    ) {
        if self.pending.contains_key(msg) {
            out.push(ClientOutput::Record(Entry::Log(LogEntry::Produced {
                msg,
                partition,
                offset,
            })));
        }
        self.on_confirm(now_ms, msg, true, out);
    }

    /// `basic.ack` (ok) or `basic.nack` (refused) from the broker.
    pub fn on_confirm(&mut self, now_ms: u64, msg: MsgId, ok: bool, out: &mut Vec<ClientOutput>) {
        // A confirm for a message already settled (a retry's second confirm) is ignored.
        let Some(p) = self.pending.remove(msg) else {
            return;
        };
        let ty = if ok { OpType::Ok } else { OpType::Fail };
        out.push(ClientOutput::Record(Entry::Publish {
            ty,
            msg,
            key: p.msg.key,
        }));
        self.unblock(now_ms, out);
    }

    fn add_deadline(&mut self, at_ms: u64, msg: MsgId, attempt: u32, out: &mut Vec<ClientOutput>) {
        assert!(
            self.deadlines.back().is_none_or(|last| last.0 <= at_ms),
            "deadlines stay sorted"
        );
        self.deadlines.push_back((at_ms, msg, attempt));
        if self.timer_at_ms.is_none() {
            self.timer_at_ms = Some(at_ms);
            out.push(ClientOutput::Timer {
                at_ms,
                timer: ClientTimer::ConfirmDeadline,
            });
        }
    }

    /// The deadline timer: handle every attempt whose confirm is overdue.
    pub fn on_confirm_deadline(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        self.timer_at_ms = None;
        while let Some(&(at_ms, msg, attempt)) = self.deadlines.front() {
            if at_ms > now_ms {
                break;
            }
            self.deadlines.pop_front();
            self.on_confirm_timeout(now_ms, msg, attempt, out);
        }
        if let Some(&(at_ms, _, _)) = self.deadlines.front() {
            self.timer_at_ms = Some(at_ms);
            out.push(ClientOutput::Timer {
                at_ms,
                timer: ClientTimer::ConfirmDeadline,
            });
        }
    }

    fn on_confirm_timeout(
        &mut self,
        now_ms: u64,
        msg: MsgId,
        attempt: u32,
        out: &mut Vec<ClientOutput>,
    ) {
        let c = self.confirms.expect("timeouts only exist with confirms");
        let Some(p) = self.pending.get_mut(msg) else {
            return;
        };
        if p.attempt != attempt {
            return; // a newer attempt owns the deadline now
        }
        if attempt >= c.max_retries {
            let key = p.msg.key;
            self.pending.remove(msg);
            out.push(ClientOutput::Record(Entry::Publish {
                ty: OpType::Info,
                msg,
                key,
            }));
            self.unblock(now_ms, out);
            return;
        }
        p.attempt += 1;
        let (resend, attempt, sequence) = (p.msg, p.attempt, p.sequence);
        out.push(ClientOutput::Record(Entry::Retry { msg, attempt }));
        out.push(ClientOutput::Send(self.request(resend, sequence)));
        self.add_deadline(now_ms + c.timeout_ms, msg, attempt, out);
    }

    fn unblock(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        if self.blocked {
            self.blocked = false;
            out.push(ClientOutput::Timer {
                at_ms: now_ms,
                timer: ClientTimer::Publish,
            });
        }
    }

    /// The process dies: every unconfirmed publish has an unknown outcome.
    pub fn crash(&mut self, out: &mut Vec<ClientOutput>) {
        assert!(self.alive);
        self.alive = false;
        self.blocked = false;
        if std::mem::take(&mut self.keep_unacked) {
            self.resend = self.pending.values().map(|p| p.msg).collect();
        }
        self.deadlines.clear();
        self.timer_at_ms = None;
        for (msg, p) in self.pending.take_all() {
            out.push(ClientOutput::Record(Entry::Publish {
                ty: OpType::Info,
                msg,
                key: p.msg.key,
            }));
        }
    }

    /// The `crash_after_send` fault: the next [`crash`](Self::crash) keeps
    /// the sends whose outcome it never learnt and re-sends them at restart
    /// (an application retrying an unknown outcome).
    pub fn keep_unacked_at_crash(&mut self) {
        self.keep_unacked = true;
    }

    /// Re-sends what `keep_unacked_at_crash` kept, as fresh publishes of
    /// the same message ids (a new producer id: new sequence numbers).
    fn resend_unacked(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        let Some(c) = self.confirms else {
            self.resend.clear();
            return;
        };
        for msg in std::mem::take(&mut self.resend) {
            let sequence = self.next_sequence(msg);
            out.push(ClientOutput::Record(Entry::Retry {
                msg: msg.id,
                attempt: 1,
            }));
            out.push(ClientOutput::Send(self.request(msg, sequence)));
            let pending = Pending {
                msg,
                attempt: 1,
                sequence,
            };
            self.pending.insert(msg.id, pending);
            self.add_deadline(now_ms + c.timeout_ms, msg.id, 1, out);
        }
    }

    /// Back up: re-sends what a `crash_after_send` left unknown, then
    /// carries on with the next message, from now. An idempotent producer
    /// comes back as a new producer id with fresh sequence numbers.
    pub fn restart(&mut self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        assert!(!self.alive);
        self.alive = true;
        self.incarnation += 1;
        self.sequences.clear();
        self.resend_unacked(now_ms, out);
        if self.next_seq < self.count {
            let at_ms = self.due_ms(self.next_seq).max(now_ms);
            out.push(ClientOutput::Timer {
                at_ms,
                timer: ClientTimer::Publish,
            });
        }
    }

    /// Ids of messages this producer has sent and not settled.
    pub fn unconfirmed(&self) -> impl Iterator<Item = MsgId> + '_ {
        self.pending.keys()
    }
}

/// The partition of keyless record `seq`.
fn keyless_partition(partitioner: Partitioner, seq: u64, partitions: u32) -> PartitionId {
    let n = u64::from(partitions);
    let slot = match partitioner {
        Partitioner::RoundRobin => seq,
        Partitioner::Sticky => seq / STICKY_BATCH_RECORDS,
    };
    (slot % n) as PartitionId
}

/// One message every `num / den` ms, from a scenario's `interval_ms` or
/// `rate_per_s` (validated: one of them is set).
fn period(interval_ms: Option<u64>, rate_per_s: Option<u64>) -> (u64, u64) {
    match (interval_ms, rate_per_s) {
        (Some(ms), _) => (ms, 1),
        (None, Some(rate)) => (1000, rate),
        (None, None) => unreachable!("validated: a rate or an interval"),
    }
}

impl Producer {
    /// A queue broker's producer from its scenario entry (`kind: producer`).
    pub fn for_queue(
        s: &Scenario,
        names: &Names,
        id: ClientId,
        p: &ProducerSpec,
        b: &QueueBrokerSpec,
    ) -> Producer {
        let ids = Lookup(names);
        let target = if p.exchange.is_empty() {
            Target::Queue(ids.queue(&p.routing_key))
        } else {
            let x = b.exchanges.iter().position(|x| x.name == p.exchange);
            Target::Exchange(x.expect("validated") as u32)
        };
        let (period_num, period_den) = period(p.interval_ms, p.rate_per_s);
        let cfg = ProducerConfig {
            route: Route::Queue(target),
            keys: p.keys.iter().map(|k| ids.key(k)).collect(),
            period_num,
            period_den,
            start_ms: p.start_ms,
            count: p.count,
            payload_bytes: p.payload_bytes,
            confirms: p.confirms,
            idempotence: false,
            props: Properties {
                persistent: p.persistent,
                // Validated: 0..=u32::MAX.
                expiration_ms: p.expiration_ms.and_then(|ms| u32::try_from(ms).ok()),
                headers: ids.headers(&p.headers),
            },
            stop_ms: s.duration_ms,
        };
        Producer::new(id, cfg)
    }

    /// A log broker's producer from its scenario entry (`kind: log_producer`):
    /// `acks=0` waits for no confirm, keys go to their murmur2 partition.
    pub fn for_log(
        s: &Scenario,
        names: &Names,
        id: ClientId,
        p: &LogProducerSpec,
        b: &LogBrokerSpec,
    ) -> Producer {
        let ids = Lookup(names);
        let topic = ids.topic(&p.topic);
        let partitions = b.topics[topic as usize].partitions;
        let mut key_partitions = BTreeMap::new();
        key_partitions.extend(
            (p.keys.iter()).map(|k| (ids.key(k), partition_for_key(k.as_bytes(), partitions))),
        );
        let route = Route::Log {
            topic,
            partitions,
            key_partitions,
            partitioner: p.partitioner,
            acks: p.acks,
        };
        let (period_num, period_den) = period(p.interval_ms, p.rate_per_s);
        let cfg = ProducerConfig {
            route,
            keys: p.keys.iter().map(|k| ids.key(k)).collect(),
            period_num,
            period_den,
            start_ms: p.start_ms,
            count: p.count,
            payload_bytes: p.payload_bytes,
            confirms: (p.acks != Acks::Zero).then_some(ConfirmSpec {
                timeout_ms: p.request_timeout_ms,
                max_retries: p.retries,
                window: p.max_in_flight,
            }),
            idempotence: p.enable_idempotence,
            props: Properties::default(),
            stop_ms: s.duration_ms,
        };
        Producer::new(id, cfg)
    }
}

impl Client for Producer {
    fn start(&mut self, ctx: &mut Ctx) {
        Producer::start(self, ctx.out);
    }

    fn on_reply(&mut self, ctx: &mut Ctx, msg: Downlink) {
        match msg {
            Downlink::Confirm { msg, ok } => self.on_confirm(ctx.now_ms, msg, ok, ctx.out),
            Downlink::Log(LogReply::ProduceAck {
                msg,
                partition,
                offset,
            }) => self.on_produce_ack(ctx.now_ms, msg, partition, offset, ctx.out),
            _ => unreachable!("a producer gets confirms and produce acks"),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: ClientTimer) {
        match timer {
            // Producers stop at `duration_ms`, also when a drain runs on.
            ClientTimer::Publish if ctx.now_ms > self.stop_ms => {}
            ClientTimer::Publish => self.on_publish_slot(ctx.now_ms, ctx.next_msg_id, ctx.out),
            ClientTimer::ConfirmDeadline => self.on_confirm_deadline(ctx.now_ms, ctx.out),
            _ => unreachable!("timers go to the client kind that set them"),
        }
    }

    fn crash(&mut self, ctx: &mut Ctx) {
        Producer::crash(self, ctx.out);
    }

    fn restart(&mut self, ctx: &mut Ctx) {
        Producer::restart(self, ctx.now_ms, ctx.out);
    }

    fn alive(&self) -> bool {
        self.alive
    }

    fn has_connection(&self) -> bool {
        false
    }

    fn reconnect(&mut self, _ctx: &mut Ctx, _why: Reconnect) {
        unreachable!("a producer keeps no connection state");
    }

    fn before_armed_crash(&mut self, action: FaultAction) {
        assert_eq!(action, FaultAction::CrashAfterSend);
        self.keep_unacked_at_crash();
    }

    fn back_for_drain(&self) -> bool {
        false
    }

    fn apply_setting(&mut self, ctx: &mut Ctx, set: Setting, keys: NewKeys) {
        match set {
            Setting::RatePerS(rate) => self.set_rate(ctx.now_ms, 1000, rate),
            Setting::Keys(_) => self.set_keys(keys.keys, &keys.partitions),
            _ => unreachable!("validated: {} fits a producer", set.name()),
        }
    }

    fn settings(&self) -> ClientSettings {
        ClientSettings {
            rate_per_s: Some(self.rate_per_s()),
            keys: Some(self.key_count() as u32),
            ..ClientSettings::default()
        }
    }

    fn view(&self, id: &str) -> ClientView {
        ClientView {
            id: id.to_string(),
            is_producer: true,
            alive: self.alive,
            count: self.published(),
            in_hand: 0,
            busy_ms: 0,
        }
    }

    fn holding(&self, _into: &mut BTreeSet<MsgId>) {}

    fn busy_ms(&self) -> Option<u64> {
        None
    }

    fn checkpoint(&self) -> Option<Box<dyn Client>> {
        Some(Box::new(self.clone()))
    }
}
