//! The `goodhart` command: a thin edge over the library. It parses
//! arguments, loads scenarios, runs them and writes the outputs.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, anyhow};
use clap::{Args, Parser, Subcommand};
use goodhart::Scenario;
use goodhart::analysis::assumptions::{self, CheckSize};
use goodhart::analysis::sweep::{self, Shard};
use goodhart::io::agents::{AGENTS_HEADER, AgentTable, AgentVariables};
use goodhart::io::sweep as sweep_files;
use goodhart::io::{format, output};
use goodhart::model::preset;
use rayon::prelude::*;

mod cli;
#[cfg(feature = "serve")]
mod serve;

use cli::files::{
    AtomicFile, Sharing, lock_dir, lock_file, read_text_if_present, remove_if_present, remove_report,
    remove_stale_temporaries, write_atomic,
};

#[derive(Parser)]
#[command(
    name = "goodhart",
    version,
    about = "Simulate Goodhart's law: compare incentive policies before rolling them out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the built-in scenarios and policies.
    Presets,
    /// Run every policy of a scenario (a file or a scenario preset) with common random numbers.
    Run {
        /// A scenario file (.toml) or the name of a scenario preset (see `goodhart presets`).
        scenario: String,
        #[command(flatten)]
        shared: Shared,
    },
    /// Compare policy presets on the default organisation (or --org FILE); the first is the baseline.
    Compare {
        /// Policy presets, e.g. `no-leaderboard kirorank normalized-deployments`.
        #[arg(required = true)]
        policies: Vec<String>,
        /// Take the organisation, traits, activities and behaviour from this scenario file.
        #[arg(long, value_name = "FILE")]
        org: Option<PathBuf>,
        #[command(flatten)]
        shared: Shared,
    },
    /// Print a complete, commented scenario file to start from.
    Init {
        /// A scenario preset or a policy preset (default: story).
        preset: Option<String>,
    },
    /// Tell a run period by period in plain language, for a room to watch.
    Story {
        /// A scenario file (.toml) or the name of a scenario preset.
        scenario: String,
        /// The policy to follow (default: the scheduled one, else the first that is not the baseline).
        #[arg(long)]
        policy: Option<String>,
        /// Seconds to pause between periods.
        #[arg(long, default_value_t = 0.0)]
        pace: f64,
        /// Master seed (overrides the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Replications averaged in the story (default 1: one organisation's year).
        #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = replications_arg)]
        replications: u32,
        /// Periods (weeks).
        #[arg(long, allow_negative_numbers = true, value_parser = periods_arg)]
        periods: Option<u32>,
        /// Engineers.
        #[arg(long, allow_negative_numbers = true, value_parser = engineers_arg)]
        engineers: Option<usize>,
        /// Set a field by its path before running, as `run --set` does (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Also write the story (as printed, without pauses) to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Run a scenario over the design in its `[sweep]` section (resumable; shardable).
    Sweep {
        /// A scenario file with a `[sweep]` section.
        scenario: PathBuf,
        /// Run only share I of N of the tasks (1-based); each process appends to part-I-of-N.csv.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Replications per task (overrides the scenario's).
        #[arg(long, allow_negative_numbers = true, value_parser = replications_arg)]
        replications: Option<u32>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Output directory.
        #[arg(long, default_value = "goodhart-out")]
        out: PathBuf,
        /// No progress bar and no table on stdout.
        #[arg(long)]
        quiet: bool,
        /// Run as MPI ranks (under mpirun): rank R of S runs shard R+1/S, then rank 0 merges.
        #[arg(long)]
        mpi: bool,
        /// Start afresh when the output directory holds another sweep (a different scenario,
        /// design, seed or replications) instead of refusing; its rows are discarded.
        #[arg(long)]
        force: bool,
        /// Run even when a task's estimated memory exceeds what the machine has available.
        #[arg(long = "allow-large")]
        allow_large: bool,
    },
    /// Merge the part files of a sharded sweep into sweep.csv (and robustness.csv).
    Merge {
        /// The directory holding part-I-of-N.csv files and sweep.json.
        dir: PathBuf,
    },
    /// Rebuild the charts and report.html from the outputs of an earlier run.
    Report {
        /// The output directory of `goodhart run` or `goodhart compare`.
        dir: PathBuf,
    },
    /// Check a scenario file (or a scenario preset) and print it resolved (every default filled in).
    Validate {
        /// A scenario file (.toml) or the name of a scenario preset.
        file: String,
    },
    /// Serve the Explore page and the Workshop game to a web browser (until stopped).
    #[cfg(feature = "serve")]
    Serve {
        /// The port to listen on (0: any free port; the address is printed).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Listen on every network interface (phones in the room), not only this machine.
        #[arg(long)]
        lan: bool,
    },
}

#[derive(Args, Clone)]
struct Shared {
    /// Master seed (overrides the scenario's).
    #[arg(long)]
    seed: Option<u64>,
    /// Replications.
    #[arg(long, allow_negative_numbers = true, value_parser = replications_arg)]
    replications: Option<u32>,
    /// Periods (weeks).
    #[arg(long, allow_negative_numbers = true, value_parser = periods_arg)]
    periods: Option<u32>,
    /// Engineers.
    #[arg(long, allow_negative_numbers = true, value_parser = engineers_arg)]
    engineers: Option<usize>,
    /// Periods left out of the run's KPIs at the start.
    #[arg(long = "burn-in")]
    burn_in: Option<u32>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output directory.
    #[arg(long, default_value = "goodhart-out")]
    out: PathBuf,
    /// No progress bar and no table on stdout.
    #[arg(long)]
    quiet: bool,
    /// Do not write the charts and HTML report.
    #[arg(long = "no-report")]
    no_report: bool,
    /// Set a field by its path before running, e.g. `--set policy[kirorank].reward.prize=500`
    /// or `--set traits.integrity.mean=30` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Also write agents.csv: per engineer and period, these variables
    /// (comma-separated: published, observed, value, gaming_hours, payout,
    /// payoff, perceived_leverage, hours.ACTIVITY, ai_intensity.ACTIVITY, or a trait such as skill)
    #[arg(long, value_name = "VARS")]
    agents: Option<String>,
    /// Test the conclusions against the model's assumptions: rerun over N
    /// organisations sampled from the plausible ranges (docs/model.md
    /// section 12), one replication each; 0: do not. Default: as many as
    /// replications, up to 32, when that is at least 16.
    #[arg(long, value_name = "N")]
    assumptions: Option<usize>,
    /// Run even when the estimated memory exceeds what the machine has
    /// available (the estimate and the limit are printed either way).
    #[arg(long = "allow-large")]
    allow_large: bool,
}

