//! Reward schemes: how observed metrics turn into payouts.
//!
//! A payout is in USD-equivalent per engineer per period: positive amounts
//! are paid out (prizes, piece rates, bonuses: `bonus_paid`), negative ones
//! are pressure (a bad rank, a poor review) that the engineer feels but the
//! organisation does not pay.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::error::{Result, check_range};
use crate::metric::Noise;
use crate::stats::{normal_cdf_pdf, normal_pdf};

/// A user-defined reward scheme.
pub trait RewardRule: Send + Sync + fmt::Debug {
    /// Payouts (USD-equivalent; negative is pressure) for each engineer
    /// given everyone's published metric.
    fn payouts(&self, published: &[f64], out: &mut [f64]);
    /// The reward an engineer expects from an expected metric `m`, given
    /// the last published leaderboard (sorted ascending) and the noise on
    /// their own metric. It must never fall as `m` rises: the best response
    /// relies on that to find the global optimum. (Rules with no known
    /// curvature are searched with first-order bounds only, which is exact
    /// but needs more evaluations than the built-in schemes.)
    fn expected(&self, m: f64, board: &[f64], noise: Noise) -> f64;
    /// An upper bound on the slope of [`RewardRule::expected`] in `m`
    /// (USD per metric unit); bounds the best-response search.
    fn max_slope(&self, board: &[f64], noise: Noise) -> f64;
}

/// How the metric is rewarded.
#[derive(Clone, Serialize, Default)]
#[serde(tag = "scheme", rename_all = "lowercase")]
pub enum Reward {
    /// Nothing depends on the metric.
    #[default]
    None,
    /// A ranking each period: the top fraction gets `prize`, the bottom
    /// fraction feels `penalty` (pressure).
    Leaderboard {
        /// Fraction of engineers who get the prize, in [0, 1].
        top_fraction: f64,
        /// Prize per period, USD.
        prize: f64,
        /// Fraction of engineers at the bottom who feel the penalty, in [0, 1].
        bottom_fraction: f64,
        /// Penalty (pressure) per period, USD-equivalent.
        penalty: f64,
    },
    /// A piece rate: `rate` USD per unit of the metric.
    Linear {
        /// USD per metric unit.
        rate: f64,
    },
    /// A quota: `bonus` USD when the metric reaches `quota`.
    Threshold {
        /// Metric level that earns the bonus.
        quota: f64,
        /// Bonus, USD.
        bonus: f64,
    },
    /// A user-defined rule.
    #[serde(skip)]
    Custom(Arc<dyn RewardRule>),
}

impl fmt::Debug for Reward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reward::None => write!(f, "None"),
            Reward::Leaderboard { top_fraction, prize, bottom_fraction, penalty } => write!(
                f,
                "Leaderboard {{ top_fraction: {top_fraction}, prize: {prize}, bottom_fraction: {bottom_fraction}, penalty: {penalty} }}"
            ),
            Reward::Linear { rate } => write!(f, "Linear {{ rate: {rate} }}"),
            Reward::Threshold { quota, bonus } => {
                write!(f, "Threshold {{ quota: {quota}, bonus: {bonus} }}")
            }
            Reward::Custom(r) => write!(f, "Custom({r:?})"),
        }
    }
}

impl PartialEq for Reward {
    fn eq(&self, o: &Self) -> bool {
        format!("{self:?}") == format!("{o:?}")
    }
}

impl Reward {
    /// A leaderboard reward.
    pub fn leaderboard(top_fraction: f64, prize: f64, bottom_fraction: f64, penalty: f64) -> Self {
        Reward::Leaderboard { top_fraction, prize, bottom_fraction, penalty }
    }

