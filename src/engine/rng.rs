//! Deterministic random streams, one per unit of work.
//!
//! Every random number in a run comes from a ChaCha8 stream identified by
//! `(seed, purpose, replication, agent, period)`. The key depends on the seed,
//! the purpose and the replication; the engineer's index selects ChaCha's
//! 64-bit stream; the period selects a word position inside it. Nothing depends
//! on the thread that does the work, so results are identical on any thread
//! count, and nothing depends on the policy, so every policy of a comparison
//! meets the same engineers and the same shocks (common random numbers).
//!
//! Draws are made by inversion of a uniform wherever possible: a larger mean
//! then gives a larger draw from the same uniform, which keeps paired policy
//! differences tight.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is used for. Separate purposes never share numbers, so a
/// change in how many draws one mechanism takes does not shift another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
#[non_exhaustive]
pub enum Purpose {
    /// Engineer traits, drawn once per replication.
    Population = 1,
    /// Production shocks: value noise, changes shipped, defects, incidents.
    Production = 2,
    /// Measurement noise on the rewarded metric.
    Measurement = 3,
    /// Behaviour: logit choice, imitation partners, reinforcement draws.
    Behaviour = 4,
    /// Audits: who is audited and whether gaming is detected.
    Audit = 5,
    /// One engineer's work in one period, read in a fixed order whatever
    /// the policy: two behaviour uniforms (strategy, logit), the measurement
    /// noise, then production (the value shock, five uniforms per activity).
    /// One stream per agent-step means one ChaCha key set-up and one block
    /// refill for all of it.
    Work = 6,
    /// Turnover: who leaves, and the traits of the hire who replaces them.
    Turnover = 7,
    /// The small-world network, drawn once per replication.
    Network = 8,
}

/// Words of ChaCha output reserved for one engineer in one period.
const WORDS_PER_PERIOD: u128 = 1 << 20;

/// Puts `rng` at the start of phase `sub` of `agent`'s stream in `period`.
/// Position first: at a block boundary it only empties the buffer, so that
/// changing the stream does not refill it for the old position.
fn seat(rng: &mut ChaCha8Rng, agent: u64, period: i64, sub: u32) {
    rng.set_word_pos((period + 1) as u128 * WORDS_PER_PERIOD + sub as u128 * 1024);
    rng.set_stream(agent);
}

/// The stream keys of one replication.
#[derive(Debug, Clone)]
pub struct Streams {
    keys: [[u8; 32]; 9],
}

impl Streams {
    /// Keys for replication `replication` of a run seeded with `seed`.
    pub fn new(seed: u64, replication: u64) -> Self {
        let mut keys = [[0u8; 32]; 9];
        for (purpose, key) in keys.iter_mut().enumerate() {
            let mut state = splitmix(seed ^ splitmix(replication.wrapping_add(0x9E37))) ^ splitmix(purpose as u64 + 1);
            for chunk in key.chunks_exact_mut(8) {
                state = splitmix(state);
                chunk.copy_from_slice(&state.to_le_bytes());
            }
        }
        Streams { keys }
    }

    /// The stream of `agent` in `period` for `purpose`. Period `-1` is the
    /// pre-period in which nobody has been rewarded yet.
    pub fn stream(&self, purpose: Purpose, agent: u64, period: i64) -> ChaCha8Rng {
        self.substream(purpose, agent, period, 0)
    }

    /// Moves `rng`, a stream of this `Streams` for `purpose`, to the start
    /// of `agent`'s stream in `period`: the same numbers as a fresh
    /// [`Streams::stream`], without setting up the key and buffer again
    /// (which an agent-step loop would otherwise do once per engineer).
    pub(crate) fn reseat(&self, rng: &mut ChaCha8Rng, agent: u64, period: i64) {
        seat(rng, agent, period, 0);
    }

