//! The playground's settings, turned into a scenario, and the verdict for a
//! chosen delivery guarantee.
//!
//! The page lets a person pick a broker, a delivery guarantee, a partition
//! count, a seed and some clients. This module is where those choices become a
//! [`Scenario`] — the same JSON-able value the CLI runs — so the UI holds no
//! broker logic and everything a person can click is testable natively.
//!
//! The page's Delivery control picks a [`Guarantee`], and
//! [`crate::guarantee::apply`] sets every client's knobs and the
//! expectations, exactly as for a scenario file that says
//! `"guarantee": "at_least_once"`. This module builds the clients with the
//! knobs a guarantee leaves alone (rates, keys, processing, prefetch, topic
//! and group) and never sets an ack mode, a retry count or a dedup store
//! itself: the table of what each guarantee sets lives in
//! [`crate::guarantee`], once. A guarantee the chosen broker cannot give
//! (transactions on the queue broker) is a [`SetupError`] with the reason
//! [`crate::guarantee::unavailable`] gives, which the page shows next to the
//! control and on the greyed-out option.

use crate::check::guarantee::Verdict;
use crate::check::Summary;
use crate::config::{
    AckMode, Acks, Assignor, BindingSpec, BrokerSpec, ClientSpec, CommitMode, ConsumerSpec,
    ExchangeKind, ExchangeSpec, Expectations, FaultOptions, Guarantee, Limits, LogBrokerSpec,
    LogConsumerSpec, LogProducerSpec, NetworkSpec, OffsetReset, Partitioner, ProcessingSpec,
    ProducerSpec, QueueBrokerSpec, QueueMode, QueueSpec, Scenario, ScenarioError, TopicSpec,
};
use crate::guarantee::Unavailable;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Bounds on what the page may ask for, each derived from the limit of the
/// scenario (or of a live setting) it feeds, so a value a field accepts always
/// builds a valid scenario. Where the page asks for less than the scenario
/// allows (16 partitions fit the picture), the smaller number is the page's
/// choice and the `min` keeps it honest if the scenario's limit ever shrinks.
pub mod bounds {
    use crate::config::bounds as scenario;
    use crate::config::setting::bounds as live;

    const fn min(a: u64, b: u64) -> u64 {
        if a < b {
            a
        } else {
            b
        }
    }

    /// How long a playground run lasts in virtual time (one hour).
    pub const DURATION_MS: u64 = 3_600_000;
    /// The run's length in whole seconds: a producer publishes
    /// `rate_per_s` × this many messages.
    pub const DURATION_S: u64 = DURATION_MS / 1000;
    /// Partitions (the seed's fan-out: one queue per partition, or one
    /// topic of this many partitions). 16 fit the picture.
    pub const PARTITIONS_MAX: u32 = min(
        16,
        min(scenario::PARTITIONS_MAX as u64, scenario::QUEUES_MAX as u64),
    ) as u32;
    /// Producers plus consumers. Exactly once (transactional) adds one
    /// `read_committed` sink to them, so one place is kept free for it.
    pub const CLIENTS_MAX: usize = min(50, scenario::CLIENTS_MAX as u64 - 1) as usize;
    /// One producer's publish rate. A producer publishes `rate_per_s` ×
    /// [`DURATION_S`] messages, and a scenario holds at most
    /// `MESSAGES_PER_PRODUCER_MAX` per producer: 2,777 msgs/s.
    pub const RATE_PER_S_MAX: u64 = min(
        live::RATE_PER_S_MAX,
        scenario::MESSAGES_PER_PRODUCER_MAX / DURATION_S,
    );
    /// Keys a producer cycles through (`k0..k{n-1}`; 0 means no key).
    pub const KEYS_MAX: u32 = live::KEYS_MAX;
    /// One consumer's processing time. The Slow toggle multiplies it by
    /// `session::SLOW_FACTOR`, which must stay within the live setting's bound.
    pub const PROCESSING_MS_MAX: u64 = min(10_000, live::PROCESSING_MS_MAX);
    /// `prefetch` on the queue, `max.poll.records` on the log: one field for both.
    pub const PREFETCH_MAX: u32 = min(
        1_000,
        min(
            scenario::PREFETCH_MAX as u64,
            scenario::MAX_POLL_RECORDS_MAX as u64,
        ),
    ) as u32;

