//! Fermi imitation: engineers copy a random peer's plan when it would do
//! better *for them*, with a probability that grows with how much better.

use crate::behavior::plans::{Candidate, HONEST_PLANS, Menu, PLANS};
use crate::behavior::{BehaviorRule, Draws, Engineer, Peers, Planner};

/// Each period an engineer reconsiders with probability `revision_rate`
/// and picks a random peer. Next period, before working, they score the
/// peer's plan as it would be for them, and their own, each under their own
/// traits, hours and current belief, and switch with the Fermi probability
/// `1 / (1 + exp(-beta (U_peer - U_own)))`.
///
/// A plan is one of the candidate plans ([`crate::behavior::plans`]), a
/// rule re-planned for whoever follows it: the peer's plan "scaled" to the
/// learner is the plan the peer's rule gives someone of the learner's
/// skill, AI leverage, hours and belief (for a peer who best-responds,
/// the learner's own best response, not the peer's hours). Comparing
/// expected utilities of one engineer keeps skill out of the comparison:
/// a skilled peer's larger payoff no longer makes their plan look better.
///
/// A share `initial_gamers` starts on the plans that game (open or
/// committed), spread evenly over them, the rest on the honest plans,
/// spread evenly too (a population of assorted habits for imitation to
/// select from). Engineers who never game start honest and follow a
/// peer's gaming plan with its push and gaming closed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Imitation {
    /// Probability per period that an engineer reconsiders.
    pub revision_rate: f64,
    /// Fermi sensitivity beta, per USD of expected-utility difference.
    pub beta: f64,
    /// Fraction of engineers who start on a gaming plan.
    pub initial_gamers: f64,
}

/// An imitator's plan and the peer's plan they will weigh next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Imitator {
    /// The candidate plan followed (an index into
    /// [`crate::behavior::plans::PLANS`]).
    pub plan: usize,
    /// The peer's plan to weigh before the next period, if any.
    pub peer: Option<usize>,
    /// The uniform draw that decides the switch.
    pub draw: f64,
}

/// The Fermi rule: probability of copying a peer whose payoff exceeds one's
/// own by `diff` USD.
pub fn fermi(beta: f64, diff: f64) -> f64 {
    1.0 / (1.0 + (-beta * diff).exp())
}

impl BehaviorRule for Imitation {
    type Memory = Imitator;
    const SOCIAL: bool = true;

    fn init(&self, me: &Engineer) -> Imitator {
        // One uniform splits into the kind of plan and, rescaled to (0, 1)
        // within that kind, which of its plans.
        let (u, g) = (me.type_draw, self.initial_gamers);
        let plan = if u < g {
            let v = u / g;
            let gaming = PLANS.len() - HONEST_PLANS;
            let i = HONEST_PLANS + ((v * gaming as f64) as usize).min(gaming - 1);
            if me.never_games { Candidate::honest(i) } else { i }
        } else {
            let v = (u - g) / (1.0 - g);
            ((v * HONEST_PLANS as f64) as usize).min(HONEST_PLANS - 1)
        };
        Imitator { plan, peer: None, draw: 0.5 }
    }

    fn choose(&self, me: &Engineer, m: &mut Imitator, planner: &mut Planner) {
        if !planner.incentive() {
            // Before the measure is a target: the organisation as the best
            // response has it, whatever the rule.
            planner.best_response(!me.never_games);
            return;
        }
        let mut menu = Menu::default();
        if let Some(peer) = m.peer.take() {
            let own = menu.plan(m.plan, planner);
            let theirs = menu.plan(peer, planner);
            if m.draw < fermi(self.beta, theirs - own) {
                m.plan = peer;
                return; // the peer's plan is the one left in the planner
            }
        }
        menu.plan(m.plan, planner);
    }

