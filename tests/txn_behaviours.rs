//! One test per transactional behaviour of the log broker and its
//! coordinator, driven request by request (no world, no network), so each
//! phase of the two-phase commit can be crashed exactly where we want.

use brokerlab::broker::log::{
    CommitError, LogNote, LogRecord, LogReply, LogRequest, MARKER_MSG_ID,
};
use brokerlab::broker::txn::{TxnError, TxnReply, TxnRequest, TxnState};
use brokerlab::broker::{ClientId, Message};
use brokerlab::check;
use brokerlab::check::txn::{TxnFinding, TxnMarker, TxnRead, TxnWrite};
use brokerlab::config::Acks;
use brokerlab::config::IsolationLevel;

#[path = "support/log_driver.rs"]
mod log_driver;
use log_driver::{topic, Driver};

const FSYNC_MS: u64 = 5;
const IN: u16 = 0;
const OUT: u16 = 1;
const PRODUCER: ClientId = 0;
const ZOMBIE: ClientId = 1;
const READER: ClientId = 2;
const GROUP_RC: u16 = 0;
const GROUP_RU: u16 = 1;
const READER_RU: ClientId = 3;

/// The broker driver plus what the checker tests tell the checker.
struct Harness {
    d: Driver,
    /// Markers the checker is told about (set by the checker tests).
    markers: Vec<TxnMarker>,
}

impl std::ops::Deref for Harness {
    type Target = Driver;
    fn deref(&self) -> &Driver {
        &self.d
    }
}

impl std::ops::DerefMut for Harness {
    fn deref_mut(&mut self) -> &mut Driver {
        &mut self.d
    }
}

impl Harness {
    fn new() -> Harness {
        let topics = vec![topic("in", 1), topic("out", 2)];
        Harness {
            d: Driver::new(topics, 2, FSYNC_MS),
            markers: Vec::new(),
        }
    }

    fn txn(&mut self, from: ClientId, req: TxnRequest) -> Option<TxnReply> {
        self.replies.clear();
        self.send(from, LogRequest::Txn(req));
        self.last_txn_reply(from)
    }

    fn last_txn_reply(&self, to: ClientId) -> Option<TxnReply> {
        self.replies.iter().rev().find_map(|(c, r)| match r {
            LogReply::Txn(t) if *c == to => Some(*t),
            _ => None,
        })
    }

    fn init(&mut self, from: ClientId) -> (u64, u16) {
        let req = TxnRequest::InitProducerId {
            txn: 0,
            transaction_timeout_ms: 60_000,
        };
        match self.txn(from, req) {
            Some(TxnReply::ProducerId { producer_id, epoch }) => (producer_id, epoch),
            other => panic!("InitProducerId answered {other:?}"),
        }
    }

    fn add(&mut self, from: ClientId, (pid, epoch): (u64, u16), partition: u16) -> TxnReply {
        let req = TxnRequest::AddPartitionsToTxn {
            txn: 0,
            producer_id: pid,
            epoch,
            topic: OUT,
            partition,
        };
        self.txn(from, req).expect("answered at once")
    }

    fn produce(
        &mut self,
        from: ClientId,
        (pid, epoch): (u64, u16),
        partition: u16,
        id: u64,
    ) -> TxnReply {
        let req = TxnRequest::Produce {
            txn: 0,
            producer_id: pid,
            epoch,
            topic: OUT,
            partition,
            msg: msg(id),
        };
        self.txn(from, req).expect("answered at once")
    }

    fn end(&mut self, from: ClientId, (pid, epoch): (u64, u16), commit: bool) -> Option<TxnReply> {
        let req = TxnRequest::EndTxn {
            txn: 0,
            producer_id: pid,
            epoch,
            commit,
        };
        self.txn(from, req)
    }

    fn state(&self) -> TxnState {
        self.broker
            .txn_meta(0)
            .expect("known transactional.id")
            .state
    }

    /// A one-member group on `out` polls; returns what it was sent.
    fn read(&mut self, group: u16, member: ClientId, isolation: IsolationLevel) -> Vec<LogRecord> {
        self.join(member, group, OUT, isolation);
        let (generation, _) = self.broker.members(group);
        self.poll(member, group, generation)
    }
}

