//! The scenario file's schema, declared once.
//!
//! A scenario field is declared in two places that cannot drift apart:
//!
//! - its **type**: the model struct that holds it (`Org`, `Activity`,
//!   `Policy`, ...), whose serde derives give the file's shape, its
//!   defaults (each struct's `Default`, or a `default` function beside an
//!   enum variant's parameter) and the rejection of unknown keys;
//! - its **row** in [`FIELDS`]: path, meaning, unit and allowed range. The
//!   row drives the range checks of the `validate` methods (through
//!   [`check`] and [`check_int`]), the wording of errors (what is
//!   allowed), and the comments of the file `goodhart init` writes
//!   ([`crate::io::format::write_scenario`]), in the row order.
//!
//! Adding a field is therefore: a struct field, and one row here. Rules
//! serde cannot express (a built-in metric whose delay is the org's
//! survival window; constraints between fields, such as `burn_in <
//! periods`) are applied after reading, in
//! [`crate::io::format::parse_scenario`]'s resolve step and the
//! `validate` methods.
//!
//! The `file` submodule holds the file shapes of the few types whose file
//! spelling differs from their Rust layout (a truncated distribution, the
//! effort cost, behaviour, a metric written as a name or a table).

mod file;

pub(crate) use file::{DistFile, EffortFile, signals, whole, whole_opt};

use crate::error::{Error, Result};
use crate::model::metric::BUILTIN_METRICS;

// ---------------------------------------------------------------- limits

/// Most periods a run simulates.
pub const MAX_PERIODS: u32 = 10_000;
/// Most replications accepted.
pub const MAX_REPLICATIONS: u32 = 100_000;
/// Largest organisation the library accepts (memory grows linearly with it).
pub const MAX_ENGINEERS: usize = 20_000_000;
/// Longest lag the model keeps in memory, in periods (ten years of weeks):
/// the survival window, a metric's delay and its trailing window.
pub const MAX_LAG: u32 = 520;
/// Largest money amount, USD (prizes, penalties, incident cost, ...).
const BIG_USD: f64 = 1e12;
/// What a trait distribution's parameter allows (see [`crate::model::dist::PARAM_MAX`]).
const TRAIT_PARAM: &str = "a finite number in [-1e9, 1e9]";
/// Largest per-hour quantity (value, tokens, signal units).
const BIG: f64 = 1e15;

// ---------------------------------------------------------------- the table

/// What values a field allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// An integer in `[lo, hi]`.
    Int {
        /// Smallest allowed.
        lo: u64,
        /// Largest allowed.
        hi: u64,
    },
    /// A finite number in `[lo, hi]` (an open end is written as a bound a
    /// hair inside it); `text` says so in words, e.g. `a number in (0, 10000]`.
    Num {
        /// Smallest allowed.
        lo: f64,
        /// Largest allowed.
        hi: f64,
        /// The range in words.
        text: &'static str,
    },
    /// A number whose range depends on a sibling (a distribution's
    /// parameters, checked by [`Dist::validate`]); `text` says what.
    Param(&'static str),
    /// One of these names.
    Choice(&'static [&'static str]),
    /// The tag of a table that is one of several kinds (`dist`, `scheme`):
    /// one of these names, which decides the table's other keys.
    Tag(&'static [&'static str]),
    /// `true` or `false`.
    Bool,
    /// A string.
    Text,
    /// A table (a section or an inline table).
    Table,
    /// A list of tables.
    List,
    /// A table of named numbers (signal weights), or `text` when it has another form.
    Map(&'static str),
}

/// One field of the scenario file.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field {
    /// Its path pattern: `org.engineers`, `policy[].reward.prize`,
    /// `traits.*.mean` (`*` is any trait), `activity[].signals.*`.
    pub path: &'static str,
    /// What it means in the model (a table's doc may span lines).
    pub doc: &'static str,
    /// Its unit (`USD`, `hours`, `periods`, ...), empty if none.
    pub unit: &'static str,
    /// What values it allows.
    pub range: Range,
}

