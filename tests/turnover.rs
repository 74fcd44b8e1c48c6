//! Turnover: forced ranking, voluntary attrition and hiring, each rule
//! checked on what it does to whom, at what rate, and what a hire copies;
//! and determinism and common random numbers with engineers coming and going.

use goodhart::model::turnover::{ForcedRanking, Turnover};
use goodhart::{Experiment, Metric, Observer, ObserverError, PeriodView, Policy, Reward, Scenario, run};

use crate::common::small_story;

/// What one run's periods looked like: each period's published board,
/// leavers, and the traits (skill at work, integrity, reward sensitivity,
/// never-game flag) of everyone who worked.
#[derive(Default)]
struct Log {
    published: Vec<Vec<f64>>,
    leavers: Vec<Vec<u32>>,
    skill: Vec<Vec<f64>>,
    integrity: Vec<Vec<f64>>,
    sensitivity: Vec<Vec<f64>>,
    never: Vec<Vec<bool>>,
}

impl Observer for Log {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        self.published.push(p.published.to_vec());
        self.leavers.push(p.leavers.to_vec());
        self.skill.push(p.population.skill.clone());
        self.integrity.push(p.population.integrity.clone());
        self.sensitivity.push(p.population.reward_sensitivity.clone());
        self.never.push(p.population.never_games.clone());
        Ok(())
    }
}

/// Every run's log, in canonical order (replication by replication, policies in order).
fn logs(sc: &Scenario) -> Vec<(String, Log)> {
    let mut out = Vec::new();
    Experiment::new(sc)
        .run_observed(&|_| Log::default(), &mut |info, log, _| {
            out.push((info.policy.clone(), log));
            Ok(())
        })
        .unwrap();
    out
}

/// Nobody leaves unless a rule below says so.
fn quiet() -> Turnover {
    Turnover { base_rate: 0.0, quit_probability: 0.0, ..Turnover::default() }
}

fn token_board() -> Policy {
    Policy::new("kirorank", Metric::builtin("tokens", 4).unwrap(), Reward::leaderboard(0.1, 3000.0, 0.1, 2000.0))
}

#[test]
fn forced_ranking_lets_go_exactly_the_bottom_of_the_board_each_cycle() {
    let mut sc = small_story(200, 30, 2);
    let mut p = token_board();
    p.forced_ranking = Some(ForcedRanking { every: 10, bottom_fraction: 0.15, leave_probability: 1.0 });
    sc.policies = vec![p];
    sc.turnover = Some(quiet());
    for (_, log) in logs(&sc) {
        for t in 0..30 {
            let left = &log.leavers[t];
            if (t + 1) % 10 != 0 {
                assert!(left.is_empty(), "period {t}: {left:?} left between reviews");
                continue;
            }
            // Everyone served a whole cycle (hires start a cycle), so 15% of
            // 200, and exactly the lowest published.
            assert_eq!(left.len(), 30, "period {t}");
            let board = &log.published[t];
            let mut order: Vec<u32> = (0..200).collect();
            order.sort_by(|&a, &b| board[a as usize].total_cmp(&board[b as usize]));
            let mut bottom = order[..30].to_vec();
            bottom.sort_unstable();
            assert_eq!(*left, bottom, "period {t}");
            // The hires arrive next period, in those places and nowhere else.
            if t + 1 < 30 {
                for i in 0..200 {
                    let changed = log.integrity[t + 1][i] != log.integrity[t][i];
                    assert_eq!(changed, left.contains(&(i as u32)), "place {i} after period {t}");
                }
            }
        }
    }
}

#[test]
fn hires_within_the_cycle_are_not_ranked_and_the_leave_probability_holds() {
    // Outside reasons take people between reviews; their hires have not
    // served a whole cycle and are not ranked. Below the cut-off each
    // leaves with probability 0.5: the count is binomial.
    let mut sc = small_story(200, 20, 6);
    let mut p = token_board();
    p.forced_ranking = Some(ForcedRanking { every: 20, bottom_fraction: 0.2, leave_probability: 0.5 });
    sc.policies = vec![p];
    sc.turnover = Some(Turnover { base_rate: 0.01, ..quiet() });
    let (mut forced, mut ranked) = (0.0, 0.0);
    for (_, log) in logs(&sc) {
        let mut hired = [false; 200];
        for t in 0..19 {
            for &i in &log.leavers[t] {
                hired[i as usize] = true;
            }
        }
        let eligible: Vec<u32> = (0..200).filter(|&i| !hired[i as usize]).collect();
        let board = &log.published[19];
        let mut order = eligible.clone();
        order.sort_by(|&a, &b| board[a as usize].total_cmp(&board[b as usize]));
        let cut = (0.2 * eligible.len() as f64).round() as usize;
        let bottom = &order[..cut];
        // Leavers at the review: some of the bottom (forced), and others
        // only for outside reasons; never a hire for being ranked.
        let left = &log.leavers[19];
        let forced_here = left.iter().filter(|i| bottom.contains(i)).count();
        forced += forced_here as f64;
        ranked += cut as f64;
        let others = left.len() - forced_here;
        assert!(others <= 12, "{others} leavers above the cut-off at p = 0.01 among about 160");
    }
    // Leavers among the bottom: the forced ones at 0.5, plus the few who
    // would have left anyway (at most the base rate, 0.01, of the rest).
    let rate = forced / ranked;
    let se = (0.5 * 0.5 / ranked).sqrt();
    assert!((rate - 0.5).abs() < 4.0 * se + 0.01, "forced rate {rate}, se {se}");
}

