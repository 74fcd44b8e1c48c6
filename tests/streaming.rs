//! Streamed experiments: the runs reach the sink in canonical order with the
//! series an in-memory run keeps, the results are the same without the
//! series, the command writes the same time series an in-memory run gives,
//! and a failing sink stops the run with its own message.

use goodhart::io::output::{summary_csv, write_timeseries_csv};
use goodhart::{Error, run, run_streaming};

use crate::common::{bin, small_story};

#[test]
fn sink_sees_every_run_in_order_and_results_match_an_in_memory_run() {
    let mut sc = small_story(60, 7, 11); // more replications than one batch on two threads
    sc.burn_in = 2;
    let kept = run(&sc).unwrap();
    let mut seen = Vec::new();
    // Bit for bit: an undefined KPI (NaN) equals itself.
    let bits = |xs: &[f64]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let streamed = run_streaming(&sc, &|_| {}, false, &mut |p, rep, out| {
        assert_eq!(bits(&out.per_period), bits(&kept.runs[p][rep].per_period), "policy {p}, replication {rep}");
        seen.push((rep, p));
        Ok(())
    })
    .unwrap();
    let np = sc.policies.len();
    let want: Vec<(usize, usize)> = (0..11).flat_map(|rep| (0..np).map(move |p| (rep, p))).collect();
    assert_eq!(seen, want, "replication by replication, policies in scenario order");
    assert!(streamed.runs.iter().flatten().all(|r| r.per_period.is_empty()), "series dropped once streamed");
    assert_eq!(summary_csv(&streamed), summary_csv(&kept));
    for p in 0..np {
        for j in 0..kept.kpis.len() {
            for t in 0..7 {
                let (a, b) = (streamed.period_estimate(p, j, t), kept.period_estimate(p, j, t));
                assert_eq!(bits(&[a.mean, a.ci_low, a.ci_high]), bits(&[b.mean, b.ci_low, b.ci_high]));
            }
        }
    }
    // The running per-period estimate is the two-pass one over replications.
    let j = kept.kpi_index("token_cost").unwrap();
    let nk = kept.kpis.len();
    let xs: Vec<f64> = kept.runs[1].iter().map(|r| r.per_period[3 * nk + j]).collect();
    let (a, b) = (kept.period_estimate(1, j, 3), goodhart::Estimate::of(&xs));
    assert!((a.mean - b.mean).abs() <= 1e-12 * b.mean.abs() && (a.ci_high - b.ci_high).abs() <= 1e-9 * b.ci_high.abs());
}

#[test]
fn a_failing_sink_stops_the_run_with_its_message() {
    let sc = small_story(30, 3, 4);
    let mut calls = 0;
    let e = run_streaming(&sc, &|_| {}, false, &mut |_, rep, _| {
        calls += 1;
        if rep == 1 { Err("disk full".into()) } else { Ok(()) }
    })
    .unwrap_err();
    assert_eq!(e, Error::Sink("disk full".into()));
    assert_eq!(calls, sc.policies.len() + 1, "stops at the first failure");
}

