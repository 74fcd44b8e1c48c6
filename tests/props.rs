//! Property tests of the scenario format and the engine:
//!
//! - the parser never panics, and its errors are one non-empty line;
//! - a numeric field set to any number either reads (and validates) or is
//!   rejected by an error naming that field, and what reads writes back;
//! - `set_field` (`--set`, sweeps) gives what editing the file gives;
//! - small valid scenarios run, and every KPI total is finite.
//!
//! Inputs are built from the file `write_scenario` produces for the default
//! scenario and for every preset: a small scanner finds each number in those
//! files together with its path (`org.incident_cost`, `policy[1].reward.prize`,
//! `traits.skill.sd`, ...), which is the path an error must name.

use std::sync::LazyLock;

use goodhart::io::format::{parse_scenario, set_field, write_scenario};
use goodhart::model::preset;
use goodhart::{Error, Scenario};
use proptest::prelude::*;
use proptest::sample::Index;

/// `cases` cases, and no regression files written into the source tree.
/// `PROPTEST_CASES`, when set, overrides it for longer runs.
fn config(cases: u32) -> ProptestConfig {
    let d = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() { d.cases } else { cases };
    ProptestConfig { cases, failure_persistence: None, ..d }
}

// ------------------------------------------------------------ base files

/// Files written by `write_scenario`: the default scenario, then every preset.
static BASES: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut v = vec![write_scenario(&Scenario::default())];
    for p in preset::SCENARIOS {
        let sc = preset::scenario(p.name).unwrap_or_else(|e| panic!("preset {}: {e}", p.name));
        v.push(write_scenario(&sc));
    }
    v
});

/// The numeric slots of each base file.
static BASE_SLOTS: LazyLock<Vec<Vec<Slot>>> = LazyLock::new(|| BASES.iter().map(|b| slots(b)).collect());

/// The string slots of each base file.
static BASE_STRINGS: LazyLock<Vec<Vec<Slot>>> = LazyLock::new(|| BASES.iter().map(|b| string_slots(b)).collect());

// ------------------------------------------------------------ a scanner for numbers and their paths

/// A number or string in a scenario file: its byte range (a string's
/// includes its quotes) and the path of its field.
#[derive(Debug, Clone, PartialEq)]
struct Slot {
    start: usize,
    end: usize,
    path: String,
    string: bool,
    /// Inside an inline table or array (`reward = { ... }`), where a
    /// constraint may tie it to a sibling (`top_fraction + bottom_fraction <= 1`).
    nested: bool,
}

/// Every number in `text` (one `key = value` per line, as `write_scenario`
/// writes), with its path as the library spells it in errors.
fn slots(text: &str) -> Vec<Slot> {
    all_slots(text).into_iter().filter(|s| !s.string).collect()
}

/// Every string value in `text`, with its path.
fn string_slots(text: &str) -> Vec<Slot> {
    all_slots(text).into_iter().filter(|s| s.string).collect()
}