    fn learn(&self, me: &Engineer, m: &mut Imitator, _: f64, peers: &Peers<Imitator>, draws: &mut Draws) {
        let (u1, u2, u3) = (draws.uniform(), draws.uniform(), draws.uniform());
        if u1 >= self.revision_rate {
            return;
        }
        // A neighbour, uniformly (anyone else in a well-mixed organisation).
        let Some(j) = peers.partner(me.index, u2) else { return };
        let theirs = peers.memory(j).plan;
        let theirs = if me.never_games { Candidate::honest(theirs) } else { theirs };
        if theirs != m.plan {
            (m.peer, m.draw) = (Some(theirs), u3);
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

    /// A toy organisation: `skills.len()` engineers under a linear piece
    /// rate on the metric (the planner's test tables: build, burn, pad),
    /// integrity `gamma`, hours enough that none is at the week's limit;
    /// the one with `type_draw` = `draws[i]` has skill `skills[i]`. Payoffs are the plans' expected utilities (no noise), so
    /// comparing payoffs across engineers compares skills. Returns the share
    /// of engineers gaming more than half an hour, per period.
    fn toy(rule: &Imitation, skills: &[f64], draws: &[f64], gamma: f64, periods: usize) -> Vec<f64> {
        use crate::behavior::belief::Belief;
        use crate::behavior::best_response::tests::{agent, tables};
        use crate::behavior::best_response::{Agent, Scratch};
        use crate::engine::rng::Streams;
        use crate::engine::state::Warm;
        use crate::model::activity::EffortForm;
        let t = tables(EffortForm::Separable);
        let belief = Belief::Linear { rate: 100.0 };
        let n = skills.len();
        let base = crate::behavior::hill_climb::tests::engineer(false);
        let people: Vec<Engineer> = (0..n)
            .map(|i| Engineer { index: i, skill: skills[i], integrity: gamma, type_draw: draws[i], ..base })
            .collect();
        let mut memory: Vec<Imitator> = people.iter().map(|e| rule.init(e)).collect();
        let (mut scratch, mut warm, zeros) = (Scratch::new(t.len()), vec![Warm::new(); n], vec![0.0; t.len()]);
        let streams = Streams::new(17, 0);
        let mut shares = Vec::new();
        for period in 0..periods {
            let mut payoff = vec![0.0; n];
            let mut gamers = 0;
            for (i, me) in people.iter().enumerate() {
                let agent = Agent { skill: me.skill, integrity: gamma, hours: 168.0, ..agent() };
                let mut p = Planner::for_test(agent, &t, &belief, &mut scratch, &mut warm[i], &zeros, &zeros);
                rule.choose(me, &mut memory[i], &mut p);
                payoff[i] = p.utility(p.hours(), p.tau());
                let gaming: f64 = (0..t.len()).filter(|&a| t.gaming[a]).map(|a| p.hours()[a]).sum();
                gamers += usize::from(gaming > 0.5);
            }
            shares.push(gamers as f64 / n as f64);
            let snapshot = memory.clone();
            let everyone = crate::engine::network::Network::Everyone { n };
            let peers = Peers::new(&snapshot, &payoff, &everyone);
            for (i, me) in people.iter().enumerate() {
                rule.learn(me, &mut memory[i], payoff[i], &peers, &mut Draws::new(&streams, i, period as i64));
            }
        }
        shares
    }

    #[test]
    fn imitators_leave_gaming_that_is_worse_for_everyone_even_when_the_skilled_game() {
        // Skills evenly spread on [0.5, 2.5]. Under the piece rate (lambda =
        // rho rate = 50) padding earns at most (2 lambda 0.6 + 0.7 x 5) skill
        // = 158.75 USD an hour at push 2: below integrity 180, so no plan
        // games but the committed one, which is worse for everyone. The
        // skilled still out-earn the others when they game, so copying
        // better-paid peers would spread gaming when the skilled start on
        // the gaming plans; weighing each plan for oneself does not.
        let n = 200;
        let skills: Vec<f64> = (0..n).map(|i| 0.5 + 2.0 * (i as f64 + 0.5) / n as f64).collect();
        let rule = Imitation { revision_rate: 0.3, beta: 0.01, initial_gamers: 0.5 };
        for order in ["skilled first", "unskilled first", "interleaved"] {
            let draws: Vec<f64> = (0..n)
                .map(|i| {
                    let rank = match order {
                        "skilled first" => n - 1 - i,
                        "unskilled first" => i,
                        _ => (i * 73) % n,
                    };
                    (rank as f64 + 0.5) / n as f64
                })
                .collect();
            let shares = toy(&rule, &skills, &draws, 180.0, 40);
            // A quarter of the starting gamers commit (one in four gaming
            // plans): 1/8 of the engineers.
            assert!((shares[0] - 0.125).abs() < 0.01, "{order}: {shares:?}");
            // Each committed gamer meets a non-gaming peer with probability
            // at least 0.3 x 7/8 a week and then switches almost surely, and
            // nobody takes up a plan worse for them by thousands of USD; so
            // after 30 weeks about exp(-7.9) of them are left: none in 200.
            assert_eq!(shares[30..], [0.0; 10], "{order}: {shares:?}");
        }
    }

    #[test]
    fn starting_plans_are_spread_evenly_within_each_kind() {
        let rule = Imitation { revision_rate: 0.2, beta: 0.01, initial_gamers: 0.2 };
        let mut me = crate::behavior::hill_climb::tests::engineer(false);
        let n = 100_000;
        let mut count = [0usize; PLANS.len()];
        for i in 0..n {
            me.type_draw = (i as f64 + 0.5) / n as f64;
            count[rule.init(&me).plan] += 1;
        }
        // An evenly spaced grid of draws: exact shares up to one draw.
        for (i, &c) in count.iter().enumerate() {
            let share = if i < HONEST_PLANS { 0.8 / 4.0 } else { 0.2 / 4.0 };
            assert!((c as f64 - share * n as f64).abs() <= 1.0, "plan {i}: {c}");
        }
        me.never_games = true;
        for i in 0..n {
            me.type_draw = (i as f64 + 0.5) / n as f64;
            assert!(rule.init(&me).plan < HONEST_PLANS);
        }
    }
}
