//! Distributions of engineer traits, with optional truncation.
//!
//! Each distribution is sampled by inversion (`quantile(u)`), which lets the
//! population use a Gaussian copula for correlated traits: correlated standard
//! normals are mapped through the normal distribution function to uniforms and
//! then through each trait's own quantile function.

use serde::{Deserialize, Serialize};

use crate::analysis::stats::{normal_cdf, normal_quantile};
use crate::error::{Error, Result};

/// A univariate distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Dist {
    /// Always `value`.
    Constant {
        /// The value.
        value: f64,
    },
    /// Uniform on `[low, high]`.
    Uniform {
        /// Lower end.
        low: f64,
        /// Upper end.
        high: f64,
    },
    /// Normal with the given mean and standard deviation.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (>= 0).
        sd: f64,
    },
    /// Log-normal, given by the mean and standard deviation of the variable
    /// itself (not of its logarithm).
    Lognormal {
        /// Mean (> 0).
        mean: f64,
        /// Standard deviation (>= 0).
        sd: f64,
    },
    /// Beta on [0, 1] with shape parameters `alpha`, `beta` (> 0).
    Beta {
        /// First shape parameter.
        alpha: f64,
        /// Second shape parameter.
        beta: f64,
    },
    /// Exponential with the given mean (> 0).
    Exponential {
        /// Mean.
        mean: f64,
    },
}

/// The largest magnitude of a distribution's parameter. Every trait is a
/// multiplier, a share or USD-equivalent per hour: beyond a billion, sums
/// over hours, engineers and weeks lose their precision or overflow, and a
/// run would report nonsense rather than fail.
pub const PARAM_MAX: f64 = 1e9;

impl Dist {
    /// A constant.
    pub fn constant(value: f64) -> Self {
        Dist::Constant { value }
    }

    /// Checks the parameters; `path` names the field in errors.
    pub fn validate(&self, path: &str) -> Result<()> {
        let finite = |name: &str, v: f64| {
            if v.is_finite() && v.abs() <= PARAM_MAX {
                Ok(())
            } else {
                Err(Error::invalid(format!("{path}.{name}"), v, "a finite number in [-1e9, 1e9]"))
            }
        };
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 && v <= PARAM_MAX {
                Ok(())
            } else {
                Err(Error::invalid(format!("{path}.{name}"), v, "a number in (0, 1e9]"))
            }
        };
        let nonneg = |name: &str, v: f64| {
            if v.is_finite() && (0.0..=PARAM_MAX).contains(&v) {
                Ok(())
            } else {
                Err(Error::invalid(format!("{path}.{name}"), v, "a number in [0, 1e9]"))
            }
        };
        match *self {
            Dist::Constant { value } => finite("value", value),
            Dist::Uniform { low, high } => {
                finite("low", low)?;
                finite("high", high)?;
                if high < low {
                    return Err(Error::invalid(format!("{path}.high"), high, format!("a number >= low ({low})")));
                }
                Ok(())
            }
            Dist::Normal { mean, sd } => {
                finite("mean", mean)?;
                nonneg("sd", sd)
            }
            Dist::Lognormal { mean, sd } => {
                positive("mean", mean)?;
                nonneg("sd", sd)
            }
            Dist::Beta { alpha, beta } => {
                positive("alpha", alpha)?;
                positive("beta", beta)
            }
            Dist::Exponential { mean } => positive("mean", mean),
        }
    }

    /// The mean of the (untruncated) distribution.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Constant { value } => value,
            Dist::Uniform { low, high } => 0.5 * (low + high),
            Dist::Normal { mean, .. } | Dist::Lognormal { mean, .. } | Dist::Exponential { mean } => mean,
            Dist::Beta { alpha, beta } => alpha / (alpha + beta),
        }
    }

    fn lognormal_params(mean: f64, sd: f64) -> (f64, f64) {
        let s2 = (1.0 + (sd / mean).powi(2)).ln();
        (mean.ln() - 0.5 * s2, s2.sqrt())
    }

    /// Distribution function.
    pub fn cdf(&self, x: f64) -> f64 {
        match *self {
            Dist::Constant { value } => f64::from(u8::from(x >= value)),
            Dist::Uniform { low, high } => {
                if high <= low {
                    f64::from(u8::from(x >= low))
                } else {
                    ((x - low) / (high - low)).clamp(0.0, 1.0)
                }
            }
            Dist::Normal { mean, sd } => {
                if sd == 0.0 {
                    f64::from(u8::from(x >= mean))
                } else {
                    normal_cdf((x - mean) / sd)
                }
            }
            Dist::Lognormal { mean, sd } => {
                if x <= 0.0 {
                    return 0.0;
                }
                let (mu, s) = Self::lognormal_params(mean, sd);
                if s == 0.0 { f64::from(u8::from(x >= mean)) } else { normal_cdf((x.ln() - mu) / s) }
            }
            Dist::Beta { alpha, beta } => crate::analysis::stats::beta_cdf(x.clamp(0.0, 1.0), alpha, beta),
            Dist::Exponential { mean } => {
                if x <= 0.0 {
                    0.0
                } else {
                    1.0 - (-x / mean).exp()
                }
            }
        }
    }

    /// Quantile function (inverse of [`Dist::cdf`]) at `u` in (0, 1).
    pub fn quantile(&self, u: f64) -> f64 {
        match *self {
            Dist::Constant { value } => value,
            Dist::Uniform { low, high } => low + u * (high - low),
            Dist::Normal { mean, sd } => mean + sd * normal_quantile(u),
            Dist::Lognormal { mean, sd } => {
                let (mu, s) = Self::lognormal_params(mean, sd);
                (mu + s * normal_quantile(u)).exp()
            }
            Dist::Beta { alpha, beta } => crate::analysis::stats::beta_quantile(u, alpha, beta),
            Dist::Exponential { mean } => -mean * (1.0 - u).ln(),
        }
    }
}

