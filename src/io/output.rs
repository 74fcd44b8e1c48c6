//! Outputs: tidy CSV and JSON, a text table and a plain-language verdict.
//! Everything here renders into strings or writers; the caller decides
//! where the bytes go.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use crate::analysis::stats::Estimate;
use crate::experiment::Results;

/// The leading columns of `summary.csv` (a contract).
pub const SUMMARY_COLUMNS: [&str; 9] =
    ["policy", "kpi", "mean", "ci_low", "ci_high", "replications", "diff_vs_baseline", "diff_ci_low", "diff_ci_high"];

/// A CSV field, quoted when needed (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// A number as written in outputs: shortest round-trip form, no negative zero.
pub fn fmt_num(x: f64) -> String {
    Num(x).to_string()
}

/// [`fmt_num`]'s form, for writing without a string per number.
pub(crate) struct Num(pub f64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == 0.0 { f.write_str("0") } else { write!(f, "{}", self.0) }
    }
}

/// `summary.csv`: one row per policy and KPI.
pub fn summary_csv(r: &Results) -> String {
    let mut out = SUMMARY_COLUMNS.join(",") + ",unit\n";
    let units: Vec<&str> = r.kpis.iter().map(|k| k.unit.as_str()).collect();
    for row in r.summary() {
        let unit = r.kpi_index(&row.kpi).map_or("", |j| units[j]);
        let e = row.estimate;
        let d = row.diff;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            csv_field(&row.policy),
            csv_field(&row.kpi),
            fmt_num(e.mean),
            fmt_num(e.ci_low),
            fmt_num(e.ci_high),
            e.n,
            fmt_num(d.mean),
            fmt_num(d.ci_low),
            fmt_num(d.ci_high),
            csv_field(unit)
        );
    }
    out
}

/// The header line of `timeseries.csv`.
pub const TIMESERIES_HEADER: &str = "policy,replication,period,kpi,value\n";

/// The rows of `timeseries.csv` for one run: policy `policy` (a name) in
/// replication `rep`, one row per period and KPI. Called run by run as an
/// experiment streams ([`crate::run_streaming`]).
pub fn write_timeseries_rows(
    policy: &str,
    rep: usize,
    kpis: &[crate::analysis::kpi::KpiDef],
    run: &crate::engine::RunOutput,
    w: &mut impl Write,
) -> io::Result<()> {
    // A story's series has hundreds of thousands of rows: each row's text is
    // put together from pieces made once, without a string per number.
    let policy = csv_field(policy);
    let names: Vec<String> = kpis.iter().map(|d| format!("{},", csv_field(&d.name))).collect();
    let mut prefix = String::new();
    for (t, row) in run.per_period.chunks(kpis.len()).enumerate() {
        prefix.clear();
        let _ = write!(prefix, "{policy},{rep},{t},");
        for (name, &x) in names.iter().zip(row) {
            w.write_all(prefix.as_bytes())?;
            w.write_all(name.as_bytes())?;
            writeln!(w, "{}", Num(x))?;
        }
    }
    Ok(())
}

/// `timeseries.csv` from results that kept their series ([`crate::run`]):
/// `policy,replication,period,kpi,value`, one observation per row, in the
/// order a streamed run writes them (replication by replication, policies
/// in scenario order).
pub fn write_timeseries_csv(r: &Results, w: &mut impl Write) -> io::Result<()> {
    w.write_all(TIMESERIES_HEADER.as_bytes())?;
    for rep in 0..r.scenario.replications as usize {
        for (p, runs) in r.runs.iter().enumerate() {
            if let Some(run) = runs.get(rep) {
                write_timeseries_rows(&r.policies[p], rep, &r.kpis, run, w)?;
            }
        }
    }
    Ok(())
}

/// `final_board.csv`: `policy,engineer,metric,value` at the end of the
/// first replication (each engineer's published metric and the value they
/// produced in the last period): the data of the leaderboard-against-reality chart.
pub fn final_board_csv(r: &Results) -> String {
    let mut out = String::from("policy,engineer,metric,value\n");
    for (p, runs) in r.runs.iter().enumerate() {
        if let Some((metric, value)) = runs.first().and_then(|run| run.final_board.as_ref()) {
            let policy = csv_field(&r.policies[p]);
            for (i, (m, v)) in metric.iter().zip(value).enumerate() {
                let _ = writeln!(out, "{policy},{i},{},{}", fmt_num(*m), fmt_num(*v));
            }
        }
    }
    out
}

