//! Runs a plan on our queue broker, through its sans-IO API: each channel is a
//! client id, the publisher is one more, and virtual time only moves on `Sleep`.
//! Durable queues write to a memory disk whose `fsync` takes no time: after
//! each step the broker's group commit runs to the end, so a confirm that
//! waits for the disk comes with the step that asked for it.

use super::plan::{Event, Experiment, Kind, Overflow, Queue, Seen, Step, Table, To, V};
use super::plan::{CHANNEL_TICK_INTERVAL_MS, CONSUMER_TIMEOUT_MS};
use brokerlab::broker::queue::QueueBroker;
use brokerlab::broker::{
    ClientId, Delivery, DeliveryTag, HeadersId, KeyId, Message, Output, Properties, Request, Target,
};
use brokerlab::config::{
    BindingSpec, ExchangeKind, ExchangeSpec, HeaderValue, Headers, Overflow as SpecOverflow,
    QueueBrokerSpec, QueueKind, QueueMode, QueueSpec,
};
use brokerlab::storage::{MemoryStore, Storage, Tear};
use std::collections::{BTreeMap, HashMap};

/// The publisher's client id; channels are 0..=99, queue drains 200 and up.
const PUBLISHER: ClientId = 100;
const DRAIN: ClientId = 200;

/// A plan's run on our broker.
struct Run {
    broker: QueueBroker,
    /// The broker's disk.
    disk: MemoryStore,
    queues: Vec<String>,
    exchanges: Vec<String>,
    keys: Vec<String>,
    /// The header tables the plan publishes with, by [`HeadersId`].
    header_tables: Vec<Headers>,
    now_ms: u64,
    /// The delivery tag each channel last saw for each body.
    tags: HashMap<(ClientId, String), DeliveryTag>,
    events: Vec<Event>,
}

/// Runs `exp` on a fresh queue broker and returns what the clients saw.
pub fn run(exp: &Experiment) -> Vec<Event> {
    let (spec, keys, header_tables) = spec(exp);
    let key_of = |k: &str| keys.iter().position(|n| n == k).map(|i| i as KeyId);
    let mut broker = QueueBroker::from_spec(&spec, &key_of, &keys, 1_000);
    for table in &header_tables {
        broker.add_headers(table);
    }
    let mut disk = MemoryStore::new(Default::default(), 0);
    disk.recover();
    let mut run = Run {
        broker,
        disk,
        queues: spec.queues.iter().map(|q| q.name.clone()).collect(),
        exchanges: spec.exchanges.iter().map(|x| x.name.clone()).collect(),
        keys,
        header_tables,
        now_ms: 0,
        tags: HashMap::new(),
        events: Vec::new(),
    };
    for step in exp.steps {
        run.step(step);
    }
    for (i, q) in exp.queues().iter().enumerate() {
        let msgs = run.drain(DRAIN + i as ClientId, q.name);
        run.events.push(Event::Left {
            queue: q.name.to_string(),
            msgs: Some(msgs),
        });
    }
    run.events
}

/// A field table as the broker's config holds it.
fn table(t: Table) -> Headers {
    let value = |v: V| match v {
        V::S(text) => text.into(),
        V::L(n) => HeaderValue::Int(n),
        V::I(n) => HeaderValue::Int(n.into()),
        V::B(b) => HeaderValue::Bool(b),
    };
    t.iter().map(|(k, v)| (k.to_string(), value(*v))).collect()
}

