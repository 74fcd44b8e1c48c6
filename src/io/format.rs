//! The scenario file format (TOML): reading with errors that name the field,
//! and writing a complete, commented file that reads back to the same scenario.
//!
//! Every field is optional; a missing field takes its documented default.
//! A scenario's own `[[activity]]` list replaces the default engineering
//! activities, and each `[traits]` entry replaces that trait's distribution.

use toml::{Table, Value};

use crate::behavior::{Behavior, BeliefRule, Model};
use crate::error::{Error, Result, closest};
use crate::model::activity::{Activity, EffortCost, EffortForm};
use crate::model::dist::{Dist, TraitDist};
use crate::model::engineer::{Correlation, Trait, TraitsConfig};
use crate::model::metric::{BUILTIN_METRICS, Metric, Noise};
use crate::model::org::Org;
use crate::model::policy::{Audit, Policy, Stage};
use crate::model::reward::Reward;
use crate::model::scenario::Scenario;

/// A table being read: remembers its path and which keys were used, so
/// that unknown keys can be reported with a suggestion.
struct Obj<'a> {
    path: String,
    table: &'a Table,
    allowed: &'static [&'static str],
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Table(_) => "a table".into(),
        Value::Array(_) => "an array".into(),
        other => other.to_string(),
    }
}

impl<'a> Obj<'a> {
    fn new(path: impl Into<String>, table: &'a Table, allowed: &'static [&'static str]) -> Result<Self> {
        let path = path.into();
        for key in table.keys() {
            if !allowed.contains(&key.as_str()) {
                let p = join(&path, key);
                let hint = match closest(key, allowed) {
                    Some(b) => format!("; did you mean `{b}`?"),
                    None => format!("; expected one of: {}", allowed.join(", ")),
                };
                return Err(Error::UnknownName {
                    path: crate::error::printable(&p),
                    kind: "field",
                    name: crate::error::printable(key),
                    hint,
                });
            }
        }
        Ok(Obj { path, table, allowed })
    }

    fn p(&self, key: &str) -> String {
        debug_assert!(self.allowed.contains(&key), "{key} not declared");
        join(&self.path, key)
    }

    fn num(&self, key: &str, default: f64) -> Result<f64> {
        match self.table.get(key) {
            None => Ok(default),
            Some(Value::Float(f)) => {
                if f.is_finite() {
                    Ok(*f)
                } else {
                    Err(Error::invalid(self.p(key), f, "a finite number"))
                }
            }
            Some(Value::Integer(i)) => Ok(*i as f64),
            Some(v) => Err(Error::invalid(self.p(key), show(v), format!("a number, not {}", type_name(v)))),
        }
    }

    fn opt_num(&self, key: &str) -> Result<Option<f64>> {
        if self.table.contains_key(key) { self.num(key, 0.0).map(Some) } else { Ok(None) }
    }

    fn int(&self, key: &str, default: u64, max: u64) -> Result<u64> {
        match self.table.get(key) {
            None => Ok(default),
            Some(Value::Integer(i)) if *i >= 0 && (*i as u64) <= max => Ok(*i as u64),
            Some(Value::Integer(i)) => Err(Error::invalid(self.p(key), i, format!("an integer in [0, {max}]"))),
            Some(Value::Float(f)) if f.fract() == 0.0 && *f >= 0.0 && *f <= max as f64 && (*f as u64) <= max => {
                Ok(*f as u64)
            }
            Some(v) => Err(Error::invalid(self.p(key), show(v), format!("an integer in [0, {max}]"))),
        }
    }

    fn string(&self, key: &str, default: &str) -> Result<String> {
        match self.table.get(key) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(Error::invalid(self.p(key), show(v), format!("a string, not {}", type_name(v)))),
        }
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool> {
        match self.table.get(key) {
            None => Ok(default),
            Some(Value::Boolean(b)) => Ok(*b),
            Some(v) => Err(Error::invalid(self.p(key), show(v), "true or false")),
        }
    }

    fn table(&self, key: &str) -> Result<Option<&'a Table>> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(v) => Err(Error::invalid(self.p(key), show(v), format!("a table, not {}", type_name(v)))),
        }
    }

    fn tables(&self, key: &str) -> Result<Option<Vec<&'a Table>>> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Table(t) => Ok(t),
                    v => Err(Error::invalid(format!("{}[{i}]", self.p(key)), show(v), "a table")),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(v) => Err(Error::invalid(self.p(key), show(v), "an array of tables")),
        }
    }
}

fn choice(path: &str, value: &str, allowed: &[&str]) -> Error {
    Error::unknown(path, "value", value, allowed.iter().copied())
}

