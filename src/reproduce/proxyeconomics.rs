//! Proxyeconomics: Braganza (2022), "Proxyeconomics, a theory and model of
//! proxy-based competition and cultural evolution", *Royal Society Open
//! Science* 9: 211030.
//!
//! Agents compete on a proxy of a shared goal. Each has a **practice**, an
//! angle θ (radians) in the plane whose x-axis is the proxy and whose goal
//! direction lies at the goal angle γ (default π/4), an **effort** e ≥ 0 and
//! a **talent** t > 0. Its proxy score is `e cos θ` and its contribution to
//! the goal `e cos(γ − θ)`: practice θ = 0 serves only the proxy, θ = γ only
//! the goal. Each step has two phases, in this order:
//!
//! 1. [`Model::move_agents`] (the economic decision): in a fresh random
//!    order, each agent tries its current effort plus each of
//!    [`EFFORT_CHANGES`] and keeps the one of highest utility
//!    `prospect + g · e cos(γ − θ) − e² / t`. The prospect compares the
//!    agent's proxy with the **survival threshold**, the proxy at position
//!    `floor(c N)` from the bottom (1-based) among the N current proxies,
//!    c being the competition: `|d|^0.88` above it, `−2.25 |d|^0.88` below
//!    (Kahneman and Tversky's value function, [`prospect`]).
//! 2. [`Model::replace_losers`] (cultural evolution): each agent whose
//!    proxy is at or below the threshold dies with probability 0.1 and
//!    is replaced by the offspring of a random agent at or above it, which
//!    copies the parent's effort, takes the parent's practice plus a normal
//!    mutation (sd π/90, 2°) and draws a new talent.
//!
//! Practices are never chosen, only inherited, so selection on the proxy
//! drifts them toward θ = 0 unless the goal is valued (g > 0).
//!
//! # Where the specification is silent
//!
//! Choices follow Braganza's original code (`S5_ProxyModel1.py` in the
//! repository `oliverbraganza/Proxyeconomics_original`, Python with Mesa
//! 0.8.6) unless stated:
//!
//! - **The agent's own entry in the ranking.** The candidate's proxy is
//!   *not* among the proxies that set its threshold. As in the original,
//!   which overwrites the agent's proxy while it tries candidates, the
//!   agent's own entry is the proxy of the candidate it tried just before
//!   (for its first candidate, its recorded proxy). The threshold for a
//!   candidate is therefore the `floor(c N)`-th smallest of the others'
//!   proxies and that entry: [`threshold_with`].
//! - **Effort zero.** The spec asks for only positive efforts and also for
//!   effort to stay at 0 exactly when nothing rewards it (competition 0,
//!   g = 0). These conflict; effort 0 is a candidate here (results ≥ 0
//!   are tried). The original tries only results > 0 and falls back to 0
//!   when every candidate's utility is below −1000, so with no competition
//!   it settles at 0.1. With competition the rule rarely matters: a
//!   candidate of exactly 0 also becomes the own entry of the next one.
//!   Over 36 runs of 1,000 steps, trying only efforts > 0 changed 9 runs at
//!   c = 0.1 (mean effort 8.386 against 8.384) and none at 0.5 or 0.9.
//! - **Ties** between candidates: the first best in the order of
//!   [`EFFORT_CHANGES`] (the original's strict `>`).
//! - **No threshold.** When `floor(c N)` is 0 (competition 0, or below
//!   1/N) there is no threshold: the prospect is 0 and nobody dies. (The
//!   original's index −1 would make the highest proxy the threshold and
//!   everyone a potential loser; a Python indexing artefact.)
//! - **Deaths** are decided agent by agent in index order against the
//!   threshold and the set of potential parents fixed at the start of the
//!   phase (the proxies do not change during it). An agent exactly at the
//!   threshold is both a potential loser and a potential parent; a parent
//!   replaced earlier in the same phase passes on its offspring's traits,
//!   as in the original's in-place update.
//! - **Offspring scores.** As in the original, an offspring's recorded
//!   proxy and goal contribution (what the others rank against and what
//!   the rows average) stay the dead agent's until the offspring next
//!   moves; its effort, practice and talent are its own at once.
//! - **Talent**: a normal draw; a draw at or below 0 becomes 0.01 (the
//!   original: below 0), so no talent is 0. Practices are not wrapped:
//!   every output is periodic in θ.
//! - **Random streams**: ChaCha8 keyed by (seed, competition index)
//!   through [`crate::engine::rng::Streams`]: the initial population,
//!   the order of moves and the births each draw from a stream of their
//!   own.
//!
//! # Example
//!
//! ```
//! use goodhart::reproduce::proxyeconomics::{Config, run, summarize};
//!
//! let config = Config { competition: vec![0.1, 0.9], steps: 200, seeds: 3, ..Config::default() };
//! let rows = run(&config)?;
//! assert_eq!(rows.len(), 2 * 3 * 2); // levels x seeds x rows at steps 100 and 200
//! let levels = summarize(&config, &rows);
//! assert!(levels[1].effort.mean > levels[0].effort.mean); // harder competition, more effort
//! # Ok::<(), goodhart::Error>(())
//! ```