/// The broker the plan declares, the routing keys and the header tables it
/// publishes with.
fn spec(exp: &Experiment) -> (QueueBrokerSpec, Vec<String>, Vec<Headers>) {
    let queues = exp.queues().into_iter().map(queue_spec).collect();
    let mut exchanges = Vec::new();
    let mut keys = Vec::new();
    let mut header_tables = Vec::new();
    let binding = |q: &str, routing_key: Option<&str>, arguments: Headers| BindingSpec {
        queue: q.to_string(),
        routing_key: routing_key.map(str::to_string),
        arguments,
    };
    for step in exp.steps {
        match step {
            Step::Topic(x, bindings) => exchanges.push(ExchangeSpec {
                name: x.to_string(),
                kind: ExchangeKind::Topic,
                bindings: bindings
                    .iter()
                    .map(|(q, key)| binding(q, Some(key), Headers::new()))
                    .collect(),
            }),
            Step::HeadersExchange(x, bindings) => exchanges.push(ExchangeSpec {
                name: x.to_string(),
                kind: ExchangeKind::Headers,
                bindings: bindings
                    .iter()
                    .map(|(q, args)| binding(q, None, table(args)))
                    .collect(),
            }),
            Step::Publish {
                to: To::Topic(_, key),
                ..
            } if !keys.iter().any(|k| k == key) => keys.push(key.to_string()),
            Step::Publish {
                to: To::Headers(_, headers),
                ..
            } if !header_tables.contains(&table(headers)) => header_tables.push(table(headers)),
            _ => {}
        }
    }
    let spec = QueueBrokerSpec {
        mode: QueueMode::Rabbitmq,
        queues,
        exchanges,
        fsync_latency_ms: 0,
        // As the test's RabbitMQ node is configured (scripts/rabbitmq.sh).
        consumer_timeout_ms: Some(i64::from(CONSUMER_TIMEOUT_MS)),
        channel_tick_interval_ms: Some(CHANNEL_TICK_INTERVAL_MS.into()),
    };
    (spec, keys, header_tables)
}

fn queue_spec(q: Queue) -> QueueSpec {
    QueueSpec {
        kind: match q.kind {
            Kind::Classic => QueueKind::Classic,
            Kind::Quorum => QueueKind::Quorum,
        },
        durable: q.durable,
        delivery_limit: q.delivery_limit,
        dead_letter_queue: q.dead_letter_queue.map(str::to_string),
        max_length: q.max_length.map(u64::from),
        overflow: q
            .overflow
            .map(|Overflow::RejectPublish| SpecOverflow::RejectPublish),
        message_ttl_ms: q.message_ttl_ms.map(i64::from),
        ..QueueSpec::named(q.name.to_string())
    }
}

/// "m7" is message 7.
fn msg_id(body: &str) -> u64 {
    body.trim_start_matches('m')
        .parse()
        .expect("bodies are m<number>")
}

impl Run {
    fn queue(&self, name: &str) -> u32 {
        self.queues
            .iter()
            .position(|q| q == name)
            .expect("declared") as u32
    }

    fn step(&mut self, step: &Step) {
        let mut out = Vec::new();
        let now = self.now_ms;
        match *step {
            Step::Declare(_) | Step::Topic(..) | Step::HeadersExchange(..) => {}
            Step::Publish {
                to,
                body,
                persistent,
                expiration_ms,
            } => {
                let props = Properties {
                    persistent,
                    expiration_ms,
                    headers: None,
                };
                let req = self.publish(to, body, props);
                self.broker.handle(now, PUBLISHER, req, &mut out);
            }
            Step::Consume {
                ch,
                queue,
                prefetch,
                auto_ack,
            } => {
                let req = Request::Consume {
                    queue: self.queue(queue),
                    prefetch: prefetch.into(),
                    auto_ack,
                    exclusive: false,
                    window: 0,
                };
                self.broker.handle(now, ch.into(), req, &mut out);
            }
            Step::Get {
                ch,
                queue,
                auto_ack,
            } => {
                let req = Request::Get {
                    queue: self.queue(queue),
                    auto_ack,
                };
                self.broker.handle(now, ch.into(), req, &mut out);
            }
            Step::Ack { .. } | Step::Nack { .. } | Step::Reject { .. } => {
                self.settle(step, &mut out)
            }
            Step::Cancel { ch } => self
                .broker
                .handle(now, ch.into(), Request::Cancel, &mut out),
            Step::Close { ch } => {
                self.broker
                    .handle(now, ch.into(), Request::ChannelClosed, &mut out);
            }
            Step::Restart => {
                self.broker.crash(now, Tear::None, &mut self.disk, &mut out);
                self.broker.restart();
                self.tags.clear();
                out.clear();
            }
            Step::Sleep { ms } => {
                self.now_ms += u64::from(ms);
                self.broker.tick(self.now_ms, &mut out);
            }
        }
        self.sync(&mut out);
        self.record(out);
    }

    /// Runs the group commit until nothing is left to write.
    fn sync(&mut self, out: &mut Vec<Output>) {
        let now = self.now_ms;
        self.broker.write(now, &mut self.disk, out);
        while let Some(id) = out.iter().find_map(|o| match o {
            Output::FlushAt { id, .. } => Some(*id),
            _ => None,
        }) {
            out.retain(|o| !matches!(o, Output::FlushAt { id: i, .. } if *i == id));
            let state = self.disk.flush_state(id, now);
            self.broker.flush_done(now, id, state, &mut self.disk, out);
        }
    }

