//! Story mode: a run told period by period in plain language, for a room
//! to watch (`goodhart story`).

use crate::experiment::Results;
use crate::io::output::{human, signed, verdict};

/// What each default gaming activity looks like from the outside.
fn gaming_phrase(activity: &str) -> String {
    match activity {
        "burn" => "keeping agents busy on pointless tasks".into(),
        "split" => "splitting work into trivial changes".into(),
        "rush" => "rushing changes out without tests".into(),
        "inflate" => "inflating claims that their changes are useful".into(),
        other => format!("gaming the metric ({other})"),
    }
}

fn change(x: f64) -> String {
    if x.abs() < 0.02 {
        "is flat".into()
    } else if x > 0.0 {
        format!("is up {:.0}%", 100.0 * x)
    } else {
        format!("is down {:.0}%", -100.0 * x)
    }
}

/// The policy a story follows by default: a scheduled policy if the
/// scenario has one (the switch is the story), else the first that is not
/// the baseline, else the baseline.
pub fn default_policy(r: &Results) -> String {
    let sc = &r.scenario;
    sc.policies
        .iter()
        .find(|p| !p.schedule.is_empty())
        .or_else(|| sc.policies.iter().enumerate().find(|(i, _)| *i != r.baseline).map(|(_, p)| p))
        .map_or_else(|| r.policies[r.baseline].clone(), |p| p.name.clone())
}

/// One line per period telling what happened under `policy`, compared with
/// its first period and with the baseline in the same period (means over
/// replications). `None` if the policy is unknown.
pub fn narrate(r: &Results, policy: &str) -> Option<Vec<String>> {
    let sc = &r.scenario;
    let p = r.policy_index(policy)?;
    let base = &r.policies[r.baseline];
    let series = |pol: &str, k: &str| r.period_means(pol, k).unwrap_or_default();
    let tokens = series(policy, "token_cost");
    let base_tokens = series(base, "token_cost");
    let output = series(policy, "useful_output");
    let base_output = series(base, "useful_output");
    let gamers = series(policy, "gamers_share");
    let corr = series(policy, "metric_value_correlation");
    // None under a policy with no metric: nothing to correlate.
    let before = r.estimate(policy, "metric_value_correlation_before").map(|e| e.mean);
    let gaming: Vec<(String, Vec<f64>)> = sc
        .activities
        .iter()
        .filter(|a| a.gaming)
        .map(|a| (a.name.clone(), series(policy, &format!("hours.{}", a.name))))
        .collect();
    let n = sc.org.engineers as f64;
    let unit = if sc.org.hours_per_period == 40.0 { "Week" } else { "Period" };
    let stages = &sc.policies[p].schedule;
    let mut lines = Vec::new();
    for t in 0..sc.periods as usize {
        let mut s = format!("{unit} {}: ", t + 1);
        if let Some(st) = stages.iter().find(|st| st.from as usize == t) {
            if t == 0 {
                s += &format!("the organisation starts with {}. ", st.policy);
            } else {
                s += &format!("the organisation switches to {}. ", st.policy);
            }
        } else if t == 0 && policy != base {
            s += &format!("{policy} starts. ");
        }
        let g = (gamers[t] * n).round();
        if g >= 1.0 {
            let top = gaming
                .iter()
                .max_by(|a, b| a.1[t].total_cmp(&b.1[t]))
                .map(|(name, _)| gaming_phrase(name))
                .unwrap_or_default();
            s += &format!("{g:.0} of {n:.0} engineers now spend hours {top}; ");
        } else if s.ends_with(". ") {
            s += "Nobody games the metric; ";
        } else {
            s += "nobody games the metric; ";
        }
        let vs_first = tokens[t] / tokens[0].max(1e-9);
        let vs_base = tokens[t] / base_tokens[t].max(1e-9);
        s += "the token bill is ";
        if t > 0 {
            s += &format!("{vs_first:.1}x {} 1", unit.to_lowercase());
        }
        if policy != base {
            s += &format!("{}{vs_base:.1}x the organisation under {base}", if t > 0 { " and " } else { "" });
        } else if t == 0 {
            s += &format!("{} USD", human(tokens[0]));
        }
        let out = if policy != base {
            output[t] / base_output[t].max(1e-9) - 1.0
        } else {
            output[t] / output[0].max(1e-9) - 1.0
        };
        s += &format!("; useful output {}", change(out));
        if policy != base {
            s += &format!(" against {base}");
        }
        if let (0, Some(before), Some(now)) = (t, before, corr.get(t).filter(|c| c.is_finite())) {
            s += &format!(
                ". Before anyone was rewarded, the metric's rank correlation with true value was {before:.2}; now {now:.2}"
            );
        }
        s.push('.');
        lines.push(s);
    }
    Some(lines)
}

