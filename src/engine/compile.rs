//! A scenario compiled for the engine: metrics resolved to signal indices,
//! each policy's planning tables, and schedules as (first period, stage).

use std::collections::HashMap;
use std::sync::Arc;

use crate::analysis::kpi::{Builtin, Kpi, KpiDef, PeriodView, builtins};
use crate::behavior::best_response::{PlanTables, Ratio, Slope};
use crate::error::{Error, Result};
use crate::model::activity::Activity;
use crate::model::metric::{self, CustomMetric, Metric, Noise};
use crate::model::reward::Reward;
use crate::model::scenario::Scenario;

/// A metric compiled against the scenario's signal indices.
#[derive(Debug, Clone)]
pub(crate) struct MetricEval {
    pub weights: Vec<(usize, f64)>,
    /// A ratio's denominator weights (empty: not a ratio).
    pub per: Vec<(usize, f64)>,
    pub custom: Option<(Arc<dyn CustomMetric>, Vec<usize>)>,
    pub noise: Noise,
    pub delay: usize,
    pub window: usize,
    /// The most one period counts (`Metric::cap`).
    pub cap: Option<f64>,
    /// The variance of one period's count noise per unit of expected
    /// metric (see [`count_dispersion`]); 0 until set.
    pub dispersion: f64,
}

impl MetricEval {
    /// `signals`: each signal's index by name.
    pub fn compile(m: &Metric, signals: &HashMap<&str, usize>) -> MetricEval {
        let idx = |s: &str| signals.get(s).copied().unwrap_or(0);
        MetricEval {
            weights: m.weights.iter().map(|(s, w)| (idx(s), *w)).collect(),
            per: m.per.iter().map(|(s, w)| (idx(s), *w)).collect(),
            custom: m.custom.as_ref().map(|c| (c.clone(), c.signals().iter().map(|s| idx(s)).collect())),
            noise: m.noise,
            delay: m.delay as usize,
            window: m.window as usize,
            cap: m.cap,
            dispersion: 0.0,
        }
    }

    /// One period's metric before noise: the weighted sum, the ratio or the
    /// custom observation of the signals, at most the cap.
    #[inline]
    pub fn raw(&self, sig: &[f64], buf: &mut Vec<f64>) -> f64 {
        let raw = self.uncapped(sig, buf);
        match self.cap {
            // (A NaN stays NaN.)
            Some(c) if raw > c => c,
            _ => raw,
        }
    }

    #[inline]
    fn uncapped(&self, sig: &[f64], buf: &mut Vec<f64>) -> f64 {
        match &self.custom {
            Some((c, idx)) => {
                buf.clear();
                buf.extend(idx.iter().map(|&i| sig[i]));
                c.observe(buf)
            }
            None if self.per.is_empty() => self.weights.iter().map(|&(i, w)| w * sig[i]).sum(),
            None => Ratio::value(
                self.weights.iter().map(|&(i, w)| w * sig[i]).sum(),
                self.per.iter().map(|&(i, w)| w * sig[i]).sum(),
            ),
        }
    }

    /// The count noise an engineer believes is on their published metric:
    /// variance per unit of expected metric (the window averages
    /// independent periods).
    pub fn belief_dispersion(&self) -> f64 {
        self.dispersion / self.window as f64
    }

    /// The noise an engineer believes is on their published metric
    /// (the window averages independent draws).
    pub fn belief_noise(&self) -> Noise {
        let f = (self.window as f64).sqrt();
        match self.noise {
            Noise::None => Noise::None,
            Noise::Normal { sd } => Noise::Normal { sd: sd / f },
            Noise::Lognormal { sd } => Noise::Lognormal { sd: sd / f },
        }
    }
}

/// A non-scheduled policy compiled for the engine.
#[derive(Debug, Clone)]
pub(crate) struct StagePolicy {
    pub tables: PlanTables,
    /// The same without incentive-related terms, for the pre-period.
    pub free: PlanTables,
    /// The rewarded metric, or the diagnostic one (tokens) if none.
    pub metric: MetricEval,
    pub rewarded: bool,
    pub reward: Reward,
    pub audit: Option<crate::model::policy::Audit>,
    /// The reward costs the organisation no money (`Policy::in_kind`).
    pub in_kind: bool,
    /// A token budget over blocks of periods (`Policy::token_budget`).
    pub token_budget: Option<crate::model::policy::TokenBudget>,
    /// Stack ranking on the published board (`Policy::forced_ranking`).
    pub forced_ranking: Option<crate::model::turnover::ForcedRanking>,
    /// Rules that switch to another stage during a run (`Policy::adapt`).
    pub adapt: Vec<Rule>,
    /// The rewarded metric's `review_wait` terms, when it counts them
    /// (see [`Wait`]).
    pub wait: Option<Wait>,
}

