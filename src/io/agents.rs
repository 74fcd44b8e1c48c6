//! `agents.csv`: a tidy per-engineer table (policy, replication, period,
//! engineer, variable, value) of chosen variables, written by an observer
//! run by run, like `timeseries.csv`.

use std::fmt::Write;

use crate::engine::observer::{Observer, ObserverError, RunInfo};
use crate::engine::view::PeriodView;
use crate::error::{Error, Result};
use crate::io::output::{Num, csv_field};

/// The table's header line.
pub const AGENTS_HEADER: &str = "policy,replication,period,engineer,variable,value\n";

/// Variables `agents.csv` can hold, besides `hours.<activity>` and
/// `ai_intensity.<activity>` (tokens per hour).
pub const AGENT_VARIABLES: [&str; 13] = [
    "published",
    "observed",
    "value",
    "gaming_hours",
    "payout",
    "payoff",
    "skill",
    "ai_leverage",
    "integrity",
    "intrinsic_motivation",
    "reward_sensitivity",
    "cost_awareness",
    "perceived_leverage",
];

/// One variable of the table.
#[derive(Debug, Clone, PartialEq)]
enum Var {
    /// One of [`AGENT_VARIABLES`], by index.
    Named(usize),
    /// Hours on an activity.
    Hours(usize),
    /// AI intensity on an activity.
    Tau(usize),
}

/// The variables to write, parsed and checked against a scenario's
/// activities.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentVariables {
    vars: Vec<(String, Var)>,
}

impl AgentVariables {
    /// Parses a comma-separated list such as `published,hours.build,skill`;
    /// an unknown name is an error naming it and suggesting the closest.
    pub fn parse(list: &str, activities: &[String]) -> Result<AgentVariables> {
        let mut allowed: Vec<String> = AGENT_VARIABLES.iter().map(|s| s.to_string()).collect();
        for a in activities {
            allowed.push(format!("hours.{a}"));
            allowed.push(format!("ai_intensity.{a}"));
        }
        let mut vars = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let var = if let Some(j) = AGENT_VARIABLES.iter().position(|v| *v == name) {
                Var::Named(j)
            } else if let Some(a) = name.strip_prefix("hours.").and_then(|a| activities.iter().position(|x| x == a)) {
                Var::Hours(a)
            } else if let Some(a) =
                name.strip_prefix("ai_intensity.").and_then(|a| activities.iter().position(|x| x == a))
            {
                Var::Tau(a)
            } else {
                return Err(Error::unknown("--agents", "variable", name, allowed.iter().map(String::as_str)));
            };
            if !vars.iter().any(|(n, _)| n == name) {
                vars.push((name.to_string(), var));
            }
        }
        if vars.is_empty() {
            return Err(Error::invalid("--agents", list, "a comma-separated list of variables, e.g. published,payout"));
        }
        Ok(AgentVariables { vars })
    }
}

/// The observer that writes one run's rows of `agents.csv` into a buffer.
#[derive(Debug, Clone)]
pub struct AgentTable {
    vars: AgentVariables,
    prefix: String,
    /// The run's rows so far.
    pub rows: String,
}

impl AgentTable {
    /// The table for one run.
    pub fn new(vars: &AgentVariables, run: &RunInfo) -> Self {
        AgentTable {
            vars: vars.clone(),
            prefix: format!("{},{},", csv_field(&run.policy), run.replication),
            rows: String::new(),
        }
    }
}

impl Observer for AgentTable {
    fn period(&mut self, p: &PeriodView) -> std::result::Result<(), ObserverError> {
        let k = p.hours.len();
        let pop = p.population;
        for i in 0..p.engineers {
            for (name, var) in &self.vars.vars {
                let x = match *var {
                    Var::Named(j) => match j {
                        0 => p.published[i],
                        1 => p.observed[i],
                        2 => p.value[i],
                        3 => p.gaming[i],
                        4 => p.payout[i],
                        5 => p.payoff[i],
                        6 => pop.skill[i],
                        7 => pop.ai_leverage[i],
                        8 => pop.integrity[i],
                        9 => pop.intrinsic_motivation[i],
                        10 => pop.reward_sensitivity[i],
                        11 => pop.cost_awareness[i],
                        _ => p.perceived_leverage[i],
                    },
                    Var::Hours(a) => p.plan_hours[i * k + a],
                    Var::Tau(a) => p.plan_tau[i * k + a],
                };
                // Writing to a String cannot fail.
                let _ = writeln!(self.rows, "{}{},{i},{},{}", self.prefix, p.period, csv_field(name), Num(x));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_variables_are_named_with_a_suggestion() {
        let acts = vec!["build".to_string(), "burn".to_string()];
        let e = AgentVariables::parse("published,hours.biuld", &acts).unwrap_err().to_string();
        assert!(e.contains("--agents") && e.contains("hours.biuld") && e.contains("hours.build"), "{e}");
        assert!(AgentVariables::parse(" , ", &acts).is_err());
        let v = AgentVariables::parse("payout, hours.burn,payout", &acts).unwrap();
        assert_eq!(v.vars.len(), 2);
    }
}
