//! Reward schemes: how observed metrics turn into payouts.
//!
//! A payout is in USD-equivalent per engineer per period: positive amounts
//! are paid out (prizes, piece rates, bonuses: `bonus_paid`), negative ones
//! are pressure (a bad rank, a poor review) that the engineer feels but the
//! organisation does not pay.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::metric::Noise;
use crate::model::schema::{check, check_int, whole_opt};

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

/// How the metric is rewarded. A file writes it as a table tagged by
/// `scheme`; a parameter left out takes the default given here. A
/// [`Reward::Custom`] rule cannot be written to a file.
#[derive(Clone, Serialize, Deserialize, Default)]
#[serde(tag = "scheme", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum Reward {
    /// Nothing depends on the metric.
    #[default]
    None,
    /// A ranking each period: the top fraction gets `prize`, the bottom
    /// fraction feels `penalty` (pressure).
    Leaderboard {
        /// Fraction of engineers who get the prize, in [0, 1] (default 0.1).
        #[serde(default = "default_top_fraction")]
        top_fraction: f64,
        /// Prize per period, USD (default 0).
        #[serde(default)]
        prize: f64,
        /// Fraction of engineers at the bottom who feel the penalty, in [0, 1] (default 0).
        #[serde(default)]
        bottom_fraction: f64,
        /// Penalty (pressure) per period, USD-equivalent (default 0).
        #[serde(default)]
        penalty: f64,
        /// A board of a fixed size: this many engineers get the prize,
        /// whatever the organisation's size (replaces `top_fraction`).
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole_opt")]
        top_count: Option<u64>,
        /// This many at the bottom feel the penalty (replaces `bottom_fraction`).
        #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "whole_opt")]
        bottom_count: Option<u64>,
    },
    /// A piece rate: `rate` USD per unit of the metric.
    Linear {
        /// USD per metric unit (default 0).
        #[serde(default)]
        rate: f64,
    },
    /// A quota: `bonus` USD when the metric reaches `quota`.
    Threshold {
        /// Metric level that earns the bonus (default 0).
        #[serde(default)]
        quota: f64,
        /// Bonus, USD (default 0).
        #[serde(default)]
        bonus: f64,
    },
    /// A user-defined rule.
    #[serde(skip)]
    Custom(Arc<dyn RewardRule>),
}

fn default_top_fraction() -> f64 {
    0.1
}

impl fmt::Debug for Reward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reward::None => write!(f, "None"),
            Reward::Leaderboard { top_fraction, prize, bottom_fraction, penalty, top_count, bottom_count } => write!(
                f,
                "Leaderboard {{ top_fraction: {top_fraction}, prize: {prize}, bottom_fraction: {bottom_fraction}, penalty: {penalty}, top_count: {top_count:?}, bottom_count: {bottom_count:?} }}"
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
    /// Equal schemes with equal parameters; a user-defined rule equals
    /// only itself (the same object), never another rule.
    fn eq(&self, o: &Self) -> bool {
        use Reward::*;
        match (self, o) {
            (None, None) => true,
            (
                Leaderboard {
                    top_fraction: a,
                    prize: b,
                    bottom_fraction: c,
                    penalty: d,
                    top_count: i,
                    bottom_count: j,
                },
                Leaderboard {
                    top_fraction: e,
                    prize: f,
                    bottom_fraction: g,
                    penalty: h,
                    top_count: k,
                    bottom_count: l,
                },
            ) => (a, b, c, d, i, j) == (e, f, g, h, k, l),
            (Linear { rate: a }, Linear { rate: b }) => a == b,
            (Threshold { quota: a, bonus: b }, Threshold { quota: c, bonus: d }) => (a, b) == (c, d),
            (Custom(a), Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Reward {
    /// A leaderboard reward.
    pub fn leaderboard(top_fraction: f64, prize: f64, bottom_fraction: f64, penalty: f64) -> Self {
        Reward::Leaderboard { top_fraction, prize, bottom_fraction, penalty, top_count: None, bottom_count: None }
    }

    /// The scheme as the engine runs it among `engineers`: a fixed-size
    /// board's counts become fractions.
    pub(crate) fn resolved(&self, engineers: usize) -> Reward {
        match self {
            Reward::Leaderboard { top_fraction, prize, bottom_fraction, penalty, top_count, bottom_count } => {
                let of = |count: Option<u64>, fraction: f64| {
                    count.map_or(fraction, |c| (c as f64 / engineers.max(1) as f64).min(1.0))
                };
                Reward::Leaderboard {
                    top_fraction: of(*top_count, *top_fraction),
                    prize: *prize,
                    bottom_fraction: of(*bottom_count, *bottom_fraction),
                    penalty: *penalty,
                    top_count: None,
                    bottom_count: None,
                }
            }
            other => other.clone(),
        }
    }

    /// Checks fractions and amounts against their rows in
    /// [`crate::model::schema::FIELDS`]; `path` is e.g. `policy[1].reward`.
    pub fn validate(&self, path: &str) -> Result<()> {
        let num = |key: &str, v: f64| check(&format!("{path}.{key}"), v);
        match *self {
            Reward::Leaderboard { top_fraction, prize, bottom_fraction, penalty, top_count, bottom_count } => {
                for (key, count) in [("top_count", top_count), ("bottom_count", bottom_count)] {
                    if let Some(c) = count {
                        check_int(&format!("{path}.{key}"), c)?;
                    }
                }
                num("top_fraction", top_fraction)?;
                num("bottom_fraction", bottom_fraction)?;
                num("prize", prize)?;
                num("penalty", penalty)?;
                if top_fraction + bottom_fraction > 1.0 {
                    return Err(crate::Error::invalid(
                        format!("{path}.bottom_fraction"),
                        bottom_fraction,
                        format!("a fraction <= 1 - top_fraction ({})", 1.0 - top_fraction),
                    ));
                }
                Ok(())
            }
            Reward::Linear { rate } => num("rate", rate),
            Reward::Threshold { quota, bonus } => {
                num("quota", quota)?;
                num("bonus", bonus)
            }
            Reward::None | Reward::Custom(_) => Ok(()),
        }
    }

    /// Whether this is [`Reward::None`].
    pub fn is_none(&self) -> bool {
        matches!(self, Reward::None)
    }

    /// Whether this scheme ranks engineers (publishes cut-offs to form beliefs on).
    pub fn is_leaderboard(&self) -> bool {
        matches!(self, Reward::Leaderboard { .. })
    }
}

/// Numbers of winners and losers on a leaderboard of `n` engineers.
pub(crate) fn leaderboard_counts(n: usize, top_fraction: f64, bottom_fraction: f64) -> (usize, usize) {
    let top = ((top_fraction * n as f64).round() as usize).min(n);
    let bottom = ((bottom_fraction * n as f64).round() as usize).min(n - top);
    (top, bottom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_and_never_overlap() {
        assert_eq!(leaderboard_counts(200, 0.1, 0.1), (20, 20));
        assert_eq!(leaderboard_counts(3, 0.9, 0.9), (3, 0));
    }
}
