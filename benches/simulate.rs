//! Throughput of full runs, in agent-steps (engineers x periods x
//! replications x policies) per second. `cargo bench --bench simulate`
//! runs every group; `cargo bench --bench simulate -- scaling` one of them.
//! Figures and the machine are in BENCHMARKS.md.
//!
//! Groups:
//! - `full_run`: one policy at a time on the default org, and the story;
//! - `behaviour`: the token leaderboard under every built-in learning model;
//! - `scaling`: the token leaderboard at 1k, 10k and 100k engineers;
//! - `threads`: 1 and 2 worker threads, within one replication (engineers
//!   split across threads) and across replications;
//! - `ratio`: a ratio metric (the `ai-targets` preset's AI-assisted share
//!   in reviews) against the same organisation without a target.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use goodhart::model::preset;
use goodhart::{Behavior, Model, Scenario, run};

fn scenario(policies: &[&str], engineers: usize, periods: u32, replications: u32) -> Scenario {
    let names: Vec<String> = policies.iter().map(|s| s.to_string()).collect();
    let mut sc = preset::compare(&names, Scenario::default()).expect("presets");
    sc.org.engineers = engineers;
    sc.periods = periods;
    sc.replications = replications;
    sc
}

fn steps(sc: &Scenario) -> u64 {
    sc.org.engineers as u64 * sc.periods as u64 * sc.replications as u64 * sc.policies.len() as u64
}

fn full_run(c: &mut Criterion) {
    let mut g = c.benchmark_group("full_run");
    g.sample_size(10);
    for (name, policies) in [
        ("no-leaderboard", vec!["no-leaderboard"]),
        ("kirorank", vec!["kirorank"]),
        ("normalized-deployments", vec!["normalized-deployments"]),
        ("token-budget", vec!["token-budget"]),
    ] {
        let sc = scenario(&policies, 10_000, 52, 1);
        g.throughput(Throughput::Elements(steps(&sc)));
        g.bench_function(format!("{name}/10k-engineers/52-weeks"), |b| b.iter(|| run(&sc).expect("run")));
    }
    let mut story = preset::scenario("story").expect("story");
    story.replications = 2;
    g.throughput(Throughput::Elements(steps(&story)));
    g.bench_function("story/200-engineers/52-weeks/2-replications", |b| b.iter(|| run(&story).expect("run")));
    g.finish();
}

fn behaviour(c: &mut Criterion) {
    let mut g = c.benchmark_group("behaviour");
    g.sample_size(10);
    let models = [
        ("best-response", Model::BestResponse),
        ("imitation", Model::Imitation { revision_rate: 0.2, beta: 0.01, initial_gamers: 0.1 }),
        ("roth-erev", Model::RothErev { forgetting: 0.1, experimentation: 0.2, initial_propensity: 100.0 }),
        ("fixed-types", Model::FixedTypes { gamer_fraction: 0.3 }),
        ("hill-climb", Model::HillClimb { step: 1.0 }),
    ];
    for (name, model) in models {
        let mut sc = scenario(&["kirorank"], 10_000, 52, 1);
        sc.behavior = Behavior { model, ..Behavior::default() };
        g.throughput(Throughput::Elements(steps(&sc)));
        g.bench_function(format!("kirorank/{name}/10k-engineers/52-weeks"), |b| b.iter(|| run(&sc).expect("run")));
    }
    let mut sc = scenario(&["kirorank"], 10_000, 52, 1);
    sc.behavior.temperature = 50.0;
    g.throughput(Throughput::Elements(steps(&sc)));
    g.bench_function("kirorank/logit-50-usd/10k-engineers/52-weeks", |b| b.iter(|| run(&sc).expect("run")));
    // An income effect: every point of the search solves for the marginal
    // utility of output (docs/model.md section 4).
    let mut sc = scenario(&["kirorank"], 10_000, 52, 1);
    sc.traits.value_curvature = 1.0;
    g.throughput(Throughput::Elements(steps(&sc)));
    g.bench_function("kirorank/value-curvature-1/10k-engineers/52-weeks", |b| b.iter(|| run(&sc).expect("run")));
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling");
    g.sample_size(10);
    for n in [1_000, 10_000, 100_000] {
        let sc = scenario(&["kirorank"], n, 10, 1);
        g.throughput(Throughput::Elements(steps(&sc)));
        g.bench_with_input(BenchmarkId::new("kirorank/10-weeks", n), &sc, |b, sc| b.iter(|| run(sc).expect("run")));
    }
    g.finish();
}

fn threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("threads");
    g.sample_size(10);
    let within = scenario(&["kirorank"], 50_000, 10, 1);
    let across = scenario(&["kirorank"], 5_000, 10, 10);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        for (name, sc) in [("within-replication/50k-engineers", &within), ("across-replications/10x5k", &across)] {
            g.throughput(Throughput::Elements(steps(sc)));
            g.bench_with_input(BenchmarkId::new(name, threads), sc, |b, sc| {
                b.iter(|| pool.install(|| run(sc).expect("run")))
            });
        }
    }
    g.finish();
}

fn ratio(c: &mut Criterion) {
    let mut g = c.benchmark_group("ratio");
    g.sample_size(10);
    let base = preset::scenario("ai-targets").expect("preset");
    for policy in ["no-target", "ai-share-review"] {
        let mut sc = base.clone();
        sc.policies.retain(|p| p.name == policy);
        sc.baseline = Some(policy.into());
        (sc.periods, sc.replications) = (10, 1);
        g.throughput(Throughput::Elements(steps(&sc)));
        g.bench_function(format!("ai-targets/{policy}/100-engineers/10-weeks"), |b| b.iter(|| run(&sc).expect("run")));
    }
    g.finish();
}

criterion_group!(benches, full_run, behaviour, scaling, threads, ratio);
criterion_main!(benches);
