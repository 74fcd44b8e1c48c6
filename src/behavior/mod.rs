//! Behaviour: how engineers choose their hours and AI intensity each
//! period, and what they learn once paid.
//!
//! A behaviour is one type implementing [`BehaviorRule`]: `init` gives an
//! engineer's memory at the start of a run, `choose` picks this period's
//! plan through a [`Planner`] (the exact best response, or any plan the
//! rule builds and scores itself), and `learn` updates the memory from the
//! period's payoff and, for social rules, from peers. The built-ins, one
//! file each: [`BestResponse`], [`Imitation`], [`RothErev`], [`Ewa`],
//! [`FixedTypes`] and [`HillClimb`]; a scenario names one in its
//! `[behavior]` section ([`Model`]), and a rule of your own runs through
//! [`crate::Experiment::behavior`].
//!
//! The exact best response ([`BestResponse`]) maximises
//!
//! `U = rho E[reward(M)] + m E[value] - effort_cost(h) - (gamma + audit) gaming_hours - kappa price tokens`
//!
//! where `M` is the engineer's expected metric and the expected reward comes
//! from their belief about the last published leaderboard, including the
//! noise on their own metric. The learning rules (imitation, Roth–Erev,
//! EWA) choose among a few whole candidate plans ([`plans`]: honest, gaming
//! when it pays or as a habit, pushing the metric less or more than the best
//! response), each re-planned every period for the engineer's own traits;
//! fixed types best-respond as gamers or honest engineers.
//!
//! # A behaviour of your own
//!
//! ```
//! use goodhart::behavior::{BehaviorRule, Engineer, Planner};
//! use goodhart::{Experiment, Scenario};
//!
//! /// Engineers who game only after a bad week: if last period's payoff
//! /// fell below what they expect, gaming opens to them.
//! struct Sore { expect: f64 }
//!
//! impl BehaviorRule for Sore {
//!     type Memory = f64; // last period's payoff
//!     fn init(&self, _: &Engineer) -> f64 { f64::INFINITY }
//!     fn choose(&self, me: &Engineer, last: &mut f64, planner: &mut Planner) {
//!         planner.best_response(!me.never_games && *last < self.expect);
//!     }
//!     fn learn(&self, _: &Engineer, last: &mut f64, payoff: f64, _: &goodhart::behavior::Peers<f64>,
//!              _: &mut goodhart::behavior::Draws) {
//!         *last = payoff;
//!     }
//! }
//!
//! let mut sc = goodhart::model::preset::scenario("adversarial")?;
//! (sc.org.engineers, sc.periods, sc.replications) = (40, 6, 2);
//! let r = Experiment::new(&sc).behavior(Sore { expect: 0.0 }).run()?;
//! assert!(r.estimate("kirorank", "token_cost").unwrap().mean > 0.0);
//! # Ok::<(), goodhart::Error>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::schema::check;

pub(crate) mod belief;
pub(crate) mod best_response;
mod ewa;
mod fixed_types;
mod hill_climb;
mod imitation;
mod planner;
pub mod plans;
mod roth_erev;
mod rule;

pub use best_response::BestResponse;
pub use ewa::Ewa;
pub use fixed_types::FixedTypes;
pub use hill_climb::HillClimb;
pub use imitation::Imitation;
pub use planner::Planner;
pub use roth_erev::RothErev;
pub use rule::{BehaviorRule, Draws, Engineer, Peers, Strategy};

/// How engineers update beliefs about leaderboard cut-offs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "lowercase")]
#[non_exhaustive]
pub enum BeliefRule {
    /// Adaptive expectations: `belief += alpha (observed - belief)`.
    Adaptive {
        /// Weight on the newest leaderboard, in (0, 1]; 1 is naive (cobweb-prone).
        alpha: f64,
    },
    /// Fictitious play: the belief is the mean of all leaderboards seen under this policy.
    Fictitious,
}