    const _: () = assert!(DURATION_MS <= scenario::DURATION_MS_MAX);
    const _: () = assert!(RATE_PER_S_MAX * DURATION_S <= scenario::MESSAGES_PER_PRODUCER_MAX);
    const _: () = assert!(RATE_PER_S_MAX >= 1 && PARTITIONS_MAX >= 1 && PREFETCH_MAX >= 1);
}

/// One whole-number field of the page: its label, its range (from
/// [`bounds`]) and what its refusal says. The toolbar, the "add" fields, the
/// live settings rows and [`Setup::check`] all check through these, so one
/// field gives one message wherever it is typed.
#[derive(Clone, Copy, Debug)]
pub struct FieldBounds {
    /// The control's label (`Rate`): the key of its inline message.
    pub field: &'static str,
    /// The smallest value allowed.
    pub min: u64,
    /// The largest value allowed.
    pub max: u64,
    /// Why the maximum is what it is, when a learner could not guess it.
    pub why_max: Option<fn() -> String>,
}

/// The page's whole-number fields.
pub mod fields {
    use super::{bounds, grouped, FieldBounds};

    /// The toolbar's Partitions.
    pub const PARTITIONS: FieldBounds =
        FieldBounds::new("Partitions", 1, bounds::PARTITIONS_MAX as u64);
    /// The toolbar's Seed: any 64-bit number.
    pub const SEED: FieldBounds = FieldBounds::new("Seed", 0, u64::MAX);
    /// A producer's rate, messages per second.
    pub const RATE: FieldBounds = FieldBounds {
        why_max: Some(|| {
            format!(
                "a run lasts {} s and holds at most {} messages per producer",
                grouped(bounds::DURATION_S),
                grouped(crate::config::bounds::MESSAGES_PER_PRODUCER_MAX)
            )
        }),
        ..FieldBounds::new("Rate", 1, bounds::RATE_PER_S_MAX)
    };
    /// A producer's keys.
    pub const KEYS: FieldBounds = FieldBounds::new("Keys", 0, bounds::KEYS_MAX as u64);
    /// A consumer's processing time, ms.
    pub const PROCESSING: FieldBounds =
        FieldBounds::new("Processing time", 1, bounds::PROCESSING_MS_MAX);
    /// A consumer's `prefetch` (queue) or `max.poll.records` (log).
    pub const PREFETCH: FieldBounds = FieldBounds::new("Prefetch", 1, bounds::PREFETCH_MAX as u64);
    /// Every whole-number field, for tests that walk them all.
    pub const ALL: [FieldBounds; 6] = [PARTITIONS, SEED, RATE, KEYS, PROCESSING, PREFETCH];
}

impl FieldBounds {
    /// A field whose maximum needs no explaining.
    pub const fn new(field: &'static str, min: u64, max: u64) -> FieldBounds {
        FieldBounds {
            field,
            min,
            max,
            why_max: None,
        }
    }

    /// `n` if it is in range, else the refusal: "must be from 1 to 2777: a
    /// run lasts 3,600 s and holds at most 10,000,000 messages per producer".
    pub fn check(&self, n: u64) -> Result<u64, SetupError> {
        if (self.min..=self.max).contains(&n) {
            return Ok(n);
        }
        setup_err(
            self.field,
            format!("must be from {} to {}{}", self.min, self.max, self.why()),
        )
    }

    /// The number typed into the field, if it is a whole number in range.
    /// The refusal is the same for both ("must be a whole number from 1 to
    /// 16"): the person sees the range either way.
    pub fn parse(&self, text: &str) -> Result<u64, SetupError> {
        match text.trim().parse::<u64>() {
            Ok(n) if (self.min..=self.max).contains(&n) => Ok(n),
            _ => setup_err(
                self.field,
                format!(
                    "must be a whole number from {} to {}{}",
                    self.min,
                    self.max,
                    self.why()
                ),
            ),
        }
    }

    fn why(&self) -> String {
        self.why_max
            .map(|why| format!(": {}", why()))
            .unwrap_or_default()
    }
}

