//! What a run's results mean: statistics, the KPIs and their aggregation,
//! sweeps over uncertainties and levers, and robustness.

pub mod assumptions;
pub mod kpi;
pub mod stats;
pub mod sweep;
