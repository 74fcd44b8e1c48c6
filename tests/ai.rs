//! AI leverage as engineers perceive it (`traits.ai_perception`): plans
//! follow the perceived leverage, output the true one, and experience
//! moves the one towards the other.

use crate::common::first_observed;
use goodhart::model::dist::Dist;
use goodhart::{AiPerception, Experiment, Observer, ObserverError, PeriodView, Policy, Scenario, run};

/// Per period: each engineer's perceived minus true leverage, and whether
/// they used AI (hours with a positive AI intensity on an AI activity).
#[derive(Default)]
struct Gaps {
    gap: Vec<Vec<f64>>,
    used: Vec<Vec<bool>>,
}

impl Observer for Gaps {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        let k = p.hours.len();
        let ai: Vec<bool> =
            ["build", "burn", "split", "rush", "inflate"].iter().map(|a| *a == "build" || *a == "rush").collect();
        self.gap.push((0..p.engineers).map(|i| p.perceived_leverage[i] - p.population.ai_leverage[i]).collect());
        self.used.push(
            (0..p.engineers)
                .map(|i| (0..k).any(|a| ai[a] && p.plan_hours[i * k + a] > 0.0 && p.plan_tau[i * k + a] > 0.0))
                .collect(),
        );
        Ok(())
    }
}

fn gaps(sc: &Scenario) -> Gaps {
    first_observed(sc, &|_| Gaps::default())
}

/// The default organisation without a leaderboard.
fn plain(engineers: usize, periods: u32, replications: u32) -> Scenario {
    let mut sc = Scenario { policies: vec![Policy::none("no-leaderboard")], ..Scenario::default() };
    (sc.org.engineers, sc.periods, sc.replications) = (engineers, periods, replications);
    sc
}

#[test]
fn a_bias_decays_by_one_minus_the_learning_rate_per_period_of_ai_use() {
    let mut sc = plain(200, 12, 1);
    // The default activities: AI is used in build and rush.
    let names: Vec<&str> = sc.activities.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["build", "burn", "split", "rush", "inflate"]);
    let (bias, r) = (0.3, 0.2);
    sc.traits.ai_perception = AiPerception { bias, sd: 0.0, learning_rate: r, experience_sd: 0.0 };
    let g = gaps(&sc);
    let mut steps = 0;
    for t in 1..g.gap.len() {
        for i in 0..sc.org.engineers {
            let want = g.gap[t - 1][i] * if g.used[t][i] { 1.0 - r } else { 1.0 };
            assert!((g.gap[t][i] - want).abs() <= 1e-12, "engineer {i}, period {t}: {} against {want}", g.gap[t][i]);
            steps += usize::from(g.used[t][i]);
        }
    }
    // Most engineer-periods use AI, so the check is about learning, not its absence.
    assert!(steps > 11 * 200 * 9 / 10, "{steps} engineer-periods of AI use");
    // Period 0 follows the pre-period: one or two steps from the bias.
    for (i, &gap) in g.gap[0].iter().enumerate() {
        let steps = [0, 1, 2].map(|n| bias * (1.0 - r).powi(n));
        assert!(steps.iter().any(|s| (gap - s).abs() <= 1e-12), "engineer {i}: {gap}");
    }
}

#[test]
fn noisy_experience_settles_at_the_ar1_variance() {
    // p - a follows x' = (1 - r) x + r s e while AI is used: stationary
    // variance r s^2 / (2 - r), reached from x = 0 up to (1 - r)^(2t).
    let (r, s) = (0.1, 0.4);
    let mut sc = plain(1000, 80, 1);
    // Leverage well above zero, so that no draw of experience stops anyone
    // using AI (which would freeze their perception and select on it).
    sc.traits.ai_leverage = Dist::Uniform { low: 0.5, high: 1.0 }.into();
    sc.traits.ai_perception = AiPerception { bias: 0.0, sd: 0.0, learning_rate: r, experience_sd: s };
    let g = gaps(&sc);
    let last = g.gap.len() - 1;
    let always: Vec<f64> =
        (0..sc.org.engineers).filter(|&i| g.used.iter().all(|u| u[i])).map(|i| g.gap[last][i]).collect();
    assert!(always.len() >= 990, "{} of 1000 engineers used AI every period", always.len());
    let n = always.len() as f64;
    let mean = always.iter().sum::<f64>() / n;
    let var = always.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let want = r * s * s / (2.0 - r);
    // Normal sampling error of a variance: want * sqrt(2 / (n - 1)); of the mean: sqrt(want / n).
    assert!((var - want).abs() < 4.0 * want * (2.0 / (n - 1.0)).sqrt(), "variance {var}, want {want}");
    assert!(mean.abs() < 4.0 * (want / n).sqrt(), "mean {mean}");
}

/// True leverage centred at zero (half the engineers lose output with AI),
/// without a leaderboard: engineers who know it, and the same engineers
/// believing it 0.4 higher and never learning. Same seed: the same
/// engineers and shocks, replication by replication.
fn optimists() -> (Scenario, Scenario) {
    let mut exact = plain(200, 20, 12);
    exact.traits.ai_leverage = Dist::Normal { mean: 0.0, sd: 0.3 }.into();
    let mut believing = exact.clone();
    believing.traits.ai_perception = AiPerception { bias: 0.4, ..AiPerception::default() };
    (exact, believing)
}

#[test]
fn believing_in_leverage_that_is_not_there_buys_tokens_and_hours_not_productivity() {
    let (exact, believing) = optimists();
    let (a, b) = (run(&exact).unwrap(), run(&believing).unwrap());
    let values = |r: &goodhart::Results, kpi: &str| r.try_values("no-leaderboard", kpi).unwrap();
    // Useful output per hour worked, replication by replication.
    let per_hour = |r: &goodhart::Results| -> Vec<f64> {
        let hours: Vec<Vec<f64>> = ["build", "burn", "split", "rush", "inflate"]
            .iter()
            .map(|act| values(r, &format!("hours.{act}")))
            .collect();
        let out = values(r, "useful_output");
        (0..out.len()).map(|j| out[j] / hours.iter().map(|h| h[j]).sum::<f64>()).collect()
    };
    let paired = |x: Vec<f64>, y: Vec<f64>| {
        goodhart::analysis::stats::Estimate::of(&y.iter().zip(&x).map(|(y, x)| y - x).collect::<Vec<_>>())
    };
    let diff = |kpi: &str| paired(values(&a, kpi), values(&b, kpi));
    let tokens = diff("token_cost");
    assert!(tokens.ci_low > 0.0, "token bill: {tokens:?}");
    // Believing each hour is worth more, they work more hours (output
    // rises with them), but each hour yields less and the engineers pay
    // for the extra hours in effort: the surplus falls.
    let productivity = paired(per_hour(&a), per_hour(&b));
    assert!(productivity.ci_high < 0.0, "useful output per hour: {productivity:?}");
    assert!(diff("hours.build").ci_low > 0.0, "build hours: {:?}", diff("hours.build"));
    let surplus = diff("total_surplus");
    assert!(surplus.ci_high < 0.0, "total surplus: {surplus:?}");
}

