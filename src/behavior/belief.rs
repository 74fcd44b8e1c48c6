//! What an engineer believes the reward scheme will pay: the expected
//! reward as a function of their expected metric, given the last published
//! board and the noise on their own metric. The payout rule itself is
//! [`crate::model::reward`]; the solver that maximises utility under a
//! belief is [`crate::behavior::best_response`].

use std::sync::Arc;

use crate::analysis::stats::{normal_cdf_pdf, normal_pdf};
use crate::model::metric::Noise;
use crate::model::reward::RewardRule;

/// The expected reward around one expected metric level (see [`Belief::point`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
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
pub(crate) struct StepShape {
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
        self.tight(za, d2a, zb, d2b)
    }

    /// The least upper bound on the step's second derivative between two
    /// metric levels: the second derivative rises to its peak, falls through
    /// zero at `concave_from` to a trough and rises back towards zero, so its
    /// largest value on an interval is at an end or at the peak. (Unlike
    /// [`StepShape::bound`], negative on the concave side.)
    fn tight(&self, za: f64, d2a: f64, zb: f64, d2b: f64) -> f64 {
        let ends = d2a.max(d2b);
        if za <= self.peak_at && self.peak_at <= zb { ends.max(self.peak) } else { ends }
    }
}

/// What an engineer believes about the metric-to-reward map: a constant
/// plus a sum of smoothed steps `amount * P(observed metric >= cutoff)`,
/// where the probability accounts for the noise on their own metric.
#[derive(Debug, Clone)]
pub(crate) enum Belief {
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
        /// Metric intervals on which the expected reward lies under its own
        /// tangent everywhere (see [`Belief::under_tangent`]).
        touching: Vec<(f64, f64)>,
        /// A ceiling on the metric (see [`Belief::with_ceiling`]).
        ceiling: Option<Ceiling>,
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
        let mut belief =
            Belief::Steps { base, steps, noise, curvature, ln_cutoffs, shape, touching: Vec::new(), ceiling: None };
        let found = belief.touching_set();
        if let Belief::Steps { touching, .. } = &mut belief {
            *touching = found;
        }
        belief
    }

    /// Whether the tangent of the expected reward at expected metric `m`
    /// lies above it at every metric level `>= 0` (to within
    /// [`Belief::touch_slack`]): `m` is where the expected reward meets its
    /// concave hull. A plan there has a global certificate of optimality
    /// from two nearby plans (see `behavior::best_response`).
    pub fn under_tangent(&self, m: f64) -> bool {
        let Belief::Steps { touching, .. } = self else { return false };
        touching.iter().any(|&(lo, hi)| lo <= m && m <= hi)
    }

    /// Whether [`Belief::under_tangent`] holds anywhere.
    pub fn has_touching(&self) -> bool {
        matches!(self, Belief::Steps { touching, .. } if !touching.is_empty())
    }

    /// How far (USD) the expected reward may rise above a tangent taken
    /// where [`Belief::under_tangent`] holds: rounding in the checks.
    pub fn touch_slack(&self) -> f64 {
        match self {
            Belief::Steps { steps, base, .. } => TOUCH_SLACK * (base.abs() + steps.iter().map(|s| s.1).sum::<f64>()),
            _ => 0.0,
        }
    }

    /// The metric intervals where the expected reward lies under its own
    /// tangent over all metric levels `>= 0` (empty unless the steps are
    /// smoothed by noise). Found once per belief (per period) and checked
    /// rigorously, not sampled:
    ///
    /// - a tangent at `p` clears the reward on a cell `[x, y]` if
    ///   `R(y) - T(x) <= slack` (the reward never falls, the tangent never
    ///   falls) or if the larger gap at the two ends plus `K (y - x)^2 / 8`
    ///   is `<= slack`, where `K` bounds `R''` on the cell (from each step's
    ///   exact shape); cells that pass neither are halved, and a point
    ///   where the gap is above the slack fails the tangent;
    /// - below the grid, `R <= R(grid start)` and the tangent is at least
    ///   its value at 0; above it, `R <= sup R`;
    /// - on an interval where `R` is concave (checked the same way), a
    ///   tangent that clears everything to its left stays clear as its
    ///   point moves right, and one that clears everything to its right
    ///   stays clear as it moves left; so both ends of an interval passing
    ///   the check make the whole interval pass.
    fn touching_set(&self) -> Vec<(f64, f64)> {
        let Some((grid, log)) = self.touch_grid() else { return Vec::new() };
        let to_x = |m: f64| if log { m.ln() } else { m };
        let to_m = |x: f64| if log { x.exp() } else { x };
        let n = grid.m.len();
        let mut out = Vec::new();
        let mut i = 0;
        while i < n {
            // A run of grid points where the reward bends down.
            if grid.d2[i] > 0.0 {
                i += 1;
                continue;
            }
            let start = i;
            while i + 1 < n && grid.d2[i + 1] <= 0.0 {
                i += 1;
            }
            let end = i;
            i += 1;
            let (xa, xb) = (to_x(grid.m[start]), to_x(grid.m[end]));
            // Left end: the first point whose tangent clears everything to its left.
            let ta = if grid.clears(to_m(xa), true) {
                xa
            } else if !grid.clears(to_m(xb), true) {
                continue;
            } else {
                bisect(xa, xb, |x| !grid.clears(to_m(x), true)).1
            };
            // Right end: the last point whose tangent clears everything to its right.
            let tb = if grid.clears(to_m(xb), false) {
                xb
            } else if !grid.clears(to_m(ta), false) {
                continue;
            } else {
                bisect(ta, xb, |x| grid.clears(to_m(x), false)).0
            };
            let (ma, mb) = (to_m(ta), to_m(tb));
            if ma <= mb && grid.concave(ma, mb) && grid.clears_both(ma) && grid.clears_both(mb) {
                out.push((ma, mb));
            }
        }
        out
    }

    /// The grid of the tangent checks, over where the steps change (12
    /// noise widths either side of the cut-offs), and whether it is spaced
    /// in `ln m` (log-normal noise, where the steps have a fixed width) or
    /// in `m` (normal noise; never below 0). `None` unless the steps are
    /// smoothed by noise.
    fn touch_grid(&self) -> Option<(TouchGrid<'_>, bool)> {
        let Belief::Steps { steps, noise, curvature, .. } = self else { return None };
        if !curvature.is_finite() || steps.is_empty() || steps.iter().any(|s| s.1 < 0.0) {
            return None;
        }
        let (log, sd) = match *noise {
            Noise::Lognormal { sd } if sd > 0.0 && steps.iter().all(|s| s.0 > 0.0) => (true, sd),
            Noise::Normal { sd } if sd > 0.0 => (false, sd),
            _ => return None,
        };
        let to_x = |m: f64| if log { m.ln() } else { m };
        let to_m = |x: f64| if log { x.exp() } else { x };
        let span = 12.0 * sd + if log { sd * sd } else { 0.0 };
        let lo_x = steps.iter().map(|s| to_x(s.0)).fold(f64::INFINITY, f64::min) - span;
        let hi_x = steps.iter().map(|s| to_x(s.0)).fold(f64::NEG_INFINITY, f64::max) + span;
        let lo_x = if log { lo_x } else { lo_x.max(0.0) };
        if hi_x <= lo_x || !lo_x.is_finite() || !hi_x.is_finite() {
            return None;
        }
        let levels = (0..=TOUCH_GRID).map(|i| to_m(lo_x + (hi_x - lo_x) * i as f64 / TOUCH_GRID as f64));
        Some((TouchGrid::new(self, levels), log))
    }

    /// The same belief, for an engineer whose metric cannot exceed `m_max`
    /// (a token budget on a metric of tokens alone): it also records the
    /// steepest slope `s` found for which `R(M) <= R(m_max) - s (m_max - M)`
    /// at every level from 0 to `m_max` (to within [`Belief::touch_slack`];
    /// checked as the tangents of [`Belief::under_tangent`] are, slopes
    /// bisected). A plan at `m_max` with multiplier at most `rho s` is then
    /// optimal: see [`Belief::ceiling`].
    pub fn with_ceiling(mut self, m_max: f64) -> Belief {
        let found = self.touch_grid().and_then(|(grid, _)| {
            let (first, last) = (grid.m[0], grid.m[grid.m.len() - 1]);
            if !(first..=last).contains(&m_max) {
                return None;
            }
            let (r, d) = self.value_and_slope(m_max);
            // A flat line always clears (the reward never falls); the secant
            // to 0 is as steep as any line can be.
            let ok = |s: f64| grid.clears_line(m_max, (r, d), s, true);
            let steepest = (r - self.expected(0.0)) / m_max;
            if !ok(0.0) {
                return None;
            }
            let slope = if ok(steepest) { steepest } else { bisect(0.0, steepest, ok).0 };
            Some(Ceiling { metric: m_max, reward: r, slope })
        });
        if let Belief::Steps { ceiling, .. } = &mut self {
            *ceiling = found;
        }
        self
    }

    /// The metric's ceiling recorded by [`Belief::with_ceiling`], if any.
    pub fn ceiling(&self) -> Option<Ceiling> {
        match self {
            Belief::Steps { ceiling, .. } => *ceiling,
            _ => None,
        }
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
        Self::sum_between(steps, shape, a, b, StepShape::bound)
    }

    /// Sums `f(shape, z_a, d2_a, z_b, d2_b)` times each step's amount, from
    /// what two [`Point`]s carry (at most two steps).
    fn sum_between(
        steps: &[(f64, f64)],
        shape: &[StepShape],
        a: &Point,
        b: &Point,
        f: impl Fn(&StepShape, f64, f64, f64, f64) -> f64,
    ) -> f64 {
        let per_step = steps.iter().zip(shape).enumerate();
        per_step.map(|(j, (&(_, amount), sh))| amount * f(sh, a.z[j], a.d2[j], b.z[j], b.d2[j])).sum()
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
        match self {
            Belief::Steps { curvature, .. } if curvature.is_finite() => self.per_step_d2(lo, hi, StepShape::bound),
            _ => self.max_curvature(),
        }
    }

    /// [`Belief::curvature_on`] with each step's least upper bound (negative
    /// where every step is concave on the interval).
    fn tight_curvature_on(&self, lo: f64, hi: f64) -> f64 {
        self.per_step_d2(lo, hi, StepShape::tight)
    }

    /// The second derivative of the expected reward at `m`.
    fn d2_at(&self, m: f64) -> f64 {
        self.per_step_d2(m, m, |_, _, d2, _, _| d2)
    }

    /// Sums `f(shape, z_lo, d2_lo, z_hi, d2_hi)` times each step's amount.
    fn per_step_d2(&self, lo: f64, hi: f64, f: impl Fn(&StepShape, f64, f64, f64, f64) -> f64) -> f64 {
        let Belief::Steps { steps, noise, ln_cutoffs, shape, .. } = self else { return self.max_curvature() };
        let ln = |m: f64| if m > 0.0 && matches!(noise, Noise::Lognormal { .. }) { m.ln() } else { f64::NEG_INFINITY };
        let (ln_lo, ln_hi) = (ln(lo), ln(hi));
        let mut total = 0.0;
        for ((&(c, amount), &lc), sh) in steps.iter().zip(ln_cutoffs).zip(shape) {
            let end = |m: f64, lm: f64| Self::step_d2(m, lm, c, lc, *noise, Self::prob_ln(m, lm, c, lc, *noise).1);
            let ((za, d2a), (zb, d2b)) = (end(lo, ln_lo), end(hi, ln_hi));
            total += amount * f(sh, za, d2a, zb, d2b);
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

    /// The slope of the expected reward at `m` and its second derivative
    /// (USD per metric unit, and per unit squared; no curvature without noise).
    pub fn slope_and_curvature(&self, m: f64) -> (f64, f64) {
        match self {
            Belief::Steps { steps, .. } if steps.len() <= 2 => {
                let pt = self.point(m);
                (pt.slope, self.curvature_at_point(&pt))
            }
            Belief::Steps { .. } => (self.slope(m), self.d2_at(m)),
            _ => (self.slope(m), 0.0),
        }
    }

    /// The second derivative of the expected reward at a [`Point`] of a
    /// belief with at most two steps (the point carries each step's): the
    /// sum [`Belief::d2_at`] computes, without its distribution functions.
    fn curvature_at_point(&self, pt: &Point) -> f64 {
        let Belief::Steps { steps, .. } = self else { return 0.0 };
        steps.iter().zip(pt.d2).fold(0.0, |t, (s, d2)| t + s.1 * d2)
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
}

/// Slack of the tangent checks behind [`Belief::under_tangent`], per USD of
/// the reward's range: rounding in sums of a few terms.
const TOUCH_SLACK: f64 = 1e-11;
/// Cells of the grid the tangent checks start from.
const TOUCH_GRID: usize = 128;
/// Bisections that place the ends of a touching interval (of a run between
/// two grid points: ends within 2^-16 of its width).
const TOUCH_BISECTIONS: usize = 16;

/// Halves `[lo, hi]` [`TOUCH_BISECTIONS`] times, keeping `lo` where
/// `stays_low` holds and `hi` where it does not; returns the final bracket.
fn bisect(mut lo: f64, mut hi: f64, stays_low: impl Fn(f64) -> bool) -> (f64, f64) {
    for _ in 0..TOUCH_BISECTIONS {
        let mid = 0.5 * (lo + hi);
        if stays_low(mid) { lo = mid } else { hi = mid }
    }
    (lo, hi)
}

/// A ceiling on an engineer's metric and the line through the expected
/// reward there that lies above it below (see [`Belief::with_ceiling`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ceiling {
    /// The highest metric any plan can reach.
    pub metric: f64,
    /// The expected reward there (USD).
    pub reward: f64,
    /// The line's slope (USD per metric unit).
    pub slope: f64,
}
/// Most halvings of a grid cell before a check gives up (and fails).
const TOUCH_DEPTH: u32 = 16;

/// One end of a cell: its level, the gap between the reward and a tangent
/// there and the gap's slope, and the reward.
#[derive(Clone, Copy)]
struct End {
    m: f64,
    h: f64,
    g: f64,
    r: f64,
}

/// The expected reward on a grid, for the checks of [`Belief::touching_set`]:
/// what does not depend on the tangent's point is computed once.
struct TouchGrid<'a> {
    belief: &'a Belief,
    /// Grid levels, increasing.
    m: Vec<f64>,
    /// Per level: the expected reward and its slope.
    r: Vec<f64>,
    slope: Vec<f64>,
    /// Per level: its second derivative.
    d2: Vec<f64>,
    /// Per cell: an upper bound on the second derivative.
    curv: Vec<f64>,
    /// The reward's supremum.
    sup: f64,
    slack: f64,
}

