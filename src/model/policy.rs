//! Policies: a metric, a reward scheme and a measurement design, possibly
//! changing over time on a schedule.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::metric::Metric;
use crate::model::reward::Reward;
use crate::model::schema::{check, check_int, whole, whole_opt};
use crate::model::turnover::ForcedRanking;

/// Random audits of gaming, in one of two forms.
///
/// - **Engineers audited** (`probability`): each engineer is audited with
///   `probability` per period, and an audit detects gaming with probability
///   `sensitivity x gaming hours / hours per period`; the engineer caught
///   feels `penalty`.
/// - **Changes audited** (`changes`, as in "we audit 10% of deployments"):
///   each change shipped is audited with probability `changes`; an audited
///   change from a gaming activity is caught with probability `sensitivity`
///   (honest changes never are), and each change caught costs its engineer
///   `penalty`. Gaming that ships no changes (burning tokens, inflating
///   claims) is invisible to it.
///
/// A file gives one of `probability` and `changes`, never both:
/// `audit = { changes = 0.1, sensitivity = 0.8, penalty = 2000 }`. In Rust,
/// an audit of changes has `changes: Some(share)` and `probability` 0
/// ([`Audit::of_changes`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "AuditFile", into = "AuditFile")]
pub struct Audit {
    /// Probability that an engineer is audited in a period (0 in an audit
    /// of changes).
    pub probability: f64,
    /// An audit of changes: the share of changes shipped that are audited,
    /// each independently (`None`: engineers are audited).
    pub changes: Option<f64>,
    /// An engineer audit detects gaming with probability
    /// `sensitivity x (gaming hours / hours per period)`; an audited change
    /// from a gaming activity is caught with probability `sensitivity`.
    pub sensitivity: f64,
    /// Penalty on detection, USD-equivalent (felt by the engineer): per
    /// engineer caught, or per change caught in an audit of changes.
    pub penalty: f64,
}

impl Default for Audit {
    /// One engineer in ten audited per period, gaming detected in
    /// proportion to its share of hours, a 10,000 USD-equivalent penalty.
    fn default() -> Self {
        Audit { probability: 0.1, changes: None, sensitivity: 1.0, penalty: 10_000.0 }
    }
}

/// An audit as a file writes it: `probability` or `changes`, each optional,
/// so that giving both can be refused (see `reject_two_audit_forms` in
/// [`crate::io::format`]) and an audit of changes does not inherit the
/// engineer audit's default probability.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AuditFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    probability: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<f64>,
    sensitivity: f64,
    penalty: f64,
}

impl Default for AuditFile {
    fn default() -> Self {
        let a = Audit::default();
        AuditFile { probability: None, changes: None, sensitivity: a.sensitivity, penalty: a.penalty }
    }
}

impl From<AuditFile> for Audit {
    fn from(f: AuditFile) -> Self {
        let probability = match (f.probability, f.changes) {
            (Some(p), _) => p,
            (None, Some(_)) => 0.0,
            (None, None) => Audit::default().probability,
        };
        Audit { probability, changes: f.changes, sensitivity: f.sensitivity, penalty: f.penalty }
    }
}

impl From<Audit> for AuditFile {
    fn from(a: Audit) -> Self {
        // An audit of changes writes its probability only when it has one,
        // which validation then refuses.
        let probability = (a.changes.is_none() || a.probability != 0.0).then_some(a.probability);
        AuditFile { probability, changes: a.changes, sensitivity: a.sensitivity, penalty: a.penalty }
    }
}

impl Audit {
    /// An audit of changes: each change shipped audited with probability
    /// `share`, a gaming change audited caught with probability
    /// `sensitivity`, `penalty` USD-equivalent felt per change caught.
    pub fn of_changes(share: f64, sensitivity: f64, penalty: f64) -> Self {
        Audit { probability: 0.0, changes: Some(share), sensitivity, penalty }
    }

