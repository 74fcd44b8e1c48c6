//! The scenario file format (TOML): reading with errors that name the
//! field, writing a complete, commented file that reads back to the same
//! scenario, and editing one field (`--set`, sweeps).
//!
//! The schema is not written here: a field's type, default and the
//! rejection of unknown keys come from the model types' serde derives, and
//! its meaning, unit and allowed range from its row in
//! [`crate::model::schema::FIELDS`]. This module turns serde's errors into
//! the library's (path, value, what is allowed, a "did you mean" hint),
//! applies the one rule serde cannot (the resolve step: a built-in
//! metric's delay that is the org's survival window), and lays out the
//! written file in the table's order with the table's comments.
//!
//! Every field is optional; a missing field takes its documented default.
//! A scenario's own `[[activity]]` list replaces the default engineering
//! activities, and each `[traits]` entry replaces that trait's distribution.
//! User-defined parts ([`crate::model::metric::CustomMetric`],
//! [`Reward::Custom`]) cannot be written to a file: [`try_write_scenario`]
//! refuses them, and [`set_field`] keeps them.

use std::sync::Arc;

use serde_path_to_error::Segment;
use toml::{Table, Value};

use crate::error::{Error, Result, printable};
use crate::model::metric::{CustomMetric, Metric};
use crate::model::reward::{Reward, RewardRule};
use crate::model::scenario::Scenario;
use crate::model::schema::{self, FIELDS, Field, Range};

// ---------------------------------------------------------------- reading

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
        let msg = printable(&e.message().trim().replace('\n', " "));
        match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                Error::Parse(format!("TOML syntax error at line {line}, column {col}: {msg}"))
            }
            None => Error::Parse(format!("TOML syntax error: {msg}")),
        }
    })?;
    let sc = read_document(table)?;
    sc.validate()?;
    Ok(sc)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A parsed file's tables as a scenario: deserialised (errors translated),
/// then resolved. Not yet validated.
fn read_document(mut doc: Table) -> Result<Scenario> {
    // The `[sweep]` section is the sweep's own (`analysis::sweep`).
    doc.remove("sweep");
    reject_fields_of_no_reward(&doc)?;
    reject_two_audit_forms(&doc)?;
    let builtins = builtin_metrics(&doc);
    let mut sc: Scenario = serde_path_to_error::deserialize(doc.clone())
        .map_err(|e| translate(&doc, &path_of(e.path()), e.inner().message()))?;
    resolve(&mut sc, &builtins)?;
    add_scheduled_presets(&mut sc);
    Ok(sc)
}

/// A schedule may name a built-in policy preset that the file does not
/// define (`{ from = 0, policy = "kirorank" }`): the preset is added after
/// the file's own policies, as `goodhart compare` adds the policies a
/// schedule refers to, and is compared like them. A name that is neither
/// stays for validation to report.
fn add_scheduled_presets(sc: &mut Scenario) {
    let named: Vec<String> = sc.policies.iter().flat_map(|p| p.schedule.iter().map(|s| s.policy.clone())).collect();
    if named.iter().all(|n| sc.policies.iter().any(|p| &p.name == n)) {
        return;
    }
    let presets = crate::model::preset::policies();
    for name in named {
        if !sc.policies.iter().any(|p| p.name == name) {
            if let Some(p) = presets.iter().find(|p| p.name == name) {
                sc.policies.push(p.clone());
            }
        }
    }
}

/// `reward = { scheme = "none", prize = 1 }` is an error, as for every
/// other scheme's unknown fields (serde ignores the fields of a tagged
/// table whose kind has none).
fn reject_fields_of_no_reward(doc: &Table) -> Result<()> {
    let Some(Value::Array(policies)) = doc.get("policy") else { return Ok(()) };
    for (i, p) in policies.iter().enumerate() {
        let Some(Value::Table(r)) = p.get("reward") else { continue };
        if r.get("scheme").and_then(Value::as_str) == Some("none") {
            if let Some(k) = r.keys().find(|k| *k != "scheme") {
                return Err(Error::unknown(format!("policy[{i}].reward.{k}"), "field", k, ["scheme"]));
            }
        }
    }
    Ok(())
}

/// An audit picks engineers (`probability`) or changes (`changes`): a
/// file that gives both is refused, whatever their values (the model's own
/// check sees only a non-zero probability beside `changes`).
fn reject_two_audit_forms(doc: &Table) -> Result<()> {
    let Some(Value::Array(policies)) = doc.get("policy") else { return Ok(()) };
    for (i, p) in policies.iter().enumerate() {
        let Some(Value::Table(a)) = p.get("audit") else { continue };
        if let (Some(_), Some(c)) = (a.get("probability"), a.get("changes")) {
            return Err(crate::model::policy::two_forms(&format!("policy[{i}].audit"), show(c)));
        }
    }
    Ok(())
}

/// Per policy, the built-in metric it names whose delay the file leaves to
/// the default (`metric = "shipped_and_survived"`, or a table with
/// `builtin` and no `delay`).
fn builtin_metrics(doc: &Table) -> Vec<Option<String>> {
    let Some(Value::Array(policies)) = doc.get("policy") else { return Vec::new() };
    policies
        .iter()
        .map(|p| match p.get("metric") {
            Some(Value::String(name)) => Some(name.clone()),
            Some(Value::Table(t)) if !t.contains_key("delay") => {
                t.get("builtin").and_then(Value::as_str).map(String::from)
            }
            _ => None,
        })
        .collect()
}

/// The resolve step: the rules serde cannot express, applied once after
/// reading. A built-in metric's default delay may be the org's survival
/// window (`shipped_and_survived` is known only once a change has survived
/// it), which the policy's own deserialiser cannot see.
fn resolve(sc: &mut Scenario, builtins: &[Option<String>]) -> Result<()> {
    let window = sc.org.survival_window;
    for (p, name) in sc.policies.iter_mut().zip(builtins) {
        if let (Some(m), Some(name)) = (p.metric.as_mut(), name) {
            m.delay = Metric::builtin(name, window)?.delay;
        }
    }
    Ok(())
}