fn msg(id: u64) -> Message {
    Message {
        id,
        producer: PRODUCER,
        seq: id,
        key: None,
        payload_bytes: 10,
    }
}

fn ids(records: &[LogRecord]) -> Vec<u64> {
    records.iter().map(|r| r.msg.id).collect()
}

/// `TxnOffsetCommit` of input partition 0 in `pe`'s transaction, on behalf
/// of `member` in `generation` of the read_committed group.
fn offset_commit(pe: (u64, u16), member: ClientId, generation: u32, offset: u64) -> TxnRequest {
    TxnRequest::TxnOffsetCommit {
        txn: 0,
        producer_id: pe.0,
        epoch: pe.1,
        group: GROUP_RC,
        member,
        generation,
        partition: 0,
        offset,
    }
}

/// Begins a transaction on `out`/0 with `n` records (ids 1..=n).
fn open_txn(h: &mut Harness, n: u64) -> (u64, u16) {
    let pe = h.init(PRODUCER);
    assert_eq!(h.add(PRODUCER, pe, 0), TxnReply::Added);
    for id in 1..=n {
        assert!(matches!(
            h.produce(PRODUCER, pe, 0, id),
            TxnReply::Produced { .. }
        ));
    }
    assert_eq!(h.state(), TxnState::Ongoing);
    pe
}

#[test]
fn commit_markers_take_up_offsets() {
    let mut h = Harness::new();
    let pe = open_txn(&mut h, 3);
    assert_eq!(h.end(PRODUCER, pe, true), None, "EndTxn waits for the disk");
    assert_eq!(h.state(), TxnState::PrepareCommit);
    h.settle();
    assert_eq!(h.state(), TxnState::CompleteCommit);
    assert_eq!(
        h.last_txn_reply(PRODUCER),
        Some(TxnReply::Ended { commit: true })
    );
    assert_eq!(h.broker.log_end(OUT, 0), 4, "3 records + 1 commit marker");
    assert_eq!(h.broker.last_stable_offset(OUT, 0), 4);
    let read = h.read(GROUP_RC, READER, IsolationLevel::ReadCommitted);
    assert_eq!(ids(&read), vec![1, 2, 3], "the marker is never delivered");
    assert!(read.iter().all(|r| r.msg.id != MARKER_MSG_ID));
}

#[test]
fn last_stable_offset_blocks_read_committed_until_the_commit() {
    let mut h = Harness::new();
    let pe = open_txn(&mut h, 2);
    assert_eq!(h.broker.last_stable_offset(OUT, 0), 0);
    let rc = h.read(GROUP_RC, READER, IsolationLevel::ReadCommitted);
    assert!(rc.is_empty(), "read_committed stops at the LSO: {rc:?}");
    let ru = h.read(GROUP_RU, READER_RU, IsolationLevel::ReadUncommitted);
    assert_eq!(ids(&ru), vec![1, 2], "read_uncommitted sees the open txn");
    h.replies.clear();
    h.end(PRODUCER, pe, true);
    h.settle();
    // The parked read_committed poll is answered once the marker lands.
    assert_eq!(ids(&h.records_for(READER)), vec![1, 2]);
}

#[test]
fn aborted_records_are_skipped_by_read_committed_only() {
    let mut h = Harness::new();
    let pe = open_txn(&mut h, 2);
    h.end(PRODUCER, pe, false);
    h.settle();
    assert_eq!(h.state(), TxnState::CompleteAbort);
    assert_eq!(h.broker.log_end(OUT, 0), 3, "2 records + 1 abort marker");
    let rc = h.read(GROUP_RC, READER, IsolationLevel::ReadCommitted);
    assert!(rc.is_empty(), "{rc:?}");
    let ru = h.read(GROUP_RU, READER_RU, IsolationLevel::ReadUncommitted);
    assert_eq!(ids(&ru), vec![1, 2], "read_uncommitted reads aborted data");
}

