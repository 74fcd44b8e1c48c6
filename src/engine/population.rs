//! The engineers of one replication: their traits, drawn from the scenario's
//! distributions on the population stream.

use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::analysis::stats::normal_cdf;
use crate::behavior::Engineer;
use crate::engine::rng::{Purpose, Streams, open01, std_normal};
use crate::error::Result;
use crate::model::engineer::{Trait, TraitsConfig};

/// One engineer's draws: the six traits, the never-game and type uniforms,
/// and the perceived AI leverage.
type Row = [f64; 9];

/// One engineer's traits from `rng`, with `l` the Cholesky factor of the
/// traits' correlations.
fn draw_row(cfg: &TraitsConfig, l: &[[f64; 6]; 6], rng: &mut ChaCha8Rng) -> Row {
    let mut z = [0.0; 6];
    for v in z.iter_mut() {
        *v = std_normal(rng);
    }
    let mut x = [0.0; 6];
    for r in 0..6 {
        x[r] = (0..=r).map(|k| l[r][k] * z[k]).sum();
    }
    let v = |t: Trait| cfg.dist(t).quantile(normal_cdf(x[t as usize]).clamp(1e-16, 1.0 - 1e-16));
    let leverage = v(Trait::AiLeverage).max(-1.0);
    let (never, kind) = (open01(rng), open01(rng));
    // Drawn last, and only when used, so that exact perception leaves
    // every other draw as it was.
    let perception = cfg.ai_perception;
    let perceived = match perception.sd > 0.0 {
        true => leverage + perception.bias + perception.sd * std_normal(rng),
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
}

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
        let draw = |i: usize| draw_row(cfg, &l, &mut streams.stream(Purpose::Population, i as u64, 0));
        let rows: Vec<Row> = (0..n).into_par_iter().with_min_len(1024).map(draw).collect();
        let column = || vec![0.0; n];
        let mut p = Population {
            skill: column(),
            ai_leverage: column(),
            perceived_leverage: column(),
            integrity: column(),
            intrinsic_motivation: column(),
            reward_sensitivity: column(),
            cost_awareness: column(),
            never_games: vec![false; n],
            type_draw: column(),
        };
        for (i, r) in rows.iter().enumerate() {
            p.set(i, r, cfg);
        }
        Ok(p)
    }

    /// Replaces engineer `i` by a new one drawn from `rng`, as
    /// [`Population::draw`] draws each engineer from their own stream.
    pub(crate) fn redraw(&mut self, i: usize, cfg: &TraitsConfig, l: &[[f64; 6]; 6], rng: &mut ChaCha8Rng) {
        self.set(i, &draw_row(cfg, l, rng), cfg);
    }

    /// Engineer `i`'s traits from their draws.
    fn set(&mut self, i: usize, r: &Row, cfg: &TraitsConfig) {
        self.skill[i] = r[0];
        self.ai_leverage[i] = r[1];
        self.integrity[i] = r[2];
        self.intrinsic_motivation[i] = r[3];
        self.reward_sensitivity[i] = r[4];
        self.cost_awareness[i] = r[5];
        self.never_games[i] = r[6] < cfg.never_game_fraction;
        self.type_draw[i] = r[7];
        self.perceived_leverage[i] = r[8];
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
