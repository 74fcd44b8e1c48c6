//! The verdict and the report's colours say what the data support: net
//! value is after prizes, and a loss after prizes reads as a loss.

use goodhart::io::report;
use goodhart::io::report_data::ReportData;
use goodhart::{Metric, Policy, Reward, run};

/// The verdict's first sentence (sentences end with ". "; numbers such as
/// 1.23M have no space after their point).
fn first_sentence(v: &str) -> &str {
    v.split_once(". ").map_or(v, |(a, _)| a)
}

/// The CSS classes of a policy's cells in the report's summary table, in
/// column order (per KPI: the mean, then the difference from the baseline).
fn classes<'a>(html: &'a str, policy: &str) -> Vec<&'a str> {
    let row = html
        .lines()
        .find(|l| l.starts_with(&format!("<tr><td class=\"policy\" title=\"{policy}\">")))
        .unwrap_or_else(|| panic!("no row for {policy}"));
    row.split("<td class=\"").skip(2).map(|c| c.split('"').next().unwrap()).collect()
}

#[test]
fn a_policy_that_wins_before_prizes_and_loses_after_reads_as_a_loss() {
    // A piece rate on the value each engineer produces: engineers work
    // harder, so output less tokens and incidents rises, but the
    // organisation pays the rate on all of the value, the part it had
    // anyway included.
    let mut sc = crate::common::small_story(100, 12, 4);
    let rate = Policy::new("pay-for-value", Metric::builtin("value", 4).unwrap(), Reward::Linear { rate: 0.5 });
    sc.policies = vec![Policy::none("no-leaderboard"), rate];
    let r = run(&sc).unwrap();
    // The case is what it should be: a win before prizes, a loss after, both at 95%.
    let after = r.paired_diff("pay-for-value", "no-leaderboard", "net_value").unwrap();
    let paid = r.values("pay-for-value", "bonus_paid").unwrap();
    let before: Vec<f64> = r
        .values("pay-for-value", "net_value")
        .unwrap()
        .iter()
        .zip(&paid)
        .zip(r.values("no-leaderboard", "net_value").unwrap())
        .map(|((a, p), b)| a + p - b)
        .collect();
    let before = goodhart::Estimate::of(&before);
    assert!(before.ci_low > 0.0, "no win before prizes: {before:?}");
    assert!(after.ci_high < 0.0, "no loss after prizes: {after:?}");

    let v = goodhart::io::output::verdict(&r);
    let first = first_sentence(&v);
    assert!(first.starts_with("No policy is distinguishably better than no-leaderboard on net value"), "{first}");
    assert!(first.contains("distinguishably worse than no-leaderboard on net value is pay-for-value -"), "{first}");
    assert!(!v.contains("before the"), "{v}");

    let html = report::html(&ReportData::from_results(&r, "goodhart run x"), &[]).unwrap();
    // Net value comes first: its difference is red; useful output's, second, green.
    let c = classes(&html, "pay-for-value");
    assert_eq!((c[1], c[3]), ("worse", "better"), "{c:?}");
    assert!(classes(&html, "no-leaderboard").iter().all(|c| c.is_empty()));
}
