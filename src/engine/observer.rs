//! Observers: code of the caller's that sees every period of a run, like
//! Mesa's DataCollector or Agents.jl's `adata`/`mdata`. The engine calls
//! them; they never reach back into it.

use crate::engine::view::PeriodView;

/// Which run an observer watches.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The policy's name.
    pub policy: String,
    /// The policy's index in the scenario.
    pub policy_index: usize,
    /// The replication, from 0.
    pub replication: usize,
    /// Periods in the run.
    pub periods: usize,
    /// Engineers.
    pub engineers: usize,
    /// Activity names, in the order of [`PeriodView::plan_hours`]' columns.
    pub activities: Vec<String>,
}

/// Why an observer stopped a run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ObserverError(pub String);

impl ObserverError {
    /// An error with this message.
    pub fn new(message: impl std::fmt::Display) -> Self {
        ObserverError(message.to_string())
    }
}

/// Sees each run: `begin` before the pre-period, `period` after every
/// period's KPIs are recorded, `finish` at the end. One observer watches
/// one run (policy x replication), on the thread that runs it; an
/// [`crate::Experiment`] makes one per run and hands each back, in
/// canonical order, once its run is done. An error ends the run and the
/// experiment with [`crate::Error::Observer`].
///
/// ```
/// use goodhart::{Experiment, Observer, ObserverError, PeriodView, RunInfo};
///
/// /// The most any one engineer published in the run.
/// #[derive(Default)]
/// struct TopScore(f64);
///
/// impl Observer for TopScore {
///     fn period(&mut self, p: &PeriodView) -> Result<(), ObserverError> {
///         self.0 = p.published.iter().fold(self.0, |a, &b| a.max(b));
///         Ok(())
///     }
/// }
///
/// let mut sc = goodhart::model::preset::scenario("adversarial")?;
/// (sc.periods, sc.replications) = (6, 2);
/// let mut tops = Vec::new();
/// Experiment::new(&sc).run_observed(
///     &|_: &RunInfo| TopScore::default(),
///     &mut |info, top, _| { tops.push((info.policy.clone(), top.0)); Ok(()) },
/// )?;
/// assert_eq!(tops.len(), 4); // 2 policies x 2 replications, in canonical order
/// # Ok::<(), goodhart::Error>(())
/// ```
pub trait Observer: Send {
    /// Before the run.
    fn begin(&mut self, run: &RunInfo) -> Result<(), ObserverError> {
        let _ = run;
        Ok(())
    }

    /// After each period, once its KPIs are recorded.
    fn period(&mut self, period: &PeriodView) -> Result<(), ObserverError>;

    /// After the run.
    fn finish(&mut self, run: &RunInfo) -> Result<(), ObserverError> {
        let _ = run;
        Ok(())
    }
}

/// An observer that does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn period(&mut self, _: &PeriodView) -> Result<(), ObserverError> {
        Ok(())
    }
}
