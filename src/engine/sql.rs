//! Planning the SQL written in pipelines, with errors mapped back to the YAML file.

use datafusion::common::ParamValues;
use datafusion::config::Dialect;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::parser::Statement;

use crate::diag::{Diagnostic, did_you_mean};
use crate::spec::SqlText;

/// The period parameters a query may use, for hints.
pub const PARAMETERS: &[&str] = &[
    "$period_start",
    "$period_end",
    "$prev_start",
    "$prev_end",
    "$yoy_start",
    "$yoy_end",
    "$as_of",
    "$series_start",
    "$series_prev_start",
    "$window_start",
    "$prev_window_start",
    "$period_index",
    "$periods_per_year",
];

/// Parses `sql` into a statement.
///
/// # Errors
/// A syntax error, pointing at its place in the pipeline file.
pub fn parse(state: &SessionState, sql: &SqlText, what: &str) -> Result<Statement, Diagnostic> {
    state.sql_to_statement(&sql.text, &Dialect::Generic).map_err(|e| sql_diagnostic(sql, what, &e))
}

/// The tables `statement` reads (CTE names excluded), lower-cased as the planner sees them.
pub fn table_references(state: &SessionState, statement: &Statement) -> Vec<String> {
    let mut refs: Vec<String> = state
        .resolve_table_references(statement)
        .map(|r| r.iter().map(|t| t.table().to_string()).collect())
        .unwrap_or_default();
    refs.sort();
    refs.dedup();
    refs
}

/// Plans `statement` and binds the period parameters.
///
/// # Errors
/// Planning errors (unknown column, wrong types, unknown parameter), pointing into the YAML.
pub async fn plan(
    state: &SessionState,
    sql: &SqlText,
    what: &str,
    statement: Statement,
    params: &ParamValues,
) -> Result<LogicalPlan, Diagnostic> {
    let plan = state.statement_to_plan(statement).await.map_err(|e| sql_diagnostic(sql, what, &e))?;
    plan.with_param_values(params.clone()).map_err(|e| sql_diagnostic(sql, what, &e))
}

/// The message of `err` without DataFusion's category prefixes and backtrace.
pub fn clean_message(err: &DataFusionError) -> String {
    let mut text = err.strip_backtrace();
    for prefix in [
        "Error during planning: ",
        "Schema error: ",
        "SQL error: ",
        "Execution error: ",
        "Arrow error: ",
        "Optimizer rule ",
    ] {
        while let Some(rest) = text.strip_prefix(prefix) {
            text = rest.to_string();
        }
    }
    text.lines().next().unwrap_or("").trim().to_string()
}

/// Maps a DataFusion error about `sql` to a diagnostic at the offending place in the YAML.
pub fn sql_diagnostic(sql: &SqlText, what: &str, err: &DataFusionError) -> Diagnostic {
    let full = clean_message(err);
    // DataFusion's own suggestion becomes the hint.
    let message = full.split(" Did you mean '").next().unwrap_or(&full).to_string();
    let place = err
        .diagnostic()
        .and_then(|d| d.span)
        .map(|s| {
            let len = if s.end.line == s.start.line {
                (s.end.column as usize).saturating_sub(s.start.column as usize)
            } else {
                1
            };
            sql.place(s.start.line as usize, s.start.column as usize, len.max(1))
        })
        .or_else(|| parser_position(&message).map(|(l, c)| sql.place(l, c, 1)))
        .unwrap_or_else(|| sql.place_of(offending_word(&message).as_deref().unwrap_or("")));
    let (code, hint) = hint_for(&full);
    Diagnostic::new(code, format!("{what}: {message}")).at(&sql.file, place).with_label(label_for(code)).with_hint(hint)
}

fn label_for(code: &str) -> &'static str {
    match code {
        "sql::unknown-column" => "no such column",
        "sql::unknown-table" => "no such table",
        "sql::unknown-parameter" => "no such parameter",
        "sql::syntax" => "syntax error here",
        _ => "here",
    }
}

/// `Line: 3, Column: 7` in sqlparser's messages.
fn parser_position(message: &str) -> Option<(usize, usize)> {
    let rest = &message[message.find("Line: ")? + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// The identifier an error is about, to find it in the SQL when DataFusion gave no span.
fn offending_word(message: &str) -> Option<String> {
    let between = |start: &str, ends: &[char]| {
        let rest = &message[message.find(start)? + start.len()..];
        let word: String = rest.chars().take_while(|c| !ends.contains(c)).collect();
        let word = word.trim_end_matches('.').trim_matches(['\'', '"', '`']).to_string();
        // `orders.amountt` → `amountt`
        Some(word.rsplit('.').next().unwrap_or(&word).to_string())
    };
    between("No field named ", &[' ', ','])
        .or_else(|| between("table '", &['\'']))
        .or_else(|| between("Invalid function '", &['\'']))
        .or_else(|| between("placeholder with name ", &[' ', ',']))
}

fn hint_for(message: &str) -> (&'static str, String) {
    if let Some(suggestion) = message.split("Did you mean '").nth(1).and_then(|r| r.split('\'').next()) {
        let column = suggestion.rsplit('.').next().unwrap_or(suggestion);
        return ("sql::unknown-column", format!("did you mean `{column}`?"));
    }
    if let Some(valid) = message.split("Valid fields are ").nth(1) {
        let fields: Vec<&str> =
            valid.trim_end_matches('.').split(", ").map(|f| f.rsplit('.').next().unwrap_or(f)).collect();
        let wrong = offending_word(message).unwrap_or_default();
        let hint = match did_you_mean(&wrong, fields.iter().copied()) {
            Some(b) => format!("did you mean `{b}`?"),
            None => format!("the columns here are {}", fields.join(", ")),
        };
        return ("sql::unknown-column", hint);
    }
    if message.contains("No field named") {
        return ("sql::unknown-column", "check the column's spelling and which table it comes from".into());
    }
    if message.contains("placeholder") {
        return ("sql::unknown-parameter", format!("the period parameters are {}", PARAMETERS.join(", ")));
    }
    if message.contains("not found") && message.contains("table") {
        return ("sql::unknown-table", "read a source or an earlier step by its name".into());
    }
    if message.contains("sql parser error") || message.contains("Expected") {
        return ("sql::syntax", "check the SQL syntax near this place".into());
    }
    ("sql::plan", "check the query near this place; `sextant validate` plans it without running".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_words_in_messages() {
        assert_eq!(offending_word("No field named amountt. Valid fields are orders.amount."), Some("amountt".into()));
        assert_eq!(offending_word("No field named o.amountt. Valid fields are o.amount."), Some("amountt".into()));
        assert_eq!(offending_word("table 'datafusion.public.custmers' not found"), Some("custmers".into()));
        assert_eq!(
            parser_position("sql parser error: Expected: end of statement, found: FROM at Line: 3, Column: 7"),
            Some((3, 7))
        );
    }
}