fn all_slots(text: &str) -> Vec<Slot> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut arrays: Vec<(String, usize)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let base = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let t = body.trim_start();
        if let Some(rest) = t.strip_prefix("[[") {
            let name = rest.split("]]").next().unwrap_or("").trim().to_string();
            let n = match arrays.iter_mut().find(|(k, _)| *k == name) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    arrays.push((name.clone(), 0));
                    0
                }
            };
            section = format!("{name}[{n}]");
            continue;
        }
        if let Some(rest) = t.strip_prefix('[') {
            section = rest.split(']').next().unwrap_or("").trim().to_string();
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut s = Scanner { bytes: body.as_bytes(), pos: body.len() - t.len(), base, out: &mut out };
        let _ = s.key_value(&section, 0);
    }
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    out: &'a mut Vec<Slot>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.pos += usize::from(hit);
        hit
    }

    fn key_value(&mut self, prefix: &str, depth: usize) -> Option<()> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'-') {
            self.pos += 1;
        }
        if self.pos == start {
            return None; // quoted keys are not scanned
        }
        let key = std::str::from_utf8(&self.bytes[start..self.pos]).ok()?.to_string();
        self.ws();
        self.eat(b'=').then_some(())?;
        self.ws();
        self.value(&join(prefix, &key), depth)
    }

    fn value(&mut self, path: &str, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => {
                let start = self.pos;
                self.pos += 1;
                loop {
                    match self.peek()? {
                        b'\\' => self.pos += 2,
                        b'"' => {
                            self.pos += 1;
                            self.out.push(Slot {
                                start: self.base + start,
                                end: self.base + self.pos,
                                path: path.to_string(),
                                string: true,
                                nested: depth > 0,
                            });
                            return Some(());
                        }
                        _ => self.pos += 1,
                    }
                }
            }
            b'{' => {
                self.pos += 1;
                loop {
                    self.ws();
                    if self.eat(b'}') {
                        return Some(());
                    }
                    self.key_value(path, depth + 1)?;
                    self.ws();
                    self.eat(b',');
                }
            }
            b'[' => {
                self.pos += 1;
                for i in 0.. {
                    self.ws();
                    if self.eat(b']') {
                        break;
                    }
                    self.value(&format!("{path}[{i}]"), depth + 1)?;
                    self.ws();
                    self.eat(b',');
                }
                Some(())
            }
            _ => {
                let start = self.pos;
                while matches!(self.peek(), Some(c) if !b" \t,}]#".contains(&c)) {
                    self.pos += 1;
                }
                let tok = std::str::from_utf8(&self.bytes[start..self.pos]).ok()?;
                if number(tok).is_some() {
                    self.out.push(Slot {
                        start: self.base + start,
                        end: self.base + self.pos,
                        path: path.to_string(),
                        string: false,
                        nested: depth > 0,
                    });
                }
                (self.pos > start).then_some(())
            }
        }
    }
}

/// A TOML integer or float token as a number.
fn number(tok: &str) -> Option<f64> {
    match tok {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ if tok.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') => {
            let t = tok.replace('_', "");
            t.parse::<i64>().map(|i| i as f64).ok().or_else(|| t.parse::<f64>().ok())
        }
        _ => None,
    }
}

// ------------------------------------------------------------ values

/// A number as written into a file: a float or an integer token.
#[derive(Debug, Clone, Copy)]
enum Num {
    F(f64),
    I(i64),
}

impl Num {
    fn toml(self) -> String {
        match self {
            Num::F(f) if f.is_nan() => "nan".into(),
            Num::F(f) if f == f64::INFINITY => "inf".into(),
            Num::F(f) if f == f64::NEG_INFINITY => "-inf".into(),
            // Debug prints the shortest round-tripping form, with an exponent
            // when large or small (`1e300`, `5e-324`): valid TOML floats.
            Num::F(f) => format!("{f:?}"),
            Num::I(i) => i.to_string(),
        }
    }

    fn value(self) -> f64 {
        match self {
            Num::F(f) => f,
            Num::I(i) => i as f64,
        }
    }
}

/// The edges: NaN, infinities, signed zeros, limits of f64, i64, u32 and
/// u64, and the boundaries of the model's ranges.
fn edge_floats() -> Vec<f64> {
    vec![
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        -1.0,
        1.0,
        0.5,
        0.1,
        2.0,
        1e308,
        -1e308,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        f64::EPSILON,
        5e-324,
        1e-9,
        0.999_999_999,
        1.000_000_001,
        100.0,
        520.0,
        521.0,
        1e4,
        10_000.5,
        1e6,
        1e12,
        1e15,
        1e18,
        9.223_372_036_854_776e18, // 2^63: i64::MAX rounded up
        1.844_674_407_370_955_2e19,
        4_294_967_295.0,
        4_294_967_296.0,
        20_000_000.0,
        20_000_001.0,
    ]
}

fn edge_nums() -> Vec<Num> {
    let ints = [0, -1, 1, 4, 520, 521, 10_000, 10_001, 100_000, 100_001, 20_000_000, 20_000_001, i64::MAX, i64::MIN];
    let ints = ints.into_iter().chain([u32::MAX as i64, u32::MAX as i64 + 1]).map(Num::I);
    edge_floats().into_iter().map(Num::F).chain(ints).collect()
}

