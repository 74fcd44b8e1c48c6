//! Published models reproduced (`goodhart::reproduce`): their mechanics
//! against brute force and closed forms, their determinism and output.

use std::f64::consts::{FRAC_PI_4, PI};

use goodhart::Error;
use goodhart::analysis::stats::Estimate;
use goodhart::reproduce::proxyeconomics::{
    CSV_HEADER, Config, EFFORT_CHANGES, Model, Params, Start, circular_mean_deg, csv, prospect, run, run_one,
    threshold_rank, threshold_with,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The `k`-th smallest (1-based) of `values` by a full sort.
fn kth_smallest(values: &[f64], k: usize) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[k - 1]
}

/// A population with efforts of every kind: 0, multiples of 0.1 (as the
/// model's own moves make them) and arbitrary values, some shared.
fn random_start(n: usize, rng: &mut ChaCha8Rng) -> Start {
    let mut s = Start { talent: Vec::new(), practice: Vec::new(), effort: Vec::new() };
    for _ in 0..n {
        s.talent.push(rng.random_range(0.5..15.0));
        s.practice.push(rng.random_range(-0.2..1.0));
        s.effort.push(match rng.random_range(0..4) {
            0 => 0.0,
            1 => rng.random_range(0..200) as f64 * 0.1,
            2 => 10.0,
            _ => rng.random_range(0.0..25.0),
        });
    }
    s
}

#[test]
fn the_threshold_is_at_floor_cn_from_the_bottom() {
    // floor(c N) as an integer: the largest k with k <= c N.
    for n in [1usize, 7, 10, 100, 333] {
        for i in 0..=100 {
            let c = i as f64 / 100.0;
            let k = (0..=n).rev().find(|&k| k as f64 <= c * n as f64).unwrap();
            assert_eq!(threshold_rank(c, n), if k == 0 { None } else { Some(k) }, "c {c}, n {n}");
        }
    }
    // The product is taken in floating point, as the original's int(c * N).
    assert_eq!(threshold_rank(0.29, 100), Some(28));
    assert_eq!(threshold_rank(0.3, 100), Some(30));
    assert_eq!(threshold_rank(0.0, 100), None);
    assert_eq!(threshold_rank(1.0, 100), Some(100));

    // The model's threshold is that order statistic of the recorded proxies, step after step.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for (n, c) in [(100, 0.1), (100, 0.9), (37, 0.5), (5, 1.0), (2, 0.5)] {
        let params = Params { agents: n, ..Params::default() };
        let mut m = Model::from_start(&params, c, random_start(n, &mut rng), 3, 0).unwrap();
        let k = ((c * n as f64).floor()) as usize;
        for _ in 0..30 {
            assert_eq!(m.threshold(), Some(kth_smallest(m.proxy(), k)), "n {n}, c {c}");
            m.step();
        }
    }
}

#[test]
fn threshold_with_an_own_entry_is_the_order_statistic_of_the_union() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..2000 {
        let n = rng.random_range(1..12);
        let mut others: Vec<f64> = (0..n).map(|_| rng.random_range(0..6) as f64).collect();
        others.sort_by(f64::total_cmp);
        let own = rng.random_range(0..7) as f64 - 0.5 * rng.random_range(0..2) as f64;
        let mut all = others.clone();
        all.push(own);
        for rank in 1..=n + 1 {
            assert_eq!(threshold_with(&others, rank, own), kth_smallest(&all, rank));
        }
    }
}

#[test]
fn prospect_values() {
    let v = |d: f64| (0.88 * d.ln()).exp(); // d^0.88 by another route
    for (proxy, threshold, want) in [
        (12.0, 10.0, v(2.0)),
        (8.0, 10.0, -2.25 * v(2.0)),
        (11.0, 10.0, 1.0),
        (9.0, 10.0, -2.25),
        (10.0, 10.0, 0.0),
        (0.0, 0.0, 0.0),
        (0.5, 0.0, v(0.5)),
        (0.0, 30.0, -2.25 * v(30.0)),
    ] {
        let got = prospect(proxy, threshold);
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "prospect({proxy}, {threshold}) = {got}, want {want}"
        );
    }
    // 2^0.88, to 10 digits.
    assert!((prospect(2.0, 0.0) - 1.8403753012).abs() < 1e-9);
}

