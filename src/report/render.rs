//! Rendering every report of a pipeline, in each of its languages and formats, into files
//! named `<report>.<locale>.<html|pdf>` next to `kpis.json`.

use super::build::{RunResults, build};
use super::fonts::Fonts;
use super::model::Locale;
use super::{html, pdf};
use crate::diag::Diagnostic;
use crate::engine::Engine;
use crate::spec::report::ReportSpec;

/// A rendered report file.
pub struct RenderedFile {
    /// Relative to the run's folder, e.g. `monthly_review.zh-CN.pdf`.
    pub path: String,
    pub bytes: Vec<u8>,
}

fn problem(spec: &ReportSpec, locale: &str, message: String) -> Diagnostic {
    Diagnostic::new("report::render", format!("report `{}` ({locale}): {message}", spec.name))
        .with_hint("nothing was published; fix the report definition or the template and run again")
}

/// Renders `specs` for the run. `on_file` is told of each file as it is done.
///
/// # Errors
/// Every report that could not be rendered, as diagnostics.
pub async fn render_reports(
    engine: &Engine,
    specs: &[ReportSpec],
    run: &RunResults<'_>,
    on_file: &(dyn Fn(&str) + Sync),
) -> Result<Vec<RenderedFile>, Vec<Diagnostic>> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for spec in specs {
        let fonts = if spec.formats.iter().any(|f| f == "pdf") {
            match Fonts::bundled().and_then(|f| f.with_extra(&spec.fonts)) {
                Ok(f) => Some(f),
                Err(e) => {
                    problems.push(problem(spec, "*", e.to_string()));
                    continue;
                }
            }
        } else {
            None
        };
        for code in &spec.locales {
            let Some(locale) = Locale::from_code(code) else { continue };
            let report = match build(engine, spec, locale, run).await {
                Ok(r) => r,
                Err(e) => {
                    problems.push(problem(spec, code, e.to_string()));
                    continue;
                }
            };
            for format in &spec.formats {
                let path = format!("{}.{code}.{format}", spec.name);
                let bytes = match (format.as_str(), &fonts) {
                    ("html", _) => html::render(&report).map(String::into_bytes).map_err(|e| e.to_string()),
                    ("pdf", Some(fonts)) => pdf::render(&report, fonts).map(|r| r.bytes).map_err(|e| e.to_string()),
                    _ => continue,
                };
                match bytes {
                    Ok(bytes) => {
                        on_file(&path);
                        files.push(RenderedFile { path, bytes });
                    }
                    Err(m) => problems.push(problem(spec, code, m)),
                }
            }
        }
    }
    if problems.is_empty() { Ok(files) } else { Err(problems) }
}
