//! Conclusions tested against the model's assumptions: every judgement
//! parameter a verdict depends on has a plausible range, and a run can be
//! repeated over organisations sampled from those ranges (a seeded Latin
//! hypercube, every sample on the scenario's own seed: common random
//! numbers). Per policy and headline KPI it then says in what share of the
//! plausible organisations the comparison with the baseline holds, how far
//! each parameter moves it across its range (a tornado) and which
//! parameters alone flip it.
//!
//! The ranges are written at the model's defaults and applied as factors on
//! the scenario's own values, so that a scenario which moved a default is
//! tested around its own value. A parameter whose default is 0, which no
//! factor moves (how engineers misjudge their AI leverage), has a range of
//! values instead, sampled where the scenario uses it. docs/model.md
//! (section 12) gives each range's source or reasoning.

use rayon::prelude::*;

use crate::analysis::stats::{Estimate, t_quantile};
use crate::analysis::sweep::latin_hypercube;
use crate::error::{Error, Result};
use crate::experiment::{Experiment, Results};
use crate::model::activity::Activity;
use crate::model::dist::{Dist, TraitDist};
use crate::model::engineer::AiPerception;
use crate::model::reward::Reward;
use crate::model::scenario::Scenario;

/// One judgement parameter and its plausible range.
#[derive(Debug, Clone, Copy)]
pub struct Assumption {
    /// Short name, as in tables and charts.
    pub name: &'static str,
    /// What it is in the model.
    pub meaning: &'static str,
    /// Unit of `default`, `low` and `high`.
    pub unit: &'static str,
    /// The model's default.
    pub default: f64,
    /// Lower end of the plausible range at the defaults.
    pub low: f64,
    /// Upper end of the plausible range at the defaults.
    pub high: f64,
    /// Whether the range is sampled evenly in the logarithm (ranges spanning
    /// several-fold) rather than evenly.
    pub log: bool,
    /// `None` for a range of factors on the scenario's value. For a range of
    /// values (a parameter whose default is 0, which no factor moves): the
    /// scenario's value. A sample then sets the value itself, evenly in
    /// `[low, high]`, and the parameter is left out of the check where the
    /// scenario's value lies outside that range.
    value: Option<fn(&Scenario) -> f64>,
    /// Multiplies the parameter by a factor (for a range of values, sets it
    /// to the value); `false` if the scenario has no such parameter in use
    /// (it is then left out of the check).
    apply: fn(&mut Scenario, f64) -> bool,
}

impl Assumption {
    /// The factor on the scenario's value at position `u` in `[0, 1]` of the
    /// range (0: the low end, 1: the high end); for a range of values (see
    /// [`Assumption::absolute`]), the value itself.
    pub fn factor(&self, u: f64) -> f64 {
        if self.absolute() {
            return self.low + (self.high - self.low) * u;
        }
        let (lo, hi) = (self.low / self.default, self.high / self.default);
        if self.log { lo * (hi / lo).powf(u) } else { lo + (hi - lo) * u }
    }

    /// Whether the range is one of values rather than of factors on the
    /// scenario's value: `low` and `high` are then the values sampled,
    /// whatever the scenario's own value, and it is sampled evenly.
    pub fn absolute(&self) -> bool {
        self.value.is_some()
    }

    /// Where the model's default (factor 1, or for a range of values the
    /// default value) sits in `[0, 1]`.
    pub fn position_of_default(&self) -> f64 {
        if self.absolute() {
            return (self.default - self.low) / (self.high - self.low);
        }
        let (lo, hi) = (self.low / self.default, self.high / self.default);
        if self.log { (1.0 / lo).ln() / (hi / lo).ln() } else { (1.0 - lo) / (hi - lo) }
    }

    /// Where `sc`'s own value sits in `[0, 1]`: the default's position for a
    /// range of factors (factor 1 is the scenario's value), the value's own
    /// place for a range of values.
    pub fn position_in(&self, sc: &Scenario) -> f64 {
        match self.value {
            Some(value) => (value(sc) - self.low) / (self.high - self.low),
            None => self.position_of_default(),
        }
    }

    /// `sc` with this parameter multiplied by `factor` (for a range of
    /// values, set to it), or `None` if the scenario does not use it or, for
    /// a range of values, has its value outside the range.
    pub fn applied(&self, sc: &Scenario, factor: f64) -> Option<Scenario> {
        if self.value.is_some_and(|value| !(self.low..=self.high).contains(&value(sc))) {
            return None;
        }
        let mut out = sc.clone();
        (self.apply)(&mut out, factor).then_some(out)
    }
}

/// A trait distribution with its mean multiplied by `f`, its shape kept: the
/// coefficient of variation for scale families, the concentration
/// `alpha + beta` for a beta (whose mean stays inside (0, 1)).
fn scale_trait(t: &mut TraitDist, f: f64) -> bool {
    t.dist = match t.dist {
        Dist::Constant { value } => Dist::Constant { value: value * f },
        Dist::Uniform { low, high } => Dist::Uniform { low: low * f, high: high * f },
        Dist::Normal { mean, sd } => Dist::Normal { mean: mean * f, sd: sd * f },
        Dist::Lognormal { mean, sd } => Dist::Lognormal { mean: mean * f, sd: sd * f },
        Dist::Exponential { mean } => Dist::Exponential { mean: mean * f },
        Dist::Beta { alpha, beta } => {
            let k = alpha + beta;
            let m = (alpha / k * f).clamp(0.01, 0.99);
            Dist::Beta { alpha: m * k, beta: (1.0 - m) * k }
        }
    };
    let bounded = matches!(t.dist, Dist::Beta { .. });
    if !bounded {
        t.min = t.min.map(|x| x * f);
        t.max = t.max.map(|x| x * f);
    }
    true
}

