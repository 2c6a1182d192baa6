//! Retention: consuming never deletes, time and size do.
//!
//! A consumer group only moves its committed offset; the records stay for
//! every other group, and for a replay. What removes them is the topic's
//! retention, from the head of the log (the log start offset moves up):
//!
//! - `retention.ms`: records older than this, by their append time;
//! - `retention.records`: a count stand-in for `retention.bytes`, applied
//!   at each append.
//!
//! A consumer whose position pointed below the new log start offset jumps
//! to it at its next fetch (see `groups::fetch`): those records are gone.

use super::notes::{note, LogNote};
use super::partition::{PartitionLog, Partitions};
use super::protocol::{PartitionId, TopicId};
use crate::broker::Output;

impl Partitions {
    /// `retention.records`: deletes the oldest records past the count.
    pub(super) fn apply_retention_count(
        &mut self,
        t: TopicId,
        p: PartitionId,
        out: &mut Vec<Output>,
    ) {
        let topic = &mut self.topics[t as usize];
        let Some(max) = topic.retention_records else {
            return;
        };
        let log = &mut topic.partitions[p as usize];
        let excess = (log.records.len() as u64).saturating_sub(max);
        if excess > 0 {
            self.retention_deleted += delete_head(log, (t, p), excess, out);
        }
    }

    /// `retention.records` for every partition (after recovery).
    pub(super) fn apply_retention_counts(&mut self, out: &mut Vec<Output>) {
        for t in 0..self.topics.len() {
            for p in 0..self.topics[t].partitions.len() {
                self.apply_retention_count(t as TopicId, p as PartitionId, out);
            }
        }
    }

    /// `retention.ms`: deletes every record at least that old.
    pub(super) fn apply_retention_age(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        for (t, topic) in self.topics.iter_mut().enumerate() {
            let Some(ms) = topic.retention_ms else {
                continue;
            };
            for (p, log) in topic.partitions.iter_mut().enumerate() {
                let old = log
                    .records
                    .iter()
                    .take_while(|r| r.timestamp_ms + ms <= now_ms)
                    .count() as u64;
                if old > 0 {
                    let at = (t as TopicId, p as PartitionId);
                    self.retention_deleted += delete_head(log, at, old, out);
                }
            }
        }
    }

    /// When each partition's oldest record expires under `retention.ms`.
    pub(super) fn retention_deadlines(&self) -> impl Iterator<Item = u64> + '_ {
        self.topics.iter().flat_map(|t| {
            let ms = t.retention_ms;
            t.partitions
                .iter()
                .filter_map(move |p| Some(p.records.front()?.timestamp_ms + ms?))
        })
    }
}

/// Deletes the `n` oldest records and says so; returns `n`.
fn delete_head(
    log: &mut PartitionLog,
    (topic, partition): (TopicId, PartitionId),
    n: u64,
    out: &mut Vec<Output>,
) -> u64 {
    let from = log.start;
    for _ in 0..n {
        log.records.pop_front();
    }
    log.start += n;
    out.push(note(LogNote::RetentionDeleted {
        topic,
        partition,
        from,
        to: log.start,
    }));
    n
}
