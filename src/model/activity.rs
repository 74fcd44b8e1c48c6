//! Activities: what engineers can spend hours on, as data.
//!
//! Each activity has per-hour contributions to true value and to signals
//! (tokens, changes shipped, and any named signal), a defect rate, a flag
//! saying whether it is gaming, and may use AI at an intensity the engineer
//! chooses. The default engineering organisation is one list of activities;
//! a scenario may replace it with its own.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::schema::check;

/// One way of spending working hours. A file's `[[activity]]` table gives
/// any of these fields; the others take [`Activity::default`]'s values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Activity {
    /// Name, used in `hours.<name>` KPIs.
    pub name: String,
    /// Useful value per productive hour, USD, for an engineer of skill 1 without AI.
    pub value_per_hour: f64,
    /// Whether the engineer chooses an AI intensity tau (tokens per hour) for it,
    /// multiplying productivity by `1 + a (1 - exp(-tau / tau0))`.
    pub uses_ai: bool,
    /// Scale of diminishing returns to AI tokens, tokens per hour (tau0).
    pub tau0: f64,
    /// Most tokens per hour an engineer can put through agents on this activity.
    pub max_tokens_per_hour: f64,
    /// Tokens consumed per hour regardless of choice (e.g. agents on pointless tasks).
    pub tokens_per_hour: f64,
    /// Expected changes shipped per productive hour (Poisson).
    pub changes_per_hour: f64,
    /// Size of each change relative to an ordinary change (normalized deployments count size).
    pub change_size: f64,
    /// Probability that a surviving change is judged useful.
    pub usefulness: f64,
    /// Probability that a change is defective.
    pub defect_rate: f64,
    /// Review hours each change costs the engineer's peers.
    pub review_hours_per_change: f64,
    /// How much more review an AI-assisted change needs: review hours per
    /// change are `review_hours_per_change (1 + ai_review_factor s)`, with
    /// `s = 1 - exp(-tau / tau0)` the share of the work AI does (0 for an
    /// activity without AI). Larger, machine-written changes take longer to
    /// review; default 0.
    pub ai_review_factor: f64,
    /// How much more often an AI-assisted change is defective: the defect
    /// rate is `defect_rate (1 + ai_defect_factor s)`, with `s` as for
    /// `ai_review_factor`. Default 0.
    pub ai_defect_factor: f64,
    /// How much larger an AI-assisted change is: its size is
    /// `change_size (1 + ai_size_factor s)`, with `s` as for
    /// `ai_review_factor`. Size weighs the size-weighted signals
    /// (normalized deployments, shipped-and-survived), not value. Default 0.
    pub ai_size_factor: f64,
    /// How much of its value an AI-assisted change keeps after it merges:
    /// the value it delivers is `(1 + ai_value_factor s)` times what the
    /// same change would deliver without AI, with `s` as for
    /// `ai_review_factor`. Negative for work that merges and is later
    /// rewritten, duplicated or never needed. Engineers do not see it when
    /// they plan (they judge their work by what merges); it is in the value
    /// realised and in the `value` signal. Default 0.
    pub ai_value_factor: f64,
    /// Cycle time of each change, days from start to production.
    pub cycle_time_days: f64,
    /// Whether hours here count as gaming (metric gain without the value it stands for).
    pub gaming: bool,
    /// Whether value, changes and signals scale with the engineer's skill (and AI).
    pub skill_scaled: bool,
    /// The activity's own convexity e, USD-equivalent per hour²: its hours
    /// cost `e/2 h²` on top of the effort cost, so each further hour of it
    /// is harder than the last (a gaming practice is easy in small doses
    /// and gets noticed, or runs out of material, in large ones).
    pub convexity: f64,
    /// Direct per-hour contributions to named signals (built-in or the
    /// scenario's own), scaled like value when `skill_scaled`. Not to
    /// `review_wait`, which only the review queue adds (here or in
    /// `ai_signals`).
    #[serde(with = "crate::model::schema::signals")]
    pub signals: Vec<(String, f64)>,
    /// Contributions to named signals per productive hour of AI-assisted
    /// work: each counts `w x` per productive unit, with `x` the share of
    /// the work AI does (`1 - exp(-tau / tau0)`). For what only AI use
    /// leaves behind: AI suggestions shown and accepted, days with AI use.
    /// Only on an activity that uses AI.
    #[serde(skip_serializing_if = "Vec::is_empty", with = "crate::model::schema::signals")]
    pub ai_signals: Vec<(String, f64)>,
}