/// The learning model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Model {
    /// Every engineer best-responds (gaming allowed unless they never game).
    BestResponse,
    /// Fermi imitation of peers' candidate plans, each scored as it would be
    /// for the learner ([`Imitation`]).
    Imitation {
        /// Probability per period that an engineer reconsiders.
        revision_rate: f64,
        /// Fermi sensitivity beta, per USD of payoff difference.
        beta: f64,
        /// Fraction of engineers who start as gamers.
        initial_gamers: f64,
    },
    /// Roth–Erev reinforcement learning over the candidate plans ([`RothErev`]).
    RothErev {
        /// Forgetting phi (published: about 0.1).
        forgetting: f64,
        /// Experimentation epsilon (published: about 0.2).
        experimentation: f64,
        /// Initial propensity of each candidate plan, USD-equivalent.
        initial_propensity: f64,
    },
    /// Experience-weighted attraction over the candidate plans ([`Ewa`]).
    Ewa {
        /// Forgetting 1 - phi (published phi: about 0.9).
        forgetting: f64,
        /// Weight on foregone payoffs delta (published: about 0.5).
        delta: f64,
        /// Logit precision lambda, per USD-equivalent.
        precision: f64,
    },
    /// Fixed types: a fraction are gamers (ignore integrity), the rest never
    /// game. Engineers who never game (`traits.never_game_fraction`) are
    /// honest whatever their draw, so the gamer share is
    /// `gamer_fraction x (1 - never_game_fraction)` in expectation.
    FixedTypes {
        /// Fraction of gamers (before never-gamers are excluded).
        gamer_fraction: f64,
    },
    /// Myopic hill-climbing from last period's plan ([`HillClimb`]).
    HillClimb {
        /// Hours moved per step.
        step: f64,
    },
}

/// Work to do with a behaviour rule, whatever its type (the engine is
/// generic over the rule, so each runs at full speed).
pub(crate) trait WithRule {
    type Output;
    fn with<B: BehaviorRule>(self, rule: &B) -> Self::Output;
}

impl Model {
    /// Calls `work` with the rule this model names.
    pub(crate) fn dispatch<W: WithRule>(self, work: W) -> W::Output {
        match self {
            Model::BestResponse => work.with(&BestResponse),
            Model::Imitation { revision_rate, beta, initial_gamers } => {
                work.with(&Imitation { revision_rate, beta, initial_gamers })
            }
            Model::RothErev { forgetting, experimentation, initial_propensity } => {
                work.with(&RothErev { forgetting, experimentation, initial_propensity })
            }
            Model::Ewa { forgetting, delta, precision } => work.with(&Ewa { forgetting, delta, precision }),
            Model::FixedTypes { gamer_fraction } => work.with(&FixedTypes { gamer_fraction }),
            Model::HillClimb { step } => work.with(&HillClimb { step }),
        }
    }
}

/// Behaviour settings (a file's flat `[behavior]` table: see `model::schema`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "BehaviorFile", into = "BehaviorFile")]
pub struct Behavior {
    /// The learning model.
    pub model: Model,
    /// Logit temperature, USD-equivalent; 0 is an exact best response.
    pub temperature: f64,
    /// Belief rule for leaderboard cut-offs.
    pub belief: BeliefRule,
}

impl Default for Behavior {
    /// Best response at temperature 0 with adaptive beliefs, alpha = 0.3:
    /// fast enough to follow a policy switch within a few periods, damped
    /// enough that a population best-responding to the board does not cycle
    /// (with alpha = 1, naive beliefs, the token leaderboard oscillates
    /// period to period: a cobweb).
    fn default() -> Self {
        Behavior { model: Model::BestResponse, temperature: 0.0, belief: BeliefRule::Adaptive { alpha: 0.3 } }
    }
}

impl Behavior {
    /// Checks parameters.
    pub fn validate(&self) -> Result<()> {
        // Ranges are declared once, in the schema's field table.
        check("behavior.temperature", self.temperature)?;
        if let BeliefRule::Adaptive { alpha } = self.belief {
            check("behavior.alpha", alpha)?;
        }
        match self.model {
            Model::BestResponse => Ok(()),
            Model::Imitation { revision_rate, beta, initial_gamers } => {
                check("behavior.revision_rate", revision_rate)?;
                check("behavior.beta", beta)?;
                check("behavior.initial_gamers", initial_gamers)
            }
            Model::RothErev { forgetting, experimentation, initial_propensity } => {
                check("behavior.forgetting", forgetting)?;
                check("behavior.experimentation", experimentation)?;
                check("behavior.initial_propensity", initial_propensity)
            }
            Model::Ewa { forgetting, delta, precision } => {
                check("behavior.forgetting", forgetting)?;
                check("behavior.delta", delta)?;
                check("behavior.precision", precision)
            }
            Model::FixedTypes { gamer_fraction } => check("behavior.gamer_fraction", gamer_fraction),
            Model::HillClimb { step } => check("behavior.step", step),
        }
    }
}

