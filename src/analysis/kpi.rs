//! Organisation accounting: the KPIs reported per period and over a run.
//!
//! The names are a contract read by other tools. Flows (costs, output,
//! counts) are totals over the counted periods (from `burn_in` on); shares,
//! correlations, rates and `hours.*` are means over them.

use serde::Serialize;

/// How a KPI's per-period values combine over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
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
    pub unit: &'static str,
    /// What it means in the model.
    pub meaning: &'static str,
}

/// Indices of the fixed KPIs, in output order.
pub mod k {
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
    /// Gaming share of working hours.
    pub const GAMING_SHARE: usize = 6;
    /// Spearman correlation of metric and true value.
    pub const METRIC_VALUE_CORRELATION: usize = 7;
    /// Same, before the metric became a target.
    pub const METRIC_VALUE_CORRELATION_BEFORE: usize = 8;
    /// Top-k precision of the leaderboard.
    pub const TOP_K_PRECISION: usize = 9;
    /// Deployments.
    pub const DEPLOYMENTS: usize = 10;
    /// Change failure rate.
    pub const CHANGE_FAILURE_RATE: usize = 11;
    /// Tokens.
    pub const TOKENS: usize = 12;
    /// Incidents.
    pub const INCIDENTS: usize = 13;
    /// Review hours.
    pub const REVIEW_HOURS: usize = 14;
    /// Cycle time.
    pub const CYCLE_TIME: usize = 15;
    /// Share of engineers gaming.
    pub const GAMERS_SHARE: usize = 16;
    /// Audit detections.
    pub const AUDIT_DETECTIONS: usize = 17;
    /// Change in hours from the previous period.
    pub const HOURS_CHANGE: usize = 18;
    /// Number of fixed KPIs; `hours.<activity>` follow, then `hours.slack`.
    pub const FIXED: usize = 19;
}

const FIXED: [(&str, Aggregate, &str, &str); k::FIXED] = [
    ("token_cost", Aggregate::Sum, "USD", "token bill: tokens x price, paid by the organisation"),
    ("useful_output", Aggregate::Sum, "USD", "value of the changes that survive (rolled-back work counts nothing)"),
    ("incident_cost", Aggregate::Sum, "USD", "incidents x cost per incident"),
    ("net_value", Aggregate::Sum, "USD", "useful_output - token_cost - incident_cost"),
    ("bonus_paid", Aggregate::Sum, "USD", "prizes, piece rates and bonuses paid (a transfer, not in net value)"),
    ("effort_cost", Aggregate::Sum, "USD-equivalent", "engineers' effort cost of the hours worked"),
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
    ("top_k_precision", Aggregate::Mean, "share", "overlap of the leaderboard's top k with the true top k by value"),
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
    ("audit_detections", Aggregate::Sum, "engineers", "engineers caught gaming by an audit"),
    (
        "hours_change",
        Aggregate::Mean,
        "hours",
        "sum over activities of the change in mean hours per engineer since the previous period; near 0 once behaviour has settled",
    ),
];

/// All KPI definitions for a scenario with these activity names.
pub fn kpi_defs(activities: &[String]) -> Vec<KpiDef> {
    let mut out: Vec<KpiDef> = FIXED
        .iter()
        .map(|&(name, aggregate, unit, meaning)| KpiDef { name: name.into(), aggregate, unit, meaning })
        .collect();
    for a in activities.iter().map(|s| s.as_str()).chain(["slack"]) {
        out.push(KpiDef {
            name: format!("hours.{a}"),
            aggregate: Aggregate::Mean,
            unit: "hours per engineer per period",
            meaning: "mean hours per engineer per period on this activity",
        });
    }
    out
}

/// Combines one KPI's per-period values over the counted periods.
pub fn aggregate(def: Aggregate, values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values {
        sum += v;
        n += 1;
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
