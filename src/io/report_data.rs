//! What a run's report and its charts show, gathered in one place from
//! results or from the files an earlier run wrote. The report and the
//! charts both read it; it knows neither (so they do not import each other).

use crate::analysis::assumptions::{CheckSize, Comparison};
use crate::analysis::stats::RunningEstimate;
use crate::experiment::Results;
use crate::io::output::verdict;
use crate::model::scenario::Scenario;

/// A period's mean and the ends of its 95% interval.
pub type Band = (f64, f64, f64);

/// KPIs whose per-period series the charts need.
const SERIES: [&str; 5] = ["token_cost", "useful_output", "net_value", "gaming_share", "incident_cost"];
/// The KPIs of a cost-output point: (token + incident cost, useful output).
const COST_OUTPUT: [&str; 3] = ["token_cost", "incident_cost", "useful_output"];

/// Everything the report and its charts show, independent of where it came from.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// Scenario name.
    pub title: String,
    /// Policy names.
    pub policies: Vec<String>,
    /// Index of the baseline policy.
    pub baseline: usize,
    /// Periods simulated.
    pub periods: usize,
    /// First counted period.
    pub burn_in: usize,
    /// Per policy, per KPI in [`SERIES`] order, per period: the mean over
    /// replications and its 95% interval.
    bands: Vec<Vec<Vec<Band>>>,
    /// Per policy, per replication: (token + incident cost, useful output)
    /// over the counted periods.
    points: Vec<Vec<(f64, f64)>>,
    /// Per policy: periods at which its schedule switches policy.
    pub switches: Vec<Vec<u32>>,
    /// Per policy: published metric and value per engineer at the end (first replication).
    pub boards: Vec<Option<(Vec<f64>, Vec<f64>)>>,
    /// Per policy: metric–value correlation before it was a target and after
    /// (means); `None` for a policy with no metric.
    pub correlation: Vec<Option<(f64, f64)>>,
    /// Summary rows (policy, KPI, estimate, paired difference).
    pub rows: Vec<crate::experiment::SummaryRow>,
    /// The plain-language verdict.
    pub verdict: String,
    /// The scenario as resolved (TOML).
    pub scenario_toml: String,
    /// Seed.
    pub seed: u64,
    /// The command that reproduces the run.
    pub command: String,
    /// The check of the conclusions against the assumptions, if run.
    pub assumptions: Option<(CheckSize, Vec<Comparison>)>,
}

