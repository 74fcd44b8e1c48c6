//! The engine's mechanics seen from outside, through an observer: the
//! published metric's delay and window, custom metrics and reward rules,
//! and audits' detection curve.

use std::sync::Arc;

use goodhart::{
    Audit, CustomMetric, Experiment, Metric, Noise, Observer, ObserverError, PeriodView, Policy, Reward, RewardRule,
    Scenario,
};

use crate::common::small_story;

/// Every period's published and observed metric, gaming hours and payouts.
#[derive(Default)]
struct Record {
    published: Vec<Vec<f64>>,
    observed: Vec<Vec<f64>>,
    gaming: Vec<Vec<f64>>,
    payout: Vec<Vec<f64>>,
    detections: Vec<f64>,
}

impl Observer for Record {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        self.published.push(p.published.to_vec());
        self.observed.push(p.observed.to_vec());
        self.gaming.push(p.gaming.to_vec());
        self.payout.push(p.payout.to_vec());
        self.detections.push(p.audit_detections);
        Ok(())
    }
}

/// The records of every run of `policy`, replication by replication.
fn records(sc: &Scenario, policy: &str) -> Vec<Record> {
    let mut out = Vec::new();
    Experiment::new(sc)
        .run_observed(&|_| Record::default(), &mut |info, r, _| {
            if info.policy == policy {
                out.push(r);
            }
            Ok(())
        })
        .unwrap();
    out
}

fn one_policy(p: Policy) -> Scenario {
    let mut sc = small_story(60, 12, 2);
    sc.policies = vec![Policy::none("no-leaderboard"), p];
    sc
}

#[test]
fn the_published_metric_is_the_window_mean_delay_periods_back() {
    let mut m = Metric::builtin("tokens", 4).unwrap();
    (m.delay, m.window) = (2, 3);
    let sc = one_policy(Policy::new("lagged", m, Reward::leaderboard(0.1, 3000.0, 0.0, 0.0)));
    for r in records(&sc, "lagged") {
        // From period delay + window - 1 on, the window holds observations
        // of this policy only.
        for t in 4..12 {
            for i in 0..60 {
                let want = (r.observed[t - 2][i] + r.observed[t - 3][i] + r.observed[t - 4][i]) / 3.0;
                let got = r.published[t][i];
                assert!((got - want).abs() <= 1e-12 * want.abs(), "period {t}, engineer {i}: {got} vs {want}");
            }
        }
        // Before that, the window also holds the observation the policy
        // started from (the pre-period's work measured on this metric),
        // which is what period 0 publishes.
        for i in 0..60 {
            let start = r.published[0][i];
            assert_eq!(r.published[1][i], start, "engineer {i}");
            let want = [(r.observed[0][i] + 2.0 * start) / 3.0, (r.observed[1][i] + r.observed[0][i] + start) / 3.0];
            for (t, want) in [(2, want[0]), (3, want[1])] {
                let got = r.published[t][i];
                assert!((got - want).abs() <= 1e-12 * want.abs(), "period {t}, engineer {i}: {got} vs {want}");
            }
        }
        // The noise is on each observation: published values are not the observations.
        assert_ne!(r.published[6], r.observed[6]);
    }
}

#[test]
fn the_final_board_is_the_first_replications_last_period() {
    let sc = small_story(50, 7, 3);
    let mut last = Vec::new();
    let results = Experiment::new(&sc)
        .run_observed(&|_| Record::default(), &mut |info, r, out| {
            last.push((info.policy.to_string(), info.replication, r.published[6].clone(), out.final_board.clone()));
            Ok(())
        })
        .unwrap();
    assert_eq!(last.len(), 3 * results.policies.len());
    for (policy, rep, published, board) in last {
        match board {
            Some((metric, _)) => assert!(rep == 0 && metric == published, "replication {rep}"),
            // A policy with no metric has no board.
            None => assert!(rep > 0 || policy == "no-leaderboard", "{policy}: replication 0 has no final board"),
        }
    }
}

#[derive(Debug)]
struct Constant(f64);

