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
    assert!(report.contains("<svg class=\"chart\"") && report.contains("regret_mean") && !report.contains("http://"));
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
            assert!(String::from_utf8_lossy(&o.stderr).contains("missing"));
            std::fs::write(&part, saved).unwrap();
            let o = Command::new(bin()).arg("merge").arg(&dir).output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let got = std::fs::read(dir.join(if n == 1 { "part-1-of-1.csv" } else { "sweep.csv" }))
            .or_else(|_| std::fs::read(dir.join("sweep.csv")))
            .unwrap();
        assert!(got == want, "{n} shards differ from the single run");
        if n > 1 {
            assert!(std::fs::read(dir.join("robustness.csv")).unwrap() == rob);
            assert!(std::fs::read_to_string(dir.join("report.html")).unwrap() == report);
        }
    }
    // Kill mid-write: keep a prefix that ends inside a row, then resume.
    let cut = d.join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    std::fs::write(cut.join("sweep.csv"), &want[..want.len() * 2 / 3]).unwrap();
    sweep(&[], &cut);
    assert!(std::fs::read(cut.join("sweep.csv")).unwrap() == want, "the resumed sweep differs");
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
