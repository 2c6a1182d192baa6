//! A consumer: subscribes to one queue and processes deliveries one at a time.
//!
//! Processing takes virtual time (fixed, or uniform from the seeded client
//! stream, so "a slow consumer" is one setting). When it finishes, the consumer
//! applies the message's *effect*: it adds one to a per-key counter that the
//! world keeps, like a row in a downstream database. The checker judges those
//! effects, because a message that was delivered but whose effect was never
//! applied is as good as lost to the business.
//!
//! The ack mode decides which failures lose or duplicate work:
//! - `auto` (`no_ack`): the broker forgets the message when it sends it; a crash
//!   before the effect loses it (at-most-once);
//! - `before_processing`: ack when processing starts; same loss window;
//! - `after_processing`: ack after the effect; a crash after the effect but
//!   before the ack reaches the broker gets the message redelivered and
//!   processed again (at-least-once).

use super::dedup::StoreId;
use super::{
    Client, ClientOutput, ClientSettings, ClientTimer, ClientView, Ctx, Downlink, Lookup, NewKeys,
    Reconnect,
};
use crate::broker::{Delivery, KeyId, MsgId, QueueId, Request};
use crate::config::{
    AckMode, ConsumerSpec, OnFailure, ProcessingSpec, QueueBrokerSpec, QueueMode, Setting,
};
use crate::history::{Entry, Names, OpType};
use crate::sim::rng::{Probability, SimRng};
use std::collections::{BTreeSet, VecDeque};

/// Resolved settings of one consumer.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// The queue it consumes from.
    pub queue: QueueId,
    /// `basic.qos(prefetch_count)`: unacked deliveries the broker sends it at most.
    pub prefetch: u32,
    /// When it acks: `auto` (`no_ack`), before or after processing.
    pub ack_mode: AckMode,
    /// How long one message takes to process.
    pub processing: ProcessingSpec,
    /// `basic.consume(exclusive)`: the only consumer of its queue.
    pub exclusive: bool,
    /// Messages with these keys always fail processing (a poison message).
    pub fail_keys: BTreeSet<KeyId>,
    /// The chance that processing any other message fails (a seeded draw).
    pub fail_probability: Probability,
    /// What a failure does: requeue, dead-letter, or drop.
    pub on_failure: OnFailure,
    /// SQS mode: a failure is "do not DeleteMessage" rather than a nack.
    pub sqs: bool,
    /// The idempotent consumer's dedup store, if any.
    pub dedup: super::dedup::DedupConfig,
}

/// What the consumer is working on.
#[derive(Clone, Copy, Debug)]
struct Current {
    /// The delivery being processed.
    delivery: Delivery,
    /// Decided when processing starts (a seeded draw), applied when it ends.
    fails: bool,
    /// Ack (or nack) when processing ends: the ack mode when it started, so
    /// a live switch never acks one delivery twice or not at all.
    ack_after: bool,
}

#[derive(Clone, Debug)]
/// A queue consumer: one delivery processed at a time, the rest buffered.
pub struct Consumer {
    /// Its settings; the live ones change in place.
    cfg: ConsumerConfig,
    /// Running; a crashed consumer receives nothing until restarted.
    alive: bool,
    /// Deliveries received, not started. Bound: [`Consumer::buffer_max`].
    buffer: VecDeque<Delivery>,
    /// The delivery in progress, if any: one at a time.
    current: Option<Current>,
    /// The largest prefetch this consumer has had: deliveries sent under a
    /// higher prefetch may still arrive after a live `basic.qos` lowers it,
    /// and the buffer must take them (see [`Consumer::buffer_max`]).
    prefetch_max_seen: u32,
    /// Virtual ms spent processing, to show how busy each consumer was.
    busy_ms: u64,
    /// Messages whose effect this consumer applied.
    processed: u64,
}

impl Consumer {
    /// A running consumer that has not subscribed yet.
    pub fn new(cfg: ConsumerConfig) -> Consumer {
        assert!(cfg.prefetch > 0, "validated: prefetch is positive");
        Consumer {
            prefetch_max_seen: cfg.prefetch,
            cfg,
            alive: true,
            buffer: VecDeque::new(),
            current: None,
            busy_ms: 0,
            processed: 0,
        }
    }