/// Reads and validates a scenario from TOML text.
///
/// ```
/// let sc = goodhart::parse_scenario(r#"
///     periods = 12
///     [org]
///     engineers = 50
///     [[policy]]
///     name = "kirorank"
///     metric = "tokens"
///     reward = { scheme = "leaderboard", top_fraction = 0.1, prize = 3000 }
/// "#)?;
/// assert_eq!(sc.org.engineers, 50);
/// // Everything not given takes its default, and a misspelt field is named:
/// assert_eq!(sc.org.hours_per_period, 40.0);
/// let e = goodhart::parse_scenario("[org]\nengineerz = 5").unwrap_err();
/// assert!(e.to_string().contains("did you mean `engineers`"));
/// # Ok::<(), goodhart::Error>(())
/// ```
pub fn parse_scenario(text: &str) -> Result<Scenario> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        let msg = crate::error::printable(&e.message().trim().replace('\n', " "));
        match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                Error::Parse(format!("TOML syntax error at line {line}, column {col}: {msg}"))
            }
            None => Error::Parse(format!("TOML syntax error: {msg}")),
        }
    })?;
    let sc = scenario_from(&table)?;
    sc.validate()?;
    Ok(sc)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

const TOP: &[&str] = &[
    "name",
    "description",
    "seed",
    "replications",
    "periods",
    "burn_in",
    "baseline",
    "org",
    "traits",
    "effort_cost",
    "activity",
    "behavior",
    "policy",
    "sweep",
];

fn scenario_from(t: &Table) -> Result<Scenario> {
    let o = Obj::new("", t, TOP)?;
    let d = Scenario::default();
    let mut sc = Scenario {
        name: o.string("name", &d.name)?,
        description: o.string("description", "")?,
        seed: o.int("seed", d.seed, i64::MAX as u64)?,
        replications: o.int("replications", d.replications as u64, u32::MAX as u64)? as u32,
        periods: o.int("periods", d.periods as u64, u32::MAX as u64)? as u32,
        burn_in: o.int("burn_in", 0, u32::MAX as u64)? as u32,
        baseline: match o.table.get("baseline") {
            None => None,
            Some(_) => Some(o.string("baseline", "")?),
        },
        ..d
    };
    if let Some(org) = o.table("org")? {
        sc.org = org_from(org)?;
    }
    if let Some(tr) = o.table("traits")? {
        sc.traits = traits_from(tr)?;
    }
    if let Some(e) = o.table("effort_cost")? {
        sc.effort_cost = effort_from(e)?;
    }
    if let Some(acts) = o.tables("activity")? {
        sc.activities =
            acts.iter().enumerate().map(|(i, a)| activity_from(&format!("activity[{i}]"), a)).collect::<Result<_>>()?;
    }
    if let Some(b) = o.table("behavior")? {
        sc.behavior = behavior_from(b)?;
    }
    if let Some(ps) = o.tables("policy")? {
        sc.policies = ps
            .iter()
            .enumerate()
            .map(|(i, p)| policy_from(&format!("policy[{i}]"), p, sc.org.survival_window))
            .collect::<Result<_>>()?;
    }
    Ok(sc)
}

const ORG: &[&str] = &[
    "engineers",
    "hours_per_period",
    "token_price_per_million",
    "incident_cost",
    "survival_window",
    "defect_detection",
    "incident_probability",
    "value_noise",
];

fn org_from(t: &Table) -> Result<Org> {
    let o = Obj::new("org", t, ORG)?;
    let d = Org::default();
    let engineers = o.int("engineers", d.engineers as u64, u64::MAX)?;
    if engineers == 0 || engineers > crate::model::org::MAX_ENGINEERS as u64 {
        return Err(Error::invalid(
            "org.engineers",
            engineers,
            format!("an integer in [1, {}]", crate::model::org::MAX_ENGINEERS),
        ));
    }
    Ok(Org {
        engineers: engineers as usize,
        hours_per_period: o.num("hours_per_period", d.hours_per_period)?,
        token_price_per_million: o.num("token_price_per_million", d.token_price_per_million)?,
        incident_cost: o.num("incident_cost", d.incident_cost)?,
        survival_window: o.int("survival_window", d.survival_window as u64, 520)? as u32,
        defect_detection: o.num("defect_detection", d.defect_detection)?,
        incident_probability: o.num("incident_probability", d.incident_probability)?,
        value_noise: o.num("value_noise", d.value_noise)?,
    })
}

const TRAITS: &[&str] = &[
    "skill",
    "ai_leverage",
    "integrity",
    "intrinsic_motivation",
    "reward_sensitivity",
    "cost_awareness",
    "never_game_fraction",
    "correlations",
];
const DISTS: &[&str] = &["constant", "uniform", "normal", "lognormal", "beta", "exponential"];

/// Reads one distribution's parameters from its table.
type DistReader = fn(&Obj) -> Result<Dist>;