impl<'a> TouchGrid<'a> {
    fn new(belief: &'a Belief, levels: impl Iterator<Item = f64>) -> Self {
        let m: Vec<f64> = levels.collect();
        let Belief::Steps { base, steps, shape, .. } = belief else { unreachable!("touching sets are for steps") };
        let (r, slope, d2, curv) = if steps.len() <= 2 {
            // One pass over the steps per level gives everything (the same
            // sums as `d2_at` and `tight_curvature_on`, which would each
            // redo the level's distribution functions twice).
            let pts: Vec<Point> = m.iter().map(|&x| belief.point(x)).collect();
            let d2 = pts.iter().map(|p| belief.curvature_at_point(p)).collect();
            let curv =
                pts.windows(2).map(|w| Belief::sum_between(steps, shape, &w[0], &w[1], StepShape::tight)).collect();
            (pts.iter().map(|p| p.value).collect(), pts.iter().map(|p| p.slope).collect(), d2, curv)
        } else {
            let (r, slope) = m.iter().map(|&x| belief.value_and_slope(x)).unzip();
            let d2 = m.iter().map(|&x| belief.d2_at(x)).collect();
            let curv = m.windows(2).map(|w| belief.tight_curvature_on(w[0], w[1])).collect();
            (r, slope, d2, curv)
        };
        let sup = base + steps.iter().map(|s| s.1).sum::<f64>();
        TouchGrid { belief, m, r, slope, d2, curv, sup, slack: belief.touch_slack() }
    }