/// Any number, weighted towards the edges.
fn any_num() -> impl Strategy<Value = Num> {
    let edges = edge_floats();
    prop_oneof![
        3 => any::<f64>().prop_map(Num::F),
        3 => prop::sample::select(edges).prop_map(Num::F),
        2 => (-1e6..1e6f64).prop_map(Num::F),
        1 => (-300.0..300.0f64).prop_map(|e| Num::F(10f64.powf(e))),
        2 => prop_oneof![any::<i64>(), -10i64..1000, Just(i64::MAX), Just(i64::MIN), Just(u32::MAX as i64 + 1)]
            .prop_map(Num::I),
    ]
}

/// Numbers a modeller might plausibly write: mostly inside the model's
/// ranges, some at their edges, a few outside (those mutations are dropped).
fn plausible_num() -> impl Strategy<Value = Num> {
    let edges = vec![0.0, 1.0, 1e-9, 0.5, 0.999, 2.0, 10.0, 100.0, 520.0, 1e4, 1e6, 1e9, 1e12, 1e15, 1e18, -1.0];
    prop_oneof![
        2 => prop::sample::select(edges).prop_map(Num::F),
        2 => (0.0..1.0f64).prop_map(Num::F),
        1 => (0.0..1000.0f64).prop_map(Num::F),
        1 => (-12.0..18.0f64).prop_map(|e| Num::F(10f64.powf(e))),
        2 => (0i64..60).prop_map(Num::I),
    ]
}