/// A serde path as the library spells it: `policy[2].reward.prize`.
fn path_of(p: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for seg in p.iter() {
        match seg {
            Segment::Seq { index } => out += &format!("[{index}]"),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out += key;
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// The name serde quotes first in `rest` (after the opening backtick), and
/// the names it lists as expected.
fn quoted(rest: &str) -> (&str, Vec<&str>) {
    let end = rest.find("`, ").or_else(|| rest.rfind('`')).unwrap_or(rest.len());
    let (name, tail) = rest.split_at(end);
    let allowed = tail.get(1..).unwrap_or("").split('`').skip(1).step_by(2).collect();
    (name, allowed)
}

/// A value as the library's errors show it.
fn show(v: &Value) -> String {
    match v {
        Value::Table(_) => "a table".into(),
        Value::Array(_) => "an array".into(),
        other => other.to_string(),
    }
}

/// A value as serde describes it (`string "ten"`, `integer `-1``,
/// `floating point `1.5``, `map`) in the words the library's errors use.
fn shown(desc: &str) -> String {
    if let Some(s) = desc.strip_prefix("string ") {
        return s.to_string();
    }
    for prefix in ["integer `", "floating point `", "boolean `"] {
        if let Some(v) = desc.strip_prefix(prefix) {
            return v.trim_end_matches('`').to_string();
        }
    }
    match desc {
        "map" => "a table".into(),
        "sequence" => "an array".into(),
        other => other.to_string(),
    }
}

/// The value at `path` (`policy[1].reward`) in `doc`.
fn value_at<'a>(doc: &'a Table, path: &str) -> Option<&'a Value> {
    let mut table = Some(doc);
    let mut found = None;
    for seg in path.split('.') {
        let (key, index) = match seg.split_once('[') {
            Some((k, i)) => (k, Some(i.trim_end_matches(']').parse::<usize>().ok()?)),
            None => (seg, None),
        };
        let v = table?.get(key)?;
        let v = match index {
            Some(i) => v.as_array()?.get(i)?,
            None => v,
        };
        found = Some(v);
        table = v.as_table();
    }
    found
}

/// The table at `path` in `doc`.
fn table_at<'a>(doc: &'a Table, path: &str) -> Option<&'a Table> {
    value_at(doc, path)?.as_table()
}

/// The first part of `path` that indexes a list where the schema has a
/// table (`[[org]]`): serde reads a struct from a list, element by element.
fn misplaced_list(path: &str) -> Option<String> {
    let mut at = String::new();
    for seg in path.split('.') {
        let key = seg.split('[').next().unwrap_or(seg);
        at = join(&at, key);
        if seg.contains('[') && matches!(schema::field(&at), Some(Field { range: Range::Table, .. })) {
            return Some(at);
        }
        if seg.contains('[') {
            at.push_str(&seg[key.len()..]);
        }
    }
    None
}

/// A serde error at `path` as the library's error: unknown keys and names
/// with a suggestion, missing and mistyped values with what the field's
/// row allows. `doc` is the document read, to find the field inside a
/// tagged table (serde reports a mistyped parameter of a `reward`, `noise`
/// or distribution at the table).
fn translate(doc: &Table, path: &str, msg: &str) -> Error {
    if let Some(at) = misplaced_list(path) {
        return Error::invalid(at, "an array", "a table");
    }
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (name, allowed) = quoted(rest);
        // A struct's path already ends at the key; a tagged table's does not.
        let at = if path.rsplit('.').next() == Some(name) { path.to_string() } else { join(path, name) };
        // A section's field written at the top level (`engineers = 50`):
        // say which section it belongs to.
        if !at.contains(['.', '[']) {
            let home = FIELDS
                .iter()
                .map(|f| f.path)
                .find(|p| p.split_once('.').is_some_and(|(section, rest)| rest == name && !section.contains('[')));
            if let Some(home) = home {
                let section = home.split_once('.').map_or(home, |s| s.0);
                return Error::UnknownName {
                    path: printable(&at),
                    kind: "field",
                    name: printable(name),
                    hint: format!(" at the top level; it belongs in the [{section}] table as {home}"),
                };
            }
        }
        return Error::unknown(at, "field", name, allowed);
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let (name, allowed) = quoted(rest);
        // A tagged table's kind is reported at its tag (`reward.scheme`).
        let at = ["scheme", "dist"]
            .iter()
            .map(|tag| join(path, tag))
            .find(|p| matches!(schema::field(p), Some(Field { range: Range::Tag(_), .. })))
            .unwrap_or_else(|| path.to_string());
        let kind = schema::field(&at).map_or("value", Field::kind);
        return Error::unknown(at, kind, name, allowed);
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let at = join(path, rest.trim_end_matches('`'));
        let expected = schema::expected(&at).unwrap_or_else(|| "a value".into());
        return Error::invalid(at, "nothing", expected);
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some((got, want)) = msg.strip_prefix(prefix).and_then(|r| r.split_once(", expected ")) {
            // Inside a tagged table every parameter is a number: name the first that is not.
            let tagged = ["scheme", "dist"].iter().any(|tag| schema::field(&join(path, tag)).is_some());
            let inner = table_at(doc, path).filter(|_| tagged).and_then(|t| {
                let number = |v: &Value| v.is_float() || v.is_integer();
                t.iter().find(|(k, v)| !["scheme", "dist"].contains(&k.as_str()) && !number(v))
            });
            if let Some((k, v)) = inner {
                let at = join(path, k);
                let expected = schema::expected(&at).unwrap_or_else(|| "a number".into());
                return Error::invalid(at, show(v), expected);
            }
            let expected = schema::expected(path).unwrap_or_else(|| want.to_string());
            let value = value_at(doc, path).map_or_else(|| shown(got), show);
            return Error::invalid(path, value, expected);
        }
    }
    Error::Parse(printable(&format!("{path}: {}", msg.trim().replace('\n', " "))))
}

// ---------------------------------------------------------------- writing

/// A float as TOML reads it back exactly: shortest round-trip digits, with a
/// decimal point or an exponent so that it never parses as an integer.
fn num(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else if x != 0.0 && (x.abs() >= 1e15 || x.abs() < 1e-5) {
        format!("{x:e}")
    } else if x.fract() == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn bare_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        k.to_string()
    } else {
        quote(k)
    }
}

/// The keys of the table at `path` in the schema's order (keys the schema
/// does not list, such as signal names, after them in the table's order).
fn ordered<'a>(table: &'a Table, path: &str) -> Vec<(&'a str, &'a Value)> {
    // The children's pattern: `traits.skill` has children `traits.*.mean`.
    let child = schema::pattern(&join(path, "_"));
    let prefix = &child[..child.len() - 1];
    let mut out: Vec<(&str, &Value)> = FIELDS
        .iter()
        .filter_map(|f| f.path.strip_prefix(prefix))
        .filter(|k| !k.contains('.'))
        .filter_map(|k| table.get_key_value(k.trim_end_matches("[]")))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    // The rest in the table's order; a set keeps this linear in the keys.
    let placed: std::collections::HashSet<&str> = out.iter().map(|(k, _)| *k).collect();
    let rest: Vec<(&str, &Value)> =
        table.iter().filter(|(k, _)| !placed.contains(k.as_str())).map(|(k, v)| (k.as_str(), v)).collect();
    out.extend(rest);
    out
}

