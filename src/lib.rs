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
//! default and source, is the [`model`] module (also `docs/model.md`).
//!
//! - **Engineers** ([`engineer`]) have six traits drawn per replication:
//!   skill, AI leverage, integrity (USD-equivalent disutility per gaming
//!   hour; a fraction never game), intrinsic motivation (utility per USD of
//!   useful output), reward sensitivity (utility per USD of reward) and cost
//!   awareness (share of their own token bill they feel).
//! - **Activities** ([`activity`]) are data: per-hour value, changes shipped,
//!   defect rate, review load, fixed tokens, signals, a gaming flag, and an
//!   AI intensity `tau` (tokens per hour) chosen by the engineer, multiplying
//!   productivity by `1 + a (1 - exp(-tau / tau0))`.
//! - **Changes** ship as Poisson counts; each is defective with the
//!   activity's defect rate, rolled back if found within the survival window,
//!   and may cause an incident. Useful output is the value of what survives.
//! - **Metrics** ([`metric`]) are weighted signals with noise, delay and a
//!   trailing window; **rewards** ([`reward`]) are leaderboards, piece rates,
//!   quotas or user rules; **policies** ([`policy`]) add audits, token caps
//!   and schedules.
//! - **Behaviour** ([`behavior`]): an exact best response to expected
//!   utility `rho E[reward] + m E[value] - effort - gamma gaming_hours -
//!   kappa own_token_bill - E[audit penalty]`, with beliefs formed on the
//!   last leaderboard and the noise on one's own metric; or imitation,
//!   Roth–Erev reinforcement, or fixed types.
//! - **Accounting** ([`accounting`]): token cost, useful output, incident
//!   cost, net value and diagnostics such as gaming share and the metric's
//!   rank correlation with true value.
//!
//! ## Determinism
//!
//! Every random number comes from a ChaCha8 stream keyed by (seed, purpose,
//! replication) and positioned by (engineer, period) ([`rng`]). Results are
//! byte-identical on any thread count, and every policy in a comparison meets
//! the same engineers and the same shocks (common random numbers).
//!
//! ## Extending
//!
//! Implement [`CustomMetric`] to observe a metric your own way, or
//! [`RewardRule`] for a reward scheme, and put them in a [`Policy`]; define
//! activities and signals in data. The engine does not change.

#![deny(missing_docs)]

pub mod accounting;
pub mod activity;
pub mod behavior;
#[cfg(feature = "plots")]
pub mod chart;
pub mod dist;
pub mod engineer;
pub mod error;
pub mod experiment;
pub mod format;
pub mod metric;
// Citations in the model page are written [S1], [S2], ...: plain text, not links.
#[allow(rustdoc::broken_intra_doc_links)]
#[doc = include_str!("../docs/model.md")]
pub mod model {}
pub mod narrative;
pub mod org;
pub mod output;
pub mod policy;
pub mod preset;
#[cfg(feature = "plots")]
pub mod report;
pub mod reward;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod stats;
pub mod sweep;

pub use activity::{Activity, EffortCost, EffortForm};
pub use behavior::{Behavior, BeliefRule, Model};
pub use dist::{Dist, TraitDist};
pub use engineer::{Population, Trait, TraitsConfig};
pub use error::{Error, Result};
pub use experiment::{Results, SummaryRow, run, run_streaming, run_with_progress};
pub use format::{parse_scenario, write_scenario};
pub use metric::{CustomMetric, Metric, Noise};
pub use org::Org;
pub use policy::{Audit, Policy, Stage};
pub use reward::{Reward, RewardRule};
pub use scenario::Scenario;
pub use stats::Estimate;
