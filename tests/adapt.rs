//! Organisations that adapt: `adapt` rules switch policy during a run on
//! what the KPIs show, or after a time (a rotation), with notice.

use goodhart::model::policy::Adapt;
use goodhart::{Metric, Observer, ObserverError, PeriodView, Policy, Reward, Scenario, run};

use crate::common::small_story;

/// A piece rate on deployments: pays every period it is in effect.
fn paying(name: &str) -> Policy {
    Policy::new(name, Metric::builtin("deployments", 4).unwrap(), Reward::Linear { rate: 10.0 })
}

fn bonus_series(sc: &Scenario, policy: &str) -> Vec<f64> {
    run(sc).unwrap().period_means(policy, "bonus_paid").unwrap()
}

#[test]
fn a_rotation_switches_back_and_forth_every_n_periods() {
    let mut sc = small_story(60, 14, 1);
    let mut a = paying("a");
    a.adapt = vec![Adapt { after: Some(3), switch_to: "b".into(), ..Adapt::default() }];
    let mut b = Policy::none("b");
    b.adapt = vec![Adapt { after: Some(2), switch_to: "a".into(), ..Adapt::default() }];
    sc.policies = vec![a, b];
    let paid: Vec<bool> = bonus_series(&sc, "a").iter().map(|&x| x > 0.0).collect();
    // a for 3 periods, b for 2, a for 3, ...
    let want: Vec<bool> = (0..14).map(|t| t % 5 < 3).collect();
    assert_eq!(paid, want);
    // b on its own starts in b: nothing paid for 2 periods, then a.
    let paid_b: Vec<bool> = bonus_series(&sc, "b").iter().map(|&x| x > 0.0).collect();
    assert_eq!(paid_b, (0..14).map(|t| (t + 3) % 5 < 3).collect::<Vec<_>>());
}

#[test]
fn notice_delays_the_switch_by_exactly_its_periods() {
    for notice in [0, 1, 4] {
        let mut sc = small_story(60, 12, 1);
        let mut a = paying("a");
        a.adapt = vec![Adapt { after: Some(2), switch_to: "b".into(), notice: Some(notice), ..Adapt::default() }];
        sc.policies = vec![a, Policy::none("b")];
        let paid: Vec<bool> = bonus_series(&sc, "a").iter().map(|&x| x > 0.0).collect();
        let last = 2 + notice as usize;
        assert_eq!(paid, (0..12).map(|t| t < last).collect::<Vec<_>>(), "notice {notice}");
    }
}

/// Each period's most tokens any engineer used.
#[derive(Default)]
struct MaxTokens(Vec<f64>, Vec<f64>);

impl Observer for MaxTokens {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        let k = p.hours.len();
        // Every default activity's tokens are its AI intensity (no fixed tokens).
        let most = (0..p.engineers)
            .map(|i| (0..k).map(|a| p.plan_hours[i * k + a] * p.plan_tau[i * k + a]).sum::<f64>())
            .fold(0.0, f64::max);
        self.0.push(most);
        self.1.push(p.totals.tokens * p.price_per_token);
        Ok(())
    }
}

#[test]
fn a_budget_rule_caps_tokens_once_the_bill_stays_above_it() {
    // The token board; when the weekly bill has been above the budget two
    // weeks running, a cap is announced for the week after next.
    let mut sc = small_story(100, 12, 1);
    let mut board = sc.policies[1].clone();
    let budget = 1.5
        * run(&Scenario { policies: vec![Policy::none("none")], ..sc.clone() })
            .unwrap()
            .period_means("none", "token_cost")
            .unwrap()[0];
    board.adapt = vec![Adapt {
        kpi: Some("token_cost".into()),
        above: Some(budget),
        hold: Some(2),
        switch_to: "capped".into(),
        notice: Some(1),
        ..Adapt::default()
    }];
    let mut capped = board.clone();
    capped.name = "capped".into();
    capped.adapt.clear();
    let cap = 5e6;
    capped.token_cap = Some(cap);
    sc.policies = vec![board.clone(), capped];
    let mut seen = Vec::new();
    goodhart::Experiment::new(&sc)
        .run_observed(&|_| MaxTokens::default(), &mut |info, o, _| {
            seen.push((info.policy.clone(), o));
            Ok(())
        })
        .unwrap();
    let MaxTokens(most, bill) = &seen[0].1;
    let first =
        (1..12).find(|&t| bill[t] > budget && bill[t - 1] > budget).expect("the bill never stayed above the budget");
    for (t, most) in most.iter().enumerate() {
        let capped_now = t > first + 1;
        assert_eq!(*most <= cap * (1.0 + 1e-9), capped_now, "period {t}: most tokens {most} (fired at {first})");
    }
}

#[test]
fn bad_rules_are_refused_naming_the_field() {
    let base = "[[policy]]\nname = \"b\"\n";
    let cases = [
        ("adapt = [{ after = 2, switch_to = \"nobody\" }]", "policy[0].adapt[0].switch_to"),
        ("adapt = [{ after = 2, switch_to = \"a\" }]", "policy[0].adapt[0].switch_to"),
        ("adapt = [{ switch_to = \"b\" }]", "policy[0].adapt[0]"),
        ("adapt = [{ kpi = \"token_cost\", after = 2, switch_to = \"b\" }]", "policy[0].adapt[0]"),
        ("adapt = [{ kpi = \"token_bill\", above = 1, switch_to = \"b\" }]", "policy[0].adapt[0].kpi"),
        ("adapt = [{ kpi = \"metric_value_correlation\", below = 0, switch_to = \"b\" }]", "policy[0].adapt[0].kpi"),
        ("adapt = [{ kpi = \"token_cost\", switch_to = \"b\" }]", "policy[0].adapt[0].above"),
        ("adapt = [{ kpi = \"token_cost\", above = 1, below = 2, switch_to = \"b\" }]", "policy[0].adapt[0].above"),
        ("adapt = [{ kpi = \"token_cost\", above = 1, hold = 0, switch_to = \"b\" }]", "policy[0].adapt[0].hold"),
        ("adapt = [{ after = 0, switch_to = \"b\" }]", "policy[0].adapt[0].after"),
        ("adapt = [{ after = 1.5, switch_to = \"b\" }]", "policy[0].adapt[0].after"),
        ("adapt = [{ after = 2, switch_to = \"b\", when = 3 }]", "when"),
    ];
    for (rule, field) in cases {
        let text = format!("[[policy]]\nname = \"a\"\n{rule}\n{base}");
        let e = goodhart::parse_scenario(&text).unwrap_err().to_string();
        assert!(e.contains(field), "{rule}: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
    // A rotation between two policies reads.
    let ok = "[[policy]]\nname = \"a\"\nadapt = [{ after = 2, switch_to = \"b\" }]\n[[policy]]\nname = \"b\"\nadapt = [{ after = 3, switch_to = \"a\" }]\n";
    goodhart::parse_scenario(ok).unwrap();
}
