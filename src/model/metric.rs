//! Signals and metrics: what the organisation observes about each engineer.
//!
//! Every period each engineer leaves a record of *signals*: tokens consumed,
//! changes deployed, normalized deployments, and so on, plus any signal a
//! scenario's activities define. A *metric* maps that record to one number:
//! by default a weighted sum of signals, optionally through a user-defined
//! [`CustomMetric`], optionally capped per period, then blurred by
//! measurement noise, delayed and averaged over a trailing window. Engineers
//! plan with the weighted sum (their model of the metric), capped alike, and
//! the noise they know it carries.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::schema::{check, check_int};

/// Built-in signals, in their fixed index order.
pub const BUILTIN_SIGNALS: [&str; 11] = [
    "tokens",
    "value",
    "deployments",
    "normalized_deployments",
    "shipped_and_survived",
    "failed_changes",
    "incidents",
    "review_hours",
    "ai_changes",
    "pull_requests",
    "review_wait",
];

/// Index of the `tokens` signal.
pub(crate) const SIG_TOKENS: usize = 0;
/// Index of the `value` signal (useful output produced, USD).
pub(crate) const SIG_VALUE: usize = 1;
/// Index of the `deployments` signal (changes shipped).
pub(crate) const SIG_DEPLOYMENTS: usize = 2;
/// Index of the `normalized_deployments` signal.
pub(crate) const SIG_NORMALIZED: usize = 3;
/// Index of the `shipped_and_survived` signal.
pub(crate) const SIG_SURVIVED: usize = 4;
/// Index of the `failed_changes` signal (rolled back within the survival window).
pub(crate) const SIG_FAILED: usize = 5;
/// Index of the `incidents` signal.
pub(crate) const SIG_INCIDENTS: usize = 6;
/// Index of the `review_hours` signal (review load put on peers).
pub(crate) const SIG_REVIEW: usize = 7;
/// Index of the `ai_changes` signal: changes shipped, each weighted by the
/// share of its work AI did (`1 - exp(-tau / tau0)`).
pub(crate) const SIG_AI_CHANGES: usize = 8;
/// Index of the `pull_requests` signal: pull requests merged. Every change
/// is merged as one pull request and deployed, so it counts what
/// `deployments` counts, under the name dashboards give it.
pub(crate) const SIG_PULL_REQUESTS: usize = 9;
/// Index of the `review_wait` signal: days the changes merged this period
/// waited in the review queue, summed over the changes (each waits its
/// review's length times the queue's waiting factor, set by last period's
/// load; 0 without `org.review_capacity`). Over `pull_requests` it is the
/// wait per pull request that dashboards show. Only the queue adds to it.
pub(crate) const SIG_WAIT: usize = 10;

/// Measurement noise on an observed metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum Noise {
    /// Observed exactly.
    #[default]
    None,
    /// Additive normal noise with standard deviation `sd` (metric units).
    Normal {
        /// Standard deviation, metric units (default 1).
        #[serde(default = "default_normal_sd")]
        sd: f64,
    },
    /// Multiplicative log-normal noise with mean 1: observed = true x exp(sd e - sd^2/2).
    Lognormal {
        /// Standard deviation of the log (default 0.3).
        #[serde(default = "default_lognormal_sd")]
        sd: f64,
    },
}

fn default_normal_sd() -> f64 {
    1.0
}

fn default_lognormal_sd() -> f64 {
    0.3
}

impl Noise {
    /// The standard deviation parameter (0 for none).
    pub fn sd(&self) -> f64 {
        match *self {
            Noise::None => 0.0,
            Noise::Normal { sd } | Noise::Lognormal { sd } => sd,
        }
    }

    /// Applies the noise to `x` given a standard normal draw `e`.
    #[inline]
    pub fn apply(&self, x: f64, e: f64) -> f64 {
        match *self {
            Noise::None => x,
            Noise::Normal { sd } => x + sd * e,
            Noise::Lognormal { sd } => x * (sd * e - 0.5 * sd * sd).exp(),
        }
    }

    /// Checks the standard deviation.
    pub fn validate(&self, path: &str) -> Result<()> {
        check(&format!("{path}.sd"), self.sd())
    }
}

/// A user-defined observation of a metric: any function of an engineer's
/// period signals (ratios, thresholds, ...). Engineers still plan with the
/// metric's linear `weights`, their working model of it. A metric's
/// [`Metric::cap`] applies to the observation as to the weighted sum.
pub trait CustomMetric: Send + Sync + fmt::Debug {
    /// The signals this metric reads, by name; [`CustomMetric::observe`]
    /// receives their values in this order.
    fn signals(&self) -> Vec<String>;
    /// The metric value of one engineer in one period.
    fn observe(&self, values: &[f64]) -> f64;
}

