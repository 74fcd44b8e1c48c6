//! The simulation engine: one policy in one replication, period by period.
//!
//! Each period: engineers plan (behaviour, against their beliefs), work
//! (production shocks: value, changes, defects, incidents), are measured
//! (metric with noise, delay, window), ranked and paid (reward scheme,
//! audits), learn (imitation, reinforcement) and update beliefs from the
//! published leaderboard. Before period 0 a pre-period runs with no
//! incentive at all: it is the organisation before the measure became a
//! target, and it seeds beliefs and the metric's history.
//!
//! Per-engineer state lives in one flat `Vec<f64>`, a fixed-stride row per
//! engineer, processed in parallel in fixed-size chunks whose partial sums
//! are reduced in chunk order, so results do not depend on the thread count.

pub mod population;
pub mod rng;

use std::sync::Arc;

use rayon::prelude::*;

use crate::analysis::kpi::{KpiDef, aggregate, k, kpi_defs};
use crate::analysis::stats::spearman;
use crate::behavior::{Agent, BeliefRule, Model, PlanTables, Scratch, best_response, fermi, roth_erev};
use crate::engine::population::Population;
use crate::engine::rng::{Purpose, Streams, binomial_inv, open01, poisson_inv, std_normal};
use crate::error::Result;
use crate::model::metric::{self, CustomMetric, Metric, Noise};
use crate::model::reward::{Belief, Reward, leaderboard_counts};
use crate::model::scenario::Scenario;

/// Engineers per parallel work unit (fixed, so sums are reduced identically
/// on any thread count).
const CHUNK: usize = 256;

/// A metric compiled against the scenario's signal indices.
#[derive(Debug, Clone)]
struct MetricEval {
    weights: Vec<(usize, f64)>,
    custom: Option<(Arc<dyn CustomMetric>, Vec<usize>)>,
    noise: Noise,
    delay: usize,
    window: usize,
}

impl MetricEval {
    fn compile(m: &Metric, signals: &[String]) -> MetricEval {
        let idx = |s: &str| signals.iter().position(|x| x == s).unwrap_or(0);
        MetricEval {
            weights: m.weights.iter().map(|(s, w)| (idx(s), *w)).collect(),
            custom: m.custom.as_ref().map(|c| (c.clone(), c.signals().iter().map(|s| idx(s)).collect())),
            noise: m.noise,
            delay: m.delay as usize,
            window: m.window as usize,
        }
    }

    #[inline]
    fn raw(&self, sig: &[f64], buf: &mut Vec<f64>) -> f64 {
        match &self.custom {
            Some((c, idx)) => {
                buf.clear();
                buf.extend(idx.iter().map(|&i| sig[i]));
                c.observe(buf)
            }
            None => self.weights.iter().map(|&(i, w)| w * sig[i]).sum(),
        }
    }

