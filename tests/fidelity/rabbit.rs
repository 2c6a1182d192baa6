//! Runs a plan on a real RabbitMQ through `amqprs`, one connection per channel.
//!
//! Pushes arrive asynchronously, so after every step the runner waits until
//! no delivery, channel close or confirm has arrived for [`QUIET_MS`]. Queue
//! names get a per-experiment prefix on the server (and lose it again in the
//! events), and every run deletes what an earlier run left behind first.

use super::plan::{Event, Experiment, Kind, Overflow, Queue, Seen, Step, Table, To, V};
use amqprs::callbacks::{ChannelCallback, DefaultConnectionCallback};
use amqprs::channel::{
    BasicAckArguments, BasicCancelArguments, BasicConsumeArguments, BasicGetArguments,
    BasicNackArguments, BasicPublishArguments, BasicQosArguments, BasicRejectArguments, Channel,
    ConfirmSelectArguments, ConsumerMessage, ExchangeDeclareArguments, ExchangeDeleteArguments,
    QueueBindArguments, QueueDeclareArguments, QueueDeleteArguments,
};
use amqprs::connection::{Connection, OpenConnectionArguments};
use amqprs::{Ack, BasicProperties, Cancel, CloseChannel, FieldTable, FieldValue, Nack, Return};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// How long nothing must arrive before a step counts as finished.
const QUIET_MS: u64 = 40;
/// A confirm or a `basic.get` answer later than this is a broken broker.
const ANSWER_MS: u64 = 5_000;

/// Where the broker is: host, port, user, password (from `amqp://u:p@h:port/...`).
#[derive(Clone, Debug)]
pub struct Address {
    host: String,
    port: u16,
    user: String,
    password: String,
}

impl Address {
    /// Parses `amqp://user:password@host:port[/vhost]`; only the default vhost is used.
    pub fn parse(url: &str) -> Result<Address, String> {
        let rest = url
            .strip_prefix("amqp://")
            .ok_or_else(|| format!("BROKERLAB_RABBITMQ={url:?} does not start with amqp://"))?;
        let authority = rest.split('/').next().unwrap_or(rest);
        let (creds, hostport) = authority
            .split_once('@')
            .ok_or_else(|| format!("BROKERLAB_RABBITMQ={url:?} has no user:password@"))?;
        let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
        let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5672"));
        let port = port
            .parse()
            .map_err(|_| format!("BROKERLAB_RABBITMQ={url:?}: port {port:?} is not a number"))?;
        Ok(Address {
            host: host.to_string(),
            port,
            user: user.to_string(),
            password: password.to_string(),
        })
    }
}

/// What a channel's callback reports: a close by the broker, or a confirm.
enum Signal {
    Closed(u16),
    Confirm { tag: u64, multiple: bool, ok: bool },
}

struct Watch(UnboundedSender<Signal>);

#[async_trait::async_trait]
impl ChannelCallback for Watch {
    async fn close(
        &mut self,
        _: &Channel,
        close: CloseChannel,
    ) -> Result<(), amqprs::error::Error> {
        let _ = self.0.send(Signal::Closed(close.reply_code()));
        Ok(())
    }
    async fn cancel(&mut self, _: &Channel, _: Cancel) -> Result<(), amqprs::error::Error> {
        Ok(())
    }
    async fn flow(&mut self, _: &Channel, _: bool) -> Result<bool, amqprs::error::Error> {
        Ok(true)
    }
    async fn publish_ack(&mut self, _: &Channel, ack: Ack) {
        let (tag, multiple) = (ack.delivery_tag(), ack.mutiple());
        let _ = self.0.send(Signal::Confirm {
            tag,
            multiple,
            ok: true,
        });
    }
    async fn publish_nack(&mut self, _: &Channel, nack: Nack) {
        let (tag, multiple) = (nack.delivery_tag(), nack.multiple());
        let _ = self.0.send(Signal::Confirm {
            tag,
            multiple,
            ok: false,
        });
    }
    async fn publish_return(&mut self, _: &Channel, _: Return, _: BasicProperties, _: Vec<u8>) {}
}