/// With no reward and engineers who know their leverage, each plans the
/// normal week the curvature of their utility of output is centred on: the
/// curvature changes nothing, engineer by engineer.
#[test]
fn with_no_reward_and_exact_perception_the_curvature_of_value_changes_nothing() {
    let flat = plain(120, 6, 2);
    let mut bent = flat.clone();
    bent.traits.value_curvature = 1.5;
    let (a, b) = (run(&flat).unwrap(), run(&bent).unwrap());
    for kpi in ["useful_output", "token_cost", "hours.build", "total_surplus"] {
        let (x, y) = (a.try_values("no-leaderboard", kpi).unwrap(), b.try_values("no-leaderboard", kpi).unwrap());
        for (x, y) in x.iter().zip(&y) {
            assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{kpi}: {x} against {y}");
        }
    }
}

/// The acceptance case with an income effect: leverage centred at zero,
/// believed 0.4 higher, no leaderboard. At a curvature of 1 (hours that do
/// not rise with productivity, docs/model.md section 4) the bill rises and
/// useful output does not: a week that seems more productive feels done
/// sooner. At 0 (output weighed linearly) output rises with the hours the
/// belief buys: the verdict flips inside the curvature's range.
#[test]
fn with_an_income_effect_believing_in_ai_buys_tokens_and_not_output() {
    let (exact, believing) = optimists();
    let paired = |gamma: f64, kpi: &str| {
        let (mut a, mut b) = (exact.clone(), believing.clone());
        (a.traits.value_curvature, b.traits.value_curvature) = (gamma, gamma);
        let (a, b) = (run(&a).unwrap(), run(&b).unwrap());
        let (x, y) = (a.try_values("no-leaderboard", kpi).unwrap(), b.try_values("no-leaderboard", kpi).unwrap());
        goodhart::analysis::stats::Estimate::of(&y.iter().zip(&x).map(|(y, x)| y - x).collect::<Vec<_>>())
    };
    let tokens = paired(1.0, "token_cost");
    assert!(tokens.ci_low > 0.0, "token bill: {tokens:?}");
    let output = paired(1.0, "useful_output");
    assert!(output.ci_high < 0.0, "useful output: {output:?}");
    let hours = paired(1.0, "hours.build");
    assert!(hours.ci_high < 0.0, "build hours: {hours:?}");
    let linear = paired(0.0, "useful_output");
    assert!(linear.ci_low > 0.0, "useful output, output weighed linearly: {linear:?}");
}

#[test]
fn leverage_below_minus_one_is_raised_to_it_and_perceived_from_there() {
    let mut sc = plain(50, 2, 1);
    sc.traits.ai_leverage = Dist::Normal { mean: -3.0, sd: 0.5 }.into();
    sc.traits.ai_perception = AiPerception { bias: 0.5, ..AiPerception::default() };
    let g = gaps(&sc);
    // Perceived -0.5 against a true -1: a gap of exactly the bias, and
    // nobody who believes AI costs output uses it (so nothing is learnt).
    assert!(g.gap.iter().flatten().all(|&x| x == 0.5), "{:?}", &g.gap[0][..5]);
    assert!(g.used.iter().flatten().all(|&u| !u));
    let r = run(&sc).unwrap();
    assert!(r.estimate("no-leaderboard", "useful_output").unwrap().mean > 0.0);
}

#[test]
fn a_reward_in_kind_moves_engineers_as_money_does_but_costs_nothing() {
    // token-badges as shipped (status) and the same board paying money:
    // the same behaviour to the last token, no bonus paid in kind, and net
    // value apart by exactly the money paid.
    let mut kind = goodhart::model::preset::compare(&["token-badges".into()], plain(60, 10, 4)).unwrap();
    (kind.org.engineers, kind.periods, kind.replications) = (60, 10, 4);
    let mut money = kind.clone();
    for p in &mut money.policies {
        p.in_kind = false;
    }
    assert!(kind.policies.iter().any(|p| p.in_kind));
    let (a, b) = (run(&kind).unwrap(), run(&money).unwrap());
    let v = |r: &goodhart::Results, k: &str| r.try_values("token-badges", k).unwrap();
    for k in ["token_cost", "useful_output", "gaming_share", "effort_cost"] {
        assert_eq!(v(&a, k), v(&b, k), "{k}");
    }
    assert!(v(&a, "bonus_paid").iter().all(|&x| x == 0.0));
    let paid = v(&b, "bonus_paid");
    assert!(paid.iter().all(|&x| x > 0.0), "{paid:?}");
    for ((ka, mb), p) in v(&a, "net_value").iter().zip(v(&b, "net_value")).zip(&paid) {
        assert!((ka - mb - p).abs() <= 1e-9 * ka.abs(), "{ka} - {mb} against {p}");
    }
}

#[test]
fn the_ai_mandate_presets_raise_the_token_bill_against_no_leaderboard() {
    let mut sc = goodhart::model::preset::scenario("ai-mandates").unwrap();
    (sc.org.engineers, sc.periods, sc.replications) = (100, 12, 8);
    let r = run(&sc).unwrap();
    for p in ["token-badges", "ai-use-review"] {
        let d = r.try_paired_diff(p, "no-leaderboard", "token_cost").unwrap();
        assert!(d.ci_low > 0.0, "{p}: {d:?}");
        assert_eq!(r.estimate(p, "bonus_paid").unwrap().mean, 0.0, "{p} pays in kind");
    }
    // A monthly budget under the badges: the board takes the month's
    // tokens in its first weeks, and later weeks are built without AI:
    // useful output falls below no leaderboard's (engineers plan a week at
    // a time; docs/model.md, section 7).
    let d = r.try_paired_diff("token-badges-monthly-budget", "no-leaderboard", "useful_output").unwrap();
    assert!(d.ci_high < 0.0, "{d:?}");
}

