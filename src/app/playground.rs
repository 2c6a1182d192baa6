//! The playground's settings, turned into a scenario, and the verdict for a
//! chosen delivery guarantee.
//!
//! The page lets a person pick a broker, a delivery guarantee, a partition
//! count, a seed and some clients. This module is where those choices become a
//! [`Scenario`] — the same JSON-able value the CLI runs — so the UI holds no
//! broker logic and everything a person can click is testable natively.
//!
//! How a guarantee configures both ends (the queue broker):
//!
//! | guarantee | producer | consumer |
//! |---|---|---|
//! | at most once | fire and forget (no publisher confirms) | `no_ack` (auto-ack) |
//! | at least once | confirms, retry on timeout | manual `basic.ack` after processing |
//!
//! On the log broker (Kafka semantics: a topic of `partitions` partitions,
//! every consumer in one consumer group):
//!
//! | guarantee | producer | consumer |
//! |---|---|---|
//! | at most once | `acks=0` | commit before processing |
//! | at least once | `acks=all`, `retries` | commit after processing |
//!
//! Exactly once (idempotent) is at least once plus, on both brokers, a dedup
//! store of processed ids in every consumer (committed with the effect), and
//! on the log broker `enable.idempotence` (`max.in.flight.requests` 5).
//! Exactly once (transactional) is the log broker only: each consumer
//! becomes a read-process-write client whose output and offsets commit in
//! one transaction, read downstream by a `read_committed` sink (see
//! [`crate::guarantee::txn`]). On the queue broker it gives a [`SetupError`]
//! that says why, which the page shows next to the control.

use crate::check::guarantee::Verdict;
use crate::check::Summary;
use crate::config::{
    AckMode, Acks, Assignor, BindingSpec, BrokerSpec, ClientSpec, CommitMode, ConfirmSpec,
    ConsumerSpec, ExchangeKind, ExchangeSpec, Expectations, FaultOptions, Limits, LogBrokerSpec,
    LogConsumerSpec, LogProducerSpec, NetworkSpec, OffsetReset, Partitioner, ProcessingSpec,
    ProducerSpec, QueueBrokerSpec, QueueMode, QueueSpec, Scenario, TopicSpec,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Bounds on what the page may ask for; the scenario bounds still apply on top.
pub mod bounds {
    /// Partitions (the seed's fan-out: one queue per partition).
    pub const PARTITIONS_MAX: u32 = 16;
    /// Producers plus consumers in the playground.
    pub const CLIENTS_MAX: usize = 50;
    /// One producer's publish rate.
    pub const RATE_PER_S_MAX: u64 = 10_000;
    /// One consumer's processing time.
    pub const PROCESSING_MS_MAX: u64 = 10_000;
    /// How long a playground run may last in virtual time (one hour).
    pub const DURATION_MS: u64 = 3_600_000;
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
    pub const ALL: [BrokerKind; 2] = [BrokerKind::Queue, BrokerKind::Log];

    /// The label the page shows (and tests look for).
    pub fn label(self) -> &'static str {
        match self {
            BrokerKind::Queue => "In-memory queue",
            BrokerKind::Log => "Log",
        }
    }

    /// Why this choice cannot run yet, if it cannot.
    pub fn unavailable_reason(self) -> Option<&'static str> {
        match self {
            BrokerKind::Queue => None,
            BrokerKind::Log => None,
        }
    }
}

/// The delivery guarantee a run claims; the verdict judges the run against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    AtMostOnce,
    AtLeastOnce,
    ExactlyOnceIdempotent,
    ExactlyOnceTransactional,
}

