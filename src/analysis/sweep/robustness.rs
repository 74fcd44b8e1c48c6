//! How well each policy and lever point holds up across the sampled
//! organisations: the spread of its net value and its regret against the
//! best choice in the same organisation.

use std::collections::BTreeMap;

use super::TaskResult;

/// One policy at one lever point, across the sampled organisations
/// (uncertainty points). Money is USD per run (the sweep's totals).
#[derive(Debug, Clone, PartialEq)]
pub struct RobustnessRow {
    /// Lever point index.
    pub lever: usize,
    /// Policy name.
    pub policy: String,
    /// Organisations (uncertainty points) it was run in.
    pub organisations: usize,
    /// Mean net value (USD).
    pub net_value_mean: f64,
    /// 10th percentile of net value (USD).
    pub net_value_p10: f64,
    /// Worst net value (USD).
    pub net_value_worst: f64,
    /// Mean regret: shortfall in net value against the best policy and
    /// lever point in the same organisation (USD, >= 0).
    pub regret_mean: f64,
    /// Largest regret (USD).
    pub regret_max: f64,
    /// Mean useful output per USD of tokens (0 where no tokens are bought).
    pub output_per_usd_mean: f64,
    /// 10th percentile of useful output per USD of tokens.
    pub output_per_usd_p10: f64,
    /// Worst useful output per USD of tokens.
    pub output_per_usd_worst: f64,
    /// Mean shortfall in output per USD against the best in the same organisation.
    pub output_per_usd_regret_mean: f64,
}

/// Per policy and lever point, across the organisations the tasks sampled:
/// mean, 10th percentile and worst net value, the mean and largest regret,
/// and the same for useful output per USD of tokens. Rows are ordered by
/// lever point, then policy name. A KPI a task lacks counts as 0.
pub fn robustness(tasks: &[TaskResult]) -> Vec<RobustnessRow> {
    // (uncertainty, lever, policy) -> (net value, useful output, token cost)
    let mut cells: BTreeMap<(usize, usize, &str), (f64, f64, f64)> = BTreeMap::new();
    for t in tasks {
        for r in &t.rows {
            let c = cells.entry((t.uncertainty, t.lever, r.policy.as_str())).or_insert((0.0, 0.0, 0.0));
            match r.kpi.as_str() {
                "net_value" => c.0 = r.mean,
                "useful_output" => c.1 = r.mean,
                "token_cost" => c.2 = r.mean,
                _ => {}
            }
        }
    }
    let per_dollar = |c: &(f64, f64, f64)| if c.2 > 0.0 { c.1 / c.2 } else { 0.0 };
    let mut best: BTreeMap<usize, (f64, f64)> = BTreeMap::new();
    for ((u, _, _), c) in &cells {
        let b = best.entry(*u).or_insert((f64::NEG_INFINITY, f64::NEG_INFINITY));
        b.0 = b.0.max(c.0);
        b.1 = b.1.max(per_dollar(c));
    }
    // (lever, policy) -> per organisation: (net value, regret, output per USD, its regret)
    let mut groups: BTreeMap<(usize, &str), Vec<[f64; 4]>> = BTreeMap::new();
    for ((u, l, p), c) in &cells {
        let b = best[u];
        groups.entry((*l, p)).or_default().push([c.0, b.0 - c.0, per_dollar(c), b.1 - per_dollar(c)]);
    }
    groups
        .into_iter()
        .map(|((lever, policy), v)| {
            let col = |k: usize| Spread::of(v.iter().map(|x| x[k]).collect());
            let (net, regret, out, out_regret) = (col(0), col(1), col(2), col(3));
            RobustnessRow {
                lever,
                policy: policy.to_string(),
                organisations: v.len(),
                net_value_mean: net.mean,
                net_value_p10: net.p10,
                net_value_worst: net.min,
                regret_mean: regret.mean,
                regret_max: regret.max,
                output_per_usd_mean: out.mean,
                output_per_usd_p10: out.p10,
                output_per_usd_worst: out.min,
                output_per_usd_regret_mean: out_regret.mean,
            }
        })
        .collect()
}

/// Mean, 10th percentile (nearest rank), smallest and largest of a non-empty sample.
struct Spread {
    mean: f64,
    p10: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
        let p10 = v[((v.len() as f64 - 1.0) * 0.1).round() as usize];
        Spread { mean, p10, min: v[0], max: v[v.len() - 1] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::sweep::TaskRow;

    fn task(u: usize, l: usize, policy_values: &[(&str, f64, f64, f64)]) -> TaskResult {
        let rows = policy_values
            .iter()
            .flat_map(|(p, net, out, tok)| {
                [("net_value", *net), ("useful_output", *out), ("token_cost", *tok)].map(|(k, x)| TaskRow {
                    policy: p.to_string(),
                    kpi: k.into(),
                    mean: x,
                    ci_low: x,
                    ci_high: x,
                })
            })
            .collect();
        TaskResult { index: u * 2 + l, uncertainty: u, lever: l, values: vec![], rows }
    }

    #[test]
    fn regret_is_the_shortfall_against_the_best_choice_in_the_same_organisation() {
        // Two organisations, two lever points, two policies.
        let tasks = [
            task(0, 0, &[("a", 100.0, 50.0, 10.0), ("b", 40.0, 50.0, 25.0)]),
            task(0, 1, &[("a", 90.0, 50.0, 10.0), ("b", 120.0, 60.0, 0.0)]),
            task(1, 0, &[("a", -10.0, 5.0, 1.0), ("b", 0.0, 5.0, 5.0)]),
            task(1, 1, &[("a", -20.0, 5.0, 1.0), ("b", -5.0, 5.0, 5.0)]),
        ];
        let rows = robustness(&tasks);
        let keys: Vec<(usize, &str)> = rows.iter().map(|r| (r.lever, r.policy.as_str())).collect();
        assert_eq!(keys, [(0, "a"), (0, "b"), (1, "a"), (1, "b")]);
        let a0 = &rows[0];
        assert_eq!(a0.organisations, 2);
        assert_eq!((a0.net_value_mean, a0.net_value_worst), (45.0, -10.0));
        // Best per organisation: 120 in the first, 0 in the second.
        assert_eq!((a0.regret_mean, a0.regret_max), ((20.0 + 10.0) / 2.0, 20.0));
        // No tokens bought: output per USD counts as 0, not infinity.
        assert_eq!(rows[3].output_per_usd_worst, 0.0);
        assert_eq!((rows[3].regret_mean, rows[3].regret_max), (2.5, 5.0));
        for r in &rows {
            assert!(r.regret_mean >= 0.0 && r.regret_max >= r.regret_mean, "{r:?}");
            assert!(r.net_value_worst <= r.net_value_p10, "{r:?}");
        }
    }
}