impl Field {
    /// What the field allows, in words, with its unit: `a number >= 0 (USD)`.
    pub fn expected(&self) -> String {
        let base = match self.range {
            Range::Int { lo, hi } => format!("an integer in [{lo}, {hi}]"),
            Range::Num { text, .. } | Range::Param(text) | Range::Map(text) => text.to_string(),
            Range::Choice(c) | Range::Tag(c) => format!("one of: {}", c.join(", ")),
            Range::Bool => "true or false".into(),
            Range::Text => "a string".into(),
            Range::Table => "a table".into(),
            Range::List => "an array of tables".into(),
        };
        if self.unit.is_empty() { base } else { format!("{base} ({})", self.unit) }
    }

    /// The kind of name a choice holds, for "unknown ..." errors.
    pub fn kind(&self) -> &'static str {
        if self.path.ends_with(".metric") || self.path.ends_with(".builtin") {
            "metric"
        } else if self.path.starts_with("traits.correlations") {
            "trait"
        } else {
            "value"
        }
    }
}

const fn num(path: &'static str, doc: &'static str, unit: &'static str, lo: f64, hi: f64, text: &'static str) -> Field {
    Field { path, doc, unit, range: Range::Num { lo, hi, text } }
}

const fn int(path: &'static str, doc: &'static str, unit: &'static str, lo: u64, hi: u64) -> Field {
    Field { path, doc, unit, range: Range::Int { lo, hi } }
}

const fn other(path: &'static str, doc: &'static str, range: Range) -> Field {
    Field { path, doc, unit: "", range }
}

const PROBABILITY: &str = "a probability in [0, 1]";
const FRACTION: &str = "a fraction in [0, 1]";
const UNIT_INTERVAL: &str = "a number in [0, 1]";
const NONNEG: &str = "a number >= 0";
const POSITIVE: &str = "a number > 0";
const FINITE: &str = "a finite number";
/// A hair above zero: the lower end of ranges open at 0.
const ABOVE_ZERO: f64 = 1e-9;

/// The distribution families of a trait.
pub const DISTS: &[&str] = &["constant", "uniform", "normal", "lognormal", "beta", "exponential"];
/// The shapes of the effort cost.
pub const FORMS: &[&str] = &["separable", "total", "mixed", "power"];
/// The behaviour models.
pub const MODELS: &[&str] = &["best-response", "imitation", "roth-erev", "ewa", "fixed-types", "hill-climb"];
/// The social structures.
pub const STRUCTURES: &[&str] = &["everyone", "teams", "small-world"];
/// The belief rules.
pub const BELIEFS: &[&str] = &["adaptive", "fictitious"];
/// The reward schemes a file can hold.
pub const SCHEMES: &[&str] = &["none", "leaderboard", "linear", "threshold"];
/// The kinds of measurement noise.
pub const NOISES: &[&str] = &["none", "normal", "lognormal"];
/// The traits, by their file names.
pub const TRAITS: &[&str] =
    &["skill", "ai_leverage", "integrity", "intrinsic_motivation", "reward_sensitivity", "cost_awareness"];

