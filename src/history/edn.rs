//! The history in EDN, the way Jepsen writes `history.edn`, so people who
//! use Jepsen and Elle can load a brokerlab run.
//!
//! Only client operations and faults become EDN operations; the broker's
//! own notes (enqueued, requeued, appended...) have no place in Jepsen's
//! model and stay in the JSONL export. The mapping follows Jepsen's Kafka
//! workload (`jepsen.tests.kafka`):
//!
//! | history | EDN |
//! |---|---|
//! | `invoke publish m5` | `{:type :invoke, :f :send, :value [[:send 0 5]]}` |
//! | `ok publish m5` (log, at offset 12) | `{:type :ok, :f :send, :value [[:send 0 [12 5]]]}` |
//! | `ok publish m5` (queue) | `{:type :ok, :f :send, :value [[:send 0 5]]}` |
//! | `fail` / `info publish` | `:type :fail` / `:info`, the invoke's value |
//! | a log consumer's `poll` and the records it returned | `:invoke :poll` `[[:poll]]`, then `:ok :poll` `[[:poll {0 [[12 5] ...]}]]` |
//! | a queue delivery to a consumer | `:invoke :poll`, then `:ok :poll` `[[:poll {0 [[nil 5]]}]]` (a queue has no offsets) |
//! | a crash or restart (client or broker) | `{:type :info, :f :kill / :start, :process :nemesis, :value "c1"}` |
//!
//! Keys are integers as in Jepsen: a log message's partition, a queue
//! message's queue (by index). Values are message ids (`m5` is `5`).
//!
//! A Jepsen process runs one operation at a time, but a brokerlab producer
//! has many publishes in flight. So each operation gets a process of its
//! client's own: the lowest one that is free, or a new number. A process
//! whose operation ended `:info` is never used again, as in Jepsen, where
//! an indeterminate operation retires its process. `:client` names the
//! brokerlab client behind each process. `:time` is the virtual time in
//! nanoseconds, and `:index` numbers the operations from 0.

use super::{Entry, Events, HistoryEvent, LogEntry, Names, OpType, Proc};
use crate::broker::{ClientId, MsgId, Note};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Nanoseconds per virtual millisecond (`:time` is in ns).
const NS_PER_MS: u64 = 1_000_000;

/// The whole history as EDN, one operation map per line.
pub(super) fn to_edn(events: Events<'_>, names: &Names) -> String {
    let mut w = EdnWriter {
        out: String::new(),
        index: 0,
        next_process: 0,
        free: BTreeMap::new(),
        sends: BTreeMap::new(),
        keys: message_keys(events),
        offsets: BTreeMap::new(),
        polls: BTreeMap::new(),
    };
    for ev in events {
        w.event(ev, names);
    }
    let open: Vec<ClientId> = w.polls.keys().copied().collect();
    for c in open {
        w.close_poll(c, names);
    }
    w.out
}

/// Where each message landed: its partition (log) or queue, the Jepsen key.
fn message_keys(events: Events<'_>) -> BTreeMap<MsgId, u64> {
    let mut keys = BTreeMap::new();
    for ev in events {
        match ev.entry {
            Entry::Log(LogEntry::Produced { msg, partition, .. }) => {
                keys.entry(msg).or_insert(u64::from(partition));
            }
            Entry::Broker(Note::Enqueued { msg, queue }) => {
                keys.entry(msg).or_insert(u64::from(queue));
            }
            _ => {}
        }
    }
    keys
}

/// A poll in progress: invoked, its records gathered until the consumer
/// does something else.
struct OpenPoll {
    /// When the last of its records arrived (the `:ok`'s time).
    time_ms: u64,
    /// The Jepsen process running it.
    process: u64,
    /// Key → (offset, message) read, in order.
    reads: BTreeMap<u64, Vec<(Option<u64>, MsgId)>>,
}