    /// Prefetch bounds unacked deliveries; network duplicates and SQS
    /// redeliveries of still-buffered messages can add to that, so the buffer
    /// holds up to twice prefetch before it turns deliveries away. After a
    /// live change it is twice the largest prefetch it has had.
    pub fn buffer_max(&self) -> usize {
        2 * self.prefetch_max_seen as usize
    }

    /// `basic.qos` + `basic.consume`, sent at start, after a restart and after
    /// the broker comes back.
    pub fn subscribe(&self, out: &mut Vec<ClientOutput>) {
        out.push(ClientOutput::Send(Request::Consume {
            queue: self.cfg.queue,
            prefetch: self.cfg.prefetch,
            auto_ack: self.cfg.ack_mode == AckMode::Auto,
            exclusive: self.cfg.exclusive,
            // An auto-ack consumer reads its socket only as fast as it
            // processes: it credits each delivery back, holding up to
            // `prefetch` unread (TCP flow control; RabbitMQ itself does not
            // apply prefetch to auto-ack consumers).
            window: self.cfg.prefetch,
        }));
    }

    /// A delivery arrived: buffer it (or turn it away when the buffer is
    /// full) and start on it if idle.
    pub fn on_deliver(
        &mut self,
        now_ms: u64,
        d: Delivery,
        rng: &mut SimRng,
        out: &mut Vec<ClientOutput>,
    ) {
        assert!(self.alive, "the world drops deliveries to dead consumers");
        if self.buffer.len() >= self.buffer_max() {
            let why = "consumer buffer full";
            out.push(ClientOutput::Record(Entry::NetDrop {
                msg: Some(d.msg.id),
                what: "deliver",
                why,
            }));
            return;
        }
        self.buffer.push_back(d);
        if self.current.is_none() {
            self.start_next(now_ms, rng, out);
        }
    }

    fn start_next(&mut self, now_ms: u64, rng: &mut SimRng, out: &mut Vec<ClientOutput>) {
        let Some(d) = self.buffer.pop_front() else {
            return;
        };
        out.push(ClientOutput::Record(Entry::Process {
            ty: OpType::Invoke,
            delivery: d,
        }));
        match self.cfg.ack_mode {
            AckMode::Auto => out.push(ClientOutput::Send(Request::Credit)),
            AckMode::BeforeProcessing => self.send_ack(d, out),
            AckMode::AfterProcessing => {}
        }
        let poison = d.msg.key.is_some_and(|k| self.cfg.fail_keys.contains(&k));
        let fails = poison || rng.chance(self.cfg.fail_probability);
        let took_ms = match self.cfg.processing {
            ProcessingSpec::FixedMs(ms) => ms,
            ProcessingSpec::UniformMs { min, max } => rng.range_inclusive(min, max),
        };
        self.busy_ms += took_ms;
        let ack_after = self.cfg.ack_mode == AckMode::AfterProcessing;
        self.current = Some(Current {
            delivery: d,
            fails,
            ack_after,
        });
        out.push(ClientOutput::Timer {
            at_ms: now_ms + took_ms,
            timer: ClientTimer::ProcessDone,
        });
    }

    fn send_ack(&self, d: Delivery, out: &mut Vec<ClientOutput>) {
        out.push(ClientOutput::Record(Entry::AckSent {
            msg: d.msg.id,
            tag: d.tag,
        }));
        out.push(ClientOutput::Send(Request::Ack {
            tag: d.tag,
            multiple: false,
        }));
    }

