//! What a behaviour plans with: the engineer's utility under this period's
//! belief, the exact best response, and the plan chosen.

use crate::behavior::belief::Belief;
use crate::behavior::best_response::{Agent, PlanTables, Scratch, evaluate, plan_at, solve};
use crate::engine::state::Warm;

/// One engineer's planning problem for one period. A behaviour's
/// [`choose`](crate::behavior::BehaviorRule::choose) reads it and leaves a
/// plan in it: hours per activity (summing to at most
/// [`Planner::hours_available`]) and AI intensity per activity (tokens per
/// hour).
pub struct Planner<'a> {
    pub(crate) agent: Agent,
    pub(crate) tables: &'a PlanTables,
    pub(crate) belief: &'a Belief,
    pub(crate) temperature: f64,
    pub(crate) u_logit: f64,
    pub(crate) u_strategy: f64,
    /// False in the pre-period: no reward, no warm start.
    pub(crate) incentive: bool,
    pub(crate) scratch: &'a mut Scratch,
    pub(crate) warm: &'a mut Warm,
    pub(crate) last_hours: &'a [f64],
    pub(crate) last_tau: &'a [f64],
}

#[cfg(test)]
impl<'a> Planner<'a> {
    /// A planner for unit tests of behaviours: the exact best response
    /// (temperature 0), mid-range draws, in an incentivised period.
    pub(crate) fn for_test(
        agent: Agent,
        tables: &'a PlanTables,
        belief: &'a Belief,
        scratch: &'a mut Scratch,
        warm: &'a mut Warm,
        last_hours: &'a [f64],
        last_tau: &'a [f64],
    ) -> Self {
        Planner {
            agent,
            tables,
            belief,
            temperature: 0.0,
            u_logit: 0.5,
            u_strategy: 0.5,
            incentive: true,
            scratch,
            warm,
            last_hours,
            last_tau,
        }
    }
}

impl<'a> Planner<'a> {
    /// Plans the exact best response (at the scenario's logit temperature)
    /// with gaming activities open or closed, and returns the plan's
    /// expected utility.
    pub fn best_response(&mut self, may_game: bool) -> f64 {
        let mut ag = self.agent;
        ag.may_game = may_game;
        if !self.incentive {
            return solve(&ag, self.tables, self.belief, 0.0, self.u_logit, self.scratch).utility;
        }
        let (s, w) = (&mut *self.scratch, &mut *self.warm);
        s.warm_start(w.lambda, w.lambda_move);
        s.warm_metric(w.metric, w.metric_slope);
        s.warm_budget(w.theta_cap);
        let plan = solve(&ag, self.tables, self.belief, self.temperature, self.u_logit, s);
        if s.budget_price().is_finite() {
            w.theta_cap = s.budget_price();
        }
        w.metric = plan.metric;
        w.metric_slope = s.metric_slope();
        let last = w.lambda;
        w.lambda = plan.lambda;
        w.lambda_move = ((plan.lambda - last) / plan.lambda).abs();
        plan.utility
    }

    /// The metric multiplier λ of the plan the last
    /// [`Planner::best_response`] chose: the plan maximises `W + λ M`,
    /// utility without the reward plus λ per unit of expected metric (0
    /// before the measure became a target; NaN for a mixture of two plans).
    pub fn multiplier(&self) -> f64 {
        if self.incentive { self.warm.lambda } else { 0.0 }
    }

    /// Plans the point of the frontier for metric multiplier `lambda` (the
    /// plan maximising `W + lambda M`, with gaming open or closed) and
    /// returns its expected utility under this period's belief. With
    /// `lambda` = [`Planner::multiplier`] it is the best response again.
    pub fn frontier(&mut self, lambda: f64, may_game: bool) -> f64 {
        let integrity = self.agent.integrity;
        self.frontier_with(lambda, may_game, integrity)
    }

