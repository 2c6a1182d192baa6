//! Drives a log broker request by request (no world, no network), so a test
//! can put a crash or a late request exactly where it wants. Shared by the
//! native suites that test the broker's protocol (`txn_behaviours`,
//! `commit_fencing`).
// Each suite uses a part of the driver.
#![allow(dead_code)]

use brokerlab::broker::log::{LogBroker, LogNote, LogRecord, LogReply, LogRequest};
use brokerlab::broker::{ClientId, Note, Output};
use brokerlab::config::IsolationLevel;
use brokerlab::config::{Assignor, LogBrokerSpec, OffsetReset, TopicSpec};
use brokerlab::storage::{FlushId, Limits, MemoryStore, Storage};

pub struct Driver {
    pub broker: LogBroker,
    pub store: MemoryStore,
    pub now_ms: u64,
    /// Flushes begun and not completed yet, in order.
    pub flushes: Vec<(FlushId, u64)>,
    /// Every reply sent so far (tests clear it when they want only new ones).
    pub replies: Vec<(ClientId, LogReply)>,
    /// Every broker note so far.
    pub notes: Vec<LogNote>,
}

/// A topic spec without retention.
pub fn topic(name: &str, partitions: u32) -> TopicSpec {
    TopicSpec {
        name: name.into(),
        partitions,
        retention_ms: None,
        retention_records: None,
    }
}

impl Driver {
    pub fn new(topics: Vec<TopicSpec>, groups: usize, fsync_ms: u64) -> Driver {
        let spec = LogBrokerSpec {
            topics,
            fsync_latency_ms: fsync_ms,
            cluster: None,
        };
        Driver {
            broker: LogBroker::from_spec(&spec, Vec::new(), groups),
            store: MemoryStore::new(Limits::default(), fsync_ms),
            now_ms: 0,
            flushes: Vec::new(),
            replies: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn take(&mut self, out: Vec<Output>) {
        for o in out {
            match o {
                Output::FlushAt { id, at_ms } => self.flushes.push((id, at_ms)),
                Output::Log { to, reply } => self.replies.push((to, reply)),
                Output::Note(Note::Log(n)) => self.notes.push(n),
                _ => {}
            }
        }
    }

    pub fn send(&mut self, from: ClientId, req: LogRequest) {
        let mut out = Vec::new();
        self.broker
            .handle(self.now_ms, from, req, &mut self.store, &mut out);
        self.take(out);
    }

    /// `JoinGroup` of `member` to `group` reading `topic` from the earliest
    /// offset, with a session that never expires in a test.
    pub fn join(&mut self, member: ClientId, group: u16, topic: u16, isolation: IsolationLevel) {
        let req = LogRequest::JoinGroup {
            group,
            topic,
            assignor: Assignor::Range,
            session_timeout_ms: 1_000_000,
            reset: OffsetReset::Earliest,
            isolation,
        };
        self.send(member, req);
    }

    /// A poll of `member` in `generation`; returns the records it got.
    pub fn poll(&mut self, member: ClientId, group: u16, generation: u32) -> Vec<LogRecord> {
        self.replies.clear();
        let req = LogRequest::Poll {
            group,
            generation,
            poll: self.now_ms,
            max_records: 100,
        };
        self.send(member, req);
        self.records_for(member)
    }

    /// The records among the replies so far that went to `member`.
    pub fn records_for(&self, member: ClientId) -> Vec<LogRecord> {
        let records = self.replies.iter().filter(|(c, _)| *c == member);
        records
            .filter_map(|(_, r)| match r {
                LogReply::Record { record, .. } => Some(*record),
                _ => None,
            })
            .collect()
    }

    /// Completes the next pending flush (one group commit).
    pub fn flush_one(&mut self) -> bool {
        if self.flushes.is_empty() {
            return false;
        }
        let (id, at_ms) = self.flushes.remove(0);
        self.now_ms = self.now_ms.max(at_ms);
        let state = self.store.flush_state(id, self.now_ms);
        let mut out = Vec::new();
        self.broker
            .flush_done(self.now_ms, id, state, &mut self.store, &mut out);
        self.take(out);
        true
    }

    /// Completes every flush, including those the completions start.
    pub fn settle(&mut self) {
        while self.flush_one() {}
    }

    /// The broker dies (what was not durable is gone) and comes back 1 ms later.
    pub fn crash_and_restart(&mut self) {
        let mut out = Vec::new();
        let tear = brokerlab::storage::Tear::None;
        self.broker
            .crash(self.now_ms, tear, &mut self.store, &mut out);
        self.flushes.clear();
        self.now_ms += 1;
        let mut out = Vec::new();
        self.broker.restart(self.now_ms, &mut self.store, &mut out);
        self.take(out);
    }

    pub fn tick(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        let mut out = Vec::new();
        self.broker.tick(now_ms, &mut self.store, &mut out);
        self.take(out);
    }
}