    /// Checks fractions and amounts; `path` is e.g. `policy[1].reward`.
    pub fn validate(&self, path: &str) -> Result<()> {
        let big = 1e12;
        match *self {
            Reward::Leaderboard { top_fraction, prize, bottom_fraction, penalty } => {
                check_range(&format!("{path}.top_fraction"), top_fraction, 0.0, 1.0, "a fraction in [0, 1]")?;
                check_range(&format!("{path}.bottom_fraction"), bottom_fraction, 0.0, 1.0, "a fraction in [0, 1]")?;
                check_range(&format!("{path}.prize"), prize, 0.0, big, "a number >= 0 (USD)")?;
                check_range(&format!("{path}.penalty"), penalty, 0.0, big, "a number >= 0 (USD)")?;
                if top_fraction + bottom_fraction > 1.0 {
                    return Err(crate::Error::invalid(
                        format!("{path}.bottom_fraction"),
                        bottom_fraction,
                        format!("a fraction <= 1 - top_fraction ({})", 1.0 - top_fraction),
                    ));
                }
                Ok(())
            }
            Reward::Linear { rate } => {
                check_range(&format!("{path}.rate"), rate, -big, big, "a finite number (USD per metric unit)")
            }
            Reward::Threshold { quota, bonus } => {
                check_range(&format!("{path}.quota"), quota, -1e15, 1e15, "a finite number (metric units)")?;
                check_range(&format!("{path}.bonus"), bonus, 0.0, big, "a number >= 0 (USD)")
            }
            Reward::None | Reward::Custom(_) => Ok(()),
        }
    }

    /// Whether this scheme ranks engineers (publishes cut-offs to form beliefs on).
    pub fn is_leaderboard(&self) -> bool {
        matches!(self, Reward::Leaderboard { .. })
    }
}

/// Numbers of winners and losers on a leaderboard of `n` engineers.
pub fn leaderboard_counts(n: usize, top_fraction: f64, bottom_fraction: f64) -> (usize, usize) {
    let top = ((top_fraction * n as f64).round() as usize).min(n);
    let bottom = ((bottom_fraction * n as f64).round() as usize).min(n - top);
    (top, bottom)
}

/// The expected reward around one expected metric level (see [`Belief::point`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Expected metric.
    pub m: f64,
    /// Expected reward (USD).
    pub value: f64,
    /// Its slope in the metric (USD per metric unit).
    pub slope: f64,
    /// Per step (the first two): standardised distance to the cut-off.
    pub z: [f64; 2],
    /// Per step (the first two): second derivative of the step's
    /// probability in the metric.
    pub d2: [f64; 2],
}

/// The shape of one smoothed step, in its standardised distance `z`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepShape {
    /// From this `z` up the step is concave.
    pub concave_from: f64,
    /// Where the second derivative peaks.
    pub peak_at: f64,
    /// The peak of the second derivative (per unit amount).
    pub peak: f64,
}

impl StepShape {
    /// An upper bound on the step's second derivative (per unit amount)
    /// between two metric levels, from their distances `z` and second
    /// derivatives `d2`: nothing where the step is concave from the lower
    /// end on (or has no smooth shape: a NaN distance), else the larger end,
    /// or the peak when it lies between them.
    fn bound(&self, za: f64, d2a: f64, zb: f64, d2b: f64) -> f64 {
        if za.is_nan() || za >= self.concave_from {
            return 0.0;
        }
        let ends = d2a.max(d2b);
        if za <= self.peak_at && self.peak_at <= zb { ends.max(self.peak) } else { ends }
    }
}

/// What an engineer believes about the metric-to-reward map: a constant
/// plus a sum of smoothed steps `amount * P(observed metric >= cutoff)`,
/// where the probability accounts for the noise on their own metric.
#[derive(Debug, Clone)]
pub enum Belief {
    /// No reward depends on the metric.
    Flat,
    /// A piece rate: expected reward `rate * m`.
    Linear {
        /// USD per metric unit.
        rate: f64,
    },
    /// `base + sum_j amount_j * P(observed >= cutoff_j)`; build it with
    /// [`Belief::steps`], which also bounds its curvature.
    Steps {
        /// Constant part (e.g. minus the bottom penalty), USD.
        base: f64,
        /// (cutoff in metric units, amount in USD >= 0).
        steps: Vec<(f64, f64)>,
        /// Noise on the engineer's own observed metric.
        noise: Noise,
        /// An upper bound on the second derivative of the expected reward
        /// in the metric (infinite without noise).
        curvature: f64,
        /// The natural logarithm of each cut-off (cached; NaN if not positive).
        ln_cutoffs: Vec<f64>,
        /// Per step, in the standardised distance `z` of [`Point`]: where the
        /// expected reward turns concave, where its second derivative peaks,
        /// and that peak (per unit of amount).
        shape: Vec<StepShape>,
    },
    /// A user-defined rule with the board it reads.
    Custom {
        /// The rule.
        rule: Arc<dyn RewardRule>,
        /// The last published board, sorted ascending.
        board: Arc<Vec<f64>>,
        /// Noise on the engineer's own metric.
        noise: Noise,
    },
}

