//! A sweep's design: its groups of parameters, their points and the
//! tasks they make, each with its scenario.

use rand::Rng;
use toml::{Table, Value};

use crate::engine::rng::{Purpose, Streams, open01};
use crate::error::{Error, Result};
use crate::io::format::set_field;
use crate::io::output::fmt_num;
use crate::model::scenario::Scenario;

/// How a group's points are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Design {
    /// Every combination of every parameter's values.
    Factorial,
    /// `samples` points; each parameter's range is cut into `samples` equal
    /// strata and each stratum is hit exactly once (seeded shuffles).
    LatinHypercube {
        /// Number of points.
        samples: usize,
    },
}

/// A parameter's values: a list, or a range.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Values {
    /// Explicit values (TOML, written as given).
    List(Vec<String>),
    /// From `from` to `to`; `steps` points in a factorial design.
    Range {
        /// Lower end.
        from: f64,
        /// Upper end.
        to: f64,
        /// Points for a factorial design (>= 2).
        steps: usize,
    },
}

/// One group of parameters (uncertainties or levers) and its design.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The design.
    pub design: Design,
    /// Parameters: field path and values.
    pub params: Vec<(String, Values)>,
}

/// A sweep: the two groups, the design seed and replications per task.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// What the organisation might be like.
    pub uncertainties: Group,
    /// What the policy might do.
    pub levers: Group,
    /// Seed of the Latin hypercube shuffles and of the tasks.
    pub seed: u64,
}

fn group_from(path: &str, t: Option<&Table>) -> Result<Group> {
    let Some(t) = t else { return Ok(Group { design: Design::Factorial, params: Vec::new() }) };
    let mut design = Design::Factorial;
    let mut params = Vec::new();
    for (k, v) in t {
        match (k.as_str(), v) {
            ("design", Value::String(d)) => {
                design = match d.as_str() {
                    "factorial" => Design::Factorial,
                    "latin-hypercube" => {
                        let n = match t.get("samples") {
                            Some(Value::Integer(n)) if *n >= 1 && *n <= 100_000 => *n as usize,
                            other => {
                                return Err(Error::invalid(
                                    format!("{path}.samples"),
                                    other.map_or("nothing".into(), |v| v.to_string()),
                                    "an integer in [1, 100000] for a latin-hypercube design",
                                ));
                            }
                        };
                        Design::LatinHypercube { samples: n }
                    }
                    other => {
                        return Err(Error::unknown(
                            format!("{path}.design"),
                            "design",
                            other,
                            ["factorial", "latin-hypercube"],
                        ));
                    }
                }
            }
            ("samples", _) => {}
            (name, Value::Array(a)) => {
                if a.is_empty() {
                    return Err(Error::invalid(format!("{path}.{name}"), "[]", "at least one value"));
                }
                params.push((name.to_string(), Values::List(a.iter().map(|v| v.to_string()).collect())));
            }
            (name, Value::Table(r)) => {
                let num = |key: &str| -> Result<f64> {
                    match r.get(key) {
                        Some(Value::Float(f)) if f.is_finite() => Ok(*f),
                        Some(Value::Integer(i)) => Ok(*i as f64),
                        other => Err(Error::invalid(
                            format!("{path}.{name}.{key}"),
                            other.map_or("nothing".into(), |v| v.to_string()),
                            "a finite number",
                        )),
                    }
                };
                let steps = match r.get("steps") {
                    None => 5,
                    Some(Value::Integer(n)) if *n >= 2 && *n <= 10_000 => *n as usize,
                    Some(v) => {
                        return Err(Error::invalid(format!("{path}.{name}.steps"), v, "an integer in [2, 10000]"));
                    }
                };
                params.push((name.to_string(), Values::Range { from: num("from")?, to: num("to")?, steps }));
            }
            (name, v) => {
                return Err(Error::invalid(
                    format!("{path}.{name}"),
                    v,
                    "a list of values or a range { from, to, steps }",
                ));
            }
        }
    }
    Ok(Group { design, params })
}

