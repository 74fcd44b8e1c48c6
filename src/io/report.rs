//! The HTML report: one self-contained file with the verdict, the summary
//! table, the charts inline as SVG, the scenario as resolved and how to
//! reproduce the run. Rendered with a template engine that escapes every
//! string from the scenario.

use minijinja::{Environment, Value, context};
use serde::Serialize;

use crate::analysis::stats::RunningEstimate;
use crate::experiment::Results;
use crate::io::chart::{self, Chart};
use crate::io::output::{human, verdict};

/// A period's mean and the ends of its 95% interval.
pub type Band = (f64, f64, f64);

/// KPIs whose per-period series the charts need.
const SERIES: [&str; 5] = ["token_cost", "useful_output", "net_value", "gaming_share", "incident_cost"];
/// The KPIs of a cost-output point: (token + incident cost, useful output).
const COST_OUTPUT: [&str; 3] = ["token_cost", "incident_cost", "useful_output"];

/// Everything the report and its charts show, independent of where it came from.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// Scenario name.
    pub title: String,
    /// Policy names.
    pub policies: Vec<String>,
    /// Index of the baseline policy.
    pub baseline: usize,
    /// Periods simulated.
    pub periods: usize,
    /// First counted period.
    pub burn_in: usize,
    /// Per policy, per KPI in [`SERIES`] order, per period: the mean over
    /// replications and its 95% interval.
    bands: Vec<Vec<Vec<Band>>>,
    /// Per policy, per replication: (token + incident cost, useful output)
    /// over the counted periods.
    points: Vec<Vec<(f64, f64)>>,
    /// Per policy: periods at which its schedule switches policy.
    pub switches: Vec<Vec<u32>>,
    /// Per policy: published metric and value per engineer at the end (first replication).
    pub boards: Vec<Option<(Vec<f64>, Vec<f64>)>>,
    /// Per policy: metric–value correlation before it was a target and after (means).
    pub correlation: Vec<(f64, f64)>,
    /// Summary rows (policy, KPI, estimate, paired difference).
    pub rows: Vec<crate::experiment::SummaryRow>,
    /// The plain-language verdict.
    pub verdict: String,
    /// The scenario as resolved (TOML).
    pub scenario_toml: String,
    /// Seed.
    pub seed: u64,
    /// The command that reproduces the run.
    pub command: String,
}