#[test]
fn the_base_rate_is_the_leaving_frequency_without_other_reasons() {
    let mut sc = small_story(150, 40, 4);
    sc.policies = vec![Policy::none("none")];
    sc.turnover = Some(Turnover { base_rate: 0.02, ..quiet() });
    let r = run(&sc).unwrap();
    let leavers: f64 = r.values("none", "leavers").unwrap().iter().sum();
    let trials: f64 = 150.0 * 40.0 * 4.0;
    let se = (trials * 0.02 * 0.98).sqrt();
    assert!((leavers - trials * 0.02).abs() < 4.0 * se, "{leavers} leavers, expected {} +- {se}", trials * 0.02);
    assert_eq!(r.values("none", "forced_exits").unwrap().iter().sum::<f64>(), 0.0);
}

#[test]
fn engineers_leave_when_their_outside_option_rises_above_the_job() {
    // Nothing changes under no policy, so the job stays worth what it was
    // worth at the start; with no switching cost the outside option is
    // above it by the skill premium exactly when skill exceeds 1. At
    // quit_probability 1 they all leave in the first period, and nobody else.
    let mut sc = small_story(200, 3, 2);
    sc.policies = vec![Policy::none("none")];
    for a in &mut sc.activities {
        // Review load would make the first period's hours differ from the pre-period's.
        a.review_hours_per_change = 0.0;
    }
    sc.turnover = Some(Turnover { switching_cost: 0.0, skill_premium: 1000.0, quit_probability: 1.0, ..quiet() });
    for (_, log) in logs(&sc) {
        let skilled: Vec<u32> = (0..200).filter(|&i| log.skill[0][i as usize] > 1.0).collect();
        assert!(skilled.len() > 40 && skilled.len() < 160, "{}", skilled.len());
        assert_eq!(log.leavers[0], skilled);
    }
    // A switching cost larger than any premium keeps everyone.
    sc.turnover = Some(Turnover { switching_cost: 1e7, skill_premium: 1000.0, quit_probability: 1.0, ..quiet() });
    let r = run(&sc).unwrap();
    assert_eq!(r.values("none", "leavers").unwrap().iter().sum::<f64>(), 0.0);
}

#[test]
fn a_hire_copies_the_practices_of_someone_above_the_cut_off_and_draws_skill_afresh() {
    let mut sc = small_story(200, 12, 2);
    let mut p = token_board();
    p.forced_ranking = Some(ForcedRanking { every: 4, bottom_fraction: 0.25, leave_probability: 1.0 });
    sc.policies = vec![p];
    sc.turnover = Some(Turnover { copy_share: 1.0, mutation_sd: 0.0, ..quiet() });
    let mut hires = 0;
    for (_, log) in logs(&sc) {
        for t in [3, 7] {
            let board = &log.published[t];
            let left = &log.leavers[t];
            let mut order: Vec<usize> = (0..200).collect();
            order.sort_by(|&a, &b| board[a].total_cmp(&board[b]));
            // Parents: those above the ranking's cut-off (the bottom 25% of
            // 200, who all leave).
            let parents = &order[50..];
            assert!(parents.iter().all(|&j| !left.contains(&(j as u32))));
            for &i in left {
                let i = i as usize;
                let copied = |j: usize| {
                    log.integrity[t + 1][i] == log.integrity[t][j]
                        && log.sensitivity[t + 1][i] == log.sensitivity[t][j]
                        && log.never[t + 1][i] == log.never[t][j]
                };
                assert!(parents.iter().any(|&j| copied(j)), "hire in place {i} after period {t} copies no parent");
                assert!(!parents.iter().any(|&j| log.skill[t][j] == log.skill[t + 1][i] / 0.5), "skill copied");
                hires += 1;
            }
        }
    }
    assert_eq!(hires, 2 * 2 * 50);
}