    /// [`Planner::frontier`] planned with integrity `planned_with`, scored
    /// with the engineer's own.
    pub(crate) fn frontier_with(&mut self, lambda: f64, may_game: bool, planned_with: f64) -> f64 {
        let mut ag = self.agent;
        (ag.may_game, ag.integrity) = (may_game, planned_with);
        let pv = plan_at(lambda.max(0.0), &ag, self.tables, self.scratch);
        let w = if planned_with == self.agent.integrity {
            pv.w
        } else {
            evaluate(&self.agent, self.tables, &self.scratch.hours, &self.scratch.tau).w
        };
        w + self.agent.sensitivity * self.belief.expected(pv.metric)
    }

    /// The warm start the next search begins from (a rule that solves
    /// several problems a period keeps one per problem and sets it here).
    pub(crate) fn warm_mut(&mut self) -> &mut Warm {
        self.warm
    }

    /// Plans as if gaming cost this engineer nothing (integrity 0): a
    /// committed gamer. Applies to the plans and utilities that follow.
    pub fn ignore_integrity(&mut self) {
        self.agent.integrity = 0.0;
    }

    /// The engineer's expected utility of a plan under this period's belief
    /// (USD-equivalent; see the [module page](crate::behavior)). Hours on a
    /// gaming activity count only while gaming is open
    /// ([`Planner::best_response`] opens or closes it; `utility` treats it
    /// as open).
    pub fn utility(&self, hours: &[f64], tau: &[f64]) -> f64 {
        let pv = evaluate(&self.agent, self.tables, hours, tau);
        pv.w + self.agent.sensitivity * self.belief.expected(pv.metric)
    }

    /// Sets the plan: hours and AI intensity per activity. Negative hours
    /// count as zero, AI intensity is held within each activity's range, and
    /// hours beyond [`Planner::hours_available`] are scaled down to it.
    pub fn set_plan(&mut self, hours: &[f64], tau: &[f64]) {
        let k = self.activities();
        let total: f64 = hours.iter().take(k).map(|h| h.max(0.0)).sum();
        let scale = if total > self.agent.hours { self.agent.hours / total } else { 1.0 };
        for a in 0..k {
            self.scratch.hours[a] = hours.get(a).map_or(0.0, |h| h.max(0.0) * scale);
            self.scratch.tau[a] = tau.get(a).map_or(0.0, |t| t.clamp(0.0, self.tables.tau_max[a]));
        }
    }

    /// The plan chosen so far this period: hours per activity.
    pub fn hours(&self) -> &[f64] {
        &self.scratch.hours
    }

    /// The plan chosen so far this period: AI intensity per activity,
    /// tokens per hour.
    pub fn tau(&self) -> &[f64] {
        &self.scratch.tau
    }

    /// Last period's hours per activity (zeros before the first period).
    pub fn last_hours(&self) -> &'a [f64] {
        self.last_hours
    }

    /// Last period's AI intensity per activity, tokens per hour.
    pub fn last_tau(&self) -> &'a [f64] {
        self.last_tau
    }

    /// Hours the engineer has this period (the week less the review load
    /// colleagues' changes put on them).
    pub fn hours_available(&self) -> f64 {
        self.agent.hours
    }

    /// Number of activities, in scenario order.
    pub fn activities(&self) -> usize {
        self.tables.len()
    }

    /// Whether activity `a` is gaming.
    pub fn is_gaming(&self, a: usize) -> bool {
        self.tables.gaming[a]
    }

    /// Whether the reward counts this period (false in the pre-period,
    /// before the measure became a target).
    pub fn incentive(&self) -> bool {
        self.incentive
    }

    /// A uniform draw in (0, 1) for this engineer and period, the same under
    /// every policy (for choosing a strategy at random).
    pub fn strategy_draw(&self) -> f64 {
        self.u_strategy
    }
}

impl std::fmt::Debug for Planner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planner").field("hours", &self.scratch.hours).field("tau", &self.scratch.tau).finish()
    }
}