/// Text for names, keys and choices: arbitrary Unicode, short strings rich in
/// line breaks, quotes and backslashes, and names the model knows.
fn any_text() -> impl Strategy<Value = String> {
    let known = vec![
        "",
        " ",
        "slack",
        "tokens",
        "tok\nens",
        "no-leaderboard",
        "kirorank",
        "a\nb",
        "\r",
        "x\r\ny",
        "leaderboard",
        "imitation",
        "normal",
        "skill",
        "\u{2028}",
        "\u{0}",
        "\u{1b}[31m",
    ];
    prop_oneof![
        2 => any::<String>(),
        2 => "[a-z_\\-\n\r\t \"\\\\]{0,10}",
        1 => prop::sample::select(known).prop_map(String::from),
    ]
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ------------------------------------------------------------ helpers

/// `text` for a failure message: itself if short, else the lines by which it
/// differs from every base file.
fn describe(text: &str) -> String {
    if text.len() <= 400 {
        return format!("{text:?}");
    }
    let known: std::collections::HashSet<&str> = BASES.iter().flat_map(|b| b.lines()).collect();
    let changed: Vec<&str> = text.lines().filter(|l| !known.contains(l)).collect();
    format!("a base file ({} bytes) with the lines {changed:?}", text.len())
}

/// The error's message, checked to be one non-empty line.
fn one_line(text: &str, e: &Error) -> Result<String, TestCaseError> {
    let msg = e.to_string();
    prop_assert!(!msg.trim().is_empty(), "empty error message for input {}", describe(text));
    prop_assert!(
        !msg.contains('\n') && !msg.contains('\r'),
        "error message is not a single line: {msg:?}\n(input: {})",
        describe(text)
    );
    Ok(msg)
}

/// Parses `text`: `Ok` must be a valid scenario, `Err` a one-line message.
fn check_parse(text: &str) -> Result<(), TestCaseError> {
    match parse_scenario(text) {
        Ok(sc) => {
            prop_assert!(sc.validate().is_ok(), "parsed but invalid: {:?}\n(input: {})", sc.validate(), describe(text))
        }
        Err(e) => {
            one_line(text, &e)?;
        }
    }
    Ok(())
}

/// `text` with the number in `slot` replaced by `n`.
fn replace(text: &str, slot: &Slot, n: Num) -> String {
    format!("{}{}{}", &text[..slot.start], n.toml(), &text[slot.end..])
}

/// Whether an error for a mutated `slot` names it. A nested field may instead
/// be reported through a sibling it is constrained with (`high >= low`,
/// `top_fraction + bottom_fraction <= 1`, `max >= min`), so the enclosing
/// table's path (`policy[1].reward`) is accepted there.
fn names_field(msg: &str, slot: &Slot) -> bool {
    if msg.contains(&slot.path) {
        return true;
    }
    slot.nested
        && slot.path.rsplit_once('.').is_some_and(|(parent, _)| {
            let parent = parent.trim_end_matches(|c: char| c.is_ascii_digit() || c == '[' || c == ']');
            msg.contains(&format!("{parent}."))
                || msg.contains(&format!("{parent}:"))
                || msg.contains(&format!("{parent}["))
        })
}

// ------------------------------------------------------------ TOML-shaped text

const KEYS: &[&str] = &[
    // top level
    "name",
    "description",
    "seed",
    "replications",
    "periods",
    "burn_in",
    "baseline",
    // [org]
    "engineers",
    "hours_per_period",
    "max_hours_per_period",
    "overtime_cost",
    "token_price_per_million",
    "incident_cost",
    "incident_share",
    "survival_window",
    "defect_detection",
    "incident_probability",
    "value_noise",
    // [traits]
    "skill",
    "ai_leverage",
    "integrity",
    "intrinsic_motivation",
    "reward_sensitivity",
    "cost_awareness",
    "never_game_fraction",
    "correlations",
    "dist",
    "mean",
    "sd",
    "low",
    "high",
    "alpha",
    "beta",
    "value",
    "min",
    "max",
    "a",
    "b",
    "rho",
    // [effort_cost]
    "form",
    "coefficient",
    "substitution",
    "exponent",
    // [[activity]]
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
    "convexity",
    "gaming",
    "skill_scaled",
    "signals",
    // [behavior]
    "model",
    "temperature",
    "belief",
    "revision_rate",
    "initial_gamers",
    "forgetting",
    "experimentation",
    "initial_propensity",
    "gamer_fraction",
    // [[policy]]
    "metric",
    "reward",
    "audit",
    "token_cap",
    "schedule",
    "builtin",
    "noise",
    "delay",
    "window",
    "scheme",
    "top_fraction",
    "prize",
    "bottom_fraction",
    "penalty",
    "rate",
    "quota",
    "bonus",
    "probability",
    "changes",
    "sensitivity",
    "from",
    "policy",
    "tokens",
    // not allowed anywhere
    "engineerz",
    "slack",
    "\"quoted key\"",
    "\"a\\nb\"",
    "\"\"",
];

const HEADERS: &[&str] = &[
    "",
    "[org]",
    "[traits]",
    "[traits.skill]",
    "[effort_cost]",
    "[behavior]",
    "[[activity]]",
    "[[policy]]",
    "[[policy.schedule]]",
    "[policy.reward]",
    "[[org]]",
    "[policy]",
    "[activity]",
    "[[traits.correlations]]",
    "[unknown]",
];

const FRAGMENTS: &[&str] = &[
    "[org]",
    "[traits]",
    "[effort_cost]",
    "[behavior]",
    "[[activity]]",
    "[[policy]]",
    "engineers = ",
    "periods = ",
    "replications = ",
    "survival_window = ",
    "name = \"x\"",
    "name = \"slack\"",
    "name = \"\"",
    "metric = \"tokens\"",
    "metric = \"tokns\"",
    "metric = { builtin = \"dora\", delay = ",
    "metric = { signals = { tokens = ",
    "noise = { dist = \"lognormal\", sd = ",
    "reward = { scheme = \"leaderboard\", top_fraction = ",
    "reward = { scheme = \"threshold\", quota = ",
    "reward = { scheme = \"linear\", rate = ",
    ", bottom_fraction = ",
    ", prize = ",
    "audit = { probability = ",
    "audit = { changes = ",
    ", changes = ",
    "token_cap = ",
    "schedule = [ { from = 0, policy = \"x\" }, { from = ",
    "baseline = \"x\"",
    "skill = { dist = \"normal\", mean = ",
    "integrity = { dist = \"uniform\", low = ",
    "cost_awareness = { dist = \"beta\", alpha = ",
    ", min = ",
    ", max = ",
    "correlations = [{ a = \"skill\", b = \"integrity\", rho = ",
    "model = \"roth-erev\"",
    "model = \"imitation\"",
    "model = \"ewa\"",
    "belief = \"fictitious\"",
    "form = \"power\"",
    "exponent = ",
    " }",
    " ]",
    "{",
    "}",
    "[",
    "]",
    ",",
    " = ",
    "\"",
    "'",
    "\"\"\"",
    "#",
    "\n",
    "\r\n",
    "\t",
    ".",
    "\\",
];

/// Value tokens: numbers (including ones TOML or the model reject),
/// strings, booleans, dates, arrays and tables.
fn value_text() -> impl Strategy<Value = String> {
    let literals = vec![
        "nan",
        "+nan",
        "-nan",
        "inf",
        "+inf",
        "-inf",
        "-1",
        "0",
        "1",
        "-0",
        "1e308",
        "-1e308",
        "1e309",
        "0.0",
        "-0.0",
        "5e-324",
        "1e-400",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "4294967296",
        "20000001",
        "520",
        "521",
        "0.5",
        "1.5",
        "0x10",
        "0o7",
        "0b1",
        "1_000",
        "01",
        "1.",
        ".5",
        "true",
        "false",
        "[]",
        "[1, 2]",
        "[{}]",
        "[[]]",
        "{}",
        "{ a = 1 }",
        "\"\"",
        "\"x\"",
        "\"tokens\"",
        "\"leaderboard\"",
        "\"normal\"",
        "\"slack\"",
        "\"a\\nb\"",
        "\"\\u0000\"",
        "'literal'",
        "1979-05-27T07:32:00Z",
        "07:32:00",
    ];
    prop_oneof![
        3 => prop::sample::select(literals).prop_map(String::from),
        2 => any_num().prop_map(Num::toml),
        1 => any::<String>().prop_map(|s| format!("{s:?}")),
        1 => "[a-z_\\-]{0,12}".prop_map(|s| format!("\"{s}\"")),
    ]
}

/// A random sequence of fragments, keys, values and separators.
fn toml_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => prop::sample::select(FRAGMENTS).prop_map(String::from),
        2 => prop::sample::select(KEYS).prop_map(|k| format!("{k} = ")),
        3 => value_text(),
    ];
    let sep = prop::sample::select(vec!["", " ", "\n", "\n", "\n\n"]);
    prop::collection::vec((piece, sep), 0..40).prop_map(|v| v.into_iter().map(|(p, s)| p + s).collect())
}

