//! What a run has acknowledged, in the shape of the record the page keeps
//! outside its database ([`crate::storage::acked`]).
//!
//! The tracker reads the run's history as it grows (only the events added
//! since its last look, like the live checker) and keeps, per partition, the
//! offset after the highest record a producer was told is written (`ok` of a
//! produce, the history's `produced`), plus how many acknowledgements there
//! were. A resumed run starts from the records it carried over: those the
//! earlier visit acknowledged (below its checkpoint, `acked_before`; all of
//! them when there was no checkpoint) count here too.
//!
//! [`AckTracker::record`] caps each frontier at the partition's durable end:
//! under `acks=1` a producer hears back before the flush, and the record
//! must never claim more than the disk holds. Under `acks=all` the cap never
//! bites, since the answer waits for the flush.
//!
//! Only plain log producers count. A transactional client's records are
//! acknowledged by its commit, not by their produce responses.
//!
//! A queue run with durable queues is recorded too, differently: an acked
//! message leaves its queue for good, so no per-queue "highest confirmed
//! message" stays meaningful. What stays monotonic is each durable queue's
//! message store, an append-only stream of entries (enqueued, delivered,
//! removed) that is never compacted. So the record keeps, per durable
//! queue, the end of that stream on disk ([`AckedRecord::queues`]): every
//! confirm the store sent was for an entry below it, and a store that comes
//! back shorter lost entries that were on disk, which the page reports.
//! Beside it, how many messages the queues held in memory only
//! ([`AckedRecord::in_memory`]), which a reload loses by design.

use crate::app::playground::{Setup, LOG_TOPIC};
use crate::broker::log::{Carried, LogNote, PartitionId, TopicId};
use crate::broker::{ClientId, Note};
use crate::config::{BrokerSpec, ClientSpec};
use crate::history::{Entry, LogEntry, Proc};
use crate::storage::acked::{queue_stream_name, AckedRecord, Found, Vanished};
use crate::storage::{Recovery, StreamId};
use crate::world::World;
use std::collections::BTreeMap;

/// Follows one run's acknowledgements (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct AckTracker {
    /// Per (topic, partition): the offset after the highest acknowledged
    /// record. Bound: the broker's partitions.
    acked_end: BTreeMap<(TopicId, PartitionId), u64>,
    /// Acknowledgements so far (carried acknowledged records included).
    acked: u64,
    /// History events already read.
    read: usize,
    /// The topic each client writes, when it is a plain log producer, looked
    /// up once per client. Bound: the run's clients.
    topics: BTreeMap<ClientId, Option<TopicId>>,
    /// A resumed run's checkpoint (`acked_before`): carried records at or
    /// past it were never acknowledged. Bound: partitions.
    checkpoint: BTreeMap<(TopicId, PartitionId), u64>,
}

impl AckTracker {
    /// A tracker for a run that has acknowledged nothing yet.
    pub fn new() -> AckTracker {
        AckTracker::default()
    }

    /// Acknowledgements seen so far.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Reads the history events `world` added since the last call.
    pub fn update(&mut self, world: &World) {
        let events = world.history().events();
        assert!(self.read <= events.len(), "a history never shrinks");
        let queue = world.broker().as_queue().is_some();
        for ev in events.iter_from(self.read) {
            match (ev.process, ev.entry) {
                // A queue producer's publisher confirm (a log producer's
                // acknowledgement is its `produced`, below).
                (
                    Proc::Client(_),
                    Entry::Publish {
                        ty: crate::history::OpType::Ok,
                        ..
                    },
                ) if queue => self.acked += 1,
                (
                    Proc::Client(client),
                    Entry::Log(LogEntry::Produced {
                        partition, offset, ..
                    }),
                ) => {
                    if let Some(topic) = self.topic_of(world, client) {
                        self.ack(topic, partition, offset);
                    }
                }
                (
                    _,
                    Entry::Broker(Note::Log(LogNote::AckedBefore {
                        topic,
                        partition,
                        acked_end,
                        ..
                    })),
                ) => {
                    self.checkpoint.insert((topic, partition), acked_end);
                }
                (
                    _,
                    Entry::Broker(Note::Log(LogNote::Carried {
                        topic,
                        partition,
                        offset,
                        carried: Carried::Acked | Carried::Consumed,
                        ..
                    })),
                ) => {
                    // The checker's rule (`check::log`, `carry`).
                    let end = self.checkpoint.get(&(topic, partition));
                    if end.is_none_or(|&end| offset < end) {
                        self.ack(topic, partition, offset);
                    }
                }
                _ => {}
            }
        }
        self.read = events.len();
    }

