//! A sweep's files as text: the part file each process appends to,
//! `sweep.json` (which sweep the folder holds), `sweep.csv` and
//! `robustness.csv`; and reading them back to resume a sweep or merge its
//! shards, every value checked. The binary reads and writes the files;
//! this module turns data into text and text back into data.
//!
//! Every process of a sweep (the only one, or one shard of many) appends
//! finished tasks to its part file `part-I-of-N.csv`, whose first line
//! records the sweep's [`Provenance`] fingerprint, so a rerun with another
//! seed, design, scenario or replication count never reuses its rows.
//! `sweep.csv` is always rendered from the tasks, never appended to.

use crate::io::digest::{Fnv64, fnv64};
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::analysis::sweep::{RobustnessRow, Shard, Sweep, TaskResult, TaskRow, Tasks};
use crate::error::{Error, Result};
use crate::io::format::write_scenario;
use crate::io::output::{csv_field, csv_split, fmt_num, human};
use crate::model::scenario::Scenario;

/// Columns of `sweep.csv` before the sweep's parameters.
const LEADING: [&str; 3] = ["task", "uncertainty", "lever"];
/// Columns of `sweep.csv` after the sweep's parameters.
const TRAILING: [&str; 5] = ["policy", "kpi", "mean", "ci_low", "ci_high"];

/// The header line of `sweep.csv` (and of every part file), with its newline.
pub fn header(sweep: &Sweep) -> String {
    let mut cols: Vec<String> = LEADING.map(String::from).to_vec();
    cols.extend(sweep.columns().iter().map(|c| csv_field(c)));
    cols.extend(TRAILING.map(String::from));
    cols.join(",") + "\n"
}

/// A number of `sweep.csv`: empty when undefined (a metric KPI of a policy
/// with no metric), a missing value to pandas, R and polars.
fn cell(x: f64) -> String {
    if x.is_nan() { String::new() } else { fmt_num(x) }
}

/// The lines of one finished task: one per policy and KPI (a KPI undefined
/// under the policy has empty numbers).
pub fn task_csv(t: &TaskResult) -> String {
    let mut out = String::new();
    let mut prefix = format!("{},{},{}", t.index, t.uncertainty, t.lever);
    for v in &t.values {
        prefix.push(',');
        prefix += &csv_field(v);
    }
    for r in &t.rows {
        out += &format!(
            "{prefix},{},{},{},{},{}\n",
            csv_field(&r.policy),
            csv_field(&r.kpi),
            cell(r.mean),
            cell(r.ci_low),
            cell(r.ci_high)
        );
    }
    out
}

/// A whole sweep file: the header, then each task's lines in the given order.
pub fn sweep_csv(header: &str, tasks: &[TaskResult]) -> String {
    let mut out = header.to_string();
    for t in tasks {
        out += &task_csv(t);
    }
    out
}

/// The part file a shard appends to: `part-I-of-N.csv` (`part-1-of-1.csv`
/// for a sweep in one process).
pub fn file_name(shard: Shard) -> String {
    format!("part-{}-of-{}.csv", shard.index, shard.count)
}

/// The shard whose part file is called `name` (`part-I-of-N.csv`), if any.
pub fn part_shard(name: &str) -> Option<Shard> {
    let (i, n) = name.strip_prefix("part-")?.strip_suffix(".csv")?.split_once("-of-")?;
    Shard::new(i.parse().ok()?, n.parse().ok()?).ok()
}

/// The finished lines of a file being appended to: everything up to the
/// last newline (a line without one was torn by a crash).
fn whole_lines(text: &str) -> &str {
    &text[..text.rfind('\n').map_or(0, |i| i + 1)]
}

/// The tasks in a sweep file's whole lines (`sweep.csv`: the header, then
/// rows), in file order. `file` names the file in errors. Every field is
/// checked; a task's lines must be contiguous and agree on its design point.
pub fn parse_tasks(file: &str, text: &str, header: &str) -> Result<Vec<TaskResult>> {
    let body = text
        .strip_prefix(header)
        .ok_or_else(|| Error::BadFile { file: file.into(), reason: "its header differs from the sweep's".into() })?;
    parse_rows(file, body, header, 2)
}

