//! The charts and the HTML report: well-formed, complete, escaped, offline.

use goodhart::io::format::parse_scenario;
use goodhart::io::{chart, report};
use goodhart::run;

fn hostile() -> goodhart::Results {
    let text = include_str!("../examples/scenarios/kirorank.toml")
        .replace("name = \"kirorank\"", "name = \"<script>alert(1)</script>\"")
        .replace("\"kirorank\"", "\"<script>alert(1)</script>\"");
    let mut sc = parse_scenario(&text).unwrap();
    sc.replications = 3;
    sc.periods = 10;
    sc.org.engineers = 60;
    run(&sc).unwrap()
}

#[test]
fn charts_are_well_formed_svg_with_one_series_per_policy() {
    let r = hostile();
    let (charts, _) = report::build(&r, "goodhart run x").unwrap();
    assert_eq!(charts.len(), 8);
    for c in &charts {
        let doc = roxmltree::Document::parse(&c.svg).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        for p in &r.policies {
            if c.name != "correlation" {
                assert!(doc.descendants().any(|n| n.text().is_some_and(|t| t.contains(p.as_str()))), "{}: {p}", c.name);
            }
        }
        let png = chart::to_png(&c.svg).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
    // A time-series chart draws a mean line and a band per policy.
    let ts = charts.iter().find(|c| c.name == "kpi-token_cost").unwrap();
    let doc = roxmltree::Document::parse(&ts.svg).unwrap();
    let lines = doc.descendants().filter(|n| n.has_tag_name("polyline")).count();
    let bands = doc.descendants().filter(|n| n.has_tag_name("polygon")).count();
    assert!(lines >= r.policies.len() && bands >= r.policies.len(), "{lines} lines, {bands} bands");
    // The switch is marked.
    assert!(ts.svg.matches("stroke-dasharray").count() > 0 || lines > r.policies.len());
}

#[test]
fn the_report_is_self_contained_and_escapes_names() {
    let r = hostile();
    let (charts, html) = report::build(&r, "goodhart run hostile.toml --seed 2026").unwrap();
    assert!(html.starts_with("<!doctype html>") && html.trim_end().ends_with("</html>"));
    assert!(!html.contains("<script"), "a policy name became markup");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "the name is not shown as text");
    assert!(!html.contains("http://") && !html.contains("https://"), "the report references the network");
    assert!(!html.contains(" src=") && !html.contains("<link"), "the report loads something");
    assert_eq!(html.matches("<svg class=\"chart\"").count(), charts.len());
    // Each inline chart is well-formed on its own.
    for part in html.split("<svg class=\"chart\"").skip(1) {
        let end = part.find("</svg>").unwrap() + "</svg>".len();
        roxmltree::Document::parse(&format!("<svg{}", &part[..end])).unwrap();
    }
    for needle in ["Summary", "Scenario as resolved", "Reproduce", "--seed 2026", "token_cost", "net_value"] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(html.contains("class=\"better\"") || html.contains("class=\"worse\""));
}

#[test]
fn a_scenario_with_turnover_gets_a_people_table_and_others_none() {
    let mut sc = goodhart::model::preset::scenario("stack-ranking").unwrap();
    (sc.replications, sc.periods, sc.org.engineers) = (3, 60, 80);
    let (_, html) = report::build(&run(&sc).unwrap(), "goodhart run stack-ranking").unwrap();
    let people = html.split("<h2>People: who left and who stayed</h2>").nth(1).expect("no people table");
    let table = &people[..people.find("</table>").unwrap()];
    for heading in ["leavers", "regretted leavers", "hiring cost", "mean skill", "mean integrity", "never game"] {
        assert!(table.contains(&format!(">{heading}</th>")), "{heading}");
    }
    // One row per policy, each with a mean and a difference per KPI.
    assert_eq!(table.matches("<td class=\"policy\"").count(), sc.policies.len());
    assert_eq!(table.matches("<td class=").count(), sc.policies.len() * (1 + 2 * 6));
    let (_, plain) = report::build(&hostile(), "goodhart run x").unwrap();
    assert!(!plain.contains("People: who left"));
}