/// One channel on its own connection.
struct Chan {
    conn: Connection,
    channel: Channel,
    signals: UnboundedReceiver<Signal>,
    pushes: Option<UnboundedReceiver<ConsumerMessage>>,
    consumer_tag: Option<String>,
    /// The delivery tag this channel last saw for each body.
    tags: HashMap<String, u64>,
}

/// A plan's run on the real broker.
pub struct Run<'a> {
    addr: &'a Address,
    prefix: String,
    chans: BTreeMap<u8, Chan>,
    /// The confirm-mode publisher and how many it has published.
    publisher: Option<(Chan, u64)>,
    events: Vec<Event>,
}

/// Runs `exp` on the broker at `addr`; `restart` restarts the broker.
pub async fn run(addr: &Address, exp: &Experiment, restart: &dyn Fn()) -> Vec<Event> {
    let mut run = Run {
        addr,
        prefix: format!("fidelity.{}.", exp.name),
        chans: BTreeMap::new(),
        publisher: None,
        events: Vec::new(),
    };
    run.clean(exp).await;
    for step in exp.steps {
        run.step(step, restart).await;
        run.settle().await;
    }
    tokio::time::sleep(Duration::from_millis(QUIET_MS * 2)).await;
    run.settle().await;
    for q in exp.queues() {
        let left = run.left(q.name).await;
        run.events.push(Event::Left {
            queue: q.name.to_string(),
            msgs: left,
        });
    }
    run.close_all().await;
    run.events
}

