//! Sweeps: one scenario run over a design of parameter values, for
//! "uncertainties" (what the organisation is like) crossed with "levers"
//! (what the policy does).
//!
//! Every task has a canonical index `u * levers + l` (uncertainty point
//! `u`, lever point `l`); its seed depends only on the sweep seed and `u`,
//! so every lever point meets the same organisations and shocks (common
//! random numbers) and any split of the tasks gives the same numbers.
//!
//! The parts: the design and its tasks ([`Sweep`], [`Task`]), a finished
//! task's estimates ([`TaskResult`]), the split into shards ([`Shard`]) and
//! the robustness of each policy across organisations ([`robustness`]).
//! Their files (`sweep.csv`, part files, `sweep.json`, resume and merge)
//! are text, in [`crate::io::sweep`].

mod design;
mod result;
mod robustness;
mod shard;

pub use design::{Design, Group, MAX_TASKS, Sweep, Task, Tasks, Values, latin_hypercube};
pub use result::{TaskResult, TaskRow, rows_per_task};
pub use robustness::{RobustnessRow, robustness};
pub use shard::Shard;
