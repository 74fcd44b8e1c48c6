//! The seed story, from the contract scenario, with tolerances from paired
//! confidence intervals over replications (common random numbers).

use goodhart::io::format::parse_scenario;
use goodhart::{Results, run};

fn story() -> Results {
    let mut sc = parse_scenario(include_str!("../examples/scenarios/kirorank.toml")).unwrap();
    sc.replications = 12;
    run(&sc).unwrap()
}

#[test]
fn the_story_holds_on_the_contract_scenario() {
    let r = story();
    let m = |p: &str, k: &str| r.estimate(p, k).unwrap().mean;
    // A token leaderboard multiplies the token bill...
    let ratio = m("kirorank", "token_cost") / m("no-leaderboard", "token_cost");
    assert!(ratio > 2.0, "token cost ratio {ratio}");
    let bill = r.paired_diff("kirorank", "no-leaderboard", "token_cost").unwrap();
    assert!(bill.ci_low > 0.0, "{bill:?}");
    // ...while useful output does not rise for the prize: with the prize
    // alone the paired CI is not above zero. (The bottom 10%'s penalty
    // pushes light AI users into more AI-assisted building, which in this
    // model never hurts, and raises output by about 3%: docs/model.md,
    // section 10.)
    let mut sc = parse_scenario(include_str!("../examples/scenarios/kirorank.toml")).unwrap();
    sc.replications = 12;
    for p in &mut sc.policies {
        if let goodhart::Reward::Leaderboard { penalty, .. } = &mut p.reward {
            *penalty = 0.0;
        }
    }
    let prize_only = run(&sc).unwrap();
    let out = prize_only.paired_diff("kirorank", "no-leaderboard", "useful_output").unwrap();
    assert!(out.ci_low <= 0.0, "useful output rose: {out:?}");
    // Gaming appears.
    let gaming = r.paired_diff("kirorank", "no-leaderboard", "gaming_share").unwrap();
    assert!(gaming.ci_low > 0.0, "{gaming:?}");
    // Outcome metrics beat the token leaderboard on net value.
    let nv = r.paired_diff("normalized-deployments", "kirorank", "net_value").unwrap();
    assert!(nv.ci_low > 0.0, "{nv:?}");
    // After the switch the bill falls.
    let series = r.period_means("kirorank-then-normalized", "token_cost").unwrap();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    assert!(mean(&series[34..]) < 0.6 * mean(&series[8..26]), "{series:?}");
}

#[test]
fn the_metric_stops_tracking_value_once_it_is_a_target() {
    let r = story();
    for p in ["kirorank", "kirorank-then-normalized"] {
        let before = r.values(p, "metric_value_correlation_before").unwrap();
        let after = r.values(p, "metric_value_correlation").unwrap();
        let drop: Vec<f64> = before.iter().zip(&after).map(|(b, a)| b - a).collect();
        let d = goodhart::Estimate::of(&drop);
        assert!(d.ci_low > 0.0, "{p}: {d:?}");
    }
    // The outcome metric keeps tracking value.
    let n = r.estimate("normalized-deployments", "metric_value_correlation").unwrap();
    assert!(n.ci_low > 0.5, "{n:?}");
}

#[test]
fn shipped_and_survived_beats_the_token_leaderboard() {
    let mut sc = crate::common::small_story(200, 30, 6);
    sc.policies.push(goodhart::Policy::new(
        "shipped-and-survived",
        goodhart::Metric::builtin("shipped_and_survived", 4).unwrap(),
        goodhart::Reward::leaderboard(0.1, 3000.0, 0.0, 0.0),
    ));
    let r = run(&sc).unwrap();
    let d = r.paired_diff("shipped-and-survived", "kirorank", "net_value").unwrap();
    assert!(d.ci_low > 0.0, "{d:?}");
}

#[test]
fn every_scenario_preset_runs_and_tells_its_variant() {
    let m = |r: &Results, p: &str, k: &str| r.estimate(p, k).unwrap().mean;
    let quick = |name: &str| {
        let mut sc = goodhart::model::preset::scenario(name).unwrap();
        sc.replications = 4;
        run(&sc).unwrap()
    };
    // Regressional: the top by a noisy measure is not the true top.
    let r = quick("regressional");
    // (Raw precision below 0.8 of the top 10%: lift below (0.8 - 0.1) / 0.9.)
    assert!(m(&r, "top-by-noisy-value", "top_k_precision") < (0.8 - 0.1) / 0.9);
    assert_eq!(m(&r, "top-by-noisy-value", "gaming_share"), 0.0);
    // Extremal: paying for tokens raises the bill far more than output.
    let r = quick("extremal");
    let bill = m(&r, "pay-per-token", "token_cost") / m(&r, "no-incentive", "token_cost");
    // (Output rises too, as engineers work longer with agents at full
    // intensity, but by less than the bill and the piece rate paid.)
    let gain = |k: &str| m(&r, "pay-per-token", k) - m(&r, "no-incentive", k);
    let (out, cost) = (gain("useful_output"), gain("token_cost") + gain("bonus_paid"));
    assert!(bill > 2.0 && out < cost, "bill x{bill}, output {out:+} USD against the bill and pay {cost:+}");
    // Causal: deployments rise, useful output does not.
    let r = quick("causal");
    assert!(m(&r, "deployments-leaderboard", "deployments") > m(&r, "no-leaderboard", "deployments"));
    // Rushing raised them: changes fail more often, and the organisation's
    // P&L falls (output also rises, as engineers build longer, but by less
    // than the incidents and prizes cost).
    let gain = |k: &str| m(&r, "deployments-leaderboard", k) - m(&r, "no-leaderboard", k);
    assert!(gain("change_failure_rate") > 0.0);
    let pnl = gain("useful_output") - gain("token_cost") - gain("incident_cost") - gain("bonus_paid");
    assert!(pnl < 0.0, "{pnl}");
    // Adversarial: gaming appears.
    let r = quick("adversarial");
    assert!(m(&r, "kirorank", "gaming_share") > 0.02);
}