/// Well-formed TOML (mostly): sections of `key = value` lines with known keys.
fn toml_document() -> impl Strategy<Value = String> {
    let line = (prop::sample::select(KEYS), value_text()).prop_map(|(k, v)| format!("{k} = {v}\n"));
    let section = (prop::sample::select(HEADERS), prop::collection::vec(line, 0..6))
        .prop_map(|(h, lines)| format!("{h}\n{}", lines.concat()));
    prop::collection::vec(section, 0..8).prop_map(|s| s.concat())
}

/// A valid file with a few characters deleted and a fragment spliced in.
fn spliced_file() -> impl Strategy<Value = String> {
    let insert = prop_oneof![
        prop::sample::select(FRAGMENTS).prop_map(String::from),
        value_text(),
        any::<String>(),
        Just(String::new()),
    ];
    (0..BASES.len(), any::<Index>(), 0usize..8, prop::collection::vec(insert, 1..4)).prop_map(
        |(b, at, delete, inserts)| {
            let mut text = BASES[b].clone();
            for ins in inserts {
                let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
                let i = at.index(bounds.len());
                let j = (i + delete).min(bounds.len() - 1);
                text.replace_range(bounds[i]..bounds[j], &ins);
            }
            text
        },
    )
}

// ------------------------------------------------------------ (a) the parser never panics

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn parse_arbitrary_unicode_never_panics(text in any::<String>()) {
        check_parse(&text)?;
    }

    #[test]
    fn parse_toml_soup_never_panics(text in toml_soup()) {
        check_parse(&text)?;
    }

    #[test]
    fn parse_toml_documents_never_panics(text in toml_document()) {
        check_parse(&text)?;
    }

    #[test]
    fn parse_spliced_files_never_panics(text in spliced_file()) {
        check_parse(&text)?;
    }

    /// Names, choices and descriptions are echoed in errors: whatever they
    /// hold, the message stays on one line.
    #[test]
    fn string_field_set_to_any_string_never_panics(b in 0..BASES.len(), at in any::<Index>(), s in any_text()) {
        let slot = &BASE_STRINGS[b][at.index(BASE_STRINGS[b].len())];
        let text = format!("{}{}{}", &BASES[b][..slot.start], toml_string(&s), &BASES[b][slot.end..]);
        check_parse(&text)?;
    }

    /// Unknown keys are echoed in errors: whatever they hold, the message
    /// stays on one line.
    #[test]
    fn any_key_anywhere_never_panics(b in 0..BASES.len(), at in any::<Index>(), key in any_text(), v in value_text()) {
        let base = &BASES[b];
        let starts: Vec<usize> = std::iter::once(0).chain(base.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let i = starts[at.index(starts.len())];
        let text = format!("{}{} = {v}\n{}", &base[..i], toml_string(&key), &base[i..]);
        check_parse(&text)?;
    }
}

