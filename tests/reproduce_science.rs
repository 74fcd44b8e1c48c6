//! Smaldino & McElreath (2016), "The natural selection of bad science":
//! mechanics against closed forms, selection against brute force,
//! statistics within 4 standard errors, and the paper's direction of effect.

use goodhart::Estimate;
use goodhart::reproduce::bad_science::{
    self, Params, Simulation, Traits, best_paid, false_discovery_rate, false_positive_rate, investigation_probability,
    oldest, positive_rate, simulate, simulate_all,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn false_positive_rate_is_power_over_one_plus_unpowered_effort() {
    // Table 1's start: W = 0.8, e = 75 gives alpha = 0.8 / 16 = 0.05.
    assert!(close(false_positive_rate(0.8, 75.0), 0.05));
    assert!(close(false_positive_rate(0.8, 1.0), 2.0 / 3.0));
    assert!(close(false_positive_rate(0.5, 3.0), 0.2));
    assert!(close(false_positive_rate(1.0, 100.0), 1.0));
    assert!(close(false_positive_rate(0.0, 50.0), 0.0));
}

#[test]
fn investigation_probability_is_one_minus_eta_log10_effort() {
    assert!(close(investigation_probability(0.2, 1.0), 1.0));
    assert!(close(investigation_probability(0.2, 10.0), 0.8));
    assert!(close(investigation_probability(0.2, 100.0), 0.6));
    assert!(close(investigation_probability(0.2, 75.0), 1.0 - 0.2 * 75f64.log10()));
    assert!(close(investigation_probability(0.0, 75.0), 1.0));
}

#[test]
fn closed_forms_of_positives_and_false_discoveries() {
    // b = 0.1, W = 0.8, alpha = 0.05: 0.08 + 0.045 = 0.125 positive, 0.045 / 0.125 false.
    assert!(close(positive_rate(0.1, 0.8, 0.05), 0.125));
    assert!(close(false_discovery_rate(0.1, 0.8, 0.05), 0.36));
    // At the effort floor: alpha = 2/3, FDR = 0.6 / 0.68.
    assert!(close(false_discovery_rate(0.1, 0.8, 2.0 / 3.0), 0.6 / 0.68));
}

/// A population that does science but never dies or reproduces.
fn science_only(params: &Params, labs: &[Traits], steps: usize, seed: u64) -> Simulation {
    let mut sim = Simulation::with_labs(params, labs, seed).unwrap();
    for _ in 0..steps {
        sim.science();
    }
    sim
}

#[test]
fn investigations_positives_and_false_discoveries_match_their_closed_forms() {
    // Effort 10, power 0.6: h = 0.8, alpha = 0.6 / 5 = 0.12, positive rate
    // 0.1 * 0.6 + 0.9 * 0.12 = 0.168, FDR 0.108 / 0.168.
    let p = Params { b: 0.1, ..Params::default() };
    let lab = Traits { power: 0.6, effort: 10.0, replication: 0.0 };
    let (labs, steps) = (50, 4000);
    let sim = science_only(&p, &vec![lab; labs], steps, 11);
    let t = sim.tally();

    let trials = (labs * steps) as f64;
    let h = investigation_probability(p.eta, lab.effort);
    let se = (h * (1.0 - h) / trials).sqrt();
    let got = t.investigations as f64 / trials;
    assert!((got - h).abs() < 4.0 * se, "investigations per lab-step {got} vs h = {h} (SE {se})");

    let alpha = false_positive_rate(lab.power, lab.effort);
    let pos = positive_rate(p.b, lab.power, alpha);
    let n = t.investigations as f64;
    let se = (pos * (1.0 - pos) / n).sqrt();
    let got = t.novel as f64 / n;
    assert!((got - pos).abs() < 4.0 * se, "positives per investigation {got} vs {pos} (SE {se})");

    let fdr = false_discovery_rate(p.b, lab.power, alpha);
    let se = (fdr * (1.0 - fdr) / t.novel as f64).sqrt();
    let got = t.false_novel as f64 / t.novel as f64;
    assert!((got - fdr).abs() < 4.0 * se, "false discoveries {got} vs {fdr} (SE {se})");
}

#[test]
fn death_takes_the_oldest_and_birth_the_best_paid_of_a_fixed_sample() {
    let born = [5, 2, 9, 2, 0, 7];
    let payoff = [3.0, -100.0, 8.5, 8.5, 1.0, 0.0];
    // Brute force: the earliest-born (largest payoff) of the sample, the
    // first of the sample on a tie.
    for sample in [vec![0, 2, 5], vec![3, 1, 2], vec![1, 3], vec![4, 0, 1], vec![5]] {
        let min_born = sample.iter().map(|&i| born[i]).min().unwrap();
        let want_old = *sample.iter().find(|&&i| born[i] == min_born).unwrap();
        assert_eq!(oldest(&sample, &born), want_old, "sample {sample:?}");
        let max_pay = sample.iter().map(|&i| payoff[i]).fold(f64::MIN, f64::max);
        let want_rich = *sample.iter().find(|&&i| payoff[i] == max_pay).unwrap();
        assert_eq!(best_paid(&sample, &payoff), want_rich, "sample {sample:?}");
    }
    assert_eq!(oldest(&[1, 3], &born), 1);
    assert_eq!(oldest(&[3, 1], &born), 3);
    assert_eq!(best_paid(&[2, 3, 0], &payoff), 2);
    assert_eq!(best_paid(&[3, 2, 0], &payoff), 3);
}

#[test]
fn death_and_birth_in_a_running_population_follow_their_samples() {
    // Mutation off, so the newborn is an exact copy of its parent.
    let p = Params { n: 30, d: 6, mu_e: 0.0, ..Params::default() };
    let mut sim = Simulation::new(&p, 5).unwrap();
    for _ in 0..500 {
        sim.step();
    }
    for _ in 0..50 {
        sim.science();
        let ages = sim.ages();
        let dead = sim.death();
        let sample = sim.last_sample().to_vec();
        assert_eq!(sample.len(), p.d);
        let mut distinct = sample.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), p.d, "sample {sample:?} repeats a lab");
        let oldest_age = sample.iter().map(|&i| ages[i]).max().unwrap();
        assert_eq!(ages[dead], oldest_age, "lab {dead} died, not the oldest of {sample:?}");

        let payoff = sim.payoff().to_vec();
        let parent = sim.birth(dead);
        let sample = sim.last_sample().to_vec();
        assert!(!sample.contains(&dead), "the dead lab's slot was sampled for birth");
        let best = sample.iter().map(|&i| payoff[i]).fold(f64::MIN, f64::max);
        assert_eq!(payoff[parent], best, "lab {parent} reproduced, not the best-paid of {sample:?}");
        assert_eq!(sim.traits(dead), sim.traits(parent));
        assert_eq!(sim.payoff()[dead], 0.0);
        assert_eq!(sim.ages()[dead], 0);
    }
}