impl Delivery {
    pub const ALL: [Delivery; 4] = [
        Delivery::AtMostOnce,
        Delivery::AtLeastOnce,
        Delivery::ExactlyOnceIdempotent,
        Delivery::ExactlyOnceTransactional,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Delivery::AtMostOnce => "At most once",
            Delivery::AtLeastOnce => "At least once",
            Delivery::ExactlyOnceIdempotent => "Exactly once (idempotent)",
            Delivery::ExactlyOnceTransactional => "Exactly once (transactional)",
        }
    }

    /// Why this guarantee cannot be configured yet, if it cannot.
    pub fn unavailable_reason(self) -> Option<&'static str> {
        match self {
            Delivery::AtMostOnce
            | Delivery::AtLeastOnce
            | Delivery::ExactlyOnceIdempotent
            | Delivery::ExactlyOnceTransactional => None,
        }
    }

    /// Why this guarantee cannot be configured on `broker`, if it cannot:
    /// transactions are a log-broker (Kafka) feature.
    pub fn unavailable_reason_on(self, broker: BrokerKind) -> Option<&'static str> {
        match (self, broker) {
            (Delivery::ExactlyOnceTransactional, BrokerKind::Queue) => Some(
                "needs the log broker: queues have no transaction coordinator, markers or read_committed",
            ),
            _ => self.unavailable_reason(),
        }
    }

    /// The scenario's `guarantee` value for this choice.
    pub fn guarantee(self) -> crate::config::Guarantee {
        use crate::config::Guarantee;
        match self {
            Delivery::AtMostOnce => Guarantee::AtMostOnce,
            Delivery::AtLeastOnce => Guarantee::AtLeastOnce,
            Delivery::ExactlyOnceIdempotent => Guarantee::ExactlyOnceIdempotent,
            Delivery::ExactlyOnceTransactional => Guarantee::ExactlyOnceTransactional,
        }
    }

    /// What the guarantee forbids, judged on processed effects.
    pub fn expectations(self) -> Expectations {
        self.guarantee().expectations()
    }
}

/// One producer as the page configures it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProducerSettings {
    pub rate_per_s: u64,
    /// Messages carry keys `k0..k{keys-1}` in turn; 0 means no key.
    pub keys: u32,
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
    pub processing_ms: u64,
    /// `basic.qos(prefetch_count)`.
    pub prefetch: u32,
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
    pub broker: BrokerKind,
    pub delivery: Delivery,
    /// 1 = one shared queue with round-robin; N > 1 = the seed's fan-out into
    /// N queues by key hash, consumer `i` reading queue `i mod N`.
    pub partitions: u32,
    pub seed: u64,
    pub producers: Vec<ProducerSettings>,
    pub consumers: Vec<ConsumerSettings>,
}

impl Default for Setup {
    /// One producer and two consumers of different speeds: the smallest system
    /// that shows round-robin reordering.
    fn default() -> Setup {
        Setup {
            broker: BrokerKind::Queue,
            delivery: Delivery::AtLeastOnce,
            partitions: 1,
            seed: 1,
            producers: vec![ProducerSettings::default()],
            consumers: vec![
                ConsumerSettings::default(),
                ConsumerSettings {
                    processing_ms: 35,
                    ..ConsumerSettings::default()
                },
            ],
        }
    }
}

/// A setting the page cannot run, and the control it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupError {
    /// The control's label, e.g. `Delivery` or `Partitions`.
    pub field: &'static str,
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

/// The log broker's topic and consumer group on the page.
pub const LOG_TOPIC: &str = "orders";
pub const LOG_GROUP: &str = "playground";