/// Writes EDN operations as the history is read (see the module doc).
struct EdnWriter {
    /// The EDN text so far.
    out: String,
    /// The next operation's `:index`.
    index: u64,
    /// The next Jepsen process number never used.
    next_process: u64,
    /// Each client's processes with no operation running.
    free: BTreeMap<ClientId, Vec<u64>>,
    /// Publishes in flight: message → (client, process).
    sends: BTreeMap<MsgId, (ClientId, u64)>,
    /// Each message's Jepsen key (see [`message_keys`]).
    keys: BTreeMap<MsgId, u64>,
    /// A log message's offset, from `Produced`, for its `ok send`.
    offsets: BTreeMap<MsgId, u64>,
    /// Each consumer's poll in progress.
    polls: BTreeMap<ClientId, OpenPoll>,
}

impl EdnWriter {
    /// A process of client `c` for a new operation: its lowest free one,
    /// or a new number.
    fn take_process(&mut self, c: ClientId) -> u64 {
        let free = self.free.entry(c).or_default();
        if let Some(p) = free.pop() {
            return p;
        }
        self.next_process += 1;
        self.next_process - 1
    }

    /// Process `p` of client `c` finished its operation (`ok` or `fail`)
    /// and may run the next one.
    fn release(&mut self, c: ClientId, p: u64) {
        let free = self.free.entry(c).or_default();
        free.push(p);
        // Highest first, so `pop` takes the lowest.
        free.sort_unstable_by(|a, b| b.cmp(a));
    }

    fn key(&self, msg: MsgId) -> String {
        self.keys
            .get(&msg)
            .map_or_else(|| "nil".to_string(), u64::to_string)
    }

    fn event(&mut self, ev: &HistoryEvent, names: &Names) {
        // A poll's records follow it in the history; anything else ends it,
        // so its `:ok` is written before any later operation.
        let reading = match (ev.process, ev.entry) {
            (Proc::Client(c), Entry::Log(LogEntry::Read { .. })) => Some(c),
            _ => None,
        };
        let open: Vec<ClientId> = self.polls.keys().copied().collect();
        for c in open.into_iter().filter(|c| Some(*c) != reading) {
            self.close_poll(c, names);
        }
        let Proc::Client(c) = ev.process else {
            return self.broker_event(ev, names);
        };
        match ev.entry {
            Entry::Publish { ty, msg, .. } => self.send(ev.time_ms, c, ty, msg, names),
            Entry::Log(LogEntry::Produced { msg, offset, .. }) => {
                self.offsets.insert(msg, offset);
            }
            Entry::Log(LogEntry::Poll { .. }) => self.open_poll(ev.time_ms, c, names),
            Entry::Log(LogEntry::Read {
                partition,
                offset,
                msg,
                ..
            }) => {
                let read = (u64::from(partition), Some(offset), msg);
                self.read(ev.time_ms, c, read, names);
            }
            Entry::Crash | Entry::Restart => self.nemesis(ev.time_ms, ev.entry, names.client(c)),
            _ => {}
        }
    }

    /// The broker's entries: a delivery is the receiving consumer's poll;
    /// a crash or restart is the nemesis'.
    fn broker_event(&mut self, ev: &HistoryEvent, names: &Names) {
        match ev.entry {
            Entry::Deliver { to, delivery } => {
                let read = (u64::from(delivery.queue), None, delivery.msg.id);
                self.read(ev.time_ms, to, read, names);
                self.close_poll(to, names);
            }
            Entry::Crash | Entry::Restart => {
                let node = match ev.process {
                    Proc::Broker(node) => node.name(),
                    Proc::Client(_) => unreachable!("a broker event"),
                };
                self.nemesis(ev.time_ms, ev.entry, node);
            }
            _ => {}
        }
    }