// How a scenario file writes the behaviour: one flat `[behavior]` table
// (the schema's field table, `crate::model::schema::FIELDS`, holds each
// parameter's range and meaning).

/// The behaviour model by name.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub(crate) enum ModelName {
    #[default]
    BestResponse,
    Imitation,
    RothErev,
    Ewa,
    FixedTypes,
    HillClimb,
}

/// The belief rule by name.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub(crate) enum BeliefName {
    #[default]
    Adaptive,
    Fictitious,
}

/// Behaviour as a file writes it: one flat `[behavior]` table, the model's
/// and the belief rule's parameters beside their names (the other models'
/// parameters are accepted and ignored, so switching `model` alone works).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct BehaviorFile {
    model: ModelName,
    #[serde(skip_serializing_if = "Option::is_none")]
    revision_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    beta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_gamers: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forgetting: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    experimentation: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_propensity: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    precision: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gamer_fraction: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    belief: BeliefName,
    #[serde(skip_serializing_if = "Option::is_none")]
    alpha: Option<f64>,
}

/// Parameter defaults of the learning models (published values where there are some).
mod model_defaults {
    pub const REVISION_RATE: f64 = 0.2;
    pub const BETA: f64 = 0.01;
    pub const INITIAL_GAMERS: f64 = 0.1;
    /// Roth–Erev forgetting, as published (about 0.1).
    pub const FORGETTING: f64 = 0.1;
    /// Roth–Erev experimentation, as published (about 0.2).
    pub const EXPERIMENTATION: f64 = 0.2;
    pub const INITIAL_PROPENSITY: f64 = 100.0;
    /// EWA weight on foregone payoffs, as published (about 0.5).
    pub const DELTA: f64 = 0.5;
    /// EWA logit precision, per USD-equivalent (a judgement: 100 USD of
    /// attraction is a factor e in the odds).
    pub const PRECISION: f64 = 0.01;
    pub const GAMER_FRACTION: f64 = 0.3;
    /// Hill-climbing: hours moved per step.
    pub const STEP: f64 = 1.0;
}

impl From<Behavior> for BehaviorFile {
    fn from(b: Behavior) -> Self {
        let mut f = BehaviorFile { temperature: Some(b.temperature), ..BehaviorFile::default() };
        match b.model {
            Model::BestResponse => {}
            Model::Imitation { revision_rate, beta, initial_gamers } => {
                f.model = ModelName::Imitation;
                (f.revision_rate, f.beta, f.initial_gamers) = (Some(revision_rate), Some(beta), Some(initial_gamers));
            }
            Model::RothErev { forgetting, experimentation, initial_propensity } => {
                f.model = ModelName::RothErev;
                (f.forgetting, f.experimentation, f.initial_propensity) =
                    (Some(forgetting), Some(experimentation), Some(initial_propensity));
            }
            Model::Ewa { forgetting, delta, precision } => {
                f.model = ModelName::Ewa;
                (f.forgetting, f.delta, f.precision) = (Some(forgetting), Some(delta), Some(precision));
            }
            Model::FixedTypes { gamer_fraction } => {
                f.model = ModelName::FixedTypes;
                f.gamer_fraction = Some(gamer_fraction);
            }
            Model::HillClimb { step } => {
                f.model = ModelName::HillClimb;
                f.step = Some(step);
            }
        }
        match b.belief {
            BeliefRule::Adaptive { alpha } => f.alpha = Some(alpha),
            BeliefRule::Fictitious => f.belief = BeliefName::Fictitious,
        }
        f
    }
}