// ------------------------------------------------------------ (b) one field set to any number

/// A base file, one of its numeric slots, and a number for it.
fn mutation() -> impl Strategy<Value = (usize, Index, Num)> {
    (0..BASES.len(), any::<Index>(), any_num())
}

/// Only the `[org]` section and the top-level run settings of the default file.
fn org_mutation() -> impl Strategy<Value = (usize, Index, Num)> {
    (Just(0usize), any::<Index>(), any_num())
}

/// Property (b) for one slot of base file `b` set to `n`: the file reads and
/// validates, or the error is one line naming the field.
fn check_field(b: usize, slot: &Slot, n: Num) -> Result<(), TestCaseError> {
    let text = replace(&BASES[b], slot, n);
    match parse_scenario(&text) {
        Ok(sc) => prop_assert!(
            sc.validate().is_ok(),
            "{} = {} parsed but does not validate: {:?}",
            slot.path,
            n.toml(),
            sc.validate()
        ),
        Err(e) => {
            let msg = one_line(&text, &e)?;
            prop_assert!(
                names_field(&msg, slot),
                "{} = {} was rejected by {msg:?}, which does not name it",
                slot.path,
                n.toml()
            );
        }
    }
    Ok(())
}

/// What reads writes back: the field holds the number written, and the file
/// `write_scenario` makes of the scenario reads back to the same scenario.
fn check_round_trip(b: usize, slot: &Slot, n: Num) -> Result<(), TestCaseError> {
    let Ok(sc) = parse_scenario(&replace(&BASES[b], slot, n)) else { return Ok(()) };
    let written = write_scenario(&sc);
    let found = slots(&written).into_iter().find(|s| s.path == slot.path);
    prop_assert!(found.is_some(), "{} = {}: the written file has no {}:\n{written}", slot.path, n.toml(), slot.path);
    let found = found.unwrap();
    let tok = &written[found.start..found.end];
    prop_assert_eq!(number(tok), Some(n.value()), "{} = {} was written back as {}", slot.path, n.toml(), tok);
    match parse_scenario(&written) {
        Ok(back) => prop_assert_eq!(back, sc, "{} = {}: the written file reads back differently", slot.path, n.toml()),
        Err(e) => {
            prop_assert!(false, "{} = {} is written as {tok}, which does not read back: {e}", slot.path, n.toml())
        }
    }
    Ok(())
}