impl Run<'_> {
    fn name(&self, short: &str) -> String {
        format!("{}{short}", self.prefix)
    }

    async fn open(&self) -> Chan {
        let args = OpenConnectionArguments::new(
            &self.addr.host,
            self.addr.port,
            &self.addr.user,
            &self.addr.password,
        );
        let conn = Connection::open(&args)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to RabbitMQ at {:?}: {e}", self.addr));
        conn.register_callback(DefaultConnectionCallback)
            .await
            .expect("connection callback");
        let channel = conn.open_channel(None).await.expect("channel.open");
        let (tx, signals) = unbounded_channel();
        channel
            .register_callback(Watch(tx))
            .await
            .expect("callback");
        Chan {
            conn,
            channel,
            signals,
            pushes: None,
            consumer_tag: None,
            tags: HashMap::new(),
        }
    }

    async fn chan(&mut self, ch: u8) -> &mut Chan {
        if !self.chans.contains_key(&ch) {
            let c = self.open().await;
            self.chans.insert(ch, c);
        }
        self.chans.get_mut(&ch).expect("opened above")
    }

    /// Deletes the queues and exchanges an earlier run of `exp` left behind.
    async fn clean(&mut self, exp: &Experiment) {
        let c = self.open().await;
        for q in exp.queues() {
            let args = QueueDeleteArguments::new(&self.name(q.name));
            c.channel.queue_delete(args).await.expect("queue.delete");
        }
        for step in exp.steps {
            if let Step::Topic(x, _) | Step::HeadersExchange(x, _) = step {
                let args = ExchangeDeleteArguments::new(&self.name(x));
                c.channel
                    .exchange_delete(args)
                    .await
                    .expect("exchange.delete");
            }
        }
        let _ = c.conn.close().await;
    }

    async fn step(&mut self, step: &Step, restart: &dyn Fn()) {
        match *step {
            Step::Declare(q) => self.declare(q).await,
            Step::Topic(x, bindings) => self.topic(x, bindings).await,
            Step::HeadersExchange(x, bindings) => self.headers_exchange(x, bindings).await,
            Step::Publish {
                to,
                body,
                persistent,
                expiration_ms,
            } => self.publish(to, body, persistent, expiration_ms).await,
            Step::Consume {
                ch,
                queue,
                prefetch,
                auto_ack,
            } => self.consume(ch, queue, prefetch, auto_ack).await,
            Step::Get {
                ch,
                queue,
                auto_ack,
            } => self.get(ch, queue, auto_ack).await,
            Step::Ack { .. } | Step::Nack { .. } | Step::Reject { .. } => {
                self.settle_one(step).await
            }
            Step::Cancel { ch } => {
                let c = self.chan(ch).await;
                let tag = c.consumer_tag.take().expect("plan: cancel after consume");
                let args = BasicCancelArguments::new(&tag);
                c.channel.basic_cancel(args).await.expect("basic.cancel");
            }
            Step::Close { ch } => {
                let c = self.chans.remove(&ch).expect("plan: close an open channel");
                let _ = c.channel.close().await;
                let _ = c.conn.close().await;
            }
            Step::Restart => {
                self.close_all().await;
                restart();
            }
            Step::Sleep { ms } => tokio::time::sleep(Duration::from_millis(ms.into())).await,
        }
    }

    async fn declare(&mut self, q: Queue) {
        let mut args = FieldTable::new();
        let mut put = |k: &str, v: FieldValue| {
            args.insert(k.try_into().expect("short name"), v);
        };
        if q.kind == Kind::Quorum {
            put("x-queue-type", "quorum".into());
        }
        if let Some(n) = q.delivery_limit {
            put("x-delivery-limit", FieldValue::l(n.into()));
        }
        if let Some(n) = q.max_length {
            put("x-max-length", FieldValue::l(n.into()));
        }
        if q.overflow == Some(Overflow::RejectPublish) {
            put("x-overflow", "reject-publish".into());
        }
        if let Some(ms) = q.message_ttl_ms {
            put("x-message-ttl", FieldValue::l(ms.into()));
        }
        if let Some(dlq) = q.dead_letter_queue {
            put("x-dead-letter-exchange", "".into());
            put("x-dead-letter-routing-key", self.name(dlq).as_str().into());
        }
        let mut declare = QueueDeclareArguments::new(&self.name(q.name));
        declare.durable(q.durable).arguments(args);
        let c = self.chan(0).await;
        c.channel
            .queue_declare(declare)
            .await
            .expect("queue.declare");
    }

    async fn topic(&mut self, x: &str, bindings: &[(&str, &str)]) {
        let binds = bindings
            .iter()
            .map(|(q, key)| (*q, *key, &[][..]))
            .collect();
        self.exchange(x, "topic", binds).await;
    }

    async fn headers_exchange(&mut self, x: &str, bindings: &[(&str, Table)]) {
        let binds = bindings.iter().map(|(q, args)| (*q, "", *args)).collect();
        self.exchange(x, "headers", binds).await;
    }

    /// `exchange.declare` of `kind`, then one `queue.bind` per (queue, binding key, arguments).
    async fn exchange(&mut self, x: &str, kind: &str, bindings: Vec<(&str, &str, Table)>) {
        let name = self.name(x);
        let binds: Vec<(String, &str, Table)> = bindings
            .into_iter()
            .map(|(q, key, table)| (self.name(q), key, table))
            .collect();
        let c = self.chan(0).await;
        let args = ExchangeDeclareArguments::new(&name, kind);
        c.channel
            .exchange_declare(args)
            .await
            .expect("exchange.declare");
        for (q, key, table) in binds {
            let mut args = QueueBindArguments::new(&q, &name, key);
            args.arguments(field_table(table));
            c.channel.queue_bind(args).await.expect("queue.bind");
        }
    }

    async fn publish(&mut self, to: To, body: &str, persistent: bool, expiration_ms: Option<u32>) {
        let (exchange, key, headers) = match to {
            To::Queue(q) => (String::new(), self.name(q), None),
            To::Topic(x, key) => (self.name(x), key.to_string(), None),
            To::Headers(x, headers) => (self.name(x), String::new(), Some(headers)),
        };
        if self.publisher.is_none() {
            let c = self.open().await;
            let args = ConfirmSelectArguments::new(false);
            c.channel
                .confirm_select(args)
                .await
                .expect("confirm.select");
            self.publisher = Some((c, 0));
        }
        let (c, published) = self.publisher.as_mut().expect("opened above");
        let mut props = BasicProperties::default();
        props.with_persistence(persistent);
        if let Some(ms) = expiration_ms {
            props.with_expiration(&ms.to_string());
        }
        if let Some(headers) = headers {
            props.with_headers(field_table(headers));
        }
        let args = BasicPublishArguments::new(&exchange, &key);
        c.channel
            .basic_publish(props, body.as_bytes().to_vec(), args)
            .await
            .expect("basic.publish");
        *published += 1;
        let ok = wait_confirm(&mut c.signals, *published).await;
        self.events.push(Event::Confirm {
            body: body.to_string(),
            ok,
        });
    }

    async fn consume(&mut self, ch: u8, queue: &str, prefetch: u16, auto_ack: bool) {
        let name = self.name(queue);
        let c = self.chan(ch).await;
        let qos = BasicQosArguments::new(0, prefetch, false);
        c.channel.basic_qos(qos).await.expect("basic.qos");
        let mut args = BasicConsumeArguments::new(&name, "");
        args.manual_ack(!auto_ack);
        let (tag, rx) = c
            .channel
            .basic_consume_rx(args)
            .await
            .expect("basic.consume");
        c.consumer_tag = Some(tag);
        c.pushes = Some(rx);
    }

    async fn get(&mut self, ch: u8, queue: &str, auto_ack: bool) {
        let name = self.name(queue);
        let prefix = self.prefix.clone();
        let c = self.chan(ch).await;
        let mut args = BasicGetArguments::new(&name);
        args.no_ack(auto_ack);
        let answer =
            tokio::time::timeout(Duration::from_millis(ANSWER_MS), c.channel.basic_get(args))
                .await
                .expect("basic.get answered")
                .expect("basic.get");
        let msg = answer.map(|(ok, props, body)| {
            let seen = seen(&prefix, ok.redelivered(), &props, &body);
            c.tags.insert(seen.body.clone(), ok.delivery_tag());
            seen
        });
        self.events.push(Event::Got { ch, msg });
    }

    /// `basic.ack` / `basic.nack` / `basic.reject` of a body the channel holds.
    async fn settle_one(&mut self, step: &Step) {
        let (Step::Ack { ch, body, .. }
        | Step::Nack { ch, body, .. }
        | Step::Reject { ch, body, .. }) = *step
        else {
            unreachable!("called for settling steps only")
        };
        let c = self.chan(ch).await;
        let tag = *c
            .tags
            .get(body)
            .unwrap_or_else(|| panic!("plan: c{ch} never saw {body}"));
        let sent = match *step {
            Step::Ack { multiple, .. } => {
                c.channel
                    .basic_ack(BasicAckArguments::new(tag, multiple))
                    .await
            }
            Step::Nack {
                multiple, requeue, ..
            } => {
                let args = BasicNackArguments::new(tag, multiple, requeue);
                c.channel.basic_nack(args).await
            }
            Step::Reject { requeue, .. } => {
                c.channel
                    .basic_reject(BasicRejectArguments::new(tag, requeue))
                    .await
            }
            _ => unreachable!(),
        };
        sent.expect("ack/nack/reject sent");
    }

    /// Collects pushes and closes until nothing arrives for [`QUIET_MS`].
    async fn settle(&mut self) {
        let prefix = self.prefix.clone();
        let mut per_channel: BTreeMap<u8, Vec<Event>> = BTreeMap::new();
        loop {
            tokio::time::sleep(Duration::from_millis(QUIET_MS)).await;
            let mut arrived = false;
            let mut closed = Vec::new();
            for (&ch, c) in &mut self.chans {
                let out = per_channel.entry(ch).or_default();
                while let Some(Ok(m)) = c.pushes.as_mut().map(UnboundedReceiver::try_recv) {
                    arrived = true;
                    let (deliver, props, body) = (
                        m.deliver.expect("deliver"),
                        m.basic_properties.expect("properties"),
                        m.content.expect("body"),
                    );
                    let msg = seen(&prefix, deliver.redelivered(), &props, &body);
                    c.tags.insert(msg.body.clone(), deliver.delivery_tag());
                    out.push(Event::Deliver { ch, msg });
                }
                while let Ok(signal) = c.signals.try_recv() {
                    arrived = true;
                    if let Signal::Closed(code) = signal {
                        out.push(Event::ChannelClosed { ch, code });
                        closed.push(ch);
                    }
                }
            }
            for ch in closed {
                self.chans.remove(&ch);
            }
            if !arrived {
                break;
            }
        }
        self.events.extend(per_channel.into_values().flatten());
    }

    /// The queue's messages in order, taken with auto-ack `basic.get`s; `None` if it is gone.
    async fn left(&mut self, queue: &str) -> Option<Vec<Seen>> {
        let c = self.open().await;
        let mut passive = QueueDeclareArguments::new(&self.name(queue));
        passive.passive(true);
        if c.channel.queue_declare(passive).await.is_err() {
            let _ = c.conn.close().await;
            return None;
        }
        let mut msgs = Vec::new();
        for _ in 0..100 {
            let mut args = BasicGetArguments::new(&self.name(queue));
            args.no_ack(true);
            match c.channel.basic_get(args).await.expect("basic.get") {
                Some((ok, props, body)) => {
                    msgs.push(seen(&self.prefix, ok.redelivered(), &props, &body))
                }
                None => break,
            }
        }
        let _ = c.conn.close().await;
        Some(msgs)
    }

    async fn close_all(&mut self) {
        let chans = std::mem::take(&mut self.chans);
        let publisher = self.publisher.take().map(|(c, _)| c);
        for c in chans.into_values().chain(publisher) {
            let _ = c.conn.close().await;
        }
    }
}

