//! A scenario: the organisation, its engineers, their activities and
//! behaviour, and the policies to compare.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::behavior::Behavior;
use crate::error::{Error, Result};
use crate::model::activity::{Activity, EffortCost, default_activities};
use crate::model::engineer::TraitsConfig;
use crate::model::metric::BUILTIN_SIGNALS;
use crate::model::org::Org;
use crate::model::policy::Policy;
use crate::model::schema::{check_int, whole};
use crate::model::social::Social;
use crate::model::turnover::Turnover;

/// Everything needed to run an experiment. Its serde form is the scenario
/// file ([`crate::model::schema`]); read files with
/// [`crate::io::format::parse_scenario`], which also resolves and validates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Title.
    pub name: String,
    /// Longer description.
    pub description: String,
    /// Master seed; every random stream derives from it.
    #[serde(deserialize_with = "whole")]
    pub seed: u64,
    /// Independent replications (each draws a new population and new shocks).
    #[serde(deserialize_with = "whole")]
    pub replications: u32,
    /// Periods simulated (weeks by default).
    #[serde(deserialize_with = "whole")]
    pub periods: u32,
    /// Periods excluded from the run's KPIs at the start (still in time series).
    #[serde(deserialize_with = "whole")]
    pub burn_in: u32,
    /// Policy the others are compared against (default: the first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Organisation-wide parameters.
    pub org: Org,
    /// Trait distributions.
    pub traits: TraitsConfig,
    /// Effort cost.
    pub effort_cost: EffortCost,
    /// Activities (default: the engineering organisation's).
    #[serde(rename = "activity")]
    pub activities: Vec<Activity>,
    /// Behaviour.
    pub behavior: Behavior,
    /// Turnover: engineers leave and are replaced (`None`: engineers are
    /// fixed for the run, unless a policy ranks them out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turnover: Option<Turnover>,
    /// Who engineers see, and how norms spread (`None`: everyone sees
    /// everyone, integrity is fixed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub social: Option<Social>,
    /// Policies to compare, each run with common random numbers.
    #[serde(rename = "policy")]
    pub policies: Vec<Policy>,
}

impl Default for Scenario {
    /// The default organisation with a single `no-leaderboard` policy,
    /// 200 engineers, 52 weekly periods, 30 replications, seed 2026.
    fn default() -> Self {
        Scenario {
            name: "goodhart scenario".into(),
            description: String::new(),
            seed: 2026,
            replications: 30,
            periods: 52,
            burn_in: 0,
            baseline: None,
            org: Org::default(),
            traits: TraitsConfig::default(),
            effort_cost: EffortCost::default(),
            activities: default_activities(),
            behavior: Behavior::default(),
            turnover: None,
            social: None,
            policies: vec![Policy::none("no-leaderboard")],
        }
    }
}

pub use crate::model::schema::{MAX_PERIODS, MAX_REPLICATIONS};
/// Most engineer-slots (engineers x (activities + signals + metric memory)) held at once.
const MAX_STATE_CELLS: f64 = 2.0e9;

impl Scenario {
    /// Checks that the per-period series of every run fit in memory, for
    /// experiments that keep them ([`crate::run`]; a streamed run does not).
    pub(crate) fn check_series_fit(&self) -> Result<()> {
        /// Most time-series values (policies x replications x periods x KPIs) held in memory.
        const MAX_SERIES_CELLS: f64 = 5.0e7;
        let kpis = crate::analysis::kpi::k::FIXED + self.activities.len() + 1;
        let series = self.policies.len() as f64 * self.replications as f64 * self.periods as f64 * kpis as f64;
        if series > MAX_SERIES_CELLS {
            return Err(Error::invalid(
                "replications",
                self.replications,
                format!(
                    "fewer replications or periods: {series:.0} time-series values would exceed the in-memory limit of {MAX_SERIES_CELLS:.0} (the command line streams them and has no such limit)"
                ),
            ));
        }
        Ok(())
    }