/// The part of a rewarded metric that counts `review_wait`, per activity
/// as a polynomial in the AI share per productive unit, at a waiting factor
/// of one day per review hour: the unit's review hours times the metric's
/// weight on `review_wait` (`num`) and, for a ratio, its denominator's
/// (`den`). The factor is last period's (the queue's `rho / (1 - rho)` per
/// working day), known when engineers plan but not when the scenario is
/// compiled, so the stage's tables leave these terms out and each period's
/// are the stage's plus the factor times these ([`Compiled::period_plan`]):
/// engineers plan with the wait their changes will have, exactly.
#[derive(Debug, Clone)]
pub(crate) struct Wait {
    num: Vec<[f64; 3]>,
    den: Vec<[f64; 3]>,
}

/// A `Policy::adapt` rule, compiled: what fires it and where it leads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    /// Fires when this KPI (index into the period's row) has been above
    /// `above` or below `below` for `hold` periods in a row ...
    pub kpi: Option<usize>,
    pub above: Option<f64>,
    pub below: Option<f64>,
    pub hold: u32,
    /// ... or once the stage has been in effect `after` periods.
    pub after: Option<u32>,
    /// The stage switched to (index into `stage_policies`), `notice`
    /// periods after the rule fires.
    pub target: usize,
    pub notice: u32,
}

impl Rule {
    /// Whether the condition holds on a period's KPI row (a NaN KPI never fires).
    pub fn holds(&self, row: &[f64]) -> bool {
        let Some(j) = self.kpi else { return false };
        let x = row[j];
        self.above.is_some_and(|a| x > a) || self.below.is_some_and(|b| x < b)
    }
}

/// A scenario compiled for the engine.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The scenario.
    pub scenario: Scenario,
    /// KPI definitions, in output order.
    pub kpis: Vec<KpiDef>,
    /// The KPIs themselves, in the same order.
    pub(crate) kpi_list: Vec<KpiRef>,
    pub(crate) stage_policies: Vec<StagePolicy>,
    /// Per scenario policy: (first period, index into `stage_policies`).
    pub(crate) schedules: Vec<Vec<(u32, usize)>>,
    /// Per activity: its direct signal contributions as (signal index, per
    /// productive unit), resolved once rather than by name per agent-step.
    pub(crate) direct_signals: Vec<Vec<(usize, f64)>>,
    /// Per activity: its signals of AI use as (signal index, per productive
    /// unit at AI share 1).
    pub(crate) ai_signals: Vec<Vec<(usize, f64)>>,
    /// Activities, signals, and the longest metric history any stage needs
    /// (delay + window), in periods.
    pub(crate) k: usize,
    pub(crate) s: usize,
    pub(crate) l: usize,
    /// Engineers can leave and be replaced ([`Scenario::has_turnover`]).
    pub(crate) turnover: bool,
    /// Per activity, each signal per productive unit (see `unit_signals`):
    /// a metric counting `review_wait` has its count noise worked out each
    /// period from them.
    unit_signals: Vec<Vec<[f64; 3]>>,
}

/// What engineers plan with in one period, when it differs from the
/// stage's tables: those of a metric counting `review_wait` at the period's
/// waiting factor, and the count noise of that metric there.
pub(crate) struct PeriodPlan {
    pub tables: PlanTables,
    pub dispersion: f64,
}