/// A count on the command line: a whole number, else a message saying
/// what the count is (clap alone would call `-1` an unexpected argument).
/// Zero passes, for the scenario's check to name the field and its range.
fn count_arg<T: TryFrom<u64>>(s: &str, what: &str) -> Result<T, String> {
    let wrong = || format!("`{s}` is not a number of {what}; expected a whole number >= 1");
    s.trim().parse::<u64>().ok().and_then(|v| T::try_from(v).ok()).ok_or_else(wrong)
}

fn replications_arg(s: &str) -> Result<u32, String> {
    count_arg(s, "replications")
}

fn periods_arg(s: &str) -> Result<u32, String> {
    count_arg(s, "periods (weeks)")
}

fn engineers_arg(s: &str) -> Result<usize, String> {
    count_arg(s, "engineers")
}

/// Bad input: exit code 2.
#[derive(Debug)]
struct BadInput(String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn bad(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::files::remove_temporaries_on_interrupt();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped reading (`goodhart story ... | head`) is not a failure.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let code = if e.downcast_ref::<BadInput>().is_some() { 2 } else { 1 };
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("goodhart: error: {msg}");
            ExitCode::from(code)
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Presets => {
            writeln!(std::io::stdout(), "Scenario presets (goodhart run NAME):")?;
            for p in preset::SCENARIOS {
                writeln!(std::io::stdout(), "  {:<26} {}", p.name, p.summary)?;
            }
            writeln!(std::io::stdout(), "\nPolicy presets (goodhart compare NAME...):")?;
            for p in preset::policies() {
                writeln!(std::io::stdout(), "  {:<26} {}", p.name, p.description)?;
            }
            Ok(())
        }
        Command::Init { preset: name } => {
            let name = name.unwrap_or_else(|| "story".into());
            let sc = match preset::scenario(&name) {
                Ok(sc) => sc,
                Err(_) => {
                    let mut names = vec!["no-leaderboard".to_string()];
                    if name != "no-leaderboard" {
                        names.push(name.clone());
                    }
                    preset::compare(&names, Scenario::default())
                        .map(|mut sc| {
                            // Named for what it compares, not "goodhart scenario".
                            let what = if name == "no-leaderboard" {
                                sc.name = name.clone();
                                "No leaderboard".to_string()
                            } else {
                                sc.name = format!("{name} against no-leaderboard");
                                format!("The {name} policy preset against no leaderboard")
                            };
                            sc.description = format!(
                                "{what} on the default organisation (200 engineers, 52 weeks); edit any field, \
                                 then `goodhart run` this file."
                            );
                            sc
                        })
                        .map_err(|_| {
                            let all: Vec<String> = preset::SCENARIOS
                                .iter()
                                .map(|p| p.name.to_string())
                                .chain(preset::policies().into_iter().map(|p| p.name))
                                .collect();
                            let hint =
                                goodhart::error::closest(&name, &all.iter().map(|s| s.as_str()).collect::<Vec<_>>())
                                    .map(|b| format!("; did you mean `{b}`?"))
                                    .unwrap_or_else(|| "; see `goodhart presets`".into());
                            bad(format!("unknown preset `{name}`{hint}"))
                        })?
                }
            };
            write!(std::io::stdout(), "{}{}", format::write_scenario(&sc), format::optional_parts(&sc))?;
            Ok(())
        }
        Command::Validate { file } => {
            let sc = load_scenario(&file)?;
            // A file's [sweep] section is checked too: its design, and the
            // paths it sets, at its first and last task.
            if Path::new(&file).is_file() {
                let text = read_scenario_text(Path::new(&file))?;
                if let Some(sw) = sweep::Sweep::from_toml(&text, sc.seed).map_err(|e| bad(format!("{file}: {e}")))? {
                    let tasks = sw.tasks();
                    for t in [tasks.get(0), tasks.len().checked_sub(1).and_then(|l| tasks.get(l))].into_iter().flatten()
                    {
                        sw.scenario(&sc, &t).map_err(|e| bad(format!("{file}: [sweep] task {}: {e}", t.index)))?;
                    }
                }
            }
            // The scenario resolved, as init prints it (optional parts too).
            write!(std::io::stdout(), "{}{}", format::write_scenario(&sc), format::optional_parts(&sc))?;
            eprintln!(
                "{}: valid ({} policies, {} engineers, {} periods, {} replications)",
                file,
                sc.policies.len(),
                sc.org.engineers,
                sc.periods,
                sc.replications
            );
            Ok(())
        }
        Command::Story { scenario, policy, pace, seed, replications, periods, engineers, set, out } => {
            if !(pace.is_finite() && (0.0..=3600.0).contains(&pace)) {
                return Err(bad(format!("--pace: {pace} is not allowed; expected seconds in [0, 3600]")));
            }
            let mut sc = load_scenario(&scenario)?;
            let shared = Shared {
                seed,
                replications: Some(replications),
                periods,
                engineers,
                burn_in: Some(0),
                threads: None,
                out: PathBuf::new(),
                quiet: true,
                no_report: true,
                set,
                agents: None,
                assumptions: Some(0),
                allow_large: false,
            };
            apply_overrides(&mut sc, &shared)?;
            check_footprint(&goodhart::Footprint::of(&sc, rayon::current_num_threads()), false, true)?;
            let results = goodhart::run(&sc).map_err(|e| bad(e.to_string()))?;
            let policy = policy.unwrap_or_else(|| goodhart::io::narrative::default_policy(&results));
            let lines = goodhart::io::narrative::narrate(&results, &policy).ok_or_else(|| {
                bad(format!("--policy: unknown policy `{policy}`; expected one of: {}", results.policies.join(", ")))
            })?;
            // Lines wrap at word boundaries within the terminal's 100
            // columns; weeks that repeat the one before collapse into one line.
            let width = output::TERMINAL_COLUMNS;
            let lines: Vec<String> =
                goodhart::io::narrative::collapsed(&lines).iter().map(|l| output::wrap(l, width, 4)).collect();
            let closing: Vec<String> = goodhart::io::narrative::closing(&results, &policy)
                .split('\n')
                .map(|p| output::wrap(p, width, 0))
                .collect();
            let head = output::wrap(&format!("{}: following {policy}", sc.name), width, 0);
            let mut text = String::new();
            let mut o = std::io::stdout().lock();
            writeln!(o, "{head}\n")?;
            text += &format!("{head}\n\n");
            for line in lines {
                writeln!(o, "{line}")?;
                text += &line;
                text.push('\n');
                o.flush()?;
                if pace > 0.0 {
                    std::thread::sleep(std::time::Duration::from_secs_f64(pace));
                }
            }
            let closing = closing.join("\n");
            writeln!(o, "\n{closing}")?;
            text += &format!("\n{closing}\n");
            if let Some(f) = out {
                write_atomic(&f, text.as_bytes())?;
            }
            Ok(())
        }
        Command::Sweep { scenario, shard, replications, threads, out, quiet, mpi, force, allow_large } => {
            let run = SweepRun { replications, threads, quiet, force, allow_large };
            if mpi {
                return sweep_mpi(&scenario, &run, &out);
            }
            run_sweep(&scenario, shard.as_deref(), &run, &out)
        }
        Command::Merge { dir } => merge(&dir, false),
        #[cfg(feature = "serve")]
        Command::Serve { port, lan } => serve::run(port, lan),
        Command::Report { dir } => {
            let _lock = if dir.is_dir() { Some(lock_dir(&dir, Sharing::Exclusive)?) } else { None };
            let read = |name: &str| {
                fs::read_to_string(dir.join(name))
                    .map_err(|e| bad(format!("{}: cannot read: {}", dir.join(name).display(), io_reason(&e))))
            };
            // run.json is a run's last file: without it the run that wrote
            // here did not finish, and the folder may mix two runs.
            if dir.is_dir() && !dir.join("run.json").exists() {
                return Err(bad(format!(
                    "{}: no run.json, so the run that wrote this folder did not finish; \
                     run `goodhart run` into it again",
                    dir.display()
                )));
            }
            let run: serde_json::Value = serde_json::from_str(&read("run.json")?)
                .map_err(|e| bad(format!("{}: {e}", dir.join("run.json").display())))?;
            // run.json lists the digest of every file the run wrote: a file
            // that differs, or one it lists that is gone, means the folder
            // mixes runs (an older run's file, an edit, a copy).
            let listed = run["files"].as_object().cloned();
            let read_checked = |name: &str| -> anyhow::Result<Option<String>> {
                let want = listed.as_ref().and_then(|f| f.get(name)).and_then(|v| v.as_str());
                if listed.is_some() && want.is_none() {
                    return Ok(None);
                }
                let text = match read(name) {
                    Ok(t) => t,
                    Err(e) if want.is_some() => return Err(e),
                    Err(_) => return Ok(None),
                };
                if let Some(want) = want {
                    if goodhart::io::digest::fnv64(text.as_bytes()) != want {
                        return Err(bad(format!(
                            "{}: is not the file the run recorded in run.json wrote (its digest differs): \
                             the folder mixes two runs; run `goodhart run` into it again",
                            dir.join(name).display()
                        )));
                    }
                }
                Ok(Some(text))
            };
            let need = |name: &str| -> anyhow::Result<String> { read_checked(name)?.map_or_else(|| read(name), Ok) };
            let summary = need("summary.csv")?;
            let timeseries = need("timeseries.csv")?;
            let board = read_checked("final_board.csv")?;
            let scenario = need("scenario.resolved.toml")?;
            let json: serde_json::Value = serde_json::from_str(&need("summary.json")?)
                .map_err(|e| bad(format!("{}: {e}", dir.join("summary.json").display())))?;
            let assumptions_csv = read_checked("assumptions.csv")?;
            let command = run["command"]
                .as_array()
                .map(|a| shell_line(a.iter().filter_map(|v| v.as_str()).map(String::from)))
                .unwrap_or_default();
            let data = goodhart::io::report_data::ReportData::from_outputs(
                &summary,
                &timeseries,
                board.as_deref(),
                &scenario,
                json["verdict"].as_str().unwrap_or_default(),
                &command,
            )
            .and_then(|d| d.with_assumptions(assumptions_csv.as_deref()))
            .map_err(|e| bad(format!("{}: {e}", dir.display())))?;
            let (charts, html) =
                goodhart::io::report::render(&data).map_err(|e| anyhow!("cannot draw the report: {e}"))?;
            write_report(&dir, &charts, Some(&html))?;
            writeln!(std::io::stdout(), "Wrote report.html and {} charts to {}.", charts.len(), dir.display())?;
            Ok(())
        }
        Command::Run { scenario, shared } => {
            let sc = load_scenario(&scenario)?;
            execute(sc, &shared)
        }
        Command::Compare { policies, org, shared } => {
            let base = match &org {
                Some(f) => load_file(f)?,
                None => Scenario::default(),
            };
            let mut sc = preset::compare(&policies, base).map_err(|e| bad(e.to_string()))?;
            if org.is_none() {
                sc.name = format!("compare {}", policies.join(" "));
            }
            execute(sc, &shared)
        }
    }
}

