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

/// `summary.csv`: one row per policy and KPI defined under it. A KPI
/// undefined under a policy (a metric KPI of a policy with no metric) has
/// no row, so a script's `float(row["mean"])` never meets a placeholder;
/// a difference against a baseline where the KPI is undefined is left
/// empty (a missing value to pandas, R and polars).
pub fn summary_csv(r: &Results) -> String {
    let mut out = SUMMARY_COLUMNS.join(",") + ",unit\n";
    let units: Vec<&str> = r.kpis.iter().map(|k| k.unit.as_str()).collect();
    for row in r.summary() {
        let unit = r.kpi_index(&row.kpi).map_or("", |j| units[j]);
        let e = row.estimate;
        // No difference against a baseline where the KPI is undefined: empty fields.
        let d = row.diff.map_or_else(
            || ",,".to_string(),
            |d| format!("{},{},{}", fmt_num(d.mean), fmt_num(d.ci_low), fmt_num(d.ci_high)),
        );
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            csv_field(&row.policy),
            csv_field(&row.kpi),
            fmt_num(e.mean),
            fmt_num(e.ci_low),
            fmt_num(e.ci_high),
            e.n,
            d,
            csv_field(unit)
        );
    }
    out
}

/// The header line of `timeseries.csv`.
pub const TIMESERIES_HEADER: &str = "policy,replication,period,kpi,value\n";

/// The rows of `timeseries.csv` for one run: policy `policy` (a name) in
/// replication `rep`, one row per period and KPI defined in it (a metric
/// KPI in a period with no metric has no row). Called run by run as an
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
            // Undefined (a metric KPI with no metric): no observation, no row.
            if x.is_nan() {
                continue;
            }
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
    diff_vs_baseline: Option<f64>,
    diff_ci_low: Option<f64>,
    diff_ci_high: Option<f64>,
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
            diff_vs_baseline: row.diff.map(|d| d.mean),
            diff_ci_low: row.diff.map(|d| d.ci_low),
            diff_ci_high: row.diff.map(|d| d.ci_high),
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
    kpi.ends_with("_share") || kpi.ends_with("_rate")
}

/// Whether a KPI is shown to two decimals: correlations, and top-k
/// precision's lift over random (0 random, 1 perfect).
fn is_index(kpi: &str) -> bool {
    kpi.contains("correlation") || kpi == "top_k_precision"
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
    } else if is_index(kpi) {
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
    } else if is_index(kpi) {
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
         net_value = useful_output - token_cost - incident_cost - prizes and bonuses paid;\n\
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

/// A difference from the baseline is *material* when it is at least this
/// share of the baseline's value (in absolute terms): 1%. The model's
/// judgement parameters (prize, integrity, value per hour) move its
/// headline figures by several percent, so a smaller difference is not
/// something a leader should act on even when the replications resolve it;
/// a +0.04% token bill is precise, not important. Used for every colour in
/// the report and every "higher" in the verdict.
pub const MATERIAL_SHARE: f64 = 0.01;

/// Whether a paired difference is distinguishable from 0: its 95% CI
/// excludes 0 (which needs two replications; one has no spread).
pub fn distinguishable(d: &Estimate) -> bool {
    d.n >= 2 && (d.ci_low > 0.0 || d.ci_high < 0.0)
}

/// Whether a difference is material against a baseline whose mean is
/// `baseline`: at least [`MATERIAL_SHARE`] of `|baseline|` (any nonzero
/// difference from a baseline of 0).
pub fn material(d: &Estimate, baseline: f64) -> bool {
    d.mean != 0.0 && d.mean.abs() >= MATERIAL_SHARE * baseline.abs()
}

/// How a policy compares with the baseline on one KPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Better, distinguishably and materially.
    Better,
    /// Worse, distinguishably and materially.
    Worse,
    /// Neither: not distinguishable from the baseline, or not material.
    Neither,
}

/// Judges a paired difference `d` (policy - baseline) against a baseline
/// mean: better or worse only when distinguishable at 95% and material.
pub fn judge(d: &Estimate, baseline: f64, more_is_better: bool) -> Judgement {
    if !distinguishable(d) || !material(d, baseline) {
        Judgement::Neither
    } else if (d.mean > 0.0) == more_is_better {
        Judgement::Better
    } else {
        Judgement::Worse
    }
}

/// What net value means, as the verdict says it.
const NET_VALUE: &str = "net value (the organisation's P&L: useful output less the cost of tokens and incidents and the prizes and bonuses it pays)";