/// A field table with each value in its AMQP type, as a client library sends one.
fn field_table(table: Table) -> FieldTable {
    let mut t = FieldTable::new();
    for (k, v) in table {
        let v = match *v {
            V::S(text) => text.into(),
            V::L(n) => FieldValue::l(n),
            V::I(n) => FieldValue::I(n),
            V::B(b) => b.into(),
        };
        t.insert((*k).try_into().expect("short name"), v);
    }
    t
}

/// Waits for the confirm of publish number `n` (confirms may be `multiple`).
async fn wait_confirm(signals: &mut UnboundedReceiver<Signal>, n: u64) -> bool {
    loop {
        let signal = tokio::time::timeout(Duration::from_millis(ANSWER_MS), signals.recv())
            .await
            .unwrap_or_else(|_| panic!("no publisher confirm for publish {n}"))
            .expect("publisher channel open");
        match signal {
            Signal::Confirm { tag, multiple, ok } if tag == n || (multiple && tag >= n) => {
                return ok
            }
            Signal::Confirm { .. } => {}
            Signal::Closed(code) => panic!("the publisher's channel closed with {code}"),
        }
    }
}

/// A message as the events record it: body, flag, `x-delivery-count`, first `x-death`.
fn seen(prefix: &str, redelivered: bool, props: &BasicProperties, body: &[u8]) -> Seen {
    let headers = props.headers();
    let header = |k: &str| -> Option<&FieldValue> {
        let key = k.try_into().ok()?;
        headers.and_then(|h| h.get(&key))
    };
    let delivery_count = header("x-delivery-count").map(|v| match v {
        FieldValue::l(n) => u32::try_from(*n).expect("count fits"),
        FieldValue::I(n) => u32::try_from(*n).expect("count fits"),
        FieldValue::i(n) => *n,
        other => panic!("x-delivery-count of an unknown type: {other:?}"),
    });
    let death = header("x-death").and_then(|v| first_death(prefix, v));
    Seen {
        body: String::from_utf8_lossy(body).into_owned(),
        redelivered,
        delivery_count,
        death,
    }
}

fn first_death(prefix: &str, v: &FieldValue) -> Option<(String, String)> {
    let FieldValue::A(list) = v else { return None };
    let list: Vec<FieldValue> = list.clone().into();
    let FieldValue::F(first) = list.first()? else {
        return None;
    };
    let text = |k: &str| -> String {
        let key = k.try_into().expect("short name");
        match first.get(&key) {
            Some(FieldValue::S(s)) => s.as_ref().to_string(),
            _ => String::new(),
        }
    };
    let queue = text("queue");
    let queue = queue.strip_prefix(prefix).unwrap_or(&queue).to_string();
    Some((text("reason"), queue))
}
