//! Compare mode: one scenario, seed and fault schedule run under two
//! settings side by side, in lockstep on one clock.
//!
//! A [`Compare`] holds two [`Session`]s built from the same playground
//! [`Setup`] but for the one setting its [`Pair`] names: the delivery
//! guarantee, the log producer's `acks`, or the broker itself. Both
//! advance to the same virtual instant, and a live action (a crash,
//! dropped confirms...) goes to both at that instant, so what differs
//! between the panes is that setting alone. [`Compare::diff`] is the row
//! between them: the counters that differ and the finding kinds only one
//! side has.

use crate::app::playground::{BrokerKind, ConsumerSettings, ProducerSettings, Setup, SetupError};
use crate::app::session::Session;
use crate::app::share::LiveAction;
use crate::config::{Acks, BrokerSpec, ClientSpec, Guarantee};

/// Virtual ms both panes run between two looks at the frame budget: short
/// enough that the second pane's share stays within the frame, long enough
/// that looking costs nothing.
pub const SLICE_MS: u64 = 10;

/// What a comparison changes between its panes (everything else, the seed
/// included, is the same on both sides).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pair {
    /// At least once against exactly once (idempotent), on the in-memory
    /// queue: dropped confirms make retries, and only one side dedups.
    Guarantee,
    /// `acks=1` against `acks=all` on the log: a crash takes the unflushed
    /// tail, which only `acks=1` had acknowledged.
    Acks,
    /// The in-memory queue against the log, both at least once: a crash
    /// takes the queue's backlog, while the log keeps what it confirmed.
    Broker,
}

impl Pair {
    /// Every comparison the page offers, in its order.
    pub const ALL: [Pair; 3] = [Pair::Guarantee, Pair::Acks, Pair::Broker];

    /// The two panes' names, left then right.
    pub fn sides(self) -> [&'static str; 2] {
        match self {
            Pair::Guarantee => ["at least once", "exactly once (idempotent)"],
            Pair::Acks => ["acks=1", "acks=all"],
            Pair::Broker => ["in-memory queue", "log"],
        }
    }

    /// The live fault that shows the difference best, said on the page.
    pub fn fault(self) -> LiveAction {
        match self {
            Pair::Guarantee => LiveAction::DropAcks,
            Pair::Acks | Pair::Broker => LiveAction::CrashBroker,
        }
    }

    /// The setup both panes start from by default: the playground's own,
    /// from `seed`. The acks pair has a fast producer and a consumer that
    /// keeps up, so a crash's lost tail shows while the run plays, not at
    /// its end.
    pub fn base(self, seed: u64) -> Setup {
        let setup = Setup {
            seed,
            ..Setup::default()
        };
        if self != Pair::Acks {
            return setup;
        }
        Setup {
            producers: vec![ProducerSettings {
                rate_per_s: 200,
                ..ProducerSettings::default()
            }],
            consumers: vec![ConsumerSettings {
                processing_ms: 2,
                ..ConsumerSettings::default()
            }],
            ..setup
        }
    }

    /// `base` with this side's setting; the acks pair adds the acks the
    /// side names (after the guarantee chose its own) and a slow disk,
    /// which leaves an unflushed tail for a crash to take.
    fn session(self, side: usize, base: &Setup) -> Result<Session, SetupError> {
        let (broker, delivery) = match (self, side) {
            (Pair::Guarantee, 0) => (BrokerKind::Queue, Guarantee::AtLeastOnce),
            (Pair::Guarantee, _) => (BrokerKind::Queue, Guarantee::ExactlyOnceIdempotent),
            (Pair::Acks, _) | (Pair::Broker, 1) => (BrokerKind::Log, Guarantee::AtLeastOnce),
            (Pair::Broker, _) => (BrokerKind::Queue, Guarantee::AtLeastOnce),
        };
        let setup = Setup {
            broker,
            delivery,
            ..base.clone()
        };
        if self != Pair::Acks {
            return Session::from_setup(&setup).map(Session::without_checkpoints);
        }
        let mut scenario = setup.to_scenario()?;
        if let BrokerSpec::Log(log) = &mut scenario.broker {
            log.fsync_latency_ms = 30;
        }
        for client in &mut scenario.clients {
            if let ClientSpec::LogProducer(p) = client {
                p.acks = if side == 0 { Acks::One } else { Acks::All };
            }
        }
        Ok(Session::from_scenario(self.sides()[side], &scenario).without_checkpoints())
    }
}

/// The frame benchmark's load for Compare (issue 15 item 4): two panes of
/// 20 clients each, 10 producers at 400 msgs/s (4,000 msgs/s a pane) and
/// 10 consumers (2 ms processing, `prefetch` 50), from seed 1.
pub fn bench_setup() -> Setup {
    Setup::busy(10)
}

