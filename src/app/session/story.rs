//! The story the page shows when a finding is selected ("Show me"): the
//! finding's causal chain, read from the history by the checker's one rule
//! for every kind ([`crate::check::chain`]), each event with its sentence.
//! A message no finding is about gets its plain story instead: every event
//! that names it.

use super::{EventRow, Session, CHAIN_ROWS_MAX};
use crate::broker::MsgId;
use crate::check::chain::causal_chain;
use crate::check::Finding;

/// Histories up to this many events get a finding's chain recomputed as
/// soon as they grow; longer ones once they grew by an eighth, so a
/// selected finding never costs a full scan per frame of a long run.
const EXACT_CHAIN_EVENTS_MAX: usize = 200_000;

/// See [`Session::chain`]: the chain shown, and how much of the history
/// it was read from.
#[derive(Debug, Default)]
pub(super) struct ChainCache {
    /// What the chain is of: a message id, or a finding's kind.
    focus: String,
    /// Whether `rows` is a finding's causal chain (else a message's story).
    of_finding: bool,
    /// History events already read.
    scanned: usize,
    /// The rows shown.
    rows: Vec<EventRow>,
}

impl Session {
    /// The finding `focus` selects: the first whose first message is
    /// `focus`, or, for a finding about no message, whose kind is `focus`.
    pub fn finding_for(&self, focus: &str) -> Option<&Finding> {
        self.summary()
            .findings
            .iter()
            .find(|f| match f.msgs.first() {
                Some(m) => m == focus,
                None => f.kind == focus,
            })
    }

    /// The rows of `focus`'s story: the causal chain of the finding it
    /// selects, or else every event that names message `focus`, in order.
    pub(super) fn chain(&self, focus: &str) -> Vec<EventRow> {
        let mut cache = self.chain_cache.borrow_mut();
        let finding = self.finding_for(focus);
        if cache.focus != focus || cache.of_finding != finding.is_some() {
            *cache = ChainCache {
                focus: focus.to_string(),
                of_finding: finding.is_some(),
                ..ChainCache::default()
            };
        }
        let events = self.world.history().events();
        assert!(cache.scanned <= events.len(), "the history only grows");
        match finding {
            Some(f) => {
                let grown = events.len() - cache.scanned;
                let due = cache.scanned == 0
                    || (grown > 0
                        && (events.len() <= EXACT_CHAIN_EVENTS_MAX || grown * 8 >= cache.scanned));
                if due {
                    cache.rows = causal_chain(events, f)
                        .into_iter()
                        .map(|i| self.row(i, &events[i]))
                        .collect();
                    cache.scanned = events.len();
                }
            }
            None => self.extend_story(&mut cache, focus),
        }
        cache.rows.clone()
    }

    /// Every event that names message `msg` ([`crate::history::Entry::msg`]):
    /// its story from publish through deliveries, crashes and requeues to
    /// its fate. Only the events added since the last call are read. A name
    /// that is no message id (`m` and a number) has no story.
    fn extend_story(&self, cache: &mut ChainCache, msg: &str) {
        let Some(id) = msg.strip_prefix('m').and_then(|n| n.parse::<MsgId>().ok()) else {
            return;
        };
        let events = self.world.history().events();
        for (i, ev) in events.iter().enumerate().skip(cache.scanned) {
            if cache.rows.len() == CHAIN_ROWS_MAX {
                break;
            }
            if ev.entry.mentions(id) {
                cache.rows.push(self.row(i, ev));
            }
        }
        cache.scanned = events.len();
    }
}
