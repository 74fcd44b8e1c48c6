//! The organisation: size, hours, prices and how defects turn into cost.

use serde::Serialize;

use crate::error::{Error, Result, check_range};

/// Organisation-wide parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Org {
    /// Number of engineers.
    pub engineers: usize,
    /// Working hours available per engineer per period (a week by default).
    pub hours_per_period: f64,
    /// Blended token price, USD per million tokens (default 6: agentic use is mostly input).
    pub token_price_per_million: f64,
    /// Cost of one customer-facing incident, USD (default 20,000).
    pub incident_cost: f64,
    /// Periods a change must survive to count as shipped-and-survived (default 4).
    pub survival_window: u32,
    /// Probability per period that a defective change is found (and rolled
    /// back if still inside the survival window); default 0.5.
    pub defect_detection: f64,
    /// Probability that a defective change causes a customer-facing incident (default 0.05).
    pub incident_probability: f64,
    /// Standard deviation of the log-normal production shock on value (default 0.3).
    pub value_noise: f64,
}

impl Default for Org {
    fn default() -> Self {
        Org {
            engineers: 200,
            hours_per_period: 40.0,
            token_price_per_million: 6.0,
            incident_cost: 20_000.0,
            survival_window: 4,
            defect_detection: 0.5,
            incident_probability: 0.05,
            value_noise: 0.3,
        }
    }
}

/// Largest organisation the library accepts (memory grows linearly with it).
pub const MAX_ENGINEERS: usize = 20_000_000;

impl Org {
    /// Token price in USD per token.
    pub fn price_per_token(&self) -> f64 {
        self.token_price_per_million * 1e-6
    }

    /// Probability that a defective change is rolled back within the survival window.
    pub fn rollback_probability(&self) -> f64 {
        1.0 - (1.0 - self.defect_detection).powi(self.survival_window as i32)
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        if self.engineers == 0 || self.engineers > MAX_ENGINEERS {
            return Err(Error::invalid("org.engineers", self.engineers, format!("an integer in [1, {MAX_ENGINEERS}]")));
        }
        check_range("org.hours_per_period", self.hours_per_period, 1e-9, 1e4, "a number in (0, 10000] (hours)")?;
        check_range(
            "org.token_price_per_million",
            self.token_price_per_million,
            0.0,
            1e6,
            "a number >= 0 (USD per million tokens)",
        )?;
        check_range("org.incident_cost", self.incident_cost, 0.0, 1e12, "a number >= 0 (USD)")?;
        if self.survival_window > 520 {
            return Err(Error::invalid(
                "org.survival_window",
                self.survival_window,
                "an integer in [0, 520] (periods)",
            ));
        }
        check_range("org.defect_detection", self.defect_detection, 0.0, 1.0, "a probability in [0, 1]")?;
        check_range("org.incident_probability", self.incident_probability, 0.0, 1.0, "a probability in [0, 1]")?;
        check_range("org.value_noise", self.value_noise, 0.0, 10.0, "a number in [0, 10]")
    }
}
