//! Reading scenario files: parsing and validation must stay linear in the
//! file's size, however many policies or signals it holds.
//! `cargo bench --bench inputs`; figures in BENCHMARKS.md ("Reading inputs").
//!
//! Each group times a file at two sizes, four times apart: a linear reader
//! takes about 4 times as long for the larger, a quadratic one 16 times.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use goodhart::parse_scenario;

/// A file with `n` policies, each with a name and a token metric.
fn policies(n: usize) -> String {
    let mut s = String::from("[org]\nengineers = 5\n");
    for i in 0..n {
        s += &format!("[[policy]]\nname = \"p{i}\"\nmetric = \"tokens\"\n");
    }
    s
}

/// A file whose one activity adds `n` signals, and a policy whose metric
/// weighs every one of them.
fn signals(n: usize) -> String {
    let list: Vec<String> = (0..n).map(|i| format!("s{i} = 1")).collect();
    format!(
        "[org]\nengineers = 5\n[[policy]]\nname = \"a\"\nmetric = {{ signals = {{ {0} }} }}\n\
         [[activity]]\nname = \"build\"\nvalue_per_hour = 100\nsignals = {{ {0} }}\n",
        list.join(", ")
    )
}

fn read(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    g.sample_size(10);
    for (name, make, sizes) in [
        ("policies", policies as fn(usize) -> String, [10_000, 40_000]),
        ("signals", signals as fn(usize) -> String, [50_000, 200_000]),
    ] {
        for n in sizes {
            let text = make(n);
            parse_scenario(&text).expect("a valid file");
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_with_input(BenchmarkId::new(name, n), &text, |b, t| b.iter(|| parse_scenario(t).expect("valid")));
        }
    }
    g.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