impl Belief {
    /// Smoothed steps, with their curvature bound.
    pub fn steps(base: f64, steps: Vec<(f64, f64)>, noise: Noise) -> Belief {
        let curvature = steps
            .iter()
            .map(|&(c, a)| {
                a * match noise {
                    Noise::Normal { sd } if sd > 0.0 => {
                        // |d2/dm2 Phi((m - c)/sd)| = |z| phi(z) / sd^2, largest at |z| = 1.
                        normal_pdf(1.0) / (sd * sd)
                    }
                    Noise::Lognormal { sd } if sd > 0.0 && c > 0.0 => {
                        // With m = c exp(sd z + sd^2/2), the second derivative is
                        // -phi(z) (z/sd + 1) / (sd m^2). Its logarithm's derivative in z,
                        // -z + 1/(z + sd) - 2 sd, vanishes where z^2 + 3 sd z + 2 sd^2 = 1:
                        // one extreme on each side of z = -sd, where it changes sign.
                        let r = (sd * sd + 4.0).sqrt();
                        let at = |z: f64| {
                            let m = c * (sd * z + 0.5 * sd * sd).exp();
                            normal_pdf(z) * (z / sd + 1.0).abs() / (sd * m * m)
                        };
                        // A hair of margin for rounding in the search's own sums.
                        at(0.5 * (-3.0 * sd - r)).max(at(0.5 * (-3.0 * sd + r))) * (1.0 + 1e-9)
                    }
                    _ => f64::INFINITY,
                }
            })
            .sum();
        let ln_cutoffs = steps.iter().map(|s| if s.0 > 0.0 { s.0.ln() } else { f64::NAN }).collect();
        let shape = steps
            .iter()
            .map(|&(c, _)| match noise {
                // d2/dm2 Phi((m - c)/sd) = -z phi(z) / sd^2: concave from z = 0, peak at z = -1.
                Noise::Normal { sd } if sd > 0.0 => {
                    StepShape { concave_from: 0.0, peak_at: -1.0, peak: normal_pdf(1.0) / (sd * sd) }
                }
                // -phi(z) (z/sd + 1) / (sd m^2) with m = c exp(sd z + sd^2/2): concave
                // from z = -sd, peak at z = (-3 sd - sqrt(sd^2 + 4)) / 2.
                Noise::Lognormal { sd } if sd > 0.0 && c > 0.0 => {
                    let z = (-3.0 * sd - (sd * sd + 4.0).sqrt()) / 2.0;
                    let m = c * (sd * z + 0.5 * sd * sd).exp();
                    StepShape { concave_from: -sd, peak_at: z, peak: -normal_pdf(z) * (z / sd + 1.0) / (sd * m * m) }
                }
                _ => StepShape { concave_from: f64::NEG_INFINITY, peak_at: f64::NAN, peak: 0.0 },
            })
            .collect();
        Belief::Steps { base, steps, noise, curvature, ln_cutoffs, shape }
    }

    /// The expected reward, its slope and, per step, the standardised
    /// distance to the cut-off and the second derivative at `m`: everything
    /// the best-response search needs at one of its points, in one pass.
    pub fn point(&self, m: f64) -> Point {
        self.sum_steps::<true>(m)
    }

    /// The one pass over the steps behind [`Belief::point`] and
    /// [`Belief::value_and_slope`]; `SHAPE` says whether to fill the
    /// per-step distance and second derivative (the search's points need
    /// them, plain evaluations do not).
    fn sum_steps<const SHAPE: bool>(&self, m: f64) -> Point {
        let mut pt = Point { m, value: 0.0, slope: 0.0, z: [f64::NAN; 2], d2: [0.0; 2] };
        match self {
            Belief::Steps { base, steps, noise, ln_cutoffs, .. } => {
                pt.value = *base;
                let lm = if m > 0.0 && matches!(noise, Noise::Lognormal { .. }) { m.ln() } else { f64::NEG_INFINITY };
                for (j, (&(c, a), &lc)) in steps.iter().zip(ln_cutoffs).enumerate() {
                    let (p, dp) = Self::prob_ln(m, lm, c, lc, *noise);
                    pt.value += a * p;
                    pt.slope += a * dp;
                    if SHAPE && j < 2 {
                        (pt.z[j], pt.d2[j]) = Self::step_d2(m, lm, c, lc, *noise, dp);
                    }
                }
            }
            _ => (pt.value, pt.slope) = (self.expected(m), self.slope(m)),
        }
        pt
    }

