//! Mechanisms checked against closed forms and statistical properties.

use goodhart::analysis::stats::{Estimate, selection_intensity};
use goodhart::io::format::parse_scenario;
use goodhart::{Dist, Scenario, run};

#[test]
fn regressional_goodhart_matches_the_closed_forms() {
    // V ~ N(mu, sv^2), U = V + e with e ~ N(0, se^2). Selecting the top k of n
    // by U gives, per replication, a mean true value whose expectation is
    // E[mu + b (U - mu) | selected] with b = var(V)/var(U) (the regression
    // form), and asymptotically mu + b sd(U) i(k/n) with i the selection
    // intensity. Tolerances: 4 Monte Carlo standard errors over replications.
    let (mu, sv, se): (f64, f64, f64) = (10.0, 2.0, 3.0);
    let (n, k, reps) = (4000usize, 400usize, 120usize);
    let su = (sv * sv + se * se).sqrt();
    let b = sv * sv / (su * su);
    let mut got = Vec::new();
    let mut regression = Vec::new();
    for rep in 0..reps {
        let streams = goodhart::engine::rng::Streams::new(11, rep as u64);
        let mut v = Vec::with_capacity(n);
        let mut u = Vec::with_capacity(n);
        for i in 0..n {
            let mut r = streams.stream(goodhart::engine::rng::Purpose::Production, i as u64, 0);
            let x = mu + sv * goodhart::engine::rng::std_normal(&mut r);
            v.push(x);
            u.push(x + se * goodhart::engine::rng::std_normal(&mut r));
        }
        let top = goodhart::engine::top_k(&u, k, &streams, 0);
        got.push(top.iter().map(|&i| v[i as usize]).sum::<f64>() / k as f64);
        regression.push(top.iter().map(|&i| mu + b * (u[i as usize] - mu)).sum::<f64>() / k as f64);
    }
    let diffs: Vec<f64> = got.iter().zip(&regression).map(|(g, r)| g - r).collect();
    let d = Estimate::of(&diffs);
    assert!(d.mean.abs() < 4.0 * d.std_error().max(1e-12), "regression form: {d:?}");
    let e = Estimate::of(&got);
    let intensity = mu + b * su * selection_intensity(k as f64 / n as f64);
    // The asymptotic form ignores the finite-n bias of order statistics, which
    // at n = 4000 is far below the Monte Carlo error of 120 replications.
    assert!((e.mean - intensity).abs() < 4.0 * e.std_error(), "selection intensity: {e:?} vs {intensity}");
    // And the regression: the selected are worse than their scores say.
    let score: f64 = regression.iter().sum::<f64>() / reps as f64;
    assert!(score < mu + su * selection_intensity(k as f64 / n as f64));
}

#[test]
fn without_incentive_token_intensity_is_efficient() {
    // Identical engineers with cost awareness 1 and intrinsic motivation 1
    // weigh a token at its price and a USD of value at a USD, so they use
    // AI up to tau* = tau0 ln(s v_eff a / (tau0 p)), where the marginal value
    // of a token equals its price (v_eff: value per hour after rollbacks,
    // less the incident cost they feel per hour: the efficient level when
    // they bear every incident they cause).
    let mut sc = Scenario::default();
    sc.org.engineers = 20;
    sc.periods = 3;
    sc.replications = 1;
    sc.traits.skill = Dist::constant(1.0).into();
    sc.traits.ai_leverage = Dist::constant(0.4).into();
    sc.traits.cost_awareness = Dist::constant(1.0).into();
    sc.traits.intrinsic_motivation = Dist::constant(1.0).into();
    let r = run(&sc).unwrap();
    let build = &sc.activities[0];
    let felt = sc.org.incident_share
        * sc.org.incident_cost
        * build.changes_per_hour
        * build.defect_rate
        * sc.org.incident_probability;
    assert!(felt > 0.0);
    let v_eff = build.value_per_hour * (1.0 - build.defect_rate * sc.org.rollback_probability()) - felt;
    let p = sc.org.price_per_token();
    let want = build.tau0 * (1.0 * v_eff * 0.4 / (build.tau0 * p)).ln();
    assert!(want > 0.0 && want < build.max_tokens_per_hour);
    let tokens = r.estimate("no-leaderboard", "tokens").unwrap().mean;
    let hours = r.estimate("no-leaderboard", "hours.build").unwrap().mean * 20.0 * 3.0;
    let tau = tokens / hours;
    assert!((tau - want).abs() < 1e-9 * want, "tau {tau} vs tau* {want}");
}

#[test]
fn linear_contract_hours_follow_the_multitask_closed_form() {
    // Holmstrom-Milgrom with separable quadratic cost c = 1: an agent paid
    // rate r per unit of x = h_a + 0.5 h_b works h_k = r * dx/dh_k / c,
    // whatever the noise (risk-neutral): h_a = 3, h_b = 1.5.
    let sc = parse_scenario(include_str!("../examples/scenarios/linear-contract.toml")).unwrap();
    let r = run(&sc).unwrap();
    let a = r.estimate("piece-rate", "hours.a").unwrap();
    let b = r.estimate("piece-rate", "hours.b").unwrap();
    assert!((a.mean - 3.0).abs() < 1e-12 && (b.mean - 1.5).abs() < 1e-12, "{a:?} {b:?}");
    // Expected value 1*3 + 2*1.5 = 6 per engineer per period over the 10
    // counted periods (production shocks have mean 1): within 4 standard errors.
    let v = r.estimate("piece-rate", "useful_output").unwrap();
    assert!((v.mean - 6.0 * 500.0 * 10.0).abs() < 4.0 * v.std_error(), "{v:?}");
}

#[test]
fn a_custom_kpi_sees_the_period_the_built_ins_see() {
    // Net value recomputed from the view's totals and from the engineers'
    // own outputs must equal the built-in, period by period.
    use goodhart::analysis::kpi::{Aggregate, Kpi, KpiDef, PeriodView};
    struct Net;
    impl Kpi for Net {
        fn def(&self) -> KpiDef {
            KpiDef::new("net_again", Aggregate::Sum, "USD", "net value, recomputed")
        }
        fn compute(&self, p: &PeriodView) -> f64 {
            let t = &p.totals;
            let own: f64 = p.value.iter().sum();
            assert!((own - t.value).abs() <= 1e-9 * t.value.abs().max(1.0), "{own} vs {}", t.value);
            t.value - t.tokens * p.price_per_token - t.incidents * p.incident_cost - p.bonus_paid
        }
    }
    let mut sc = goodhart::model::preset::scenario("adversarial").unwrap();
    (sc.periods, sc.replications, sc.org.engineers) = (6, 2, 60);
    let r = goodhart::Experiment::new(&sc).kpi(Net).run().unwrap();
    for p in ["no-leaderboard", "kirorank"] {
        assert_eq!(r.period_means(p, "net_again").unwrap(), r.period_means(p, "net_value").unwrap());
    }
    // A name already taken is refused.
    struct Dup;
    impl Kpi for Dup {
        fn def(&self) -> KpiDef {
            KpiDef::new("token_cost", Aggregate::Sum, "USD", "")
        }
        fn compute(&self, _: &PeriodView) -> f64 {
            0.0
        }
    }
    let e = goodhart::Experiment::new(&sc).kpi(Dup).run().unwrap_err().to_string();
    assert!(e.contains("kpi.name") && e.contains("token_cost"), "{e}");
}
