//! sextant: YAML pipelines on DataFusion that turn sales and market-research data
//! into the KPI reviews leadership steers by.
//!
//! The modules follow the data's path: [`spec`] (YAML in) → [`engine`] (DataFusion) →
//! [`kpi`] → [`store`] (staged publication), driven by [`run`] and [`cli`].

// Diagnostics carry their source text so they can be rendered anywhere; they are built on
// error paths only, so their size in `Result::Err` costs nothing on the happy path.
#![allow(clippy::result_large_err)]

pub mod cli;
pub mod clock;
pub mod config;
pub mod deliver;
pub mod diag;
pub mod engine;
pub mod kpi;
pub mod period;
pub mod report;
pub mod retry;
pub mod run;
pub mod sample;
pub mod schedule;
pub mod spec;
pub mod store;
