//! Helpers shared by the integration tests.

use goodhart::{Metric, Policy, Reward, Scenario, Stage};

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