impl Compiled {
    /// Compiles a validated scenario.
    pub fn new(scenario: &Scenario) -> Result<Compiled> {
        scenario.validate()?;
        let sc = scenario.clone();
        let signals = sc.signals();
        let signal_index: HashMap<&str, usize> = signals.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
        let kpi_list: Vec<KpiRef> = builtins(&sc).into_iter().map(KpiRef::Builtin).collect();
        let kpis: Vec<KpiDef> = kpi_list.iter().map(KpiRef::def).collect();
        let inc = sc.org.incident_probability;
        let ns = signals.len();
        let direct_signals: Vec<Vec<(usize, f64)>> = sc
            .activities
            .iter()
            .map(|a| a.signals.iter().filter_map(|(s, w)| Some((*signal_index.get(s.as_str())?, *w))).collect())
            .collect();
        let ai_signals: Vec<Vec<(usize, f64)>> = sc
            .activities
            .iter()
            .map(|a| a.ai_signals.iter().filter_map(|(s, w)| Some((*signal_index.get(s.as_str())?, *w))).collect())
            .collect();
        let unit_signals: Vec<Vec<[f64; 3]>> = sc
            .activities
            .iter()
            .zip(&direct_signals)
            .zip(&ai_signals)
            .map(|((a, direct), ai)| unit_signals(&sc, a, ns, direct, ai))
            .collect();
        let tokens_metric = Metric::builtin("tokens", sc.org.survival_window)?;
        let mut stage_policies = Vec::new();
        let mut base_index = vec![usize::MAX; sc.policies.len()];
        for (pi, p) in sc.policies.iter().enumerate() {
            if !p.schedule.is_empty() {
                continue;
            }
            let rewarded = p.metric.is_some();
            let m = p.metric.as_ref().unwrap_or(&tokens_metric);
            let mut metric = MetricEval::compile(m, &signal_index);
            metric.dispersion = count_dispersion(&sc, &metric, &unit_signals, 0.0);
            let per = metric.per.clone();
            let is_ratio = rewarded && !per.is_empty();
            // A weighted sum of signals per productive unit (a polynomial
            // in the AI share) and per token; `review_wait` apart (see `Wait`).
            let poly = |weights: &[(usize, f64)], act: usize| -> [f64; 3] {
                let mut c = [0.0; 3];
                if rewarded {
                    for &(i, w) in weights.iter().filter(|(i, _)| *i != metric::SIG_TOKENS && *i != metric::SIG_WAIT) {
                        for (cj, uj) in c.iter_mut().zip(unit_signals[act][i]) {
                            *cj += w * uj;
                        }
                    }
                }
                c
            };
            let per_token = |weights: &[(usize, f64)]| -> f64 {
                let w: f64 = weights.iter().filter(|(i, _)| *i == metric::SIG_TOKENS).map(|(_, w)| w).sum();
                if rewarded { w } else { 0.0 }
            };
            let acts = 0..sc.activities.len();
            let mu: Vec<[f64; 3]> = acts.clone().map(|a| poly(&metric.weights, a)).collect();
            let on_wait = |weights: &[(usize, f64)]| -> Vec<[f64; 3]> {
                let w: f64 = weights.iter().filter(|(i, _)| *i == metric::SIG_WAIT).map(|(_, w)| w).sum();
                unit_signals.iter().map(|v| v[metric::SIG_WAIT].map(|x| w * x)).collect()
            };
            let counts_wait =
                |weights: &[(usize, f64)]| weights.iter().any(|&(i, w)| i == metric::SIG_WAIT && w != 0.0);
            let wait = (rewarded && (counts_wait(&metric.weights) || counts_wait(&per)))
                .then(|| Wait { num: on_wait(&metric.weights), den: on_wait(&per) });
            let w_tok = per_token(&metric.weights);
            let h = sc.org.hours_per_period;
            let felt = sc.org.incident_share * sc.org.incident_cost;
            let tables = PlanTables {
                eff_value: unit_signals.iter().map(|v| v[metric::SIG_VALUE][0]).collect(),
                // Expected incidents per productive unit, before any direct
                // signal an activity adds (those are measured, not caused).
                felt_incidents: sc.activities.iter().map(|a| felt * a.changes_per_hour * a.defect_rate * inc).collect(),
                convexity: sc.activities.iter().map(|a| a.convexity).collect(),
                mu_p: mu.iter().map(|c| c[0]).collect(),
                w_tok,
                tokens: sc.activities.iter().map(|a| a.tokens_per_hour).collect(),
                gaming: sc.activities.iter().map(|a| a.gaming).collect(),
                uses_ai: sc.activities.iter().map(|a| a.uses_ai).collect(),
                tau0: sc.activities.iter().map(|a| a.tau0).collect(),
                tau_max: sc.activities.iter().map(|a| if a.uses_ai { a.max_tokens_per_hour } else { 0.0 }).collect(),
                e_max: sc
                    .activities
                    .iter()
                    .map(|a| if a.uses_ai { (-a.max_tokens_per_hour / a.tau0).exp() } else { 1.0 })
                    .collect(),
                skill_scaled: sc.activities.iter().map(|a| a.skill_scaled).collect(),
                price: sc.org.price_per_token(),
                audit_per_hour: p.audit.map_or(0.0, |a| a.probability * a.sensitivity * a.penalty / h),
                // An audit of changes: each change of a gaming activity is
                // caught with probability changes x sensitivity, so the
                // expected penalty is linear in its expected changes (which
                // do not depend on the AI share: no slope term).
                audit_per_unit: sc
                    .activities
                    .iter()
                    .map(|a| match p.audit {
                        Some(au) if a.gaming => a.changes_per_hour * au.catch_per_change() * au.penalty,
                        _ => 0.0,
                    })
                    .collect(),
                cap: p.token_cap,
                effort: sc.effort_cost,
                slope: {
                    let slope: Vec<Slope> = sc
                        .activities
                        .iter()
                        .zip(&unit_signals)
                        .zip(&mu)
                        .map(|((a, v), c)| Slope {
                            value: v[metric::SIG_VALUE][1],
                            incidents: felt * a.changes_per_hour * a.defect_rate * a.ai_defect_factor * inc,
                            metric: c[1],
                            metric2: c[2],
                        })
                        .collect();
                    // A ratio's search writes its own metric terms into them.
                    (is_ratio || slope.iter().any(|s| *s != Slope::default())).then_some(slope)
                },
                ratio: is_ratio.then(|| {
                    Arc::new(Ratio {
                        num: mu.clone(),
                        num_tok: w_tok,
                        den: acts.map(|a| poly(&per, a)).collect(),
                        den_tok: per_token(&per),
                    })
                }),
            };
            base_index[pi] = stage_policies.len();
            let free = PlanTables {
                audit_per_hour: 0.0,
                audit_per_unit: vec![0.0; tables.len()],
                cap: None,
                ..tables.clone()
            };
            stage_policies.push(StagePolicy {
                tables,
                free,
                metric,
                rewarded,
                reward: p.reward.resolved(sc.org.engineers),
                audit: p.audit,
                in_kind: p.in_kind,
                token_budget: p.token_budget,
                forced_ranking: p.forced_ranking,
                adapt: Vec::new(),
                wait,
            });
        }
        let schedules = sc
            .policies
            .iter()
            .enumerate()
            .map(|(pi, p)| {
                if p.schedule.is_empty() {
                    vec![(0, base_index[pi])]
                } else {
                    p.schedule
                        .iter()
                        .map(|st| {
                            (st.from, base_index[sc.policies.iter().position(|q| q.name == st.policy).unwrap_or(0)])
                        })
                        .collect()
                }
            })
            .collect();
        // Rules name policies; stages are what the engine switches between.
        let kpi_index: HashMap<&str, usize> = kpis.iter().enumerate().map(|(j, d)| (d.name.as_str(), j)).collect();
        let policy_index: HashMap<&str, usize> =
            sc.policies.iter().enumerate().map(|(i, p)| (p.name.as_str(), i)).collect();
        for (pi, p) in sc.policies.iter().enumerate() {
            if !p.schedule.is_empty() {
                continue;
            }
            stage_policies[base_index[pi]].adapt = p
                .adapt
                .iter()
                .map(|a| Rule {
                    kpi: a.kpi.as_deref().and_then(|k| kpi_index.get(k).copied()),
                    above: a.above,
                    below: a.below,
                    hold: a.hold.unwrap_or(1),
                    after: a.after,
                    target: base_index[policy_index.get(a.switch_to.as_str()).copied().unwrap_or(pi)],
                    notice: a.notice.unwrap_or(0),
                })
                .collect();
        }
        let k = sc.activities.len();
        let l = stage_policies.iter().map(|p| p.metric.delay + p.metric.window).max().unwrap_or(1).max(1);
        let turnover = sc.has_turnover();
        Ok(Compiled {
            k,
            s: ns,
            l,
            turnover,
            kpis,
            kpi_list,
            stage_policies,
            schedules,
            direct_signals,
            ai_signals,
            unit_signals,
            scenario: sc,
        })
    }

