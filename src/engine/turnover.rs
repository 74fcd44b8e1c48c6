//! Turnover within a run ([`crate::model::turnover`]): who leaves at the
//! end of a period, and the hires who take their places at the start of
//! the next; and norms ([`crate::model::social`]) that wear integrity down
//! with the neighbours' gaming. Either gives the run a population of its
//! own.
//!
//! Every draw comes from the turnover stream of the engineer's place (slot)
//! and the period, so a hire in one policy draws what a hire in the same
//! place and period draws in any other policy, and shifts nobody else's
//! numbers (common random numbers hold with turnover).

use crate::behavior::BehaviorRule;
use crate::engine::board::sort_ascending;
use crate::engine::compile::StagePolicy;
use crate::engine::network::Network;
use crate::engine::population::Population;
use crate::engine::rng::{Purpose, Streams, open01, std_normal};
use crate::engine::state::{BudgetUse, Engineers, Warm};
use crate::model::scenario::Scenario;
use crate::model::social::Social;
use crate::model::turnover::Turnover;

/// Substreams of a place's turnover stream in one period.
const SUB_HIRE: u32 = 0;
const SUB_LEAVE: u32 = 1;
const SUB_COPY: u32 = 2;

/// Why an engineer leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// Ranked below the cut-off of a forced ranking.
    Forced,
    /// The job is worth less than the outside option, or reasons outside the model.
    Voluntary,
}

/// A period's turnover, for the KPIs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Counts {
    pub forced: f64,
    pub voluntary: f64,
    /// Leavers whose skill is above the replication's starting median.
    pub regretted: f64,
    /// Sums over the period's engineers of skill (without ramp-up),
    /// integrity, the never-game flag and reward sensitivity.
    pub skill: f64,
    pub integrity: f64,
    pub never_game: f64,
    pub sensitivity: f64,
}

/// The organisation's staff during one run: its own copy of the
/// replication's population, changed by hires.
pub(crate) struct Staff {
    cfg: Turnover,
    cholesky: [[f64; 6]; 6],
    pub pop: Population,
    /// Skill without ramp-up (`pop.skill` holds skill x ramp while a hire ramps up).
    skill: Vec<f64>,
    /// Integrity when each engineer joined (norms erode `pop.integrity` from it).
    own_integrity: Vec<f64>,
    /// Scratch for norm erosion: who gamed, and each one's neighbours' share.
    gamers: Vec<bool>,
    shares: Vec<f64>,
    /// The period each place's engineer started (`i64::MIN`: from the start).
    hired: Vec<i64>,
    /// What the job was worth to each engineer when they joined, and its
    /// smoothed worth since (USD-equivalent per period; NaN before a hire's first period).
    reference: Vec<f64>,
    worth: Vec<f64>,
    /// This period's leavers, by place, and whom their hires may copy.
    pub leaving: Vec<u32>,
    parents: Vec<u32>,
    /// The starting median skill: a leaver above it is a regretted one.
    regret_skill: f64,
}

impl Staff {
    /// The staff of a run of `sc` on the replication's `pop`, or `None`
    /// when nobody can leave and norms do not erode (the run then reads
    /// the replication's population as it is).
    pub fn new(sc: &Scenario, pop: &Population) -> Option<Staff> {
        if !sc.has_turnover() && !sc.norms_erode() {
            return None;
        }
        // Norms alone: nobody leaves.
        let quiet = Turnover { base_rate: 0.0, quit_probability: 0.0, ..Turnover::default() };
        let mut sorted = pop.skill.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let n = pop.len();
        Some(Staff {
            cfg: sc.turnover.unwrap_or(if sc.has_turnover() { Turnover::default() } else { quiet }),
            // Validated with the scenario.
            cholesky: sc.traits.cholesky().unwrap_or_default(),
            pop: pop.clone(),
            skill: pop.skill.clone(),
            own_integrity: pop.integrity.clone(),
            gamers: Vec::new(),
            shares: Vec::new(),
            hired: vec![i64::MIN; n],
            reference: vec![f64::NAN; n],
            worth: vec![f64::NAN; n],
            leaving: Vec::new(),
            parents: Vec::new(),
            regret_skill: if n == 0 { 0.0 } else { sorted[n / 2] },
        })
    }