#[test]
fn without_competition_or_goal_effort_stays_at_zero() {
    // No threshold (c N < 1) and g = 0: utility is -e^2/t, so 0 is the best
    // response exactly, and nobody dies.
    for (c, seed) in [(0.0, 1), (0.0, 2), (0.005, 3)] {
        let mut m = Model::new(&Params::default(), c, seed, 0).unwrap();
        assert_eq!(m.threshold(), None);
        for _ in 0..300 {
            m.move_agents();
            assert!(m.replace_losers().is_empty(), "a death without competition");
        }
        assert!(m.effort().iter().all(|&e| e == 0.0), "efforts {:?}", &m.effort()[..5]);
        assert!(m.proxy().iter().chain(m.goal()).all(|&x| x == 0.0));
    }
}

/// Agent `i`'s best effort by trying the candidates in the listed order,
/// each threshold from a full sort of all recorded proxies with agent i's
/// entry replaced by `own(previous candidate's proxy, recorded proxy)`.
fn brute_best(m: &Model, params: &Params, i: usize, own: fn(Option<f64>, f64) -> f64, candidate_own: bool) -> f64 {
    let k = threshold_rank(m.competition(), m.proxy().len());
    let (wp, wg) = (m.practice()[i].cos(), (params.goal_angle - m.practice()[i]).cos());
    let (mut best_u, mut best_e, mut previous) = (f64::NEG_INFINITY, f64::NAN, None);
    for change in EFFORT_CHANGES {
        let e = m.effort()[i] + change;
        if e < 0.0 {
            continue;
        }
        let x = e * wp;
        let p = match k {
            Some(k) => {
                let mut all = m.proxy().to_vec();
                all[i] = if candidate_own { x } else { own(previous, m.proxy()[i]) };
                prospect(x, kth_smallest(&all, k))
            }
            None => 0.0,
        };
        previous = Some(x);
        let u = p + params.goal_scale * e * wg - e * e / m.talent()[i];
        if u > best_u {
            (best_u, best_e) = (u, e);
        }
    }
    best_e
}

#[test]
fn the_chosen_effort_is_the_brute_force_argmax_over_the_candidates() {
    let mut rng = ChaCha8Rng::seed_from_u64(2022);
    let (mut checked, mut other_rules_differ) = (0, 0);
    for case in 0..400 {
        let n = rng.random_range(2..40);
        let c = [0.0, 0.1, 0.5, 0.9, 1.0, rng.random_range(0.0..1.0)][case % 6];
        let g = [0.0, 0.0, 0.5, 3.0][case % 4];
        let params = Params { agents: n, goal_scale: g, ..Params::default() };
        let mut m = Model::from_start(&params, c, random_start(n, &mut rng), case as u64, 0).unwrap();
        // A few steps in: shared efforts, offspring with a dead agent's scores.
        for _ in 0..rng.random_range(0..4) {
            m.step();
        }
        for i in 0..n {
            let want = brute_best(&m, &params, i, |previous, recorded| previous.unwrap_or(recorded), false);
            assert_eq!(m.best_effort(i), want, "case {case}, agent {i}");
            checked += 1;
            // The rule for the agent's own entry matters: ranking against its
            // recorded proxy, or the candidate's own, sometimes chooses otherwise.
            let recorded = brute_best(&m, &params, i, |_, recorded| recorded, false);
            let candidate = brute_best(&m, &params, i, |_, recorded| recorded, true);
            other_rules_differ += usize::from(recorded != want || candidate != want);
        }
        // Moving agents one by one keeps the model's ranking in step with brute force.
        for i in 0..n {
            let want = brute_best(&m, &params, i, |previous, recorded| previous.unwrap_or(recorded), false);
            m.adjust_effort(i);
            assert_eq!(m.effort()[i], want, "case {case}, agent {i} after others moved");
        }
    }
    assert!(checked > 4000);
    assert!(other_rules_differ > 0, "no instance told the own-entry rules apart");
}

#[test]
fn ties_go_to_the_first_candidate_in_the_listed_order() {
    // No competition, practice on the goal (weight 1), g t = 6: from effort
    // 0, u(e) = 0.75 e - e^2 / 8 is 0.625 at both 1 and 5 (exactly, in
    // binary) and lower at every other candidate. 1 comes first.
    let params = Params { agents: 2, goal_scale: 0.75, ..Params::default() };
    let start = Start { talent: vec![8.0; 2], practice: vec![FRAC_PI_4; 2], effort: vec![0.0; 2] };
    let m = Model::from_start(&params, 0.0, start, 0, 0).unwrap();
    assert_eq!(m.best_effort(0), 1.0);
}

