//! The simulation engine: one policy in one replication, period by period.
//!
//! A period runs these phases, each a function below, in this order:
//!
//! 1. `announce`: when the schedule switches policy, the new metric's
//!    history is what last period's work looks like on it, and beliefs
//!    start from that board;
//! 2. `plan_work_measure`: every engineer plans (their behaviour, against
//!    their belief), works (production shocks: value, changes, defects,
//!    incidents) and is measured (the metric with noise, delay and window),
//!    in one parallel pass;
//! 3. `Board::rank` and `pay`: the published metric ranked, the reward
//!    scheme's payouts;
//! 4. `settle`: audits, and payouts into payoffs;
//! 5. `learn`: the behaviour's learning from payoffs (and peers);
//! 6. `update_beliefs`: beliefs about the board, from the published one;
//! 7. `record`: the period's KPIs.
//!
//! Before period 0 a pre-period runs with no incentive at all: it is the
//! organisation before the measure became a target, and it seeds beliefs
//! and the metric's history.
//!
//! Engineer state is a struct of arrays (one `Vec` per field), processed in parallel
//! in fixed-size chunks whose partial sums are reduced in chunk order, so
//! results do not depend on the thread count.

pub(crate) mod board;
pub(crate) mod compile;
pub(crate) mod network;
pub mod observer;
pub mod population;
pub mod rng;
pub(crate) mod state;
mod turnover;
pub mod view;

use std::sync::Arc;

use rayon::prelude::*;

use crate::analysis::kpi::{aggregate, k};
use crate::analysis::stats::spearman;
use crate::behavior::belief::{Belief, Kern};
use crate::behavior::best_response::{Agent, PlanTables, Scratch, normal_week};
use crate::behavior::{BehaviorRule, BeliefRule, Draws, Peers, Planner, WithRule};
use crate::model::activity::Week;
use crate::model::metric::{self, Noise};
use crate::model::reward::Reward;
use crate::model::scenario::Scenario;
pub use board::top_k;
use board::{Board, select_top, top_k_overlap};
pub(crate) use compile::Compiled;
use compile::StagePolicy;
use network::Network;
use observer::{Observer, ObserverError};
use population::Population;
use rng::{Purpose, Streams, binomial_inv, open01, poisson_inv, std_normal};
use state::{Chunk, Engineers};
use turnover::{Counts, Staff};
use view::{PeriodView, Totals};

/// Engineers per parallel work unit (fixed, so sums are reduced identically
/// on any thread count).
const CHUNK: usize = 256;

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

/// Beliefs about the board, shared by every engineer: the smoothed
/// cut-offs of a leaderboard, or the whole sorted board for a custom rule.
struct Beliefs {
    top: f64,
    bottom: f64,
    seen: u32,
    /// The variance of the smoothed cut-offs' forecast errors (in the log
    /// under log-normal noise), smoothed as the cut-offs are, and how many
    /// errors went into it: the cut-offs' own period-to-period uncertainty.
    top_var: f64,
    bottom_var: f64,
    errors: u32,
    board: Arc<Vec<f64>>,
}

/// One run to simulate: policy `policy` of the compiled scenario in
/// replication `rep`, with that replication's engineers and random streams.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Run<'a> {
    pub(crate) c: &'a Compiled,
    pub(crate) policy: usize,
    pub(crate) rep: u32,
    pub(crate) pop: &'a Population,
    pub(crate) streams: &'a Streams,
}

/// Simulates `run` with the behaviour the scenario names, showing every
/// period to `observer`.
pub(crate) fn simulate(run: Run, observer: &mut dyn Observer) -> Result<RunOutput, ObserverError> {
    struct Work<'a, 'o>(Run<'a>, &'o mut dyn Observer);
    impl WithRule for Work<'_, '_> {
        type Output = Result<RunOutput, ObserverError>;
        fn with<B: BehaviorRule>(self, rule: &B) -> Self::Output {
            simulate_with(rule, self.0, self.1)
        }
    }
    run.c.scenario.behavior.model.dispatch(Work(run, observer))
}

