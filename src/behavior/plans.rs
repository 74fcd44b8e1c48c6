//! Candidate plans: the few whole plans the learning models choose among.
//!
//! A candidate is a *rule* for a plan, re-planned every period for the
//! engineer's own skill, AI leverage, hours and belief: gaming closed, open
//! (taken only when it pays) or committed (planned as if gaming cost
//! nothing, as a fixed-types gamer does, though the engineer still feels
//! their integrity), and a push on the metric. The push is a multiple of
//! the best response's metric multiplier λ*: push 1 is the best response
//! of that kind, push 0 ignores the reward, 1/2 and 2 are the plans that
//! maximise `W + push λ* M` (utility without the reward plus push λ* per
//! unit of expected metric), points of the frontier of best plans for each
//! metric level on either side of the optimum.

use crate::behavior::Planner;
use crate::engine::state::Warm;

/// How a candidate treats gaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gaming {
    /// Gaming closed.
    Closed,
    /// Gaming open, taken only when it pays.
    Open,
    /// Planned as if gaming cost nothing (integrity 0).
    Committed,
}

/// A candidate plan: how it treats gaming, and its push on the metric as a
/// multiple of the best response's metric multiplier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Gaming closed, open or committed.
    pub gaming: Gaming,
    /// Metric multiplier as a multiple of the best response's (of this
    /// gaming kind); 1 is the best response.
    pub push: f64,
}

const fn cand(gaming: Gaming, push: f64) -> Candidate {
    Candidate { gaming, push }
}

/// Number of candidate plans.
pub const CANDIDATES: usize = 8;

/// The candidate plans, in index order. Engineers who never game have the
/// first four ([`Candidate::honest`] maps the others onto them).
pub const PLANS: [Candidate; CANDIDATES] = [
    cand(Gaming::Closed, 0.0),
    cand(Gaming::Closed, 0.5),
    cand(Gaming::Closed, 1.0),
    cand(Gaming::Closed, 2.0),
    cand(Gaming::Open, 0.5),
    cand(Gaming::Open, 1.0),
    cand(Gaming::Open, 2.0),
    cand(Gaming::Committed, 1.0),
];

/// Index of the honest best response (gaming closed, push 1).
pub const HONEST: usize = 2;
/// Index of the best response (gaming open, push 1).
pub const BEST: usize = 5;
/// Number of candidates open to engineers who never game (the first ones).
pub const HONEST_PLANS: usize = 4;

impl Candidate {
    /// The index of the candidate an engineer who never games plays instead
    /// of candidate `i`: the same push with gaming closed.
    pub fn honest(i: usize) -> usize {
        match PLANS[i].gaming {
            Gaming::Closed => i,
            Gaming::Open => PLANS[..HONEST_PLANS].iter().position(|c| c.push == PLANS[i].push).unwrap_or(HONEST),
            Gaming::Committed => HONEST,
        }
    }
}

/// Number of candidates open to an engineer: all, or the honest ones.
pub fn open_to(never_games: bool) -> usize {
    if never_games { HONEST_PLANS } else { CANDIDATES }
}

/// Plans candidates for one engineer in one period, solving each gaming
/// kind's best response at most once (the other pushes are one closed-form
/// plan each from its multiplier).
#[derive(Debug, Default)]
pub(crate) struct Menu<'w> {
    /// Per gaming kind, the best response's multiplier once solved (NaN for
    /// a mixture of two plans, which only a new solve can set again).
    lambda: [Option<f64>; 3],
    /// Per gaming kind, a warm start of its own, for rules that solve every
    /// kind each period (each search then starts from last period's search
    /// of the same problem rather than of another kind's).
    warm: Option<&'w mut [Warm; 3]>,
}

impl<'w> Menu<'w> {
    /// A menu whose searches start from `warm`, one per gaming kind. The
    /// engine forgets its own warm start when a policy starts (another
    /// metric, another scale of multiplier); these are forgotten with it.
    pub(crate) fn with_warm(warm: &'w mut [Warm; 3], planner: &mut Planner) -> Self {
        if planner.warm_mut().lambda.is_nan() {
            warm.iter_mut().for_each(Warm::forget);
        }
        Menu { lambda: [None; 3], warm: Some(warm) }
    }

