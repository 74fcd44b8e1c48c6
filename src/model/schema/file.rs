//! File shapes: how the few types whose file spelling differs from their
//! Rust layout are read and written (a truncated distribution, the effort
//! cost, behaviour, a metric written as a name or a table), and the serde
//! helpers the model's derives use (counts, signal tables).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::model::activity::{EffortCost, EffortForm};
use crate::model::dist::{Dist, TraitDist};
use crate::model::metric::{BUILTIN_METRICS, Metric, Noise};

/// [`whole`] for an optional count (present in the file: `Some`).
pub(crate) fn whole_opt<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    whole(d).map(Some)
}

/// Reads a count: a non-negative integer, or a float with no fraction
/// (`52.0`, as a sweep over a range may write it). Range checks are the
/// row's, in `validate`.
pub(crate) fn whole<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    struct Whole;
    impl Visitor<'_> for Whole {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a non-negative integer")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<u64, E> {
            // 2^64 itself is not a u64: `<` keeps the cast exact.
            if v.fract() == 0.0 && v >= 0.0 && v < u64::MAX as f64 {
                Ok(v as u64)
            } else {
                Err(E::invalid_value(de::Unexpected::Float(v), &self))
            }
        }
    }
    let v = d.deserialize_any(Whole)?;
    T::try_from(v).map_err(|_| de::Error::invalid_value(de::Unexpected::Unsigned(v), &"a smaller integer"))
}

/// Signal weights are a table `{ name = number }` in a file and a list of
/// pairs in the model, in name order.
pub(crate) mod signals {
    use super::*;

    /// Writes the pairs as a table.
    pub(crate) fn serialize<S: Serializer>(v: &[(String, f64)], s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(v.iter().map(|(k, w)| (k, w)))
    }

    /// Reads a table into pairs, sorted by name (as a TOML table lists them).
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<(String, f64)>, D::Error> {
        let mut v: Vec<(String, f64)> =
            std::collections::BTreeMap::<String, f64>::deserialize(d)?.into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    }
}