impl ReportData {
    /// From an experiment's results and the command that produced them.
    pub fn from_results(r: &Results, command: &str) -> ReportData {
        let periods = r.scenario.periods as usize;
        let bands = (0..r.policies.len())
            .map(|p| {
                SERIES
                    .iter()
                    .map(|k| {
                        let j = r.kpi_index(k).unwrap_or(0);
                        (0..periods)
                            .map(|t| {
                                let e = r.period_estimate(p, j, t);
                                (e.mean, e.ci_low, e.ci_high)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let [tok, inc, out] = COST_OUTPUT.map(|k| r.kpi_index(k));
        let points = r
            .runs
            .iter()
            .map(|runs| match (tok, inc, out) {
                (Some(a), Some(b), Some(c)) => {
                    runs.iter().map(|run| (run.totals[a] + run.totals[b], run.totals[c])).collect()
                }
                _ => Vec::new(),
            })
            .collect();
        let m = |p: &str, k: &str| r.estimate(p, k).map(|e| e.mean);
        ReportData {
            title: r.scenario.name.clone(),
            policies: r.policies.clone(),
            baseline: r.baseline,
            periods,
            burn_in: r.scenario.burn_in as usize,
            bands,
            points,
            switches: switches(&r.scenario, periods),
            boards: r.runs.iter().map(|runs| runs.first().and_then(|run| run.final_board.clone())).collect(),
            correlation: r
                .policies
                .iter()
                .map(|p| Some((m(p, "metric_value_correlation_before")?, m(p, "metric_value_correlation")?)))
                .collect(),
            rows: r.summary(),
            verdict: verdict(r),
            scenario_toml: crate::io::format::write_scenario(&r.scenario),
            seed: r.scenario.seed,
            command: command.to_string(),
            assumptions: r.assumptions.as_ref().map(|c| (c.size, c.comparisons.clone())),
        }
    }

    /// Adds the check against the assumptions from an earlier run's
    /// `assumptions.csv` (`None`: the run did not check).
    pub fn with_assumptions(mut self, assumptions_csv: Option<&str>) -> Result<ReportData, String> {
        self.assumptions = assumptions_csv.map(crate::io::assumptions::parse_csv).transpose()?;
        Ok(self)
    }

    /// Rebuilds the data from the files an earlier run wrote: `summary.csv`,
    /// `timeseries.csv`, `final_board.csv` (optional), the resolved scenario,
    /// the verdict and the command. Errors name the file and line.
    pub fn from_outputs(
        summary_csv: &str,
        timeseries_csv: &str,
        final_board_csv: Option<&str>,
        scenario_toml: &str,
        verdict: &str,
        command: &str,
    ) -> Result<ReportData, String> {
        use crate::io::output::csv_split;
        let sc =
            crate::io::format::parse_scenario(scenario_toml).map_err(|e| format!("scenario.resolved.toml: {e}"))?;
        let policies: Vec<String> = sc.policies.iter().map(|p| p.name.clone()).collect();
        let pidx = |name: &str| policies.iter().position(|p| p == name);
        let periods = sc.periods as usize;
        let reps = sc.replications as usize;
        let burn = sc.burn_in as usize;
        let mut running = vec![vec![vec![RunningEstimate::default(); periods]; SERIES.len()]; policies.len()];
        // Per policy and replication: token, incident and useful-output sums over the counted periods.
        let mut sums = vec![vec![[0.0f64; 3]; reps]; policies.len()];
        let num = |file: &str, line: usize, s: &str| -> Result<f64, String> {
            s.parse::<f64>().map_err(|_| format!("{file}: line {line}: `{s}` is not a number"))
        };
        // Rows come replication by replication, so each period's estimate
        // is fed in the same order as during the run: the same bits.
        for (i, line) in timeseries_csv.lines().enumerate().skip(1) {
            let f = csv_split(line);
            if f.len() != 5 {
                return Err(format!("timeseries.csv: line {}: expected 5 fields", i + 1));
            }
            let (Some(p), Some(j)) = (pidx(&f[0]), SERIES.iter().position(|k| *k == f[3])) else { continue };
            let (rep, t) = (f[1].parse::<usize>().ok(), f[2].parse::<usize>().ok());
            match (rep, t) {
                (Some(rep), Some(t)) if rep < reps && t < periods => {
                    let x = num("timeseries.csv", i + 1, &f[4])?;
                    running[p][j][t].push(x);
                    let slot = COST_OUTPUT.iter().position(|k| *k == f[3]);
                    if let (Some(slot), true) = (slot, t >= burn) {
                        sums[p][rep][slot] += x;
                    }
                }
                _ => return Err(format!("timeseries.csv: line {}: replication or period out of range", i + 1)),
            }
        }
        let bands = running
            .iter()
            .map(|ks| {
                ks.iter()
                    .map(|ts| {
                        ts.iter()
                            .map(|r| {
                                let e = r.estimate();
                                (e.mean, e.ci_low, e.ci_high)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let points = sums.iter().map(|reps| reps.iter().map(|s| (s[0] + s[1], s[2])).collect()).collect();
        let mut rows = Vec::new();
        for (i, line) in summary_csv.lines().enumerate().skip(1) {
            let f = csv_split(line);
            if f.len() < 9 {
                return Err(format!("summary.csv: line {}: expected at least 9 fields", i + 1));
            }
            let n = f[5].parse::<usize>().map_err(|_| format!("summary.csv: line {}: bad replications", i + 1))?;
            let e = |a: usize| -> Result<crate::analysis::stats::Estimate, String> {
                Ok(crate::analysis::stats::Estimate {
                    mean: num("summary.csv", i + 1, &f[a])?,
                    ci_low: num("summary.csv", i + 1, &f[a + 1])?,
                    ci_high: num("summary.csv", i + 1, &f[a + 2])?,
                    n,
                })
            };
            // Empty difference fields: the KPI is undefined under the baseline.
            let diff = if f[6..9].iter().all(|x| x.is_empty()) { None } else { Some(e(6)?) };
            rows.push(crate::experiment::SummaryRow { policy: f[0].clone(), kpi: f[1].clone(), estimate: e(2)?, diff });
        }
        let mean = |p: &str, k: &str| {
            rows.iter().find(|r: &&crate::experiment::SummaryRow| r.policy == p && r.kpi == k).map(|r| r.estimate.mean)
        };
        let mut boards: Vec<Option<(Vec<f64>, Vec<f64>)>> = vec![None; policies.len()];
        if let Some(text) = final_board_csv {
            for (i, line) in text.lines().enumerate().skip(1) {
                let f = csv_split(line);
                if f.len() != 4 {
                    return Err(format!("final_board.csv: line {}: expected 4 fields", i + 1));
                }
                if let Some(p) = pidx(&f[0]) {
                    let b = boards[p].get_or_insert_with(|| (Vec::new(), Vec::new()));
                    b.0.push(num("final_board.csv", i + 1, &f[2])?);
                    b.1.push(num("final_board.csv", i + 1, &f[3])?);
                }
            }
        }
        Ok(ReportData {
            title: sc.name.clone(),
            correlation: policies
                .iter()
                .map(|p| Some((mean(p, "metric_value_correlation_before")?, mean(p, "metric_value_correlation")?)))
                .collect(),
            policies,
            baseline: sc.baseline_index(),
            periods,
            burn_in: sc.burn_in as usize,
            bands,
            points,
            switches: switches(&sc, periods),
            boards,
            rows,
            verdict: verdict.to_string(),
            scenario_toml: scenario_toml.to_string(),
            seed: sc.seed,
            command: command.to_string(),
            assumptions: None,
        })
    }

    /// A KPI's per-period mean and 95% interval over replications under
    /// policy `p` (for the KPIs the charts draw).
    pub fn band(&self, p: usize, kpi: &str) -> Option<&[Band]> {
        let j = SERIES.iter().position(|k| *k == kpi)?;
        self.bands.get(p).map(|s| s[j].as_slice())
    }

    /// Per replication of policy `p`: (token + incident cost, useful output)
    /// over the counted periods.
    pub fn cost_output(&self, p: usize) -> Vec<(f64, f64)> {
        self.points.get(p).cloned().unwrap_or_default()
    }
}

/// Per policy, the periods at which its schedule switches policy within
/// the run's `periods` (a switch after the last week is never drawn).
fn switches(sc: &Scenario, periods: usize) -> Vec<Vec<u32>> {
    sc.policies
        .iter()
        .map(|p| p.schedule.iter().map(|s| s.from).filter(|&f| f > 0 && (f as usize) < periods).collect())
        .collect()
}