    /// Checks the audit's fields (`path` is e.g. `policy[1].audit`).
    pub fn validate(&self, path: &str) -> Result<()> {
        check(&format!("{path}.probability"), self.probability)?;
        if let Some(c) = self.changes {
            check(&format!("{path}.changes"), c)?;
            if self.probability != 0.0 {
                return Err(two_forms(path, c));
            }
        }
        check(&format!("{path}.sensitivity"), self.sensitivity)?;
        check(&format!("{path}.penalty"), self.penalty)
    }

    /// The probability that one change from a gaming activity is caught,
    /// `changes x sensitivity` (0 unless this is an audit of changes).
    pub fn catch_per_change(&self) -> f64 {
        self.changes.map_or(0.0, |c| c * self.sensitivity)
    }
}

/// The error for an audit that gives both `probability` and `changes`.
pub(crate) fn two_forms(path: &str, changes: impl ToString) -> Error {
    Error::invalid(
        format!("{path}.changes"),
        changes,
        "either `probability` (the share of engineers audited each week) or `changes` (the share of \
         changes audited), not both",
    )
}

/// A token budget per engineer over blocks of `periods` periods (a month of
/// four weeks by default): within a block, an engineer may use in any
/// period what the earlier periods of the block left of `tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenBudget {
    /// Tokens per engineer per block.
    pub tokens: f64,
    /// Periods per block, counted from period 0.
    #[serde(deserialize_with = "whole")]
    pub periods: u32,
}

impl Default for TokenBudget {
    /// 60 million tokens over four weeks: 360 USD at 6 USD per million,
    /// about the honest maximum of AI-assisted building (section 3 of
    /// docs/model.md).
    fn default() -> Self {
        TokenBudget { tokens: 60e6, periods: 4 }
    }
}

impl TokenBudget {
    /// Checks the budget's fields.
    pub fn validate(&self, path: &str) -> Result<()> {
        check(&format!("{path}.tokens"), self.tokens)?;
        check_int(&format!("{path}.periods"), u64::from(self.periods))
    }
}

/// One entry of a schedule: from period `from` on, follow `policy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Stage {
    /// First period (0-based) of this stage.
    #[serde(deserialize_with = "whole")]
    pub from: u32,
    /// Name of the policy followed (a non-scheduled policy of the same scenario).
    pub policy: String,
}

/// A rule by which the organisation changes its policy during a run: when
/// a KPI has been above (or below) a threshold for `hold` periods in a row,
/// or once the policy has run `after` periods, it announces a switch to
/// another policy, which takes effect `notice` periods later. Engineers
/// react only once it takes effect (they do not anticipate it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Adapt {
    /// The KPI watched (a built-in KPI's name, e.g. `token_cost`), read
    /// each period; none with `after`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kpi: Option<String>,
    /// Switch when the KPI is above this value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// Switch when the KPI is below this value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// Periods in a row the condition must hold (default 1).
    #[serde(deserialize_with = "whole_opt", skip_serializing_if = "Option::is_none")]
    pub hold: Option<u32>,
    /// Switch once this policy has been in effect this many periods (a
    /// rotation), instead of watching a KPI.
    #[serde(deserialize_with = "whole_opt", skip_serializing_if = "Option::is_none")]
    pub after: Option<u32>,
    /// The policy switched to: another policy of the scenario, without a
    /// schedule of its own (its own rules then apply).
    pub switch_to: String,
    /// Periods between the decision and the switch (default 0: from the next period).
    #[serde(deserialize_with = "whole_opt", skip_serializing_if = "Option::is_none")]
    pub notice: Option<u32>,
}