    /// The message in progress is done: apply its effect (or fail it), ack
    /// or nack as the ack mode says, and start on the next.
    pub fn on_process_done(&mut self, now_ms: u64, rng: &mut SimRng, out: &mut Vec<ClientOutput>) {
        let cur = self
            .current
            .take()
            .expect("ProcessDone only while processing");
        let d = cur.delivery;
        let manual_after = cur.ack_after;
        if cur.fails {
            out.push(ClientOutput::Record(Entry::Process {
                ty: OpType::Fail,
                delivery: d,
            }));
            if manual_after && !self.cfg.sqs {
                let requeue = self.cfg.on_failure == OnFailure::Requeue;
                out.push(ClientOutput::Record(Entry::NackSent {
                    msg: d.msg.id,
                    tag: d.tag,
                    requeue,
                }));
                out.push(ClientOutput::Send(Request::Nack {
                    tag: d.tag,
                    multiple: false,
                    requeue,
                }));
            }
        } else {
            let ok = Entry::Process {
                ty: OpType::Ok,
                delivery: d,
            };
            super::dedup::push_effect(self.cfg.dedup, d.msg.id, d.msg.key, ok, out);
            self.processed += 1;
            if manual_after {
                self.send_ack(d, out);
            }
        }
        self.start_next(now_ms, rng, out);
    }

    /// The process dies: the message in progress never gets its effect and
    /// the buffered deliveries vanish with the process's memory.
    pub fn crash(&mut self, out: &mut Vec<ClientOutput>) {
        assert!(self.alive);
        self.alive = false;
        if let Some(cur) = self.current.take() {
            out.push(ClientOutput::Record(Entry::Process {
                ty: OpType::Fail,
                delivery: cur.delivery,
            }));
        }
        self.buffer.clear();
    }

    /// A new process: it subscribes again, with an empty buffer.
    pub fn restart(&mut self, out: &mut Vec<ClientOutput>) {
        assert!(!self.alive);
        self.alive = true;
        self.subscribe(out);
    }

    /// The broker connection died: deliveries not yet started belonged to the
    /// dead channel and are discarded; the one in progress still finishes
    /// (its ack will be stale).
    pub fn connection_lost(&mut self) {
        self.buffer.clear();
    }

    /// Processing time from the next message on (the message in progress
    /// keeps the time it drew).
    pub fn set_processing(&mut self, processing: ProcessingSpec) {
        self.cfg.processing = processing;
    }

    /// A live `basic.qos(prefetch_count)` on the open channel: the broker
    /// sends no more until this consumer's unacked deliveries drop below it.
    /// Deliveries it already holds stay (RabbitMQ does not take them back).
    /// A crashed consumer sends nothing; it subscribes with the new value.
    pub fn set_prefetch(&mut self, prefetch: u32, out: &mut Vec<ClientOutput>) {
        assert!(prefetch > 0, "validated: prefetch is positive");
        self.cfg.prefetch = prefetch;
        self.prefetch_max_seen = self.prefetch_max_seen.max(prefetch);
        if self.alive {
            out.push(ClientOutput::Send(Request::Qos { prefetch }));
        }
    }

    /// A live switch between manual acks before and after processing, from
    /// the next delivery started. The one in progress keeps its ack: acked
    /// already (before), or acked when it finishes (after).
    pub fn set_ack_mode(&mut self, ack_mode: AckMode) {
        assert!(
            ack_mode != AckMode::Auto && self.cfg.ack_mode != AckMode::Auto,
            "validated: no_ack is a basic.consume flag"
        );
        self.cfg.ack_mode = ack_mode;
    }

    /// Its current `prefetch`.
    pub fn prefetch(&self) -> u32 {
        self.cfg.prefetch
    }

    /// Its current ack mode.
    pub fn ack_mode(&self) -> AckMode {
        self.cfg.ack_mode
    }

    /// Its current processing time.
    pub fn processing(&self) -> ProcessingSpec {
        self.cfg.processing
    }

    /// Messages this consumer holds and has not finished.
    pub fn holding(&self) -> impl Iterator<Item = MsgId> + '_ {
        self.current
            .iter()
            .map(|c| c.delivery.msg.id)
            .chain(self.buffer.iter().map(|d| d.msg.id))
    }

    /// Deliveries received but unfinished (buffer + current).
    pub fn in_hand(&self) -> usize {
        self.buffer.len() + usize::from(self.current.is_some())
    }
}

