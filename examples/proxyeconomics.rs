//! Braganza (2022), "Proxyeconomics": agents compete on a proxy of a shared
//! goal, choose their effort against a survival threshold, and the losers
//! are replaced by offspring of the winners, who inherit their practice.
//! Selection on the proxy drifts practice away from the goal.
//!
//! Runs competition 0.1, 0.3, 0.5, 0.7 and 0.9 (the fraction of agents at
//! risk) for 10,000 steps with 10 seeds each, writes
//! `proxyeconomics.csv` (a row every 100 steps per run) into `--out`, and
//! prints each level's final means with 95% intervals across seeds. The
//! model and its choices are in `goodhart::reproduce::proxyeconomics`;
//! `docs/reproductions.md` sets the numbers beside the paper's.
//!
//! ```text
//! cargo run --release --example proxyeconomics
//! cargo run --release --example proxyeconomics -- --steps 2000 --seeds 20 --out /tmp/p
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use goodhart::Estimate;
use goodhart::reproduce::proxyeconomics::{Config, csv, run, summarize};

const USAGE: &str = "usage: proxyeconomics [--steps N] [--seeds N] [--out DIR]";
const WHOLE: &str = "a whole number >= 1";

fn main() -> ExitCode {
    let (config, out) = match parse(std::env::args().skip(1)) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            println!(
                "{USAGE}\n  --steps N  steps per run (default 10000)\n  --seeds N  runs per competition level (default 10)\n  --out DIR  folder for proxyeconomics.csv (default goodhart-out)"
            );
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match simulate(&config, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

/// The experiment and output folder the arguments ask for; `None` for `--help`.
fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<(Config, PathBuf)>, String> {
    let mut config = Config::default();
    let mut out = PathBuf::from("goodhart-out");
    while let Some(flag) = args.next() {
        let mut value =
            |expected: &str| args.next().ok_or_else(|| format!("{flag}: missing value; expected {expected}"));
        match flag.as_str() {
            "--steps" => config.steps = count(&flag, &value(WHOLE)?)?,
            "--seeds" => config.seeds = count(&flag, &value(WHOLE)?)?,
            "--out" => out = PathBuf::from(value("a folder")?),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument `{other}`; allowed: --steps, --seeds, --out, --help")),
        }
    }
    Ok(Some((config, out)))
}

fn count(flag: &str, value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{flag}: `{value}` is not allowed; expected {WHOLE}")),
    }
}

fn simulate(config: &Config, out: &Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    let rows = run(config).map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let path = out.join("proxyeconomics.csv");
    write_atomic(&path, csv(&rows).as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;

    let p = &config.params;
    println!(
        "Proxyeconomics (Braganza 2022): {} agents, goal angle {:.0} deg, g = {}, death probability {}",
        p.agents,
        p.goal_angle.to_degrees(),
        p.goal_scale,
        p.death_probability
    );
    println!("{} steps x {} seeds x {} competition levels\n", config.steps, config.seeds, config.competition.len());
    // The speed on stderr: stdout stays the same from run to run (.ci/digests).
    eprintln!(
        "{:.1} s on {} threads ({:.1}M agent-steps/s)",
        seconds,
        rayon::current_num_threads(),
        config.agent_steps() as f64 / seconds / 1e6
    );
    let levels = summarize(config, &rows);
    println!("At step {} (mean [95% CI] across seeds):", config.steps);
    println!("{:>11}  {:>20}  {:>20}  {:>20}  {:>20}", "competition", "effort", "proxy", "goal", "practice (deg)");
    for l in &levels {
        println!(
            "{:>11}  {:>20}  {:>20}  {:>20}  {:>20}",
            l.competition,
            ci(&l.effort),
            ci(&l.proxy),
            ci(&l.goal),
            ci(&l.practice_deg)
        );
    }
    if let (Some(low), Some(high)) = (levels.first(), levels.last()) {
        println!(
            "\nFrom competition {} to {}: practice {:.1} -> {:.1} deg (0 = pure proxy, {:.0} = pure goal), \
             proxy {:.2} -> {:.2}, goal {:.2} -> {:.2}.",
            low.competition,
            high.competition,
            low.practice_deg.mean,
            high.practice_deg.mean,
            p.goal_angle.to_degrees(),
            low.proxy.mean,
            high.proxy.mean,
            low.goal.mean,
            high.goal.mean
        );
    }
    println!("Wrote {} ({} rows).", path.display(), rows.len());
    Ok(())
}

fn ci(e: &Estimate) -> String {
    format!("{:.2} [{:.2}, {:.2}]", e.mean, e.ci_low, e.ci_high)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into
/// place, so that `path` is either the old file or the whole new one.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