    /// [`Belief::curvature_on`] between two points, from what they carry
    /// (no logarithm or exponential).
    pub fn curvature_between(&self, a: &Point, b: &Point) -> f64 {
        let Belief::Steps { steps, curvature, shape, .. } = self else { return self.max_curvature() };
        if !curvature.is_finite() {
            return f64::INFINITY;
        }
        if steps.len() > 2 {
            return self.curvature_on(a.m, b.m);
        }
        let per_step = steps.iter().zip(shape).enumerate();
        per_step.map(|(j, (&(_, amount), sh))| amount * sh.bound(a.z[j], a.d2[j], b.z[j], b.d2[j])).sum()
    }

    /// Per step: the standardised distance `z` of `m` to cut-off `c` and the
    /// second derivative of the step's probability, from its slope `dp`
    /// (already in hand: no further exponential).
    fn step_d2(m: f64, lm: f64, c: f64, lc: f64, noise: Noise, dp: f64) -> (f64, f64) {
        match noise {
            // d2/dm2 Phi((m - c)/sd) = -z phi(z) / sd^2.
            Noise::Normal { sd } if sd > 0.0 => {
                let z = (m - c) / sd;
                (z, -z * dp / sd)
            }
            // With m = c exp(sd z + sd^2/2): -phi(z) (z/sd + 1) / (sd m^2).
            Noise::Lognormal { sd } if sd > 0.0 && c > 0.0 => {
                let z = (lm - lc - 0.5 * sd * sd) / sd;
                (z, if m > 0.0 { -(z / sd + 1.0) * dp / m } else { 0.0 })
            }
            _ => (f64::NAN, 0.0),
        }
    }

    /// An upper bound on `E[reward]''(m)` (signed) for `m` in `[lo, hi]`.
    /// Each smoothed step's second derivative is a known function of the
    /// standardised distance `z` to its cut-off: positive below the
    /// inflection point (convex), negative above (concave), with its largest
    /// value at a known `z`. So the bound is exact per step and cheap; a
    /// bound at or below zero certifies that the expected reward is concave
    /// on the interval.
    pub fn curvature_on(&self, lo: f64, hi: f64) -> f64 {
        let Belief::Steps { steps, noise, curvature, ln_cutoffs, shape, .. } = self else {
            return self.max_curvature();
        };
        if !curvature.is_finite() {
            return f64::INFINITY;
        }
        let ln = |m: f64| if m > 0.0 && matches!(noise, Noise::Lognormal { .. }) { m.ln() } else { f64::NEG_INFINITY };
        let (ln_lo, ln_hi) = (ln(lo), ln(hi));
        let mut total = 0.0;
        for ((&(c, amount), &lc), sh) in steps.iter().zip(ln_cutoffs).zip(shape) {
            let end = |m: f64, lm: f64| Self::step_d2(m, lm, c, lc, *noise, Self::prob_ln(m, lm, c, lc, *noise).1);
            let ((za, d2a), (zb, d2b)) = (end(lo, ln_lo), end(hi, ln_hi));
            total += amount * sh.bound(za, d2a, zb, d2b);
        }
        total
    }

    /// An upper bound on the second derivative of the expected reward.
    pub fn max_curvature(&self) -> f64 {
        match self {
            Belief::Flat | Belief::Linear { .. } => 0.0,
            Belief::Steps { curvature, .. } => *curvature,
            Belief::Custom { .. } => f64::INFINITY,
        }
    }

    /// Probability that a metric with expected value `m` is observed at or
    /// above `c`, and its derivative in `m`.
    #[inline]
    fn prob(m: f64, c: f64, noise: Noise) -> (f64, f64) {
        let lm = if m > 0.0 { m.ln() } else { f64::NEG_INFINITY };
        let lc = if c > 0.0 { c.ln() } else { f64::NAN };
        Self::prob_ln(m, lm, c, lc, noise)
    }