/// A trait's distribution as a file writes it: the family's tag, its
/// parameters (each with its default) and optional truncation bounds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
#[allow(missing_docs)]
pub(crate) enum DistFile {
    Constant {
        #[serde(default)]
        value: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    Uniform {
        #[serde(default)]
        low: f64,
        #[serde(default = "one")]
        high: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    Normal {
        #[serde(default)]
        mean: f64,
        #[serde(default = "one")]
        sd: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    Lognormal {
        #[serde(default = "one")]
        mean: f64,
        #[serde(default = "one")]
        sd: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    Beta {
        #[serde(default = "one")]
        alpha: f64,
        #[serde(default = "one")]
        beta: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    Exponential {
        #[serde(default = "one")]
        mean: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
}

fn one() -> f64 {
    1.0
}

impl From<DistFile> for TraitDist {
    fn from(f: DistFile) -> Self {
        let (dist, min, max) = match f {
            DistFile::Constant { value, min, max } => (Dist::Constant { value }, min, max),
            DistFile::Uniform { low, high, min, max } => (Dist::Uniform { low, high }, min, max),
            DistFile::Normal { mean, sd, min, max } => (Dist::Normal { mean, sd }, min, max),
            DistFile::Lognormal { mean, sd, min, max } => (Dist::Lognormal { mean, sd }, min, max),
            DistFile::Beta { alpha, beta, min, max } => (Dist::Beta { alpha, beta }, min, max),
            DistFile::Exponential { mean, min, max } => (Dist::Exponential { mean }, min, max),
        };
        TraitDist { dist, min, max }
    }
}

impl From<TraitDist> for DistFile {
    fn from(t: TraitDist) -> Self {
        let (min, max) = (t.min, t.max);
        match t.dist {
            Dist::Constant { value } => DistFile::Constant { value, min, max },
            Dist::Uniform { low, high } => DistFile::Uniform { low, high, min, max },
            Dist::Normal { mean, sd } => DistFile::Normal { mean, sd, min, max },
            Dist::Lognormal { mean, sd } => DistFile::Lognormal { mean, sd, min, max },
            Dist::Beta { alpha, beta } => DistFile::Beta { alpha, beta, min, max },
            Dist::Exponential { mean } => DistFile::Exponential { mean, min, max },
        }
    }
}

/// The shape of the effort cost by name.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub(crate) enum FormName {
    Separable,
    Total,
    #[default]
    Mixed,
    Power,
}

/// The effort cost as a file writes it: the form by name, its parameter
/// (which the other forms ignore) and the coefficient.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct EffortFile {
    form: FormName,
    #[serde(skip_serializing_if = "Option::is_none")]
    substitution: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exponent: Option<f64>,
    coefficient: f64,
}

/// The default exponent of the power form.
const DEFAULT_EXPONENT: f64 = 2.0;

impl Default for EffortFile {
    fn default() -> Self {
        EffortCost::default().into()
    }
}

impl From<EffortCost> for EffortFile {
    fn from(e: EffortCost) -> Self {
        let (form, substitution, exponent) = match e.form {
            EffortForm::Separable => (FormName::Separable, None, None),
            EffortForm::Total => (FormName::Total, None, None),
            EffortForm::Mixed { substitution } => (FormName::Mixed, Some(substitution), None),
            EffortForm::Power { exponent } => (FormName::Power, None, Some(exponent)),
        };
        EffortFile { form, substitution, exponent, coefficient: e.coefficient }
    }
}

impl From<EffortFile> for EffortCost {
    fn from(f: EffortFile) -> Self {
        let default_substitution = EffortCost::default().substitution().unwrap_or(0.0);
        let form = match f.form {
            FormName::Separable => EffortForm::Separable,
            FormName::Total => EffortForm::Total,
            FormName::Mixed => EffortForm::Mixed { substitution: f.substitution.unwrap_or(default_substitution) },
            FormName::Power => EffortForm::Power { exponent: f.exponent.unwrap_or(DEFAULT_EXPONENT) },
        };
        EffortCost { form, coefficient: f.coefficient }
    }
}

/// A metric as a file writes it in table form.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricFile {
    name: Option<String>,
    builtin: Option<Builtin>,
    #[serde(default, deserialize_with = "opt_signals")]
    signals: Option<Vec<(String, f64)>>,
    #[serde(default, deserialize_with = "opt_signals")]
    per: Option<Vec<(String, f64)>>,
    noise: Option<Noise>,
    #[serde(default, deserialize_with = "opt_whole")]
    delay: Option<u32>,
    #[serde(default, deserialize_with = "opt_whole")]
    window: Option<u32>,
    cap: Option<f64>,
}

fn opt_signals<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Vec<(String, f64)>>, D::Error> {
    signals::deserialize(d).map(Some)
}

fn opt_whole<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u32>, D::Error> {
    whole(d).map(Some)
}

/// The name of a built-in metric, checked as it is read.
#[derive(Debug)]
struct Builtin(String);

impl<'de> Deserialize<'de> for Builtin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if BUILTIN_METRICS.contains(&s.as_str()) {
            Ok(Builtin(s))
        } else {
            Err(de::Error::unknown_variant(&s, &BUILTIN_METRICS))
        }
    }
}

/// The survival window a built-in metric is read with before the resolve
/// step sets the org's ([`crate::io::format::parse_scenario`]).
fn provisional_builtin(name: &str) -> Metric {
    // The name was checked against BUILTIN_METRICS: this cannot fail.
    Metric::builtin(name, 0).unwrap_or_else(|_| Metric::weighted(name, Vec::new()))
}

impl<'de> Deserialize<'de> for Metric {
    /// A metric is a built-in's name (`"tokens"`) or a table: `signals`
    /// weights or a `builtin` to start from, then `name`, `noise`, `delay`,
    /// `window` and `cap` overriding. A built-in's delay that depends on the
    /// org's survival window is set by the resolve step after reading.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct MetricVisitor;
        impl<'de> Visitor<'de> for MetricVisitor {
            type Value = Metric;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a built-in metric name or a table")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Metric, E> {
                if BUILTIN_METRICS.contains(&s) {
                    Ok(provisional_builtin(s))
                } else {
                    Err(E::unknown_variant(s, &BUILTIN_METRICS))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<Metric, A::Error> {
                let f = MetricFile::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let mut m = match (&f.builtin, f.signals.is_some()) {
                    (Some(b), _) => provisional_builtin(&b.0),
                    (None, true) => Metric::weighted("custom", Vec::new()),
                    (None, false) => return Err(de::Error::missing_field("signals")),
                };
                if let Some(s) = f.signals {
                    m.weights = s;
                }
                if let Some(s) = f.per {
                    m.per = s;
                }
                if let Some(n) = f.name {
                    m.name = n;
                }
                if let Some(n) = f.noise {
                    m.noise = n;
                }
                if let Some(x) = f.delay {
                    m.delay = x;
                }
                if let Some(x) = f.window {
                    m.window = x;
                }
                if f.cap.is_some() {
                    m.cap = f.cap;
                }
                Ok(m)
            }
        }
        d.deserialize_any(MetricVisitor)
    }
}
