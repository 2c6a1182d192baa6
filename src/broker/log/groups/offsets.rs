//! Committed offsets: `OffsetCommit`, its fencing, and how commits reach
//! the disk.
//!
//! - **A commit names a position.** `offset` is the next record to read
//!   (Kafka commits "position", not "last read").
//! - **Commits are fenced.** An `OffsetCommit` or a `TxnOffsetCommit` names
//!   the member and its generation; one from a member that left, was
//!   expelled, or has not taken its new assignment is refused
//!   ([`CommitError`]), so it cannot move an offset a new owner reads from.
//! - **Commits are durable.** Accepted commits wait in `offsets_pending`
//!   and go to the `Offsets` stream (Kafka's `__consumer_offsets`) with the
//!   next group commit; a `commitSync` is answered once its offset is
//!   durable. Recovery reads the stream back (last record per partition
//!   wins).

use super::{Group, GroupCoordinator};
use crate::broker::log::notes::{note, LogNote};
use crate::broker::log::protocol::{CommitError, GroupId, LogReply, PartitionId};
use crate::broker::log::recovery::cut_stream;
use crate::broker::{ClientId, Output};
use crate::storage::{Record, RecordBatch, Storage, StreamId};

/// `commitSync` answers waiting for their flush. Each waiting member has at
/// most one per partition in flight; this bounds a misbehaving one.
pub const COMMIT_REPLIES_MAX: usize = 4096;

impl GroupCoordinator {
    /// `OffsetCommit`: accepted from a current member in the group's
    /// generation; anything else is refused (see [`CommitError`]).
    pub(super) fn commit(
        &mut self,
        (group, from, generation): (GroupId, ClientId, u32),
        (partition, offset): (PartitionId, u64),
        reply: bool,
        out: &mut Vec<Output>,
    ) {
        if let Some(error) = self.commit_error(group, from, generation) {
            out.push(note(LogNote::CommitRejected {
                group,
                member: from,
                partition,
                offset,
                error,
            }));
            if reply {
                let error = Some(error);
                let reply = LogReply::CommitResponse {
                    partition,
                    offset,
                    error,
                };
                out.push(Output::Log { to: from, reply });
            }
            return;
        }
        let g = self.groups[group as usize]
            .as_mut()
            .expect("a member's group");
        g.committed.insert(partition, offset);
        self.offsets_pending.insert((group, partition), offset);
        if reply {
            assert!(
                self.commit_replies.len() < COMMIT_REPLIES_MAX,
                "commitSync answers waiting for a flush are bounded"
            );
            self.commit_replies.push((from, partition, offset));
        }
        out.push(note(LogNote::Committed {
            group,
            partition,
            offset,
        }));
    }

    /// Why `member`'s commit for `generation` is refused, if it is (also
    /// KIP-447's check of a `TxnOffsetCommit`).
    pub(in crate::broker::log) fn commit_error(
        &self,
        group: GroupId,
        member: ClientId,
        generation: u32,
    ) -> Option<CommitError> {
        let g = self.groups.get(group as usize).and_then(|g| g.as_ref());
        let Some((g, m)) = g.and_then(|g| Some((g, g.members.get(&member)?))) else {
            return Some(CommitError::UnknownMemberId);
        };
        if generation == g.generation {
            None
        } else if m.positions_generation != Some(g.generation) {
            Some(CommitError::RebalanceInProgress)
        } else {
            Some(CommitError::IllegalGeneration)
        }
    }

    /// A committed transaction's `TxnOffsetCommit`, applied like a commit.
    pub(in crate::broker::log) fn apply_txn_offset(
        &mut self,
        (group, partition, offset): (GroupId, PartitionId, u64),
        out: &mut Vec<Output>,
    ) {
        // After a restart the group may have no state yet (membership is not
        // persisted): the offset still counts, members take it on rejoin.
        let Some(g) = self.unjoined_or_known(group) else {
            return; // not a group of this broker
        };
        g.committed.insert(partition, offset);
        self.offsets_pending.insert((group, partition), offset);
        out.push(note(LogNote::Committed {
            group,
            partition,
            offset,
        }));
    }