#[test]
fn mutation_happens_at_its_rate_with_its_sd() {
    let p = Params { mu_w: 0.01, mu_e: 0.01, mu_r: 0.01, ..Params::default() };
    let parent = Traits { power: 0.5, effort: 50.0, replication: 0.5 };
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let draws = 200_000;
    let (mut dw, mut de, mut dr) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..draws {
        let c = parent.mutate(&p, &mut rng);
        for (child, par, out) in [
            (c.power, parent.power, &mut dw),
            (c.effort, parent.effort, &mut de),
            (c.replication, parent.replication, &mut dr),
        ] {
            if child != par {
                out.push(child - par);
            }
        }
    }
    for (name, deltas, mu, sigma) in
        [("power", &dw, p.mu_w, p.sigma_w), ("effort", &de, p.mu_e, p.sigma_e), ("replication", &dr, p.mu_r, p.sigma_r)]
    {
        let m = deltas.len() as f64;
        let se = (mu * (1.0 - mu) / draws as f64).sqrt();
        let rate = m / draws as f64;
        assert!((rate - mu).abs() < 4.0 * se, "{name}: mutation rate {rate} vs {mu} (SE {se})");
        let sd = (deltas.iter().map(|d| d * d).sum::<f64>() / m).sqrt();
        let se = sigma / (2.0 * m).sqrt();
        assert!((sd - sigma).abs() < 4.0 * se, "{name}: mutation sd {sd} vs {sigma} (SE {se})");
    }
    // Clamped to the ranges: effort never below 1, power never above 1.
    let p = Params { mu_w: 1.0, mu_e: 1.0, sigma_w: 0.5, sigma_e: 5.0, ..Params::default() };
    let edge = Traits { power: 1.0, effort: 1.0, replication: 0.0 };
    for _ in 0..1000 {
        let c = edge.mutate(&p, &mut rng);
        assert!((0.0..=1.0).contains(&c.power) && c.effort >= 1.0, "{c:?}");
    }
}

