//! The HTML report: one self-contained file with the verdict, the summary
//! table, the charts inline as SVG, the scenario as resolved and how to
//! reproduce the run. Rendered with a template engine that escapes every
//! string from the scenario.

use minijinja::{Environment, Value, context};
use serde::Serialize;

use crate::experiment::Results;
use crate::io::chart::{self, Chart};
use crate::io::output::{
    Judgement, MATERIAL_SHARE, human, is_share, judge, kpi_diff, kpi_diff_interval, kpi_interval, kpi_value,
};
use crate::io::report_data::ReportData;

/// KPIs in the report's table: name, column heading, and whether more
/// is better (`None`: neither). Net value, the organisation's P&L after
/// prizes, comes first.
const TABLE: [(&str, &str, Option<bool>); 8] = [
    ("net_value", "net value (after prizes)", Some(true)),
    ("useful_output", "useful output", Some(true)),
    ("token_cost", "token cost", Some(false)),
    ("incident_cost", "incident cost", Some(false)),
    ("bonus_paid", "prizes and bonuses", Some(false)),
    ("gaming_share", "gaming share of hours", Some(false)),
    ("total_surplus", "total surplus (incl. engineers)", Some(true)),
    ("metric_value_correlation", "metric–value correlation", Some(true)),
];

/// KPIs of the report's second table, shown when the scenario has
/// turnover or eroding norms (the KPIs are absent otherwise).
const PEOPLE: [(&str, &str, Option<bool>); 6] = [
    ("leavers", "leavers", None),
    ("regretted_exits", "regretted leavers", Some(false)),
    ("hiring_cost", "hiring cost", Some(false)),
    ("mean_skill", "mean skill", Some(true)),
    ("mean_integrity", "mean integrity", Some(true)),
    ("never_game_share", "never game", Some(true)),
];

/// One table cell: a number, a muted second line (the interval's
/// half-width), the full interval on hover, and a class for colour.
#[derive(Serialize)]
struct Cell {
    text: String,
    note: String,
    hover: String,
    class: &'static str,
}

impl Cell {
    fn empty() -> Cell {
        Cell { text: String::new(), note: String::new(), hover: String::new(), class: "" }
    }
}

