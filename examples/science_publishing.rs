//! A different organisation, the same law: science rewarded on publication
//! counts. This reproduces the evolutionary model of Smaldino & McElreath
//! (2016), "The natural selection of bad science", *R. Soc. Open Sci.*
//! 3:160384, with the library's [`goodhart::reproduce::bad_science`].
//!
//! Why it is here: counting papers pays for the methods that produce
//! papers. Nobody in the model cheats or even chooses. A lab's effort
//! (rigour) lowers its false-positive rate but also how often it starts a
//! study; labs are paid for positive results, the best-paid labs are copied
//! (their students found labs) and the oldest retire. Low effort spreads by
//! selection alone, and the share of published findings that are false
//! rises: the metric (papers) stops measuring what it stood for (findings).
//!
//! How the paper's labs map to the library's concepts: a lab is an
//! engineer; a published novel result is a deployment; a false positive is a
//! defective change; a replication is an audit, and a failed replication,
//! with its penalty `V_O-` to the original lab, is a rollback found by the
//! audit; "the best-paid of ten reproduces" is a leaderboard whose prize is
//! being imitated. The library's engineers best-respond to a leaderboard;
//! here the same pressure acts through selection, as in the paper.
//!
//! Two conditions run side by side, without replication (`r0 = 0`) and with
//! it (`r0 = 0.5` by default), each with several seeds; the printed summary
//! shows mean effort and the false discovery rate over generations (a
//! generation is `N` = 100 time steps: one birth per step), and a tidy CSV
//! holds one row per run every `--every` steps.
//!
//! Run it with (about 10 s on 2 idle cores, 1.2 billion lab-steps):
//!
//! ```text
//! cargo run --release --example science_publishing
//! cargo run --release --example science_publishing -- --generations 2000 --seeds 4 --replication 0.2
//! ```
//!
//! Flags: `--generations N` (default 10,000: the paper's 10^6 time steps),
//! `--seeds N` (default 6),
//! `--replication R` (the replicating condition's `r0`, default 0.5; 0 runs
//! only the condition without), `--every K` (steps between CSV rows,
//! default 10,000), `--out DIR` (default `goodhart-out`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use goodhart::Estimate;
use goodhart::reproduce::bad_science::{self, Params, Run};

struct Args {
    generations: u64,
    seeds: u64,
    replication: f64,
    every: u64,
    out: PathBuf,
}

const USAGE: &str = "usage: science_publishing [--generations N] [--seeds N] [--replication R] [--every K] [--out DIR]";

