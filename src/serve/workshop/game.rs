//! A room's game: its state, and how a week is played. A round reruns the
//! organisation from week 0 with one replication: [`GameRule`] plays the
//! people's recorded hours and the best response for everyone else, and
//! [`Recorder`] keeps what each week showed. Runs are deterministic, so the
//! weeks already played come out the same, and a policy switch is a
//! schedule stage from the week it was made. No engine change is needed.

use std::collections::HashMap;
use std::time::Instant;

use goodhart::behavior::{BehaviorRule, BestResponse, Engineer, Planner};
use goodhart::{Observer, ObserverError, PeriodView, Policy, RunInfo, Scenario, Stage};

/// The name of the schedule the room plays.
const GAME: &str = "this-room";

/// Where the room is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Phase {
    /// Waiting for the first round.
    Lobby,
    /// People choose their hours for week `week` until `deadline`.
    Choosing { week: usize, deadline: Instant },
    /// The week is being simulated.
    Running { week: usize },
    /// Week `week`'s results are shown.
    Results { week: usize },
    /// The ledger is shown.
    Revealed,
}

/// A person in the room.
pub(super) struct Player {
    pub(super) token: String,
    pub(super) name: String,
    /// The engineer they play.
    pub(super) slot: usize,
    /// Their hours per activity, week by week (`None`: an agent played the week).
    pub(super) plans: Vec<Option<Vec<f64>>>,
    /// Hours handed in for the open round.
    pub(super) pending: Option<Vec<f64>>,
    pub(super) seen: Instant,
}

/// What one week showed, per engineer (indexed by engineer) and in total.
#[derive(Debug, Clone)]
pub(super) struct Week {
    pub(super) policy: String,
    pub(super) published: Vec<f64>,
    pub(super) payout: Vec<f64>,
    pub(super) value: Vec<f64>,
    pub(super) tokens: Vec<f64>,
    pub(super) gaming: Vec<f64>,
    /// Organisation: useful output, token bill, incident cost, prizes paid (USD).
    pub(super) org: [f64; 4],
}

/// A room's game.
pub(super) struct Game {
    pub(super) base: Scenario,
    /// Seconds a round stays open.
    pub(super) timer: u64,
    pub(super) phase: Phase,
    /// The policy each stage plays, from its week.
    pub(super) stages: Vec<Stage>,
    pub(super) players: Vec<Player>,
    pub(super) weeks: Vec<Week>,
    pub(super) version: u64,
    /// Why the last round could not run, if it could not.
    pub(super) error: Option<String>,
}

/// The policies a room may play: the story's (all of them have a metric
/// but the baseline).
pub(super) fn playable() -> Vec<Policy> {
    goodhart::model::preset::scenario("story")
        .map(|s| s.policies.into_iter().filter(|p| p.schedule.is_empty()).collect())
        .unwrap_or_default()
}

impl Game {
    /// The scenario that plays weeks `0..=week` of the room.
    pub(super) fn scenario(&self, weeks: usize) -> Scenario {
        let mut sc = self.base.clone();
        sc.periods = weeks as u32;
        sc.replications = 1;
        sc.burn_in = 0;
        let mut policies: Vec<Policy> = Vec::new();
        for p in playable() {
            if self.stages.iter().any(|s| s.policy == p.name) {
                policies.push(p);
            }
        }
        let mut game = Policy::none(GAME);
        game.schedule = self.stages.clone();
        policies.push(game);
        sc.baseline = Some(GAME.to_string());
        sc.policies = policies;
        sc
    }

    /// The policy in force in week `week`.
    pub(super) fn policy_at(&self, week: usize) -> &str {
        self.stages.iter().rev().find(|s| s.from as usize <= week).map_or("", |s| s.policy.as_str())
    }
}

/// The behaviour of a room's run: people's hours where they chose them,
/// the exact best response for every agent and for a person's missed week.
/// A person keeps the AI intensity the best response would use.
pub(super) struct GameRule {
    /// Per engineer played by a person: hours per activity, week by week.
    pub(super) people: HashMap<usize, Vec<Option<Vec<f64>>>>,
}

impl BehaviorRule for GameRule {
    /// Calls so far: the first is the pre-period, call `k` plans week `k - 1`.
    type Memory = usize;

    fn init(&self, _: &Engineer) -> usize {
        0
    }