#[test]
fn init_producer_id_bumps_the_epoch_and_fences_the_zombie() {
    let mut h = Harness::new();
    let old = open_txn(&mut h, 1);
    // A new instance with the same transactional.id: the open txn is
    // aborted first (CONCURRENT_TRANSACTIONS until it is), then it gets an
    // epoch one higher.
    let first = h.txn(
        ZOMBIE,
        TxnRequest::InitProducerId {
            txn: 0,
            transaction_timeout_ms: 60_000,
        },
    );
    assert_eq!(
        first,
        Some(TxnReply::Error {
            error: TxnError::ConcurrentTransactions
        })
    );
    h.settle();
    assert_eq!(h.state(), TxnState::CompleteAbort);
    let new = h.init(ZOMBIE);
    assert_eq!(new.0, old.0, "same producer id");
    assert!(new.1 > old.1, "a higher epoch: {new:?} after {old:?}");
    // The old instance wakes up and carries on: every request is refused.
    let fenced = TxnReply::Error {
        error: TxnError::ProducerFenced,
    };
    assert_eq!(h.add(PRODUCER, old, 0), fenced);
    assert_eq!(h.produce(PRODUCER, old, 0, 9), fenced);
    assert_eq!(h.end(PRODUCER, old, true), Some(fenced));
    let rc = h.read(GROUP_RC, READER, IsolationLevel::ReadCommitted);
    assert!(rc.is_empty(), "the zombie's record was aborted: {rc:?}");
}

#[test]
fn transaction_timeout_aborts_and_fences() {
    let mut h = Harness::new();
    let pe = h.init(PRODUCER);
    let req = TxnRequest::InitProducerId {
        txn: 0,
        transaction_timeout_ms: 100,
    };
    let Some(TxnReply::ProducerId { producer_id, epoch }) = h.txn(PRODUCER, req) else {
        panic!("re-init")
    };
    assert_eq!((producer_id, epoch), (pe.0, pe.1 + 1));
    let pe = (producer_id, epoch);
    h.add(PRODUCER, pe, 0);
    h.produce(PRODUCER, pe, 0, 1);
    h.settle();
    assert!(h.now_ms < 99, "the txn began at 0");
    h.tick(99);
    assert_eq!(h.state(), TxnState::Ongoing);
    h.tick(100);
    assert_eq!(h.state(), TxnState::PrepareAbort);
    h.settle();
    assert_eq!(h.state(), TxnState::CompleteAbort);
    assert_eq!(h.broker.last_stable_offset(OUT, 0), 2);
    let late = h.end(PRODUCER, pe, true);
    assert_eq!(
        late,
        Some(TxnReply::Error {
            error: TxnError::ProducerFenced
        })
    );
}

#[test]
fn coordinator_crash_while_ongoing_aborts_on_recovery() {
    let mut h = Harness::new();
    open_txn(&mut h, 2);
    h.settle(); // the records and the Ongoing state are on disk
    h.crash_and_restart();
    // Recovery decides abort (bumping the epoch) and writes the markers.
    assert_eq!(h.state(), TxnState::CompleteAbort);
    assert_eq!(h.broker.log_end(OUT, 0), 3, "2 records + 1 abort marker");
    assert_eq!(h.broker.last_stable_offset(OUT, 0), 3);
    h.settle();
    let rc = h.read(GROUP_RC, READER, IsolationLevel::ReadCommitted);
    assert!(rc.is_empty(), "{rc:?}");
}

#[test]
fn coordinator_crash_before_prepare_commit_is_durable_aborts() {
    let mut h = Harness::new();
    let pe = open_txn(&mut h, 2);
    h.settle();
    h.end(PRODUCER, pe, true);
    h.crash_and_restart(); // PrepareCommit never reached the disk
    h.settle();
    assert_eq!(h.state(), TxnState::CompleteAbort);
    let rc = h.read(GROUP_RC, READER, IsolationLevel::ReadCommitted);
    assert!(rc.is_empty(), "{rc:?}");
}

#[test]
fn coordinator_crash_in_prepare_commit_completes_the_commit() {
    let mut h = Harness::new();
    let pe = open_txn(&mut h, 2);
    h.settle();
    h.end(PRODUCER, pe, true);
    assert!(h.flush_one(), "the PrepareCommit flush");
    // Markers were written in memory; the flush carrying them is in flight.
    assert_eq!(h.broker.log_end(OUT, 0), 3);
    h.crash_and_restart();
    assert_eq!(
        h.state(),
        TxnState::CompleteCommit,
        "recovery wrote markers"
    );
    h.settle();
    let rc = h.read(GROUP_RC, READER, IsolationLevel::ReadCommitted);
    assert_eq!(ids(&rc), vec![1, 2]);
    assert_eq!(h.broker.log_end(OUT, 0), 3, "one marker, not two");
}

