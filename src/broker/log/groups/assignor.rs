//! How a rebalance deals a topic's partitions out to the group's members
//! (`partition.assignment.strategy`), and the bit set an assignment is.
//!
//! Every partition gets exactly one owner; members past the partition count
//! get none and sit idle. That is why more consumers than partitions do not
//! read faster: throughput comes from partitions.

use crate::broker::log::PartitionId;
use crate::broker::log::PartitionSet;
use crate::config::Assignor;

/// The partitions in a set, lowest first.
pub fn partitions_of(set: PartitionSet) -> impl Iterator<Item = PartitionId> {
    (0..64u16).filter(move |p| set & (1 << p) != 0)
}

/// Deals `partitions` out to `members` (in member-id order).
///
/// - `range` (Kafka's `RangeAssignor`): each member gets a contiguous range;
///   the first `partitions % members` members get one extra.
/// - `roundrobin` (`RoundRobinAssignor`): partition `p` goes to member
///   `p % members`.
///
/// Members past the partition count get nothing: they are idle.
pub fn assign(assignor: Assignor, partitions: usize, members: usize) -> Vec<PartitionSet> {
    assert!(partitions <= 64, "validated: at most 64 partitions");
    let mut sets = vec![0u64; members];
    if members == 0 {
        return sets;
    }
    match assignor {
        Assignor::Range => {
            let (per, extra) = (partitions / members, partitions % members);
            let mut next = 0;
            for (i, set) in sets.iter_mut().enumerate() {
                let n = per + usize::from(i < extra);
                for p in next..next + n {
                    *set |= 1 << p;
                }
                next += n;
            }
            assert_eq!(next, partitions, "every partition assigned once");
        }
        Assignor::RoundRobin => {
            for p in 0..partitions {
                sets[p % members] |= 1 << p;
            }
        }
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_and_round_robin_give_each_partition_one_owner() {
        for assignor in [Assignor::Range, Assignor::RoundRobin] {
            for parts in 1..=8 {
                for members in 1..=10 {
                    let sets = assign(assignor, parts, members);
                    let union = sets.iter().fold(0u64, |a, s| {
                        assert_eq!(a & s, 0, "one owner per partition");
                        a | s
                    });
                    assert_eq!(union, (1u64 << parts) - 1);
                    let idle = sets.iter().filter(|s| **s == 0).count();
                    assert_eq!(idle, members.saturating_sub(parts));
                }
            }
        }
        assert_eq!(assign(Assignor::Range, 5, 2), vec![0b00111, 0b11000]);
        assert_eq!(assign(Assignor::RoundRobin, 5, 2), vec![0b10101, 0b01010]);
    }
}