/// Producer ids are `p1, p2, …`, consumer ids `c1, c2, …`, in page order.
pub fn producer_id(index: usize) -> String {
    format!("p{}", index + 1)
}

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
    /// Checks every setting, then builds the scenario the world runs.
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
            expect: self.delivery.expectations(),
            guarantee: None,
            limits: Limits::default(),
        };
        if self.delivery == Delivery::ExactlyOnceTransactional {
            // Consumers become read-process-write clients with a sink each.
            crate::guarantee::txn::configure(&mut scenario)
                .expect("checked: the log broker takes transactions");
        }
        // The page's bounds are tighter than the scenario's, so a setup that
        // passed `check` must make a valid scenario: assert it, don't hope.
        if let Err(e) = scenario.validate() {
            panic!("playground built an invalid scenario: {e}");
        }
        Ok(scenario)
    }

    /// Checks every setting against the page's bounds (the field names the
    /// control, the reason says what is allowed).
    pub fn check(&self) -> Result<(), SetupError> {
        if let Some(why) = self.broker.unavailable_reason() {
            return setup_err("Broker", why);
        }
        if let Some(why) = self.delivery.unavailable_reason_on(self.broker) {
            return setup_err("Delivery", why);
        }
        if !(1..=bounds::PARTITIONS_MAX).contains(&self.partitions) {
            return setup_err(
                "Partitions",
                format!(
                    "must be a whole number from 1 to {}",
                    bounds::PARTITIONS_MAX
                ),
            );
        }
        if self.producers.len() + self.consumers.len() > bounds::CLIENTS_MAX {
            return setup_err(
                "Clients",
                format!(
                    "at most {} producers and consumers together",
                    bounds::CLIENTS_MAX
                ),
            );
        }
        for p in &self.producers {
            check_producer(p)?;
        }
        for c in &self.consumers {
            check_consumer(c)?;
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
            });
        }
        let n = self.partitions;
        let queues = (0..n)
            .map(|i| QueueSpec {
                name: queue_for_consumer(n, i as usize),
                visibility_timeout_ms: None,
                delivery_limit: None,
                dead_letter_queue: None,
                max_length: None,
                fifo_deduplication: false,
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
        })
    }

    fn client_specs(&self) -> Vec<ClientSpec> {
        let producers = (0..self.producers.len()).map(|i| self.producer_client(i));
        let consumers = (0..self.consumers.len()).map(|i| self.consumer_client(i));
        producers.chain(consumers).collect()
    }

    /// Producer `index` as a scenario client of whichever broker is chosen
    /// (use this, not [`Setup::producer_spec`], to add one mid-run).
    pub fn producer_client(&self, index: usize) -> ClientSpec {
        match self.broker {
            BrokerKind::Queue => ClientSpec::Producer(self.producer_spec(index)),
            BrokerKind::Log => ClientSpec::LogProducer(self.log_producer_spec(index)),
        }
    }

    /// Consumer `index` as a scenario client of whichever broker is chosen.
    pub fn consumer_client(&self, index: usize) -> ClientSpec {
        match self.broker {
            BrokerKind::Queue => ClientSpec::Consumer(self.consumer_spec(index)),
            BrokerKind::Log => ClientSpec::LogConsumer(self.log_consumer_spec(index)),
        }
    }

    /// The log producer for producer `index`: at most once is `acks=0`; at
    /// least once is `acks=all` with retries (duplicates at new offsets).
    pub fn log_producer_spec(&self, index: usize) -> LogProducerSpec {
        let p = self.producers[index];
        let at_most_once = self.delivery == Delivery::AtMostOnce;
        let idempotent = self.delivery == Delivery::ExactlyOnceIdempotent;
        LogProducerSpec {
            id: producer_id(index),
            topic: LOG_TOPIC.to_string(),
            keys: (0..p.keys).map(|k| format!("k{k}")).collect(),
            rate_per_s: Some(p.rate_per_s),
            interval_ms: None,
            count: p.rate_per_s * (bounds::DURATION_MS / 1000),
            start_ms: 0,
            payload_bytes: 64,
            acks: if at_most_once { Acks::Zero } else { Acks::All },
            retries: if at_most_once { 0 } else { 10 },
            request_timeout_ms: 200,
            max_in_flight: if idempotent {
                crate::guarantee::IDEMPOTENT_IN_FLIGHT_MAX
            } else {
                1000
            },
            partitioner: Partitioner::Sticky,
            enable_idempotence: idempotent,
            network: None,
        }
    }

    /// The log consumer for consumer `index`: every consumer is a member of
    /// one group; at most once commits before processing, at least once after.
    pub fn log_consumer_spec(&self, index: usize) -> LogConsumerSpec {
        let c = self.consumers[index];
        let commit = match self.delivery {
            Delivery::AtMostOnce => CommitMode::BeforeProcessing,
            _ => CommitMode::AfterProcessing,
        };
        LogConsumerSpec {
            id: consumer_id(index),
            topic: LOG_TOPIC.to_string(),
            group_id: LOG_GROUP.to_string(),
            processing: ProcessingSpec::FixedMs(c.processing_ms),
            enable_auto_commit: false,
            auto_commit_interval_ms: 5000,
            commit: Some(commit),
            auto_offset_reset: OffsetReset::Earliest,
            session_timeout_ms: 1000,
            heartbeat_interval_ms: 300,
            assignment: Assignor::Range,
            max_poll_records: c.prefetch,
            seeks: Vec::new(),
            leave_at_ms: None,
            isolation_level: Default::default(),
            dedup_ids_max: self.dedup_ids_max(),
            transactional: None,
            network: None,
        }
    }

    /// The spec for producer `index` (also used when one is added mid-run).
    pub fn producer_spec(&self, index: usize) -> ProducerSpec {
        let p = self.producers[index];
        let (exchange, routing_key) = if self.partitions > 1 {
            ("orders".to_string(), String::new())
        } else {
            (String::new(), "work".to_string())
        };
        let confirms = match self.delivery {
            Delivery::AtMostOnce => None,
            _ => Some(ConfirmSpec {
                timeout_ms: 200,
                max_retries: 10,
                window: 1000,
            }),
        };
        ProducerSpec {
            id: producer_id(index),
            exchange,
            routing_key,
            keys: (0..p.keys).map(|k| format!("k{k}")).collect(),
            rate_per_s: Some(p.rate_per_s),
            interval_ms: None,
            count: p.rate_per_s * (bounds::DURATION_MS / 1000),
            start_ms: 0,
            payload_bytes: 64,
            confirms,
            network: None,
        }
    }

    /// The spec for consumer `index` (also used when one is added mid-run).
    pub fn consumer_spec(&self, index: usize) -> ConsumerSpec {
        let c = self.consumers[index];
        let ack_mode = match self.delivery {
            Delivery::AtMostOnce => AckMode::Auto,
            _ => AckMode::AfterProcessing,
        };
        ConsumerSpec {
            id: consumer_id(index),
            queue: queue_for_consumer(self.partitions, index),
            prefetch: c.prefetch,
            ack_mode,
            processing: ProcessingSpec::FixedMs(c.processing_ms),
            exclusive: false,
            fail_keys: Vec::new(),
            fail_probability: 0.0,
            on_failure: Default::default(),
            dedup_ids_max: self.dedup_ids_max(),
            network: None,
        }
    }

    /// Exactly once (idempotent): every consumer keeps a dedup store of
    /// processed ids, committed with the effect.
    fn dedup_ids_max(&self) -> Option<u64> {
        (self.delivery == Delivery::ExactlyOnceIdempotent)
            .then_some(crate::guarantee::DEDUP_IDS_DEFAULT)
    }
}