fn dist_from(path: &str, t: &Table) -> Result<TraitDist> {
    let kind = match t.get("dist") {
        Some(Value::String(s)) => s.as_str(),
        Some(v) => {
            return Err(Error::invalid(format!("{path}.dist"), show(v), format!("one of: {}", DISTS.join(", "))));
        }
        None => return Err(Error::invalid(format!("{path}.dist"), "nothing", format!("one of: {}", DISTS.join(", ")))),
    };
    let (allowed, dist): (&'static [&'static str], DistReader) = match kind {
        "constant" => (&["dist", "value", "min", "max"], |o| Ok(Dist::Constant { value: o.num("value", 0.0)? })),
        "uniform" => (&["dist", "low", "high", "min", "max"], |o| {
            Ok(Dist::Uniform { low: o.num("low", 0.0)?, high: o.num("high", 1.0)? })
        }),
        "normal" => (&["dist", "mean", "sd", "min", "max"], |o| {
            Ok(Dist::Normal { mean: o.num("mean", 0.0)?, sd: o.num("sd", 1.0)? })
        }),
        "lognormal" => (&["dist", "mean", "sd", "min", "max"], |o| {
            Ok(Dist::Lognormal { mean: o.num("mean", 1.0)?, sd: o.num("sd", 1.0)? })
        }),
        "beta" => (&["dist", "alpha", "beta", "min", "max"], |o| {
            Ok(Dist::Beta { alpha: o.num("alpha", 1.0)?, beta: o.num("beta", 1.0)? })
        }),
        "exponential" => (&["dist", "mean", "min", "max"], |o| Ok(Dist::Exponential { mean: o.num("mean", 1.0)? })),
        other => return Err(choice(&format!("{path}.dist"), other, DISTS)),
    };
    let o = Obj::new(path, t, allowed)?;
    let td = TraitDist { dist: dist(&o)?, min: o.opt_num("min")?, max: o.opt_num("max")? };
    td.validate(path)?;
    Ok(td)
}

fn traits_from(t: &Table) -> Result<TraitsConfig> {
    let o = Obj::new("traits", t, TRAITS)?;
    let mut cfg = TraitsConfig::default();
    for tr in Trait::ALL {
        if let Some(d) = o.table(tr.name())? {
            *cfg.dist_mut(tr) = dist_from(&format!("traits.{}", tr.name()), d)?;
        }
    }
    cfg.never_game_fraction = o.num("never_game_fraction", cfg.never_game_fraction)?;
    if let Some(cs) = o.tables("correlations")? {
        let names: Vec<&str> = Trait::ALL.iter().map(|t| t.name()).collect();
        cfg.correlations = cs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let path = format!("traits.correlations[{i}]");
                let o = Obj::new(path.clone(), c, &["a", "b", "rho"])?;
                let get = |k: &str| -> Result<Trait> {
                    let s = o.string(k, "")?;
                    Trait::from_name(&s)
                        .ok_or_else(|| Error::unknown(format!("{path}.{k}"), "trait", &s, names.iter().copied()))
                };
                Ok(Correlation { a: get("a")?, b: get("b")?, rho: o.num("rho", 0.0)? })
            })
            .collect::<Result<_>>()?;
    }
    Ok(cfg)
}

const FORMS: &[&str] = &["separable", "total", "mixed", "power"];

fn effort_from(t: &Table) -> Result<EffortCost> {
    let o = Obj::new("effort_cost", t, &["form", "coefficient", "substitution", "exponent"])?;
    let d = EffortCost::default();
    let form = match o.string("form", "mixed")?.as_str() {
        "separable" => EffortForm::Separable,
        "total" => EffortForm::Total,
        "mixed" => EffortForm::Mixed { substitution: o.num("substitution", d.substitution().unwrap_or(0.8))? },
        "power" => EffortForm::Power { exponent: o.num("exponent", 2.0)? },
        other => return Err(choice("effort_cost.form", other, FORMS)),
    };
    Ok(EffortCost { form, coefficient: o.num("coefficient", d.coefficient)? })
}

const ACTIVITY: &[&str] = &[
    "name",
    "value_per_hour",
    "uses_ai",
    "tau0",
    "max_tokens_per_hour",
    "tokens_per_hour",
    "changes_per_hour",
    "change_size",
    "usefulness",
    "defect_rate",
    "review_hours_per_change",
    "cycle_time_days",
    "gaming",
    "skill_scaled",
    "signals",
];

fn activity_from(path: &str, t: &Table) -> Result<Activity> {
    let o = Obj::new(path, t, ACTIVITY)?;
    let name = o.string("name", "")?;
    let d = Activity::named(name.clone());
    let signals = match o.table("signals")? {
        None => Vec::new(),
        Some(s) => signals_from(&format!("{path}.signals"), s)?,
    };
    Ok(Activity {
        name,
        value_per_hour: o.num("value_per_hour", d.value_per_hour)?,
        uses_ai: o.boolean("uses_ai", d.uses_ai)?,
        tau0: o.num("tau0", d.tau0)?,
        max_tokens_per_hour: o.num("max_tokens_per_hour", d.max_tokens_per_hour)?,
        tokens_per_hour: o.num("tokens_per_hour", d.tokens_per_hour)?,
        changes_per_hour: o.num("changes_per_hour", d.changes_per_hour)?,
        change_size: o.num("change_size", d.change_size)?,
        usefulness: o.num("usefulness", d.usefulness)?,
        defect_rate: o.num("defect_rate", d.defect_rate)?,
        review_hours_per_change: o.num("review_hours_per_change", d.review_hours_per_change)?,
        cycle_time_days: o.num("cycle_time_days", d.cycle_time_days)?,
        gaming: o.boolean("gaming", d.gaming)?,
        skill_scaled: o.boolean("skill_scaled", d.skill_scaled)?,
        signals,
    })
}

