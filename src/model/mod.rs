//! The scenario's parts: the organisation, engineers' traits, activities,
//! metrics, rewards and policies, and the presets built from them. This
//! layer knows no engine: it is what a scenario file describes. Each
//! field of the file is declared once: its type and default by these
//! types' serde derives, its meaning, unit and range by a row of
//! [`schema::FIELDS`].
//!
//! The rest of this page is the model in full (also `docs/model.md`): every
//! mechanism's equation, unit, default and source.
//!
// Citations in the model page are written [S1], [S2], ...: plain text, not links.
#![allow(rustdoc::broken_intra_doc_links)]
#![doc = include_str!("../../docs/model.md")]

pub mod activity;
pub mod dist;
pub mod engineer;
pub mod metric;
pub mod org;
pub mod policy;
pub mod preset;
pub mod reward;
pub mod scenario;
pub mod schema;
pub mod social;
pub mod turnover;