    /// What engineers plan with in a period whose waiting factor is `wait`
    /// (days a change waits per hour of review it needs), when `stage`'s
    /// metric counts `review_wait` (`None` otherwise: the stage's tables
    /// and count noise hold). Built once per period, for every engineer.
    pub(crate) fn period_plan(&self, stage: &StagePolicy, wait: f64) -> Option<PeriodPlan> {
        let terms = stage.wait.as_ref()?;
        let mut t = stage.tables.clone();
        for (m, c) in t.mu_p.iter_mut().zip(&terms.num) {
            *m += wait * c[0];
        }
        // The planner skips the AI share's terms when none moves anything.
        if t.slope.is_some() || terms.num.iter().any(|c| c[1] != 0.0 || c[2] != 0.0) {
            let mut slope = t.slope.take().unwrap_or_else(|| vec![Slope::default(); t.len()]);
            for (sl, c) in slope.iter_mut().zip(&terms.num) {
                sl.metric += wait * c[1];
                sl.metric2 += wait * c[2];
            }
            t.slope = Some(slope);
        }
        if let Some(r) = &t.ratio {
            let add = |base: &[[f64; 3]], terms: &[[f64; 3]]| -> Vec<[f64; 3]> {
                base.iter().zip(terms).map(|(b, c)| std::array::from_fn(|j| b[j] + wait * c[j])).collect()
            };
            t.ratio = Some(Arc::new(Ratio { num: add(&r.num, &terms.num), den: add(&r.den, &terms.den), ..**r }));
        }
        let mut metric = stage.metric.clone();
        metric.dispersion = count_dispersion(&self.scenario, &metric, &self.unit_signals, wait);
        Some(PeriodPlan { tables: t, dispersion: metric.belief_dispersion() })
    }

    /// Adds KPIs after the built-in ones; names must be new.
    pub(crate) fn add_kpis(&mut self, extra: &[Arc<dyn Kpi>]) -> Result<()> {
        for kpi in extra {
            let def = kpi.def();
            if def.name.is_empty() || self.kpis.iter().any(|d| d.name == def.name) {
                return Err(Error::invalid("kpi.name", &def.name, "a name no other KPI has"));
            }
            self.kpis.push(def);
            self.kpi_list.push(KpiRef::Custom(kpi.clone()));
        }
        Ok(())
    }

    /// Number of scenario policies.
    pub fn policies(&self) -> usize {
        self.schedules.len()
    }
}

/// A built-in KPI (dispatched statically) or one of the caller's.
#[derive(Clone)]
pub(crate) enum KpiRef {
    Builtin(Builtin),
    Custom(Arc<dyn Kpi>),
}

impl KpiRef {
    pub fn def(&self) -> KpiDef {
        match self {
            KpiRef::Builtin(b) => b.def(),
            KpiRef::Custom(c) => c.def(),
        }
    }