fn signals_from(path: &str, t: &Table) -> Result<Vec<(String, f64)>> {
    t.iter()
        .map(|(k, v)| match v {
            Value::Float(f) if f.is_finite() => Ok((k.clone(), *f)),
            Value::Integer(i) => Ok((k.clone(), *i as f64)),
            v => Err(Error::invalid(format!("{path}.{k}"), show(v), "a finite number")),
        })
        .collect()
}

const BEHAVIOR: &[&str] = &[
    "model",
    "temperature",
    "belief",
    "alpha",
    "revision_rate",
    "beta",
    "initial_gamers",
    "forgetting",
    "experimentation",
    "initial_propensity",
    "gamer_fraction",
    "step",
];
const MODELS: &[&str] = &["best-response", "imitation", "roth-erev", "fixed-types", "hill-climb"];

fn behavior_from(t: &Table) -> Result<Behavior> {
    let o = Obj::new("behavior", t, BEHAVIOR)?;
    let d = Behavior::default();
    let model = match o.string("model", "best-response")?.as_str() {
        "best-response" => Model::BestResponse,
        "imitation" => Model::Imitation {
            revision_rate: o.num("revision_rate", 0.2)?,
            beta: o.num("beta", 0.01)?,
            initial_gamers: o.num("initial_gamers", 0.1)?,
        },
        "roth-erev" => Model::RothErev {
            forgetting: o.num("forgetting", 0.1)?,
            experimentation: o.num("experimentation", 0.2)?,
            initial_propensity: o.num("initial_propensity", 100.0)?,
        },
        "fixed-types" => Model::FixedTypes { gamer_fraction: o.num("gamer_fraction", 0.3)? },
        "hill-climb" => Model::HillClimb { step: o.num("step", 1.0)? },
        other => return Err(choice("behavior.model", other, MODELS)),
    };
    let default_alpha = match d.belief {
        BeliefRule::Adaptive { alpha } => alpha,
        BeliefRule::Fictitious => 0.3,
    };
    let belief = match o.string("belief", "adaptive")?.as_str() {
        "adaptive" => BeliefRule::Adaptive { alpha: o.num("alpha", default_alpha)? },
        "fictitious" => BeliefRule::Fictitious,
        other => return Err(choice("behavior.belief", other, &["adaptive", "fictitious"])),
    };
    Ok(Behavior { model, temperature: o.num("temperature", d.temperature)?, belief })
}

const POLICY: &[&str] = &["name", "description", "metric", "reward", "audit", "token_cap", "schedule"];
const SCHEMES: &[&str] = &["none", "leaderboard", "linear", "threshold"];

fn policy_from(path: &str, t: &Table, survival_window: u32) -> Result<Policy> {
    let o = Obj::new(path, t, POLICY)?;
    let name = o.string("name", "")?;
    let metric = match o.table.get("metric") {
        None => None,
        Some(Value::String(s)) => Some(
            Metric::builtin(s, survival_window)
                .map_err(|_| Error::unknown(format!("{path}.metric"), "metric", s, BUILTIN_METRICS.iter().copied()))?,
        ),
        Some(Value::Table(m)) => Some(metric_from(&format!("{path}.metric"), m, survival_window)?),
        Some(v) => return Err(Error::invalid(format!("{path}.metric"), show(v), "a built-in metric name or a table")),
    };
    let reward = match o.table("reward")? {
        None => Reward::None,
        Some(r) => reward_from(&format!("{path}.reward"), r)?,
    };
    let audit = match o.table("audit")? {
        None => None,
        Some(a) => {
            let ao = Obj::new(format!("{path}.audit"), a, &["probability", "sensitivity", "penalty"])?;
            Some(Audit {
                probability: ao.num("probability", 0.1)?,
                sensitivity: ao.num("sensitivity", 1.0)?,
                penalty: ao.num("penalty", 10_000.0)?,
            })
        }
    };
    let schedule = match o.tables("schedule")? {
        None => Vec::new(),
        Some(st) => st
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let so = Obj::new(format!("{path}.schedule[{j}]"), s, &["from", "policy"])?;
                Ok(Stage { from: so.int("from", 0, u32::MAX as u64)? as u32, policy: so.string("policy", "")? })
            })
            .collect::<Result<_>>()?,
    };
    Ok(Policy {
        name,
        description: o.string("description", "")?,
        metric,
        reward,
        audit,
        token_cap: o.opt_num("token_cap")?,
        schedule,
    })
}

fn noise_from(path: &str, t: &Table) -> Result<Noise> {
    let kind = match t.get("dist") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(Error::invalid(format!("{path}.dist"), "nothing", "one of: none, normal, lognormal")),
    };
    let o = Obj::new(path, t, &["dist", "sd"])?;
    match kind.as_str() {
        "none" => Ok(Noise::None),
        "normal" => Ok(Noise::Normal { sd: o.num("sd", 1.0)? }),
        "lognormal" => Ok(Noise::Lognormal { sd: o.num("sd", 0.3)? }),
        other => Err(choice(&format!("{path}.dist"), other, &["none", "normal", "lognormal"])),
    }
}