/// Every field of the scenario file, in the order a written file lists
/// them. Sections and inline tables have rows of their own (their doc is
/// the comment above the section).
pub const FIELDS: &[Field] = &[
    other("name", "", Range::Text),
    other("description", "", Range::Text),
    int("seed", "master seed; same scenario and seed give byte-identical results", "", 0, i64::MAX as u64),
    int("replications", "independent replications", "", 1, MAX_REPLICATIONS as u64),
    int("periods", "periods (weeks)", "", 1, MAX_PERIODS as u64),
    int("burn_in", "periods left out of the run's KPIs, below periods", "", 0, MAX_PERIODS as u64 - 1),
    other("baseline", "the policy others are compared with (default: the first)", Range::Text),
    // [org]
    other("org", "", Range::Table),
    int("org.engineers", "number of engineers", "", 1, MAX_ENGINEERS as u64),
    num(
        "org.hours_per_period",
        "contract hours per engineer per period",
        "hours",
        ABOVE_ZERO,
        1e4,
        "a number in (0, 10000]",
    ),
    num(
        "org.max_hours_per_period",
        "most hours a period can hold (at least hours_per_period)",
        "hours",
        ABOVE_ZERO,
        1e4,
        "a number in (0, 10000]",
    ),
    num(
        "org.overtime_cost",
        "cost of hours beyond contract: overtime_cost x skill / 2 x (hours - contract)^2",
        "USD-equivalent per hour^2",
        0.0,
        1e6,
        "a number in [0, 1000000]",
    ),
    num("org.token_price_per_million", "blended token price", "USD per million tokens", 0.0, 1e6, NONNEG),
    num("org.incident_cost", "cost of one customer-facing incident", "USD", 0.0, BIG_USD, NONNEG),
    num(
        "org.incident_share",
        "share of the cost of an incident the engineer who caused it feels",
        "",
        0.0,
        1.0,
        "a share in [0, 1]",
    ),
    int("org.survival_window", "periods a change must survive", "periods", 0, MAX_LAG as u64),
    num("org.defect_detection", "probability per period that a defect is found", "", 0.0, 1.0, PROBABILITY),
    num("org.incident_probability", "probability that a defect causes an incident", "", 0.0, 1.0, PROBABILITY),
    num("org.value_noise", "sd of the log-normal production shock on value", "", 0.0, 10.0, "a number in [0, 10]"),
    num(
        "org.review_capacity",
        "review hours per engineer a period can hold; changes wait as in a queue",
        "hours per engineer per period",
        ABOVE_ZERO,
        1e4,
        "a number in (0, 10000]",
    ),
    num(
        "org.review_miss",
        "relative rise in the defect rate at full review load (needs review_capacity)",
        "",
        0.0,
        100.0,
        "a number in [0, 100]",
    ),
    // [traits]
    other(
        "traits",
        "Trait distributions: constant {value}, uniform {low, high}, normal {mean, sd},\n\
         lognormal {mean, sd} (of the variable itself), beta {alpha, beta}, exponential {mean};\n\
         each may be truncated with min and max.",
        Range::Table,
    ),
    other("traits.skill", "multiplier on value per hour (1 = typical)", Range::Table),
    other("traits.ai_leverage", "AI multiplies productivity by 1 + a (1 - exp(-tau/tau0))", Range::Table),
    other("traits.integrity", "USD-equivalent disutility per gaming hour", Range::Table),
    other("traits.intrinsic_motivation", "utility per USD of useful output", Range::Table),
    other("traits.reward_sensitivity", "utility per USD of reward", Range::Table),
    other("traits.cost_awareness", "share of own token bill felt, [0, 1]", Range::Table),
    other("traits.*.dist", "distribution family", Range::Tag(DISTS)),
    other("traits.*.value", "", Range::Param(TRAIT_PARAM)),
    other("traits.*.low", "", Range::Param(TRAIT_PARAM)),
    other("traits.*.high", "", Range::Param("a number >= low, in [-1e9, 1e9]")),
    other("traits.*.mean", "", Range::Param("a finite number in [-1e9, 1e9] (> 0 for lognormal and exponential)")),
    other("traits.*.sd", "", Range::Param("a number in [0, 1e9]")),
    other("traits.*.alpha", "", Range::Param("a number in (0, 1e9]")),
    other("traits.*.beta", "", Range::Param("a number in (0, 1e9]")),
    other("traits.*.min", "", Range::Param(TRAIT_PARAM)),
    other("traits.*.max", "", Range::Param("a number >= min, in [-1e9, 1e9]")),
    num("traits.never_game_fraction", "engineers who never game", "", 0.0, 1.0, FRACTION),
    other(
        "traits.ai_perception",
        "leverage engineers plan with: a + bias + sd z, then p += learning_rate (a + experience_sd e - p) per period of AI use",
        Range::Table,
    ),
    num(
        "traits.ai_perception.bias",
        "mean over-estimate of one's leverage",
        "leverage",
        -2.0,
        2.0,
        "a number in [-2, 2]",
    ),
    num("traits.ai_perception.sd", "sd of each engineer's error", "leverage", 0.0, 2.0, "a number in [0, 2]"),
    num(
        "traits.ai_perception.learning_rate",
        "weight of one period's experience",
        "per period",
        0.0,
        1.0,
        "a number in [0, 1]",
    ),
    num(
        "traits.ai_perception.experience_sd",
        "sd of what a period of AI use shows",
        "leverage",
        0.0,
        10.0,
        "a number in [0, 10]",
    ),
    num(
        "traits.value_curvature",
        "utility of useful output bends past a normal week's (0: linear; 1: hours flat as productivity rises)",
        "",
        0.0,
        20.0,
        "a number in [0, 20]",
    ),
    other("traits.correlations", "Gaussian-copula correlations, rho in (-1, 1)", Range::List),
    other("traits.correlations[].a", "", Range::Choice(TRAITS)),
    other("traits.correlations[].b", "", Range::Choice(TRAITS)),
    other("traits.correlations[].rho", "", Range::Param("a correlation strictly between -1 and 1")),
    // [effort_cost]
    other(
        "effort_cost",
        "Effort cost per period (USD-equivalent): separable c/2 sum h^2, total c/2 (sum h)^2,\n\
         mixed c/2 [(1-s) sum h^2 + s (sum h)^2], power c/p sum h^p.",
        Range::Table,
    ),
    other("effort_cost.form", "", Range::Choice(FORMS)),
    num("effort_cost.substitution", "s", "", 0.0, 1.0, UNIT_INTERVAL),
    num("effort_cost.exponent", "p", "", 1.0 + ABOVE_ZERO, 100.0, "a number > 1 and <= 100"),
    num("effort_cost.coefficient", "c", "", 1e-12, BIG_USD, POSITIVE),
    // [behavior]
    other("behavior", "", Range::Table),
    other("behavior.model", "", Range::Choice(MODELS)),
    num("behavior.revision_rate", "probability per period of reconsidering", "", 0.0, 1.0, PROBABILITY),
    num("behavior.beta", "Fermi sensitivity to the expected-utility difference", "per USD", 0.0, 1e6, NONNEG),
    num("behavior.initial_gamers", "share starting on a gaming plan", "", 0.0, 1.0, FRACTION),
    num("behavior.forgetting", "Roth-Erev and EWA forgetting (1 - phi)", "", 0.0, 1.0, UNIT_INTERVAL),
    num("behavior.experimentation", "Roth-Erev experimentation", "", 0.0, 1.0, UNIT_INTERVAL),
    num(
        "behavior.initial_propensity",
        "initial propensity of each candidate plan, USD-equivalent",
        "",
        ABOVE_ZERO,
        BIG_USD,
        POSITIVE,
    ),
    num("behavior.delta", "EWA weight on foregone payoffs", "", 0.0, 1.0, UNIT_INTERVAL),
    num("behavior.precision", "EWA logit precision", "per USD", 0.0, 1e6, NONNEG),
    num("behavior.gamer_fraction", "share of gamers", "", 0.0, 1.0, FRACTION),
    num("behavior.step", "hours moved per hill-climbing step", "hours", ABOVE_ZERO, 168.0, "a number in (0, 168]"),
    num("behavior.temperature", "logit temperature; 0 = exact best response", "USD", 0.0, BIG_USD, NONNEG),
    other("behavior.belief", "", Range::Choice(BELIEFS)),
    num("behavior.alpha", "weight on the newest leaderboard", "", ABOVE_ZERO, 1.0, "a number in (0, 1]"),
    // [turnover]
    other(
        "turnover",
        "Turnover: engineers leave (forced ranking, a worse job than their outside option, outside\n\
         reasons) and are replaced by hires at the start of the next period.",
        Range::Table,
    ),
    num("turnover.base_rate", "leaving for reasons outside the model", "per period", 0.0, 1.0, PROBABILITY),
    num(
        "turnover.quit_probability",
        "leaving once the job is worth less than the outside option",
        "per period",
        0.0,
        1.0,
        PROBABILITY,
    ),
    num(
        "turnover.switching_cost",
        "how much worse than at joining the job may get before leaving pays (skill 1)",
        "USD-equivalent per period",
        -BIG_USD,
        BIG_USD,
        FINITE,
    ),
    num(
        "turnover.skill_premium",
        "rise of the outside option per unit of skill above 1",
        "USD-equivalent per period",
        -BIG_USD,
        BIG_USD,
        FINITE,
    ),
    num(
        "turnover.memory",
        "weight of the latest period in the job's smoothed worth",
        "",
        ABOVE_ZERO,
        1.0,
        "a number in (0, 1]",
    ),
    num("turnover.copy_share", "share of hires copying an engineer above the cut-off", "", 0.0, 1.0, FRACTION),
    num("turnover.mutation_sd", "log-normal mutation of copied practices", "", 0.0, 10.0, "a number in [0, 10]"),
    int("turnover.ramp_periods", "periods a hire takes to reach full productivity", "periods", 0, MAX_LAG as u64),
    num("turnover.ramp_start", "a hire's first-period productivity, share of skill", "", 0.0, 1.0, UNIT_INTERVAL),
    num("turnover.hiring_cost", "what a hire costs the organisation", "USD", 0.0, BIG_USD, NONNEG),
    // [social]
    other(
        "social",
        "Who engineers see: imitation picks a partner among neighbours, and norms erode with their gaming.",
        Range::Table,
    ),
    other(
        "social.structure",
        "everyone, teams of `size`, or a small world of `size` ties each",
        Range::Choice(STRUCTURES),
    ),
    int("social.size", "engineers per team, or ties per engineer (even) in a small world", "", 1, MAX_ENGINEERS as u64),
    num("social.rewire", "small world: probability a tie is redrawn at random", "", 0.0, 1.0, PROBABILITY),
    num(
        "social.norm_erosion",
        "rate at which integrity drifts to (1 - share of neighbours who game) x own",
        "per period",
        0.0,
        1.0,
        UNIT_INTERVAL,
    ),
    // [[activity]]
    other("activity", "Activities: what engineers can spend hours on (these replace the defaults).", Range::List),
    other("activity[].name", "", Range::Text),
    num("activity[].value_per_hour", "value at skill 1 without AI", "USD per hour", -BIG, BIG, FINITE),
    other("activity[].uses_ai", "engineer chooses tokens per hour tau", Range::Bool),
    num("activity[].tau0", "scale of diminishing returns to tokens", "tokens per hour", ABOVE_ZERO, BIG, POSITIVE),
    num("activity[].max_tokens_per_hour", "most tokens through agents", "tokens per hour", 0.0, BIG, NONNEG),
    num("activity[].tokens_per_hour", "fixed tokens", "tokens per hour", 0.0, BIG, NONNEG),
    num(
        "activity[].changes_per_hour",
        "expected changes shipped per productive hour",
        "changes per hour",
        0.0,
        1e4,
        "a number in [0, 10000]",
    ),
    num("activity[].change_size", "relative size of each change", "", 0.0, BIG, NONNEG),
    num("activity[].usefulness", "probability a surviving change is judged useful", "", 0.0, 1.0, PROBABILITY),
    num("activity[].defect_rate", "probability a change is defective", "", 0.0, 1.0, PROBABILITY),
    num("activity[].review_hours_per_change", "review load on peers", "hours", 0.0, 1e4, "a number in [0, 10000]"),
    num(
        "activity[].ai_review_factor",
        "relative rise in review hours per change when AI does all the work",
        "",
        -1.0,
        1e3,
        "a number in [-1, 1000]",
    ),
    num(
        "activity[].ai_defect_factor",
        "relative rise in the defect rate when AI does all the work",
        "",
        -1.0,
        1e3,
        "a number in [-1, 1000]",
    ),
    num(
        "activity[].ai_size_factor",
        "relative rise in change size when AI does all the work",
        "",
        -1.0,
        1e3,
        "a number in [-1, 1000]",
    ),
    num(
        "activity[].ai_value_factor",
        "relative change in the value a change delivers when AI does all the work (unseen when planning)",
        "",
        -1.0,
        1e3,
        "a number in [-1, 1000]",
    ),
    num("activity[].cycle_time_days", "time from start to production", "days", 0.0, 1e6, NONNEG),
    num(
        "activity[].convexity",
        "own convexity e: hours here cost e/2 h^2 more",
        "USD-equivalent per hour^2",
        0.0,
        1e6,
        "a number in [0, 1000000]",
    ),
    other("activity[].gaming", "hours here count as gaming", Range::Bool),
    other("activity[].skill_scaled", "output scales with skill", Range::Bool),
    other("activity[].signals", "extra signal units per productive hour", Range::Map("a table of signal names")),
    num("activity[].signals.*", "", "signal units per hour", -BIG, BIG, FINITE),
    other(
        "activity[].ai_signals",
        "signal units per productive hour of AI-assisted work (times the AI share)",
        Range::Map("a table of signal names"),
    ),
    num("activity[].ai_signals.*", "", "signal units per hour", -BIG, BIG, FINITE),
    // [[policy]]
    other(
        "policy",
        "Policies. metric: a built-in name (tokens, deployments, normalized_deployments,\n\
         shipped_and_survived, dora, customer_impact, value) or { signals = {...}, per = {...}, noise, delay, window, cap }\n\
         (with `per`, the metric is the ratio of the two weighted sums: e.g. an AI-assisted share;\n\
         with `cap`, a period counts at most cap, before noise and the window: e.g. 5 days of AI use a week).\n\
         reward: none | leaderboard {top_fraction, prize, bottom_fraction, penalty} |\n\
         linear {rate} | threshold {quota, bonus}; amounts in USD per period.",
        Range::List,
    ),
    other("policy[].name", "", Range::Text),
    other("policy[].description", "", Range::Text),
    other("policy[].metric", "", Range::Map("a built-in metric name or a table")),
    other("policy[].metric.name", "", Range::Text),
    other("policy[].metric.builtin", "", Range::Choice(&BUILTIN_METRICS)),
    other("policy[].metric.signals", "", Range::Map("signal weights (e.g. { tokens = 1.0 }) or `builtin`")),
    num("policy[].metric.signals.*", "", "", -BIG, BIG, "a finite weight"),
    other("policy[].metric.per", "", Range::Map("denominator signal weights of a ratio (e.g. { deployments = 1.0 })")),
    num("policy[].metric.per.*", "", "", 0.0, BIG, "a weight >= 0 (a ratio's denominator)"),
    other("policy[].metric.noise", "", Range::Table),
    other("policy[].metric.noise.dist", "", Range::Tag(NOISES)),
    num("policy[].metric.noise.sd", "", "", 0.0, BIG_USD, NONNEG),
    int("policy[].metric.delay", "", "periods", 0, MAX_LAG as u64),
    int("policy[].metric.window", "", "periods", 1, MAX_LAG as u64),
    num(
        "policy[].metric.cap",
        "most one period counts: min(cap, value), before noise, delay and window",
        "metric units per period",
        ABOVE_ZERO,
        BIG,
        POSITIVE,
    ),
    other("policy[].reward", "", Range::Table),
    other("policy[].reward.scheme", "", Range::Tag(SCHEMES)),
    num("policy[].reward.top_fraction", "", "", 0.0, 1.0, FRACTION),
    num("policy[].reward.prize", "", "USD", 0.0, BIG_USD, NONNEG),
    num("policy[].reward.bottom_fraction", "", "", 0.0, 1.0, FRACTION),
    int(
        "policy[].reward.top_count",
        "a board of a fixed size: this many get the prize (replaces top_fraction)",
        "engineers",
        0,
        MAX_ENGINEERS as u64,
    ),
    int(
        "policy[].reward.bottom_count",
        "this many at the bottom feel the penalty (replaces bottom_fraction)",
        "engineers",
        0,
        MAX_ENGINEERS as u64,
    ),
    num("policy[].reward.penalty", "", "USD", 0.0, BIG_USD, NONNEG),
    num("policy[].reward.rate", "", "USD per metric unit", -BIG_USD, BIG_USD, FINITE),
    num("policy[].reward.quota", "", "metric units", -BIG, BIG, FINITE),
    num("policy[].reward.bonus", "", "USD", 0.0, BIG_USD, NONNEG),
    other("policy[].audit", "", Range::Table),
    num("policy[].audit.probability", "", "", 0.0, 1.0, PROBABILITY),
    num(
        "policy[].audit.changes",
        "an audit of changes: the share of changes audited (instead of probability)",
        "",
        0.0,
        1.0,
        PROBABILITY,
    ),
    num("policy[].audit.sensitivity", "", "", 0.0, 1.0, UNIT_INTERVAL),
    num("policy[].audit.penalty", "", "USD", 0.0, BIG_USD, NONNEG),
    num("policy[].token_cap", "tokens per engineer per period", "tokens per period", 0.0, 1e18, NONNEG),
    other("policy[].token_budget", "a budget over several periods that usage can shift within", Range::Table),
    num("policy[].token_budget.tokens", "tokens per engineer per block", "tokens", 0.0, 1e18, NONNEG),
    int("policy[].token_budget.periods", "periods per block (4: a month)", "periods", 1, MAX_LAG as u64),
    other("policy[].in_kind", "reward is status or a review outcome: felt, not paid in money", Range::Bool),
    other(
        "policy[].forced_ranking",
        "stack ranking: every `every` periods the bottom of the board leaves",
        Range::Table,
    ),
    int("policy[].forced_ranking.every", "periods in a review cycle", "periods", 1, MAX_PERIODS as u64),
    num("policy[].forced_ranking.bottom_fraction", "share ranked below the cut-off", "", 0.0, 1.0, FRACTION),
    num(
        "policy[].forced_ranking.leave_probability",
        "probability that an engineer below the cut-off leaves",
        "",
        0.0,
        1.0,
        PROBABILITY,
    ),
    other(
        "policy[].adapt",
        "rules that switch policy during a run: { kpi, above | below, hold, switch_to, notice }\n\
         or { after, switch_to, notice } (a rotation)",
        Range::List,
    ),
    other("policy[].adapt[].kpi", "the KPI watched each period (e.g. token_cost)", Range::Text),
    num("policy[].adapt[].above", "switch when the KPI is above this", "KPI units", -BIG, BIG, FINITE),
    num("policy[].adapt[].below", "switch when the KPI is below this", "KPI units", -BIG, BIG, FINITE),
    int("policy[].adapt[].hold", "periods in a row the condition must hold", "periods", 1, MAX_PERIODS as u64),
    int("policy[].adapt[].after", "switch once the policy has run this long", "periods", 1, MAX_PERIODS as u64),
    other("policy[].adapt[].switch_to", "another policy of the file, without a schedule", Range::Text),
    int("policy[].adapt[].notice", "periods from the decision to the switch", "periods", 0, MAX_PERIODS as u64),
    other("policy[].schedule", "", Range::List),
    int("policy[].schedule[].from", "", "", 0, u32::MAX as u64),
    other("policy[].schedule[].policy", "", Range::Text),
];