impl Sweep {
    /// Reads the `[sweep]` section of a scenario file (`None` if absent).
    pub fn from_toml(text: &str, default_seed: u64) -> Result<Option<Sweep>> {
        let root: Table = text.parse().map_err(|e: toml::de::Error| Error::Parse(e.message().replace('\n', " ")))?;
        let Some(Value::Table(s)) = root.get("sweep") else { return Ok(None) };
        for k in s.keys() {
            if !["uncertainties", "levers", "seed"].contains(&k.as_str()) {
                return Err(Error::unknown(format!("sweep.{k}"), "field", k, ["uncertainties", "levers", "seed"]));
            }
        }
        let table = |k: &str| s.get(k).and_then(|v| v.as_table());
        let seed = match s.get("seed") {
            None => default_seed,
            Some(Value::Integer(i)) if *i >= 0 => *i as u64,
            Some(v) => return Err(Error::invalid("sweep.seed", v, "an integer >= 0")),
        };
        let sweep = Sweep {
            uncertainties: group_from("sweep.uncertainties", table("uncertainties"))?,
            levers: group_from("sweep.levers", table("levers"))?,
            seed,
        };
        let (u, l) = (group_len(&sweep.uncertainties), group_len(&sweep.levers));
        if u.checked_mul(l).is_none_or(|n| n > MAX_TASKS) {
            return Err(Error::invalid(
                "sweep",
                format!("{} tasks ({u} uncertainty points x {l} lever points)", u as u128 * l as u128),
                format!("at most {MAX_TASKS} tasks: fewer values, steps or samples"),
            ));
        }
        Ok(Some(sweep))
    }

    /// All parameter paths, uncertainties first.
    pub fn columns(&self) -> Vec<String> {
        self.uncertainties.params.iter().chain(&self.levers.params).map(|p| p.0.clone()).collect()
    }

    /// The points of one group: for each, the value (as TOML text) of each parameter.
    pub fn points(&self, group: &Group, salt: u64) -> Vec<Vec<String>> {
        let pts = self.group_points(group, salt);
        (0..pts.len()).map(|i| pts.point(i)).collect()
    }

    /// A group's points, kept as each parameter's values (factorial) or
    /// columns (Latin hypercube) so that a point is made when needed.
    fn group_points(&self, group: &Group, salt: u64) -> Points {
        let text = |values: &Values| -> Vec<String> {
            match values {
                Values::List(v) => v.clone(),
                Values::Range { from, to, steps } => {
                    (0..*steps).map(|i| fmt_num(from + (to - from) * i as f64 / (*steps - 1) as f64)).collect()
                }
            }
        };
        match group.design {
            Design::Factorial => Points::Factorial(group.params.iter().map(|(_, v)| text(v)).collect()),
            Design::LatinHypercube { samples } => {
                let columns = latin_hypercube(self.seed, salt, group.params.len(), samples)
                    .into_iter()
                    .zip(&group.params)
                    .map(|(us, (_, values))| {
                        us.into_iter()
                            .map(|u| match values {
                                Values::Range { from, to, .. } => fmt_num(from + (to - from) * u),
                                Values::List(v) => v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone(),
                            })
                            .collect()
                    })
                    .collect();
                Points::Columns { samples, columns }
            }
        }
    }

    /// How many tasks the design makes (saturating: a design past
    /// [`MAX_TASKS`] is refused when read).
    pub fn task_count(&self) -> usize {
        group_len(&self.uncertainties).saturating_mul(group_len(&self.levers))
    }

    /// Every task, in canonical order, each made when asked for.
    pub fn tasks(&self) -> Tasks {
        Tasks { uncertainties: self.group_points(&self.uncertainties, 1), levers: self.group_points(&self.levers, 2) }
    }

    /// The scenario of one task: the parameters set, and a seed that depends
    /// only on the sweep seed and the task's uncertainty point.
    pub fn scenario(&self, base: &Scenario, task: &Task) -> Result<Scenario> {
        let mut sc = base.clone();
        for (path, value) in self.columns().iter().zip(&task.values) {
            sc = set_field(&sc, path, value)?;
        }
        sc.seed =
            Streams::new(self.seed, 1_000_000 + task.uncertainty as u64).stream(Purpose::Population, 0, 0).next_u64()
                >> 1;
        Ok(sc)
    }
}