    fn send(&mut self, time_ms: u64, c: ClientId, ty: OpType, msg: MsgId, names: &Names) {
        let key = self.key(msg);
        let value = match (ty, self.offsets.get(&msg)) {
            (OpType::Ok, Some(offset)) => format!("[[:send {key} [{offset} {msg}]]]"),
            _ => format!("[[:send {key} {msg}]]"),
        };
        let process = match (ty, self.sends.remove(&msg)) {
            (OpType::Invoke, _) | (_, None) => self.take_process(c),
            (_, Some((_, p))) => p,
        };
        match ty {
            OpType::Invoke => {
                self.sends.insert(msg, (c, process));
            }
            OpType::Ok | OpType::Fail => self.release(c, process),
            // Indeterminate: Jepsen retires the process.
            OpType::Info => {}
        }
        let who = (process.to_string(), names.client(c));
        self.op(time_ms, type_keyword(ty), ":send", &value, who);
    }

    fn open_poll(&mut self, time_ms: u64, c: ClientId, names: &Names) {
        let process = self.take_process(c);
        let who = (process.to_string(), names.client(c));
        self.op(time_ms, ":invoke", ":poll", "[[:poll]]", who);
        self.polls.insert(
            c,
            OpenPoll {
                time_ms,
                process,
                reads: BTreeMap::new(),
            },
        );
    }

    /// One record consumer `c` got: (key, offset, message).
    fn read(&mut self, time_ms: u64, c: ClientId, read: (u64, Option<u64>, MsgId), names: &Names) {
        // A read always follows its poll (a queue delivery is both at once).
        if !self.polls.contains_key(&c) {
            self.open_poll(time_ms, c, names);
        }
        let poll = self.polls.get_mut(&c).expect("opened above");
        poll.time_ms = time_ms;
        let (key, offset, msg) = read;
        poll.reads.entry(key).or_default().push((offset, msg));
    }

    /// Completes consumer `c`'s poll in progress, if any, with what it read.
    fn close_poll(&mut self, c: ClientId, names: &Names) {
        let Some(poll) = self.polls.remove(&c) else {
            return;
        };
        let mut value = String::from("[[:poll {");
        for (i, (key, reads)) in poll.reads.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let _ = write!(value, "{sep}{key} [");
            for (j, (offset, msg)) in reads.iter().enumerate() {
                let sep = if j == 0 { "" } else { " " };
                let offset = offset.map_or_else(|| "nil".to_string(), |o| o.to_string());
                let _ = write!(value, "{sep}[{offset} {msg}]");
            }
            value.push(']');
        }
        value.push_str("}]]");
        self.release(c, poll.process);
        let who = (poll.process.to_string(), names.client(c));
        self.op(poll.time_ms, ":ok", ":poll", &value, who);
    }

    /// A crash (`:kill`) or restart (`:start`) of `who`, by the nemesis.
    fn nemesis(&mut self, time_ms: u64, entry: Entry, who: &str) {
        let f = if entry == Entry::Crash {
            ":kill"
        } else {
            ":start"
        };
        let value = edn_string(who);
        self.op(time_ms, ":info", f, &value, (":nemesis".to_string(), ""));
    }

    /// Writes one operation; `who` is the process and the client it runs
    /// for (empty for the nemesis).
    fn op(&mut self, time_ms: u64, ty: &str, f: &str, value: &str, who: (String, &str)) {
        let (process, client) = who;
        let _ = write!(
            self.out,
            "{{:index {}, :type {ty}, :f {f}, :value {value}, :process {process}, :time {}",
            self.index,
            time_ms.saturating_mul(NS_PER_MS)
        );
        if !client.is_empty() {
            let _ = write!(self.out, ", :client {}", edn_string(client));
        }
        self.out.push_str("}\n");
        self.index += 1;
    }
}

fn type_keyword(ty: OpType) -> &'static str {
    match ty {
        OpType::Invoke => ":invoke",
        OpType::Ok => ":ok",
        OpType::Fail => ":fail",
        OpType::Info => ":info",
    }
}

/// `s` as an EDN string literal: quoted, with `"` and `\` escaped.
fn edn_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