/// How the first line of a part file starts; the fingerprint and the
/// provenance (JSON) follow.
const STAMP: &str = "# goodhart sweep part, fingerprint ";

/// The first line of a part file: the sweep's fingerprint and what it is
/// made of (so a mismatch can be named).
pub fn fingerprint_line(meta: &SweepMeta) -> String {
    let provenance = serde_json::to_string(&meta.provenance).expect("plain data serialises");
    format!("{STAMP}{} {provenance}\n", meta.fingerprint)
}

/// The tasks in a part file's whole lines: its fingerprint line must be the
/// sweep's (`meta`), then its header, then rows as in [`parse_tasks`].
pub fn parse_part(file: &str, text: &str, meta: &SweepMeta) -> Result<Vec<TaskResult>> {
    let bad = |reason: String| Error::BadFile { file: file.into(), reason };
    let first = text.split_inclusive('\n').next().unwrap_or_default();
    if first != fingerprint_line(meta) {
        let Some((found, provenance)) = first.trim_end().strip_prefix(STAMP).and_then(|r| r.split_once(' ')) else {
            return Err(bad("has no fingerprint line (not a part file of this version of goodhart)".into()));
        };
        let diff = serde_json::from_str::<Provenance>(provenance)
            .map(|p| meta.provenance.differences(&p, ["expected", "found"]))
            .unwrap_or_default();
        return Err(bad(match diff.is_empty() {
            false => format!("was written by another sweep ({})", diff.join("; ")),
            true => format!("was written by another sweep (fingerprint {found}, expected {})", meta.fingerprint),
        }));
    }
    let body = text[first.len()..]
        .strip_prefix(meta.header.as_str())
        .ok_or_else(|| bad("its header differs from sweep.json's".into()))?;
    parse_rows(file, body, &meta.header, 3)
}

/// Rows after `header`; `line_no` is the first row's line in the file.
fn parse_rows(file: &str, body: &str, header: &str, line_no: usize) -> Result<Vec<TaskResult>> {
    let columns = csv_split(header.trim_end_matches('\n')).len();
    let params = columns.checked_sub(LEADING.len() + TRAILING.len()).ok_or_else(|| Error::BadFile {
        file: file.into(),
        reason: format!("its header has {columns} columns; a sweep's has at least 8"),
    })?;
    let fields = LEADING.len() + params + TRAILING.len();
    let mut out: Vec<TaskResult> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, line) in whole_lines(body).lines().enumerate() {
        let line_no = i + line_no;
        let bad = |reason: String| Error::BadLine { file: file.into(), line: line_no, reason };
        let f = csv_split(line);
        if f.len() != fields {
            return Err(bad(format!("has {} fields; expected {fields}", f.len())));
        }
        let index = |k: usize| {
            f[k].parse::<usize>()
                .map_err(|_| bad(format!("{}: `{}` is not a task index (an integer >= 0)", LEADING[k], f[k])))
        };
        let num = |k: usize| {
            let name = TRAILING[k - LEADING.len() - params];
            if f[k].is_empty() {
                return Ok(f64::NAN); // undefined, as written
            }
            f[k].parse::<f64>().map_err(|_| bad(format!("{name}: `{}` is not a number", f[k])))
        };
        let at = LEADING.len() + params;
        let row = TaskRow {
            policy: f[at].clone(),
            kpi: f[at + 1].clone(),
            mean: num(at + 2)?,
            ci_low: num(at + 3)?,
            ci_high: num(at + 4)?,
        };
        let (task, uncertainty, lever) = (index(0)?, index(1)?, index(2)?);
        let values = &f[LEADING.len()..at];
        match out.last_mut() {
            Some(t) if t.index == task => {
                if (t.uncertainty, t.lever, t.values.as_slice()) != (uncertainty, lever, values) {
                    return Err(bad(format!("task {task}'s design point differs from its first line's")));
                }
                t.rows.push(row);
            }
            _ => {
                if !seen.insert(task) {
                    return Err(bad(format!("task {task} appears again after other tasks")));
                }
                out.push(TaskResult { index: task, uncertainty, lever, values: values.to_vec(), rows: vec![row] });
            }
        }
    }
    Ok(out)
}