/// A Latin hypercube of `samples` points in `[0, 1)^dims`, by column: each
/// dimension's range is cut into `samples` equal strata, each stratum is hit
/// exactly once (a seeded permutation), with a uniform point inside it.
/// Reproducible from `seed` and `salt`.
pub fn latin_hypercube(seed: u64, salt: u64, dims: usize, samples: usize) -> Vec<Vec<f64>> {
    let streams = Streams::new(seed, salt);
    (0..dims)
        .map(|j| {
            let mut rng = streams.stream(Purpose::Population, j as u64, 0);
            let mut perm: Vec<usize> = (0..samples).collect();
            for i in (1..samples).rev() {
                let k = (open01(&mut rng) * (i + 1) as f64) as usize;
                perm.swap(i, k.min(i));
            }
            perm.iter().map(|&s| (s as f64 + open01(&mut rng)) / samples as f64).collect()
        })
        .collect()
}

/// The most tasks a sweep may have. Every task is a full simulation, and
/// the finished tasks' estimates are held together for `sweep.csv` and the
/// robustness table (about 2 KB each, 200 MB at the cap); a design past it
/// is refused before any work, naming its size.
pub const MAX_TASKS: usize = 100_000;

/// The number of points of a group (saturating).
fn group_len(group: &Group) -> usize {
    match group.design {
        Design::Factorial => group
            .params
            .iter()
            .map(|(_, v)| match v {
                Values::List(v) => v.len(),
                Values::Range { steps, .. } => *steps,
            })
            .fold(1usize, usize::saturating_mul),
        Design::LatinHypercube { samples } => samples,
    }
}

/// A group's points, made one at a time.
#[derive(Debug, Clone)]
enum Points {
    /// Each parameter's values; the points are every combination, the last
    /// parameter varying fastest.
    Factorial(Vec<Vec<String>>),
    /// Each parameter's value at each of `samples` points.
    Columns { samples: usize, columns: Vec<Vec<String>> },
}

impl Points {
    fn len(&self) -> usize {
        match self {
            Points::Factorial(values) => values.iter().map(Vec::len).fold(1usize, usize::saturating_mul),
            Points::Columns { samples, .. } => *samples,
        }
    }

    /// Point `i` (< `len()`): each parameter's value as TOML text.
    fn point(&self, mut i: usize) -> Vec<String> {
        match self {
            Points::Factorial(values) => {
                let mut out: Vec<String> = values
                    .iter()
                    .rev()
                    .map(|vs| {
                        let v = vs[i % vs.len()].clone();
                        i /= vs.len();
                        v
                    })
                    .collect();
                out.reverse();
                out
            }
            Points::Columns { columns, .. } => columns.iter().map(|c| c[i].clone()).collect(),
        }
    }
}

/// A sweep's tasks in canonical order (`u * levers + l`), each made from
/// its two points when asked for, so memory grows with the number of
/// values rather than with the number of tasks.
#[derive(Debug, Clone)]
pub struct Tasks {
    uncertainties: Points,
    levers: Points,
}

