//! The log checker against hand-written histories. Poll-skip: jumps over
//! markers and (for `read_committed`) aborted records are not skips; jumps
//! over a record the reader should have received are. Duplicates: judged
//! per consumer group, so a second group replaying the log is not one.
use super::*;
use crate::broker::txn::TxnNote;
use crate::broker::Note;
use crate::history::Proc::{Broker, Client};
use crate::node::NodeId;

/// Clients: 0 = plain producer, 1 = transactional producer (producer id
/// 7), 2 = a read_committed consumer, 3 = a read_uncommitted consumer.
const PLAIN: ClientId = 0;
const TXN: ClientId = 1;
const COMMITTED: ClientId = 2;
const UNCOMMITTED: ClientId = 3;

/// Partition 0 of topic 0 holds, by offset: 0 txn record (m1), 1 commit
/// marker, 2 txn record (m2, aborted), 3 abort marker, 4 txn record (m3),
/// 5 commit marker, 6 plain record (m4).
fn log() -> History {
    let mut h = History::new();
    h.push(
        0,
        Client(TXN),
        Entry::Log(LogEntry::ProducerId {
            producer_id: 7,
            epoch: 0,
        }),
    );
    let record = |h: &mut History, who: ClientId, msg: MsgId, offset: u64| {
        if who == TXN {
            // A read-process-write client writes one output per input
            // record it started processing (the lineage the checker reads).
            let input = msg + 100;
            let process = LogEntry::Process {
                ty: OpType::Invoke,
                partition: 0,
                offset: 0,
                msg: input,
                key: None,
            };
            h.push(1, Client(who), Entry::Log(process));
        }
        let publish = Entry::Publish {
            ty: OpType::Invoke,
            msg,
            key: None,
        };
        h.push(1, Client(who), publish);
        let note = LogNote::Appended {
            msg,
            topic: 0,
            partition: 0,
            offset,
        };
        h.push(1, Broker(NodeId::FIRST), Entry::Broker(Note::Log(note)));
    };
    let marker = |h: &mut History, offset: u64, commit: bool| {
        let m = TxnNote::Marker {
            producer_id: 7,
            topic: 0,
            partition: 0,
            offset,
            commit,
        };
        h.push(
            1,
            Broker(NodeId::FIRST),
            Entry::Broker(Note::Log(LogNote::Txn(m))),
        );
    };
    record(&mut h, TXN, 1, 0);
    marker(&mut h, 1, true);
    record(&mut h, TXN, 2, 2);
    marker(&mut h, 3, false);
    record(&mut h, TXN, 3, 4);
    marker(&mut h, 5, true);
    record(&mut h, PLAIN, 4, 6);
    h
}

/// The checker's summary of `h`, with the clients named above and
/// `COMMITTED` reading at `read_committed`.
fn summary(h: &History) -> Summary {
    let names = Names {
        clients: ["p", "t", "rc", "ru"].map(String::from).to_vec(),
        topics: vec!["orders".into()],
        ..Names::default()
    };
    let committed = BTreeSet::from([COMMITTED]);
    check(
        h,
        &Snapshot::default(),
        &names,
        &Expectations::default(),
        false,
        &committed,
    )
}

/// `reader` reads these (offset, msg) in one poll; returns the poll-skip count.
fn skips(reader: ClientId, reads: &[(u64, MsgId)]) -> u64 {
    skips_in(log(), reader, reads)
}

/// As [`skips`], over the history `h`.
fn skips_in(mut h: History, reader: ClientId, reads: &[(u64, MsgId)]) -> u64 {
    for &(offset, msg) in reads {
        let read = LogEntry::Read {
            poll: 1,
            partition: 0,
            offset,
            msg,
            key: None,
        };
        h.push(2, Client(reader), Entry::Log(read));
    }
    let s = summary(&h);
    let listed = s.findings.iter().filter(|f| f.kind == "poll-skip").count() as u64;
    let n = s.log.expect("a log summary").poll_skip;
    assert_eq!(listed, n, "each skip is listed");
    n
}

#[test]
fn markers_and_aborted_records_are_not_skips_for_read_committed() {
    assert_eq!(skips(COMMITTED, &[(0, 1), (4, 3), (6, 4)]), 0);
}

#[test]
fn markers_are_not_skips_for_read_uncommitted() {
    assert_eq!(skips(UNCOMMITTED, &[(0, 1), (2, 2), (4, 3), (6, 4)]), 0);
}

#[test]
fn an_aborted_record_is_a_skip_for_read_uncommitted() {
    // read_uncommitted receives aborted records: jumping over m2 is a skip.
    assert_eq!(skips(UNCOMMITTED, &[(0, 1), (4, 3)]), 1);
}

/// A resumed log: m1 (offset 0) and m3 (offset 2) carried as acked, m2
/// (offset 1) carried as aborted. No `init_producer_id` or marker of the
/// earlier visit is in this history.
fn resumed_log() -> History {
    let mut h = History::new();
    for (msg, offset, carried) in [
        (1, 0, Carried::Acked),
        (2, 1, Carried::Aborted),
        (3, 2, Carried::Acked),
    ] {
        let note = LogNote::Carried {
            msg,
            producer: TXN,
            key: None,
            topic: 0,
            partition: 0,
            offset,
            carried,
        };
        h.push(0, Broker(NodeId::FIRST), Entry::Broker(Note::Log(note)));
    }
    h
}

