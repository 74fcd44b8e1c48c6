//! # goodhart
//!
//! Simulate Goodhart's law in organisations. Engineers are agents who
//! optimise whichever metric they are rewarded on: AI token consumption on a
//! leaderboard, deployments, normalized deployments, shipped-and-survived
//! changes. The simulation reports what the organisation pays (token bill,
//! incidents, review load) against the useful output it gets, so incentive
//! policies can be compared *before* they are rolled out.
//!
//! ## Quick start
//!
//! ```
//! use goodhart::{Metric, Policy, Reward, Scenario, run};
//!
//! let mut scenario = Scenario::default();
//! scenario.org.engineers = 50;
//! scenario.periods = 12;
//! scenario.replications = 3;
//! scenario.policies = vec![
//!     Policy::none("no-leaderboard"),
//!     Policy::new("kirorank", Metric::builtin("tokens", 4)?, Reward::leaderboard(0.1, 3000.0, 0.1, 2000.0)),
//! ];
//! let results = run(&scenario)?;
//! let ratio = results.estimate("kirorank", "token_cost").unwrap().mean
//!     / results.estimate("no-leaderboard", "token_cost").unwrap().mean;
//! assert!(ratio > 1.5);
//! # Ok::<(), goodhart::Error>(())
//! ```
//!
//! [`run`] keeps every run's per-period series in memory. For large
//! experiments, [`run_streaming`] hands each finished run to a sink in a
//! fixed order (replication by replication, on any thread count) and keeps
//! only run totals and per-period running estimates; the command line
//! streams `timeseries.csv` to disk that way.
//!
//! ## The model in one page
//!
//! A summary follows; the full page, with every mechanism's equation, unit,
//! default and source, is the [`model`] module's page (also `docs/model.md`).
//!
//! - **Engineers** ([`model::engineer`]) have six traits drawn per replication:
//!   skill, AI leverage, integrity (USD-equivalent disutility per gaming
//!   hour; a fraction never game), intrinsic motivation (utility per USD of
//!   useful output), reward sensitivity (utility per USD of reward) and cost
//!   awareness (share of their own token bill they feel).
//! - **Activities** ([`model::activity`]) are data: per-hour value, changes shipped,
//!   defect rate, review load, fixed tokens, signals, a gaming flag, and an
//!   AI intensity `tau` (tokens per hour) chosen by the engineer, multiplying
//!   productivity by `1 + a (1 - exp(-tau / tau0))`.
//! - **Changes** ship as Poisson counts; each is defective with the
//!   activity's defect rate, rolled back if found within the survival window,
//!   and may cause an incident. Useful output is the value of what survives.
//! - **Metrics** ([`model::metric`]) are weighted signals with noise, delay and a
//!   trailing window; **rewards** ([`model::reward`]) are leaderboards, piece rates,
//!   quotas or user rules; **policies** ([`model::policy`]) add audits, token caps
//!   and schedules.
//! - **Behaviour** ([`behavior`]): an exact best response to expected
//!   utility `rho E[reward] + m E[value] - effort - gamma gaming_hours -
//!   kappa own_token_bill - E[audit penalty]`, with beliefs formed on the
//!   last leaderboard and the noise on one's own metric; or imitation,
//!   Roth–Erev reinforcement, or fixed types.
//! - **Accounting** ([`analysis::kpi`]): token cost, useful output, incident
//!   cost, net value and diagnostics such as gaming share and the metric's
//!   rank correlation with true value.
//!
//! ## Determinism
//!
//! Every random number comes from a ChaCha8 stream keyed by (seed, purpose,
//! replication) and positioned by (engineer, period) ([`engine::rng`]). Results are
//! byte-identical on any thread count, and every policy in a comparison meets
//! the same engineers and the same shocks (common random numbers).
//!
//! ## Reproductions
//!
//! [`reproduce`] holds published Goodhart models rebuilt with the library's
//! conventions (named random streams, parallel runs identical on any
//! thread count), checked against their closed forms: for example
//! [`reproduce::bad_science`], Smaldino & McElreath's natural selection of
//! bad science. `docs/reproductions.md` puts their numbers beside the papers'.
//!
//! ## Extending
//!
//! Implement [`CustomMetric`] to observe a metric your own way, or
//! [`RewardRule`] for a reward scheme, and put them in a [`Policy`]; define
//! activities and signals in data. The engine does not change.

#![deny(missing_docs)]

// The README's Rust examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod analysis;
pub mod behavior;
pub mod engine;
pub mod error;
pub mod experiment;
pub mod io;
pub mod model;
pub mod reproduce;

pub use analysis::stats::Estimate;
pub use behavior::{Behavior, BeliefRule, Model};
pub use engine::observer::{Observer, ObserverError, RunInfo};
pub use engine::population::Population;
pub use engine::view::PeriodView;
pub use error::{Error, Result};
pub use experiment::{Experiment, Footprint, Results, SummaryRow, run, run_streaming, run_with_progress};
pub use io::format::{parse_scenario, try_write_scenario, write_scenario};
pub use model::activity::{Activity, EffortCost, EffortForm, Week};
pub use model::dist::{Dist, TraitDist};
pub use model::engineer::{AiPerception, Trait, TraitsConfig};
pub use model::metric::{CustomMetric, Metric, Noise};
pub use model::org::Org;
pub use model::policy::{Adapt, Audit, Policy, Stage, TokenBudget};
pub use model::reward::{Reward, RewardRule};
pub use model::scenario::Scenario;