impl ReportData {
    /// From an experiment's results and the command that produced them.
    pub fn from_results(r: &Results, command: &str) -> ReportData {
        let periods = r.scenario.periods as usize;
        let bands = (0..r.policies.len())
            .map(|p| {
                SERIES
                    .iter()
                    .map(|k| {
                        let j = r.kpi_index(k).unwrap_or(0);
                        (0..periods)
                            .map(|t| {
                                let e = r.period_estimate(p, j, t);
                                (e.mean, e.ci_low, e.ci_high)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let [tok, inc, out] = COST_OUTPUT.map(|k| r.kpi_index(k));
        let points = r
            .runs
            .iter()
            .map(|runs| match (tok, inc, out) {
                (Some(a), Some(b), Some(c)) => {
                    runs.iter().map(|run| (run.totals[a] + run.totals[b], run.totals[c])).collect()
                }
                _ => Vec::new(),
            })
            .collect();
        let m = |p: &str, k: &str| r.estimate(p, k).map_or(0.0, |e| e.mean);
        ReportData {
            title: r.scenario.name.clone(),
            policies: r.policies.clone(),
            baseline: r.baseline,
            periods,
            burn_in: r.scenario.burn_in as usize,
            bands,
            points,
            switches: r
                .scenario
                .policies
                .iter()
                .map(|p| p.schedule.iter().filter(|s| s.from > 0).map(|s| s.from).collect())
                .collect(),
            boards: r.runs.iter().map(|runs| runs.first().and_then(|run| run.final_board.clone())).collect(),
            correlation: r
                .policies
                .iter()
                .map(|p| (m(p, "metric_value_correlation_before"), m(p, "metric_value_correlation")))
                .collect(),
            rows: r.summary(),
            verdict: verdict(r),
            scenario_toml: crate::io::format::write_scenario(&r.scenario),
            seed: r.scenario.seed,
            command: command.to_string(),
        }
    }

    /// Rebuilds the data from the files an earlier run wrote: `summary.csv`,
    /// `timeseries.csv`, `final_board.csv` (optional), the resolved scenario,
    /// the verdict and the command. Errors name the file and line.
    pub fn from_outputs(
        summary_csv: &str,
        timeseries_csv: &str,
        final_board_csv: Option<&str>,
        scenario_toml: &str,
        verdict: &str,
        command: &str,
    ) -> Result<ReportData, String> {
        use crate::io::output::csv_split;
        let sc =
            crate::io::format::parse_scenario(scenario_toml).map_err(|e| format!("scenario.resolved.toml: {e}"))?;
        let policies: Vec<String> = sc.policies.iter().map(|p| p.name.clone()).collect();
        let pidx = |name: &str| policies.iter().position(|p| p == name);
        let periods = sc.periods as usize;
        let reps = sc.replications as usize;
        let burn = sc.burn_in as usize;
        let mut running = vec![vec![vec![RunningEstimate::default(); periods]; SERIES.len()]; policies.len()];
        // Per policy and replication: token, incident and useful-output sums over the counted periods.
        let mut sums = vec![vec![[0.0f64; 3]; reps]; policies.len()];
        let num = |file: &str, line: usize, s: &str| -> Result<f64, String> {
            s.parse::<f64>().map_err(|_| format!("{file}: line {line}: `{s}` is not a number"))
        };
        // Rows come replication by replication, so each period's estimate
        // is fed in the same order as during the run: the same bits.
        for (i, line) in timeseries_csv.lines().enumerate().skip(1) {
            let f = csv_split(line);
            if f.len() != 5 {
                return Err(format!("timeseries.csv: line {}: expected 5 fields", i + 1));
            }
            let (Some(p), Some(j)) = (pidx(&f[0]), SERIES.iter().position(|k| *k == f[3])) else { continue };
            let (rep, t) = (f[1].parse::<usize>().ok(), f[2].parse::<usize>().ok());
            match (rep, t) {
                (Some(rep), Some(t)) if rep < reps && t < periods => {
                    let x = num("timeseries.csv", i + 1, &f[4])?;
                    running[p][j][t].push(x);
                    let slot = COST_OUTPUT.iter().position(|k| *k == f[3]);
                    if let (Some(slot), true) = (slot, t >= burn) {
                        sums[p][rep][slot] += x;
                    }
                }
                _ => return Err(format!("timeseries.csv: line {}: replication or period out of range", i + 1)),
            }
        }
        let bands = running
            .iter()
            .map(|ks| {
                ks.iter()
                    .map(|ts| {
                        ts.iter()
                            .map(|r| {
                                let e = r.estimate();
                                (e.mean, e.ci_low, e.ci_high)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let points = sums.iter().map(|reps| reps.iter().map(|s| (s[0] + s[1], s[2])).collect()).collect();
        let mut rows = Vec::new();
        for (i, line) in summary_csv.lines().enumerate().skip(1) {
            let f = csv_split(line);
            if f.len() < 9 {
                return Err(format!("summary.csv: line {}: expected at least 9 fields", i + 1));
            }
            let n = f[5].parse::<usize>().map_err(|_| format!("summary.csv: line {}: bad replications", i + 1))?;
            let e = |a: usize| -> Result<crate::analysis::stats::Estimate, String> {
                Ok(crate::analysis::stats::Estimate {
                    mean: num("summary.csv", i + 1, &f[a])?,
                    ci_low: num("summary.csv", i + 1, &f[a + 1])?,
                    ci_high: num("summary.csv", i + 1, &f[a + 2])?,
                    n,
                })
            };
            rows.push(crate::experiment::SummaryRow {
                policy: f[0].clone(),
                kpi: f[1].clone(),
                estimate: e(2)?,
                diff: e(6)?,
            });
        }
        let mean = |p: &str, k: &str| {
            rows.iter()
                .find(|r: &&crate::experiment::SummaryRow| r.policy == p && r.kpi == k)
                .map_or(0.0, |r| r.estimate.mean)
        };
        let mut boards: Vec<Option<(Vec<f64>, Vec<f64>)>> = vec![None; policies.len()];
        if let Some(text) = final_board_csv {
            for (i, line) in text.lines().enumerate().skip(1) {
                let f = csv_split(line);
                if f.len() != 4 {
                    return Err(format!("final_board.csv: line {}: expected 4 fields", i + 1));
                }
                if let Some(p) = pidx(&f[0]) {
                    let b = boards[p].get_or_insert_with(|| (Vec::new(), Vec::new()));
                    b.0.push(num("final_board.csv", i + 1, &f[2])?);
                    b.1.push(num("final_board.csv", i + 1, &f[3])?);
                }
            }
        }
        Ok(ReportData {
            title: sc.name.clone(),
            correlation: policies
                .iter()
                .map(|p| (mean(p, "metric_value_correlation_before"), mean(p, "metric_value_correlation")))
                .collect(),
            policies,
            baseline: sc.baseline_index(),
            periods,
            burn_in: sc.burn_in as usize,
            bands,
            points,
            switches: sc
                .policies
                .iter()
                .map(|p| p.schedule.iter().filter(|s| s.from > 0).map(|s| s.from).collect())
                .collect(),
            boards,
            rows,
            verdict: verdict.to_string(),
            scenario_toml: scenario_toml.to_string(),
            seed: sc.seed,
            command: command.to_string(),
        })
    }

    /// A KPI's per-period mean and 95% interval over replications under
    /// policy `p` (for the KPIs the charts draw).
    pub fn band(&self, p: usize, kpi: &str) -> Option<&[Band]> {
        let j = SERIES.iter().position(|k| *k == kpi)?;
        self.bands.get(p).map(|s| s[j].as_slice())
    }

    /// Per replication of policy `p`: (token + incident cost, useful output)
    /// over the counted periods.
    pub fn cost_output(&self, p: usize) -> Vec<(f64, f64)> {
        self.points.get(p).cloned().unwrap_or_default()
    }
}

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
pub fn sweep_html(title: &str, robustness_csv: &str, chart: &Chart) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_template("sweep.html", SWEEP_TEMPLATE).map_err(|e| e.to_string())?;
    let mut lines = robustness_csv.lines();
    let header = crate::io::output::csv_split(lines.next().unwrap_or_default());
    let rows: Vec<Vec<String>> = lines
        .map(|l| {
            crate::io::output::csv_split(l)
                .into_iter()
                .enumerate()
                .map(|(i, c)| if i >= 3 { c.parse::<f64>().map_or(c.clone(), human) } else { c })
                .collect()
        })
        .collect();
    let organisations = rows.first().and_then(|r| r.get(2)).cloned().unwrap_or_default();
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
