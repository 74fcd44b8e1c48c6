//! Experiments: every policy of a scenario over replications, with common
//! random numbers, summarised as means, confidence intervals and paired
//! differences against the baseline.

use rayon::prelude::*;
use serde::Serialize;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::analysis::kpi::{Kpi, KpiDef};
use crate::analysis::stats::{Estimate, RunningEstimate};
use crate::behavior::BehaviorRule;
use crate::engine::observer::{NoObserver, Observer, ObserverError, RunInfo};
use crate::engine::population::Population;
use crate::engine::rng::Streams;
use crate::engine::{Compiled, Run, RunOutput, simulate, simulate_with};
use crate::error::{Error, Result};
use crate::model::scenario::Scenario;

/// What a run will take, estimated before it starts: for telling users
/// what a large run costs and refusing one that cannot fit in memory.
///
/// The memory is an upper estimate of the peak (measured peaks were 0.5 to
/// 0.9 times it; BENCHMARKS.md, "Memory"): a base, each engineer's state in
/// every run held at once, and per policy its estimates, per-period
/// running means and output rows.
///
/// ```
/// let mut sc = goodhart::model::preset::scenario("story")?;
/// sc.org.engineers = 1_000_000;
/// let f = goodhart::Footprint::of(&sc, 2);
/// assert_eq!(f.concurrent_runs, 2);
/// assert!(f.memory_bytes > 800_000_000 && f.memory_bytes < 1_200_000_000);
/// # Ok::<(), goodhart::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Engineers x periods x replications x policies.
    pub agent_steps: u64,
    /// Peak memory, bytes (an upper estimate).
    pub memory_bytes: u64,
    /// Runs (a policy's replication) simulated at once: one per worker
    /// thread, up to the number of runs.
    pub concurrent_runs: u64,
}

impl Footprint {
    /// Memory of the program, its tables and buffers before any run.
    const BASE: f64 = 32.0 * 1024.0 * 1024.0;
    /// Per policy: its run totals, summary rows and output text (`summary.json`
    /// takes about 7.4 KB a policy, `summary.csv` 1.9 KB).
    const PER_POLICY: f64 = 24.0 * 1024.0;

    /// The footprint of running `sc` on `threads` worker threads.
    pub fn of(sc: &Scenario, threads: usize) -> Footprint {
        let policies = sc.policies.len() as u64;
        let runs = policies * sc.replications as u64;
        let concurrent_runs = (threads.max(1) as u64).min(runs.max(1));
        let engineers = sc.org.engineers as f64;
        let kpis = crate::analysis::kpi::kpi_defs(sc).len() as f64;
        // The state's cells, with slack for vectors' spare capacity and the
        // allocator (measured: up to 1.23 times the cells, at 300,000 engineers).
        let state = 1.3 * concurrent_runs as f64 * engineers * sc.state_cells_per_engineer() * 8.0;
        // Per period and KPI: the running mean and the run's own value on
        // its way to timeseries.csv (measured: about twice the first).
        let series = 2.0 * std::mem::size_of::<RunningEstimate>() as f64 * sc.periods as f64 * kpis;
        let totals = sc.replications as f64 * kpis * 8.0;
        let per_policy = Self::PER_POLICY + series + totals;
        Footprint {
            agent_steps: sc.org.engineers as u64 * sc.periods as u64 * runs,
            memory_bytes: (Self::BASE + state + policies as f64 * per_policy) as u64,
            concurrent_runs,
        }
    }
}

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
    /// Runs, indexed `[policy][replication]`. Their per-period series are
    /// empty when the experiment streamed them ([`run_streaming`]); the
    /// per-period means and intervals are in [`Results::period_estimate`]
    /// either way.
    pub runs: Vec<Vec<RunOutput>>,
    /// The conclusions tested against the model's assumptions, when a
    /// caller ran [`crate::analysis::assumptions::check`] and stored it here
    /// (the verdict, `summary.json` and the report then include it).
    pub assumptions: Option<crate::analysis::assumptions::AssumptionCheck>,
    /// Per policy, period and KPI (`[(p * periods + t) * kpis + j]`): the
    /// running estimate over replications.
    series: Vec<RunningEstimate>,
    /// Policy indices by name, made at the first look-up: reports look up
    /// every policy by name, which a scan would make quadratic.
    lookup: OnceLock<HashMap<String, usize>>,
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
    /// Paired difference (policy - baseline) per replication: mean and 95%
    /// CI; `None` when the KPI is undefined under the baseline (a metric
    /// KPI against a baseline with no metric).
    pub diff: Option<Estimate>,
}

