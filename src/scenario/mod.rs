//! Loading and validating a scenario: the layer that turns text into a
//! [`Scenario`] a run may trust.
//!
//! The types themselves are plain data in [`crate::config`]; this module
//! holds what needs more than the types. Parsing is strict: every struct
//! denies unknown fields, so a typo such as `"prefech"` is an error instead of
//! a silently ignored setting. After parsing, [`Scenario::validate`] checks
//! what types cannot: positive rates, probabilities in `[0, 1]`, faults inside
//! the run, client ids that exist, the guarantee's and the live settings'
//! rules. Every error names the field path (`clients[2].prefetch`) and the
//! reason, and nothing here panics on bad input.
//!
//! Why it sits above `client`, `check` and `guarantee`: validation asks them
//! (a guarantee's preconditions, a transactional client's needs), while they
//! only need the vocabulary below them. `from_json` and `validate` are
//! methods of [`Scenario`] defined here, not in `config`, so the plain types
//! stay free of those rules; code below this layer never calls them.

mod amqp;
pub mod cluster;
pub mod settings;
mod sqs;

use crate::config::{
    bounds, Assignor, BrokerSpec, ClientSpec, ConsumerSpec, ExchangeKind, ExchangeSpec,
    FaultAction, FaultOptions, FaultSpec, Limits, LogBrokerSpec, LogConsumerSpec, LogProducerSpec,
    NetworkSpec, Overflow, ProcessingSpec, ProducerSpec, QueueBrokerSpec, QueueKind, QueueMode,
    QueueSpec, Scenario, ScenarioError, SeekPosition, SeekSpec,
};
use std::collections::BTreeSet;

fn err<T>(path: impl Into<String>, reason: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError {
        path: path.into(),
        reason: reason.into(),
    })
}

impl Scenario {
    /// Parses and validates. Malformed JSON, unknown fields and bad values all
    /// come back as a [`ScenarioError`] naming the field.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let scenario = Scenario::parse_json(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Parses and validates a scenario for the replication core's harness
    /// (see [`Scenario::validate_cluster`]).
    pub fn cluster_from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let scenario = Scenario::parse_json(text)?;
        scenario.validate_cluster()?;
        Ok(scenario)
    }

    /// Parses only: the types' own rules (unknown fields, wrong kinds).
    fn parse_json(text: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = crate::json::from_str(text).map_err(|e| ScenarioError {
            path: e.path,
            reason: e.error.to_string(),
        })?;
        Ok(scenario)
    }

    /// The scenario as the indented JSON of a scenario file (what the page
    /// exports); [`Scenario::from_json`] reads it back.
    pub fn to_json_pretty(&self) -> String {
        crate::json::pretty(&serde_json::to_string(self).expect("a scenario always serializes"))
    }

    /// Checks every rule the types cannot express, and that the world can
    /// run it (one broker node today, see [`Scenario::validate_cluster`]).
    pub fn validate(&self) -> Result<(), ScenarioError> {
        self.validate_rules()?;
        cluster::validate_world_can_run(self)
    }

    /// Checks a scenario for the replication core's harness
    /// ([`crate::broker::cluster`]): every rule of [`Scenario::validate`]
    /// but the world's one-node limit, and a `broker.cluster` object.
    pub fn validate_cluster(&self) -> Result<(), ScenarioError> {
        self.validate_rules()?;
        match cluster::cluster_of(self) {
            Some(_) => Ok(()),
            None => err("broker.cluster", "the replication core needs a cluster"),
        }
    }

    /// The rules both [`Scenario::validate`] and
    /// [`Scenario::validate_cluster`] check.
    fn validate_rules(&self) -> Result<(), ScenarioError> {
        if self.duration_ms == 0 || self.duration_ms > bounds::DURATION_MS_MAX {
            return err(
                "duration_ms",
                format!("must be in 1..={}", bounds::DURATION_MS_MAX),
            );
        }
        validate_network("network", &self.network)?;
        let names = match &self.broker {
            BrokerSpec::Queue(broker) => {
                validate_broker(broker, &self.limits)?;
                BrokerNames {
                    queues: set_of(broker.queues.iter().map(|q| q.name.as_str())),
                    exchanges: set_of(broker.exchanges.iter().map(|x| x.name.as_str())),
                    topics: BTreeSet::new(),
                }
            }
            BrokerSpec::Log(broker) => {
                validate_log_broker(broker)?;
                BrokerNames {
                    queues: BTreeSet::new(),
                    exchanges: BTreeSet::new(),
                    topics: set_of(broker.topics.iter().map(|t| t.name.as_str())),
                }
            }
        };
        validate_clients(&self.clients, &names, self.duration_ms)?;
        if let BrokerSpec::Queue(broker) = &self.broker {
            amqp::validate_queue_clients(&self.clients, broker)?;
            sqs::validate_fifo(broker, &self.clients)?;
        }
        cluster::validate_client_ids(self)?;
        let ids = set_of(self.clients.iter().map(|c| c.id()));
        let log_broker = matches!(self.broker, BrokerSpec::Log(_));
        let brokers = cluster::broker_names(self);
        let run = FaultRun {
            ids: &ids,
            kinds: &self.clients,
            duration_ms: self.duration_ms,
            log_broker,
            brokers: &brokers,
            cluster: cluster::cluster_of(self).is_some(),
        };
        validate_faults(&self.faults, &run)?;
        crate::guarantee::validate(self)?;
        settings::validate(self)?;
        validate_fault_options(&self.fault_options, log_broker)?;
        cluster::validate_cluster_options(&self.fault_options, cluster::cluster_of(self))?;
        if self.limits.events_max == 0 {
            return err("limits.events_max", "must be positive");
        }
        if self.limits.queue_depth_max == 0 {
            return err("limits.queue_depth_max", "must be positive");
        }
        Ok(())
    }
}

