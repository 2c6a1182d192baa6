//! Where each member reads next, and polls that wait at the broker.
//!
//! - **Fetch positions.** The coordinator keeps each member's next fetch
//!   offset per partition (Kafka's fetch sessions). A member's first poll of
//!   a new generation starts each partition at the group's committed
//!   offset, or per `auto.offset.reset` when there is none.
//! - **Long polling.** A poll with nothing to read is *parked* at the broker
//!   until a record arrives in one of the member's partitions or the group
//!   rebalances; then it is answered.
//! - **Fairness.** A poll visits the member's partitions round-robin from a
//!   cursor, so one busy partition cannot starve the others.
//! - **`read_committed`** reads only below the last stable offset and skips
//!   aborted records; nobody sees a commit/abort marker.
//! - **KIP-447.** A partition whose offsets are in a transaction that has
//!   not ended gets no position until it ends
//!   ([`LogNote::UnstableOffsetCommit`]): the transaction may still move them.

use super::assignor::partitions_of;
use super::{GroupCoordinator, Member};
use crate::broker::log::notes::{note, LogNote};
use crate::broker::log::partition::{PartitionLog, Partitions};
use crate::broker::log::protocol::{
    poll_end, GroupId, LogRecord, LogReply, PartitionId, PartitionSet, Seek, TopicId,
};
use crate::broker::{ClientId, Output};
use crate::config::OffsetReset;
use std::collections::BTreeMap;

impl GroupCoordinator {
    /// `poll()`: a current member's poll is parked, then served if anything
    /// is readable. `pending`: the group's partitions with offsets in an
    /// open transaction.
    pub(super) fn poll(
        &mut self,
        (group, from, generation): (GroupId, ClientId, u32),
        (poll, max_records): (u64, u32),
        partitions: &Partitions,
        pending: PartitionSet,
        out: &mut Vec<Output>,
    ) {
        let Some(g) = &self.groups[group as usize] else {
            return out.push(poll_end(from, poll));
        };
        if !g.members.contains_key(&from) || g.generation != generation {
            // Not a member, or a poll from before the last rebalance: answer
            // empty so the consumer picks up its new assignment.
            return out.push(poll_end(from, poll));
        }
        self.resolve_positions(group, from, partitions, pending, out);
        let m = self.member_mut(group, from).expect("checked above");
        m.parked = Some((poll, max_records));
        self.serve(group, from, partitions, out);
    }

    /// First poll of a generation: every owned partition starts at the
    /// committed offset, or per `auto.offset.reset`; one with offsets in an
    /// open transaction waits for it (see [`LogNote::UnstableOffsetCommit`]).
    fn resolve_positions(
        &mut self,
        group: GroupId,
        member: ClientId,
        partitions: &Partitions,
        pending: PartitionSet,
        out: &mut Vec<Output>,
    ) {
        let g = self.groups[group as usize].as_mut().expect("a group");
        let m = g.members.get_mut(&member).expect("a member");
        if m.positions_generation == Some(g.generation) {
            return;
        }
        m.positions_generation = Some(g.generation);
        m.positions.clear();
        m.unstable = m.partitions & pending;
        for partition in partitions_of(m.unstable) {
            out.push(note(LogNote::UnstableOffsetCommit {
                group,
                member,
                partition,
            }));
        }
        let stable = m.partitions & !pending;
        let logs = (partitions, g.topic);
        start_positions((group, member), m, stable, &g.committed, logs, out);
    }

    /// A transaction with offsets of `group` ended: members waiting on an
    /// unstable partition whose offsets are now final get their position
    /// and are served.
    pub(in crate::broker::log) fn resolve_unstable(
        &mut self,
        group: GroupId,
        partitions: &Partitions,
        pending: PartitionSet,
        out: &mut Vec<Output>,
    ) {
        let Some(g) = self.groups.get_mut(group as usize).and_then(|g| g.as_mut()) else {
            return;
        };
        let mut woken = Vec::new();
        for (&member, m) in g.members.iter_mut() {
            let stable = m.unstable & !pending;
            if stable == 0 {
                continue;
            }
            m.unstable &= !stable;
            let logs = (partitions, g.topic);
            start_positions((group, member), m, stable, &g.committed, logs, out);
            woken.push(member);
        }
        for member in woken {
            self.serve(group, member, partitions, out);
        }
    }

    /// Every group member parked in a poll that owns this partition gets served.
    pub(in crate::broker::log) fn serve_parked(
        &mut self,
        (topic, partition): (TopicId, PartitionId),
        partitions: &Partitions,
        out: &mut Vec<Output>,
    ) {
        for gi in 0..self.groups.len() {
            let owner = self.groups[gi].as_ref().and_then(|g| {
                (g.topic == topic)
                    .then(|| g.owner(partition))
                    .flatten()
                    .filter(|(_, m)| m.parked.is_some())
                    .map(|(c, _)| *c)
            });
            if let Some(member) = owner {
                self.serve(gi as GroupId, member, partitions, out);
            }
        }
    }

