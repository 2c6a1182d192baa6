//! Poll-skip against hand-written histories: jumps over markers and
//! (for `read_committed`) aborted records are not skips; jumps over a
//! record the reader should have received are.
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