fn metric_from(path: &str, t: &Table, survival_window: u32) -> Result<Metric> {
    let o = Obj::new(path, t, &["name", "builtin", "signals", "noise", "delay", "window"])?;
    let mut m = match o.table.get("builtin") {
        Some(_) => {
            let b = o.string("builtin", "")?;
            Metric::builtin(&b, survival_window)
                .map_err(|_| Error::unknown(format!("{path}.builtin"), "metric", &b, BUILTIN_METRICS.iter().copied()))?
        }
        None => Metric::weighted("custom", Vec::new()),
    };
    if let Some(s) = o.table("signals")? {
        m.weights = signals_from(&format!("{path}.signals"), s)?;
    } else if !o.table.contains_key("builtin") {
        return Err(Error::invalid(
            format!("{path}.signals"),
            "nothing",
            "signal weights (e.g. { tokens = 1.0 }) or `builtin`",
        ));
    }
    m.name = o.string("name", &m.name)?;
    if let Some(n) = o.table("noise")? {
        m.noise = noise_from(&format!("{path}.noise"), n)?;
    }
    m.delay = o.int("delay", m.delay as u64, 520)? as u32;
    m.window = o.int("window", m.window as u64, 520)? as u32;
    Ok(m)
}

fn reward_from(path: &str, t: &Table) -> Result<Reward> {
    let scheme = match t.get("scheme") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            return Err(Error::invalid(format!("{path}.scheme"), show(v), format!("one of: {}", SCHEMES.join(", "))));
        }
        None => {
            return Err(Error::invalid(format!("{path}.scheme"), "nothing", format!("one of: {}", SCHEMES.join(", "))));
        }
    };
    let r = match scheme.as_str() {
        "none" => {
            Obj::new(path, t, &["scheme"])?;
            Reward::None
        }
        "leaderboard" => {
            let o = Obj::new(path, t, &["scheme", "top_fraction", "prize", "bottom_fraction", "penalty"])?;
            Reward::Leaderboard {
                top_fraction: o.num("top_fraction", 0.1)?,
                prize: o.num("prize", 0.0)?,
                bottom_fraction: o.num("bottom_fraction", 0.0)?,
                penalty: o.num("penalty", 0.0)?,
            }
        }
        "linear" => Reward::Linear { rate: Obj::new(path, t, &["scheme", "rate"])?.num("rate", 0.0)? },
        "threshold" => {
            let o = Obj::new(path, t, &["scheme", "quota", "bonus"])?;
            Reward::Threshold { quota: o.num("quota", 0.0)?, bonus: o.num("bonus", 0.0)? }
        }
        other => return Err(choice(&format!("{path}.scheme"), other, SCHEMES)),
    };
    r.validate(path)?;
    Ok(r)
}

// ---------------------------------------------------------------- writing

/// A float as TOML reads it back exactly: shortest round-trip digits, with a
/// decimal point or an exponent so that it never parses as an integer.
fn num(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e15 || x.abs() < 1e-5) {
        format!("{x:e}")
    } else if x.fract() == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn dist_inline(d: &TraitDist) -> String {
    let mut s = match d.dist {
        Dist::Constant { value } => format!("dist = \"constant\", value = {}", num(value)),
        Dist::Uniform { low, high } => format!("dist = \"uniform\", low = {}, high = {}", num(low), num(high)),
        Dist::Normal { mean, sd } => format!("dist = \"normal\", mean = {}, sd = {}", num(mean), num(sd)),
        Dist::Lognormal { mean, sd } => format!("dist = \"lognormal\", mean = {}, sd = {}", num(mean), num(sd)),
        Dist::Beta { alpha, beta } => format!("dist = \"beta\", alpha = {}, beta = {}", num(alpha), num(beta)),
        Dist::Exponential { mean } => format!("dist = \"exponential\", mean = {}", num(mean)),
    };
    if let Some(m) = d.min {
        s += &format!(", min = {}", num(m));
    }
    if let Some(m) = d.max {
        s += &format!(", max = {}", num(m));
    }
    format!("{{ {s} }}")
}

fn noise_inline(n: &Noise) -> String {
    match *n {
        Noise::None => "{ dist = \"none\" }".into(),
        Noise::Normal { sd } => format!("{{ dist = \"normal\", sd = {} }}", num(sd)),
        Noise::Lognormal { sd } => format!("{{ dist = \"lognormal\", sd = {} }}", num(sd)),
    }
}

fn signals_inline(s: &[(String, f64)]) -> String {
    let parts: Vec<String> = s.iter().map(|(k, v)| format!("{} = {}", bare_key(k), num(*v))).collect();
    format!("{{ {} }}", parts.join(", "))
}

fn bare_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        quote(k)
    }
}

