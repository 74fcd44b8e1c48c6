//! Experience-weighted attraction (Camerer and Ho 1999) over the candidate
//! plans ([`crate::behavior::plans`]).

use crate::behavior::plans::{CANDIDATES, Menu, open_to};
use crate::behavior::roth_erev::draw;
use crate::behavior::{BehaviorRule, Draws, Engineer, Peers, Planner};
use crate::engine::state::Warm;

/// Each engineer keeps an attraction `A_j` per candidate plan open to them
/// and an experience weight `N`, and plays `j` with the logit probability
/// `exp(precision A_j) / sum_k exp(precision A_k)`. After a period, with
/// `phi = 1 - forgetting`,
///
/// `N' = phi N + 1`, `A_j' = (phi N A_j + (delta + (1 - delta) [j played]) pi_j) / N'`
///
/// (the averaging case, kappa = 0, of Camerer and Ho; `N(0) = 1`,
/// `A_j(0) = 0`). `pi_j` is what plan `j` would have paid: the realised
/// payoff above the lowest payoff seen (as Roth–Erev measures it), plus
/// the difference in expected utility between `j` and the plan played,
/// both scored under the period's belief before working. So foregone plans
/// share the period's luck and differ by what the engineer could foresee.
/// `delta` = 1 is weighted fictitious play (a logit best response to the
/// expected utilities), `delta` = 0 reinforces only what was played.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ewa {
    /// Forgetting 1 - phi, in [0, 1] (published phi about 0.9).
    pub forgetting: f64,
    /// Weight delta on foregone payoffs, in [0, 1] (published about 0.5).
    pub delta: f64,
    /// Logit precision lambda, per USD-equivalent of attraction.
    pub precision: f64,
}

/// An engineer's attractions and what they played.
#[derive(Debug, Clone, Copy)]
pub struct Attractions {
    /// The candidate played this period.
    pub played: usize,
    /// Attraction per candidate, USD-equivalent.
    pub a: [f64; CANDIDATES],
    /// Experience weight N.
    pub n: f64,
    /// Each candidate's expected utility this period, as scored before work.
    pub expected: [f64; CANDIDATES],
    /// The lowest payoff seen so far.
    pub min_payoff: f64,
    /// Each gaming kind's warm start for the best-response search.
    warm: [Warm; 3],
}

/// Logit choice probabilities (unnormalised, the best at 1) of attractions `a`.
pub fn logit_weights(a: &[f64], precision: f64, out: &mut [f64]) {
    let top = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for (o, &x) in out.iter_mut().zip(a) {
        *o = (precision * (x - top)).exp();
    }
}

/// One EWA update of attractions `a` and experience `n` after playing
/// `played`, with payoffs `pi` per candidate (foregone ones included).
pub fn ewa(a: &mut [f64], n: &mut f64, played: usize, pi: &[f64], phi: f64, delta: f64) {
    let next = phi * *n + 1.0;
    for (j, (aj, &p)) in a.iter_mut().zip(pi).enumerate() {
        let w = if j == played { 1.0 } else { delta };
        *aj = (phi * *n * *aj + w * p) / next;
    }
    *n = next;
}

impl BehaviorRule for Ewa {
    type Memory = Attractions;

    fn init(&self, _: &Engineer) -> Attractions {
        Attractions {
            played: 0,
            a: [0.0; CANDIDATES],
            n: 1.0,
            expected: [0.0; CANDIDATES],
            min_payoff: f64::INFINITY,
            warm: [Warm::new(); 3],
        }
    }

    fn choose(&self, me: &Engineer, m: &mut Attractions, planner: &mut Planner) {
        let k = open_to(me.never_games);
        if !planner.incentive() {
            // Before the measure is a target: the organisation as the best
            // response has it, whatever the rule.
            planner.best_response(!me.never_games);
            return;
        }
        let mut w = [0.0; CANDIDATES];
        logit_weights(&m.a[..k], self.precision, &mut w[..k]);
        m.played = draw(&w[..k], planner.strategy_draw());
        // Score every candidate, the one played last so its plan stays.
        let mut menu = Menu::with_warm(&mut m.warm, planner);
        for j in (0..k).filter(|&j| j != m.played).chain([m.played]) {
            m.expected[j] = menu.plan(j, planner);
        }
    }