/// The verdict's first sentence: which policy, if any, is distinguishably
/// better than the baseline on net value, and which are distinguishably worse.
fn net_value_sentence(r: &Results) -> String {
    let base = &r.policies[r.baseline];
    let base_mean = r.estimate(base, "net_value").map_or(0.0, |e| e.mean);
    let pct = |d: &Estimate| {
        if base_mean != 0.0 { format!(" ({:+.1}%)", 100.0 * d.mean / base_mean.abs()) } else { String::new() }
    };
    let diffs: Vec<(&str, Estimate)> = r
        .policies
        .iter()
        .filter(|p| *p != base)
        .filter_map(|p| Some((p.as_str(), r.paired_diff(p, base, "net_value")?)))
        .collect();
    let better: Vec<&(&str, Estimate)> = diffs.iter().filter(|(_, d)| distinguishable(d) && d.mean > 0.0).collect();
    let mut worse: Vec<&(&str, Estimate)> = diffs.iter().filter(|(_, d)| distinguishable(d) && d.mean < 0.0).collect();
    worse.sort_by(|a, b| a.1.mean.total_cmp(&b.1.mean));
    let mut s = String::new();
    if let Some((best, d)) = better.iter().max_by(|a, b| a.1.mean.total_cmp(&b.1.mean)) {
        let which = if better.len() == 1 { "is the only policy" } else { "gives the most of the policies" };
        let _ = write!(
            s,
            "{best} {which} distinguishably better than {base} on {NET_VALUE}: {} USD{} over the run, 95% CI {}",
            signed(d.mean),
            pct(d),
            kpi_diff_interval("net_value", d)
        );
    } else {
        let _ = write!(s, "No policy is distinguishably better than {base} on {NET_VALUE}");
        if r.scenario.replications < 2 {
            s += ": one replication cannot tell a difference from noise (run two or more)";
        } else if let Some((top, d)) =
            diffs.iter().filter(|(_, d)| d.mean > 0.0).max_by(|a, b| a.1.mean.total_cmp(&b.1.mean))
        {
            let _ = write!(
                s,
                " (the highest, {top}, is {} USD with a 95% CI of {}: not distinguishable from 0)",
                signed(d.mean),
                kpi_diff_interval("net_value", d)
            );
        }
    }
    if !worse.is_empty() {
        let list: Vec<String> = worse.iter().map(|(p, d)| format!("{p} {} USD{}", signed(d.mean), pct(d))).collect();
        let verb = if worse.len() == 1 { "is" } else { "are" };
        let _ = write!(s, "; distinguishably worse than {base} on net value {verb} {}", list.join(", "));
    }
    s.push('.');
    s
}

