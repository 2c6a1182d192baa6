//! The simulation's only source of randomness.
//!
//! Why a wrapper: a deterministic simulation must give the same run for the same
//! seed on every machine, natively and in the browser. So the algorithm is named
//! and fixed here, and nothing else in the core may draw random numbers.
//!
//! - Algorithm: **xoshiro256++** (`rand_xoshiro::Xoshiro256PlusPlus`), seeded from a
//!   `u64` through **SplitMix64** (that is what its `seed_from_u64` does).
//! - Only `u64` arithmetic: no `usize` (its width differs between wasm32 and x86_64)
//!   and no floating-point maths on the random bits except one exact comparison.
//! - Independent *streams*: the world forks one stream per purpose (network,
//!   clients, faults), so turning up packet loss does not reshuffle processing times.

use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A probability in `[0, 1]`, stored as a 53-bit fixed-point threshold so that
/// `chance` compares integers (exact on every platform).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probability {
    /// `p * 2^53`, so a 53-bit uniform draw below it happens with probability `p`.
    threshold: u64,
}

/// 2^53: the number of distinct values in the 53-bit draw.
const SCALE: u64 = 1 << 53;

impl Probability {
    /// The probability 0: [`SimRng::chance`] with it is always false.
    pub const NEVER: Probability = Probability { threshold: 0 };

    /// Converts a validated probability. The scenario validator rejects values
    /// outside `[0, 1]` with a named error first; reaching this with one is a bug.
    pub fn new(p: f64) -> Probability {
        assert!((0.0..=1.0).contains(&p), "probability {p} outside [0, 1]");
        // Exact: `p * 2^53` is a multiplication by a power of two.
        let threshold = (p * SCALE as f64) as u64;
        assert!(threshold <= SCALE);
        Probability { threshold }
    }

    /// Whether this is the probability 0 (a draw with it can be skipped).
    pub fn is_never(self) -> bool {
        self.threshold == 0
    }
}

/// A seeded generator. Clone it to replay a stream; `fork` to split off a new one.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: Xoshiro256PlusPlus,
}

impl SimRng {
    /// The generator for `seed` (SplitMix64 expands it to the full state).
    pub fn new(seed: u64) -> SimRng {
        SimRng {
            inner: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// A new independent stream, named by `stream` so that adding a stream later
    /// does not shift the others: it depends only on the seed and the name.
    pub fn stream(seed: u64, stream: u64) -> SimRng {
        // Mixing the stream name through SplitMix64 (inside seed_from_u64) makes
        // nearby seeds and nearby stream numbers give unrelated sequences.
        SimRng::new(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The next 64 uniform bits.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in `0..n`. Uses the multiply-shift method (Lemire) without the
    /// rejection step: the bias is below `n / 2^64`, invisible at our sizes.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no values");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi, "empty range {lo}..={hi}");
        if lo == hi {
            return lo;
        }
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `p`. Draws nothing when `p` is zero, so a scenario
    /// with no loss configured consumes no randomness on that path.
    pub fn chance(&mut self, p: Probability) -> bool {
        if p.is_never() {
            return false;
        }
        (self.next_u64() >> 11) < p.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = SimRng::new(7);
        let mut b = SimRng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }

    #[test]
    fn known_first_value_pins_the_algorithm() {
        // If this changes, every recorded history hash changes too.
        let mut rng = SimRng::new(0);
        assert_eq!(rng.next_u64(), 0x53175d61490b23df);
    }

    #[test]
    fn ranges_and_chances_stay_in_bounds() {
        let mut rng = SimRng::stream(3, 1);
        for _ in 0..1000 {
            let v = rng.range_inclusive(5, 9);
            assert!((5..=9).contains(&v));
        }
        assert!(!rng.chance(Probability::NEVER));
        assert!(rng.chance(Probability::new(1.0)));
    }
}
