//! Engineers' traits and the distributions they are drawn from (the draw
//! itself is [`crate::engine::population`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::dist::{Dist, TraitDist};

/// The six traits of an engineer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trait {
    /// Value produced per productive hour, relative to the org's reference (1 = typical).
    Skill,
    /// How much AI multiplies productivity: productivity x (1 + a (1 - exp(-tau/tau0))).
    AiLeverage,
    /// Disutility per hour spent gaming (USD-equivalent per hour).
    Integrity,
    /// Weight on the true value produced (utility per USD of useful output).
    IntrinsicMotivation,
    /// Weight on rewards: prizes, bonuses, pressure (utility per USD of reward).
    RewardSensitivity,
    /// Share of their own token bill the engineer feels (0..1).
    CostAwareness,
}

impl Trait {
    /// All traits, in the order they are drawn.
    pub const ALL: [Trait; 6] = [
        Trait::Skill,
        Trait::AiLeverage,
        Trait::Integrity,
        Trait::IntrinsicMotivation,
        Trait::RewardSensitivity,
        Trait::CostAwareness,
    ];

    /// The trait's name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Trait::Skill => "skill",
            Trait::AiLeverage => "ai_leverage",
            Trait::Integrity => "integrity",
            Trait::IntrinsicMotivation => "intrinsic_motivation",
            Trait::RewardSensitivity => "reward_sensitivity",
            Trait::CostAwareness => "cost_awareness",
        }
    }

    /// Looks a trait up by its scenario-file name.
    pub fn from_name(name: &str) -> Option<Trait> {
        Trait::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A correlation between two traits, applied through a Gaussian copula.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    /// First trait.
    pub a: Trait,
    /// Second trait.
    pub b: Trait,
    /// Correlation of the underlying normals, in (-1, 1).
    #[serde(default)]
    pub rho: f64,
}

/// How engineer traits are distributed in the organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TraitsConfig {
    /// Skill (dimensionless multiplier on value per hour; default lognormal, mean 1, sd 0.4).
    pub skill: TraitDist,
    /// AI leverage a (default uniform on [0, 1]: AI can at most double
    /// productivity). Draws below -1 are raised to -1: AI at saturation can
    /// take away at most all of an hour's output.
    pub ai_leverage: TraitDist,
    /// Integrity: USD-equivalent disutility per gaming hour (default lognormal, mean 60, sd 60).
    pub integrity: TraitDist,
    /// Fraction of engineers who never game, whatever the incentive (default 0.2).
    pub never_game_fraction: f64,
    /// Intrinsic motivation m: utility per USD of useful output (default beta(6, 4), mean 0.6).
    pub intrinsic_motivation: TraitDist,
    /// Reward sensitivity rho: utility per USD of reward (default lognormal, mean 0.5, sd 0.25).
    pub reward_sensitivity: TraitDist,
    /// Cost awareness kappa: share of own token bill felt (default beta(6, 4), mean 0.6).
    pub cost_awareness: TraitDist,
    /// Pairwise correlations (default: skill and AI leverage, 0.4: skilled
    /// engineers also use AI more, which makes usage look like a good proxy).
    pub correlations: Vec<Correlation>,
    /// How engineers perceive their own AI leverage (default: exactly).
    pub ai_perception: AiPerception,
    /// Curvature γ of the utility of useful output around a normal week's
    /// output (what the engineer delivers with no reward, which the
    /// organisation comes to expect): 0 (the default) weighs output
    /// linearly, so hours rise with how much each hour seems to yield; at 1,
    /// a week that seems more productive is mostly a week that feels done
    /// sooner, and hours hardly move. docs/model.md, section 4, gives the range and the evidence.
    pub value_curvature: f64,
}

/// How engineers perceive their own AI leverage `a`, and learn it. An
/// engineer plans with a perceived leverage `p`, starting at
/// `a + bias + sd z` (z standard normal, drawn once per engineer); output
/// follows the true `a`. Each period in which they use AI, they move `p`
/// towards what the period showed, `a + experience_sd e`:
/// `p <- p + learning_rate (a + experience_sd e - p)`, so a bias decays as
/// `(1 - learning_rate)^periods` of AI use. The default (all 0) is an
/// engineer who knows their leverage exactly. docs/model.md, section 13,
/// gives the ranges and the evidence (perceived speed-ups of +20% against a
/// measured -19%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AiPerception {
    /// Mean over-estimate of one's own leverage, leverage units (0.2: an
    /// engineer with a = 0 expects AI at saturation to add 20%).
    pub bias: f64,
    /// Sd of each engineer's own error around the bias, leverage units.
    pub sd: f64,
    /// Weight of one period's experience, per period, in [0, 1].
    pub learning_rate: f64,
    /// Sd of what one period of AI use shows about one's leverage.
    pub experience_sd: f64,
}

impl AiPerception {
    /// Whether engineers know their leverage exactly (nothing to draw or learn).
    pub fn exact(&self) -> bool {
        self.bias == 0.0 && self.sd == 0.0
    }

    /// Checks each field's range.
    pub fn validate(&self) -> Result<()> {
        use crate::model::schema::check;
        check("traits.ai_perception.bias", self.bias)?;
        check("traits.ai_perception.sd", self.sd)?;
        check("traits.ai_perception.learning_rate", self.learning_rate)?;
        check("traits.ai_perception.experience_sd", self.experience_sd)
    }
}