/// A value (of the field at `path`) as one line of TOML; inline tables
/// list their keys in schema order.
fn inline(v: &Value, path: &str) -> String {
    match v {
        Value::Float(x) => num(*x),
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|i| inline(i, &format!("{path}[]"))).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Table(t) if t.is_empty() => "{}".into(),
        Value::Table(t) => {
            let parts: Vec<String> = ordered(t, path)
                .into_iter()
                .map(|(k, v)| format!("{} = {}", bare_key(k), inline(v, &join(path, k))))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// The comment after a field: its meaning, then what it allows.
fn comment(f: &Field) -> String {
    let allowed = match f.range {
        Range::Int { .. } | Range::Num { .. } | Range::Choice(_) => f.expected(),
        _ => String::new(),
    };
    match (f.doc.is_empty(), allowed.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("  # {}", f.doc),
        (true, false) => format!("  # {allowed}"),
        (false, false) => format!("  # {}; {allowed}", f.doc),
    }
}

/// Whether a field's line gets its default in a written file: a number's
/// or a choice's.
fn has_default(f: &&Field) -> bool {
    matches!(f.range, Range::Int { .. } | Range::Num { .. } | Range::Choice(_))
}

/// `doc` as it reads when the lines whose row satisfies `which` are deleted
/// from every section and list element: those fields' defaults, taken from
/// the model's own, so that no default is written twice.
fn defaults(doc: &Table, which: impl Fn(&Range) -> bool) -> Option<Table> {
    let strip = |t: &mut Table, path: &str| {
        t.retain(|k, _| !schema::field(&join(path, k)).is_some_and(|f| which(&f.range)));
    };
    let mut without = doc.clone();
    strip(&mut without, "");
    for (k, v) in without.iter_mut() {
        match v {
            Value::Table(t) => strip(t, k),
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Value::Table(t) = item {
                        strip(t, &format!("{k}[{i}]"));
                    }
                }
            }
            _ => {}
        }
    }
    document(&read_document(without).ok()?).ok()
}

/// The defaults of a document's numbers and of its choices (read apart:
/// a choice such as `model` decides which numbers exist).
struct Defaults {
    numbers: Option<Table>,
    choices: Option<Table>,
}

impl Defaults {
    fn of(doc: &Table) -> Self {
        Defaults {
            numbers: defaults(doc, |r| matches!(r, Range::Int { .. } | Range::Num { .. })),
            choices: defaults(doc, |r| matches!(r, Range::Choice(_))),
        }
    }

    fn get(&self, f: &Field, path: &str) -> Option<&Value> {
        let doc = if matches!(f.range, Range::Choice(_)) { &self.choices } else { &self.numbers };
        value_at(doc.as_ref()?, path)
    }
}

/// Writes the fields of `table` (at `path`, e.g. `policy[1]`) one per
/// line, each with its comment, and its default where the value is not the
/// default.
fn write_fields(w: &mut String, defaults: &Defaults, table: &Table, path: &str) {
    for (k, v) in ordered(table, path) {
        let at = join(path, k);
        let field = schema::field(&at);
        if path.is_empty() && matches!(field, Some(Field { range: Range::Table | Range::List, .. })) {
            continue;
        }
        let mut note = field.map(comment).unwrap_or_default();
        if let Some(d) = field.filter(has_default).and_then(|f| defaults.get(f, &at)) {
            if d != v {
                note += &format!("; default {}", inline(d, &at));
            }
        }
        w.push_str(&format!("{} = {}{note}\n", bare_key(k), inline(v, &at)));
    }
}

fn write_doc_comment(w: &mut String, f: &Field) {
    for l in f.doc.lines() {
        w.push_str(&format!("# {l}\n"));
    }
}

/// The user-defined parts of a scenario, which no file can hold: per
/// policy index, its custom reward rule and its metric's custom observation.
type Customs = Vec<(usize, Option<Arc<dyn RewardRule>>, Option<Arc<dyn CustomMetric>>)>;

/// `sc` without its user-defined parts (a custom reward becomes `none`),
/// and those parts.
fn split_custom(sc: &Scenario) -> (Scenario, Customs) {
    let mut plain = sc.clone();
    let mut customs = Vec::new();
    for (i, p) in plain.policies.iter_mut().enumerate() {
        let reward = match &p.reward {
            Reward::Custom(r) => Some(r.clone()),
            _ => None,
        };
        let metric = p.metric.as_mut().and_then(|m| m.custom.take());
        if reward.is_some() || metric.is_some() {
            if reward.is_some() {
                p.reward = Reward::None;
            }
            customs.push((i, reward, metric));
        }
    }
    (plain, customs)
}

/// The scenario as TOML tables, in the file's shape.
fn document(sc: &Scenario) -> Result<Table> {
    Table::try_from(sc).map_err(|e| Error::Parse(format!("the scenario cannot be written as TOML: {e}")))
}

/// Writes a complete scenario file: every field, with a comment giving its
/// meaning, unit and allowed range (from [`crate::model::schema::FIELDS`]).
/// Reading it back gives the same scenario. A user-defined metric
/// observation or reward rule cannot be written: the error names it.
///
/// ```
/// let sc = goodhart::model::preset::scenario("story")?;
/// let text = goodhart::io::format::try_write_scenario(&sc)?;
/// assert_eq!(goodhart::parse_scenario(&text)?, sc);
/// # Ok::<(), goodhart::Error>(())
/// ```
pub fn try_write_scenario(sc: &Scenario) -> Result<String> {
    let (plain, customs) = split_custom(sc);
    if let Some((i, reward, _)) = customs.first() {
        let (path, what) = match reward {
            Some(_) => (format!("policy[{i}].reward"), "a user-defined reward rule (Reward::Custom)"),
            None => (format!("policy[{i}].metric"), "a user-defined observation (CustomMetric)"),
        };
        return Err(Error::invalid(path, what, "a part a scenario file can hold: a file cannot carry code"));
    }
    render(&plain, &customs)
}