impl Default for Activity {
    /// An unnamed activity (a file must name it) with everything zero/off.
    fn default() -> Self {
        Activity::named("")
    }
}

impl Activity {
    /// An activity with the given name and everything else zero/off,
    /// skill-scaled. A starting point for builder-style construction.
    pub fn named(name: impl Into<String>) -> Self {
        Activity {
            name: name.into(),
            value_per_hour: 0.0,
            uses_ai: false,
            tau0: 100_000.0,
            max_tokens_per_hour: 0.0,
            tokens_per_hour: 0.0,
            changes_per_hour: 0.0,
            change_size: 1.0,
            usefulness: 1.0,
            defect_rate: 0.0,
            review_hours_per_change: 0.0,
            ai_review_factor: 0.0,
            ai_defect_factor: 0.0,
            ai_size_factor: 0.0,
            ai_value_factor: 0.0,
            cycle_time_days: 0.0,
            gaming: false,
            skill_scaled: true,
            convexity: 0.0,
            signals: Vec::new(),
            ai_signals: Vec::new(),
        }
    }

    /// Checks the activity's fields; `path` is e.g. `activity[2]`.
    pub fn validate(&self, path: &str) -> Result<()> {
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(Error::invalid(
                format!("{path}.name"),
                format!("{:?}", self.name),
                "a non-empty name of letters, digits, `_` or `-`",
            ));
        }
        let num = |key: &str, v: f64| check(&format!("{path}.{key}"), v);
        num("value_per_hour", self.value_per_hour)?;
        num("tau0", self.tau0)?;
        num("max_tokens_per_hour", self.max_tokens_per_hour)?;
        num("tokens_per_hour", self.tokens_per_hour)?;
        num("changes_per_hour", self.changes_per_hour)?;
        num("change_size", self.change_size)?;
        num("usefulness", self.usefulness)?;
        num("defect_rate", self.defect_rate)?;
        num("review_hours_per_change", self.review_hours_per_change)?;
        num("ai_review_factor", self.ai_review_factor)?;
        num("ai_defect_factor", self.ai_defect_factor)?;
        num("ai_size_factor", self.ai_size_factor)?;
        num("ai_value_factor", self.ai_value_factor)?;
        if self.uses_ai && self.defect_rate * (1.0 + self.ai_defect_factor.max(0.0)) > 1.0 {
            return Err(Error::invalid(
                format!("{path}.ai_defect_factor"),
                self.ai_defect_factor,
                format!(
                    "at most {} (defect_rate x (1 + ai_defect_factor) is a probability)",
                    1.0 / self.defect_rate - 1.0
                ),
            ));
        }
        num("cycle_time_days", self.cycle_time_days)?;
        num("convexity", self.convexity)?;
        for (key, signals) in [("signals", &self.signals), ("ai_signals", &self.ai_signals)] {
            for (name, w) in signals {
                check(&format!("{path}.{key}.{name}"), *w)?;
                // The queue's waiting factor scales all of it (an engineer's
                // wait is that factor times their changes' review hours).
                if name == "review_wait" {
                    return Err(Error::invalid(
                        format!("{path}.{key}.review_wait"),
                        w,
                        "another signal: review_wait is what the review queue adds, not an activity",
                    ));
                }
            }
        }
        if !self.uses_ai && !self.ai_signals.is_empty() {
            return Err(Error::invalid(
                format!("{path}.ai_signals"),
                "signals of AI use on an activity without AI",
                "`uses_ai = true`, or no ai_signals",
            ));
        }
        Ok(())
    }

    /// The share of the work AI does at intensity `tau` (tokens per hour):
    /// `1 - exp(-tau / tau0)`, 0 for an activity without AI.
    #[inline]
    pub fn ai_share(&self, tau: f64) -> f64 {
        if self.uses_ai { 1.0 - (-tau / self.tau0).exp() } else { 0.0 }
    }

    /// Defect rate at AI share `s`.
    #[inline]
    pub fn defect_rate_at(&self, s: f64) -> f64 {
        self.defect_rate * (1.0 + self.ai_defect_factor * s)
    }

    /// The share of a change's value kept at AI share `s`.
    #[inline]
    pub fn value_kept_at(&self, s: f64) -> f64 {
        1.0 + self.ai_value_factor * s
    }

    /// Change size at AI share `s`.
    #[inline]
    pub fn change_size_at(&self, s: f64) -> f64 {
        self.change_size * (1.0 + self.ai_size_factor * s)
    }
}

