//! The engineers' state during a run: one `Vec` per field (struct of
//! arrays), each indexed by engineer; per-activity and per-signal fields are
//! `n x k` and `n x s` blocks, row by engineer.

/// What the best-response search keeps of an engineer's last search, to
/// start the next one near it (see `Scratch::warm_start`). NaN: unknown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Warm {
    /// The metric multiplier of last period's plan.
    pub lambda: f64,
    /// How far, relatively, that multiplier moved from the period before.
    pub lambda_move: f64,
    /// Last period's expected metric.
    pub metric: f64,
    /// The metric's rate of change with the multiplier there.
    pub metric_slope: f64,
    /// The effective token price at which the plan met a token budget.
    pub theta_cap: f64,
}

/// An engineer's use of a token budget over several periods
/// (`Policy::token_budget`): the block it counts in, and the tokens used in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BudgetUse {
    pub block: i64,
    pub used: f64,
}

impl BudgetUse {
    /// Nothing used, in no block yet.
    pub const NONE: BudgetUse = BudgetUse { block: -1, used: 0.0 };

    /// What is left of `tokens` in period `t`'s block of `periods`
    /// (a new block starts afresh).
    pub fn left(&mut self, t: i64, tokens: f64, periods: u32) -> f64 {
        let block = t.div_euclid(i64::from(periods));
        if block != self.block {
            *self = BudgetUse { block, used: 0.0 };
        }
        (tokens - self.used).max(0.0)
    }
}

impl Warm {
    /// Nothing known (the expected metric starts at zero).
    pub fn new() -> Warm {
        let mut w = Warm { lambda: 0.0, lambda_move: 0.0, metric: 0.0, metric_slope: 0.0, theta_cap: 0.0 };
        w.forget();
        w
    }

    /// The next search starts afresh (a new metric; the expected metric is
    /// kept: it only predicts where the search starts).
    pub fn forget(&mut self) {
        self.lambda = f64::NAN;
        self.lambda_move = f64::NAN;
        self.metric_slope = f64::NAN;
        self.theta_cap = f64::NAN;
    }
}

/// Every engineer's state, with `M` the behaviour's memory.
#[derive(Debug, Clone)]
pub(crate) struct Engineers<M> {
    /// Activities `k`, signals `s` and the metric history's length `l`.
    pub k: usize,
    pub s: usize,
    pub l: usize,
    /// Planned hours per activity (`n x k`).
    pub hours: Vec<f64>,
    /// Planned AI intensity per activity, tokens per hour (`n x k`).
    pub tau: Vec<f64>,
    /// This period's signals (`n x s`).
    pub signals: Vec<f64>,
    /// The last `l` observations of the metric, a ring indexed by period (`n x l`).
    pub history: Vec<f64>,
    /// The published metric: the window's mean, `delay` periods back.
    pub published: Vec<f64>,
    /// This period's observation of the metric (with noise).
    pub observed: Vec<f64>,
    /// Useful output produced this period, USD.
    pub value: Vec<f64>,
    /// Hours spent gaming this period.
    pub gaming: Vec<f64>,
    /// Changes shipped from gaming activities this period (what an audit
    /// of changes can catch).
    pub gaming_changes: Vec<f64>,
    /// Changes caught by an audit of changes this period.
    pub caught: Vec<f64>,
    /// Days of cycle time summed over the changes shipped this period.
    pub cycle: Vec<f64>,
    /// Utility before the reward and audits, USD-equivalent.
    pub base: Vec<f64>,
    /// The reward scheme's payout this period, USD (negative: pressure).
    pub payout: Vec<f64>,
    /// Utility with the reward and audit penalty, USD-equivalent.
    pub payoff: Vec<f64>,
    /// The AI leverage each engineer believes they have, learnt from
    /// periods of AI use (`traits.ai_perception`).
    pub perceived: Vec<f64>,
    /// The utility each engineer expects of their plan, USD-equivalent:
    /// what they believe the job gives them (kept with turnover only).
    pub expected: Vec<f64>,
    /// The best-response search's memory.
    pub warm: Vec<Warm>,
    /// Each engineer's use of a token budget over several periods.
    pub budget: Vec<BudgetUse>,
    /// The behaviour's memory.
    pub memory: Vec<M>,
}

