//! Helpers shared by the integration tests.

use goodhart::{Experiment, Metric, Observer, Policy, Reward, RunInfo, Scenario, Stage};

/// The default org with the story's four contract policies, made small.
pub fn small_story(engineers: usize, periods: u32, replications: u32) -> Scenario {
    let mut sc = Scenario::default();
    sc.org.engineers = engineers;
    sc.periods = periods;
    sc.replications = replications;
    let kiro =
        Policy::new("kirorank", Metric::builtin("tokens", 4).unwrap(), Reward::leaderboard(0.1, 3000.0, 0.1, 2000.0));
    let norm = Policy::new(
        "normalized-deployments",
        Metric::builtin("normalized_deployments", 4).unwrap(),
        Reward::leaderboard(0.1, 3000.0, 0.0, 0.0),
    );
    let mut switch = Policy::none("kirorank-then-normalized");
    switch.schedule = vec![
        Stage { from: 0, policy: "kirorank".into() },
        Stage { from: periods / 2, policy: "normalized-deployments".into() },
    ];
    sc.policies = vec![Policy::none("no-leaderboard"), kiro, norm, switch];
    sc
}

/// The path of the built `goodhart` binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_goodhart")
}

/// The mean of `after - before`, replication by replication (the same
/// engineers and shocks: paired), and its standard error.
pub fn paired_mean_se(before: &[f64], after: &[f64]) -> (f64, f64) {
    let d: Vec<f64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    (mean, (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt())
}

/// The observer of the first run that finishes (with one policy and one
/// replication, the only one), each run's made by `make`.
pub fn first_observed<O: Observer>(sc: &Scenario, make: &(dyn Fn(&RunInfo) -> O + Sync)) -> O {
    let mut out = None;
    Experiment::new(sc)
        .run_observed(make, &mut |_, o, _| {
            out.get_or_insert(o);
            Ok(())
        })
        .unwrap();
    out.unwrap()
}