/// The default gaming activities' own convexity, USD-equivalent per
/// hour²: at 10 hours a week of one practice its next hour costs 40 USD-eq
/// more, about the median integrity (42 USD-eq per gaming hour). A few
/// split changes or skipped test runs go unnoticed; a week of them does
/// not (reviewers push back, the material to split runs out).
pub const GAMING_CONVEXITY: f64 = 4.0;

/// The default engineering organisation's activities: build with AI, burn
/// tokens, split/pad changes, rush (skip tests), inflate usefulness claims.
/// Slack is what is left of the hours budget.
pub fn default_activities() -> Vec<Activity> {
    vec![
        Activity {
            value_per_hour: 100.0,
            uses_ai: true,
            tau0: 100_000.0,
            max_tokens_per_hour: 450_000.0,
            changes_per_hour: 0.1,
            usefulness: 0.9,
            defect_rate: 0.1,
            review_hours_per_change: 0.5,
            cycle_time_days: 3.0,
            ..Activity::named("build")
        },
        Activity {
            tokens_per_hour: 10_000_000.0,
            gaming: true,
            skill_scaled: false,
            convexity: GAMING_CONVEXITY,
            ..Activity::named("burn")
        },
        Activity {
            value_per_hour: 5.0,
            changes_per_hour: 0.6,
            change_size: 0.1,
            usefulness: 0.5,
            defect_rate: 0.04,
            review_hours_per_change: 0.3,
            cycle_time_days: 0.5,
            gaming: true,
            convexity: GAMING_CONVEXITY,
            ..Activity::named("split")
        },
        // Build without the tests: agents speed it as they speed building.
        Activity {
            value_per_hour: 70.0,
            uses_ai: true,
            tau0: 100_000.0,
            max_tokens_per_hour: 450_000.0,
            changes_per_hour: 0.2,
            usefulness: 0.9,
            defect_rate: 0.35,
            review_hours_per_change: 0.2,
            cycle_time_days: 1.0,
            gaming: true,
            convexity: GAMING_CONVEXITY,
            ..Activity::named("rush")
        },
        Activity {
            gaming: true,
            skill_scaled: false,
            convexity: GAMING_CONVEXITY,
            signals: vec![("normalized_deployments".into(), 0.08), ("shipped_and_survived".into(), 0.04)],
            ..Activity::named("inflate")
        },
    ]
}

/// The week an engineer plans within: contract hours, the most hours the
/// week can hold, and the overtime cost beyond contract hours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Week {
    /// Contract hours (this period's, after review load): hours up to here
    /// cost only the effort cost.
    pub contract: f64,
    /// The most hours the week can hold (after review load): a hard limit.
    pub limit: f64,
    /// Overtime coefficient, USD-equivalent per hour² (the org's
    /// `overtime_cost` times the engineer's skill): hours `H` worked in
    /// total cost `overtime / 2 (H - contract)₊²` on top of the effort cost.
    pub overtime: f64,
}

