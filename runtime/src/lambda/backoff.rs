use std::sync::Mutex;
use std::time::Duration;

use rand::{Rng as _, SeedableRng, rngs::StdRng};

/// A source of uniform random numbers; behind a trait so simulations replay from a seed.
pub trait Rng: Send + Sync {
    /// A uniformly distributed integer in `0..=upper`.
    fn up_to(&self, upper: u64) -> u64;
}

/// Randomness from the operating system's generator (production).
#[derive(Debug)]
pub struct SystemRng(Mutex<StdRng>);

impl Default for SystemRng {
    fn default() -> Self {
        Self(Mutex::new(StdRng::from_os_rng()))
    }
}

impl Rng for SystemRng {
    fn up_to(&self, upper: u64) -> u64 {
        // A poisoned lock only means another thread panicked mid-draw; the generator state is
        // still a valid generator state.
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.random_range(0..=upper)
    }
}

/// A reproducible generator: the same seed gives the same sequence.
#[derive(Debug)]
pub struct SeededRng(Mutex<StdRng>);

impl SeededRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl Rng for SeededRng {
    fn up_to(&self, upper: u64) -> u64 {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.random_range(0..=upper)
    }
}

/// Exponential backoff with full jitter (AWS Builders' Library, "Timeouts, retries, and backoff
/// with jitter"): the delay before retry `attempt` (0-based) is uniform in
/// `0 ..= min(cap, base * 2^attempt)`. Full jitter spreads competing retries the most, which is
/// what keeps a recovering core platform from being hit by synchronized waves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's delay.
    pub base: Duration,
    /// The largest delay ever returned.
    pub cap: Duration,
}

impl Backoff {
    /// A backoff with the given base and cap.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// The ceiling `min(cap, base * 2^attempt)` before jitter, saturating instead of overflowing.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The jittered delay before retry `attempt`.
    pub fn delay(&self, attempt: u32, rng: &dyn Rng) -> Duration {
        let ceiling_ms = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.up_to(ceiling_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let ceilings: Vec<u128> = (0..6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_millis(1000));
    }

    #[test]
    fn delays_are_jittered_within_the_ceiling_and_reproducible() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let a: Vec<Duration> = {
            let rng = SeededRng::new(42);
            (0..200).map(|n| b.delay(n % 6, &rng)).collect()
        };
        let again: Vec<Duration> = {
            let rng = SeededRng::new(42);
            (0..200).map(|n| b.delay(n % 6, &rng)).collect()
        };
        assert_eq!(a, again, "same seed, same delays");
        for (n, d) in a.iter().enumerate() {
            assert!(*d <= b.ceiling((n % 6) as u32));
        }
        // Full jitter: delays are spread, not clustered at the ceiling.
        let distinct: std::collections::BTreeSet<_> = a.iter().collect();
        assert!(
            distinct.len() > 100,
            "only {} distinct delays",
            distinct.len()
        );
        assert!(a.iter().any(|d| *d < Duration::from_millis(50)));
    }
}