#[test]
fn losers_die_at_the_death_probability_and_offspring_copy_a_winner() {
    let n = 200;
    let params = Params { agents: n, ..Params::default() };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut m = Model::from_start(&params, 0.3, random_start(n, &mut rng), 9, 2).unwrap();
    for _ in 0..20 {
        m.step();
    }
    let threshold = m.threshold().unwrap();
    let losers = m.proxy().iter().filter(|&&x| x <= threshold).count();
    let at = m.proxy().iter().position(|&x| x == threshold).unwrap();
    let (mut at_died, mut at_parent) = (0, 0);
    let (rounds, mut deaths) = (3000, 0usize);
    let mut mutations = Vec::new();
    for _ in 0..rounds {
        let (effort, practice, proxy, goal) =
            (m.effort().to_vec(), m.practice().to_vec(), m.proxy().to_vec(), m.goal().to_vec());
        let births = m.replace_losers().to_vec();
        // Recorded proxies do not change in this phase, so neither do the threshold and the losers.
        assert_eq!(m.threshold(), Some(threshold));
        deaths += births.len();
        for (b, birth) in births.iter().enumerate() {
            let (d, p) = (birth.dead, birth.parent);
            (at_died, at_parent) = (at_died + usize::from(d == at), at_parent + usize::from(p == at));
            assert!(proxy[d] <= threshold, "agent {d} died above the threshold");
            assert!(proxy[p] >= threshold, "parent {p} below the threshold");
            // The offspring keeps the dead agent's recorded scores ...
            assert_eq!((m.proxy()[d], m.goal()[d]), (proxy[d], goal[d]));
            // ... and copies its parent's effort and practice as they were
            // at the birth (a parent that died earlier in the phase passes on its offspring's).
            let parent_died_earlier = births[..b].iter().any(|x| x.dead == p);
            let parent_later_died = births[b + 1..].iter().any(|x| x.dead == p);
            if !parent_later_died {
                assert_eq!(m.effort()[d], m.effort()[p]);
                if !parent_died_earlier && p != d {
                    assert_eq!(m.effort()[d], effort[p]);
                    mutations.push(m.practice()[d] - practice[p]);
                }
            }
            assert!(m.talent()[d] > 0.0);
        }
        // Survivors are untouched.
        for i in (0..n).filter(|i| !births.iter().any(|b| b.dead == *i)) {
            assert_eq!((m.effort()[i], m.practice()[i]), (effort[i], practice[i]));
        }
    }
    // The agent at the threshold is both a potential loser and a potential
    // parent (expected about 300 deaths and 100 children here).
    assert!(at_died > 0 && at_parent > 0, "agent at the threshold: {at_died} deaths, {at_parent} children");
    // Deaths: binomial with p = 0.1 over rounds x losers trials.
    let trials = (rounds * losers) as f64;
    let se = (0.1 * 0.9 / trials).sqrt();
    let freq = deaths as f64 / trials;
    assert!((freq - 0.1).abs() < 4.0 * se, "death frequency {freq}, want 0.1 ± {}", 4.0 * se);
    // Practice mutation: mean 0 and sd pi/90, each within 4 standard errors.
    let sd = PI / 90.0;
    let k = mutations.len() as f64;
    let mean = mutations.iter().sum::<f64>() / k;
    let var = mutations.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0);
    assert!(mean.abs() < 4.0 * sd / k.sqrt(), "mutation mean {mean}");
    assert!((var.sqrt() - sd).abs() < 4.0 * sd / (2.0 * (k - 1.0)).sqrt(), "mutation sd {}", var.sqrt());

    // An offspring's scores become its own when it moves.
    let births = m.replace_losers().to_vec();
    let d = births.first().expect("a birth").dead;
    m.adjust_effort(d);
    assert_eq!(m.proxy()[d], m.effort()[d] * m.practice()[d].cos());
    assert_eq!(m.goal()[d], m.effort()[d] * (FRAC_PI_4 - m.practice()[d]).cos());
}

#[test]
fn circular_mean_wraps_around() {
    let deg = |v: &[f64]| circular_mean_deg(&v.iter().map(|d| d.to_radians()).collect::<Vec<_>>());
    assert!(deg(&[350.0, 10.0]).abs() < 1e-9);
    assert!((deg(&[0.0, 90.0]) - 45.0).abs() < 1e-9);
    assert!((deg(&[170.0, -170.0]).abs() - 180.0).abs() < 1e-9);
    assert!((deg(&[30.0, 390.0, -330.0]) - 30.0).abs() < 1e-9);
    assert!((deg(&[-20.0, -40.0]) + 30.0).abs() < 1e-9);
    let m = Model::new(&Params::default(), 0.5, 1, 0).unwrap();
    assert_eq!(m.means().practice_deg, circular_mean_deg(m.practice()));
}

