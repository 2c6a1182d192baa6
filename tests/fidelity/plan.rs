//! One fidelity experiment as data: the AMQP steps a client takes, and the
//! events it observes. The same plan runs on a real RabbitMQ (`rabbit.rs`) and
//! on our queue broker (`ours.rs`); the two event lists must be equal.

use std::fmt;

/// The test node's `consumer_timeout`, ms (`scripts/rabbitmq.sh` sets it in
/// the node's advanced.config): long enough for every other experiment.
pub const CONSUMER_TIMEOUT_MS: u32 = 3_000;
/// The test node's `channel_tick_interval`, ms: how often each channel
/// checks `consumer_timeout` (60 s by default, too slow for a test).
pub const CHANNEL_TICK_INTERVAL_MS: u32 = 100;

/// `x-queue-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Classic,
    Quorum,
}

/// `x-overflow` other than the default, `drop-head`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    RejectPublish,
}

/// `queue.declare` with the arguments the experiments use. Dead-lettering goes
/// through the default exchange (`x-dead-letter-exchange = ""`) with
/// `x-dead-letter-routing-key` = the dead-letter queue's name.
#[derive(Clone, Copy, Debug)]
pub struct Queue {
    pub name: &'static str,
    pub kind: Kind,
    pub durable: bool,
    pub delivery_limit: Option<u32>,
    pub max_length: Option<u32>,
    pub overflow: Option<Overflow>,
    pub message_ttl_ms: Option<u32>,
    pub dead_letter_queue: Option<&'static str>,
}

impl Queue {
    /// A durable classic queue with no arguments.
    pub const fn classic(name: &'static str) -> Queue {
        Queue {
            name,
            kind: Kind::Classic,
            durable: true,
            delivery_limit: None,
            max_length: None,
            overflow: None,
            message_ttl_ms: None,
            dead_letter_queue: None,
        }
    }

    /// A quorum queue (always durable) with no arguments.
    pub const fn quorum(name: &'static str) -> Queue {
        Queue {
            kind: Kind::Quorum,
            ..Queue::classic(name)
        }
    }
}

/// Where a publish goes.
#[derive(Clone, Copy, Debug)]
pub enum To {
    /// The default exchange: the queue named by the routing key.
    Queue(&'static str),
    /// A declared topic exchange with this routing key.
    Topic(&'static str, &'static str),
    /// A declared headers exchange, the message carrying these headers.
    Headers(&'static str, Table),
}

/// An AMQP field table: (name, value).
pub type Table = &'static [(&'static str, V)];

/// One AMQP field value, with the AMQP type it goes on the wire as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V {
    /// `longstr`.
    S(&'static str),
    /// `long` (signed 64 bits).
    L(i64),
    /// `signedint` (signed 32 bits): the same type class as `long`.
    I(i32),
    /// `boolean`.
    B(bool),
}

/// One client action. `ch` names a channel (each on its own connection);
/// bodies name messages ("m1"), and an ack names the body it settles (the
/// runner keeps the delivery tag the channel last saw for that body).
#[derive(Clone, Copy, Debug)]
pub enum Step {
    Declare(Queue),
    /// A topic exchange and its bindings (queue, binding key).
    Topic(&'static str, &'static [(&'static str, &'static str)]),
    /// A headers exchange and its bindings (queue, binding arguments).
    HeadersExchange(&'static str, &'static [(&'static str, Table)]),
    /// `basic.publish` on the publisher's confirm channel, then wait for the confirm.
    Publish {
        to: To,
        body: &'static str,
        persistent: bool,
        expiration_ms: Option<u32>,
    },
    /// `basic.qos(prefetch)` + `basic.consume`.
    Consume {
        ch: u8,
        queue: &'static str,
        prefetch: u16,
        auto_ack: bool,
    },
    /// `basic.get`.
    Get {
        ch: u8,
        queue: &'static str,
        auto_ack: bool,
    },
    Ack {
        ch: u8,
        body: &'static str,
        multiple: bool,
    },
    Nack {
        ch: u8,
        body: &'static str,
        multiple: bool,
        requeue: bool,
    },
    Reject {
        ch: u8,
        body: &'static str,
        requeue: bool,
    },
    /// `basic.cancel` of the channel's consumer.
    Cancel {
        ch: u8,
    },
    /// `channel.close` by the client.
    Close {
        ch: u8,
    },
    /// Stop the broker and start it again (every connection is lost).
    Restart,
    /// Let time pass (TTL).
    Sleep {
        ms: u32,
    },
}

/// A persistent publish to a queue, the most common step.
pub const fn publish(queue: &'static str, body: &'static str) -> Step {
    Step::Publish {
        to: To::Queue(queue),
        body,
        persistent: true,
        expiration_ms: None,
    }
}

/// One message as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub body: String,
    pub redelivered: bool,
    /// The `x-delivery-count` header (quorum queues), absent = `None`.
    pub delivery_count: Option<u32>,
    /// The first `x-death` entry: (reason, queue it died in).
    pub death: Option<(String, String)>,
}

/// What a client observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A push delivery to the consumer on `ch`.
    Deliver { ch: u8, msg: Seen },
    /// A `basic.get` answer (`None` = `get-empty`).
    Got { ch: u8, msg: Option<Seen> },
    /// A publisher confirm: `basic.ack` (true) or `basic.nack` (false).
    Confirm { body: String, ok: bool },
    /// The broker closed channel `ch` with this reply code.
    ChannelClosed { ch: u8, code: u16 },
    /// At the end: the queue's contents, in order (`None` = the queue does not exist).
    Left {
        queue: String,
        msgs: Option<Vec<Seen>>,
    },
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.body)?;
        if self.redelivered {
            write!(f, " r")?;
        }
        if let Some(n) = self.delivery_count {
            write!(f, " #{n}")?;
        }
        if let Some((reason, queue)) = &self.death {
            write!(f, " x-death={reason}@{queue}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Deliver { ch, msg } => write!(f, "c{ch}<-{msg}"),
            Event::Got { ch, msg: Some(m) } => write!(f, "get c{ch}={m}"),
            Event::Got { ch, msg: None } => write!(f, "get c{ch}=empty"),
            Event::Confirm { body, ok } => {
                write!(f, "{} {body}", if *ok { "confirm" } else { "nack" })
            }
            Event::ChannelClosed { ch, code } => write!(f, "c{ch} closed {code}"),
            Event::Left { queue, msgs: None } => write!(f, "{queue}: gone"),
            Event::Left {
                queue,
                msgs: Some(m),
            } => {
                let list: Vec<String> = m.iter().map(ToString::to_string).collect();
                write!(f, "{queue}: [{}]", list.join(", "))
            }
        }
    }
}

/// The events one run observed, in the order the plan produced them. Within
/// one step, pushes are sorted by channel (a consumer's own deliveries keep
/// their order): deliveries to two connections have no common order on the wire.
pub fn render(events: &[Event]) -> String {
    let parts: Vec<String> = events
        .iter()
        .filter(|e| !matches!(e, Event::Confirm { ok: true, .. }))
        .map(ToString::to_string)
        .collect();
    parts.join("; ")
}

/// One experiment: a name for the table, what RabbitMQ 3.10.8 did (as
/// [`render`] writes it, measured with scripts/rabbitmq.sh), and its plan.
pub struct Experiment {
    pub name: &'static str,
    pub rabbitmq: &'static str,
    pub steps: &'static [Step],
}

impl Experiment {
    /// Every queue it declares, in order (what `Left` reports on).
    pub fn queues(&self) -> Vec<Queue> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Declare(q) => Some(*q),
                _ => None,
            })
            .collect()
    }
}
