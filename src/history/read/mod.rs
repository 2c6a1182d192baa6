//! Reading a history back from JSON Lines: the other direction of
//! [`super::History::to_jsonl`], for histories recorded anywhere (a
//! simulated run's export, or a real broker driven by an exported program).
//!
//! Every line is checked field by field. A line that is not JSON, lacks a
//! field, has a field of the wrong type or names an unknown event is a
//! [`ReadError`] naming the line number and the field; nothing panics.
//!
//! What is read back:
//!
//! - every line the checkers read becomes the same [`Entry`] the simulation
//!   recorded, with ids given in order of first appearance (names are kept);
//! - a message's producer and its place in the producer's order (which the
//!   out-of-order check needs) come from its `invoke publish` line;
//! - lines the checkers never read (`setting`, `net_drop`, the log broker's
//!   recovery and offset bookkeeping, ...) are checked for their common
//!   fields and skipped ([`SKIPPED`]);
//! - transactional histories (`txn_*`, `carried`, `acked_before`) are
//!   refused with a message saying so ([`UNSUPPORTED`]);
//! - one extra event only recorders write: `held`, the broker still holding
//!   `msg` at the end of the run (a real program drains its queues after the
//!   run and records what it found). It is not a history entry: it is the
//!   end-of-run snapshot the queue checker needs ([`Recorded::held`]).
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the reader, its error, field access and name interning |
//! | `entries.rs` | one line's `f` turned into an [`Entry`] |

mod entries;

use super::{Entry, History, Names, OpType, Proc};
use crate::broker::{ClientId, DeliveryTag, KeyId, MsgId, QueueId};
use crate::node::NodeId;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

/// Lines read at most: a bigger file is refused, not read into memory.
pub const LINES_MAX: usize = 20_000_000;

/// Event names that are read for their common fields and then skipped: no
/// checker reads them (see the module notes).
pub const SKIPPED: [&str; 18] = [
    "setting",
    "net_drop",
    "stale_ack",
    "channel_error",
    "consume_refused",
    "torn_write",
    "truncated",
    "writes_stopped",
    "recovered_offset",
    "producer_state_from_log",
    "recovered_producer",
    "session_expired",
    "committed",
    "commit_rejected",
    "unstable_offset_commit",
    "position",
    "duplicate_sequence",
    "sequence_rejected",
];

/// Event names of transactional or resumed log runs, which `brokerlab
/// check` does not read back yet (a queue's `carried`, with its `queue`
/// field, is read).
pub const UNSUPPORTED: [&str; 6] = [
    "txn_state",
    "txn_fenced",
    "txn_timeout",
    "txn_marker",
    "carried",
    "acked_before",
];

/// A history read back, with what the checkers need beside it.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    /// The events, in the file's order.
    pub history: History,
    /// The names the file used, by the ids given here.
    pub names: Names,
    /// The `held` lines: messages the broker still held at the end, one entry
    /// per line (a message in two queues counts twice). `None` when the file
    /// has no `held` line.
    pub held: Option<Vec<MsgId>>,
    /// True when any line is a log client's or log broker's: the history is
    /// judged by the log model.
    pub log: bool,
    /// Lines skipped because no checker reads them ([`SKIPPED`]).
    pub skipped: u64,
}

/// A line that could not be read: where, which field, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// 1-based line number in the file.
    pub line: usize,
    /// The field at fault (`line` when the line itself is not an object).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: field `{}`: {}",
            self.line, self.field, self.reason
        )
    }
}

impl std::error::Error for ReadError {}