/// Every amount a policy pays or threatens (prizes, penalties, piece rates,
/// bonuses, audit penalties) multiplied by `f`; `false` if no policy has one.
fn scale_rewards(sc: &mut Scenario, f: f64) -> bool {
    let mut any = false;
    for p in &mut sc.policies {
        match &mut p.reward {
            Reward::Leaderboard { prize, penalty, .. } => {
                any |= *prize > 0.0 || *penalty > 0.0;
                *prize *= f;
                *penalty *= f;
            }
            Reward::Linear { rate } => {
                any |= *rate > 0.0;
                *rate *= f;
            }
            Reward::Threshold { bonus, .. } => {
                any |= *bonus > 0.0;
                *bonus *= f;
            }
            _ => {}
        }
    }
    any
}

/// Multiplies a field of every activity where it is positive.
fn scale_activities(sc: &mut Scenario, f: f64, field: fn(&mut crate::model::activity::Activity) -> &mut f64) -> bool {
    let mut any = false;
    for a in &mut sc.activities {
        let x = field(a);
        if *x > 0.0 {
            *x *= f;
            any = true;
        }
    }
    any
}

/// Multiplies a positive parameter; `false` if it is 0 (not in use).
fn scale_positive(x: &mut f64, f: f64) -> bool {
    *x *= f;
    *x > 0.0
}

/// Multiplies a probability, keeping it within [0, 1].
fn scale_probability(p: &mut f64, f: f64) -> bool {
    *p = (*p * f).clamp(0.0, 1.0);
    true
}

/// Sets one AI-perception parameter to `x`; `false` if the scenario does not
/// use AI perception (all four parameters at 0, the default).
fn set_perception(sc: &mut Scenario, x: f64, field: fn(&mut AiPerception) -> &mut f64) -> bool {
    let p = &mut sc.traits.ai_perception;
    let used = *p != AiPerception::default();
    *field(p) = x;
    used
}

/// Sets one AI factor of every activity that uses AI to `x`; `false` unless
/// the scenario models AI's effects on changes (some AI activity has a
/// review, defect, size or value factor), so that a scenario without them
/// keeps its samples.
fn set_ai_factor(sc: &mut Scenario, x: f64, field: fn(&mut Activity) -> &mut f64) -> bool {
    let used = sc.activities.iter().any(|a| {
        a.uses_ai
            && [a.ai_review_factor, a.ai_defect_factor, a.ai_size_factor, a.ai_value_factor].iter().any(|f| *f != 0.0)
    });
    for a in sc.activities.iter_mut().filter(|a| a.uses_ai) {
        *field(a) = x;
        // A defect rate stays a probability, as validation requires.
        if a.defect_rate > 0.0 {
            a.ai_defect_factor = a.ai_defect_factor.min(1.0 / a.defect_rate - 1.0);
        }
    }
    used
}

/// The first AI activity's value of a factor (0 without one).
fn ai_factor(sc: &Scenario, field: fn(&Activity) -> f64) -> f64 {
    sc.activities.iter().find(|a| a.uses_ai).map_or(0.0, field)
}