    fn exchange(&self, name: &str) -> Target {
        let x = self.exchanges.iter().position(|n| n == name);
        Target::Exchange(x.expect("declared") as u32)
    }

    fn publish(&self, to: To, body: &str, mut props: Properties) -> Request {
        let (target, key) = match to {
            To::Queue(q) => (Target::Queue(self.queue(q)), None),
            To::Topic(x, key) => {
                let k = self.keys.iter().position(|n| n == key).expect("collected");
                (self.exchange(x), Some(k as KeyId))
            }
            To::Headers(x, headers) => {
                let h = self.header_tables.iter().position(|t| *t == table(headers));
                props.headers = Some(h.expect("collected") as HeadersId);
                (self.exchange(x), None)
            }
        };
        let id = msg_id(body);
        let msg = Message {
            id,
            producer: PUBLISHER,
            seq: id,
            key,
            payload_bytes: 0,
        };
        Request::Publish {
            target,
            msg,
            confirm: true,
            props,
        }
    }

    fn settle(&mut self, step: &Step, out: &mut Vec<Output>) {
        let req = |tag| match *step {
            Step::Ack { multiple, .. } => Request::Ack { tag, multiple },
            Step::Nack {
                multiple, requeue, ..
            } => Request::Nack {
                tag,
                multiple,
                requeue,
            },
            Step::Reject { requeue, .. } => Request::Nack {
                tag,
                multiple: false,
                requeue,
            },
            _ => unreachable!("settling steps only"),
        };
        let (Step::Ack { ch, body, .. }
        | Step::Nack { ch, body, .. }
        | Step::Reject { ch, body, .. }) = *step
        else {
            unreachable!("settling steps only")
        };
        let tag = self.tags[&(ch.into(), body.to_string())];
        self.broker.handle(self.now_ms, ch.into(), req(tag), out);
    }

    /// Turns the broker's outputs into events: answers in order, then pushes
    /// and channel closes grouped by channel (as the real run sees them).
    fn record(&mut self, out: Vec<Output>) {
        let mut per_channel: BTreeMap<ClientId, Vec<Event>> = BTreeMap::new();
        for o in out {
            match o {
                Output::Confirm { msg, ok, .. } => self.events.push(Event::Confirm {
                    body: format!("m{msg}"),
                    ok,
                }),
                Output::Got { to, delivery } => {
                    let msg = delivery.map(|d| self.seen(to, d));
                    self.events.push(Event::Got { ch: ch(to), msg });
                }
                Output::Deliver { to, delivery } => {
                    let msg = self.seen(to, delivery);
                    per_channel
                        .entry(to)
                        .or_default()
                        .push(Event::Deliver { ch: ch(to), msg });
                }
                Output::ChannelError { to, code } => {
                    per_channel
                        .entry(to)
                        .or_default()
                        .push(Event::ChannelClosed { ch: ch(to), code });
                }
                _ => {}
            }
        }
        self.events.extend(per_channel.into_values().flatten());
    }

    fn seen(&mut self, to: ClientId, d: Delivery) -> Seen {
        let body = format!("m{}", d.msg.id);
        self.tags.insert((to, body.clone()), d.tag);
        Seen {
            body,
            redelivered: d.redelivered,
            delivery_count: d.x_delivery_count,
            death: d.death.map(|x| {
                (
                    x.reason.name().to_string(),
                    self.queues[x.queue as usize].clone(),
                )
            }),
        }
    }

    /// The queue's messages in order, taken with auto-ack `basic.get`s.
    fn drain(&mut self, client: ClientId, queue: &str) -> Vec<Seen> {
        let q = self.queue(queue);
        let mut msgs = Vec::new();
        for _ in 0..100 {
            let mut out = Vec::new();
            let req = Request::Get {
                queue: q,
                auto_ack: true,
            };
            self.broker.handle(self.now_ms, client, req, &mut out);
            let got = out.iter().find_map(|o| match o {
                Output::Got { delivery, .. } => Some(*delivery),
                _ => None,
            });
            match got.expect("basic.get is answered") {
                Some(d) => msgs.push(self.seen(client, d)),
                None => break,
            }
        }
        msgs
    }
}

fn ch(client: ClientId) -> u8 {
    u8::try_from(client).expect("channels are small numbers")
}