    /// [`Belief::prob`] with `ln m` and `ln c` given.
    #[inline]
    fn prob_ln(m: f64, lm: f64, c: f64, lc: f64, noise: Noise) -> (f64, f64) {
        match noise {
            Noise::None => (f64::from(u8::from(m >= c)), 0.0),
            Noise::Normal { sd } => {
                if sd <= 0.0 {
                    return (f64::from(u8::from(m >= c)), 0.0);
                }
                let (p, d) = normal_cdf_pdf((m - c) / sd);
                (p, d / sd)
            }
            Noise::Lognormal { sd } => {
                if c <= 0.0 {
                    // A positive metric stays positive under multiplicative
                    // noise: a cut-off at or below zero is always met.
                    return (f64::from(u8::from(m >= c)), 0.0);
                }
                if sd <= 0.0 || m <= 0.0 {
                    return (f64::from(u8::from(m >= c && m > 0.0)), 0.0);
                }
                // m exp(sd e - sd^2/2) >= c  <=>  e >= (ln c - ln m + sd^2/2) / sd
                let (p, d) = normal_cdf_pdf((lm - lc - 0.5 * sd * sd) / sd);
                (p, d / (sd * m))
            }
        }
    }

    /// Expected reward at expected metric `m` (USD).
    pub fn expected(&self, m: f64) -> f64 {
        match self {
            Belief::Flat => 0.0,
            Belief::Linear { rate } => rate * m,
            Belief::Steps { .. } => self.value_and_slope(m).0,
            Belief::Custom { rule, board, noise } => rule.expected(m, board, *noise),
        }
    }

    /// Expected reward and its slope at `m`, in one pass.
    pub fn value_and_slope(&self, m: f64) -> (f64, f64) {
        match self {
            Belief::Steps { .. } => {
                let pt = self.sum_steps::<false>(m);
                (pt.value, pt.slope)
            }
            _ => (self.expected(m), self.slope(m)),
        }
    }

    /// Slope of the expected reward at `m` (USD per metric unit).
    pub fn slope(&self, m: f64) -> f64 {
        match self {
            Belief::Flat => 0.0,
            Belief::Linear { rate } => *rate,
            Belief::Steps { steps, noise, .. } => steps.iter().map(|&(c, a)| a * Self::prob(m, c, *noise).1).sum(),
            Belief::Custom { rule, board, noise } => {
                let h = 1e-6 * m.abs().max(1e-3);
                (rule.expected(m + h, board, *noise) - rule.expected(m - h, board, *noise)) / (2.0 * h)
            }
        }
    }

    /// An upper bound on [`Belief::slope`] over all `m` (infinite for
    /// noiseless steps, which are handled separately).
    pub fn max_slope(&self) -> f64 {
        match self {
            Belief::Flat => 0.0,
            Belief::Linear { rate } => rate.abs(),
            Belief::Steps { steps, noise, .. } => match *noise {
                Noise::None => f64::INFINITY,
                Noise::Normal { sd } if sd > 0.0 => steps.iter().map(|s| s.1).sum::<f64>() * normal_pdf(0.0) / sd,
                // a phi(z) / (sd m) with m = c exp(sd z + sd^2/2) peaks at z = -sd,
                // where it equals a phi(0) / (sd c).
                Noise::Lognormal { sd } if sd > 0.0 => {
                    steps.iter().map(|&(c, a)| if c > 0.0 { a * normal_pdf(0.0) / (sd * c) } else { 0.0 }).sum()
                }
                _ => f64::INFINITY,
            },
            Belief::Custom { rule, board, noise } => rule.max_slope(board, *noise),
        }
    }

    /// An upper bound on [`Belief::slope`] over all metric levels at or above
    /// `m0`: each smoothed step's slope rises to a single peak and then
    /// falls, so past its peak the bound is the slope at `m0` itself.
    pub fn max_slope_from(&self, m0: f64) -> f64 {
        let Belief::Steps { steps, noise, .. } = self else { return self.max_slope() };
        let mut total = 0.0;
        for &(c, a) in steps {
            total += match *noise {
                Noise::Normal { sd } if sd > 0.0 => {
                    if m0 >= c {
                        a * Self::prob(m0, c, *noise).1
                    } else {
                        a * normal_pdf(0.0) / sd
                    }
                }
                Noise::Lognormal { sd } if sd > 0.0 => {
                    if c <= 0.0 {
                        0.0
                    } else if m0 >= c * (-0.5 * sd * sd).exp() {
                        a * Self::prob(m0, c, *noise).1
                    } else {
                        a * normal_pdf(0.0) / (sd * c)
                    }
                }
                _ => return f64::INFINITY,
            };
        }
        total
    }

