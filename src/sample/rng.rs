//! A tiny seeded pseudo-random generator (SplitMix64) and the draws the story needs.
//!
//! Why not a crate: the sample must be byte-for-byte identical for a seed on every platform
//! and every release of sextant, so the generator and every draw built on it live here, where
//! they cannot change under us with a dependency update. Draws use only `+ - * /`,
//! comparisons and `floor`: those are exactly rounded by IEEE 754 everywhere, whereas `exp`,
//! `ln` or `powf` come from the platform's maths library and may differ in the last bit,
//! which could flip a rounding and change a figure.

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64: small state, good statistical quality for sampling, trivially seedable.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

/// SplitMix64's output function, also used to hash stream keys.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// An independent stream for one entity of the story, e.g. `(seed, ORDERS, customer, month)`.
    ///
    /// Deriving a stream per entity (instead of drawing everything from one sequence) keeps
    /// each table's data independent of how many draws another part made: turning `dirty` on,
    /// or changing the number of surveys, does not reshuffle the orders.
    pub(crate) fn stream(seed: u64, keys: &[u64]) -> Self {
        let mut state = mix(seed ^ GAMMA);
        for &key in keys {
            state = mix(state.wrapping_add(GAMMA).wrapping_add(mix(key.wrapping_add(GAMMA))));
        }
        Self { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        mix(self.state)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `0..n` (0 when `n` is 0), by multiply-shift: no modulo bias worth
    /// mentioning for the small `n` used here, and no loop.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform integer in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// `true` with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index drawn with the given (not necessarily normalised) weights.
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// A count with mean `mean` (capped at 7.2): a binomial of 8 trials, which behaves like the
    /// Poisson count of orders in a month but needs no `exp` (see the module comment).
    pub(crate) fn count(&mut self, mean: f64) -> u32 {
        const TRIALS: u32 = 8;
        let p = (mean / f64::from(TRIALS)).clamp(0.0, 0.9);
        (0..TRIALS).filter(|_| self.chance(p)).count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = {
            let mut r = Rng::stream(42, &[1, 2]);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::stream(42, &[1, 2]);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::stream(42, &[2, 1]);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn draws_stay_in_range() {
        let mut r = Rng::stream(7, &[]);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.below(5) < 5);
            let x = r.range(-3, 3);
            assert!((-3..=3).contains(&x));
            assert!(r.count(20.0) <= 8);
        }
    }
}
