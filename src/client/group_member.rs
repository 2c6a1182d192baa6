//! One consumer-group member's side of Kafka's group protocol, shared by
//! the plain log consumer ([`super::log_consumer`]) and the
//! read-process-write transactional client ([`super::txn_producer`]).
//!
//! Both join a group (`JoinGroup`), keep their session alive with a
//! heartbeat timer, take an assignment only at their next `poll()` (Kafka
//! applies a rebalance inside `poll()`, after the records in hand are done),
//! and send one poll at a time in the generation they applied. What they
//! do with the records differs; this module holds only the membership.

use super::log_consumer::send;
use super::{ClientOutput, ClientTimer};
use crate::broker::log::{GroupId, LogRecord, LogRequest, PartitionId, PartitionSet, TopicId};
use crate::config::IsolationLevel;
use crate::config::{Assignor, LogConsumerSpec, OffsetReset};
use crate::history::{Entry, LogEntry};

/// A member's settings, as `JoinGroup` and the heartbeat need them.
#[derive(Clone, Copy, Debug)]
pub struct MemberConfig {
    /// The consumer group it joins.
    pub group: GroupId,
    /// The topic the group reads (a transactional client's input topic).
    pub topic: TopicId,
    /// `partition.assignment.strategy`: range or roundrobin.
    pub assignor: Assignor,
    /// `auto.offset.reset`: where to start without a committed offset.
    pub reset: OffsetReset,
    /// `session.timeout.ms`: silence after which the coordinator expels it.
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`: how often it tells the coordinator it lives.
    pub heartbeat_interval_ms: u64,
    /// `isolation.level` of the reads.
    pub isolation: IsolationLevel,
}

impl MemberConfig {
    /// The group-protocol settings of a log consumer's scenario entry (both
    /// kinds of log consumer), for the interned `group` and `topic`.
    pub fn from_spec(k: &LogConsumerSpec, group: GroupId, topic: TopicId) -> MemberConfig {
        MemberConfig {
            group,
            topic,
            assignor: k.assignment,
            reset: k.auto_offset_reset,
            session_timeout_ms: k.session_timeout_ms,
            heartbeat_interval_ms: k.heartbeat_interval_ms,
            isolation: k.isolation_level,
        }
    }
}

/// The member's view of its group.
#[derive(Clone, Debug)]
pub struct GroupMember {
    /// Its settings.
    pub cfg: MemberConfig,
    /// The generation of the applied assignment (0: none since the last
    /// join; no coordinator generation matches it, so a commit sent before
    /// the next assignment is refused, as Kafka's `resetGeneration` does).
    pub generation: u32,
    /// The applied assignment (0 = idle member).
    pub partitions: PartitionSet,
    /// An assignment that arrived and waits for the next `poll()`.
    pub pending: Option<(u32, PartitionSet)>,
    /// The poll waiting for its response.
    pub polling: Option<u64>,
    /// The next poll's number: replies of older polls are told apart by it.
    next_poll: u64,
}

impl GroupMember {
    /// A member that has not joined yet.
    pub fn new(cfg: MemberConfig) -> GroupMember {
        assert!(cfg.heartbeat_interval_ms > 0, "validated");
        GroupMember {
            cfg,
            generation: 0,
            partitions: 0,
            pending: None,
            polling: None,
            next_poll: 0,
        }
    }

    /// `JoinGroup`, forgetting the assignment (applied or on its way), the
    /// generation and the poll in flight.
    pub fn join(&mut self, out: &mut Vec<ClientOutput>) {
        self.forget();
        let group = self.cfg.group;
        out.push(ClientOutput::Record(Entry::Log(LogEntry::Join { group })));
        out.push(send(LogRequest::JoinGroup {
            group,
            topic: self.cfg.topic,
            assignor: self.cfg.assignor,
            session_timeout_ms: self.cfg.session_timeout_ms,
            reset: self.cfg.reset,
            isolation: self.cfg.isolation,
        }));
    }

    /// Out of the group as far as this member knows (a crash, `close()`,
    /// a join about to be sent). Poll ids keep counting.
    pub fn forget(&mut self) {
        self.generation = 0;
        self.partitions = 0;
        self.pending = None;
        self.polling = None;
    }

    /// One heartbeat, and the timer for the next.
    pub fn heartbeat(&self, now_ms: u64, out: &mut Vec<ClientOutput>) {
        out.push(send(LogRequest::Heartbeat {
            group: self.cfg.group,
        }));
        out.push(ClientOutput::Timer {
            at_ms: now_ms + self.cfg.heartbeat_interval_ms,
            timer: ClientTimer::Heartbeat,
        });
    }

    /// Whether `partition` is in its applied assignment.
    pub fn owns(&self, partition: PartitionId) -> bool {
        self.partitions & (1 << partition) != 0
    }

    /// Applies the assignment waiting for this `poll()`, if any; says
    /// whether there was one.
    pub fn apply_assignment(&mut self, out: &mut Vec<ClientOutput>) -> bool {
        let Some((generation, partitions)) = self.pending.take() else {
            return false;
        };
        self.generation = generation;
        self.partitions = partitions;
        out.push(ClientOutput::Record(Entry::Log(LogEntry::Assigned {
            generation,
            partitions,
        })));
        true
    }

    /// Sends the next poll of the applied generation.
    pub fn send_poll(&mut self, max_records: u32, out: &mut Vec<ClientOutput>) {
        assert!(self.polling.is_none(), "one poll at a time");
        let poll = self.next_poll;
        self.next_poll += 1;
        self.polling = Some(poll);
        out.push(ClientOutput::Record(Entry::Log(LogEntry::Poll { poll })));
        out.push(send(LogRequest::Poll {
            group: self.cfg.group,
            generation: self.generation,
            poll,
            max_records,
        }));
    }

    /// Records one record `poll` returned.
    pub fn record_read(poll: u64, r: &LogRecord, out: &mut Vec<ClientOutput>) {
        out.push(ClientOutput::Record(Entry::Log(LogEntry::Read {
            poll,
            partition: r.partition,
            offset: r.offset,
            msg: r.msg.id,
            key: r.msg.key,
        })));
    }
}
