//! What every client kind shares: the tagged client list, its link to the
//! broker, and how long processing one message takes.

use super::{ConsumerSpec, LogConsumerSpec, LogProducerSpec, ProducerSpec};
use serde::{Deserialize, Serialize};

/// One client of the scenario, tagged by `kind`. A queue client needs a
/// queue broker and a log client a log broker (`scenario` checks it).
/// Read by [`crate::json::tagged`] (see its doc for why not serde's `tag`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClientSpec {
    /// Publishes to an exchange of the queue broker (`kind: producer`).
    Producer(ProducerSpec),
    /// Consumes from one queue of the queue broker (`kind: consumer`).
    Consumer(ConsumerSpec),
    /// Produces to a topic of the log broker (`kind: log_producer`).
    LogProducer(LogProducerSpec),
    /// A member of a consumer group on the log broker (`kind: log_consumer`).
    LogConsumer(LogConsumerSpec),
}

/// The `kind` of a [`ClientSpec`], as the file spells it.
#[derive(Deserialize)]
#[serde(variant_identifier, rename_all = "snake_case")]
enum ClientKind {
    Producer,
    Consumer,
    LogProducer,
    LogConsumer,
}

impl<'de> Deserialize<'de> for ClientSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ClientSpec, D::Error> {
        crate::json::tagged(
            d,
            "internally tagged enum ClientSpec",
            "kind",
            |kind, fields| {
                Ok(match kind {
                    ClientKind::Producer => ClientSpec::Producer(serde_json::from_value(fields)?),
                    ClientKind::Consumer => ClientSpec::Consumer(serde_json::from_value(fields)?),
                    ClientKind::LogProducer => {
                        ClientSpec::LogProducer(serde_json::from_value(fields)?)
                    }
                    ClientKind::LogConsumer => {
                        ClientSpec::LogConsumer(serde_json::from_value(fields)?)
                    }
                })
            },
        )
    }
}

impl ClientSpec {
    /// The client's id: unique in the scenario, the name faults and settings use.
    pub fn id(&self) -> &str {
        match self {
            ClientSpec::Producer(p) => &p.id,
            ClientSpec::Consumer(c) => &c.id,
            ClientSpec::LogProducer(p) => &p.id,
            ClientSpec::LogConsumer(c) => &c.id,
        }
    }

    /// The client's own link settings, if it overrides the scenario's `network`.
    pub fn network(&self) -> Option<NetworkSpec> {
        match self {
            ClientSpec::Producer(p) => p.network,
            ClientSpec::Consumer(c) => c.network,
            ClientSpec::LogProducer(p) => p.network,
            ClientSpec::LogConsumer(c) => c.network,
        }
    }

    /// Message keys this client names (to intern).
    pub fn keys(&self) -> &[String] {
        match self {
            ClientSpec::Producer(p) => &p.keys,
            ClientSpec::Consumer(c) => &c.fail_keys,
            ClientSpec::LogProducer(p) => &p.keys,
            ClientSpec::LogConsumer(_) => &[],
        }
    }

    /// A client added to a running world at `now_ms` starts no earlier
    /// than now: a producer's first publish would otherwise be scheduled in
    /// the past. Consumers start when they are added anyway.
    pub fn start_no_earlier_than(&mut self, now_ms: u64) {
        match self {
            ClientSpec::Producer(p) => p.start_ms = p.start_ms.max(now_ms),
            ClientSpec::LogProducer(p) => p.start_ms = p.start_ms.max(now_ms),
            ClientSpec::Consumer(_) | ClientSpec::LogConsumer(_) => {}
        }
    }
}

/// A client-to-broker link. Both directions use the same settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Fastest one-way trip of a message on the link, in virtual ms.
    #[serde(default = "one")]
    pub latency_ms_min: u64,
    /// Slowest one-way trip; each message draws uniformly in `[min, max]`,
    /// so messages on one link can overtake each other.
    #[serde(default = "one")]
    pub latency_ms_max: u64,
    /// Chance that one message on the link vanishes.
    #[serde(default)]
    pub loss_probability: f64,
    /// Chance that one message on the link arrives twice.
    #[serde(default)]
    pub duplicate_probability: f64,
}

fn one() -> u64 {
    1
}

impl Default for NetworkSpec {
    fn default() -> NetworkSpec {
        NetworkSpec {
            latency_ms_min: 1,
            latency_ms_max: 1,
            loss_probability: 0.0,
            duplicate_probability: 0.0,
        }
    }
}

/// How long one message takes to process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ProcessingSpec {
    /// Every message takes exactly this long.
    FixedMs(u64),
    /// Uniform in `[min, max]`, drawn from the seeded client stream.
    UniformMs {
        /// Shortest processing time, ms.
        min: u64,
        /// Longest processing time, ms.
        max: u64,
    },
}