/// A metric: weighted signals, noise, delay and window. A file writes it
/// as a built-in's name or a table (its `Deserialize` is in
/// [`crate::model::schema`]); a [`CustomMetric`] cannot be written.
#[derive(Clone, Serialize)]
pub struct Metric {
    /// Display name (a built-in name such as `tokens`, or the user's).
    pub name: String,
    /// Signal weights: the metric is `sum_s w_s * signal_s` (also the model engineers plan with).
    #[serde(rename = "signals", with = "crate::model::schema::signals")]
    pub weights: Vec<(String, f64)>,
    /// Denominator weights of a ratio metric (empty: not a ratio). The
    /// metric is then `sum_s w_s signal_s / sum_s per_s signal_s`, per
    /// period, and 0 in a period whose denominator is not positive (an
    /// AI-assisted share with no changes shipped counts as 0).
    #[serde(skip_serializing_if = "Vec::is_empty", with = "crate::model::schema::signals")]
    pub per: Vec<(String, f64)>,
    /// Measurement noise.
    pub noise: Noise,
    /// Periods between the work and its appearance on the leaderboard.
    pub delay: u32,
    /// Trailing window: the published value is the mean of this many periods (>= 1).
    pub window: u32,
    /// The most one period counts, in metric units (`None`: no cap): each
    /// period's value is `min(cap, raw)`, raw being the weighted sum, the
    /// ratio or the custom observation, before noise, delay and the window.
    /// A week holds at most 5 days of AI use; a piece rate may count at most
    /// so many changes a week. Engineers plan with the capped value of their
    /// expected metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<f64>,
    /// Optional user-defined observation replacing the weighted sum.
    #[serde(skip)]
    pub custom: Option<Arc<dyn CustomMetric>>,
}

impl fmt::Debug for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metric")
            .field("name", &self.name)
            .field("weights", &self.weights)
            .field("per", &self.per)
            .field("noise", &self.noise)
            .field("delay", &self.delay)
            .field("window", &self.window)
            .field("cap", &self.cap)
            .field("custom", &self.custom.is_some())
            .finish()
    }
}

impl PartialEq for Metric {
    /// Equal fields, and the same custom observation object (or none):
    /// two different user-defined observations are never equal.
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
            && self.weights == o.weights
            && self.per == o.per
            && self.noise == o.noise
            && self.delay == o.delay
            && self.window == o.window
            && self.cap == o.cap
            && match (&self.custom, &o.custom) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

/// Names of the built-in metrics.
pub const BUILTIN_METRICS: [&str; 7] =
    ["tokens", "deployments", "normalized_deployments", "shipped_and_survived", "dora", "customer_impact", "value"];

impl Metric {
    /// A metric on signal weights with no noise, delay 0 and window 1.
    pub fn weighted(name: impl Into<String>, weights: Vec<(String, f64)>) -> Self {
        Metric {
            name: name.into(),
            weights,
            per: Vec::new(),
            noise: Noise::None,
            delay: 0,
            window: 1,
            cap: None,
            custom: None,
        }
    }

    /// A ratio metric: `weights` over `per`, with no noise, delay 0 and
    /// window 1 (see [`Metric::per`]).
    pub fn ratio(name: impl Into<String>, weights: Vec<(String, f64)>, per: Vec<(String, f64)>) -> Self {
        Metric { per, ..Metric::weighted(name, weights) }
    }

    /// The same metric with each period's value capped at `cap` (see
    /// [`Metric::cap`]).
    pub fn with_cap(self, cap: f64) -> Self {
        Metric { cap: Some(cap), ..self }
    }

    /// Whether this is a ratio of signals ([`Metric::per`] is set).
    pub fn is_ratio(&self) -> bool {
        !self.per.is_empty()
    }

