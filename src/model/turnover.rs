//! Turnover: who leaves the organisation and who replaces them.
//!
//! Without this section, engineers are fixed for a whole run. With it, an
//! engineer may leave in any period, and every leaver is replaced at the
//! start of the next period (headcount is constant):
//!
//! - **forced ranking** (a policy part, [`ForcedRanking`]): every `every`
//!   periods, engineers in the bottom `bottom_fraction` of the rewarded
//!   metric's published board leave, each with probability
//!   `leave_probability`; engineers hired within the last cycle are not
//!   ranked;
//! - **voluntary attrition** ([`Turnover`]): an engineer compares what the
//!   job gives them (their payoff, smoothed) with an outside option that
//!   rises with skill, and once below it leaves with probability
//!   `quit_probability` a period; besides, anyone leaves with probability
//!   `base_rate` a period for reasons outside the model;
//! - **hiring**: a hire draws every trait from the scenario's distributions,
//!   or, with probability `copy_share`, copies the practices (integrity,
//!   the never-game flag and reward sensitivity) of a randomly chosen
//!   engineer above the cut-off, with a log-normal mutation; a hire ramps
//!   up over `ramp_periods` and costs `hiring_cost`, paid by the
//!   organisation (in `hiring_cost` and net value).
//!
//! See the model page, section "Turnover", for the equations, defaults and
//! their plausible ranges.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::schema::{check, check_int, whole};

/// Voluntary attrition and hiring (the scenario's `[turnover]` section).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Turnover {
    /// Probability per period that any engineer leaves for reasons outside
    /// the model (moves, family, retirement).
    pub base_rate: f64,
    /// Probability per period that an engineer whose job is worth less
    /// than their outside option leaves (how fast they find a job).
    pub quit_probability: f64,
    /// How much worse than when they joined the job may become before an
    /// engineer of skill 1 prefers to leave, USD-equivalent per period (the
    /// cost of changing jobs, spread over a period).
    pub switching_cost: f64,
    /// How much the outside option rises per unit of skill above 1,
    /// USD-equivalent per period: skilled engineers have better options.
    pub skill_premium: f64,
    /// Weight of the latest period in the smoothed worth of the job (the
    /// rest is the past): 1 reacts to one bad week, 0.1 to a bad quarter.
    pub memory: f64,
    /// Probability that a hire copies the practices of an engineer above
    /// the cut-off rather than drawing them from the trait distributions.
    pub copy_share: f64,
    /// Standard deviation of the log-normal mutation of a copied practice
    /// (0: an exact copy).
    pub mutation_sd: f64,
    /// Periods a hire takes to reach full productivity.
    #[serde(deserialize_with = "whole")]
    pub ramp_periods: u32,
    /// A hire's productivity in their first period, as a share of their
    /// skill; it rises linearly to 1 over `ramp_periods`.
    pub ramp_start: f64,
    /// What a hire costs the organisation (recruiting, interviews,
    /// onboarding), USD.
    pub hiring_cost: f64,
}

impl Default for Turnover {
    /// About 8% a year leave for outside reasons (0.0015 a week); an
    /// engineer worse off than their option leaves within about five
    /// weeks (0.2 a week); a 500 USD-equivalent a week switching cost; a
    /// 250 USD-equivalent a week skill premium; a job judged over about
    /// two months (memory 0.1); hires drawn fresh; a quarter to ramp up
    /// from half productivity; a hire costs 30,000 USD.
    fn default() -> Self {
        Turnover {
            base_rate: 0.0015,
            quit_probability: 0.2,
            switching_cost: 500.0,
            skill_premium: 250.0,
            memory: 0.1,
            copy_share: 0.0,
            mutation_sd: 0.1,
            ramp_periods: 13,
            ramp_start: 0.5,
            hiring_cost: 30_000.0,
        }
    }
}

impl Turnover {
    /// Checks every field against its schema row.
    pub fn validate(&self) -> Result<()> {
        for (key, v) in [
            ("base_rate", self.base_rate),
            ("quit_probability", self.quit_probability),
            ("switching_cost", self.switching_cost),
            ("skill_premium", self.skill_premium),
            ("memory", self.memory),
            ("copy_share", self.copy_share),
            ("mutation_sd", self.mutation_sd),
            ("ramp_start", self.ramp_start),
            ("hiring_cost", self.hiring_cost),
        ] {
            check(&format!("turnover.{key}"), v)?;
        }
        check_int("turnover.ramp_periods", u64::from(self.ramp_periods))
    }