    /// Answers a parked poll if any owned partition has records past the
    /// member's position. Partitions are visited round-robin from the
    /// member's cursor so one busy partition cannot starve the others.
    fn serve(
        &mut self,
        group: GroupId,
        member: ClientId,
        partitions: &Partitions,
        out: &mut Vec<Output>,
    ) {
        let g = self.groups[group as usize].as_mut().expect("a group");
        let topic = g.topic;
        let m = g.members.get_mut(&member).expect("a member");
        let Some((poll, max_records)) = m.parked else {
            return;
        };
        let owned: Vec<PartitionId> = partitions_of(m.partitions & !m.unstable).collect();
        if owned.is_empty() {
            return;
        }
        let mut sent = 0u32;
        let start = m.cursor as usize % owned.len();
        for k in 0..owned.len() {
            let p = owned[(start + k) % owned.len()];
            let log = partitions.log(topic, p);
            let budget = max_records - sent;
            sent += fetch((group, member), m, (topic, p), log, (poll, budget), out);
        }
        if sent > 0 {
            m.cursor = m.cursor.wrapping_add(1);
            m.parked = None;
            out.push(poll_end(member, poll));
        }
    }

    /// `seek`: moves a current member's position in one owned partition,
    /// then serves a poll it has waiting.
    pub(super) fn seek(
        &mut self,
        (group, from, generation): (GroupId, ClientId, u32),
        (partition, to): (PartitionId, Seek),
        partitions: &Partitions,
        pending: PartitionSet,
        out: &mut Vec<Output>,
    ) {
        let current = self.groups[group as usize]
            .as_ref()
            .is_some_and(|g| g.generation == generation && g.members.contains_key(&from));
        if !current {
            return; // a seek from before a rebalance: the new owner starts afresh
        }
        self.resolve_positions(group, from, partitions, pending, out);
        let g = self.groups[group as usize].as_mut().expect("checked");
        let offset = partitions.log(g.topic, partition).seek_offset(to);
        let m = g.members.get_mut(&from).expect("checked");
        if m.partitions & (1 << partition) == 0 {
            return;
        }
        m.unstable &= !(1 << partition); // an explicit seek needs no committed offset
        m.positions.insert(partition, offset);
        out.push(note(LogNote::Position {
            group,
            member: from,
            partition,
            offset,
        }));
        self.serve(group, from, partitions, out);
    }
}

/// Sends `member` up to `budget` readable records of one partition from its
/// position on, for poll `poll`; returns how many it sent. A position below
/// the log start (retention deleted what it pointed at) first jumps there.
fn fetch(
    (group, member): (GroupId, ClientId),
    m: &mut Member,
    (topic, partition): (TopicId, PartitionId),
    log: &PartitionLog,
    (poll, budget): (u64, u32),
    out: &mut Vec<Output>,
) -> u32 {
    let pos = m.positions.entry(partition).or_insert(log.start);
    if *pos < log.start {
        *pos = log.start;
        out.push(note(LogNote::Position {
            group,
            member,
            partition,
            offset: *pos,
        }));
    }
    let visible_end = log.visible_end(m.read_committed);
    let mut sent = 0;
    while sent < budget && *pos < visible_end {
        let Some(r) = log.get(*pos) else { break };
        if log.txn.hidden(r.offset, r.txn, m.read_committed) {
            *pos += 1; // a marker, or (read_committed) an aborted record
            continue;
        }
        let record = LogRecord {
            topic,
            partition,
            offset: r.offset,
            timestamp_ms: r.timestamp_ms,
            msg: r.msg,
        };
        let reply = LogReply::Record { poll, record };
        out.push(Output::Log { to: member, reply });
        *pos += 1;
        sent += 1;
    }
    sent
}

/// Starts `member` on the partitions of `set` at the committed offset, else
/// per `auto.offset.reset`, and says so in the history.
fn start_positions(
    (group, member): (GroupId, ClientId),
    m: &mut Member,
    set: PartitionSet,
    committed: &BTreeMap<PartitionId, u64>,
    (partitions, topic): (&Partitions, TopicId),
    out: &mut Vec<Output>,
) {
    for p in partitions_of(set) {
        let log = partitions.log(topic, p);
        let offset = match (committed.get(&p), m.reset) {
            (Some(&c), _) => c,
            (None, OffsetReset::Earliest) => log.start,
            (None, OffsetReset::Latest) => log.end(),
        };
        m.positions.insert(p, offset);
        out.push(note(LogNote::Position {
            group,
            member,
            partition: p,
            offset,
        }));
    }
}