/// Writes a complete scenario file: every field, with a comment giving its
/// meaning, unit and allowed range. Reading it back gives the same scenario.
pub fn write_scenario(sc: &Scenario) -> String {
    let mut w = String::new();
    let mut line = |s: &str| {
        w.push_str(s);
        w.push('\n');
    };
    line("# goodhart scenario file. Every field is shown with its value; delete a field to use its default.");
    line(&format!("name = {}", quote(&sc.name)));
    line(&format!("description = {}", quote(&sc.description)));
    line(&format!("seed = {}  # master seed; same scenario and seed give byte-identical results", sc.seed));
    line(&format!("replications = {}  # independent replications, 1..100000", sc.replications));
    line(&format!("periods = {}  # periods (weeks), 1..10000", sc.periods));
    line(&format!("burn_in = {}  # periods left out of the run's KPIs, 0..periods-1", sc.burn_in));
    if let Some(b) = &sc.baseline {
        line(&format!("baseline = {}  # the policy others are compared with (default: the first)", quote(b)));
    }
    let o = &sc.org;
    line("");
    line("[org]");
    line(&format!("engineers = {}  # number of engineers, 1..{}", o.engineers, crate::model::org::MAX_ENGINEERS));
    line(&format!(
        "hours_per_period = {}  # hours available per engineer per period, (0, 10000]",
        num(o.hours_per_period)
    ));
    line(&format!(
        "token_price_per_million = {}  # USD per million tokens (blended), >= 0",
        num(o.token_price_per_million)
    ));
    line(&format!("incident_cost = {}  # USD per customer-facing incident, >= 0", num(o.incident_cost)));
    line(&format!("survival_window = {}  # periods a change must survive, 0..520", o.survival_window));
    line(&format!(
        "defect_detection = {}  # probability per period a defect is found, [0, 1]",
        num(o.defect_detection)
    ));
    line(&format!(
        "incident_probability = {}  # probability a defect causes an incident, [0, 1]",
        num(o.incident_probability)
    ));
    line(&format!("value_noise = {}  # sd of the log-normal production shock on value, [0, 10]", num(o.value_noise)));
    let t = &sc.traits;
    line("");
    line("# Trait distributions: constant {value}, uniform {low, high}, normal {mean, sd},");
    line("# lognormal {mean, sd} (of the variable itself), beta {alpha, beta}, exponential {mean};");
    line("# each may be truncated with min and max.");
    line("[traits]");
    let comments = [
        "multiplier on value per hour (1 = typical)",
        "AI multiplies productivity by 1 + a (1 - exp(-tau/tau0))",
        "USD-equivalent disutility per gaming hour",
        "utility per USD of useful output",
        "utility per USD of reward",
        "share of own token bill felt, [0, 1]",
    ];
    for (tr, c) in Trait::ALL.iter().zip(comments) {
        line(&format!("{} = {}  # {c}", tr.name(), dist_inline(t.dist(*tr))));
    }
    line(&format!("never_game_fraction = {}  # engineers who never game, [0, 1]", num(t.never_game_fraction)));
    let cs: Vec<String> = t
        .correlations
        .iter()
        .map(|c| format!("{{ a = \"{}\", b = \"{}\", rho = {} }}", c.a.name(), c.b.name(), num(c.rho)))
        .collect();
    line(&format!("correlations = [{}]  # Gaussian-copula correlations, rho in (-1, 1)", cs.join(", ")));
    line("");
    line("# Effort cost per period (USD-equivalent): separable c/2 sum h^2, total c/2 (sum h)^2,");
    line("# mixed c/2 [(1-s) sum h^2 + s (sum h)^2], power c/p sum h^p.");
    line("[effort_cost]");
    match sc.effort_cost.form {
        EffortForm::Separable => line("form = \"separable\""),
        EffortForm::Total => line("form = \"total\""),
        EffortForm::Mixed { substitution } => {
            line("form = \"mixed\"");
            line(&format!("substitution = {}  # s in [0, 1]", num(substitution)));
        }
        EffortForm::Power { exponent } => {
            line("form = \"power\"");
            line(&format!("exponent = {}  # p > 1", num(exponent)));
        }
    }
    line(&format!("coefficient = {}  # c > 0", num(sc.effort_cost.coefficient)));
    line("");
    line("[behavior]");
    let b = &sc.behavior;
    match b.model {
        Model::BestResponse => {
            line("model = \"best-response\"  # best-response | imitation | roth-erev | fixed-types | hill-climb")
        }
        Model::Imitation { revision_rate, beta, initial_gamers } => {
            line("model = \"imitation\"");
            line(&format!("revision_rate = {}  # probability per period of reconsidering, [0, 1]", num(revision_rate)));
            line(&format!("beta = {}  # Fermi sensitivity per USD of payoff difference, >= 0", num(beta)));
            line(&format!("initial_gamers = {}  # share starting as gamers, [0, 1]", num(initial_gamers)));
        }
        Model::RothErev { forgetting, experimentation, initial_propensity } => {
            line("model = \"roth-erev\"");
            line(&format!("forgetting = {}  # [0, 1]", num(forgetting)));
            line(&format!("experimentation = {}  # [0, 1]", num(experimentation)));
            line(&format!("initial_propensity = {}  # USD-equivalent, > 0", num(initial_propensity)));
        }
        Model::FixedTypes { gamer_fraction } => {
            line("model = \"fixed-types\"");
            line(&format!("gamer_fraction = {}  # [0, 1]", num(gamer_fraction)));
        }
        Model::HillClimb { step } => {
            line("model = \"hill-climb\"");
            line(&format!("step = {}  # hours moved per step, (0, 168]", num(step)));
        }
    }
    line(&format!("temperature = {}  # logit temperature, USD; 0 = exact best response", num(b.temperature)));
    match b.belief {
        BeliefRule::Adaptive { alpha } => {
            line("belief = \"adaptive\"  # adaptive | fictitious");
            line(&format!("alpha = {}  # weight on the newest leaderboard, (0, 1]", num(alpha)));
        }
        BeliefRule::Fictitious => line("belief = \"fictitious\"  # adaptive | fictitious"),
    }
    line("");
    line("# Activities: what engineers can spend hours on (these replace the defaults).");
    for a in &sc.activities {
        line("[[activity]]");
        line(&format!("name = {}", quote(&a.name)));
        line(&format!("value_per_hour = {}  # USD per hour at skill 1 without AI", num(a.value_per_hour)));
        line(&format!("uses_ai = {}  # engineer chooses tokens per hour tau", a.uses_ai));
        line(&format!("tau0 = {}  # tokens per hour scale of diminishing returns, > 0", num(a.tau0)));
        line(&format!(
            "max_tokens_per_hour = {}  # most tokens per hour through agents, >= 0",
            num(a.max_tokens_per_hour)
        ));
        line(&format!("tokens_per_hour = {}  # fixed tokens per hour, >= 0", num(a.tokens_per_hour)));
        line(&format!(
            "changes_per_hour = {}  # expected changes shipped per productive hour",
            num(a.changes_per_hour)
        ));
        line(&format!("change_size = {}  # relative size of each change", num(a.change_size)));
        line(&format!("usefulness = {}  # probability a surviving change is judged useful, [0, 1]", num(a.usefulness)));
        line(&format!("defect_rate = {}  # probability a change is defective, [0, 1]", num(a.defect_rate)));
        line(&format!("review_hours_per_change = {}  # review load on peers, hours", num(a.review_hours_per_change)));
        line(&format!("cycle_time_days = {}  # days per change", num(a.cycle_time_days)));
        line(&format!("gaming = {}  # hours here count as gaming", a.gaming));
        line(&format!("skill_scaled = {}  # output scales with skill", a.skill_scaled));
        line(&format!("signals = {}  # extra signal units per productive hour", signals_inline(&a.signals)));
    }
    line("");
    line("# Policies. metric: a built-in name (tokens, deployments, normalized_deployments,");
    line("# shipped_and_survived, dora, customer_impact, value) or { signals = {...}, noise, delay, window }.");
    line("# reward: none | leaderboard {top_fraction, prize, bottom_fraction, penalty} |");
    line("# linear {rate} | threshold {quota, bonus}; amounts in USD per period.");
    for p in &sc.policies {
        line("");
        line("[[policy]]");
        line(&format!("name = {}", quote(&p.name)));
        if !p.description.is_empty() {
            line(&format!("description = {}", quote(&p.description)));
        }
        if !p.schedule.is_empty() {
            let st: Vec<String> =
                p.schedule.iter().map(|s| format!("{{ from = {}, policy = {} }}", s.from, quote(&s.policy))).collect();
            line(&format!("schedule = [{}]", st.join(", ")));
            continue;
        }
        if let Some(m) = &p.metric {
            let mut parts =
                vec![format!("name = {}", quote(&m.name)), format!("signals = {}", signals_inline(&m.weights))];
            parts.push(format!("noise = {}", noise_inline(&m.noise)));
            parts.push(format!("delay = {}", m.delay));
            parts.push(format!("window = {}", m.window));
            line(&format!("metric = {{ {} }}", parts.join(", ")));
        }
        match &p.reward {
            Reward::None => {}
            Reward::Leaderboard { top_fraction, prize, bottom_fraction, penalty } => line(&format!(
                "reward = {{ scheme = \"leaderboard\", top_fraction = {}, prize = {}, bottom_fraction = {}, penalty = {} }}",
                num(*top_fraction),
                num(*prize),
                num(*bottom_fraction),
                num(*penalty)
            )),
            Reward::Linear { rate } => line(&format!("reward = {{ scheme = \"linear\", rate = {} }}", num(*rate))),
            Reward::Threshold { quota, bonus } => line(&format!(
                "reward = {{ scheme = \"threshold\", quota = {}, bonus = {} }}",
                num(*quota),
                num(*bonus)
            )),
            Reward::Custom(_) => line("# reward: a user-defined rule (not representable in a file)"),
        }
        if let Some(a) = &p.audit {
            line(&format!(
                "audit = {{ probability = {}, sensitivity = {}, penalty = {} }}",
                num(a.probability),
                num(a.sensitivity),
                num(a.penalty)
            ));
        }
        if let Some(c) = p.token_cap {
            line(&format!("token_cap = {}  # tokens per engineer per period", num(c)));
        }
    }
    w
}