/// The distinct names, sorted. Inserted one by one: `collect` into a
/// BTreeSet sorts a Vec first, with a sort of its own in the page's bundle.
fn set_of<'a>(names: impl Iterator<Item = &'a str>) -> BTreeSet<&'a str> {
    let mut set = BTreeSet::new();
    set.extend(names);
    set
}

fn validate_probability(path: String, p: f64) -> Result<(), ScenarioError> {
    if !(0.0..=1.0).contains(&p) {
        return err(path, format!("probability {p} is outside [0, 1]"));
    }
    Ok(())
}

fn validate_network(path: &str, net: &NetworkSpec) -> Result<(), ScenarioError> {
    if net.latency_ms_min > net.latency_ms_max {
        return err(
            format!("{path}.latency_ms_min"),
            format!(
                "{} is greater than latency_ms_max {}",
                net.latency_ms_min, net.latency_ms_max
            ),
        );
    }
    if net.latency_ms_max > 60_000 {
        return err(format!("{path}.latency_ms_max"), "must be at most 60000");
    }
    validate_probability(format!("{path}.loss_probability"), net.loss_probability)?;
    validate_probability(
        format!("{path}.duplicate_probability"),
        net.duplicate_probability,
    )
}

fn validate_broker(broker: &QueueBrokerSpec, limits: &Limits) -> Result<(), ScenarioError> {
    if broker.queues.is_empty() || broker.queues.len() > bounds::QUEUES_MAX {
        return err(
            "broker.queues",
            format!("declare 1..={} queues", bounds::QUEUES_MAX),
        );
    }
    if broker.fsync_latency_ms > 60_000 {
        return err("broker.fsync_latency_ms", "must be at most 60000");
    }
    let mut names = BTreeSet::new();
    for (i, q) in broker.queues.iter().enumerate() {
        let path = format!("broker.queues[{i}]");
        if q.name.is_empty() || !names.insert(q.name.as_str()) {
            return err(format!("{path}.name"), "must be non-empty and unique");
        }
        validate_queue(&path, q, broker.mode, limits)?;
    }
    for (i, q) in broker.queues.iter().enumerate() {
        if let Some(dlq) = &q.dead_letter_queue {
            if !names.contains(dlq.as_str()) || dlq == &q.name {
                return err(
                    format!("broker.queues[{i}].dead_letter_queue"),
                    format!("`{dlq}` is not another declared queue"),
                );
            }
        }
    }
    validate_exchanges(&broker.exchanges, &names)
}