use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::analysis::stats::Estimate;
use crate::engine::rng::{Purpose, Streams, open01, std_normal};
use crate::error::{Error, Result};

/// The changes of effort an agent tries each step, in the order tried
/// (ties go to the first). Effort is in the model's own units.
pub const EFFORT_CHANGES: [f64; 11] = [-10.0, -5.0, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 5.0, 10.0];

/// Loss aversion of the prospect: a shortfall below the threshold weighs
/// 2.25 times a lead of the same size (Tversky and Kahneman 1992).
pub const LOSS_AVERSION: f64 = 2.25;

/// Curvature of the prospect: gains and losses enter as `|d|^0.88`
/// (Tversky and Kahneman 1992).
pub const CURVATURE: f64 = 0.88;

/// The CSV header of [`csv`].
pub const CSV_HEADER: &str = "competition,seed,step,mean_effort,mean_proxy,mean_goal,mean_practice_deg";

/// Talent given to an agent whose normal draw is at or below 0.
const TALENT_FLOOR: f64 = 0.01;

/// The model's parameters: Braganza's defaults for the competition sweep
/// (his supplementary script `S6_run_ProxyModel_competition.py`).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Number of agents N (default 100).
    pub agents: usize,
    /// Mean of the normal talent distribution (default 10).
    pub talent_mean: f64,
    /// Standard deviation of the talent distribution (default 1).
    pub talent_sd: f64,
    /// Angle γ between the proxy and the goal, in radians (default π/4);
    /// initial practices are uniform in [0, γ).
    pub goal_angle: f64,
    /// Weight g of the agent's own goal contribution in its utility, per
    /// unit of goal (default 0: agents value only the prospect).
    pub goal_scale: f64,
    /// Probability that an agent at or below the threshold dies in a step
    /// (Braganza's selection pressure; default 0.1).
    pub death_probability: f64,
    /// Standard deviation of the normal mutation of an offspring's
    /// practice, in radians (default π/90, i.e. 2°).
    pub mutation_sd: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            agents: 100,
            talent_mean: 10.0,
            talent_sd: 1.0,
            goal_angle: std::f64::consts::FRAC_PI_4,
            goal_scale: 0.0,
            death_probability: 0.1,
            mutation_sd: std::f64::consts::PI / 90.0,
        }
    }
}

impl Params {
    /// Checks every field; the error names the first field out of range.
    pub fn validate(&self) -> Result<()> {
        if self.agents == 0 {
            return Err(invalid("params.agents", self.agents, "a whole number >= 1"));
        }
        finite("params.talent_mean", self.talent_mean)?;
        non_negative("params.talent_sd", self.talent_sd)?;
        finite("params.goal_angle", self.goal_angle)?;
        finite("params.goal_scale", self.goal_scale)?;
        probability("params.death_probability", self.death_probability)?;
        non_negative("params.mutation_sd", self.mutation_sd)
    }
}

/// An experiment: the model's parameters run at several competition
/// levels, each with several seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The model's parameters, shared by every run.
    pub params: Params,
    /// Competition levels c in [0, 1], the fraction of agents at risk of
    /// death (default 0.1, 0.3, 0.5, 0.7, 0.9).
    pub competition: Vec<f64>,
    /// Steps per run (default 10,000).
    pub steps: u64,
    /// Runs per competition level, seeded 0, 1, ..., `seeds - 1` (default 10).
    pub seeds: u64,
    /// A row is recorded after every `record_every`-th step, and after the
    /// last step if it is not a multiple (default 100).
    pub record_every: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            params: Params::default(),
            competition: vec![0.1, 0.3, 0.5, 0.7, 0.9],
            steps: 10_000,
            seeds: 10,
            record_every: 100,
        }
    }
}