#[test]
fn coordinator_crash_in_prepare_abort_completes_the_abort() {
    let mut h = Harness::new();
    let pe = open_txn(&mut h, 2);
    h.settle();
    h.end(PRODUCER, pe, false);
    assert!(h.flush_one(), "the PrepareAbort flush");
    h.crash_and_restart();
    assert_eq!(h.state(), TxnState::CompleteAbort);
    h.settle();
    let rc = h.read(GROUP_RC, READER, IsolationLevel::ReadCommitted);
    assert!(rc.is_empty(), "{rc:?}");
    let ru = h.read(GROUP_RU, READER_RU, IsolationLevel::ReadUncommitted);
    assert_eq!(ids(&ru), vec![1, 2]);
}

#[test]
fn offsets_committed_in_a_transaction_count_only_if_it_commits() {
    for commit in [true, false] {
        let mut h = Harness::new();
        // A member of the input group, so the group exists.
        h.join(READER, GROUP_RC, IN, IsolationLevel::ReadCommitted);
        let (generation, _) = h.broker.members(GROUP_RC);
        let pe = open_txn(&mut h, 1);
        let req = offset_commit(pe, READER, generation, 7);
        assert_eq!(h.txn(PRODUCER, req), Some(TxnReply::Added));
        assert_eq!(h.broker.committed(GROUP_RC, 0), None, "not before the end");
        h.end(PRODUCER, pe, commit);
        h.settle();
        let want = commit.then_some(7);
        assert_eq!(h.broker.committed(GROUP_RC, 0), want, "commit={commit}");
        // And it survives a crash.
        h.crash_and_restart();
        assert_eq!(h.broker.committed(GROUP_RC, 0), want, "after restart");
    }
}

/// The checker's inputs from the harness: transactional appends, markers,
/// and reads (all at the harness's clock).
fn observe(h: &Harness, pid: u64, reads: &[LogRecord], reader: ClientId) -> Vec<TxnFinding> {
    let writes: Vec<TxnWrite> = (0..h.broker.log_end(OUT, 0))
        .filter_map(|offset| {
            let m = h.markers.iter().any(|k| k.offset == offset);
            (!m).then_some(TxnWrite {
                msg: offset + 1,
                producer_id: pid,
                topic: OUT,
                partition: 0,
                offset,
                time_ms: 0,
            })
        })
        .collect();
    let reads: Vec<TxnRead> = reads
        .iter()
        .map(|r| TxnRead {
            reader,
            msg: r.msg.id,
            topic: r.topic,
            partition: r.partition,
            offset: r.offset,
            time_ms: 1,
        })
        .collect();
    check::txn::check(&writes, &h.markers, &reads)
}

#[test]
fn negative_control_read_uncommitted_of_an_aborted_txn_is_g1a() {
    let mut h = Harness::new();
    let pe = open_txn(&mut h, 2);
    let ru = h.read(GROUP_RU, READER_RU, IsolationLevel::ReadUncommitted);
    h.end(PRODUCER, pe, false);
    h.settle();
    h.markers = vec![TxnMarker {
        producer_id: pe.0,
        topic: OUT,
        partition: 0,
        offset: 2,
        commit: false,
        time_ms: h.now_ms,
    }];
    let findings = observe(&h, pe.0, &ru, READER_RU);
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert!(findings
        .iter()
        .all(|f| matches!(f, TxnFinding::AbortedRead { .. })));
    let text = findings[0].to_string();
    assert!(text.starts_with("G1a: c3 read m1 at p0@0"), "{text}");
    let rc = h.read(GROUP_RC, READER, IsolationLevel::ReadCommitted);
    assert!(observe(&h, pe.0, &rc, READER).is_empty());
}