    /// Whether the tangent at `p` (within the grid) clears the reward on
    /// one side of `p` (`left`: levels from 0 to `p`; else from `p` up).
    fn clears(&self, p: f64, left: bool) -> bool {
        let (rp, dp) = self.belief.value_and_slope(p);
        self.clears_line(p, (rp, dp), dp, left)
    }

    /// Whether the line through the reward at `p` with slope `sp` clears
    /// the reward on one side of `p`, given the reward and its slope at `p`.
    fn clears_line(&self, p: f64, (rp, dp): (f64, f64), sp: f64, left: bool) -> bool {
        let line = |m: f64| rp + sp * (m - p);
        let end = |c: usize| End { m: self.m[c], h: self.r[c] - line(self.m[c]), g: self.slope[c] - sp, r: self.r[c] };
        let at = End { m: p, h: 0.0, g: dp - sp, r: rp };
        let tangent = (p, rp, sp);
        let n = self.m.len();
        // The tails: below the grid the reward is at most its value at the
        // grid's start and the tangent at least its value at 0; above, the
        // reward is at most its supremum.
        if left && self.r[0] - line(0.0) > self.slack || !left && self.sup - line(self.m[n - 1]) > self.slack {
            return false;
        }
        // Only the cells on the tangent's side.
        let at_p = self.m.partition_point(|&x| x < p);
        let cells = if left { 0..at_p.min(n - 1) } else { at_p.saturating_sub(1)..n - 1 };
        cells.into_iter().all(|c| {
            let (x, y) = (self.m[c], self.m[c + 1]);
            // The first test of `cell` without building its ends (the reward
            // never falls and the line never falls); passing it clears them too.
            if (if left { y <= p } else { x >= p }) && self.r[c + 1] - line(x) <= self.slack {
                return true;
            }
            match (left, y <= p, x >= p) {
                (true, true, _) | (false, _, true) => self.cell(end(c), end(c + 1), self.curv[c], tangent, 0),
                (true, false, false) => self.cell(end(c), at, self.belief.tight_curvature_on(x, p), tangent, 0),
                (false, false, false) => self.cell(at, end(c + 1), self.belief.tight_curvature_on(p, y), tangent, 0),
                _ => true,
            }
        })
    }