/// [`narrate`]'s lines with runs of weeks that say the same as the week
/// before them collapsed into one line: `Weeks 28-52: unchanged.` A room
/// watching the story needs the changes, not 25 identical lines.
pub fn collapsed(lines: &[String]) -> Vec<String> {
    fn split(l: &str) -> (&str, String) {
        l.split_once(": ").map_or(("", l.to_string()), |(a, b)| (a, b.to_string()))
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        out.push(lines[i].clone());
        let (_, body) = split(&lines[i]);
        let mut j = i + 1;
        while j < lines.len() && split(&lines[j]).1 == body {
            j += 1;
        }
        if j > i + 1 {
            let (first, _) = split(&lines[i + 1]);
            let (last, _) = split(&lines[j - 1]);
            let (unit, from) = first.rsplit_once(' ').unwrap_or(("Week", first));
            let to = last.rsplit(' ').next().unwrap_or(last);
            out.push(if j == i + 2 {
                format!("{unit} {from}: unchanged.")
            } else {
                format!("{unit}s {from}-{to}: unchanged.")
            });
        }
        i = j;
    }
    out
}

/// The closing summary: totals for the followed policy and the verdict.
pub fn closing(r: &Results, policy: &str) -> String {
    let base = &r.policies[r.baseline];
    let m = |p: &str, k: &str| r.estimate(p, k).map_or(0.0, |e| e.mean);
    let unit = if r.scenario.org.hours_per_period == 40.0 { "weeks" } else { "periods" };
    let mut s = format!(
        "Over {} {unit} under {policy}: token bill {} USD ({:.1}x {base}), useful output {} USD ({:+.1}%), net value after prizes {} USD against {base}; {:.1}% of working hours went to gaming.",
        r.scenario.periods,
        human(m(policy, "token_cost")),
        m(policy, "token_cost") / m(base, "token_cost").max(1e-9),
        human(m(policy, "useful_output")),
        100.0 * (m(policy, "useful_output") / m(base, "useful_output").max(1e-9) - 1.0),
        signed(m(policy, "net_value") - m(base, "net_value")),
        100.0 * m(policy, "gaming_share"),
    );
    s += "\n\n";
    s += &verdict(r);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_every_period_and_the_switch() {
        let mut sc = crate::model::preset::scenario("story").unwrap();
        sc.org.engineers = 60;
        sc.periods = 30;
        sc.replications = 1;
        let r = crate::run(&sc).unwrap();
        let p = default_policy(&r);
        assert_eq!(p, "kirorank-then-normalized");
        let lines = narrate(&r, &p).unwrap();
        assert_eq!(lines.len(), 30);
        assert!(lines[0].starts_with("Week 1: the organisation starts with kirorank."), "{}", lines[0]);
        assert!(lines[26].contains("switches to normalized-deployments"), "{}", lines[26]);
        assert!(lines[10].contains("pointless tasks"), "{}", lines[10]);
        assert!(narrate(&r, "nope").is_none());
        // Collapsing keeps the first of a run and says which weeks repeat it.
        let same = |w: usize| format!("Week {w}: nobody games the metric.");
        let lines: Vec<String> = [same(1), "Week 2: something else.".into(), same(3)]
            .into_iter()
            .chain((4..=6).map(|_| "x".into()))
            .collect();
        let lines: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| if i >= 3 { format!("Week {}: again.", i + 1) } else { l.clone() })
            .collect();
        assert_eq!(
            collapsed(&lines),
            [
                "Week 1: nobody games the metric.",
                "Week 2: something else.",
                "Week 3: nobody games the metric.",
                "Week 4: again.",
                "Weeks 5-6: unchanged."
            ]
        );
        assert!(closing(&r, &p).contains("token bill"));
    }
}