/// `10000000` as `10,000,000`, for messages a person reads.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Which broker family the page simulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrokerKind {
    /// RabbitMQ/SQS-style: round-robin, ack deletes, a crash loses the queue.
    Queue,
    /// Kafka/Kinesis-style: an ordered, durable, replayable log.
    Log,
}

impl BrokerKind {
    /// Both broker families, in the order the page lists them.
    pub const ALL: [BrokerKind; 2] = [BrokerKind::Queue, BrokerKind::Log];

    /// The label the page shows (and tests look for).
    pub fn label(self) -> &'static str {
        match self {
            BrokerKind::Queue => "In-memory queue",
            BrokerKind::Log => "Log",
        }
    }

    /// What the simulation does differently from the real brokers of this
    /// family, one sentence each (the page lists them where the broker is
    /// chosen).
    pub fn simplifications(self) -> &'static [&'static str] {
        match self {
            BrokerKind::Queue => &crate::broker::queue::SIMPLIFICATIONS,
            BrokerKind::Log => &[],
        }
    }

    /// Why this broker cannot give `delivery`, if it cannot (asked of
    /// [`crate::guarantee::unavailable`] with the broker the page builds).
    pub fn unavailable(self, delivery: Guarantee) -> Option<Unavailable> {
        let setup = Setup {
            broker: self,
            ..Setup::default()
        };
        crate::guarantee::unavailable(delivery, &setup.broker_spec())
    }
}

/// One producer as the page configures it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProducerSettings {
    /// Messages it publishes per second, for the whole run.
    pub rate_per_s: u64,
    /// Messages carry keys `k0..k{keys-1}` in turn; 0 means no key.
    pub keys: u32,
}

impl ProducerSettings {
    /// The keys it cycles through: `k0..k{keys-1}`.
    fn key_names(&self) -> Vec<String> {
        (0..self.keys).map(|k| format!("k{k}")).collect()
    }

    /// Messages it publishes in a run: one per `1/rate` s for the whole run.
    fn count(&self) -> u64 {
        self.rate_per_s.saturating_mul(bounds::DURATION_S)
    }

    /// Checks the rate and keys against [`fields::RATE`] and [`fields::KEYS`].
    pub fn check(&self) -> Result<(), SetupError> {
        fields::RATE.check(self.rate_per_s)?;
        fields::KEYS.check(self.keys.into())?;
        Ok(())
    }
}

impl Default for ProducerSettings {
    fn default() -> ProducerSettings {
        ProducerSettings {
            rate_per_s: 50,
            keys: 4,
        }
    }
}

/// One consumer as the page configures it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumerSettings {
    /// How long each message takes to process.
    pub processing_ms: u64,
    /// `basic.qos(prefetch_count)`.
    pub prefetch: u32,
}

impl ConsumerSettings {
    /// Checks processing time and prefetch against [`fields::PROCESSING`]
    /// and [`fields::PREFETCH`].
    pub fn check(&self) -> Result<(), SetupError> {
        fields::PROCESSING.check(self.processing_ms)?;
        fields::PREFETCH.check(self.prefetch.into())?;
        Ok(())
    }
}

impl Default for ConsumerSettings {
    fn default() -> ConsumerSettings {
        ConsumerSettings {
            processing_ms: 20,
            prefetch: 5,
        }
    }
}

/// Everything the page's controls decide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    /// The Broker control: a queue or a log.
    pub broker: BrokerKind,
    /// The Delivery control: the guarantee the run claims and is judged by.
    pub delivery: Guarantee,
    /// 1 = one shared queue with round-robin; N > 1 = the seed's fan-out into
    /// N queues by key hash, consumer `i` reading queue `i mod N`.
    pub partitions: u32,
    /// The run's PRNG seed: the same seed and clicks give the same history.
    pub seed: u64,
    /// Producers `p1, p2, ...`, in order.
    pub producers: Vec<ProducerSettings>,
    /// Consumers `c1, c2, ...`, in order.
    pub consumers: Vec<ConsumerSettings>,
    /// The Durable queues control (queue broker only): every queue is
    /// declared `durable`, so it keeps its persistent messages across a
    /// broker restart, and in the page across a reload (IndexedDB is its
    /// disk). Left out of the saved text when off, so older setups and
    /// links read the same.
    #[serde(default, skip_serializing_if = "is_off")]
    pub durable_queues: bool,
    /// The Persistent messages control (queue broker only): producers
    /// publish with `delivery_mode=2`. Only a durable queue writes them.
    #[serde(default, skip_serializing_if = "is_off")]
    pub persistent: bool,
}