/// What a resumed sweep file keeps of an earlier attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Resumed {
    /// The file to continue from: the header and every whole finished task.
    pub text: String,
    /// Those tasks.
    pub tasks: Vec<TaskResult>,
}

impl Resumed {
    /// The indices of the tasks already done.
    pub fn done(&self) -> BTreeSet<usize> {
        self.tasks.iter().map(|t| t.index).collect()
    }
}

/// Resumes the part file `file` from its earlier contents (`None`: none,
/// or start afresh): keeps each task that has all its lines, drops a torn
/// tail and any task cut short. Refuses a file that another sweep wrote
/// (another fingerprint) or that is damaged, naming what differs.
pub fn resume(file: &str, existing: Option<&str>, meta: &SweepMeta) -> Result<Resumed> {
    let tasks: Vec<TaskResult> = match existing {
        Some(text) => {
            parse_part(file, text, meta)?.into_iter().filter(|t| t.rows.len() == meta.rows_per_task).collect()
        }
        None => Vec::new(),
    };
    Ok(Resumed { text: part_csv(meta, &tasks), tasks })
}

/// A part file: the fingerprint line, the header and the tasks' lines.
pub fn part_csv(meta: &SweepMeta, tasks: &[TaskResult]) -> String {
    fingerprint_line(meta) + &sweep_csv(&meta.header, tasks)
}

/// What makes a sweep's numbers what they are: the resolved scenario, the
/// design's points, the sweep seed, replications per task and the task
/// count. Two runs with equal provenance compute the same rows, so one
/// may resume or merge the other's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Digest of the resolved base scenario (every field as written but
    /// replications).
    pub scenario: String,
    /// Digest of the header and every task's index and parameter values.
    pub design: String,
    /// The sweep seed.
    pub seed: u64,
    /// Replications per task.
    pub replications: u32,
    /// Tasks in the sweep.
    pub tasks: usize,
}

impl Provenance {
    /// The provenance of `tasks` of `sweep` run on `base`.
    pub fn of(base: &Scenario, sweep: &Sweep, tasks: &Tasks) -> Provenance {
        // Every task's values, digested as they are made (the design can be
        // far larger than its text).
        let mut design = Fnv64::default();
        design.update(header(sweep).as_bytes());
        for t in tasks.iter() {
            design.update(format!("{},{},{}", t.index, t.uncertainty, t.lever).as_bytes());
            for v in &t.values {
                design.update("\u{1f}".as_bytes());
                design.update(v.as_bytes());
            }
            design.update(b"\n");
        }
        // Replications are recorded on their own, so a change names them alone.
        let mut scenario = base.clone();
        scenario.replications = 1;
        Provenance {
            scenario: fnv64(write_scenario(&scenario).as_bytes()),
            design: design.hex(),
            seed: sweep.seed,
            replications: base.replications,
            tasks: tasks.len(),
        }
    }

    /// One digest of everything: what part files record.
    pub fn fingerprint(&self) -> String {
        let p = self;
        fnv64(format!("{} {} {} {} {}", p.scenario, p.design, p.seed, p.replications, p.tasks).as_bytes())
    }

    /// What differs from `other`, in words (`labels` name the two sides,
    /// e.g. "now" and "before"); empty if nothing.
    pub fn differences(&self, other: &Provenance, labels: [&str; 2]) -> Vec<String> {
        let mut out = Vec::new();
        let [this, that] = labels;
        let mut field = |name: &str, now: String, then: String| {
            if now != then {
                out.push(format!("{name} {now} {this}, {then} {that}"));
            }
        };
        field("replications", self.replications.to_string(), other.replications.to_string());
        field("sweep seed", self.seed.to_string(), other.seed.to_string());
        field("tasks", self.tasks.to_string(), other.tasks.to_string());
        if self.design != other.design {
            out.push("the design's parameters or points differ".into());
        }
        if self.scenario != other.scenario {
            out.push("the scenario differs in a field such as seed, periods or a policy".into());
        }
        out
    }
}