impl Config {
    /// Checks every field; the error names the first field out of range.
    pub fn validate(&self) -> Result<()> {
        self.params.validate()?;
        if self.competition.is_empty() {
            return Err(invalid("competition", "[]", "at least one level in [0, 1]"));
        }
        for (i, &c) in self.competition.iter().enumerate() {
            probability(&format!("competition[{i}]"), c)?;
        }
        for (path, v) in [("steps", self.steps), ("seeds", self.seeds), ("record_every", self.record_every)] {
            if v == 0 {
                return Err(invalid(path, v, "a whole number >= 1"));
            }
        }
        Ok(())
    }

    /// Agent-steps of the whole experiment: agents x steps x seeds x
    /// competition levels.
    pub fn agent_steps(&self) -> u64 {
        self.params.agents as u64 * self.steps * self.seeds * self.competition.len() as u64
    }

    /// Rows [`run`] returns: one per recorded step of each run.
    pub fn rows(&self) -> usize {
        let per_run = self.steps.div_ceil(self.record_every.max(1));
        per_run as usize * self.seeds as usize * self.competition.len()
    }
}

/// The survival threshold's position, 1-based from the bottom, among
/// `agents` proxies at competition `competition`: `floor(competition x
/// agents)`, or `None` when that is 0 (no threshold, no competition).
pub fn threshold_rank(competition: f64, agents: usize) -> Option<usize> {
    let k = (competition * agents as f64).floor();
    // Competition is validated to [0, 1], so k is in 0..=agents.
    if k >= 1.0 { Some((k as usize).min(agents)) } else { None }
}

/// The prospect of a proxy score `proxy` against a survival `threshold`:
/// `d^0.88` for a lead d > 0, `−2.25 |d|^0.88` for a shortfall, 0 at the
/// threshold (utility units).
pub fn prospect(proxy: f64, threshold: f64) -> f64 {
    prospect_of_gap(proxy - threshold)
}

fn prospect_of_gap(d: f64) -> f64 {
    let v = d.abs().powf(CURVATURE);
    if d < 0.0 { -LOSS_AVERSION * v } else { v }
}

/// `(2^m)^0.88` for m = −16..=16: the knots of [`prospect_bound`].
const KNOTS: [f64; 33] = [
    5.7742776289404046e-05,
    0.00010626837930860896,
    0.00019557370058340378,
    0.0003599290081277104,
    0.0006624044567615583,
    0.0012190728016617306,
    0.002243551474603583,
    0.0041289767209428925,
    0.007598866776658481,
    0.013984766733249568,
    0.025737219289611656,
    0.04736614270344993,
    0.08717147914690034,
    0.160428237195363,
    0.2952481653573826,
    0.543367431263029,
    1.0,
    1.8403753012497501,
    3.3869812494501086,
    6.233316637283999,
    11.471641984126618,
    21.112126572366314,
    38.8542363006415,
    71.50637683662208,
    131.59856981197652,
    242.19075756175255,
    445.7218884076158,
    820.2955546517728,
    1509.6516785060883,
    2778.325662612831,
    5113.161928301003,
    9410.136924135706,
    17318.183576557658,
];

/// An upper bound on [`prospect_of_gap`] without `powf`, within about 2%.
/// `a^0.88` (a = |d|) is concave, so on the doubling segment [2^m, 2^(m+1)]
/// holding a it lies below its tangent at 2^m (a lead's bound) and above
/// the chord between the segment's ends (a shortfall's).
fn prospect_bound(d: f64) -> f64 {
    let a = d.abs();
    let m = ((a.to_bits() >> 52) & 0x7ff) as i64 - 1023; // a in [2^m, 2^(m+1))
    if d >= 0.0 {
        if m < -16 {
            KNOTS[0] // a below 2^-16, where a^0.88 < KNOTS[0]
        } else if m >= 16 {
            0.12 + 0.88 * a // the tangent at 1
        } else {
            let (left, v) = (f64::from_bits(((m + 1023) as u64) << 52), KNOTS[(m + 16) as usize]);
            // Widened by 1e-12 to stay above `powf` through rounding at the knots.
            v * (1.0 + 0.88 * (a / left - 1.0)) * (1.0 + 1e-12)
        }
    } else {
        let below = if m < -16 {
            0.0
        } else if m >= 16 {
            KNOTS[32]
        } else {
            let (left, j) = (f64::from_bits(((m + 1023) as u64) << 52), (m + 16) as usize);
            (KNOTS[j] + (KNOTS[j + 1] - KNOTS[j]) * (a / left - 1.0)) * (1.0 - 1e-12)
        };
        -LOSS_AVERSION * below
    }
}