fn check_producer(p: &ProducerSettings) -> Result<(), SetupError> {
    if !(1..=bounds::RATE_PER_S_MAX).contains(&p.rate_per_s) {
        return setup_err(
            "Rate",
            format!(
                "must be from 1 to {} messages per second",
                bounds::RATE_PER_S_MAX
            ),
        );
    }
    if p.keys > 64 {
        return setup_err("Keys", "at most 64 keys");
    }
    Ok(())
}

fn check_consumer(c: &ConsumerSettings) -> Result<(), SetupError> {
    if !(1..=bounds::PROCESSING_MS_MAX).contains(&c.processing_ms) {
        return setup_err(
            "Processing time",
            format!("must be from 1 to {} ms", bounds::PROCESSING_MS_MAX),
        );
    }
    if !(1..=1000).contains(&c.prefetch) {
        return setup_err("Prefetch", "must be from 1 to 1000");
    }
    Ok(())
}

/// The checker's judgement of a run against the guarantee it claims, as the
/// page shows it: "At least once: violated: 3 findings (lost)". The judging
/// itself is [`crate::check::guarantee::judge`], so the page, the CLI and the
/// sweeps can never disagree.
pub fn verdict(delivery: Delivery, summary: &Summary) -> Verdict {
    let mut v = crate::check::guarantee::judge(delivery.guarantee(), summary);
    v.text = format!("{}: {}", delivery.label(), v.text);
    v
}