/// A control that is off is left out of the saved text.
fn is_off(on: &bool) -> bool {
    !*on
}

impl Default for Setup {
    /// One producer and two consumers of different speeds: the smallest system
    /// that shows round-robin reordering. Together the consumers are slower
    /// than the producer (50 a second in; 1000/40 + 1000/70, about 39, out),
    /// so a backlog grows by about 11 a second from the start: the broker is
    /// doing its job of absorbing the difference, and a first "Crash broker"
    /// on the in-memory queue has confirmed messages to lose.
    fn default() -> Setup {
        Setup {
            broker: BrokerKind::Queue,
            delivery: Guarantee::AtLeastOnce,
            partitions: 1,
            seed: 1,
            producers: vec![ProducerSettings::default()],
            consumers: vec![
                ConsumerSettings {
                    processing_ms: 40,
                    ..ConsumerSettings::default()
                },
                ConsumerSettings {
                    processing_ms: 70,
                    ..ConsumerSettings::default()
                },
            ],
            durable_queues: false,
            persistent: false,
        }
    }
}

impl Setup {
    /// The benchmarks' busy load: `n` producers at 400 msgs/s each (keys
    /// `k0..k3`) and `n` consumers (2 ms processing, `prefetch` 50) on the
    /// default broker and seed. 25 is issue 16's 50 clients at 10,000
    /// msgs/s; 10 is a Compare pane of 20 clients.
    pub fn busy(n: usize) -> Setup {
        let producer = ProducerSettings {
            rate_per_s: 400,
            keys: 4,
        };
        let consumer = ConsumerSettings {
            processing_ms: 2,
            prefetch: 50,
        };
        Setup {
            producers: vec![producer; n],
            consumers: vec![consumer; n],
            ..Setup::default()
        }
    }
}

/// A setting the page cannot run, and the control it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupError {
    /// The control's label, e.g. `Delivery` or `Partitions`.
    pub field: &'static str,
    /// What is wrong and what is allowed: "must be from 1 to 16".
    pub reason: String,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for SetupError {}

fn setup_err<T>(field: &'static str, reason: impl Into<String>) -> Result<T, SetupError> {
    Err(SetupError {
        field,
        reason: reason.into(),
    })
}

/// The log broker's topic on the page: every producer writes to it.
pub const LOG_TOPIC: &str = "orders";
/// The page's consumer group: every log consumer is a member.
pub const LOG_GROUP: &str = "playground";

/// Producer ids are `p1, p2, …`, in page order.
pub fn producer_id(index: usize) -> String {
    format!("p{}", index + 1)
}

/// Consumer ids are `c1, c2, …`, in page order.
pub fn consumer_id(index: usize) -> String {
    format!("c{}", index + 1)
}

/// The queue consumer `index` reads: `work` for one partition, else `q{i mod N}`.
pub fn queue_for_consumer(partitions: u32, index: usize) -> String {
    if partitions <= 1 {
        "work".to_string()
    } else {
        format!("q{}", index as u64 % u64::from(partitions))
    }
}

impl Setup {
    /// Checks every setting, then builds the scenario the world runs. A
    /// setup that cannot run (typed on the page, or read back from a saved
    /// one) is an error naming the control, never a panic: the page shows it
    /// next to the control, or in the stored-log banner.
    pub fn to_scenario(&self) -> Result<Scenario, SetupError> {
        self.check()?;
        let mut scenario = Scenario {
            name: "playground".to_string(),
            description: format!(
                "{} broker, {}, {} partition(s)",
                self.broker.label(),
                self.delivery.label(),
                self.partitions
            ),
            seed: self.seed,
            duration_ms: bounds::DURATION_MS,
            broker: self.broker_spec(),
            network: NetworkSpec {
                latency_ms_min: 2,
                latency_ms_max: 8,
                ..NetworkSpec::default()
            },
            clients: self.client_specs(),
            faults: Vec::new(),
            settings: Vec::new(),
            fault_options: FaultOptions::default(),
            expect: Expectations::default(),
            // Applied below, as a file's `guarantee` is applied, but left
            // unset: the scenario (and its export) says exactly which knobs
            // ran, and a knob changed by hand stays changed.
            guarantee: None,
            limits: Limits::default(),
        };
        // The guarantee sets the knobs and `expect` (for exactly once
        // (transactional), consumers become read-process-write clients and a
        // `read_committed` sink is added).
        crate::guarantee::apply(self.delivery, &mut scenario).map_err(refused)?;
        // The page's bounds derive from the scenario's, so this holds for
        // every setup `check` passes (`tests/playground_bounds.rs` walks
        // them); if it ever does not, the page says so instead of panicking.
        scenario.validate().map_err(refused)?;
        Ok(scenario)
    }