/// Splits one CSV line into fields (RFC 4180 quoting, as [`csv_field`] writes it).
pub(crate) fn csv_split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[derive(Serialize)]
struct JsonRow<'a> {
    policy: &'a str,
    kpi: &'a str,
    mean: f64,
    ci_low: f64,
    ci_high: f64,
    replications: usize,
    diff_vs_baseline: f64,
    diff_ci_low: f64,
    diff_ci_high: f64,
    unit: &'a str,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    scenario: &'a str,
    seed: u64,
    replications: u32,
    periods: u32,
    burn_in: u32,
    baseline: &'a str,
    policies: Vec<JsonPolicy<'a>>,
    rows: Vec<JsonRow<'a>>,
    verdict: String,
    /// The conclusions tested against the assumptions (absent when not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    assumptions: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct JsonPolicy<'a> {
    name: &'a str,
    description: &'a str,
    settled: bool,
}

/// `summary.json`: the same rows as `summary.csv`, plus the verdict,
/// whether behaviour settled under each policy and, when it was run, the
/// check against the assumptions.
pub fn summary_json(r: &Results) -> String {
    let summary = r.summary();
    let rows = summary
        .iter()
        .map(|row| JsonRow {
            policy: &row.policy,
            kpi: &row.kpi,
            mean: row.estimate.mean,
            ci_low: row.estimate.ci_low,
            ci_high: row.estimate.ci_high,
            replications: row.estimate.n,
            diff_vs_baseline: row.diff.mean,
            diff_ci_low: row.diff.ci_low,
            diff_ci_high: row.diff.ci_high,
            unit: r.kpi_index(&row.kpi).map_or("", |j| r.kpis[j].unit.as_str()),
        })
        .collect();
    let doc = JsonSummary {
        scenario: &r.scenario.name,
        seed: r.scenario.seed,
        replications: r.scenario.replications,
        periods: r.scenario.periods,
        burn_in: r.scenario.burn_in,
        baseline: &r.policies[r.baseline],
        policies: r
            .scenario
            .policies
            .iter()
            .map(|p| JsonPolicy { name: &p.name, description: &p.description, settled: r.settled(&p.name) })
            .collect(),
        rows,
        verdict: verdict(r),
        assumptions: r.assumptions.as_ref().map(crate::io::assumptions::json),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// A compact human number to three significant figures, with k, M and B
/// for thousands, millions and billions: 1.23M, 45.6k, 755, 0.123. The
/// one number style of tables, charts, the report and the story.
pub fn human(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let mut scaled = x;
    let mut unit = 0;
    const UNITS: [&str; 5] = ["", "k", "M", "B", "T"];
    loop {
        let text = sig3(scaled);
        // 999.7 rounds to 1000: write it as 1.00k.
        let rounded: f64 = text.parse().unwrap_or(scaled);
        if rounded.abs() >= 1000.0 && unit + 1 < UNITS.len() {
            scaled /= 1000.0;
            unit += 1;
            continue;
        }
        return if text == "0" || text.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
            "0".into()
        } else {
            text + UNITS[unit]
        };
    }
}

/// `x` to three significant figures, in plain notation, with at most three
/// decimals (below 0.0005 a number shows as 0: no "0.000000000002").
fn sig3(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        return "0".into();
    }
    let magnitude = a.log10().floor() as i32;
    let mut decimals = (2 - magnitude).clamp(0, 3) as usize;
    // 0.9997 rounds up to 1.000: one decimal fewer keeps three figures.
    if format!("{a:.decimals$}").parse::<f64>().is_ok_and(|r| r >= 10f64.powi(magnitude + 1)) {
        decimals = decimals.saturating_sub(1);
    }
    format!("{x:.decimals$}")
}