    /// A built-in metric by name, with its documented default noise and
    /// delay. `survival_window` is the org's (periods) and sets the delay of
    /// `shipped_and_survived`.
    ///
    /// - `tokens`: tokens consumed; log-normal noise 0.3 (the same task varies
    ///   widely in tokens between runs).
    /// - `deployments`: changes shipped; normal noise 1.
    /// - `normalized_deployments`: shipped, not rolled back, judged useful,
    ///   size-weighted; normal noise 0.5.
    /// - `shipped_and_survived`: changes that survived the window; normal
    ///   noise 0.5, delayed by the survival window.
    /// - `dora`: deployments minus 3 x failed changes; normal noise 1.
    /// - `customer_impact`: minus incidents caused; normal noise 0.5.
    /// - `value`: the true useful value (an oracle, for teaching); no noise.
    pub fn builtin(name: &str, survival_window: u32) -> Result<Metric> {
        let w = |s: &str, x: f64| (s.to_string(), x);
        let (weights, noise, delay) = match name {
            "tokens" => (vec![w("tokens", 1.0)], Noise::Lognormal { sd: 0.3 }, 0),
            "deployments" => (vec![w("deployments", 1.0)], Noise::Normal { sd: 1.0 }, 0),
            "normalized_deployments" => (vec![w("normalized_deployments", 1.0)], Noise::Normal { sd: 0.5 }, 0),
            "shipped_and_survived" => {
                (vec![w("shipped_and_survived", 1.0)], Noise::Normal { sd: 0.5 }, survival_window)
            }
            "dora" => (vec![w("deployments", 1.0), w("failed_changes", -3.0)], Noise::Normal { sd: 1.0 }, 0),
            "customer_impact" => (vec![w("incidents", -1.0)], Noise::Normal { sd: 0.5 }, 0),
            "value" => (vec![w("value", 1.0)], Noise::None, 0),
            _ => return Err(Error::unknown("metric", "metric", name, BUILTIN_METRICS)),
        };
        Ok(Metric {
            name: name.to_string(),
            weights,
            per: Vec::new(),
            noise,
            delay,
            window: 1,
            cap: None,
            custom: None,
        })
    }

    /// Checks weights, noise, delay, window and cap against the known signals.
    pub fn validate(&self, path: &str, signals: &[String]) -> Result<()> {
        self.check(path, signals, &signals.iter().map(String::as_str).collect())
    }

    /// [`Metric::validate`] with the signals also as a set (`known`).
    pub(crate) fn check(&self, path: &str, signals: &[String], known: &HashSet<&str>) -> Result<()> {
        for (key, weights) in [("signals", &self.weights), ("per", &self.per)] {
            for (s, w) in weights {
                if !known.contains(s.as_str()) {
                    return Err(Error::unknown(
                        format!("{path}.{key}"),
                        "signal",
                        s,
                        signals.iter().map(|s| s.as_str()),
                    ));
                }
                check(&format!("{path}.{key}.{s}"), *w)?;
            }
        }
        if self.is_ratio() && self.custom.is_some() {
            return Err(Error::invalid(
                format!("{path}.per"),
                "a ratio with a custom observation",
                "either `per` or a custom observation",
            ));
        }
        if let Some(c) = &self.custom {
            for s in c.signals() {
                if !known.contains(s.as_str()) {
                    return Err(Error::unknown(
                        format!("{path}.custom"),
                        "signal",
                        &s,
                        signals.iter().map(|s| s.as_str()),
                    ));
                }
            }
        }
        self.noise.validate(&format!("{path}.noise"))?;
        if let Some(c) = self.cap {
            check(&format!("{path}.cap"), c)?;
        }
        check_int(&format!("{path}.delay"), u64::from(self.delay))?;
        check_int(&format!("{path}.window"), u64::from(self.window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_noise_has_mean_one() {
        // E[exp(sd e - sd^2/2)] = 1: midpoint rule over normal quantiles.
        let n = 100_000;
        let noise = Noise::Lognormal { sd: 0.8 };
        let m: f64 = (0..n)
            .map(|i| noise.apply(1.0, crate::analysis::stats::normal_quantile((i as f64 + 0.5) / n as f64)))
            .sum::<f64>()
            / n as f64;
        assert!((m - 1.0).abs() < 1e-3, "{m}");
    }

    #[test]
    fn builtins_resolve_and_unknown_names_suggest() {
        let signals: Vec<String> = BUILTIN_SIGNALS.iter().map(|s| s.to_string()).collect();
        for m in BUILTIN_METRICS {
            Metric::builtin(m, 4).unwrap().validate("policy[0].metric", &signals).unwrap();
        }
        assert_eq!(Metric::builtin("shipped_and_survived", 4).unwrap().delay, 4);
        let e = Metric::builtin("tokns", 4).unwrap_err().to_string();
        assert!(e.contains("did you mean `tokens`"), "{e}");
    }
}
