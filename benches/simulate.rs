//! Throughput of full runs, in agent-steps (engineers x periods x
//! replications x policies) per second. `cargo bench --bench simulate`;
//! figures and the machine are in BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use goodhart::{Scenario, preset, run};

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

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("full_run");
    g.sample_size(10);
    for (name, policies) in [
        ("no-leaderboard", vec!["no-leaderboard"]),
        ("kirorank", vec!["kirorank"]),
        ("normalized-deployments", vec!["normalized-deployments"]),
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

criterion_group!(benches, bench);
criterion_main!(benches);
