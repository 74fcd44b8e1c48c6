//! A sweep's files as text: `sweep.csv` and the part files of its shards,
//! `sweep.json` (what a merge needs to know), `robustness.csv`; and reading
//! them back to resume a sweep or merge its shards, every value checked.
//! The binary reads and writes the files; this module turns data into text
//! and text back into data.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::analysis::sweep::{RobustnessRow, Shard, Sweep, TaskResult, TaskRow};
use crate::error::{Error, Result};
use crate::io::output::{csv_field, csv_split, fmt_num, human};

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

/// The lines of one finished task: one per policy and KPI.
pub fn task_csv(t: &TaskResult) -> String {
    let mut out = String::new();
    let prefix = format!(
        "{},{},{},{}",
        t.index,
        t.uncertainty,
        t.lever,
        t.values.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(",")
    );
    for r in &t.rows {
        out += &format!(
            "{prefix},{},{},{},{},{}\n",
            csv_field(&r.policy),
            csv_field(&r.kpi),
            fmt_num(r.mean),
            fmt_num(r.ci_low),
            fmt_num(r.ci_high)
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

/// The file a shard writes: `sweep.csv` for the whole sweep, else
/// `part-I-of-N.csv`.
pub fn file_name(shard: Shard) -> String {
    if shard.count == 1 { "sweep.csv".into() } else { format!("part-{}-of-{}.csv", shard.index, shard.count) }
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

/// The tasks in a sweep file's whole lines, in file order. `file` names
/// the file in errors; the text must start with `header`. Every field is
/// checked; a task's lines must be contiguous and agree on its design point.
pub fn parse_tasks(file: &str, text: &str, header: &str) -> Result<Vec<TaskResult>> {
    let body = text
        .strip_prefix(header)
        .ok_or_else(|| Error::BadFile { file: file.into(), reason: "its header differs from the sweep's".into() })?;
    let params = csv_split(header.trim_end_matches('\n')).len() - LEADING.len() - TRAILING.len();
    let fields = LEADING.len() + params + TRAILING.len();
    let mut out: Vec<TaskResult> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, line) in whole_lines(body).lines().enumerate() {
        let line_no = i + 2;
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

/// Resumes the sweep file `file` from its earlier contents (`None`: none):
/// keeps each task that has all `rows_per_task` lines, drops a torn tail
/// and any task cut short. A file with another header (another sweep)
/// starts afresh.
pub fn resume(file: &str, existing: Option<&str>, header: &str, rows_per_task: usize) -> Result<Resumed> {
    let tasks: Vec<TaskResult> = match existing {
        Some(text) if text.starts_with(header) => {
            parse_tasks(file, text, header)?.into_iter().filter(|t| t.rows.len() == rows_per_task).collect()
        }
        _ => Vec::new(),
    };
    Ok(Resumed { text: sweep_csv(header, &tasks), tasks })
}

/// `sweep.json`: what a merge of part files needs to know about the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepMeta {
    /// The header line every part file starts with.
    pub header: String,
    /// Lines per finished task (policies x KPIs).
    pub rows_per_task: usize,
    /// Tasks in the sweep.
    pub tasks: usize,
    /// The scenario's name, the report's title.
    pub title: String,
}

impl SweepMeta {
    /// As written to `sweep.json` (pretty, with a final newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serialises") + "\n"
    }

    /// Reads `sweep.json` (named `file` in errors).
    pub fn from_json(file: &str, text: &str) -> Result<SweepMeta> {
        serde_json::from_str(text).map_err(|e| Error::BadFile { file: file.into(), reason: e.to_string() })
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
        if !text.starts_with(&meta.header) {
            return Err(bad("its header differs from sweep.json's".into()));
        }
        for t in parse_tasks(file, text, &meta.header)? {
            if t.index >= meta.tasks {
                return Err(bad(format!("task {} is beyond the sweep's {} tasks", t.index, meta.tasks)));
            }
            if !shard.owns(t.index) {
                return Err(bad(format!("task {} is not shard {}/{}'s", t.index, shard.index, shard.count)));
            }
            if t.rows.len() != meta.rows_per_task {
                continue;
            }
            if let Some((other, file)) = tasks.get(&t.index)
                && *other != t
            {
                return Err(bad(format!("task {} differs from its copy in {file}", t.index)));
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

/// The robustness table printed after a sweep.
pub fn robustness_table(rows: &[RobustnessRow]) -> String {
    let mut table = format!(
        "{:<6} {:<26} {:>12} {:>12} {:>12} {:>12} {:>10}\n",
        "lever", "policy", "net mean", "net p10", "net worst", "regret mean", "out/USD"
    );
    for r in rows {
        let h = human;
        table += &format!(
            "{:<6} {:<26} {:>12} {:>12} {:>12} {:>12} {:>10.1}\n",
            r.lever,
            r.policy,
            h(r.net_value_mean),
            h(r.net_value_p10),
            h(r.net_value_worst),
            h(r.regret_mean),
            r.output_per_usd_mean
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

    fn meta() -> SweepMeta {
        SweepMeta { header: HEADER.into(), rows_per_task: PER, tasks: 6, title: "t".into() }
    }

    /// The part files of `n` shards, each as its process writes it.
    fn parts(n: usize) -> Vec<PartFile> {
        (1..=n)
            .map(|i| {
                let shard = Shard::new(i, n).unwrap();
                let mine: Vec<TaskResult> = tasks().into_iter().filter(|t| shard.owns(t.index)).collect();
                PartFile { shard, file: format!("part-{i}-of-{n}.csv"), text: sweep_csv(HEADER, &mine) }
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
    fn resume_keeps_whole_tasks_and_drops_a_torn_tail() {
        let full = sweep_csv(HEADER, &tasks());
        for cut in [HEADER.len(), full.len() / 2, full.len() - 3, full.len()] {
            let r = resume("sweep.csv", Some(&full[..cut]), HEADER, PER).unwrap();
            // What is kept is a prefix of whole tasks, each complete.
            assert!(full.starts_with(&r.text), "cut {cut}");
            assert!(r.tasks.iter().all(|t| t.rows.len() == PER));
            let done = r.done();
            assert_eq!(done, (0..done.len()).collect(), "cut {cut}");
            assert_eq!(done.len() == 6, cut == full.len());
        }
        // Another sweep's file, or none, starts afresh.
        assert_eq!(resume("sweep.csv", Some("a,b\n1,2\n"), HEADER, PER).unwrap().text, HEADER);
        assert_eq!(resume("sweep.csv", None, HEADER, PER).unwrap().text, HEADER);
    }

    #[test]
    fn resume_drops_a_task_with_missing_rows() {
        let full = sweep_csv(HEADER, &tasks());
        let mut lines: Vec<&str> = full.lines().collect();
        lines.remove(1 + 2 * PER + 1); // a line of task 2
        let text = lines.join("\n") + "\n";
        let r = resume("sweep.csv", Some(&text), HEADER, PER).unwrap();
        assert_eq!(r.done(), [0, 1, 3, 4, 5].into());
        assert!(!r.text.lines().any(|l| l.starts_with("2,")));
    }

    #[test]
    fn resume_rejects_a_damaged_line_naming_it() {
        let full = sweep_csv(HEADER, &tasks());
        let text = full.replacen(",12.5\n", ",garbage\n", 1);
        let e = resume("out/sweep.csv", Some(&text), HEADER, PER).unwrap_err().to_string();
        assert_eq!(e, "out/sweep.csv: line 2: ci_high: `garbage` is not a number");
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
        // A part of another sweep (another header).
        let mut other = p.clone();
        other[1].text = other[1].text.replacen(",x,", ",y,", 1);
        check(other, "part-2-of-3.csv: its header differs");
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
    fn sweep_json_round_trips_and_rejects_an_empty_object() {
        let m = meta();
        assert_eq!(SweepMeta::from_json("sweep.json", &m.to_json()).unwrap(), m);
        let e = SweepMeta::from_json("d/sweep.json", "{}").unwrap_err().to_string();
        assert!(e.starts_with("d/sweep.json: missing field"), "{e}");
    }

    #[test]
    fn part_file_names_name_their_shard() {
        let s = Shard::new(2, 5).unwrap();
        assert_eq!(part_shard(&file_name(s)), Some(s));
        assert_eq!(file_name(Shard::ALL), "sweep.csv");
        for name in ["sweep.csv", "part-6-of-5.csv", "part-1-of-2.csv.tmp", "part-a-of-2.csv"] {
            assert_eq!(part_shard(name), None, "{name}");
        }
    }
}
