//! The command line: outputs, exit codes and one-line errors for bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::common::bin;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("goodhart-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn goodhart(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

/// `goodhart run ARGS --quiet --out OUT`, which must succeed.
fn run_into(out: &std::path::Path, args: &[&str]) {
    let o = Command::new(bin()).arg("run").args(args).args(["--quiet", "--out"]).arg(out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs `goodhart run FILE` on `text` and checks a one-line error with exit
/// code 2 that contains every `needle`, and that nothing was written.
fn rejects(name: &str, text: &[u8], needles: &[&str]) {
    let d = tmp(name);
    let f = d.join("s.toml");
    std::fs::write(&f, text).unwrap();
    let out = d.join("out");
    let o = goodhart(&["run", f.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{name}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{name}: not one line: {err}");
    assert!(err.contains("s.toml"), "{name}: no file name: {err}");
    for n in needles {
        assert!(err.contains(n), "{name}: `{n}` missing from: {err}");
    }
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{name}: {err}");
    assert!(!out.exists(), "{name}: wrote output for rejected input");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn run_writes_the_contract_outputs() {
    let d = tmp("run");
    let out = d.join("o");
    let o = Command::new(bin())
        .args(["run", "examples/scenarios/kirorank.toml", "--replications", "2", "--periods", "8", "--engineers", "60"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("kirorank") && stdout.contains("net_value"), "{stdout}");
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        summary.starts_with("policy,kpi,mean,ci_low,ci_high,replications,diff_vs_baseline,diff_ci_low,diff_ci_high")
    );
    for kpi in [
        "token_cost",
        "useful_output",
        "incident_cost",
        "net_value",
        "bonus_paid",
        "effort_cost",
        "gaming_share",
        "metric_value_correlation",
        "top_k_precision",
        "deployments",
        "change_failure_rate",
        "hours.build",
        "hours.burn",
    ] {
        assert!(summary.contains(&format!("kirorank,{kpi},")), "{kpi}");
    }
    assert!(
        summary.split([',', '\n']).all(|f| !matches!(f, "NaN" | "inf" | "-inf")),
        "non-finite value in summary.csv"
    );
    let ts = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert!(ts.starts_with("policy,replication,period,kpi,value\n"));
    // 2 replications x 8 periods x the KPIs defined under each of the 4
    // policies, plus the header: the baseline, with no metric, has no
    // metric KPIs, in either file.
    let rows = |p: &str| summary.lines().filter(|l| l.starts_with(&format!("{p},"))).count();
    let kpis = rows("kirorank");
    assert_eq!(rows("no-leaderboard"), kpis - goodhart::analysis::kpi::METRIC_KPIS.len());
    let defined: usize =
        ["no-leaderboard", "kirorank", "normalized-deployments", "kirorank-then-normalized"].map(rows).iter().sum();
    assert_eq!(ts.lines().count(), 1 + 2 * 8 * defined);
    assert!(!ts.contains("NaN"), "an undefined value in timeseries.csv");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), defined);
    let resolved = std::fs::read_to_string(out.join("scenario.resolved.toml")).unwrap();
    let back = goodhart::io::format::parse_scenario(&resolved).unwrap();
    assert_eq!(back.periods, 8);
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["seed"], 2026);
    // No temporary files remain.
    assert!(std::fs::read_dir(&out).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.')));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_linear_contract_reports_its_own_activities() {
    let d = tmp("lc");
    let out = d.join("o");
    let o = Command::new(bin())
        .args(["run", "examples/scenarios/linear-contract.toml", "--quiet", "--replications", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let row = |k: &str| summary.lines().find(|l| l.starts_with(&format!("piece-rate,{k},"))).unwrap().to_string();
    assert!(row("hours.a").starts_with("piece-rate,hours.a,3,"), "{}", row("hours.a"));
    assert!(row("hours.b").starts_with("piece-rate,hours.b,1.5,"), "{}", row("hours.b"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn presets_init_validate_and_compare_work() {
    let o = goodhart(&["presets"]);
    let s = String::from_utf8_lossy(&o.stdout);
    for p in
        ["story", "regressional", "extremal", "causal", "adversarial", "kirorank", "token-budget", "dora-composite"]
    {
        assert!(s.contains(p), "{p}");
    }
    let d = tmp("init");
    for preset in ["story", "kirorank", "causal"] {
        let o = goodhart(&["init", preset]);
        assert!(o.status.success());
        let f = d.join(format!("{preset}.toml"));
        std::fs::write(&f, &o.stdout).unwrap();
        let v = goodhart(&["validate", f.to_str().unwrap()]);
        assert!(v.status.success(), "{preset}: {}", String::from_utf8_lossy(&v.stderr));
        assert_eq!(v.stdout, o.stdout, "validate prints the resolved scenario unchanged");
    }
    let out = d.join("cmp");
    let o = Command::new(bin())
        .args(["compare", "no-leaderboard", "kirorank", "--engineers", "40", "--periods", "5", "--replications", "2"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(out.join("summary.csv")).unwrap().contains("kirorank,token_cost,"));
    let o = goodhart(&["compare", "kirorang"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `kirorank`"));
    let o = goodhart(&["run", "stroy"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `story`"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_files_get_one_line_errors_and_exit_code_2() {
    let d = tmp("files");
    let out = d.join("out");
    let check = |args: &[&str], needle: &str| {
        let mut all = args.to_vec();
        all.extend(["--out", out.to_str().unwrap()]);
        let o = goodhart(&all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle) && err.trim_end().lines().count() == 1, "{args:?}: {err}");
        assert!(!out.exists());
    };
    check(&["run", "/nonexistent/s.toml"], "no such file");
    check(&["run", d.to_str().unwrap()], "is a directory");
    let f = |name: &str, bytes: &[u8]| {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    };
    check(&["run", &f("empty.toml", b"")], "is empty");
    check(&["run", &f("binary.toml", &[0xff, 0xfe, 0x00, 0x41])], "not a UTF-8 text file");
    check(&["run", "examples/scenarios/kirorank.toml", "--engineers", "0"], "org.engineers");
    check(&["run", "examples/scenarios/kirorank.toml", "--periods", "0"], "periods");
    check(&["run", "examples/scenarios/kirorank.toml", "--threads", "0"], "--threads");
    check(&["run", "examples/scenarios/kirorank.toml", "--burn-in", "60"], "burn_in");
    check(&["run", "examples/scenarios/kirorank.toml", "--replications", "10000000"], "replications");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_scenarios_name_the_field_and_what_is_allowed() {
    let base = "[[policy]]\nname = \"a\"\n";
    rejects("syntax", b"name = \"x\n", &["line 1"]);
    rejects("unknown-top", b"periodz = 3\n", &["periodz", "did you mean `periods`"]);
    rejects("unknown-org", b"[org]\nengineerz = 3\n", &["org.engineerz", "did you mean `engineers`"]);
    rejects("type", b"periods = \"many\"\n", &["periods", "integer"]);
    rejects("negative", b"[org]\nincident_cost = -5\n", &["org.incident_cost", "-5", ">= 0"]);
    rejects("nan", b"[org]\nhours_per_period = nan\n", &["org.hours_per_period"]);
    rejects("inf", b"[org]\ntoken_price_per_million = inf\n", &["org.token_price_per_million"]);
    rejects("zero-engineers", b"[org]\nengineers = 0\n", &["org.engineers"]);
    rejects("zero-periods", b"periods = 0\n", &["periods"]);
    rejects("absurd", b"[org]\nengineers = 1000000000000\n", &["org.engineers"]);
    // A trait beyond a billion used to run and report 0.
    rejects(
        "huge-skill",
        b"[traits]\nskill = { dist = \"constant\", value = 1e100 }\n",
        &["traits.skill.value", "1e100"],
    );
    rejects(
        "huge-sd",
        b"[traits]\nintegrity = { dist = \"normal\", mean = 60, sd = 1e300 }\n",
        &["traits.integrity.sd"],
    );
    // Regression: a negative count said "expected [0, 18446744073709551615]".
    rejects("negative-count", b"[org]\nengineers = -1\n", &["org.engineers: -1", "an integer in [1, 20000000]"]);
    rejects("negative-periods", b"periods = -3\n", &["periods: -3", "an integer in [1, 10000]"]);
    rejects(
        "fraction",
        format!("{base}metric = \"tokens\"\nreward = {{ scheme = \"leaderboard\", top_fraction = 1.5, prize = 10 }}\n")
            .as_bytes(),
        &["policy[0].reward.top_fraction", "1.5", "[0, 1]"],
    );
    rejects("metric", format!("{base}metric = \"tokns\"\n").as_bytes(), &["policy[0].metric", "did you mean `tokens`"]);
    rejects(
        "scheme",
        format!("{base}metric = \"tokens\"\nreward = {{ scheme = \"leaderbord\" }}\n").as_bytes(),
        &["policy[0].reward.scheme", "did you mean `leaderboard`"],
    );
    rejects(
        "schedule-missing",
        b"[[policy]]\nname = \"s\"\nschedule = [ { from = 0, policy = \"nope\" } ]\n",
        &["policy[0].schedule[0].policy", "nope"],
    );
    rejects(
        "schedule-order",
        b"[[policy]]\nname = \"a\"\n[[policy]]\nname = \"s\"\nschedule = [ { from = 5, policy = \"a\" }, { from = 2, policy = \"a\" } ]\n",
        &["policy[1].schedule[0].from"],
    );
    rejects(
        "schedule-order-2",
        b"[[policy]]\nname = \"a\"\n[[policy]]\nname = \"s\"\nschedule = [ { from = 0, policy = \"a\" }, { from = 0, policy = \"a\" } ]\n",
        &["policy[1].schedule[1].from"],
    );
    rejects("baseline", format!("baseline = \"b\"\n{base}").as_bytes(), &["baseline", "`b`"]);
    // Regression: a schedule's own token cap or audit used to be accepted and silently ignored.
    rejects(
        "schedule-cap",
        b"[[policy]]\nname = \"a\"\n[[policy]]\nname = \"s\"\ntoken_cap = 1000\nschedule = [ { from = 0, policy = \"a\" } ]\n",
        &["policy[1].schedule", "token_cap"],
    );
    // Regression: seeds beyond what TOML can write back were accepted.
    rejects("seed", b"seed = 9.3e18\n", &["seed"]);
    rejects("duplicate", format!("{base}{base}").as_bytes(), &["policy[1].name"]);
    rejects("dist", b"[traits]\nskill = { dist = \"lognormal\", mean = -1, sd = 1 }\n", &["traits.skill.mean"]);
    rejects("dist-kind", b"[traits]\nskill = { dist = \"gauss\" }\n", &["traits.skill.dist"]);
    rejects(
        "signal",
        format!("{base}metric = {{ signals = {{ tokenz = 1 }} }}\n").as_bytes(),
        &["tokenz", "did you mean `tokens`"],
    );
    rejects("activity", b"[[activity]]\nname = \"x\"\ndefect_rate = 2\n", &["activity[0].defect_rate"]);
    // Regression: a newline in a policy name validated, then a sweep computed
    // every task, failed writing its rows and could never resume.
    rejects(
        "name-newline",
        b"[[policy]]\nname = \"two\\nlines\"\n",
        &["policy[0].name", "two\\nlines", "control characters"],
    );
    rejects("name-tab", b"[[policy]]\nname = \"a\"\n[[policy]]\nname = \"b\\tc\"\n", &["policy[1].name"]);
    rejects("activity-newline", b"[[activity]]\nname = \"a\\nb\"\n", &["activity[0].name", "letters, digits"]);
}

#[test]
fn story_mode_tells_the_run_week_by_week() {
    let o = goodhart(&["story", "adversarial", "--engineers", "60", "--periods", "6"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for w in 1..=6 {
        assert!(told(&out, w), "week {w} missing: {out}");
    }
    assert!(out.contains("following kirorank") && out.contains("token bill"), "{out}");
    // Deterministic for a seed.
    assert_eq!(o.stdout, goodhart(&["story", "adversarial", "--engineers", "60", "--periods", "6"]).stdout);
    let o = goodhart(&["story", "adversarial", "--policy", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--policy"));
}

#[test]
fn report_rebuilds_the_same_report_from_the_outputs() {
    let d = tmp("report");
    let out = d.join("o");
    let o = Command::new(bin())
        .args(["run", "examples/scenarios/kirorank.toml", "--replications", "2", "--periods", "8", "--engineers", "60"])
        .args(["--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read(out.join("report.html")).unwrap();
    let svg = std::fs::read(out.join("charts/cost-output.svg")).unwrap();
    std::fs::remove_file(out.join("report.html")).unwrap();
    std::fs::remove_dir_all(out.join("charts")).unwrap();
    let o = goodhart(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read(out.join("report.html")).unwrap() == html, "the rebuilt report differs");
    assert!(std::fs::read(out.join("charts/cost-output.svg")).unwrap() == svg, "the rebuilt chart differs");
    let o = goodhart(&["report", d.join("missing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn report_reads_back_a_run_whose_policy_names_hold_commas_and_quotes() {
    // Regression: `report` could not read `run`'s own outputs for such names.
    let d = tmp("report-names");
    let f = d.join("s.toml");
    std::fs::write(
        &f,
        "replications = 2\nperiods = 6\n[org]\nengineers = 40\n\
         [[policy]]\nname = 'none, \"baseline\"'\n\
         [[policy]]\nname = 'ranked \"by tokens\", top 10%'\nmetric = \"tokens\"\n\
         reward = { scheme = \"leaderboard\", top_fraction = 0.1, prize = 500 }\n",
    )
    .unwrap();
    let out = d.join("o");
    let o = goodhart(&["run", f.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(summary.contains("\"ranked \"\"by tokens\"\", top 10%\""), "not quoted: {summary}");
    let html = std::fs::read(out.join("report.html")).unwrap();
    let svg = std::fs::read(out.join("charts/cost-output.svg")).unwrap();
    std::fs::remove_file(out.join("report.html")).unwrap();
    std::fs::remove_dir_all(out.join("charts")).unwrap();
    let o = goodhart(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read(out.join("report.html")).unwrap() == html, "the rebuilt report differs");
    assert!(std::fs::read(out.join("charts/cost-output.svg")).unwrap() == svg, "the rebuilt chart differs");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn set_changes_a_field_by_its_path_or_names_the_bad_one() {
    let d = tmp("set");
    let out = d.join("o");
    let o = Command::new(bin())
        .args(["compare", "no-leaderboard", "kirorank", "--engineers", "40", "--periods", "4", "--replications", "1"])
        .args([
            "--set",
            "policy[kirorank].reward.prize=500",
            "--set",
            "traits.integrity.mean=30",
            "--quiet",
            "--no-report",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sc =
        goodhart::io::format::parse_scenario(&std::fs::read_to_string(out.join("scenario.resolved.toml")).unwrap())
            .unwrap();
    let kiro = sc.policies.iter().find(|p| p.name == "kirorank").unwrap();
    assert!(matches!(kiro.reward, goodhart::Reward::Leaderboard { prize, .. } if prize == 500.0));
    assert!(matches!(sc.traits.integrity.dist, goodhart::Dist::Lognormal { mean, .. } if mean == 30.0));
    for (set, needle) in [
        ("org.enginers=5", "did you mean `engineers`"),
        ("policy[kirorang].reward.prize=5", "did you mean `kirorank`"),
        ("org.engineers=-3", "org.engineers"),
        ("nonsense", "PATH=VALUE"),
    ] {
        let o = goodhart(&["run", "adversarial", "--quiet", "--set", set, "--out", d.join("bad").to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{set}: {err}");
        assert!(err.contains(needle), "{set}: {err}");
        assert!(!d.join("bad").exists());
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Whether the story `out` tells week `w`: on its own line or in a
/// collapsed run (`Weeks 3-6: unchanged.`).
fn told(out: &str, w: u32) -> bool {
    out.lines().any(|l| {
        l.starts_with(&format!("Week {w}: "))
            || l.strip_prefix("Weeks ")
                .and_then(|r| r.split_once(':'))
                .and_then(|(r, _)| r.split_once('-'))
                .is_some_and(|(a, b)| a.parse::<u32>().is_ok_and(|a| a <= w) && b.parse::<u32>().is_ok_and(|b| w <= b))
    })
}

#[test]
fn story_fits_100_columns_collapses_repeats_and_takes_out_and_set() {
    let d = tmp("story-out");
    let f = d.join("story.txt");
    let o = Command::new(bin())
        .args(["story", "story", "--engineers", "40", "--set", "periods=30", "--out"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    // --out holds what was printed; --set reached the run.
    assert_eq!(std::fs::read_to_string(&f).unwrap(), out);
    assert!(out.contains("Over 30 weeks") && !told(&out, 31), "{out}");
    for w in 1..=30 {
        assert!(told(&out, w), "week {w} missing: {out}");
    }
    for l in out.lines() {
        assert!(l.chars().count() <= 100, "a line of {} columns: {l}", l.chars().count());
        // Wrapped at a space: no line ends inside a word followed by its rest.
        assert!(!l.ends_with('-'), "{l}");
    }
    // No two printed weeks in a row say the same (continuation lines are indented).
    let mut weeks: Vec<String> = Vec::new();
    for l in out.lines() {
        match (l.strip_prefix("    "), weeks.last_mut()) {
            (Some(rest), Some(w)) => *w += &format!(" {rest}"),
            _ => weeks.push(l.to_string()),
        }
    }
    let bodies: Vec<&str> =
        weeks.iter().filter(|l| l.starts_with("Week ")).filter_map(|l| l.split_once(": ").map(|p| p.1)).collect();
    assert!(bodies.windows(2).all(|w| w[0] != w[1]), "repeated weeks not collapsed: {out}");
    let o = goodhart(&["story", "story", "--set", "org.engineers=-3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--set org.engineers=-3"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn validate_takes_a_preset_and_run_points_a_policy_preset_to_compare() {
    let o = goodhart(&["validate", "story"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, goodhart(&["init", "story"]).stdout, "validate story prints the preset resolved");
    let o = goodhart(&["run", "kirorank", "--quiet", "--no-report"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("policy preset") && err.contains("goodhart compare no-leaderboard kirorank"), "{err}");
}

#[test]
fn negative_counts_get_a_message_about_the_count() {
    for (cmd, flag, what) in [
        ("run", "--replications", "replications"),
        ("run", "--periods", "periods"),
        ("run", "--engineers", "engineers"),
        ("story", "--replications", "replications"),
    ] {
        let o = goodhart(&[cmd, "story", flag, "-1"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd} {flag}: {err}");
        assert!(err.contains(flag) && err.contains(what) && err.contains(">= 1"), "{cmd} {flag}: {err}");
        assert!(!err.contains("unexpected argument"), "{cmd} {flag}: {err}");
    }
}

#[test]
fn the_results_table_fits_100_columns_and_run_json_counts_steps_as_an_integer() {
    let d = tmp("table");
    let out = d.join("o");
    let o = Command::new(bin())
        .args(["run", "story", "--replications", "2", "--periods", "6", "--engineers", "40", "--no-report", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    for l in stdout.lines().filter(|l| !l.starts_with("Wrote ")) {
        assert!(l.chars().count() <= 100, "{} columns: {l}", l.chars().count());
    }
    assert!(stdout.contains("vs baseline") && stdout.contains("weeks 1-6"), "{stdout}");
    assert!(!stdout.contains("(0.0 s)"), "{stdout}");
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert!(run["agent_steps"].is_u64(), "agent_steps is not an integer: {}", run["agent_steps"]);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_assumption_check_is_written_reported_rebuilt_and_never_left_stale() {
    let d = tmp("assumptions");
    let out = d.join("o");
    let base = ["examples/scenarios/kirorank.toml", "--replications", "2", "--periods", "8", "--engineers", "60"];
    let run = |extra: &[&str]| run_into(&out, &[&base[..], extra].concat());
    run(&["--assumptions", "6"]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let check = &json["assumptions"];
    assert_eq!(check["samples"], 6);
    // Three policies against the baseline, on three headline KPIs each.
    assert_eq!(check["comparisons"].as_array().unwrap().len(), 9);
    assert!(json["verdict"].as_str().unwrap().contains("Tested against the model's assumptions (6 organisations"));
    let csv = std::fs::read_to_string(out.join("assumptions.csv")).unwrap();
    let params = check["parameters"].as_array().unwrap().len();
    assert_eq!(csv.lines().count(), 1 + 9 * params);
    let samples = std::fs::read_to_string(out.join("assumption_samples.csv")).unwrap();
    assert_eq!(samples.lines().count(), 1 + 6 * 9);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Tested against the assumptions") && html.contains("id=\"tornado\""));
    let tornado = std::fs::read(out.join("charts/tornado.svg")).unwrap();
    std::fs::remove_file(out.join("report.html")).unwrap();
    std::fs::remove_dir_all(out.join("charts")).unwrap();
    let o = goodhart(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(out.join("report.html")).unwrap(), html, "the rebuilt report differs");
    assert!(std::fs::read(out.join("charts/tornado.svg")).unwrap() == tornado, "the rebuilt tornado differs");
    // Rerun without the check (two replications are below the default's 16)
    // and without a report: nothing of the first run stays beside the second.
    run(&["--no-report"]);
    for f in ["assumptions.csv", "assumption_samples.csv", "report.html"] {
        assert!(!out.join(f).exists(), "{f} left from the earlier run");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(json.get("assumptions").is_none());
    assert!(json["verdict"].as_str().unwrap().contains("were not tested against the model's assumptions"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn init_shows_the_optional_parts_and_validate_reads_sweeps_and_places_fields() {
    let o = goodhart(&["init", "kirorank"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    for part in
        ["# audit = {", "sensitivity x gaming hours", "# token_cap =", "# schedule = [", "# [sweep]", "failed_changes"]
    {
        assert!(text.contains(part), "init does not show `{part}`");
    }
    // Uncommented, the optional parts are a valid file.
    let d = tmp("init-optional");
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.starts_with("audit =") || rest.starts_with("token_cap =") => rest.to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let f = d.join("s.toml");
    std::fs::write(&f, uncommented).unwrap();
    let o = goodhart(&["validate", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // validate reads a [sweep] section too.
    for (text, needle) in [
        ("[[policy]]\nname = \"a\"\n[sweep]\nlevel = 1\n", "did you mean `levers`"),
        ("[[policy]]\nname = \"a\"\n[sweep.levers]\n\"org.enginers\" = [1, 2]\n", "[sweep] task 0: org.enginers"),
    ] {
        std::fs::write(&f, text).unwrap();
        let o = goodhart(&["validate", f.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
    }
    std::fs::write(&f, "engineers = 50\n").unwrap();
    let o = goodhart(&["validate", f.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("it belongs in the [org] table as org.engineers"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn an_interrupted_run_removes_the_files_it_was_writing() {
    let d = tmp("interrupt");
    let out = d.join("o");
    for signal in ["-INT", "-TERM"] {
        // A finished run first: its report and manifest must not outlive
        // the interrupted run beside that run's newer files.
        run_into(&out, &["adversarial", "--replications", "2", "--periods", "4", "--engineers", "20"]);
        assert!(out.join("report.html").exists() && out.join("run.json").exists());
        let older = std::fs::read(out.join("timeseries.csv")).unwrap();
        let child = Command::new(bin())
            .args(["run", "story", "--replications", "400", "--assumptions", "0", "--quiet", "--out"])
            .arg(&out)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let temporaries = || {
            std::fs::read_dir(&out)
                .map(|es| es.flatten().filter(|e| e.file_name().to_string_lossy().contains(".goodhart-tmp-")).count())
                .unwrap_or(0)
        };
        // Wait until the time series is being written.
        let start = std::time::Instant::now();
        while temporaries() == 0 && start.elapsed().as_secs() < 60 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(temporaries() > 0, "the run never started writing");
        let kill = Command::new("kill").arg(signal).arg(child.id().to_string()).status().unwrap();
        assert!(kill.success());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(130), "{signal}: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(temporaries(), 0, "{signal}: a temporary file was left behind");
        let series = std::fs::read(out.join("timeseries.csv")).unwrap();
        assert!(series == older, "{signal}: an unfinished time series was published");
        for gone in ["run.json", "report.html", "charts"] {
            assert!(!out.join(gone).exists(), "{signal}: the older run's {gone} was left beside newer files");
        }
        let o = goodhart(&["report", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{signal}: {err}");
        assert!(err.contains("no run.json, so the run that wrote this folder did not finish"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[cfg(unix)]
#[test]
fn devices_and_pipes_are_refused_as_scenario_files_without_reading_them() {
    let d = tmp("devices");
    let fifo = d.join("pipe.toml");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for f in [std::path::Path::new("/dev/zero"), fifo.as_path()] {
        let o = goodhart(&["validate", f.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("is not a regular file"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn report_refuses_a_folder_whose_files_are_not_the_set_one_run_wrote() {
    let d = tmp("manifest");
    let out = d.join("o");
    let base = ["adversarial", "--replications", "2", "--periods", "6", "--engineers", "40", "--no-report"];
    let run = |extra: &[&str]| run_into(&out, &[&base[..], extra].concat());
    run(&["--assumptions", "4"]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let files = json["files"].as_object().unwrap();
    for f in [
        "timeseries.csv",
        "summary.csv",
        "summary.json",
        "final_board.csv",
        "scenario.resolved.toml",
        "assumptions.csv",
    ] {
        let want = files[f].as_str().unwrap();
        let got = goodhart::io::digest::fnv64(&std::fs::read(out.join(f)).unwrap());
        assert_eq!(got, want, "{f}");
    }
    assert!(goodhart(&["report", out.to_str().unwrap()]).status.success());
    // A file from another run (here: another seed's summary) is named.
    let summary = std::fs::read(out.join("summary.csv")).unwrap();
    let other = d.join("other");
    let o = goodhart(&[
        "run",
        "adversarial",
        "--replications",
        "2",
        "--periods",
        "6",
        "--engineers",
        "40",
        "--seed",
        "9",
        "--quiet",
        "--no-report",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    std::fs::copy(other.join("summary.csv"), out.join("summary.csv")).unwrap();
    let o = goodhart(&["report", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("summary.csv") && err.contains("mixes two runs"), "{err}");
    std::fs::write(out.join("summary.csv"), summary).unwrap();
    // A file run.json lists that is gone is named too.
    std::fs::remove_file(out.join("assumptions.csv")).unwrap();
    let o = goodhart(&["report", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("assumptions.csv"), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}

/// `goodhart` with `GOODHART_MEMORY_LIMIT` set to `limit` bytes.
fn goodhart_limited(limit: u64, args: &[&str]) -> Output {
    Command::new(bin()).env("GOODHART_MEMORY_LIMIT", limit.to_string()).args(args).output().unwrap()
}

#[test]
fn the_memory_estimate_bounds_the_peak_and_a_run_past_the_limit_is_refused() {
    let d = tmp("memory");
    // The estimate is an upper bound within a factor 2 of the measured peak
    // (Linux reports the peak), whether engineers or policies dominate.
    let many: String = (0..5000).map(|i| format!("[[policy]]\nname = \"p{i}\"\n")).collect();
    let file = d.join("policies.toml");
    std::fs::write(&file, format!("[org]\nengineers = 5\n{many}")).unwrap();
    let quick = ["--replications", "2", "--threads", "1", "--no-report", "--assumptions", "0", "--quiet"];
    let cases: [(&str, Vec<&str>); 2] = [
        ("engineers", [&["compare", "kirorank", "--engineers", "300000", "--periods", "2"][..], &quick].concat()),
        ("policies", [&["run", file.to_str().unwrap(), "--periods", "20"][..], &quick].concat()),
    ];
    for (name, args) in cases {
        let out = d.join(name);
        let o = goodhart(&[&args[..], &["--out", out.to_str().unwrap()]].concat());
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let run: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        let estimate = run["memory_estimate_bytes"].as_f64().unwrap();
        if let Some(peak) = run["peak_memory_bytes"].as_f64() {
            assert!(peak <= estimate && estimate <= 2.0 * peak, "{name}: estimate {estimate}, peak {peak}");
        }
    }
    // Past the limit: refused before anything is written, naming the
    // estimate, the limit and the flag; with the flag it runs.
    let out = d.join("refused");
    let big = ["compare", "kirorank", "--engineers", "200000", "--periods", "2", "--replications", "2", "--quiet"];
    let o = goodhart_limited(50_000_000, &[&big[..], &["--out", out.to_str().unwrap()]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("this run needs about") && err.contains("more than the 50 MB available"), "{err}");
    assert!(err.contains("--allow-large") && err.trim_end().lines().count() == 1, "{err}");
    assert!(!out.exists(), "a refused run wrote {}", out.display());
    let o = goodhart_limited(
        50_000_000,
        &[&big[..], &["--allow-large", "--no-report", "--assumptions", "0", "--out", out.to_str().unwrap()]].concat(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A sweep is checked at its largest task, before any runs.
    let sweep_out = d.join("sweep");
    let o = goodhart_limited(
        1_000_000,
        &["sweep", "examples/scenarios/sweep-small.toml", "--out", sweep_out.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("more than the 1 MB available") && !sweep_out.exists(), "{err}");
    let _ = std::fs::remove_dir_all(&d);
}