#[test]
fn the_verdict_compares_token_bills_only_where_there_are_some() {
    use goodhart::{Activity, Metric, Policy, Reward, Scenario};
    let mut sc = Scenario::default();
    (sc.org.engineers, sc.periods, sc.replications) = (40, 6, 2);
    // An organisation without AI: no tokens under any policy.
    sc.activities = vec![
        Activity { value_per_hour: 100.0, changes_per_hour: 0.1, ..Activity::named("work") },
        Activity { value_per_hour: 5.0, changes_per_hour: 0.5, gaming: true, ..Activity::named("pad") },
    ];
    let count =
        Policy::new("count", Metric::builtin("deployments", 4).unwrap(), Reward::leaderboard(0.1, 1e3, 0.0, 0.0));
    sc.policies = vec![Policy::none("none"), count];
    let v = goodhart::io::output::verdict(&run(&sc).unwrap());
    assert!(!v.contains("per dollar of tokens") && !v.contains("token bill"), "{v}");
    // With AI, both comparisons are made.
    let v = goodhart::io::output::verdict(&hostile());
    assert!(v.contains("per dollar of tokens") && v.contains("token bill"), "{v}");
}

/// A text and its box (x0, y0, x1, y1) in px.
type TextBox = (String, f64, f64, f64, f64);

/// The texts' boxes in an SVG drawn by plotters, and the SVG's size.
/// Widths are estimated at 0.62 em per character (DejaVu Sans, the font
/// the PNGs embed, averages under that), heights at one em; plotters
/// writes the anchor as `text-anchor`, the vertical position as `dy`, and
/// rotated axis titles as `rotate(270, x, y)`.
fn text_boxes(svg: &str) -> (f64, f64, Vec<TextBox>) {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    let num = |n: roxmltree::Node, a: &str| n.attribute(a).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let (w, h) = (num(root, "width"), num(root, "height"));
    let mut boxes = Vec::new();
    for n in doc.descendants().filter(|n| n.has_tag_name("text")) {
        let text = n.text().unwrap_or_default().trim().to_string();
        if text.is_empty() {
            continue;
        }
        let (x, y, fs) = (num(n, "x"), num(n, "y"), num(n, "font-size"));
        let len = text.chars().count() as f64 * 0.62 * fs;
        let (a0, a1) = match n.attribute("text-anchor") {
            Some("end") => (-len, 0.0),
            Some("middle") => (-len / 2.0, len / 2.0),
            _ => (0.0, len),
        };
        // The em box's top relative to y, from plotters' dy.
        let top = match n.attribute("dy") {
            Some("0.76em") => -0.24 * fs,
            Some("0.5ex") => -0.75 * fs,
            _ => -fs,
        };
        let rotated = n.attribute("transform").is_some_and(|t| t.starts_with("rotate(270"));
        if rotated {
            // Along the text is up the page; across it, the em box turned.
            boxes.push((text, x + top, y - a1, x + top + fs, y - a0));
        } else {
            boxes.push((text, x + a0, y + top, x + a1, y + top + fs));
        }
    }
    (w, h, boxes)
}

/// Fails on a text that leaves its chart or overlaps another text.
fn assert_text_fits(name: &str, svg: &str) {
    let (w, h, boxes) = text_boxes(svg);
    for b in &boxes {
        assert!(
            b.1 >= -0.5 && b.2 >= -0.5 && b.3 <= w + 0.5 && b.4 <= h + 0.5,
            "{name}: `{}` is clipped: {b:?} in {w}x{h}",
            b.0
        );
    }
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            // One pixel of slack: touching boxes are fine.
            let overlap = a.1 < b.3 - 1.0 && b.1 < a.3 - 1.0 && a.2 < b.4 - 1.0 && b.2 < a.4 - 1.0;
            assert!(!overlap, "{name}: `{}` overlaps `{}`: {a:?} {b:?}", a.0, b.0);
        }
    }
}

