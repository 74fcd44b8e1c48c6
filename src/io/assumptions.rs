//! The check against the assumptions as files and words: `assumptions.csv`
//! (a row per comparison and parameter, tidy), `assumption_samples.csv`
//! (the sampled organisations), its part of `summary.json`, and the
//! verdict's sentence.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::analysis::assumptions::{AssumptionCheck, CheckSize, Comparison, Swing};
use crate::analysis::stats::Estimate;
use crate::io::output::{csv_field, csv_split, fmt_num};

/// Header of `assumptions.csv`.
pub const HEADER: &str = "policy,kpi,diff,diff_ci_low,diff_ci_high,share_positive,share_holds,parameter,unit,\
range_low,range_high,at_low,at_high,distinguishable,samples,replications_per_sample\n";

/// `assumptions.csv`: per comparison (policy against the baseline on a
/// headline KPI) and parameter, the difference in the scenario as run, the
/// shares of sampled organisations where it is positive and where it keeps
/// its sign (empty when that sign is not distinguishable), and the
/// parameter's swing: the difference predicted at each end of its range.
pub fn csv(c: &AssumptionCheck) -> String {
    let mut s = HEADER.to_string();
    for cmp in &c.comparisons {
        for sw in &cmp.swings {
            let a = c.parameters.iter().find(|a| a.name == sw.parameter);
            let e = cmp.at_scenario;
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(&cmp.policy),
                cmp.kpi,
                fmt_num(e.mean),
                fmt_num(e.ci_low),
                fmt_num(e.ci_high),
                fmt_num(cmp.share_positive),
                cmp.share_holds.map_or(String::new(), fmt_num),
                sw.parameter,
                csv_field(a.map_or("", |a| a.unit)),
                a.map_or(String::new(), |a| fmt_num(a.low)),
                a.map_or(String::new(), |a| fmt_num(a.high)),
                fmt_num(sw.at_low),
                fmt_num(sw.at_high),
                sw.distinguishable,
                c.size.samples,
                c.size.replications,
            );
        }
    }
    s
}

/// Reads `assumptions.csv` back (for `goodhart report`): the check's size
/// and its comparisons. Errors name the line.
pub fn parse_csv(text: &str) -> Result<(CheckSize, Vec<Comparison>), String> {
    let mut size = CheckSize { samples: 0, replications: 0 };
    let mut out: Vec<Comparison> = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f = csv_split(line);
        let at = |msg: &str| format!("assumptions.csv: line {}: {msg}", i + 1);
        if f.len() != 16 {
            return Err(at("expected 16 fields"));
        }
        let num = |k: usize| f[k].parse::<f64>().map_err(|_| at(&format!("`{}` is not a number", f[k])));
        size = CheckSize {
            samples: f[14].parse().map_err(|_| at("bad samples"))?,
            replications: f[15].parse().map_err(|_| at("bad replications_per_sample"))?,
        };
        let swing =
            Swing { parameter: f[7].clone(), at_low: num(11)?, at_high: num(12)?, distinguishable: f[13] == "true" };
        match out.last_mut() {
            Some(c) if c.policy == f[0] && c.kpi == f[1] => c.swings.push(swing),
            _ => out.push(Comparison {
                policy: f[0].clone(),
                kpi: f[1].clone(),
                at_scenario: Estimate { mean: num(2)?, ci_low: num(3)?, ci_high: num(4)?, n: 2 },
                share_positive: num(5)?,
                share_holds: if f[6].is_empty() { None } else { Some(num(6)?) },
                swings: vec![swing],
            }),
        }
    }
    Ok((size, out))
}

