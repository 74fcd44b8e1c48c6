//! Extending the library without touching the engine: a researcher's own
//! metric and reward rule.
//!
//! - The metric, [`UsefulPerMillionTokens`], implements
//!   [`goodhart::CustomMetric`]: useful (normalized) deployments per million
//!   tokens, read from the `normalized_deployments` and `tokens` signals. A
//!   ratio is not a weighted sum, so engineers plan with a linear working
//!   model of it (`Metric.weights`): here a plane through the typical
//!   engineer of a baseline run, matching the metric's level and its slope
//!   in tokens there (weights have no intercept, so a plane cannot also
//!   match the slope in deployments: it overstates it twofold).
//! - The reward, [`TopThreeAndAboveMedian`], implements
//!   [`goodhart::RewardRule`]: the top 3 of the week get a bonus and
//!   everyone above the median a small one. It says how payouts follow from
//!   the published board, what an engineer expects given the last board and
//!   the noise on their own metric, and a bound on that expectation's slope.
//!
//! Both go into an ordinary [`Policy`], compared with no leaderboard and
//! Kirorank (the token leaderboard) on the same engineers and shocks.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example custom_metric
//! ```

use std::sync::Arc;

use goodhart::analysis::stats::{normal_cdf, normal_pdf};
use goodhart::io::output::{human, table};
use goodhart::{CustomMetric, Estimate, Metric, Noise, Policy, Results, Reward, RewardRule, Scenario};

/// Useful deployments per million tokens. Below `floor` million tokens a
/// week the denominator is `floor`, so an engineer without AI is not ranked
/// infinitely efficient.
#[derive(Debug)]
struct UsefulPerMillionTokens {
    /// Smallest denominator, million tokens per period.
    floor: f64,
}

impl CustomMetric for UsefulPerMillionTokens {
    fn signals(&self) -> Vec<String> {
        vec!["normalized_deployments".into(), "tokens".into()]
    }

    fn observe(&self, values: &[f64]) -> f64 {
        let (useful, tokens) = (values[0], values[1]);
        useful / (tokens / 1e6).max(self.floor)
    }
}

/// The top `winners` of the published board get `bonus`; everyone strictly
/// above the median gets `small` (the winners too).
#[derive(Debug)]
struct TopThreeAndAboveMedian {
    winners: usize,
    bonus: f64,
    small: f64,
}

impl TopThreeAndAboveMedian {
    /// Cut-offs on a board sorted ascending: midway between the last winner
    /// and the first loser, and the median.
    fn cutoffs(&self, board: &[f64]) -> (f64, f64) {
        let n = board.len();
        let k = self.winners.min(n);
        let top = if k == 0 {
            f64::INFINITY
        } else if k == n {
            f64::NEG_INFINITY
        } else {
            0.5 * (board[n - k] + board[n - k - 1])
        };
        let median = if n % 2 == 1 { board[n / 2] } else { 0.5 * (board[n / 2 - 1] + board[n / 2]) };
        (top, median)
    }
}

/// Probability that a metric expected at `m` is observed at or above `c`
/// under `noise`. Non-decreasing in `m` for every noise.
fn prob_at_least(m: f64, c: f64, noise: Noise) -> f64 {
    let step = |ok: bool| if ok { 1.0 } else { 0.0 };
    match noise {
        Noise::Normal { sd } if sd > 0.0 => normal_cdf((m - c) / sd),
        Noise::Lognormal { sd } if sd > 0.0 && m > 0.0 && c > 0.0 => normal_cdf(((m / c).ln() - 0.5 * sd * sd) / sd),
        Noise::Lognormal { .. } if c <= 0.0 => step(m > 0.0 || m >= c),
        _ => step(m >= c),
    }
}

/// An upper bound on the slope of `prob_at_least` in `m`.
fn max_prob_slope(c: f64, noise: Noise) -> f64 {
    match noise {
        // phi(z) / sd, largest at z = 0.
        Noise::Normal { sd } if sd > 0.0 => normal_pdf(0.0) / sd,
        // phi(z) / (sd m) with m = c exp(sd z + sd^2 / 2) peaks at phi(0) / (sd c).
        Noise::Lognormal { sd } if sd > 0.0 && c > 0.0 => normal_pdf(0.0) / (sd * c),
        Noise::Lognormal { sd } if sd > 0.0 => 0.0,
        _ => f64::INFINITY,
    }
}