/// `sweep.json`: which sweep the folder holds, and what a merge of its
/// part files needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepMeta {
    /// [`Provenance::fingerprint`], recorded in every part file.
    pub fingerprint: String,
    /// The header line every part file has after its fingerprint line.
    pub header: String,
    /// What the fingerprint is made of, to name a difference.
    pub provenance: Provenance,
    /// Lines per finished task (policies x KPIs).
    pub rows_per_task: usize,
    /// Tasks in the sweep.
    pub tasks: usize,
    /// The scenario's name, the report's title.
    pub title: String,
}

impl SweepMeta {
    /// The record of a sweep with this header and provenance.
    pub fn new(header: String, provenance: Provenance, rows_per_task: usize, title: String) -> SweepMeta {
        SweepMeta {
            fingerprint: provenance.fingerprint(),
            header,
            tasks: provenance.tasks,
            provenance,
            rows_per_task,
            title,
        }
    }

    /// As written to `sweep.json` (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serialises") + "\n"
    }

    /// Reads `sweep.json` (named `file` in errors), checking that it is
    /// whole and consistent.
    pub fn from_json(file: &str, text: &str) -> Result<SweepMeta> {
        let bad = |reason: String| Error::BadFile { file: file.into(), reason };
        let m: SweepMeta = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if !(m.header.starts_with("task,uncertainty,lever,") && m.header.ends_with(",policy,kpi,mean,ci_low,ci_high\n"))
        {
            return Err(bad("header: not a sweep's header (task,uncertainty,lever,...,ci_high)".into()));
        }
        if m.fingerprint != m.provenance.fingerprint() || m.tasks != m.provenance.tasks {
            return Err(bad("fingerprint: does not match the provenance recorded beside it".into()));
        }
        if m.tasks == 0 || m.rows_per_task == 0 {
            return Err(bad("tasks and rows_per_task: expected integers >= 1".into()));
        }
        Ok(m)
    }

    /// Checks that `recorded` (the text of a folder's `sweep.json`, named
    /// `file`) is this sweep's, so the folder's part files may be resumed.
    pub fn check_folder(&self, file: &str, recorded: &str) -> Result<()> {
        let then = SweepMeta::from_json(file, recorded).map_err(|e| {
            let why = match e {
                Error::BadFile { reason, .. } => reason,
                e => e.to_string(),
            };
            Error::BadFile { file: file.into(), reason: format!("cannot tell which sweep wrote the folder ({why})") }
        })?;
        let diff = self.provenance.differences(&then.provenance, ["now", "before"]);
        match diff.is_empty() && then.fingerprint == self.fingerprint {
            true => Ok(()),
            false => Err(Error::BadFile {
                file: file.into(),
                reason: format!("the folder holds another sweep ({})", diff.join("; ")),
            }),
        }
    }
}

/// A part file to merge: the shard that wrote it (see [`part_shard`]), the
/// file as errors should name it, and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct PartFile {
    /// The shard whose part this is.
    pub shard: Shard,
    /// The file, as errors name it (e.g. its path).
    pub file: String,
    /// Its contents.
    pub text: String,
}

/// Merges the part files of a sharded sweep, in any order, into the
/// sweep's tasks in canonical order. Torn tails and
/// tasks cut short are left out (their shard is rerun). Refuses a file that
/// is not a part file of this sweep (another header, a task beyond the
/// sweep or of another shard, a task that differs from another file's
/// copy), and reports tasks that no file holds.
pub fn merge(meta: &SweepMeta, parts: &[PartFile]) -> Result<Vec<TaskResult>> {
    let mut tasks: BTreeMap<usize, (TaskResult, &str)> = BTreeMap::new();
    for PartFile { shard, file, text } in parts {
        let bad = |reason: String| Error::BadFile { file: file.clone(), reason };
        for t in parse_part(file, text, meta)? {
            if t.index >= meta.tasks {
                return Err(bad(format!("task {} is beyond the sweep's {} tasks", t.index, meta.tasks)));
            }
            if !shard.owns(t.index) {
                return Err(bad(format!("task {} is not shard {}/{}'s", t.index, shard.index, shard.count)));
            }
            if t.rows.len() != meta.rows_per_task {
                continue;
            }
            if let Some((_, other)) = tasks.get(&t.index).filter(|(copy, _)| *copy != t) {
                return Err(bad(format!("task {} differs from its copy in {other}", t.index)));
            }
            tasks.insert(t.index, (t, file));
        }
    }
    let missing: Vec<usize> = (0..meta.tasks).filter(|t| !tasks.contains_key(t)).collect();
    if !missing.is_empty() {
        let first: Vec<String> = missing.iter().take(20).map(|t| t.to_string()).collect();
        return Err(Error::MissingTasks {
            missing: missing.len(),
            total: meta.tasks,
            parts: parts.len(),
            first: first.join(", "),
        });
    }
    Ok(tasks.into_values().map(|(t, _)| t).collect())
}