/// The judgement parameters a verdict depends on, with their plausible
/// ranges at the defaults. docs/model.md (section 12) gives the reasoning.
pub const ASSUMPTIONS: &[Assumption] = &[
    Assumption {
        name: "prize",
        meaning: "prizes, penalties, piece rates and bonuses (what a better rating is worth to an engineer)",
        unit: "USD per week (top-10% prize)",
        default: 3000.0,
        low: 300.0,
        high: 6000.0,
        log: true,
        value: None,
        apply: scale_rewards,
    },
    Assumption {
        name: "integrity",
        meaning: "mean disutility of an hour spent gaming",
        unit: "USD-eq per hour",
        default: 60.0,
        low: 20.0,
        high: 150.0,
        log: true,
        value: None,
        apply: |sc, f| scale_trait(&mut sc.traits.integrity, f),
    },
    Assumption {
        name: "reward_sensitivity",
        meaning: "mean weight on prizes and pressure",
        unit: "utility per USD",
        default: 0.5,
        low: 0.25,
        high: 1.0,
        log: true,
        value: None,
        apply: |sc, f| scale_trait(&mut sc.traits.reward_sensitivity, f),
    },
    Assumption {
        name: "intrinsic_motivation",
        meaning: "mean weight on the useful value one produces",
        unit: "utility per USD",
        default: 0.6,
        low: 0.4,
        high: 0.8,
        log: false,
        value: None,
        apply: |sc, f| scale_trait(&mut sc.traits.intrinsic_motivation, f),
    },
    Assumption {
        name: "cost_awareness",
        meaning: "mean share of one's own token bill felt",
        unit: "share",
        default: 0.6,
        low: 0.2,
        high: 0.9,
        log: false,
        value: None,
        apply: |sc, f| scale_trait(&mut sc.traits.cost_awareness, f),
    },
    Assumption {
        name: "never_game_fraction",
        meaning: "engineers who never game, whatever the incentive",
        unit: "share",
        default: 0.2,
        low: 0.05,
        high: 0.4,
        log: false,
        value: None,
        apply: |sc, f| scale_probability(&mut sc.traits.never_game_fraction, f),
    },
    Assumption {
        name: "ai_leverage",
        meaning: "mean gain from AI at full use (1 + a: a = 0.5 is 1.5x output)",
        unit: "productivity gain",
        default: 0.5,
        low: 0.15,
        high: 1.0,
        log: true,
        value: None,
        apply: |sc, f| scale_trait(&mut sc.traits.ai_leverage, f),
    },
    Assumption {
        name: "burn_tokens",
        meaning: "tokens an hour of pointless agent work burns (fixed-token activities)",
        unit: "million tokens per hour",
        default: 10.0,
        low: 2.0,
        high: 30.0,
        log: true,
        value: None,
        apply: |sc, f| scale_activities(sc, f, |a| &mut a.tokens_per_hour),
    },
    Assumption {
        name: "value_per_hour",
        meaning: "useful value of an honest hour (every activity's value)",
        unit: "USD per productive hour (build)",
        default: 100.0,
        low: 50.0,
        high: 200.0,
        log: true,
        value: None,
        apply: |sc, f| scale_activities(sc, f, |a| &mut a.value_per_hour),
    },
    Assumption {
        name: "effort_cost",
        meaning: "coefficient of the effort cost (how hard extra hours are)",
        unit: "USD-eq per hour squared",
        default: 2.0,
        low: 1.0,
        high: 4.0,
        log: true,
        value: None,
        apply: |sc, f| scale_positive(&mut sc.effort_cost.coefficient, f),
    },
    Assumption {
        name: "token_price",
        meaning: "blended price of tokens",
        unit: "USD per million tokens",
        default: 6.0,
        low: 2.0,
        high: 15.0,
        log: true,
        value: None,
        apply: |sc, f| scale_positive(&mut sc.org.token_price_per_million, f),
    },
    Assumption {
        name: "incident_cost",
        meaning: "cost of one customer-facing incident",
        unit: "USD",
        default: 20_000.0,
        low: 5_000.0,
        high: 100_000.0,
        log: true,
        value: None,
        apply: |sc, f| scale_positive(&mut sc.org.incident_cost, f),
    },
    Assumption {
        name: "incident_probability",
        meaning: "probability that a defective change causes an incident",
        unit: "probability",
        default: 0.05,
        low: 0.02,
        high: 0.15,
        log: true,
        value: None,
        apply: |sc, f| scale_probability(&mut sc.org.incident_probability, f),
    },
    Assumption {
        name: "defect_detection",
        meaning: "probability per week that a defect is found and rolled back",
        unit: "probability",
        default: 0.5,
        low: 0.25,
        high: 0.9,
        log: false,
        value: None,
        apply: |sc, f| scale_probability(&mut sc.org.defect_detection, f),
    },
    Assumption {
        name: "overtime_cost",
        meaning: "cost of an hour beyond the contract, per hour of overtime and unit of skill",
        unit: "USD-eq per hour squared",
        default: 3.0,
        low: 1.0,
        high: 6.0,
        log: true,
        value: None,
        apply: |sc, f| scale_positive(&mut sc.org.overtime_cost, f),
    },
    Assumption {
        name: "max_hours",
        meaning: "the hours a week can hold (a physical limit, above the contract)",
        unit: "hours per week",
        default: 70.0,
        low: 60.0,
        high: 84.0,
        log: false,
        value: None,
        apply: |sc, f| {
            // Never below the contract hours, which validation requires.
            sc.org.max_hours_per_period = (sc.org.max_hours_per_period * f).max(sc.org.hours_per_period);
            true
        },
    },
    Assumption {
        name: "incident_share",
        meaning: "share of an incident's cost the engineer who caused it feels (pages, blame)",
        unit: "share",
        default: 0.05,
        low: 0.01,
        high: 0.2,
        log: true,
        value: None,
        apply: |sc, f| scale_probability(&mut sc.org.incident_share, f) && sc.org.incident_share > 0.0,
    },
    Assumption {
        name: "gaming_convexity",
        meaning: "how fast each gaming practice gets harder with more hours of it",
        unit: "USD-eq per hour squared",
        default: 4.0,
        low: 1.0,
        high: 20.0,
        log: true,
        value: None,
        apply: |sc, f| {
            let mut any = false;
            for a in sc.activities.iter_mut().filter(|a| a.gaming && a.convexity > 0.0) {
                a.convexity *= f;
                any = true;
            }
            any
        },
    },
    Assumption {
        name: "perception_bias",
        meaning: "mean over-estimate of one's own AI leverage (traits.ai_perception.bias)",
        unit: "leverage",
        default: 0.0,
        low: 0.0,
        high: 0.4,
        log: false,
        value: Some(|sc| sc.traits.ai_perception.bias),
        apply: |sc, x| set_perception(sc, x, |p| &mut p.bias),
    },
    Assumption {
        name: "perception_sd",
        meaning: "sd of each engineer's error in their AI leverage (traits.ai_perception.sd)",
        unit: "leverage",
        default: 0.0,
        low: 0.0,
        high: 0.3,
        log: false,
        value: Some(|sc| sc.traits.ai_perception.sd),
        apply: |sc, x| set_perception(sc, x, |p| &mut p.sd),
    },
    Assumption {
        name: "perception_learning_rate",
        meaning: "weight of a week of AI use in the leverage one believes (traits.ai_perception.learning_rate)",
        unit: "per week",
        default: 0.0,
        low: 0.0,
        high: 0.1,
        log: false,
        value: Some(|sc| sc.traits.ai_perception.learning_rate),
        apply: |sc, x| set_perception(sc, x, |p| &mut p.learning_rate),
    },
    Assumption {
        name: "perception_experience_sd",
        meaning: "sd of what a week of AI use shows about one's leverage (traits.ai_perception.experience_sd)",
        unit: "leverage",
        default: 0.0,
        low: 0.0,
        high: 1.0,
        log: false,
        value: Some(|sc| sc.traits.ai_perception.experience_sd),
        apply: |sc, x| set_perception(sc, x, |p| &mut p.experience_sd),
    },
    Assumption {
        name: "value_curvature",
        meaning: "curvature of the utility of useful output around a normal week's (traits.value_curvature)",
        unit: "",
        default: 0.0,
        low: 0.0,
        high: 2.0,
        log: false,
        value: Some(|sc| sc.traits.value_curvature),
        apply: |sc, x| {
            // Where engineers misjudge their AI leverage, how hours answer a
            // week that seems more productive decides what the belief buys.
            let used = sc.traits.ai_perception != AiPerception::default() || sc.traits.value_curvature != 0.0;
            sc.traits.value_curvature = x;
            used
        },
    },
    Assumption {
        name: "ai_defect_factor",
        meaning: "relative rise in the defect rate of AI-assisted changes (activity[].ai_defect_factor)",
        unit: "relative",
        default: 0.0,
        low: -0.45,
        high: 0.7,
        log: false,
        value: Some(|sc| ai_factor(sc, |a| a.ai_defect_factor)),
        apply: |sc, x| set_ai_factor(sc, x, |a| &mut a.ai_defect_factor),
    },
    Assumption {
        name: "ai_value_factor",
        meaning: "relative change in the value AI-assisted changes deliver (activity[].ai_value_factor)",
        unit: "relative",
        default: 0.0,
        low: -0.5,
        high: 0.0,
        log: false,
        value: Some(|sc| ai_factor(sc, |a| a.ai_value_factor)),
        apply: |sc, x| set_ai_factor(sc, x, |a| &mut a.ai_value_factor),
    },
];

