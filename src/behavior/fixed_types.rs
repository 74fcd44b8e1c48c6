//! Fixed types: gamers and honest engineers, for teaching and tests.

use crate::behavior::{BehaviorRule, Engineer, Planner, Strategy};

/// A share `gamer_fraction` of engineers are gamers, for whom gaming costs
/// nothing (integrity 0); the rest never game. Engineers who never game
/// (`traits.never_game_fraction`) are honest whatever their draw, so the
/// gamer share is `gamer_fraction x (1 - never_game_fraction)` in
/// expectation. Types never change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedTypes {
    /// Fraction of gamers, before never-gamers are excluded.
    pub gamer_fraction: f64,
}

impl BehaviorRule for FixedTypes {
    type Memory = Strategy;

    fn init(&self, me: &Engineer) -> Strategy {
        Strategy::from_bool(me.type_draw < self.gamer_fraction && !me.never_games)
    }

    fn choose(&self, _: &Engineer, strategy: &mut Strategy, planner: &mut Planner) {
        if strategy.games() {
            planner.ignore_integrity();
        }
        planner.best_response(strategy.games());
    }
}