/// [`human`] with a sign: `+1.23M`, `-450`.
pub fn signed(x: f64) -> String {
    let h = human(x);
    if x > 0.0 && h != "0" { format!("+{h}") } else { h }
}

/// Whether a KPI is a share of a whole (shown as a percentage).
pub fn is_share(kpi: &str) -> bool {
    kpi.ends_with("_share") || kpi.ends_with("_rate") || kpi == "top_k_precision"
}

/// Whether a KPI cannot be negative (a cost, an amount paid, output, a
/// share, hours or a count): its confidence interval is shown from 0.
pub fn cannot_be_negative(kpi: &str) -> bool {
    is_share(kpi)
        || kpi.starts_with("hours.")
        || matches!(
            kpi,
            "token_cost" | "incident_cost" | "bonus_paid" | "effort_cost" | "useful_output" | "deployments"
        )
}

/// A KPI's value as people read it: shares as percentages, correlations to
/// two decimals, everything else with [`human`].
pub fn kpi_value(kpi: &str, x: f64) -> String {
    if is_share(kpi) {
        format!("{:.1}%", 100.0 * x)
    } else if kpi.contains("correlation") {
        format!("{x:.2}")
    } else {
        human(x)
    }
}

/// A difference in a KPI, signed, in the KPI's style (shares in
/// percentage points).
pub fn kpi_diff(kpi: &str, x: f64) -> String {
    if is_share(kpi) {
        format!("{:+.1} pt", 100.0 * x)
    } else if kpi.contains("correlation") {
        format!("{x:+.2}")
    } else {
        signed(x)
    }
}

/// An estimate's 95% interval in the KPI's style, `[lo, hi]`. A KPI that
/// cannot be negative has its lower end shown as at least 0: the normal
/// approximation can dip below zero for a cost, and only the display is
/// clamped (the files keep the computed bound).
pub fn kpi_interval(kpi: &str, e: &Estimate) -> String {
    let lo = if cannot_be_negative(kpi) { e.ci_low.max(0.0) } else { e.ci_low };
    format!("[{}, {}]", kpi_value(kpi, lo), kpi_value(kpi, e.ci_high))
}

/// A paired difference's 95% interval in the KPI's style.
pub fn kpi_diff_interval(kpi: &str, e: &Estimate) -> String {
    let f = |x: f64| if is_share(kpi) { format!("{:.1}", 100.0 * x) } else { kpi_value(kpi, x) };
    format!("[{}, {}]", f(e.ci_low), f(e.ci_high))
}

/// An estimate as `mean ±half-width` in the KPI's style.
fn pm(kpi: &str, e: &Estimate) -> String {
    let half = (e.ci_high - e.ci_low) / 2.0;
    if is_share(kpi) {
        format!("{:.1}% ±{:.1}", 100.0 * e.mean, 100.0 * half)
    } else {
        format!("{} ±{}", kpi_value(kpi, e.mean), kpi_value(kpi, half))
    }
}

/// KPIs shown in the text table.
pub(crate) const TABLE_KPIS: [&str; 5] = ["token_cost", "useful_output", "incident_cost", "net_value", "gaming_share"];

/// The terminal's width the text tables fit.
pub const TERMINAL_COLUMNS: usize = 100;

/// The comparison table: policies x main KPIs, mean ±95% CI half-width,
/// and the paired difference in net value against the baseline. Columns
/// that would pass [`TERMINAL_COLUMNS`] go to a second block, each block
/// repeating the policy names.
pub fn table(r: &Results) -> String {
    let base = &r.policies[r.baseline];
    let mut columns: Vec<Vec<String>> = Vec::new();
    for k in TABLE_KPIS {
        let mut col = vec![k.to_string()];
        col.extend(r.policies.iter().map(|p| r.estimate(p, k).map(|e| pm(k, &e)).unwrap_or_default()));
        columns.push(col);
    }
    let mut vs = vec!["net_value vs baseline".to_string()];
    vs.extend(r.policies.iter().map(|p| {
        if p == base {
            "(baseline)".into()
        } else {
            let d = r.paired_diff(p, base, "net_value").unwrap_or(Estimate::of(&[]));
            format!("{} {}", signed(d.mean), kpi_diff_interval("net_value", &d))
        }
    }));
    columns.push(vs);
    let mut names = vec!["policy".to_string()];
    names.extend(r.policies.iter().cloned());
    let mut out = blocks(&names, &columns, TERMINAL_COLUMNS);
    let _ = writeln!(
        out,
        "USD totals over weeks {}-{} per replication; mean ±95% CI half-width over {} replications;\n\
         vs baseline: paired difference against {base} [95% CI].",
        r.scenario.burn_in + 1,
        r.scenario.periods,
        r.scenario.replications
    );
    out
}

