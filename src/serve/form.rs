//! What a page sends to describe a scenario, and how it becomes one: a
//! base (a preset or an example file), the plausible-range factors of the
//! sliders, then field edits by path, exactly as `goodhart run --set`
//! applies them, so that every message is the command line's.

use goodhart::Scenario;
use goodhart::analysis::assumptions::ASSUMPTIONS;
use goodhart::io::format;
use goodhart::model::preset;
use serde::{Deserialize, Serialize};

/// The example scenario files shipped in `examples/scenarios/`, offered as
/// bases beside the presets (a `[sweep]` section is ignored here).
pub const EXAMPLES: [(&str, &str); 2] = [
    ("kirorank.toml", include_str!("../../examples/scenarios/kirorank.toml")),
    ("linear-contract.toml", include_str!("../../examples/scenarios/linear-contract.toml")),
];

/// The assumptions a slider moves (every plausible range of factors in
/// `analysis::assumptions` but the prize, which each policy sets; the
/// ranges of values, AI perception's, are edited as fields).
pub fn sliders() -> impl Iterator<Item = &'static goodhart::analysis::assumptions::Assumption> {
    ASSUMPTIONS.iter().filter(|a| a.name != "prize" && !a.absolute())
}

/// A scenario as a page describes it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Form {
    /// A scenario preset's name, or an example file's (`kirorank.toml`).
    #[serde(default)]
    pub base: String,
    /// Factors on the base's value of each named assumption (1: as the base has it).
    #[serde(default)]
    pub factors: Vec<(String, f64)>,
    /// Field edits, `(path, value)`, as `--set PATH=VALUE` takes them.
    #[serde(default)]
    pub sets: Vec<(String, String)>,
}

/// A message for one field of the form (`None`: the form as a whole).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldError {
    /// The path the page edits (`policy[kirorank].reward.prize`), the
    /// factor's name (`x.integrity`), `base`, or `None`.
    pub field: Option<String>,
    /// The message, as the command line prints it after `--set PATH=VALUE: `.
    pub message: String,
}

/// The most bytes a form may hold (paths and values).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The scenario a form describes, or every message it earns: each edit
/// that the library refuses is named by its path and the others still
/// apply, so one mistake does not hide the next.
pub fn resolve(form: &Form) -> Result<Scenario, Vec<FieldError>> {
    let size: usize = form.sets.iter().map(|(p, v)| p.len() + v.len()).sum::<usize>() + form.base.len();
    if size > MAX_FORM_BYTES {
        return Err(vec![FieldError { field: None, message: "the form holds more than 64 KiB of edits".into() }]);
    }
    let base = if form.base.is_empty() { "story" } else { form.base.as_str() };
    let mut sc = match EXAMPLES.iter().find(|(n, _)| *n == base) {
        Some((_, text)) => format::parse_scenario(text),
        None => preset::scenario(base),
    }
    .map_err(|e| vec![FieldError { field: Some("base".into()), message: e.to_string() }])?;
    let mut errors = Vec::new();
    for (name, f) in &form.factors {
        let field = Some(format!("x.{name}"));
        let Some(a) = sliders().find(|a| a.name == name) else {
            errors.push(FieldError { field, message: format!("{name}: no such assumption") });
            continue;
        };
        let (lo, hi) = (a.factor(0.0), a.factor(1.0));
        if !(f.is_finite() && (lo - 1e-9..=hi + 1e-9).contains(f)) {
            errors.push(FieldError {
                field,
                message: format!("{name}: factor {f} is not allowed; expected a factor in [{lo:.3}, {hi:.3}]"),
            });
            continue;
        }
        if let Some(s) = a.applied(&sc, *f) {
            sc = s;
        }
    }
    for (path, value) in &form.sets {
        match format::set_field(&sc, path.trim(), value.trim()) {
            Ok(s) => sc = s,
            Err(e) => errors.push(FieldError { field: Some(path.clone()), message: e.to_string() }),
        }
    }
    if errors.is_empty() {
        if let Err(e) = sc.validate() {
            errors.push(FieldError { field: None, message: e.to_string() });
        }
    }
    if errors.is_empty() { Ok(sc) } else { Err(errors) }
}