    fn learn(&self, me: &Engineer, m: &mut Attractions, payoff: f64, _: &Peers<Attractions>, _: &mut Draws) {
        let k = open_to(me.never_games);
        m.min_payoff = m.min_payoff.min(payoff);
        let x = payoff - m.min_payoff;
        let mut pi = [0.0; CANDIDATES];
        for (p, e) in pi.iter_mut().zip(&m.expected).take(k) {
            *p = x + e - m.expected[m.played];
        }
        ewa(&mut m.a[..k], &mut m.n, m.played, &pi[..k], 1.0 - self.forgetting, self.delta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::open01;
    use rand::SeedableRng;

    #[test]
    fn ewa_follows_its_formula() {
        let (mut a, mut n) = ([10.0, 20.0], 2.0);
        ewa(&mut a, &mut n, 1, &[30.0, 40.0], 0.9, 0.5);
        assert_eq!(n, 2.8);
        assert_eq!(a, [(1.8 * 10.0 + 0.5 * 30.0) / 2.8, (1.8 * 20.0 + 40.0) / 2.8]);
    }

    /// Plays `periods` periods of a stationary problem whose candidate `j`
    /// pays `pay[j]` for sure; returns the memory and the plays.
    fn play(rule: &Ewa, pay: &[f64; CANDIDATES], periods: usize, seed: u64) -> (Attractions, Vec<usize>) {
        let me = crate::behavior::hill_climb::tests::engineer(false);
        let mut m = rule.init(&me);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let streams = crate::engine::rng::Streams::new(1, 0);
        let mut plays = Vec::new();
        for _ in 0..periods {
            let mut w = [0.0; CANDIDATES];
            logit_weights(&m.a, rule.precision, &mut w);
            m.played = draw(&w, open01(&mut rng));
            m.expected = *pay;
            plays.push(m.played);
            let payoff = pay[m.played];
            rule.learn(
                &me,
                &mut m,
                payoff,
                &Peers::new(&[], &[], &crate::engine::network::Network::Everyone { n: 0 }),
                &mut Draws::new(&streams, 0, 0),
            );
        }
        (m, plays)
    }

    const PAY: [f64; CANDIDATES] = [900.0, 1000.0, 1300.0, 1100.0, 1050.0, 1100.0, 1000.0, 950.0];

    /// With delta = 1 every candidate's payoff enters whatever was played:
    /// `A_j - A_k` tends to `pi_j - pi_k` exactly, so play tends to the
    /// logit of the payoffs, i.i.d. once the start has decayed.
    #[test]
    fn with_delta_one_play_follows_the_logit_of_the_payoffs() {
        let rule = Ewa { forgetting: 0.1, delta: 1.0, precision: 0.01 };
        let (periods, tail) = (4000, 3800);
        let (_, plays) = play(&rule, &PAY, periods, 3);
        let mut w = [0.0; CANDIDATES];
        logit_weights(&PAY, rule.precision, &mut w);
        let total: f64 = w.iter().sum();
        for (j, wj) in w.iter().enumerate() {
            let p = wj / total;
            let freq = plays[periods - tail..].iter().filter(|&&k| k == j).count() as f64 / tail as f64;
            let se = (p * (1.0 - p) / tail as f64).sqrt();
            assert!((freq - p).abs() < 4.0 * se, "candidate {j}: played {freq}, logit {p}");
        }
    }

    /// With delta = 1/2 and a sharp logit the learner settles on the best
    /// candidate; then `A_best = pi_best - m` and `A_j = delta (pi_j - m)`,
    /// with `m` the lowest payoff seen, and every later play is the best
    /// (the gap `A_best - A_j` is at least `delta (pi_best - pi_j)` = 100,
    /// so the chance of another play is below `7 exp(-30)` a period).
    #[test]
    fn with_delta_one_half_it_settles_on_the_best_candidate() {
        let rule = Ewa { forgetting: 0.1, delta: 0.5, precision: 0.3 };
        for seed in 0..5 {
            let (m, plays) = play(&rule, &PAY, 400, seed);
            let best = 2;
            assert!(plays[200..].iter().all(|&k| k == best), "seed {seed}");
            let low = m.min_payoff;
            for (j, pay) in PAY.iter().enumerate() {
                let want = if j == best { pay - low } else { rule.delta * (pay - low) };
                assert!((m.a[j] - want).abs() < 1e-6 * pay, "seed {seed}, candidate {j}: {} vs {want}", m.a[j]);
            }
        }
    }
}
