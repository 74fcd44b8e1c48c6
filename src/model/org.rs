//! The organisation: size, hours, prices and how defects turn into cost.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::schema::{check, check_int, whole};

/// Organisation-wide parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Org {
    /// Number of engineers.
    #[serde(deserialize_with = "whole")]
    pub engineers: usize,
    /// Contract hours per engineer per period (a week by default): hours
    /// beyond them cost the engineer overtime.
    pub hours_per_period: f64,
    /// The most hours a period can hold (default 70: ten hours a day, seven
    /// days a week), a hard limit; at least `hours_per_period`.
    pub max_hours_per_period: f64,
    /// Overtime cost o, USD-equivalent per hour² per unit of skill: `H` hours
    /// in total cost an engineer of skill s `o s / 2 (H - contract)₊²` on
    /// top of the effort cost (default 3: what a skilled engineer's time is
    /// worth elsewhere rises with skill).
    pub overtime_cost: f64,
    /// Blended token price, USD per million tokens (default 6: agentic use is mostly input).
    pub token_price_per_million: f64,
    /// Cost of one customer-facing incident, USD (default 20,000).
    pub incident_cost: f64,
    /// Share of `incident_cost` the engineer who caused the incident feels,
    /// USD-equivalent (pages, fire-fighting, blame; default 0.05).
    pub incident_share: f64,
    /// Periods a change must survive to count as shipped-and-survived (default 4).
    #[serde(deserialize_with = "whole")]
    pub survival_window: u32,
    /// Probability per period that a defective change is found (and rolled
    /// back if still inside the survival window); default 0.5.
    pub defect_detection: f64,
    /// Probability that a defective change causes a customer-facing incident (default 0.05).
    pub incident_probability: f64,
    /// Standard deviation of the log-normal production shock on value (default 0.3).
    pub value_noise: f64,
    /// Hours per engineer per period the organisation has for review
    /// (`None`: review never waits). With it, a change waits for review as
    /// in a single-server queue: the review's own time times
    /// `rho / (1 - rho)`, `rho` last period's review load over this
    /// capacity (at most 0.99), added to its cycle time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_capacity: Option<f64>,
    /// How much review under load lets defects through: with a review
    /// capacity, a change's defect rate is multiplied by `1 + review_miss
    /// rho`, `rho` as for the queue (default 0). Engineers plan with the
    /// rate at no load.
    pub review_miss: f64,
}

impl Default for Org {
    fn default() -> Self {
        Org {
            engineers: 200,
            hours_per_period: 40.0,
            max_hours_per_period: 70.0,
            overtime_cost: 3.0,
            token_price_per_million: 6.0,
            incident_cost: 20_000.0,
            incident_share: 0.05,
            survival_window: 4,
            defect_detection: 0.5,
            incident_probability: 0.05,
            value_noise: 0.3,
            review_capacity: None,
            review_miss: 0.0,
        }
    }
}

pub use crate::model::schema::MAX_ENGINEERS;

impl Org {
    /// Token price in USD per token.
    pub fn price_per_token(&self) -> f64 {
        self.token_price_per_million * 1e-6
    }

    /// Probability that a defective change is rolled back within the survival window.
    pub fn rollback_probability(&self) -> f64 {
        1.0 - (1.0 - self.defect_detection).powi(self.survival_window as i32)
    }

    /// Checks every field against its row in [`crate::model::schema::FIELDS`].
    pub fn validate(&self) -> Result<()> {
        check_int("org.engineers", self.engineers as u64)?;
        check("org.hours_per_period", self.hours_per_period)?;
        check("org.max_hours_per_period", self.max_hours_per_period)?;
        if self.max_hours_per_period < self.hours_per_period {
            return Err(Error::invalid(
                "org.max_hours_per_period",
                self.max_hours_per_period.to_string(),
                "a number in (0, 10000] and at least org.hours_per_period",
            ));
        }
        check("org.overtime_cost", self.overtime_cost)?;
        check("org.token_price_per_million", self.token_price_per_million)?;
        check("org.incident_cost", self.incident_cost)?;
        check("org.incident_share", self.incident_share)?;
        check_int("org.survival_window", u64::from(self.survival_window))?;
        check("org.defect_detection", self.defect_detection)?;
        check("org.incident_probability", self.incident_probability)?;
        check("org.review_miss", self.review_miss)?;
        if self.review_miss != 0.0 && self.review_capacity.is_none() {
            return Err(Error::invalid(
                "org.review_miss",
                self.review_miss,
                "0 without org.review_capacity (the load it follows is review over the capacity)",
            ));
        }
        if let Some(c) = self.review_capacity {
            check("org.review_capacity", c)?;
        }
        check("org.value_noise", self.value_noise)
    }
}