    /// After the pre-period: what the job was worth to everyone before the
    /// measure became a target (the utility they expected) is their reference.
    pub fn start(&mut self, expected: &[f64]) {
        self.reference.copy_from_slice(expected);
        self.worth.copy_from_slice(expected);
    }

    /// At the end of period `t`: who leaves, given the utility each
    /// engineer expected of the period (`expected`), and the period's
    /// counts. `order` is scratch.
    pub fn decide(
        &mut self,
        t: usize,
        stage: &StagePolicy,
        published: &[f64],
        expected: &[f64],
        streams: &Streams,
        order: &mut Vec<u32>,
    ) -> Counts {
        let cfg = self.cfg;
        let n = expected.len();
        self.leaving.clear();
        let mut leaves = vec![None; n];
        // Forced ranking: the bottom of those who served a whole cycle.
        let ranking = stage.forced_ranking.filter(|f| stage.rewarded && f.ranks_at(t));
        if let Some(f) = ranking {
            let start = t as i64 + 1 - i64::from(f.every);
            order.clear();
            order.extend((0..n as u32).filter(|&i| self.hired[i as usize] <= start));
            sort_ascending(order, published, streams, t as i64);
            let cut = (f.bottom_fraction * order.len() as f64).round() as usize;
            for &i in &order[..cut] {
                let u = open01(&mut streams.substream(Purpose::Turnover, u64::from(i), t as i64, SUB_LEAVE));
                if u < f.leave_probability {
                    leaves[i as usize] = Some(Exit::Forced);
                }
            }
        }
        // Voluntary attrition: a worse job than the outside option, or
        // reasons outside the model.
        for i in 0..n {
            if self.reference[i].is_nan() {
                // A hire's first period sets their reference.
                self.reference[i] = expected[i];
                self.worth[i] = expected[i];
            } else {
                self.worth[i] += cfg.memory * (expected[i] - self.worth[i]);
            }
            if leaves[i].is_some() {
                continue;
            }
            let mut rng = streams.substream(Purpose::Turnover, i as u64, t as i64, SUB_LEAVE);
            // The forced ranking's uniform comes first in this substream.
            let (_, u_base, u_quit) = (open01(&mut rng), open01(&mut rng), open01(&mut rng));
            let worse = self.worth[i] < cfg.outside_option(self.reference[i], self.skill[i]);
            if u_base < cfg.base_rate || (worse && u_quit < cfg.quit_probability) {
                leaves[i] = Some(Exit::Voluntary);
            }
        }
        let mut counts = Counts::default();
        for (i, exit) in leaves.iter().enumerate() {
            if let Some(e) = *exit {
                self.leaving.push(i as u32);
                match e {
                    Exit::Forced => counts.forced += 1.0,
                    Exit::Voluntary => counts.voluntary += 1.0,
                }
                if self.skill[i] > self.regret_skill {
                    counts.regretted += 1.0;
                }
            }
        }
        // Whom hires may copy: those above the cut-off of the board (the
        // ranking's, or the median without one) who stay; everyone who
        // stays when nothing is ranked.
        self.parents.clear();
        if !self.leaving.is_empty() && cfg.copy_share > 0.0 {
            order.clear();
            order.extend(0..n as u32);
            if stage.rewarded {
                sort_ascending(order, published, streams, t as i64);
                let fraction = stage.forced_ranking.map_or(0.5, |f| f.bottom_fraction);
                order.drain(..(fraction * n as f64).round() as usize);
            }
            self.parents.extend(order.iter().filter(|&&i| leaves[i as usize].is_none()));
            if self.parents.is_empty() {
                // Everyone above the cut-off left: hires copy anyone who stays.
                self.parents.extend((0..n as u32).filter(|&i| leaves[i as usize].is_none()));
            }
        }
        for i in 0..n {
            counts.skill += self.skill[i];
            counts.integrity += self.pop.integrity[i];
            counts.never_game += f64::from(u8::from(self.pop.never_games[i]));
            counts.sensitivity += self.pop.reward_sensitivity[i];
        }
        counts
    }