/// Sets one field of a scenario by its path, as a sweep or `--set` names it:
/// `org.engineers`, `policy[kirorank].reward.prize`, `traits.integrity.mean`,
/// `activity[0].defect_rate`. A `[selector]` picks an element of a list by
/// index or by its `name`. `value` is TOML (`3000`, `0.5`, `"text"`,
/// `{ dist = "constant", value = 1 }`); anything that is not TOML is taken
/// as a string. The result is validated like a file.
///
/// ```
/// let sc = goodhart::model::preset::scenario("story")?;
/// let sc = goodhart::io::format::set_field(&sc, "policy[kirorank].reward.prize", "500")?;
/// let kiro = sc.policies.iter().find(|p| p.name == "kirorank").unwrap();
/// assert!(matches!(kiro.reward, goodhart::Reward::Leaderboard { prize, .. } if prize == 500.0));
/// assert!(goodhart::io::format::set_field(&sc, "org.enginers", "10").unwrap_err().to_string().contains("engineers"));
/// # Ok::<(), goodhart::Error>(())
/// ```
pub fn set_field(sc: &Scenario, path: &str, value: &str) -> Result<Scenario> {
    let mut root: Table = write_scenario(sc).parse().map_err(|e: toml::de::Error| Error::Parse(e.to_string()))?;
    let parsed: Value = match format!("v = {value}").parse::<Table>() {
        Ok(mut t) => t.remove("v").unwrap_or(Value::String(value.to_string())),
        Err(_) => Value::String(value.to_string()),
    };
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(Error::invalid(
            path,
            "an empty segment",
            "a path such as org.engineers or policy[kirorank].reward.prize",
        ));
    }
    let mut table = &mut root;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let (key, selector) = match seg.split_once('[') {
            Some((k, rest)) => match rest.strip_suffix(']') {
                Some(sel) => (k, Some(sel)),
                None => return Err(Error::invalid(path, seg, "a segment like name[selector]")),
            },
            None => (*seg, None),
        };
        let here = segments[..=i].join(".");
        if last && selector.is_none() {
            table.insert(key.to_string(), parsed);
            break;
        }
        let keys: Vec<String> = table.keys().cloned().collect();
        let entry = table
            .get_mut(key)
            .ok_or_else(|| Error::unknown(here.clone(), "field", key, keys.iter().map(|s| s.as_str())))?;
        let next: &mut Table = match (entry, selector) {
            (Value::Table(t), None) => t,
            (Value::Array(items), Some(sel)) => {
                let names: Vec<String> =
                    items.iter().filter_map(|v| v.get("name").and_then(|n| n.as_str()).map(String::from)).collect();
                let idx = match sel.parse::<usize>() {
                    Ok(i) if i < items.len() => i,
                    Ok(i) => return Err(Error::invalid(here, i, format!("an index below {}", items.len()))),
                    Err(_) => names
                        .iter()
                        .position(|n| n == sel)
                        .ok_or_else(|| Error::unknown(here.clone(), "name", sel, names.iter().map(|s| s.as_str())))?,
                };
                match &mut items[idx] {
                    Value::Table(t) => t,
                    _ => return Err(Error::invalid(here, sel, "an element that is a table")),
                }
            }
            (_, Some(_)) => return Err(Error::invalid(here, key, "a list to select from")),
            (_, None) => return Err(Error::invalid(here, key, "a table (the path continues)")),
        };
        if last {
            return Err(Error::invalid(path, "a list element", "a field of it, e.g. policy[kirorank].reward.prize"));
        }
        table = next;
    }
    let text = toml::to_string(&root).map_err(|e| Error::Parse(e.to_string()))?;
    parse_scenario(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_scenarios_read_back_identically() {
        let mut sc = Scenario::default();
        sc.policies.push(Policy::new(
            "k",
            Metric::builtin("tokens", 4).unwrap(),
            Reward::leaderboard(0.1, 3000.0, 0.1, 2000.0),
        ));
        sc.policies[1].audit = Some(Audit { probability: 0.1, sensitivity: 0.5, penalty: 1e4 });
        sc.policies[1].token_cap = Some(3e7);
        sc.behavior.model = Model::RothErev { forgetting: 0.1, experimentation: 0.2, initial_propensity: 50.0 };
        sc.traits.skill = TraitDist::truncated(Dist::Normal { mean: 1.0, sd: 0.3 }, 0.1, 3.0);
        let text = write_scenario(&sc);
        let back = parse_scenario(&text).unwrap();
        assert_eq!(back, sc, "{text}");
    }

    #[test]
    fn errors_name_the_field_and_suggest() {
        let e = parse_scenario("[org]\nengineers = 0\n").unwrap_err().to_string();
        assert!(e.contains("org.engineers") && e.contains("[1,"), "{e}");
        let e = parse_scenario("[org]\nengineerz = 10\n").unwrap_err().to_string();
        assert!(e.contains("did you mean `engineers`"), "{e}");
        let e = parse_scenario("[[policy]]\nname = \"a\"\nreward = { scheme = \"leaderboard\", top_fraction = 1.5 }\nmetric = \"tokens\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("policy[0].reward.top_fraction") && e.contains("1.5"), "{e}");
        let e = parse_scenario("periods = \"ten\"\n").unwrap_err().to_string();
        assert!(e.contains("periods"), "{e}");
        let e = parse_scenario("name = \n").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let e = parse_scenario("[org]\nincident_cost = nan\n").unwrap_err().to_string();
        assert!(e.contains("org.incident_cost"), "{e}");
    }
}
