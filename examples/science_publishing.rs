//! A different organisation, the same library: science rewarded on
//! publication counts, after Smaldino & McElreath (2016), "The natural
//! selection of bad science".
//!
//! Labs (the library's engineers) split their hours between two methods,
//! defined as data with [`Activity`]:
//!
//! - **rigorous** research: much knowledge per hour, few papers, few false
//!   discoveries;
//! - **low-effort** methods (small samples, flexible analyses): many papers,
//!   most of their positive findings false, little knowledge. It is flagged
//!   as gaming: it raises the count without the value the count stands for,
//!   and labs with scientific integrity dislike it.
//!
//! Papers are the library's changes (`deployments`), a false discovery is a
//! defective change, a failed replication is a rollback within the survival
//! window, and a false discovery that misleads the field is an incident. No
//! AI is involved: no activity uses tokens.
//!
//! Three funding policies are compared on the same labs (common random
//! numbers): no incentive, grants for the most papers, and grants for the
//! most papers that survived replication attempts. In the paper, labs are
//! selected over generations; here each lab best-responds to the incentive
//! within its career. The direction is the same: counting papers pays for the
//! methods that produce papers.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example science_publishing
//! ```

use goodhart::io::output::human;
use goodhart::{Activity, Estimate, Metric, Noise, Policy, Results, Reward, Scenario};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let mut sc = Scenario {
        name: "The natural selection of bad science".into(),
        periods: 52, // weeks
        burn_in: 13, // let publication records fill before counting
        replications: 5,
        ..Scenario::default()
    };
    sc.org.engineers = 150; // labs
    // A false discovery is found out by a failed replication with
    // probability 0.3 a week; a paper that survives 8 weeks counts as replicated.
    sc.org.defect_detection = 0.3;
    sc.org.survival_window = 8;
    // A third of false discoveries mislead others (wasted follow-up work,
    // 3,000 USD-equivalent each).
    sc.org.incident_probability = 0.3;
    sc.org.incident_cost = 3000.0;

    // Publish-or-perish: a lab's distaste for cutting corners is worth 20
    // USD-equivalent an hour on average (heterogeneous); a fifth never cut corners.
    sc.traits.integrity = goodhart::Dist::Lognormal { mean: 20.0, sd: 20.0 }.into();

    sc.activities = vec![
        Activity {
            value_per_hour: 100.0,   // knowledge, USD-equivalent per hour
            changes_per_hour: 0.015, // one paper per ~65 hours
            defect_rate: 0.05,       // 5% of its findings are false
            usefulness: 0.9,
            ..Activity::named("rigorous")
        },
        Activity {
            value_per_hour: 10.0,   // little knowledge
            changes_per_hour: 0.05, // one paper per 20 hours
            defect_rate: 0.85,      // most positive findings are false
            usefulness: 0.3,
            gaming: true,
            ..Activity::named("low-effort")
        },
    ];

    // Grants: each week the top 20% of labs by the metric (averaged over the
    // last quarter) get 1,500 USD-equivalent of funding and prestige.
    let grant = Reward::leaderboard(0.2, 1500.0, 0.2, 1000.0);
    let counted = |name: &str, signal: &str, delay: u32| Metric {
        delay,
        window: 13,
        noise: Noise::Normal { sd: 0.1 },
        ..Metric::weighted(name, vec![(signal.into(), 1.0)])
    };
    let window = sc.org.survival_window;
    sc.policies = vec![
        Policy::none("no-incentive"),
        Policy::new("publication-count", counted("papers", "deployments", 0), grant.clone()),
        Policy::new("replicated-papers", counted("replicated", "shipped_and_survived", window), grant),
    ];
    let r = goodhart::run(&sc)?;

    println!(
        "{}: {} labs, weeks {}..{} counted, {} replications ({:.1} s)",
        sc.name,
        sc.org.engineers,
        sc.burn_in,
        sc.periods - 1,
        sc.replications,
        started.elapsed().as_secs_f64()
    );
    println!("Methods: rigorous 0.015 papers/h, 5% false; low-effort 0.05 papers/h, 85% false, 10% of the knowledge.");
    println!("Grants (1,500 a week) go to the top 20% of labs by the policy's metric, averaged over 13 weeks;");
    println!("the bottom 20% feel 1,000 a week of pressure (publish or perish).\n");

    let labs_years = sc.org.engineers as f64 * (sc.periods - sc.burn_in) as f64 / 52.0;
    println!(
        "{:<19} {:>13} {:>12} {:>14} {:>12} {:>17} {:>14}",
        "policy", "papers/lab/yr", "low-effort", "failed repl.", "misleading", "knowledge (USD)", "net value"
    );
    for p in &r.policies {
        let e = |k: &str| r.estimate(p, k).map_or(0.0, |e| e.mean);
        println!(
            "{:<19} {:>13.1} {:>11.1}% {:>13.1}% {:>12.0} {:>17} {:>14}",
            p,
            e("deployments") / labs_years,
            100.0 * e("gaming_share"),
            100.0 * e("change_failure_rate"),
            e("incidents"),
            human(e("useful_output")),
            human(e("net_value"))
        );
    }
    println!("(low-effort: share of research hours; failed repl.: share of papers retracted after a failed");
    println!(" replication within 8 weeks; misleading: false discoveries that misled others, per replication;");
    println!(" net value: knowledge less the cost of misleading findings and the grants paid.)\n");

    for p in ["publication-count", "replicated-papers"] {
        let papers = paired(&r, p, "deployments")?;
        let knowledge = paired(&r, p, "useful_output")?;
        let net = paired(&r, p, "net_value")?;
        let low = r.estimate(p, "hours.low-effort").ok_or("no hours.low-effort")?;
        println!("{p} minus no incentive (paired 95% CI):");
        println!(
            "  papers {}, knowledge {} USD, net value {} USD; {:.2} h/week on low-effort methods",
            ci(&papers),
            ci(&knowledge),
            ci(&net),
            low.mean
        );
    }

    let versus = r.paired_diff("replicated-papers", "publication-count", "net_value").ok_or("no net_value")?;
    println!("replicated-papers minus publication-count: net value {} USD (paired 95% CI).", ci(&versus));

    let share = |p: &str| r.estimate(p, "gaming_share").map_or(0.0, |e| e.mean);
    let worst = r.policies.iter().max_by(|a, b| share(a).total_cmp(&share(b))).ok_or("no policies")?;
    let best = r
        .policies
        .iter()
        .max_by(|a, b| {
            let net = |p: &str| r.estimate(p, "net_value").map_or(0.0, |e| e.mean);
            net(a).total_cmp(&net(b))
        })
        .ok_or("no policies")?;
    println!(
        "\n{worst} favours low-effort methods most ({:.1}% of hours): counting papers selects for the",
        100.0 * share(worst)
    );
    println!("methods that produce papers, not knowledge. {best} yields the most net value.");
    Ok(())
}

/// Paired difference of a KPI against the baseline (no incentive).
fn paired(r: &Results, policy: &str, kpi: &str) -> Result<Estimate, String> {
    r.paired_diff(policy, &r.policies[r.baseline], kpi).ok_or_else(|| format!("no KPI {kpi}"))
}

fn ci(e: &Estimate) -> String {
    format!("{} [{}, {}]", human(e.mean), human(e.ci_low), human(e.ci_high))
}