/// Runs every policy of `scenario` in every replication. Replications run in
/// parallel; within one, every policy meets the same engineers and shocks.
///
/// ```
/// let mut sc = goodhart::model::preset::scenario("adversarial")?;
/// sc.replications = 2;
/// sc.periods = 6;
/// let r = goodhart::run(&sc)?;
/// // Paired difference (common random numbers) against the baseline:
/// let d = r.paired_diff("kirorank", "no-leaderboard", "gaming_share").unwrap();
/// assert!(d.mean > 0.0);
/// # Ok::<(), goodhart::Error>(())
/// ```
pub fn run(scenario: &Scenario) -> Result<Results> {
    Experiment::new(scenario).run()
}

/// Like [`run`], calling `progress(done)` after each finished run
/// (policy x replication) from whichever thread finished it.
pub fn run_with_progress(scenario: &Scenario, progress: &(dyn Fn(usize) + Sync)) -> Result<Results> {
    Experiment::new(scenario).progress(progress).run()
}

/// An experiment to run: a scenario, the behaviour its engineers follow
/// (the scenario's own, or a [`BehaviorRule`] of yours) and an optional
/// progress callback.
///
/// ```
/// use goodhart::behavior::HillClimb;
/// use goodhart::Experiment;
///
/// let mut sc = goodhart::model::preset::scenario("adversarial")?;
/// (sc.periods, sc.replications) = (3, 2);
/// let climbers = Experiment::new(&sc).behavior(HillClimb { step: 1.0 }).run()?;
/// let solvers = Experiment::new(&sc).run()?;
/// // Hill-climbers follow the token board only a step a week: over the
/// // first weeks they burn fewer tokens than best responders.
/// let tokens = |r: &goodhart::Results| r.estimate("kirorank", "tokens").unwrap().mean;
/// assert!(tokens(&climbers) < tokens(&solvers));
/// # Ok::<(), goodhart::Error>(())
/// ```
pub struct Experiment<'a, R = ScenarioRule> {
    scenario: &'a Scenario,
    rule: R,
    progress: &'a (dyn Fn(usize) + Sync),
    kpis: Vec<Arc<dyn Kpi>>,
}

/// The behaviour a scenario names in its `[behavior]` section (the
/// default of an [`Experiment`]).
#[derive(Debug, Clone, Copy)]
pub struct ScenarioRule;

/// A behaviour of the caller's, given by [`Experiment::behavior`].
#[derive(Debug, Clone, Copy)]
pub struct CustomRule<B>(B);

/// How an [`Experiment`] simulates one run; implemented by
/// [`ScenarioRule`] and [`CustomRule`] only.
pub trait Simulator: Sync + sealed::Sealed {
    #[doc(hidden)]
    fn simulate(&self, run: Run, observer: &mut dyn Observer) -> std::result::Result<RunOutput, ObserverError>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ScenarioRule {}
    impl<B> Sealed for super::CustomRule<B> {}
}

impl Simulator for ScenarioRule {
    fn simulate(&self, r: Run, observer: &mut dyn Observer) -> std::result::Result<RunOutput, ObserverError> {
        simulate(r, observer)
    }
}

impl<B: BehaviorRule> Simulator for CustomRule<B> {
    fn simulate(&self, r: Run, observer: &mut dyn Observer) -> std::result::Result<RunOutput, ObserverError> {
        simulate_with(&self.0, r, observer)
    }
}

impl<'a> Experiment<'a, ScenarioRule> {
    /// Every policy of `scenario`, its engineers following the behaviour it names.
    pub fn new(scenario: &'a Scenario) -> Self {
        Experiment { scenario, rule: ScenarioRule, progress: &|_| {}, kpis: Vec::new() }
    }
}