    /// Whether a run of this setup writes to a store that outlives it (the
    /// page's IndexedDB): the log broker always does; the queue broker
    /// when its queues are durable (it writes their persistent messages).
    pub fn keeps_data(&self) -> bool {
        self.broker == BrokerKind::Log || self.durable_queues
    }

    /// Checks every setting against the page's bounds (the field names the
    /// control, the reason says what is allowed).
    pub fn check(&self) -> Result<(), SetupError> {
        if let Some(why) = crate::guarantee::unavailable(self.delivery, &self.broker_spec()) {
            return setup_err("Delivery", why.to_string());
        }
        fields::PARTITIONS.check(self.partitions.into())?;
        let clients = self.producers.len() + self.consumers.len();
        if !(1..=bounds::CLIENTS_MAX).contains(&clients) {
            return setup_err(
                "Clients",
                format!(
                    "from 1 to {} producers and consumers together",
                    bounds::CLIENTS_MAX
                ),
            );
        }
        for p in &self.producers {
            p.check()?;
        }
        for c in &self.consumers {
            c.check()?;
        }
        Ok(())
    }

    fn broker_spec(&self) -> BrokerSpec {
        if self.broker == BrokerKind::Log {
            return BrokerSpec::Log(LogBrokerSpec {
                topics: vec![TopicSpec {
                    name: LOG_TOPIC.to_string(),
                    partitions: self.partitions,
                    retention_ms: None,
                    retention_records: None,
                }],
                fsync_latency_ms: 5,
                cluster: None,
            });
        }
        let n = self.partitions;
        let queues = (0..n)
            .map(|i| QueueSpec {
                durable: self.durable_queues,
                ..QueueSpec::named(queue_for_consumer(n, i as usize))
            })
            .collect();
        let exchanges = if n > 1 {
            vec![ExchangeSpec {
                name: "orders".to_string(),
                kind: ExchangeKind::ConsistentHash,
                bindings: (0..n)
                    .map(|i| BindingSpec {
                        queue: queue_for_consumer(n, i as usize),
                        routing_key: None,
                        arguments: Default::default(),
                    })
                    .collect(),
            }]
        } else {
            Vec::new()
        };
        BrokerSpec::Queue(QueueBrokerSpec {
            mode: QueueMode::Rabbitmq,
            queues,
            exchanges,
            consumer_timeout_ms: None,
            channel_tick_interval_ms: None,
            fsync_latency_ms: 5,
        })
    }

    /// The clients, with every knob a guarantee sets left for
    /// [`crate::guarantee::apply`] to set (see the module doc).
    fn client_specs(&self) -> Vec<ClientSpec> {
        let log = self.broker == BrokerKind::Log;
        let producers = self.producers.iter().enumerate();
        let producers = producers.map(|(i, p)| match log {
            true => ClientSpec::LogProducer(log_producer_spec(i, p)),
            false => ClientSpec::Producer(self.producer_spec(i, p)),
        });
        let consumers = self.consumers.iter().enumerate();
        let consumers = consumers.map(|(i, c)| match log {
            true => ClientSpec::LogConsumer(log_consumer_spec(i, c)),
            false => ClientSpec::Consumer(self.consumer_spec(i, c)),
        });
        producers.chain(consumers).collect()
    }