impl Week {
    /// A week without overtime cost whose limit is `hours`.
    pub fn flat(hours: f64) -> Self {
        Week { contract: hours, limit: hours, overtime: 0.0 }
    }

    /// The overtime cost of `total` hours, USD-equivalent.
    #[inline]
    pub fn overtime_cost(&self, total: f64) -> f64 {
        let x = (total - self.contract).max(0.0);
        0.5 * self.overtime * x * x
    }
}

/// The shape of the convex effort cost, USD-equivalent per period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "form", rename_all = "lowercase")]
#[non_exhaustive]
pub enum EffortForm {
    /// `c/2 * sum_k h_k^2`: activities do not crowd each other out.
    Separable,
    /// `c/2 * (sum_k h_k)^2`: only total hours are costly (perfect substitutes).
    Total,
    /// `c/2 * [(1 - s) sum_k h_k^2 + s (sum_k h_k)^2]`, between the two.
    Mixed {
        /// Substitution s in [0, 1]: 0 is separable, 1 is total.
        substitution: f64,
    },
    /// `c/p * sum_k h_k^p` with exponent p > 1.
    Power {
        /// Exponent p > 1.
        exponent: f64,
    },
}

/// The effort cost of an hour allocation. A file writes it as one flat
/// table: `form`, its parameter, `coefficient`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "crate::model::schema::EffortFile", into = "crate::model::schema::EffortFile")]
pub struct EffortCost {
    /// Its shape.
    pub form: EffortForm,
    /// The coefficient c, USD-equivalent per hour^2 (per hour^p for the power form).
    pub coefficient: f64,
}

impl Default for EffortCost {
    /// Mixed with substitution 0.8 and c = 2: hours on different activities
    /// mostly crowd each other out (an hour burning tokens is an hour not
    /// building), and an engineer with 60 USD of felt marginal value per
    /// hour works about 30 hours.
    fn default() -> Self {
        EffortCost { form: EffortForm::Mixed { substitution: 0.8 }, coefficient: 2.0 }
    }
}

impl EffortCost {
    /// Checks the coefficient and shape parameters.
    pub fn validate(&self) -> Result<()> {
        check("effort_cost.coefficient", self.coefficient)?;
        match self.form {
            EffortForm::Mixed { substitution } => check("effort_cost.substitution", substitution),
            EffortForm::Power { exponent } => check("effort_cost.exponent", exponent),
            _ => Ok(()),
        }
    }

    /// The substitution parameter of the quadratic family, if quadratic.
    pub fn substitution(&self) -> Option<f64> {
        match self.form {
            EffortForm::Separable => Some(0.0),
            EffortForm::Total => Some(1.0),
            EffortForm::Mixed { substitution } => Some(substitution),
            EffortForm::Power { .. } => None,
        }
    }

    /// Effort cost of `hours` (USD-equivalent), without activities' own
    /// convexity or overtime (see [`EffortCost::full_cost`]).
    pub fn cost(&self, hours: &[f64]) -> f64 {
        let c = self.coefficient;
        match self.form {
            EffortForm::Power { exponent } => c / exponent * hours.iter().map(|h| h.powf(exponent)).sum::<f64>(),
            _ => {
                let s = self.substitution().unwrap_or(0.0);
                let sq: f64 = hours.iter().map(|h| h * h).sum();
                let tot: f64 = hours.iter().sum();
                0.5 * c * ((1.0 - s) * sq + s * tot * tot)
            }
        }
    }