/// Simulates `run` with the behaviour `rule`, showing every period to
/// `observer`.
pub(crate) fn simulate_with<B: BehaviorRule>(
    rule: &B,
    run: Run,
    observer: &mut dyn Observer,
) -> Result<RunOutput, ObserverError> {
    let Run { c, policy, rep, pop, streams } = run;
    let sc = &c.scenario;
    let n = sc.org.engineers;
    let nk = c.kpis.len();
    let periods = sc.periods as usize;
    let h_total = sc.org.hours_per_period;
    let schedule = &c.schedules[policy];
    let mut st = Engineers::new(c.k, c.s, c.l, (0..n).map(|i| rule.init(&pop.engineer(i))).collect());
    st.perceived.clone_from(&pop.perceived_leverage);
    let mut per_period = vec![0.0; periods * nk];

    // The pre-period: no incentive at all.
    let first = &c.stage_policies[schedule[0].1];
    let h_limit = sc.org.max_hours_per_period;
    let pre = PeriodCtx {
        stage: first,
        tables: &first.free,
        belief: &Belief::Flat,
        period: -1,
        hours: h_total,
        limit: h_limit,
        // A factor of 1 until the week's own load is known (see `wait_at_own_load`).
        review_wait: if first.wait.is_some() { 1.0 } else { 0.0 },
        defect_load: 1.0,
        incentive: false,
    };
    let (_, mut review_last) = plan_work_measure(c, rule, &pre, pop, streams, &mut st);
    if first.wait.is_some() {
        let (_, wait) = queue(sc, review_last / n as f64);
        wait_at_own_load(first, wait, streams, &mut st);
    }
    // Engineers who leave are replaced, or norms change integrity: the run
    // then has a population of its own.
    let network = Network::new(sc.social.as_ref(), n, streams);
    let mut staff = Staff::new(sc, pop);
    if let Some(s) = staff.as_mut() {
        s.start(&st.expected);
    }
    // The metric-value correlations are diagnostics the dynamics never read:
    // each is computed while the next period works (its two rankings would
    // otherwise hold up the second thread every period), into the period
    // it belongs to; period -1 is the correlation before the policy.
    // A policy with no metric has no correlation to speak of: it stays NaN
    // (undefined), as does top-k precision.
    let mut corr_before = f64::NAN;
    let mut pending = first.rewarded.then(|| (-1, (st.observed.clone(), st.value.clone())));

    let mut course = Course::default();
    let mut beliefs = Beliefs {
        top: 0.0,
        bottom: 0.0,
        seen: 0,
        top_var: 0.0,
        bottom_var: 0.0,
        errors: 0,
        board: Arc::new(Vec::new()),
    };
    let mut last_hours = vec![f64::NAN; c.k];
    let mut scratch = vec![0.0; n];
    let mut order: Vec<u32> = Vec::with_capacity(n);
    let mut final_board = None;

    for t in 0..periods {
        let (current, changed) = course.at(t, schedule, c);
        let stage = &c.stage_policies[current];
        if changed {
            announce(stage, streams, t as i64, &mut st, &mut beliefs, &mut scratch, &mut order, sc.behavior.belief);
        }
        if let Some(s) = staff.as_mut() {
            s.hire(t, sc, rule, streams, &mut st);
        }
        let pop = staff.as_ref().map_or(pop, |s| &s.pop);
        // Reviewing is work: it comes off contract hours and the week's limit alike.
        let review_each = review_last / n as f64;
        let h_avail = (h_total - review_each).max(0.0);
        let limit = (h_limit - review_each).max(0.0);
        let (rho, review_wait) = queue(sc, review_each);
        // Review under load lets more defects through.
        let defect_load = 1.0 + sc.org.review_miss * rho;
        // A metric that counts waiting is planned at this week's waiting factor.
        let period_plan = c.period_plan(stage, review_wait);
        let (tables, phi) = match &period_plan {
            Some(p) => (&p.tables, p.dispersion),
            None => (&stage.tables, stage.metric.belief_dispersion()),
        };
        let belief = make_belief(stage, &beliefs, tables, phi);
        let ctx = PeriodCtx {
            stage,
            tables,
            belief: &belief,
            period: t as i64,
            hours: h_avail,
            limit,
            review_wait,
            defect_load,
            incentive: true,
        };
        let ((parts, review), done) = rayon::join(
            || plan_work_measure(c, rule, &ctx, pop, streams, &mut st),
            || pending.take().map(|(at, (raw, val))| (at, spearman(&raw, &val))),
        );
        if let Some((at, corr)) = done {
            store_correlation(at, corr, &mut per_period, nk, &mut corr_before);
        }
        review_last = review;

        let mut board = Board::rank(stage, &st.published, streams, t as i64, &mut order);
        pay(stage, &st.published, &board, &mut st.payout);
        let (caught, bonus) = settle(c, stage, pop, streams, t as i64, h_avail, &mut st);
        learn(rule, pop, &network, streams, t as i64, &mut st);
        update_beliefs(stage, &sc.behavior.belief, &st.published, &board, &mut scratch, &mut beliefs);
        let turnover = staff.as_mut().map(|s| {
            let counts = s.decide(t, stage, &st.published, &st.expected, streams, &mut order);
            if let Some(social) = sc.social.filter(|s| s.norm_erosion > 0.0) {
                s.erode(&social, &network, &st.gaming);
            }
            (counts, s.hiring_cost())
        });
        // The period's work was the leavers' (hires arrive next period).
        let pop = staff.as_ref().map_or(run.pop, |s| &s.pop);

        let leavers = staff.as_ref().map_or(&[][..], |s| &s.leaving[..]);
        let period = Period { t, stage, h_avail, caught, bonus, turnover, leavers, parts: &parts };
        let row = &mut per_period[t * nk..(t + 1) * nk];
        record(c, &period, pop, &st, &mut board, streams, &mut order, &mut last_hours, row, observer)?;
        course.watch(t, stage, row);
        let val = st.value.clone();
        // A policy with no metric has no board to show.
        if t + 1 == periods && rep == 0 && stage.rewarded {
            final_board = Some((st.published.clone(), val.clone()));
        }
        pending = stage.rewarded.then(|| (t as i64, (st.observed.clone(), val)));
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
    Ok(RunOutput { per_period, totals, final_board })
}

/// The review queue in a week whose review load is `review_each` hours per
/// engineer: the load over the capacity, rho (at most 0.99), and the days
/// a change waits per hour of review it needs, rho / (1 - rho) at a working
/// day of a fifth of the week (a single-server queue). Both 0 without
/// `org.review_capacity`.
fn queue(sc: &Scenario, review_each: f64) -> (f64, f64) {
    let rho = sc.org.review_capacity.map_or(0.0, |cap| (review_each / cap).min(0.99));
    let wait = if sc.org.review_capacity.is_some() { rho / (1.0 - rho) / (sc.org.hours_per_period / 5.0) } else { 0.0 };
    (rho, wait)
}

/// The pre-period has no week before it, so its changes would wait at no
/// load. When the first stage's metric counts `review_wait` (its first
/// board and its correlation before the policy come from the pre-period),
/// they wait instead as in a week after one like it, at the pre-period's
/// own waiting factor `wait`. The pre-period ran at a factor of 1 (plans and
/// shocks do not depend on it), so each engineer's signal scales by `wait`
/// and the observation is taken again with the measurement draw it had.
fn wait_at_own_load<M>(stage: &StagePolicy, wait: f64, streams: &Streams, st: &mut Engineers<M>) {
    let mut buf = Vec::new();
    let ss = st.s;
    for i in 0..st.observed.len() {
        st.signals[i * ss + metric::SIG_WAIT] *= wait;
        let (_, _, e_measure) = step_draws(&mut streams.stream(Purpose::Work, i as u64, -1));
        let raw = stage.metric.raw(st.signals_of(i), &mut buf);
        st.observed[i] = stage.metric.noise.apply(raw, e_measure);
    }
}

/// Which stage is in effect: the schedule's, unless one of the stage's
/// `adapt` rules has switched to another since.
#[derive(Default)]
struct Course {
    /// The schedule entry last in effect (`None` before the run).
    entry: Option<usize>,
    /// The stage in effect, and the period it took effect.
    stage: usize,
    since: usize,
    /// Per rule of the stage: periods in a row its condition has held.
    streak: Vec<u32>,
    /// A switch decided: (the period it takes effect, the stage).
    due: Option<(usize, usize)>,
}

impl Course {
    /// The stage in effect in period `t`, and whether it changed: a new
    /// schedule entry, or a switch that has come due.
    fn at(&mut self, t: usize, schedule: &[(u32, usize)], c: &Compiled) -> (usize, bool) {
        let idx = schedule.iter().rposition(|&(from, _)| from as usize <= t).unwrap_or(0);
        let next = if self.entry != Some(idx) {
            self.entry = Some(idx);
            Some(schedule[idx].1)
        } else {
            self.due.filter(|&(at, _)| at <= t).map(|(_, s)| s)
        };
        let Some(stage) = next else { return (self.stage, false) };
        (self.stage, self.since, self.due) = (stage, t, None);
        self.streak = vec![0; c.stage_policies[stage].adapt.len()];
        (stage, true)
    }

    /// After period `t`'s KPIs (`row`): the first of the stage's rules
    /// that fires decides a switch, unless one is already due.
    fn watch(&mut self, t: usize, stage: &StagePolicy, row: &[f64]) {
        if self.due.is_some() {
            return;
        }
        for (rule, streak) in stage.adapt.iter().zip(&mut self.streak) {
            *streak = if rule.holds(row) { *streak + 1 } else { 0 };
            let fires = match rule.after {
                Some(after) => t + 1 - self.since >= after as usize,
                None => *streak >= rule.hold,
            };
            if fires {
                self.due = Some((t + 1 + rule.notice as usize, rule.target));
                return;
            }
        }
    }
}

/// A new policy takes effect in period `t`: its metric's history is what
/// the last period's work looks like on it, searches start afresh, and
/// beliefs start from that board.
#[allow(clippy::too_many_arguments)]
fn announce<M>(
    stage: &StagePolicy,
    streams: &Streams,
    t: i64,
    st: &mut Engineers<M>,
    beliefs: &mut Beliefs,
    scratch: &mut [f64],
    order: &mut Vec<u32>,
    rule: BeliefRule,
) {
    let mut buf = Vec::new();
    let l = st.l;
    for i in 0..st.published.len() {
        let raw = stage.metric.raw(st.signals_of(i), &mut buf);
        let e = std_normal(&mut streams.substream(Purpose::Measurement, i as u64, t - 1, 1));
        let obs = stage.metric.noise.apply(raw, e);
        st.history[i * l..(i + 1) * l].iter_mut().for_each(|x| *x = obs);
        st.published[i] = obs;
        // Last period's search was for another metric.
        st.warm[i].forget();
    }
    beliefs.seen = 0;
    let board = Board::rank(stage, &st.published, streams, t - 1, order);
    update_beliefs(stage, &rule, &st.published, &board, scratch, beliefs);
}

/// The period's totals that KPIs are computed from.
struct Period<'a> {
    t: usize,
    stage: &'a StagePolicy,
    /// Hours each engineer had (the week less the review load).
    h_avail: f64,
    caught: Caught,
    bonus: f64,
    /// Turnover's counts and the hiring cost, with turnover.
    turnover: Option<(Counts, f64)>,
    /// The places whose engineer leaves at the end of the period.
    leavers: &'a [u32],
    /// Sums over engineers (see the `P_*` slots).
    parts: &'a [f64],
}

