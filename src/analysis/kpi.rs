//! Organisation accounting: the KPIs reported per period and over a run.
//!
//! The names are a contract read by other tools. Flows (costs, output,
//! counts) are totals over the counted periods (from `burn_in` on); shares,
//! correlations, rates and `hours.*` are means over them.
//!
//! A KPI can be undefined in a period (NaN): the metric-based ones
//! ([`METRIC_KPIS`]) under a policy with no metric. An undefined period
//! counts nothing; a KPI undefined in every counted period is undefined
//! over the run, and the outputs leave it out rather than print a number.
//!
//! Every KPI implements [`Kpi`]: a definition (name, unit, meaning, how it
//! aggregates) and a value computed from a [`PeriodView`] each period; the
//! built-ins implement it too. Add your own with [`crate::Experiment::kpi`]:
//!
//! ```
//! use goodhart::analysis::kpi::{Aggregate, Kpi, KpiDef, PeriodView};
//!
//! /// Share of the prize pool won by engineers who game.
//! struct PrizeToGamers;
//!
//! impl Kpi for PrizeToGamers {
//!     fn def(&self) -> KpiDef {
//!         KpiDef::new("prize_to_gamers", Aggregate::Mean, "share", "share of payouts won by engineers who gamed")
//!     }
//!     fn compute(&self, p: &PeriodView) -> f64 {
//!         let won = |gamed: bool| -> f64 {
//!             (0..p.engineers).filter(|&i| (p.gaming[i] > 0.5) == gamed).map(|i| p.payout[i].max(0.0)).sum()
//!         };
//!         let all = won(true) + won(false);
//!         if all > 0.0 { won(true) / all } else { 0.0 }
//!     }
//! }
//!
//! let mut sc = goodhart::model::preset::scenario("adversarial")?;
//! (sc.periods, sc.replications) = (8, 2);
//! let r = goodhart::Experiment::new(&sc).kpi(PrizeToGamers).run()?;
//! assert!(r.estimate("kirorank", "prize_to_gamers").unwrap().mean > 0.5);
//! # Ok::<(), goodhart::Error>(())
//! ```

use serde::Serialize;

use crate::model::scenario::Scenario;

pub use crate::engine::view::{PeriodView, Totals};

/// How a KPI's per-period values combine over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Aggregate {
    /// Total over the counted periods.
    Sum,
    /// Mean over the counted periods.
    Mean,
}

/// A KPI's name, how it aggregates, its unit and meaning.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiDef {
    /// Name (contract).
    pub name: String,
    /// Aggregation over periods.
    pub aggregate: Aggregate,
    /// Unit.
    pub unit: String,
    /// What it means in the model.
    pub meaning: String,
}

impl KpiDef {
    /// A definition.
    pub fn new(
        name: impl Into<String>,
        aggregate: Aggregate,
        unit: impl Into<String>,
        meaning: impl Into<String>,
    ) -> Self {
        KpiDef { name: name.into(), aggregate, unit: unit.into(), meaning: meaning.into() }
    }
}

/// A KPI: its definition and its value in each period.
pub trait Kpi: Send + Sync {
    /// Name, aggregation, unit and meaning.
    fn def(&self) -> KpiDef;
    /// The value in one period (in the KPI's unit; a flow is the period's
    /// total, a share or rate the period's value).
    fn compute(&self, period: &PeriodView) -> f64;
}

/// A built-in KPI: one of the fixed ones ([`k`]), or the mean hours on an
/// activity, or the slack.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Builtin {
    /// The fixed KPI with this index in [`k`].
    Fixed(usize),
    /// `hours.<name>`: mean hours per engineer on activity `index`.
    Hours {
        /// Activity index.
        index: usize,
        /// Activity name.
        name: String,
    },
    /// `hours.slack`: hours available and not worked, per engineer.
    Slack,
    /// `hours.overtime`: hours worked beyond contract hours, per engineer.
    Overtime,
    /// `at_hours_limit`: share of engineers working all the hours the week can hold.
    AtLimit,
    /// The turnover KPI with this index in [`TURNOVER`] (scenarios with turnover only).
    Turnover(usize),
    /// The review KPI with this index in [`REVIEW`] (scenarios that model review only).
    Review(usize),
    /// The change-audit KPI with this index in [`CHANGE_AUDITS`] (scenarios
    /// where a policy audits changes only).
    ChangeAudit(usize),
}

/// A KPI's definition from its row in one of the tables below.
fn row_def((name, aggregate, unit, meaning): Row) -> KpiDef {
    KpiDef::new(name, aggregate, unit, meaning)
}