/// The scenario as its file's fields (the resolved TOML read back as
/// JSON), for the page to fill its form from; every default filled in.
pub fn fields(sc: &Scenario) -> serde_json::Value {
    let text = format::write_scenario(sc);
    toml::from_str::<toml::Value>(&text)
        .ok()
        .and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The value of each slider's parameter in `sc` (a trait's mean; for a
/// parameter of several activities, the largest), for the page to show
/// what a factor means (`None` where the scenario does not use it, and the
/// page shows no slider).
pub fn slider_values(sc: &Scenario) -> Vec<(String, Option<f64>)> {
    let t = &sc.traits;
    sliders()
        .map(|a| {
            let v = match a.name {
                "integrity" => Some(t.integrity.dist.mean()),
                "reward_sensitivity" => Some(t.reward_sensitivity.dist.mean()),
                "intrinsic_motivation" => Some(t.intrinsic_motivation.dist.mean()),
                "cost_awareness" => Some(t.cost_awareness.dist.mean()),
                "ai_leverage" => Some(t.ai_leverage.dist.mean()),
                "never_game_fraction" => Some(t.never_game_fraction),
                "token_price" => Some(sc.org.token_price_per_million),
                "incident_cost" => Some(sc.org.incident_cost),
                "incident_probability" => Some(sc.org.incident_probability),
                "defect_detection" => Some(sc.org.defect_detection),
                "overtime_cost" => Some(sc.org.overtime_cost),
                "max_hours" => Some(sc.org.max_hours_per_period),
                "incident_share" => Some(sc.org.incident_share),
                "effort_cost" => Some(sc.effort_cost.coefficient),
                // Activities: the largest value, the most fixed tokens (millions), a gaming
                // activity's convexity; none where no activity has one.
                "value_per_hour" => sc.activities.iter().map(|a| a.value_per_hour).reduce(f64::max),
                "burn_tokens" => {
                    sc.activities.iter().map(|a| a.tokens_per_hour / 1e6).filter(|&t| t > 0.0).reduce(f64::max)
                }
                "gaming_convexity" => {
                    sc.activities.iter().filter(|a| a.gaming && a.convexity > 0.0).map(|a| a.convexity).reduce(f64::max)
                }
                _ => None,
            };
            (a.name.to_string(), v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(sets: &[(&str, &str)]) -> Form {
        Form {
            base: "story".into(),
            factors: vec![],
            sets: sets.iter().map(|(p, v)| (p.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn an_edit_applies_as_set_does() {
        let sc = resolve(&form(&[("policy[kirorank].reward.prize", "500")])).unwrap();
        let direct = format::set_field(&preset::scenario("story").unwrap(), "policy[kirorank].reward.prize", "500");
        assert_eq!(format::write_scenario(&sc), format::write_scenario(&direct.unwrap()));
    }

    #[test]
    fn each_bad_edit_is_named_with_the_command_lines_message() {
        let e = resolve(&form(&[("org.engineers", "0"), ("policy[kirorank].reward.prize", "-5")])).unwrap_err();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].field.as_deref(), Some("org.engineers"));
        let cli = format::set_field(&preset::scenario("story").unwrap(), "org.engineers", "0").unwrap_err();
        assert_eq!(e[0].message, cli.to_string());
        assert!(e[1].message.contains("prize"), "{}", e[1].message);
    }

    #[test]
    fn every_preset_and_example_resolves_with_its_sliders() {
        let bases = preset::SCENARIOS.iter().map(|p| p.name).chain(EXAMPLES.iter().map(|(n, _)| *n));
        for base in bases {
            let f = Form { base: base.into(), ..Form::default() };
            let sc = resolve(&f).unwrap_or_else(|e| panic!("{base}: {e:?}"));
            assert!(fields(&sc)["policy"].as_array().is_some_and(|p| !p.is_empty()), "{base}");
            let shown = slider_values(&sc).iter().filter(|(_, v)| v.is_some()).count();
            assert!(shown >= 12, "{base}: {shown} sliders");
        }
    }

    #[test]
    fn a_factor_outside_its_plausible_range_is_refused() {
        let mut f = form(&[]);
        f.factors = vec![("integrity".into(), 100.0)];
        let e = resolve(&f).unwrap_err();
        assert_eq!(e[0].field.as_deref(), Some("x.integrity"));
        f.factors = vec![("integrity".into(), 2.0)];
        let sc = resolve(&f).unwrap();
        assert!((sc.traits.integrity.dist.mean() - 120.0).abs() < 1e-9);
    }
}