/// The period's KPIs into `kpi` (one period's row), then the period shown
/// to the observer.
#[allow(clippy::too_many_arguments)]
fn record<M>(
    c: &Compiled,
    p: &Period,
    pop: &Population,
    st: &Engineers<M>,
    board: &mut Board,
    streams: &Streams,
    order: &mut Vec<u32>,
    last_hours: &mut [f64],
    kpi: &mut [f64],
    observer: &mut dyn Observer,
) -> Result<(), ObserverError> {
    // `kpi` is this period's row, in the order of `c.kpi_list`.
    let sc = &c.scenario;
    let n = sc.org.engineers;
    let (t, parts) = (p.t, p.parts);
    let top_frac = match &p.stage.reward {
        Reward::Leaderboard { top_fraction, .. } if *top_fraction > 0.0 => *top_fraction,
        _ => 0.1,
    };
    let kt = ((top_frac * n as f64).round() as usize).clamp(1, n);
    // Precision as lift over a random pick of kt, whose expected precision
    // is kt/n: 0 = random, 1 = perfect. Undefined (NaN) with no metric, or
    // when the top is everyone (any pick is then perfect and random).
    let precision = if p.stage.rewarded && kt < n {
        // The leaderboard's own top when it has the same size, else a fresh selection.
        let metric_top = if board.top.len() == kt {
            std::mem::take(&mut board.top)
        } else {
            select_top(&st.published, kt, streams, t as i64, order);
            order[..kt].to_vec()
        };
        let raw = top_k_overlap(&metric_top, &st.value, streams, t as i64, order) as f64 / kt as f64;
        let f = kt as f64 / n as f64;
        (raw - f) / (1.0 - f)
    } else {
        f64::NAN
    };

    let nf = n as f64;
    let hours: Vec<f64> = (0..c.k).map(|a| parts[P_HOURS + a] / nf).collect();
    let view = PeriodView {
        period: t,
        engineers: n,
        hours_available: p.h_avail,
        price_per_token: sc.org.price_per_token(),
        incident_cost: sc.org.incident_cost,
        totals: Totals {
            tokens: parts[P_TOKENS],
            value: parts[P_VALUE],
            incidents: parts[P_INCIDENTS],
            deployments: parts[P_DEPLOY],
            failed: parts[P_FAILED],
            review_hours: parts[P_REVIEW],
            effort: parts[P_EFFORT],
            gaming_hours: parts[P_GAMING],
            work_hours: parts[P_WORK],
            cycle_days: parts[P_CYCLE],
            gamers: parts[P_GAMERS],
            overtime_hours: parts[P_OVERTIME],
            at_limit: parts[P_AT_LIMIT],
            ai_changes: parts[P_AI_CHANGES],
            gaming_changes: parts[P_GAMING_CHANGES],
            changes_caught: p.caught.changes,
            ..turnover_totals(p.turnover)
        },
        hours: &hours,
        last_hours,
        audit_detections: p.caught.engineers,
        bonus_paid: p.bonus,
        top_k_precision: precision,
        published: &st.published,
        value: &st.value,
        gaming: &st.gaming,
        gaming_changes: &st.gaming_changes,
        changes_caught: &st.caught,
        payout: &st.payout,
        payoff: &st.payoff,
        observed: &st.observed,
        plan_hours: &st.hours,
        plan_tau: &st.tau,
        perceived_leverage: &st.perceived,
        population: pop,
        leavers: p.leavers,
    };
    for (x, kpi) in kpi.iter_mut().zip(&c.kpi_list) {
        *x = kpi.compute(&view);
    }
    let seen = observer.period(&view);
    last_hours.copy_from_slice(&hours);
    seen
}

