//! The behaviour trait and what the engine shows a behaviour.

use rand_chacha::ChaCha8Rng;

use crate::behavior::planner::Planner;
use crate::engine::rng::{Purpose, Streams, open01};

/// A behaviour: how an engineer plans each period and learns once paid.
///
/// The engine calls, for every engineer, `init` once at the start of a run,
/// then each period `choose` (before work; the plan it leaves in the
/// [`Planner`] is what the engineer does) and, from the first incentive
/// period on, `learn` after the period's payoffs. `choose` also runs in the
/// pre-period, the organisation before the measure became a target, with no
/// reward in the planner's utility. Memories are per engineer; the engine
/// runs engineers in parallel, so a rule keeps no shared mutable state.
/// Randomness comes only from the planner's and [`Draws`]' uniforms, which
/// are fixed per (engineer, period) and the same under every policy
/// (common random numbers). See the [module page](crate::behavior) for a
/// complete example.
pub trait BehaviorRule: Send + Sync {
    /// What an engineer carries from one period to the next.
    type Memory: Clone + Send + Sync;
    /// Whether `learn` reads peers ([`Peers`] is empty otherwise): the
    /// engine then keeps a copy of every memory and payoff as they were
    /// before anyone learnt this period.
    const SOCIAL: bool = false;

    /// An engineer's memory at the start of a run.
    fn init(&self, me: &Engineer) -> Self::Memory;

    /// This period's plan: call [`Planner::best_response`], or build plans
    /// and score them with [`Planner::utility`], then [`Planner::set_plan`].
    /// A rule that sets no plan leaves the engineer idle.
    fn choose(&self, me: &Engineer, memory: &mut Self::Memory, planner: &mut Planner);

    /// After the period's payoff (USD-equivalent utility: reward times
    /// reward sensitivity, plus value, minus effort, gaming disutility, the
    /// felt token bill and any audit penalty). Does nothing by default.
    fn learn(
        &self,
        me: &Engineer,
        memory: &mut Self::Memory,
        payoff: f64,
        peers: &Peers<Self::Memory>,
        draws: &mut Draws,
    ) {
        let _ = (me, memory, payoff, peers, draws);
    }
}

/// Whether an engineer lets themself game this period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Gaming activities are open (taken only when they pay).
    Game,
    /// Gaming activities are closed.
    Honest,
}

impl Strategy {
    /// [`Strategy::Game`] when `game`.
    pub fn from_bool(game: bool) -> Strategy {
        if game { Strategy::Game } else { Strategy::Honest }
    }

    /// Whether gaming is open.
    pub fn games(self) -> bool {
        self == Strategy::Game
    }
}

/// One engineer's traits, as a behaviour sees them (drawn once per
/// replication; units as in [`crate::TraitsConfig`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Engineer {
    /// Index in the organisation, from 0.
    pub index: usize,
    /// Skill: multiplier on value per hour.
    pub skill: f64,
    /// AI leverage: the most AI multiplies productivity by, minus one (the
    /// true one; the [`Planner`] plans with the leverage the engineer
    /// perceives, `traits.ai_perception`).
    pub ai_leverage: f64,
    /// Integrity: disutility per gaming hour, USD-equivalent.
    pub integrity: f64,
    /// Never games, under any behaviour.
    pub never_games: bool,
    /// Utility per USD of useful output.
    pub intrinsic_motivation: f64,
    /// Utility per USD of reward.
    pub reward_sensitivity: f64,
    /// Share of their own token bill the engineer feels, in [0, 1].
    pub cost_awareness: f64,
    /// A uniform draw in (0, 1) of their own, fixed for the replication (for
    /// assigning types).
    pub type_draw: f64,
}

/// Every engineer's memory and payoff as they were before this period's
/// learning (empty unless the rule is [`BehaviorRule::SOCIAL`]).
#[derive(Debug)]
pub struct Peers<'a, M> {
    memory: &'a [M],
    payoff: &'a [f64],
    network: &'a Network,
}

impl<'a, M> Peers<'a, M> {
    pub(crate) fn new(memory: &'a [M], payoff: &'a [f64], network: &'a Network) -> Self {
        Peers { memory, payoff, network }
    }

    /// A neighbour of engineer `i` (someone they see: anyone, their team, or
    /// their ties in a small world; `scenario.social`), chosen uniformly by
    /// the uniform draw `u`; `None` with nobody visible.
    pub fn partner(&self, i: usize, u: f64) -> Option<usize> {
        if self.memory.is_empty() {
            return None;
        }
        let d = self.network.degree(i);
        (d > 0).then(|| self.network.neighbour(i, ((u * d as f64) as usize).min(d - 1)))
    }

    /// Number of engineers visible (0 for a rule that is not social).
    pub fn len(&self) -> usize {
        self.memory.len()
    }

    /// True when no peer is visible.
    pub fn is_empty(&self) -> bool {
        self.memory.is_empty()
    }

    /// Engineer `j`'s memory.
    pub fn memory(&self, j: usize) -> &M {
        &self.memory[j]
    }

    /// Engineer `j`'s payoff this period, USD-equivalent.
    pub fn payoff(&self, j: usize) -> f64 {
        self.payoff[j]
    }
}

use crate::engine::network::Network;

/// Uniform draws for one engineer's learning in one period, from the
/// behaviour stream of (seed, replication, engineer, period): the same
/// sequence under every policy.
pub struct Draws<'a> {
    streams: &'a Streams,
    engineer: u64,
    period: i64,
    rng: Option<ChaCha8Rng>,
}

impl<'a> Draws<'a> {
    pub(crate) fn new(streams: &'a Streams, engineer: usize, period: i64) -> Self {
        Draws { streams, engineer: engineer as u64, period, rng: None }
    }

    /// The next uniform draw in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        // The stream is opened on first use: most rules draw nothing.
        let (streams, engineer, period) = (self.streams, self.engineer, self.period);
        let rng = self.rng.get_or_insert_with(|| streams.substream(Purpose::Behaviour, engineer, period, 1));
        open01(rng)
    }
}

impl std::fmt::Debug for Draws<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Draws").field("engineer", &self.engineer).field("period", &self.period).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partner_is_a_neighbour_drawn_uniformly() {
        // Teams of 5 among 12: engineer 7's team-mates are 5, 6, 8 and 9.
        let (memory, payoff) = (vec![(); 12], vec![0.0; 12]);
        let teams = Network::Teams { n: 12, size: 5 };
        let peers = Peers::new(&memory, &payoff, &teams);
        let draws = 40_000;
        let mut seen = [0usize; 12];
        for k in 0..draws {
            seen[peers.partner(7, (k as f64 + 0.5) / draws as f64).unwrap()] += 1;
        }
        assert_eq!(seen.iter().enumerate().filter(|(_, c)| **c > 0).map(|(j, _)| j).collect::<Vec<_>>(), [5, 6, 8, 9]);
        assert!(seen.iter().filter(|c| **c > 0).all(|&c| c == draws / 4), "{seen:?}");
        // Alone in a team of one: nobody to imitate.
        let alone = Network::Teams { n: 11, size: 5 };
        assert_eq!(Peers::new(&memory[..11], &payoff[..11], &alone).partner(10, 0.3), None);
    }
}
