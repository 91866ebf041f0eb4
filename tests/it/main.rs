//! Integration tests: one binary (every extra one links DataFusion again).

mod cli;
mod common;
mod run;
mod validate;
