//! The learning rules and policy mechanisms, checked on their direction of
//! effect with paired confidence intervals, and on exact counts where the
//! rule fixes them.

use goodhart::{Audit, Behavior, BeliefRule, Dist, Model, Policy, Reward, Scenario, run};

use crate::common::small_story;

fn kirorank_only(model: Model) -> Scenario {
    let mut sc = small_story(120, 16, 6);
    sc.policies.truncate(2); // no-leaderboard, kirorank
    sc.behavior = Behavior { model, ..Behavior::default() };
    sc
}

#[test]
fn fixed_types_game_only_as_gamers() {
    // Gamers ignore integrity and may game; the others never do. So with no
    // gamers nobody games, and with 25% gamer types at most those game.
    let r = run(&kirorank_only(Model::FixedTypes { gamer_fraction: 0.0 })).unwrap();
    assert_eq!(r.estimate("kirorank", "gaming_share").unwrap().mean, 0.0);
    let sc = kirorank_only(Model::FixedTypes { gamer_fraction: 0.25 });
    let r = run(&sc).unwrap();
    let shares = r.values("kirorank", "gamers_share").unwrap();
    for (rep, s) in shares.iter().enumerate() {
        let streams = goodhart::engine::rng::Streams::new(sc.seed, rep as u64);
        let pop = goodhart::Population::draw(&sc.traits, 120, &streams).unwrap();
        let types = pop.type_draw.iter().filter(|&&u| u < 0.25).count() as f64 / 120.0;
        assert!(*s > 0.0 && *s <= types + 1e-12, "replication {rep}: {s} gaming vs {types} gamer types");
    }
}

#[test]
fn imitation_spreads_gaming_when_gaming_pays() {
    // Starting from 5% gamers, engineers copy better-paid peers: under a
    // token leaderboard gamers earn prizes, so gaming spreads.
    // Low integrity makes gaming worth it for whoever may game.
    let mut sc = kirorank_only(Model::Imitation { revision_rate: 0.3, beta: 0.01, initial_gamers: 0.05 });
    sc.traits.integrity = Dist::constant(5.0).into();
    sc.traits.never_game_fraction = 0.0;
    // Imitation is noisy from replication to replication (who meets whom):
    // 16 replications give the paired interval the power to see the spread.
    sc.replications = 16;
    let r = run(&sc).unwrap();
    let (p, j, nk) = (r.policy_index("kirorank").unwrap(), r.kpi_index("gamers_share").unwrap(), r.kpis.len());
    let growth: Vec<f64> = r.runs[p]
        .iter()
        .map(|run| (12..16).map(|t| run.per_period[t * nk + j]).sum::<f64>() / 4.0 - run.per_period[j])
        .collect();
    let e = goodhart::Estimate::of(&growth);
    assert!(e.ci_low > 0.0, "no spread: {e:?}");
    // Without a leaderboard nobody gains from gaming: no gaming hours at all.
    assert_eq!(r.estimate("no-leaderboard", "gaming_share").unwrap().mean, 0.0);
}

#[test]
fn roth_erev_learners_game_under_a_token_leaderboard() {
    let sc = kirorank_only(Model::RothErev { forgetting: 0.1, experimentation: 0.2, initial_propensity: 100.0 });
    let r = run(&sc).unwrap();
    let d = r.paired_diff("kirorank", "no-leaderboard", "gaming_share").unwrap();
    assert!(d.ci_low > 0.0, "{d:?}");
}

#[test]
fn audits_deter_gaming_and_catch_some() {
    let mut sc = small_story(150, 20, 6);
    sc.policies.truncate(2);
    let mut audited = sc.policies[1].clone();
    audited.name = "audited".into();
    audited.audit = Some(Audit { probability: 0.3, changes: None, sensitivity: 1.0, penalty: 20_000.0 });
    sc.policies.push(audited);
    let r = run(&sc).unwrap();
    let d = r.paired_diff("audited", "kirorank", "gaming_share").unwrap();
    assert!(d.ci_high < 0.0, "audits do not reduce gaming: {d:?}");
    assert!(r.estimate("audited", "audit_detections").unwrap().mean > 0.0);
    assert_eq!(r.estimate("kirorank", "audit_detections").unwrap().mean, 0.0);
}

#[test]
fn a_threshold_bonus_pushes_engineers_up_to_the_quota() {
    let mut sc = small_story(100, 8, 4);
    sc.policies.truncate(1);
    sc.policies.push(Policy::new(
        "quota",
        goodhart::Metric::builtin("normalized_deployments", 4).unwrap(),
        Reward::Threshold { quota: 4.0, bonus: 1500.0 },
    ));
    let r = run(&sc).unwrap();
    let d = r.paired_diff("quota", "no-leaderboard", "hours.build").unwrap();
    assert!(d.ci_low > 0.0, "{d:?}");
    assert!(r.estimate("quota", "bonus_paid").unwrap().mean > 0.0);
}

