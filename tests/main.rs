//! Integration tests, in one binary to keep link time low.

mod adapt;
mod ai;
mod behaviours;
mod browser;
mod budget;
mod change_audits;
mod cli;
mod common;
mod determinism;
mod engine;
mod hours;
mod mechanics;
mod props;
mod report;
mod reproduce;
mod reproduce_science;
#[cfg(feature = "serve")]
mod serve;
mod social;
mod story;
mod streaming;
mod sweep;
mod turnover;
mod verdict;
mod webdriver;