    /// The record of this run for database `db`, written at `updated_ms`
    /// (`Date.now()`): each frontier capped at what is durable.
    pub fn record(&self, world: &World, db: &str, updated_ms: u64) -> AckedRecord {
        let mut record = AckedRecord {
            acked: self.acked,
            updated_ms,
            ..AckedRecord::new(db)
        };
        if let Some(queue) = world.broker().as_queue() {
            // Inserted one by one, as the partitions below: a `collect`
            // into the map would bring a sort's code into the page.
            for (name, end) in queue.durable_store_ends() {
                if end > 0 {
                    record.queues.insert(name, end);
                }
            }
            record.in_memory = queue.held_in_memory_only();
            return record;
        }
        let Some(log) = world.broker().as_log() else {
            return record;
        };
        let topics = &world.names().topics;
        for view in log.partition_views(0) {
            let Some(topic) = topics.iter().position(|t| *t == view.topic) else {
                continue;
            };
            let key = (topic as TopicId, view.partition);
            let end = self.acked_end.get(&key).map_or(0, |&end| end);
            let end = end.min(view.durable_end);
            if end > 0 {
                let name = format!("{}-{}", view.topic, view.partition);
                record.partitions.insert(name, end);
            }
        }
        record
    }

    fn ack(&mut self, topic: TopicId, partition: PartitionId, offset: u64) {
        self.acked += 1;
        let end = self.acked_end.entry((topic, partition)).or_default();
        *end = (*end).max(offset + 1);
    }

    /// The topic `client` writes, if it is a plain log producer.
    fn topic_of(&mut self, world: &World, client: ClientId) -> Option<TopicId> {
        *self.topics.entry(client).or_insert_with(|| {
            let names = world.names();
            let id = names.clients.get(client as usize)?;
            let spec = world.scenario().clients.iter().find(|c| c.id() == id)?;
            let ClientSpec::LogProducer(producer) = spec else {
                return None;
            };
            let topic = names.topics.iter().position(|t| *t == producer.topic)?;
            Some(topic as TopicId)
        })
    }
}

/// The log broker's topic names, in the broker's order, for `setup` (the
/// setup saved with a stored log). Without a usable one, the playground's
/// single topic: every page log run has it.
pub fn topic_names(setup: Option<&Setup>) -> Vec<String> {
    let scenario = setup.and_then(|s| s.to_scenario().ok());
    match scenario.map(|s| s.broker) {
        Some(BrokerSpec::Log(log)) => log.topics.into_iter().map(|t| t.name).collect(),
        _ => vec![LOG_TOPIC.to_string()],
    }
}

