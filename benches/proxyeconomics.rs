//! Throughput of the proxyeconomics reproduction (Braganza 2022), in
//! agent-steps (agents x steps x runs) per second.
//! `cargo bench --bench proxyeconomics`; figures in BENCHMARKS.md
//! ("Proxyeconomics (Braganza 2022)").
//!
//! Groups:
//! - `run`: one run (100 agents, 2,000 steps) on one thread, at low and
//!   high competition;
//! - `sweep`: the default's five levels with 2 seeds of 2,000 steps each,
//!   on the default threads (runs in parallel).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use goodhart::reproduce::proxyeconomics::{Config, run, run_one};

fn one_run(c: &mut Criterion) {
    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    for (index, level) in [(0, 0.1), (4, 0.9)] {
        let config = Config { steps: 2000, seeds: 1, ..Config::default() };
        g.throughput(Throughput::Elements(config.params.agents as u64 * config.steps));
        g.bench_with_input(BenchmarkId::new("competition", level), &config, |b, cfg| {
            b.iter(|| run_one(cfg, index, 0).expect("valid"))
        });
    }
    g.finish();
}

fn sweep(c: &mut Criterion) {
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    let config = Config { steps: 2000, seeds: 2, ..Config::default() };
    g.throughput(Throughput::Elements(config.agent_steps()));
    g.bench_function("five_levels", |b| b.iter(|| run(&config).expect("valid")));
    g.finish();
}

criterion_group!(benches, one_run, sweep);
criterion_main!(benches);