    /// Leaves candidate `i`'s plan in the planner and returns its expected
    /// utility, with the engineer's own integrity.
    pub(crate) fn plan(&mut self, i: usize, planner: &mut Planner) -> f64 {
        let c = PLANS[i];
        let kind = c.gaming as usize;
        let open = c.gaming != Gaming::Closed;
        let integrity = planner.agent.integrity;
        let planned_with = if c.gaming == Gaming::Committed { 0.0 } else { integrity };
        if let Some(lam) = self.lambda[kind].filter(|l| l.is_finite()) {
            return planner.frontier_with(c.push * lam, open, planned_with);
        }
        planner.agent.integrity = planned_with;
        if let Some(w) = self.warm.as_deref_mut() {
            *planner.warm_mut() = w[kind];
        }
        let u = planner.best_response(open);
        let lam = planner.multiplier();
        // The engine's warm start is left as this search's: not NaN, unless
        // the engine forgets it before the next period (or the plan was a
        // mixture, which costs that period's searches a fresh start).
        if let Some(w) = self.warm.as_deref_mut() {
            w[kind] = *planner.warm_mut();
        }
        planner.agent.integrity = integrity;
        self.lambda[kind] = Some(lam);
        if c.push != 1.0 && lam.is_finite() {
            planner.frontier_with(c.push * lam, open, planned_with)
        } else if c.gaming == Gaming::Committed {
            planner.utility(planner.hours(), planner.tau())
        } else {
            u
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::belief::Belief;
    use crate::behavior::best_response::tests::{agent, tables};
    use crate::behavior::best_response::{Agent, Scratch, TOL};
    use crate::model::activity::EffortForm;

    /// Under a piece rate `rate` on the metric, separable effort `c/2 sum
    /// h^2` and no AI, the plan for multiplier `lambda` has closed-form
    /// hours `h_a = max(0, (m v_a + lambda mu_a) s_a - kappa p T_a -
    /// gamma_a) / c` (gaming's `gamma_a` as planned, closed activities 0),
    /// with `lambda* = rho rate`: every candidate's hours must be those and
    /// its utility theirs with the engineer's own integrity.
    #[test]
    fn each_candidate_is_its_closed_form_plan_and_none_beats_the_best_response() {
        let mut t = tables(EffortForm::Separable);
        (t.uses_ai, t.tau_max) = (vec![false; 3], vec![0.0; 3]);
        let ag = Agent { hours: 168.0, ..agent() };
        let rate = 40.0;
        let belief = Belief::Linear { rate };
        let (mut s, mut warm, zeros) = (Scratch::new(3), Warm::new(), [0.0; 3]);
        let mut p = Planner::for_test(ag, &t, &belief, &mut s, &mut warm, &zeros, &zeros);
        let c = t.effort.coefficient;
        let best = p.best_response(true);
        let mut menu = Menu::default();
        for (i, cand) in PLANS.iter().enumerate() {
            let u = menu.plan(i, &mut p);
            let lambda = cand.push * ag.sensitivity * rate;
            let gamma = if cand.gaming == Gaming::Committed { 0.0 } else { ag.integrity };
            let want: Vec<f64> = (0..3)
                .map(|a| {
                    if t.gaming[a] && cand.gaming == Gaming::Closed {
                        return 0.0;
                    }
                    let s_a = if t.skill_scaled[a] { ag.skill } else { 1.0 };
                    let b = (ag.motivation * t.eff_value[a] + lambda * t.mu_p[a]) * s_a
                        - ag.awareness * t.price * t.tokens[a]
                        - if t.gaming[a] { gamma } else { 0.0 };
                    (b / c).max(0.0)
                })
                .collect();
            for (a, (h, w)) in p.hours().iter().zip(&want).enumerate() {
                assert!((h - w).abs() < 1e-9 * (1.0 + w), "candidate {i}, activity {a}: {h} vs {w}");
            }
            // Scored with the engineer's own integrity, whatever it was planned with.
            assert!((u - p.utility(&want, &zeros)).abs() < 1e-9 * (1.0 + u.abs()), "candidate {i}");
            assert!(u <= best + TOL * (1.0 + best.abs()), "candidate {i}: {u} beats the best response {best}");
            if i == BEST {
                assert!((u - best).abs() <= TOL * (1.0 + best.abs()));
            }
        }
        // The committed gamer pads (integrity planned away), the best response does not.
        assert!(ag.integrity > (ag.motivation * 5.0 + ag.sensitivity * rate * 0.6) * ag.skill);
        menu.plan(7, &mut p);
        assert!(p.hours()[2] > 1.0);
    }

    #[test]
    fn engineers_who_never_game_play_the_same_push_honestly() {
        for (i, c) in PLANS.iter().enumerate() {
            let h = Candidate::honest(i);
            assert!(h < HONEST_PLANS && PLANS[h].gaming == Gaming::Closed);
            if c.gaming != Gaming::Committed {
                assert_eq!(PLANS[h].push, c.push);
            }
        }
        assert_eq!(Candidate::honest(BEST), HONEST);
        assert_eq!(open_to(true), HONEST_PLANS);
    }
}
