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

    /// The playground's default setup with this side's setting; the log
    /// pairs add the acks the side names after the guarantee chose its own.
    fn session(self, side: usize, seed: u64) -> Result<Session, SetupError> {
        let (broker, delivery) = match (self, side) {
            (Pair::Guarantee, 0) => (BrokerKind::Queue, Guarantee::AtLeastOnce),
            (Pair::Guarantee, _) => (BrokerKind::Queue, Guarantee::ExactlyOnceIdempotent),
            (Pair::Acks, _) | (Pair::Broker, 1) => (BrokerKind::Log, Guarantee::AtLeastOnce),
            (Pair::Broker, _) => (BrokerKind::Queue, Guarantee::AtLeastOnce),
        };
        let setup = Setup {
            broker,
            delivery,
            seed,
            ..Setup::default()
        };
        if self != Pair::Acks {
            return Session::from_setup(&setup);
        }
        // A fast producer and a slow disk leave an unflushed tail for a
        // crash to take; a consumer that keeps up reads past the gap soon,
        // so the loss shows while the run plays, not at its end.
        let mut scenario = Setup {
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
        .to_scenario()?;
        if let BrokerSpec::Log(log) = &mut scenario.broker {
            log.fsync_latency_ms = 30;
        }
        for client in &mut scenario.clients {
            if let ClientSpec::LogProducer(p) = client {
                p.acks = if side == 0 { Acks::One } else { Acks::All };
            }
        }
        Ok(Session::from_scenario(self.sides()[side], &scenario))
    }
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
        Ok(Compare {
            left: pair.session(0, seed)?,
            right: pair.session(1, seed)?,
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
    /// `over_budget` says the frame is spent: the left goes first, and the
    /// right then goes to the same instant, so the panes stay in lockstep.
    pub fn advance(&mut self, virtual_ms: u64, over_budget: &mut dyn FnMut() -> bool) -> u64 {
        let covered = self.left.advance(virtual_ms, over_budget);
        let behind_ms = self.now_ms().saturating_sub(self.right.world().now_ms());
        self.right.advance(behind_ms, &mut || false);
        self.left.refresh_summary();
        self.right.refresh_summary();
        debug_assert_eq!(self.now_ms(), self.right.world().now_ms(), "one clock");
        covered
    }

    /// Does `action` in both panes at the current instant. Refused (and
    /// done in neither) when the left pane refuses it; a refusal by the
    /// right alone is reported after the left has done it.
    pub fn act(&mut self, action: LiveAction) -> Result<(), String> {
        self.left.act(action.clone())?;
        self.right
            .act(action)
            .map_err(|e| format!("The right pane refused it: {e}"))
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
