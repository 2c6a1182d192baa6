//! The group coordinator's side of at most once: an `OffsetCommit` is
//! fenced by the member's generation, and a `commitSync` is answered only
//! once its offset is durable. Driven request by request (no world, no
//! network) so each refusal can be produced exactly.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::broker::log::{CommitError, LogReply, LogRequest};
use brokerlab::broker::ClientId;
use brokerlab::config::IsolationLevel;

#[path = "support/log_driver.rs"]
mod log_driver;
use log_driver::{topic, Driver};

const FSYNC_MS: u64 = 5;
const GROUP: u16 = 0;
const A: ClientId = 0;
const B: ClientId = 1;
const STRANGER: ClientId = 2;

fn coordinator() -> Driver {
    Driver::new(vec![topic("t", 2)], 1, FSYNC_MS)
}

fn join(d: &mut Driver, member: ClientId) -> u32 {
    d.join(member, GROUP, 0, IsolationLevel::ReadUncommitted);
    d.broker.members(GROUP).0
}

/// The member's first poll of `generation`: it has applied its assignment.
fn poll(d: &mut Driver, member: ClientId, generation: u32) {
    d.poll(member, GROUP, generation);
}

/// A `commitSync` of partition 0: returns the answer if it came at once.
fn commit_sync(d: &mut Driver, member: ClientId, generation: u32, offset: u64) -> Option<LogReply> {
    d.replies.clear();
    let req = LogRequest::Commit {
        group: GROUP,
        generation,
        partition: 0,
        offset,
        reply: true,
    };
    d.send(member, req);
    commit_answer(d, member)
}

fn commit_answer(d: &Driver, to: ClientId) -> Option<LogReply> {
    let mut answers = d
        .replies
        .iter()
        .filter(|(c, r)| *c == to && matches!(r, LogReply::CommitResponse { .. }));
    answers.next().map(|(_, r)| *r)
}

fn refused(error: CommitError, offset: u64) -> Option<LogReply> {
    Some(LogReply::CommitResponse {
        partition: 0,
        offset,
        error: Some(error),
    })
}

#[test]
fn a_commit_sync_is_answered_only_once_its_offset_is_durable() {
    let mut d = coordinator();
    let gen = join(&mut d, A);
    poll(&mut d, A, gen);
    assert_eq!(commit_sync(&mut d, A, gen, 3), None, "not before the fsync");
    assert_eq!(d.broker.committed(GROUP, 0), Some(3), "applied in memory");
    d.settle();
    let ok = LogReply::CommitResponse {
        partition: 0,
        offset: 3,
        error: None,
    };
    assert_eq!(commit_answer(&d, A), Some(ok));
}

#[test]
fn a_crash_before_the_fsync_loses_the_commit_and_its_answer() {
    let mut d = coordinator();
    let gen = join(&mut d, A);
    poll(&mut d, A, gen);
    commit_sync(&mut d, A, gen, 3);
    d.settle();
    commit_sync(&mut d, A, gen, 7);
    d.crash_and_restart();
    d.settle();
    assert_eq!(commit_answer(&d, A), None, "the member never hears of 7");
    assert_eq!(
        d.broker.committed(GROUP, 0),
        Some(3),
        "the durable one stays"
    );
}

#[test]
fn commits_from_an_old_generation_or_a_non_member_are_refused_and_change_nothing() {
    let mut d = coordinator();
    let old = join(&mut d, A);
    poll(&mut d, A, old);
    commit_sync(&mut d, A, old, 2);
    d.settle();
    // B joins: a rebalance. A has not polled the new generation yet.
    let new = join(&mut d, B);
    assert!(new > old);
    let in_progress = refused(CommitError::RebalanceInProgress, 5);
    assert_eq!(commit_sync(&mut d, A, old, 5), in_progress);
    // A applied the new assignment (its poll); a late old commit is illegal.
    poll(&mut d, A, new);
    let illegal = refused(CommitError::IllegalGeneration, 6);
    assert_eq!(commit_sync(&mut d, A, old, 6), illegal);
    let unknown = refused(CommitError::UnknownMemberId, 9);
    assert_eq!(commit_sync(&mut d, STRANGER, new, 9), unknown);
    d.settle();
    assert_eq!(d.broker.committed(GROUP, 0), Some(2));
    // The current generation still commits.
    commit_sync(&mut d, A, new, 4);
    d.settle();
    assert_eq!(d.broker.committed(GROUP, 0), Some(4));
}