fn small() -> Config {
    Config { steps: 250, seeds: 3, ..Config::default() }
}

#[test]
fn byte_identical_on_one_and_two_threads() {
    let render = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| csv(&run(&small()).unwrap()))
    };
    let one = render(1);
    assert_eq!(one, render(2));
    // Each run is independent of the others: level 3, seed 2 alone gives its rows.
    let alone = csv(&run_one(&small(), 3, 2).unwrap());
    let rows: Vec<&str> = alone.lines().skip(1).collect();
    assert!(rows.iter().all(|r| one.contains(r)));
    assert_ne!(csv(&run_one(&small(), 3, 1).unwrap()), alone);
}

#[test]
fn values_are_stable() {
    // Pinned: a change here is a deliberate change of the model or its streams.
    let rows = run_one(&Config { steps: 100, ..Config::default() }, 2, 0).unwrap();
    let line = csv(&rows).lines().nth(1).unwrap().to_string();
    assert_eq!(line, "0.5,0,100,10.080999999999978,9.843516158470504,7.974784816569513,8.042519011686935");
}

#[test]
fn the_example_writes_the_header_and_a_row_per_recorded_step() {
    let config = small();
    let text = csv(&run(&config).unwrap());
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("competition,seed,step,mean_effort,mean_proxy,mean_goal,mean_practice_deg"));
    assert_eq!(CSV_HEADER, "competition,seed,step,mean_effort,mean_proxy,mean_goal,mean_practice_deg");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // Steps 100, 200 and the last, 250; no step 0.
    assert_eq!(rows.len(), 5 * 3 * 3);
    assert_eq!(rows.len(), config.rows());
    assert!(rows.iter().all(|r| r.len() == 7 && r[3..].iter().all(|x| x.parse::<f64>().unwrap().is_finite())));
    let steps: Vec<&str> = rows.iter().take(3).map(|r| r[2]).collect();
    assert_eq!(steps, ["100", "200", "250"]);
    assert_eq!((rows[0][0], rows[0][1], rows[44][0], rows[44][1]), ("0.1", "0", "0.9", "2"));
    // The default writes 5 levels x 10 seeds x 100 rows.
    assert_eq!(Config::default().rows(), 5000);
}

#[test]
fn harder_competition_drives_practice_to_the_proxy_faster() {
    // The paper's direction: selection on the proxy pulls practice from the
    // goal (45 degrees) toward the proxy (0), faster the more agents are at risk.
    let config = Config { competition: vec![0.1, 0.9], steps: 500, seeds: 12, ..Config::default() };
    let rows = run(&config).unwrap();
    let practice = |c: f64| -> Vec<f64> {
        rows.iter().filter(|r| r.competition == c && r.step == 500).map(|r| r.means.practice_deg).collect()
    };
    let (low, high) = (practice(0.1), practice(0.9));
    let diff: Vec<f64> = low.iter().zip(&high).map(|(l, h)| l - h).collect();
    let d = Estimate::of(&diff);
    assert!(d.ci_low > 0.0, "practice at c = 0.1 minus c = 0.9: {d:?}");
    // Both drifted from the initial mean of 22.5 degrees.
    assert!(Estimate::of(&low).ci_high < 22.5);
}

#[test]
fn bad_parameters_name_the_field() {
    let field = |config: Config| match run(&config) {
        Err(Error::InvalidField { path, .. }) => path,
        other => panic!("expected an invalid field, got {other:?}"),
    };
    assert_eq!(field(Config { competition: vec![0.1, 1.5], ..small() }), "competition[1]");
    assert_eq!(field(Config { steps: 0, ..small() }), "steps");
    assert_eq!(field(Config { seeds: 0, ..small() }), "seeds");
    let one = run_one(&Config { record_every: 0, ..small() }, 0, 0);
    assert!(matches!(one, Err(Error::InvalidField { path, .. }) if path == "record_every"));
    let params = |p: Params| field(Config { params: p, ..small() });
    assert_eq!(params(Params { agents: 0, ..Params::default() }), "params.agents");
    assert_eq!(params(Params { death_probability: -0.1, ..Params::default() }), "params.death_probability");
    assert_eq!(params(Params { mutation_sd: f64::NAN, ..Params::default() }), "params.mutation_sd");
    let start = Start { talent: vec![1.0, 0.0], practice: vec![0.0; 2], effort: vec![0.0; 2] };
    let err = Model::from_start(&Params { agents: 2, ..Params::default() }, 0.5, start, 0, 0).unwrap_err();
    assert!(err.to_string().starts_with("start.talent[1]"), "{err}");
}