impl<'a, R: Simulator> Experiment<'a, R> {
    /// Engineers follow `rule` instead of the scenario's `[behavior]`
    /// model (its temperature and belief rule still apply).
    pub fn behavior<B: BehaviorRule>(self, rule: B) -> Experiment<'a, CustomRule<B>> {
        Experiment { scenario: self.scenario, rule: CustomRule(rule), progress: self.progress, kpis: self.kpis }
    }

    /// Adds a KPI of yours after the built-in ones: it appears in
    /// [`Results`], the summary and the time series like any other.
    pub fn kpi(mut self, kpi: impl Kpi + 'static) -> Self {
        self.kpis.push(Arc::new(kpi));
        self
    }

    /// Calls `progress(done)` after each finished run (policy x
    /// replication), from whichever thread finished it.
    pub fn progress(self, progress: &'a (dyn Fn(usize) + Sync)) -> Self {
        Experiment { progress, ..self }
    }

    /// Runs it, keeping every run's per-period series.
    pub fn run(&self) -> Result<Results> {
        self.run_streaming(true, &mut |_, _, _| Ok(()))
    }

    /// Runs it, handing every finished run to `sink` in canonical order (see
    /// [`run_streaming`]).
    pub fn run_streaming(
        &self,
        keep_series: bool,
        sink: &mut dyn FnMut(usize, usize, &RunOutput) -> std::result::Result<(), String>,
    ) -> Result<Results> {
        let mut each = |p: usize, rep: usize, out: &RunOutput, _: NoObserver| sink(p, rep, out);
        stream(self.scenario, &self.rule, &self.kpis, self.progress, keep_series, &|_| NoObserver, &mut each)
    }

    /// Runs it with an observer per run, made by `make` (on the thread that
    /// runs it); hands each run's observer and output to `sink` in canonical
    /// order (replication by replication, policies in scenario order), then
    /// drops the run's per-period series. A sink error stops the experiment
    /// ([`Error::Sink`]), as does an observer's ([`Error::Observer`]).
    pub fn run_observed<O: Observer>(
        &self,
        make: &(dyn Fn(&RunInfo) -> O + Sync),
        sink: &mut dyn FnMut(&RunInfo, O, &RunOutput) -> std::result::Result<(), String>,
    ) -> Result<Results> {
        let infos = run_infos(self.scenario);
        let np = self.scenario.policies.len();
        let mut each = |p: usize, rep: usize, out: &RunOutput, o: O| sink(&infos[rep * np + p], o, out);
        stream(self.scenario, &self.rule, &self.kpis, self.progress, false, make, &mut each)
    }
}

/// Replications run at once per thread: enough to keep every thread busy
/// while the finished ones are handed on in order.
const BATCH_PER_THREAD: usize = 4;

/// Runs the experiment and hands every finished run to `sink(policy,
/// replication, run)` in canonical order (replication by replication,
/// policies in scenario order) whatever the thread count, so that a caller
/// can stream the per-period series to disk. Replications run in parallel
/// in batches; unless `keep_series`, each run's per-period series is
/// dropped once the sink has seen it, so memory does not grow with
/// replications or periods (only the run totals, a few numbers per run,
/// and the per-period estimates are kept). A sink error stops the
/// experiment and is returned as [`Error::Sink`].
pub fn run_streaming(
    scenario: &Scenario,
    progress: &(dyn Fn(usize) + Sync),
    keep_series: bool,
    sink: &mut dyn FnMut(usize, usize, &RunOutput) -> std::result::Result<(), String>,
) -> Result<Results> {
    Experiment::new(scenario).progress(progress).run_streaming(keep_series, sink)
}

/// What each run of `scenario` is, replication by replication, policies in
/// scenario order.
fn run_infos(scenario: &Scenario) -> Vec<RunInfo> {
    let activities: Vec<String> = scenario.activities.iter().map(|a| a.name.clone()).collect();
    (0..scenario.replications as usize)
        .flat_map(|replication| {
            let activities = &activities;
            scenario.policies.iter().enumerate().map(move |(policy_index, p)| RunInfo {
                policy: p.name.clone(),
                policy_index,
                replication,
                periods: scenario.periods as usize,
                engineers: scenario.org.engineers,
                activities: activities.clone(),
            })
        })
        .collect()
}

/// What `stream` hands each finished run to: policy, replication, output
/// and the run's observer.
type EachRun<'s, O> = dyn FnMut(usize, usize, &RunOutput, O) -> std::result::Result<(), String> + 's;

