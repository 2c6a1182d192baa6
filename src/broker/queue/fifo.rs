//! SQS FIFO's deduplication window (`MessageDeduplicationId`).

use std::collections::{BTreeMap, VecDeque};

/// SQS FIFO's deduplication interval: 5 minutes, in virtual ms.
pub const SQS_DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;
/// Ids one FIFO queue's window holds at once. Bound: messages accepted within
/// 5 minutes; crossing it means a runaway run.
pub const SQS_DEDUP_IDS_MAX: usize = 10_000_000;

/// SQS FIFO's `MessageDeduplicationId`: a publish carrying an id that was
/// accepted within the last [`SQS_DEDUP_WINDOW_MS`] is acknowledged as if it
/// worked but not enqueued again. After the window the same id is new again,
/// so a retry that comes more than 5 minutes late is a duplicate.
#[derive(Clone, Debug, Default)]
pub struct DedupWindow {
    /// Id → when it was accepted. Bound: [`SQS_DEDUP_IDS_MAX`].
    seen: BTreeMap<u64, u64>,
    /// (accepted at, id), oldest first, for expiry.
    order: VecDeque<(u64, u64)>,
}

impl DedupWindow {
    /// True when `id` was accepted within the window (drop the publish);
    /// otherwise remembers it from `now_ms` and returns false.
    pub fn is_duplicate(&mut self, now_ms: u64, id: u64) -> bool {
        while self
            .order
            .front()
            .is_some_and(|(at, _)| at + SQS_DEDUP_WINDOW_MS <= now_ms)
        {
            let (at, old) = self.order.pop_front().expect("checked");
            if self.seen.get(&old) == Some(&at) {
                self.seen.remove(&old);
            }
        }
        if self.seen.contains_key(&id) {
            return true;
        }
        self.seen.insert(id, now_ms);
        self.order.push_back((now_ms, id));
        assert!(
            self.seen.len() <= SQS_DEDUP_IDS_MAX,
            "dedup window over bound"
        );
        false
    }
}

#[cfg(test)]
mod window_tests {
    use super::*;

    #[test]
    fn five_minutes_then_new_again() {
        let mut w = DedupWindow::default();
        assert!(!w.is_duplicate(0, 42));
        assert!(w.is_duplicate(SQS_DEDUP_WINDOW_MS - 1, 42));
        assert!(
            !w.is_duplicate(SQS_DEDUP_WINDOW_MS, 42),
            "the window passed"
        );
    }
}