/// Two runs of one setup under two settings (see the module notes).
pub struct Compare {
    /// The left pane's run.
    pub left: Session,
    /// The right pane's run.
    pub right: Session,
}

/// A counter whose value differs between the panes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountDiff {
    /// The checker's name for it (`duplicated`, `publish_retries`...).
    pub name: String,
    /// Its value in the left pane.
    pub left: u64,
    /// Its value in the right pane.
    pub right: u64,
}

/// What differs between the panes at the current instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Counters that differ, by name.
    pub counts: Vec<CountDiff>,
    /// Finding kinds the left pane has and the right has not.
    pub only_left: Vec<&'static str>,
    /// Finding kinds the right pane has and the left has not.
    pub only_right: Vec<&'static str>,
}

impl Compare {
    /// The two runs of `pair` from `seed`. An error names the control
    /// that cannot run.
    pub fn new(pair: Pair, seed: u64) -> Result<Compare, SetupError> {
        Compare::from_base(pair, &pair.base(seed))
    }

    /// The two runs of `pair` from `base` (its clients and seed; each side
    /// sets its own broker and guarantee). An error names the control that
    /// cannot run.
    pub fn from_base(pair: Pair, base: &Setup) -> Result<Compare, SetupError> {
        Ok(Compare {
            left: pair.session(0, base)?,
            right: pair.session(1, base)?,
        })
    }

    /// The shared clock, in virtual ms.
    pub fn now_ms(&self) -> u64 {
        self.left.world().now_ms()
    }

    /// When the runs end (both last as long).
    pub fn end_ms(&self) -> u64 {
        self.left.world().end_ms()
    }

    /// Advances both runs by up to `virtual_ms`, stopping early when
    /// `over_budget` says the frame is spent. They go in slices of
    /// [`SLICE_MS`], the left to the slice's end and then the right to the
    /// same instant, so the panes stay in lockstep and the budget counts
    /// both (the right no longer runs after the left has spent it all).
    /// Returns the virtual ms covered.
    pub fn advance(&mut self, virtual_ms: u64, over_budget: &mut dyn FnMut() -> bool) -> u64 {
        let start_ms = self.now_ms();
        let target_ms = start_ms.saturating_add(virtual_ms).min(self.end_ms());
        while self.now_ms() < target_ms {
            let before_ms = self.now_ms();
            let slice_ms = SLICE_MS.min(target_ms - before_ms);
            self.left.advance(slice_ms, &mut || false);
            let behind_ms = self.now_ms().saturating_sub(self.right.world().now_ms());
            self.right.advance(behind_ms, &mut || false);
            if self.now_ms() == before_ms || over_budget() {
                break;
            }
        }
        self.left.refresh_summary();
        self.right.refresh_summary();
        debug_assert_eq!(self.now_ms(), self.right.world().now_ms(), "one clock");
        self.now_ms() - start_ms
    }

    /// Does the fault `action` in both panes at the current instant, or in
    /// neither: both panes check it first ([`Session::check_fault`]), so a
    /// refusal by either side leaves both runs as they were. Only faults go
    /// to both panes (anything else is refused).
    pub fn act(&mut self, action: LiveAction) -> Result<(), String> {
        for (pane, name) in [(&self.left, "left"), (&self.right, "right")] {
            pane.check_fault(&action)
                .map_err(|e| format!("The {name} pane refused it: {e}"))?;
        }
        self.left.act(action.clone())?;
        let done = self.right.act(action);
        debug_assert!(done.is_ok(), "checked before: {done:?}");
        done.map_err(|e| format!("The right pane refused it: {e}"))
    }

    /// The counters that differ and the finding kinds only one side has.
    pub fn diff(&self) -> Diff {
        let (l, r) = (self.left.summary(), self.right.summary());
        let as_map = |c: &crate::check::Counts| match serde_json::to_value(c) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let (lc, rc) = (as_map(&l.counts), as_map(&r.counts));
        let counts = lc
            .iter()
            .filter(|(name, _)| name.as_str() != "last_processed_ms")
            .filter_map(|(name, lv)| {
                let left = lv.as_u64()?;
                let right = rc.get(name).and_then(|v| v.as_u64()).unwrap_or(0);
                (left != right).then(|| CountDiff {
                    name: name.clone(),
                    left,
                    right,
                })
            })
            .collect();
        let kinds = |s: &crate::check::Summary| {
            let mut k: Vec<&'static str> = s.findings.iter().map(|f| f.kind).collect();
            k.sort_unstable();
            k.dedup();
            k
        };
        let (lk, rk) = (kinds(l), kinds(r));
        Diff {
            counts,
            only_left: lk.iter().filter(|k| !rk.contains(k)).copied().collect(),
            only_right: rk.iter().filter(|k| !lk.contains(k)).copied().collect(),
        }
    }
}