/// The KPIs whose comparison with the baseline the check tests: the
/// verdict's headline ones.
pub const HEADLINE_KPIS: [&str; 3] = ["net_value", "token_cost", "useful_output"];

/// How large a check to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckSize {
    /// Organisations sampled (Latin hypercube points).
    pub samples: usize,
    /// Replications per organisation.
    pub replications: u32,
}

impl CheckSize {
    /// The default for a run of `replications` replications: as many
    /// organisations, one replication each, up to 32, so that the check
    /// costs about as much as the run itself. `None` below 16 organisations,
    /// too few for the swings to mean much: the check is then one flag away.
    pub fn default_for(replications: u32) -> Option<CheckSize> {
        let samples = replications.min(32) as usize;
        (samples >= 16).then_some(CheckSize { samples, replications: 1 })
    }
}

/// How far one parameter moves a comparison across its range, others at the
/// scenario's values: a bar of the tornado.
#[derive(Debug, Clone, PartialEq)]
pub struct Swing {
    /// Parameter name (see [`ASSUMPTIONS`]).
    pub parameter: String,
    /// The paired difference predicted with the parameter at the low end.
    pub at_low: f64,
    /// The same at the high end.
    pub at_high: f64,
    /// Whether the slope behind the swing is distinguishable from zero at
    /// 95% (otherwise the bar is within the noise of the samples).
    pub distinguishable: bool,
}

impl Swing {
    /// Width of the bar, in the KPI's unit.
    pub fn width(&self) -> f64 {
        (self.at_high - self.at_low).abs()
    }
}

/// One policy's comparison with the baseline on one KPI, across the
/// sampled organisations.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Policy name.
    pub policy: String,
    /// KPI name.
    pub kpi: String,
    /// The paired difference (policy − baseline) in the scenario as run.
    pub at_scenario: Estimate,
    /// Share of sampled organisations in which the difference is positive.
    pub share_positive: f64,
    /// Share in which it has the sign it has in the scenario as run; `None`
    /// when that sign is not distinguishable from zero at 95%.
    pub share_holds: Option<f64>,
    /// Per parameter, widest first.
    pub swings: Vec<Swing>,
}

impl Comparison {
    /// Parameters that alone flip the comparison within their range (a
    /// distinguishable swing that ends on the other side of zero), widest
    /// swing first. Empty when the scenario's sign is not distinguishable.
    pub fn flips(&self) -> Vec<&str> {
        let Some(_) = self.share_holds else { return Vec::new() };
        let sign = self.at_scenario.mean.signum();
        self.swings
            .iter()
            .filter(|s| s.distinguishable && (s.at_low.signum() != sign || s.at_high.signum() != sign))
            .map(|s| s.parameter.as_str())
            .collect()
    }
}

/// One sampled organisation: the factor on each parameter and, per
/// comparison (in [`AssumptionCheck::comparisons`] order), the paired
/// difference observed.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplePoint {
    /// The factor on each parameter's scenario value (for a range of
    /// values, the value), in [`AssumptionCheck::parameters`] order.
    pub factors: Vec<f64>,
    /// The paired differences, in comparison order.
    pub diffs: Vec<f64>,
}

/// The result of testing a run's conclusions against the assumptions.
#[derive(Debug, Clone)]
pub struct AssumptionCheck {
    /// Organisations sampled and replications each.
    pub size: CheckSize,
    /// The parameters varied (those the scenario uses), in [`ASSUMPTIONS`] order.
    pub parameters: Vec<Assumption>,
    /// Every non-baseline policy against the baseline, per headline KPI
    /// (policies outer, KPIs in [`HEADLINE_KPIS`] order).
    pub comparisons: Vec<Comparison>,
    /// The sampled organisations.
    pub samples: Vec<SamplePoint>,
}

impl AssumptionCheck {
    /// The comparison of `policy` with the baseline on `kpi`.
    pub fn comparison(&self, policy: &str, kpi: &str) -> Option<&Comparison> {
        self.comparisons.iter().find(|c| c.policy == policy && c.kpi == kpi)
    }
}