    /// Whether the tangent at `p` clears the reward on both sides.
    fn clears_both(&self, p: f64) -> bool {
        self.clears(p, true) && self.clears(p, false)
    }

    /// Whether the reward stays within the slack of the tangent `(p, rp,
    /// sp)` on the cell between two ends (with the gap `h = R - T`, its
    /// slope and the reward at each), given a bound `k` on `R''` (so on `h''`)
    /// there. From each
    /// end, `h` lies under its second-order expansion with curvature `k`;
    /// the two expansions differ by a linear function, so the larger of
    /// their minimum sits at an end, where they cross, or at a vertex.
    fn cell(&self, ex: End, ey: End, k: f64, (p, rp, sp): (f64, f64, f64), depth: u32) -> bool {
        if ex.h > self.slack || ey.h > self.slack {
            return false;
        }
        let (x, y) = (ex.m, ey.m);
        // The reward never falls and the tangent never falls.
        let first = ey.r - (rp + sp * (x - p));
        if first <= self.slack {
            return true;
        }
        let w = y - x;
        let ua = |t: f64| ex.h + ex.g * t + 0.5 * k * t * t;
        let ub = |t: f64| ey.h - ey.g * (w - t) + 0.5 * k * (w - t) * (w - t);
        let both = |t: f64| ua(t).min(ub(t));
        let mut second = both(0.0).max(both(w));
        let (d0, dw) = (ua(0.0) - ub(0.0), ua(w) - ub(w));
        if d0 != dw {
            let t = d0 / (d0 - dw) * w;
            if (0.0..=w).contains(&t) {
                second = second.max(both(t));
            }
        }
        if k < 0.0 {
            for t in [-ex.g / k, w - ey.g / k] {
                if (0.0..=w).contains(&t) {
                    second = second.max(both(t));
                }
            }
        }
        if second <= self.slack {
            return true;
        }
        if depth >= TOUCH_DEPTH {
            return false;
        }
        let mid = if x > 0.0 { (x * y).sqrt() } else { 0.5 * (x + y) };
        let (r, s) = self.belief.value_and_slope(mid);
        let em = End { m: mid, h: r - (rp + sp * (mid - p)), g: s - sp, r };
        let tangent = (p, rp, sp);
        self.cell(ex, em, self.belief.tight_curvature_on(x, mid), tangent, depth + 1)
            && self.cell(em, ey, self.belief.tight_curvature_on(mid, y), tangent, depth + 1)
    }

