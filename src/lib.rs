//! sextant: YAML pipelines on DataFusion that turn sales and market-research data
//! into the KPI reviews leadership steers by.

pub mod cli;
pub mod clock;
pub mod config;
pub mod diag;
pub mod engine;
pub mod kpi;
pub mod period;
pub mod run;
pub mod sample;
pub mod spec;
pub mod store;