#[test]
fn a_fixed_size_board_is_the_fraction_it_makes_of_the_organisation() {
    // The top 10 of 200 and of 400 engineers run exactly as the top 5% and
    // 2.5%; a board larger than the organisation is refused, named.
    let board = |top: Option<u64>, fraction: f64| goodhart::Reward::Leaderboard {
        top_fraction: fraction,
        prize: 3000.0,
        bottom_fraction: 0.0,
        penalty: 0.0,
        top_count: top,
        bottom_count: None,
    };
    for (n, fraction) in [(200, 0.05), (400, 0.025)] {
        let with = |reward| {
            let mut sc = plain(n, 6, 3);
            sc.policies.push(Policy::new("board", goodhart::Metric::builtin("tokens", 4).unwrap(), reward));
            run(&sc).unwrap()
        };
        let (count, frac) = (with(board(Some(10), 0.1)), with(board(None, fraction)));
        for k in ["token_cost", "useful_output", "bonus_paid", "gaming_share"] {
            assert_eq!(count.try_values("board", k).unwrap(), frac.try_values("board", k).unwrap(), "{n}: {k}");
        }
    }
    let mut sc = plain(50, 6, 3);
    sc.policies.push(Policy::new("board", goodhart::Metric::builtin("tokens", 4).unwrap(), board(Some(60), 0.1)));
    let e = sc.validate().unwrap_err().to_string();
    assert!(e.starts_with("policy[1].reward.top_count: 60 is not allowed; expected at most org.engineers (50)"), "{e}");
}

/// The default organisation where AI-assisted changes need more review
/// (`ai_review_factor` on the AI activities) and review has a capacity.
fn reviewed(factor: f64, capacity: f64) -> Scenario {
    let mut sc = Scenario { periods: 12, replications: 6, ..Scenario::default() };
    sc.org.engineers = 150;
    sc.org.review_capacity = Some(capacity);
    for a in sc.activities.iter_mut().filter(|a| a.uses_ai) {
        a.ai_review_factor = factor;
    }
    sc
}

#[test]
fn review_per_change_and_waiting_follow_the_ai_share_exactly() {
    // One shipping activity: review hours per change are r0 (1 + f share)
    // in every period, and cycle time c0 + the wait per review hour times
    // that, the wait set by last period's load over the capacity.
    let mut sc = reviewed(0.9, 6.0);
    sc.activities.retain(|a| a.name == "build");
    sc.replications = 1;
    let (r0, c0) = (sc.activities[0].review_hours_per_change, sc.activities[0].cycle_time_days);
    let r = run(&sc).unwrap();
    let series = |k: &str| r.period_means("no-leaderboard", k).unwrap();
    let (per_change, share, cycle, review) =
        (series("review_hours_per_change"), series("ai_assisted_share"), series("cycle_time"), series("review_hours"));
    assert!(share.iter().all(|&s| s > 0.3 && s < 1.0), "{share:?}");
    for t in 0..12 {
        let want = r0 * (1.0 + 0.9 * share[t]);
        assert!((per_change[t] - want).abs() < 1e-12 * want, "period {t}: {} vs {want}", per_change[t]);
        if t > 0 {
            let rho = (review[t - 1] / 150.0 / 6.0).min(0.99);
            let wait = rho / (1.0 - rho) / 8.0;
            let want = c0 + wait * per_change[t];
            assert!((cycle[t] - want).abs() < 1e-9 * want, "period {t}: cycle {} vs {want}", cycle[t]);
        }
    }
}

#[test]
fn more_ai_assisted_changes_mean_more_review_per_change_and_longer_cycles() {
    // The same engineers and shocks; AI a tenth of the price: engineers put
    // more of their work through AI, and each change needs more review and
    // waits longer for it.
    let mut dear = reviewed(0.9, 10.0);
    dear.replications = 10;
    let mut cheap = dear.clone();
    cheap.org.token_price_per_million = 0.6;
    let (a, b) = (run(&dear).unwrap(), run(&cheap).unwrap());
    let paired = |k: &str| {
        crate::common::paired_mean_se(&a.values("no-leaderboard", k).unwrap(), &b.values("no-leaderboard", k).unwrap())
    };
    for k in ["ai_assisted_share", "review_hours_per_change", "cycle_time"] {
        let (d, se) = paired(k);
        assert!(d > 0.0 && d > 4.0 * se, "{k}: {d} (se {se})");
    }
    // Without the factor and the capacity nothing of this is reported.
    let names: Vec<String> = run(&Scenario { replications: 1, periods: 2, ..Scenario::default() })
        .unwrap()
        .kpis
        .iter()
        .map(|d| d.name.clone())
        .collect();
    assert!(!names.iter().any(|n| n == "ai_assisted_share"), "{names:?}");
}

/// The review queue's waiting factor after a week whose review load was
/// `review` hours over `engineers` engineers: days per review hour.
fn waiting_factor(review: f64, engineers: f64, capacity: f64) -> f64 {
    let rho = (review / engineers / capacity).min(0.99);
    rho / (1.0 - rho) / 8.0
}

/// An engineer's review_wait over their review_hours (-1 with neither):
/// the days each review hour waited.
#[derive(Debug)]
struct WaitPerReviewHour;

impl goodhart::CustomMetric for WaitPerReviewHour {
    fn signals(&self) -> Vec<String> {
        vec!["review_wait".into(), "review_hours".into()]
    }
    fn observe(&self, v: &[f64]) -> f64 {
        let (wait, review) = (v[0], v[1]);
        if review > 0.0 {
            wait / review
        } else if wait == 0.0 {
            -1.0
        } else {
            f64::NAN
        }
    }
}

/// Per period: each engineer's observed metric, the published one, and the
/// organisation's review hours.
#[derive(Default)]
struct Seen {
    observed: Vec<Vec<f64>>,
    published: Vec<Vec<f64>>,
    review: Vec<f64>,
}

impl Observer for Seen {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        self.observed.push(p.observed.to_vec());
        self.published.push(p.published.to_vec());
        self.review.push(p.totals.review_hours);
        Ok(())
    }
}