impl Default for TraitsConfig {
    fn default() -> Self {
        TraitsConfig {
            skill: Dist::Lognormal { mean: 1.0, sd: 0.4 }.into(),
            ai_leverage: Dist::Uniform { low: 0.0, high: 1.0 }.into(),
            integrity: Dist::Lognormal { mean: 60.0, sd: 60.0 }.into(),
            never_game_fraction: 0.2,
            intrinsic_motivation: Dist::Beta { alpha: 6.0, beta: 4.0 }.into(),
            reward_sensitivity: Dist::Lognormal { mean: 0.5, sd: 0.25 }.into(),
            cost_awareness: Dist::Beta { alpha: 6.0, beta: 4.0 }.into(),
            correlations: vec![Correlation { a: Trait::Skill, b: Trait::AiLeverage, rho: 0.4 }],
            ai_perception: AiPerception::default(),
            value_curvature: 0.0,
        }
    }
}

impl TraitsConfig {
    /// The distribution of one trait.
    pub fn dist(&self, t: Trait) -> &TraitDist {
        match t {
            Trait::Skill => &self.skill,
            Trait::AiLeverage => &self.ai_leverage,
            Trait::Integrity => &self.integrity,
            Trait::IntrinsicMotivation => &self.intrinsic_motivation,
            Trait::RewardSensitivity => &self.reward_sensitivity,
            Trait::CostAwareness => &self.cost_awareness,
        }
    }

    /// Mutable access to the distribution of one trait.
    pub fn dist_mut(&mut self, t: Trait) -> &mut TraitDist {
        match t {
            Trait::Skill => &mut self.skill,
            Trait::AiLeverage => &mut self.ai_leverage,
            Trait::Integrity => &mut self.integrity,
            Trait::IntrinsicMotivation => &mut self.intrinsic_motivation,
            Trait::RewardSensitivity => &mut self.reward_sensitivity,
            Trait::CostAwareness => &mut self.cost_awareness,
        }
    }

    /// Checks every distribution, the never-game fraction and that the
    /// correlation matrix is positive definite.
    pub fn validate(&self) -> Result<()> {
        for t in Trait::ALL {
            self.dist(t).validate(&format!("traits.{}", t.name()))?;
        }
        crate::model::schema::check("traits.never_game_fraction", self.never_game_fraction)?;
        self.ai_perception.validate()?;
        crate::model::schema::check("traits.value_curvature", self.value_curvature)?;
        for (i, c) in self.correlations.iter().enumerate() {
            let path = format!("traits.correlations[{i}].rho");
            if !(c.rho.is_finite() && c.rho > -1.0 && c.rho < 1.0) {
                return Err(Error::invalid(path, c.rho, "a correlation strictly between -1 and 1"));
            }
            if c.a == c.b {
                return Err(Error::invalid(
                    format!("traits.correlations[{i}].b"),
                    c.b.name(),
                    "a trait other than `a`",
                ));
            }
        }
        self.cholesky().map(|_| ())
    }

    pub(crate) fn cholesky(&self) -> Result<[[f64; 6]; 6]> {
        let mut c = [[0.0; 6]; 6];
        for (i, row) in c.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        for k in &self.correlations {
            let (a, b) = (k.a as usize, k.b as usize);
            c[a][b] = k.rho;
            c[b][a] = k.rho;
        }
        let mut l = [[0.0; 6]; 6];
        for i in 0..6 {
            for j in 0..=i {
                let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
                if i == j {
                    let d = c[i][i] - s;
                    if d <= 1e-12 {
                        return Err(Error::invalid(
                            "traits.correlations",
                            "the given set",
                            "correlations that form a positive-definite matrix",
                        ));
                    }
                    l[i][i] = d.sqrt();
                } else {
                    l[i][j] = (c[i][j] - s) / l[j][j];
                }
            }
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stats::{pearson, spearman};
    use crate::engine::population::Population;
    use crate::engine::rng::Streams;

    #[test]
    fn correlated_traits_have_the_requested_rank_correlation() {
        // Gaussian copula: Spearman = (6/pi) asin(rho/2). For rho = 0.6, 0.5756.
        let cfg = TraitsConfig {
            correlations: vec![Correlation { a: Trait::Skill, b: Trait::RewardSensitivity, rho: 0.6 }],
            ..TraitsConfig::default()
        };
        let n = 20_000;
        let p = Population::draw(&cfg, n, &Streams::new(3, 0)).unwrap();
        let want = 6.0 / std::f64::consts::PI * (0.3f64).asin();
        let got = spearman(&p.skill, &p.reward_sensitivity);
        // Standard error of Spearman's rho is about (1 - r^2) / sqrt(n); allow 4 SE.
        assert!((got - want).abs() < 4.0 * (1.0 - want * want) / (n as f64).sqrt(), "{got} vs {want}");
        // Uncorrelated pairs stay near zero.
        assert!(pearson(&p.integrity, &p.cost_awareness).abs() < 4.0 / (n as f64).sqrt());
        let ng = p.never_games.iter().filter(|&&b| b).count() as f64 / n as f64;
        assert!((ng - 0.2).abs() < 4.0 * (0.2f64 * 0.8 / n as f64).sqrt());
    }

    #[test]
    fn rejects_impossible_correlations() {
        let cfg = TraitsConfig {
            correlations: vec![
                Correlation { a: Trait::Skill, b: Trait::AiLeverage, rho: 0.9 },
                Correlation { a: Trait::Skill, b: Trait::Integrity, rho: 0.9 },
                Correlation { a: Trait::AiLeverage, b: Trait::Integrity, rho: -0.9 },
            ],
            ..TraitsConfig::default()
        };
        assert!(cfg.validate().is_err());
    }
}