    /// The hiring cost of this period's leavers' replacements, USD.
    pub fn hiring_cost(&self) -> f64 {
        self.leaving.len() as f64 * self.cfg.hiring_cost
    }

    /// At the start of period `t`: hires take the leavers' places, and
    /// hires still ramping up work at their ramp's share of their skill.
    pub fn hire<B: BehaviorRule>(
        &mut self,
        t: usize,
        sc: &Scenario,
        rule: &B,
        streams: &Streams,
        st: &mut Engineers<B::Memory>,
    ) {
        let cfg = self.cfg;
        let (tt, l) = (t as i64, st.l);
        // A hire's metric history starts at the organisation's mean, so
        // that being new neither lifts nor sinks them on the board.
        let staying = st.published.len() - self.leaving.len();
        let mean = if staying == 0 {
            0.0
        } else {
            let left: f64 = self.leaving.iter().map(|&i| st.published[i as usize]).sum();
            (st.published.iter().sum::<f64>() - left) / staying as f64
        };
        for k in 0..self.leaving.len() {
            let i = self.leaving[k] as usize;
            let mut fresh = streams.substream(Purpose::Turnover, i as u64, tt, SUB_HIRE);
            self.pop.redraw(i, &sc.traits, &self.cholesky, &mut fresh);
            let mut copy = streams.substream(Purpose::Turnover, i as u64, tt, SUB_COPY);
            let u = open01(&mut copy);
            if u < cfg.copy_share && !self.parents.is_empty() {
                let pick = ((open01(&mut copy) * self.parents.len() as f64) as usize).min(self.parents.len() - 1);
                let p = self.parents[pick] as usize;
                let (z1, z2) = (std_normal(&mut copy), std_normal(&mut copy));
                let s = cfg.mutation_sd;
                self.pop.integrity[i] = self.pop.integrity[p] * (s * z1 - 0.5 * s * s).exp();
                self.pop.reward_sensitivity[i] = self.pop.reward_sensitivity[p] * (s * z2 - 0.5 * s * s).exp();
                self.pop.never_games[i] = self.pop.never_games[p];
            }
            self.skill[i] = self.pop.skill[i];
            self.own_integrity[i] = self.pop.integrity[i];
            self.hired[i] = tt;
            self.reference[i] = f64::NAN;
            self.worth[i] = f64::NAN;
            st.memory[i] = rule.init(&self.pop.engineer(i));
            st.warm[i] = Warm::new();
            st.budget[i] = BudgetUse::NONE;
            st.perceived[i] = self.pop.perceived_leverage[i];
            st.history[i * l..(i + 1) * l].iter_mut().for_each(|x| *x = mean);
            st.published[i] = mean;
        }
        self.leaving.clear();
        for i in 0..self.skill.len() {
            let h = self.hired[i];
            if h != i64::MIN && tt - h <= i64::from(cfg.ramp_periods) {
                self.pop.skill[i] = self.skill[i] * cfg.ramp((tt - h) as u32);
            }
        }
    }

    /// Norms after the period's work: each engineer's integrity drifts with the
    /// share of their neighbours who gamed (`gaming`: hours, over half an
    /// hour counts), from the integrity they joined with.
    pub fn erode(&mut self, social: &Social, network: &Network, gaming: &[f64]) {
        self.gamers.clear();
        self.gamers.extend(gaming.iter().map(|&h| h > 0.5));
        self.shares.resize(gaming.len(), 0.0);
        network.shares(&self.gamers, &mut self.shares);
        for (i, g) in self.pop.integrity.iter_mut().enumerate() {
            *g = social.erode(*g, self.own_integrity[i], self.shares[i]);
        }
    }
}