#[test]
fn the_command_streams_the_same_time_series_as_an_in_memory_run() {
    let dir = std::env::temp_dir().join(format!("goodhart-stream-{}", std::process::id()));
    let st = std::process::Command::new(bin())
        .args(["run", "adversarial", "--replications", "3", "--periods", "5", "--engineers", "50", "--quiet"])
        .args(["--no-report", "--out"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let mut sc = goodhart::model::preset::scenario("adversarial").unwrap();
    (sc.replications, sc.periods, sc.org.engineers) = (3, 5, 50);
    let mut want = Vec::new();
    write_timeseries_csv(&run(&sc).unwrap(), &mut want).unwrap();
    let got = std::fs::read(dir.join("timeseries.csv")).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".goodhart-tmp-"))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(got == want, "timeseries.csv differs from the in-memory run's");
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_failed_write_or_an_earlier_kill_leaves_no_temporary_files() {
    let dir = std::env::temp_dir().join(format!("goodhart-stream-fail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // What a killed earlier run leaves: removed by the next run.
    std::fs::write(dir.join(".timeseries.csv.goodhart-tmp-1"), b"half").unwrap();
    let args = "run adversarial --replications 3 --periods 5 --engineers 50 --quiet --no-report --out";
    let ok = std::process::Command::new(bin()).args(args.split(' ')).arg(&dir).status().unwrap();
    assert!(ok.success());
    let temporaries = |d: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(d)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".goodhart-tmp-"))
            .collect()
    };
    assert!(temporaries(&dir).is_empty(), "{:?}", temporaries(&dir));
    // A write that fails midway (a file-size limit below the series' size):
    // an error naming the file, and no temporary file.
    let before = std::fs::read(dir.join("timeseries.csv")).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f 16; exec \"$0\" {args} \"$1\""))
        .arg(bin())
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let left = temporaries(&dir);
    let after = std::fs::read(dir.join("timeseries.csv")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success() && err.contains("timeseries.csv"), "{err}");
    assert!(left.is_empty(), "{left:?}");
    assert!(after == before, "the earlier complete series is kept");
}

#[test]
fn the_agents_table_adds_up_to_the_kpis() {
    // Per period, the engineers' mean hours in agents.csv are the KPI
    // hours.<activity>, and payouts above zero add up to bonus_paid.
    use goodhart::io::agents::{AgentTable, AgentVariables};
    let mut sc = goodhart::model::preset::scenario("adversarial").unwrap();
    (sc.periods, sc.replications, sc.org.engineers) = (5, 2, 70);
    let acts: Vec<String> = sc.activities.iter().map(|a| a.name.clone()).collect();
    let vars = AgentVariables::parse(&format!("hours.{},payout", acts[0]), &acts).unwrap();
    let mut runs = 0;
    let results = goodhart::Experiment::new(&sc)
        .run_observed(&|info| AgentTable::new(&vars, info), &mut |info, table, out| {
            let nk = out.per_period.len() / 5;
            let mut hours = [0.0; 5];
            let mut paid = [0.0; 5];
            for line in table.rows.lines() {
                let f: Vec<&str> = line.split(',').collect();
                let (t, x): (usize, f64) = (f[2].parse().unwrap(), f[5].parse().unwrap());
                if f[4] == "payout" { paid[t] += x.max(0.0) } else { hours[t] += x / 70.0 }
            }
            assert_eq!(table.rows.lines().count(), 5 * 70 * 2);
            let defs = goodhart::analysis::kpi::kpi_defs(&sc);
            let at = |name: &str| defs.iter().position(|d| d.name == name).unwrap();
            let (hours_j, paid_j) = (at(&format!("hours.{}", acts[0])), at("bonus_paid"));
            let kpi = |t: usize, j: usize| out.per_period[t * nk + j];
            for t in 0..5 {
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
                assert!(close(hours[t], kpi(t, hours_j)), "{} period {t}", info.policy);
                assert!(close(paid[t], kpi(t, paid_j)), "{} period {t}", info.policy);
            }
            runs += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(runs, 2 * results.policies.len());
}

#[test]
fn an_observer_error_stops_the_experiment_naming_the_run() {
    use goodhart::{Observer, ObserverError, PeriodView};
    struct FailsAt(usize);
    impl Observer for FailsAt {
        fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
            if p.period == self.0 { Err(ObserverError::new("disk full")) } else { Ok(()) }
        }
    }
    let mut sc = goodhart::model::preset::scenario("adversarial").unwrap();
    (sc.periods, sc.replications, sc.org.engineers) = (5, 2, 30);
    let mut seen = 0;
    let e = goodhart::Experiment::new(&sc)
        .run_observed(&|_| FailsAt(3), &mut |_, _, _| {
            seen += 1;
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(e, Error::Observer { ref message, .. } if message == "disk full"), "{e}");
    assert!(e.to_string().contains("replication 0"), "{e}");
    assert_eq!(seen, 0, "no run reaches the sink once an observer failed");
}