#[test]
fn negative_control_read_uncommitted_before_the_commit_is_precommitted_read() {
    let mut h = Harness::new();
    let pe = open_txn(&mut h, 1);
    let ru = h.read(GROUP_RU, READER_RU, IsolationLevel::ReadUncommitted);
    let found = observe(&h, pe.0, &ru, READER_RU);
    assert!(
        matches!(
            found[..],
            [TxnFinding::PrecommittedRead { commit: None, .. }]
        ),
        "{found:?}"
    );
    h.end(PRODUCER, pe, true);
    h.settle();
    h.markers = vec![TxnMarker {
        producer_id: pe.0,
        topic: OUT,
        partition: 0,
        offset: 1,
        commit: true,
        time_ms: 5,
    }];
    let found = observe(&h, pe.0, &ru, READER_RU);
    assert!(
        matches!(
            found[..],
            [TxnFinding::PrecommittedRead {
                commit: Some(_),
                ..
            }]
        ),
        "{found:?}"
    );
    assert!(found[0].to_string().contains("committed only later"));
}

/// KIP-447, the group's half: `TxnOffsetCommit` names the consumer's member
/// id and generation, and the group coordinator refuses a stale one, so a
/// member that lost its partitions in a rebalance cannot commit their
/// offsets in a transaction. The transaction may still commit; the offset
/// never applies.
#[test]
fn txn_offset_commit_from_a_stale_member_is_fenced_and_never_applies() {
    let mut h = Harness::new();
    h.join(READER, GROUP_RC, IN, IsolationLevel::ReadCommitted);
    let (old, _) = h.broker.members(GROUP_RC);
    h.join(READER_RU, GROUP_RC, IN, IsolationLevel::ReadCommitted);
    let (new, _) = h.broker.members(GROUP_RC);
    let pe = open_txn(&mut h, 1);
    let offset_commit = |h: &mut Harness, member, generation| match h
        .txn(PRODUCER, offset_commit(pe, member, generation, 7))
    {
        Some(TxnReply::Error {
            error: TxnError::OffsetCommit(e),
        }) => Some(e),
        other => panic!("TxnOffsetCommit answered {other:?}"),
    };
    // READER has not polled the new generation yet, then it has.
    let in_progress = offset_commit(&mut h, READER, old);
    assert_eq!(in_progress, Some(CommitError::RebalanceInProgress));
    h.poll(READER, GROUP_RC, new);
    assert_eq!(
        offset_commit(&mut h, READER, old),
        Some(CommitError::IllegalGeneration)
    );
    assert_eq!(
        offset_commit(&mut h, ZOMBIE, new),
        Some(CommitError::UnknownMemberId)
    );
    assert_eq!(h.end(PRODUCER, pe, true), None, "answered once durable");
    h.settle();
    assert_eq!(h.state(), TxnState::CompleteCommit);
    assert_eq!(h.broker.committed(GROUP_RC, 0), None);
}

/// KIP-447, the reader's half: a member that gets a partition while a
/// transaction holding that partition's offsets is open does not start
/// from the committed offset (the transaction may move it): its fetch waits
/// (`UNSTABLE_OFFSET_COMMIT`) and starts where the transaction leaves it.
#[test]
fn a_new_owner_waits_for_the_open_transaction_holding_its_offsets() {
    for commit in [true, false] {
        let mut h = Harness::new();
        for id in 101..=105 {
            let req = LogRequest::Produce {
                topic: IN,
                partition: 0,
                msg: msg(id),
                acks: Acks::One,
            };
            h.send(PRODUCER, req);
        }
        h.join(READER, GROUP_RC, IN, IsolationLevel::ReadCommitted);
        let (generation, _) = h.broker.members(GROUP_RC);
        let pe = open_txn(&mut h, 1);
        let req = offset_commit(pe, READER, generation, 3);
        assert_eq!(h.txn(PRODUCER, req), Some(TxnReply::Added));
        // READER leaves; READER_RU takes partition 0 while the offset is pending.
        h.send(READER, LogRequest::LeaveGroup { group: GROUP_RC });
        h.join(READER_RU, GROUP_RC, IN, IsolationLevel::ReadCommitted);
        let (now, _) = h.broker.members(GROUP_RC);
        assert!(h.poll(READER_RU, GROUP_RC, now).is_empty(), "waits");
        let unstable = LogNote::UnstableOffsetCommit {
            group: GROUP_RC,
            member: READER_RU,
            partition: 0,
        };
        assert!(h.notes.contains(&unstable));
        h.end(PRODUCER, pe, commit);
        h.settle();
        let from = h.records_for(READER_RU).first().map(|r| r.offset);
        let want = if commit { 3 } else { 0 };
        assert_eq!(from, Some(want), "commit={commit}");
    }
}
