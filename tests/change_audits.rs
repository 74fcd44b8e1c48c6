//! Audits of a share of changes (`audit = { changes = ... }`): the penalty
//! engineers plan with is the engine's mean, caught changes are binomial,
//! the audit stops the gaming that ships changes and cannot see the gaming
//! that ships none, and its fields are validated.

use goodhart::model::preset::{policies, scenario};
use goodhart::{Audit, Experiment, Observer, ObserverError, PeriodView, Policy, Results, Reward, Scenario, run};

use crate::common::paired_mean_se;

/// The story's organisation, small, with a raw-deployments board whose
/// prize (30,000 USD, as in `tests/hours.rs`) brings splitting and rushing,
/// and the same board with `audit`.
fn deployments_board(audit: Audit, periods: u32, replications: u32) -> Scenario {
    let mut sc = scenario("story").unwrap();
    (sc.periods, sc.replications) = (periods, replications);
    let mut raw = policies().into_iter().find(|q| q.name == "raw-deployments").unwrap();
    if let Reward::Leaderboard { prize, .. } = &mut raw.reward {
        *prize = 30_000.0;
    }
    let mut audited = raw.clone();
    audited.name = "raw-deployments-audited".into();
    audited.audit = Some(audit);
    sc.policies = vec![Policy::none("no-leaderboard"), raw, audited];
    sc.baseline = Some("no-leaderboard".into());
    sc
}

/// Per engineer-week of an audited run: the gaming changes the plan
/// expects (Poisson mean: changes per productive unit x units, summed over
/// gaming activities), those shipped and those caught.
#[derive(Default)]
struct Draws {
    weeks: Vec<(f64, f64, f64)>,
}

struct Watch<'a>(&'a Scenario, Draws);

impl Observer for Watch<'_> {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        let acts = &self.0.activities;
        let k = acts.len();
        for i in 0..p.engineers {
            let mut expected = 0.0;
            for (a, act) in acts.iter().enumerate().filter(|(_, a)| a.gaming) {
                let (h, tau) = (p.plan_hours[i * k + a], p.plan_tau[i * k + a]);
                let skill = if act.skill_scaled { p.population.skill[i] } else { 1.0 };
                let q = if act.uses_ai { 1.0 + p.population.ai_leverage[i] * act.ai_share(tau) } else { 1.0 };
                expected += act.changes_per_hour * h * skill * q;
            }
            self.1.weeks.push((expected, p.gaming_changes[i], p.changes_caught[i]));
        }
        Ok(())
    }
}

