//! Hours: no corner at the week's limit, and conclusions that do not hang on
//! where the limit sits; rushing responds to the incidents it causes.
//! Tolerances are 95% confidence intervals over replications (common random
//! numbers across policies and across the runs compared).

use goodhart::analysis::stats::Estimate;
use goodhart::model::preset::{SCENARIOS, scenario};
use goodhart::{Policy, Results, Scenario, run};

/// A preset as shipped, with at most 10 replications.
fn preset(name: &str) -> Scenario {
    let mut sc = scenario(name).unwrap();
    sc.replications = sc.replications.min(10);
    sc
}

/// Per replication, the organisation's P&L (useful output - token bill -
/// incident cost - prizes and bonuses paid) under `policy` less the baseline's.
fn pnl_gain(r: &Results, policy: &str) -> Estimate {
    let pnl = |p: &str| -> Vec<f64> {
        let v = |k: &str| r.values(p, k).unwrap();
        let (u, t, i, b) = (v("useful_output"), v("token_cost"), v("incident_cost"), v("bonus_paid"));
        (0..u.len()).map(|j| u[j] - t[j] - i[j] - b[j]).collect()
    };
    let base = &r.policies[r.baseline];
    let (a, b) = (pnl(policy), pnl(base));
    Estimate::of(&a.iter().zip(&b).map(|(x, y)| x - y).collect::<Vec<_>>())
}

#[test]
fn under_five_percent_of_engineer_weeks_sit_at_the_hours_limit_in_every_preset() {
    for p in SCENARIOS {
        let r = run(&preset(p.name)).unwrap();
        for policy in &r.policies {
            let e = r.estimate(policy, "at_hours_limit").unwrap();
            assert!(e.ci_high < 0.05, "{}/{policy}: {e:?}", p.name);
        }
    }
}

#[test]
fn a_week_that_holds_half_as_many_hours_again_changes_no_presets_verdict() {
    // Raising the limit by half: every difference in P&L against the baseline
    // that is distinguishable from zero keeps its sign and stays
    // distinguishable, and none that is not becomes distinguishable the
    // other way round.
    let mut distinguishable = 0;
    for p in SCENARIOS {
        let sc = preset(p.name);
        let mut wide = sc.clone();
        wide.org.max_hours_per_period *= 1.5;
        let (r, w) = (run(&sc).unwrap(), run(&wide).unwrap());
        for policy in r.policies.iter().filter(|&q| *q != r.policies[r.baseline]) {
            let (a, b) = (pnl_gain(&r, policy), pnl_gain(&w, policy));
            let sign = |e: &Estimate| {
                if e.ci_low > 0.0 {
                    1
                } else if e.ci_high < 0.0 {
                    -1
                } else {
                    0
                }
            };
            let (sa, sb) = (sign(&a), sign(&b));
            assert!(
                sa == sb || (sa == 0 && sb != 0 && a.mean.signum() == b.mean.signum()),
                "{}/{policy}: {a:?} then {b:?}",
                p.name
            );
            distinguishable += usize::from(sa != 0);
        }
    }
    // The check has teeth: most comparisons are distinguishable to start with.
    assert!(distinguishable >= 8, "{distinguishable}");
}

/// The story's organisation under no leaderboard and a raw-deployments board
/// with a 30,000 USD prize, small: 200 engineers, 20 weeks, 8 replications.
fn big_deployment_prize(incident_share: f64) -> Results {
    let mut sc = scenario("story").unwrap();
    (sc.periods, sc.replications) = (20, 8);
    sc.org.incident_share = incident_share;
    let mut raw = goodhart::model::preset::policies().into_iter().find(|q| q.name == "raw-deployments").unwrap();
    if let goodhart::Reward::Leaderboard { prize, .. } = &mut raw.reward {
        *prize = 30_000.0;
    }
    sc.policies = vec![Policy::none("no-leaderboard"), raw];
    sc.baseline = Some("no-leaderboard".into());
    run(&sc).unwrap()
}

#[test]
fn a_big_deployment_prize_brings_rushing_and_incidents() {
    let r = big_deployment_prize(0.05);
    let rush = r.estimate("raw-deployments", "hours.rush").unwrap();
    assert!(rush.ci_low > 0.0, "{rush:?}");
    let inc = r.paired_diff("raw-deployments", "no-leaderboard", "incidents").unwrap();
    assert!(inc.ci_low > 0.0, "{inc:?}");
}

#[test]
fn rushing_falls_as_engineers_bear_more_of_the_incidents_they_cause() {
    // Same seed, so replication j faces the same engineers and luck in each
    // run: paired differences across incident shares.
    let shares = [0.0, 0.05, 0.2, 0.5];
    let rush: Vec<Vec<f64>> =
        shares.iter().map(|&s| big_deployment_prize(s).values("raw-deployments", "hours.rush").unwrap()).collect();
    for (i, w) in rush.windows(2).enumerate() {
        let d = Estimate::of(&w[0].iter().zip(&w[1]).map(|(a, b)| a - b).collect::<Vec<_>>());
        assert!(d.ci_low > 0.0, "share {} to {}: {d:?}", shares[i], shares[i + 1]);
    }
}