/// Each run's [`Seen`], by replication, of the scenario's first policy.
fn seen(sc: &Scenario) -> Vec<Seen> {
    let mut out = Vec::new();
    Experiment::new(sc)
        .run_observed(&|_| Seen::default(), &mut |info, o, _| {
            if info.policy_index == 0 {
                out.push(o);
            }
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn review_wait_is_each_changes_review_times_the_waiting_factor() {
    // Every change waits its review's length times the week's waiting
    // factor, set by last week's load: an engineer's review_wait over their
    // review hours (the sum of their changes' review lengths) is that factor,
    // engineer by engineer and week by week, whatever mix of activities and
    // AI use they chose (nothing without changes). The first week's board
    // comes from the week before the policy, whose changes wait at its own
    // load: one factor for everyone there too (published with a delay of 1).
    let mut sc = reviewed(0.9, 6.0);
    sc.replications = 2;
    let mut m = goodhart::Metric::weighted("wait-per-review-hour", vec![("review_wait".into(), 1.0)]);
    m.custom = Some(std::sync::Arc::new(WaitPerReviewHour));
    m.delay = 1;
    sc.policies = vec![Policy::new("observe", m, goodhart::Reward::None)];
    sc.baseline = None;
    let (mut checked, mut idle) = (0, 0);
    for run in seen(&sc) {
        let pre = run.published[0].iter().copied().find(|&x| x > 0.0).unwrap();
        assert!(run.published[0].iter().all(|&x| x == -1.0 || (x - pre).abs() <= 1e-12 * pre), "week 0");
        for t in 1..12 {
            let w = waiting_factor(run.review[t - 1], 150.0, 6.0);
            assert!(w > 0.05, "week {t}: factor {w}");
            for (i, &x) in run.observed[t].iter().enumerate() {
                if x == -1.0 {
                    idle += 1;
                    continue;
                }
                assert!((x - w).abs() <= 1e-12 * w, "week {t}, engineer {i}: {x} days per review hour, want {w}");
                checked += 1;
            }
        }
    }
    // Most engineer-weeks ship a change (a low-skill one ships few: 9% ship none).
    assert!(checked > 2500 && idle < checked / 5, "{checked} engineer-weeks checked, {idle} without changes");
    // Only the queue adds to it.
    let e = goodhart::parse_scenario("[[activity]]\nname = \"x\"\nsignals = { review_wait = 1 }\n")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("activity[0].signals.review_wait: 1 is not allowed"), "{e}");
}

#[test]
fn more_ai_assisted_changes_wait_longer_for_review() {
    // AI a tenth of the price (the same engineers and shocks): more of the
    // work goes through AI, each change needs longer review and the queue
    // is longer, so the wait per pull request (review_wait over
    // pull_requests, as a dashboard shows it) rises, paired, beyond 4
    // standard errors; so does the total wait.
    let mut dear = reviewed(0.9, 10.0);
    dear.replications = 10;
    let per_pr =
        goodhart::Metric::ratio("wait-per-pr", vec![("review_wait".into(), 1.0)], vec![("pull_requests".into(), 1.0)]);
    let total = goodhart::Metric::weighted("wait", vec![("review_wait".into(), 1.0)]);
    dear.policies = vec![
        Policy::new("per-pr", per_pr, goodhart::Reward::None),
        Policy::new("total", total, goodhart::Reward::None),
    ];
    dear.baseline = None;
    let mut cheap = dear.clone();
    cheap.org.token_price_per_million = 0.6;
    // Each replication's mean over engineers and weeks of the observed metric.
    let means = |sc: &Scenario, policy: usize| -> Vec<f64> {
        let mut sc = sc.clone();
        sc.policies = vec![sc.policies[policy].clone()];
        seen(&sc).iter().map(|s| s.observed.iter().flatten().sum::<f64>() / (12.0 * 150.0)).collect()
    };
    for policy in 0..2 {
        let (d, se) = crate::common::paired_mean_se(&means(&dear, policy), &means(&cheap, policy));
        assert!(d > 4.0 * se, "{}: {d} (se {se})", dear.policies[policy].name);
    }
}

/// Per week after the first: the engineers' review_wait summed (a metric
/// of it alone, observed without noise), what their plans make of it in
/// expectation at the week's waiting factor, and that sum's variance.
struct Planned {
    sc: Scenario,
    last_review: Option<f64>,
    weeks: Vec<(f64, f64, f64)>,
}

impl Observer for Planned {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        let k = p.hours.len();
        if let Some(review) = self.last_review {
            let w = waiting_factor(review, p.engineers as f64, self.sc.org.review_capacity.unwrap());
            let (mut mean, mut var) = (0.0, 0.0);
            for i in 0..p.engineers {
                for (a, act) in self.sc.activities.iter().enumerate() {
                    let (h, tau) = (p.plan_hours[i * k + a], p.plan_tau[i * k + a]);
                    let x = act.ai_share(tau);
                    let skill = if act.skill_scaled { p.population.skill[i] } else { 1.0 };
                    let q = if act.uses_ai { 1.0 + p.population.ai_leverage[i] * x } else { 1.0 };
                    let changes = h * skill * q * act.changes_per_hour;
                    let wait = w * act.review_hours_per_change * (1.0 + act.ai_review_factor * x);
                    mean += changes * wait;
                    var += changes * wait * wait;
                }
            }
            self.weeks.push((p.observed.iter().sum(), mean, var));
        }
        self.last_review = Some(p.totals.review_hours);
        Ok(())
    }
}

#[test]
fn a_metric_on_review_wait_is_planned_at_the_weeks_waiting_factor() {
    // A felt cost of 400 USD-eq per day one's pull requests wait: engineers
    // plan with the wait their changes will have at the week's factor (the
    // planner's tables are checked exactly in the engine's unit tests), so
    // the wait their plans lead one to expect is the wait realised, summed
    // over engineers and weeks, within 4 standard errors (changes are
    // Poisson, each waiting a fixed time). And they act on it: fewer
    // AI-assisted changes, shorter reviews (paired, beyond 4 standard errors).
    let mut sc = reviewed(0.9, 8.0);
    sc.replications = 4;
    let wait = goodhart::Metric::weighted("review_wait", vec![("review_wait".into(), 1.0)]);
    sc.policies = vec![Policy::none("none"), Policy::new("wait-cost", wait, goodhart::Reward::Linear { rate: -400.0 })];
    sc.baseline = Some("none".into());
    let (mut got, mut want, mut var) = (0.0, 0.0, 0.0);
    let r = Experiment::new(&sc)
        .run_observed(&|_| Planned { sc: sc.clone(), last_review: None, weeks: Vec::new() }, &mut |info, o, _| {
            if info.policy_index == 1 {
                for (g, m, v) in o.weeks {
                    (got, want, var) = (got + g, want + m, var + v);
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(
        want > 1000.0 && (got - want).abs() < 4.0 * var.sqrt(),
        "{got} days waited, {want} planned (sd {})",
        var.sqrt()
    );
    for k in ["ai_assisted_share", "review_hours_per_change"] {
        let (d, se) = crate::common::paired_mean_se(&r.values("none", k).unwrap(), &r.values("wait-cost", k).unwrap());
        assert!(d < -4.0 * se, "{k}: {d} (se {se})");
    }
}

#[test]
fn ai_defects_raise_failures_by_the_ai_share_of_changes() {
    // Each change is defective with probability d (1 + f x), x the share of
    // its work AI did, and rolled back with probability rb: given the
    // changes shipped, failures have mean rb d (D + f A), with A the
    // AI-assisted changes (x summed over changes). Summed over the run,
    // within 4 standard errors (a sum of Bernoulli draws: variance at most
    // its mean), and beyond 4 of them from what AI-blind defects would give.
    let mut sc = Scenario { periods: 12, replications: 1, ..Scenario::default() };
    sc.org.engineers = 150;
    sc.activities.retain(|a| a.name == "build");
    sc.activities[0].ai_defect_factor = 1.5;
    let (d, rb) = (sc.activities[0].defect_rate, sc.org.rollback_probability());
    let r = run(&sc).unwrap();
    let series = |k: &str| r.period_means("no-leaderboard", k).unwrap();
    let (deploy, share, cfr) = (series("deployments"), series("ai_assisted_share"), series("change_failure_rate"));
    let failed: f64 = deploy.iter().zip(&cfr).map(|(n, c)| n * c).sum();
    let want: f64 = deploy.iter().zip(&share).map(|(n, s)| rb * d * n * (1.0 + 1.5 * s)).sum();
    let blind: f64 = deploy.iter().map(|n| rb * d * n).sum();
    assert!((failed - want).abs() < 4.0 * want.sqrt(), "{failed} failures, {want} expected");
    assert!(failed - blind > 4.0 * want.sqrt(), "{failed} failures, {blind} without AI's effect");
}

/// A scenario file with an AI-assisted share target: the share of changes
/// AI did (a ratio of signals) must reach 0.9 for a bonus.
const AI_SHARE_TARGET: &str = r#"
periods = 10
replications = 6
baseline = "none"
[org]
engineers = 120
[[policy]]
name = "none"
[[policy]]
name = "ai-share-target"
metric = { signals = { ai_changes = 1.0 }, per = { deployments = 1.0 }, noise = { dist = "normal", sd = 0.05 } }
reward = { scheme = "threshold", quota = 0.9, bonus = 500 }
"#;

#[test]
fn an_ai_share_target_in_a_file_raises_the_share_and_the_bill() {
    // The ratio metric read from a file: engineers put more of their work
    // through AI to reach the share (paired, beyond 4 standard errors), and
    // the token bill rises with it.
    let sc = goodhart::parse_scenario(AI_SHARE_TARGET).unwrap();
    let r = run(&sc).unwrap();
    for k in ["ai_assisted_share", "token_cost"] {
        let (d, se) =
            crate::common::paired_mean_se(&r.values("none", k).unwrap(), &r.values("ai-share-target", k).unwrap());
        assert!(d > 0.0 && d > 4.0 * se, "{k}: {d} (se {se})");
    }
    // A ratio's denominator names a known signal.
    let bad = AI_SHARE_TARGET.replace("per = { deployments", "per = { deploymnts");
    let e = goodhart::parse_scenario(&bad).unwrap_err().to_string();
    assert!(e.starts_with("policy[1].metric.per: ") && e.contains("did you mean `deployments`"), "{e}");
}

#[test]
fn a_metric_on_review_hours_is_planned_exactly_while_ai_changes_review() {
    // Review per change depends on the AI share; the planner models it (a
    // polynomial in the share), so such a metric is accepted.
    let text = "[[activity]]\nname = \"build\"\nuses_ai = true\nchanges_per_hour = 0.1\nai_review_factor = 0.5\n\
                [[policy]]\nname = \"reviewers\"\nmetric = { signals = { review_hours = 1.0 } }\nreward = { scheme = \"linear\", rate = 1 }\n";
    goodhart::parse_scenario(text).unwrap();
}

#[test]
fn boards_of_the_day_pay_more_than_they_buy_unless_status_is_the_prize() {
    // Pull requests and lines of code, ranked weekly with a 3,000 USD prize:
    // more changes ship and output rises, but less than the prizes cost.
    // The public top 25 pays in status: output rises and nobody is paid.
    let sc = goodhart::model::preset::scenario("metrics-of-the-day").unwrap();
    let r = run(&sc).unwrap();
    let d = |p: &str, k: &str| r.paired_diff(p, "no-leaderboard", k).unwrap();
    for board in ["pr-count", "lines-of-code"] {
        assert!(d(board, "deployments").ci_low > 0.0, "{board}");
        assert!(d(board, "useful_output").ci_low > 0.0, "{board}");
        assert!(d(board, "net_value").ci_high < 0.0, "{board}: {:?}", d(board, "net_value"));
        assert!(d(board, "gaming_share").ci_low > 0.0, "{board}: splitting and padding appear");
    }
    let public = "pr-count-public-top-25";
    assert_eq!(r.estimate(public, "bonus_paid").unwrap().mean, 0.0);
    assert!(d(public, "net_value").ci_low > 0.0 && d(public, "effort_cost").ci_low > 0.0);
}

/// The assumption check samples the four perception parameters as values
/// across their whole plausible ranges (docs/model.md, section 13) in a
/// scenario that uses AI perception, and leaves them out of one that does
/// not; the other parameters are sampled at the same factors either way.
#[test]
fn the_assumption_check_samples_perception_across_its_range_only_where_it_is_used() {
    use goodhart::analysis::assumptions::{AssumptionCheck, CheckSize, check};
    let perception = [
        ("perception_bias", 0.0, 0.4),
        ("perception_sd", 0.0, 0.3),
        ("perception_learning_rate", 0.0, 0.1),
        ("perception_experience_sd", 0.0, 1.0),
        // How hours answer a week that seems more productive decides what
        // the belief buys: sampled with it.
        ("value_curvature", 0.0, 2.0),
    ];
    let size = CheckSize { samples: 8, replications: 1 };
    let names = |c: &AssumptionCheck| c.parameters.iter().map(|a| a.name).collect::<Vec<_>>();
    let mut sc = crate::common::small_story(40, 6, 2);
    let without = check(&run(&sc).unwrap(), size, &|_| {}).unwrap();
    let m = without.parameters.len();
    assert!(m >= 12 && !names(&without).iter().any(|n| n.starts_with("perception")), "{:?}", names(&without));
    assert!(!goodhart::io::assumptions::samples_csv(&without).contains("perception"));
    assert!(goodhart::io::assumptions::json(&without)["parameters"][0].get("absolute").is_none());

    sc.traits.ai_perception.bias = 0.3;
    let with = check(&run(&sc).unwrap(), size, &|_| {}).unwrap();
    let want: Vec<&str> = names(&without).into_iter().chain(perception.iter().map(|p| p.0)).collect();
    assert_eq!(names(&with), want);
    let n = size.samples as f64;
    for (k, &(name, lo, hi)) in perception.iter().enumerate() {
        let a = &with.parameters[m + k];
        assert!(a.absolute() && (a.low, a.high) == (lo, hi), "{name}: {a:?}");
        // A Latin hypercube: one sampled value in each eighth of the range.
        let mut xs: Vec<f64> = with.samples.iter().map(|s| s.factors[m + k]).collect();
        xs.sort_by(f64::total_cmp);
        for (i, x) in xs.iter().enumerate() {
            let (from, to) = (lo + (hi - lo) * i as f64 / n, lo + (hi - lo) * (i + 1) as f64 / n);
            assert!((from..=to).contains(x), "{name}: sample {i} at {x}, want [{from}, {to}]");
        }
        // Every comparison's tornado has its bar.
        assert!(with.comparisons.iter().all(|c| c.swings.iter().any(|s| s.parameter == name)), "{name}");
    }
    for (a, b) in without.samples.iter().zip(&with.samples) {
        assert_eq!(a.factors[..], b.factors[..m]);
    }
    let header = goodhart::io::assumptions::samples_csv(&with).lines().next().unwrap().to_string();
    assert!(header.contains(",prize_factor,") && header.contains(",perception_bias_value,"), "{header}");
    let json = goodhart::io::assumptions::json(&with);
    assert_eq!(json["parameters"][m]["absolute"], true);
}

#[test]
fn the_ai_adoption_preset_reproduces_its_calibration_table() {
    // docs/model.md, "AI adoption, calibrated": each figure the preset is
    // calibrated to, within the tolerance the table states, and each
    // figure it does not reproduce, where the table says it lands. Every
    // tolerance is wider than the run's 95% interval, so that a pass is
    // not luck.
    let sc = goodhart::model::preset::scenario("ai-adoption").unwrap();
    let r = run(&sc).unwrap();
    let mean = |p: &str, k: &str| {
        let v = r.values(p, k).unwrap();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let ratio = |k: &str| {
        let (a, b) = (r.values("no-ai-tools", k).unwrap(), r.values("ai-tools", k).unwrap());
        let q: Vec<f64> = a.iter().zip(&b).map(|(x, y)| y / x).collect();
        let m = q.iter().sum::<f64>() / q.len() as f64;
        let sd = (q.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (q.len() - 1) as f64).sqrt();
        (m, 2.3 * sd / (q.len() as f64).sqrt())
    };
    // Faros AI (2025): 98% more pull requests merged per developer (every
    // change is merged as one pull request and deployed).
    let (prs, ci) = ratio("deployments");
    assert!((prs - 1.98).abs() < 0.08 && ci < 0.08, "pull requests x{prs} (95% half-width {ci})");
    // Review time per pull request +91%.
    let (review, ci) = ratio("review_hours_per_change");
    assert!((review - 1.91).abs() < 0.03 && ci < 0.03, "review per change x{review} ({ci})");
    // Pull requests 154% larger: size 1 + f x, weighted by changes, is
    // 1 + f x the AI-assisted share.
    let f = sc.activities.iter().find(|a| a.name == "build").unwrap().ai_size_factor;
    let size = 1.0 + f * mean("ai-tools", "ai_assisted_share");
    assert!((size - 2.54).abs() < 0.05, "size x{size}");
    // Change failure rate flat (Faros; no significant company-level effect).
    let (cfr, ci) = ratio("change_failure_rate");
    assert!((cfr - 1.0).abs() < 0.05 && ci < 0.05, "change failure rate x{cfr} ({ci})");
    // No company-level delivery gain (Faros), or 1.5% less throughput per
    // 25 points of adoption (DORA 2024, about 6% at the preset's 99 points):
    // useful output lands between the two, within the run's interval. Value
    // lost after merging (ai_value_factor) is what holds it there.
    let (output, ci) = ratio("useful_output");
    let dora = 1.0 - 0.015 * 100.0 * mean("ai-tools", "ai_assisted_share") / 25.0;
    assert!(output > dora - ci && output < 1.0 + ci && ci < 0.03, "useful output x{output} ({ci}), DORA x{dora}");
    // Not reproduced, as the table says: bugs per developer (incidents)
    // rise with changes, about as much, not by 9%.
    let (bugs, _) = ratio("incidents");
    assert!(bugs > 1.7, "incidents x{bugs}");
    // How the model gets twice the pull requests: more output per hour and
    // more hours, the engineers believing each hour yields more.
    let (hours, ci) = ratio("hours.build");
    assert!((hours - 1.41).abs() < 0.02 && ci < 0.02, "build hours x{hours} ({ci})");
}

#[test]
fn an_ai_share_target_buys_tokens_and_costs_output_where_ai_hurts_some() {
    // The ai-targets preset: leverage centred at 0.1 (AI hurts about a third
    // of the engineers). Counting the AI-assisted share in reviews or on a
    // board raises the share and the token bill, and pushes those whom AI
    // slows into using it: useful output and net value fall (paired 95%
    // intervals against no target, each excluding zero).
    let sc = goodhart::model::preset::scenario("ai-targets").unwrap();
    let r = run(&sc).unwrap();
    for p in ["ai-share-review", "ai-share-board"] {
        let d = |k: &str| crate::common::paired_mean_se(&r.values("no-target", k).unwrap(), &r.values(p, k).unwrap());
        for k in ["ai_assisted_share", "token_cost"] {
            let (x, se) = d(k);
            assert!(x > 4.0 * se, "{p} {k}: {x} (se {se})");
        }
        for k in ["useful_output", "net_value"] {
            let (x, se) = d(k);
            assert!(x < -4.0 * se, "{p} {k}: {x} (se {se})");
        }
    }
}

#[test]
fn review_under_load_lets_defects_through_in_proportion_to_the_load() {
    // With a review capacity, each change is defective with probability
    // d (1 + k rho), rho last period's review load per engineer over the
    // capacity: failures have mean rb d sum_t D_t (1 + k rho_{t-1}), within
    // 4 standard errors over the run, and beyond 4 of it from failures at
    // the unloaded rate.
    let mut sc = Scenario { periods: 12, replications: 1, ..Scenario::default() };
    sc.org.engineers = 150;
    sc.activities.retain(|a| a.name == "build");
    sc.org.review_capacity = Some(3.0);
    sc.org.review_miss = 1.0;
    let (d, rb, n) = (sc.activities[0].defect_rate, sc.org.rollback_probability(), 150.0);
    let r = run(&sc).unwrap();
    let series = |k: &str| r.period_means("no-leaderboard", k).unwrap();
    let (deploy, cfr, review) = (series("deployments"), series("change_failure_rate"), series("review_hours"));
    let failed: f64 = deploy.iter().zip(&cfr).map(|(x, c)| x * c).sum();
    let (mut want, mut blind) = (0.0, 0.0);
    for t in 1..deploy.len() {
        let rho = (review[t - 1] / n / 3.0).min(0.99);
        want += rb * d * deploy[t] * (1.0 + rho);
        blind += rb * d * deploy[t];
    }
    // Period 0 follows the pre-period's load, which is not reported: leave it out.
    let failed = failed - deploy[0] * cfr[0];
    assert!(review[0] / n / 3.0 > 0.3, "load {}", review[0] / n / 3.0);
    assert!((failed - want).abs() < 4.0 * want.sqrt(), "{failed} failures, {want} expected");
    assert!(failed - blind > 4.0 * want.sqrt(), "{failed} failures, {blind} at no load");
}

#[test]
fn an_acceptance_rate_target_buys_less_ai_where_it_helps() {
    // The ai-suggestions preset: AI-assisted work shows suggestions, 30% of
    // them accepted; accepting wholesale (a gaming practice) accepts 90%.
    // A 50% bar in reviews is cleared more cheaply by using AI less on real
    // work than by accepting everything: tokens, changes and useful output
    // fall (paired, beyond 4 standard errors).
    let sc = goodhart::model::preset::scenario("ai-suggestions").unwrap();
    let r = run(&sc).unwrap();
    let d = |k: &str| {
        crate::common::paired_mean_se(
            &r.values("no-target", k).unwrap(),
            &r.values("acceptance-rate-review", k).unwrap(),
        )
    };
    for k in ["token_cost", "deployments", "useful_output", "net_value"] {
        let (x, se) = d(k);
        assert!(x < -4.0 * se, "{k}: {x} (se {se})");
    }
    let (x, se) = d("hours.accept-all");
    assert!(x > 4.0 * se, "accepting wholesale: {x} (se {se})");
}

/// Per period and engineer: the published metric and what `w x` per
/// productive unit of the one activity gives from the plan.
struct AiSignal(f64, Vec<(f64, f64)>);

impl Observer for AiSignal {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        for i in 0..p.engineers {
            let (h, tau) = (p.plan_hours[i], p.plan_tau[i]);
            let x = 1.0 - (-tau / 100_000.0f64).exp();
            let units = h * p.population.skill[i] * (1.0 + p.population.ai_leverage[i] * x);
            self.1.push((p.published[i], self.0 * units * x));
        }
        Ok(())
    }
}

/// 50 engineers building, 4 weeks, one replication, under a metric on
/// `signal` alone that rewards nothing (so it is observed without noise and
/// moves no plan).
fn watching(signal: &str) -> Scenario {
    let mut sc = Scenario { periods: 4, replications: 1, ..Scenario::default() };
    sc.org.engineers = 50;
    sc.activities.retain(|a| a.name == "build");
    let metric = goodhart::Metric::weighted(signal, vec![(signal.into(), 1.0)]);
    sc.policies = vec![Policy::new(signal, metric, goodhart::Reward::Linear { rate: 0.0 })];
    sc.baseline = None;
    sc
}

#[test]
fn signals_of_ai_use_count_the_ai_share_of_each_productive_unit() {
    // An activity's ai_signals add w x per productive unit, x the share of
    // the work AI does: exactly, engineer by engineer, every period (a
    // metric on the signal alone, without noise).
    let mut sc = watching("suggestions_shown");
    sc.activities[0].ai_signals = vec![("suggestions_shown".into(), 40.0)];
    let pairs = first_observed(&sc, &|_| AiSignal(40.0, Vec::new())).1;
    assert!(pairs.iter().filter(|p| p.1 > 1.0).count() > 100, "AI in use");
    for (got, want) in pairs {
        assert!((got - want).abs() <= 1e-9 * want.max(1.0), "{got} vs {want}");
    }
    let e =
        goodhart::parse_scenario("[[activity]]\nname = \"x\"\nai_signals = { shown = 1 }\n").unwrap_err().to_string();
    assert!(e.starts_with("activity[0].ai_signals: "), "{e}");
}

/// Per period and engineer: the published metric and the AI share of the
/// one activity's work.
#[derive(Default)]
struct ValueAndShare(Vec<(f64, f64)>);

impl Observer for ValueAndShare {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        for i in 0..p.engineers {
            self.0.push((p.published[i], 1.0 - (-p.plan_tau[i] / 100_000.0f64).exp()));
        }
        Ok(())
    }
}

/// One run of the ai-days preset: days of AI use and where they come from.
/// Engineers in two groups: those whom AI slows (true leverage below 0)
/// and the others.
#[derive(Default)]
struct Days {
    activities: Vec<String>,
    /// Sums over engineer-weeks: the observed (capped, noisy) days.
    observed: f64,
    /// Per group: days from AI-assisted work (build and rush: 0.125 x per
    /// productive unit, before the cap), engineers checking in (over a
    /// minute a week), engineer-weeks.
    real: [f64; 2],
    checkers: [f64; 2],
    weeks: [f64; 2],
}

impl Observer for Days {
    fn begin(&mut self, run: &goodhart::RunInfo) -> Result<(), ObserverError> {
        self.activities = run.activities.clone();
        Ok(())
    }

    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        let k = self.activities.len();
        for i in 0..p.engineers {
            let (a, skill) = (p.population.ai_leverage[i], p.population.skill[i]);
            let g = usize::from(a >= 0.0);
            for (j, name) in self.activities.iter().enumerate() {
                let (h, tau) = (p.plan_hours[i * k + j], p.plan_tau[i * k + j]);
                match name.as_str() {
                    "build" | "rush" => {
                        let x = 1.0 - (-tau / 100_000.0f64).exp();
                        self.real[g] += 0.125 * x * h * skill * (1.0 + a * x);
                    }
                    "check-in" => self.checkers[g] += f64::from(u8::from(h > 1.0 / 60.0)),
                    _ => {}
                }
            }
            self.observed += p.observed[i];
            self.weeks[g] += 1.0;
        }
        Ok(())
    }
}

#[test]
fn value_lost_after_merging_scales_value_by_the_ai_share_and_nothing_else() {
    // The same engineers and shocks with and without ai_value_factor: the
    // engineers do not see it, so plans, changes and tokens are the same,
    // and the value each engineer delivers is (1 + f x) times as much,
    // engineer by engineer, every period (a noiseless metric on value).
    let mut sc = watching("value");
    let observe = |sc: &Scenario| first_observed(sc, &|_| ValueAndShare::default()).0;
    let before = observe(&sc);
    let f = -0.5;
    sc.activities[0].ai_value_factor = f;
    let after = observe(&sc);
    assert!(before.iter().filter(|(v, x)| *v > 0.0 && *x > 0.5).count() > 100, "AI in use");
    for ((v0, x0), (v1, x1)) in before.iter().zip(&after) {
        assert_eq!(x0, x1, "the plan does not change");
        let want = v0 * (1.0 + f * x0);
        assert!((v1 - want).abs() <= 1e-12 * want.abs().max(1.0), "{v1} vs {want}");
    }
    let b = run(&sc).unwrap();
    sc.activities[0].ai_value_factor = 0.0;
    let a = run(&sc).unwrap();
    for k in ["deployments", "token_cost", "incidents"] {
        assert_eq!(a.values("value", k).unwrap(), b.values("value", k).unwrap(), "{k}");
    }
    let e = goodhart::parse_scenario("[[activity]]\nname = \"x\"\nai_value_factor = -2\n").unwrap_err().to_string();
    assert!(e.starts_with("activity[0].ai_value_factor: "), "{e}");
}

#[test]
fn the_assumption_check_samples_ai_factors_where_ai_changes_changes() {
    use goodhart::analysis::assumptions::{CheckSize, check};
    let size = CheckSize { samples: 6, replications: 1 };
    let names = |sc: &Scenario| {
        let c = check(&run(sc).unwrap(), size, &|_| {}).unwrap();
        let names: Vec<_> = c.parameters.iter().map(|a| (a.name, a.low, a.high)).collect();
        (names, c)
    };
    let mut sc = plain(30, 4, 1);
    sc.policies.push(Policy::none("other"));
    let (without, _) = names(&sc);
    assert!(!without.iter().any(|n| n.0.ends_with("_factor")), "{without:?}");
    // Any AI factor on an AI activity brings both in, sampled as values.
    sc.activities.iter_mut().find(|a| a.name == "build").unwrap().ai_size_factor = 1.0;
    let (with, c) = names(&sc);
    let k = without.len();
    assert_eq!(with[k..], [("ai_defect_factor", -0.45, 0.7), ("ai_value_factor", -0.5, 0.0)]);
    for s in &c.samples {
        assert!((-0.45..=0.7).contains(&s.factors[k]) && (-0.5..=0.0).contains(&s.factors[k + 1]), "{:?}", s.factors);
    }
}

#[test]
fn a_metric_on_review_wait_needs_a_review_queue() {
    let file = "[[policy]]\nname = \"wait\"\nmetric = { signals = { review_wait = -1 } }\nreward = { scheme = \"linear\", rate = 1 }\n";
    let e = goodhart::parse_scenario(file).unwrap_err().to_string();
    assert!(e.starts_with("policy[0].metric: ") && e.contains("org.review_capacity"), "{e}");
    goodhart::parse_scenario(&format!("[org]\nreview_capacity = 8\n{file}")).unwrap();
}

#[test]
fn counting_days_of_ai_use_buys_check_ins_and_a_cap_stops_the_race() {
    // The ai-days preset, paired 95% intervals over its replications
    // against no target (the same engineers and shocks). Counted in
    // reviews, days of AI use rise, partly through check-ins (chiefly by
    // engineers whom AI slows, who would not clear the bar by real work),
    // and the token bill rises. Output and net value rise too, bought with
    // the engineers' unpaid AI-assisted hours: their effort cost rises
    // more, and the total surplus falls. A board on days fills up at the
    // 5-day cap; counting sessions without a cap, check-ins race on and
    // output falls.
    let sc = goodhart::model::preset::scenario("ai-days").unwrap();
    let mut runs: std::collections::BTreeMap<String, Vec<Days>> = Default::default();
    let r = Experiment::new(&sc)
        .run_observed(&|_| Days::default(), &mut |info, d, _| {
            runs.entry(info.policy.to_string()).or_default().push(d);
            Ok(())
        })
        .unwrap();
    let estimate = |d: Vec<f64>| goodhart::analysis::stats::Estimate::of(&d);
    let per_rep = |p: &str, f: &dyn Fn(&Days) -> f64| runs[p].iter().map(f).collect::<Vec<f64>>();
    let paired = |p: &str, q: &str, f: &dyn Fn(&Days) -> f64| {
        estimate(per_rep(p, f).iter().zip(per_rep(q, f)).map(|(y, x)| y - x).collect())
    };
    let days = |d: &Days| d.observed / (d.weeks[0] + d.weeks[1]);
    let kpi = |p: &str, q: &str, k: &str| r.try_paired_diff(p, q, k).unwrap();
    let review = "ai-days-review";
    let d = paired(review, "no-target", &days);
    assert!(d.ci_low > 0.0, "days of AI use: {d:?}");
    for k in ["hours.check-in", "token_cost", "effort_cost"] {
        let d = kpi(review, "no-target", k);
        assert!(d.ci_low > 0.0, "{k}: {d:?}");
    }
    // The extra AI-assisted hours keep half their value after merging
    // (ai_value_factor -0.5): output, net value and the surplus fall.
    for k in ["useful_output", "net_value", "total_surplus"] {
        let d = kpi(review, "no-target", k);
        assert!(d.ci_high < 0.0, "{k}: {d:?}");
    }
    // Where AI-assisted work keeps its value (0, the other end of the
    // factor's range), the same hours raise output and net value: the
    // verdict on output flips within the range; the surplus falls in both.
    let mut whole = sc.clone();
    whole.activities.iter_mut().for_each(|a| a.ai_value_factor = 0.0);
    let w = run(&whole).unwrap();
    for k in ["useful_output", "net_value"] {
        let d = w.try_paired_diff(review, "no-target", k).unwrap();
        assert!(d.ci_low > 0.0, "{k} at ai_value_factor 0: {d:?}");
    }
    let d = w.try_paired_diff(review, "no-target", "total_surplus").unwrap();
    assert!(d.ci_high < 0.0, "total surplus at ai_value_factor 0: {d:?}");
    // The engineers whom AI slows (group 0) clear the bar partly by real
    // AI-assisted work, and check in more often than the others do
    // (replication by replication).
    let d = paired(review, "no-target", &|d: &Days| d.real[0] / d.weeks[0]);
    assert!(d.ci_low > 0.0, "days from AI-assisted work, engineers AI slows: {d:?}");
    let share = |g: usize| move |d: &Days| d.checkers[g] / d.weeks[g];
    let gap = estimate(per_rep(review, &share(0)).iter().zip(per_rep(review, &share(1))).map(|(a, b)| a - b).collect());
    assert!(gap.ci_low > 0.0, "check-ins, slowed less helped: {gap:?}");
    // The cap: a board on days against the same board on sessions.
    let d = kpi("ai-days-board", "ai-sessions-board", "hours.check-in");
    assert!(d.ci_high < 0.0, "check-ins, days board less sessions board: {d:?}");
    let d = kpi("ai-days-board", "ai-sessions-board", "useful_output");
    assert!(d.ci_low > 0.0, "useful output, days board less sessions board: {d:?}");
    for k in ["useful_output", "net_value"] {
        let d = kpi("ai-sessions-board", "no-target", k);
        assert!(d.ci_high < 0.0, "sessions board {k}: {d:?}");
    }
}
