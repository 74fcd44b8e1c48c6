//! Built-in scenarios and policies, shipped as scenario files inside the
//! crate so that users can print them (`goodhart init <preset>`) and edit.

use crate::error::{Error, Result};
use crate::io::format::parse_scenario;
use crate::model::policy::Policy;
use crate::model::scenario::Scenario;

/// A built-in scenario: its name, a one-line summary and its file text.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioPreset {
    /// Name, as given to `goodhart run`.
    pub name: &'static str,
    /// One line on what it shows.
    pub summary: &'static str,
    /// The scenario file.
    pub text: &'static str,
}

/// The built-in scenarios.
pub const SCENARIOS: [ScenarioPreset; 12] = [
    ScenarioPreset {
        name: "story",
        summary: "the seed story: every policy preset on the default 200-engineer org, 52 weeks",
        text: include_str!("presets/story.toml"),
    },
    ScenarioPreset {
        name: "ai-mandates",
        summary: "AI-use mandates of the day: badges for token use, AI use in reviews (status, not money)",
        text: include_str!("presets/ai-mandates.toml"),
    },
    ScenarioPreset {
        name: "ai-adoption",
        summary: "the organisation with and without AI tools, calibrated against published effect sizes",
        text: include_str!("presets/ai-adoption.toml"),
    },
    ScenarioPreset {
        name: "ai-targets",
        summary: "the AI-assisted share of changes as a goal, in reviews and on a board",
        text: include_str!("presets/ai-targets.toml"),
    },
    ScenarioPreset {
        name: "ai-suggestions",
        summary: "the share of AI suggestions accepted, counted in performance reviews",
        text: include_str!("presets/ai-suggestions.toml"),
    },
    ScenarioPreset {
        name: "ai-days",
        summary: "fewer than N days a month of AI use counted against engineers in reviews",
        text: include_str!("presets/ai-days.toml"),
    },
    ScenarioPreset {
        name: "metrics-of-the-day",
        summary: "boards that count pull requests and lines of code, as engineering dashboards do",
        text: include_str!("presets/metrics-of-the-day.toml"),
    },
    ScenarioPreset {
        name: "stack-ranking",
        summary: "stack ranking on the token board over three years: turnover, hires, and who stays",
        text: include_str!("presets/stack-ranking.toml"),
    },
    ScenarioPreset {
        name: "regressional",
        summary: "teaching: selecting the top by an honest but noisy measure",
        text: include_str!("presets/regressional.toml"),
    },
    ScenarioPreset {
        name: "extremal",
        summary: "teaching: token use pushed beyond the point of diminishing returns",
        text: include_str!("presets/extremal.toml"),
    },
    ScenarioPreset {
        name: "causal",
        summary: "teaching: rewarding deployments, which value causes, raises them without value",
        text: include_str!("presets/causal.toml"),
    },
    ScenarioPreset {
        name: "adversarial",
        summary: "teaching: engineers game a token leaderboard on purpose (tokenmaxxing)",
        text: include_str!("presets/adversarial.toml"),
    },
];

/// A built-in scenario by name.
pub fn scenario(name: &str) -> Result<Scenario> {
    match SCENARIOS.iter().find(|p| p.name == name) {
        Some(p) => parse_scenario(p.text),
        None => Err(Error::unknown("preset", "scenario preset", name, SCENARIOS.iter().map(|p| p.name))),
    }
}

/// The built-in policies: the `story` scenario's, then the `ai-mandates`
/// scenario's that the story does not have, in order.
pub fn policies() -> Vec<Policy> {
    let mut out = scenario("story").map(|s| s.policies).unwrap_or_default();
    for p in scenario("ai-mandates").map(|s| s.policies).unwrap_or_default() {
        if !out.iter().any(|q| q.name == p.name) {
            out.push(p);
        }
    }
    out
}

/// A scenario comparing the named policy presets on `org` (a scenario whose
/// organisation, traits, activities and behaviour are used; its policies
/// are replaced). The first name is the baseline. Policies that a schedule
/// refers to are added after the named ones.
pub fn compare(names: &[String], org: Scenario) -> Result<Scenario> {
    let all = policies();
    if names.is_empty() {
        return Err(Error::invalid("policies", "none", "at least one policy preset"));
    }
    let mut chosen: Vec<Policy> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let p = all.iter().find(|p| &p.name == n).ok_or_else(|| {
            Error::unknown(format!("policies[{i}]"), "policy preset", n, all.iter().map(|p| p.name.as_str()))
        })?;
        if !chosen.iter().any(|c| c.name == p.name) {
            chosen.push(p.clone());
        }
    }
    let mut k = 0;
    while k < chosen.len() {
        for st in chosen[k].schedule.clone() {
            if !chosen.iter().any(|c| c.name == st.policy) {
                if let Some(p) = all.iter().find(|p| p.name == st.policy) {
                    chosen.push(p.clone());
                }
            }
        }
        k += 1;
    }
    let sc = Scenario { baseline: Some(names[0].clone()), policies: chosen, ..org };
    sc.validate()?;
    Ok(sc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads_and_every_policy_preset_exists() {
        // Each says what it stands for: the scenario and every policy in it.
        for p in SCENARIOS {
            let sc = scenario(p.name).unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(!sc.description.trim().is_empty(), "{}: no description", p.name);
            for q in &sc.policies {
                assert!(!q.description.trim().is_empty(), "{}: policy {} has no description", p.name, q.name);
            }
        }
        let names: Vec<String> = policies().iter().map(|p| p.name.clone()).collect();
        for want in [
            "no-leaderboard",
            "kirorank",
            "raw-deployments",
            "normalized-deployments",
            "shipped-and-survived",
            "dora-composite",
            "kirorank-audited",
            "token-budget",
            "kirorank-then-normalized",
            "token-badges",
            "ai-use-review",
        ] {
            assert!(names.iter().any(|n| n == want), "{want}");
        }
        let sc = compare(&["kirorank-then-normalized".into()], Scenario::default()).unwrap();
        assert_eq!(sc.policies.len(), 3);
        assert!(
            compare(&["kirorang".into()], Scenario::default())
                .unwrap_err()
                .to_string()
                .contains("did you mean `kirorank`")
        );
    }
}
