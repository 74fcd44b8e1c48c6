//! Experiments: every policy of a scenario over replications, with common
//! random numbers, summarised as means, confidence intervals and paired
//! differences against the baseline.

use rayon::prelude::*;
use serde::Serialize;

use crate::accounting::KpiDef;
use crate::engineer::Population;
use crate::error::Result;
use crate::rng::Streams;
use crate::scenario::Scenario;
use crate::sim::{Compiled, RunOutput, simulate};
use crate::stats::Estimate;

/// Everything an experiment produced.
#[derive(Debug, Clone)]
pub struct Results {
    /// The scenario as run (every default filled in).
    pub scenario: Scenario,
    /// KPI definitions, in output order.
    pub kpis: Vec<KpiDef>,
    /// Policy names, in scenario order.
    pub policies: Vec<String>,
    /// Index of the baseline policy.
    pub baseline: usize,
    /// Runs, indexed `[policy][replication]`.
    pub runs: Vec<Vec<RunOutput>>,
}

/// One row of the comparison: a policy's KPI over replications and its
/// paired difference against the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    /// Policy name.
    pub policy: String,
    /// KPI name.
    pub kpi: String,
    /// Mean and 95% CI over replications.
    pub estimate: Estimate,
    /// Paired difference (policy - baseline) per replication: mean and 95% CI.
    pub diff: Estimate,
}

/// Runs every policy of `scenario` in every replication. Replications run in
/// parallel; within one, every policy meets the same engineers and shocks.
///
/// ```
/// let mut sc = goodhart::preset::scenario("adversarial")?;
/// sc.replications = 2;
/// sc.periods = 6;
/// let r = goodhart::run(&sc)?;
/// // Paired difference (common random numbers) against the baseline:
/// let d = r.paired_diff("kirorank", "no-leaderboard", "gaming_share").unwrap();
/// assert!(d.mean > 0.0);
/// # Ok::<(), goodhart::Error>(())
/// ```
pub fn run(scenario: &Scenario) -> Result<Results> {
    run_with_progress(scenario, &|_| {})
}

/// Like [`run`], calling `progress(done)` after each finished run
/// (policy x replication) from whichever thread finished it.
pub fn run_with_progress(scenario: &Scenario, progress: &(dyn Fn(usize) + Sync)) -> Result<Results> {
    let c = Compiled::new(scenario)?;
    let np = c.policies();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let by_rep: Vec<Result<Vec<RunOutput>>> = (0..scenario.replications)
        .into_par_iter()
        .map(|rep| {
            let streams = Streams::new(scenario.seed, rep as u64);
            let pop = Population::draw(&scenario.traits, scenario.org.engineers, &streams)?;
            Ok((0..np)
                .into_par_iter()
                .map(|p| {
                    let out = simulate(&c, p, rep, &pop, &streams);
                    progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                    out
                })
                .collect())
        })
        .collect();
    let mut runs: Vec<Vec<RunOutput>> = (0..np).map(|_| Vec::with_capacity(by_rep.len())).collect();
    for rep in by_rep {
        for (p, out) in rep?.into_iter().enumerate() {
            runs[p].push(out);
        }
    }
    Ok(Results {
        policies: scenario.policies.iter().map(|p| p.name.clone()).collect(),
        baseline: scenario.baseline_index(),
        kpis: c.kpis.clone(),
        scenario: c.scenario,
        runs,
    })
}

impl Results {
    /// Index of a KPI by name.
    pub fn kpi_index(&self, kpi: &str) -> Option<usize> {
        self.kpis.iter().position(|d| d.name == kpi)
    }

    /// Index of a policy by name.
    pub fn policy_index(&self, policy: &str) -> Option<usize> {
        self.policies.iter().position(|p| p == policy)
    }

    /// A KPI's run-level value in each replication of a policy.
    pub fn values(&self, policy: &str, kpi: &str) -> Option<Vec<f64>> {
        let (p, j) = (self.policy_index(policy)?, self.kpi_index(kpi)?);
        Some(self.runs[p].iter().map(|r| r.totals[j]).collect())
    }

    /// Mean and 95% CI of a KPI over replications.
    pub fn estimate(&self, policy: &str, kpi: &str) -> Option<Estimate> {
        self.values(policy, kpi).map(|v| Estimate::of(&v))
    }

    /// Paired difference `a - b` of a KPI over replications (common random numbers).
    pub fn paired_diff(&self, a: &str, b: &str, kpi: &str) -> Option<Estimate> {
        let (va, vb) = (self.values(a, kpi)?, self.values(b, kpi)?);
        let d: Vec<f64> = va.iter().zip(&vb).map(|(x, y)| x - y).collect();
        Some(Estimate::of(&d))
    }

    /// Mean over replications of a KPI in each period.
    pub fn period_means(&self, policy: &str, kpi: &str) -> Option<Vec<f64>> {
        let (p, j) = (self.policy_index(policy)?, self.kpi_index(kpi)?);
        let nk = self.kpis.len();
        let reps = self.runs[p].len() as f64;
        let periods = self.scenario.periods as usize;
        Some((0..periods).map(|t| self.runs[p].iter().map(|r| r.per_period[t * nk + j]).sum::<f64>() / reps).collect())
    }

    /// The comparison table: one row per policy and KPI.
    pub fn summary(&self) -> Vec<SummaryRow> {
        let base = &self.policies[self.baseline];
        let mut rows = Vec::new();
        for p in &self.policies {
            for d in &self.kpis {
                rows.push(SummaryRow {
                    policy: p.clone(),
                    kpi: d.name.clone(),
                    estimate: self.estimate(p, &d.name).unwrap_or(Estimate::of(&[])),
                    diff: self.paired_diff(p, base, &d.name).unwrap_or(Estimate::of(&[])),
                });
            }
        }
        rows
    }

    /// Whether behaviour under a policy settled: in the last four periods
    /// (or fewer in short runs), mean hours moved by less than 1% of the
    /// hours budget per period, averaged over replications. A `false` means
    /// the population is still adjusting or cycling (a cobweb) and averages
    /// hide that. A one-period run cannot show it and reports `false`.
    pub fn settled(&self, policy: &str) -> bool {
        let Some(series) = self.period_means(policy, "hours_change") else { return false };
        // Period 0 has no previous period to change from.
        let tail = &series[series.len().saturating_sub(4).max(1).min(series.len())..];
        if tail.is_empty() {
            return false;
        }
        let mean = tail.iter().sum::<f64>() / tail.len() as f64;
        mean < 0.01 * self.scenario.org.hours_per_period
    }
}