/// Repeats `run`'s experiment over `size.samples` organisations sampled
/// from the plausible ranges and summarises each headline comparison (see
/// the module documentation). The samples run in parallel; the result does
/// not depend on the thread count. `progress(done)` is called after each
/// finished organisation.
///
/// ```
/// use goodhart::analysis::assumptions::{check, CheckSize};
///
/// let mut sc = goodhart::model::preset::scenario("adversarial")?;
/// (sc.periods, sc.replications, sc.org.engineers) = (6, 2, 40);
/// let run = goodhart::run(&sc)?;
/// let c = check(&run, CheckSize { samples: 8, replications: 1 }, &|_| {})?;
/// let tokens = c.comparison("kirorank", "token_cost").unwrap();
/// assert!(tokens.share_positive > 0.5); // the token board raises the bill almost everywhere
/// # Ok::<(), goodhart::Error>(())
/// ```
pub fn check(run: &Results, size: CheckSize, progress: &(dyn Fn(usize) + Sync)) -> Result<AssumptionCheck> {
    if size.samples < 2 || size.replications < 1 {
        return Err(Error::invalid(
            "assumptions",
            size.samples,
            "at least 2 sampled organisations and 1 replication each",
        ));
    }
    let base = {
        let mut sc = run.scenario.clone();
        sc.replications = size.replications;
        sc
    };
    let parameters: Vec<Assumption> =
        ASSUMPTIONS.iter().filter(|a| a.applied(&base, a.factor(1.0)).is_some()).copied().collect();
    let baseline = &run.policies[run.baseline];
    let pairs: Vec<(&str, &str)> = run
        .policies
        .iter()
        .filter(|p| *p != baseline)
        .flat_map(|p| HEADLINE_KPIS.iter().map(move |k| (p.as_str(), *k)))
        .collect();
    let positions = latin_hypercube(run.scenario.seed, 0x00A5_5E57, parameters.len(), size.samples);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let samples: Vec<SamplePoint> = (0..size.samples)
        .into_par_iter()
        .map(|i| {
            let factors: Vec<f64> = parameters.iter().zip(&positions).map(|(a, u)| a.factor(u[i])).collect();
            let mut sc = base.clone();
            for (a, &f) in parameters.iter().zip(&factors) {
                (a.apply)(&mut sc, f);
            }
            let r = Experiment::new(&sc).run()?;
            let diffs = pairs.iter().map(|(p, k)| r.paired_diff(p, baseline, k).map_or(f64::NAN, |e| e.mean)).collect();
            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
            Ok(SamplePoint { factors, diffs })
        })
        .collect::<Result<_>>()?;
    let comparisons = pairs
        .iter()
        .enumerate()
        .map(|(j, (p, k))| {
            let at_scenario = run.paired_diff(p, baseline, k).unwrap_or(Estimate::of(&[]));
            let diffs: Vec<f64> = samples.iter().map(|s| s.diffs[j]).collect();
            summarise(p, k, at_scenario, &parameters, &base, &positions, &diffs)
        })
        .collect();
    Ok(AssumptionCheck { size, parameters, comparisons, samples })
}

/// One comparison from the differences `diffs` observed at the sample
/// positions `us` (per parameter, per sample, in `[0, 1]`) around the
/// scenario `sc`.
///
/// Each swing is a slope of the difference on the parameter's position,
/// times the distance from the scenario's value to each end of the range,
/// anchored at the difference in the scenario as run. The slopes come from
/// one least-squares fit on every parameter at once, so that a chance
/// correlation between two columns of a small hypercube does not lend one
/// parameter the other's effect (with no more samples than parameters + 2,
/// from one-variable fits instead). A slope is distinguishable when its t
/// statistic passes the 95% level with a Bonferroni correction over the
/// parameters: "flipped by" then names fewer than one parameter in twenty
/// by chance, whatever their number.
fn summarise(
    policy: &str,
    kpi: &str,
    at_scenario: Estimate,
    parameters: &[Assumption],
    sc: &Scenario,
    us: &[Vec<f64>],
    diffs: &[f64],
) -> Comparison {
    let n = diffs.len() as f64;
    let share = |f: &dyn Fn(f64) -> bool| diffs.iter().filter(|&&d| f(d)).count() as f64 / n;
    let share_positive = share(&|d| d > 0.0);
    let distinguishable = at_scenario.n >= 2 && (at_scenario.ci_low > 0.0 || at_scenario.ci_high < 0.0);
    let share_holds =
        distinguishable.then(|| if at_scenario.mean > 0.0 { share_positive } else { share(&|d| d < 0.0) });
    let fits = slopes(us, diffs);
    let level = 1.0 - 0.025 / parameters.len().max(1) as f64;
    let mut swings: Vec<Swing> = parameters
        .iter()
        .zip(fits)
        .map(|(a, (slope, se, df))| {
            let u0 = a.position_in(sc);
            Swing {
                parameter: a.name.to_string(),
                at_low: at_scenario.mean - slope * u0,
                at_high: at_scenario.mean + slope * (1.0 - u0),
                distinguishable: df > 0.0 && slope.abs() > t_quantile(level, df) * se,
            }
        })
        .collect();
    swings.sort_by(|a, b| b.width().total_cmp(&a.width()).then_with(|| a.parameter.cmp(&b.parameter)));
    Comparison { policy: policy.to_string(), kpi: kpi.to_string(), at_scenario, share_positive, share_holds, swings }
}