#[test]
fn without_mutation_nothing_evolves() {
    let p = Params { r0: 0.2, mu_e: 0.0, mu_w: 0.0, mu_r: 0.0, ..Params::default() };
    let mut sim = Simulation::new(&p, 9).unwrap();
    for _ in 0..20_000 {
        sim.step();
    }
    for i in 0..p.n {
        assert_eq!(sim.traits(i), p.initial_traits(), "lab {i} changed");
    }
    // With mutation, the same run does change.
    let p = Params { mu_e: 0.01, ..p };
    let mut sim = Simulation::new(&p, 9).unwrap();
    for _ in 0..20_000 {
        sim.step();
    }
    assert!((0..p.n).any(|i| sim.traits(i) != p.initial_traits()));
}

#[test]
fn a_failed_replication_costs_the_original_lab_v_o_minus() {
    // Every hypothesis is false (b = 0). Lab 0 always finds a (false)
    // positive: W = 1 makes alpha = 1; effort 1 makes h = 1. Lab 1 only
    // replicates (r = 1), with W = 0, so alpha = 0 and every replication
    // fails. Each step: lab 0 earns V_N and loses V_O-, lab 1 earns V_R-.
    let p = Params { b: 0.0, d: 1, ..Params::default() };
    let original = Traits { power: 1.0, effort: 1.0, replication: 0.0 };
    let steps = 37;
    let sim = science_only(&p, &[original, Traits { power: 0.0, effort: 1.0, replication: 1.0 }], steps, 1);
    let t = sim.tally();
    assert_eq!((t.novel, t.replications, t.failed_replications), (37, 37, 37));
    assert_eq!(sim.payoff()[0], steps as f64 * (p.v_n + p.v_o_neg));
    assert_eq!(sim.payoff()[1], steps as f64 * p.v_r_neg);

    // A replicator with alpha = 1 always confirms: V_O+ to the original.
    let sim = science_only(&p, &[original, Traits { power: 1.0, effort: 1.0, replication: 1.0 }], steps, 1);
    assert_eq!(sim.tally().failed_replications, 0);
    assert!(close(sim.payoff()[0], steps as f64 * (p.v_n + p.v_o_pos)));
    assert_eq!(sim.payoff()[1], steps as f64 * p.v_r_pos);

    // An unpublished negative replication (c_R- = 0) pays nobody.
    let quiet = Params { c_r_neg: 0.0, ..p.clone() };
    let sim = science_only(&quiet, &[original, Traits { power: 0.0, effort: 1.0, replication: 1.0 }], steps, 1);
    assert_eq!(sim.payoff(), &[steps as f64 * quiet.v_n, 0.0]);
}

