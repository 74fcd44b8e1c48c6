//! Input and output as text and pictures: scenario files, CSV and JSON
//! outputs, a sweep's files, charts, the HTML report and the week-by-week
//! narrative. The library writes strings and bytes; the binary puts them
//! on disk.

pub mod agents;
pub mod assumptions;
#[cfg(feature = "plots")]
pub mod chart;
pub mod digest;
pub mod format;
pub mod narrative;
pub mod output;
#[cfg(feature = "plots")]
pub mod report;
pub mod report_data;
pub mod sweep;