    /// Queue producer `index`: through the `orders` exchange when the
    /// queues are partitions, else straight to `work`. Confirms and retries
    /// are the guarantee's.
    fn producer_spec(&self, index: usize, p: &ProducerSettings) -> ProducerSpec {
        let (exchange, routing_key) = if self.partitions > 1 {
            ("orders".to_string(), String::new())
        } else {
            (String::new(), "work".to_string())
        };
        ProducerSpec {
            id: producer_id(index),
            exchange,
            routing_key,
            keys: p.key_names(),
            rate_per_s: Some(p.rate_per_s),
            interval_ms: None,
            count: p.count(),
            start_ms: 0,
            payload_bytes: 64,
            confirms: None,
            persistent: self.persistent,
            expiration_ms: None,
            headers: Default::default(),
            network: None,
        }
    }

    /// Queue consumer `index` on its queue. The ack mode and a dedup store
    /// are the guarantee's.
    fn consumer_spec(&self, index: usize, c: &ConsumerSettings) -> ConsumerSpec {
        ConsumerSpec {
            id: consumer_id(index),
            queue: queue_for_consumer(self.partitions, index),
            prefetch: c.prefetch,
            ack_mode: AckMode::AfterProcessing,
            processing: ProcessingSpec::FixedMs(c.processing_ms),
            exclusive: false,
            fail_keys: Vec::new(),
            fail_probability: 0.0,
            on_failure: Default::default(),
            dedup_ids_max: None,
            network: None,
        }
    }
}

/// Log producer `index` on the page's topic, with sticky partitioning.
/// `acks`, `retries`, `enable.idempotence` and the in-flight cap that goes
/// with it are the guarantee's.
fn log_producer_spec(index: usize, p: &ProducerSettings) -> LogProducerSpec {
    LogProducerSpec {
        id: producer_id(index),
        topic: LOG_TOPIC.to_string(),
        keys: p.key_names(),
        rate_per_s: Some(p.rate_per_s),
        interval_ms: None,
        count: p.count(),
        start_ms: 0,
        payload_bytes: 64,
        acks: Acks::All,
        retries: 0,
        request_timeout_ms: 200,
        max_in_flight: 1000,
        partitioner: Partitioner::Sticky,
        enable_idempotence: false,
        #[cfg(not(target_arch = "wasm32"))]
        transactional: None,
        network: None,
    }
}

/// Log consumer `index`: every consumer is a member of one group. The
/// commit mode, a dedup store or a transactional client are the guarantee's.
fn log_consumer_spec(index: usize, c: &ConsumerSettings) -> LogConsumerSpec {
    LogConsumerSpec {
        id: consumer_id(index),
        topic: LOG_TOPIC.to_string(),
        group_id: LOG_GROUP.to_string(),
        processing: ProcessingSpec::FixedMs(c.processing_ms),
        enable_auto_commit: false,
        auto_commit_interval_ms: 5000,
        commit: Some(CommitMode::AfterProcessing),
        auto_offset_reset: OffsetReset::Earliest,
        session_timeout_ms: 1000,
        heartbeat_interval_ms: 300,
        assignment: Assignor::Range,
        max_poll_records: c.prefetch,
        seeks: Vec::new(),
        leave_at_ms: None,
        isolation_level: Default::default(),
        dedup_ids_max: None,
        transactional: None,
        network: None,
    }
}

/// A scenario error in a setup that passed [`Setup::check`], named after
/// the control its path belongs to.
fn refused(e: ScenarioError) -> SetupError {
    let path = e.path.as_str();
    let field = if path.starts_with("guarantee") {
        "Delivery"
    } else if path.starts_with("broker") {
        "Partitions"
    } else if path.ends_with(".count") || path.ends_with(".rate_per_s") {
        "Rate"
    } else if path.ends_with(".prefetch") || path.ends_with(".max.poll.records") {
        "Prefetch"
    } else {
        "Clients"
    };
    SetupError {
        field,
        reason: format!("the scenario it builds is refused at {e}"),
    }
}

/// The checker's judgement of a run against the guarantee it claims, as the
/// page shows it: "At least once: violated: 3 findings (lost)". The judging
/// itself is [`crate::check::guarantee::judge`], so the page, the CLI and the
/// sweeps can never disagree.
pub fn verdict(delivery: Guarantee, summary: &Summary) -> Verdict {
    let mut v = crate::check::guarantee::judge(delivery, summary);
    v.text = format!("{}: {}", delivery.label(), v.text);
    v
}