fn load_scenario(arg: &str) -> anyhow::Result<Scenario> {
    let path = Path::new(arg);
    // A file wins over a preset of the same name; a directory does not.
    if path.is_file()
        || arg.ends_with(".toml")
        || arg.contains('/')
        || (path.exists() && preset::scenario(arg).is_err())
    {
        return load_file(path);
    }
    preset::scenario(arg).map_err(|_| {
        if preset::policies().iter().any(|p| p.name == arg) {
            return bad(format!(
                "`{arg}` is a policy preset, not a scenario; compare it with the baseline: \
                 `goodhart compare no-leaderboard {arg}` (see `goodhart presets`)"
            ));
        }
        let names: Vec<&str> = preset::SCENARIOS.iter().map(|p| p.name).collect();
        let hint = goodhart::error::closest(arg, &names).map(|b| format!("; did you mean `{b}`?")).unwrap_or_default();
        bad(format!("`{arg}` is neither a scenario file nor a scenario preset ({}){hint}", names.join(", ")))
    })
}

/// The most a scenario file may hold.
const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// A scenario file's text: a regular file (not a directory, device, FIFO
/// or socket, which could be endless or block), read up to
/// [`MAX_SCENARIO_BYTES`] whatever its reported size, in UTF-8.
fn read_scenario_text(path: &Path) -> anyhow::Result<String> {
    use std::io::Read;
    let shown = path.display();
    let meta = fs::metadata(path).map_err(|e| bad(format!("{shown}: cannot read: {}", io_reason(&e))))?;
    if meta.is_dir() {
        return Err(bad(format!("{shown}: is a directory, not a scenario file")));
    }
    if !meta.is_file() {
        return Err(bad(format!("{shown}: is not a regular file (a device, pipe or socket); give a scenario file")));
    }
    let too_big = |n: u64| bad(format!("{shown}: is {n} bytes or more; a scenario file is at most 16 MiB"));
    if meta.len() > MAX_SCENARIO_BYTES {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::new();
    let file = fs::File::open(path).map_err(|e| bad(format!("{shown}: cannot read: {}", io_reason(&e))))?;
    file.take(MAX_SCENARIO_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("{shown}: cannot read: {}", io_reason(&e))))?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| bad(format!("{shown}: is not a UTF-8 text file (binary?)")))
}