const TEMPLATE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} — goodhart report</title>
<style>
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em auto; max-width: 1180px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.verdict { background: #f4f7fb; border-left: 4px solid #0072b2; padding: .8em 1em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .8em; }
th, td { border: 1px solid #ddd; padding: .3em .45em; text-align: right; vertical-align: top; }
th { font-weight: 600; background: #fafafa; }
th.kpi { text-align: center; } th.sub { font-weight: normal; color: #555; }
td { white-space: nowrap; font-variant-numeric: tabular-nums; }
th:first-child, td:first-child { text-align: left; }
td.policy { max-width: 16em; overflow: hidden; text-overflow: ellipsis; }
td.better { background: #e3f2ea; } td.worse { background: #fbe5dc; }
td small { color: #666; display: block; font-size: .85em; }
figure { margin: 1.5em 0; } figcaption { font-weight: bold; margin-bottom: .3em; }
.pair { display: grid; grid-template-columns: 1fr; gap: 1em; align-items: start; }
@media (min-width: 1900px) { body { max-width: 1800px; } .pair { grid-template-columns: 1fr 1fr; } }
svg.chart { width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: .8em; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="verdict">{{ verdict }}</p>
<h2>Summary</h2>
<p>Per policy, each KPI's mean over {{ replications }} replications (USD totals over weeks {{ first_week }}-{{ last_week }}), with the 95% confidence interval's half-width below it (the interval on hover). "vs baseline": the paired difference against {{ baseline }} (common random numbers: the same engineers and shocks under every policy). Net value is the organisation's P&L: useful output less the token bill, incident cost and the prizes and bonuses it pays; total surplus adds the prizes back (a transfer to engineers) and takes off engineers' effort cost. Green: better than the baseline, red: worse, only where the difference is both distinguishable (its paired 95% interval excludes 0) and material (at least {{ material }}% of the baseline's value); uncoloured differences are noise or too small to act on. Lower ends of costs and shares are shown from 0; "–": no metric, so no metric–value correlation.</p>
<div class="scroll"><table>
<tr><th rowspan="2">policy</th>{% for k in kpis %}<th class="kpi" colspan="2">{{ k }}</th>{% endfor %}</tr>
<tr>{% for k in kpis %}<th class="sub">mean</th><th class="sub">vs baseline</th>{% endfor %}</tr>
{% for row in table %}<tr><td class="policy" title="{{ row.policy }}">{{ row.policy }}</td>{% for c in row.cells %}<td class="{{ c.class }}" title="{{ c.hover }}">{{ c.text }}<small>{{ c.note }}</small></td>{% endfor %}</tr>
{% endfor %}</table></div>
{% if people %}<h2>People: who left and who stayed</h2>
<p>With turnover, over the same weeks: engineers who left (each replaced by a hire), those more skilled than the starting median engineer among them, what hiring their replacements cost (also taken off net value), and the make-up of the organisation, as means over the weeks. Colours as above; fewer leavers is neither better nor worse in itself.</p>
<div class="scroll"><table>
<tr><th rowspan="2">policy</th>{% for k in people_kpis %}<th class="kpi" colspan="2">{{ k }}</th>{% endfor %}</tr>
<tr>{% for k in people_kpis %}<th class="sub">mean</th><th class="sub">vs baseline</th>{% endfor %}</tr>
{% for row in people %}<tr><td class="policy" title="{{ row.policy }}">{{ row.policy }}</td>{% for c in row.cells %}<td class="{{ c.class }}" title="{{ c.hover }}">{{ c.text }}<small>{{ c.note }}</small></td>{% endfor %}</tr>
{% endfor %}</table></div>{% endif %}
{% if assumptions %}<h2>Tested against the assumptions</h2>
<p>{{ assumptions.samples }} organisations sampled from the plausible ranges of the model's judgement parameters (a Latin hypercube; docs/model.md section 12 gives each range and its source), {{ assumptions.replications }} replication each, every policy against {{ baseline }} as above. "Holds in": the share of them in which the difference keeps the sign it has here (— where that sign is not distinguishable at 95%). "Flipped by": parameters that alone, within their range, take it to the other side of zero. assumptions.csv has every swing; assumption_samples.csv every organisation.</p>
<div class="scroll"><table>
<tr><th>policy</th><th>KPI</th><th>difference here</th><th>holds in</th><th>flipped by</th><th>widest swing (low → high end)</th></tr>
{% for r in assumptions.rows %}<tr><td class="policy" title="{{ r.policy }}">{{ r.policy }}</td><td>{{ r.kpi }}</td><td>{{ r.diff }}</td><td>{{ r.holds }}</td><td>{{ r.flips }}</td><td>{{ r.swing }}</td></tr>
{% endfor %}</table></div>
{% if tornado %}<figure id="{{ tornado.name }}"><figcaption>{{ tornado.title }}</figcaption>
{{ tornado.svg }}
</figure>{% endif %}
{% endif %}
<h2>Charts</h2>
<div class="pair">
{% for c in charts[:2] %}<figure id="{{ c.name }}"><figcaption>{{ c.title }}</figcaption>
{{ c.svg }}
</figure>
{% endfor %}</div>
{% for c in charts[2:] %}<figure id="{{ c.name }}"><figcaption>{{ c.title }}</figcaption>
{{ c.svg }}
</figure>
{% endfor %}
<h2>Scenario as resolved</h2>
<pre>{{ scenario }}</pre>
<h2>Reproduce</h2>
<pre>{{ command }}</pre>
<p>Seed {{ seed }}; goodhart {{ version }}. The same scenario and seed give byte-identical summary.csv and timeseries.csv on any number of threads. Weeks are numbered from 1 here; the files number periods from 0.</p>
</body>
</html>
"#;

/// One table of the report: per policy, each of `kpis`' mean and its
/// paired difference against the baseline, coloured where better or worse.
fn kpi_table(d: &ReportData, kpis: &[(&str, &str, Option<bool>)]) -> Vec<Value> {
    let base = &d.policies[d.baseline];
    d.policies
        .iter()
        .map(|p| {
            let mut cells: Vec<Cell> = Vec::new();
            for &(k, _, more_better) in kpis {
                let Some(row) = d.rows.iter().find(|r| &r.policy == p && r.kpi == k) else {
                    // Undefined under this policy (a metric KPI with no metric).
                    let none = || Cell { text: "–".into(), hover: "no metric".into(), ..Cell::empty() };
                    cells.extend([none(), none()]);
                    continue;
                };
                let (e, f) = (row.estimate, row.diff);
                let half = |e: &crate::analysis::stats::Estimate| (e.ci_high - e.ci_low) / 2.0;
                let pm = |x: f64| {
                    if is_share(k) { format!("±{:.1} pt", 100.0 * x) } else { format!("±{}", kpi_value(k, x)) }
                };
                cells.push(Cell {
                    text: kpi_value(k, e.mean),
                    note: pm(half(&e)),
                    hover: format!("95% CI {}", kpi_interval(k, &e)),
                    class: "",
                });
                if p == base {
                    cells.push(Cell { text: "baseline".into(), ..Cell::empty() });
                    continue;
                }
                let Some(f) = f else {
                    let hover = format!("{base} has no metric to compare with");
                    cells.push(Cell { text: "n/a".into(), hover, ..Cell::empty() });
                    continue;
                };
                let base_mean =
                    d.rows.iter().find(|r| &r.policy == base && r.kpi == k).map_or(0.0, |r| r.estimate.mean);
                let class = match more_better.map(|up| judge(&f, base_mean, up)) {
                    Some(Judgement::Better) => "better",
                    Some(Judgement::Worse) => "worse",
                    _ => "",
                };
                cells.push(Cell {
                    text: kpi_diff(k, f.mean),
                    note: pm(half(&f)),
                    hover: format!("paired 95% CI {}", kpi_diff_interval(k, &f)),
                    class,
                });
            }
            context! { policy => p, cells => cells }
        })
        .collect()
}

/// Makes a plotters SVG fit to inline in HTML: a `chart` class for styling
/// and tests, and no namespace URL (inline SVG in HTML needs none).
fn inline_svg(svg: &str) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1).replacen("<svg ", "<svg class=\"chart\" ", 1)
}

/// Renders the report. `charts` are the SVG charts to inline.
pub fn html(d: &ReportData, charts: &[Chart]) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_template("report.html", TEMPLATE).map_err(|e| e.to_string())?;
    let base = &d.policies[d.baseline];
    let reps = d.rows.first().map_or(0, |r| r.estimate.n);
    let table = kpi_table(d, &TABLE);
    // Only the people KPIs the scenario reports (all or none of them, by scenario).
    let people_keys: Vec<_> = PEOPLE.iter().copied().filter(|(k, ..)| d.rows.iter().any(|r| r.kpi == *k)).collect();
    let people = (!people_keys.is_empty()).then(|| kpi_table(d, &people_keys));
    let inline =
        |c: &Chart| context! { name => c.name, title => c.title, svg => Value::from_safe_string(inline_svg(&c.svg)) };
    let tornado = charts.iter().find(|c| c.name == "tornado").map(inline);
    let charts: Vec<Value> = charts.iter().filter(|c| c.name != "tornado").map(inline).collect();
    let assumptions = d.assumptions.as_ref().map(|(size, comparisons)| {
        let rows: Vec<Value> = comparisons
            .iter()
            .map(|c| {
                let swing = c.swings.first().map_or(String::new(), |s| {
                    format!("{}: {} → {}", s.parameter, kpi_diff(&c.kpi, s.at_low), kpi_diff(&c.kpi, s.at_high))
                });
                context! {
                    policy => c.policy,
                    kpi => c.kpi,
                    diff => kpi_diff(&c.kpi, c.at_scenario.mean),
                    holds => c.share_holds.map_or("—".to_string(), crate::io::assumptions::percent),
                    flips => c.flips().join(", "),
                    swing => swing,
                }
            })
            .collect();
        context! { samples => size.samples, replications => size.replications, rows => rows }
    });
    env.get_template("report.html")
        .and_then(|t| {
            t.render(context! {
                title => d.title,
                verdict => d.verdict,
                baseline => base,
                material => format!("{}", MATERIAL_SHARE * 100.0),
                replications => reps,
                kpis => TABLE.iter().map(|t| t.1).collect::<Vec<_>>(),
                people_kpis => people_keys.iter().map(|t| t.1).collect::<Vec<_>>(),
                people => people,
                first_week => d.burn_in + 1,
                last_week => d.periods,
                table => table,
                charts => charts,
                tornado => tornado,
                assumptions => assumptions,
                scenario => d.scenario_toml,
                command => d.command,
                seed => d.seed,
                version => env!("CARGO_PKG_VERSION"),
            })
        })
        .map_err(|e| e.to_string())
}

/// The charts and the report for a set of results: (charts, HTML).
pub fn build(r: &Results, command: &str) -> Result<(Vec<Chart>, String), String> {
    render(&ReportData::from_results(r, command))
}

/// The charts and the report for report data: (charts, HTML).
pub fn render(d: &ReportData) -> Result<(Vec<Chart>, String), String> {
    let charts = chart::all(d)?;
    let html = html(d, &charts)?;
    Ok((charts, html))
}

const SWEEP_TEMPLATE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} — goodhart sweep</title>
<style>
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em auto; max-width: 1180px; color: #222; padding: 0 1em; line-height: 1.45; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .8em; }
th, td { border: 1px solid #ddd; padding: .3em .45em; text-align: right; }
th { font-weight: 600; background: #fafafa; } th.sub { font-weight: normal; color: #555; } th[colspan] { text-align: center; }
td { white-space: nowrap; font-variant-numeric: tabular-nums; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 1.5em 0; } figcaption { font-weight: bold; margin-bottom: .3em; }
svg.chart { width: 100%; height: auto; border: 1px solid #eee; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>Robustness of each policy and lever point across {{ organisations }} sampled organisations: net value (USD per run) and useful output per USD of tokens. Regret is the shortfall against the best policy and lever point in the same organisation. robustness.csv has every column at full precision.</p>
<div class="scroll"><table>
<tr><th rowspan="2">policy, lever</th><th colspan="5">net value (USD)</th><th colspan="4">useful output per USD of tokens</th></tr>
<tr>{% for h in header %}<th class="sub">{{ h }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table></div>
<figure id="{{ chart.name }}"><figcaption>{{ chart.title }}</figcaption>
{{ chart.svg }}
</figure>
</body>
</html>
"#;

/// The sweep's report: the robustness table and its chart, one
/// self-contained page. `labels` name each row (policy and lever values).
pub fn sweep_html(
    title: &str,
    robustness: &[crate::analysis::sweep::RobustnessRow],
    labels: &[String],
    chart: &Chart,
) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_template("sweep.html", SWEEP_TEMPLATE).map_err(|e| e.to_string())?;
    let header = ["mean", "10th pct", "worst", "regret mean", "regret max", "mean", "10th pct", "worst", "regret mean"];
    let rows: Vec<Vec<String>> = robustness
        .iter()
        .zip(labels)
        .map(|(r, l)| std::iter::once(l.clone()).chain(crate::io::sweep::robustness_numbers(r).map(human)).collect())
        .collect();
    let organisations = robustness.first().map(|r| r.organisations.to_string()).unwrap_or_default();
    env.get_template("sweep.html")
        .and_then(|t| {
            t.render(context! {
                title => title,
                header => header,
                rows => rows,
                organisations => organisations,
                chart => context! { name => chart.name, title => chart.title, svg => Value::from_safe_string(inline_svg(&chart.svg)) },
            })
        })
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::output::hand_results;

    /// The class of a policy's "vs baseline" cell for a KPI of [`TABLE`].
    fn class_of(html: &str, policy: &str, kpi: &str) -> String {
        let row =
            html.lines().find(|l| l.starts_with(&format!("<tr><td class=\"policy\" title=\"{policy}\">"))).unwrap();
        let j = TABLE.iter().position(|t| t.0 == kpi).unwrap();
        let cell = row.split("<td class=\"").nth(2 + 2 * j + 1).unwrap();
        cell.split('"').next().unwrap().to_string()
    }

    #[test]
    fn only_distinguishable_and_material_differences_are_coloured() {
        // Token bills of 1M: +0.04% in every replication (resolved, not
        // material), +2% (resolved and material), +2% within noise.
        let base: &[f64] = &[1e6, 1.1e6, 0.9e6];
        let r = hand_results(&[
            ("base", &[("token_cost", base)]),
            ("tiny", &[("token_cost", &[1.0004e6, 1.10044e6, 0.90036e6])]),
            ("big", &[("token_cost", &[1.02e6, 1.122e6, 0.918e6])]),
            ("noisy", &[("token_cost", &[1.2e6, 0.95e6, 0.91e6])]),
        ]);
        let html = html(&ReportData::from_results(&r, "x"), &[]).unwrap();
        assert_eq!(class_of(&html, "tiny", "token_cost"), "");
        assert_eq!(class_of(&html, "big", "token_cost"), "worse");
        assert_eq!(class_of(&html, "noisy", "token_cost"), "");
        assert!(html.contains("at least 1% of the baseline"), "the threshold is stated");
    }
}
