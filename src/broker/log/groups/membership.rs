//! Who is in a group, and the rebalance every change causes.
//!
//! Members join (`JoinGroup`), heartbeat, and leave (`LeaveGroup`) or are
//! expelled after `session.timeout.ms` without a heartbeat. Every change is
//! a rebalance: the generation goes up by one and the partitions are dealt
//! out again by the group's assignor. A member learns its new partitions
//! from the `Assignment` reply, and a poll it had waiting is answered empty
//! so it applies them.

use super::assignor::assign;
use super::{Group, GroupCoordinator, Member};
use crate::broker::log::notes::{note, LogNote};
use crate::broker::log::partition::Partitions;
use crate::broker::log::protocol::{poll_end, GroupId, LogReply, LogRequest};
use crate::broker::{ClientId, Output};
use crate::config::IsolationLevel;
use std::collections::BTreeMap;

impl GroupCoordinator {
    /// `JoinGroup`: `from` becomes a member (again) and the group rebalances.
    pub(super) fn join(
        &mut self,
        now_ms: u64,
        from: ClientId,
        req: LogRequest,
        partitions: &Partitions,
        out: &mut Vec<Output>,
    ) {
        let LogRequest::JoinGroup {
            group,
            topic,
            assignor,
            session_timeout_ms,
            reset,
            isolation,
        } = req
        else {
            unreachable!("routed here for JoinGroup only");
        };
        let member = Member {
            session_timeout_ms,
            last_heartbeat_ms: now_ms,
            reset,
            read_committed: isolation == IsolationLevel::ReadCommitted,
            partitions: 0,
            positions_generation: None,
            positions: BTreeMap::new(),
            unstable: 0,
            parked: None,
            cursor: 0,
        };
        let g = self.groups[group as usize].get_or_insert_with(|| Group {
            topic,
            assignor,
            ..Group::unjoined()
        });
        if g.members.is_empty() {
            // After a restart only the committed offsets were recovered.
            (g.topic, g.assignor) = (topic, assignor);
        }
        g.members.insert(from, member);
        self.rebalance(group, partitions, out);
    }

    /// A heartbeat renews the member's session.
    pub(super) fn heartbeat(&mut self, now_ms: u64, group: GroupId, from: ClientId) {
        if let Some(m) = self.member_mut(group, from) {
            m.last_heartbeat_ms = now_ms;
        }
    }

    /// `LeaveGroup`: the member goes and the group rebalances at once.
    pub(super) fn leave(
        &mut self,
        group: GroupId,
        from: ClientId,
        partitions: &Partitions,
        out: &mut Vec<Output>,
    ) {
        if let Some(g) = &mut self.groups[group as usize] {
            if g.members.remove(&from).is_some() {
                self.rebalance(group, partitions, out);
            }
        }
    }

    /// `session.timeout.ms`: members with no heartbeat for that long are
    /// removed, and each group that lost one rebalances.
    pub(in crate::broker::log) fn expire_sessions(
        &mut self,
        now_ms: u64,
        partitions: &Partitions,
        out: &mut Vec<Output>,
    ) {
        for gi in 0..self.groups.len() {
            let Some(g) = &mut self.groups[gi] else {
                continue;
            };
            let expired: Vec<ClientId> = g
                .members
                .iter()
                .filter(|(_, m)| m.last_heartbeat_ms + m.session_timeout_ms <= now_ms)
                .map(|(c, _)| *c)
                .collect();
            for member in &expired {
                g.members.remove(member);
                let group = gi as GroupId;
                out.push(note(LogNote::SessionExpired {
                    group,
                    member: *member,
                }));
            }
            if !expired.is_empty() {
                self.rebalance(gi as GroupId, partitions, out);
            }
        }
    }

    /// Every member's session deadline, for the broker's wake-up.
    pub(in crate::broker::log) fn session_deadlines(&self) -> impl Iterator<Item = u64> + '_ {
        let members = self
            .groups
            .iter()
            .flatten()
            .flat_map(|g| g.members.values());
        members.map(|m| m.last_heartbeat_ms + m.session_timeout_ms)
    }

    /// A new generation: deal the partitions out again and tell every member.
    /// Parked polls are answered empty so members apply the new assignment.
    fn rebalance(&mut self, group: GroupId, partitions: &Partitions, out: &mut Vec<Output>) {
        let g = self.groups[group as usize].as_mut().expect("a group");
        g.generation += 1;
        self.rebalances += 1;
        let count = partitions.count(g.topic);
        let members: Vec<ClientId> = g.members.keys().copied().collect();
        let sets = assign(g.assignor, count, members.len());
        for (member, set) in members.iter().zip(sets) {
            let m = g.members.get_mut(member).expect("listed");
            m.partitions = set;
            if let Some((poll, _)) = m.parked.take() {
                out.push(poll_end(*member, poll));
            }
            out.push(note(LogNote::Assigned {
                group,
                generation: g.generation,
                member: *member,
                partitions: set,
            }));
            out.push(Output::Log {
                to: *member,
                reply: LogReply::Assignment {
                    generation: g.generation,
                    partitions: set,
                },
            });
        }
    }

    /// One member of one group, to change it.
    pub(super) fn member_mut(&mut self, group: GroupId, member: ClientId) -> Option<&mut Member> {
        let g = self.groups[group as usize].as_mut()?;
        g.members.get_mut(&member)
    }
}