fn load_file(path: &Path) -> anyhow::Result<Scenario> {
    let shown = path.display();
    let text = read_scenario_text(path)?;
    if text.contains('\0') {
        return Err(bad(format!("{shown}: is not a text file (contains NUL bytes)")));
    }
    if text.trim().is_empty() {
        return Err(bad(format!("{shown}: is empty; start from `goodhart init > {shown}`")));
    }
    format::parse_scenario(&text).map_err(|e| bad(format!("{shown}: {e}")))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn apply_overrides(sc: &mut Scenario, s: &Shared) -> anyhow::Result<()> {
    for item in &s.set {
        let (path, value) = item
            .split_once('=')
            .ok_or_else(|| bad(format!("--set {item}: expected PATH=VALUE, e.g. org.engineers=500")))?;
        *sc = format::set_field(sc, path.trim(), value.trim()).map_err(|e| bad(format!("--set {item}: {e}")))?;
    }
    if let Some(v) = s.seed {
        sc.seed = v;
    }
    if let Some(v) = s.replications {
        sc.replications = v;
    }
    if let Some(v) = s.periods {
        sc.periods = v;
    }
    if let Some(v) = s.engineers {
        sc.org.engineers = v;
    }
    if let Some(v) = s.burn_in {
        sc.burn_in = v;
    }
    check_threads(s.threads)?;
    sc.validate().map_err(|e| bad(format!("after command-line overrides: {e}")))
}

/// Rejects a thread count outside [1, 1024].
fn check_threads(threads: Option<usize>) -> anyhow::Result<()> {
    match threads {
        Some(t) if t == 0 || t > 1024 => {
            Err(bad(format!("--threads: {t} is not allowed; expected an integer in [1, 1024]")))
        }
        _ => Ok(()),
    }
}

/// Sizes the global thread pool when `--threads` is given.
fn start_threads(threads: Option<usize>) -> anyhow::Result<()> {
    if let Some(t) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| anyhow!("cannot start {t} threads: {e}"))?;
    }
    Ok(())
}

