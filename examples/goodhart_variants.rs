//! Four ways a measure fails as a target (Manheim & Garrabrant, 2018), one
//! small scenario each, with the number that shows it.
//!
//! - **Regressional**: select the top by an honest but noisy measure, and the
//!   winners' true value falls short of their scores (the noise selected them).
//! - **Extremal**: token use tracks value in the normal range, but pay for
//!   tokens and usage goes past the point where another token buys anything.
//! - **Causal**: deployments go with value because value causes them; push
//!   deployments and engineers ship more without producing more value.
//! - **Adversarial**: on a token leaderboard some engineers game on purpose,
//!   pointing agents at pointless work (tokenmaxxing).
//!
//! Each scenario is a preset (`goodhart::model::preset::scenario`), shipped as a
//! scenario file that can be printed with `goodhart init <name>`.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example goodhart_variants
//! ```

use goodhart::io::output::human;
use goodhart::{Estimate, Results};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    let started = std::time::Instant::now();
    regressional()?;
    extremal()?;
    causal()?;
    adversarial()?;
    println!("\n(all four scenarios ran in {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// Loads a preset, trimmed to a few replications so the example is quick.
fn run_preset(name: &str) -> Res<Results> {
    let mut scenario = goodhart::model::preset::scenario(name)?;
    scenario.replications = 5;
    println!(
        "\n=== {} ({} engineers, {} weeks, {} replications)",
        scenario.name, scenario.org.engineers, scenario.periods, scenario.replications
    );
    Ok(goodhart::run(&scenario)?)
}

fn est(r: &Results, policy: &str, kpi: &str) -> Res<Estimate> {
    Ok(r.estimate(policy, kpi).ok_or_else(|| format!("no KPI {kpi} for policy {policy}"))?)
}

fn diff(r: &Results, a: &str, b: &str, kpi: &str) -> Res<Estimate> {
    Ok(r.paired_diff(a, b, kpi).ok_or_else(|| format!("no KPI {kpi} for {a} or {b}"))?)
}

/// Mean and 95% CI of the per-replication ratio `a / b` (common random numbers).
fn ratio(r: &Results, a: &str, b: &str, kpi: &str) -> Res<Estimate> {
    let va = r.values(a, kpi).ok_or_else(|| format!("no KPI {kpi} for {a}"))?;
    let vb = r.values(b, kpi).ok_or_else(|| format!("no KPI {kpi} for {b}"))?;
    Ok(Estimate::of(&va.iter().zip(&vb).map(|(x, y)| x / y.max(1e-9)).collect::<Vec<_>>()))
}

fn ci(e: &Estimate, digits: usize) -> String {
    format!("{:.d$} [{:.d$}, {:.d$}]", e.mean, e.ci_low, e.ci_high, d = digits)
}

fn ci_human(e: &Estimate) -> String {
    format!("{} [{}, {}]", human(e.mean), human(e.ci_low), human(e.ci_high))
}

fn regressional() -> Res<()> {
    let r = run_preset("regressional")?;
    let p = "top-by-noisy-value";
    let corr = est(&r, p, "metric_value_correlation")?;
    let precision = est(&r, p, "top_k_precision")?;
    let gaming = est(&r, p, "gaming_share")?;
    println!(
        "Nobody games (gaming share {:.3}); the measure is the value itself plus noise (sd 2,000 USD).",
        gaming.mean
    );
    println!("  Rank correlation of measured with true value: {}", ci(&corr, 2));
    // top_k_precision is lift over a random pick of the top 10%, (p - 0.1) / 0.9:
    // back to the share of the measured top that is in the true top.
    let share = |lift: f64| 100.0 * (0.1 + 0.9 * lift);
    println!(
        "  Top-k precision {} (lift over random: 0 random, 1 perfect): {:.0}% [{:.0}, {:.0}] of the measured top 10% are in the true top 10%, against 10% for a random pick.",
        ci(&precision, 2),
        share(precision.mean),
        share(precision.ci_low),
        share(precision.ci_high)
    );
    // Regression to the mean, seen on the last week's board of the first replication.
    if let Some((measured, value)) = r.runs[r.policy_index(p).unwrap_or(0)][0].final_board.as_ref() {
        let k = (measured.len() / 10).max(1);
        let mut order: Vec<usize> = (0..measured.len()).collect();
        order.sort_by(|&a, &b| measured[b].total_cmp(&measured[a]));
        let top = &order[..k];
        let mean = |xs: &mut dyn Iterator<Item = f64>| {
            let v: Vec<f64> = xs.collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let scored = mean(&mut top.iter().map(|&i| measured[i]));
        let true_value = mean(&mut top.iter().map(|&i| value[i]));
        let everyone = mean(&mut value.iter().copied());
        println!(
            "  Last week's measured top {k}: scored {} USD on average, truly produced {} USD (everyone: {} USD).",
            human(scored),
            human(true_value),
            human(everyone)
        );
        println!(
            "  The winners regress to the mean: {:.0}% of their measured lead over the average was measurement luck.",
            100.0 * (scored - true_value) / (scored - everyone)
        );
    }
    Ok(())
}

fn extremal() -> Res<()> {
    let r = run_preset("extremal")?;
    let (p, base) = ("pay-per-token", "no-incentive");
    let tokens = ratio(&r, p, base, "token_cost")?;
    let output = ratio(&r, p, base, "useful_output")?;
    let net = diff(&r, p, base, "net_value")?;
    let extra_bill = diff(&r, p, base, "token_cost")?;
    let extra_output = diff(&r, p, base, "useful_output")?;
    let corr_before = est(&r, p, "metric_value_correlation_before")?;
    let gaming = est(&r, p, "gaming_share")?;
    println!(
        "Before the piece rate, tokens track value (rank correlation {}); nobody games (share {:.3}).",
        ci(&corr_before, 2),
        gaming.mean
    );
    println!("  Paying 20 USD per million tokens pushes agents past the point of diminishing returns:");
    println!("  token bill x{} while useful output x{}.", ci(&tokens, 2), ci(&output, 3));
    println!(
        "  Each extra USD of tokens buys {:.2} USD of output; net value after the piece rates paid (paired, piece rate minus none): {} USD.",
        extra_output.mean / extra_bill.mean,
        ci_human(&net)
    );
    Ok(())
}

fn causal() -> Res<()> {
    let r = run_preset("causal")?;
    let (p, base) = ("deployments-leaderboard", "no-leaderboard");
    let deploys = ratio(&r, p, base, "deployments")?;
    let output = diff(&r, p, base, "useful_output")?;
    let output_base = est(&r, base, "useful_output")?;
    let cfr = est(&r, p, "change_failure_rate")?;
    let cfr_base = est(&r, base, "change_failure_rate")?;
    let rush = est(&r, p, "hours.rush")?;
    let rush_base = est(&r, base, "hours.rush")?;
    let incidents = diff(&r, p, base, "incident_cost")?;
    println!(
        "Value causes deployments; rewarding deployments buys them by rushing (skipping tests) as well as building:"
    );
    println!("  incidents grow faster than useful output.");
    println!("  Deployments x{} under the deployments leaderboard.", ci(&deploys, 2));
    println!(
        "  Useful output (paired): {} USD, {:+.1}% of {} USD.",
        ci_human(&output),
        100.0 * output.mean / output_base.mean,
        human(output_base.mean)
    );
    println!(
        "  Change failure rate {:.1}% -> {:.1}%; hours rushing per week {:.2} -> {:.2}; incident cost {} USD.",
        100.0 * cfr_base.mean,
        100.0 * cfr.mean,
        rush_base.mean,
        rush.mean,
        ci_human(&incidents)
    );
    Ok(())
}

fn adversarial() -> Res<()> {
    let r = run_preset("adversarial")?;
    let (p, base) = ("kirorank", "no-leaderboard");
    let gaming = est(&r, p, "gaming_share")?;
    let gamers = est(&r, p, "gamers_share")?;
    let burn = est(&r, p, "hours.burn")?;
    let bill = ratio(&r, p, base, "token_cost")?;
    let output = diff(&r, p, base, "useful_output")?;
    println!("Ranked by tokens, engineers game the measure on purpose (tokenmaxxing).");
    println!(
        "  Gaming share of hours {:.1}% [{:.1}, {:.1}]; {:.0}% of engineers game; {:.2} hours a week burning tokens.",
        100.0 * gaming.mean,
        100.0 * gaming.ci_low,
        100.0 * gaming.ci_high,
        100.0 * gamers.mean,
        burn.mean
    );
    println!("  Token bill x{}; useful output (paired) {} USD.", ci(&bill, 2), ci_human(&output));
    Ok(())
}
