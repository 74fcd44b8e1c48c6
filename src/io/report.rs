//! The HTML report: one self-contained file with the verdict, the summary
//! table, the charts inline as SVG, the scenario as resolved and how to
//! reproduce the run. Rendered with a template engine that escapes every
//! string from the scenario.

use minijinja::{Environment, Value, context};
use serde::Serialize;

use crate::experiment::Results;
use crate::io::chart::{self, Chart};
use crate::io::output::human;
use crate::io::report_data::ReportData;

/// KPIs in the report's table, and whether more is better (`None`: neither).
const TABLE: [(&str, Option<bool>); 7] = [
    ("token_cost", Some(false)),
    ("useful_output", Some(true)),
    ("incident_cost", Some(false)),
    ("net_value", Some(true)),
    ("gaming_share", Some(false)),
    ("bonus_paid", None),
    ("metric_value_correlation", Some(true)),
];

#[derive(Serialize)]
struct Cell {
    text: String,
    class: &'static str,
}

const TEMPLATE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} — goodhart report</title>
<style>
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.verdict { background: #f4f7fb; border-left: 4px solid #0072b2; padding: .8em 1em; }
table { border-collapse: collapse; font-size: .85em; width: 100%; }
th, td { border: 1px solid #ddd; padding: .35em .5em; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
td.better { background: #e3f2ea; } td.worse { background: #fbe5dc; }
td small { color: #555; display: block; }
figure { margin: 1.5em 0; } figcaption { font-weight: bold; margin-bottom: .3em; }
svg.chart { width: 100%; height: auto; border: 1px solid #eee; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: .8em; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="verdict">{{ verdict }}</p>
<h2>Summary</h2>
<p>Mean over {{ replications }} replications with its 95% confidence interval; below it, the paired difference against {{ baseline }} (common random numbers). Green: better than the baseline, red: worse, at 95%.</p>
<table>
<tr><th>policy</th>{% for k in kpis %}<th>{{ k }}</th>{% endfor %}</tr>
{% for row in table %}<tr><td>{{ row.policy }}</td>{% for c in row.cells %}<td class="{{ c.class }}">{{ c.text }}</td>{% endfor %}</tr>
{% endfor %}</table>
<h2>Charts</h2>
{% for c in charts %}<figure id="{{ c.name }}"><figcaption>{{ c.title }}</figcaption>
{{ c.svg }}
</figure>
{% endfor %}
<h2>Scenario as resolved</h2>
<pre>{{ scenario }}</pre>
<h2>Reproduce</h2>
<pre>{{ command }}</pre>
<p>Seed {{ seed }}; goodhart {{ version }}. The same scenario and seed give byte-identical summary.csv and timeseries.csv on any number of threads.</p>
</body>
</html>
"#;

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
    let table: Vec<Value> = d
        .policies
        .iter()
        .map(|p| {
            let cells: Vec<Cell> = TABLE
                .iter()
                .map(|(k, more_better)| {
                    let Some(row) = d.rows.iter().find(|r| &r.policy == p && r.kpi == *k) else {
                        return Cell { text: String::new(), class: "" };
                    };
                    let e = row.estimate;
                    let f = row.diff;
                    let mut text = format!("{} [{}, {}]", human(e.mean), human(e.ci_low), human(e.ci_high));
                    let mut class = "";
                    if p != base {
                        text += &format!(" {:+} [{}, {}]", PlusHuman(f.mean), human(f.ci_low), human(f.ci_high));
                        if let Some(up) = more_better {
                            if (f.ci_low > 0.0 && *up) || (f.ci_high < 0.0 && !*up) {
                                class = "better";
                            } else if (f.ci_high < 0.0 && *up) || (f.ci_low > 0.0 && !*up) {
                                class = "worse";
                            }
                        }
                    }
                    Cell { text, class }
                })
                .collect();
            context! { policy => p, cells => cells }
        })
        .collect();
    let charts: Vec<Value> = charts
        .iter()
        .map(|c| context! { name => c.name, title => c.title, svg => Value::from_safe_string(inline_svg(&c.svg)) })
        .collect();
    env.get_template("report.html")
        .and_then(|t| {
            t.render(context! {
                title => d.title,
                verdict => d.verdict,
                baseline => base,
                replications => reps,
                kpis => TABLE.iter().map(|t| t.0).collect::<Vec<_>>(),
                table => table,
                charts => charts,
                scenario => d.scenario_toml,
                command => d.command,
                seed => d.seed,
                version => env!("CARGO_PKG_VERSION"),
            })
        })
        .map_err(|e| e.to_string())
}

struct PlusHuman(f64);

impl std::fmt::Display for PlusHuman {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 >= 0.0 { write!(f, "+{}", human(self.0)) } else { write!(f, "{}", human(self.0)) }
    }
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
<title>{{ title }} — goodhart sweep</title>
<style>
body { font-family: "DejaVu Sans", Verdana, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; padding: 0 1em; }
table { border-collapse: collapse; font-size: .85em; width: 100%; }
th, td { border: 1px solid #ddd; padding: .35em .5em; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
svg.chart { width: 100%; height: auto; border: 1px solid #eee; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>Robustness of each policy and lever point across {{ organisations }} sampled organisations: net value (USD per run) and useful output per USD of tokens. Regret is the shortfall against the best policy and lever point in the same organisation.</p>
<table>
<tr>{% for h in header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table>
<figure id="{{ chart.name }}"><figcaption>{{ chart.title }}</figcaption>
{{ chart.svg }}
</figure>
</body>
</html>
"#;

/// The sweep's report: the robustness table and its chart, one self-contained page.
pub fn sweep_html(
    title: &str,
    robustness: &[crate::analysis::sweep::RobustnessRow],
    chart: &Chart,
) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_template("sweep.html", SWEEP_TEMPLATE).map_err(|e| e.to_string())?;
    let header = crate::io::sweep::ROBUSTNESS_HEADER;
    let rows: Vec<Vec<String>> = robustness
        .iter()
        .map(|r| {
            [r.lever.to_string(), r.policy.clone(), r.organisations.to_string()]
                .into_iter()
                .chain(crate::io::sweep::robustness_numbers(r).map(human))
                .collect()
        })
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