    /// The group, created without members if it has no state yet; `None`
    /// for an index the scenario does not have.
    fn unjoined_or_known(&mut self, group: GroupId) -> Option<&mut Group> {
        let slot = self.groups.get_mut(group as usize)?;
        Some(slot.get_or_insert_with(Group::unjoined))
    }

    /// The commits accepted since the last flush, as one batch for the
    /// `Offsets` stream (one record per partition: the newest commit).
    pub(in crate::broker::log) fn take_offsets_batch(&mut self) -> Option<RecordBatch> {
        if self.offsets_pending.is_empty() {
            return None;
        }
        let base = self.offsets_stream_end;
        let pending = std::mem::take(&mut self.offsets_pending);
        let records = pending
            .into_iter()
            .enumerate()
            .map(|(i, ((group, partition), offset))| Record {
                offset: base + i as u64,
                timestamp_ms: 0,
                producer_id: 0,
                key: Some(offsets_key(group, partition).to_vec()),
                value: offset.to_le_bytes().to_vec(),
            })
            .collect();
        Some(RecordBatch {
            base_offset: base,
            records,
        })
    }

    /// The `Offsets` batch is being handed to storage: the stream now ends
    /// at `end`.
    pub(in crate::broker::log) fn offsets_written(&mut self, end: u64) {
        self.offsets_stream_end = end;
    }

    /// The `commitSync` answers whose offsets this flush writes.
    pub(in crate::broker::log) fn take_commit_replies(
        &mut self,
    ) -> Vec<(ClientId, PartitionId, u64)> {
        std::mem::take(&mut self.commit_replies)
    }

    /// Whether a `commitSync` answer waits for a flush.
    pub(in crate::broker::log) fn has_commit_replies(&self) -> bool {
        !self.commit_replies.is_empty()
    }

    /// Recovery: reads the `Offsets` stream back. A record this broker does
    /// not write ends the stream there: it is cut with a report, as a
    /// damaged batch is (later commits may depend on it). Returns false
    /// when the store could not cut (see [`cut_stream`]).
    pub(in crate::broker::log) fn restore_offsets(
        &mut self,
        batches: &[RecordBatch],
        storage: &mut dyn Storage,
        out: &mut Vec<Output>,
    ) -> bool {
        let mut writable = true;
        for r in batches.iter().flat_map(|b| &b.records) {
            let Some(((group, partition), offset)) = parse_offsets_record(r) else {
                writable = cut_stream(StreamId::Offsets, r.offset, storage, out);
                self.offsets_stream_end = r.offset;
                break;
            };
            // A group the scenario does not know (a resume under another
            // setup) cannot be joined: its offsets are left out. Group
            // membership is not persisted; the offsets are. Members rejoin
            // and the group takes its topic from the first JoinGroup.
            if let Some(g) = self.unjoined_or_known(group) {
                g.committed.insert(partition, offset);
            }
            self.offsets_stream_end = r.offset + 1;
        }
        writable
    }

    /// Every committed offset the coordinator holds, as recovered.
    pub(in crate::broker::log) fn committed_notes(&self, out: &mut Vec<Output>) {
        for (g, group) in self.groups.iter().enumerate() {
            let Some(group) = group else { continue };
            for (&partition, &offset) in &group.committed {
                out.push(note(LogNote::RecoveredOffset {
                    group: g as GroupId,
                    partition,
                    offset,
                }));
            }
        }
    }
}

/// An `Offsets` record's key: group and partition, little-endian.
fn offsets_key(group: GroupId, partition: PartitionId) -> [u8; 4] {
    let [g0, g1] = group.to_le_bytes();
    let [p0, p1] = partition.to_le_bytes();
    [g0, g1, p0, p1]
}

/// The inverse of what [`GroupCoordinator::take_offsets_batch`] writes;
/// `None` for a record of any other layout.
fn parse_offsets_record(r: &Record) -> Option<((GroupId, PartitionId), u64)> {
    let k = r.key.as_deref()?;
    let v: [u8; 8] = r.value.as_slice().try_into().ok()?;
    if k.len() != 4 {
        return None;
    }
    let group = u16::from_le_bytes([k[0], k[1]]);
    let partition = u16::from_le_bytes([k[2], k[3]]);
    Some(((group, partition), u64::from_le_bytes(v)))
}