#[allow(clippy::too_many_arguments)]
fn stream<S: Simulator, O: Observer>(
    scenario: &Scenario,
    sim: &S,
    kpis: &[Arc<dyn Kpi>],
    progress: &(dyn Fn(usize) + Sync),
    keep_series: bool,
    make: &(dyn Fn(&RunInfo) -> O + Sync),
    sink: &mut EachRun<'_, O>,
) -> Result<Results> {
    let mut c = Compiled::new(scenario)?;
    c.add_kpis(kpis)?;
    let infos = run_infos(scenario);
    if keep_series {
        scenario.check_series_fit()?;
    }
    let np = c.policies();
    let nk = c.kpis.len();
    let periods = scenario.periods as usize;
    let reps = scenario.replications as usize;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let batch = BATCH_PER_THREAD * rayon::current_num_threads().max(1);
    let mut runs: Vec<Vec<RunOutput>> = (0..np).map(|_| Vec::with_capacity(reps)).collect();
    let mut series = vec![RunningEstimate::default(); np * periods * nk];
    for first in (0..reps).step_by(batch) {
        let by_rep: Vec<Result<Vec<(RunOutput, O)>>> = (first..(first + batch).min(reps))
            .into_par_iter()
            .map(|rep| {
                let streams = Streams::new(scenario.seed, rep as u64);
                let pop = Population::draw(&scenario.traits, scenario.org.engineers, &streams)?;
                (0..np)
                    .into_par_iter()
                    .map(|p| {
                        let info = &infos[rep * np + p];
                        let mut observer = make(info);
                        let failed = |e: ObserverError| Error::Observer {
                            policy: info.policy.clone(),
                            replication: rep,
                            message: e.0,
                        };
                        observer.begin(info).map_err(failed)?;
                        let run = Run { c: &c, policy: p, rep: rep as u32, pop: &pop, streams: &streams };
                        let out = sim.simulate(run, &mut observer).map_err(failed)?;
                        observer.finish(info).map_err(failed)?;
                        progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
                        Ok((out, observer))
                    })
                    .collect()
            })
            .collect();
        for (k, outs) in by_rep.into_iter().enumerate() {
            for (p, (mut out, observer)) in outs?.into_iter().enumerate() {
                sink(p, first + k, &out, observer).map_err(Error::Sink)?;
                for (t, row) in out.per_period.chunks(nk).enumerate() {
                    for (j, &x) in row.iter().enumerate() {
                        series[(p * periods + t) * nk + j].push(x);
                    }
                }
                if !keep_series {
                    out.per_period = Vec::new();
                }
                runs[p].push(out);
            }
        }
    }
    Ok(Results {
        policies: scenario.policies.iter().map(|p| p.name.clone()).collect(),
        baseline: scenario.baseline_index(),
        kpis: c.kpis.clone(),
        scenario: c.scenario,
        runs,
        series,
        assumptions: None,
        lookup: OnceLock::new(),
    })
}

impl Results {
    /// Results from runs made elsewhere (tests of what outputs say about
    /// them): the per-period estimates are fed from the runs' series.
    #[cfg(test)]
    pub(crate) fn by_hand(scenario: Scenario, kpis: Vec<KpiDef>, runs: Vec<Vec<RunOutput>>) -> Results {
        let (nk, periods) = (kpis.len(), scenario.periods as usize);
        let mut series = vec![RunningEstimate::default(); runs.len() * periods * nk];
        for (p, reps) in runs.iter().enumerate() {
            for out in reps {
                for (i, &x) in out.per_period.iter().enumerate() {
                    series[p * periods * nk + i].push(x);
                }
            }
        }
        Results {
            policies: scenario.policies.iter().map(|p| p.name.clone()).collect(),
            baseline: scenario.baseline_index(),
            kpis,
            scenario,
            runs,
            series,
            assumptions: None,
            lookup: OnceLock::new(),
        }
    }

    /// Index of a KPI by name.
    pub fn kpi_index(&self, kpi: &str) -> Option<usize> {
        self.kpis.iter().position(|d| d.name == kpi)
    }

    /// Index of a policy by name.
    pub fn policy_index(&self, policy: &str) -> Option<usize> {
        let lookup = self.lookup.get_or_init(|| {
            // In reverse, so that the first of two equal names wins.
            self.policies.iter().enumerate().rev().map(|(i, p)| (p.clone(), i)).collect()
        });
        match lookup.get(policy) {
            // Checked, so a `policies` edited after the first look-up falls back to a scan.
            Some(&i) if self.policies.get(i).is_some_and(|p| p == policy) => Some(i),
            _ => self.policies.iter().position(|p| p == policy),
        }
    }

    /// A KPI's run-level value in each replication of a policy; `None` for
    /// an unknown policy or KPI, or a KPI undefined under the policy (NaN in
    /// a replication: a metric KPI of a policy with no metric).
    pub fn values(&self, policy: &str, kpi: &str) -> Option<Vec<f64>> {
        self.values_at(self.policy_index(policy)?, self.kpi_index(kpi)?)
    }

    /// [`Results::values`] by policy and KPI index.
    fn values_at(&self, p: usize, j: usize) -> Option<Vec<f64>> {
        let v: Vec<f64> = self.runs.get(p)?.iter().map(|r| r.totals[j]).collect();
        (!v.iter().any(|x| x.is_nan())).then_some(v)
    }