    /// The noise an engineer believes is on their published metric
    /// (the window averages independent draws).
    fn belief_noise(&self) -> Noise {
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
struct StagePolicy {
    tables: PlanTables,
    /// The same without incentive-related terms, for the pre-period.
    free: PlanTables,
    /// The rewarded metric, or the diagnostic one (tokens) if none.
    metric: MetricEval,
    rewarded: bool,
    reward: Reward,
    audit: Option<crate::model::policy::Audit>,
}

/// A scenario compiled for the engine.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The scenario.
    pub scenario: Scenario,
    /// Signal names.
    pub signals: Vec<String>,
    /// KPI definitions, in output order.
    pub kpis: Vec<KpiDef>,
    stage_policies: Vec<StagePolicy>,
    /// Per scenario policy: (first period, index into `stage_policies`).
    schedules: Vec<Vec<(u32, usize)>>,
    /// Per activity: its direct signal contributions as (signal index, per
    /// productive unit), resolved once rather than by name per agent-step.
    direct_signals: Vec<Vec<(usize, f64)>>,
    /// Row layout.
    k: usize,
    s: usize,
    l: usize,
    stride: usize,
}

// Scalar slots at the end of each engineer's row.
const SC_PUBLISHED: usize = 0;
const SC_RAW: usize = 1;
const SC_VALUE: usize = 2;
const SC_GAMING: usize = 3;
const SC_STRATEGY: usize = 4;
const SC_Q0: usize = 5;
const SC_Q1: usize = 6;
const SC_MINPAY: usize = 7;
const SC_BASE: usize = 8;
const SC_PAYOUT: usize = 9;
const SC_PAYOFF: usize = 10;
const SC_CYCLE: usize = 11;
const SC_LAMBDA: usize = 12;
const SC_LAMBDA_MOVE: usize = 13;
const SC_METRIC: usize = 14;
const SC_METRIC_SLOPE: usize = 15;
const SC_THETA_CAP: usize = 16;
const NSC: usize = 17;

// Partial sums per chunk.
const P_TOKENS: usize = 0;
const P_VALUE: usize = 1;
const P_INCIDENTS: usize = 2;
const P_DEPLOY: usize = 3;
const P_FAILED: usize = 4;
const P_REVIEW: usize = 5;
const P_EFFORT: usize = 6;
const P_GAMING: usize = 7;
const P_WORK: usize = 8;
const P_CYCLE: usize = 9;
const P_GAMERS: usize = 10;
const P_HOURS: usize = 11;

impl Compiled {
    /// Compiles a validated scenario.
    pub fn new(scenario: &Scenario) -> Result<Compiled> {
        scenario.validate()?;
        let sc = scenario.clone();
        let signals = sc.signals();
        let names: Vec<String> = sc.activities.iter().map(|a| a.name.clone()).collect();
        let kpis = kpi_defs(&names);
        let rb = sc.org.rollback_probability();
        let inc = sc.org.incident_probability;
        let ns = signals.len();
        let direct_signals: Vec<Vec<(usize, f64)>> = sc
            .activities
            .iter()
            .map(|a| a.signals.iter().filter_map(|(s, w)| Some((signals.iter().position(|x| x == s)?, *w))).collect())
            .collect();
        let unit_signals: Vec<Vec<f64>> = sc
            .activities
            .iter()
            .map(|a| {
                let mut v = vec![0.0; ns];
                let surv = 1.0 - a.defect_rate * rb;
                let d = a.changes_per_hour;
                v[metric::SIG_VALUE] = a.value_per_hour * surv;
                v[metric::SIG_DEPLOYMENTS] = d;
                v[metric::SIG_NORMALIZED] = d * a.change_size * a.usefulness * surv;
                v[metric::SIG_SURVIVED] = d * a.change_size * surv;
                v[metric::SIG_FAILED] = d * a.defect_rate * rb;
                v[metric::SIG_INCIDENTS] = d * a.defect_rate * inc;
                v[metric::SIG_REVIEW] = d * a.review_hours_per_change;
                v
            })
            .zip(&direct_signals)
            .map(|(mut v, direct)| {
                for &(i, w) in direct {
                    v[i] += w;
                }
                v
            })
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
            let metric = MetricEval::compile(m, &signals);
            let tok_w: f64 = metric.weights.iter().filter(|(i, _)| *i == metric::SIG_TOKENS).map(|(_, w)| w).sum();
            let rewarded_weights = |act: usize| -> f64 {
                if !rewarded {
                    return 0.0;
                }
                metric
                    .weights
                    .iter()
                    .filter(|(i, _)| *i != metric::SIG_TOKENS)
                    .map(|&(i, w)| w * unit_signals[act][i])
                    .sum()
            };
            let h = sc.org.hours_per_period;
            let tables = PlanTables {
                eff_value: unit_signals.iter().map(|v| v[metric::SIG_VALUE]).collect(),
                mu_p: (0..sc.activities.len()).map(rewarded_weights).collect(),
                w_tok: if rewarded { tok_w } else { 0.0 },
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
                cap: p.token_cap,
                effort: sc.effort_cost,
            };
            base_index[pi] = stage_policies.len();
            let free = PlanTables { audit_per_hour: 0.0, cap: None, ..tables.clone() };
            stage_policies.push(StagePolicy {
                tables,
                free,
                metric,
                rewarded,
                reward: p.reward.clone(),
                audit: p.audit,
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
        let k = sc.activities.len();
        let l = stage_policies.iter().map(|p| p.metric.delay + p.metric.window).max().unwrap_or(1).max(1);
        Ok(Compiled {
            stride: 2 * k + ns + l + NSC,
            k,
            s: ns,
            l,
            signals,
            kpis,
            stage_policies,
            schedules,
            direct_signals,
            scenario: sc,
        })
    }

    /// Number of scenario policies.
    pub fn policies(&self) -> usize {
        self.schedules.len()
    }
}

/// What one run (policy x replication) produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// KPI values per period, row-major: `per_period[t * n_kpis + j]`.
    pub per_period: Vec<f64>,
    /// KPI values over the counted periods (totals or means, see [`crate::analysis::kpi::Aggregate`]).
    pub totals: Vec<f64>,
    /// At the end of the run: each engineer's published metric and the value
    /// they produced in the last period (kept for the first replication only).
    pub final_board: Option<(Vec<f64>, Vec<f64>)>,
}

struct Beliefs {
    top: f64,
    bottom: f64,
    seen: u32,
    board: Arc<Vec<f64>>,
}

/// Runs policy `policy` of the compiled scenario in replication `rep`.
pub fn simulate(c: &Compiled, policy: usize, rep: u32, pop: &Population, streams: &Streams) -> RunOutput {
    let sc = &c.scenario;
    let n = sc.org.engineers;
    let (kk, ss, ll, stride) = (c.k, c.s, c.l, c.stride);
    let o_sig = 2 * kk;
    let o_ring = 2 * kk + ss;
    let o_sc = o_ring + ll;
    let nk = c.kpis.len();
    let periods = sc.periods as usize;
    let h_total = sc.org.hours_per_period;
    let price = sc.org.price_per_token();
    let schedule = &c.schedules[policy];
    let behavior = sc.behavior;
    let mut rows = vec![0.0; n * stride];
    let mut per_period = vec![0.0; periods * nk];

    // Initial strategies (1 = may game).
    let init = match behavior.model {
        Model::Imitation { initial_gamers, .. } => Some(initial_gamers),
        Model::FixedTypes { gamer_fraction } => Some(gamer_fraction),
        _ => None,
    };
    for (i, row) in rows.chunks_mut(stride).enumerate() {
        let gamer = match init {
            Some(f) => pop.type_draw[i] < f,
            None => true,
        };
        // Engineers who never game stay honest under every model.
        row[o_sc + SC_STRATEGY] = f64::from(u8::from(gamer && !pop.never_games[i]));
        if let Model::RothErev { initial_propensity, .. } = behavior.model {
            row[o_sc + SC_Q0] = initial_propensity;
            row[o_sc + SC_Q1] = initial_propensity;
        }
        row[o_sc + SC_MINPAY] = f64::INFINITY;
        forget_search(&mut row[o_sc..]);
    }

    // The pre-period: no incentive at all.
    let first = &c.stage_policies[schedule[0].1];
    let pre = PeriodCtx { stage: first, belief: &Belief::Flat, period: -1, hours: h_total, incentive: false };
    let (_, mut review_last) = work_phase(c, &pre, pop, streams, &mut rows);
    // The metric-value correlations are diagnostics the dynamics never read:
    // each is computed while the next period works (its two rankings would
    // otherwise hold up the second thread every period), into the period
    // it belongs to; period -1 is the correlation before the policy.
    let mut corr_before = f64::NAN;
    let mut pending = Some((-1, gather_raw_value(&rows, stride, o_sc)));

    let mut stage_at = usize::MAX;
    let mut beliefs = Beliefs { top: 0.0, bottom: 0.0, seen: 0, board: Arc::new(Vec::new()) };
    let mut last_hours = vec![f64::NAN; kk];
    let mut published = vec![0.0; n];
    let mut payouts = vec![0.0; n];
    let mut order: Vec<u32> = Vec::with_capacity(n);
    let mut final_board = None;

    for t in 0..periods {
        let idx = schedule.iter().rposition(|&(from, _)| from as usize <= t).unwrap_or(0);
        let stage = &c.stage_policies[schedule[idx].1];
        if idx != stage_at {
            // A new policy: its metric's history is what the last period's
            // work looks like on it, and beliefs start from that board.
            stage_at = idx;
            let mut buf = Vec::new();
            for (i, row) in rows.chunks_mut(stride).enumerate() {
                let raw = stage.metric.raw(&row[o_sig..o_sig + ss], &mut buf);
                let e = std_normal(&mut streams.substream(Purpose::Measurement, i as u64, t as i64 - 1, 1));
                let obs = stage.metric.noise.apply(raw, e);
                row[o_ring..o_ring + ll].iter_mut().for_each(|x| *x = obs);
                row[o_sc + SC_PUBLISHED] = obs;
                // Last period's search was for another metric.
                forget_search(&mut row[o_sc..]);
                published[i] = obs;
            }
            beliefs.seen = 0;
            let board = Board::rank(stage, &published, streams, t as i64 - 1, &mut order);
            update_beliefs(stage, &behavior.belief, &published, &board, &mut payouts, &mut beliefs);
        }
        let belief = make_belief(stage, &beliefs);
        let h_avail = (h_total - review_last / n as f64).max(0.0);
        let ctx = PeriodCtx { stage, belief: &belief, period: t as i64, hours: h_avail, incentive: true };
        let ((parts, review), done) = rayon::join(
            || work_phase(c, &ctx, pop, streams, &mut rows),
            || pending.take().map(|(at, (raw, val))| (at, spearman(&raw, &val))),
        );
        if let Some((at, corr)) = done {
            store_correlation(at, corr, &mut per_period, nk, &mut corr_before);
        }
        review_last = review;

        // Publish (delay, window) and pay.
        published
            .par_iter_mut()
            .zip(rows.par_chunks(stride))
            .with_min_len(CHUNK)
            .for_each(|(p, row)| *p = row[o_sc + SC_PUBLISHED]);
        let mut board = Board::rank(stage, &published, streams, t as i64, &mut order);
        pay(stage, &published, &board, &mut payouts);
        let (detections, bonus) = settle(c, stage, pop, streams, t as i64, h_avail, &payouts, &mut rows);
        learn(c, pop, streams, t as i64, &mut rows);
        update_beliefs(stage, &behavior.belief, &published, &board, &mut payouts, &mut beliefs);

        // Diagnostics.
        let (raw, val) = gather_raw_value(&rows, stride, o_sc);
        let top_frac = match stage.reward {
            Reward::Leaderboard { top_fraction, .. } if top_fraction > 0.0 => top_fraction,
            _ => 0.1,
        };
        let kt = ((top_frac * n as f64).round() as usize).clamp(1, n);
        // The leaderboard's own top when it has the same size, else a fresh selection.
        let metric_top = if board.top.len() == kt {
            std::mem::take(&mut board.top)
        } else {
            select_top(&published, kt, streams, t as i64, &mut order);
            order[..kt].to_vec()
        };
        let precision = top_k_overlap(&metric_top, &val, streams, t as i64, &mut order) as f64 / kt as f64;

        let kpi = &mut per_period[t * nk..(t + 1) * nk];
        let nf = n as f64;
        kpi[k::TOKEN_COST] = parts[P_TOKENS] * price;
        kpi[k::USEFUL_OUTPUT] = parts[P_VALUE];
        kpi[k::INCIDENT_COST] = parts[P_INCIDENTS] * sc.org.incident_cost;
        kpi[k::NET_VALUE] = kpi[k::USEFUL_OUTPUT] - kpi[k::TOKEN_COST] - kpi[k::INCIDENT_COST];
        kpi[k::BONUS_PAID] = bonus;
        kpi[k::EFFORT_COST] = parts[P_EFFORT];
        kpi[k::GAMING_SHARE] = if parts[P_WORK] > 0.0 { parts[P_GAMING] / parts[P_WORK] } else { 0.0 };
        kpi[k::TOP_K_PRECISION] = precision;
        kpi[k::DEPLOYMENTS] = parts[P_DEPLOY];
        kpi[k::CHANGE_FAILURE_RATE] = if parts[P_DEPLOY] > 0.0 { parts[P_FAILED] / parts[P_DEPLOY] } else { 0.0 };
        kpi[k::TOKENS] = parts[P_TOKENS];
        kpi[k::INCIDENTS] = parts[P_INCIDENTS];
        kpi[k::REVIEW_HOURS] = parts[P_REVIEW];
        kpi[k::CYCLE_TIME] = if parts[P_DEPLOY] > 0.0 { parts[P_CYCLE] / parts[P_DEPLOY] } else { 0.0 };
        kpi[k::GAMERS_SHARE] = parts[P_GAMERS] / nf;
        kpi[k::AUDIT_DETECTIONS] = detections;
        let mut change = 0.0;
        let mut worked = 0.0;
        for a in 0..kk {
            let h = parts[P_HOURS + a] / nf;
            kpi[k::FIXED + a] = h;
            worked += h;
            if last_hours[a].is_finite() {
                change += (h - last_hours[a]).abs();
            }
            last_hours[a] = h;
        }
        kpi[k::HOURS_CHANGE] = change;
        kpi[k::FIXED + kk] = (h_avail - worked).max(0.0);
        if t + 1 == periods && rep == 0 {
            final_board = Some((published.clone(), val.clone()));
        }
        pending = Some((t as i64, (raw, val)));
    }
    if let Some((at, (raw, val))) = pending {
        store_correlation(at, spearman(&raw, &val), &mut per_period, nk, &mut corr_before);
    }
    for kpi in per_period.chunks_mut(nk) {
        kpi[k::METRIC_VALUE_CORRELATION_BEFORE] = corr_before;
    }
    let burn = sc.burn_in as usize;
    let totals = c
        .kpis
        .iter()
        .enumerate()
        .map(|(j, d)| aggregate(d.aggregate, (burn..periods).map(|t| per_period[t * nk + j])))
        .collect();
    RunOutput { per_period, totals, final_board }
}

/// Clears what an engineer's row keeps from the last best-response search
/// (`scalars` starts at the row's scalar block): the next search starts
/// afresh.
fn forget_search(scalars: &mut [f64]) {
    for i in [SC_LAMBDA, SC_LAMBDA_MOVE, SC_METRIC_SLOPE, SC_THETA_CAP] {
        scalars[i] = f64::NAN;
    }
}

/// Files the metric-value correlation of period `at` (-1: before the policy).
fn store_correlation(at: i64, corr: f64, per_period: &mut [f64], nk: usize, before: &mut f64) {
    match usize::try_from(at) {
        Ok(t) => per_period[t * nk + k::METRIC_VALUE_CORRELATION] = corr,
        Err(_) => *before = corr,
    }
}

struct PeriodCtx<'a> {
    stage: &'a StagePolicy,
    belief: &'a Belief,
    period: i64,
    hours: f64,
    incentive: bool,
}

fn gather_raw_value(rows: &[f64], stride: usize, o_sc: usize) -> (Vec<f64>, Vec<f64>) {
    // Strided reads of every row: in parallel, as the period's other passes.
    let column = |j: usize| rows.par_chunks(stride).with_min_len(CHUNK).map(|row| row[o_sc + j]).collect();
    rayon::join(|| column(SC_RAW), || column(SC_VALUE))
}

/// Plans, works and measures every engineer; returns the chunk-ordered
/// partial sums and the review load put on peers (hours).
fn work_phase(c: &Compiled, ctx: &PeriodCtx, pop: &Population, streams: &Streams, rows: &mut [f64]) -> (Vec<f64>, f64) {
    let sc = &c.scenario;
    let (kk, ss, ll, stride) = (c.k, c.s, c.l, c.stride);
    let o_sig = 2 * kk;
    let o_ring = o_sig + ss;
    let o_sc = o_ring + ll;
    let np = P_HOURS + kk;
    let behavior = sc.behavior;
    let rb = sc.org.rollback_probability();
    let incp = sc.org.incident_probability;
    let vn = sc.org.value_noise;
    let price = sc.org.price_per_token();
    let t = ctx.period;
    let stage = ctx.stage;
    let metric = &stage.metric;
    let parts: Vec<Vec<f64>> = rows
        .par_chunks_mut(CHUNK * stride)
        .enumerate()
        .map(|(ci, chunk)| {
            let mut part = vec![0.0; np];
            let mut scratch = Scratch::new(kk);
            let mut buf = Vec::new();
            let mut wrng = streams.stream(Purpose::Work, 0, t);
            for (j, row) in chunk.chunks_mut(stride).enumerate() {
                let i = ci * CHUNK + j;
                // One stream for the agent-step, read in its fixed order
                // (see `Purpose::Work`).
                streams.reseat(&mut wrng, i as u64, t);
                let u_strategy = open01(&mut wrng);
                let u_logit = open01(&mut wrng);
                let e_measure = std_normal(&mut wrng);
                // Strategy this period.
                let fixed_gamer = matches!(behavior.model, Model::FixedTypes { .. }) && row[o_sc + SC_STRATEGY] > 0.5;
                let may_game = match behavior.model {
                    Model::BestResponse => !pop.never_games[i],
                    Model::RothErev { .. } => {
                        let (q0, q1) = (row[o_sc + SC_Q0], row[o_sc + SC_Q1]);
                        let g = !pop.never_games[i] && u_strategy < q1 / (q0 + q1);
                        row[o_sc + SC_STRATEGY] = f64::from(u8::from(g));
                        g
                    }
                    _ => row[o_sc + SC_STRATEGY] > 0.5,
                };
                let integrity = if fixed_gamer { 0.0 } else { pop.integrity[i] };
                let ag = Agent {
                    skill: pop.skill[i],
                    leverage: pop.ai_leverage[i],
                    integrity,
                    motivation: pop.intrinsic_motivation[i],
                    sensitivity: if ctx.incentive { pop.reward_sensitivity[i] } else { 0.0 },
                    awareness: pop.cost_awareness[i],
                    may_game,
                    hours: ctx.hours,
                };
                let tables = &stage.tables;
                if ctx.incentive {
                    let last = row[o_sc + SC_LAMBDA];
                    scratch.warm_start(last, row[o_sc + SC_LAMBDA_MOVE]);
                    scratch.warm_metric(row[o_sc + SC_METRIC], row[o_sc + SC_METRIC_SLOPE]);
                    scratch.warm_budget(row[o_sc + SC_THETA_CAP]);
                    let plan = best_response(&ag, tables, ctx.belief, behavior.temperature, u_logit, &mut scratch);
                    if scratch.budget_price().is_finite() {
                        row[o_sc + SC_THETA_CAP] = scratch.budget_price();
                    }
                    row[o_sc + SC_METRIC] = plan.metric;
                    row[o_sc + SC_METRIC_SLOPE] = scratch.metric_slope();
                    row[o_sc + SC_LAMBDA] = plan.lambda;
                    row[o_sc + SC_LAMBDA_MOVE] = ((plan.lambda - last) / plan.lambda).abs();
                } else {
                    best_response(&ag, &stage.free, &Belief::Flat, 0.0, u_logit, &mut scratch);
                }
                row[..kk].copy_from_slice(&scratch.hours);
                row[kk..2 * kk].copy_from_slice(&scratch.tau);

                // Work: production shocks by inversion, a fixed number of
                // uniforms per activity so that streams stay aligned across policies.
                let prng = &mut wrng;
                let shock = (vn * std_normal(prng) - 0.5 * vn * vn).exp();
                let sig = &mut row[o_sig..o_sig + ss];
                sig.iter_mut().for_each(|x| *x = 0.0);
                let (mut gaming_h, mut work_h, mut cycle) = (0.0, 0.0, 0.0);
                for (a, act) in sc.activities.iter().enumerate() {
                    let u: [f64; 5] = std::array::from_fn(|_| open01(prng));
                    let h = scratch.hours[a];
                    if h <= 0.0 {
                        continue;
                    }
                    let prod = if act.skill_scaled { ag.skill } else { 1.0 };
                    let tau = scratch.tau[a];
                    let q = if act.uses_ai { 1.0 + ag.leverage * (1.0 - (-tau / act.tau0).exp()) } else { 1.0 };
                    let units = h * prod * q;
                    let shipped = poisson_inv(u[0], act.changes_per_hour * units);
                    let defects = binomial_inv(u[1], shipped, act.defect_rate);
                    let rolled = binomial_inv(u[2], defects, rb);
                    let incidents = binomial_inv(u[3], defects, incp);
                    let survived = shipped - rolled;
                    let useful = binomial_inv(u[4], survived, act.usefulness);
                    let kept = if shipped > 0 { survived as f64 / shipped as f64 } else { 1.0 - act.defect_rate * rb };
                    sig[metric::SIG_TOKENS] += h * (act.tokens_per_hour + if act.uses_ai { tau } else { 0.0 });
                    sig[metric::SIG_VALUE] += act.value_per_hour * units * shock * kept;
                    sig[metric::SIG_DEPLOYMENTS] += shipped as f64;
                    sig[metric::SIG_NORMALIZED] += act.change_size * useful as f64;
                    sig[metric::SIG_SURVIVED] += act.change_size * survived as f64;
                    sig[metric::SIG_FAILED] += rolled as f64;
                    sig[metric::SIG_INCIDENTS] += incidents as f64;
                    sig[metric::SIG_REVIEW] += shipped as f64 * act.review_hours_per_change;
                    // Direct contributions to signals (e.g. inflated claims).
                    for &(si, w) in &c.direct_signals[a] {
                        sig[si] += w * units;
                    }
                    cycle += shipped as f64 * act.cycle_time_days;
                    work_h += h;
                    if act.gaming {
                        gaming_h += h;
                    }
                }
                let value = sig[metric::SIG_VALUE];
                let tokens = sig[metric::SIG_TOKENS];
                let effort = sc.effort_cost.cost(&scratch.hours);

                // Measure: this period's observation enters the ring; the
                // published value is the window's mean, `delay` periods back.
                let raw = metric.raw(&row[o_sig..o_sig + ss], &mut buf);
                let obs = metric.noise.apply(raw, e_measure);
                if t >= 0 {
                    let slot = |p: i64| o_ring + p.rem_euclid(ll as i64) as usize;
                    row[slot(t)] = obs;
                    let mut s = 0.0;
                    for w in 0..metric.window as i64 {
                        s += row[slot(t - metric.delay as i64 - w)];
                    }
                    row[o_sc + SC_PUBLISHED] = s / metric.window as f64;
                }
                row[o_sc + SC_RAW] = obs;
                row[o_sc + SC_VALUE] = value;
                row[o_sc + SC_GAMING] = gaming_h;
                row[o_sc + SC_CYCLE] = cycle;
                row[o_sc + SC_BASE] =
                    ag.motivation * value - effort - ag.integrity * gaming_h - ag.awareness * price * tokens;

                part[P_TOKENS] += tokens;
                part[P_VALUE] += value;
                part[P_INCIDENTS] += row[o_sig + metric::SIG_INCIDENTS];
                part[P_DEPLOY] += row[o_sig + metric::SIG_DEPLOYMENTS];
                part[P_FAILED] += row[o_sig + metric::SIG_FAILED];
                part[P_REVIEW] += row[o_sig + metric::SIG_REVIEW];
                part[P_EFFORT] += effort;
                part[P_GAMING] += gaming_h;
                part[P_WORK] += work_h;
                part[P_CYCLE] += cycle;
                part[P_GAMERS] += f64::from(u8::from(gaming_h > 0.5));
                for a in 0..kk {
                    part[P_HOURS + a] += row[a];
                }
            }
            part
        })
        .collect();
    let mut total = vec![0.0; np];
    for p in &parts {
        for (t, x) in total.iter_mut().zip(p) {
            *t += x;
        }
    }
    let review = total[P_REVIEW];
    (total, review)
}

/// Ranks `published` descending with reproducible random tie-breaks and
/// partitions `order` so that its first `k` entries are the top `k`.
fn select_top(published: &[f64], k: usize, streams: &Streams, t: i64, order: &mut Vec<u32>) {
    order.clear();
    order.extend(0..published.len() as u32);
    if k == 0 || k >= published.len() {
        return;
    }
    let key = |i: u32| streams.tie_key(i as u64, t);
    order.select_nth_unstable_by(k - 1, |&a, &b| {
        published[b as usize].total_cmp(&published[a as usize]).then_with(|| key(b).cmp(&key(a)))
    });
}

/// Indices of the top `k` of `values` (descending, ties broken by a
/// reproducible random key for period `t`), in no particular order. This is
/// the leaderboard's selection.
pub fn top_k(values: &[f64], k: usize, streams: &Streams, t: i64) -> Vec<u32> {
    let mut order = Vec::new();
    select_top(values, k, streams, t, &mut order);
    order.truncate(k.min(values.len()));
    order
}

/// The period's leaderboard on the published metric: the top `top` and the
/// bottom `bottom` engineers (ties broken at random, reproducibly, by the
/// period's keys) and the observed cut-offs, each the midpoint between the
/// last one in and the first one out. Paying, forming beliefs and the
/// top-k diagnostic all read this one ranking.
#[derive(Debug, Default)]
struct Board {
    top: Vec<u32>,
    bottom: Vec<u32>,
    top_cut: f64,
    bottom_cut: f64,
}

impl Board {
    /// The board of a leaderboard stage (empty for other schemes).
    fn rank(stage: &StagePolicy, published: &[f64], streams: &Streams, t: i64, order: &mut Vec<u32>) -> Board {
        let Reward::Leaderboard { top_fraction, bottom_fraction, .. } = stage.reward else { return Board::default() };
        let n = published.len();
        let (top, bottom) = leaderboard_counts(n, top_fraction, bottom_fraction);
        // Selects the best `k` into `order[..k]`; the cut-off between them and the rest.
        let side = |k: usize, order: &mut Vec<u32>| -> f64 {
            select_top(published, k, streams, t, order);
            if k == 0 || k >= n {
                return f64::NEG_INFINITY;
            }
            let worst_in = published[order[k - 1] as usize];
            let best_out = order[k..].iter().map(|&i| published[i as usize]).fold(f64::NEG_INFINITY, f64::max);
            if worst_in > best_out {
                0.5 * (worst_in + best_out)
            } else {
                // A tie at the cut-off: reaching the tied score is not a sure
                // place (ties are drawn at random), so the cut-off sits just above it.
                worst_in + 1e-9 * worst_in.abs().max(1e-9)
            }
        };
        let top_cut = side(top, order);
        let top_members = order[..top].to_vec();
        let (bottom_cut, bottom_members) = if bottom > 0 {
            let cut = side(n - bottom, order);
            (cut, order[n - bottom..].to_vec())
        } else {
            (f64::NEG_INFINITY, Vec::new())
        };
        Board { top: top_members, bottom: bottom_members, top_cut, bottom_cut }
    }
}

/// Payouts of the reward scheme (USD; negative is pressure).
fn pay(stage: &StagePolicy, published: &[f64], board: &Board, out: &mut [f64]) {
    out.iter_mut().for_each(|x| *x = 0.0);
    if !stage.rewarded {
        return;
    }
    match &stage.reward {
        Reward::None => {}
        Reward::Linear { rate } => out.iter_mut().zip(published).for_each(|(o, p)| *o = rate * p),
        Reward::Threshold { quota, bonus } => {
            out.iter_mut().zip(published).for_each(|(o, p)| *o = if p >= quota { *bonus } else { 0.0 })
        }
        Reward::Leaderboard { prize, penalty, .. } => {
            for &i in &board.top {
                out[i as usize] = *prize;
            }
            for &i in &board.bottom {
                out[i as usize] = -*penalty;
            }
        }
        Reward::Custom(rule) => rule.payouts(published, out),
    }
}

/// Audits, payouts into payoffs; returns (detections, bonus paid).
#[allow(clippy::too_many_arguments)]
fn settle(
    c: &Compiled,
    stage: &StagePolicy,
    pop: &Population,
    streams: &Streams,
    t: i64,
    h_avail: f64,
    payouts: &[f64],
    rows: &mut [f64],
) -> (f64, f64) {
    let o_sc = 2 * c.k + c.s + c.l;
    let (mut det, mut bonus) = (0.0, 0.0);
    for (i, row) in rows.chunks_mut(c.stride).enumerate() {
        let mut pen = 0.0;
        if let Some(a) = stage.audit {
            let mut rng = streams.stream(Purpose::Audit, i as u64, t);
            let (u1, u2) = (open01(&mut rng), open01(&mut rng));
            let share = if h_avail > 0.0 { row[o_sc + SC_GAMING] / c.scenario.org.hours_per_period } else { 0.0 };
            if u1 < a.probability && u2 < a.sensitivity * share {
                pen = a.penalty;
                det += 1.0;
            }
        }
        bonus += payouts[i].max(0.0);
        row[o_sc + SC_PAYOUT] = payouts[i];
        row[o_sc + SC_PAYOFF] = pop.reward_sensitivity[i] * payouts[i] + row[o_sc + SC_BASE] - pen;
    }
    (det, bonus)
}

/// Learning after payoffs: imitation and reinforcement update strategies.
fn learn(c: &Compiled, pop: &Population, streams: &Streams, t: i64, rows: &mut [f64]) {
    let o_sc = 2 * c.k + c.s + c.l;
    let n = pop.len();
    match c.scenario.behavior.model {
        Model::Imitation { revision_rate, beta, .. } => {
            let snap: Vec<(f64, f64)> =
                rows.chunks(c.stride).map(|r| (r[o_sc + SC_STRATEGY], r[o_sc + SC_PAYOFF])).collect();
            for (i, row) in rows.chunks_mut(c.stride).enumerate() {
                let mut rng = streams.substream(Purpose::Behaviour, i as u64, t, 1);
                let (u1, u2, u3) = (open01(&mut rng), open01(&mut rng), open01(&mut rng));
                if pop.never_games[i] || n < 2 || u1 >= revision_rate {
                    continue;
                }
                let mut j = (u2 * (n - 1) as f64) as usize;
                if j >= i {
                    j += 1;
                }
                let (sj, pj) = snap[j.min(n - 1)];
                if sj != snap[i].0 && u3 < fermi(beta, pj - snap[i].1) {
                    row[o_sc + SC_STRATEGY] = sj;
                }
            }
        }
        Model::RothErev { forgetting, experimentation, .. } => {
            for row in rows.chunks_mut(c.stride) {
                let pay = row[o_sc + SC_PAYOFF];
                let min = row[o_sc + SC_MINPAY].min(pay);
                row[o_sc + SC_MINPAY] = min;
                let mut q = [row[o_sc + SC_Q0], row[o_sc + SC_Q1]];
                let played = usize::from(row[o_sc + SC_STRATEGY] > 0.5);
                roth_erev(&mut q, played, pay - min, forgetting, experimentation);
                row[o_sc + SC_Q0] = q[0].max(1e-12);
                row[o_sc + SC_Q1] = q[1].max(1e-12);
            }
        }
        _ => {}
    }
}

/// Cut-offs of the published board, smoothed into beliefs.
fn update_beliefs(
    stage: &StagePolicy,
    rule: &BeliefRule,
    published: &[f64],
    board: &Board,
    scratch: &mut [f64],
    b: &mut Beliefs,
) {
    match &stage.reward {
        Reward::Leaderboard { .. } => {
            let alpha = match *rule {
                _ if b.seen == 0 => 1.0,
                BeliefRule::Adaptive { alpha } => alpha,
                BeliefRule::Fictitious => 1.0 / (b.seen as f64 + 1.0),
            };
            let (obs_top, obs_bot) = (board.top_cut, board.bottom_cut);
            b.top += alpha * (obs_top - b.top);
            b.bottom += alpha * (obs_bot - b.bottom);
            if alpha == 1.0 {
                b.top = obs_top;
                b.bottom = obs_bot;
            }
        }
        Reward::Custom(_) => {
            scratch.copy_from_slice(published);
            scratch.sort_unstable_by(f64::total_cmp);
            b.board = Arc::new(scratch.to_vec());
        }
        _ => {}
    }
    b.seen += 1;
}

fn make_belief(stage: &StagePolicy, b: &Beliefs) -> Belief {
    if !stage.rewarded {
        return Belief::Flat;
    }
    stage.tables.cap_belief(reward_belief(stage, b))
}

fn reward_belief(stage: &StagePolicy, b: &Beliefs) -> Belief {
    let noise = stage.metric.belief_noise();
    match &stage.reward {
        Reward::None => Belief::Flat,
        Reward::Linear { rate } => Belief::Linear { rate: *rate },
        Reward::Threshold { quota, bonus } => Belief::steps(0.0, vec![(*quota, *bonus)], noise),
        Reward::Leaderboard { prize, penalty, .. } => {
            let mut steps = Vec::new();
            let mut base = 0.0;
            if b.top.is_finite() && *prize > 0.0 {
                steps.push((b.top, *prize));
            }
            if b.bottom.is_finite() && *penalty > 0.0 {
                steps.push((b.bottom, *penalty));
                base = -*penalty;
            }
            Belief::steps(base, steps, noise)
        }
        Reward::Custom(rule) => Belief::Custom { rule: rule.clone(), board: b.board.clone(), noise },
    }
}

/// How many of `metric_top` (the top `k` by the metric) are among the top
/// `k` by `value`.
fn top_k_overlap(metric_top: &[u32], value: &[f64], streams: &Streams, t: i64, order: &mut Vec<u32>) -> usize {
    let (n, k) = (value.len(), metric_top.len());
    let mut in_top = vec![false; n];
    // A tie-break key of its own, so that ties on both sides are not broken alike.
    select_top(value, k, streams, -2 - t, order);
    for &i in &order[..k.min(n)] {
        in_top[i as usize] = true;
    }
    metric_top.iter().filter(|&&i| in_top[i as usize]).count()
}