/// Reads a whole JSONL history. Blank lines are allowed and skipped.
pub fn read_jsonl(text: &str) -> Result<Recorded, ReadError> {
    let mut reader = Reader::default();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if line > LINES_MAX {
            return Err(ReadError {
                line,
                field: "line".into(),
                reason: format!("more than {LINES_MAX} lines"),
            });
        }
        if raw.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(raw).map_err(|e| ReadError {
            line,
            field: "line".into(),
            reason: format!("not JSON: {e}"),
        })?;
        let Value::Object(obj) = value else {
            return Err(ReadError {
                line,
                field: "line".into(),
                reason: "expected a JSON object".into(),
            });
        };
        reader.line(&Fields { obj: &obj, line })?;
    }
    Ok(reader.out)
}

/// One line's fields, with typed access whose errors name the field.
pub(super) struct Fields<'a> {
    /// The line's JSON object.
    obj: &'a Map<String, Value>,
    /// Its 1-based number, for errors.
    line: usize,
}

impl<'a> Fields<'a> {
    /// An error about `field` on this line.
    fn err(&self, field: &str, reason: impl Into<String>) -> ReadError {
        ReadError {
            line: self.line,
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// A required string field.
    fn str(&self, name: &str) -> Result<&'a str, ReadError> {
        self.opt_str(name)?
            .ok_or_else(|| self.err(name, "missing (expected a string)"))
    }

    /// An optional string field.
    fn opt_str(&self, name: &str) -> Result<Option<&'a str>, ReadError> {
        match self.obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.err(name, format!("expected a string, found {other}"))),
        }
    }

    /// A required non-negative integer.
    fn u64(&self, name: &str) -> Result<u64, ReadError> {
        self.opt_u64(name)?
            .ok_or_else(|| self.err(name, "missing (expected a non-negative integer)"))
    }

    /// An optional non-negative integer.
    fn opt_u64(&self, name: &str) -> Result<Option<u64>, ReadError> {
        match self.obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                self.err(name, format!("expected a non-negative integer, found {v}"))
            }),
        }
    }

    /// A required integer that fits `T` (a `u16` partition, a `u32` count).
    fn small<T: TryFrom<u64>>(&self, name: &str) -> Result<T, ReadError> {
        let v = self.u64(name)?;
        T::try_from(v).map_err(|_| self.err(name, format!("{v} is out of range")))
    }

    /// An optional boolean.
    fn opt_bool(&self, name: &str) -> Result<Option<bool>, ReadError> {
        match self.obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.err(name, format!("expected true or false, found {other}"))),
        }
    }

    /// A message id written `m17`.
    fn msg(&self, name: &str) -> Result<MsgId, ReadError> {
        let s = self.str(name)?;
        s.strip_prefix('m')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                self.err(
                    name,
                    format!("expected a message id like `m17`, found `{s}`"),
                )
            })
    }

    /// A delivery tag written `incarnation.n` (`1.395`).
    fn tag(&self, name: &str) -> Result<DeliveryTag, ReadError> {
        let s = self.str(name)?;
        let parsed = s
            .split_once('.')
            .and_then(|(i, n)| Some((i.parse().ok()?, n.parse().ok()?)));
        let (incarnation, n) = parsed.ok_or_else(|| {
            self.err(
                name,
                format!("expected a delivery tag like `1.395`, found `{s}`"),
            )
        })?;
        Ok(DeliveryTag { incarnation, n })
    }

    /// The operation type: `invoke`, `ok`, `fail`, `info` (an `event` is
    /// refused here: the caller asked for an operation).
    fn op(&self) -> Result<OpType, ReadError> {
        match self.str("type")? {
            "invoke" => Ok(OpType::Invoke),
            "ok" => Ok(OpType::Ok),
            "fail" => Ok(OpType::Fail),
            "info" => Ok(OpType::Info),
            other => Err(self.err(
                "type",
                format!("expected invoke, ok, fail or info for this event, found `{other}`"),
            )),
        }
    }

    /// True if the line has a field `name` (any value but null).
    fn has(&self, name: &str) -> bool {
        self.obj.get(name).is_some_and(|v| !v.is_null())
    }
}

/// Names to ids, in order of first appearance, for one kind of name.
#[derive(Default)]
struct Interner {
    /// Name → id.
    ids: HashMap<String, u32>,
}

