//! Sweeping one knob of a policy: how often should a token leaderboard be audited?
//!
//! Starts from the `kirorank-audited` preset (the token leaderboard with
//! random audits that detect gaming in proportion to the hours spent on it
//! and fine the engineer 20,000 USD-equivalent) and builds one policy per
//! audit probability. All of them go into a single scenario, so every audit
//! rate meets the same engineers and the same shocks (common random numbers):
//! differences between rows are paired and much tighter than the rows' own
//! confidence intervals.
//!
//! Prints net value (mean ± 95% CI half-width; after the prizes paid), the
//! token bill and the gaming share per audit rate, and where net value peaks. Audits themselves cost
//! nothing in the model, so the sweep also says how small an audit rate is
//! enough (within the paired confidence interval of the peak).
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example policy_sweep
//! ```

use goodhart::io::output::human;
use goodhart::{Policy, Results, Scenario};

/// Audit probabilities swept (per engineer per week).
const RATES: [f64; 6] = [0.0, 0.05, 0.1, 0.2, 0.4, 1.0];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let audited = goodhart::model::preset::policies()
        .into_iter()
        .find(|p| p.name == "kirorank-audited")
        .ok_or("the kirorank-audited preset is missing")?;
    let template = audited.audit.ok_or("kirorank-audited has no audit")?;

    let mut scenario = Scenario::default();
    scenario.org.engineers = 200;
    scenario.periods = 26;
    scenario.replications = 5;
    scenario.policies = vec![Policy::none("no-leaderboard")];
    for &p in &RATES {
        let mut policy = audited.clone();
        policy.name = name(p);
        policy.audit = Some(goodhart::Audit { probability: p, ..template });
        scenario.policies.push(policy);
    }
    let r = goodhart::run(&scenario)?;
    println!(
        "Audit sweep on the token leaderboard: {} engineers, {} weeks, {} replications, {} policies ({:.1} s)",
        scenario.org.engineers,
        scenario.periods,
        scenario.replications,
        scenario.policies.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "Audits detect gaming with probability {} x (gaming hours / {} h); penalty {} USD-equivalent.\n",
        template.sensitivity,
        scenario.org.hours_per_period,
        human(template.penalty)
    );

    let est = |p: &str, k: &str| r.estimate(p, k).ok_or_else(|| format!("no KPI {k} for {p}"));
    println!(
        "{:<15} {:>18} {:>26} {:>11} {:>7} {:>6} {:>6} {:>7} {:>9}",
        "policy",
        "net value (USD)",
        "vs no audit (paired CI)",
        "token cost",
        "gaming",
        "burn",
        "build",
        "prizes",
        "caught"
    );
    let mut rows: Vec<&str> = vec!["no-leaderboard"];
    let names: Vec<String> = RATES.iter().map(|&p| name(p)).collect();
    rows.extend(names.iter().map(|s| s.as_str()));
    for p in &rows {
        let net = est(p, "net_value")?;
        let vs = if p.starts_with("audit-") && *p != names[0] {
            let d = r.paired_diff(p, &names[0], "net_value").ok_or("no net_value")?;
            format!("{:+} [{}, {}]", human(d.mean), human(d.ci_low), human(d.ci_high))
        } else if *p == names[0] {
            "(reference)".into()
        } else {
            String::new()
        };
        println!(
            "{:<15} {:>18} {:>26} {:>11} {:>6.1}% {:>6.2} {:>6.2} {:>7} {:>9.0}",
            p,
            format!("{} ± {}", human(net.mean), human((net.ci_high - net.ci_low) / 2.0)),
            vs,
            money(est(p, "token_cost")?.mean),
            100.0 * est(p, "gaming_share")?.mean,
            est(p, "hours.burn")?.mean,
            est(p, "hours.build")?.mean,
            money(est(p, "bonus_paid")?.mean),
            est(p, "audit_detections")?.mean
        );
    }

    println!("(USD totals per replication; gaming: share of hours; burn, build: hours per engineer-week;");
    println!(" prizes: leaderboard prizes paid, already taken off net value; caught: audit detections.)\n");

    // Where net value peaks, and the smallest audit rate indistinguishable from it.
    let mean = |p: &str, k: &str| r.estimate(p, k).map_or(f64::NEG_INFINITY, |e| e.mean);
    let peak = names.iter().max_by(|a, b| mean(a, "net_value").total_cmp(&mean(b, "net_value"))).ok_or("no rates")?;
    let enough = names.iter().find(|p| within_noise(&r, p, peak)).unwrap_or(peak);
    let edge = if peak == &names[names.len() - 1] { " (the edge of the sweep: it keeps rising)" } else { "" };
    let base = r.paired_diff(peak, "no-leaderboard", "net_value").ok_or("no net_value")?;
    println!("Net value peaks at {peak}{edge}.");
    if enough == peak {
        println!("No smaller audit rate comes within the paired 95% CI of the peak: every step up still pays.");
    } else {
        println!("The smallest audit rate within the paired 95% CI of the peak: {enough}.");
    }
    println!(
        "At the peak, net value minus no leaderboard: {} USD [{}, {}], after the {} USD of prizes paid.",
        human(base.mean),
        human(base.ci_low),
        human(base.ci_high),
        human(mean(peak, "bonus_paid"))
    );
    println!(
        "Audits make a gaming hour cost rate x sensitivity x penalty / hours = {} USD in expected fines at the peak,",
        human(rate_of(peak) * template.sensitivity * template.penalty / scenario.org.hours_per_period)
    );
    println!(
        "so would-be tokenmaxxers climb the board by building instead: build hours {:.1} -> {:.1} a week.",
        mean(&names[0], "hours.build"),
        mean(peak, "hours.build")
    );
    println!("Audits are free in the model; a real audit programme would set the peak lower.");
    Ok(())
}

fn name(p: f64) -> String {
    format!("audit-{p:.2}")
}

/// A USD amount, compactly (`0` for nothing).
fn money(x: f64) -> String {
    if x == 0.0 { "0".into() } else { human(x) }
}

fn rate_of(name: &str) -> f64 {
    name.trim_start_matches("audit-").parse().unwrap_or(0.0)
}

/// True when `p`'s net value is not distinguishable from `peak`'s (paired CI contains 0).
fn within_noise(r: &Results, p: &str, peak: &str) -> bool {
    p == peak || r.paired_diff(p, peak, "net_value").is_some_and(|d| d.ci_high >= 0.0)
}
