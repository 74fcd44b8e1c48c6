//! What the engine shows of a period to KPIs and observers.

use crate::engine::population::Population;

/// The organisation's totals over engineers in one period.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Tokens consumed.
    pub tokens: f64,
    /// Useful output, USD.
    pub value: f64,
    /// Incidents caused.
    pub incidents: f64,
    /// Changes shipped.
    pub deployments: f64,
    /// Changes rolled back within the survival window.
    pub failed: f64,
    /// Review hours the changes put on peers.
    pub review_hours: f64,
    /// Engineers' effort cost, USD-equivalent.
    pub effort: f64,
    /// Hours spent gaming.
    pub gaming_hours: f64,
    /// Hours worked.
    pub work_hours: f64,
    /// Days of cycle time summed over changes shipped.
    pub cycle_days: f64,
    /// Engineers who spent over half an hour gaming.
    pub gamers: f64,
    /// Hours worked beyond contract hours (less review load).
    pub overtime_hours: f64,
    /// Engineers who worked as many hours as the week can hold.
    pub at_limit: f64,
    /// Changes shipped, each weighted by the share of its work AI did
    /// (`1 - exp(-tau / tau0)` on its activity).
    pub ai_changes: f64,
    /// Changes shipped from gaming activities (what an audit of changes can catch).
    pub gaming_changes: f64,
    /// Changes caught by an audit of changes (0 under other policies).
    pub changes_caught: f64,
    /// Engineers who left at a forced ranking (0 without turnover).
    pub forced_exits: f64,
    /// Engineers who left of their own accord (0 without turnover).
    pub voluntary_exits: f64,
    /// Leavers more skilled than the replication's starting median engineer.
    pub regretted_exits: f64,
    /// What hiring the leavers' replacements costs, USD.
    pub hiring_cost: f64,
    /// Sums over the period's engineers of skill (without a hire's
    /// ramp-up), integrity, the never-game flag (1 or 0) and reward
    /// sensitivity: the population's make-up as turnover changes it
    /// (0 without turnover).
    pub skill: f64,
    /// See `skill`.
    pub integrity: f64,
    /// See `skill`.
    pub never_game: f64,
    /// See `skill`.
    pub reward_sensitivity: f64,
}

/// What a KPI or an observer sees of one period, once it is settled: the
/// organisation's totals, the leaderboard diagnostics, and every engineer's
/// plan and outcome (slices indexed by engineer).
#[derive(Debug, Clone, Copy)]
pub struct PeriodView<'a> {
    /// The period, from 0.
    pub period: usize,
    /// Number of engineers.
    pub engineers: usize,
    /// Hours each engineer had (the week less the review load).
    pub hours_available: f64,
    /// Token price, USD per token.
    pub price_per_token: f64,
    /// Cost of one incident, USD.
    pub incident_cost: f64,
    /// Totals over engineers.
    pub totals: Totals,
    /// Mean hours per engineer on each activity, this period and the last
    /// (NaN before the first period).
    pub hours: &'a [f64],
    /// See `hours`.
    pub last_hours: &'a [f64],
    /// Engineers caught gaming by an audit (by an audit of changes: those
    /// with at least one change caught).
    pub audit_detections: f64,
    /// Prizes and bonuses paid, USD.
    pub bonus_paid: f64,
    /// Overlap of the board's top k with the true top k by value, as lift
    /// over a random pick: (precision - k/N) / (1 - k/N). NaN (undefined)
    /// when the period's policy has no metric.
    pub top_k_precision: f64,
    /// Each engineer's published metric.
    pub published: &'a [f64],
    /// Each engineer's useful output, USD.
    pub value: &'a [f64],
    /// Each engineer's gaming hours.
    pub gaming: &'a [f64],
    /// Each engineer's changes shipped from gaming activities.
    pub gaming_changes: &'a [f64],
    /// Each engineer's changes caught by an audit of changes (0 under
    /// other policies).
    pub changes_caught: &'a [f64],
    /// Each engineer's payout, USD (negative: pressure).
    pub payout: &'a [f64],
    /// Each engineer's payoff: utility with the reward and any audit
    /// penalty, USD-equivalent.
    pub payoff: &'a [f64],
    /// Each engineer's observation of the metric this period (with noise,
    /// before the window and delay).
    pub observed: &'a [f64],
    /// Each engineer's planned hours per activity, engineer by engineer
    /// (`plan_hours[i * activities + a]`).
    pub plan_hours: &'a [f64],
    /// Each engineer's AI intensity per activity, tokens per hour, laid out
    /// as `plan_hours`.
    pub plan_tau: &'a [f64],
    /// The AI leverage each engineer believes they have after this period's
    /// experience (`traits.ai_perception`; the true one is in `population`).
    pub perceived_leverage: &'a [f64],
    /// The engineers' traits (with turnover, those of the engineers who
    /// worked this period; a hire's skill is scaled by their ramp-up).
    pub population: &'a Population,
    /// The places whose engineer leaves at the end of this period (a hire
    /// takes each place next period), in increasing order; empty without
    /// turnover.
    pub leavers: &'a [u32],
}