fn validate_queue(
    path: &str,
    q: &QueueSpec,
    mode: QueueMode,
    limits: &Limits,
) -> Result<(), ScenarioError> {
    match (mode, q.visibility_timeout_ms) {
        (QueueMode::Sqs, None) => {
            return err(
                format!("{path}.visibility_timeout_ms"),
                "required in sqs mode",
            )
        }
        (QueueMode::Sqs, Some(0)) => {
            return err(format!("{path}.visibility_timeout_ms"), "must be positive")
        }
        (QueueMode::Rabbitmq, Some(_)) => return err(
            format!("{path}.visibility_timeout_ms"),
            "only sqs mode has a visibility timeout (rabbitmq requeues when the channel closes)",
        ),
        _ => {}
    }
    if q.delivery_limit == Some(0) {
        return err(format!("{path}.delivery_limit"), "must be positive");
    }
    validate_rabbitmq_arguments(path, q, mode)?;
    if let Some(max) = q.max_length {
        if max == 0 || max > limits.queue_depth_max {
            return err(
                format!("{path}.max_length"),
                format!(
                    "must be in 1..={} (limits.queue_depth_max)",
                    limits.queue_depth_max
                ),
            );
        }
    }
    Ok(())
}

/// The queue arguments RabbitMQ itself would refuse, or that only one mode has.
fn validate_rabbitmq_arguments(
    path: &str,
    q: &QueueSpec,
    mode: QueueMode,
) -> Result<(), ScenarioError> {
    let rabbitmq_only = [
        ("type", q.kind != QueueKind::Classic),
        ("durable", q.durable),
        ("overflow", q.overflow.is_some()),
        ("message_ttl_ms", q.message_ttl_ms.is_some()),
        ("max_length_bytes", q.max_length_bytes.is_some()),
    ];
    if mode == QueueMode::Sqs {
        if let Some((field, _)) = rabbitmq_only.iter().find(|(_, set)| *set) {
            return err(
                format!("{path}.{field}"),
                "a RabbitMQ queue argument; not in sqs mode",
            );
        }
        return Ok(());
    }
    if q.delivery_limit.is_some() && q.kind == QueueKind::Classic {
        return err(
            format!("{path}.delivery_limit"),
            "x-delivery-limit is a quorum queue argument: add \"type\": \"quorum\" (a classic queue ignores it)",
        );
    }
    if q.message_ttl_ms
        .is_some_and(|ttl| !(0..=bounds::TTL_MS_MAX).contains(&ttl))
    {
        return err(
            format!("{path}.message_ttl_ms"),
            format!("must be in 0..={} (x-message-ttl)", bounds::TTL_MS_MAX),
        );
    }
    if q.max_length_bytes == Some(0) {
        return err(format!("{path}.max_length_bytes"), "must be positive");
    }
    if q.overflow.is_some() && q.max_length.is_none() && q.max_length_bytes.is_none() {
        return err(
            format!("{path}.overflow"),
            "only applies with max_length or max_length_bytes",
        );
    }
    if q.overflow == Some(Overflow::RejectPublishDlx) && q.dead_letter_queue.is_none() {
        return err(
            format!("{path}.overflow"),
            "reject-publish-dlx needs a dead_letter_queue",
        );
    }
    Ok(())
}

/// A `topic` binding key: words separated by `.`, none empty (`a..b` or a
/// trailing dot is refused); `*` and `#` only as whole words.
fn validate_topic_key(path: String, key: &str) -> Result<(), ScenarioError> {
    for word in key.split('.') {
        if word.is_empty() {
            return err(
                path,
                format!("`{key}` has an empty word (words are separated by one `.`)"),
            );
        }
        if word != "*" && word != "#" && (word.contains('*') || word.contains('#')) {
            return err(
                path,
                format!("`{key}`: `*` and `#` must be whole words, not part of `{word}`"),
            );
        }
    }
    Ok(())
}