/// A progress bar on stderr counting `len` `unit`s, with the time left;
/// hidden with `--quiet` or when stderr is not a terminal.
fn progress_bar(len: u64, unit: &str, quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(len);
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit}, {{elapsed}} elapsed, {{eta}} left");
    b.set_style(
        indicatif::ProgressStyle::with_template(&template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}

/// Runs this large are announced on stderr with their estimate.
const ANNOUNCE_STEPS: u64 = 1_000_000_000;
const ANNOUNCE_BYTES: u64 = 1 << 30;

/// Refuses a run whose estimated memory exceeds what the machine has
/// available (unless `allow`), and announces a large one (unless `quiet`).
fn check_footprint(f: &goodhart::Footprint, allow: bool, quiet: bool) -> anyhow::Result<()> {
    let what = format!(
        "about {} of memory and {} agent-steps ({} run{} at once)",
        bytes(f.memory_bytes),
        goodhart::io::output::human(f.agent_steps as f64),
        f.concurrent_runs,
        if f.concurrent_runs == 1 { "" } else { "s" }
    );
    if let Some((limit, source)) = available_memory() {
        if f.memory_bytes > limit && !allow {
            return Err(bad(format!(
                "this run needs {what}, more than the {} available ({source}); use fewer engineers, \
                 policies or periods, or --threads 1, or --allow-large to run anyway",
                bytes(limit)
            )));
        }
    }
    if !quiet && (f.agent_steps >= ANNOUNCE_STEPS || f.memory_bytes >= ANNOUNCE_BYTES) {
        eprintln!("goodhart: this run takes {what}");
    }
    Ok(())
}

/// Bytes in decimal units, e.g. `15.2 GB`.
fn bytes(b: u64) -> String {
    let b = b as f64;
    match b {
        _ if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        _ if b >= 1e6 => format!("{:.0} MB", b / 1e6),
        _ => format!("{:.0} kB", b / 1e3),
    }
}

/// The memory a run may use, and where the figure comes from:
/// `GOODHART_MEMORY_LIMIT` (bytes) if set, else the smaller of the
/// system's available memory and the cgroup's room (a cluster job's limit).
/// `None` where neither can be read.
fn available_memory() -> Option<(u64, &'static str)> {
    // Not a number of bytes: the system's figures stand.
    if let Some(b) = std::env::var("GOODHART_MEMORY_LIMIT").ok().and_then(|v| v.trim().parse().ok()) {
        return Some((b, "GOODHART_MEMORY_LIMIT"));
    }
    let meminfo = fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        let line = t.lines().find(|l| l.starts_with("MemAvailable:"))?;
        Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
    });
    let read = |f: &str| fs::read_to_string(format!("/sys/fs/cgroup/{f}")).ok()?.trim().parse::<u64>().ok();
    let cgroup = read("memory.max").map(|max| max.saturating_sub(read("memory.current").unwrap_or(0)));
    match (meminfo, cgroup) {
        (Some(m), Some(c)) if c < m => Some((c, "the cgroup's memory.max")),
        (Some(m), _) => Some((m, "MemAvailable")),
        (None, Some(c)) => Some((c, "the cgroup's memory.max")),
        (None, None) => None,
    }
}

/// This process's peak resident memory in bytes (Linux), for run.json.
fn peak_memory() -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

