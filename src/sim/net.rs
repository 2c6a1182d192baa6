//! Network links between each client and the broker.
//!
//! Why model the network at all: most broker anomalies start here. A lost
//! publisher confirm makes a producer retry (a duplicate); a slow link lets a
//! later message overtake an earlier one at a different consumer; a dropped ack
//! keeps a message unacked until the channel closes (a redelivery).
//!
//! Each link is like one TCP connection: messages in one direction arrive in the
//! order they were sent (a message never overtakes an earlier one on the same
//! link, so latency draws are clamped to be non-decreasing). Loss and
//! duplication are per message, which is harsher than TCP and on purpose: it
//! stands in for connection blips and retransmitting proxies.

use super::rng::{Probability, SimRng};
use crate::config::NetworkSpec;

/// Which way a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client to broker.
    Up,
    /// Broker to client.
    Down,
}

/// What happens to one message on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transit {
    /// The message vanishes (the link's `loss_probability`).
    Lost,
    /// Arrives at `at_ms`, and a second copy at `duplicate_at_ms` if duplicated.
    Arrives {
        /// When the message arrives, virtual ms.
        at_ms: u64,
        /// When the second copy arrives, if the link duplicated it.
        duplicate_at_ms: Option<u64>,
    },
}

/// One client's link to the broker, both directions: latency, loss,
/// duplication, FIFO order per direction, and the `drop_acks` fault.
#[derive(Clone, Debug)]
pub struct Link {
    /// Fastest one-way trip, virtual ms.
    latency_ms_min: u64,
    /// Slowest one-way trip, virtual ms.
    latency_ms_max: u64,
    /// Chance that one message vanishes.
    loss: Probability,
    /// Chance that one message arrives twice.
    duplicate: Probability,
    /// Latest arrival time scheduled in each direction (FIFO order).
    last_up_ms: u64,
    /// Latest arrival time scheduled broker to client (FIFO order).
    last_down_ms: u64,
    /// The `drop_acks` fault: acks (up) and confirms (down) vanish before this time.
    pub drop_acks_until_ms: u64,
}

impl Link {
    /// A link with the settings of a validated `spec`.
    pub fn new(spec: &NetworkSpec) -> Link {
        assert!(
            spec.latency_ms_min <= spec.latency_ms_max,
            "validated latency range"
        );
        Link {
            latency_ms_min: spec.latency_ms_min,
            latency_ms_max: spec.latency_ms_max,
            loss: Probability::new(spec.loss_probability),
            duplicate: Probability::new(spec.duplicate_probability),
            last_up_ms: 0,
            last_down_ms: 0,
            drop_acks_until_ms: 0,
        }
    }

    /// Sends one message; `lossy = false` for connection-level signals (a TCP
    /// reset is not "lost": its absence is itself the signal).
    pub fn send(&mut self, now_ms: u64, dir: Direction, lossy: bool, rng: &mut SimRng) -> Transit {
        if lossy && rng.chance(self.loss) {
            return Transit::Lost;
        }
        let latency = rng.range_inclusive(self.latency_ms_min, self.latency_ms_max);
        let last = match dir {
            Direction::Up => &mut self.last_up_ms,
            Direction::Down => &mut self.last_down_ms,
        };
        let at_ms = (now_ms + latency).max(*last);
        *last = at_ms;
        let duplicate_at_ms = if lossy && rng.chance(self.duplicate) {
            Some(at_ms + rng.range_inclusive(self.latency_ms_min, self.latency_ms_max))
        } else {
            None
        };
        Transit::Arrives {
            at_ms,
            duplicate_at_ms,
        }
    }

    /// Whether a `drop_acks` fault is on at `now_ms`.
    pub fn drops_acks(&self, now_ms: u64) -> bool {
        now_ms < self.drop_acks_until_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_direction_is_fifo() {
        let spec = NetworkSpec {
            latency_ms_min: 1,
            latency_ms_max: 50,
            ..NetworkSpec::default()
        };
        let mut link = Link::new(&spec);
        let mut rng = SimRng::new(1);
        let mut last = 0;
        for now in 0..200 {
            let Transit::Arrives { at_ms, .. } = link.send(now, Direction::Up, true, &mut rng)
            else {
                panic!("no loss configured")
            };
            assert!(at_ms >= last && at_ms > now);
            last = at_ms;
        }
    }

    #[test]
    fn certain_loss_loses_everything_lossy() {
        let spec = NetworkSpec {
            loss_probability: 1.0,
            ..NetworkSpec::default()
        };
        let mut link = Link::new(&spec);
        let mut rng = SimRng::new(1);
        assert_eq!(link.send(0, Direction::Down, true, &mut rng), Transit::Lost);
        assert!(matches!(
            link.send(0, Direction::Down, false, &mut rng),
            Transit::Arrives { .. }
        ));
    }
}