    /// The whole cost of an hour allocation, USD-equivalent: the effort
    /// cost, each activity's own convexity `convexity_k / 2 h_k²`, and
    /// overtime beyond the week's contract hours.
    pub fn full_cost(&self, hours: &[f64], convexity: &[f64], week: &Week) -> f64 {
        let c = self.coefficient;
        debug_assert_eq!(hours.len(), convexity.len());
        // One pass (this runs once per plan evaluation).
        let (mut sq, mut tot, mut own) = (0.0, 0.0, 0.0);
        for (&h, &e) in hours.iter().zip(convexity) {
            sq += h * h;
            tot += h;
            own += e * h * h;
        }
        let base = match self.form {
            EffortForm::Power { exponent } => c / exponent * hours.iter().map(|h| h.powf(exponent)).sum::<f64>(),
            _ => {
                let s = self.substitution().unwrap_or(0.0);
                0.5 * c * ((1.0 - s) * sq + s * tot * tot)
            }
        };
        base + 0.5 * own + week.overtime_cost(tot)
    }

    /// The hours that maximise `sum_k b_k h_k - full_cost(h)` subject to
    /// `h >= 0` and `sum_k h_k <= week.limit`, written into `hours`.
    /// `order` is scratch space. Exact for every form: closed form for the
    /// quadratic family, bisection to machine precision for the power form.
    ///
    /// At the optimum every active activity has `h_k = (b_k - eta) / d_k`
    /// (quadratic family, `d_k = c (1 - s) + convexity_k`), where the shift
    /// `eta = c s H + overtime (H - contract)₊ + mu` is the marginal cost of
    /// total hours `H` plus the limit's shadow price `mu`: one scalar, found
    /// by walking the activities in order of `b`.
    pub fn allocate(&self, b: &[f64], convexity: &[f64], week: &Week, hours: &mut [f64], order: &mut Vec<usize>) {
        let c = self.coefficient;
        let limit = week.limit;
        if limit <= 0.0 {
            hours.fill(0.0);
            return;
        }
        // Every path below writes every entry of `hours` (this runs once per
        // plan evaluation: no separate clearing pass).
        match self.form {
            EffortForm::Power { exponent } => {
                let inv = 1.0 / (exponent - 1.0);
                let h_at = |k: usize, eta: f64| power_hours(b[k] - eta, c, exponent, inv, convexity[k]);
                let total = |eta: f64| (0..b.len()).map(|k| h_at(k, eta)).sum::<f64>();
                let top = b.iter().cloned().fold(0.0, f64::max);
                // The shift solves eta = overtime (H(eta) - contract)₊, whose
                // left side rises and right side falls with eta.
                let mut eta = 0.0;
                if week.overtime > 0.0 && total(0.0) > week.contract {
                    let (mut lo, mut hi) = (0.0, top);
                    for _ in 0..100 {
                        let mid = 0.5 * (lo + hi);
                        if mid < week.overtime * (total(mid) - week.contract).max(0.0) { lo = mid } else { hi = mid }
                    }
                    eta = hi;
                }
                if total(eta) > limit {
                    let (mut lo, mut hi) = (eta, top);
                    for _ in 0..100 {
                        let mid = 0.5 * (lo + hi);
                        if total(mid) > limit { lo = mid } else { hi = mid }
                    }
                    eta = hi;
                }
                for (k, h) in hours.iter_mut().enumerate() {
                    *h = h_at(k, eta);
                }
            }
            _ => {
                let s = self.substitution().unwrap_or(0.0);
                let (d0, cs, o) = (c * (1.0 - s), c * s, week.overtime);
                // Each activity's own curvature d_k = d0 + convexity_k. One
                // that costs under 1e-9 USD-eq over the whole week counts
                // as none (`d_k <= negligible`): dividing by it would give
                // hours beyond any limit, lost to rounding (a convexity of
                // 1e-166 once did).
                let negligible = 1e-9 / (limit * limit);
                // Indices by b descending, ties by index: an insertion sort,
                // as there are only a handful of activities. It starts from
                // the order the caller's last call left (a search's plans
                // rarely reorder activities); the order is unique, so where
                // it starts does not change it.
                if order.len() != b.len() {
                    order.clear();
                    order.extend(0..b.len());
                }
                for i in 1..order.len() {
                    let k = order[i];
                    let mut pos = i;
                    while pos > 0 && {
                        let j = order[pos - 1];
                        b[j] < b[k] || (b[j] == b[k] && j > k)
                    } {
                        order[pos] = order[pos - 1];
                        pos -= 1;
                    }
                    order[pos] = k;
                }
                // Activities with d_k = 0 (total form, no convexity of their
                // own) are perfect substitutes: only the first of them in
                // order can get hours, and it then sets the shift.
                let mut free: Option<usize> = None;
                // Active set among the others: P = sum b_k / d_k, Q = sum 1 / d_k,
                // so H = P - eta Q; eta solves eta = g(P - eta Q), piecewise
                // linear in the two regimes below and above contract hours.
                let (mut p, mut q, mut eta) = (0.0, 0.0, 0.0);
                for &k in order.iter() {
                    let d = d0 + convexity[k];
                    if d <= negligible {
                        free.get_or_insert(k);
                        continue;
                    }
                    if b[k] <= eta {
                        break;
                    }
                    let inv = 1.0 / d;
                    p += b[k] * inv;
                    q += inv;
                    eta = cs * p / (1.0 + cs * q);
                    if p - eta * q > week.contract {
                        eta = ((cs + o) * p - o * week.contract) / (1.0 + (cs + o) * q);
                    }
                }
                let mut h_free = 0.0;
                match free {
                    Some(k0) if b[k0] > eta => {
                        // The free activity takes what the others leave of
                        // the hours where the marginal cost of time is b_k0.
                        let b0 = b[k0];
                        let want = if cs * week.contract >= b0 {
                            b0 / cs
                        } else {
                            week.contract + (b0 - cs * week.contract) / (cs + o)
                        };
                        let others: f64 = order
                            .iter()
                            .map(|&k| {
                                let d = d0 + convexity[k];
                                if d > negligible { (b[k] - b0).max(0.0) / d } else { 0.0 }
                            })
                            .sum();
                        if others <= want.min(limit) {
                            eta = b0;
                            h_free = want.min(limit) - others;
                        } else if want < limit {
                            // Rounding: the others already fill `want`.
                            eta = b0;
                        } else {
                            eta = water_fill(b, convexity, d0, negligible, order, limit);
                        }
                    }
                    _ => {
                        if p - eta * q > limit {
                            eta = water_fill(b, convexity, d0, negligible, order, limit);
                        }
                    }
                }
                for (k, h) in hours.iter_mut().enumerate() {
                    let d = d0 + convexity[k];
                    *h = if d > negligible { ((b[k] - eta) / d).max(0.0) } else { 0.0 };
                }
                if let Some(k0) = free {
                    hours[k0] = h_free;
                }
            }
        }
    }
}