/// The pattern of a concrete path: list indices and selectors become `[]`,
/// a signal's name `*`, and so does a trait's name inside its table
/// (`policy[kirorank].metric.signals.tokens` → `policy[].metric.signals.*`,
/// `traits.skill.mean` → `traits.*.mean`; `traits.skill` stays).
pub fn pattern(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut parent = "";
    for (i, seg) in path.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        let key = seg.split('[').next().unwrap_or(seg);
        let inside_trait = i == 1 && parent == "traits" && TRAITS.contains(&key) && path.split('.').nth(2).is_some();
        if inside_trait || parent == "signals" || parent == "ai_signals" || (parent == "per" && i == 3) {
            out.push('*');
        } else {
            out.push_str(key);
            if seg.contains('[') {
                out.push_str("[]");
            }
        }
        parent = key;
    }
    out
}

/// The row of a path (concrete or a pattern).
pub fn field(path: &str) -> Option<&'static Field> {
    let p = pattern(path);
    FIELDS.iter().find(|f| f.path == p)
}

/// What `path` allows, in words (its row's [`Field::expected`]).
pub fn expected(path: &str) -> Option<String> {
    field(path).map(Field::expected)
}

/// Checks a number against its row's range; the error names `path`, the
/// value and the range.
pub fn check(path: &str, v: f64) -> Result<()> {
    match field(path) {
        Some(f @ Field { range: Range::Num { lo, hi, .. }, .. }) => {
            if v.is_finite() && v >= *lo && v <= *hi {
                Ok(())
            } else {
                Err(Error::invalid(path, v, f.expected()))
            }
        }
        _ => Err(Error::invalid(path, v, "a field with a numeric range in the schema")),
    }
}