impl Tasks {
    /// The number of tasks.
    pub fn len(&self) -> usize {
        self.uncertainties.len().saturating_mul(self.levers.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Task `index` (canonical), or `None` past the last.
    pub fn get(&self, index: usize) -> Option<Task> {
        if index >= self.len() {
            return None;
        }
        let (u, l) = (index / self.levers.len(), index % self.levers.len());
        Some(Task {
            index,
            uncertainty: u,
            lever: l,
            values: [self.uncertainties.point(u), self.levers.point(l)].concat(),
        })
    }

    /// Every task, in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = Task> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// One task of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// Canonical index.
    pub index: usize,
    /// Index of the uncertainty point.
    pub uncertainty: usize,
    /// Index of the lever point.
    pub lever: usize,
    /// Parameter values (TOML text), in [`Sweep::columns`] order.
    pub values: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_hypercube_hits_every_stratum_once_and_is_reproducible() {
        let text = r#"
            [sweep.uncertainties]
            design = "latin-hypercube"
            samples = 10
            "traits.integrity.mean" = { from = 10, to = 110 }
            "org.incident_cost" = { from = 0, to = 1000 }
        "#;
        let s = Sweep::from_toml(text, 5).unwrap().unwrap();
        let pts = s.points(&s.uncertainties, 1);
        assert_eq!(pts.len(), 10);
        let cols = s.columns();
        for (name, lo, hi) in [("traits.integrity.mean", 10.0, 110.0), ("org.incident_cost", 0.0, 1000.0)] {
            let j = cols.iter().position(|c| c == name).unwrap();
            let mut strata: Vec<usize> =
                pts.iter().map(|p| ((p[j].parse::<f64>().unwrap() - lo) / (hi - lo) * 10.0) as usize).collect();
            strata.sort();
            assert_eq!(strata, (0..10).collect::<Vec<_>>(), "{name}");
        }
        assert_eq!(pts, Sweep::from_toml(text, 5).unwrap().unwrap().points(&s.uncertainties, 1));
        let other = Sweep::from_toml(&text.replace("samples = 10", "samples = 10\n"), 6).unwrap().unwrap();
        assert_ne!(pts, other.points(&other.uncertainties, 1));
    }

    #[test]
    fn factorial_crosses_every_value() {
        let s = Sweep::from_toml(
            "[sweep.levers]\n\"policy[kirorank].reward.prize\" = [0, 3000]\n\"org.engineers\" = { from = 10, to = 30, steps = 3 }\n",
            1,
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.points(&s.levers, 2).len(), 6);
        assert_eq!(s.tasks().len(), 6);
        assert_eq!(s.task_count(), 6);
        assert!(Sweep::from_toml("[sweep]\nlevel = 1\n", 1).unwrap_err().to_string().contains("did you mean `levers`"));
    }

    #[test]
    fn tasks_made_one_at_a_time_equal_every_combination_in_order() {
        let s = Sweep::from_toml(
            "[sweep.uncertainties]\n\"org.engineers\" = [10, 20, 30]\n\"org.incident_cost\" = [1, 2]\n\
             [sweep.levers]\ndesign = \"latin-hypercube\"\nsamples = 4\n\"org.value_noise\" = { from = 0, to = 1 }\n",
            3,
        )
        .unwrap()
        .unwrap();
        // Every combination, the last parameter fastest, uncertainties outermost.
        let mut want = Vec::new();
        let levers = s.points(&s.levers, 2);
        for e in ["10", "20", "30"] {
            for c in ["1", "2"] {
                for l in &levers {
                    want.push([vec![e.to_string(), c.to_string()], l.clone()].concat());
                }
            }
        }
        let tasks = s.tasks();
        assert_eq!(tasks.len(), want.len());
        assert_eq!(tasks.iter().map(|t| t.values).collect::<Vec<_>>(), want);
        let t = tasks.get(13).unwrap();
        assert_eq!((t.index, t.uncertainty, t.lever), (13, 3, 1));
        assert!(tasks.get(24).is_none());
    }

    #[test]
    fn a_design_past_the_task_cap_is_refused_before_any_point_is_made() {
        let text = "[sweep.levers]\n\"org.engineers\" = { from = 10, to = 20, steps = 10000 }\n\
                    \"org.incident_cost\" = { from = 0, to = 1, steps = 10000 }\n\
                    \"org.value_noise\" = { from = 0, to = 1, steps = 10000 }\n";
        let e = Sweep::from_toml(text, 1).unwrap_err().to_string();
        assert!(e.contains("1000000000000 tasks (1 uncertainty points x 1000000000000 lever points)"), "{e}");
        assert!(e.contains("at most 100000 tasks"), "{e}");
        // Exactly at the cap is allowed; one point more is not.
        let at = "[sweep.uncertainties]\ndesign = \"latin-hypercube\"\nsamples = 1000\n\"org.value_noise\" = { from = 0, to = 1 }\n\
                  [sweep.levers]\n\"org.engineers\" = { from = 10, to = 20, steps = 100 }\n";
        assert_eq!(Sweep::from_toml(at, 1).unwrap().unwrap().task_count(), MAX_TASKS);
        assert!(Sweep::from_toml(&at.replace("steps = 100 ", "steps = 101 "), 1).is_err());
    }
}