/// The shift `eta` at which `sum_k (b_k - eta)₊ / d_k = limit` over the
/// activities with curvature `d_k = d0 + convexity_k` above `negligible`,
/// `order` sorting `b` descending (the limit binds).
fn water_fill(b: &[f64], convexity: &[f64], d0: f64, negligible: f64, order: &[usize], limit: f64) -> f64 {
    let (mut p, mut q, mut eta) = (0.0, 0.0, f64::NEG_INFINITY);
    for &k in order {
        let d = d0 + convexity[k];
        if d <= negligible {
            continue;
        }
        if b[k] <= eta {
            break;
        }
        let inv = 1.0 / d;
        p += b[k] * inv;
        q += inv;
        eta = (p - limit) / q;
    }
    eta
}

/// Hours `h >= 0` on one activity of the power form where its marginal cost
/// `c h^(p-1) + e h` meets `x` (`inv` = 1 / (p - 1)): closed form without
/// convexity of its own, else Newton's method kept inside a shrinking bracket.
#[inline]
fn power_hours(x: f64, c: f64, p: f64, inv: f64, e: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let alone = (x / c).powf(inv);
    if e <= 0.0 {
        return alone;
    }
    // Each term alone reaches x no later than the sum does.
    let (mut lo, mut hi) = (0.0, alone.min(x / e));
    let mut h = hi;
    for _ in 0..200 {
        let f = c * h.powf(p - 1.0) + e * h - x;
        if f > 0.0 {
            hi = h
        } else {
            lo = h
        }
        let df = c * (p - 1.0) * h.powf(p - 2.0) + e;
        let next = h - f / df;
        let next = if next > lo && next < hi && next.is_finite() { next } else { 0.5 * (lo + hi) };
        if (next - h).abs() <= 1e-15 * h.max(1e-300) || hi - lo <= 1e-15 * hi {
            return next;
        }
        h = next;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(e: &EffortCost, b: &[f64], conv: &[f64], week: &Week, h: &[f64]) -> f64 {
        b.iter().zip(h).map(|(x, y)| x * y).sum::<f64>() - e.full_cost(h, conv, week)
    }

    #[test]
    fn allocation_beats_every_point_of_a_grid_and_every_small_move() {
        // Brute force over a 0.25-hour grid on three activities, with and
        // without overtime beyond contract hours and activities' own
        // convexity; then no move of one or two activities' hours by
        // 1e-4 to 1 hour may improve on the allocation either.
        let forms = [
            EffortForm::Separable,
            EffortForm::Mixed { substitution: 0.3 },
            EffortForm::Mixed { substitution: 0.8 },
            EffortForm::Total,
            EffortForm::Power { exponent: 3.0 },
            EffortForm::Power { exponent: 1.5 },
        ];
        let weeks = [
            Week::flat(40.0),
            Week { contract: 4.0, limit: 40.0, overtime: 1.0 },
            Week { contract: 2.0, limit: 6.0, overtime: 4.0 },
        ];
        let convexities: [&[f64]; 3] = [&[0.0; 3], &[0.0, 2.0, 0.5], &[3.0, 0.0, 0.0]];
        let cases: [&[f64]; 6] = [
            &[10.0, 6.0, -1.0],
            &[10.0, 9.0, 8.0],
            &[3.0, 3.0, 0.5],
            &[-2.0, -1.0, -3.0],
            &[60.0, 55.0, 20.0],
            &[1.0, 40.0, 39.0],
        ];
        let mut binding = [0usize; 3];
        for form in forms {
            let e = EffortCost { form, coefficient: 1.5 };
            for (wi, week) in weeks.iter().enumerate() {
                for conv in convexities {
                    for b in cases {
                        let mut h = vec![0.0; 3];
                        e.allocate(b, conv, week, &mut h, &mut Vec::new());
                        let total: f64 = h.iter().sum();
                        assert!(total <= week.limit + 1e-9 && h.iter().all(|&x| x >= 0.0), "{form:?} {b:?} {h:?}");
                        if total >= week.limit - 1e-9 {
                            binding[wi] += 1;
                        }
                        let got = objective(&e, b, conv, week, &h);
                        let slack = 1e-9 * (1.0 + got.abs());
                        let step = 0.25;
                        let n = (week.limit / step) as usize;
                        for i in 0..=n {
                            for j in 0..=(n - i) {
                                for k in 0..=(n - i - j) {
                                    let g = [i as f64 * step, j as f64 * step, k as f64 * step];
                                    let v = objective(&e, b, conv, week, &g);
                                    assert!(v <= got + slack, "{form:?} {week:?} {conv:?} {b:?}: {g:?} beats {h:?}");
                                }
                            }
                        }
                        for delta in [1.0, 1e-2, 1e-4] {
                            for a in 0..3 {
                                for c in 0..3 {
                                    for (sa, sc) in [(1.0, 0.0), (-1.0, 0.0), (1.0, -1.0), (-1.0, 1.0)] {
                                        let mut g = h.clone();
                                        g[a] = (g[a] + sa * delta).max(0.0);
                                        g[c] = (g[c] + sc * delta).max(0.0);
                                        if g.iter().sum::<f64>() > week.limit {
                                            continue;
                                        }
                                        let v = objective(&e, b, conv, week, &g);
                                        assert!(
                                            v <= got + slack,
                                            "{form:?} {week:?} {conv:?} {b:?}: {g:?} beats {h:?}"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Each kind of week has cases where its limit binds and where it does not.
        assert!(binding.iter().all(|&n| n > 0 && n < forms.len() * convexities.len() * cases.len()), "{binding:?}");
    }

    #[test]
    fn separable_closed_form() {
        // h_k = b_k / c when the limit does not bind.
        let e = EffortCost { form: EffortForm::Separable, coefficient: 1.0 };
        let mut h = vec![0.0; 2];
        e.allocate(&[3.0, 1.5], &[0.0; 2], &Week::flat(100.0), &mut h, &mut Vec::new());
        assert_eq!(h, vec![3.0, 1.5]);
    }

    #[test]
    fn overtime_and_own_convexity_closed_forms() {
        // One activity, separable: b = (c + e) h + o (h - contract) beyond
        // contract hours, so h = (b + o contract) / (c + e + o).
        let (b, c, e, o, contract) = (100.0, 2.0, 0.5, 3.0, 40.0);
        let mut h = vec![0.0; 1];
        for form in [EffortForm::Separable, EffortForm::Power { exponent: 2.0 }] {
            let cost = EffortCost { form, coefficient: c };
            cost.allocate(&[b], &[e], &Week { contract, limit: 70.0, overtime: o }, &mut h, &mut Vec::new());
            let want = (b + o * contract) / (c + e + o);
            assert!((h[0] - want).abs() < 1e-9 * want, "{form:?}: {} vs {want}", h[0]);
            // Below contract hours overtime costs nothing: h = b / (c + e).
            cost.allocate(&[40.0], &[e], &Week { contract, limit: 70.0, overtime: o }, &mut h, &mut Vec::new());
            assert!((h[0] - 40.0 / (c + e)).abs() < 1e-9, "{form:?}: {}", h[0]);
        }
        // Total form: two perfect substitutes and one with convexity of its
        // own; the shift is b of the best substitute, so the convex one gets
        // (b_2 - b_0) / e and the substitute the rest of the hours where the
        // marginal cost c H + o (H - contract) meets b_0.
        let cost = EffortCost { form: EffortForm::Total, coefficient: 1.0 };
        let week = Week { contract: 40.0, limit: 70.0, overtime: 1.0 };
        let mut h3 = vec![0.0; 3];
        cost.allocate(&[50.0, 45.0, 56.0], &[0.0, 0.0, 2.0], &week, &mut h3, &mut Vec::new());
        let total = 40.0 + (50.0 - 40.0) / 2.0;
        assert!((h3[2] - 3.0).abs() < 1e-12 && (h3[0] - (total - 3.0)).abs() < 1e-12 && h3[1] == 0.0, "{h3:?}");
    }

    #[test]
    fn a_negligible_convexity_allocates_as_none() {
        // A convexity of 1e-166 once divided into hours of 1e150: it costs
        // nothing over a week and must allocate as a convexity of 0.
        let week = Week { contract: 40.0, limit: 70.0, overtime: 1.0 };
        for form in [EffortForm::Total, EffortForm::Separable] {
            let cost = EffortCost { form, coefficient: 1.0 };
            for b in [[50.0, 45.0, 56.0], [500.0, 450.0, 560.0]] {
                let (mut tiny, mut none) = (vec![0.0; 3], vec![0.0; 3]);
                cost.allocate(&b, &[1.5e-166, 0.0, 2.0], &week, &mut tiny, &mut Vec::new());
                cost.allocate(&b, &[0.0, 0.0, 2.0], &week, &mut none, &mut Vec::new());
                assert_eq!(tiny, none, "{form:?} {b:?}");
                assert!(tiny.iter().sum::<f64>() <= 70.0 + 1e-9, "{tiny:?}");
            }
        }
    }
}