fn validate_exchanges(
    exchanges: &[ExchangeSpec],
    queues: &BTreeSet<&str>,
) -> Result<(), ScenarioError> {
    if exchanges.len() > bounds::QUEUES_MAX {
        return err(
            "broker.exchanges",
            format!("at most {}", bounds::QUEUES_MAX),
        );
    }
    let mut names = BTreeSet::new();
    for (i, x) in exchanges.iter().enumerate() {
        let path = format!("broker.exchanges[{i}]");
        if x.name.is_empty() || !names.insert(x.name.as_str()) {
            return err(
                format!("{path}.name"),
                "must be non-empty and unique (\"\" is the default exchange)",
            );
        }
        if x.bindings.is_empty() {
            return err(format!("{path}.bindings"), "bind at least one queue");
        }
        for (j, b) in x.bindings.iter().enumerate() {
            let bpath = format!("{path}.bindings[{j}]");
            if !queues.contains(b.queue.as_str()) {
                return err(
                    format!("{bpath}.queue"),
                    format!("unknown queue `{}`", b.queue),
                );
            }
            let keyed = matches!(x.kind, ExchangeKind::Direct | ExchangeKind::Topic);
            if keyed != b.routing_key.is_some() {
                return err(
                    format!("{bpath}.routing_key"),
                    "required for direct and topic exchanges and not allowed for others",
                );
            }
            if let (ExchangeKind::Topic, Some(key)) = (x.kind, &b.routing_key) {
                validate_topic_key(format!("{bpath}.routing_key"), key)?;
            }
            amqp::validate_binding_arguments(&bpath, x.kind, &b.arguments)?;
        }
    }
    Ok(())
}

/// What clients may refer to.
struct BrokerNames<'a> {
    queues: BTreeSet<&'a str>,
    exchanges: BTreeSet<&'a str>,
    topics: BTreeSet<&'a str>,
}

fn validate_log_broker(b: &LogBrokerSpec) -> Result<(), ScenarioError> {
    if b.topics.is_empty() || b.topics.len() > bounds::TOPICS_MAX {
        return err(
            "broker.topics",
            format!("declare 1..={} topics", bounds::TOPICS_MAX),
        );
    }
    if b.fsync_latency_ms > 60_000 {
        return err("broker.fsync_latency_ms", "must be at most 60000");
    }
    if let Some(c) = &b.cluster {
        cluster::validate_cluster(c)?;
    }
    let mut names = BTreeSet::new();
    for (i, t) in b.topics.iter().enumerate() {
        let path = format!("broker.topics[{i}]");
        if t.name.is_empty() || !names.insert(t.name.as_str()) {
            return err(format!("{path}.name"), "must be non-empty and unique");
        }
        if t.partitions == 0 || t.partitions > bounds::PARTITIONS_MAX {
            return err(
                format!("{path}.partitions"),
                format!("must be in 1..={}", bounds::PARTITIONS_MAX),
            );
        }
        if t.retention_ms == Some(0) {
            return err(format!("{path}.retention.ms"), "must be positive");
        }
        if t.retention_records == Some(0) {
            return err(format!("{path}.retention.records"), "must be positive");
        }
    }
    Ok(())
}

/// Which broker kind a client kind needs.
fn client_fits(c: &ClientSpec, names: &BrokerNames) -> bool {
    let log = !names.topics.is_empty();
    matches!(c, ClientSpec::LogProducer(_) | ClientSpec::LogConsumer(_)) == log
}

