//! Who engineers see: the organisation's social structure, and how norms
//! spread along it.
//!
//! Without this section every engineer sees everyone (a well-mixed
//! population): imitation picks a partner from the whole organisation. With
//! it, engineers see their neighbours only: their team (consecutive groups
//! of `size`), or a small world (a ring of `size` ties each, a share
//! `rewire` of them redrawn at random, as in Watts & Strogatz 1998).
//! Imitation picks a partner among them, and with `norm_erosion > 0` each
//! engineer's integrity drifts towards their own times the share of
//! neighbours who do not game:
//!
//!   gamma <- gamma + norm_erosion x ((1 - g) gamma_0 - gamma),
//!
//! with `g` the share of neighbours who gamed (over half an hour) this
//! period and `gamma_0` the engineer's integrity when they joined. Peers who
//! game wear the norm down; peers who stop let it recover.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::schema::{check, check_int, whole};

/// The shape of the network engineers see each other on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Structure {
    /// Everyone sees everyone (well mixed).
    #[default]
    Everyone,
    /// Teams of `size` consecutive engineers; each sees their team.
    Teams,
    /// A ring where each engineer has `size` ties (half on each side), each
    /// redrawn to a random engineer with probability `rewire`.
    SmallWorld,
}

/// The scenario's `[social]` section.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Social {
    /// The network.
    pub structure: Structure,
    /// Engineers per team (`teams`), or ties per engineer, even
    /// (`small-world`).
    #[serde(deserialize_with = "whole")]
    pub size: u32,
    /// Probability that a tie of the small world is redrawn at random.
    pub rewire: f64,
    /// Rate per period at which integrity drifts with the neighbours'
    /// gaming (0: integrity is fixed).
    pub norm_erosion: f64,
}

impl Default for Social {
    /// Teams of 8, no erosion of norms.
    fn default() -> Self {
        Social { structure: Structure::Teams, size: 8, rewire: 0.1, norm_erosion: 0.0 }
    }
}

impl Social {
    /// Checks the fields against their schema rows and the organisation's size.
    pub fn validate(&self, engineers: usize) -> Result<()> {
        check_int("social.size", u64::from(self.size))?;
        check("social.rewire", self.rewire)?;
        check("social.norm_erosion", self.norm_erosion)?;
        if self.structure == Structure::SmallWorld {
            if self.size % 2 == 1 {
                return Err(Error::invalid("social.size", self.size, "an even number of ties for a small world"));
            }
            if self.size as usize >= engineers {
                return Err(Error::invalid(
                    "social.size",
                    self.size,
                    format!("fewer ties than engineers ({engineers}) for a small world"),
                ));
            }
        }
        Ok(())
    }

    /// The drift of one engineer's integrity `gamma` in a period where a
    /// share `gamers` of their neighbours gamed; `own` is their integrity
    /// when they joined.
    pub fn erode(&self, gamma: f64, own: f64, gamers: f64) -> f64 {
        gamma + self.norm_erosion * ((1.0 - gamers) * own - gamma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erosion_converges_geometrically_to_the_share_who_do_not_game() {
        // Fixed point (1 - g) gamma_0, reached as (1 - rate)^n.
        let s = Social { norm_erosion: 0.2, ..Social::default() };
        let (own, g) = (100.0, 0.75);
        let mut gamma = own;
        for n in 1..=20 {
            gamma = s.erode(gamma, own, g);
            let want = 25.0 + 75.0 * 0.8f64.powi(n);
            assert!((gamma - want).abs() < 1e-9, "step {n}: {gamma} vs {want}");
        }
        // With no gamers around it recovers to its own.
        assert!((s.erode(25.0, own, 0.0) - 40.0).abs() < 1e-12);
    }

    #[test]
    fn a_small_world_needs_an_even_number_of_ties_below_the_organisation() {
        let sw = Social { structure: Structure::SmallWorld, size: 5, ..Social::default() };
        assert!(sw.validate(100).unwrap_err().to_string().starts_with("social.size: "));
        let sw = Social { structure: Structure::SmallWorld, size: 100, ..Social::default() };
        assert!(sw.validate(100).is_err());
        assert!(Social { size: 6, ..sw }.validate(100).is_ok());
    }
}
