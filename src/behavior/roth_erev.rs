//! Roth–Erev reinforcement learning over the candidate plans
//! ([`crate::behavior::plans`]).

use crate::behavior::plans::{CANDIDATES, Menu, open_to};
use crate::behavior::{BehaviorRule, Draws, Engineer, Peers, Planner};
use crate::engine::state::Warm;

/// Each engineer keeps a propensity per candidate plan (those open to them:
/// engineers who never game have the honest ones) and plays a candidate
/// with probability in proportion to it. After a period the played
/// candidate's propensity grows by `(1 - experimentation)` times the
/// reinforcement (the payoff above the lowest payoff seen), each other's by
/// `experimentation / (n - 1)` times it, and all decay by `forgetting`
/// (Roth and Erev 1995, Erev and Roth 1998; published values about 0.1 and
/// 0.2). With two candidates this is the two-strategy rule of old.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RothErev {
    /// Forgetting phi, in [0, 1].
    pub forgetting: f64,
    /// Experimentation epsilon, in [0, 1].
    pub experimentation: f64,
    /// Initial propensity of each candidate, USD-equivalent.
    pub initial_propensity: f64,
}

/// An engineer's propensities and what they played.
#[derive(Debug, Clone, Copy)]
pub struct Propensities {
    /// The candidate played this period (an index into
    /// [`crate::behavior::plans::PLANS`]).
    pub played: usize,
    /// Propensity per candidate (those not open to the engineer stay unused).
    pub q: [f64; CANDIDATES],
    /// The lowest payoff seen so far (reinforcement is measured above it).
    pub min_payoff: f64,
    /// Each gaming kind's warm start for the best-response search (the
    /// kind played changes from period to period).
    warm: [Warm; 3],
}

/// One Roth–Erev update of the propensities `q` after playing `played` with
/// reinforcement `x >= 0`.
pub fn roth_erev(q: &mut [f64], played: usize, x: f64, forgetting: f64, experimentation: f64) {
    let spill = if q.len() > 1 { experimentation / (q.len() - 1) as f64 } else { 0.0 };
    for (j, qj) in q.iter_mut().enumerate() {
        let e = if j == played { x * (1.0 - experimentation) } else { x * spill };
        *qj = (1.0 - forgetting) * *qj + e;
    }
}

/// The index drawn with probability in proportion to `weights`, by the
/// uniform `u` (the last one if rounding leaves `u` above the total).
pub fn draw(weights: &[f64], u: f64) -> usize {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w / total;
        if u < acc {
            return i;
        }
    }
    weights.len() - 1
}

impl BehaviorRule for RothErev {
    type Memory = Propensities;

    fn init(&self, _: &Engineer) -> Propensities {
        Propensities {
            played: 0,
            q: [self.initial_propensity; CANDIDATES],
            min_payoff: f64::INFINITY,
            warm: [Warm::new(); 3],
        }
    }

    fn choose(&self, me: &Engineer, m: &mut Propensities, planner: &mut Planner) {
        if !planner.incentive() {
            // Before the measure is a target: the organisation as the best
            // response has it, whatever the rule.
            planner.best_response(!me.never_games);
            return;
        }
        let n = open_to(me.never_games);
        m.played = draw(&m.q[..n], planner.strategy_draw());
        Menu::with_warm(&mut m.warm, planner).plan(m.played, planner);
    }

    fn learn(&self, me: &Engineer, m: &mut Propensities, payoff: f64, _: &Peers<Propensities>, _: &mut Draws) {
        m.min_payoff = m.min_payoff.min(payoff);
        let q = &mut m.q[..open_to(me.never_games)];
        roth_erev(q, m.played, payoff - m.min_payoff, self.forgetting, self.experimentation);
        q.iter_mut().for_each(|x| *x = x.max(1e-12));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::open01;
    use rand::SeedableRng;

    #[test]
    fn roth_erev_follows_its_formula() {
        // Two candidates: the other gets epsilon x, as in the two-strategy rule.
        let mut q = [1.0, 1.0];
        roth_erev(&mut q, 0, 10.0, 0.1, 0.2);
        assert_eq!(q, [0.9 + 8.0, 0.9 + 2.0]);
        // Four: the others share epsilon x.
        let mut q = [1.0; 4];
        roth_erev(&mut q, 2, 30.0, 0.1, 0.3);
        let spill = 0.9 + 30.0 * (0.3 / 3.0);
        assert_eq!(q, [spill, spill, 0.9 + 30.0 * (1.0 - 0.3), spill]);
    }

    #[test]
    fn draw_follows_the_weights() {
        assert_eq!(draw(&[1.0, 3.0], 0.24), 0);
        assert_eq!(draw(&[1.0, 3.0], 0.26), 1);
        assert_eq!(draw(&[1.0, 0.0, 1.0], 0.5), 2);
        assert_eq!(draw(&[1.0, 1.0], 1.0), 1);
    }

    /// A stationary single-agent problem: candidate `best` pays `top` more
    /// than every other, which all pay the same. Reinforcement above the
    /// lowest payoff seen is then `top` when `best` is played and 0
    /// otherwise, so each play of `best` moves the propensities towards
    /// `q_best / q_other = (1 - eps)(K - 1) / eps`, and plays of the others
    /// only decay them all: the probability of `best` tends to `1 - eps`
    /// exactly, whatever the draws.
    #[test]
    fn learns_the_best_candidate_of_a_stationary_problem_with_probability_one_minus_epsilon() {
        let (phi, eps, top) = (0.1, 0.2, 500.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for best in [0, 3, 7] {
            let rule = RothErev { forgetting: phi, experimentation: eps, initial_propensity: 100.0 };
            let me = crate::behavior::hill_climb::tests::engineer(false);
            let mut m = rule.init(&me);
            let (periods, tail) = (2000, 1000);
            let mut hits = 0;
            for t in 0..periods {
                m.played = draw(&m.q, open01(&mut rng));
                if t >= periods - tail && m.played == best {
                    hits += 1;
                }
                let payoff = 1000.0 + if m.played == best { top } else { 0.0 };
                rule.learn(
                    &me,
                    &mut m,
                    payoff,
                    &Peers::new(&[], &[], &crate::engine::network::Network::Everyone { n: 0 }),
                    &mut dummy_draws(),
                );
            }
            let p = m.q[best] / m.q.iter().sum::<f64>();
            assert!((p - (1.0 - eps)).abs() < 1e-9, "best {best}: p = {p}");
            // Plays in the tail are Bernoulli(1 - eps) up to the transient
            // (gone long before): within 4 binomial standard errors.
            let se = (eps * (1.0 - eps) / tail as f64).sqrt();
            let freq = hits as f64 / tail as f64;
            assert!((freq - (1.0 - eps)).abs() < 4.0 * se, "best {best}: played {freq}");
        }
    }

    fn dummy_draws() -> Draws<'static> {
        use std::sync::OnceLock;
        static STREAMS: OnceLock<crate::engine::rng::Streams> = OnceLock::new();
        Draws::new(STREAMS.get_or_init(|| crate::engine::rng::Streams::new(1, 0)), 0, 0)
    }
}
