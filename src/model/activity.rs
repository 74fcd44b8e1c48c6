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
    /// Cycle time of each change, days from start to production.
    pub cycle_time_days: f64,
    /// Whether hours here count as gaming (metric gain without the value it stands for).
    pub gaming: bool,
    /// Whether value, changes and signals scale with the engineer's skill (and AI).
    pub skill_scaled: bool,
    /// Direct per-hour contributions to named signals (built-in or the
    /// scenario's own), scaled like value when `skill_scaled`.
    #[serde(with = "crate::model::schema::signals")]
    pub signals: Vec<(String, f64)>,
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
            cycle_time_days: 0.0,
            gaming: false,
            skill_scaled: true,
            signals: Vec::new(),
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
        num("cycle_time_days", self.cycle_time_days)?;
        for (name, w) in &self.signals {
            check(&format!("{path}.signals.{name}"), *w)?;
        }
        Ok(())
    }
}

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
        Activity { tokens_per_hour: 10_000_000.0, gaming: true, skill_scaled: false, ..Activity::named("burn") },
        Activity {
            value_per_hour: 5.0,
            changes_per_hour: 0.6,
            change_size: 0.1,
            usefulness: 0.5,
            defect_rate: 0.04,
            review_hours_per_change: 0.3,
            cycle_time_days: 0.5,
            gaming: true,
            ..Activity::named("split")
        },
        Activity {
            value_per_hour: 70.0,
            changes_per_hour: 0.2,
            usefulness: 0.9,
            defect_rate: 0.35,
            review_hours_per_change: 0.2,
            cycle_time_days: 1.0,
            gaming: true,
            ..Activity::named("rush")
        },
        Activity {
            gaming: true,
            skill_scaled: false,
            signals: vec![("normalized_deployments".into(), 0.08), ("shipped_and_survived".into(), 0.04)],
            ..Activity::named("inflate")
        },
    ]
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

    /// Effort cost of `hours` (USD-equivalent).
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

    /// The hours that maximise `sum_k b_k h_k - cost(h)` subject to
    /// `h >= 0` and `sum_k h_k <= budget`, written into `hours`.
    /// `order` is scratch space. Exact for every form (closed form for the
    /// quadratic family, bisection to machine precision for the power form).
    pub fn allocate(&self, b: &[f64], budget: f64, hours: &mut [f64], order: &mut Vec<usize>) {
        let c = self.coefficient;
        if budget <= 0.0 {
            hours.fill(0.0);
            return;
        }
        // Every path below writes every entry of `hours` (this runs once per
        // plan evaluation: no separate clearing pass).
        match self.form {
            EffortForm::Power { exponent } => {
                let inv = 1.0 / (exponent - 1.0);
                let total = |eta: f64| b.iter().map(|&x| ((x - eta).max(0.0) / c).powf(inv)).sum::<f64>();
                let mut eta = 0.0;
                if total(0.0) > budget {
                    let (mut lo, mut hi) = (0.0, b.iter().cloned().fold(0.0, f64::max));
                    for _ in 0..100 {
                        let mid = 0.5 * (lo + hi);
                        if total(mid) > budget { lo = mid } else { hi = mid }
                    }
                    eta = hi;
                }
                for (h, &x) in hours.iter_mut().zip(b) {
                    *h = ((x - eta).max(0.0) / c).powf(inv);
                }
            }
            _ => {
                let s = self.substitution().unwrap_or(0.0);
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
                let Some(&best) = order.first() else { return };
                if b[best] <= 0.0 || s >= 1.0 {
                    // Nothing worth an hour; or only total hours cost, and
                    // everything goes to the best activity.
                    hours.fill(0.0);
                    if b[best] > 0.0 {
                        hours[best] = (b[best] / c).min(budget);
                    }
                    return;
                }
                // Unconstrained: h_k = (b_k - c s S) / (c (1 - s)) on the active set.
                let mut sum_b = 0.0;
                let mut total = 0.0;
                for (n, &k) in order.iter().enumerate() {
                    if b[k] <= 0.0 {
                        break;
                    }
                    let cand_sum = sum_b + b[k];
                    let cand_total = cand_sum / (c * (1.0 - s + (n + 1) as f64 * s));
                    if n > 0 && b[k] <= c * s * cand_total {
                        break;
                    }
                    sum_b = cand_sum;
                    total = cand_total;
                }
                if total <= budget {
                    let (shift, d) = (c * s * total, c * (1.0 - s));
                    for (h, &x) in hours.iter_mut().zip(b) {
                        *h = ((x - shift) / d).max(0.0);
                    }
                    return;
                }
                // Budget binds: water-fill h_k = (b_k - eta) / (c (1 - s)), sum = budget.
                let d = c * (1.0 - s);
                let mut sum_b = 0.0;
                let mut eta = 0.0;
                for (n, &k) in order.iter().enumerate() {
                    let cand_eta = (sum_b + b[k] - d * budget) / (n + 1) as f64;
                    if n > 0 && b[k] <= cand_eta {
                        break;
                    }
                    sum_b += b[k];
                    eta = cand_eta;
                }
                for (h, &x) in hours.iter_mut().zip(b) {
                    *h = ((x - eta) / d).max(0.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(e: &EffortCost, b: &[f64], h: &[f64]) -> f64 {
        b.iter().zip(h).map(|(x, y)| x * y).sum::<f64>() - e.cost(h)
    }

    #[test]
    fn allocation_beats_every_point_of_a_grid() {
        // Brute force over a 0.25-hour grid on three activities.
        let forms = [
            EffortForm::Separable,
            EffortForm::Mixed { substitution: 0.3 },
            EffortForm::Total,
            EffortForm::Power { exponent: 3.0 },
        ];
        let cases: [(&[f64], f64); 4] = [
            (&[10.0, 6.0, -1.0], 40.0),
            (&[10.0, 9.0, 8.0], 4.0),
            (&[3.0, 3.0, 0.5], 40.0),
            (&[-2.0, -1.0, -3.0], 40.0),
        ];
        for form in forms {
            let e = EffortCost { form, coefficient: 1.5 };
            for (b, budget) in cases {
                let mut h = vec![0.0; 3];
                e.allocate(b, budget, &mut h, &mut Vec::new());
                assert!(h.iter().sum::<f64>() <= budget + 1e-9 && h.iter().all(|&x| x >= 0.0));
                let got = objective(&e, b, &h);
                let step = 0.25;
                let n = (budget / step) as usize;
                for i in 0..=n {
                    for j in 0..=(n - i) {
                        for k in 0..=(n - i - j) {
                            let g = [i as f64 * step, j as f64 * step, k as f64 * step];
                            assert!(objective(&e, b, &g) <= got + 1e-9, "{form:?} {b:?} {g:?} beats {h:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn separable_closed_form() {
        // h_k = b_k / c when the budget does not bind.
        let e = EffortCost { form: EffortForm::Separable, coefficient: 1.0 };
        let mut h = vec![0.0; 2];
        e.allocate(&[3.0, 1.5], 100.0, &mut h, &mut Vec::new());
        assert_eq!(h, vec![3.0, 1.5]);
    }
}
