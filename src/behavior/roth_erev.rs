//! Roth–Erev reinforcement learning over two strategies, game or stay
//! honest.

use crate::behavior::{BehaviorRule, Draws, Engineer, Peers, Planner, Strategy};

/// Each engineer keeps a propensity per strategy and plays a strategy with
/// probability in proportion to it. After a period the played strategy's
/// propensity grows by `(1 - experimentation)` times the reinforcement
/// (the payoff above the lowest payoff seen), the other's by
/// `experimentation` times it, and both decay by `forgetting` (Roth and
/// Erev 1995; published values about 0.1 and 0.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RothErev {
    /// Forgetting phi, in [0, 1].
    pub forgetting: f64,
    /// Experimentation epsilon, in [0, 1].
    pub experimentation: f64,
    /// Initial propensity of each strategy, USD-equivalent.
    pub initial_propensity: f64,
}

/// An engineer's propensities and what they played.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Propensities {
    /// The strategy played this period.
    pub strategy: Strategy,
    /// Propensity to stay honest and to game.
    pub q: [f64; 2],
    /// The lowest payoff seen so far (reinforcement is measured above it).
    pub min_payoff: f64,
}

/// One Roth–Erev update of two propensities after playing `played` with
/// reinforcement `x >= 0`.
pub fn roth_erev(q: &mut [f64; 2], played: usize, x: f64, forgetting: f64, experimentation: f64) {
    for (j, qj) in q.iter_mut().enumerate() {
        let e = if j == played { x * (1.0 - experimentation) } else { x * experimentation };
        *qj = (1.0 - forgetting) * *qj + e;
    }
}

impl BehaviorRule for RothErev {
    type Memory = Propensities;

    fn init(&self, me: &Engineer) -> Propensities {
        let p = self.initial_propensity;
        Propensities { strategy: Strategy::from_bool(!me.never_games), q: [p, p], min_payoff: f64::INFINITY }
    }

    fn choose(&self, me: &Engineer, m: &mut Propensities, planner: &mut Planner) {
        let [q0, q1] = m.q;
        m.strategy = Strategy::from_bool(!me.never_games && planner.strategy_draw() < q1 / (q0 + q1));
        planner.best_response(m.strategy.games());
    }

    fn learn(&self, _: &Engineer, m: &mut Propensities, payoff: f64, _: &Peers<Propensities>, _: &mut Draws) {
        m.min_payoff = m.min_payoff.min(payoff);
        let played = usize::from(m.strategy.games());
        roth_erev(&mut m.q, played, payoff - m.min_payoff, self.forgetting, self.experimentation);
        m.q = m.q.map(|q| q.max(1e-12));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roth_erev_follows_its_formula() {
        let mut q = [1.0, 1.0];
        roth_erev(&mut q, 0, 10.0, 0.1, 0.2);
        assert_eq!(q, [0.9 + 8.0, 0.9 + 2.0]);
    }
}
