//! Myopic hill-climbing: engineers who do not solve their problem, but
//! each week try small changes to last week's plan and keep the best.

use crate::behavior::{BehaviorRule, Engineer, Planner};

/// Each incentive period an engineer scores last period's plan and every
/// plan one move away (one activity's hours up or down by `step`, within
/// the hours available) under this period's belief, and keeps the best;
/// AI intensity stays as it was. Engineers who never game make no move
/// into gaming. In the pre-period they best-respond with no incentive, so
/// the climb starts from the organisation before the measure became a
/// target. A steady state is a plan no single move improves: with a small
/// `step`, near the best response when utility is concave, but the climb
/// follows a changing reward only `step` hours a week.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HillClimb {
    /// Hours moved per step, in (0, 168].
    pub step: f64,
}

impl BehaviorRule for HillClimb {
    /// Work space for three plans' hours (the plan to climb from is last
    /// period's, which the planner keeps), sized on first use.
    type Memory = Vec<f64>;

    fn init(&self, _: &Engineer) -> Vec<f64> {
        Vec::new()
    }

    fn choose(&self, me: &Engineer, space: &mut Vec<f64>, planner: &mut Planner) {
        if !planner.incentive() {
            planner.best_response(!me.never_games);
            return;
        }
        let k = planner.activities();
        space.resize(3 * k, 0.0);
        let (best, rest) = space.split_at_mut(k);
        let (start, trial) = rest.split_at_mut(k);
        let available = planner.hours_available();
        let tau = planner.last_tau();
        best.copy_from_slice(planner.last_hours());
        // Last period's plan may no longer fit this period's hours.
        let total: f64 = best.iter().sum();
        if total > available {
            best.iter_mut().for_each(|h| *h *= available / total);
        }
        let mut best_u = planner.utility(best, tau);
        start.copy_from_slice(best);
        for a in 0..k {
            if planner.is_gaming(a) && me.never_games {
                continue;
            }
            for delta in [self.step, -self.step] {
                trial.copy_from_slice(start);
                trial[a] = (trial[a] + delta).max(0.0);
                if trial.iter().sum::<f64>() > available {
                    continue;
                }
                let u = planner.utility(trial, tau);
                // Strictly better only: a flat utility keeps the plan.
                if u > best_u {
                    best_u = u;
                    best.copy_from_slice(trial);
                }
            }
        }
        planner.set_plan(best, tau);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::behavior::belief::Belief;
    use crate::behavior::best_response::tests::{agent, tables};
    use crate::behavior::best_response::{Agent, PlanTables, Scratch, TOL, solve};
    use crate::engine::state::Warm;
    use crate::model::activity::EffortForm;

    pub(crate) fn engineer(never_games: bool) -> Engineer {
        Engineer {
            index: 0,
            skill: 1.2,
            ai_leverage: 0.0,
            integrity: 0.0,
            never_games,
            intrinsic_motivation: 0.7,
            reward_sensitivity: 0.5,
            cost_awareness: 0.6,
            type_draw: 0.5,
        }
    }

    /// Climbs `periods` times from the plan `start`; returns each period's
    /// plan and its utility.
    fn climb(
        rule: &HillClimb,
        me: &Engineer,
        (ag, t, belief): (Agent, &PlanTables, &Belief),
        start: &[f64],
        periods: usize,
    ) -> Vec<(Vec<f64>, f64)> {
        let (mut s, mut warm, mut space) = (Scratch::new(t.len()), Warm::new(), Vec::new());
        let (mut hours, tau) = (start.to_vec(), vec![0.0; t.len()]);
        let mut out = Vec::new();
        for _ in 0..periods {
            let mut p = Planner::for_test(ag, t, belief, &mut s, &mut warm, &hours, &tau);
            rule.choose(me, &mut space, &mut p);
            let u = p.utility(p.hours(), p.tau());
            hours = p.hours().to_vec();
            out.push((hours.clone(), u));
        }
        out
    }

    /// Activities without AI: utility is `sum b_a h_a - c/2 sum h_a^2` under
    /// separable effort and a linear reward, a concave quadratic in hours.
    fn no_ai_tables() -> PlanTables {
        let mut t = tables(EffortForm::Separable);
        t.uses_ai = vec![false; 3];
        t.tau_max = vec![0.0; 3];
        t
    }

    #[test]
    fn climbs_monotonically_to_within_a_step_of_the_best_response() {
        // Activities' own convexity keeps the utility separable: activity k
        // costs (c + e_k)/2 h_k^2.
        let mut t = no_ai_tables();
        t.convexity = vec![0.0, 1.0, 2.0];
        let ag = agent();
        let belief = Belief::Linear { rate: 3.0 };
        let best = solve(&ag, &t, &belief, 0.0, 0.5, &mut Scratch::new(3)).utility;
        let step = 0.5;
        // From idle, and from too many hours building (the optimum is
        // about 28 hours there).
        for start in [[0.0, 0.0, 0.0], [39.0, 0.0, 0.0]] {
            let path = climb(&HillClimb { step }, &engineer(false), (ag, &t, &belief), &start, 200);
            // Each period's plan is at least as good as the last one's.
            for w in path.windows(2) {
                assert!(w[1].1 >= w[0].1, "{} then {}", w[0].1, w[1].1);
            }
            // Every hour ends within step/2 of its optimum (or at zero where
            // the optimum is zero), so U* - U <= sum_k (c + e_k) step^2 / 8.
            let end = path.last().unwrap().1;
            let c = t.effort.coefficient;
            let bound: f64 = t.convexity.iter().map(|e| (c + e) * step * step / 8.0).sum();
            assert!(best - end <= bound, "from {start:?}: best {best}, climbed {end}");
            assert!(end <= best + TOL * (1.0 + best.abs()), "climbed above the optimum: {end} > {best}");
            // It takes time: after 3 steps of half an hour the plan is far from it.
            assert!(best - path[2].1 > 10.0 * (best - end).max(1.0), "from {start:?}");
        }
    }

    #[test]
    fn engineers_who_never_game_never_step_into_gaming() {
        let t = no_ai_tables();
        // Gaming costs nothing here, so a climber who may game does.
        let ag = Agent { integrity: 0.0, ..agent() };
        let belief = Belief::Linear { rate: 50.0 };
        let gaming = |never| -> f64 {
            let path = climb(&HillClimb { step: 1.0 }, &engineer(never), (ag, &t, &belief), &[0.0; 3], 60);
            let h = &path.last().unwrap().0;
            (0..3).filter(|&a| t.gaming[a]).map(|a| h[a]).sum()
        };
        assert!(gaming(false) > 1.0);
        assert_eq!(gaming(true), 0.0);
    }
}
