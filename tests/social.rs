//! Social structure: imitation among neighbours, and norms that erode
//! with the neighbours' gaming.

use goodhart::model::social::{Social, Structure};
use goodhart::{Experiment, Observer, ObserverError, PeriodView, Scenario, run};

/// Each period's integrity and gaming hours, engineer by engineer.
#[derive(Default)]
struct Norms {
    integrity: Vec<Vec<f64>>,
    gaming: Vec<Vec<f64>>,
}

impl Observer for Norms {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        self.integrity.push(p.population.integrity.clone());
        self.gaming.push(p.gaming.to_vec());
        Ok(())
    }
}

fn adversarial(social: Option<Social>) -> Scenario {
    let mut sc = goodhart::model::preset::scenario("adversarial").unwrap();
    (sc.periods, sc.replications, sc.org.engineers) = (16, 4, 120);
    sc.social = social;
    sc
}

#[test]
fn integrity_follows_the_erosion_rule_with_each_teams_gaming() {
    // Checked engineer by engineer: gamma_t = gamma_{t-1} + rate ((1 - g) gamma_0 - gamma_{t-1}),
    // g the share of team-mates who gamed in period t; nobody leaves, so
    // gamma_0 is the engineer's integrity before any erosion.
    let social = Social { structure: Structure::Teams, size: 6, rewire: 0.0, norm_erosion: 0.15 };
    let sc = adversarial(Some(social));
    let mut runs = Vec::new();
    Experiment::new(&sc)
        .run_observed(&|_| Norms::default(), &mut |info, o, _| {
            runs.push((info.policy.clone(), o));
            Ok(())
        })
        .unwrap();
    // The replication's integrity before erosion, from a run without it.
    let mut plain = Vec::new();
    Experiment::new(&adversarial(None))
        .run_observed(&|_| Norms::default(), &mut |_, o, _| {
            plain.push(o);
            Ok(())
        })
        .unwrap();
    let mut eroded = 0;
    for ((policy, o), base) in runs.iter().zip(&plain) {
        let own = &base.integrity[0];
        let mut prev = own.clone();
        for t in 0..16 {
            for i in 0..120 {
                let team = i / 6 * 6..(i / 6 * 6 + 6);
                let g = team.clone().filter(|&j| j != i && o.gaming[t][j] > 0.5).count() as f64 / 5.0;
                let want = prev[i] + 0.15 * ((1.0 - g) * own[i] - prev[i]);
                assert!((o.integrity[t][i] - want).abs() <= 1e-9 * own[i].max(1.0), "{policy} period {t} engineer {i}");
            }
            prev.clone_from(&o.integrity[t]);
        }
        eroded += (0..120).filter(|&i| o.integrity[15][i] < 0.99 * own[i]).count();
    }
    assert!(eroded > 50, "integrity eroded for only {eroded} engineer-runs");
}

#[test]
fn eroding_norms_spread_gaming_under_the_token_board() {
    let social = Social { structure: Structure::Teams, size: 8, rewire: 0.0, norm_erosion: 0.1 };
    let mut sc = adversarial(Some(social));
    sc.replications = 8;
    let eroding = run(&sc).unwrap();
    let fixed = run(&Scenario { social: Some(Social { norm_erosion: 0.0, ..social }), ..sc.clone() }).unwrap();
    let kirorank = &sc.policies[1].name;
    // Paired by replication: the same engineers and shocks, norms eroding or not.
    let diff = |kpi: &str| {
        crate::common::paired_mean_se(&fixed.values(kirorank, kpi).unwrap(), &eroding.values(kirorank, kpi).unwrap())
    };
    let (g, se) = diff("gaming_share");
    assert!(g > 3.0 * se && g > 0.0, "gaming share +{g} (se {se})");
    // Without gaming around, nothing erodes: no leaderboard keeps integrity.
    let integrity = eroding.values(kirorank, "mean_integrity").unwrap();
    let calm = eroding.values("no-leaderboard", "mean_integrity").unwrap();
    assert!(integrity.iter().zip(&calm).all(|(a, b)| a < b), "{integrity:?} vs {calm:?}");
}

#[test]
fn a_small_world_is_byte_identical_on_one_and_two_threads() {
    let mut sc =
        adversarial(Some(Social { structure: Structure::SmallWorld, size: 6, rewire: 0.2, norm_erosion: 0.05 }));
    sc.behavior.model = goodhart::Model::Imitation { revision_rate: 0.3, beta: 0.01, initial_gamers: 0.3 };
    let render = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| goodhart::io::output::summary_csv(&run(&sc).unwrap()))
    };
    assert_eq!(render(1), render(2));
}

#[test]
fn bad_social_sections_are_refused_naming_the_field() {
    for (text, field) in [
        ("[social]\nstructure = \"ring\"\n", "social.structure"),
        ("[social]\nsize = 0\n", "social.size"),
        ("[social]\nstructure = \"small-world\"\nsize = 3\n", "social.size"),
        ("[social]\nrewire = 1.5\n", "social.rewire"),
        ("[social]\nnorm_erosion = -0.1\n", "social.norm_erosion"),
        ("[social]\nteams = 4\n", "teams"),
    ] {
        let e = goodhart::parse_scenario(text).unwrap_err().to_string();
        assert!(e.contains(field), "{text}: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
}