impl From<BehaviorFile> for Behavior {
    fn from(f: BehaviorFile) -> Self {
        use model_defaults as d;
        let default = Behavior::default();
        let model = match f.model {
            ModelName::BestResponse => Model::BestResponse,
            ModelName::Imitation => Model::Imitation {
                revision_rate: f.revision_rate.unwrap_or(d::REVISION_RATE),
                beta: f.beta.unwrap_or(d::BETA),
                initial_gamers: f.initial_gamers.unwrap_or(d::INITIAL_GAMERS),
            },
            ModelName::RothErev => Model::RothErev {
                forgetting: f.forgetting.unwrap_or(d::FORGETTING),
                experimentation: f.experimentation.unwrap_or(d::EXPERIMENTATION),
                initial_propensity: f.initial_propensity.unwrap_or(d::INITIAL_PROPENSITY),
            },
            ModelName::Ewa => Model::Ewa {
                forgetting: f.forgetting.unwrap_or(d::FORGETTING),
                delta: f.delta.unwrap_or(d::DELTA),
                precision: f.precision.unwrap_or(d::PRECISION),
            },
            ModelName::FixedTypes => {
                Model::FixedTypes { gamer_fraction: f.gamer_fraction.unwrap_or(d::GAMER_FRACTION) }
            }
            ModelName::HillClimb => Model::HillClimb { step: f.step.unwrap_or(d::STEP) },
        };
        let default_alpha = match default.belief {
            BeliefRule::Adaptive { alpha } => alpha,
            BeliefRule::Fictitious => 0.3,
        };
        let belief = match f.belief {
            BeliefName::Adaptive => BeliefRule::Adaptive { alpha: f.alpha.unwrap_or(default_alpha) },
            BeliefName::Fictitious => BeliefRule::Fictitious,
        };
        Behavior { model, temperature: f.temperature.unwrap_or(default.temperature), belief }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_each_model_parameter_out_of_range() {
        let with = |model: Model| Behavior { model, ..Behavior::default() }.validate();
        let bad = [
            (Model::Imitation { revision_rate: 1.5, beta: 0.01, initial_gamers: 0.1 }, "behavior.revision_rate"),
            (Model::Imitation { revision_rate: 0.2, beta: -1.0, initial_gamers: 0.1 }, "behavior.beta"),
            (Model::Imitation { revision_rate: 0.2, beta: 0.01, initial_gamers: 2.0 }, "behavior.initial_gamers"),
            (
                Model::RothErev { forgetting: -0.1, experimentation: 0.2, initial_propensity: 1.0 },
                "behavior.forgetting",
            ),
            (
                Model::RothErev { forgetting: 0.1, experimentation: 1.2, initial_propensity: 1.0 },
                "behavior.experimentation",
            ),
            (
                Model::RothErev { forgetting: 0.1, experimentation: 0.2, initial_propensity: 0.0 },
                "behavior.initial_propensity",
            ),
            (Model::Ewa { forgetting: 1.5, delta: 0.5, precision: 0.01 }, "behavior.forgetting"),
            (Model::Ewa { forgetting: 0.1, delta: -0.5, precision: 0.01 }, "behavior.delta"),
            (Model::Ewa { forgetting: 0.1, delta: 0.5, precision: -1.0 }, "behavior.precision"),
            (Model::FixedTypes { gamer_fraction: f64::NAN }, "behavior.gamer_fraction"),
            (Model::HillClimb { step: 0.0 }, "behavior.step"),
            (Model::HillClimb { step: 169.0 }, "behavior.step"),
        ];
        for (model, path) in bad {
            let e = with(model).unwrap_err().to_string();
            assert!(e.starts_with(path), "{model:?}: {e}");
        }
        assert!(with(Model::HillClimb { step: 1.0 }).is_ok());
        assert!(with(Model::Ewa { forgetting: 0.1, delta: 0.5, precision: 0.01 }).is_ok());
        let e = Behavior { temperature: -1.0, ..Behavior::default() }.validate().unwrap_err().to_string();
        assert!(e.starts_with("behavior.temperature"), "{e}");
        let e = Behavior { belief: BeliefRule::Adaptive { alpha: 0.0 }, ..Behavior::default() }.validate();
        assert!(e.unwrap_err().to_string().starts_with("behavior.alpha"));
    }
}