#[test]
fn fictitious_play_and_naive_beliefs_both_run_and_naive_moves_more() {
    // Naive beliefs (alpha = 1) chase last period's board; fictitious play
    // averages all boards. The naive population keeps moving more.
    let mut sc = small_story(150, 24, 4);
    sc.policies.truncate(2);
    sc.burn_in = 12;
    sc.behavior.belief = BeliefRule::Fictitious;
    let fict = run(&sc).unwrap();
    sc.behavior.belief = BeliefRule::Adaptive { alpha: 1.0 };
    let naive = run(&sc).unwrap();
    let moving = |r: &goodhart::Results| r.values("kirorank", "hours_change").unwrap();
    let d: Vec<f64> = moving(&naive).iter().zip(moving(&fict)).map(|(a, b)| a - b).collect();
    let e = goodhart::Estimate::of(&d);
    assert!(e.ci_low > 0.0, "{e:?}");
}

#[test]
fn splitting_pays_on_raw_deployments_but_not_on_normalized_ones() {
    // Raw deployments count trivial changes; normalized deployments weigh
    // changes by size and usefulness, so splitting work stops paying. At the
    // story's prize splitting is slight (the count's own noise flattens the
    // board's incentive, and each practice gets harder the more of it one
    // does), so the prize here is ten times the story's.
    let mut sc = small_story(150, 16, 6);
    sc.policies.truncate(1);
    for (name, metric) in [("raw", "deployments"), ("normalized", "normalized_deployments")] {
        sc.policies.push(Policy::new(
            name,
            goodhart::Metric::builtin(metric, 4).unwrap(),
            Reward::leaderboard(0.1, 30_000.0, 0.0, 0.0),
        ));
    }
    let r = run(&sc).unwrap();
    let d = r.paired_diff("raw", "normalized", "hours.split").unwrap();
    assert!(d.ci_low > 0.0, "{d:?}");
    assert_eq!(r.estimate("normalized", "hours.split").unwrap().mean, 0.0);
}

#[test]
fn a_token_budget_caps_the_bill_of_a_token_leaderboard() {
    let mut sc = small_story(120, 12, 6);
    sc.policies.truncate(2);
    let mut capped = sc.policies[1].clone();
    capped.name = "capped".into();
    capped.token_cap = Some(2.5e7);
    sc.policies.push(capped);
    let r = run(&sc).unwrap();
    let d = r.paired_diff("capped", "kirorank", "token_cost").unwrap();
    assert!(d.ci_high < 0.0, "{d:?}");
    // No engineer exceeds the cap in any period: the total is at most cap x engineers x periods.
    let tokens = r.values("capped", "tokens").unwrap();
    assert!(tokens.iter().all(|&t| t <= 2.5e7 * 120.0 * 12.0 * (1.0 + 1e-9)));
}

#[test]
fn a_rule_given_to_an_experiment_runs_as_the_same_rule_named_in_the_scenario() {
    // The engine is generic over the behaviour: a built-in handed to
    // `Experiment::behavior` must give the scenario path's numbers exactly,
    // social learning (imitation's snapshot of peers) included.
    use goodhart::Experiment;
    use goodhart::behavior::{FixedTypes, HillClimb, Imitation, RothErev};
    let same = |model: Model, custom: &dyn Fn(&Scenario) -> goodhart::Results| {
        let sc = kirorank_only(model);
        let named = run(&sc).unwrap();
        let given = custom(&Scenario { behavior: Behavior::default(), ..sc.clone() });
        for (a, b) in named.summary().iter().zip(given.summary()) {
            assert_eq!(
                (a.estimate.mean, a.diff.map(|d| d.mean)),
                (b.estimate.mean, b.diff.map(|d| d.mean)),
                "{model:?}: {}",
                a.kpi
            );
        }
    };
    let imitation = Imitation { revision_rate: 0.3, beta: 0.01, initial_gamers: 0.2 };
    same(Model::Imitation { revision_rate: 0.3, beta: 0.01, initial_gamers: 0.2 }, &|sc| {
        Experiment::new(sc).behavior(imitation).run().unwrap()
    });
    let roth = RothErev { forgetting: 0.1, experimentation: 0.2, initial_propensity: 100.0 };
    same(Model::RothErev { forgetting: 0.1, experimentation: 0.2, initial_propensity: 100.0 }, &|sc| {
        Experiment::new(sc).behavior(roth).run().unwrap()
    });
    same(Model::FixedTypes { gamer_fraction: 0.3 }, &|sc| {
        Experiment::new(sc).behavior(FixedTypes { gamer_fraction: 0.3 }).run().unwrap()
    });
    same(Model::HillClimb { step: 2.0 }, &|sc| Experiment::new(sc).behavior(HillClimb { step: 2.0 }).run().unwrap());
}