impl Interner {
    /// The id of `name`, adding it to `table` the first time.
    fn id(&mut self, name: &str, table: &mut Vec<String>) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(table.len()).expect("fewer names than lines");
        table.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }
}

/// The reader's state across lines.
#[derive(Default)]
pub(super) struct Reader {
    /// What has been read so far.
    out: Recorded,
    /// Client names (`process`, `consumer`) to [`ClientId`]s.
    clients: Interner,
    /// Keys to [`KeyId`]s.
    keys: Interner,
    /// Queues to [`QueueId`]s.
    queues: Interner,
    /// Topics to topic ids.
    topics: Interner,
    /// `group.id`s to group ids.
    groups: Interner,
    /// Each message's producer and its index in that producer's publishes
    /// (from the `invoke publish` line).
    producer_of: HashMap<MsgId, (ClientId, u64)>,
    /// Publishes seen per producer: the next message's index.
    published_by: HashMap<ClientId, u64>,
}

impl Reader {
    /// Reads one line into the history (or the snapshot, for `held`).
    fn line(&mut self, l: &Fields<'_>) -> Result<(), ReadError> {
        let time_ms = l.u64("time_ms")?;
        let process = self.process(l.str("process")?);
        let f = l.str("f")?;
        match l.str("type")? {
            "invoke" | "ok" | "fail" | "info" | "event" => {}
            other => {
                return Err(l.err(
                    "type",
                    format!("expected invoke, ok, fail, info or event, found `{other}`"),
                ))
            }
        }
        if SKIPPED.contains(&f) {
            self.out.skipped += 1;
            return Ok(());
        }
        // A queue's `carried` (a message a resume brought back) names its
        // queue and is read; a resumed log's names a partition.
        let queue_carried = f == "carried" && l.opt_str("queue")?.is_some();
        if UNSUPPORTED.contains(&f) && !queue_carried {
            return Err(l.err(
                "f",
                format!("`{f}` (transactions, resumed logs) is not read by brokerlab check yet"),
            ));
        }
        if f == "held" {
            let msg = l.msg("msg")?;
            self.out.held.get_or_insert_with(Vec::new).push(msg);
            return Ok(());
        }
        let Some(entry) = self.entry(f, process, l)? else {
            self.out.skipped += 1;
            return Ok(());
        };
        if let Some(last) = self.out.history.events().last() {
            if time_ms < last.time_ms {
                return Err(l.err(
                    "time_ms",
                    format!(
                        "{time_ms} goes back from the line before ({})",
                        last.time_ms
                    ),
                ));
            }
        }
        self.out.history.push(time_ms, process, entry);
        Ok(())
    }

    /// A `process` name: a broker node (`broker`, `b1`…) or a client.
    fn process(&mut self, name: &str) -> Proc {
        match NodeId::from_name(name) {
            Some(node) => Proc::Broker(node),
            None => Proc::Client(self.client(name)),
        }
    }

    /// The id of client `name`.
    fn client(&mut self, name: &str) -> ClientId {
        self.clients.id(name, &mut self.out.names.clients)
    }

    /// The id of key `name`.
    fn key(&mut self, name: &str) -> KeyId {
        self.keys.id(name, &mut self.out.names.keys)
    }

    /// The id of queue `name`.
    fn queue(&mut self, name: &str) -> QueueId {
        self.queues.id(name, &mut self.out.names.queues)
    }

    /// Records that `entry` is `msg`'s publish by `process`.
    fn note_publish(&mut self, process: Proc, entry: &Entry) {
        if let (Proc::Client(p), Entry::Publish { ty, msg, .. }) = (process, entry) {
            if *ty == OpType::Invoke && !self.producer_of.contains_key(msg) {
                let n = self.published_by.entry(p).or_insert(0);
                self.producer_of.insert(*msg, (p, *n));
                *n += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests;