/// Checks an integer against its row's range.
pub fn check_int(path: &str, v: u64) -> Result<()> {
    match field(path) {
        Some(f @ Field { range: Range::Int { lo, hi }, .. }) => {
            if v >= *lo && v <= *hi {
                Ok(())
            } else {
                Err(Error::invalid(path, v, f.expected()))
            }
        }
        _ => Err(Error::invalid(path, v, "a field with an integer range in the schema")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_strip_indices_traits_and_signals() {
        assert_eq!(pattern("policy[kirorank].reward.prize"), "policy[].reward.prize");
        assert_eq!(pattern("traits.skill.mean"), "traits.*.mean");
        assert_eq!(pattern("traits.skill"), "traits.skill");
        assert_eq!(pattern("traits.correlations[0].rho"), "traits.correlations[].rho");
        assert_eq!(pattern("activity[2].signals.tokens"), "activity[].signals.*");
        assert_eq!(pattern("policy[1].metric.per.deployments"), "policy[].metric.per.*");
        assert_eq!(pattern("org.engineers"), "org.engineers");
    }

    #[test]
    fn every_row_is_unique_and_every_child_has_its_parent() {
        for (i, f) in FIELDS.iter().enumerate() {
            assert!(FIELDS[..i].iter().all(|g| g.path != f.path), "{} twice", f.path);
            if let Some((parent, _)) = f.path.rsplit_once('.') {
                let parent = parent.trim_end_matches("[]");
                let parent = if parent.starts_with("traits.") && parent != "traits.correlations" {
                    "traits.skill"
                } else {
                    parent
                };
                assert!(FIELDS.iter().any(|g| g.path == parent), "{} has no parent row {parent}", f.path);
            }
            if let Range::Num { lo, hi, .. } = f.range {
                assert!(lo < hi, "{}", f.path);
            }
        }
    }

    #[test]
    fn checks_use_the_rows_range_and_words() {
        let e = check("org.incident_cost", -5.0).unwrap_err().to_string();
        assert_eq!(e, "org.incident_cost: -5 is not allowed; expected a number >= 0 (USD)");
        assert!(check("org.incident_cost", 5.0).is_ok());
        assert!(check("org.incident_cost", f64::NAN).is_err());
        assert!(check("policy[3].reward.prize", -1.0).unwrap_err().to_string().contains("policy[3].reward.prize"));
        let e = check_int("org.survival_window", 521).unwrap_err().to_string();
        assert!(e.contains("[0, 520] (periods)"), "{e}");
        // A path with no numeric row is an error, never a silent pass.
        assert!(check("org.nothing", 1.0).is_err());
    }
}