/// Indices into [`EFFORT_CHANGES`], smallest change first.
const NEAR_FIRST: [usize; 11] = [5, 4, 6, 3, 7, 2, 8, 1, 9, 0, 10];

/// The `rank`-th smallest (1-based) of the multiset `others ∪ {own}`,
/// where `others` holds the other agents' proxies in ascending order:
/// `own` clamped between the others' `(rank − 1)`-th and `rank`-th smallest.
///
/// # Panics
///
/// If `rank` is 0 or above `others.len() + 1`.
pub fn threshold_with(others: &[f64], rank: usize, own: f64) -> f64 {
    assert!(rank >= 1 && rank <= others.len() + 1, "rank {rank} outside 1..={}", others.len() + 1);
    let lo = if rank >= 2 { others[rank - 2] } else { f64::NEG_INFINITY };
    let hi = if rank <= others.len() { others[rank - 1] } else { f64::INFINITY };
    own.clamp(lo, hi)
}

/// The circular mean of angles in radians, in degrees in (−180, 180]:
/// the direction of the mean unit vector (0 for an empty slice).
pub fn circular_mean_deg(angles: &[f64]) -> f64 {
    let (s, c) = angles.iter().fold((0.0, 0.0), |(s, c), a| (s + a.sin(), c + a.cos()));
    s.atan2(c).to_degrees()
}

/// The agents' talents, practices and efforts at the start of a run, one
/// entry per agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    /// Talent t > 0 of each agent: effort costs `e² / t`.
    pub talent: Vec<f64>,
    /// Practice angle θ of each agent, in radians.
    pub practice: Vec<f64>,
    /// Effort e ≥ 0 of each agent.
    pub effort: Vec<f64>,
}

impl Start {
    /// Braganza's initial population: talents normal (a draw at or below 0
    /// becomes 0.01), practices uniform in [0, γ), efforts 0.
    pub fn sample(params: &Params, rng: &mut ChaCha8Rng) -> Start {
        let n = params.agents;
        let mut start = Start { talent: Vec::with_capacity(n), practice: Vec::with_capacity(n), effort: vec![0.0; n] };
        for _ in 0..n {
            start.practice.push(open01(rng) * params.goal_angle);
            start.talent.push(draw_talent(params, rng));
        }
        start
    }
}

/// An offspring: `dead` was replaced by a child of `parent` (agent indices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Birth {
    /// The agent that died; its slot now holds the offspring.
    pub dead: usize,
    /// The agent whose effort and practice the offspring inherited.
    pub parent: usize,
}

/// Population means at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Means {
    /// Mean effort.
    pub effort: f64,
    /// Mean recorded proxy score.
    pub proxy: f64,
    /// Mean recorded goal contribution.
    pub goal: f64,
    /// Circular mean of the practice angles, in degrees.
    pub practice_deg: f64,
}

/// One run of the model: N agents (a struct of arrays) competing at one
/// competition level.
#[derive(Debug, Clone)]
pub struct Model {
    params: Params,
    competition: f64,
    rank: Option<usize>,
    effort: Vec<f64>,
    practice: Vec<f64>,
    talent: Vec<f64>,
    /// Recorded proxy scores: what the others rank against.
    proxy: Vec<f64>,
    /// Recorded goal contributions.
    goal: Vec<f64>,
    /// cos θ and cos(γ − θ) of each agent's practice, kept with it.
    proxy_per_effort: Vec<f64>,
    goal_per_effort: Vec<f64>,
    /// The recorded proxies in ascending order, kept up to date move by
    /// move so that a threshold is two reads, not a sort; `holder[r]` is
    /// the agent whose proxy is `sorted[r]` and `rank_of[i]` agent i's place.
    sorted: Vec<f64>,
    holder: Vec<usize>,
    rank_of: Vec<usize>,
    order: Vec<usize>,
    parents: Vec<usize>,
    births: Vec<Birth>,
    order_rng: ChaCha8Rng,
    birth_rng: ChaCha8Rng,
    step: u64,
}