/// The queue broker's queue names, in the broker's order, for `setup`, if
/// it is a queue setup that can run: one per partition, named as
/// [`Setup::to_scenario`] names them.
pub fn queue_names(setup: Option<&Setup>) -> Vec<String> {
    match setup {
        Some(s) if s.broker == crate::app::playground::BrokerKind::Queue && s.check().is_ok() => {
            let n = s.partitions;
            (0..n as usize)
                .map(|i| crate::app::playground::queue_for_consumer(n, i))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Per partition name (`orders-0`), the offset after the last record
/// `recovery` kept; per queue store ([`queue_stream_name`]), the end of its
/// stream. `topics` and `queues` name the stored streams' numbers.
pub fn recovered_ends(
    recovery: &Recovery,
    topics: &[String],
    queues: &[String],
) -> BTreeMap<String, u64> {
    let mut ends = BTreeMap::new();
    for (stream, report) in &recovery.report.streams {
        let end = report.log_end_offset.unwrap_or(0);
        match *stream {
            StreamId::Partition { topic, partition } => {
                let name = topics
                    .get(usize::from(topic))
                    .map_or_else(|| format!("topic{topic}"), String::clone);
                ends.insert(format!("{name}-{partition}"), end);
            }
            StreamId::Queue { queue } => {
                let name = queues
                    .get(usize::from(queue))
                    .map_or_else(|| format!("q{queue}"), String::clone);
                ends.insert(queue_stream_name(&name), end);
            }
            _ => {}
        }
    }
    ends
}

/// The record as the store's checkpoint ([`crate::storage::Storage::acked_checkpoint`]):
/// partition names turned back into streams, by `topics` (the resumed
/// setup's), and queue names back into queue streams, by `queues`. A name
/// this setup has no topic or queue for is left out: the broker could not
/// resume such a stream anyway.
pub fn checkpoint(
    record: &AckedRecord,
    topics: &[String],
    queues: &[String],
) -> BTreeMap<StreamId, u64> {
    let mut streams = BTreeMap::new();
    for (name, &end) in &record.partitions {
        let Some((topic, partition)) = crate::storage::acked::split_partition_name(name) else {
            continue;
        };
        let Some(topic) = topics.iter().position(|t| t == topic) else {
            continue;
        };
        let Ok(topic) = u16::try_from(topic) else {
            continue;
        };
        streams.insert(StreamId::Partition { topic, partition }, end);
    }
    for (name, &end) in &record.queues {
        let Some(queue) = queues.iter().position(|q| q == name) else {
            continue;
        };
        let Ok(queue) = u16::try_from(queue) else {
            continue;
        };
        streams.insert(StreamId::Queue { queue }, end);
    }
    streams
}

/// What the page says on load about `record` (the earlier visit's) against
/// the log it found: `created` when the browser had no database at all,
/// `recovery` of what it holds, `setup` saved with it (for topic names),
/// `browser_report` what the browser said on open. `None` when every
/// acknowledged offset is back.
pub fn vanished_on_load(
    record: &AckedRecord,
    db: &str,
    created: bool,
    recovery: &Recovery,
    setup: Option<&Setup>,
    browser_report: Option<String>,
) -> Option<Vanished> {
    let ends = recovered_ends(recovery, &topic_names(setup), &queue_names(setup));
    let found = if created {
        Found::Missing
    } else if ends.values().all(|&end| end == 0) {
        Found::Empty
    } else {
        Found::Present
    };
    Vanished::check(record, db, found, &ends, browser_report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::playground::{BrokerKind, Setup};
    use crate::config::Acks;
    use crate::config::Guarantee;
    use crate::storage::MemoryStore;

    fn log_world(delivery: Guarantee) -> World {
        let setup = Setup {
            broker: BrokerKind::Log,
            delivery,
            partitions: 2,
            seed: 3,
            ..Setup::default()
        };
        let scenario = setup.to_scenario().unwrap();
        World::with_storage(&scenario, Box::new(MemoryStore::new(Default::default(), 5)))
    }

    /// The highest `produced` offset per partition, from the history itself.
    fn produced_ends(world: &World) -> BTreeMap<String, u64> {
        let mut ends = BTreeMap::new();
        for ev in world.history().events() {
            if let Entry::Log(LogEntry::Produced {
                partition, offset, ..
            }) = ev.entry
            {
                let end: &mut u64 = ends.entry(format!("orders-{partition}")).or_default();
                *end = (*end).max(offset + 1);
            }
        }
        ends
    }

    #[test]
    fn the_record_names_each_partitions_acknowledged_end() {
        let mut world = log_world(Guarantee::AtLeastOnce);
        let mut tracker = AckTracker::new();
        tracker.update(&world);
        assert_eq!(tracker.record(&world, "db", 7).partitions.len(), 0);
        // Read in pieces, as the page does frame by frame.
        for t_ms in [300, 700, 1_500] {
            world.run_until(t_ms).unwrap();
            tracker.update(&world);
        }
        let record = tracker.record(&world, "db", 7);
        assert_eq!(record.db, "db");
        assert_eq!(record.updated_ms, 7);
        assert_eq!(record.partitions, produced_ends(&world));
        let produced = world
            .history()
            .events()
            .iter()
            .filter(|ev| matches!(ev.entry, Entry::Log(LogEntry::Produced { .. })));
        assert_eq!(record.acked, produced.count() as u64);
        assert!(record.acked > 20, "{record:?}");
        let durable = world.broker().as_log().unwrap().partition_views(0);
        for view in durable {
            let name = format!("orders-{}", view.partition);
            assert!(record.partitions[&name] <= view.durable_end);
        }
    }

    #[test]
    fn acks_1_never_records_past_the_durable_end() {
        let mut scenario = log_world(Guarantee::AtLeastOnce).scenario().clone();
        for client in &mut scenario.clients {
            if let ClientSpec::LogProducer(p) = client {
                p.acks = Acks::One;
            }
        }
        let store = MemoryStore::new(Default::default(), 5);
        let mut world = World::with_storage(&scenario, Box::new(store));
        let mut tracker = AckTracker::new();
        let mut capped = 0;
        for t_ms in (10..2_000).step_by(7) {
            world.run_until(t_ms).unwrap();
            tracker.update(&world);
            let record = tracker.record(&world, "db", 0);
            for view in world.broker().as_log().unwrap().partition_views(0) {
                let name = format!("orders-{}", view.partition);
                let end = record.partitions.get(&name).copied().unwrap_or(0);
                assert!(end <= view.durable_end, "{name} at {t_ms} ms: {end}");
                let acked_end = tracker.acked_end.get(&(0, view.partition));
                capped += usize::from(acked_end.is_some_and(|&e| e > view.durable_end));
            }
        }
        assert!(capped > 0, "acks=1 answered before the flush at least once");
    }

    #[test]
    fn a_log_shorter_than_the_record_is_reported_by_partition() {
        let mut world = log_world(Guarantee::AtLeastOnce);
        let mut tracker = AckTracker::new();
        world.run_until(1_500).unwrap();
        tracker.update(&world);
        let record = tracker.record(&world, "db", 1);
        let setup = Setup {
            broker: BrokerKind::Log,
            partitions: 2,
            ..Setup::default()
        };
        let mut store = MemoryStore::new(Default::default(), 5);
        let nothing = crate::storage::Storage::recover(&mut store);
        let gone = vanished_on_load(&record, "db", true, &nothing, Some(&setup), None).unwrap();
        assert_eq!(gone.found, Found::Missing);
        assert_eq!(gone.gone(), record.acked_offsets());
        let empty = vanished_on_load(&record, "db", false, &nothing, None, None).unwrap();
        assert_eq!(empty.found, Found::Empty);
        // Partition 1 came back whole, partition 0 three records short.
        let mut shorter = Recovery::default();
        for (name, &end) in &record.partitions {
            let partition = name.strip_prefix("orders-").unwrap().parse().unwrap();
            let stream = StreamId::Partition {
                topic: 0,
                partition,
            };
            let end = if partition == 0 { end - 3 } else { end };
            let report = crate::storage::recovery::StreamReport {
                log_end_offset: Some(end),
                ..Default::default()
            };
            shorter.report.streams.insert(stream, report);
        }
        let short = vanished_on_load(&record, "db", false, &shorter, Some(&setup), None).unwrap();
        assert_eq!(short.found, Found::Present);
        assert_eq!(short.gone(), 3);
        assert_eq!(short.missing[0].partition, "orders-0");
        let mut whole = shorter.clone();
        for report in whole.report.streams.values_mut() {
            *report.log_end_offset.as_mut().unwrap() += 3;
        }
        assert_eq!(
            vanished_on_load(&record, "db", false, &whole, None, None),
            None
        );
        assert_eq!(topic_names(None), vec!["orders".to_string()]);
    }
}