impl Consumer {
    /// A queue consumer from its scenario entry (`kind: consumer`).
    pub fn from_spec(names: &Names, k: &ConsumerSpec, b: &QueueBrokerSpec) -> Consumer {
        let ids = Lookup(names);
        let queue = ids.queue(&k.queue);
        let cfg = ConsumerConfig {
            queue,
            prefetch: k.prefetch,
            ack_mode: k.ack_mode,
            processing: k.processing,
            exclusive: k.exclusive,
            fail_keys: {
                let mut keys = BTreeSet::new();
                keys.extend(k.fail_keys.iter().map(|f| ids.key(f)));
                keys
            },
            fail_probability: Probability::new(k.fail_probability),
            on_failure: k.on_failure,
            sqs: b.mode == QueueMode::Sqs,
            dedup: k.dedup_ids_max.map(|n| (StoreId::Queue(queue), n)),
        };
        Consumer::new(cfg)
    }
}

impl Client for Consumer {
    fn start(&mut self, ctx: &mut Ctx) {
        self.subscribe(ctx.out);
    }

    fn on_reply(&mut self, ctx: &mut Ctx, msg: Downlink) {
        let Downlink::Deliver(d) = msg else {
            unreachable!("a queue consumer gets deliveries");
        };
        self.on_deliver(ctx.now_ms, d, ctx.rng, ctx.out);
    }

    fn on_timer(&mut self, ctx: &mut Ctx, timer: ClientTimer) {
        assert_eq!(timer, ClientTimer::ProcessDone, "the only timer it sets");
        self.on_process_done(ctx.now_ms, ctx.rng, ctx.out);
    }

    /// Also closes the channel: the broker notices the dead TCP connection
    /// (by its heartbeat) one link delay later, and requeues what it had
    /// delivered to it.
    fn crash(&mut self, ctx: &mut Ctx) {
        Consumer::crash(self, ctx.out);
        ctx.out.push(ClientOutput::Send(Request::ChannelClosed));
    }

    fn restart(&mut self, ctx: &mut Ctx) {
        Consumer::restart(self, ctx.out);
    }

    fn alive(&self) -> bool {
        self.alive
    }

    fn has_connection(&self) -> bool {
        true
    }

    /// Deliveries of the dead channel are dropped. After a lost message the
    /// broker is told the channel closed (it requeues the unacked
    /// deliveries); after a loss or a broker restart the consumer
    /// subscribes again at once. A crash it merely noticed waits for the
    /// broker to restart.
    fn reconnect(&mut self, ctx: &mut Ctx, why: Reconnect) {
        self.connection_lost();
        match why {
            Reconnect::Noticed => {}
            Reconnect::LinkLoss => {
                ctx.out.push(ClientOutput::Send(Request::ChannelClosed));
                self.subscribe(ctx.out);
            }
            Reconnect::BrokerRestart => self.subscribe(ctx.out),
        }
    }

    fn back_for_drain(&self) -> bool {
        true
    }

    fn apply_setting(&mut self, ctx: &mut Ctx, set: Setting, _keys: NewKeys) {
        match set {
            Setting::Processing(x) => self.set_processing(x),
            Setting::Prefetch(n) => self.set_prefetch(n, ctx.out),
            Setting::AckMode(mode) => self.set_ack_mode(mode),
            _ => unreachable!("validated: {} fits a queue consumer", set.name()),
        }
    }

    fn settings(&self) -> ClientSettings {
        ClientSettings {
            processing: Some(self.processing()),
            prefetch: Some(self.prefetch()),
            ack_mode: Some(self.ack_mode()),
            ..ClientSettings::default()
        }
    }

    fn view(&self, id: &str) -> ClientView {
        ClientView {
            id: id.to_string(),
            is_producer: false,
            alive: self.alive,
            count: self.processed,
            in_hand: self.in_hand() as u64,
            busy_ms: self.busy_ms,
        }
    }

    fn holding(&self, into: &mut BTreeSet<MsgId>) {
        into.extend(Consumer::holding(self));
    }

    fn busy_ms(&self) -> Option<u64> {
        Some(self.busy_ms)
    }

    fn checkpoint(&self) -> Option<Box<dyn Client>> {
        Some(Box::new(self.clone()))
    }
}