fn execute(mut sc: Scenario, s: &Shared) -> anyhow::Result<()> {
    apply_overrides(&mut sc, s)?;
    start_threads(s.threads)?;
    let threads = rayon::current_num_threads();
    let bar = progress_bar(sc.policies.len() as u64 * sc.replications as u64, "runs", s.quiet);
    sc.validate().map_err(|e| bad(e.to_string()))?;
    let footprint = goodhart::Footprint::of(&sc, threads);
    check_footprint(&footprint, s.allow_large, s.quiet)?;
    let activities: Vec<String> = sc.activities.iter().map(|a| a.name.clone()).collect();
    let agent_vars = match &s.agents {
        Some(list) => Some(AgentVariables::parse(list, &activities).map_err(|e| bad(e.to_string()))?),
        None => None,
    };
    let out = &s.out;
    let fresh_dir = !out.exists();
    fs::create_dir_all(out).with_context(|| format!("cannot create output directory {}", out.display()))?;
    let lock = lock_dir(out, Sharing::Exclusive)?;
    remove_stale_temporaries(out);
    // An older run's manifest and report go first: run.json is written
    // last, so a folder holding one is a finished run's whole set, and one
    // without it (an interrupted run) is refused by `goodhart report`.
    remove_if_present(&out.join("run.json"))?;
    remove_report(out)?;
    // The time series (and the agents' table) go to disk run by run as the
    // experiment produces them.
    let mut series = AtomicFile::create(&out.join("timeseries.csv"))?;
    series
        .writer()
        .write_all(output::TIMESERIES_HEADER.as_bytes())
        .with_context(|| format!("cannot write {}", out.join("timeseries.csv").display()))?;
    let mut agents = match agent_vars {
        Some(_) => {
            let mut f = AtomicFile::create(&out.join("agents.csv"))?;
            f.writer()
                .write_all(AGENTS_HEADER.as_bytes())
                .with_context(|| format!("cannot write {}", out.join("agents.csv").display()))?;
            Some(f)
        }
        None => None,
    };
    let started = Instant::now();
    let names: Vec<String> = sc.policies.iter().map(|p| p.name.clone()).collect();
    let kpis = goodhart::analysis::kpi::kpi_defs(&sc);
    let progress = |done: usize| bar.set_position(done as u64);
    let experiment = goodhart::Experiment::new(&sc).progress(&progress);
    let failed_file = std::cell::Cell::new("timeseries.csv");
    let streamed = match &agent_vars {
        None => experiment.run_streaming(false, &mut |p, rep, run| {
            output::write_timeseries_rows(&names[p], rep, &kpis, run, series.writer()).map_err(|e| e.to_string())
        }),
        Some(vars) => experiment.run_observed(&|info| AgentTable::new(vars, info), &mut |info, table, run| {
            output::write_timeseries_rows(&info.policy, info.replication, &kpis, run, series.writer())
                .map_err(|e| e.to_string())?;
            failed_file.set("agents.csv");
            let w = agents.as_mut().map(|f| f.writer());
            w.map_or(Ok(()), |w| w.write_all(table.rows.as_bytes())).map_err(|e| e.to_string())?;
            failed_file.set("timeseries.csv");
            Ok(())
        }),
    };
    let mut results = match streamed {
        Ok(r) => r,
        Err(e) => {
            // Nothing of a failed run stays: its temporary files go with
            // `series` and `agents`, and a directory made for it goes too (if empty).
            drop(series);
            drop(agents);
            drop(lock);
            if fresh_dir {
                let _ = fs::remove_dir(out);
            }
            return Err(match e {
                goodhart::Error::Sink(msg) => anyhow!("cannot write {}: {msg}", out.join(failed_file.get()).display()),
                e => bad(e.to_string()),
            });
        }
    };
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let size = match s.assumptions {
        None => CheckSize::default_for(sc.replications),
        Some(0) => None,
        Some(n) => Some(CheckSize { samples: n, replications: 1 }),
    };
    let check_started = Instant::now();
    if let Some(size) = size {
        let bar = progress_bar(size.samples as u64, "organisations (assumptions)", s.quiet);
        let progress = |done: usize| bar.set_position(done as u64);
        results.assumptions = Some(assumptions::check(&results, size, &progress).map_err(|e| bad(e.to_string()))?);
        bar.finish_and_clear();
    }
    let check_elapsed = check_started.elapsed().as_secs_f64();
    // The digest of every file the run writes, for run.json: `report`
    // refuses a folder whose files are not the set that run wrote.
    let mut files = serde_json::Map::new();
    let mut record = |name: &str, digest: String| {
        files.insert(name.to_string(), serde_json::Value::String(digest));
    };
    record("timeseries.csv", series.commit()?);
    match agents {
        Some(f) => record("agents.csv", f.commit()?),
        None => remove_if_present(&out.join("agents.csv"))?,
    }
    let summary = [
        ("summary.csv", output::summary_csv(&results)),
        ("summary.json", output::summary_json(&results)),
        ("scenario.resolved.toml", format::try_write_scenario(&results.scenario)?),
        ("final_board.csv", output::final_board_csv(&results)),
    ];
    for (name, text) in summary {
        record(name, write_atomic(&out.join(name), text.as_bytes())?);
    }
    for (name, text) in [
        ("assumptions.csv", results.assumptions.as_ref().map(goodhart::io::assumptions::csv)),
        ("assumption_samples.csv", results.assumptions.as_ref().map(goodhart::io::assumptions::samples_csv)),
    ] {
        // A check not run leaves no older run's files behind.
        match text {
            Some(t) => record(name, write_atomic(&out.join(name), t.as_bytes())?),
            None => remove_if_present(&out.join(name))?,
        }
    }
    // A count of agent-steps: an integer in run.json.
    let steps = sc.org.engineers as u64 * sc.periods as u64 * sc.replications as u64 * sc.policies.len() as u64;
    let run = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "scenario": sc.name,
        "seed": sc.seed,
        "threads": threads,
        "replications": sc.replications,
        "periods": sc.periods,
        "engineers": sc.org.engineers,
        "policies": sc.policies.len(),
        "agent_steps": steps,
        "elapsed_seconds": elapsed,
        "assumptions_samples": size.map_or(0, |c| c.samples),
        "assumptions_seconds": check_elapsed,
        "agent_steps_per_second": (steps as f64 / elapsed.max(1e-9)).round(),
        "memory_estimate_bytes": footprint.memory_bytes,
        "peak_memory_bytes": peak_memory(),
        "command": std::env::args().collect::<Vec<_>>(),
        "files": files,
    });

    let mut written =
        "summary.csv, timeseries.csv, summary.json, final_board.csv, scenario.resolved.toml, run.json".to_string();
    if s.agents.is_some() {
        written += ", agents.csv";
    }
    if results.assumptions.is_some() {
        written += ", assumptions.csv, assumption_samples.csv";
    }
    if !s.no_report {
        let command = shell_line(std::env::args());
        let (charts, html) =
            goodhart::io::report::build(&results, &command).map_err(|e| anyhow!("cannot draw the report: {e}"))?;
        write_report(out, &charts, Some(&html))?;
        written += ", report.html and charts/";
    }
    write_atomic(&out.join("run.json"), (serde_json::to_string_pretty(&run)? + "\n").as_bytes())?;

    if !s.quiet {
        let mut o = std::io::stdout().lock();
        writeln!(o, "{}\n", sc.name)?;
        write!(o, "{}", output::table(&results))?;
        let width = output::TERMINAL_COLUMNS;
        writeln!(o, "\n{}\n", output::wrap(&output::verdict(&results), width, 0))?;
        let wrote = format!("Wrote {written} to {} in {}.", out.display(), seconds(elapsed));
        writeln!(o, "{}", output::wrap(&wrote, width, 0))?;
    }
    Ok(())
}