/// Per column of `xs`: the least-squares slope of `y` on it, its standard
/// error and the residual degrees of freedom. All columns in one fit when
/// the samples allow it, else each on its own.
fn slopes(xs: &[Vec<f64>], y: &[f64]) -> Vec<(f64, f64, f64)> {
    let (n, p) = (y.len(), xs.len());
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let cx: Vec<Vec<f64>> = xs
        .iter()
        .map(|x| {
            let m = mean(x);
            x.iter().map(|v| v - m).collect()
        })
        .collect();
    let my = mean(y);
    let cy: Vec<f64> = y.iter().map(|v| v - my).collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    if n > p + 2 {
        let xtx: Vec<Vec<f64>> = cx.iter().map(|a| cx.iter().map(|b| dot(a, b)).collect()).collect();
        if let Some(inv) = invert(&xtx) {
            let xty: Vec<f64> = cx.iter().map(|a| dot(a, &cy)).collect();
            let beta: Vec<f64> = inv.iter().map(|row| dot(row, &xty)).collect();
            let rss: f64 = (0..n).map(|i| (cy[i] - (0..p).map(|j| beta[j] * cx[j][i]).sum::<f64>()).powi(2)).sum();
            let df = (n - p - 1) as f64;
            return (0..p).map(|j| (beta[j], (rss / df * inv[j][j]).max(0.0).sqrt(), df)).collect();
        }
    }
    cx.iter()
        .map(|x| {
            let sxx = dot(x, x);
            if sxx <= 0.0 || n < 3 {
                return (0.0, f64::INFINITY, 0.0);
            }
            let b = dot(x, &cy) / sxx;
            let rss: f64 = x.iter().zip(&cy).map(|(u, v)| (v - b * u).powi(2)).sum();
            let df = (n - 2) as f64;
            (b, (rss / df / sxx).sqrt(), df)
        })
        .collect()
}