/// `set_field` on the scenario read from base file `b` gives what editing
/// the file does: the same scenario, or the same error.
fn check_set_field(b: usize, slot: &Slot, n: Num) -> Result<(), TestCaseError> {
    let sc = parse_scenario(&BASES[b]).expect("base files read");
    let edited = parse_scenario(&replace(&BASES[b], slot, n));
    let set = set_field(&sc, &slot.path, &n.toml());
    match (edited, set) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{} = {}", slot.path, n.toml()),
        (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string(), "{} = {}", slot.path, n.toml()),
        (a, b) => {
            prop_assert!(false, "{} = {}: the file gives {:?}, set_field {:?}", slot.path, n.toml(), a.err(), b.err())
        }
    }
    Ok(())
}

fn org_or_top(s: &Slot) -> bool {
    s.path.starts_with("org.") || !s.path.contains('.')
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn org_field_set_to_any_number_is_read_or_named((b, at, n) in org_mutation()) {
        let candidates: Vec<&Slot> = BASE_SLOTS[b].iter().filter(|s| org_or_top(s)).collect();
        check_field(b, candidates[at.index(candidates.len())], n)?;
    }

    #[test]
    fn any_field_set_to_any_number_is_read_or_named((b, at, n) in mutation()) {
        check_field(b, &BASE_SLOTS[b][at.index(BASE_SLOTS[b].len())], n)?;
    }

    #[test]
    fn field_set_to_any_number_round_trips((b, at, n) in mutation()) {
        check_round_trip(b, &BASE_SLOTS[b][at.index(BASE_SLOTS[b].len())], n)?;
    }

    #[test]
    fn set_field_agrees_with_editing_the_file((b, at, n) in mutation()) {
        check_set_field(b, &BASE_SLOTS[b][at.index(BASE_SLOTS[b].len())], n)?;
    }
}