impl RewardRule for TopThreeAndAboveMedian {
    fn payouts(&self, published: &[f64], out: &mut [f64]) {
        let mut board = published.to_vec();
        board.sort_by(f64::total_cmp);
        if board.is_empty() {
            return;
        }
        let (_, median) = self.cutoffs(&board);
        for (o, &p) in out.iter_mut().zip(published) {
            *o = if p > median { self.small } else { 0.0 };
        }
        // Winners by rank (ties go to the lower index).
        let mut order: Vec<usize> = (0..published.len()).collect();
        order.sort_by(|&a, &b| published[b].total_cmp(&published[a]).then(a.cmp(&b)));
        for &i in order.iter().take(self.winners) {
            out[i] += self.bonus;
        }
    }

    fn expected(&self, m: f64, board: &[f64], noise: Noise) -> f64 {
        if board.is_empty() {
            return 0.0;
        }
        let (top, median) = self.cutoffs(board);
        self.bonus * prob_at_least(m, top, noise) + self.small * prob_at_least(m, median, noise)
    }

    fn max_slope(&self, board: &[f64], noise: Noise) -> f64 {
        if board.is_empty() {
            return 0.0;
        }
        let (top, median) = self.cutoffs(board);
        self.bonus * max_prob_slope(top, noise) + self.small * max_prob_slope(median, noise)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let mut scenario = Scenario::default();
    // Small, because a custom rule gives the best-response search no
    // curvature bound to prune with: it evaluates many more plans per
    // engineer-week than a built-in leaderboard does.
    scenario.org.engineers = 100;
    scenario.periods = 20;
    scenario.replications = 5;

    // 1. Calibrate the engineers' working model on a baseline: with no
    // incentive, what do useful deployments and tokens look like per week?
    let useful = Metric::builtin("normalized_deployments", scenario.org.survival_window)?;
    let observe = Policy::new("observe", useful, Reward::None);
    let short = Scenario { replications: 1, periods: 8, ..scenario.clone() };
    let calibration = goodhart::run(&short.with_policies(vec![observe]))?;
    let weeks = (calibration.scenario.periods * calibration.scenario.org.engineers as u32) as f64;
    let t0 = calibration.estimate("observe", "tokens").ok_or("no tokens")?.mean / weeks / 1e6;
    let board = calibration.runs[0][0].final_board.as_ref().ok_or("no final board")?;
    let d0 = board.0.iter().sum::<f64>() / board.0.len() as f64;
    let r0 = d0 / t0;
    println!("Calibration (no incentive): the typical engineer ships {d0:.2} useful deployments a week");
    println!("on {t0:.1} million tokens: {r0:.3} useful deployments per million tokens.");

    // A plane through the typical engineer with the ratio's level r0 and its
    // slope in tokens, -d0/t0^2. Weights have no intercept, so the slope in
    // deployments must then be 2/t0 (the ratio's own is 1/t0).
    let per_deployment = 2.0 / t0;
    let per_token = d0 / (t0 * t0) / 1e6;
    println!(
        "Working model engineers plan with: metric ~ {per_deployment:.3} x useful deployments - {:.4} x million tokens.\n",
        per_token * 1e6
    );

    // 2. The policy: the custom metric, observed with noise, and the custom rule.
    let metric = Metric {
        name: "useful_per_million_tokens".into(),
        weights: vec![("normalized_deployments".into(), per_deployment), ("tokens".into(), -per_token)],
        per: Vec::new(),
        noise: Noise::Normal { sd: 0.2 * r0 },
        delay: 0,
        window: 1,
        cap: None,
        custom: Some(Arc::new(UsefulPerMillionTokens { floor: 1.0 })),
    };
    let noise = metric.noise;
    let rule = Arc::new(TopThreeAndAboveMedian { winners: 3, bonus: 3000.0, small: 200.0 });
    let mut efficiency = Policy::new("efficiency-bonus", metric, Reward::Custom(rule.clone()));
    efficiency.description =
        "Top 3 by useful deployments per million tokens win 3,000 USD, above median 200 USD".into();
    let kirorank =
        goodhart::model::preset::policies().into_iter().find(|p| p.name == "kirorank").ok_or("no kirorank")?;
    scenario.policies = vec![Policy::none("no-leaderboard"), kirorank, efficiency];
    let r = goodhart::run(&scenario)?;
    println!(
        "{} engineers, {} weeks, {} replications, 3 policies (both runs: {:.1} s)\n",
        scenario.org.engineers,
        scenario.periods,
        scenario.replications,
        started.elapsed().as_secs_f64()
    );
    print!("{}", table(&r));

    // 3. What the new metric did.
    let (base, p) = ("no-leaderboard", "efficiency-bonus");
    let est = |p: &str, k: &str| r.estimate(p, k).ok_or_else(|| format!("no KPI {k}"));
    let tokens_per_week = |p: &str| -> Result<f64, String> { Ok(est(p, "tokens")?.mean / weeks_of(&r) / 1e6) };
    println!();
    for name in [base, "kirorank", p] {
        println!(
            "{name:>16}: {:5.1} million tokens per engineer-week, {:5.2} build hours, {:4.2} hours burning, bonus {} USD",
            tokens_per_week(name)?,
            est(name, "hours.build")?.mean,
            est(name, "hours.burn")?.mean,
            match est(name, "bonus_paid")?.mean {
                0.0 => "0".to_string(),
                b => human(b),
            }
        );
    }
    let bill = paired(&r, p, base, "token_cost")?;
    let output = paired(&r, p, base, "useful_output")?;
    let net = paired(&r, p, base, "net_value")?;
    let corr_before = est(p, "metric_value_correlation_before")?;
    let corr = est(p, "metric_value_correlation")?;
    println!("\nEfficiency bonus minus no leaderboard (paired, 95% CI), USD over {} weeks:", scenario.periods);
    println!("  token bill     {}", ci(&bill));
    println!("  useful output  {}", ci(&output));
    println!("  net value      {}  (after the bonuses paid)", ci(&net));
    println!(
        "Rank correlation of the efficiency metric with value: {:.2} before it is rewarded, {:.2} after.",
        corr_before.mean, corr.mean
    );
    println!(
        "A ratio can be raised by shrinking its denominator: {}",
        if bill.ci_high >= 0.0 {
            "here the token bill did not fall measurably."
        } else if output.ci_high < 0.0 {
            "engineers cut tokens, and useful output fell with them."
        } else if output.ci_low > 0.0 {
            "engineers cut tokens and still shipped more useful work (tokens are cheap next to value)."
        } else {
            "engineers cut tokens without measurably losing output."
        }
    );

    // 4. The rule's contract, checked on the last published board: the
    // expected reward must never fall as the metric rises, and `max_slope`
    // must bound its slope (the best-response search relies on both).
    let last = &r.runs[r.policy_index(p).ok_or("no policy")?][0];
    let mut board = last.final_board.as_ref().ok_or("no final board")?.0.clone();
    board.sort_by(f64::total_cmp);
    let (lo, hi) = (board[0] - 0.5 * r0, board[board.len() - 1] + 0.5 * r0);
    let (mut steepest, mut monotone) = (0.0f64, true);
    let mut prev = rule.expected(lo, &board, noise);
    for i in 1..=4000 {
        let m = lo + (hi - lo) * i as f64 / 4000.0;
        let e = rule.expected(m, &board, noise);
        monotone &= e >= prev;
        steepest = steepest.max((e - prev) / ((hi - lo) / 4000.0));
        prev = e;
    }
    let bound = rule.max_slope(&board, noise);
    println!(
        "Rule contract on the last board: expected reward non-decreasing: {monotone}; steepest slope {} <= bound {}: {}.",
        human(steepest),
        human(bound),
        steepest <= bound * (1.0 + 1e-9)
    );
    Ok(())
}

/// Engineer-weeks counted in a run's totals.
fn weeks_of(r: &Results) -> f64 {
    let s = &r.scenario;
    (s.periods - s.burn_in) as f64 * s.org.engineers as f64
}

fn paired(r: &Results, a: &str, b: &str, kpi: &str) -> Result<Estimate, String> {
    r.paired_diff(a, b, kpi).ok_or_else(|| format!("no KPI {kpi}"))
}

fn ci(e: &Estimate) -> String {
    format!("{:>9} [{}, {}]", human(e.mean), human(e.ci_low), human(e.ci_high))
}