    /// Checks that `name`, which a schedule stage or an `adapt` rule at
    /// `field` follows, is a policy of the file without a schedule (and not
    /// `own`, the policy the rule belongs to).
    fn check_target(
        &self,
        field: &str,
        name: &str,
        own: Option<&str>,
        expected: &str,
        by_name: &HashMap<&str, &Policy>,
    ) -> Result<()> {
        match by_name.get(name) {
            None => Err(Error::unknown(
                field,
                "policy",
                name,
                self.policies.iter().filter(|q| q.schedule.is_empty()).map(|q| q.name.as_str()),
            )),
            Some(q) if !q.schedule.is_empty() || own == Some(name) => Err(Error::invalid(field, name, expected)),
            _ => Ok(()),
        }
    }

    /// Checks a policy's `adapt` rules (`path` is the policy's).
    fn check_adapt(&self, path: &str, p: &Policy, by_name: &HashMap<&str, &Policy>) -> Result<()> {
        let mut kpis: Option<Vec<String>> = None;
        for (j, a) in p.adapt.iter().enumerate() {
            let ap = format!("{path}.adapt[{j}]");
            let expected = "another policy of the file, without a schedule of its own";
            self.check_target(&format!("{ap}.switch_to"), &a.switch_to, Some(&p.name), expected, by_name)?;
            for (key, v) in [("hold", a.hold), ("after", a.after), ("notice", a.notice)] {
                if let Some(v) = v {
                    check_int(&format!("{ap}.{key}"), u64::from(v))?;
                }
            }
            for (key, v) in [("above", a.above), ("below", a.below)] {
                if let Some(v) = v {
                    crate::model::schema::check(&format!("{ap}.{key}"), v)?;
                }
            }
            match (&a.kpi, a.after) {
                (Some(_), Some(_)) | (None, None) => {
                    let got = if a.after.is_some() { "both kpi and after" } else { "neither kpi nor after" };
                    return Err(Error::invalid(ap, got, "either a kpi with above or below, or after (periods)"));
                }
                (None, Some(_)) if a.above.is_some() || a.below.is_some() || a.hold.is_some() => {
                    return Err(Error::invalid(
                        ap,
                        "after with a threshold",
                        "after alone (a rotation) or a kpi with above or below",
                    ));
                }
                (Some(k), None) => {
                    let names = kpis.get_or_insert_with(|| {
                        crate::analysis::kpi::kpi_defs(self).into_iter().map(|d| d.name).collect()
                    });
                    // The correlations are computed a period late, off the critical path.
                    let late = ["metric_value_correlation", "metric_value_correlation_before"];
                    let watchable = || names.iter().map(String::as_str).filter(|n| !late.contains(n));
                    if !watchable().any(|n| n == k) {
                        return Err(Error::unknown(format!("{ap}.kpi"), "KPI", k, watchable()));
                    }
                    if a.above.is_some() == a.below.is_some() {
                        let got = if a.above.is_some() { "both above and below" } else { "neither above nor below" };
                        return Err(Error::invalid(format!("{ap}.above"), got, "exactly one of above and below"));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether engineers may leave and be replaced: a `[turnover]` section,
    /// or a policy with forced ranking.
    pub fn has_turnover(&self) -> bool {
        self.turnover.is_some() || self.policies.iter().any(|p| p.forced_ranking.is_some())
    }

    /// Whether a policy audits changes (`audit = { changes = ... }`): the
    /// KPIs `gaming_changes` and `changes_caught` are reported then.
    pub fn audits_changes(&self) -> bool {
        self.policies.iter().any(|p| p.audit.is_some_and(|a| a.changes.is_some()))
    }

    /// Whether AI-assisted changes differ from others or review is modelled
    /// beyond a fixed load: AI changes the review a change needs, its defect
    /// rate or its size, a metric counts AI-assisted changes, or review has
    /// a capacity changes wait for. The KPIs `review_hours_per_change` and
    /// `ai_assisted_share` are reported then.
    pub fn models_review(&self) -> bool {
        self.org.review_capacity.is_some()
            || self
                .activities
                .iter()
                .any(|a| a.ai_review_factor != 0.0 || a.ai_defect_factor != 0.0 || a.ai_size_factor != 0.0)
            || self
                .policies
                .iter()
                .filter_map(|p| p.metric.as_ref())
                .any(|m| m.weights.iter().chain(&m.per).any(|(s, _)| s == "ai_changes"))
    }

    /// Whether integrity drifts with neighbours' gaming (`social.norm_erosion > 0`).
    pub fn norms_erode(&self) -> bool {
        self.social.is_some_and(|s| s.norm_erosion > 0.0)
    }

    /// Replaces the policies.
    pub fn with_policies(mut self, policies: Vec<Policy>) -> Self {
        self.policies = policies;
        self
    }

    /// The signal names available to metrics: the built-ins, then any the
    /// activities define, in order of first appearance.
    pub fn signals(&self) -> Vec<String> {
        let mut out: Vec<String> = BUILTIN_SIGNALS.iter().map(|s| s.to_string()).collect();
        // A set alongside the list keeps this linear in the number of signals.
        let mut seen: HashSet<String> = out.iter().cloned().collect();
        for a in &self.activities {
            for (s, _) in a.signals.iter().chain(&a.ai_signals) {
                if seen.insert(s.clone()) {
                    out.push(s.clone());
                }
            }
        }
        out
    }

    /// The numbers (8-byte cells) one engineer's state holds in a run:
    /// three per activity, one per signal, the metric's memory (delay plus
    /// window) and 24 for traits, beliefs and the rest. Bounds the state
    /// (validation) and sizes a run's memory ([`crate::Footprint`]).
    pub(crate) fn state_cells_per_engineer(&self) -> f64 {
        let memory =
            self.policies.iter().filter_map(|p| p.metric.as_ref()).map(|m| m.delay + m.window).max().unwrap_or(1);
        // A run with turnover keeps its own population and each engineer's
        // hire date, reference and smoothed worth.
        let turnover = if self.has_turnover() || self.norms_erode() { 15.0 } else { 0.0 };
        3.0 * self.activities.len() as f64 + self.signals().len() as f64 + memory as f64 + 24.0 + turnover
    }

    /// Index of the baseline policy.
    pub fn baseline_index(&self) -> usize {
        self.baseline.as_ref().and_then(|b| self.policies.iter().position(|p| &p.name == b)).unwrap_or(0)
    }

    /// Checks the whole scenario; the error names the first offending field.
    pub fn validate(&self) -> Result<()> {
        check_int("seed", self.seed)?;
        check_int("replications", u64::from(self.replications))?;
        check_int("periods", u64::from(self.periods))?;
        if self.burn_in >= self.periods {
            return Err(Error::invalid(
                "burn_in",
                self.burn_in,
                format!("an integer in [0, periods - 1] = [0, {}]", self.periods - 1),
            ));
        }
        self.org.validate()?;
        self.traits.validate()?;
        self.effort_cost.validate()?;
        self.behavior.validate()?;
        if let Some(t) = &self.turnover {
            t.validate()?;
        }
        if let Some(s) = &self.social {
            s.validate(self.org.engineers)?;
        }
        if self.activities.is_empty() {
            return Err(Error::invalid("activity", "an empty list", "at least one activity"));
        }
        // Names are checked against sets, so validation stays linear in the
        // number of activities, policies and signals.
        let mut names = HashSet::new();
        for (i, a) in self.activities.iter().enumerate() {
            a.validate(&format!("activity[{i}]"))?;
            if !names.insert(a.name.as_str()) {
                return Err(Error::invalid(
                    format!("activity[{i}].name"),
                    &a.name,
                    "a name not used by another activity",
                ));
            }
            if a.name == "slack" {
                return Err(Error::invalid(
                    format!("activity[{i}].name"),
                    "slack",
                    "a name other than `slack` (the unassigned hours)",
                ));
            }
        }
        let signals = self.signals();
        let known: HashSet<&str> = signals.iter().map(String::as_str).collect();
        if self.policies.is_empty() {
            return Err(Error::invalid("policy", "an empty list", "at least one policy"));
        }
        // The first policy of each name (a second is refused below).
        let mut by_name: HashMap<&str, &Policy> = HashMap::new();
        for p in &self.policies {
            by_name.entry(p.name.as_str()).or_insert(p);
        }
        let mut names = HashSet::new();
        for (i, p) in self.policies.iter().enumerate() {
            let path = format!("policy[{i}]");
            p.check(&path, &signals, &known)?;
            if !names.insert(p.name.as_str()) {
                return Err(Error::invalid(format!("{path}.name"), &p.name, "a name not used by another policy"));
            }
            // Without a queue nothing waits: a metric on the wait would be 0.
            let waits =
                p.metric.as_ref().is_some_and(|m| m.weights.iter().chain(&m.per).any(|(s, _)| s == "review_wait"));
            if waits && self.org.review_capacity.is_none() {
                return Err(Error::invalid(
                    format!("{path}.metric"),
                    "a metric on review_wait without a review queue",
                    "org.review_capacity set, or a metric without review_wait",
                ));
            }
            if p.forced_ranking.is_some() && p.metric.is_none() && p.schedule.is_empty() {
                return Err(Error::invalid(
                    format!("{path}.forced_ranking"),
                    "a ranking with no metric",
                    "a policy with a metric to rank engineers on",
                ));
            }
            // A fixed-size board must fit the organisation, top and bottom apart.
            if let crate::model::reward::Reward::Leaderboard {
                top_fraction,
                bottom_fraction,
                top_count,
                bottom_count,
                ..
            } = p.reward
            {
                let n = self.org.engineers as f64;
                let top = top_count.map_or(top_fraction * n, |c| c as f64);
                let bottom = bottom_count.map_or(bottom_fraction * n, |c| c as f64);
                for (key, count, other) in [("top_count", top_count, bottom), ("bottom_count", bottom_count, top)] {
                    if let Some(c) = count.filter(|&c| c as f64 + other.round() > n) {
                        return Err(Error::invalid(
                            format!("{path}.reward.{key}"),
                            c,
                            format!("at most org.engineers ({n}) less the other end of the board ({})", other.round()),
                        ));
                    }
                }
            }
            self.check_adapt(&path, p, &by_name)?;
            let mut last: Option<u32> = None;
            for (j, st) in p.schedule.iter().enumerate() {
                let spath = format!("{path}.schedule[{j}]");
                let expected = "a policy without a schedule of its own";
                self.check_target(&format!("{spath}.policy"), &st.policy, None, expected, &by_name)?;
                match last {
                    None if st.from != 0 => {
                        return Err(Error::invalid(format!("{spath}.from"), st.from, "0 for the first entry"));
                    }
                    Some(l) if st.from <= l => {
                        return Err(Error::invalid(
                            format!("{spath}.from"),
                            st.from,
                            format!("a period after the previous entry's ({l})"),
                        ));
                    }
                    _ => {}
                }
                last = Some(st.from);
            }
            if !p.schedule.is_empty()
                && (p.metric.is_some()
                    || !matches!(p.reward, crate::model::reward::Reward::None)
                    || p.audit.is_some()
                    || p.token_cap.is_some()
                    || p.token_budget.is_some()
                    || p.in_kind
                    || p.forced_ranking.is_some()
                    || !p.adapt.is_empty())
            {
                return Err(Error::invalid(
                    format!("{path}.schedule"),
                    "a schedule with its own metric, reward, audit, token_cap, token_budget, in_kind, forced_ranking or adapt",
                    "either a schedule (its stages carry those) or a metric, reward, audit, token_cap, token_budget, in_kind, forced_ranking and adapt",
                ));
            }
        }
        // After each policy's own checks, so that an absurd delay is named there.
        if self.org.engineers as f64 * self.state_cells_per_engineer() > MAX_STATE_CELLS {
            return Err(Error::invalid(
                "org.engineers",
                self.org.engineers,
                "fewer engineers (the state would exceed the memory limit with these activities and delays)",
            ));
        }
        if let Some(b) = &self.baseline {
            if !by_name.contains_key(b.as_str()) {
                return Err(Error::unknown("baseline", "policy", b, self.policies.iter().map(|p| p.name.as_str())));
            }
        }
        Ok(())
    }
}
