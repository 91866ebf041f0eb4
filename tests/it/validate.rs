//! `validate`: every problem of a pipeline at once, each with file, line and column.

use std::path::Path;
use std::sync::Arc;

use sextant::engine::Engine;
use sextant::period::Period;

use crate::common::{render, workspace};

async fn validate(path: &str, data: &str) -> Vec<sextant::diag::Diagnostic> {
    let out = tempfile::tempdir().unwrap();
    let ws = workspace(data, out.path());
    let (pipeline, mut problems) = sextant::spec::load_lenient(Path::new(path));
    let Some(pipeline) = pipeline else { return problems };
    let engine = Engine::new(Arc::new(pipeline), &Period::month(2026, 10).unwrap());
    problems.extend(match engine.register_sources(&ws.data_root).await {
        Ok(_) => engine.validate().await,
        Err(d) => d,
    });
    problems
}

#[tokio::test]
async fn unknown_key_missing_column_and_undefined_table_all_at_once() {
    // The unknown key is set aside so that the SQL is still planned and its problems reported.
    let d = validate("tests/fixtures/pipelines/broken.yaml", "data").await;
    let found: Vec<_> = d.iter().map(|d| (d.code, d.place.unwrap().line)).collect();
    assert_eq!(found, vec![("spec::unknown-key", 7), ("sql::unknown-column", 13), ("sql::unknown-table", 20)]);
    insta::assert_snapshot!(render(&d));
}

#[tokio::test]
async fn the_shipped_pipelines_are_valid_on_the_fixture_data() {
    let d = validate("pipelines/sales_overview.yaml", "data").await;
    assert!(d.is_empty(), "{}", render(&d));
}

#[tokio::test]
async fn sql_problems_point_into_the_yaml() {
    let text =
        std::fs::read_to_string("tests/fixtures/pipelines/broken.yaml").unwrap().replace("    colums:", "    columns:");
    let pipeline = sextant::spec::load_str(Path::new("tests/fixtures/pipelines/broken.yaml"), &text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let ws = workspace("data", out.path());
    let engine = Engine::new(Arc::new(pipeline), &Period::month(2026, 10).unwrap());
    engine.register_sources(&ws.data_root).await.unwrap();
    let d = engine.validate().await;
    let places: Vec<_> = d.iter().map(|d| (d.code, d.place.unwrap().line, d.place.unwrap().column)).collect();
    // `amountt` on line 13, column 18; `custmers` on line 20, column 12.
    assert_eq!(places, vec![("sql::unknown-column", 13, 18), ("sql::unknown-table", 20, 12)]);
    insta::assert_snapshot!(render(&d));
}

#[test]
fn every_yaml_problem_at_once() {
    let text = "version: 2\nname: bad name\ngrain: weekly\nfiscal_year_start: 13\nsources:\n  - name: Orders\n    location: orders.xlsx\n  - name: t\n    location: t.csv\n    format: cvs\n    columns:\n      amount: money\nsteps:\n  - name: s\n    sql: SELECT 1\n    descripton: typo\nchecks:\n  - unique: { table: orderz, columns: [id] }\n    \nexports:\n  - table: s\n    format: xlsx\n";
    let d = sextant::spec::load_str(Path::new("p.yaml"), text).unwrap_err();
    assert_eq!(
        d.iter().map(|d| (d.code, d.place.map_or(0, |p| p.line))).collect::<Vec<_>>(),
        vec![
            ("spec::unknown-key", 16),
            ("spec::version", 1),
            ("spec::name", 2),
            ("spec::grain", 3),
            ("spec::fiscal-year-start", 4),
            ("spec::table-name", 6),
            ("spec::format", 7),
            ("spec::format", 10),
            ("spec::column-type", 12),
            ("spec::unknown-table", 18),
            ("spec::export-format", 22),
        ]
    );
    insta::assert_snapshot!(render(&d));
}

#[test]
fn several_unknown_keys_are_all_reported() {
    let text = "version: 1\nnme: x\nname: ok\nsteps:\n  - name: s\n    sqll: SELECT 1\n    sql: SELECT 1\nexport: []\n";
    let d = sextant::spec::load_str(Path::new("p.yaml"), text).unwrap_err();
    let found: Vec<_> = d.iter().map(|d| (d.message.clone(), d.place.unwrap().line, d.hint.clone().unwrap())).collect();
    assert_eq!(
        found,
        vec![
            ("unknown key `nme`".to_string(), 2, "did you mean `name`?".to_string()),
            ("unknown key `sqll`".to_string(), 6, "did you mean `sql`?".to_string()),
            ("unknown key `export`".to_string(), 8, "did you mean `exports`?".to_string()),
        ]
    );
}

#[test]
fn a_table_note_must_name_an_export_and_come_with_a_limit() {
    let text = "version: 1\nname: p\nsteps:\n  - name: s\n    sql: SELECT 1 AS x\nexports:\n  - table: s\n    as: all_of_s\nreports:\n  - name: r\n    title: { en: R, zh-CN: R }\n    sections:\n      - table:\n          title: { en: T, zh-CN: T }\n          table: s\n          limit: 5\n          more: s\n          columns: [{ column: x, label: { en: X, zh-CN: X } }]\n      - table:\n          title: { en: U, zh-CN: U }\n          table: s\n          more: all_of_s\n          columns: [{ column: x, label: { en: X, zh-CN: X } }]\n";
    let d = sextant::spec::load_str(Path::new("p.yaml"), text).unwrap_err();
    let found: Vec<_> = d
        .iter()
        .map(|d| {
            (d.message.clone(), d.place.map_or((0, 0), |p| (p.line, p.column)), d.hint.clone().unwrap_or_default())
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("`more: s` names no export".to_string(), (17, 17), "use one of the exports: all_of_s".to_string()),
            (
                "`more` without `limit`: the table is never cut".to_string(),
                (22, 17),
                "add `limit: <rows>`, or remove `more`".to_string()
            ),
        ]
    );
}