    #[inline]
    pub fn compute(&self, p: &PeriodView) -> f64 {
        match self {
            KpiRef::Builtin(b) => b.compute(p),
            KpiRef::Custom(c) => c.compute(p),
        }
    }
}

impl std::fmt::Debug for KpiRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KpiRef::Builtin(b) => b.fmt(f),
            KpiRef::Custom(c) => write!(f, "Custom({})", c.def().name),
        }
    }
}

/// One activity's expected signals per productive unit, each a polynomial
/// `c0 + c1 x + c2 x²` in the share of the work AI does, `x`: AI raises the
/// defect rate by `ai_defect_factor x`, change size by `ai_size_factor x`
/// and review per change by `ai_review_factor x`, and a change counts `x`
/// AI-assisted changes. `review_wait` is given at a waiting factor of one
/// day per review hour (the changes' review hours; the period's factor
/// multiplies it, see [`Wait`]). `direct` holds its direct signals
/// (constants), `ai` its signals of AI use (linear in `x`).
fn unit_signals(sc: &Scenario, a: &Activity, ns: usize, direct: &[(usize, f64)], ai: &[(usize, f64)]) -> Vec<[f64; 3]> {
    let (rb, inc) = (sc.org.rollback_probability(), sc.org.incident_probability);
    let mut v = vec![[0.0; 3]; ns];
    let c = a.changes_per_hour;
    let (d, dd) = (a.defect_rate, a.defect_rate * a.ai_defect_factor);
    // Survival 1 - d(x) rb, and size times survival (degree two; the
    // constant terms multiply in the order they always have).
    let surv = [1.0 - d * rb, -dd * rb];
    let (z, zs) = (a.change_size, a.change_size * a.ai_size_factor);
    let sized = [0.0, z * surv[1] + zs * surv[0], zs * surv[1]];
    v[metric::SIG_VALUE] = [a.value_per_hour * surv[0], a.value_per_hour * surv[1], 0.0];
    v[metric::SIG_DEPLOYMENTS] = [c, 0.0, 0.0];
    v[metric::SIG_PULL_REQUESTS] = [c, 0.0, 0.0];
    v[metric::SIG_NORMALIZED] = sized.map(|x| c * a.usefulness * x);
    v[metric::SIG_NORMALIZED][0] = c * z * a.usefulness * surv[0];
    v[metric::SIG_SURVIVED] = sized.map(|x| c * x);
    v[metric::SIG_SURVIVED][0] = c * z * surv[0];
    v[metric::SIG_FAILED] = [c * d * rb, c * dd * rb, 0.0];
    v[metric::SIG_INCIDENTS] = [c * d * inc, c * dd * inc, 0.0];
    v[metric::SIG_REVIEW] = [c * a.review_hours_per_change, c * a.review_hours_per_change * a.ai_review_factor, 0.0];
    v[metric::SIG_WAIT] = v[metric::SIG_REVIEW];
    if a.uses_ai {
        v[metric::SIG_AI_CHANGES] = [0.0, c, 0.0];
    }
    for &(i, w) in direct {
        v[i][0] += w;
    }
    for &(i, w) in ai {
        v[i][1] += w;
    }
    v
}