fn parse_args() -> Result<Args, String> {
    let mut a =
        Args { generations: 10_000, seeds: 6, replication: 0.5, every: 10_000, out: PathBuf::from("goodhart-out") };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = it.next().ok_or_else(|| format!("{flag}: needs a value ({USAGE})"))?;
        let int = |lo: u64, hi: u64| {
            value
                .parse::<u64>()
                .ok()
                .filter(|v| (lo..=hi).contains(v))
                .ok_or_else(|| format!("{flag}: `{value}` is not allowed; expected an integer from {lo} to {hi}"))
        };
        match flag.as_str() {
            "--generations" => a.generations = int(1, 1_000_000)?,
            "--seeds" => a.seeds = int(1, 10_000)?,
            "--every" => a.every = int(1, 1_000_000_000)?,
            "--replication" => {
                a.replication = value
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| format!("{flag}: `{value}` is not allowed; expected a number from 0 to 1"))?
            }
            "--out" => a.out = PathBuf::from(value),
            _ => {
                return Err(format!(
                    "{flag}: unknown flag; allowed: --generations, --seeds, --replication, --every, --out"
                ));
            }
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let started = std::time::Instant::now();
    let base = Params::default();
    let mut conditions = vec![Params { r0: 0.0, ..base.clone() }];
    if args.replication > 0.0 {
        conditions.push(Params { r0: args.replication, ..base.clone() });
    }
    let steps = args.generations * base.n as u64;
    let seeds: Vec<u64> = (1..=args.seeds).collect();
    let runs = bad_science::simulate_all(&conditions, &seeds, steps, args.every).map_err(|e| e.to_string())?;
    let csv = write_csv(&args.out, &runs)?;

    let lab_steps = (steps * base.n as u64 * runs.len() as u64) as f64;
    let secs = started.elapsed().as_secs_f64();
    println!("The natural selection of bad science (Smaldino & McElreath 2016), reproduced");
    println!(
        "{} labs, {} generations ({} time steps), {} seeds per condition ({:.1} s)",
        base.n, args.generations, steps, args.seeds, secs
    );
    // On stderr: the speed varies from run to run, the rest of stdout does not.
    eprintln!("{:.0}M lab-steps per second (wall clock)", lab_steps / secs / 1e6);
    println!(
        "Table 1: b = {}, e0 = {}, w0 = {} (alpha0 = {:.3}), eta = {}, V_N = {}, V_R+- = {}, V_O+ = {}, V_O- = {}, d = {};",
        base.b,
        base.e0,
        base.w0,
        bad_science::false_positive_rate(base.w0, base.e0),
        base.eta,
        base.v_n,
        base.v_r_pos,
        base.v_o_pos,
        base.v_o_neg,
        base.d
    );
    println!("effort evolves (mu_e = {}, sigma_e = {}), power fixed at {}.\n", base.mu_e, base.sigma_e, base.w0);

    // Mean over seeds at a few generations: the paper's figures, in numbers.
    let per_seed = args.seeds as usize;
    let at = checkpoints(&runs[0]);
    print!("{:<11}", "generation");
    for c in &conditions {
        print!(" {:>26}", format!("r0 = {}: effort  FDR", c.r0));
    }
    println!();
    for &k in &at {
        print!("{:<11}", runs[0].snapshots[k].step / base.n as u64);
        for chunk in runs.chunks(per_seed) {
            let effort = mean(chunk.iter().map(|r| r.snapshots[k].mean_effort));
            let fdr = mean(chunk.iter().map(|r| fdr_at(r, k)));
            print!(" {:>19.1} {:>6.3}", effort, fdr);
        }
        println!();
    }
    println!("(effort: mean over labs; FDR: share of novel results published in the preceding");
    println!(" {} steps that are false; both averaged over seeds.)\n", args.every);

    println!("At generation {} (95% CI over {} seeds):", args.generations, args.seeds);
    for chunk in runs.chunks(per_seed) {
        let last = chunk[0].snapshots.len() - 1;
        let effort = Estimate::of(&chunk.iter().map(|r| r.last().mean_effort).collect::<Vec<_>>());
        let fdr = Estimate::of(&chunk.iter().map(|r| fdr_at(r, last)).collect::<Vec<_>>());
        println!(
            "  r0 = {:<4} mean effort {:.1} [{:.1}, {:.1}], false discovery rate {:.3} [{:.3}, {:.3}]",
            chunk[0].params.r0, effort.mean, effort.ci_low, effort.ci_high, fdr.mean, fdr.ci_low, fdr.ci_high
        );
    }
    // When effort collapsed: the first snapshot with mean effort below 10.
    let half = runs[0].snapshots.len() / 2;
    println!("How fast (95% CI over seeds):");
    for chunk in runs.chunks(per_seed) {
        let mid = Estimate::of(&chunk.iter().map(|r| r.snapshots[half].mean_effort).collect::<Vec<_>>());
        let collapse: Vec<f64> = chunk
            .iter()
            .filter_map(|r| r.snapshots.iter().find(|s| s.mean_effort < 10.0))
            .map(|s| (s.step / base.n as u64) as f64)
            .collect();
        let when = if collapse.len() == chunk.len() {
            let e = Estimate::of(&collapse);
            format!("at generation {:.0} [{:.0}, {:.0}]", e.mean, e.ci_low, e.ci_high)
        } else {
            format!("in {} of {} seeds", collapse.len(), chunk.len())
        };
        println!(
            "  r0 = {:<4} effort at generation {}: {:.1} [{:.1}, {:.1}]; below 10 {when}",
            chunk[0].params.r0,
            runs[0].snapshots[half].step / base.n as u64,
            mid.mean,
            mid.ci_low,
            mid.ci_high
        );
    }
    let floor = bad_science::false_discovery_rate(base.b, base.w0, bad_science::false_positive_rate(base.w0, 1.0));
    let start = bad_science::false_discovery_rate(base.b, base.w0, bad_science::false_positive_rate(base.w0, base.e0));
    let first = &runs[..per_seed];
    let effort_end = mean(first.iter().map(|r| r.last().mean_effort));
    let fdr_end = mean(first.iter().map(|r| fdr_at(r, r.snapshots.len() - 1)));
    println!("\nThe paper's abstract: selection for high output leads to poorer methods and increasingly high");
    println!("false discovery rates; replication slows but does not stop it. Here, without replication, mean");
    println!(
        "effort went from {:.1} to {effort_end:.1} and the false discovery rate from {start:.3} to {fdr_end:.3}",
        base.e0
    );
    println!("({floor:.3} at the effort floor e = 1). What could not be checked: docs/reproductions.md.");
    println!("Wrote {csv}.");
    Ok(())
}

/// Snapshot indices to print: about eight, from the first to the last.
fn checkpoints(run: &Run) -> Vec<usize> {
    let last = run.snapshots.len() - 1;
    let mut at: Vec<usize> = (0..=8).map(|i| i * last / 8).collect();
    at.dedup();
    at
}

/// The observed false discovery rate at snapshot `k`; at step 0, when
/// nothing is published yet, the population's expected rate.
fn fdr_at(run: &Run, k: usize) -> f64 {
    let s = &run.snapshots[k];
    s.false_discovery_rate().unwrap_or(s.expected_fdr)
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    sum / n.max(1) as f64
}

/// Writes `science_publishing.csv` in `dir` through a temporary file and a
/// rename, so a crash never leaves half a file; returns its path.
fn write_csv(dir: &Path, runs: &[Run]) -> Result<String, String> {
    use std::fmt::Write as _;
    let mut s = String::from(
        "replication_rate,seed,step,generation,mean_effort,mean_power,mean_alpha,mean_replication,\
         false_discovery_rate,expected_fdr,investigations,novel_published,false_published,replications,failed_replications\n",
    );
    for r in runs {
        let n = r.params.n as f64;
        for x in &r.snapshots {
            let fdr = x.false_discovery_rate().map_or(String::new(), |f| f.to_string());
            let t = &x.tally;
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                r.params.r0,
                r.seed,
                x.step,
                x.step as f64 / n,
                x.mean_effort,
                x.mean_power,
                x.mean_alpha,
                x.mean_replication,
                fdr,
                x.expected_fdr,
                t.investigations,
                t.novel,
                t.false_novel,
                t.replications,
                t.failed_replications
            );
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("--out: cannot create {}: {e}", dir.display()))?;
    let path = dir.join("science_publishing.csv");
    let tmp = dir.join(format!(".science_publishing.csv.tmp-{}", std::process::id()));
    let written = std::fs::write(&tmp, s).and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("cannot write {}: {e}", path.display()));
    }
    Ok(path.display().to_string())
}
