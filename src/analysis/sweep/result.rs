//! A finished task's estimates, as numbers: what `sweep.csv` renders and
//! what robustness is computed from.

use crate::analysis::kpi::kpi_defs;
use crate::analysis::stats::Estimate;
use crate::experiment::Results;
use crate::model::scenario::Scenario;

use super::Task;

/// One policy's estimate of one KPI in one task, over its replications.
#[derive(Debug, Clone)]
pub struct TaskRow {
    /// Policy name.
    pub policy: String,
    /// KPI name (see [`crate::analysis::kpi`]).
    pub kpi: String,
    /// Mean over replications (the KPI's unit: USD, hours, a share, ...);
    /// NaN, with the interval, for a KPI undefined under the policy (a
    /// metric KPI with no metric).
    pub mean: f64,
    /// Lower end of the 95% interval.
    pub ci_low: f64,
    /// Upper end of the 95% interval.
    pub ci_high: f64,
}

/// Equal numbers, an undefined value equal to itself: two copies of a task
/// with an undefined KPI are the same task.
impl PartialEq for TaskRow {
    fn eq(&self, o: &Self) -> bool {
        let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
        (&self.policy, &self.kpi) == (&o.policy, &o.kpi)
            && same(self.mean, o.mean)
            && same(self.ci_low, o.ci_low)
            && same(self.ci_high, o.ci_high)
    }
}

/// A finished task: the design point it ran and one row per policy and KPI.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskResult {
    /// Canonical task index.
    pub index: usize,
    /// Index of the uncertainty point.
    pub uncertainty: usize,
    /// Index of the lever point.
    pub lever: usize,
    /// Parameter values as written in `sweep.csv` (TOML text, string
    /// quotes removed), in [`super::Sweep::columns`] order.
    pub values: Vec<String>,
    /// Per policy, per KPI (policies outer), in the experiment's order.
    pub rows: Vec<TaskRow>,
}

/// The estimate of a KPI undefined under a policy.
const UNDEFINED: Estimate = Estimate { mean: f64::NAN, ci_low: f64::NAN, ci_high: f64::NAN, n: 0 };

impl TaskResult {
    /// The estimates of `task` from the experiment that ran it.
    pub fn from_results(task: &Task, results: &Results) -> TaskResult {
        let rows = results
            .policies
            .iter()
            .flat_map(|p| {
                results.kpis.iter().map(move |d| {
                    let e = results.estimate(p, &d.name).unwrap_or(UNDEFINED);
                    TaskRow {
                        policy: p.clone(),
                        kpi: d.name.clone(),
                        mean: e.mean,
                        ci_low: e.ci_low,
                        ci_high: e.ci_high,
                    }
                })
            })
            .collect();
        TaskResult {
            index: task.index,
            uncertainty: task.uncertainty,
            lever: task.lever,
            values: task.values.iter().map(|v| v.trim_matches('"').to_string()).collect(),
            rows,
        }
    }

    /// The mean of `kpi` under `policy`, if the task has that row.
    pub fn mean(&self, policy: &str, kpi: &str) -> Option<f64> {
        self.rows.iter().find(|r| r.policy == policy && r.kpi == kpi).map(|r| r.mean)
    }
}

/// Rows a finished task has: one per policy and KPI of the base scenario
/// (a sweep sets values, never adds policies or activities).
pub fn rows_per_task(base: &Scenario) -> usize {
    base.policies.len() * kpi_defs(base).len()
}