/// A trait's distribution: a [`Dist`] truncated to `[min, max]`. A file
/// writes it as one table: `{ dist = "normal", mean = 1, sd = 0.3, min = 0 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "crate::model::schema::DistFile", into = "crate::model::schema::DistFile")]
pub struct TraitDist {
    /// The underlying distribution.
    pub dist: Dist,
    /// Lower truncation point (inclusive), if any.
    pub min: Option<f64>,
    /// Upper truncation point (inclusive), if any.
    pub max: Option<f64>,
}

impl From<Dist> for TraitDist {
    fn from(dist: Dist) -> Self {
        TraitDist { dist, min: None, max: None }
    }
}

impl TraitDist {
    /// `dist` truncated to `[min, max]`.
    pub fn truncated(dist: Dist, min: f64, max: f64) -> Self {
        TraitDist { dist, min: Some(min), max: Some(max) }
    }

    /// Checks parameters and truncation bounds.
    pub fn validate(&self, path: &str) -> Result<()> {
        self.dist.validate(path)?;
        for (name, b) in [("min", self.min), ("max", self.max)] {
            if let Some(b) = b {
                if !b.is_finite() || b.abs() > PARAM_MAX {
                    return Err(Error::invalid(format!("{path}.{name}"), b, "a finite number in [-1e9, 1e9]"));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (self.min, self.max) {
            if hi < lo {
                return Err(Error::invalid(format!("{path}.max"), hi, format!("a number >= min ({lo})")));
            }
        }
        if !matches!(self.dist, Dist::Constant { .. }) {
            let lo = self.min.map_or(0.0, |m| self.dist.cdf(m));
            let hi = self.max.map_or(1.0, |m| self.dist.cdf(m));
            if hi - lo <= 0.0 && self.min != self.max {
                return Err(Error::invalid(
                    format!("{path}.min"),
                    self.min.unwrap_or(f64::NEG_INFINITY),
                    "truncation bounds that keep some probability mass",
                ));
            }
        }
        Ok(())
    }

    /// The value at uniform `u`, honouring the truncation exactly (the
    /// uniform is rescaled into the kept part of the distribution).
    pub fn quantile(&self, u: f64) -> f64 {
        let lo = self.min.map_or(0.0, |m| self.dist.cdf(m));
        let hi = self.max.map_or(1.0, |m| self.dist.cdf(m));
        let v = self.dist.quantile((lo + u * (hi - lo)).clamp(1e-300, 1.0 - 1e-16));
        v.clamp(self.min.unwrap_or(f64::NEG_INFINITY), self.max.unwrap_or(f64::INFINITY))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_invert_cdfs() {
        let ds = [
            Dist::Uniform { low: 1.0, high: 3.0 },
            Dist::Normal { mean: 2.0, sd: 0.5 },
            Dist::Lognormal { mean: 2.0, sd: 1.0 },
            Dist::Beta { alpha: 2.0, beta: 5.0 },
            Dist::Exponential { mean: 3.0 },
        ];
        for d in ds {
            for &u in &[0.01, 0.2, 0.5, 0.9, 0.999] {
                assert!((d.cdf(d.quantile(u)) - u).abs() < 1e-9, "{d:?} {u}");
            }
        }
    }

    #[test]
    fn lognormal_has_the_requested_moments() {
        // E[X] for the quantile-mapped sample over a fine grid of u (midpoint rule).
        let d = Dist::Lognormal { mean: 2.0, sd: 1.0 };
        let n = 200_000;
        let m: f64 = (0..n).map(|i| d.quantile((i as f64 + 0.5) / n as f64)).sum::<f64>() / n as f64;
        assert!((m - 2.0).abs() < 1e-3, "{m}");
    }

    #[test]
    fn truncation_keeps_values_inside() {
        let t = TraitDist::truncated(Dist::Normal { mean: 0.0, sd: 1.0 }, 0.0, 0.5);
        for i in 1..100 {
            let v = t.quantile(i as f64 / 100.0);
            assert!((0.0..=0.5).contains(&v));
        }
        assert!(TraitDist::truncated(Dist::Normal { mean: 0.0, sd: 1.0 }, 2.0, 1.0).validate("t").is_err());
        assert!(Dist::Normal { mean: 0.0, sd: -1.0 }.validate("t").is_err());
        assert!(Dist::Normal { mean: f64::NAN, sd: 1.0 }.validate("t").is_err());
    }
}