#[test]
fn replications_of_false_results_fail_at_one_minus_alpha() {
    let p = Params { b: 0.0, d: 1, ..Params::default() };
    let replicator = Traits { power: 0.8, effort: 10.0, replication: 1.0 };
    let sim = science_only(&p, &[Traits { power: 1.0, effort: 1.0, replication: 0.0 }, replicator], 20_000, 4);
    let t = sim.tally();
    let fail = 1.0 - false_positive_rate(replicator.power, replicator.effort);
    let n = t.replications as f64;
    let se = (fail * (1.0 - fail) / n).sqrt();
    let got = t.failed_replications as f64 / n;
    assert!((got - fail).abs() < 4.0 * se, "failed share {got} vs {fail} (SE {se})");
    let expected = t.novel as f64 * p.v_n
        + t.failed_replications as f64 * p.v_o_neg
        + (t.replications - t.failed_replications) as f64 * p.v_o_pos;
    assert!((sim.payoff()[0] - expected).abs() < 1e-6 * expected.abs());
}

#[test]
fn under_the_default_incentive_effort_falls_and_false_discoveries_rise() {
    // 2,000 generations of Table 1's model, 8 seeds: the paper's direction,
    // judged by 95% CIs over seeds against the starting values.
    let p = Params::default();
    let seeds: Vec<u64> = (1..=8).collect();
    let runs = simulate_all(std::slice::from_ref(&p), &seeds, 200_000, 20_000).unwrap();
    let effort = Estimate::of(&runs.iter().map(|r| r.last().mean_effort).collect::<Vec<_>>());
    let fdr = Estimate::of(&runs.iter().map(|r| r.last().false_discovery_rate().unwrap()).collect::<Vec<_>>());
    let start = false_discovery_rate(p.b, p.w0, false_positive_rate(p.w0, p.e0));
    assert!(effort.ci_high < p.e0, "mean effort {effort:?} did not fall below {}", p.e0);
    assert!(fdr.ci_low > start, "false discovery rate {fdr:?} did not rise above {start}");
}

#[test]
fn runs_are_identical_on_any_thread_count() {
    let conditions = [Params { n: 40, ..Params::default() }, Params { n: 40, r0: 0.5, ..Params::default() }];
    let seeds = [1, 2, 3];
    let on = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| simulate_all(&conditions, &seeds, 5_000, 500).unwrap())
    };
    let one = on(1);
    assert_eq!(one.len(), 6);
    assert!(one == on(3), "runs differ between 1 and 3 threads");
    // A condition draws the same numbers whatever runs beside it.
    let alone = simulate(&conditions[1], 2, 5_000, 500).unwrap();
    assert!(alone == one[4]);
}

#[test]
fn a_small_run_keeps_its_numbers() {
    // Pins the stream layout: a change here must be a deliberate decision.
    let p = Params { n: 20, d: 4, r0: 0.2, ..Params::default() };
    let run = simulate(&p, 7, 1_000, 1_000).unwrap();
    let t = run.last().tally;
    assert_eq!(
        (t.investigations, t.novel, t.false_novel, t.replications, t.failed_replications),
        (12437, 1289, 448, 2477, 1138),
        "pinned tally changed"
    );
}

#[test]
fn bad_parameters_name_the_field() {
    let err = |p: Params| Simulation::new(&p, 1).unwrap_err().to_string();
    assert!(err(Params { d: 100, ..Params::default() }).contains("bad_science.d"));
    assert!(err(Params { r0: 1.5, ..Params::default() }).contains("bad_science.r0"));
    assert!(err(Params { e0: 0.5, ..Params::default() }).contains("bad_science.e0"));
    assert!(err(Params { eta: 0.6, ..Params::default() }).contains("bad_science.eta"));
    assert!(err(Params { sigma_e: f64::NAN, ..Params::default() }).contains("bad_science.sigma_e"));
    assert!(simulate(&Params::default(), 1, 10, 0).is_err());
    let low = Traits { effort: bad_science::EFFORT_MIN / 2.0, ..Params::default().initial_traits() };
    let e = Simulation::with_labs(&Params::default(), &[low; 11], 1).unwrap_err().to_string();
    assert!(e.contains("labs[0].effort"), "{e}");
}