/// The turnover fields of a period's totals (all 0 without turnover).
fn turnover_totals(turnover: Option<(Counts, f64)>) -> Totals {
    let Some((c, hiring_cost)) = turnover else { return Totals::default() };
    Totals {
        forced_exits: c.forced,
        voluntary_exits: c.voluntary,
        regretted_exits: c.regretted,
        hiring_cost,
        skill: c.skill,
        integrity: c.integrity,
        never_game: c.never_game,
        reward_sensitivity: c.sensitivity,
        ..Totals::default()
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
    /// What engineers plan with: the stage's tables, or this period's when
    /// its metric counts `review_wait` (see `Compiled::period_plan`).
    tables: &'a PlanTables,
    belief: &'a Belief,
    period: i64,
    /// Contract hours less review load.
    hours: f64,
    /// The week's limit less review load.
    limit: f64,
    /// Days a change waits for review per hour of review it needs (0
    /// without a review capacity).
    review_wait: f64,
    /// The factor on every defect rate from last period's review load
    /// (`1 + org.review_miss rho`; 1 without it).
    defect_load: f64,
    incentive: bool,
}

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
const P_OVERTIME: usize = 11;
const P_AT_LIMIT: usize = 12;
const P_AI_CHANGES: usize = 13;
const P_GAMING_CHANGES: usize = 14;
const P_HOURS: usize = 15;

/// Plans, works and measures every engineer, in parallel chunks; returns
/// the chunk-ordered partial sums and the review load put on peers (hours).
fn plan_work_measure<B: BehaviorRule>(
    c: &Compiled,
    rule: &B,
    ctx: &PeriodCtx,
    pop: &Population,
    streams: &Streams,
    st: &mut Engineers<B::Memory>,
) -> (Vec<f64>, f64) {
    let np = P_HOURS + c.k;
    let parts: Vec<Vec<f64>> = st
        .chunks_mut(CHUNK)
        .into_par_iter()
        .map(|mut chunk| {
            let mut part = vec![0.0; np];
            let mut scratch = Scratch::new(c.k);
            let mut buf = Vec::new();
            let mut wrng = streams.stream(Purpose::Work, 0, ctx.period);
            for j in 0..chunk.published.len() {
                let i = chunk.first + j;
                // One stream for the agent-step, read in its fixed order
                // (see `Purpose::Work`).
                streams.reseat(&mut wrng, i as u64, ctx.period);
                let (u_strategy, u_logit, e_measure) = step_draws(&mut wrng);
                let planned = plan(c, rule, ctx, pop, i, j, u_strategy, u_logit, &mut scratch, &mut chunk);
                work(c, ctx, pop, i, j, &mut wrng, &planned, &scratch, &mut chunk, &mut part);
                measure(ctx, c.l, j, e_measure, &mut buf, &mut chunk);
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

/// An agent-step's first draws, in their order on its work stream: the
/// behaviour's two uniforms (strategy, logit) and the measurement noise.
#[inline]
fn step_draws(rng: &mut rand_chacha::ChaCha8Rng) -> (f64, f64, f64) {
    let u_strategy = open01(rng);
    let u_logit = open01(rng);
    (u_strategy, u_logit, std_normal(rng))
}

/// Plan: the behaviour chooses engineer `i`'s hours and AI intensity,
/// left in `scratch` and in the chunk's plan (`j` is `i` within it).
/// Returns the engineer as they planned: with the integrity they planned
/// with and their normal week's output.
#[allow(clippy::too_many_arguments)]
#[inline]
fn plan<B: BehaviorRule>(
    c: &Compiled,
    rule: &B,
    ctx: &PeriodCtx,
    pop: &Population,
    i: usize,
    j: usize,
    u_strategy: f64,
    u_logit: f64,
    scratch: &mut Scratch,
    chunk: &mut Chunk<B::Memory>,
) -> Agent {
    let kk = c.k;
    let me = pop.engineer(i);
    let agent = Agent {
        skill: me.skill,
        // Plans follow the leverage the engineer believes in; output, the true one.
        leverage: chunk.perceived[j],
        integrity: me.integrity,
        motivation: me.intrinsic_motivation,
        sensitivity: if ctx.incentive { me.reward_sensitivity } else { 0.0 },
        awareness: me.cost_awareness,
        may_game: !me.never_games,
        hours: ctx.limit,
        contract: ctx.hours,
        overtime: c.scenario.org.overtime_cost * me.skill,
        cap: None,
        curvature: 0.0,
        reference: 0.0,
    };
    let (tables, belief) = if ctx.incentive { (ctx.tables, ctx.belief) } else { (&ctx.stage.free, &Belief::Flat) };
    let mut agent = agent;
    if let (Some(b), true) = (ctx.stage.token_budget, ctx.incentive) {
        agent.cap = Some(chunk.budget[j].left(ctx.period, b.tokens, b.periods));
    }
    let gamma = c.scenario.traits.value_curvature;
    if gamma > 0.0 {
        agent.curvature = gamma;
        agent.reference = normal_week(&agent, pop.ai_leverage[i], tables, scratch);
    }
    let (hours, tau) = (&mut chunk.hours[j * kk..(j + 1) * kk], &mut chunk.tau[j * kk..(j + 1) * kk]);
    let planned = {
        let mut planner = Planner {
            agent,
            tables,
            belief,
            temperature: c.scenario.behavior.temperature,
            u_logit,
            u_strategy,
            incentive: ctx.incentive,
            scratch,
            warm: &mut chunk.warm[j],
            last_hours: hours,
            last_tau: tau,
        };
        rule.choose(&me, &mut chunk.memory[j], &mut planner);
        // What the job gives, as the engineer sees it: turnover compares it
        // with the outside option.
        if c.turnover {
            chunk.expected[j] = planner.utility(&planner.scratch.hours, &planner.scratch.tau);
        }
        planner.agent
    };
    hours.copy_from_slice(&scratch.hours);
    tau.copy_from_slice(&scratch.tau);
    planned
}

/// Work: production shocks by inversion, a fixed number of uniforms per
/// activity so that streams stay aligned across policies; signals, value,
/// gaming hours and cycle time into the chunk, totals into `part`.
#[allow(clippy::too_many_arguments)]
#[inline]
fn work<M>(
    c: &Compiled,
    ctx: &PeriodCtx,
    pop: &Population,
    i: usize,
    j: usize,
    rng: &mut rand_chacha::ChaCha8Rng,
    planned: &Agent,
    scratch: &Scratch,
    chunk: &mut Chunk<M>,
    part: &mut [f64],
) {
    let sc = &c.scenario;
    let (kk, ss) = (c.k, c.s);
    let rb = sc.org.rollback_probability();
    let incp = sc.org.incident_probability;
    let vn = sc.org.value_noise;
    let (skill, leverage) = (pop.skill[i], pop.ai_leverage[i]);
    let shock = (vn * std_normal(rng) - 0.5 * vn * vn).exp();
    let sig = &mut chunk.signals[j * ss..(j + 1) * ss];
    sig.iter_mut().for_each(|x| *x = 0.0);
    let (mut gaming_h, mut work_h, mut cycle, mut own) = (0.0, 0.0, 0.0, 0.0);
    let mut gaming_changes = 0.0;
    let mut used_ai = false;
    for (a, act) in sc.activities.iter().enumerate() {
        let u: [f64; 5] = std::array::from_fn(|_| open01(rng));
        let h = scratch.hours[a];
        if h <= 0.0 {
            continue;
        }
        let prod = if act.skill_scaled { skill } else { 1.0 };
        let tau = scratch.tau[a];
        // The share of the work AI does here.
        let s_ai = act.ai_share(tau);
        let q = if act.uses_ai { 1.0 + leverage * s_ai } else { 1.0 };
        used_ai |= act.uses_ai && tau > 0.0;
        let units = h * prod * q;
        let shipped = poisson_inv(u[0], act.changes_per_hour * units);
        let defect_rate = (act.defect_rate_at(s_ai) * ctx.defect_load).min(1.0);
        let defects = binomial_inv(u[1], shipped, defect_rate);
        let rolled = binomial_inv(u[2], defects, rb);
        let incidents = binomial_inv(u[3], defects, incp);
        let survived = shipped - rolled;
        let useful = binomial_inv(u[4], survived, act.usefulness);
        let kept = if shipped > 0 { survived as f64 / shipped as f64 } else { 1.0 - defect_rate * rb };
        let size = act.change_size_at(s_ai);
        sig[metric::SIG_TOKENS] += h * (act.tokens_per_hour + if act.uses_ai { tau } else { 0.0 });
        // (The factor is 1 exactly without AI, so outputs without it are unchanged.)
        sig[metric::SIG_VALUE] += act.value_per_hour * units * shock * kept * act.value_kept_at(s_ai);
        sig[metric::SIG_DEPLOYMENTS] += shipped as f64;
        sig[metric::SIG_PULL_REQUESTS] += shipped as f64;
        sig[metric::SIG_NORMALIZED] += size * useful as f64;
        sig[metric::SIG_SURVIVED] += size * survived as f64;
        sig[metric::SIG_FAILED] += rolled as f64;
        sig[metric::SIG_INCIDENTS] += incidents as f64;
        let review = act.review_hours_per_change * (1.0 + act.ai_review_factor * s_ai);
        sig[metric::SIG_REVIEW] += shipped as f64 * review;
        // Direct contributions to signals (e.g. inflated claims).
        for &(si, w) in &c.direct_signals[a] {
            sig[si] += w * units;
        }
        for &(si, w) in &c.ai_signals[a] {
            sig[si] += w * units * s_ai;
        }
        // Each change also waits for its review, in proportion to the review's length.
        let wait = ctx.review_wait * review;
        cycle += shipped as f64 * (act.cycle_time_days + wait);
        sig[metric::SIG_WAIT] += shipped as f64 * wait;
        sig[metric::SIG_AI_CHANGES] += shipped as f64 * s_ai;
        own += 0.5 * act.convexity * h * h;
        work_h += h;
        if act.gaming {
            gaming_h += h;
            gaming_changes += shipped as f64;
        }
    }
    let value = sig[metric::SIG_VALUE];
    let tokens = sig[metric::SIG_TOKENS];
    if ctx.stage.token_budget.is_some() && ctx.incentive {
        chunk.budget[j].used += tokens;
    }
    let week = Week { contract: ctx.hours, limit: ctx.limit, overtime: sc.org.overtime_cost * skill };
    let effort = sc.effort_cost.cost(&scratch.hours) + own + week.overtime_cost(work_h);
    let incidents = sig[metric::SIG_INCIDENTS];
    chunk.value[j] = value;
    chunk.gaming[j] = gaming_h;
    chunk.gaming_changes[j] = gaming_changes;
    chunk.cycle[j] = cycle;
    // Utility before the reward and audits, with the integrity the engineer
    // planned with (a committed gamer's is zero).
    chunk.base[j] = planned.intrinsic(value)
        - effort
        - planned.integrity * gaming_h
        - sc.org.incident_share * sc.org.incident_cost * incidents
        - pop.cost_awareness[i] * sc.org.price_per_token() * tokens;
    part[P_TOKENS] += tokens;
    part[P_VALUE] += value;
    part[P_INCIDENTS] += incidents;
    part[P_DEPLOY] += sig[metric::SIG_DEPLOYMENTS];
    part[P_FAILED] += sig[metric::SIG_FAILED];
    part[P_REVIEW] += sig[metric::SIG_REVIEW];
    part[P_EFFORT] += effort;
    part[P_GAMING] += gaming_h;
    part[P_WORK] += work_h;
    part[P_CYCLE] += cycle;
    part[P_AI_CHANGES] += sig[metric::SIG_AI_CHANGES];
    part[P_GAMING_CHANGES] += gaming_changes;
    part[P_GAMERS] += f64::from(u8::from(gaming_h > 0.5));
    part[P_OVERTIME] += (work_h - ctx.hours).max(0.0);
    // At the limit up to rounding (the solver lands on it exactly).
    part[P_AT_LIMIT] += f64::from(u8::from(ctx.limit > 0.0 && work_h >= ctx.limit * (1.0 - 1e-9)));
    for a in 0..kk {
        part[P_HOURS + a] += scratch.hours[a];
    }
    // A period of AI use teaches something about one's leverage (the last
    // draw of the agent-step, and only when there is noise to draw).
    let perception = &sc.traits.ai_perception;
    if used_ai && perception.learning_rate > 0.0 {
        let noise = if perception.experience_sd > 0.0 { perception.experience_sd * std_normal(rng) } else { 0.0 };
        let p = &mut chunk.perceived[j];
        *p = (*p + perception.learning_rate * (leverage + noise - *p)).max(-1.0);
    }
}

/// Measure: this period's observation enters the history; the published
/// value is the window's mean, `delay` periods back.
#[inline]
fn measure<M>(ctx: &PeriodCtx, l: usize, j: usize, e_measure: f64, buf: &mut Vec<f64>, chunk: &mut Chunk<M>) {
    let metric = &ctx.stage.metric;
    let ss = chunk.signals.len() / chunk.published.len();
    let raw = metric.raw(&chunk.signals[j * ss..(j + 1) * ss], buf);
    let obs = metric.noise.apply(raw, e_measure);
    let t = ctx.period;
    if t >= 0 {
        let history = &mut chunk.history[j * l..(j + 1) * l];
        let slot = |p: i64| p.rem_euclid(l as i64) as usize;
        history[slot(t)] = obs;
        let mut s = 0.0;
        for w in 0..metric.window as i64 {
            s += history[slot(t - metric.delay as i64 - w)];
        }
        chunk.published[j] = s / metric.window as f64;
    }
    chunk.observed[j] = obs;
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

/// What audits caught in a period: engineers caught, and changes caught by
/// an audit of changes.
#[derive(Debug, Clone, Copy, Default)]
struct Caught {
    engineers: f64,
    changes: f64,
}

/// Audits, and payouts into payoffs; returns what audits caught and the
/// bonus paid.
fn settle<M>(
    c: &Compiled,
    stage: &StagePolicy,
    pop: &Population,
    streams: &Streams,
    t: i64,
    h_avail: f64,
    st: &mut Engineers<M>,
) -> (Caught, f64) {
    let (mut caught, mut bonus) = (Caught::default(), 0.0);
    for i in 0..st.payout.len() {
        let mut pen = 0.0;
        st.caught[i] = 0.0;
        match stage.audit {
            // An audit of changes: each gaming change is audited and, if so,
            // caught independently, so the caught changes are binomial.
            Some(a) if a.changes.is_some() => {
                let mut rng = streams.stream(Purpose::Audit, i as u64, t);
                let n = st.gaming_changes[i] as u32;
                let k = f64::from(binomial_inv(open01(&mut rng), n, a.catch_per_change()));
                pen = k * a.penalty;
                st.caught[i] = k;
                caught.changes += k;
                caught.engineers += f64::from(u8::from(k > 0.0));
            }
            Some(a) => {
                let mut rng = streams.stream(Purpose::Audit, i as u64, t);
                let (u1, u2) = (open01(&mut rng), open01(&mut rng));
                let share = if h_avail > 0.0 { st.gaming[i] / c.scenario.org.hours_per_period } else { 0.0 };
                if u1 < a.probability && u2 < a.sensitivity * share {
                    pen = a.penalty;
                    caught.engineers += 1.0;
                }
            }
            None => {}
        }
        // Status and review outcomes are felt, not paid.
        if !stage.in_kind {
            bonus += st.payout[i].max(0.0);
        }
        st.payoff[i] = pop.reward_sensitivity[i] * st.payout[i] + st.base[i] - pen;
    }
    (caught, bonus)
}

/// Learning after payoffs: the behaviour updates each engineer's memory
/// (social rules see their neighbours' memory and payoff from before this
/// period's learning).
fn learn<B: BehaviorRule>(
    rule: &B,
    pop: &Population,
    network: &Network,
    streams: &Streams,
    t: i64,
    st: &mut Engineers<B::Memory>,
) {
    let snapshot = if B::SOCIAL { st.memory.clone() } else { Vec::new() };
    let payoffs: &[f64] = if B::SOCIAL { &st.payoff } else { &[] };
    let peers = Peers::new(&snapshot, payoffs, network);
    for (i, memory) in st.memory.iter_mut().enumerate() {
        let mut draws = Draws::new(streams, i, t);
        rule.learn(&pop.engineer(i), memory, st.payoff[i], &peers, &mut draws);
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
            let (obs_top, obs_bot) = (board.top_cut, board.bottom_cut);
            if b.seen == 0 {
                (b.top_var, b.bottom_var, b.errors) = (0.0, 0.0, 0);
            } else {
                // This board against the forecast made from the last ones:
                // the squared errors, weighted as the forecast weights boards.
                let w = match *rule {
                    _ if b.errors == 0 => 1.0,
                    BeliefRule::Adaptive { alpha } => alpha,
                    BeliefRule::Fictitious => 1.0 / (b.errors as f64 + 1.0),
                };
                let log = matches!(stage.metric.noise, Noise::Lognormal { .. });
                let err = |obs: f64, belief: f64| if log { (obs / belief).ln() } else { obs - belief };
                for (var, e) in [(&mut b.top_var, err(obs_top, b.top)), (&mut b.bottom_var, err(obs_bot, b.bottom))] {
                    if e.is_finite() {
                        *var += w * (e * e - *var);
                    }
                }
                b.errors += 1;
            }
            let alpha = match *rule {
                _ if b.seen == 0 => 1.0,
                BeliefRule::Adaptive { alpha } => alpha,
                BeliefRule::Fictitious => 1.0 / (b.seen as f64 + 1.0),
            };
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

/// The period's belief about the reward, with `tables` what engineers plan
/// with and `phi` the count noise they believe is on their metric.
fn make_belief(stage: &StagePolicy, b: &Beliefs, tables: &PlanTables, phi: f64) -> Belief {
    if !stage.rewarded {
        return Belief::Flat;
    }
    let belief = reward_belief(stage, b, phi);
    // A capped metric: the reward of min(cap, m), planned exactly.
    let belief = match stage.metric.cap {
        Some(c) => belief.capped(c),
        None => belief,
    };
    tables.cap_belief(belief)
}

fn reward_belief(stage: &StagePolicy, b: &Beliefs, phi: f64) -> Belief {
    let noise = stage.metric.belief_noise();
    match &stage.reward {
        Reward::None => Belief::Flat,
        Reward::Linear { rate } => Belief::Linear { rate: *rate },
        Reward::Threshold { quota, bonus } => {
            Belief::smoothed(0.0, vec![(*quota, *bonus)], vec![Kern::new(*quota, noise, 0.0, phi)])
        }
        Reward::Leaderboard { prize, penalty, .. } => {
            let (mut steps, mut kerns) = (Vec::new(), Vec::new());
            let mut base = 0.0;
            if b.top.is_finite() && *prize > 0.0 {
                steps.push((b.top, *prize));
                kerns.push(Kern::new(b.top, noise, b.top_var.sqrt(), phi));
            }
            if b.bottom.is_finite() && *penalty > 0.0 {
                steps.push((b.bottom, *penalty));
                kerns.push(Kern::new(b.bottom, noise, b.bottom_var.sqrt(), phi));
                base = -*penalty;
            }
            Belief::smoothed(base, steps, kerns)
        }
        Reward::Custom(rule) => Belief::Custom { rule: rule.clone(), board: b.board.clone(), noise },
    }
}