/// Lays out a table whose first column (`names`) repeats in each block and
/// whose other `columns` (header first) are packed into blocks no wider
/// than `width`, with a rule under each header.
pub fn blocks(names: &[String], columns: &[Vec<String>], width: usize) -> String {
    let w = |c: &[String]| c.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let name_w = w(names);
    let mut out = String::new();
    let mut start = 0;
    while start < columns.len() {
        let mut end = start;
        let mut used = name_w;
        while end < columns.len() && (end == start || used + 2 + w(&columns[end]) <= width) {
            used += 2 + w(&columns[end]);
            end += 1;
        }
        if start > 0 {
            out.push('\n');
        }
        for (i, name) in names.iter().enumerate() {
            let mut line = format!("{name:<name_w$}");
            for col in &columns[start..end] {
                let cw = w(col);
                let _ = write!(line, "  {:>cw$}", col.get(i).map_or("", String::as_str));
            }
            out += line.trim_end();
            out.push('\n');
            if i == 0 {
                out += &"-".repeat(used);
                out.push('\n');
            }
        }
        start = end;
    }
    out
}

/// `text` wrapped at spaces into lines of at most `width` characters (a
/// word longer than that gets a line of its own), continuation lines
/// indented by `indent` spaces.
pub fn wrap(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut len = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let n = word.chars().count();
        if len > 0 && len + 1 + n > width {
            out.push('\n');
            out += &" ".repeat(indent);
            len = indent;
        } else if len > 0 {
            out.push(' ');
            len += 1;
        }
        out += word;
        len += n;
    }
    out
}

/// The smallest token bill (USD over the run) that the verdict compares.
const MIN_BILL: f64 = 1.0;