#[test]
fn the_planned_audit_penalty_is_the_engines_mean_and_caught_changes_are_binomial() {
    // A mild audit, so that engineers keep splitting and rushing: 30% of
    // changes audited, half the gaming ones caught, 50 USD-eq each. The
    // planner charges changes_per_hour x 0.3 x 0.5 x 50 per productive unit
    // of a gaming activity.
    let audit = Audit::of_changes(0.3, 0.5, 50.0);
    let sc = deployments_board(audit, 12, 2);
    let q = audit.catch_per_change();
    let mut weeks = Vec::new();
    Experiment::new(&sc)
        .run_observed(&|_| Watch(&sc, Draws::default()), &mut |info, w, _| {
            if info.policy == "raw-deployments-audited" {
                weeks.extend(w.1.weeks);
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(weeks.len(), 200 * 12 * 2);
    // The expected penalty against the penalty felt. Given the plans, each
    // engineer-week's caught changes are Poisson (shipped changes are, and
    // each is caught independently), so the variance is the mean.
    let lambda: f64 = weeks.iter().map(|w| w.0).sum();
    let caught: f64 = weeks.iter().map(|w| w.2).sum();
    let (planned, felt) = (audit.penalty * q * lambda, audit.penalty * caught);
    let se = audit.penalty * (q * lambda).sqrt();
    assert!(caught > 400.0, "too little gaming to test: {caught} changes caught");
    assert!((felt - planned).abs() <= 4.0 * se, "penalty felt {felt}, planned {planned} +- {se}");
    // The changes shipped are the plan's Poisson draws.
    let shipped: f64 = weeks.iter().map(|w| w.1).sum();
    assert!((shipped - lambda).abs() <= 4.0 * lambda.sqrt(), "shipped {shipped}, planned {lambda}");
    // Caught | shipped ~ Binomial(shipped, q): the deviations' sum (mean)
    // and sum of squares (variance), each within 4 standard errors.
    let (mut dev, mut var, mut sq, mut sq_var) = (0.0, 0.0, 0.0, 0.0);
    for &(_, n, c) in &weeks {
        let s2 = n * q * (1.0 - q);
        let d = c - n * q;
        dev += d;
        var += s2;
        sq += d * d;
        // The fourth central moment of a binomial, n pq (1 + 3 (n - 2) pq).
        let m4 = s2 * (1.0 + 3.0 * (n - 2.0) * q * (1.0 - q));
        sq_var += m4 - s2 * s2;
    }
    assert!(dev.abs() <= 4.0 * var.sqrt(), "mean: deviation {dev} +- {}", var.sqrt());
    assert!((sq - var).abs() <= 4.0 * sq_var.sqrt(), "variance: {sq} vs {var} +- {}", sq_var.sqrt());
    // Honest changes are never caught: nobody without gaming changes is.
    assert!(weeks.iter().all(|w| w.1 > 0.0 || w.2 == 0.0));
    assert!(weeks.iter().all(|w| w.2 <= w.1));
}

/// Per replication, hours a week of `acts` under `policy`.
fn hours(r: &Results, policy: &str, acts: &[&str]) -> Vec<f64> {
    let v: Vec<Vec<f64>> = acts.iter().map(|a| r.values(policy, &format!("hours.{a}")).unwrap()).collect();
    (0..v[0].len()).map(|j| v.iter().map(|x| x[j]).sum()).collect()
}

#[test]
fn auditing_a_tenth_of_changes_stops_splitting_and_rushing_but_not_token_burning() {
    // 10% of changes audited, 80% of gaming ones caught, at a penalty that
    // bites against a 30,000 USD prize: 20,000 USD-eq a change caught, about
    // 960 USD-eq expected per hour split at skill 1. (The metrics-of-the-day
    // preset's 2,000 stops splitting for a 3,000 USD prize; against 30,000
    // it cuts splitting by only a third.)
    let audit = Audit::of_changes(0.1, 0.8, 20_000.0);
    let mut sc = deployments_board(audit, 20, 6);
    let kiro = policies().into_iter().find(|q| q.name == "kirorank").unwrap();
    let mut kiro_audited = kiro.clone();
    kiro_audited.name = "kirorank-audited-changes".into();
    kiro_audited.audit = Some(audit);
    sc.policies.extend([kiro, kiro_audited]);
    let r = run(&sc).unwrap();

    // Under the deployments board: splitting and rushing fall, beyond 4
    // standard errors, paired replication by replication.
    let shipping = ["split", "rush"];
    let before = hours(&r, "raw-deployments", &shipping);
    let after = hours(&r, "raw-deployments-audited", &shipping);
    let (d, se) = paired_mean_se(&before, &after);
    assert!(before.iter().all(|&h| h > 0.5), "the board brings splitting and rushing: {before:?}");
    assert!(d + 4.0 * se < 0.0, "audits do not stop them: {d} +- {se}");
    // Nearly all of it: under a twentieth is left.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(mean(&after) < 0.05 * mean(&before), "{after:?} against {before:?}");

    // Under the token board: burning ships no changes, so the same audit
    // sees none of it; the difference is not distinguishable from zero.
    let burn = |p: &str| hours(&r, p, &["burn"]);
    let (before, after) = (burn("kirorank"), burn("kirorank-audited-changes"));
    let (d, se) = paired_mean_se(&before, &after);
    assert!(before.iter().all(|&h| h > 0.5), "the token board brings burning: {before:?}");
    assert!(d.abs() <= 4.0 * se, "burning moved: {d} +- {se}");
    assert_eq!(r.estimate("kirorank-audited-changes", "changes_caught").unwrap().mean, 0.0);
    // An audit of engineers would have seen it: audit_detections counts
    // engineers, changes_caught changes.
    assert_eq!(r.estimate("kirorank", "audit_detections").unwrap().mean, 0.0);
}

#[test]
fn the_metrics_of_the_day_audit_stops_pr_splitting() {
    // The preset's audited PR board against the PR board, paired over the
    // preset's engineers and shocks (10 replications).
    let mut sc = scenario("metrics-of-the-day").unwrap();
    sc.replications = 10;
    let r = run(&sc).unwrap();
    let d = |k: &str| r.paired_diff("pr-count-audited", "pr-count", k).unwrap();
    assert!(d("gaming_changes").ci_high < 0.0, "{:?}", d("gaming_changes"));
    assert!(d("net_value").ci_low > 0.0, "{:?}", d("net_value"));
    // The prizes are paid either way: the audited board still costs more
    // than it buys against no leaderboard.
    assert!(r.paired_diff("pr-count-audited", "no-leaderboard", "net_value").unwrap().ci_high < 0.0);
}

/// The error a scenario file with `audit` in its only policy gets.
fn audit_error(audit: &str) -> String {
    let text = format!(
        "[[policy]]\nname = \"a\"\nmetric = \"deployments\"\nreward = {{ scheme = \"linear\", rate = 1 }}\naudit = {audit}\n"
    );
    goodhart::parse_scenario(&text).unwrap_err().to_string()
}

#[test]
fn change_audits_are_validated_field_by_field_on_one_line() {
    for (audit, path, want) in [
        ("{ probability = 0.1, changes = 0.1 }", "policy[0].audit.changes", "not both"),
        // Both, even at a zero probability.
        ("{ probability = 0, changes = 0.1 }", "policy[0].audit.changes", "not both"),
        ("{ changes = 0.1, probability = 0.2, penalty = 5 }", "policy[0].audit.changes", "not both"),
        ("{ changes = 1.5 }", "policy[0].audit.changes", "a probability in [0, 1]"),
        ("{ changes = -0.1 }", "policy[0].audit.changes", "a probability in [0, 1]"),
        ("{ changes = 0.1, sensitivity = 1.2 }", "policy[0].audit.sensitivity", "a number in [0, 1]"),
        ("{ changes = 0.1, penalty = -1 }", "policy[0].audit.penalty", "a number >= 0"),
        ("{ changes = \"ten\" }", "policy[0].audit.changes", "a probability in [0, 1]"),
        ("{ change = 0.1 }", "policy[0].audit.change", "did you mean `changes`"),
    ] {
        let e = audit_error(audit);
        assert!(e.starts_with(&format!("{path}: ")) && e.contains(want), "{audit}: {e}");
        assert!(!e.contains('\n'), "one line: {e:?}");
    }
    // The message names both forms.
    let e = audit_error("{ probability = 0.1, changes = 0.1 }");
    assert!(e.contains("`probability`") && e.contains("`changes`"), "{e}");

    // An audit of changes takes the defaults of the other fields, and no
    // probability.
    let text = "[[policy]]\nname = \"a\"\nmetric = \"deployments\"\naudit = { changes = 0.1 }\n";
    let a = goodhart::parse_scenario(text).unwrap().policies[0].audit.unwrap();
    assert_eq!(a, Audit::of_changes(0.1, 1.0, 10_000.0));
    // Written and read back, as it was.
    let sc = scenario("metrics-of-the-day").unwrap();
    let written = goodhart::write_scenario(&sc);
    assert!(written.contains("audit = { changes = 0.1, sensitivity = 0.8, penalty = 2000.0 }"), "{written}");
    assert_eq!(goodhart::parse_scenario(&written).unwrap().policies, sc.policies);

    // Built in Rust with both: validation names the field.
    let mut sc = crate::common::small_story(20, 4, 1);
    sc.policies[1].audit = Some(Audit { probability: 0.2, ..Audit::of_changes(0.1, 0.8, 2000.0) });
    let e = sc.validate().unwrap_err().to_string();
    assert!(e.starts_with("policy[1].audit.changes: 0.1 is not allowed") && e.contains("not both"), "{e}");
    // Set on a policy that audits changes, the engineer audit's field is refused.
    let sc = scenario("metrics-of-the-day").unwrap();
    let e = goodhart::io::format::set_field(&sc, "policy[pr-count-audited].audit.probability", "0.2")
        .unwrap_err()
        .to_string();
    assert!(e.contains("audit.changes") && e.contains("not both"), "{e}");
    let sc = goodhart::io::format::set_field(&sc, "policy[pr-count-audited].audit.changes", "0.3").unwrap();
    assert_eq!(sc.policies.iter().find(|p| p.name == "pr-count-audited").unwrap().audit.unwrap().changes, Some(0.3));
    // The KPIs of change audits are reported only where a policy audits changes.
    let names = |sc: &Scenario| goodhart::analysis::kpi::kpi_defs(sc).into_iter().map(|d| d.name).collect::<Vec<_>>();
    assert!(names(&sc).contains(&"changes_caught".to_string()));
    assert!(!names(&scenario("story").unwrap()).iter().any(|n| n == "changes_caught" || n == "gaming_changes"));
}