    /// Whether the reward is concave on `[a, b]` (an upper bound on its
    /// second derivative at or below zero on every piece).
    fn concave(&self, a: f64, b: f64) -> bool {
        let mut cuts: Vec<f64> = vec![a];
        cuts.extend(self.m.iter().copied().filter(|&x| a < x && x < b));
        cuts.push(b);
        let mut stack: Vec<(f64, f64, u32)> = cuts.windows(2).map(|w| (w[0], w[1], 0)).collect();
        while let Some((x, y, depth)) = stack.pop() {
            if self.belief.tight_curvature_on(x, y) <= 0.0 {
                continue;
            }
            if depth >= TOUCH_DEPTH {
                return false;
            }
            let mid = if x > 0.0 { (x * y).sqrt() } else { 0.5 * (x + y) };
            stack.extend([(x, mid, depth + 1), (mid, y, depth + 1)]);
        }
        true
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
    fn tangents_on_the_touching_set_lie_above_the_reward() {
        // Against a fine grid of levels from 0 to far above the cut-offs;
        // and the set is not trivially small: every level with a grid-checked
        // tangent a little inside it is in it.
        let cases = [
            (-2000.0, vec![(3e8, 3000.0), (4e7, 2000.0)], Noise::Lognormal { sd: 0.3 }),
            (0.0, vec![(5.0, 100.0)], Noise::Lognormal { sd: 1.2 }),
            (-50.0, vec![(10.0, 100.0), (4.0, 50.0)], Noise::Lognormal { sd: 0.05 }),
            (-50.0, vec![(10.0, 100.0), (4.0, 50.0)], Noise::Normal { sd: 2.0 }),
            (0.0, vec![(30.0, 10.0), (12.0, 500.0), (20.0, 40.0)], Noise::Normal { sd: 0.7 }),
        ];
        for (base, steps, noise) in cases {
            let top = steps.iter().map(|s| s.0).fold(0.0, f64::max);
            let b = Belief::steps(base, steps.clone(), noise);
            let Belief::Steps { touching, .. } = &b else { unreachable!() };
            assert!(!touching.is_empty(), "{steps:?} {noise:?}");
            let levels: Vec<f64> = (0..=40_000)
                .map(|i| i as f64 / 40_000.0)
                .flat_map(|u| [u * 50.0 * top, top * (1e-6f64).powf(1.0 - u) * 50f64.powf(u)])
                .collect();
            let clears = |p: f64| {
                let (r, s) = b.value_and_slope(p);
                levels.iter().all(|&m| b.expected(m) <= r + s * (m - p) + b.touch_slack())
            };
            for &(lo, hi) in touching {
                for k in 0..=20 {
                    let p = lo + (hi - lo) * k as f64 / 20.0;
                    assert!(b.under_tangent(p));
                    assert!(clears(p), "{steps:?} {noise:?}: tangent at {p} in [{lo}, {hi}]: {}", {
                        let (r, s) = b.value_and_slope(p);
                        levels.iter().map(|&m| b.expected(m) - r - s * (m - p)).fold(f64::MIN, f64::max)
                    });
                }
            }
            // The top step's concave side, up to where the check's grid ends, is in the set.
            let (c, _) = steps.iter().copied().fold((0.0, 0.0), |a, s| if s.0 > a.0 { s } else { a });
            let above = match noise {
                Noise::Lognormal { sd } => c * (2.0 * sd).exp(),
                Noise::Normal { sd } => c + 2.0 * sd,
                Noise::None => unreachable!(),
            };
            assert!(clears(above) && b.under_tangent(above), "{steps:?} {noise:?}: {above} {touching:?}");
        }
    }

    #[test]
    fn a_ceiling_line_lies_above_the_reward_below_the_ceiling() {
        let cases = [
            (-2000.0, vec![(3e8, 3000.0), (4e7, 2000.0)], Noise::Lognormal { sd: 0.3 }),
            (-50.0, vec![(10.0, 100.0), (4.0, 50.0)], Noise::Normal { sd: 2.0 }),
        ];
        let mut steep = 0;
        for (base, steps, noise) in cases {
            for k in 1..40 {
                let top = steps[0].0;
                let m_max = top * (0.3 + 0.05 * k as f64);
                let b = Belief::steps(base, steps.clone(), noise).with_ceiling(m_max);
                let Some(Ceiling { metric: at, reward, slope: s }) = b.ceiling() else { continue };
                assert_eq!(at, m_max);
                assert_eq!(reward, b.expected(m_max));
                let r = reward;
                let gap = |s: f64| {
                    (0..=100_000)
                        .map(|i| m_max * i as f64 / 100_000.0)
                        .map(|m| b.expected(m) - (r - s * (m_max - m)))
                        .fold(f64::MIN, f64::max)
                };
                assert!(gap(s) <= b.touch_slack(), "{noise:?} {m_max}: slope {s} gap {}", gap(s));
                // Nearly the steepest: a slightly steeper line crosses the reward.
                if gap(s * 1.01) > b.touch_slack() {
                    steep += 1;
                }
            }
        }
        assert!(steep >= 40, "{steep}");
    }
}