/// A KPI table's row: name, aggregation, unit, meaning.
type Row = (&'static str, Aggregate, &'static str, &'static str);

/// `a / b`, or 0 with nothing to divide by.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

impl Kpi for Builtin {
    fn def(&self) -> KpiDef {
        match self {
            Builtin::Fixed(j) => row_def(FIXED[*j]),
            Builtin::Hours { name, .. } => {
                KpiDef::new(format!("hours.{name}"), Aggregate::Mean, HOURS_UNIT, HOURS_MEANING)
            }
            Builtin::Slack => KpiDef::new("hours.slack", Aggregate::Mean, HOURS_UNIT, HOURS_MEANING),
            Builtin::Overtime => KpiDef::new(
                "hours.overtime",
                Aggregate::Mean,
                HOURS_UNIT,
                "mean hours per engineer worked beyond contract hours (less review load)",
            ),
            Builtin::Turnover(j) => row_def(TURNOVER[*j]),
            Builtin::Review(j) => row_def(REVIEW[*j]),
            Builtin::ChangeAudit(j) => row_def(CHANGE_AUDITS[*j]),
            Builtin::AtLimit => KpiDef::new(
                "at_hours_limit",
                Aggregate::Mean,
                "share",
                "share of engineers working all the hours the week can hold (a corner: they cannot respond to more)",
            ),
        }
    }

    /// The two metric-value correlations are NaN here: the engine computes
    /// them off the period's critical path and fills them in (and leaves
    /// them NaN, with top-k precision, in a period with no metric).
    fn compute(&self, p: &PeriodView) -> f64 {
        let t = &p.totals;
        match *self {
            Builtin::Fixed(j) => match j {
                k::TOKEN_COST => t.tokens * p.price_per_token,
                k::USEFUL_OUTPUT => t.value,
                k::INCIDENT_COST => t.incidents * p.incident_cost,
                k::NET_VALUE => net_value(t, p),
                k::BONUS_PAID => p.bonus_paid,
                k::EFFORT_COST => t.effort,
                k::TOTAL_SURPLUS => net_value(t, p) + p.bonus_paid - t.effort,
                k::GAMING_SHARE => ratio(t.gaming_hours, t.work_hours),
                k::TOP_K_PRECISION => p.top_k_precision,
                k::DEPLOYMENTS => t.deployments,
                k::CHANGE_FAILURE_RATE => ratio(t.failed, t.deployments),
                k::TOKENS => t.tokens,
                k::INCIDENTS => t.incidents,
                k::REVIEW_HOURS => t.review_hours,
                k::CYCLE_TIME => ratio(t.cycle_days, t.deployments),
                k::GAMERS_SHARE => t.gamers / p.engineers as f64,
                k::AUDIT_DETECTIONS => p.audit_detections,
                k::HOURS_CHANGE => p
                    .hours
                    .iter()
                    .zip(p.last_hours)
                    .filter(|(_, last)| last.is_finite())
                    .map(|(h, last)| (h - last).abs())
                    .sum(),
                _ => f64::NAN,
            },
            Builtin::Hours { index, .. } => p.hours[index],
            Builtin::Slack => (p.hours_available - p.hours.iter().sum::<f64>()).max(0.0),
            Builtin::Overtime => t.overtime_hours / p.engineers as f64,
            Builtin::AtLimit => t.at_limit / p.engineers as f64,
            Builtin::Review(j) => match j {
                0 => ratio(t.review_hours, t.deployments),
                _ => ratio(t.ai_changes, t.deployments),
            },
            Builtin::ChangeAudit(j) => match j {
                0 => t.gaming_changes,
                _ => t.changes_caught,
            },
            Builtin::Turnover(j) => {
                let n = p.engineers as f64;
                match j {
                    0 => t.forced_exits + t.voluntary_exits,
                    1 => t.forced_exits,
                    2 => t.voluntary_exits,
                    3 => t.regretted_exits,
                    4 => t.hiring_cost,
                    5 => t.skill / n,
                    6 => t.integrity / n,
                    7 => t.never_game / n,
                    _ => t.reward_sensitivity / n,
                }
            }
        }
    }
}

/// The organisation's P&L for the period: output less everything it pays
/// (tokens, incidents, prizes and bonuses). Penalties are felt, not paid.
fn net_value(t: &Totals, p: &PeriodView) -> f64 {
    t.value - t.tokens * p.price_per_token - t.incidents * p.incident_cost - p.bonus_paid - t.hiring_cost
}

const HOURS_UNIT: &str = "hours per engineer per period";
const HOURS_MEANING: &str = "mean hours per engineer per period on this activity";

/// Indices of the fixed KPIs, in output order.
pub(crate) mod k {
    /// Token bill, USD.
    pub const TOKEN_COST: usize = 0;
    /// Useful output, USD.
    pub const USEFUL_OUTPUT: usize = 1;
    /// Incident cost, USD.
    pub const INCIDENT_COST: usize = 2;
    /// Net value, USD.
    pub const NET_VALUE: usize = 3;
    /// Bonuses paid, USD.
    pub const BONUS_PAID: usize = 4;
    /// Effort cost, USD-equivalent.
    pub const EFFORT_COST: usize = 5;
    /// Whole-system surplus, USD-equivalent.
    pub const TOTAL_SURPLUS: usize = 6;
    /// Gaming share of working hours.
    pub const GAMING_SHARE: usize = 7;
    /// Spearman correlation of metric and true value.
    pub const METRIC_VALUE_CORRELATION: usize = 8;
    /// Same, before the metric became a target.
    pub const METRIC_VALUE_CORRELATION_BEFORE: usize = 9;
    /// Top-k precision of the leaderboard.
    pub const TOP_K_PRECISION: usize = 10;
    /// Deployments.
    pub const DEPLOYMENTS: usize = 11;
    /// Change failure rate.
    pub const CHANGE_FAILURE_RATE: usize = 12;
    /// Tokens.
    pub const TOKENS: usize = 13;
    /// Incidents.
    pub const INCIDENTS: usize = 14;
    /// Review hours.
    pub const REVIEW_HOURS: usize = 15;
    /// Cycle time.
    pub const CYCLE_TIME: usize = 16;
    /// Share of engineers gaming.
    pub const GAMERS_SHARE: usize = 17;
    /// Audit detections.
    pub const AUDIT_DETECTIONS: usize = 18;
    /// Change in hours from the previous period.
    pub const HOURS_CHANGE: usize = 19;
    /// Number of fixed KPIs; `hours.<activity>` follow, then `hours.slack`.
    pub const FIXED: usize = 20;
}

const FIXED: [Row; k::FIXED] = [
    ("token_cost", Aggregate::Sum, "USD", "token bill: tokens x price, paid by the organisation"),
    ("useful_output", Aggregate::Sum, "USD", "value of the changes that survive (rolled-back work counts nothing)"),
    ("incident_cost", Aggregate::Sum, "USD", "incidents x cost per incident"),
    (
        "net_value",
        Aggregate::Sum,
        "USD",
        "the organisation's P&L: useful_output - token_cost - incident_cost - bonus_paid (- hiring_cost, with turnover)",
    ),
    (
        "bonus_paid",
        Aggregate::Sum,
        "USD",
        "prizes, piece rates and bonuses the organisation pays (penalties are felt, not paid)",
    ),
    ("effort_cost", Aggregate::Sum, "USD-equivalent", "engineers' effort cost of the hours worked"),
    (
        "total_surplus",
        Aggregate::Sum,
        "USD-equivalent",
        "whole-system surplus, organisation and engineers: net_value + bonus_paid - effort_cost (prizes are a transfer)",
    ),
    ("gaming_share", Aggregate::Mean, "share", "share of working hours spent on gaming activities"),
    (
        "metric_value_correlation",
        Aggregate::Mean,
        "Spearman rho",
        "rank correlation of each engineer's observed metric with the value they produced in the period",
    ),
    (
        "metric_value_correlation_before",
        Aggregate::Mean,
        "Spearman rho",
        "the same correlation before any policy (nobody targets the metric yet)",
    ),
    (
        "top_k_precision",
        Aggregate::Mean,
        "lift over random",
        "overlap of the leaderboard's top k with the true top k by value, as lift over a random pick: (precision - k/N) / (1 - k/N); 0 = random, 1 = perfect",
    ),
    ("deployments", Aggregate::Sum, "changes", "changes shipped"),
    (
        "change_failure_rate",
        Aggregate::Mean,
        "share",
        "changes rolled back within the survival window / changes shipped",
    ),
    ("tokens", Aggregate::Sum, "tokens", "tokens consumed"),
    ("incidents", Aggregate::Sum, "incidents", "customer-facing incidents caused (customer impact)"),
    ("review_hours", Aggregate::Sum, "hours", "review load the changes put on peers"),
    ("cycle_time", Aggregate::Mean, "days", "mean cycle time of the changes shipped"),
    ("gamers_share", Aggregate::Mean, "share", "share of engineers spending any time (over half an hour) gaming"),
    (
        "audit_detections",
        Aggregate::Sum,
        "engineers",
        "engineers caught gaming by an audit (by an audit of changes: engineers with a change caught; changes_caught counts the changes)",
    ),
    (
        "hours_change",
        Aggregate::Mean,
        "hours",
        "sum over activities of the change in mean hours per engineer since the previous period; near 0 once behaviour has settled",
    ),
];

/// The KPIs of review, after `at_hours_limit`, in scenarios that model it
/// ([`crate::Scenario::models_review`]).
const REVIEW: [Row; 2] = [
    ("review_hours_per_change", Aggregate::Mean, "hours", "review hours the period's changes need, per change"),
    (
        "ai_assisted_share",
        Aggregate::Mean,
        "share",
        "changes weighted by the share of their work AI did (1 - exp(-tau / tau0)), over all changes",
    ),
];

/// The KPIs of audits of changes, after the review KPIs, in scenarios
/// where a policy audits changes ([`crate::Scenario::audits_changes`]).
const CHANGE_AUDITS: [Row; 2] = [
    (
        "gaming_changes",
        Aggregate::Sum,
        "changes",
        "changes shipped from gaming activities (splitting, rushing): all an audit of changes can catch; gaming that ships no changes is invisible to it",
    ),
    ("changes_caught", Aggregate::Sum, "changes", "gaming changes caught by an audit of changes"),
];

/// Where the population's make-up starts in [`TURNOVER`] (the exits come first).
const MAKE_UP: usize = 5;

/// The KPIs of turnover, after `at_hours_limit`: the exits in scenarios
/// where engineers can leave ([`crate::Scenario::has_turnover`]), the
/// population's make-up also where norms erode integrity.
const TURNOVER: [Row; 9] = [
    ("leavers", Aggregate::Sum, "engineers", "engineers who left (each replaced by a hire)"),
    ("forced_exits", Aggregate::Sum, "engineers", "engineers who left at a forced ranking"),
    (
        "voluntary_exits",
        Aggregate::Sum,
        "engineers",
        "engineers who left of their own accord: a job worth less than their outside option, or reasons outside the model",
    ),
    (
        "regretted_exits",
        Aggregate::Sum,
        "engineers",
        "leavers more skilled than the replication's starting median engineer",
    ),
    ("hiring_cost", Aggregate::Sum, "USD", "what hiring the leavers' replacements costs (in net_value)"),
    ("mean_skill", Aggregate::Mean, "skill", "mean skill of the period's engineers (before a hire's ramp-up)"),
    ("mean_integrity", Aggregate::Mean, "USD-equivalent per gaming hour", "mean integrity of the period's engineers"),
    ("never_game_share", Aggregate::Mean, "share", "share of the period's engineers who never game"),
    (
        "mean_reward_sensitivity",
        Aggregate::Mean,
        "utility per USD",
        "mean reward sensitivity of the period's engineers",
    ),
];

/// The KPIs that read the policy's metric: undefined (NaN per period,
/// absent from the outputs) in periods whose policy has no metric.
pub const METRIC_KPIS: [&str; 3] = ["metric_value_correlation", "metric_value_correlation_before", "top_k_precision"];

/// The built-in KPIs of `sc`, in output order: the fixed ones,
/// `hours.<activity>` per activity, `hours.slack`, `hours.overtime`,
/// `at_hours_limit`, then the review KPIs if review is modelled, the
/// change-audit KPIs if a policy audits changes and the turnover KPIs if
/// engineers can leave.
pub(crate) fn builtins(sc: &Scenario) -> Vec<Builtin> {
    let fixed = (0..k::FIXED).map(Builtin::Fixed);
    let hours = sc.activities.iter().enumerate().map(|(index, a)| Builtin::Hours { index, name: a.name.clone() });
    // Exits with turnover; the population's make-up whenever it can change.
    let first = if sc.has_turnover() { 0 } else { MAKE_UP };
    let last = if sc.has_turnover() || sc.norms_erode() { TURNOVER.len() } else { first };
    let turnover = (first..last).map(Builtin::Turnover);
    let review = (0..if sc.models_review() { REVIEW.len() } else { 0 }).map(Builtin::Review);
    let audits = (0..if sc.audits_changes() { CHANGE_AUDITS.len() } else { 0 }).map(Builtin::ChangeAudit);
    fixed
        .chain(hours)
        .chain([Builtin::Slack, Builtin::Overtime, Builtin::AtLimit])
        .chain(review)
        .chain(audits)
        .chain(turnover)
        .collect()
}

/// All built-in KPI definitions of a scenario, in output order.
pub fn kpi_defs(sc: &Scenario) -> Vec<KpiDef> {
    builtins(sc).iter().map(Kpi::def).collect()
}

/// Combines one KPI's per-period values over the counted periods.
/// Undefined (NaN) periods are skipped; with only those, the result is
/// NaN (undefined over the run), with no periods at all, 0.
pub fn aggregate(def: Aggregate, values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut n, mut undefined) = (0.0, 0usize, 0usize);
    for v in values {
        if v.is_nan() {
            undefined += 1;
            continue;
        }
        sum += v;
        n += 1;
    }
    if n == 0 && undefined > 0 {
        return f64::NAN;
    }
    match def {
        Aggregate::Sum => sum,
        Aggregate::Mean => {
            if n == 0 {
                0.0
            } else {
                sum / n as f64
            }
        }
    }
}