/// Properties (b), round-trip and `set_field`, exhaustively: every numeric
/// field (each path once, in the smallest base file that has it) set to
/// every edge value.
/// Lists all failures.
#[test]
fn every_field_at_every_edge_is_read_or_named_and_round_trips() {
    let mut order: Vec<usize> = (0..BASES.len()).collect();
    order.sort_by_key(|&b| BASES[b].len());
    let mut seen = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for b in order {
        for slot in BASE_SLOTS[b].iter().filter(|s| seen.insert(s.path.clone())) {
            for n in edge_nums() {
                for check in [check_field, check_round_trip, check_set_field] {
                    if let Err(e) = check(b, slot, n) {
                        failures.push(format!("base {b}: {e}"));
                    }
                }
            }
        }
    }
    failures.dedup();
    assert!(
        failures.is_empty(),
        "{} failures, the first 20:\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

// ------------------------------------------------------------ (c) small valid scenarios run to finite KPIs

const MODELS: &[&str] = &["best-response", "imitation", "roth-erev", "ewa", "fixed-types"];
const FORMS: &[&str] = &["separable", "total", "mixed", "power"];
const BELIEFS: &[&str] = &["adaptive", "fictitious"];

/// `text` with the first line `key = ...` replaced by `key = "value"`.
fn set_choice(text: &str, key: &str, value: &str) -> String {
    let prefix = format!("{key} = ");
    let mut done = false;
    text.lines()
        .map(|l| {
            if !done && l.starts_with(&prefix) {
                done = true;
                format!("{key} = \"{value}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A valid scenario: a base file with its behaviour model, effort form and
/// belief rule possibly switched, then numbers mutated one at a time, each
/// kept only if the file still reads.
fn valid_scenario() -> impl Strategy<Value = (Scenario, String)> {
    (
        0..BASES.len(),
        prop::sample::select(MODELS),
        prop::sample::select(FORMS),
        prop::sample::select(BELIEFS),
        prop::collection::vec((any::<Index>(), prop_oneof![3 => plausible_num(), 1 => any_num()]), 0..8),
    )
        .prop_map(|(b, model, form, belief, muts)| {
            let mut text = BASES[b].clone();
            for (k, v) in [("model", model), ("form", form), ("belief", belief)] {
                let t = set_choice(&text, k, v);
                if parse_scenario(&t).is_ok() {
                    text = t;
                }
            }
            // Written again so that the new model's parameters are in the file.
            let mut sc = parse_scenario(&text).expect("base files read");
            text = write_scenario(&sc);
            let mut log = String::new();
            for (at, n) in muts {
                let sl = slots(&text);
                let slot = &sl[at.index(sl.len())];
                let t = replace(&text, slot, n);
                if let Ok(s) = parse_scenario(&t) {
                    log += &format!("{} = {}; ", slot.path, n.toml());
                    text = t;
                    sc = s;
                }
            }
            (sc, format!("base {b}, {model}/{form}/{belief}, {log}"))
        })
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn small_valid_scenarios_run_to_finite_kpis(
        (mut sc, how) in valid_scenario(),
        engineers in 1usize..=30,
        periods in 1u32..=4,
        replications in 1u32..=2,
    ) {
        sc.org.engineers = sc.org.engineers.min(engineers);
        // A board of a fixed size (the top 25) shrinks with the organisation.
        let half = (sc.org.engineers / 2) as u64;
        for p in &mut sc.policies {
            if let goodhart::Reward::Leaderboard { top_count, bottom_count, .. } = &mut p.reward {
                for c in [top_count, bottom_count].into_iter().flatten() {
                    *c = (*c).min(half);
                }
            }
        }
        sc.periods = sc.periods.min(periods);
        sc.replications = sc.replications.min(replications);
        sc.burn_in = sc.burn_in.min(sc.periods - 1);
        prop_assert!(sc.validate().is_ok(), "{how}: capped scenario does not validate: {:?}", sc.validate());
        let results = goodhart::run(&sc);
        prop_assert!(results.is_ok(), "{how}: run failed: {:?}", results.err());
        let results = results.unwrap();
        prop_assert_eq!(results.runs.len(), sc.policies.len());
        // Undefined values never reach the outputs.
        let summary = goodhart::io::output::summary_csv(&results);
        prop_assert!(summary.split([',', '\n']).all(|f| !matches!(f, "NaN" | "inf" | "-inf")), "{how}: {summary}");
        for (p, runs) in results.runs.iter().enumerate() {
            prop_assert_eq!(runs.len(), sc.replications as usize);
            for (r, run) in runs.iter().enumerate() {
                prop_assert_eq!(run.totals.len(), results.kpis.len());
                for (j, v) in run.totals.iter().enumerate() {
                    // A metric KPI is undefined (NaN) with no metric, or a top that is everyone.
                    let metric_kpi = goodhart::analysis::kpi::METRIC_KPIS.contains(&results.kpis[j].name.as_str());
                    prop_assert!(
                        v.is_finite() || (v.is_nan() && metric_kpi),
                        "{how}: policy {} replication {r}: KPI {} = {v}",
                        results.policies[p],
                        results.kpis[j].name
                    );
                }
            }
        }
    }
}

// ------------------------------------------------------------ the scanner itself

#[test]
fn scanner_finds_the_fields_errors_name() {
    let paths: Vec<String> = BASE_SLOTS.iter().flatten().map(|s| s.path.clone()).collect();
    for p in [
        "seed",
        "periods",
        "org.engineers",
        "org.incident_cost",
        "org.survival_window",
        "org.defect_detection",
        "traits.skill.sd",
        "traits.correlations[0].rho",
        "effort_cost.coefficient",
        "behavior.alpha",
        "activity[2].tau0",
        "policy[1].reward.top_fraction",
        "policy[1].metric.delay",
        "policy[6].audit.penalty",
        "policy[7].token_cap",
        "policy[8].schedule[1].from",
    ] {
        assert!(paths.iter().any(|q| q == p), "no slot {p} in {paths:?}");
    }
    // Each slot is a number in its file.
    for (b, sl) in BASES.iter().zip(BASE_SLOTS.iter()) {
        for s in sl {
            assert!(number(&b[s.start..s.end]).is_some(), "{s:?}");
        }
    }
}