#[test]
fn hill_climbers_follow_a_token_board_slowly() {
    // Myopic climbers move `step` hours a week from the honest plan of the
    // pre-period: under kirorank their token use rises week by week, below
    // the best responders', who jump to the new optimum at once, for the
    // first weeks. (Later the climbers, all lagging the board together,
    // overshoot where the best responders settle: a slow cobweb.)
    let sc = kirorank_only(Model::HillClimb { step: 1.0 });
    let climbers = run(&sc).unwrap();
    let solvers = run(&kirorank_only(Model::BestResponse)).unwrap();
    let tokens = climbers.period_means("kirorank", "tokens").unwrap();
    assert!(tokens[15] > tokens[0], "tokens {:?}", tokens);
    let c = climbers.paired_diff("kirorank", "no-leaderboard", "tokens").unwrap();
    assert!(c.ci_low > 0.0, "climbers' token rise {c:?}");
    let (p, j) = (climbers.policy_index("kirorank").unwrap(), climbers.kpi_index("tokens").unwrap());
    for t in 0..3 {
        let (c, s) = (climbers.period_estimate(p, j, t), solvers.period_estimate(p, j, t));
        assert!(c.ci_high < s.ci_low, "week {t}: climbers {c:?} vs best responders {s:?}");
    }
    // A scenario file names it the same way.
    let file = goodhart::parse_scenario("[behavior]\nmodel = \"hill-climb\"\nstep = 1.5").unwrap();
    assert_eq!(file.behavior.model, Model::HillClimb { step: 1.5 });
}

#[test]
fn settled_tells_a_cobweb_from_a_steady_state() {
    // With naive beliefs (alpha = 1) a population best-responding to the
    // last token board overshoots and cycles; the default smoothing settles.
    // 600 engineers: hours are not capped at a wall, so engineers near a
    // noisy cut-off keep moving a little, and the mean's jitter (about
    // 0.5 hours at 150 engineers, 0.13 at 600) must sit below the 0.4-hour
    // threshold of `settled`.
    let mut sc = small_story(600, 30, 3);
    sc.policies.truncate(2);
    let r = run(&sc).unwrap();
    assert!(r.settled("kirorank") && r.settled("no-leaderboard"));
    sc.behavior.belief = BeliefRule::Adaptive { alpha: 1.0 };
    let r = run(&sc).unwrap();
    let tail = r.period_means("kirorank", "hours_change").unwrap();
    assert!(!r.settled("kirorank"), "naive beliefs settled: hours_change {:?}", &tail[26..]);
    assert!(r.settled("no-leaderboard"));
}

/// Per replication, the mean of `kpi` over periods `from..to` of `policy`.
fn window_mean(r: &goodhart::Results, policy: &str, kpi: &str, from: usize, to: usize) -> Vec<f64> {
    let (p, j, nk) = (r.policy_index(policy).unwrap(), r.kpi_index(kpi).unwrap(), r.kpis.len());
    r.runs[p]
        .iter()
        .map(|run| (from..to).map(|t| run.per_period[t * nk + j]).sum::<f64>() / (to - from) as f64)
        .collect()
}

#[test]
fn imitation_abandons_gaming_that_is_worse_for_everyone_whatever_the_skills() {
    // Integrity in the thousands of USD an hour: gaming pays almost nobody,
    // so the plans that game are mostly the committed one (planned as if
    // gaming cost nothing), worse for the engineer than the others. Against
    // the same organisation with nobody revising (common random numbers:
    // the same engineers, shocks and boards' noise), imitators game less by
    // the end, however skill is spread and tied to integrity and however
    // many start on gaming plans. The toy organisation in
    // `behavior::imitation` checks the same without the engine.
    use goodhart::Trait;
    use goodhart::model::engineer::Correlation;
    for (start, rho, skill_sd) in [(0.3, 0.6, 0.4), (0.9, -0.6, 1.0), (0.9, 0.0, 0.1)] {
        let with = |revision_rate: f64| {
            let mut sc = kirorank_only(Model::Imitation { revision_rate, beta: 0.01, initial_gamers: start });
            sc.replications = 8;
            sc.traits.integrity = Dist::Lognormal { mean: 3000.0, sd: 1000.0 }.into();
            sc.traits.skill = Dist::Lognormal { mean: 1.0, sd: skill_sd }.into();
            sc.traits.correlations = vec![Correlation { a: Trait::Skill, b: Trait::Integrity, rho }];
            window_mean(&run(&sc).unwrap(), "kirorank", "gamers_share", 12, 16)
        };
        let (learning, fixed) = (with(0.2), with(0.0));
        let e = goodhart::Estimate::of(&learning.iter().zip(&fixed).map(|(a, b)| a - b).collect::<Vec<_>>());
        assert!(e.ci_high < 0.0, "start {start}, rho {rho}, skill sd {skill_sd}: {e:?}");
    }
}

