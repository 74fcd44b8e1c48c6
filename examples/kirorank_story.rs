//! The Kirorank story, end to end, through the library API.
//!
//! An organisation ranks engineers by AI tokens consumed ("Kirorank"). The
//! example runs the story's four policies on the same engineers with the same
//! shocks (common random numbers) and narrates what happens:
//!
//! 1. before the leaderboard, token use *looks* like a good proxy for value;
//! 2. once it is a target, some engineers point agents at pointless work
//!    ("tokenmaxxing": gaming share, hours spent burning tokens);
//! 3. the token bill multiplies while useful output does not move;
//! 4. the metric stops tracking value;
//! 5. switching to normalized deployments at mid-year brings the bill back down.
//!
//! It ends with the library's own comparison table and plain-language verdict.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release --example kirorank_story
//! ```

use goodhart::io::output::{human, table, verdict};
use goodhart::{Estimate, Results};

/// The story's policies that this example compares (the preset has more).
const POLICIES: [&str; 4] = ["no-leaderboard", "kirorank", "normalized-deployments", "kirorank-then-normalized"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The `story` preset: the default 200-engineer organisation over 52 weeks.
    let mut scenario = goodhart::model::preset::scenario("story")?;
    scenario.policies.retain(|p| POLICIES.contains(&p.name.as_str()));
    // Fewer replications than the preset's 30 keep the example fast; the
    // confidence intervals below say how much that costs.
    scenario.replications = 6;
    let switch = scenario
        .policies
        .iter()
        .find(|p| p.name == "kirorank-then-normalized")
        .and_then(|p| p.schedule.get(1))
        .map_or(26, |stage| stage.from) as usize;

    let started = std::time::Instant::now();
    let results = goodhart::run(&scenario)?;
    println!(
        "The Kirorank story: {} engineers, {} weeks, {} replications, {} policies ({:.1} s)\n",
        scenario.org.engineers,
        scenario.periods,
        scenario.replications,
        scenario.policies.len(),
        started.elapsed().as_secs_f64()
    );

    let est = |p: &str, k: &str| results.estimate(p, k).ok_or_else(|| format!("no KPI {k} for policy {p}"));
    let diff = |a: &str, b: &str, k: &str| results.paired_diff(a, b, k).ok_or_else(|| format!("no KPI {k}"));

    // 1. Before the metric is a target.
    let before = est("kirorank", "metric_value_correlation_before")?;
    println!("1. Before the leaderboard, token use looks like a good proxy: skilled engineers also use AI more.");
    println!("   Rank correlation of tokens with value produced: {}", ci(&before, 2));

    // 2. Tokenmaxxing emerges.
    let gaming = est("kirorank", "gaming_share")?;
    let gamers = est("kirorank", "gamers_share")?;
    let burn = est("kirorank", "hours.burn")?;
    let burn_base = est("no-leaderboard", "hours.burn")?;
    println!("\n2. Kirorank ranks engineers by tokens each week: top 10% win 3,000 USD, bottom 10% feel pressure.");
    println!("   Tokenmaxxing: {} of working hours go to gaming; {} of engineers game.", pct(&gaming), pct(&gamers));
    println!(
        "   Hours a week pointing agents at pointless work (hours.burn): {} (no leaderboard: {}).",
        ci(&burn, 2),
        ci(&burn_base, 2)
    );

    // 3. The bill, and the output it bought.
    let ratio = paired_ratio(&results, "kirorank", "no-leaderboard", "token_cost")?;
    let bill = est("kirorank", "token_cost")?;
    let bill_base = est("no-leaderboard", "token_cost")?;
    let output = diff("kirorank", "no-leaderboard", "useful_output")?;
    let output_base = est("no-leaderboard", "useful_output")?;
    println!("\n3. The bill noticed before the value did.");
    println!(
        "   Token bill over the year: {} USD under Kirorank vs {} USD without: {:.2}x [95% CI {:.2}, {:.2}].",
        human(bill.mean),
        human(bill_base.mean),
        ratio.mean,
        ratio.ci_low,
        ratio.ci_high
    );
    println!(
        "   Useful output, Kirorank minus no leaderboard (paired): {} USD [95% CI {}, {}], i.e. {:+.2}% of {} USD.",
        human(output.mean),
        human(output.ci_low),
        human(output.ci_high),
        100.0 * output.mean / output_base.mean,
        human(output_base.mean)
    );
    println!(
        "   {}",
        if output.ci_low <= 0.0 && output.ci_high >= 0.0 {
            "The interval contains zero: useful output did not measurably change."
        } else if output.mean > 0.0 {
            "Useful output rose a little, but far less than the bill."
        } else {
            "Useful output fell."
        }
    );

    // 4. The measure stops being a good measure.
    let after = est("kirorank", "metric_value_correlation")?;
    println!("\n4. When a measure becomes a target, it ceases to be a good measure.");
    println!("   Correlation of tokens with value: {} before, {} once it is rewarded.", ci(&before, 2), ci(&after, 2));

    // 5. The switch to normalized deployments.
    let weekly = results.period_means("kirorank-then-normalized", "token_cost").ok_or("no token_cost series")?;
    let useful = results.period_means("kirorank-then-normalized", "useful_output").ok_or("no useful_output series")?;
    let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
    let settle = 4.min(switch);
    let (bill_kiro, bill_norm) = (mean(&weekly[settle..switch]), mean(&weekly[switch + settle..]));
    let (out_kiro, out_norm) = (mean(&useful[settle..switch]), mean(&useful[switch + settle..]));
    println!("\n5. At week {switch} the organisation switches to ranking by normalized deployments.");
    println!(
        "   Token bill per week: {} USD under Kirorank (weeks {settle}..{}) -> {} USD after (weeks {}..{}).",
        human(bill_kiro),
        switch - 1,
        human(bill_norm),
        switch + settle,
        weekly.len() - 1
    );
    println!("   Useful output per week: {} USD -> {} USD.", human(out_kiro), human(out_norm));
    println!(
        "   Behaviour settled by the end of the run: {}.",
        if results.settled("kirorank-then-normalized") { "yes" } else { "no (still moving or cycling)" }
    );

    println!("\nThe comparison (policy - {}):\n", results.policies[results.baseline]);
    print!("{}", table(&results));
    println!("\nVerdict: {}", verdict(&results));
    Ok(())
}

/// Mean and 95% CI of the per-replication ratio `a / b` (paired: the same
/// engineers and shocks under both policies).
fn paired_ratio(results: &Results, a: &str, b: &str, kpi: &str) -> Result<Estimate, String> {
    let (va, vb) = (results.values(a, kpi), results.values(b, kpi));
    let (va, vb) = va.zip(vb).ok_or_else(|| format!("no KPI {kpi} for {a} or {b}"))?;
    let r: Vec<f64> = va.iter().zip(&vb).map(|(x, y)| x / y.max(1e-9)).collect();
    Ok(Estimate::of(&r))
}

/// `mean [low, high]` with `digits` decimals.
fn ci(e: &Estimate, digits: usize) -> String {
    format!("{:.d$} [{:.d$}, {:.d$}]", e.mean, e.ci_low, e.ci_high, d = digits)
}

/// A share as a percentage with its CI.
fn pct(e: &Estimate) -> String {
    format!("{:.1}% [{:.1}, {:.1}]", 100.0 * e.mean, 100.0 * e.ci_low, 100.0 * e.ci_high)
}