/// The columns of `robustness.csv`.
pub const ROBUSTNESS_HEADER: [&str; 12] = [
    "lever",
    "policy",
    "organisations",
    "net_value_mean",
    "net_value_p10",
    "net_value_worst",
    "regret_mean",
    "regret_max",
    "output_per_usd_mean",
    "output_per_usd_p10",
    "output_per_usd_worst",
    "output_per_usd_regret_mean",
];

/// A robustness row's numbers, in [`ROBUSTNESS_HEADER`] order after the
/// first three columns.
pub fn robustness_numbers(r: &RobustnessRow) -> [f64; 9] {
    [
        r.net_value_mean,
        r.net_value_p10,
        r.net_value_worst,
        r.regret_mean,
        r.regret_max,
        r.output_per_usd_mean,
        r.output_per_usd_p10,
        r.output_per_usd_worst,
        r.output_per_usd_regret_mean,
    ]
}

/// `robustness.csv`.
pub fn robustness_csv(rows: &[RobustnessRow]) -> String {
    let mut out = ROBUSTNESS_HEADER.join(",") + "\n";
    for r in rows {
        let nums: Vec<String> = robustness_numbers(r).iter().map(|x| fmt_num(*x)).collect();
        out += &format!("{},{},{},{}\n", r.lever, csv_field(&r.policy), r.organisations, nums.join(","));
    }
    out
}

/// The parameter columns of a `sweep.csv` header line (between the
/// leading and trailing columns), unquoted.
pub fn parameter_columns(header: &str) -> Vec<String> {
    let f = csv_split(header.trim_end());
    f.get(LEADING.len()..f.len().saturating_sub(TRAILING.len())).map(<[String]>::to_vec).unwrap_or_default()
}

/// A name for each lever point, from the values its tasks ran:
/// `prize 500` for `policy[kirorank].reward.prize = 500` (the path's last
/// part and the value; several levers joined by commas). A column counts
/// as a lever when its value depends only on the lever point. Indexed by
/// lever point; a point no task ran is named by its number from 1.
pub fn lever_names(columns: &[String], tasks: &[TaskResult]) -> Vec<String> {
    let points = tasks.iter().map(|t| t.lever + 1).max().unwrap_or(0);
    let mut value: Vec<Vec<Option<&str>>> = vec![vec![None; columns.len()]; points];
    let mut lever = vec![true; columns.len()];
    for t in tasks {
        for (j, v) in t.values.iter().enumerate().take(columns.len()) {
            match value[t.lever][j] {
                None => value[t.lever][j] = Some(v),
                Some(w) if w != v => lever[j] = false,
                _ => {}
            }
        }
    }
    // A column the same at every lever point names none of them.
    for (j, l) in lever.iter_mut().enumerate() {
        let first = value.first().and_then(|v| v[j]);
        if value.iter().all(|v| v[j] == first) {
            *l = false;
        }
    }
    (0..points)
        .map(|i| {
            let parts: Vec<String> = (0..columns.len())
                .filter(|&j| lever[j])
                .filter_map(|j| {
                    let short = columns[j].rsplit('.').next().unwrap_or(&columns[j]);
                    value[i][j].map(|v| format!("{short} {v}"))
                })
                .collect();
            if parts.is_empty() { format!("lever point {}", i + 1) } else { parts.join(", ") }
        })
        .collect()
}

