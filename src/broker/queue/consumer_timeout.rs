//! RabbitMQ's `consumer_timeout` (3.10: node-wide, rabbitmq.conf): a channel
//! that holds a delivery unacked for longer is closed with 406
//! `PRECONDITION_FAILED`, and every unacked delivery on it is requeued
//! (`redelivered`), as for any channel error.
//!
//! RabbitMQ does not arm a timer per delivery. Each channel has a tick
//! every `channel_tick_interval` (60 s by default) from when it opened; at
//! a tick it compares its *oldest* unacked delivery's age with the timeout
//! and closes if it is strictly older. So a timeout of 5 s fires between 5
//! and 65 s after the delivery. We compute the tick that will find it
//! instead of running every tick: acks only make the oldest delivery
//! younger, so recomputing after every change gives the same tick.

use super::channels::PRECONDITION_FAILED;
use super::QueueBroker;
use crate::broker::{ClientId, Output};

/// `consumer_timeout` and the tick that checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ConsumerTimeout {
    /// `consumer_timeout`, ms: the oldest unacked delivery may be this old.
    pub(super) timeout_ms: u64,
    /// `channel_tick_interval`, ms: how often each channel looks.
    pub(super) tick_interval_ms: u64,
}

impl ConsumerTimeout {
    /// The first tick of a channel opened at `opened_ms` that finds a
    /// delivery made at `delivered_ms` strictly older than the timeout.
    pub(super) fn closing_tick_ms(&self, opened_ms: u64, delivered_ms: u64) -> u64 {
        assert!(self.tick_interval_ms > 0, "validated: positive interval");
        let late = delivered_ms.saturating_add(self.timeout_ms);
        let ticks = late.saturating_sub(opened_ms) / self.tick_interval_ms + 1;
        opened_ms.saturating_add(ticks.saturating_mul(self.tick_interval_ms))
    }
}

impl QueueBroker {
    /// The channels whose tick finds their oldest delivery past the
    /// timeout, each with that tick's time. Bound: the open channels.
    fn closing_ticks(&self) -> Vec<(ClientId, u64)> {
        let Some(t) = self.consumer_timeout else {
            return Vec::new();
        };
        let oldest = self.channels.oldest_per_channel();
        oldest
            .into_iter()
            .map(|(c, delivered)| (c, t.closing_tick_ms(self.channels.opened_ms(c), delivered)))
            .collect()
    }

    /// When the next channel closes for `consumer_timeout`, if one will.
    pub(super) fn next_consumer_timeout_ms(&self) -> Option<u64> {
        self.closing_ticks().into_iter().map(|(_, at)| at).min()
    }

    /// Closes (406) every channel whose closing tick is due by `now_ms`,
    /// requeueing what it held.
    pub(super) fn consumer_timeouts(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        for (c, at) in self.closing_ticks() {
            if at <= now_ms {
                self.channel_error(now_ms, c, PRECONDITION_FAILED, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConsumerTimeout;

    #[test]
    fn the_first_tick_strictly_past_the_timeout_closes() {
        let t = ConsumerTimeout {
            timeout_ms: 5_000,
            tick_interval_ms: 60_000,
        };
        // Opened at 0, delivered at 1 s: the 60 s tick finds it 59 s old.
        assert_eq!(t.closing_tick_ms(0, 1_000), 60_000);
        // Delivered at 56 s: 4 s old at 60 s, so the 120 s tick.
        assert_eq!(t.closing_tick_ms(0, 56_000), 120_000);
        // Exactly the timeout old at a tick is not older: the next one.
        assert_eq!(t.closing_tick_ms(0, 55_000), 120_000);
        // Ticks count from the channel's opening.
        assert_eq!(t.closing_tick_ms(30_000, 31_000), 90_000);
        let fast = ConsumerTimeout {
            timeout_ms: 3_000,
            tick_interval_ms: 100,
        };
        assert_eq!(fast.closing_tick_ms(50, 250), 3_350);
    }
}