/// `assumption_samples.csv`: one row per sampled organisation and
/// comparison, with the factor each parameter's scenario value was
/// multiplied by in that organisation (`NAME_factor`; for a range of
/// values, the value it was set to, `NAME_value`), long in comparisons.
pub fn samples_csv(c: &AssumptionCheck) -> String {
    let mut s = String::from("sample");
    for a in &c.parameters {
        let _ = write!(s, ",{}_{}", a.name, if a.absolute() { "value" } else { "factor" });
    }
    s += ",policy,kpi,diff\n";
    for (i, p) in c.samples.iter().enumerate() {
        let params: String = p.factors.iter().map(|f| format!(",{}", fmt_num(*f))).collect();
        for (cmp, d) in c.comparisons.iter().zip(&p.diffs) {
            let _ = writeln!(s, "{i}{params},{},{},{}", csv_field(&cmp.policy), cmp.kpi, fmt_num(*d));
        }
    }
    s
}

/// The check's part of `summary.json`.
pub fn json(c: &AssumptionCheck) -> Value {
    json!({
        "samples": c.size.samples,
        "replications_per_sample": c.size.replications,
        "parameters": c.parameters.iter().map(|a| {
            let mut p = json!({
                "name": a.name, "meaning": a.meaning, "unit": a.unit,
                "default": a.default, "low": a.low, "high": a.high,
            });
            // A range of values (sampled as values, not as factors on the
            // scenario's): said only where there is one.
            if a.absolute() {
                p["absolute"] = json!(true);
            }
            p
        }).collect::<Vec<_>>(),
        "comparisons": c.comparisons.iter().map(|cmp| json!({
            "policy": cmp.policy,
            "kpi": cmp.kpi,
            "diff": cmp.at_scenario.mean,
            "diff_ci_low": cmp.at_scenario.ci_low,
            "diff_ci_high": cmp.at_scenario.ci_high,
            "share_positive": cmp.share_positive,
            "share_holds": cmp.share_holds,
            "flipped_by": cmp.flips(),
            "swings": cmp.swings.iter().map(|s| json!({
                "parameter": s.parameter, "at_low": s.at_low, "at_high": s.at_high,
                "distinguishable": s.distinguishable,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A share as a whole percentage, never rounding a share below 1 up to
/// "100%" nor one above 0 down to "0%".
pub fn percent(x: f64) -> String {
    let p = (100.0 * x).round();
    let p = if x < 1.0 { p.min(99.0) } else { p };
    let p = if x > 0.0 { p.max(1.0) } else { p };
    format!("{p:.0}%")
}

/// The verdict's sentence on the check: for each policy whose net value
/// differs distinguishably from the baseline's, in what share of the
/// sampled organisations that holds and which parameters alone flip it;
/// then any policy whose useful-output direction flips in over a tenth.
pub fn sentence(comparisons: &[Comparison], size: CheckSize, baseline: &str) -> String {
    let net: Vec<&Comparison> = comparisons.iter().filter(|c| c.kpi == "net_value").collect();
    let mut everywhere = Vec::new();
    let mut partly = Vec::new();
    for c in &net {
        let Some(share) = c.share_holds else { continue };
        let side = if c.at_scenario.mean > 0.0 { "gain" } else { "loss" };
        if share >= 1.0 {
            everywhere.push(format!("{}'s {side}", c.policy));
        } else {
            let flips = c.flips();
            let by = if flips.is_empty() {
                String::new()
            } else {
                format!(" (flipped by {})", flips.iter().take(3).copied().collect::<Vec<_>>().join(", "))
            };
            partly.push(format!("{}'s {side} holds in {}{by}", c.policy, percent(share)));
        }
    }
    let mut s = format!(
        "Tested against the model's assumptions ({} organisations sampled from their plausible ranges, docs/model.md section 12):",
        size.samples
    );
    if everywhere.is_empty() && partly.is_empty() {
        s += &format!(" no policy's net value differs distinguishably from {baseline}'s to test.");
        return s;
    }
    if !everywhere.is_empty() {
        let verb = if everywhere.len() == 1 { "holds" } else { "hold" };
        let _ = write!(s, " net value against {baseline}: {} {verb} in every one", everywhere.join(", "));
    }
    if !partly.is_empty() {
        let sep = if everywhere.is_empty() { format!(" net value against {baseline}: ") } else { "; ".into() };
        let _ = write!(s, "{sep}{}", partly.join("; "));
    }
    s.push('.');
    let shaky: Vec<String> = comparisons
        .iter()
        .filter(|c| c.kpi == "useful_output")
        .filter_map(|c| c.share_holds.filter(|&h| h < 0.9).map(|h| (c, h)))
        .map(|(c, h)| {
            let dir = if c.at_scenario.mean > 0.0 { "rise" } else { "fall" };
            format!("{}'s {dir} in useful output holds in only {}", c.policy, percent(h))
        })
        .collect();
    if !shaky.is_empty() {
        let _ = write!(s, " {}.", shaky.join("; "));
    }
    s
}

/// What the verdict says when the conclusions were not tested.
pub const NOT_TESTED: &str = "These conclusions were not tested against the model's assumptions \
(`goodhart run --assumptions 32` samples 32 plausible organisations).";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::assumptions::{ASSUMPTIONS, SamplePoint};

    fn comparison(policy: &str, kpi: &str, mean: f64, holds: Option<f64>, swing: (f64, f64)) -> Comparison {
        Comparison {
            policy: policy.into(),
            kpi: kpi.into(),
            at_scenario: Estimate { mean, ci_low: mean - 1.0, ci_high: mean + 1.0, n: 30 },
            share_positive: if mean > 0.0 { holds.unwrap_or(0.5) } else { 1.0 - holds.unwrap_or(0.5) },
            share_holds: holds,
            swings: vec![Swing { parameter: "prize".into(), at_low: swing.0, at_high: swing.1, distinguishable: true }],
        }
    }

    #[test]
    fn csv_round_trips_and_the_sentence_names_flips() {
        let cmps = vec![
            comparison("kirorank", "net_value", -500.0, Some(1.0), (-100.0, -900.0)),
            comparison("raw, deployments", "net_value", 200.0, Some(0.8125), (-50.0, 300.0)),
            comparison("raw, deployments", "useful_output", 300.0, Some(0.5), (-50.0, 300.0)),
            comparison("vague", "net_value", 2.0, None, (-50.0, 300.0)),
        ];
        let check = AssumptionCheck {
            size: CheckSize { samples: 16, replications: 1 },
            parameters: vec![ASSUMPTIONS[0]],
            comparisons: cmps.clone(),
            samples: vec![SamplePoint { factors: vec![0.5], diffs: vec![1.0, 2.0, 3.0, 4.0] }],
        };
        let (size, back) = parse_csv(&csv(&check)).unwrap();
        assert_eq!(size, check.size);
        assert_eq!(back.len(), cmps.len());
        for (a, b) in back.iter().zip(&cmps) {
            assert_eq!((&a.policy, &a.kpi, a.share_holds, &a.swings), (&b.policy, &b.kpi, b.share_holds, &b.swings));
            assert_eq!(a.at_scenario.mean, b.at_scenario.mean);
        }
        let s = sentence(&cmps, check.size, "base");
        assert!(s.contains("kirorank's loss holds in every one"), "{s}");
        assert!(s.contains("raw, deployments's gain holds in 81% (flipped by prize)"), "{s}");
        assert!(s.contains("useful output holds in only 50%"), "{s}");
        assert!(!s.contains("vague"), "{s}");
        let samples = samples_csv(&check);
        assert_eq!(samples.lines().next(), Some("sample,prize_factor,policy,kpi,diff"));
        assert_eq!(samples.lines().nth(1), Some("0,0.5,kirorank,net_value,1"));
    }

    #[test]
    fn percentages_never_round_to_all_or_nothing() {
        assert_eq!(percent(0.999), "99%");
        assert_eq!(percent(0.001), "1%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.0), "0%");
    }
}