/// An incentive policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Name, unique within a scenario.
    pub name: String,
    /// One-line description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The metric observed and rewarded (`None`: nothing is rewarded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// How the metric is rewarded.
    #[serde(skip_serializing_if = "Reward::is_none")]
    pub reward: Reward,
    /// Random audits of gaming.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<Audit>,
    /// Token budget: most tokens an engineer may consume per period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_cap: Option<f64>,
    /// A token budget over several periods (a month), which usage can shift
    /// within: each period an engineer may use what is left of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_budget: Option<TokenBudget>,
    /// The reward is paid in kind: status, a title, a badge or a review
    /// outcome that engineers value (through their reward sensitivity) but
    /// the organisation pays no money for, so it stays out of `bonus_paid`
    /// and net value. Default: paid in money.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_kind: bool,
    /// Stack ranking: the bottom of the board leaves at the end of every
    /// review cycle (see [`crate::model::turnover`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forced_ranking: Option<ForcedRanking>,
    /// If non-empty, this policy switches between other policies of the scenario.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<Stage>,
    /// Rules that switch to another policy during a run, on what the KPIs
    /// show or after a time (checked in order; the first that fires wins).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adapt: Vec<Adapt>,
}

impl Policy {
    /// A policy with no metric and no reward.
    pub fn none(name: impl Into<String>) -> Self {
        Policy { name: name.into(), ..Policy::default() }
    }

    /// A policy rewarding `metric` by `reward`.
    pub fn new(name: impl Into<String>, metric: Metric, reward: Reward) -> Self {
        Policy { name: name.into(), metric: Some(metric), reward, ..Policy::default() }
    }

    /// Checks the policy's own fields (schedules are checked by the scenario).
    pub fn validate(&self, path: &str, signals: &[String]) -> Result<()> {
        self.check(path, signals, &signals.iter().map(String::as_str).collect())
    }

    /// [`Policy::validate`] with the signals also as a set (`known`), made
    /// once per scenario so that validation stays linear.
    pub(crate) fn check(&self, path: &str, signals: &[String], known: &HashSet<&str>) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid(format!("{path}.name"), "\"\"", "a non-empty name"));
        }
        // A name is a field of every CSV row and a line of the tables: a
        // newline or a tab would split or shift them.
        if self.name.chars().any(char::is_control) {
            return Err(Error::invalid(
                format!("{path}.name"),
                format!("{:?}", self.name),
                "a name without control characters (newlines, tabs); any other characters, commas and quotes included, are allowed",
            ));
        }
        if let Some(m) = &self.metric {
            m.check(&format!("{path}.metric"), signals, known)?;
        } else if !matches!(self.reward, Reward::None) && self.schedule.is_empty() {
            return Err(Error::invalid(format!("{path}.metric"), "nothing", "a metric for the reward to read"));
        }
        self.reward.validate(&format!("{path}.reward"))?;
        // A capped metric stops counting at the cap: a rate that falls with
        // the metric would then be met by keeping the metric low, which the
        // best response (built on rewards that never fall) cannot plan.
        if let (Some(cap), Reward::Linear { rate }) = (self.metric.as_ref().and_then(|m| m.cap), &self.reward) {
            if *rate < 0.0 {
                return Err(Error::invalid(
                    format!("{path}.metric.cap"),
                    cap,
                    "no cap on a metric paid at a negative rate (a capped metric's reward must not fall as it rises)",
                ));
            }
        }
        if let Some(a) = &self.audit {
            a.validate(&format!("{path}.audit"))?;
        }
        if let Some(b) = &self.token_budget {
            b.validate(&format!("{path}.token_budget"))?;
        }
        if let Some(c) = self.token_cap {
            check(&format!("{path}.token_cap"), c)?;
        }
        if let Some(f) = &self.forced_ranking {
            f.validate(path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_a_control_character_is_refused_naming_the_field() {
        // A newline in a name once validated, then broke every CSV row of a sweep.
        for name in ["two\nlines", "tab\there", "bell\u{7}", "cr\r"] {
            let e = Policy::none(name).validate("policy[2]", &[]).unwrap_err().to_string();
            assert!(e.starts_with("policy[2].name: "), "{e}");
            assert!(e.contains("without control characters"), "{e}");
            assert!(!e.contains('\n') && !e.contains('\r'), "one line: {e:?}");
        }
        // Commas, quotes and non-ASCII letters are quoted in CSV outputs, not refused.
        for name in ["a, \"b\"", "kirorank 2", "Prämie"] {
            assert!(Policy::none(name).validate("policy[0]", &[]).is_ok(), "{name}");
        }
    }
}