#[test]
fn chart_text_neither_overlaps_nor_leaves_the_chart() {
    // The story preset's ten policies, long names and a switch; small and quick.
    let mut sc = goodhart::model::preset::scenario("story").unwrap();
    (sc.org.engineers, sc.periods, sc.replications) = (40, 12, 2);
    for st in sc.policies.iter_mut().flat_map(|p| p.schedule.iter_mut()).filter(|st| st.from > 0) {
        st.from = 6;
    }
    let r = run(&sc).unwrap();
    let (charts, _) = report::build(&r, "goodhart run story").unwrap();
    assert!(charts.iter().any(|c| c.name == "paired-diff"), "no paired-difference chart");
    for c in &charts {
        assert_text_fits(&c.name, &c.svg);
    }
    // Weeks are whole numbers from 1, and the switch is labelled with its week.
    let ts = charts.iter().find(|c| c.name == "kpi-token_cost").unwrap();
    let (_, _, boxes) = text_boxes(&ts.svg);
    assert!(boxes.iter().any(|b| b.0 == "switch, week 7"), "no labelled switch at week 7");
    // A switch after the run's last week is neither drawn nor keyed.
    for st in sc.policies.iter_mut().flat_map(|p| p.schedule.iter_mut()).filter(|st| st.from > 0) {
        st.from = 12;
    }
    let (late, _) = report::build(&run(&sc).unwrap(), "goodhart run story").unwrap();
    let ts = late.iter().find(|c| c.name == "kpi-token_cost").unwrap();
    assert!(!ts.svg.contains("switch") && !ts.svg.contains("dashed"), "a switch past week 12 is drawn");
    // Week ticks sit under the axis, centred: none is 0 and none a decimal.
    let doc = roxmltree::Document::parse(&ts.svg).unwrap();
    let ticks: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("text-anchor") == Some("middle"))
        .filter_map(|n| n.text().map(str::trim))
        .filter(|t| t.parse::<f64>().is_ok())
        .collect();
    assert!(!ticks.is_empty() && ticks.iter().all(|t| t.parse::<u32>().is_ok_and(|w| w >= 1)), "week ticks {ticks:?}");
    // Ranks are integers, and the chart says which end is the top.
    let ranks = charts.iter().find(|c| c.name == "ranks").unwrap();
    let (_, _, boxes) = text_boxes(&ranks.svg);
    assert!(boxes.iter().any(|b| b.0.contains("rank 1 = top")), "ranks.png does not say which end is best");
    assert!(!boxes.iter().any(|b| b.0.contains('.') && b.0.parse::<f64>().is_ok()), "a rank shown as a decimal");
    // The sweep's chart with long labels.
    let rows: Vec<goodhart::analysis::sweep::RobustnessRow> = (0..6)
        .map(|i| goodhart::analysis::sweep::RobustnessRow {
            lever: i % 2,
            policy: format!("kirorank-then-normalized{}", ["", "-a", "-b"][i % 3]),
            organisations: 3,
            net_value_mean: 1e6 * i as f64 - 2e6,
            net_value_p10: -3e6,
            net_value_worst: -4e6,
            regret_mean: 1e5,
            regret_max: 2e5,
            output_per_usd_mean: 40.0,
            output_per_usd_p10: 30.0,
            output_per_usd_worst: 20.0,
            output_per_usd_regret_mean: 5.0,
        })
        .collect();
    let labels: Vec<String> = rows.iter().map(|r| format!("{}, prize {}", r.policy, 500 * (r.lever + 1))).collect();
    let c = chart::robustness(&rows, &labels).unwrap();
    assert_text_fits("robustness", &c.svg);
    assert!(c.svg.contains("kirorank-then-normalized-a, prize 1000"), "lever values not shown");
}