    /// True for steps without noise: the reward jumps at each cut-off.
    pub fn is_sharp(&self) -> bool {
        matches!(self, Belief::Steps { .. }) && !self.max_slope().is_finite()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_curvature_bound_is_the_peak() {
        // The closed form against a fine grid of the standardised distance.
        for sd in [0.05, 0.3, 1.0, 2.5] {
            let c = 7.0;
            let b = Belief::steps(0.0, vec![(c, 1.0)], Noise::Lognormal { sd });
            let mut peak = 0.0f64;
            for i in 0..=200_000 {
                let z = -14.0 - 4.0 * sd + (26.0 + 4.0 * sd) * i as f64 / 200_000.0;
                let m = c * (sd * z + 0.5 * sd * sd).exp();
                peak = peak.max(normal_pdf(z) * (z / sd + 1.0).abs() / (sd * m * m));
            }
            let bound = b.max_curvature();
            assert!(bound >= peak && bound <= peak * (1.0 + 1e-6), "sd {sd}: {bound} vs grid {peak}");
        }
    }

    #[test]
    fn slopes_match_finite_differences_and_stay_under_the_bound() {
        for noise in [Noise::Normal { sd: 2.0 }, Noise::Lognormal { sd: 0.4 }] {
            let b = Belief::steps(-50.0, vec![(10.0, 100.0), (4.0, 50.0)], noise);
            let bound = b.max_slope();
            let curv = b.max_curvature();
            for i in 1..400 {
                let m = i as f64 * 0.1;
                let h = 1e-5;
                let fd = (b.expected(m + h) - b.expected(m - h)) / (2.0 * h);
                assert!((fd - b.slope(m)).abs() < 1e-5 * (1.0 + fd.abs()), "{noise:?} m={m}");
                assert!(b.slope(m) <= bound * (1.0 + 1e-12), "{noise:?} m={m}");
                let d2 = (b.slope(m + h) - b.slope(m - h)) / (2.0 * h);
                assert!(d2.abs() <= curv, "{noise:?} m={m}: {d2} > {curv}");
                // The local (signed) bound holds on every small interval around m,
                // and is attained within a finite-difference error somewhere near.
                let local = b.curvature_on(m - 0.05, m + 0.05);
                assert!(d2 <= local + 1e-6 * local.abs().max(1e-6), "{noise:?} m={m}: {d2} > local {local}");
                assert!(local <= curv * (1.0 + 1e-9), "{noise:?} m={m}");
                // The slope bound from any level holds at every level above it.
                for k in 0..20 {
                    let above = m + k as f64 * 0.7;
                    assert!(b.slope(above) <= b.max_slope_from(m) * (1.0 + 1e-12) + 1e-15, "{noise:?} m={m}");
                }
            }
        }
    }

    #[test]
    fn points_carry_what_the_search_needs() {
        // The slope as `slope` sums it; the curvature between two points as
        // curvature_on gives it on their interval.
        for noise in [Noise::Normal { sd: 2.0 }, Noise::Lognormal { sd: 0.4 }, Noise::Lognormal { sd: 1.3 }] {
            let b = Belief::steps(-50.0, vec![(10.0, 100.0), (4.0, 50.0)], noise);
            for i in 0..300 {
                let lo = i as f64 * 0.1 - 2.0;
                let p = b.point(lo);
                // The slope against its own, separate sum over the steps.
                assert!((p.slope - b.slope(lo)).abs() <= 1e-12 * p.slope.abs().max(1e-12), "{noise:?} m={lo}");
                for w in [0.01, 0.7, 3.0, 25.0] {
                    let (q, want) = (b.point(lo + w), b.curvature_on(lo, lo + w));
                    let got = b.curvature_between(&p, &q);
                    assert!(
                        (got - want).abs() <= 1e-9 * want.abs().max(1e-6),
                        "{noise:?} [{lo}, {}]: {got} vs {want}",
                        lo + w
                    );
                }
            }
        }
    }

    #[test]
    fn counts_round_and_never_overlap() {
        assert_eq!(leaderboard_counts(200, 0.1, 0.1), (20, 20));
        assert_eq!(leaderboard_counts(3, 0.9, 0.9), (3, 0));
    }
}
