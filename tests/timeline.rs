//! Time travel (issue 15 item 1): seeking rebuilds the run at an instant
//! from determinism, so a seek equals a fresh run cut at the same instant
//! (history hash and checker summary) for every bundled scenario at 10
//! instants; going back and running forward again meets the recorded future
//! exactly; acting in the past forks the run, and Undo brings the old
//! future back; the checkpoints seeks restore keep to their limits.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::app::playground::Setup;
use brokerlab::app::session::Session;
use brokerlab::app::share::{LiveAction, BUNDLED};
use brokerlab::world::World;

fn run_ms(s: &mut Session, ms: u64) {
    s.advance(ms, &mut || false);
    s.refresh_summary();
}

/// A fresh run of `name` cut at `t_ms`.
fn fresh_cut(name: &str, text: &str, t_ms: u64) -> Session {
    let mut s = Session::from_json(name, text).expect("bundled scenarios load");
    run_ms(&mut s, t_ms);
    s
}

/// Ten instants in `0..=end_ms`, from a fixed xorshift stream.
fn instants(end_ms: u64, seed: u64) -> Vec<u64> {
    let mut x = seed | 1;
    (0..10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % (end_ms + 1)
        })
        .collect()
}

#[test]
fn a_seek_equals_a_fresh_run_cut_at_the_same_instant_for_every_bundled_scenario() {
    for (i, (stem, text)) in BUNDLED.iter().enumerate() {
        let name = format!("{stem}.json");
        let mut s = Session::from_json(&name, text).unwrap();
        let end_ms = s.world().end_ms();
        run_ms(&mut s, end_ms);
        for t in instants(end_ms, 0x9e37_79b9 + i as u64) {
            s.seek_ms(t)
                .unwrap_or_else(|e| panic!("{stem} at {t}: {e}"));
            let fresh = fresh_cut(&name, text, t);
            assert_eq!(s.world().now_ms(), t, "{stem}");
            assert_eq!(s.fingerprint(), fresh.fingerprint(), "{stem} at {t} ms");
            assert_eq!(s.summary(), fresh.summary(), "{stem} at {t} ms");
        }
        // The fresh cut is the world's own `run_until`, checked once.
        let t = end_ms / 2;
        s.seek_ms(t).unwrap();
        let mut world = World::from_json(text).unwrap();
        world.run_until(t).unwrap();
        let hash = format!("{:016x}", world.history().hash(world.names()));
        assert_eq!(s.fingerprint(), hash, "{stem} at {t}: the world's own cut");
        s.seek_end().unwrap();
        assert_eq!(s.world().now_ms(), end_ms, "{stem}: jump to the end");
    }
}

/// A playground run with live actions; its fingerprint at the head.
fn acted_run() -> (Session, String) {
    let mut s = Session::from_setup(&Setup::default()).unwrap();
    run_ms(&mut s, 2_000);
    s.act(LiveAction::CrashClient("c1".into())).unwrap();
    s.step_once();
    s.act(LiveAction::DropAcks).unwrap();
    run_ms(&mut s, 1_500);
    s.act(LiveAction::RestartClient("c1".into())).unwrap();
    s.act(LiveAction::ToggleSlow("c2".into())).unwrap();
    run_ms(&mut s, 2_500);
    let head = s.fingerprint();
    (s, head)
}

#[test]
fn back_and_forward_again_meets_the_recorded_future_exactly() {
    let (mut s, head) = acted_run();
    let head_mark = s.head();
    for t in [0, 1_000, 2_000, 2_001, 3_700, 5_000] {
        s.seek_ms(t).unwrap();
        assert_eq!(s.head(), head_mark, "seeking never moves the head");
        s.seek_end().unwrap();
        assert_eq!(s.fingerprint(), head, "jump to the end from {t}");
    }
    // Back, then run forward: the recorded actions apply at their marks.
    s.seek_ms(1_000).unwrap();
    s.advance(head_mark.time_ms - 1_000, &mut || false);
    assert_eq!(s.mark(), head_mark);
    assert_eq!(s.fingerprint(), head, "Play into the recorded future");
    // Step by step through the action taken between two events.
    s.seek_ms(2_000).unwrap();
    for _ in 0..3 {
        s.step_once();
    }
    s.seek_end().unwrap();
    assert_eq!(s.fingerprint(), head);
}