    fn choose(&self, me: &Engineer, calls: &mut usize, planner: &mut Planner) {
        let call = *calls;
        *calls += 1;
        BestResponse.choose(me, &mut (), planner);
        let Some(Some(hours)) = call.checked_sub(1).and_then(|w| self.people.get(&me.index)?.get(w)) else { return };
        // AI intensity where the best response used none: the highest it used.
        let most = planner.tau().iter().cloned().fold(0.0, f64::max);
        let tau: Vec<f64> = planner.tau().iter().map(|&t| if t > 0.0 { t } else { most }).collect();
        planner.set_plan(hours, &tau);
    }
}

/// Keeps what each week of the room's run showed.
pub(super) struct Recorder {
    /// Whether this run is the room's (the stage policies run beside it).
    keep: bool,
    weeks: Vec<Week>,
    /// Per activity: fixed tokens per hour, and whether AI intensity adds to it.
    tokens: Vec<(f64, bool)>,
    stages: Vec<Stage>,
}

impl Observer for Recorder {
    fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
        if !self.keep {
            return Ok(());
        }
        let k = self.tokens.len();
        let tokens: Vec<f64> = (0..p.engineers)
            .map(|i| {
                (0..k)
                    .map(|a| {
                        let (fixed, ai) = self.tokens[a];
                        p.plan_hours[i * k + a] * (fixed + if ai { p.plan_tau[i * k + a] } else { 0.0 })
                    })
                    .sum()
            })
            .collect();
        let policy = self.stages.iter().rev().find(|s| s.from as usize <= p.period).map_or("", |s| &s.policy);
        self.weeks.push(Week {
            policy: policy.to_string(),
            published: p.published.to_vec(),
            payout: p.payout.to_vec(),
            value: p.value.to_vec(),
            tokens,
            gaming: p.gaming.to_vec(),
            org: [
                p.totals.value,
                p.totals.tokens * p.price_per_token,
                p.totals.incidents * p.incident_cost,
                p.bonus_paid,
            ],
        });
        Ok(())
    }
}

/// Runs weeks `0..weeks` of the room; returns every week's record.
pub(super) fn simulate(
    sc: &Scenario,
    people: HashMap<usize, Vec<Option<Vec<f64>>>>,
    stages: &[Stage],
) -> Result<Vec<Week>, String> {
    let tokens: Vec<(f64, bool)> = sc.activities.iter().map(|a| (a.tokens_per_hour, a.uses_ai)).collect();
    let mut out = Vec::new();
    goodhart::Experiment::new(sc)
        .behavior(GameRule { people })
        .run_observed(
            &|info: &RunInfo| Recorder {
                keep: info.policy == GAME,
                weeks: Vec::new(),
                tokens: tokens.clone(),
                stages: stages.to_vec(),
            },
            &mut |info, rec, _| {
                if info.policy == GAME {
                    out = rec.weeks;
                }
                Ok(())
            },
        )
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn game(people: usize) -> Game {
        let mut base = goodhart::model::preset::scenario("story").unwrap();
        base.org.engineers = 20;
        Game {
            base,
            timer: 10,
            phase: Phase::Lobby,
            stages: vec![Stage { from: 0, policy: "kirorank".into() }],
            players: (0..people)
                .map(|i| Player {
                    token: format!("t{i}"),
                    name: format!("p{i}"),
                    slot: i,
                    plans: vec![],
                    pending: None,
                    seen: Instant::now(),
                })
                .collect(),
            weeks: vec![],
            version: 0,
            error: None,
        }
    }

    #[test]
    fn weeks_already_played_replay_the_same_and_a_switch_starts_where_it_is_made() {
        let mut g = game(2);
        let burn = vec![10.0, 30.0, 0.0, 0.0, 0.0];
        let people: HashMap<usize, Vec<Option<Vec<f64>>>> =
            [(0, vec![Some(burn.clone()); 4]), (1, vec![None; 4])].into_iter().collect();
        let three = simulate(&g.scenario(3), people.clone(), &g.stages).unwrap();
        g.stages.push(Stage { from: 3, policy: "normalized-deployments".into() });
        let four = simulate(&g.scenario(4), people, &g.stages).unwrap();
        for t in 0..3 {
            assert_eq!(three[t].published, four[t].published, "week {t} changed on replay");
            assert_eq!(three[t].value, four[t].value);
        }
        assert_eq!(four[3].policy, "normalized-deployments");
        // The person who burnt 30 hours a week used at least 300 M tokens a week.
        assert!(four[0].tokens[0] >= 3e8, "{}", four[0].tokens[0]);
    }
}