/// The variance-to-mean ratio of a metric's count noise, for the engineers'
/// beliefs. Changes ship as a Poisson count and each carries independent
/// marks (defect; then rollback and incident, independently; useful if it
/// survived), so an activity's contribution to the metric is compound
/// Poisson: with `X` the metric of one change, its variance is
/// `changes x E[X^2]` against a mean of `changes x E[X]` (plus direct signals
/// and tokens, which carry no count noise). The ratio is the honest
/// (non-gaming) activities' (all activities' if those yield nothing):
/// exact for a plan of one honest activity (raw deployments: 1 for every
/// activity), an approximation for mixes (under normalized deployments a
/// split change weighs 0.1, an inflated claim 0). 0 for custom metrics and
/// for metrics some activity lowers on average (the count's variance as a
/// function of a metric that can fall below 0 is not modelled). `wait` is
/// the period's waiting factor, days per review hour: a change's
/// `review_wait` is its review hours times it.
pub(crate) fn count_dispersion(sc: &Scenario, metric: &MetricEval, unit_signals: &[Vec<[f64; 3]>], wait: f64) -> f64 {
    if metric.custom.is_some() || !metric.per.is_empty() {
        return 0.0;
    }
    let w = |sig: usize| metric.weights.iter().filter(|(i, _)| *i == sig).map(|(_, x)| x).sum::<f64>();
    let at = |i: usize| if i == metric::SIG_WAIT { wait } else { 1.0 };
    if w(metric::SIG_TOKENS) < 0.0 || w(metric::SIG_VALUE) < 0.0 {
        return 0.0;
    }
    let (rb, inc) = (sc.org.rollback_probability(), sc.org.incident_probability);
    let mut honest = (0.0, 0.0);
    let mut all = (0.0, 0.0);
    for (a, units) in sc.activities.iter().zip(unit_signals) {
        // At no AI use: AI's effects on changes are not in the engineers' model of the noise.
        let mean: f64 = metric
            .weights
            .iter()
            .filter(|(i, _)| *i != metric::SIG_TOKENS)
            .map(|&(i, x)| x * at(i) * units[i][0])
            .sum();
        if mean < 0.0 {
            return 0.0;
        }
        // E[X^2] over the marks of one change: a defect, then a rollback and
        // an incident independently; useful if it survived.
        let x = |rolled: bool, incident: bool, useful: bool| {
            let f = |b: bool| f64::from(u8::from(b));
            w(metric::SIG_DEPLOYMENTS)
                + w(metric::SIG_PULL_REQUESTS)
                + w(metric::SIG_REVIEW) * a.review_hours_per_change
                + w(metric::SIG_WAIT) * wait * a.review_hours_per_change
                + w(metric::SIG_SURVIVED) * a.change_size * f(!rolled)
                + w(metric::SIG_NORMALIZED) * a.change_size * f(useful)
                + w(metric::SIG_FAILED) * f(rolled)
                + w(metric::SIG_INCIDENTS) * f(incident)
        };
        // Survived (not rolled back), then useful or not.
        let kept = |pr: f64, incident: bool| {
            let (u, y) = (x(false, incident, true), x(false, incident, false));
            pr * (a.usefulness * u * u + (1.0 - a.usefulness) * y * y)
        };
        let mut m2 = (1.0 - a.defect_rate) * kept(1.0, false);
        for (incident, pi) in [(false, 1.0 - inc), (true, inc)] {
            let rolled = x(true, incident, false);
            m2 += a.defect_rate * pi * (kept(1.0 - rb, incident) + rb * rolled * rolled);
        }
        let var = a.changes_per_hour * m2;
        all = (all.0 + var, all.1 + mean);
        if !a.gaming {
            honest = (honest.0 + var, honest.1 + mean);
        }
    }
    let (var, mean) = if honest.1 > 0.0 { honest } else { all };
    if mean > 0.0 { var / mean } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::belief::{Belief, Kern};
    use crate::engine::rng::{Purpose, Streams, binomial_inv, open01, poisson_inv, std_normal};
    use crate::model::policy::Policy;

    /// One period's observed metric of a plan (productive units per
    /// activity), drawn as the engine's `work` and `measure` draw it.
    fn draw(sc: &Scenario, c: &Compiled, metric: &MetricEval, units: &[f64], rng: &mut impl rand::Rng) -> f64 {
        let mut sig = vec![0.0; c.s];
        let (rb, incp) = (sc.org.rollback_probability(), sc.org.incident_probability);
        for (a, act) in sc.activities.iter().enumerate() {
            let u: [f64; 5] = std::array::from_fn(|_| open01(rng));
            let shipped = poisson_inv(u[0], act.changes_per_hour * units[a]);
            let defects = binomial_inv(u[1], shipped, act.defect_rate);
            let rolled = binomial_inv(u[2], defects, rb);
            let incidents = binomial_inv(u[3], defects, incp);
            let survived = shipped - rolled;
            let useful = binomial_inv(u[4], survived, act.usefulness);
            sig[metric::SIG_DEPLOYMENTS] += f64::from(shipped);
            sig[metric::SIG_NORMALIZED] += act.change_size * f64::from(useful);
            sig[metric::SIG_SURVIVED] += act.change_size * f64::from(survived);
            sig[metric::SIG_FAILED] += f64::from(rolled);
            sig[metric::SIG_INCIDENTS] += f64::from(incidents);
            sig[metric::SIG_REVIEW] += f64::from(shipped) * act.review_hours_per_change;
            for &(si, w) in &c.direct_signals[a] {
                sig[si] += w * units[a];
            }
        }
        metric.noise.apply(metric.raw(&sig, &mut Vec::new()), std_normal(rng))
    }

    #[test]
    fn an_audit_of_changes_is_planned_as_its_expected_penalty_per_productive_unit() {
        // Per productive unit of a gaming activity: changes per unit x share
        // audited x sensitivity x penalty; nothing on honest work, nothing in
        // the pre-period, and a plan's utility lower by exactly the expected
        // penalty of its gaming changes (AI raises units, not changes per unit).
        use crate::behavior::best_response::evaluate;
        use crate::model::policy::Audit;
        let audit = Audit::of_changes(0.1, 0.8, 2000.0);
        let m = Metric::builtin("deployments", 4).unwrap();
        let mut p = Policy::new("p", m, Reward::leaderboard(0.1, 3000.0, 0.0, 0.0));
        p.audit = Some(audit);
        let sc = Scenario::default().with_policies(vec![p]);
        let c = Compiled::new(&sc).unwrap();
        let stage = &c.stage_policies[0];
        let (t, n) = (&stage.tables, sc.activities.len());
        for (k, a) in sc.activities.iter().enumerate() {
            let want = if a.gaming { a.changes_per_hour * audit.catch_per_change() * audit.penalty } else { 0.0 };
            assert_eq!(t.audit_per_unit[k], want, "{}", a.name);
            assert_eq!(stage.free.audit_per_unit[k], 0.0, "{}", a.name);
        }
        let by = |name: &str| sc.activities.iter().position(|a| a.name == name).unwrap();
        // 0.6 x 0.1 x 0.8 x 2,000 = 96 USD-eq per unit split, 0.2 x ... = 32 rushed.
        assert!(
            (t.audit_per_unit[by("split")] - 96.0).abs() < 1e-9 && (t.audit_per_unit[by("rush")] - 32.0).abs() < 1e-9
        );
        assert_eq!((t.audit_per_unit[by("burn")], t.audit_per_unit[by("inflate")]), (0.0, 0.0));
        assert_eq!(t.audit_per_hour, 0.0);
        let ag = test_agent();
        let hours: Vec<f64> = (0..n).map(|k| 2.0 + k as f64).collect();
        let tau: Vec<f64> = sc.activities.iter().map(|a| if a.uses_ai { 2e5 } else { 0.0 }).collect();
        let without = PlanTables { audit_per_unit: vec![0.0; n], ..t.clone() };
        let drop = evaluate(&ag, &without, &hours, &tau).w - evaluate(&ag, t, &hours, &tau).w;
        let want: f64 = sc
            .activities
            .iter()
            .enumerate()
            .filter(|(_, a)| a.gaming)
            .map(|(k, a)| {
                let skill = if a.skill_scaled { ag.skill } else { 1.0 };
                let q = if a.uses_ai { 1.0 + ag.leverage * a.ai_share(tau[k]) } else { 1.0 };
                hours[k] * skill * q * a.changes_per_hour * audit.catch_per_change() * audit.penalty
            })
            .sum();
        assert!(want > 100.0 && (drop - want).abs() <= 1e-9 * want, "{drop} vs {want}");
    }

    /// A skilled engineer who may game and has AI leverage, for the tables' tests.
    fn test_agent() -> crate::behavior::best_response::Agent {
        crate::behavior::best_response::Agent {
            skill: 1.3,
            leverage: 0.7,
            integrity: 10.0,
            motivation: 0.6,
            sensitivity: 0.5,
            awareness: 0.6,
            may_game: true,
            hours: 70.0,
            contract: 40.0,
            overtime: 3.9,
            cap: None,
            curvature: 0.0,
            reference: 0.0,
        }
    }

    #[test]
    fn a_metric_on_review_wait_is_planned_at_the_periods_waiting_factor() {
        // Per productive unit an activity's changes wait c r0 (1 + f x) W
        // days (x the AI share, W the period's waiting factor): the period's
        // tables give a plan's expected review_wait, and a ratio over pull
        // requests its wait per pull request, exactly; the count noise of the
        // review_wait metric is W r0 per change (build, the honest activity:
        // each change waits the same); a metric without review_wait keeps
        // the stage's tables.
        use crate::behavior::best_response::evaluate;
        let mut sc = Scenario::default();
        sc.org.review_capacity = Some(8.0);
        for a in sc.activities.iter_mut().filter(|a| a.uses_ai) {
            a.ai_review_factor = 0.9;
        }
        let wait = Metric::weighted("wait", vec![("review_wait".into(), 1.0)]);
        let per_pr =
            Metric::ratio("wait_per_pr", vec![("review_wait".into(), 1.0)], vec![("pull_requests".into(), 1.0)]);
        let sc = sc.with_policies(vec![
            Policy::new("wait", wait, Reward::Linear { rate: -100.0 }),
            Policy::new("per-pr", per_pr, Reward::leaderboard(0.1, 1000.0, 0.0, 0.0)),
            Policy::new("prs", Metric::builtin("deployments", 4).unwrap(), Reward::leaderboard(0.1, 1000.0, 0.0, 0.0)),
        ]);
        let c = Compiled::new(&sc).unwrap();
        let ag = test_agent();
        let hours: Vec<f64> = (0..sc.activities.len()).map(|k| 2.0 + 3.0 * k as f64).collect();
        let tau: Vec<f64> = sc.activities.iter().map(|a| if a.uses_ai { 1.5e5 } else { 0.0 }).collect();
        let (mut waits, mut changes) = (0.0, 0.0);
        for (k, a) in sc.activities.iter().enumerate() {
            let s = a.ai_share(tau[k]);
            let units = hours[k]
                * if a.skill_scaled { ag.skill } else { 1.0 }
                * if a.uses_ai { 1.0 + ag.leverage * s } else { 1.0 };
            waits += units * a.changes_per_hour * a.review_hours_per_change * (1.0 + a.ai_review_factor * s);
            changes += units * a.changes_per_hour;
        }
        let r0 = sc.activities.iter().find(|a| a.name == "build").unwrap().review_hours_per_change;
        for w in [0.0, 0.13, 0.4] {
            let plan = c.period_plan(&c.stage_policies[0], w).unwrap();
            let got = evaluate(&ag, &plan.tables, &hours, &tau).metric;
            assert!((got - w * waits).abs() <= 1e-12 * waits, "W {w}: {got} vs {}", w * waits);
            assert!((plan.dispersion - w * r0).abs() <= 1e-12, "W {w}: count noise {}", plan.dispersion);
            let plan = c.period_plan(&c.stage_policies[1], w).unwrap();
            let got = evaluate(&ag, &plan.tables, &hours, &tau).metric;
            let want = w * waits / changes;
            assert!((got - want).abs() <= 1e-12 * waits / changes, "W {w}: {got} per PR vs {want}");
            assert!(c.period_plan(&c.stage_policies[2], w).is_none());
        }
        // The stage's own tables leave the wait out.
        assert_eq!(evaluate(&ag, &c.stage_policies[0].tables, &hours, &tau).metric, 0.0);
    }

    #[test]
    fn beliefs_win_probability_matches_the_engines_count_draws() {
        // Plans of honest work (build alone, where the ratio is exact) and,
        // for raw deployments, build mixed with splitting (every change
        // counts 1, so still exact). Each belief within 4 standard errors of
        // the simulated share, plus the approximation's own error: the
        // normal approximation of the square root of a Poisson count misses
        // the exact tail by at most 0.081 / sqrt(c / phi) for measurement
        // noise sd 0 to 2 and cut-offs of 2.5 to 30 changes (against the
        // exact Poisson-normal convolution), so 0.1 / sqrt(c / phi) (dora's
        // changes count 1 or -2: not Poisson, within it too).
        let sc0 = Scenario::default();
        let n = 20_000;
        let streams = Streams::new(11, 0);
        let build = sc0.activities.iter().position(|a| a.name == "build").unwrap();
        let split = sc0.activities.iter().position(|a| a.name == "split").unwrap();
        for name in ["deployments", "normalized_deployments", "shipped_and_survived", "dora"] {
            let m = Metric::builtin(name, sc0.org.survival_window).unwrap();
            let sc = sc0.clone().with_policies(vec![Policy::new("p", m, Reward::Linear { rate: 1.0 })]);
            let c = Compiled::new(&sc).unwrap();
            let stage = &c.stage_policies[0];
            let (phi, noise) = (stage.metric.belief_dispersion(), stage.metric.belief_noise());
            assert!(phi > 0.0, "{name}");
            let mut plans = vec![];
            for u in [30.0, 60.0, 120.0] {
                let mut units = vec![0.0; sc.activities.len()];
                units[build] = u;
                plans.push(units.clone());
                if name == "deployments" {
                    units[split] = u / 6.0;
                    plans.push(units);
                }
            }
            let (mut checked, mut old_misses) = (0, 0);
            for (k, units) in plans.iter().enumerate() {
                let mean: f64 = units.iter().zip(&stage.tables.mu_p).map(|(u, w)| u * w).sum();
                let mut rng = streams.stream(Purpose::Behaviour, k as u64, name.len() as i64);
                let draws: Vec<f64> = (0..n).map(|_| draw(&sc, &c, &stage.metric, units, &mut rng)).collect();
                // The sample's variance against the belief's, sigma^2 + phi M.
                let (mu, var) = {
                    let mu = draws.iter().sum::<f64>() / n as f64;
                    (mu, draws.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n - 1) as f64)
                };
                let want = noise.sd().powi(2) + phi * mean;
                assert!((mu - mean).abs() < 4.0 * (var / n as f64).sqrt(), "{name} {units:?}: mean {mu} vs {mean}");
                // The sample variance's standard error is about var sqrt(2 / n) (and more
                // for skewed counts): 6 of them.
                assert!(
                    (var - want).abs() < 6.0 * want * (2.0 / n as f64).sqrt(),
                    "{name} {units:?}: var {var} vs {want}"
                );
                let s = want.sqrt();
                for z in [-2.0, -1.0, -0.3, 0.0, 0.5, 1.0, 2.0] {
                    let cut = mean - z * s;
                    if cut / phi < 2.5 {
                        continue;
                    }
                    let sim = draws.iter().filter(|&&x| x >= cut).count() as f64 / n as f64;
                    let belief = Belief::smoothed(0.0, vec![(cut, 1.0)], vec![Kern::new(cut, noise, 0.0, phi)]);
                    let p = belief.expected(mean);
                    let tol = 4.0 * (p * (1.0 - p) / n as f64).sqrt().max(0.5 / n as f64) + 0.1 / (cut / phi).sqrt();
                    assert!(
                        (p - sim).abs() <= tol,
                        "{name} {units:?} cut {cut}: belief {p} vs simulated {sim} (tol {tol})"
                    );
                    let old = Belief::steps(0.0, vec![(cut, 1.0)], noise).expected(mean);
                    old_misses += usize::from((old - sim).abs() > tol);
                    checked += 1;
                }
            }
            // The measurement noise alone (the old belief) misses often.
            assert!(checked >= 10 && old_misses * 3 >= checked, "{name}: {old_misses} of {checked}");
        }
    }
}