/// A one-paragraph plain-language verdict. Its first sentence is about net
/// value after prizes, and names a best policy only when its paired
/// difference from the baseline is distinguishable at 95%.
pub fn verdict(r: &Results) -> String {
    let base = r.policies[r.baseline].clone();
    let m = |p: &str, k: &str| r.estimate(p, k).map_or(0.0, |e| e.mean);
    let mut s = net_value_sentence(r);
    // Whether that survives the model's assumptions.
    let tested = match &r.assumptions {
        Some(c) => crate::io::assumptions::sentence(&c.comparisons, c.size, &base),
        None => crate::io::assumptions::NOT_TESTED.to_string(),
    };
    let _ = write!(s, " {tested}");
    // What the engineers pay for the best policy in effort, when material.
    let best = r
        .policies
        .iter()
        .filter(|p| **p != base)
        .filter_map(|p| Some((p, r.paired_diff(p, &base, "net_value")?)))
        .filter(|(_, d)| distinguishable(d) && d.mean > 0.0)
        .max_by(|a, b| a.1.mean.total_cmp(&b.1.mean));
    if let Some((best, _)) = best {
        if let Some(effort) = r.paired_diff(best, &base, "effort_cost") {
            if effort.mean > 0.0 && distinguishable(&effort) && material(&effort, m(&base, "effort_cost")) {
                let _ = write!(
                    s,
                    " Engineers' effort cost under {best} is {} USD-equivalent higher (total_surplus counts it).",
                    human(effort.mean)
                );
            }
        }
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
            let share =
                |x: f64| format!("{:.1}%", 100.0 * x.abs() / m(&base, "useful_output").abs().max(f64::MIN_POSITIVE));
            let trend = match (distinguishable(&out), out.mean > 0.0) {
                (true, true) => format!("rose {}", share(out.mean)),
                (true, false) => format!("fell {}", share(out.mean)),
                (false, _) => "did not measurably change".to_string(),
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
    // Goodhart's signature, among the policies with a metric.
    let corr = |p: &str| {
        let e = |k: &str| r.estimate(p, k).map(|e| e.mean);
        Some((e("metric_value_correlation_before")?, e("metric_value_correlation")?))
    };
    let drops = r.policies.iter().filter(|p| **p != base).filter_map(|p| Some((p, corr(p)?)));
    if let Some((p, (before, after))) = drops.min_by(|a, b| (a.1.1 - a.1.0).total_cmp(&(b.1.1 - b.1.0))) {
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
    s
}

/// A policy of [`hand_results`]: its name, and per KPI its values by replication.
#[cfg(test)]
pub(crate) type HandPolicy<'a> = (&'a str, &'a [(&'a str, &'a [f64])]);

/// Results made by hand, for tests of what is said about them: these
/// policies (the first is the baseline), each with these per-replication
/// values of the named KPIs (every other KPI 0), one period.
#[cfg(test)]
pub(crate) fn hand_results(policies: &[HandPolicy]) -> Results {
    use crate::engine::RunOutput;
    let sc = crate::model::scenario::Scenario {
        policies: policies.iter().map(|(p, _)| crate::model::policy::Policy::none(*p)).collect(),
        periods: 1,
        replications: policies[0].1[0].1.len() as u32,
        ..Default::default()
    };
    let kpis =
        crate::analysis::kpi::kpi_defs(&crate::model::scenario::Scenario { activities: Vec::new(), ..sc.clone() });
    let runs = policies
        .iter()
        .map(|(_, values)| {
            (0..sc.replications as usize)
                .map(|rep| {
                    let mut totals = vec![0.0; kpis.len()];
                    for (k, v) in values.iter() {
                        totals[kpis.iter().position(|d| d.name == *k).unwrap()] = v[rep];
                    }
                    RunOutput { per_period: totals.clone(), totals, final_board: None }
                })
                .collect()
        })
        .collect();
    Results::by_hand(sc, kpis, runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_names_a_winner_only_when_distinguishable() {
        // Paired differences in net value against the baseline: A's are
        // 50, -20, 30 (mean 20, 95% CI 20 +- 4.30 x 36.1 / sqrt 3, about
        // [-70, 110]: not distinguishable); B's are -10 each (an interval
        // of zero width below 0: distinguishably worse).
        let base: &[f64] = &[100.0, 200.0, 300.0];
        let r = hand_results(&[
            ("base", &[("net_value", base)]),
            ("A", &[("net_value", &[150.0, 180.0, 330.0])]),
            ("B", &[("net_value", &[90.0, 190.0, 290.0])]),
        ]);
        let v = verdict(&r);
        let first = v.split_once(". ").map_or(v.as_str(), |(a, _)| a);
        assert!(first.starts_with("No policy is distinguishably better than base on net value"), "{first}");
        assert!(first.contains("the highest, A, is +20.0 USD"), "{first}");
        assert!(first.contains("distinguishably worse than base on net value is B -10.0 USD (-5.0%)"), "{first}");
        // A with differences 60, 60, 50 is distinguishable, and named.
        let r = hand_results(&[
            ("base", &[("net_value", base)]),
            ("A", &[("net_value", &[160.0, 260.0, 350.0])]),
            ("B", &[("net_value", &[90.0, 190.0, 290.0])]),
        ]);
        let v = verdict(&r);
        assert!(v.starts_with("A is the only policy distinguishably better than base on net value"), "{v}");
        assert!(v.contains("+56.7 USD (+28.3%)"), "{v}");
        // One replication has no spread: nothing is distinguishable.
        let one: &[f64] = &[100.0];
        let r = hand_results(&[("base", &[("net_value", one)]), ("A", &[("net_value", &[200.0])])]);
        assert!(verdict(&r).starts_with("No policy is distinguishably better"), "{}", verdict(&r));
    }

    #[test]
    fn a_difference_is_judged_only_when_distinguishable_and_material() {
        let d = |mean: f64, lo: f64, hi: f64| Estimate { mean, ci_low: lo, ci_high: hi, n: 12 };
        let base = 1e6;
        // +0.04% of a token bill, resolved by the replications: not material.
        assert_eq!(judge(&d(400.0, 300.0, 500.0), base, false), Judgement::Neither);
        // +2%, distinguishable: worse for a cost, better for output.
        assert_eq!(judge(&d(2e4, 1.5e4, 2.5e4), base, false), Judgement::Worse);
        assert_eq!(judge(&d(2e4, 1.5e4, 2.5e4), base, true), Judgement::Better);
        assert_eq!(judge(&d(-2e4, -2.5e4, -1.5e4), -base, true), Judgement::Worse);
        // +2% within noise: not distinguishable.
        assert_eq!(judge(&d(2e4, -5e3, 4.5e4), base, false), Judgement::Neither);
        // The threshold itself is material; just below it is not.
        let at = MATERIAL_SHARE * base;
        assert_eq!(judge(&d(at, 0.5 * at, 1.5 * at), base, false), Judgement::Worse);
        assert_eq!(judge(&d(0.999 * at, 0.5 * at, 1.5 * at), base, false), Judgement::Neither);
        // Against a baseline of 0, any distinguishable difference is material.
        assert_eq!(judge(&d(1e-3, 5e-4, 2e-3), 0.0, false), Judgement::Worse);
        assert_eq!(judge(&Estimate { n: 1, ..d(2e4, 2e4, 2e4) }, base, false), Judgement::Neither);
    }

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