fn validate_clients(
    clients: &[ClientSpec],
    names: &BrokerNames,
    duration_ms: u64,
) -> Result<(), ScenarioError> {
    let (queues, exchanges) = (&names.queues, &names.exchanges);
    if clients.is_empty() || clients.len() > bounds::CLIENTS_MAX {
        return err(
            "clients",
            format!("declare 1..={} clients", bounds::CLIENTS_MAX),
        );
    }
    let mut ids = BTreeSet::new();
    for (i, c) in clients.iter().enumerate() {
        let path = format!("clients[{i}]");
        if c.id().is_empty() || c.id() == "broker" || !ids.insert(c.id()) {
            return err(
                format!("{path}.id"),
                "must be non-empty, unique and not `broker`",
            );
        }
        if let Some(net) = c.network() {
            validate_network(&format!("{path}.network"), &net)?;
        }
        if !client_fits(c, names) {
            return err(
                format!("{path}.kind"),
                "queue clients (producer, consumer) need a queue broker; log clients (log_producer, log_consumer) need a log broker",
            );
        }
        match c {
            ClientSpec::Producer(p) => validate_producer(&path, p, queues, exchanges)?,
            ClientSpec::Consumer(k) => validate_consumer(&path, k, queues)?,
            ClientSpec::LogProducer(p) => validate_log_producer(&path, p, &names.topics)?,
            ClientSpec::LogConsumer(k) => validate_log_consumer(&path, k, names, duration_ms)?,
        }
    }
    validate_groups(clients)
}

/// Members of one `group.id` must agree on the topic and the assignor, as
/// Kafka requires one common protocol per group.
fn validate_groups(clients: &[ClientSpec]) -> Result<(), ScenarioError> {
    let mut first: std::collections::BTreeMap<&str, (&str, Assignor)> = Default::default();
    for (i, c) in clients.iter().enumerate() {
        let ClientSpec::LogConsumer(k) = c else {
            continue;
        };
        let (topic, assignor) = *first
            .entry(k.group_id.as_str())
            .or_insert((k.topic.as_str(), k.assignment));
        if topic != k.topic || assignor != k.assignment {
            return err(
                format!("clients[{i}].group.id"),
                format!(
                    "every member of group `{}` must read topic `{topic}` with the same partition.assignment.strategy",
                    k.group_id
                ),
            );
        }
    }
    Ok(())
}

/// The rate fields both producer kinds share.
fn validate_rate(
    path: &str,
    rate_per_s: Option<u64>,
    interval_ms: Option<u64>,
    count: u64,
) -> Result<(), ScenarioError> {
    match (rate_per_s, interval_ms) {
        (Some(0), _) => return err(format!("{path}.rate_per_s"), "must be positive"),
        (_, Some(0)) => return err(format!("{path}.interval_ms"), "must be positive"),
        (Some(_), Some(_)) | (None, None) => {
            return err(
                format!("{path}.rate_per_s"),
                "set exactly one of rate_per_s and interval_ms",
            )
        }
        _ => {}
    }
    if count == 0 || count > bounds::MESSAGES_PER_PRODUCER_MAX {
        return err(
            format!("{path}.count"),
            format!("must be in 1..={}", bounds::MESSAGES_PER_PRODUCER_MAX),
        );
    }
    Ok(())
}

fn validate_processing(path: &str, processing: ProcessingSpec) -> Result<(), ScenarioError> {
    if let ProcessingSpec::UniformMs { min, max } = processing {
        if min > max {
            return err(
                format!("{path}.processing.uniform_ms.min"),
                "greater than max",
            );
        }
    }
    Ok(())
}

fn validate_log_producer(
    path: &str,
    p: &LogProducerSpec,
    topics: &BTreeSet<&str>,
) -> Result<(), ScenarioError> {
    validate_rate(path, p.rate_per_s, p.interval_ms, p.count)?;
    if !topics.contains(p.topic.as_str()) {
        return err(
            format!("{path}.topic"),
            format!("unknown topic `{}`", p.topic),
        );
    }
    if p.request_timeout_ms == 0 {
        return err(format!("{path}.request.timeout.ms"), "must be positive");
    }
    if p.max_in_flight == 0 || p.max_in_flight > 100_000 {
        return err(
            format!("{path}.max.in.flight.requests"),
            "must be in 1..=100000",
        );
    }
    crate::guarantee::validate_idempotent_producer(path, p)?;
    cluster::validate_txn_producer(path, p)
}