/// A one-paragraph plain-language verdict.
pub fn verdict(r: &Results) -> String {
    let base = r.policies[r.baseline].clone();
    let m = |p: &str, k: &str| r.estimate(p, k).map_or(0.0, |e| e.mean);
    let mut s = String::new();
    // Best net value.
    let best =
        r.policies.iter().max_by(|a, b| m(a, "net_value").total_cmp(&m(b, "net_value"))).cloned().unwrap_or_default();
    if best == base {
        let _ = write!(s, "No policy beats {base} on net value (useful output minus token and incident cost).");
    } else {
        let d = r.paired_diff(&best, &base, "net_value").unwrap_or(Estimate::of(&[]));
        let sure = if d.ci_low > 0.0 { "" } else { " (not distinguishable from zero at 95%)" };
        let _ = write!(s, "{best} gives the most net value: {} USD more than {base}{sure}", human(d.mean));
        let bonus = m(&best, "bonus_paid") - m(&base, "bonus_paid");
        let effort = m(&best, "effort_cost") - m(&base, "effort_cost");
        if bonus > 0.0 {
            let _ = write!(
                s,
                ", before the {} USD it pays in prizes and bonuses (a transfer, not in net value)",
                human(bonus)
            );
        }
        if effort > 0.01 * m(&base, "effort_cost").abs() {
            let _ = write!(s, "; engineers' effort cost is {} USD higher", human(effort));
        }
        s.push('.');
    }
    // Output per dollar of tokens, and the token bill against the baseline's:
    // only where every policy has a bill to speak of (an organisation that
    // uses no AI has none, and the ratios would be noise over zero).
    let billed = r.policies.iter().all(|p| m(p, "token_cost") >= MIN_BILL);
    let per = |p: &str| m(p, "useful_output") / m(p, "token_cost");
    if let Some(eff) = r.policies.iter().filter(|_| billed).max_by(|a, b| per(a).total_cmp(&per(b))) {
        let _ = write!(s, " {eff} buys the most useful output per dollar of tokens ({} USD per USD).", human(per(eff)));
    }
    // Token bill.
    let bill = |p: &str| m(p, "token_cost") / m(&base, "token_cost");
    if let Some(worst) = r.policies.iter().filter(|_| billed).max_by(|a, b| bill(a).total_cmp(&bill(b))) {
        if bill(worst) > 1.2 {
            let out = r.paired_diff(worst, &base, "useful_output").unwrap_or(Estimate::of(&[]));
            let trend = if out.ci_low > 0.0 {
                "rose"
            } else if out.ci_high < 0.0 {
                "fell"
            } else {
                "did not measurably change"
            };
            let _ =
                write!(s, " Under {worst} the token bill is {:.1}x {base}'s while useful output {trend}.", bill(worst));
        }
    }
    // Gaming.
    let gamed: Vec<String> = r
        .policies
        .iter()
        .filter(|p| m(p, "gaming_share") > 0.01)
        .map(|p| format!("{p} ({} of hours)", kpi_value("gaming_share", m(p, "gaming_share"))))
        .collect();
    if gamed.is_empty() {
        s += " No policy led engineers to game.";
    } else {
        let _ = write!(s, " Gaming appeared under {}.", gamed.join(", "));
    }
    // Goodhart's signature.
    if let Some(p) = r.policies.iter().filter(|p| **p != base).min_by(|a, b| {
        let drop = |p: &str| m(p, "metric_value_correlation") - m(p, "metric_value_correlation_before");
        drop(a).total_cmp(&drop(b))
    }) {
        let (before, after) = (m(p, "metric_value_correlation_before"), m(p, "metric_value_correlation"));
        if before - after > 0.1 {
            let _ = write!(
                s,
                " Once rewarded, {p}'s metric stopped tracking value: its rank correlation with true value fell from {before:.2} to {after:.2}."
            );
        }
    }
    let unsettled: Vec<&str> = r.policies.iter().filter(|p| !r.settled(p)).map(|p| p.as_str()).collect();
    if !unsettled.is_empty() {
        let _ = write!(
            s,
            " Behaviour had not settled by the end under {} (hours still moving; averages hide it).",
            unsettled.join(", ")
        );
    }
    // Whether the conclusions survive the model's assumptions.
    let base = &r.policies[r.baseline];
    let tested = match &r.assumptions {
        Some(c) => crate::io::assumptions::sentence(&c.comparisons, c.size, base),
        None => crate::io::assumptions::NOT_TESTED.to_string(),
    };
    let _ = write!(s, " {tested}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_one_style() {
        let cases = [
            (755_212.0, "755k"),
            (7938.0, "7.94k"),
            (2_334_000.0, "2.33M"),
            (-1984.0, "-1.98k"),
            (999.7, "1.00k"),
            (64.55, "64.5"),
            (0.0396, "0.040"),
            (2e-12, "0"),
            (-3e-9, "0"),
            (0.0, "0"),
        ];
        for (x, want) in cases {
            assert_eq!(human(x), want, "{x}");
        }
        assert_eq!(signed(12_400.0), "+12.4k");
        assert_eq!(kpi_value("gaming_share", 0.0713), "7.1%");
        // A cost's interval is shown from 0; a difference's is not.
        let e = Estimate { mean: 10.0, ci_low: -4.0, ci_high: 24.0, n: 3 };
        assert_eq!(kpi_interval("token_cost", &e), "[0, 24.0]");
        assert_eq!(kpi_diff_interval("token_cost", &e), "[-4.00, 24.0]");
    }

    #[test]
    fn wrap_breaks_at_spaces_within_the_width() {
        let text = "the token bill is 2.6x the organisation under no-leaderboard; useful output is flat";
        let w = wrap(text, 30, 4);
        assert!(w.lines().all(|l| l.chars().count() <= 30), "{w}");
        assert_eq!(w.split_whitespace().collect::<Vec<_>>(), text.split_whitespace().collect::<Vec<_>>());
        assert!(w.lines().skip(1).all(|l| l.starts_with("    ")), "{w}");
    }
}