    /// A hire's productivity, as a share of their skill, in their
    /// `tenure`-th period (0 = the first): `ramp_start` rising linearly
    /// to 1 at `ramp_periods`.
    pub fn ramp(&self, tenure: u32) -> f64 {
        if tenure >= self.ramp_periods {
            1.0
        } else {
            self.ramp_start + (1.0 - self.ramp_start) * f64::from(tenure) / f64::from(self.ramp_periods)
        }
    }

    /// The outside option of an engineer of `skill` who joined when the
    /// job was worth `reference` to them, USD-equivalent per period: they
    /// leave (at `quit_probability`) once the job is worth less.
    pub fn outside_option(&self, reference: f64, skill: f64) -> f64 {
        reference - self.switching_cost + self.skill_premium * (skill - 1.0)
    }
}

/// Forced ranking (stack ranking), a policy part: at the end of every
/// review cycle, engineers below a rank cut-off on the rewarded metric
/// leave with a probability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForcedRanking {
    /// Periods in a review cycle; the ranking happens at the end of each.
    #[serde(deserialize_with = "whole")]
    pub every: u32,
    /// Share of ranked engineers below the cut-off (the bottom of the
    /// published board; ties broken at random).
    pub bottom_fraction: f64,
    /// Probability that an engineer below the cut-off leaves.
    pub leave_probability: f64,
}

impl Default for ForcedRanking {
    /// Twice a year, the bottom 10% let go.
    fn default() -> Self {
        ForcedRanking { every: 26, bottom_fraction: 0.1, leave_probability: 1.0 }
    }
}

impl ForcedRanking {
    /// Checks the fields; `path` is the policy's (`policy[2]`).
    pub fn validate(&self, path: &str) -> Result<()> {
        check_int(&format!("{path}.forced_ranking.every"), u64::from(self.every))?;
        check(&format!("{path}.forced_ranking.bottom_fraction"), self.bottom_fraction)?;
        check(&format!("{path}.forced_ranking.leave_probability"), self.leave_probability)
    }

    /// Whether a ranking happens at the end of period `t` (0-based).
    pub fn ranks_at(&self, t: usize) -> bool {
        (t + 1) % self.every as usize == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_rises_linearly_from_its_start_to_one() {
        let t = Turnover { ramp_periods: 4, ramp_start: 0.2, ..Turnover::default() };
        let got: Vec<f64> = (0..6).map(|k| t.ramp(k)).collect();
        let want = [0.2, 0.4, 0.6, 0.8, 1.0, 1.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
        assert_eq!(Turnover { ramp_periods: 0, ..t }.ramp(0), 1.0);
    }

    #[test]
    fn the_outside_option_rises_with_skill_by_the_premium() {
        let t = Turnover { switching_cost: 300.0, skill_premium: 200.0, ..Turnover::default() };
        assert_eq!(t.outside_option(1000.0, 1.0), 700.0);
        assert_eq!(t.outside_option(1000.0, 2.5), 1000.0);
    }

    #[test]
    fn rankings_fall_at_the_end_of_each_cycle() {
        let f = ForcedRanking { every: 26, ..ForcedRanking::default() };
        let at: Vec<usize> = (0..80).filter(|&t| f.ranks_at(t)).collect();
        assert_eq!(at, [25, 51, 77]);
    }

    #[test]
    fn bad_fields_are_named() {
        let e = Turnover { quit_probability: 1.5, ..Turnover::default() }.validate().unwrap_err().to_string();
        assert!(e.starts_with("turnover.quit_probability: "), "{e}");
        let e = ForcedRanking { every: 0, ..ForcedRanking::default() }.validate("policy[1]").unwrap_err().to_string();
        assert!(e.starts_with("policy[1].forced_ranking.every: "), "{e}");
        let e = ForcedRanking { bottom_fraction: -0.1, ..ForcedRanking::default() }
            .validate("policy[0]")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("policy[0].forced_ranking.bottom_fraction: "), "{e}");
    }
}