impl CustomMetric for Constant {
    fn signals(&self) -> Vec<String> {
        vec!["tokens".into()]
    }
    fn observe(&self, _: &[f64]) -> f64 {
        self.0
    }
}

/// Pays a thousandth of the published metric, in USD.
#[derive(Debug)]
struct Share;

impl RewardRule for Share {
    fn payouts(&self, published: &[f64], out: &mut [f64]) {
        for (o, p) in out.iter_mut().zip(published) {
            *o = 1e-3 * p;
        }
    }
    fn expected(&self, m: f64, _: &[f64], _: Noise) -> f64 {
        1e-3 * m
    }
    fn max_slope(&self, _: &[f64], _: Noise) -> f64 {
        1e-3
    }
}

#[test]
fn custom_metrics_and_rewards_are_what_the_engine_measures_and_pays() {
    let mut m = Metric::weighted("constant", vec![("tokens".into(), 1.0)]);
    m.custom = Some(Arc::new(Constant(7.5)));
    m.noise = Noise::None;
    let sc = one_policy(Policy::new("custom", m, Reward::Custom(Arc::new(Share))));
    for r in records(&sc, "custom") {
        for t in 0..12 {
            assert!(r.observed[t].iter().chain(&r.published[t]).all(|&x| x == 7.5), "period {t}");
            assert!(r.payout[t].iter().all(|&x| x == 7.5e-3), "period {t}: {:?}", &r.payout[t][..3]);
        }
    }
}

#[test]
fn audits_detect_in_proportion_to_gaming_hours() {
    // Detections in a period are a sum of independent draws, engineer i
    // caught with probability q_i = probability x min(1, sensitivity x
    // gaming_i / hours per period): their total over every period and run
    // is within 4 standard errors of sum q_i.
    let audit = Audit { probability: 0.3, changes: None, sensitivity: 1.0, penalty: 500.0 };
    let mut p =
        Policy::new("audited", Metric::builtin("tokens", 4).unwrap(), Reward::leaderboard(0.1, 3000.0, 0.1, 2000.0));
    p.audit = Some(audit);
    let mut sc = one_policy(p);
    sc.traits.integrity = goodhart::Dist::constant(2.0).into();
    let h = sc.org.hours_per_period;
    let (mut caught, mut expect, mut var) = (0.0, 0.0, 0.0);
    for r in records(&sc, "audited") {
        caught += r.detections.iter().sum::<f64>();
        for g in r.gaming.iter().flatten() {
            let q = audit.probability * (audit.sensitivity * g / h).min(1.0);
            expect += q;
            var += q * (1.0 - q);
        }
    }
    assert!(expect > 20.0, "too little gaming to test the curve: {expect}");
    assert!((caught - expect).abs() <= 4.0 * var.sqrt(), "caught {caught}, expected {expect} +- {}", var.sqrt());
}

/// Keeps each period's top-k precision as the engine reports it and as
/// recomputed from the published metric and the value produced.
struct Precision {
    k: usize,
    pairs: Vec<(f64, f64)>,
}

impl Observer for Precision {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        let top = |xs: &[f64]| -> Vec<usize> {
            let mut idx: Vec<usize> = (0..xs.len()).collect();
            idx.sort_by(|&a, &b| xs[b].total_cmp(&xs[a]));
            idx.truncate(self.k);
            idx
        };
        let (by_metric, by_value) = (top(p.published), top(p.value));
        let both = by_metric.iter().filter(|i| by_value.contains(i)).count();
        // Reported as lift over a random pick of k of n.
        let f = self.k as f64 / p.engineers as f64;
        self.pairs.push((p.top_k_precision, (both as f64 / self.k as f64 - f) / (1.0 - f)));
        Ok(())
    }
}