#[test]
fn copied_practices_mutate_by_a_mean_one_log_normal_factor() {
    // With mutation sd s, a copy is the parent's practice times
    // exp(s z - s^2 / 2): over many hires, integrity's mean is kept.
    let mut sc = small_story(400, 8, 4);
    sc.policies = vec![Policy::none("none")];
    sc.traits.integrity = goodhart::Dist::Constant { value: 50.0 }.into();
    let s = 0.3;
    sc.turnover = Some(Turnover { base_rate: 0.2, copy_share: 1.0, mutation_sd: s, ..quiet() });
    let mut logs_of_ratio = Vec::new();
    for (_, log) in logs(&sc) {
        for t in 0..7 {
            for &i in &log.leavers[t] {
                // Parents are someone who stayed; within the first period
                // everyone has integrity 50, so the ratio is the mutation.
                if t == 0 {
                    logs_of_ratio.push((log.integrity[t + 1][i as usize] / 50.0).ln());
                }
            }
        }
    }
    let n = logs_of_ratio.len() as f64;
    assert!(n > 200.0, "{n} hires");
    let mean = logs_of_ratio.iter().sum::<f64>() / n;
    let var = logs_of_ratio.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    // log factor ~ N(-s^2/2, s^2).
    assert!((mean + s * s / 2.0).abs() < 4.0 * s / n.sqrt(), "mean log factor {mean}");
    let se_var = s * s * (2.0 / (n - 1.0)).sqrt();
    assert!((var - s * s).abs() < 4.0 * se_var, "variance {var}");
}

#[test]
fn hires_ramp_up_linearly_to_their_skill() {
    let mut sc = small_story(100, 30, 1);
    sc.policies = vec![Policy::none("none")];
    sc.turnover = Some(Turnover { base_rate: 0.05, ramp_periods: 8, ramp_start: 0.25, ..quiet() });
    let (_, log) = &logs(&sc)[0];
    let mut checked = 0;
    for t in 0..10 {
        for &i in &log.leavers[t] {
            let i = i as usize;
            // Placed at t + 1; unless they left again, at full skill 8 periods on.
            let full_at = t + 1 + 8;
            if (t + 1..full_at).any(|u| log.leavers[u].contains(&(i as u32))) {
                continue;
            }
            let full = log.skill[full_at][i];
            for k in 0..=8 {
                let want = full * (0.25 + 0.75 * (k as f64 / 8.0).min(1.0));
                assert!((log.skill[t + 1 + k][i] - want).abs() <= 1e-12 * full, "place {i}, tenure {k}");
            }
            checked += 1;
        }
    }
    assert!(checked > 10, "{checked}");
}

#[test]
fn hiring_costs_come_off_net_value_and_nothing_else() {
    let mut sc = small_story(120, 20, 3);
    let mut p = token_board();
    p.forced_ranking = Some(ForcedRanking { every: 5, ..ForcedRanking::default() });
    sc.policies = vec![Policy::none("none"), p];
    sc.turnover = Some(Turnover { hiring_cost: 0.0, ..Turnover::default() });
    let free = run(&sc).unwrap();
    sc.turnover = Some(Turnover { hiring_cost: 40_000.0, ..Turnover::default() });
    let paid = run(&sc).unwrap();
    for policy in ["none", "kirorank"] {
        let leavers = paid.values(policy, "leavers").unwrap();
        assert_eq!(leavers, free.values(policy, "leavers").unwrap());
        assert_eq!(paid.values(policy, "useful_output"), free.values(policy, "useful_output"));
        let cost = paid.values(policy, "hiring_cost").unwrap();
        for rep in 0..3 {
            assert_eq!(cost[rep], 40_000.0 * leavers[rep]);
            let gap = free.values(policy, "net_value").unwrap()[rep] - paid.values(policy, "net_value").unwrap()[rep];
            assert!((gap - cost[rep]).abs() <= 1e-6 * cost[rep].max(1.0), "{policy} rep {rep}: {gap} vs {}", cost[rep]);
        }
    }
    assert!(paid.values("kirorank", "forced_exits").unwrap().iter().sum::<f64>() > 0.0);
}