    /// Like [`Streams::stream`], for the `sub`-th of several phases of the
    /// same period (each phase has 1,024 words of its own).
    pub fn substream(&self, purpose: Purpose, agent: u64, period: i64, sub: u32) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::from_seed(self.keys[purpose as usize]);
        seat(&mut rng, agent, period, sub);
        rng
    }

    /// A 64-bit key for `(agent, period)`, used to break ties in rankings
    /// fairly and reproducibly.
    pub(crate) fn tie_key(&self, agent: u64, period: i64) -> u64 {
        let k = u64::from_le_bytes(self.keys[Purpose::Measurement as usize][..8].try_into().unwrap_or([0; 8]));
        splitmix(k ^ splitmix(agent ^ splitmix(period as u64)))
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in the open interval (0, 1).
#[inline]
pub(crate) fn open01<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw by inversion (Acklam's rational approximation,
/// relative error below 1.2e-9: ample for a simulated shock, and a third of
/// the cost of the refined [`crate::analysis::stats::normal_quantile`]).
#[inline]
pub fn std_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    crate::analysis::stats::normal_quantile_fast(open01(rng))
}

/// A Poisson draw with mean `mean` by inversion of one uniform; for large
/// means a continuity-corrected normal quantile of the same uniform.
#[cfg(test)]
fn poisson<R: Rng + ?Sized>(rng: &mut R, mean: f64) -> u32 {
    let u = open01(rng);
    poisson_inv(u, mean)
}

/// The Poisson quantile of `u`: inversion, or for large means a
/// continuity-corrected normal quantile.
pub(crate) fn poisson_inv(u: f64, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 60.0 {
        let x = mean + mean.sqrt() * crate::analysis::stats::normal_quantile(u) + 0.5;
        return x.max(0.0).floor() as u32;
    }
    let mut p = (-mean).exp();
    let mut cdf = p;
    let mut k = 0u32;
    while u > cdf && k < 1000 {
        k += 1;
        p *= mean / k as f64;
        cdf += p;
    }
    k
}

/// A binomial draw (`n` trials, success probability `p`) by inversion of one
/// uniform; a normal approximation once `n` is large.
#[cfg(test)]
fn binomial<R: Rng + ?Sized>(rng: &mut R, n: u32, p: f64) -> u32 {
    binomial_inv(open01(rng), n, p)
}

/// The binomial quantile of `u`: inversion, or a normal approximation once
/// `n` is large.
pub(crate) fn binomial_inv(u: f64, n: u32, p: f64) -> u32 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    if p > 0.5 {
        // By symmetry, so that q^n below never underflows: still monotone in u.
        return n - binomial_inv(1.0 - u, n, 1.0 - p);
    }
    let nf = n as f64;
    if n > 200 {
        let sd = (nf * p * (1.0 - p)).sqrt();
        let x = nf * p + sd * crate::analysis::stats::normal_quantile(u) + 0.5;
        return x.clamp(0.0, nf).floor() as u32;
    }
    let q = 1.0 - p;
    let mut pk = q.powi(n as i32);
    let mut cdf = pk;
    let mut k = 0u32;
    while u > cdf && k < n {
        pk *= (n - k) as f64 / (k + 1) as f64 * p / q;
        k += 1;
        cdf += pk;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reseated_stream_is_the_fresh_stream() {
        let s = Streams::new(7, 3);
        let mut rng = s.stream(Purpose::Work, 0, 0);
        // Left mid-block, at other agents and periods, before each reseat.
        for (agent, period, used) in [(5, 2, 3), (9, 0, 61), (5, -1, 64), (0, 7, 130)] {
            for _ in 0..used {
                rng.next_u32();
            }
            s.reseat(&mut rng, agent, period);
            let mut fresh = s.stream(Purpose::Work, agent, period);
            for _ in 0..200 {
                assert_eq!(rng.next_u64(), fresh.next_u64());
            }
        }
    }

    #[test]
    fn streams_are_independent_of_order_and_distinct() {
        let s = Streams::new(7, 3);
        let a: Vec<u64> = (0..4).map(|_| s.stream(Purpose::Production, 5, 2).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let b = s.stream(Purpose::Production, 5, 3).next_u64();
        let c = s.stream(Purpose::Production, 6, 2).next_u64();
        let d = s.stream(Purpose::Measurement, 5, 2).next_u64();
        let e = Streams::new(7, 4).stream(Purpose::Production, 5, 2).next_u64();
        assert!(a[0] != b && a[0] != c && a[0] != d && a[0] != e);
    }

    #[test]
    fn poisson_and_binomial_match_their_means() {
        // Mean of 20,000 draws within 5 standard errors of the truth.
        let s = Streams::new(1, 0);
        let n = 20_000;
        for &mean in &[0.3, 4.0, 90.0] {
            let mut rng = s.stream(Purpose::Production, 0, 0);
            let sum: f64 = (0..n).map(|_| poisson(&mut rng, mean) as f64).sum();
            let se = (mean / n as f64).sqrt();
            assert!((sum / n as f64 - mean).abs() < 5.0 * se, "poisson {mean}");
        }
        for &(trials, p) in &[(10u32, 0.2), (500, 0.3), (190, 0.99), (20, 0.7)] {
            let mut rng = s.stream(Purpose::Production, 1, 0);
            let sum: f64 = (0..n).map(|_| binomial(&mut rng, trials, p) as f64).sum();
            let mean = trials as f64 * p;
            let se = (mean * (1.0 - p) / n as f64).sqrt();
            assert!((sum / n as f64 - mean).abs() < 5.0 * se, "binomial {trials} {p}");
        }
    }
}