#[test]
fn top_k_precision_uses_the_boards_own_top_and_a_tenth_otherwise() {
    // A leaderboard's precision is over its own top share; a board with no
    // top (pressure only), like any other scheme, is judged on its top 10%.
    for (top_fraction, k) in [(0.3, 24), (0.0, 8)] {
        let reward = Reward::leaderboard(top_fraction, 3000.0, 0.1, 2000.0);
        let mut sc = one_policy(Policy::new("board", Metric::builtin("tokens", 4).unwrap(), reward));
        sc.org.engineers = 80;
        let mut seen = 0;
        Experiment::new(&sc)
            .run_observed(&|_| Precision { k, pairs: Vec::new() }, &mut |info, p, _| {
                if info.policy == "board" {
                    for (t, (engine, recomputed)) in p.pairs.into_iter().enumerate() {
                        assert_eq!(engine, recomputed, "top {top_fraction}, period {t}");
                        seen += 1;
                    }
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, 2 * 12);
    }
}

#[test]
fn top_k_precision_is_lift_over_a_random_pick() {
    // A board of pure noise (every engineer's metric is 0 plus independent
    // normal noise each period) picks a uniformly random k of n, whatever
    // the values: the overlap with the true top k is hypergeometric, so the
    // lift (overlap/k - k/n) / (1 - k/n) has mean 0 and variance exactly
    // 1/(n - 1) for any k. Periods and replications are independent draws,
    // so the mean over T periods and R replications has standard error
    // 1/sqrt((n - 1) T R); it must be within 4 of them of 0, and 4 of them
    // fit in the 0.05 the issue allows. Reported as raw precision, the mean
    // would be k/n = 0.2. The true value with no noise ranks as value does: 1.
    let noise = Metric {
        name: "noise".into(),
        weights: vec![("value".into(), 0.0)],
        per: Vec::new(),
        noise: Noise::Normal { sd: 1.0 },
        delay: 0,
        window: 1,
        cap: None,
        custom: None,
    };
    let oracle = Metric::builtin("value", 4).unwrap();
    let mut sc = small_story(200, 20, 2);
    sc.policies = vec![
        Policy::none("no-leaderboard"),
        Policy::new("noise", noise, Reward::leaderboard(0.2, 0.0, 0.0, 0.0)),
        Policy::new("oracle", oracle, Reward::leaderboard(0.1, 0.0, 0.0, 0.0)),
    ];
    let r = goodhart::run(&sc).unwrap();
    let draws = 199.0 * f64::from(sc.periods - sc.burn_in) * f64::from(sc.replications);
    let se = 1.0 / draws.sqrt();
    assert!(4.0 * se <= 0.05, "too few draws for the 0.05 tolerance: se {se}");
    let random = r.estimate("noise", "top_k_precision").unwrap().mean;
    assert!(random.abs() <= 4.0 * se, "random board's lift {random}, se {se}");
    for (t, x) in r.period_means("oracle", "top_k_precision").unwrap().into_iter().enumerate() {
        assert_eq!(x, 1.0, "oracle, period {t}");
    }
    // No metric, no precision: the KPI is absent, not a number.
    assert!(r.estimate("no-leaderboard", "top_k_precision").is_none());
    assert!(r.summary().iter().all(|row| row.policy != "no-leaderboard" || row.kpi != "top_k_precision"));
}

/// The share of engineers whose published value is within a relative
/// 1e-4 of the `k`-th largest (the last one in the top `k`): the pile at the
/// cut-off.
fn share_at_cutoff(values: &[f64], k: usize) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    let cut = v[k - 1];
    v.iter().filter(|&&x| (x - cut).abs() <= 1e-4 * cut.abs()).count() as f64 / v.len() as f64
}

#[test]
fn a_noiseless_token_board_does_not_pile_up_at_the_cutoff() {
    // With no measurement noise a step belief makes everyone who wants the
    // prize plan just above the cut-off: before, 150 of 200 engineers sat
    // within 250 tokens of 18.0002 M in the last week, the top 10% drawn
    // among them at random. The cut-off's own uncertainty spreads them.
    // Every period from the third on (the first board is taken as it is,
    // the second is the first forecast error).
    let mut sc = goodhart::model::preset::scenario("story").unwrap();
    sc.replications = 1;
    sc.policies.retain(|p| p.name == "kirorank");
    sc.baseline = None;
    sc.policies[0].metric.as_mut().unwrap().noise = Noise::None;
    let recs = records(&sc, "kirorank");
    assert_eq!(recs[0].published.len(), sc.periods as usize);
    let k = sc.org.engineers / 10;
    let shares: Vec<f64> = recs[0].published.iter().map(|p| share_at_cutoff(p, k)).collect();
    let worst = shares[2..].iter().copied().fold(0.0, f64::max);
    assert!(worst < 0.2, "{shares:?}");
    // Nor anywhere else on the board: the share at the modal token count
    // (to the token) stays below a fifth. Before, three quarters of the
    // board shared it; the 40-hour corner (strong engineers at the wall,
    // with maximum AI) added a second pile, gone with overtime.
    let modal = |p: &[f64]| {
        let mut v: Vec<i64> = p.iter().map(|x| x.round() as i64).collect();
        v.sort_unstable();
        let (mut best, mut run) = (1, 1);
        for w in v.windows(2) {
            run = if w[0] == w[1] { run + 1 } else { 1 };
            best = best.max(run);
        }
        best as f64 / v.len() as f64
    };
    let modes: Vec<f64> = recs[0].published.iter().map(|p| modal(p)).collect();
    let worst = modes[2..].iter().copied().fold(0.0, f64::max);
    assert!(worst < 0.2, "{modes:?}");
}

/// Twice the tokens: a custom observation to cap.
#[derive(Debug)]
struct Double;

impl CustomMetric for Double {
    fn signals(&self) -> Vec<String> {
        vec!["tokens".into()]
    }
    fn observe(&self, v: &[f64]) -> f64 {
        2.0 * v[0]
    }
}

#[test]
fn a_capped_metric_counts_min_cap_raw_each_period_before_the_window() {
    // Nothing is rewarded, so every policy's engineers plan and work alike
    // (the same engineers and shocks): each capped observation, noise-free,
    // is exactly min(cap, raw) of the same engineer-week under the uncapped
    // metric, for a weighted sum, a ratio and a custom observation; and the
    // window averages capped weeks.
    let tokens = Metric::weighted("tokens", vec![("tokens".into(), 1.0)]);
    let ratio = Metric::ratio("per_change", vec![("tokens".into(), 1.0)], vec![("deployments".into(), 1.0)]);
    let mut custom = tokens.clone();
    custom.custom = Some(Arc::new(Double));
    let cap = 1.4e7;
    let mut windowed = tokens.clone().with_cap(cap);
    windowed.window = 3;
    let policy = |name: &str, m: Metric| Policy::new(name, m, Reward::None);
    let mut sc = small_story(60, 12, 2);
    sc.policies = vec![
        policy("sum", tokens.clone()),
        policy("sum-capped", windowed),
        policy("ratio", ratio.clone()),
        policy("ratio-capped", ratio.with_cap(2e6)),
        policy("custom-capped", custom.with_cap(2.0 * cap)),
    ];
    let (sum, ratio) = (records(&sc, "sum"), records(&sc, "ratio"));
    for (name, raw, c, scale) in
        [("sum-capped", &sum, cap, 1.0), ("ratio-capped", &ratio, 2e6, 1.0), ("custom-capped", &sum, 2.0 * cap, 2.0)]
    {
        let (mut bound, mut free) = (0, 0);
        for (rep, (capped, raw)) in records(&sc, name).iter().zip(raw).enumerate() {
            for t in 0..12 {
                for i in 0..60 {
                    let want = (scale * raw.observed[t][i]).min(c);
                    assert_eq!(capped.observed[t][i], want, "{name} replication {rep} period {t} engineer {i}");
                    if scale * raw.observed[t][i] > c { bound += 1 } else { free += 1 }
                }
            }
        }
        // The cap binds on some engineer-weeks and not on others.
        assert!(bound > 100 && free > 100, "{name}: {bound} capped, {free} not");
    }
    for r in records(&sc, "sum-capped") {
        for t in 2..12 {
            for i in 0..60 {
                let want = (r.observed[t][i] + r.observed[t - 1][i] + r.observed[t - 2][i]) / 3.0;
                assert!((r.published[t][i] - want).abs() <= 1e-12 * want, "period {t}, engineer {i}");
                assert!(r.published[t][i] <= cap);
            }
        }
    }
}