/// A contiguous run of engineers, `first..first + len`, borrowed field by
/// field: the unit of parallel work.
pub(crate) struct Chunk<'a, M> {
    pub first: usize,
    pub hours: &'a mut [f64],
    pub tau: &'a mut [f64],
    pub signals: &'a mut [f64],
    pub history: &'a mut [f64],
    pub published: &'a mut [f64],
    pub observed: &'a mut [f64],
    pub value: &'a mut [f64],
    pub gaming: &'a mut [f64],
    pub gaming_changes: &'a mut [f64],
    pub cycle: &'a mut [f64],
    pub base: &'a mut [f64],
    pub perceived: &'a mut [f64],
    pub expected: &'a mut [f64],
    pub warm: &'a mut [Warm],
    pub budget: &'a mut [BudgetUse],
    pub memory: &'a mut [M],
}

/// Splits `v` after `n` items, leaving the rest in `v`.
fn take<'a, T>(v: &mut &'a mut [T], n: usize) -> &'a mut [T] {
    let (head, tail) = std::mem::take(v).split_at_mut(n);
    *v = tail;
    head
}

impl<M> Engineers<M> {
    /// `memory.len()` engineers with `k` activities, `s` signals and a
    /// metric history of `l` periods, all zero, searches unknown.
    pub fn new(k: usize, s: usize, l: usize, memory: Vec<M>) -> Self {
        let n = memory.len();
        Engineers {
            k,
            s,
            l,
            hours: vec![0.0; n * k],
            tau: vec![0.0; n * k],
            signals: vec![0.0; n * s],
            history: vec![0.0; n * l],
            published: vec![0.0; n],
            observed: vec![0.0; n],
            value: vec![0.0; n],
            gaming: vec![0.0; n],
            gaming_changes: vec![0.0; n],
            caught: vec![0.0; n],
            cycle: vec![0.0; n],
            base: vec![0.0; n],
            payout: vec![0.0; n],
            payoff: vec![0.0; n],
            perceived: vec![0.0; n],
            expected: vec![0.0; n],
            warm: vec![Warm::new(); n],
            budget: vec![BudgetUse::NONE; n],
            memory,
        }
    }

    /// Engineer `i`'s signals.
    pub fn signals_of(&self, i: usize) -> &[f64] {
        &self.signals[i * self.s..(i + 1) * self.s]
    }

    /// The state cut into runs of `size` engineers, in order.
    pub fn chunks_mut(&mut self, size: usize) -> Vec<Chunk<'_, M>> {
        let n = self.published.len();
        let (k, s, l) = (self.k, self.s, self.l);
        let mut hours = &mut self.hours[..];
        let mut tau = &mut self.tau[..];
        let mut signals = &mut self.signals[..];
        let mut history = &mut self.history[..];
        let mut published = &mut self.published[..];
        let mut observed = &mut self.observed[..];
        let mut value = &mut self.value[..];
        let mut gaming = &mut self.gaming[..];
        let mut gaming_changes = &mut self.gaming_changes[..];
        let mut cycle = &mut self.cycle[..];
        let mut base = &mut self.base[..];
        let mut perceived = &mut self.perceived[..];
        let mut expected = &mut self.expected[..];
        let mut warm = &mut self.warm[..];
        let mut budget = &mut self.budget[..];
        let mut memory = &mut self.memory[..];
        let mut out = Vec::with_capacity(n.div_ceil(size.max(1)));
        let mut first = 0;
        while first < n {
            let m = size.min(n - first);
            out.push(Chunk {
                first,
                hours: take(&mut hours, m * k),
                tau: take(&mut tau, m * k),
                signals: take(&mut signals, m * s),
                history: take(&mut history, m * l),
                published: take(&mut published, m),
                observed: take(&mut observed, m),
                value: take(&mut value, m),
                gaming: take(&mut gaming, m),
                gaming_changes: take(&mut gaming_changes, m),
                cycle: take(&mut cycle, m),
                base: take(&mut base, m),
                perceived: take(&mut perceived, m),
                expected: take(&mut expected, m),
                warm: take(&mut warm, m),
                budget: take(&mut budget, m),
                memory: take(&mut memory, m),
            });
            first += m;
        }
        out
    }
}
