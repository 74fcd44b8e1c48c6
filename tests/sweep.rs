//! Sweeps: sharded and merged output equals the one-process output byte for
//! byte, and a run killed mid-write resumes to the same bytes.

use std::process::Command;

use crate::common::bin;

fn sweep(args: &[&str], out: &std::path::Path) {
    let o = Command::new(bin())
        .args(["sweep", "examples/scenarios/sweep-small.toml", "--quiet", "--out"])
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn sharded_merged_and_resumed_sweeps_equal_the_single_run() {
    let d = std::env::temp_dir().join(format!("goodhart-sweep-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let one = d.join("one");
    sweep(&[], &one);
    let want = std::fs::read(one.join("sweep.csv")).unwrap();
    let rob = std::fs::read(one.join("robustness.csv")).unwrap();
    assert!(one.join("charts/robustness.svg").exists() && one.join("charts/robustness.png").exists());
    let report = std::fs::read_to_string(one.join("report.html")).unwrap();
    assert!(
        report.contains("<svg class=\"chart\"")
            && report.contains("regret mean")
            && report.contains("prize 500")
            && !report.contains("http://")
    );
    for n in [1usize, 2, 3] {
        let dir = d.join(format!("n{n}"));
        for i in 1..=n {
            sweep(&["--shard", &format!("{i}/{n}")], &dir);
        }
        if n > 1 {
            // A missing part is reported, not merged.
            let part = dir.join(format!("part-1-of-{n}.csv"));
            let saved = std::fs::read(&part).unwrap();
            std::fs::remove_file(&part).unwrap();
            let o = Command::new(bin()).arg("merge").arg(&dir).output().unwrap();
            assert_eq!(o.status.code(), Some(2));
            let err = String::from_utf8_lossy(&o.stderr);
            // The missing part file is named, so the shard to rerun is plain.
            assert!(err.contains("missing") && err.contains(&format!("part-1-of-{n}.csv")), "{err}");
            std::fs::write(&part, saved).unwrap();
            let o = Command::new(bin()).arg("merge").arg(&dir).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let got = std::fs::read(dir.join("sweep.csv")).unwrap();
        assert!(got == want, "{n} shards differ from the single run");
        assert!(std::fs::read(dir.join("robustness.csv")).unwrap() == rob);
        assert!(std::fs::read_to_string(dir.join("report.html")).unwrap() == report);
    }
    // Kill mid-write: keep a prefix of the part file that ends inside a row,
    // mark the kept rows, then resume: the marked rows are reused, not rerun.
    let cut = d.join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    std::fs::copy(one.join("sweep.json"), cut.join("sweep.json")).unwrap();
    let part = std::fs::read_to_string(one.join("part-1-of-1.csv")).unwrap();
    let kept = &part[..part.len() * 2 / 3];
    let marked = kept.replacen(",net_value,", ",net_value_marked,", 1);
    std::fs::write(cut.join("part-1-of-1.csv"), &marked).unwrap();
    sweep(&[], &cut);
    let resumed = std::fs::read_to_string(cut.join("sweep.csv")).unwrap();
    assert!(resumed.contains(",net_value_marked,"), "the kept rows were rerun");
    assert!(resumed.replacen(",net_value_marked,", ",net_value,", 1).as_bytes() == want, "the resumed sweep differs");
    let _ = std::fs::remove_dir_all(&d);
}

/// Runs `goodhart ARGS`; returns (exit code, stderr).
fn goodhart(args: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let o = Command::new(bin()).args(args).output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn a_sweep_never_reuses_rows_of_another_sweep() {
    let d = std::env::temp_dir().join(format!("goodhart-sweep-provenance-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let base = std::fs::read_to_string("examples/scenarios/sweep-small.toml").unwrap();
    let write = |name: &str, text: String| {
        let f = d.join(name);
        std::fs::write(&f, text).unwrap();
        f
    };
    let small = write("small.toml", base.clone());
    let out = d.join("out");
    let run = |file: &std::path::Path, extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["sweep".as_ref(), file.as_ref(), "--quiet".as_ref()];
        args.extend([std::ffi::OsStr::new("--out"), out.as_os_str()]);
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        goodhart(&args)
    };
    assert_eq!(run(&small, &[]).0, Some(0));
    let first = std::fs::read(out.join("sweep.csv")).unwrap();
    // Each change that alters the numbers is refused, naming the difference.
    let cases = [
        (write("seed.toml", base.replace("seed = 3", "seed = 4")), vec![], "the scenario differs"),
        (write("periods.toml", base.replace("periods = 6", "periods = 5")), vec![], "the scenario differs"),
        (small.clone(), vec!["--replications", "3"], "replications 3 now, 2 before"),
        (write("samples.toml", base.replace("samples = 3", "samples = 4")), vec![], "tasks 8 now, 6 before"),
    ];
    for (file, extra, needle) in &cases {
        let (code, err) = run(file, extra);
        assert_eq!(code, Some(2), "{needle}: {err}");
        assert!(err.contains(needle) && err.contains("--force") && err.trim_end().lines().count() == 1, "{err}");
        assert!(std::fs::read(out.join("sweep.csv")).unwrap() == first, "{needle}: a refused run changed sweep.csv");
    }
    // --force starts afresh: the same bytes as a fresh folder.
    let (code, err) = run(&small, &["--replications", "3", "--force"]);
    assert_eq!(code, Some(0), "{err}");
    let fresh = d.join("fresh");
    sweep(&["--replications", "3"], &fresh);
    assert!(std::fs::read(out.join("sweep.csv")).unwrap() == std::fs::read(fresh.join("sweep.csv")).unwrap());
    assert!(std::fs::read(out.join("sweep.csv")).unwrap() != first);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn merge_validates_what_it_reads() {
    let d = std::env::temp_dir().join(format!("goodhart-sweep-merge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    for i in 1..=2 {
        sweep(&["--shard", &format!("{i}/2")], &d);
    }
    let merge = || goodhart(&["merge".as_ref(), d.as_os_str()]);
    assert_eq!(merge().0, Some(0));
    let part = d.join("part-2-of-2.csv");
    let good = std::fs::read_to_string(&part).unwrap();
    // A number replaced by garbage: an error naming file and line, not a 0.
    let line = 3 + good.lines().skip(2).position(|l| l.contains(",net_value,")).unwrap();
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    let mut fields: Vec<&str> = lines[line - 1].split(',').collect();
    let n = fields.len();
    fields[n - 3] = "garbage";
    lines[line - 1] = fields.join(",");
    std::fs::write(&part, lines.join("\n") + "\n").unwrap();
    let (code, err) = merge();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("part-2-of-2.csv: line {line}: mean: `garbage` is not a number")), "{err}");
    // Bytes that are not text: merge and resume both name the file and
    // line; resume never takes the damaged file for absent (and reruns it).
    let mut bytes = good.clone().into_bytes();
    let at = good.find(",net_value,").unwrap();
    bytes[at + 1] = 0xff;
    std::fs::write(&part, &bytes).unwrap();
    let (code, err) = merge();
    assert!(code == Some(2) && err.contains("part-2-of-2.csv"), "{err}");
    let resume = goodhart(&[
        "sweep".as_ref(),
        "examples/scenarios/sweep-small.toml".as_ref(),
        "--shard".as_ref(),
        "2/2".as_ref(),
        "--out".as_ref(),
        d.as_os_str(),
    ]);
    assert_eq!(resume.0, Some(2), "{}", resume.1);
    assert!(resume.1.contains(&format!("part-2-of-2.csv: line {line} is not UTF-8 text")), "{}", resume.1);
    assert_eq!(std::fs::read(&part).unwrap(), bytes, "the damaged part was rewritten");
    std::fs::write(&part, &good).unwrap();
    // A part file of another sweep.
    let other = good.replacen("fingerprint ", "fingerprint 0", 1);
    std::fs::write(&part, other).unwrap();
    let (code, err) = merge();
    assert!(code == Some(2) && err.contains("part-2-of-2.csv: was written by another sweep"), "{err}");
    std::fs::write(&part, &good).unwrap();
    // sweep.json emptied: an error, not an empty result.
    std::fs::write(d.join("sweep.json"), "{}").unwrap();
    let (code, err) = merge();
    assert!(code == Some(2) && err.contains("sweep.json: missing field"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn sweeps_reject_bad_input_with_one_line_and_exit_code_2() {
    let d = std::env::temp_dir().join(format!("goodhart-sweep-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let base = std::fs::read_to_string("examples/scenarios/sweep-small.toml").unwrap();
    let cases = [
        ("no-section.toml", base.split("[sweep").next().unwrap().to_string(), vec![], "no [sweep] section"),
        (
            "bad-path.toml",
            base.replace("traits.integrity.mean", "traits.integrity.meen"),
            vec![],
            "did you mean `mean`",
        ),
        ("ok.toml", base.clone(), vec!["--shard", "4/3"], "--shard"),
        ("bad-design.toml", base.replace("latin-hypercube", "latin"), vec![], "sweep.uncertainties.design"),
        // 3 x 10,000 steps: refused at once, before any task is made.
        (
            "huge.toml",
            base.replace(
                "\"policy[kirorank].reward.prize\" = [500, 3000]",
                "\"org.incident_cost\" = { from = 0, to = 1, steps = 10000 }\n\
                 \"org.value_noise\" = { from = 0, to = 1, steps = 10000 }\n\
                 \"policy[kirorank].reward.prize\" = { from = 0, to = 1, steps = 10000 }",
            ),
            vec![],
            "3000000000000 tasks (3 uncertainty points x 1000000000000 lever points) is not allowed; expected at most 100000 tasks",
        ),
    ];
    for (name, text, args, needle) in cases {
        let f = d.join(name);
        std::fs::write(&f, text).unwrap();
        let o = Command::new(bin()).arg("sweep").arg(&f).args(&args).arg("--out").arg(d.join("out")).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(needle) && err.trim_end().lines().count() == 1, "{name}: {err}");
        assert!(!d.join("out").exists(), "{name}: wrote output");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn a_second_writer_into_a_directory_is_refused_in_one_line() {
    let d = std::env::temp_dir().join(format!("goodhart-sweep-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    // Another writer holds the directory (as a running `goodhart run` does).
    let held = std::fs::File::open(&d).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::NonBlockingLockExclusive).unwrap();
    let run = ["run", "adversarial", "--replications", "1", "--periods", "3", "--engineers", "20", "--quiet"];
    let o = Command::new(bin()).args(run).args(["--no-report", "--out"]).arg(&d).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("another goodhart process is writing into this directory") && err.lines().count() == 1);
    assert!(!d.join("summary.csv").exists());
    let o = Command::new(bin())
        .args(["sweep", "examples/scenarios/sweep-small.toml", "--quiet", "--out"])
        .arg(&d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    // Released (as the system does when a writer dies): the next one proceeds.
    drop(held);
    let o = Command::new(bin()).args(run).args(["--no-report", "--out"]).arg(&d).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn the_slurm_script_runs_task_k_as_shard_k_plus_1_and_refuses_a_1_based_array() {
    let d = std::env::temp_dir().join(format!("goodhart-sweep-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let bin_dir = std::path::Path::new(bin()).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    // As Slurm runs array task `task` of an array whose highest index is `max`.
    let task = |task: &str, max: &str, out: &str| {
        Command::new("bash")
            .args(["examples/cluster/sweep.sbatch", "examples/scenarios/sweep-small.toml", out, "8"])
            .env("PATH", &path)
            .env("SLURM_ARRAY_TASK_ID", task)
            .env("SLURM_ARRAY_TASK_MAX", max)
            .output()
            .unwrap()
    };
    // Regression: task 5 resubmitted alone (`sbatch --array=5`) ran `--shard 6/1`.
    let out = d.join("resubmitted");
    let o = task("5", "5", out.to_str().unwrap());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("part-6-of-8.csv").exists());
    // Regression: a 1-based array (`--array=1-8`) silently skipped shard 1;
    // now every task of it refuses before any work, naming the 0-based range.
    let out = d.join("one-based");
    for t in ["1", "8"] {
        let o = task(t, "8", out.to_str().unwrap());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("0-based") && err.contains("--array=0-7") && err.lines().count() == 1, "{err}");
        assert!(!out.exists());
    }
    let _ = std::fs::remove_dir_all(&d);
}