/// The inverse of a small symmetric positive-definite matrix (Gauss–Jordan
/// with partial pivoting); `None` if it is singular.
fn invert(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let p = a.len();
    let mut m: Vec<Vec<f64>> = a
        .iter()
        .enumerate()
        .map(|(i, r)| r.iter().copied().chain((0..p).map(|j| f64::from(i == j))).collect())
        .collect();
    let scale = a.iter().enumerate().map(|(i, r)| r[i].abs()).fold(0.0, f64::max);
    for c in 0..p {
        let piv = (c..p).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))?;
        if m[piv][c].abs() <= 1e-12 * scale {
            return None;
        }
        m.swap(c, piv);
        let d = m[c][c];
        m[c].iter_mut().for_each(|x| *x /= d);
        for r in 0..p {
            if r != c {
                let f = m[r][c];
                if f != 0.0 {
                    let (src, dst) = if r < c {
                        let (lo, hi) = m.split_at_mut(c);
                        (&hi[0], &mut lo[r])
                    } else {
                        let (lo, hi) = m.split_at_mut(r);
                        (&lo[c], &mut hi[0])
                    };
                    dst.iter_mut().zip(src.iter()).for_each(|(x, y)| *x -= f * y);
                }
            }
        }
    }
    Some(m.into_iter().map(|r| r[p..].to_vec()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stats::normal_quantile;
    use crate::engine::rng::{Purpose, Streams, open01};

    #[test]
    fn joint_fit_recovers_exact_linear_effects_and_inverts() {
        // Noise-free: the joint fit is exact, whatever the columns' overlap.
        let us = latin_hypercube(3, 1, 4, 12);
        let y: Vec<f64> = (0..12).map(|i| 5.0 + 2.0 * us[0][i] - 7.0 * us[2][i] + 0.5 * us[3][i]).collect();
        let fit = slopes(&us, &y);
        for (got, want) in fit.iter().zip([2.0, 0.0, -7.0, 0.5]) {
            assert!((got.0 - want).abs() < 1e-9 && got.1 < 1e-6, "{got:?} vs {want}");
        }
        let a = vec![vec![4.0, 1.0, 0.5], vec![1.0, 3.0, 0.2], vec![0.5, 0.2, 2.0]];
        let inv = invert(&a).unwrap();
        for (i, row) in a.iter().enumerate() {
            for j in 0..3 {
                let x: f64 = row.iter().zip(&inv).map(|(x, r)| x * r[j]).sum();
                assert!((x - f64::from(i == j)).abs() < 1e-12);
            }
        }
        assert!(invert(&[vec![1.0, 2.0], vec![2.0, 4.0]]).is_none());
    }

    /// The shares count strictly positive and strictly negative differences,
    /// and a scenario difference is distinguishable only when its interval
    /// excludes 0 (an end exactly at 0 does not).
    #[test]
    fn shares_and_distinguishability_at_their_boundaries() {
        let params: Vec<Assumption> = ASSUMPTIONS[..1].to_vec();
        let us = vec![vec![0.1, 0.3, 0.5, 0.7, 0.9]];
        let diffs = [2.0, 0.0, 5.0, -1.0, 0.0];
        let est = |lo: f64, hi: f64| Estimate { mean: 0.5 * (lo + hi), ci_low: lo, ci_high: hi, n: 30 };
        let c = summarise("p", "net_value", est(1.0, 3.0), &params, &Scenario::default(), &us, &diffs);
        assert_eq!(c.share_positive, 0.4, "zeros are not positive");
        assert_eq!(c.share_holds, Some(0.4), "a positive difference holds where samples are positive");
        let c = summarise("p", "net_value", est(-3.0, -1.0), &params, &Scenario::default(), &us, &diffs);
        assert_eq!(c.share_holds, Some(0.2), "a negative difference holds where samples are negative");
        for (lo, hi) in [(0.0, 3.0), (-3.0, 0.0)] {
            let c = summarise("p", "net_value", est(lo, hi), &params, &Scenario::default(), &us, &diffs);
            assert_eq!(c.share_holds, None, "[{lo}, {hi}] touches 0");
        }
        let single = Estimate { mean: 2.0, ci_low: 2.0, ci_high: 2.0, n: 1 };
        assert_eq!(summarise("p", "net_value", single, &params, &Scenario::default(), &us, &diffs).share_holds, None);
    }

    #[test]
    fn ranges_contain_their_defaults_and_positions_invert_factors() {
        for a in ASSUMPTIONS {
            if a.absolute() {
                // A range of values holds its default (not in use) and is
                // sampled evenly between its ends.
                assert!(a.low <= a.default && a.default <= a.high && a.low < a.high && !a.log, "{}", a.name);
                let at = (a.default - a.low) / (a.high - a.low);
                assert_eq!((a.factor(0.0), a.factor(1.0), a.position_of_default()), (a.low, a.high, at));
                assert!((a.factor(0.25) - (0.75 * a.low + 0.25 * a.high)).abs() < 1e-12, "{}", a.name);
                continue;
            }
            assert!(a.low < a.default && a.default < a.high, "{}", a.name);
            let u0 = a.position_of_default();
            assert!((a.factor(u0) - 1.0).abs() < 1e-12, "{}", a.name);
            assert!((a.factor(0.0) * a.default - a.low).abs() < 1e-9 * a.high, "{}", a.name);
            assert!((a.factor(1.0) * a.default - a.high).abs() < 1e-9 * a.high, "{}", a.name);
        }
        let mut names: Vec<&str> = ASSUMPTIONS.iter().map(|a| a.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ASSUMPTIONS.len());
    }

    #[test]
    fn every_assumption_applies_to_the_story_and_moves_its_parameter() {
        let story = crate::model::preset::scenario("story").unwrap();
        // The story does not use AI perception or AI factors, so its ranges
        // of values are left out; with a bias and a size factor they apply too.
        let mut sc = story.clone();
        sc.traits.ai_perception.bias = 0.3;
        sc.activities[0].ai_size_factor = 1.0;
        for a in ASSUMPTIONS {
            // The top of a range of factors; the middle of a range of values
            // (an end may be the scenario's own value).
            let x = a.factor(if a.absolute() { 0.5 } else { 1.0 });
            assert_eq!(a.applied(&story, x).is_some(), !a.absolute(), "{}", a.name);
            let hi = a.applied(&sc, x).unwrap_or_else(|| panic!("{} does not apply", a.name));
            hi.validate().unwrap_or_else(|e| panic!("{}: {e}", a.name));
            assert_ne!(format!("{hi:?}"), format!("{sc:?}"), "{} changed nothing", a.name);
        }
        // Trait means move by the factor, shapes kept.
        let mut t: TraitDist = Dist::Lognormal { mean: 60.0, sd: 30.0 }.into();
        scale_trait(&mut t, 2.0);
        assert_eq!(t.dist, Dist::Lognormal { mean: 120.0, sd: 60.0 });
        let mut b: TraitDist = Dist::Beta { alpha: 6.0, beta: 4.0 }.into();
        scale_trait(&mut b, 0.5);
        assert!((b.dist.mean() - 0.3).abs() < 1e-12);
        assert!(matches!(b.dist, Dist::Beta { alpha, beta } if (alpha + beta - 10.0).abs() < 1e-12));
    }

    /// The AI factors are set on every activity that uses AI, only where one
    /// of them is in use, and a defect rate stays a probability.
    #[test]
    fn ai_factors_are_sampled_on_every_ai_activity_where_one_is_set() {
        let factors: Vec<&Assumption> = ASSUMPTIONS.iter().filter(|a| a.name.starts_with("ai_")).collect();
        let names: Vec<&str> = factors.iter().map(|a| a.name).collect();
        assert_eq!(names, ["ai_leverage", "ai_defect_factor", "ai_value_factor"]);
        let (defect, value) = (factors[1], factors[2]);
        let mut sc = Scenario::default();
        assert!(defect.applied(&sc, 0.5).is_none() && value.applied(&sc, -0.2).is_none());
        sc.activities.iter_mut().find(|a| a.name == "rush").unwrap().ai_review_factor = 0.5;
        let s = value.applied(&sc, -0.2).unwrap();
        for a in &s.activities {
            assert_eq!(a.ai_value_factor, if a.uses_ai { -0.2 } else { 0.0 }, "{}", a.name);
        }
        sc.activities.iter_mut().find(|a| a.name == "rush").unwrap().defect_rate = 0.8;
        let s = defect.applied(&sc, 0.7).unwrap();
        s.validate().unwrap();
        let rush = s.activities.iter().find(|a| a.name == "rush").unwrap();
        assert!((rush.ai_defect_factor - 0.25).abs() < 1e-12, "{}", rush.ai_defect_factor);
        assert_eq!(s.activities.iter().find(|a| a.name == "build").unwrap().ai_defect_factor, 0.7);
        // Outside its range (a factor of 2), left out.
        sc.activities.iter_mut().filter(|a| a.uses_ai).for_each(|a| a.ai_defect_factor = 2.0);
        assert!(defect.applied(&sc, 0.1).is_none());
    }

    /// The four AI-perception parameters are ranges of values: left out of a
    /// scenario that does not use AI perception (all four at 0), each set to
    /// the sampled value across its whole range in one that does, whichever
    /// of the four it sets, and left out on its own where the scenario's
    /// value is outside its range. The scenario's position is its value's
    /// place in the range, and anchors the swing.
    #[test]
    fn perception_is_sampled_as_values_where_the_scenario_uses_it() {
        let perception: Vec<&Assumption> =
            ASSUMPTIONS.iter().filter(|a| a.absolute() && a.name.starts_with("perception")).collect();
        let names: Vec<&str> = perception.iter().map(|a| a.name).collect();
        assert_eq!(names, ["perception_bias", "perception_sd", "perception_learning_rate", "perception_experience_sd"]);
        let value = |a: &Assumption, sc: &Scenario| (a.value.unwrap())(sc);
        let plain = Scenario::default();
        for a in &perception {
            assert!(a.applied(&plain, a.factor(0.5)).is_none(), "{} applies without AI perception", a.name);
        }
        for (i, x) in [0.3, 0.1, 0.05, 0.5].into_iter().enumerate() {
            let mut sc = plain.clone();
            *set(&mut sc.traits.ai_perception, i) = x;
            for a in &perception {
                for u in [0.0, 0.3, 1.0] {
                    let s = a.applied(&sc, a.factor(u)).unwrap_or_else(|| panic!("{} left out", a.name));
                    s.validate().unwrap_or_else(|e| panic!("{}: {e}", a.name));
                    assert!((value(a, &s) - (a.low + u * (a.high - a.low))).abs() < 1e-12, "{} at {u}", a.name);
                }
            }
        }
        let mut sc = plain.clone();
        sc.traits.ai_perception.bias = 0.3;
        assert!((perception[0].position_in(&sc) - 0.75).abs() < 1e-12);
        assert_eq!(perception[1].position_in(&sc), 0.0);
        // The swing runs from the value's place to each end of the range.
        let us = vec![vec![0.1, 0.3, 0.5, 0.7, 0.9]];
        let diffs: Vec<f64> = us[0].iter().map(|u| 10.0 * u).collect();
        let est = Estimate { mean: 7.5, ci_low: 7.0, ci_high: 8.0, n: 30 };
        let c = summarise("p", "net_value", est, &[*perception[0]], &sc, &us, &diffs);
        let s = &c.swings[0];
        assert!((s.at_low - 0.0).abs() < 1e-9 && (s.at_high - 10.0).abs() < 1e-9, "{s:?}");
        // A bias outside its range (negative, or above 0.4) is not sampled;
        // the other three still are.
        for bias in [-0.2, 0.5] {
            sc.traits.ai_perception.bias = bias;
            let used: Vec<&str> =
                perception.iter().filter(|a| a.applied(&sc, a.factor(0.5)).is_some()).map(|a| a.name).collect();
            assert_eq!(used, names[1..], "bias {bias}");
        }
    }

    /// One AI-perception parameter by index, in [`ASSUMPTIONS`] order.
    fn set(p: &mut AiPerception, i: usize) -> &mut f64 {
        [&mut p.bias, &mut p.sd, &mut p.learning_rate, &mut p.experience_sd].into_iter().nth(i).unwrap()
    }

    /// Synthetic differences `d = a + b1 u1 + b2 u2 + noise` on a Latin
    /// hypercube: the swings recover the slopes within their standard
    /// errors, the flat parameter's swing is not distinguishable, and the
    /// parameter that crosses zero is named as the one that flips.
    #[test]
    fn swings_recover_known_slopes_and_name_the_flipping_parameter() {
        let params: Vec<Assumption> = ASSUMPTIONS[..3].to_vec();
        let n = 400;
        let us = latin_hypercube(7, 1, params.len(), n);
        let slopes = [-300.0, 0.0, 40.0];
        let sd = 20.0;
        let streams = Streams::new(11, 0);
        let mut rng = streams.stream(Purpose::Measurement, 0, 0);
        let intercept = 150.0;
        let truth = |u: &[f64]| intercept + slopes.iter().zip(u).map(|(b, x)| b * x).sum::<f64>();
        let diffs: Vec<f64> = (0..n)
            .map(|i| {
                let u: Vec<f64> = us.iter().map(|c| c[i]).collect();
                truth(&u) + sd * normal_quantile(open01(&mut rng))
            })
            .collect();
        let u0: Vec<f64> = params.iter().map(|a| a.position_of_default()).collect();
        let at = truth(&u0);
        let est = Estimate { mean: at, ci_low: at - 1.0, ci_high: at + 1.0, n: 30 };
        let c = summarise("p", "net_value", est, &params, &Scenario::default(), &us, &diffs);
        for (a, b) in params.iter().zip(slopes) {
            let s = c.swings.iter().find(|s| s.parameter == a.name).unwrap();
            // The slope's standard error in the joint fit: the noise's sd
            // over sqrt(n var(u)), var(u) = 1/12.
            let se = sd / (n as f64 / 12.0).sqrt();
            assert!(((s.at_high - s.at_low) - b).abs() < 4.0 * se, "{}: {s:?}", a.name);
            assert_eq!(s.distinguishable, b != 0.0, "{}: {s:?}", a.name);
        }
        assert_eq!(c.swings[0].parameter, params[0].name, "widest first");
        // The scenario sits at -61 (prize at 77% of its log range): only the
        // first parameter's swing reaches the other side of zero.
        assert!(at < 0.0 && at - slopes[0] * u0[0] > 0.0, "{at}");
        assert_eq!(c.flips(), vec![params[0].name]);
        let pos = diffs.iter().filter(|&&d| d > 0.0).count() as f64 / n as f64;
        assert_eq!(c.share_positive, pos);
        let neg = diffs.iter().filter(|&&d| d < 0.0).count() as f64 / n as f64;
        assert_eq!(c.share_holds, Some(neg));
        // An undistinguishable scenario difference holds nowhere in particular.
        let vague = Estimate { mean: 1.0, ci_low: -5.0, ci_high: 7.0, n: 30 };
        let c = summarise("p", "net_value", vague, &params, &Scenario::default(), &us, &diffs);
        assert_eq!(c.share_holds, None);
        assert!(c.flips().is_empty());
    }
}
