//! Fermi imitation: engineers copy the strategy of a random peer with a
//! probability that grows with how much better the peer did.

use crate::behavior::{BehaviorRule, Draws, Engineer, Peers, Planner, Strategy};

/// Each period an engineer reconsiders with probability `revision_rate`,
/// picks a random peer and copies the peer's strategy with the Fermi
/// probability `1 / (1 + exp(-beta (payoff_peer - payoff_own)))`. A share
/// `initial_gamers` starts out gaming; engineers who never game stay honest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Imitation {
    /// Probability per period that an engineer reconsiders.
    pub revision_rate: f64,
    /// Fermi sensitivity beta, per USD of payoff difference.
    pub beta: f64,
    /// Fraction of engineers who start as gamers.
    pub initial_gamers: f64,
}

/// The Fermi rule: probability of copying a peer whose payoff exceeds one's
/// own by `diff` USD.
pub fn fermi(beta: f64, diff: f64) -> f64 {
    1.0 / (1.0 + (-beta * diff).exp())
}

impl BehaviorRule for Imitation {
    type Memory = Strategy;
    const SOCIAL: bool = true;

    fn init(&self, me: &Engineer) -> Strategy {
        Strategy::from_bool(me.type_draw < self.initial_gamers && !me.never_games)
    }

    fn choose(&self, _: &Engineer, strategy: &mut Strategy, planner: &mut Planner) {
        planner.best_response(strategy.games());
    }

    fn learn(&self, me: &Engineer, strategy: &mut Strategy, payoff: f64, peers: &Peers<Strategy>, draws: &mut Draws) {
        let (u1, u2, u3) = (draws.uniform(), draws.uniform(), draws.uniform());
        let n = peers.len();
        if me.never_games || n < 2 || u1 >= self.revision_rate {
            return;
        }
        // A peer other than oneself, uniformly.
        let mut j = (u2 * (n - 1) as f64) as usize;
        if j >= me.index {
            j += 1;
        }
        let j = j.min(n - 1);
        let theirs = *peers.memory(j);
        if theirs != *strategy && u3 < fermi(self.beta, peers.payoff(j) - payoff) {
            *strategy = theirs;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fermi_follows_its_formula() {
        assert_eq!(fermi(1.0, 0.0), 0.5);
        assert!((fermi(0.5, 2.0) - 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-15);
    }
}