#[test]
fn two_carried_copies_of_one_message_are_one_publish() {
    let mut h = resumed_log();
    let copy = LogNote::Carried {
        msg: 3,
        producer: TXN,
        key: None,
        topic: 0,
        partition: 0,
        offset: 3,
        carried: Carried::Acked,
    };
    h.push(0, Broker(NodeId::FIRST), Entry::Broker(Note::Log(copy)));
    let s = summary(&h);
    assert_eq!(s.counts.published, 3, "m1, m2, m3 (twice in the log)");
    assert_eq!(s.log.expect("a log summary").carried, 4);
}

#[test]
fn a_carried_aborted_record_is_hidden_from_read_committed_only() {
    assert_eq!(skips_in(resumed_log(), COMMITTED, &[(0, 1), (2, 3)]), 0);
    assert_eq!(skips_in(resumed_log(), UNCOMMITTED, &[(0, 1), (2, 3)]), 1);
}

#[test]
fn a_committed_or_plain_record_is_a_skip() {
    assert_eq!(
        skips(COMMITTED, &[(0, 1), (6, 4)]),
        1,
        "m3 at 4 was committed"
    );
    assert_eq!(
        skips(UNCOMMITTED, &[(4, 3), (6, 4), (6, 4)]),
        0,
        "a repeat is nonmonotonic, not a skip"
    );
}

/// m4, published by `PLAIN` and appended at offset 6, processed by
/// `COMMITTED` and `UNCOMMITTED`, each as often as `times` says, after each
/// joined the group `groups` names for it. Returns the batch summary and
/// the live one.
fn processed_in_groups(groups: [GroupId; 2], times: [u64; 2]) -> (Summary, Summary) {
    let mut h = History::new();
    let publish = Entry::Publish {
        ty: OpType::Invoke,
        msg: 4,
        key: None,
    };
    h.push(1, Client(PLAIN), publish);
    let note = LogNote::Appended {
        msg: 4,
        topic: 0,
        partition: 0,
        offset: 6,
    };
    h.push(1, Broker(NodeId::FIRST), Entry::Broker(Note::Log(note)));
    for (reader, group) in [COMMITTED, UNCOMMITTED].into_iter().zip(groups) {
        h.push(2, Client(reader), Entry::Log(LogEntry::Join { group }));
    }
    let mut t = 3;
    for (reader, n) in [COMMITTED, UNCOMMITTED].into_iter().zip(times) {
        for _ in 0..n {
            let process = LogEntry::Process {
                ty: OpType::Ok,
                partition: 0,
                offset: 6,
                msg: 4,
                key: None,
            };
            h.push(t, Client(reader), Entry::Log(process));
            t += 1;
        }
    }
    let names = Names {
        clients: ["p", "t", "rc", "ru"].map(String::from).to_vec(),
        topics: vec!["orders".into()],
        groups: vec!["dashboard".into(), "audit".into()],
        ..Names::default()
    };
    let committed = BTreeSet::from([COMMITTED]);
    let mut live = crate::check::live::LiveChecker::log(committed);
    live.consume(&h, &names, false);
    let live = live.summary(&Snapshot::default(), &names, &Expectations::default());
    (summary(&h), live)
}

/// The `duplicated` count and the times its findings point at.
fn duplicated(s: &Summary) -> (u64, Vec<Vec<u64>>) {
    let found = s.findings.iter().filter(|f| f.kind == "duplicated");
    let times = found.map(|f| f.times_ms.clone()).collect();
    (s.counts.duplicated, times)
}

#[test]
fn a_second_group_replaying_a_record_is_not_a_duplicate() {
    let (batch, live) = processed_in_groups([0, 1], [1, 1]);
    for s in [&batch, &live] {
        assert_eq!(duplicated(s), (0, vec![]), "one processing per group");
        assert_eq!(s.counts.processed_total, 2, "both groups applied it");
    }
}

#[test]
fn a_record_processed_twice_in_one_group_is_a_duplicate() {
    let (batch, live) = processed_in_groups([0, 0], [1, 1]);
    for s in [&batch, &live] {
        assert_eq!(
            duplicated(s),
            (1, vec![vec![3, 4]]),
            "two members of one group"
        );
    }
}

#[test]
fn a_duplicate_points_at_the_processing_of_its_own_group() {
    // dashboard (rc) processed m4 twice, audit (ru) once: one duplicate,
    // whose times are dashboard's two, not audit's.
    let (batch, live) = processed_in_groups([0, 1], [2, 1]);
    for s in [&batch, &live] {
        assert_eq!(duplicated(s), (1, vec![vec![3, 4]]));
        let text = &s
            .findings
            .iter()
            .find(|f| f.kind == "duplicated")
            .unwrap()
            .explanation;
        assert!(text.starts_with("m4 was processed 2 times"), "{text}");
    }
}

#[test]
fn a_record_consumed_before_a_resume_is_a_duplicate_in_any_group() {
    // The earlier visit's group is unknown: reading the record again in any
    // group counts, as it did before groups were told apart.
    let mut h = History::new();
    let carried = LogNote::Carried {
        msg: 1,
        producer: PLAIN,
        key: None,
        topic: 0,
        partition: 0,
        offset: 0,
        carried: Carried::Consumed,
    };
    h.push(0, Broker(NodeId::FIRST), Entry::Broker(Note::Log(carried)));
    h.push(
        1,
        Client(UNCOMMITTED),
        Entry::Log(LogEntry::Join { group: 1 }),
    );
    let process = LogEntry::Process {
        ty: OpType::Ok,
        partition: 0,
        offset: 0,
        msg: 1,
        key: None,
    };
    h.push(2, Client(UNCOMMITTED), Entry::Log(process));
    assert_eq!(duplicated(&summary(&h)), (1, vec![vec![0, 2]]));
}