impl Model {
    /// A run at competition `competition` (in [0, 1]) with Braganza's
    /// initial population, its random streams keyed by `seed` and
    /// `competition_index` (the level's position in an experiment).
    pub fn new(params: &Params, competition: f64, seed: u64, competition_index: usize) -> Result<Model> {
        params.validate()?;
        let streams = Streams::new(seed, competition_index as u64);
        let start = Start::sample(params, &mut streams.stream(Purpose::Population, 0, -1));
        Model::from_start(params, competition, start, seed, competition_index)
    }

    /// A run from a given population (its recorded scores are computed from
    /// `start`), with the order of moves and the births drawn from the
    /// streams of `seed` and `competition_index`.
    pub fn from_start(
        params: &Params,
        competition: f64,
        start: Start,
        seed: u64,
        competition_index: usize,
    ) -> Result<Model> {
        params.validate()?;
        probability("competition", competition)?;
        let n = params.agents;
        for (path, len) in [
            ("start.talent", start.talent.len()),
            ("start.practice", start.practice.len()),
            ("start.effort", start.effort.len()),
        ] {
            if len != n {
                return Err(invalid(path, format!("{len} entries"), &format!("one per agent ({n})")));
            }
        }
        for (i, (&t, (&p, &e))) in start.talent.iter().zip(start.practice.iter().zip(&start.effort)).enumerate() {
            if !(t > 0.0 && t.is_finite()) {
                return Err(invalid(&format!("start.talent[{i}]"), t, "a finite number > 0"));
            }
            finite(&format!("start.practice[{i}]"), p)?;
            non_negative(&format!("start.effort[{i}]"), e)?;
        }
        let streams = Streams::new(seed, competition_index as u64);
        let proxy_per_effort: Vec<f64> = start.practice.iter().map(|p| p.cos()).collect();
        let goal_per_effort: Vec<f64> = start.practice.iter().map(|p| (params.goal_angle - p).cos()).collect();
        let proxy: Vec<f64> = start.effort.iter().zip(&proxy_per_effort).map(|(e, w)| e * w).collect();
        let goal: Vec<f64> = start.effort.iter().zip(&goal_per_effort).map(|(e, w)| e * w).collect();
        let mut holder: Vec<usize> = (0..n).collect();
        holder.sort_by(|&a, &b| proxy[a].total_cmp(&proxy[b]));
        let sorted = holder.iter().map(|&i| proxy[i]).collect();
        let mut rank_of = vec![0; n];
        for (r, &i) in holder.iter().enumerate() {
            rank_of[i] = r;
        }
        Ok(Model {
            params: params.clone(),
            competition,
            rank: threshold_rank(competition, n),
            effort: start.effort,
            practice: start.practice,
            talent: start.talent,
            proxy,
            goal,
            proxy_per_effort,
            goal_per_effort,
            sorted,
            holder,
            rank_of,
            order: (0..n).collect(),
            parents: Vec::with_capacity(n),
            births: Vec::with_capacity(n),
            order_rng: streams.stream(Purpose::Behaviour, 0, -1),
            birth_rng: streams.stream(Purpose::Population, 1, -1),
            step: 0,
        })
    }

    /// One step: every agent adjusts its effort, then losers are replaced.
    pub fn step(&mut self) {
        self.move_agents();
        self.replace_losers();
        self.step += 1;
    }

    /// Phase 1: the agents, in a fresh random order, each set their effort
    /// to their best response ([`Model::best_effort`]) to the current scores.
    pub fn move_agents(&mut self) {
        for (slot, i) in self.order.iter_mut().zip(0..) {
            *slot = i;
        }
        self.order.shuffle(&mut self.order_rng);
        for k in 0..self.order.len() {
            let i = self.order[k];
            self.adjust_effort(i);
        }
    }

    /// Sets agent `i`'s effort to [`Model::best_effort`] and records its
    /// new proxy score and goal contribution.
    pub fn adjust_effort(&mut self, i: usize) {
        let e = self.best_effort(i);
        let new = e * self.proxy_per_effort[i];
        self.effort[i] = e;
        self.proxy[i] = new;
        self.goal[i] = e * self.goal_per_effort[i];
        // Slide the agent's entry to its new place: a small move shifts few.
        let mut r = self.rank_of[i];
        while r + 1 < self.sorted.len() && self.sorted[r + 1] < new {
            self.sorted[r] = self.sorted[r + 1];
            self.holder[r] = self.holder[r + 1];
            self.rank_of[self.holder[r]] = r;
            r += 1;
        }
        while r > 0 && self.sorted[r - 1] > new {
            self.sorted[r] = self.sorted[r - 1];
            self.holder[r] = self.holder[r - 1];
            self.rank_of[self.holder[r]] = r;
            r -= 1;
        }
        self.sorted[r] = new;
        self.holder[r] = i;
        self.rank_of[i] = r;
    }