    /// Like [`Results::values`], with an error that says why there are none:
    /// an unknown policy or KPI (with a "did you mean"), or a KPI undefined
    /// under the policy.
    ///
    /// ```
    /// let mut sc = goodhart::model::preset::scenario("adversarial")?;
    /// (sc.replications, sc.periods, sc.org.engineers) = (2, 4, 40);
    /// let r = goodhart::run(&sc)?;
    /// let e = r.try_values("kirorank", "tokn_cost").unwrap_err();
    /// assert!(e.to_string().contains("did you mean `token_cost`"));
    /// assert_eq!(r.try_values("kirorank", "token_cost")?.len(), 2);
    /// let e = r.try_values("no-leaderboard", "top_k_precision").unwrap_err();
    /// assert!(e.to_string().contains("it has no metric"));
    /// let e = r.try_paired_diff("kirorank", "no-leaderbord", "token_cost").unwrap_err();
    /// assert!(e.to_string().contains("did you mean `no-leaderboard`"));
    /// # Ok::<(), goodhart::Error>(())
    /// ```
    pub fn try_values(&self, policy: &str, kpi: &str) -> Result<Vec<f64>> {
        let policies = self.policies.iter().map(String::as_str);
        let p = self.policy_index(policy).ok_or_else(|| Error::unknown("policy", "policy", policy, policies))?;
        let kpis = self.kpis.iter().map(|d| d.name.as_str());
        self.kpi_index(kpi).ok_or_else(|| Error::unknown("kpi", "KPI", kpi, kpis))?;
        self.values(policy, kpi).ok_or_else(|| {
            Error::invalid("kpi", kpi, format!("a KPI defined under `{}` (it has no metric)", self.policies[p]))
        })
    }

    /// Like [`Results::paired_diff`], with an error naming an unknown policy
    /// or KPI, or one undefined under either policy.
    pub fn try_paired_diff(&self, a: &str, b: &str, kpi: &str) -> Result<Estimate> {
        let (va, vb) = (self.try_values(a, kpi)?, self.try_values(b, kpi)?);
        let d: Vec<f64> = va.iter().zip(&vb).map(|(x, y)| x - y).collect();
        Ok(Estimate::of(&d))
    }

    /// Mean and 95% CI of a KPI over replications.
    pub fn estimate(&self, policy: &str, kpi: &str) -> Option<Estimate> {
        self.values(policy, kpi).map(|v| Estimate::of(&v))
    }

    /// Paired difference `a - b` of a KPI over replications (common random
    /// numbers); `None` as for [`Results::values`] ([`Results::try_paired_diff`]
    /// says which name is wrong).
    pub fn paired_diff(&self, a: &str, b: &str, kpi: &str) -> Option<Estimate> {
        let (va, vb) = (self.values(a, kpi)?, self.values(b, kpi)?);
        let d: Vec<f64> = va.iter().zip(&vb).map(|(x, y)| x - y).collect();
        Some(Estimate::of(&d))
    }

    /// Mean and 95% CI over replications of KPI `kpi` (an index into
    /// [`Results::kpis`]) under policy `p` in period `t`.
    pub fn period_estimate(&self, p: usize, kpi: usize, t: usize) -> Estimate {
        let (nk, periods) = (self.kpis.len(), self.scenario.periods as usize);
        self.series[(p * periods + t) * nk + kpi].estimate()
    }

    /// Mean over replications of a KPI in each period.
    pub fn period_means(&self, policy: &str, kpi: &str) -> Option<Vec<f64>> {
        let (p, j) = (self.policy_index(policy)?, self.kpi_index(kpi)?);
        Some((0..self.scenario.periods as usize).map(|t| self.period_estimate(p, j, t).mean).collect())
    }

    /// The comparison table: one row per policy and KPI defined under it
    /// (a policy with no metric has no rows for the metric KPIs).
    pub fn summary(&self) -> Vec<SummaryRow> {
        // By index: a look-up by name per row would make this quadratic in
        // the number of policies.
        let mut rows = Vec::new();
        for (p, name) in self.policies.iter().enumerate() {
            for (j, d) in self.kpis.iter().enumerate() {
                let Some(v) = self.values_at(p, j) else { continue };
                let diff = self.values_at(self.baseline, j).map(|b| {
                    let d: Vec<f64> = v.iter().zip(&b).map(|(x, y)| x - y).collect();
                    Estimate::of(&d)
                });
                rows.push(SummaryRow { policy: name.clone(), kpi: d.name.clone(), estimate: Estimate::of(&v), diff });
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