/// The label of each robustness row: its policy and its lever point's name.
pub fn robustness_labels(rows: &[RobustnessRow], levers: &[String]) -> Vec<String> {
    rows.iter()
        .map(|r| match levers.get(r.lever) {
            Some(l) if levers.len() > 1 => format!("{}, {l}", r.policy),
            _ => r.policy.clone(),
        })
        .collect()
}

/// The robustness table printed after a sweep (under 100 columns for
/// labels up to 34 characters), one row per policy and lever point.
pub fn robustness_table(rows: &[RobustnessRow], labels: &[String]) -> String {
    let w = labels.iter().map(|l| l.chars().count()).max().unwrap_or(6).max(6);
    let mut table = format!(
        "{:<w$}  {:>9}  {:>9}  {:>9}  {:>11}  {:>7}\n",
        "policy, lever", "net mean", "net p10", "net worst", "regret mean", "out/USD"
    );
    for (r, l) in rows.iter().zip(labels) {
        let h = human;
        table += &format!(
            "{l:<w$}  {:>9}  {:>9}  {:>9}  {:>11}  {:>7}\n",
            h(r.net_value_mean),
            h(r.net_value_p10),
            h(r.net_value_worst),
            h(r.regret_mean),
            h(r.output_per_usd_mean)
        );
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "task,uncertainty,lever,x,policy,kpi,mean,ci_low,ci_high\n";
    const PER: usize = 4;

    /// Six tasks (3 organisations x 2 lever points), two policies x two KPIs each.
    fn tasks() -> Vec<TaskResult> {
        (0..6)
            .map(|i| TaskResult {
                index: i,
                uncertainty: i / 2,
                lever: i % 2,
                values: vec![format!("{}", i as f64 * 0.25)],
                rows: ["no-leaderboard", "kiro,rank"]
                    .iter()
                    .flat_map(|p| {
                        ["net_value", "token_cost"].map(|k| TaskRow {
                            policy: p.to_string(),
                            kpi: k.into(),
                            mean: i as f64 * 1000.1 - 7.0,
                            ci_low: -0.1 / 3.0,
                            ci_high: 12.5,
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    fn provenance() -> Provenance {
        Provenance { scenario: fnv64(b"scenario"), design: fnv64(b"design"), seed: 3, replications: 2, tasks: 6 }
    }

    fn meta() -> SweepMeta {
        SweepMeta::new(HEADER.into(), provenance(), PER, "t".into())
    }

    /// The part files of `n` shards, each as its process writes it.
    fn parts(n: usize) -> Vec<PartFile> {
        (1..=n)
            .map(|i| {
                let shard = Shard::new(i, n).unwrap();
                let mine: Vec<TaskResult> = tasks().into_iter().filter(|t| shard.owns(t.index)).collect();
                PartFile { shard, file: file_name(shard), text: part_csv(&meta(), &mine) }
            })
            .collect()
    }

    #[test]
    fn rows_read_back_to_the_same_numbers_and_text() {
        let text = sweep_csv(HEADER, &tasks());
        let back = parse_tasks("sweep.csv", &text, HEADER).unwrap();
        assert_eq!(back, tasks());
        assert_eq!(sweep_csv(HEADER, &back), text);
        assert!(text.contains(",\"kiro,rank\","), "a name with a comma is quoted");
    }

    #[test]
    fn a_sweep_without_parameters_writes_as_many_fields_as_its_header() {
        // A regression: rows had an empty field after `lever` the header lacked.
        let header = "task,uncertainty,lever,policy,kpi,mean,ci_low,ci_high\n";
        let t = TaskResult { values: vec![], ..tasks()[0].clone() };
        let text = sweep_csv(header, std::slice::from_ref(&t));
        assert!(text.lines().all(|l| csv_split(l).len() == 8), "{text}");
        assert_eq!(parse_tasks("sweep.csv", &text, header).unwrap(), [t]);
    }

    #[test]
    fn resume_keeps_whole_tasks_and_drops_a_torn_tail() {
        let full = part_csv(&meta(), &tasks());
        let start = part_csv(&meta(), &[]).len();
        for cut in [start, full.len() / 2, full.len() - 3, full.len()] {
            let r = resume("part-1-of-1.csv", Some(&full[..cut]), &meta()).unwrap();
            // What is kept is a prefix of whole tasks, each complete.
            assert!(full.starts_with(&r.text), "cut {cut}");
            assert!(r.tasks.iter().all(|t| t.rows.len() == PER));
            let done = r.done();
            assert_eq!(done, (0..done.len()).collect(), "cut {cut}");
            assert_eq!(done.len() == 6, cut == full.len());
        }
        assert_eq!(resume("part-1-of-1.csv", None, &meta()).unwrap().text, full[..start]);
    }

    #[test]
    fn resume_refuses_another_sweeps_part_file_naming_it() {
        let other = SweepMeta::new(HEADER.into(), Provenance { replications: 5, ..provenance() }, PER, "t".into());
        let text = part_csv(&other, &tasks());
        let e = resume("out/part-1-of-1.csv", Some(&text), &meta()).unwrap_err().to_string();
        assert_eq!(e, "out/part-1-of-1.csv: was written by another sweep (replications 2 expected, 5 found)");
        // A tampered fingerprint with the same provenance still differs.
        let text = part_csv(&meta(), &tasks()).replacen("fingerprint ", "fingerprint 0", 1);
        let e = resume("p.csv", Some(&text), &meta()).unwrap_err().to_string();
        assert!(e.starts_with("p.csv: was written by another sweep (fingerprint 0"), "{e}");
        // A sweep.csv of an older version has no fingerprint line.
        let e = resume("p.csv", Some(&sweep_csv(HEADER, &tasks())), &meta()).unwrap_err().to_string();
        assert!(e.contains("has no fingerprint line"), "{e}");
    }

    #[test]
    fn resume_drops_a_task_with_missing_rows() {
        let full = part_csv(&meta(), &tasks());
        let mut lines: Vec<&str> = full.lines().collect();
        lines.remove(2 + 2 * PER + 1); // a line of task 2
        let text = lines.join("\n") + "\n";
        let r = resume("part-1-of-1.csv", Some(&text), &meta()).unwrap();
        assert_eq!(r.done(), [0, 1, 3, 4, 5].into());
        assert!(!r.text.lines().any(|l| l.starts_with("2,")));
    }

    #[test]
    fn resume_rejects_a_damaged_line_naming_it() {
        let full = part_csv(&meta(), &tasks());
        let text = full.replacen(",12.5\n", ",garbage\n", 1);
        let e = resume("out/part-1-of-1.csv", Some(&text), &meta()).unwrap_err().to_string();
        assert_eq!(e, "out/part-1-of-1.csv: line 3: ci_high: `garbage` is not a number");
    }

    #[test]
    fn merged_shards_in_any_order_equal_the_one_process_sweep() {
        let one = sweep_csv(HEADER, &tasks());
        for n in [1, 2, 3, 6] {
            let mut p = parts(n);
            for rotation in 0..n {
                p.rotate_left(rotation);
                let merged = merge(&meta(), &p).unwrap();
                assert_eq!(sweep_csv(HEADER, &merged), one, "{n} shards, rotated {rotation}");
            }
        }
    }

    #[test]
    fn merge_refuses_a_part_that_does_not_belong() {
        let p = parts(3);
        let check = |parts: Vec<PartFile>, needle: &str| {
            let e = merge(&meta(), &parts).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        };
        // A part of another sweep (another fingerprint), or with another header.
        let mut other = p.clone();
        let seed4 = SweepMeta::new(HEADER.into(), Provenance { seed: 4, ..provenance() }, PER, "t".into());
        other[1].text = part_csv(&seed4, &[]);
        check(other, "part-2-of-3.csv: was written by another sweep (sweep seed 3 expected, 4 found)");
        let mut other = p.clone();
        other[1].text = other[1].text.replacen(",x,", ",y,", 1);
        check(other, "part-2-of-3.csv: its header differs");
        // A value that is not a number.
        let mut damaged = p.clone();
        damaged[0].text = damaged[0].text.replacen(",-7,", ",garbage,", 1);
        check(damaged, "part-1-of-3.csv: line 3: mean: `garbage` is not a number");
        // A part holding another shard's task.
        let mut swapped = p.clone();
        swapped[0].shard = Shard::new(2, 3).unwrap();
        swapped[0].file = "part-2-of-3.csv".into();
        check(swapped, "part-2-of-3.csv: task 0 is not shard 2/3's");
        // A task beyond the sweep.
        let mut beyond = p.clone();
        beyond[0].text += &task_csv(&TaskResult { index: 9, ..tasks()[0].clone() });
        check(beyond, "task 9 is beyond the sweep's 6 tasks");
        // A task whose numbers differ between two copies.
        let mut twice = p.clone();
        let copy = PartFile {
            file: "copy/part-1-of-3.csv".into(),
            text: twice[0].text.replacen("-7,", "-8,", 1),
            ..twice[0].clone()
        };
        twice.push(copy);
        check(twice, "copy/part-1-of-3.csv: task 0 differs from its copy in part-1-of-3.csv");
        // A shard missing: named, not merged.
        let e = merge(&meta(), &p[1..]).unwrap_err();
        assert!(matches!(e, Error::MissingTasks { missing: 2, total: 6, parts: 2, .. }), "{e}");
        assert!(e.to_string().contains("(first: 0, 3)"), "{e}");
    }

    #[test]
    fn merge_leaves_out_a_torn_task_and_reports_it_missing() {
        let mut p = parts(2);
        let len = p[0].text.len();
        p[0].text.truncate(len - 5);
        let e = merge(&meta(), &p).unwrap_err().to_string();
        assert!(e.starts_with("1 of 6 tasks missing") && e.contains("(first: 4)"), "{e}");
    }

    #[test]
    fn sweep_json_round_trips_and_rejects_an_empty_or_edited_record() {
        let m = meta();
        assert_eq!(SweepMeta::from_json("sweep.json", &m.to_json()).unwrap(), m);
        let e = SweepMeta::from_json("d/sweep.json", "{}").unwrap_err().to_string();
        assert!(e.starts_with("d/sweep.json: missing field"), "{e}");
        let edited = m.to_json().replace("\"tasks\": 6", "\"tasks\": 7");
        let e = SweepMeta::from_json("d/sweep.json", &edited).unwrap_err().to_string();
        assert!(e.contains("fingerprint: does not match"), "{e}");
        let e = SweepMeta::from_json("d/sweep.json", &m.to_json().replace("task,", "")).unwrap_err().to_string();
        assert!(e.contains("header: not a sweep's header"), "{e}");
    }

    #[test]
    fn a_folder_of_another_sweep_is_refused_naming_the_difference() {
        let m = meta();
        assert_eq!(m.check_folder("sweep.json", &m.to_json()), Ok(()));
        let p = provenance;
        let cases = [
            (Provenance { replications: 5, ..p() }, "(replications 5 now, 2 before)"),
            (Provenance { seed: 4, ..p() }, "(sweep seed 4 now, 3 before)"),
            (Provenance { design: fnv64(b"other"), ..p() }, "(the design's parameters or points differ)"),
            (Provenance { scenario: fnv64(b"other"), ..p() }, "(the scenario differs"),
        ];
        for (changed, needle) in cases {
            let now = SweepMeta::new(HEADER.into(), changed, PER, "t".into());
            assert_ne!(now.fingerprint, m.fingerprint);
            let e = now.check_folder("o/sweep.json", &m.to_json()).unwrap_err().to_string();
            assert!(e.starts_with("o/sweep.json: the folder holds another sweep (") && e.contains(needle), "{e}");
        }
        let e = m.check_folder("o/sweep.json", "{}").unwrap_err().to_string();
        assert!(e.contains("cannot tell which sweep wrote the folder"), "{e}");
    }

    #[test]
    fn part_file_names_name_their_shard() {
        let s = Shard::new(2, 5).unwrap();
        assert_eq!(part_shard(&file_name(s)), Some(s));
        assert_eq!(file_name(Shard::ALL), "part-1-of-1.csv");
        for name in ["sweep.csv", "part-6-of-5.csv", "part-1-of-2.csv.tmp", "part-a-of-2.csv"] {
            assert_eq!(part_shard(name), None, "{name}");
        }
    }
}