    /// Agent `i`'s best response to the current scores: of its effort plus
    /// each of [`EFFORT_CHANGES`] (results below 0 skipped), the first of
    /// highest utility `prospect + g · goal − e² / t`, each candidate's
    /// threshold set by [`threshold_with`] from the others' recorded proxies
    /// and the agent's own entry (the previous candidate's proxy, its
    /// recorded proxy for the first).
    pub fn best_effort(&self, i: usize) -> f64 {
        let (w_proxy, w_goal, talent, e0) =
            (self.proxy_per_effort[i], self.goal_per_effort[i], self.talent[i], self.effort[i]);
        let g = self.params.goal_scale;
        // The others' proxies in order: `sorted` without agent i's entry.
        let at = self.rank_of[i];
        let other = |j: usize| if j < at { self.sorted[j] } else { self.sorted[j + 1] };
        let bounds = self.rank.map(|k| {
            let lo = if k >= 2 { other(k - 2) } else { f64::NEG_INFINITY };
            let hi = if k < self.sorted.len() { other(k - 1) } else { f64::INFINITY };
            (lo, hi)
        });
        // Each candidate's threshold, set in the listed order (the own entry
        // is the previous candidate's proxy); NaN marks a negative effort.
        let mut gap = [f64::NAN; EFFORT_CHANGES.len()];
        if let Some((lo, hi)) = bounds {
            let mut own = self.proxy[i];
            for (d, &change) in gap.iter_mut().zip(&EFFORT_CHANGES) {
                let e = e0 + change;
                if e >= 0.0 {
                    let x = e * w_proxy;
                    *d = x - own.clamp(lo, hi);
                    own = x;
                }
            }
        }
        // Small changes first: they are usually best, and then a cheap
        // upper bound on the prospect rules out the large ones without a
        // `powf`. Ties go to the first in the listed order, as if tried in it.
        let (mut best_u, mut best_j) = (f64::NEG_INFINITY, usize::MAX);
        for j in NEAR_FIRST {
            let e = e0 + EFFORT_CHANGES[j];
            if e < 0.0 {
                continue;
            }
            let rest = g * e * w_goal - e * e / talent;
            let u = match bounds {
                Some(_) => {
                    if prospect_bound(gap[j]) + rest < best_u - 1e-9 * (1.0 + best_u.abs()) {
                        continue;
                    }
                    // The same expression as `prospect(x, t) + g * e * w - e * e / t`.
                    prospect_of_gap(gap[j]) + g * e * w_goal - e * e / talent
                }
                None => 0.0 + g * e * w_goal - e * e / talent,
            };
            if u > best_u || (u == best_u && j < best_j) {
                (best_u, best_j) = (u, j);
            }
        }
        // Effort + 0 is never negative, so some candidate was kept.
        e0 + EFFORT_CHANGES[best_j]
    }

    /// Phase 2: each agent at or below the threshold (in index order) dies
    /// with the death probability and is replaced by the offspring of a
    /// uniformly drawn agent at or above it. Returns the births.
    pub fn replace_losers(&mut self) -> &[Birth] {
        self.births.clear();
        let Some(threshold) = self.threshold() else { return &self.births };
        self.parents.clear();
        self.parents.extend((0..self.proxy.len()).filter(|&j| self.proxy[j] >= threshold));
        for i in 0..self.proxy.len() {
            if self.proxy[i] > threshold || !self.birth_rng.random_bool(self.params.death_probability) {
                continue;
            }
            let parent = self.parents[self.birth_rng.random_range(0..self.parents.len())];
            self.effort[i] = self.effort[parent];
            self.practice[i] = self.practice[parent] + self.params.mutation_sd * std_normal(&mut self.birth_rng);
            self.talent[i] = draw_talent(&self.params, &mut self.birth_rng);
            self.proxy_per_effort[i] = self.practice[i].cos();
            self.goal_per_effort[i] = (self.params.goal_angle - self.practice[i]).cos();
            self.births.push(Birth { dead: i, parent });
        }
        &self.births
    }

