//! Compare mode: one scenario, seed and fault schedule run under two
//! delivery guarantees side by side, in lockstep on one clock.
//!
//! A [`Compare`] holds two [`Session`]s built from the same playground
//! [`Setup`] but for its Delivery setting. Both advance to the same virtual
//! instant, and a live action (a crash, dropped confirms...) goes to both
//! at that instant, so what differs between the panes is the guarantee
//! alone. [`Compare::diff`] is the row between them: the counters that
//! differ and the finding kinds only one side has.

use crate::app::playground::{Setup, SetupError};
use crate::app::session::Session;
use crate::app::share::LiveAction;
use crate::config::Guarantee;

/// Two runs of one setup under two guarantees (see the module notes).
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
    /// `setup` run twice, under `left` and under `right` (its own Delivery
    /// setting is ignored). An error names the control that cannot run.
    pub fn new(setup: &Setup, left: Guarantee, right: Guarantee) -> Result<Compare, SetupError> {
        let under = |delivery| {
            Session::from_setup(&Setup {
                delivery,
                ..setup.clone()
            })
        };
        Ok(Compare {
            left: under(left)?,
            right: under(right)?,
        })
    }

    /// The shared clock, in virtual ms.
    pub fn now_ms(&self) -> u64 {
        self.left.world().now_ms()
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