/// Writes a scenario file like [`try_write_scenario`]; a user-defined
/// metric observation or reward rule, which no file can hold, is named in a
/// comment where it would be (the file runs without it: use
/// [`try_write_scenario`] where that must be an error).
pub fn write_scenario(sc: &Scenario) -> String {
    let (plain, customs) = split_custom(sc);
    render(&plain, &customs).unwrap_or_else(|e| format!("# {e}\n"))
}

fn render(sc: &Scenario, customs: &Customs) -> Result<String> {
    let doc = document(sc)?;
    let defaults = Defaults::of(&doc);
    let mut w = String::new();
    w.push_str("# goodhart scenario file. Every field is shown with its value; delete a field to use its default.\n");
    write_fields(&mut w, &defaults, &doc, "");
    for section in FIELDS.iter().filter(|f| !f.path.contains('.')) {
        match (section.range, doc.get(section.path)) {
            (Range::Table, Some(Value::Table(t))) => {
                w.push('\n');
                write_doc_comment(&mut w, section);
                w.push_str(&format!("[{}]\n", section.path));
                write_fields(&mut w, &defaults, t, section.path);
            }
            (Range::List, Some(Value::Array(items))) => {
                w.push('\n');
                write_doc_comment(&mut w, section);
                for (i, item) in items.iter().enumerate() {
                    if section.path == "policy" {
                        w.push('\n');
                    }
                    w.push_str(&format!("[[{}]]\n", section.path));
                    let at = format!("{}[{i}]", section.path);
                    if let Value::Table(t) = item {
                        write_fields(&mut w, &defaults, t, &at);
                    }
                    if section.path == "policy" {
                        if let Some((_, reward, metric)) = customs.iter().find(|c| c.0 == i) {
                            if reward.is_some() {
                                w.push_str(
                                    "# reward: a user-defined rule (Reward::Custom), which a file cannot hold\n",
                                );
                            }
                            if metric.is_some() {
                                w.push_str(
                                    "# metric: its user-defined observation (CustomMetric), which a file cannot hold\n",
                                );
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(w)
}

/// The optional parts a scenario file can add, commented out, each with
/// what it means and allows (from [`FIELDS`]): a policy's audit, token
/// budget and schedule, the metric signals (the built-in ones and those
/// `sc`'s activities add), and a `[sweep]` section.
/// `goodhart init` prints it after the scenario, so that every field is
/// shown even when the preset does not use it.
pub fn optional_parts(sc: &Scenario) -> String {
    let allows = |path: &str| schema::field(path).map_or(String::new(), |f| f.expected());
    let signals = sc.signals();
    format!(
        "\n# ---- Optional parts, commented out: uncomment and edit to use them.\n\
         # In a [[policy]] table:\n\
         # audit = {{ probability = 0.1, sensitivity = 1.0, penalty = 10000 }}\n\
         #   probability: that an engineer is audited in a week; {}\n\
         #   sensitivity: an audit detects gaming with probability sensitivity x gaming hours / contract hours;\n\
         #     1 finds a full week of gaming for sure, 0.5 half the time; {}\n\
         #   penalty: felt by an engineer caught (USD-equivalent); {}\n\
         #   or audit changes rather than engineers: audit = {{ changes = 0.1, sensitivity = 0.8, penalty = 2000 }}\n\
         #   changes: the share of changes audited, instead of probability; {}; an audited change from a gaming\n\
         #     activity is caught with probability sensitivity, and each change caught costs penalty; gaming that\n\
         #     ships no changes (burning tokens, inflating claims) is never caught\n\
         # token_cap = 25000000  # most tokens per engineer per week: plans stay within it; {}\n\
         # token_budget = {{ tokens = 60000000, periods = 4 }}  # a monthly budget: each week, what the month left of it\n\
         # in_kind = true  # the reward is status, a badge or a review mark: felt like money, paid by nobody\n\
         # reward = {{ scheme = \"leaderboard\", top_count = 250, prize = 1000 }}  # a board of a fixed size:\n\
         #   top_count (and bottom_count) engineers rather than top_fraction; {}\n\
         # forced_ranking = {{ every = 26, bottom_fraction = 0.1, leave_probability = 1.0 }}  # stack ranking:\n\
         #   every `every` weeks the bottom of the board leaves and a hire takes each place (see [turnover])\n\
         # adapt = [ {{ kpi = \"token_cost\", above = 150000, hold = 2, switch_to = \"token-budget\", notice = 1 }} ]\n\
         #   switch policy during a run once a KPI of the week has been above (or below) a value for `hold`\n\
         #   weeks, `notice` weeks after deciding; {{ after = 13, switch_to = \"...\" }} switches after 13 weeks (a rotation)\n\
         # schedule = [ {{ from = 0, policy = \"kirorank\" }}, {{ from = 26, policy = \"normalized-deployments\" }} ]\n\
         #   from week `from` (periods count from 0) follow another policy of this file or a built-in policy\n\
         #   preset (`goodhart presets`; it is then added and compared too)\n\
         # A custom metric: metric = {{ signals = {{ deployments = 1.0, failed_changes = -3.0 }} }}, from the signals\n\
         #   {}\n\
         # A capped metric: metric = {{ signals = {{ deployments = 1.0 }}, cap = 5 }}: a week counts at most cap,\n\
         #   min(cap, value), before noise, delay and window (a piece rate on up to 5 changes a week); {}\n\
         #\n\
         # Turnover (a section of its own): engineers leave and hires replace them.\n\
         # [turnover]\n\
         # base_rate = 0.0015        # leaving for reasons outside the model, per week; {}\n\
         # quit_probability = 0.2    # per week, once the job is worth less than the outside option\n\
         # switching_cost = 500      # USD-eq a week the job may worsen before leaving pays (skill 1)\n\
         # skill_premium = 250       # USD-eq a week the outside option rises per unit of skill\n\
         # copy_share = 0.0          # share of hires copying how someone above the cut-off plays the game\n\
         # ramp_periods = 13         # weeks to full productivity, from ramp_start = 0.5 of it\n\
         # hiring_cost = 30000       # USD per hire, off net_value\n\
         #\n\
         # Who engineers see (a section of its own): imitation among neighbours, norms that erode.\n\
         # [social]\n\
         # structure = \"teams\"      # or \"everyone\" (the default without this section) or \"small-world\"\n\
         # size = 8                 # engineers per team, or ties per engineer (even) in a small world\n\
         # rewire = 0.1             # small world: share of ties redrawn at random\n\
         # norm_erosion = 0.05      # per week: integrity drifts to (1 - share of neighbours who game) x own\n\
         #\n\
         # A sweep (goodhart sweep FILE): what the organisation might be like, and what the policy might do.\n\
         # [sweep]\n\
         # seed = 1\n\
         # [sweep.uncertainties]\n\
         # design = \"latin-hypercube\"  # or \"factorial\"\n\
         # samples = 20\n\
         # \"traits.integrity.mean\" = {{ from = 20, to = 150 }}\n\
         # [sweep.levers]\n\
         # \"policy[kirorank].reward.prize\" = [500, 3000]\n",
        allows("policy[].audit.probability"),
        allows("policy[].audit.sensitivity"),
        allows("policy[].audit.penalty"),
        allows("policy[].audit.changes"),
        allows("policy[].token_cap"),
        allows("policy[].reward.top_count"),
        signals.join(", "),
        allows("policy[].metric.cap"),
        allows("turnover.base_rate"),
    )
}

// ---------------------------------------------------------------- editing

/// Sets one field of a scenario by its path, as a sweep or `--set` names it:
/// `org.engineers`, `policy[kirorank].reward.prize`, `traits.integrity.mean`,
/// `activity[0].defect_rate`. A `[selector]` picks an element of a list by
/// index or by its `name`. `value` is TOML (`3000`, `0.5`, `"text"`,
/// `{ dist = "constant", value = 1 }`); anything that is not TOML is taken
/// as a string. The value is read as the field's type and the result is
/// validated, with the errors a file gets.
///
/// The edit is made on the scenario's fields, not on a written file, so
/// user-defined parts survive it: a policy's custom reward rule and its
/// metric's custom observation are kept unless the path replaces them
/// (`policy[k].reward`, `policy[k].metric`); a path into a custom rule's
/// parameters is an error, since it has none a file can name.
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
    let (plain, customs) = split_custom(sc);
    let mut root = document(&plain)?;
    // The policy the path edits, if any, and the rest of the path within it.
    let mut edited: Option<(usize, String)> = None;
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
        // An optional section the file leaves out (`[turnover]`, a
        // policy's `audit`) starts empty, with its defaults.
        if selector.is_none()
            && !table.contains_key(key)
            && schema::field(&here).is_some_and(|f| f.range == Range::Table)
        {
            table.insert(key.to_string(), Value::Table(Table::new()));
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
                if i == 0 && key == "policy" {
                    let rest = segments[1..].join(".");
                    if rest.starts_with("reward.") && customs.iter().any(|c| c.0 == idx && c.1.is_some()) {
                        return Err(Error::invalid(
                            path,
                            value,
                            format!(
                                "no such field: policy[{idx}].reward is a user-defined rule (Reward::Custom), \
                                 with no fields a path can name; set policy[{idx}].reward to replace it"
                            ),
                        ));
                    }
                    edited = Some((idx, rest));
                }
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
    let mut out = read_document(root)?;
    for (i, reward, metric) in customs {
        let rest = edited.as_ref().filter(|(k, _)| *k == i).map(|(_, r)| r.as_str());
        if let Some(r) = reward.filter(|_| rest != Some("reward")) {
            out.policies[i].reward = Reward::Custom(r);
        }
        if let (Some(c), Some(m)) = (metric, out.policies[i].metric.as_mut()) {
            if rest != Some("metric") {
                m.custom = Some(c);
            }
        }
    }
    out.validate()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behavior::Model;
    use crate::model::dist::{Dist, TraitDist};
    use crate::model::metric::Noise;
    use crate::model::policy::{Audit, Policy};
    use crate::model::reward::RewardRule;

    /// A reward rule no file can hold: pays `amount` to everyone.
    #[derive(Debug)]
    struct Flat(f64);

    impl RewardRule for Flat {
        fn payouts(&self, _published: &[f64], out: &mut [f64]) {
            out.fill(self.0);
        }
        fn expected(&self, _m: f64, _board: &[f64], _noise: Noise) -> f64 {
            self.0
        }
        fn max_slope(&self, _board: &[f64], _noise: Noise) -> f64 {
            0.0
        }
    }

    /// A metric observation no file can hold: the square of tokens.
    #[derive(Debug)]
    struct Squared;

    impl CustomMetric for Squared {
        fn signals(&self) -> Vec<String> {
            vec!["tokens".into()]
        }
        fn observe(&self, values: &[f64]) -> f64 {
            values[0] * values[0]
        }
    }

    /// The story with a custom reward on `kirorank` and a custom metric
    /// observation on `raw-deployments`.
    fn custom_story() -> (Scenario, Arc<dyn RewardRule>, Arc<dyn CustomMetric>) {
        let mut sc = crate::model::preset::scenario("story").unwrap();
        let rule: Arc<dyn RewardRule> = Arc::new(Flat(10.0));
        let obs: Arc<dyn CustomMetric> = Arc::new(Squared);
        let k = sc.policies.iter().position(|p| p.name == "kirorank").unwrap();
        sc.policies[k].reward = Reward::Custom(rule.clone());
        let r = sc.policies.iter().position(|p| p.name == "raw-deployments").unwrap();
        sc.policies[r].metric.as_mut().unwrap().custom = Some(obs.clone());
        sc.validate().unwrap();
        (sc, rule, obs)
    }

    fn reward_of<'a>(sc: &'a Scenario, name: &str) -> &'a Reward {
        &sc.policies.iter().find(|p| p.name == name).unwrap().reward
    }

    fn custom_of(sc: &Scenario, name: &str) -> Option<Arc<dyn CustomMetric>> {
        sc.policies.iter().find(|p| p.name == name).unwrap().metric.as_ref().unwrap().custom.clone()
    }

    #[test]
    fn set_field_starts_an_absent_optional_section_from_its_defaults() {
        let story = crate::model::preset::scenario("story").unwrap();
        assert!(story.turnover.is_none() && story.policies[1].audit.is_none());
        let out = set_field(&story, "turnover.base_rate", "0.05").unwrap();
        let want = crate::model::turnover::Turnover { base_rate: 0.05, ..Default::default() };
        assert_eq!(out.turnover, Some(want));
        let out = set_field(&story, "social.norm_erosion", "0.1").unwrap();
        assert_eq!(out.social.map(|s| s.norm_erosion), Some(0.1));
        let out = set_field(&story, "policy[kirorank].audit.probability", "0.3").unwrap();
        let want = crate::model::policy::Audit { probability: 0.3, ..Default::default() };
        assert_eq!(out.policies[1].audit, Some(want));
        // Not a section: still unknown.
        let e = set_field(&story, "turnoverz.base_rate", "0.05").unwrap_err().to_string();
        assert!(e.starts_with("turnoverz: unknown field"), "{e}");
    }

    #[test]
    fn set_field_keeps_user_defined_parts() {
        let (sc, rule, obs) = custom_story();
        for (path, value) in [
            ("org.engineers", "50"),
            ("policy[kirorank].description", "\"paid for nothing\""),
            ("policy[kirorank].token_cap", "1e7"),
            ("policy[raw-deployments].metric.delay", "2"),
            ("policy[raw-deployments].metric.noise.sd", "0.5"),
            ("policy[raw-deployments].reward.prize", "10"),
            ("behavior.model", "imitation"),
        ] {
            let out = set_field(&sc, path, value).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(
                matches!(reward_of(&out, "kirorank"), Reward::Custom(r) if Arc::ptr_eq(r, &rule)),
                "{path}: the custom reward was lost"
            );
            assert!(
                custom_of(&out, "raw-deployments").is_some_and(|c| Arc::ptr_eq(&c, &obs)),
                "{path}: the custom metric was lost"
            );
        }
        // The edit itself happened.
        let out = set_field(&sc, "policy[raw-deployments].metric.delay", "2").unwrap();
        assert_eq!(
            out.policies.iter().find(|p| p.name == "raw-deployments").unwrap().metric.as_ref().unwrap().delay,
            2
        );
    }

    /// A scenario in which `path` (a row's pattern, `[]` as `[0]`) is a
    /// field in use: the story, or the default scenario with another
    /// behaviour model or effort form.
    fn base_with(path: &str) -> Option<(Scenario, String)> {
        // policy[1] is kirorank, which has a metric and a leaderboard.
        let concrete = path.replace("policy[]", "policy[1]").replace("[]", "[0]").replace('*', "skill");
        let story = crate::model::preset::scenario("story").unwrap();
        let mut bases = vec![story.clone()];
        for (k, v) in [
            ("behavior.model", "\"imitation\""),
            ("behavior.model", "\"roth-erev\""),
            ("behavior.model", "\"ewa\""),
            ("behavior.model", "\"fixed-types\""),
            ("behavior.model", "\"hill-climb\""),
            ("effort_cost.form", "\"power\""),
            ("policy[1].audit", "{}"),
            ("policy[1].audit", "{ changes = 0.1 }"),
            ("policy[1].token_cap", "1e6"),
            ("policy[1].token_budget", "{}"),
            ("policy[1].reward", "{ scheme = \"linear\" }"),
            ("policy[1].reward", "{ scheme = \"threshold\" }"),
            ("policy[1].reward", "{ scheme = \"leaderboard\", top_count = 5, bottom_count = 5 }"),
            ("policy[1].metric.noise", "{ dist = \"normal\" }"),
            ("policy[1].metric.cap", "5"),
            ("turnover", "{}"),
            ("activity[0].ai_review_factor", "0.5"),
            ("activity[0].ai_defect_factor", "0.5"),
            ("activity[0].ai_size_factor", "0.5"),
            ("activity[0].ai_value_factor", "-0.5"),
            ("org.review_capacity", "8"),
            ("social", "{}"),
            (
                "policy[1].adapt",
                "[{ kpi = \"token_cost\", above = 1e6, hold = 1, notice = 0, switch_to = \"no-leaderboard\" }]",
            ),
            ("policy[1].adapt", "[{ kpi = \"token_cost\", below = 0, switch_to = \"no-leaderboard\" }]"),
            ("policy[1].adapt", "[{ after = 2, switch_to = \"no-leaderboard\" }]"),
            ("policy[1].forced_ranking", "{}"),
        ] {
            bases.push(set_field(&story, k, v).unwrap_or_else(|e| panic!("{k}: {e}")));
        }

        bases.into_iter().find_map(|b| {
            let doc = document(&b).unwrap();
            let (parent, key) = concrete.rsplit_once('.').unwrap_or(("", &concrete));
            let present =
                if parent.is_empty() { doc.contains_key(key) } else { table_at(&doc, parent)?.contains_key(key) };
            present.then_some((b, concrete.clone()))
        })
    }

    /// The table is what validation enforces: every numeric row's range is
    /// checked, just outside it is rejected with the row's words, and its
    /// ends are accepted (where no sibling constrains them).
    #[test]
    fn every_numeric_row_is_the_range_validation_enforces() {
        // Ends a sibling also constrains: top_fraction + bottom_fraction <= 1.
        let coupled = [
            "policy[].reward.top_fraction",
            "policy[].reward.bottom_fraction",
            // The week's limit must be at least the contract hours.
            "org.hours_per_period",
            "org.max_hours_per_period",
            // A fixed-size board's counts must fit org.engineers together.
            "policy[].reward.top_count",
            "policy[].reward.bottom_count",
            // The defect rate it raises must stay a probability.
            "activity[].ai_defect_factor",
            // Only with a review capacity.
            "org.review_miss",
        ];
        let (mut checked, mut skipped) = (0, 0);
        for f in FIELDS {
            // (an end, just outside it) as value texts, for the low and the high end.
            let ends: Vec<(String, Option<String>)> = match f.range {
                Range::Num { lo, hi, .. } => {
                    let d = |x: f64| (x.abs() * 1e-6).max(1e-12);
                    vec![
                        (format!("{lo:e}"), Some(format!("{:e}", lo - d(lo)))),
                        (format!("{hi:e}"), Some(format!("{:e}", hi + d(hi)))),
                    ]
                }
                // Below zero is a type error, tested elsewhere; above i64 is not TOML.
                Range::Int { lo, hi } => vec![
                    (lo.to_string(), lo.checked_sub(1).map(|x| x.to_string())),
                    (hi.to_string(), (hi < i64::MAX as u64).then(|| (hi + 1).to_string())),
                ],
                _ => continue,
            };
            // Signal weights have no slot in the bases; burn_in and a stage's
            // start are checked against their neighbours (periods, the previous stage).
            if f.path.contains('*') || ["burn_in", "policy[].schedule[].from"].contains(&f.path) {
                skipped += 1;
                continue;
            }
            let (sc, path) = base_with(f.path).unwrap_or_else(|| panic!("{}: no base scenario uses it", f.path));
            for (end, outside) in ends {
                if let Some(y) = outside {
                    match set_field(&sc, &path, &y) {
                        Ok(_) => panic!("{path} = {y} was accepted outside {}", f.expected()),
                        Err(e) => {
                            let e = e.to_string();
                            assert!(
                                e.starts_with(&format!("{path}:")) && e.contains(&f.expected()),
                                "{path} = {y}: {e}"
                            );
                        }
                    }
                }
                if !coupled.contains(&f.path) {
                    set_field(&sc, &path, &end).unwrap_or_else(|e| panic!("{path} = {end}: {e}"));
                }
            }
            checked += 1;
        }
        assert!(skipped <= 6 && checked > 40, "{checked} rows checked, {skipped} skipped");
    }

    /// The table's lists of choices are the names serde accepts: each reads,
    /// and a wrong one is refused with exactly that list.
    #[test]
    fn every_choice_row_lists_the_names_serde_accepts() {
        let mut checked = 0;
        for f in FIELDS {
            let (Range::Choice(names) | Range::Tag(names)) = f.range else { continue };
            let Some((sc, path)) = base_with(f.path) else {
                assert_eq!(f.path, "policy[].metric.builtin", "no base scenario uses {}", f.path);
                continue;
            };
            let e = set_field(&sc, &path, "\"zzzz\"").unwrap_err().to_string();
            assert!(e.ends_with(&format!("expected one of: {}", names.join(", "))), "{path}: {e}");
            for name in names {
                let v = format!("{name:?}");
                // A tag alone may leave required siblings (a reward's metric) or
                // constraints between them; reading the name must not fail on it.
                if let Err(e) = set_field(&sc, &path, &v) {
                    assert!(!e.to_string().contains(&format!("`{name}`")), "{path} = {v}: {e}");
                }
            }
            checked += 1;
        }
        assert!(checked >= 8, "{checked}");
    }

    #[test]
    fn written_files_give_the_default_where_a_value_departs_from_it() {
        let text = write_scenario(
            &parse_scenario("[org]\nengineers = 50\n[behavior]\nmodel = \"imitation\"\nbeta = 0.5\n").unwrap(),
        );
        let line = |key: &str| text.lines().find(|l| l.starts_with(&format!("{key} = "))).unwrap().to_string();
        assert!(line("engineers").ends_with("; default 200"), "{}", line("engineers"));
        assert!(line("beta").ends_with("; default 0.01"), "{}", line("beta"));
        assert!(!line("hours_per_period").contains("default"), "{}", line("hours_per_period"));
        assert!(!line("revision_rate").contains("default"), "{}", line("revision_rate"));
    }

    #[test]
    fn sweeps_keep_user_defined_parts() {
        let (sc, rule, obs) = custom_story();
        let text = "[sweep.uncertainties]\n\"org.engineers\" = [40, 60]\n\
                    [sweep.levers]\n\"policy[raw-deployments].reward.prize\" = { from = 100, to = 900, steps = 2 }\n";
        let sweep = crate::analysis::sweep::Sweep::from_toml(text, 1).unwrap().unwrap();
        let tasks = sweep.tasks();
        assert_eq!(tasks.len(), 4);
        for t in tasks.iter() {
            let out = sweep.scenario(&sc, &t).unwrap();
            assert!(
                matches!(reward_of(&out, "kirorank"), Reward::Custom(r) if Arc::ptr_eq(r, &rule)),
                "task {}",
                t.index
            );
            assert!(custom_of(&out, "raw-deployments").is_some_and(|c| Arc::ptr_eq(&c, &obs)), "task {}", t.index);
        }
    }

    #[test]
    fn set_field_replaces_user_defined_parts_only_when_asked() {
        let (sc, _, _) = custom_story();
        let out = set_field(&sc, "policy[kirorank].reward", "{ scheme = \"linear\", rate = 2 }").unwrap();
        assert_eq!(reward_of(&out, "kirorank"), &Reward::Linear { rate: 2.0 });
        let out = set_field(&sc, "policy[raw-deployments].metric", "\"tokens\"").unwrap();
        assert!(custom_of(&out, "raw-deployments").is_none());
        // A custom rule has no parameters a path can name.
        let e = set_field(&sc, "policy[kirorank].reward.prize", "10").unwrap_err().to_string();
        assert!(e.contains("policy[kirorank].reward.prize") && e.contains("user-defined"), "{e}");
    }

    #[test]
    fn user_defined_parts_are_never_written_silently() {
        let (sc, _, _) = custom_story();
        let e = try_write_scenario(&sc).unwrap_err().to_string();
        assert!(e.contains("policy[1].reward") && e.contains("Reward::Custom"), "{e}");
        let mut only_metric = sc.clone();
        only_metric.policies[1].reward = Reward::None;
        let e = try_write_scenario(&only_metric).unwrap_err().to_string();
        assert!(e.contains(".metric") && e.contains("CustomMetric"), "{e}");
        // The lossy writer says where each one was.
        let text = write_scenario(&sc);
        assert!(text.contains("Reward::Custom") && text.contains("CustomMetric"), "{text}");
        assert!(try_write_scenario(&crate::model::preset::scenario("story").unwrap()).is_ok());
    }

    #[test]
    fn custom_parts_compare_by_identity() {
        let a: Arc<dyn RewardRule> = Arc::new(Flat(1.0));
        let b: Arc<dyn RewardRule> = Arc::new(Flat(1.0));
        assert_eq!(Reward::Custom(a.clone()), Reward::Custom(a.clone()));
        assert_ne!(Reward::Custom(a), Reward::Custom(b));
        assert_ne!(Reward::Linear { rate: 1.0 }, Reward::Linear { rate: 2.0 });
        let mut m = Metric::builtin("tokens", 4).unwrap();
        let plain = m.clone();
        m.custom = Some(Arc::new(Squared));
        let same = m.clone();
        assert_eq!(m, same);
        assert_ne!(m, plain);
        let mut other = plain.clone();
        other.custom = Some(Arc::new(Squared));
        assert_ne!(m, other, "two different observations compare equal");
    }

    #[test]
    fn builtin_delay_follows_the_survival_window_unless_given() {
        let base = "[[policy]]\nname = \"s\"\n";
        let sc =
            parse_scenario(&format!("[org]\nsurvival_window = 7\n{base}metric = \"shipped_and_survived\"\n")).unwrap();
        assert_eq!(sc.policies[0].metric.as_ref().unwrap().delay, 7);
        let sc = parse_scenario(&format!(
            "{base}metric = {{ builtin = \"shipped_and_survived\", delay = 2 }}\n[org]\nsurvival_window = 7\n"
        ))
        .unwrap();
        assert_eq!(sc.policies[0].metric.as_ref().unwrap().delay, 2);
    }

    #[test]
    fn serde_errors_become_the_librarys() {
        let e = parse_scenario("[behavior]\nmodel = \"imitaton\"\n").unwrap_err().to_string();
        assert_eq!(e, "behavior.model: unknown value `imitaton`; did you mean `imitation`?");
        let e = parse_scenario("[traits]\nskill = { dist = \"normal\", value = 1 }\n").unwrap_err().to_string();
        assert!(e.starts_with("traits.skill.value: unknown field `value`"), "{e}");
        let e = parse_scenario("[traits]\nskill = { mean = 1 }\n").unwrap_err().to_string();
        assert!(e.contains("traits.skill.dist: nothing is not allowed; expected one of: constant"), "{e}");
        let e = parse_scenario("[[traits.correlations]]\na = \"skil\"\nb = \"integrity\"\n").unwrap_err().to_string();
        assert_eq!(e, "traits.correlations[0].a: unknown trait `skil`; did you mean `skill`?");
        let e = parse_scenario("[org]\nengineerz = 3\n").unwrap_err().to_string();
        assert_eq!(e, "org.engineerz: unknown field `engineerz`; did you mean `engineers`?");
        let sc = parse_scenario(
            "[[policy]]\nname = \"base\"\n[[policy]]\nname = \"switch\"\nschedule = [{ from = 0, policy = \"kirorank\" }, { from = 3, policy = \"base\" }]\n",
        )
        .unwrap();
        let names: Vec<&str> = sc.policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["base", "switch", "kirorank"], "a scheduled preset is added");
        let e = parse_scenario("[[policy]]\nname = \"s\"\nschedule = [{ from = 0, policy = \"kiroronk\" }]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("kiroronk") && e.contains("schedule"), "{e}");
        let e = parse_scenario("engineers = 50\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "engineers: unknown field `engineers` at the top level; it belongs in the [org] table as org.engineers"
        );
        let e = parse_scenario(
            "[[policy]]\nname = \"a\"\nmetric = \"tokens\"\nreward = { scheme = \"linear\", rate = \"x\" }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("policy[0].reward.rate: \"x\" is not allowed; expected a finite number"), "{e}");
        let e = parse_scenario("[[org]]\nengineers = 3\n").unwrap_err().to_string();
        assert_eq!(e, "org: an array is not allowed; expected a table");
        let e = parse_scenario("[behavior]\nmodel = 3\n").unwrap_err().to_string();
        assert!(e.starts_with("behavior.model: 3 is not allowed; expected one of: best-response"), "{e}");
        let e = parse_scenario("[[policy]]\nname = \"a\"\nreward = { scheme = \"none\", prize = 1 }\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("policy[0].reward.prize: unknown field `prize`"), "{e}");
        let e = parse_scenario("[org]\nsurvival_window = -1\n").unwrap_err().to_string();
        assert_eq!(e, "org.survival_window: -1 is not allowed; expected an integer in [0, 520] (periods)");
        let e = parse_scenario("[org]\nhours_per_period = \"x\"\n").unwrap_err().to_string();
        assert!(e.starts_with("org.hours_per_period: \"x\" is not allowed; expected a number in (0, 10000]"), "{e}");
        let e = parse_scenario("[[policy]]\nname = \"a\"\nmetric = { noise = { dist = \"normal\" } }\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("policy[0].metric.signals: nothing is not allowed"), "{e}");
        // Whole floats read as counts, as a sweep over a range may write them.
        assert_eq!(parse_scenario("periods = 12.0\n").unwrap().periods, 12);
        assert!(parse_scenario("periods = 12.5\n").unwrap_err().to_string().contains("periods"));
    }

    #[test]
    fn written_scenarios_read_back_identically() {
        let mut sc = Scenario::default();
        sc.policies.push(Policy::new(
            "k",
            Metric::builtin("tokens", 4).unwrap(),
            Reward::leaderboard(0.1, 3000.0, 0.1, 2000.0),
        ));
        sc.policies[1].audit = Some(Audit { probability: 0.1, changes: None, sensitivity: 0.5, penalty: 1e4 });
        sc.policies[1].token_cap = Some(3e7);
        sc.behavior.model = Model::RothErev { forgetting: 0.1, experimentation: 0.2, initial_propensity: 50.0 };
        sc.traits.skill = TraitDist::truncated(Dist::Normal { mean: 1.0, sd: 0.3 }, 0.1, 3.0);
        let text = write_scenario(&sc);
        let back = parse_scenario(&text).unwrap();
        assert_eq!(back, sc, "{text}");
    }

    #[test]
    fn a_metric_cap_reads_writes_back_and_is_refused_naming_its_field() {
        let base = "[[policy]]\nname = \"days\"\nreward = { scheme = \"threshold\", quota = 3, bonus = 100 }\n";
        let with =
            |cap: &str| parse_scenario(&format!("{base}metric = {{ signals = {{ tokens = 1 }}, cap = {cap} }}\n"));
        let sc = with("5").unwrap();
        assert_eq!(sc.policies[0].metric.as_ref().unwrap().cap, Some(5.0));
        let text = write_scenario(&sc);
        assert!(text.contains("cap = 5"), "{text}");
        assert_eq!(parse_scenario(&text).unwrap(), sc);
        // A built-in metric takes a cap too.
        let sc = parse_scenario(&format!("{base}metric = {{ builtin = \"deployments\", cap = 8 }}\n")).unwrap();
        assert_eq!(sc.policies[0].metric.as_ref().unwrap().cap, Some(8.0));
        // Not finite, zero or below: one line naming the field, never a panic.
        for bad in ["0", "-1", "nan", "inf", "-inf", "1e300"] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.starts_with("policy[0].metric.cap: ") && e.contains("a number > 0"), "{bad}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        // A capped metric paid at a falling rate cannot be planned: refused.
        let e = parse_scenario(
            "[[policy]]\nname = \"fine\"\nreward = { scheme = \"linear\", rate = -2 }\n\
             metric = { signals = { tokens = 1 }, cap = 5 }\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("policy[0].metric.cap: 5 is not allowed; expected no cap on a metric paid"), "{e}");
        // A user-defined observation can be capped (library only).
        let mut m = Metric::weighted("m", vec![("tokens".into(), 1.0)]).with_cap(3.0);
        m.custom = Some(Arc::new(Squared));
        let p = Policy::new("c", m, Reward::Linear { rate: 1.0 });
        assert!(Scenario::default().with_policies(vec![p]).validate().is_ok());
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