fn validate_log_consumer(
    path: &str,
    c: &LogConsumerSpec,
    names: &BrokerNames,
    duration_ms: u64,
) -> Result<(), ScenarioError> {
    if !names.topics.contains(c.topic.as_str()) {
        return err(
            format!("{path}.topic"),
            format!("unknown topic `{}`", c.topic),
        );
    }
    if c.group_id.is_empty() {
        return err(format!("{path}.group.id"), "must be non-empty");
    }
    validate_processing(path, c.processing)?;
    if let Some(t) = &c.transactional {
        return crate::client::txn_producer::validate(
            path,
            c,
            t,
            names.topics.contains(t.output_topic.as_str()),
        );
    }
    match (c.enable_auto_commit, c.commit) {
        (true, Some(_)) => {
            return err(
                format!("{path}.commit"),
                "not allowed with enable.auto.commit = true (the consumer commits on its own)",
            )
        }
        (false, None) => {
            return err(
                format!("{path}.commit"),
                "required with enable.auto.commit = false: after_processing or before_processing",
            )
        }
        _ => {}
    }
    if c.enable_auto_commit && c.auto_commit_interval_ms == 0 {
        return err(
            format!("{path}.auto.commit.interval.ms"),
            "must be positive",
        );
    }
    if c.heartbeat_interval_ms == 0 || c.heartbeat_interval_ms >= c.session_timeout_ms {
        return err(
            format!("{path}.heartbeat.interval.ms"),
            "must be positive and below session.timeout.ms",
        );
    }
    if c.max_poll_records == 0 || c.max_poll_records > bounds::MAX_POLL_RECORDS_MAX {
        return err(
            format!("{path}.max.poll.records"),
            format!("must be in 1..={}", bounds::MAX_POLL_RECORDS_MAX),
        );
    }
    validate_seeks(path, &c.seeks, duration_ms)
}

fn validate_seeks(path: &str, seeks: &[SeekSpec], duration_ms: u64) -> Result<(), ScenarioError> {
    if seeks.len() > bounds::SEEKS_MAX {
        return err(
            format!("{path}.seeks"),
            format!("at most {}", bounds::SEEKS_MAX),
        );
    }
    for (i, s) in seeks.iter().enumerate() {
        let spath = format!("{path}.seeks[{i}]");
        if s.at_ms >= duration_ms {
            return err(format!("{spath}.at_ms"), "at or after the end of the run");
        }
        let needs_offset = matches!(
            s.position,
            SeekPosition::AtOffset | SeekPosition::AfterOffset
        );
        if needs_offset != s.offset.is_some() {
            return err(
                format!("{spath}.offset"),
                "required for offset / AT_SEQUENCE_NUMBER / AFTER_SEQUENCE_NUMBER, not allowed otherwise",
            );
        }
        let needs_time = s.position == SeekPosition::AtTimestamp;
        if needs_time != s.timestamp_ms.is_some() {
            return err(
                format!("{spath}.timestamp_ms"),
                "required for timestamp / AT_TIMESTAMP, not allowed otherwise",
            );
        }
    }
    Ok(())
}

fn validate_producer(
    path: &str,
    p: &ProducerSpec,
    queues: &BTreeSet<&str>,
    exchanges: &BTreeSet<&str>,
) -> Result<(), ScenarioError> {
    validate_rate(path, p.rate_per_s, p.interval_ms, p.count)?;
    if p.exchange.is_empty() {
        if !queues.contains(p.routing_key.as_str()) {
            return err(
                format!("{path}.routing_key"),
                format!(
                    "the default exchange needs a declared queue name, got `{}`",
                    p.routing_key
                ),
            );
        }
    } else if !exchanges.contains(p.exchange.as_str()) {
        return err(
            format!("{path}.exchange"),
            format!("unknown exchange `{}`", p.exchange),
        );
    }
    if let Some(c) = p.confirms {
        if c.timeout_ms == 0 {
            return err(format!("{path}.confirms.timeout_ms"), "must be positive");
        }
        if c.window == 0 || c.window > 100_000 {
            return err(format!("{path}.confirms.window"), "must be in 1..=100000");
        }
    }
    Ok(())
}