/// A wall time for people: `0.04 s`, `2.3 s`, `95 s` (never `0.0 s`).
fn seconds(s: f64) -> String {
    if s < 0.1 {
        format!("{s:.2} s")
    } else if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// The sweep and its base scenario from a file.
fn load_sweep(path: &Path) -> anyhow::Result<(sweep::Sweep, Scenario)> {
    let sc = load_file(path)?;
    let text = read_scenario_text(path)?;
    let sweep = sweep::Sweep::from_toml(&text, sc.seed)
        .map_err(|e| bad(format!("{}: {e}", path.display())))?
        .ok_or_else(|| bad(format!("{}: has no [sweep] section", path.display())))?;
    Ok((sweep, sc))
}

/// How `goodhart sweep` runs, whatever the shard.
#[derive(Clone, Copy)]
struct SweepRun {
    /// Replications per task (overrides the scenario's).
    replications: Option<u32>,
    /// Worker threads.
    threads: Option<usize>,
    /// No progress bar and no table.
    quiet: bool,
    /// Start afresh over another sweep's files.
    force: bool,
    /// Run tasks past the machine's available memory.
    allow_large: bool,
}

/// What a refusal to reuse an output directory adds.
const FORCE_HINT: &str = "use --force to start afresh, or another --out";

fn run_sweep(path: &Path, shard: Option<&str>, run: &SweepRun, out: &Path) -> anyhow::Result<()> {
    let (sweep, mut base) = load_sweep(path)?;
    if let Some(r) = run.replications {
        base.replications = r;
        base.validate().map_err(|e| bad(format!("--replications: {e}")))?;
    }
    let shard = match shard {
        None => Shard::ALL,
        Some(s) => s.parse().map_err(|e| bad(format!("--{e}")))?,
    };
    let tasks = sweep.tasks();
    // Check every task's scenario before running any (bad values fail now,
    // not halfway); each is made again when it runs, so none is kept.
    let scenario = |t: &sweep::Task| {
        sweep.scenario(&base, t).map_err(|e| bad(format!("{}: task {}: {e}", path.display(), t.index)))
    };
    let threads = run.threads.unwrap_or_else(rayon::current_num_threads);
    let mut largest: Option<goodhart::Footprint> = None;
    for t in tasks.iter() {
        let f = goodhart::Footprint::of(&scenario(&t)?, threads);
        if largest.is_none_or(|l| f.memory_bytes > l.memory_bytes) {
            largest = Some(f);
        }
    }
    if let Some(f) = largest {
        check_footprint(&f, run.allow_large, run.quiet)?;
    }
    check_threads(run.threads)?;
    start_threads(run.threads)?;
    fs::create_dir_all(out).with_context(|| format!("cannot create output directory {}", out.display()))?;
    // Shards share the directory; each process owns its part file.
    let file = out.join(sweep_files::file_name(shard));
    let _dir_lock = lock_dir(out, Sharing::Shared)?;
    let _file_lock = lock_file(&file)?;
    let provenance = sweep_files::Provenance::of(&base, &sweep, &tasks);
    let meta = sweep_files::SweepMeta::new(
        sweep_files::header(&sweep),
        provenance,
        sweep::rows_per_task(&base),
        base.name.clone(),
    );
    // Rows are reused only from the same sweep: the folder's sweep.json and
    // the part file must carry this sweep's fingerprint.
    let meta_file = out.join("sweep.json");
    let mut afresh = false;
    let recorded = match read_text_if_present(&meta_file) {
        Ok(r) => r,
        // Damaged: another sweep's as far as --force is concerned.
        Err(_) if run.force => Some(String::new()),
        Err(e) => return Err(bad(format!("{e}; {FORCE_HINT}"))),
    };
    if let Some(Err(e)) = recorded.map(|r| meta.check_folder(&meta_file.display().to_string(), &r)) {
        if !run.force {
            return Err(bad(format!("{e}; {FORCE_HINT}")));
        }
        afresh = true;
        // Another sweep's results must not outlive it.
        for name in ["sweep.csv", "robustness.csv", "report.html"] {
            remove_if_present(&out.join(name))?;
        }
    }
    let existing = match afresh {
        true => None,
        false => match read_text_if_present(&file) {
            Ok(text) => text,
            // Damaged: --force starts this part afresh.
            Err(_) if run.force => None,
            Err(e) => return Err(bad(format!("{e}; {FORCE_HINT}"))),
        },
    };
    let shown = file.display().to_string();
    let resumed = match sweep_files::resume(&shown, existing.as_deref(), &meta) {
        Ok(r) => r,
        Err(_) if run.force => sweep_files::resume(&shown, None, &meta).map_err(|e| bad(e.to_string()))?,
        Err(e) => return Err(bad(format!("{e}; {FORCE_HINT}"))),
    };
    write_atomic(&file, resumed.text.as_bytes())?;
    write_atomic(&meta_file, meta.to_json().as_bytes())?;
    let done = resumed.done();
    let mine: Vec<usize> = shard.tasks(tasks.len()).filter(|t| !done.contains(t)).collect();
    let mut finished = resumed.tasks;
    let bar = progress_bar(mine.len() as u64, "tasks", run.quiet);
    let mut f =
        fs::OpenOptions::new().append(true).open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    for task in mine.iter().filter_map(|&t| tasks.get(t)) {
        // A sweep reads run totals only: the per-period series are not kept.
        let results = goodhart::run_streaming(&scenario(&task)?, &|_| {}, false, &mut |_, _, _| Ok(()))
            .map_err(|e| bad(format!("task {}: {e}", task.index)))?;
        let result = sweep::TaskResult::from_results(&task, &results);
        // One write per task, flushed to disk: a crash leaves whole tasks or a tail that resume drops.
        f.write_all(sweep_files::task_csv(&result).as_bytes())
            .and_then(|_| f.sync_data())
            .with_context(|| format!("cannot write {}", file.display()))?;
        finished.push(result);
        bar.inc(1);
    }
    bar.finish_and_clear();
    if shard.count == 1 {
        finished.sort_by_key(|t| t.index);
        write_atomic(&out.join("sweep.csv"), sweep_files::sweep_csv(&meta.header, &finished).as_bytes())?;
        finish_sweep(out, &base.name, &meta.header, &finished, run.quiet)?;
    } else if !run.quiet {
        writeln!(
            std::io::stdout(),
            "Wrote {} of {} tasks to {}; `goodhart merge {}` when all parts are done.",
            finished.len(),
            tasks.len(),
            file.display(),
            out.display()
        )?;
    }
    Ok(())
}

/// A sweep with one shard per MPI rank; rank 0 merges once every rank is done.
#[cfg(feature = "mpi")]
fn sweep_mpi(path: &Path, run: &SweepRun, out: &Path) -> anyhow::Result<()> {
    use mpi::traits::{Communicator, CommunicatorCollectives};
    let universe = mpi::initialize().ok_or_else(|| anyhow!("cannot initialise MPI (run under mpirun)"))?;
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    // One rank runs the whole sweep as shard 1/1, which finishes it (and
    // prints as a plain sweep does); more ranks run quietly and rank 0 merges.
    let quiet = run.quiet || size > 1;
    let result = run_sweep(path, Some(&format!("{}/{size}", rank + 1)), &SweepRun { quiet, ..*run }, out);
    // Every rank reaches the barrier, whatever happened to its shard, so none hangs.
    world.barrier();
    result?;
    if rank == 0 && size > 1 {
        merge(out, run.quiet)?;
        if !run.quiet {
            writeln!(
                std::io::stdout(),
                "{size} MPI ranks ran one shard each; merged into {}.",
                out.join("sweep.csv").display()
            )?;
        }
    }
    Ok(())
}

#[cfg(not(feature = "mpi"))]
fn sweep_mpi(_: &Path, _: &SweepRun, _: &Path) -> anyhow::Result<()> {
    Err(bad("--mpi: this goodhart was built without MPI; build it with `cargo build --release --features mpi`"))
}

/// Writes robustness.csv and the sweep's report from its finished tasks,
/// and prints the robustness table.
fn finish_sweep(out: &Path, title: &str, header: &str, tasks: &[sweep::TaskResult], quiet: bool) -> anyhow::Result<()> {
    let rob = sweep::robustness(tasks);
    write_atomic(&out.join("robustness.csv"), sweep_files::robustness_csv(&rob).as_bytes())?;
    // Rows are named by their lever values (`kirorank, prize 500`), not by index.
    let levers = sweep_files::lever_names(&sweep_files::parameter_columns(header), tasks);
    let labels = sweep_files::robustness_labels(&rob, &levers);
    let chart =
        goodhart::io::chart::robustness(&rob, &labels).map_err(|e| anyhow!("cannot draw the robustness chart: {e}"))?;
    let html = goodhart::io::report::sweep_html(title, &rob, &labels, &chart)
        .map_err(|e| anyhow!("cannot write the report: {e}"))?;
    write_report(out, std::slice::from_ref(&chart), Some(&html))?;
    if !quiet {
        let table = sweep_files::robustness_table(&rob, &labels);
        writeln!(std::io::stdout(), "Robustness across the sampled organisations (USD totals per run):\n{table}")?;
        writeln!(std::io::stdout(), "Wrote sweep.csv, robustness.csv, report.html and charts/ to {}.", out.display())?;
    }
    Ok(())
}

/// Merges the part files in `dir` into sweep.csv, then finishes the sweep;
/// `quiet` prints nothing.
fn merge(dir: &Path, quiet: bool) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Err(bad(format!("{}: no such directory", dir.display())));
    }
    let _lock = lock_dir(dir, Sharing::Exclusive)?;
    remove_stale_temporaries(dir);
    let meta_file = dir.join("sweep.json");
    let text =
        fs::read_to_string(&meta_file).map_err(|e| bad(format!("{}: {}", meta_file.display(), io_reason(&e))))?;
    let meta =
        sweep_files::SweepMeta::from_json(&meta_file.display().to_string(), &text).map_err(|e| bad(e.to_string()))?;
    let mut parts = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let p = entry?.path();
        let Some(shard) = p.file_name().and_then(|n| n.to_str()).and_then(sweep_files::part_shard) else { continue };
        let text = fs::read_to_string(&p).map_err(|e| bad(format!("{}: {}", p.display(), io_reason(&e))))?;
        parts.push(sweep_files::PartFile { shard, file: p.display().to_string(), text });
    }
    let tasks = sweep_files::merge(&meta, &parts).map_err(|e| match e {
        goodhart::Error::MissingTasks { .. } => {
            // Name the part files that are not there: shards count from 1 to N.
            let mut missing: Vec<String> = Vec::new();
            let counts: std::collections::BTreeSet<usize> = parts.iter().map(|p| p.shard.count).collect();
            for n in counts {
                for i in 1..=n {
                    if !parts.iter().any(|p| p.shard.count == n && p.shard.index == i) {
                        missing.push(format!("part-{i}-of-{n}.csv"));
                    }
                }
            }
            let named = if missing.is_empty() {
                String::new()
            } else {
                format!("; missing part files: {}", missing.join(", "))
            };
            bad(format!("{}: {e}{named}", dir.display()))
        }
        e => bad(e.to_string()),
    })?;
    write_atomic(&dir.join("sweep.csv"), sweep_files::sweep_csv(&meta.header, &tasks).as_bytes())?;
    if !quiet {
        writeln!(
            std::io::stdout(),
            "Merged {} tasks from {} part files into {}.",
            meta.tasks,
            parts.len(),
            dir.join("sweep.csv").display()
        )?;
    }
    finish_sweep(dir, &meta.title, &meta.header, &tasks, quiet)
}

/// A command line as a shell would accept it back (single-quoting where needed).
fn shell_line(args: impl Iterator<Item = String>) -> String {
    args.map(|a| {
        if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c)) {
            a
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    })
    .collect::<Vec<_>>()
    .join(" ")
}

/// Writes the charts (SVG and PNG) into `out/charts` and the report, if any, into `out`.
fn write_report(out: &Path, charts: &[goodhart::io::chart::Chart], html: Option<&str>) -> anyhow::Result<()> {
    let dir = out.join("charts");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Rasterising is most of the report's time: the charts render in
    // parallel, then are written one by one in a fixed order.
    let pngs: Vec<Result<Vec<u8>, String>> = charts.par_iter().map(|c| goodhart::io::chart::to_png(&c.svg)).collect();
    for (c, png) in charts.iter().zip(pngs) {
        write_atomic(&dir.join(format!("{}.svg", c.name)), c.svg.as_bytes())?;
        let png = png.map_err(|e| anyhow!("cannot render {}.png: {e}", c.name))?;
        write_atomic(&dir.join(format!("{}.png", c.name)), &png)?;
    }
    match html {
        Some(html) => write_atomic(&out.join("report.html"), html.as_bytes()).map(drop),
        None => Ok(()),
    }
}
