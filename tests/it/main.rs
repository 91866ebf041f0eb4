//! Integration tests: one binary (every extra one links DataFusion again).

mod cli;
mod common;
mod compare;
mod deliver;
mod kpi_cases;
mod reference;
mod reports;
mod run;
mod schedule;
mod servers;
mod validate;
