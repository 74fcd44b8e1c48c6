//! The engineers of one replication: their traits, drawn from the scenario's
//! distributions on the population stream.

use rayon::prelude::*;

use crate::analysis::stats::normal_cdf;
use crate::behavior::Engineer;
use crate::engine::rng::{Purpose, Streams, open01, std_normal};
use crate::error::Result;
use crate::model::engineer::{Trait, TraitsConfig};

/// The engineers of one replication, stored as flat arrays (one entry per engineer).
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    /// Skill s (multiplier on value per hour).
    pub skill: Vec<f64>,
    /// AI leverage a (at least -1).
    pub ai_leverage: Vec<f64>,
    /// The AI leverage each engineer believes they have at the start
    /// (`traits.ai_perception`; equal to `ai_leverage` by default).
    pub perceived_leverage: Vec<f64>,
    /// Integrity gamma (USD-equivalent per gaming hour).
    pub integrity: Vec<f64>,
    /// True for engineers who never game.
    pub never_games: Vec<bool>,
    /// Intrinsic motivation m.
    pub intrinsic_motivation: Vec<f64>,
    /// Reward sensitivity rho.
    pub reward_sensitivity: Vec<f64>,
    /// Cost awareness kappa (clamped to [0, 1]).
    pub cost_awareness: Vec<f64>,
    /// A uniform draw per engineer used to assign fixed behaviour types.
    pub type_draw: Vec<f64>,
}

impl Population {
    /// Draws `n` engineers from the population stream of `streams`. The draw
    /// depends only on the seed, the replication and the engineer's index.
    pub fn draw(cfg: &TraitsConfig, n: usize, streams: &Streams) -> Result<Population> {
        let l = cfg.cholesky()?;
        // One engineer's traits, from their own stream: drawn in parallel,
        // the same whatever the thread count.
        let perception = cfg.ai_perception;
        let draw = |i: usize| -> [f64; 9] {
            let mut rng = streams.stream(Purpose::Population, i as u64, 0);
            let mut z = [0.0; 6];
            for v in z.iter_mut() {
                *v = std_normal(&mut rng);
            }
            let mut x = [0.0; 6];
            for r in 0..6 {
                x[r] = (0..=r).map(|k| l[r][k] * z[k]).sum();
            }
            let v = |t: Trait| cfg.dist(t).quantile(normal_cdf(x[t as usize]).clamp(1e-16, 1.0 - 1e-16));
            let leverage = v(Trait::AiLeverage).max(-1.0);
            let (never, kind) = (open01(&mut rng), open01(&mut rng));
            // Drawn last, and only when used, so that exact perception
            // leaves every other draw as it was.
            let perceived = match perception.sd > 0.0 {
                true => leverage + perception.bias + perception.sd * std_normal(&mut rng),
                false => leverage + perception.bias,
            };
            [
                v(Trait::Skill).max(0.0),
                leverage,
                v(Trait::Integrity).max(0.0),
                v(Trait::IntrinsicMotivation).max(0.0),
                v(Trait::RewardSensitivity).max(0.0),
                v(Trait::CostAwareness).clamp(0.0, 1.0),
                never,
                kind,
                perceived.max(-1.0),
            ]
        };
        let rows: Vec<[f64; 9]> = (0..n).into_par_iter().with_min_len(1024).map(draw).collect();
        let column = |j: usize| rows.iter().map(|r| r[j]).collect::<Vec<f64>>();
        let p = Population {
            skill: column(0),
            ai_leverage: column(1),
            perceived_leverage: column(8),
            integrity: column(2),
            intrinsic_motivation: column(3),
            reward_sensitivity: column(4),
            cost_awareness: column(5),
            never_games: rows.iter().map(|r| r[6] < cfg.never_game_fraction).collect(),
            type_draw: column(7),
        };
        Ok(p)
    }

    /// Engineer `i` as a behaviour sees them.
    pub fn engineer(&self, i: usize) -> Engineer {
        Engineer {
            index: i,
            skill: self.skill[i],
            ai_leverage: self.ai_leverage[i],
            integrity: self.integrity[i],
            never_games: self.never_games[i],
            intrinsic_motivation: self.intrinsic_motivation[i],
            reward_sensitivity: self.reward_sensitivity[i],
            cost_awareness: self.cost_awareness[i],
            type_draw: self.type_draw[i],
        }
    }

    /// Number of engineers.
    pub fn len(&self) -> usize {
        self.skill.len()
    }

    /// True when there are no engineers.
    pub fn is_empty(&self) -> bool {
        self.skill.is_empty()
    }
}