fn validate_consumer(
    path: &str,
    c: &ConsumerSpec,
    queues: &BTreeSet<&str>,
) -> Result<(), ScenarioError> {
    if !queues.contains(c.queue.as_str()) {
        return err(
            format!("{path}.queue"),
            format!("unknown queue `{}`", c.queue),
        );
    }
    if c.prefetch == 0 || c.prefetch > bounds::PREFETCH_MAX {
        return err(
            format!("{path}.prefetch"),
            format!(
                "must be in 1..={} (unlimited prefetch is not modelled)",
                bounds::PREFETCH_MAX
            ),
        );
    }
    validate_processing(path, c.processing)?;
    validate_probability(format!("{path}.fail_probability"), c.fail_probability)
}

/// What a fault may refer to: the run's clients and brokers, and its end.
struct FaultRun<'a> {
    /// Client ids.
    ids: &'a BTreeSet<&'a str>,
    /// The clients, for the armed faults' kinds.
    kinds: &'a [ClientSpec],
    /// Faults happen before this.
    duration_ms: u64,
    /// Only the log broker has a disk to tear.
    log_broker: bool,
    /// Broker names: `broker`, or `b1` … `bN` in a cluster.
    brokers: &'a [&'static str],
    /// Whether the run has a cluster (`isolate`, `heal`, `slow_follower`).
    cluster: bool,
}

fn validate_faults(faults: &[FaultSpec], run: &FaultRun) -> Result<(), ScenarioError> {
    if faults.len() > bounds::FAULTS_MAX {
        return err("faults", format!("at most {} faults", bounds::FAULTS_MAX));
    }
    for (i, f) in faults.iter().enumerate() {
        let path = format!("faults[{i}]");
        if f.at_ms >= run.duration_ms {
            return err(
                format!("{path}.at_ms"),
                format!(
                    "{} is at or after the end of the run (duration_ms {})",
                    f.at_ms, run.duration_ms
                ),
            );
        }
        let is_client = run.ids.contains(f.target.as_str());
        let what = (f.action, f.target.as_str(), is_client);
        let is_broker = cluster::validate_fault_target(&path, what, (run.brokers, run.cluster))?;
        if !is_broker && !run.ids.contains(f.target.as_str()) {
            return err(
                format!("{path}.target"),
                format!("unknown client id `{}`", f.target),
            );
        }
        crate::guarantee::validate_armed_fault(&path, f, run.kinds)?;
        validate_until(&path, f)?;
        if f.action == FaultAction::CrashTorn && (!is_broker || !run.log_broker) {
            return err(
                format!("{path}.action"),
                "crash_torn targets the log broker (the only one with a disk)",
            );
        }
        if f.action == FaultAction::DropAcks && is_broker {
            return err(
                format!("{path}.target"),
                "drop_acks targets a client's link",
            );
        }
    }
    Ok(())
}

/// `until_ms`: required after `at_ms` by `drop_acks` and `slow_follower`,
/// checked elsewhere for the armed faults, refused on the others.
fn validate_until(path: &str, f: &FaultSpec) -> Result<(), ScenarioError> {
    match (f.action, f.until_ms) {
        (FaultAction::DropAcks | FaultAction::SlowFollower, Some(u)) if u > f.at_ms => Ok(()),
        (FaultAction::CrashAfterSend | FaultAction::CrashAfterProcess, _) => Ok(()),
        (FaultAction::DropAcks | FaultAction::SlowFollower, _) => err(
            format!("{path}.until_ms"),
            "drop_acks and slow_follower need until_ms after at_ms",
        ),
        (_, Some(_)) => err(
            format!("{path}.until_ms"),
            "only drop_acks and slow_follower take until_ms",
        ),
        (_, None) => Ok(()),
    }
}

fn validate_fault_options(o: &FaultOptions, log_broker: bool) -> Result<(), ScenarioError> {
    if o.torn_writes && !log_broker {
        return err(
            "fault_options.torn_writes",
            "needs the log broker (the queue broker keeps no disk to tear)",
        );
    }
    if o.downtime_ms_min > o.downtime_ms_max {
        return err(
            "fault_options.downtime_ms_min",
            "greater than downtime_ms_max",
        );
    }
    if o.max_faults > 64 {
        return err("fault_options.max_faults", "at most 64");
    }
    Ok(())
}
