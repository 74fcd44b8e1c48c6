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
    assert_eq!(charts.len(), 7);
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