#[test]
fn imitations_long_run_does_not_depend_on_the_starting_share() {
    // Each engineer weighs plans by their own utility, so the plan best for
    // them (their best response) wins wherever it is present; it is present
    // from any starting share above 0, so the long run is the same from
    // 10% and 60% starting on gaming plans, though the first weeks differ.
    // Without selection (beta = 0, a voter model) the share is a
    // martingale and the start stays visible: the control that shows the
    // test could see a dependence.
    let with = |start: f64, beta: f64| {
        let mut sc = kirorank_only(Model::Imitation { revision_rate: 0.5, beta, initial_gamers: start });
        (sc.periods, sc.replications) = (40, 8);
        run(&sc).unwrap()
    };
    let paired = |beta: f64, from: usize, to: usize| {
        let (low, high) = (with(0.1, beta), with(0.6, beta));
        let (a, b) = (
            window_mean(&low, "kirorank", "gamers_share", from, to),
            window_mean(&high, "kirorank", "gamers_share", from, to),
        );
        goodhart::Estimate::of(&a.iter().zip(&b).map(|(x, y)| x - y).collect::<Vec<_>>())
    };
    let start = paired(0.05, 0, 1);
    assert!(start.ci_high < 0.0, "the starting shares do not differ: {start:?}");
    let end = paired(0.05, 32, 40);
    assert!(end.ci_low < 0.0 && end.ci_high > 0.0, "the long run depends on the start: {end:?}");
    // The interval is tight enough to have seen a lasting fifth of the start's gap.
    assert!(end.ci_high - end.ci_low < 0.4 * start.mean.abs(), "start {start:?}, end {end:?}");
    let drift = paired(0.0, 32, 40);
    assert!(drift.ci_high < 0.0, "no selection, yet the start left no trace: {drift:?}");
}

#[test]
fn every_learning_model_agrees_with_the_best_response_on_kirorank_net_value() {
    // The organisation's P&L, useful output - token bill - incident cost -
    // prizes paid, of kirorank against no leaderboard in the story, paired
    // over replications: each behaviour's interval excludes 0 on the same
    // side as the best response's.
    let mut sc = goodhart::model::preset::scenario("story").unwrap();
    sc.replications = 4;
    sc.policies.retain(|p| p.name == "no-leaderboard" || p.name == "kirorank");
    let net = |r: &goodhart::Results, policy: &str| -> Vec<f64> {
        let v = |kpi| r.values(policy, kpi).unwrap();
        let (out, tok, inc, bonus) = (v("useful_output"), v("token_cost"), v("incident_cost"), v("bonus_paid"));
        (0..out.len()).map(|i| out[i] - tok[i] - inc[i] - bonus[i]).collect()
    };
    let mut diff = |model: Model| {
        sc.behavior.model = model;
        let r = run(&sc).unwrap();
        let (k, n) = (net(&r, "kirorank"), net(&r, "no-leaderboard"));
        goodhart::Estimate::of(&k.iter().zip(&n).map(|(a, b)| a - b).collect::<Vec<_>>())
    };
    let best = diff(Model::BestResponse);
    assert!(best.ci_high < 0.0 || best.ci_low > 0.0, "best response: {best:?}");
    let default =
        |name: &str| goodhart::parse_scenario(&format!("[behavior]\nmodel = \"{name}\"")).unwrap().behavior.model;
    for name in ["imitation", "roth-erev", "ewa", "fixed-types"] {
        let d = diff(default(name));
        let same = if best.mean < 0.0 { d.ci_high < 0.0 } else { d.ci_low > 0.0 };
        assert!(same, "{name}: {d:?} against the best response's {best:?}");
    }
}

#[test]
fn engineers_who_never_game_never_game_under_any_learning_model() {
    // Roth–Erev and EWA draw only among the honest candidates for them, and
    // imitators take a peer's gaming plan with gaming closed: with everyone
    // a never-gamer, not one gaming hour, though gaming pays (integrity 5).
    let file =
        |name: &str| goodhart::parse_scenario(&format!("[behavior]\nmodel = \"{name}\"")).unwrap().behavior.model;
    for name in ["imitation", "roth-erev", "ewa"] {
        let mut sc = kirorank_only(file(name));
        sc.traits.integrity = Dist::constant(5.0).into();
        sc.traits.never_game_fraction = 1.0;
        let r = run(&sc).unwrap();
        assert_eq!(r.estimate("kirorank", "gaming_share").unwrap().mean, 0.0, "{name}");
        // The same population with nobody barred does game.
        sc.traits.never_game_fraction = 0.0;
        assert!(run(&sc).unwrap().estimate("kirorank", "gaming_share").unwrap().mean > 0.0, "{name}");
    }
}