#[test]
fn acting_in_the_past_forks_and_undo_brings_the_old_future_back() {
    let (mut s, head) = acted_run();
    s.seek_ms(3_000).unwrap();
    let before_fork = s.fingerprint();
    assert!(!s.can_undo());
    s.act(LiveAction::CrashBroker).unwrap();
    assert!(s.can_undo(), "the old future can come back");
    assert_eq!(s.head(), s.mark(), "the old future is dropped");
    s.seek_end().unwrap();
    assert_ne!(s.fingerprint(), head, "a new branch");
    s.undo_fork().unwrap();
    assert_eq!(s.fingerprint(), before_fork, "back to just before the fork");
    assert!(!s.can_undo());
    s.seek_end().unwrap();
    assert_eq!(s.fingerprint(), head, "with the old future ahead");
}

#[test]
fn a_shared_link_of_a_run_in_the_past_keeps_its_instant() {
    let (mut s, _) = acted_run();
    s.seek_ms(2_500).unwrap();
    let link = s.share_link().unwrap();
    let (opened, notice) = Session::open_link(&link);
    assert_eq!(notice, None);
    assert_eq!(opened.mark(), s.mark());
    assert_eq!(opened.fingerprint(), s.fingerprint());
}

#[test]
fn checkpoints_stay_within_their_limits_and_a_fork_drops_those_after_it() {
    use brokerlab::app::session::{CHECKPOINTS_BYTES_MAX, CHECKPOINTS_MAX};
    let (mut s, head) = acted_run();
    let (bytes, count) = s.checkpoint_memory();
    assert!(count > 5, "one about every second of a 6 s run: {count}");
    assert!(count <= CHECKPOINTS_MAX && bytes <= CHECKPOINTS_BYTES_MAX);
    assert!(bytes > 0, "a checkpoint holds a copy of the run");
    // Back, then forward onto a checkpoint further on: same run.
    s.seek_ms(500).unwrap();
    s.seek_ms(5_500).unwrap();
    s.seek_end().unwrap();
    assert_eq!(s.fingerprint(), head);
    s.seek_ms(2_500).unwrap();
    s.act(LiveAction::CrashBroker).unwrap();
    let (_, after_fork) = s.checkpoint_memory();
    assert!(after_fork < count, "the old future's checkpoints are gone");
}

/// Where the seek benchmark seeks, back and forth. Off the whole seconds
/// on purpose: a run advanced a second at a time takes its checkpoints on
/// them, and a seek onto one replays nothing. x_999 ms is the worst case,
/// a whole spacing (1 s) of replay.
const SEEK_INSTANTS_MS: [u64; 7] = [4_999, 30_500, 58_999, 15_250, 45_750, 1_234, 59_999];

/// The seek benchmark's load natively (the browser's is
/// `tests/web_seek_bench.rs`, printed by `scripts/bench.sh`):
/// `cargo test --profile sweep --test timeline -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
fn seek_time_natively() {
    let mut s = Session::from_setup(&brokerlab::app::session::seek_bench_setup()).unwrap();
    let start = std::time::Instant::now();
    s.advance(60_000, &mut || false);
    let run = start.elapsed();
    let mut seeks = Vec::new();
    for t in SEEK_INSTANTS_MS {
        let start = std::time::Instant::now();
        s.seek_ms(t).unwrap();
        seeks.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let mean = seeks.iter().sum::<f64>() / seeks.len() as f64;
    let max = seeks.iter().copied().fold(0.0, f64::max);
    let (bytes, count) = s.checkpoint_memory();
    println!(
        "{{\"bench\":\"seek\",\"platform\":\"native\",\"events\":{},\"run_ms\":{},\"seek_ms_mean\":{mean:.1},\"seek_ms_max\":{max:.1},\"seeks_ms\":{seeks:.0?},\"checkpoints\":{count},\"checkpoint_bytes\":{bytes}}}",
        s.head().events,
        run.as_millis(),
    );
}