    /// The survival threshold now: the recorded proxy at position
    /// [`threshold_rank`] from the bottom, or `None` without competition.
    pub fn threshold(&self) -> Option<f64> {
        self.rank.map(|k| self.sorted[k - 1])
    }

    /// The threshold's position, 1-based from the bottom ([`threshold_rank`]).
    pub fn threshold_rank(&self) -> Option<usize> {
        self.rank
    }

    /// The competition level c of this run.
    pub fn competition(&self) -> f64 {
        self.competition
    }

    /// Steps completed.
    pub fn steps_done(&self) -> u64 {
        self.step
    }

    /// Each agent's effort.
    pub fn effort(&self) -> &[f64] {
        &self.effort
    }

    /// Each agent's practice angle, in radians.
    pub fn practice(&self) -> &[f64] {
        &self.practice
    }

    /// Each agent's talent.
    pub fn talent(&self) -> &[f64] {
        &self.talent
    }

    /// Each agent's recorded proxy score (an offspring's is the dead
    /// agent's until it moves).
    pub fn proxy(&self) -> &[f64] {
        &self.proxy
    }

    /// Each agent's recorded goal contribution (an offspring's is the dead
    /// agent's until it moves).
    pub fn goal(&self) -> &[f64] {
        &self.goal
    }

    /// The population's means now: effort, recorded proxy and goal, and the
    /// circular mean practice.
    pub fn means(&self) -> Means {
        let n = self.effort.len() as f64;
        Means {
            effort: self.effort.iter().sum::<f64>() / n,
            proxy: self.proxy.iter().sum::<f64>() / n,
            goal: self.goal.iter().sum::<f64>() / n,
            practice_deg: circular_mean_deg(&self.practice),
        }
    }
}

/// One recorded step of one run: a row of `proxyeconomics.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// The run's competition level.
    pub competition: f64,
    /// The run's seed.
    pub seed: u64,
    /// Steps completed (moves and deaths), from 1.
    pub step: u64,
    /// The population's means after that step.
    pub means: Means,
}

/// Runs competition level `competition_index` of `config` with `seed`,
/// returning its rows in step order.
pub fn run_one(config: &Config, competition_index: usize, seed: u64) -> Result<Vec<Row>> {
    config.validate()?;
    let competition = *config
        .competition
        .get(competition_index)
        .ok_or_else(|| invalid("competition_index", competition_index, "an index into competition"))?;
    let mut model = Model::new(&config.params, competition, seed, competition_index)?;
    let mut rows = Vec::with_capacity(config.steps.div_ceil(config.record_every.max(1)) as usize);
    while model.steps_done() < config.steps {
        model.step();
        let step = model.steps_done();
        if step % config.record_every == 0 || step == config.steps {
            rows.push(Row { competition, seed, step, means: model.means() });
        }
    }
    Ok(rows)
}

/// Runs every competition level with every seed (in parallel; each run is
/// independent) and returns the rows by level, then seed, then step: the
/// same on any thread count.
pub fn run(config: &Config) -> Result<Vec<Row>> {
    config.validate()?;
    let tasks: Vec<(usize, u64)> =
        (0..config.competition.len()).flat_map(|c| (0..config.seeds).map(move |s| (c, s))).collect();
    let runs: Vec<Vec<Row>> = tasks.par_iter().map(|&(c, s)| run_one(config, c, s)).collect::<Result<_>>()?;
    Ok(runs.into_iter().flatten().collect())
}

/// The rows as CSV text with [`CSV_HEADER`], numbers in Rust's shortest
/// round-trip form.
pub fn csv(rows: &[Row]) -> String {
    let mut s = String::with_capacity(64 * (rows.len() + 1));
    s.push_str(CSV_HEADER);
    s.push('\n');
    for r in rows {
        let m = &r.means;
        s.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            r.competition, r.seed, r.step, m.effort, m.proxy, m.goal, m.practice_deg
        ));
    }
    s
}

/// One competition level at the end of its runs: each mean with a 95%
/// interval across seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelSummary {
    /// The competition level.
    pub competition: f64,
    /// The step summarised (the last).
    pub step: u64,
    /// Mean effort.
    pub effort: Estimate,
    /// Mean recorded proxy score.
    pub proxy: Estimate,
    /// Mean recorded goal contribution.
    pub goal: Estimate,
    /// Circular mean practice, in degrees (each run's circular mean,
    /// averaged linearly across seeds: they lie far from ±180°).
    pub practice_deg: Estimate,
}