#[test]
fn a_hire_draws_the_same_in_every_policy_and_shifts_nobody_else() {
    // Outside reasons are the same draws under every policy: the same
    // places empty in the same periods, and the same hires fill them. A
    // ranking in another policy changes nothing of this one.
    let mut sc = small_story(150, 16, 2);
    let mut ranked = token_board();
    ranked.name = "ranked".into();
    ranked.forced_ranking = Some(ForcedRanking { every: 4, ..ForcedRanking::default() });
    sc.policies = vec![Policy::none("none"), Policy { name: "none-twin".into(), ..Policy::none("x") }, ranked];
    sc.turnover = Some(Turnover { base_rate: 0.03, ..quiet() });
    let all = logs(&sc);
    for rep in 0..2 {
        let (a, b, c) = (&all[rep * 3].1, &all[rep * 3 + 1].1, &all[rep * 3 + 2].1);
        assert_eq!(a.leavers, b.leavers);
        assert_eq!(a.integrity, b.integrity);
        for t in 0..15 {
            for &i in &a.leavers[t] {
                let i = i as usize;
                if c.leavers[t].contains(&(i as u32)) {
                    assert_eq!(a.integrity[t + 1][i], c.integrity[t + 1][i], "hire in place {i}, period {}", t + 1);
                }
            }
        }
    }
    let alone = Scenario { policies: vec![Policy::none("none")], ..sc.clone() };
    let r_all = run(&sc).unwrap();
    let r_alone = run(&alone).unwrap();
    assert_eq!(r_all.values("none", "net_value"), r_alone.values("none", "net_value"));
}

#[test]
fn turnover_is_byte_identical_on_one_and_two_threads() {
    let mut sc = goodhart::model::preset::scenario("stack-ranking").unwrap();
    (sc.replications, sc.periods, sc.org.engineers) = (3, 60, 150);
    let render = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let r = run(&sc).unwrap();
            let mut ts = Vec::new();
            goodhart::io::output::write_timeseries_csv(&r, &mut ts).unwrap();
            (goodhart::io::output::summary_csv(&r), ts)
        })
    };
    let (one, two) = (render(1), render(2));
    assert!(one == two, "outputs differ between 1 and 2 threads");
}

#[test]
fn stack_ranking_on_tokens_selects_for_gaming_and_on_outcomes_for_skill() {
    // The preset over three years: ranking out the bottom of the token
    // board removes engineers who never game (they do not tokenmaxx) and
    // hires copy those who stay; ranking on outcomes selects for skill.
    let sc = goodhart::model::preset::scenario("stack-ranking").unwrap();
    let r = run(&sc).unwrap();
    let d = |p: &str, k: &str| r.paired_diff(p, "no-leaderboard", k).unwrap();
    let honest = d("kirorank-stack-ranking", "never_game_share");
    assert!(honest.ci_high < 0.0, "never-game share under token stack ranking: {honest:?}");
    let regretted = r.paired_diff("kirorank-stack-ranking", "kirorank", "regretted_exits").unwrap();
    assert!(regretted.ci_low > 0.0, "{regretted:?}");
    let skill = d("outcomes-stack-ranking", "mean_skill");
    assert!(skill.ci_low > 0.0, "mean skill under outcome stack ranking: {skill:?}");
    let skill_tokens = r.paired_diff("kirorank-stack-ranking", "outcomes-stack-ranking", "mean_skill").unwrap();
    assert!(skill_tokens.ci_high < 0.0, "{skill_tokens:?}");
    let net = d("kirorank-stack-ranking", "net_value");
    assert!(net.ci_high < 0.0, "{net:?}");
}

#[test]
fn bad_turnover_is_refused_naming_the_field() {
    let cases = [
        ("[turnover]\nquit_probability = 2\n", "turnover.quit_probability"),
        ("[turnover]\nmemory = 0\n", "turnover.memory"),
        ("[turnover]\nramp_periods = 1.5\n", "turnover.ramp_periods"),
        ("[turnover]\nquit = 0.1\n", "quit"),
        (
            "[[policy]]\nname = \"a\"\nforced_ranking = { every = 0 }\nmetric = \"tokens\"\nreward = { scheme = \"leaderboard\" }\n",
            "policy[0].forced_ranking.every",
        ),
        ("[[policy]]\nname = \"a\"\nforced_ranking = { every = 26 }\n", "policy[0].forced_ranking"),
        (
            "[[policy]]\nname = \"a\"\nmetric = \"tokens\"\nreward = { scheme = \"leaderboard\" }\n\
             [[policy]]\nname = \"b\"\nschedule = [{ from = 0, policy = \"a\" }]\nforced_ranking = { every = 26 }\n",
            "policy[1].schedule",
        ),
    ];
    for (text, field) in cases {
        let e = goodhart::parse_scenario(text).unwrap_err().to_string();
        assert!(e.contains(field), "{text}: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
}
