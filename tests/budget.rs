//! A token budget over several periods (`policy.token_budget`): within each
//! block an engineer may use what the block's earlier periods left.

use goodhart::{Observer, ObserverError, PeriodView, Policy, Scenario, TokenBudget};

/// Each period's tokens per engineer, from the plans (tokens are not drawn).
#[derive(Default)]
struct Tokens(Vec<Vec<f64>>);

impl Observer for Tokens {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        let sc = Scenario::default();
        let k = sc.activities.len();
        self.0.push(
            (0..p.engineers)
                .map(|i| {
                    sc.activities
                        .iter()
                        .enumerate()
                        .map(|(a, act)| {
                            let tau = if act.uses_ai { p.plan_tau[i * k + a] } else { 0.0 };
                            p.plan_hours[i * k + a] * (act.tokens_per_hour + tau)
                        })
                        .sum()
                })
                .collect(),
        );
        Ok(())
    }
}

/// The story's token board alone, with a budget of `tokens` per `periods`.
fn budgeted(tokens: f64, periods: u32) -> Scenario {
    let board = goodhart::model::preset::policies().into_iter().find(|p| p.name == "kirorank").unwrap();
    let policy = Policy { token_budget: Some(TokenBudget { tokens, periods }), ..board };
    let mut sc = Scenario { periods: 12, replications: 1, ..Scenario::default() }.with_policies(vec![policy]);
    sc.org.engineers = 150;
    sc.baseline = None;
    sc
}

fn tokens(sc: &Scenario) -> Vec<Vec<f64>> {
    crate::common::first_observed(sc, &|_| Tokens::default()).0
}

#[test]
fn a_monthly_budget_holds_per_block_and_usage_shifts_within_it() {
    // 40 million tokens per four weeks under the token board: every
    // engineer's block total stays within it (to rounding); engineers spend
    // more than a quarter of it in the block's first week, and the last week
    // gets what is left (less than a quarter), which a weekly cap of 10
    // million would not allow.
    let budget = 40e6;
    let t = tokens(&budgeted(budget, 4));
    let n = t[0].len();
    let (mut first, mut last) = (0.0, 0.0);
    for block in t.chunks(4) {
        for i in 0..n {
            let used: f64 = block.iter().map(|week| week[i]).sum();
            assert!(used <= budget * (1.0 + 1e-9), "engineer {i}: {used} of {budget}");
        }
        first += block[0].iter().sum::<f64>();
        last += block[3].iter().sum::<f64>();
    }
    let quarter = 3.0 * n as f64 * budget / 4.0;
    assert!(
        first > 1.5 * quarter && last < 0.5 * quarter,
        "first weeks {first}, last weeks {last}, a quarter {quarter}"
    );
    // Without a budget the board's engineers use more than it allows.
    let free: f64 = tokens(&budgeted(1e18, 4))[..4].iter().flatten().sum();
    assert!(free > n as f64 * budget, "{free}");
}

#[test]
fn a_budget_is_refused_with_the_field_named() {
    let text = "[[policy]]\nname = \"b\"\ntoken_budget = { tokens = -1 }\n";
    let e = goodhart::parse_scenario(text).unwrap_err().to_string();
    assert!(e.starts_with("policy[0].token_budget.tokens: "), "{e}");
    let text = "[[policy]]\nname = \"b\"\ntoken_budget = { periods = 0 }\n";
    let e = goodhart::parse_scenario(text).unwrap_err().to_string();
    assert!(e.starts_with("policy[0].token_budget.periods: "), "{e}");
}

#[test]
fn learning_rules_keep_to_the_budget_too() {
    // Rules that try several plans a period (Roth-Erev, EWA) keep their own
    // search memory; the budget's running total is the engine's.
    for model in ["roth-erev", "ewa", "imitation"] {
        let sc =
            goodhart::io::format::set_field(&budgeted(40e6, 4), "behavior.model", &format!("\"{model}\"")).unwrap();
        let t = tokens(&sc);
        for block in t.chunks(4) {
            for i in 0..block[0].len() {
                let used: f64 = block.iter().map(|week| week[i]).sum();
                assert!(used <= 40e6 * (1.0 + 1e-9), "{model}, engineer {i}: {used}");
            }
        }
    }
}