/// Each competition level's rows at the last step of `config`, summarised
/// across seeds (mean and Student-t 95% interval), in `config`'s order.
pub fn summarize(config: &Config, rows: &[Row]) -> Vec<LevelSummary> {
    config
        .competition
        .iter()
        .map(|&c| {
            let last: Vec<&Means> =
                rows.iter().filter(|r| r.competition == c && r.step == config.steps).map(|r| &r.means).collect();
            let est = |f: fn(&Means) -> f64| Estimate::of(&last.iter().map(|m| f(m)).collect::<Vec<_>>());
            LevelSummary {
                competition: c,
                step: config.steps,
                effort: est(|m| m.effort),
                proxy: est(|m| m.proxy),
                goal: est(|m| m.goal),
                practice_deg: est(|m| m.practice_deg),
            }
        })
        .collect()
}

fn draw_talent(params: &Params, rng: &mut ChaCha8Rng) -> f64 {
    let t = params.talent_mean + params.talent_sd * std_normal(rng);
    if t > 0.0 { t } else { TALENT_FLOOR }
}

fn invalid(path: &str, value: impl std::fmt::Display, expected: &str) -> Error {
    Error::InvalidField { path: path.into(), value: value.to_string(), expected: expected.into() }
}

fn finite(path: &str, v: f64) -> Result<()> {
    if v.is_finite() { Ok(()) } else { Err(invalid(path, v, "a finite number")) }
}

fn non_negative(path: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 { Ok(()) } else { Err(invalid(path, v, "a finite number >= 0")) }
}

fn probability(path: &str, v: f64) -> Result<()> {
    if (0.0..=1.0).contains(&v) { Ok(()) } else { Err(invalid(path, v, "a number in [0, 1]")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_with_is_the_order_statistic_of_the_union() {
        let others = [1.0, 2.0, 4.0];
        for own in [0.0, 1.5, 3.0, 5.0] {
            let mut all = others.to_vec();
            all.push(own);
            all.sort_by(f64::total_cmp);
            for rank in 1..=4 {
                assert_eq!(threshold_with(&others, rank, own), all[rank - 1], "rank {rank}, own {own}");
            }
        }
    }

    #[test]
    fn the_bound_is_never_below_the_prospect() {
        let mut d = -200.0;
        while d <= 200.0 {
            assert!(prospect_bound(d) >= prospect_of_gap(d), "d = {d}");
            d += 1e-3;
        }
        for d in [0.0, 1.0, -1.0, 16.0, -16.0, 65536.0, -65536.0, 1e6, -1e6, 1e-5, -1e-5, 1e-9, -1e-9] {
            assert!(prospect_bound(d) >= prospect_of_gap(d), "d = {d}");
        }
        // Tight: within 2.2% of the prospect between 2^-16 and 2^16.
        for i in 0..3200 {
            let a = 2f64.powf(-16.0 + i as f64 * 0.01);
            let (up, down) = (prospect_bound(a) / prospect_of_gap(a), prospect_bound(-a) / prospect_of_gap(-a));
            assert!(up < 1.022 && down > 0.978, "a = {a}: {up} {down}");
        }
        for (m, &k) in KNOTS.iter().enumerate() {
            let want = 2f64.powi(m as i32 - 16).powf(CURVATURE);
            assert!((k - want).abs() <= 4.0 * f64::EPSILON * want, "knot {m}");
        }
    }

    #[test]
    fn a_removed_and_reinserted_proxy_keeps_the_order() {
        let start =
            Start { talent: vec![10.0; 4], practice: vec![0.1, 0.2, 0.3, 0.4], effort: vec![3.0, 1.0, 2.0, 0.0] };
        let mut m = Model::from_start(&Params { agents: 4, ..Params::default() }, 0.5, start, 1, 0).unwrap();
        for _ in 0..50 {
            m.step();
            let mut want = m.proxy().to_vec();
            want.sort_by(f64::total_cmp);
            assert_eq!(m.sorted, want);
            for (r, &i) in m.holder.iter().enumerate() {
                assert_eq!((m.rank_of[i], m.proxy[i]), (r, m.sorted[r]));
            }
        }
    }
}
