//! Diagnostics that point at the user's file: a message, the place (file, line, column),
//! a snippet of the source and a hint of how to fix it.
//!
//! Every stage that reads user input (pipeline YAML, SQL inside it, CSV data) reports its
//! problems as [`Diagnostic`]s, so that the CLI renders them all the same way, as cargo
//! renders manifest errors.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// The text a diagnostic points into: a whole file, or an excerpt of a large one
/// (a few rows of a CSV) that starts at a given line.
#[derive(Debug, Clone)]
pub struct SourceText {
    /// The name shown to the user: the file's path as they would type it.
    pub name: String,
    text: Arc<str>,
    /// 1-based line number of the excerpt's first line in the real file.
    first_line: usize,
}

impl SourceText {
    /// A whole file.
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        SourceText { name: name.into(), text: text.into(), first_line: 1 }
    }

    /// An excerpt of a file, whose first line is line `first_line` of the real file.
    pub fn excerpt(name: impl Into<String>, text: impl Into<Arc<str>>, first_line: usize) -> Self {
        SourceText { name: name.into(), text: text.into(), first_line: first_line.max(1) }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Byte offset of 1-based `line` (of the real file) and 1-based character `column`.
    /// Positions past the end clamp to the end.
    pub fn offset(&self, line: usize, column: usize) -> usize {
        let local = line.saturating_sub(self.first_line);
        let mut offset = 0;
        for (i, l) in self.text.split_inclusive('\n').enumerate() {
            if i == local {
                let body = l.trim_end_matches(['\n', '\r']);
                return offset + body.char_indices().nth(column.saturating_sub(1)).map_or(body.len(), |(b, _)| b);
            }
            offset += l.len();
        }
        self.text.len()
    }

    /// The text of 1-based `line` of the real file, without its line ending.
    pub fn line(&self, line: usize) -> Option<&str> {
        let local = line.checked_sub(self.first_line)?;
        self.text.lines().nth(local)
    }
}

impl SourceCode for SourceText {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.text.read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line - 1,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Where in a [`SourceText`] a diagnostic points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// 1-based line in the real file.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Length of the marked text, in characters (at least 1 is shown).
    pub len: usize,
}

/// A problem found in the user's input.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// A stable identifier, e.g. `spec::unknown-key`, for tests and documentation.
    pub code: &'static str,
    pub message: String,
    pub source: Option<SourceText>,
    pub place: Option<Place>,
    /// Text next to the marked span.
    pub label: Option<String>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { code, message: message.into(), source: None, place: None, label: None, hint: None }
    }

    /// Points the diagnostic at `place` in `source`.
    pub fn at(mut self, source: &SourceText, place: Place) -> Self {
        self.source = Some(source.clone());
        self.place = Some(place);
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:column`, or just the file, or nothing.
    pub fn location(&self) -> Option<String> {
        let source = self.source.as_ref()?;
        Some(match self.place {
            Some(p) => format!("{}:{}:{}", source.name, p.line, p.column),
            None => source.name.clone(),
        })
    }

    /// Renders the diagnostic as the terminal shows it: message, `╭─[file:line:col]`,
    /// the snippet with the marked span, and the hint. `color` adds ANSI colours.
    pub fn render(&self, color: bool) -> String {
        let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
        let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(100).with_context_lines(1);
        let mut out = String::new();
        if handler.render_report(&mut out, &Rendered(self)).is_err() {
            out = format!("{self}\n");
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location() {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Diagnostic {}

/// The diagnostic as miette draws it: the place is shown in the snippet's frame, so the
/// headline is the bare message (unless there is no snippet to show it).
#[derive(Debug)]
struct Rendered<'a>(&'a Diagnostic);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.place.is_some() { f.write_str(&self.0.message) } else { fmt::Display::fmt(self.0, f) }
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.code()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.help()
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.source_code()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.0.labels()
    }
}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.hint.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.place?;
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (source, place) = (self.source.as_ref()?, self.place?);
        let start = source.offset(place.line, place.column);
        let end = source.offset(place.line, place.column + place.len.max(1));
        let span = SourceSpan::new(start.into(), end.saturating_sub(start).max(1));
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(self.label.clone(), span))))
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word_lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Renders a list of diagnostics one after the other, with a closing count.
pub fn render_all(diagnostics: &[Diagnostic], color: bool) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&d.render(color));
        out.push('\n');
    }
    let n = diagnostics.len();
    out.push_str(&format!("{n} problem{} found\n", if n == 1 { "" } else { "s" }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_characters_not_bytes() {
        let s = SourceText::new("a.yaml", "name: 月度\nsteps: x\n");
        assert_eq!(s.offset(1, 7), 6);
        assert_eq!(s.offset(1, 8), 9);
        assert_eq!(s.offset(2, 1), "name: 月度\n".len());
        assert_eq!(s.line(2), Some("steps: x"));
    }

    #[test]
    fn excerpt_keeps_real_line_numbers() {
        let s = SourceText::excerpt("orders.csv", "O1,2026-10-01,x\n", 1041);
        let d = Diagnostic::new("csv::bad-value", "not a number")
            .at(&s, Place { line: 1041, column: 15, len: 1 })
            .with_hint("fix it");
        let text = d.render(false);
        assert!(text.contains("orders.csv:1041:15"), "{text}");
        assert!(text.contains("1041 │ O1,2026-10-01,x"), "{text}");
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(did_you_mean("stpes", ["steps", "sources", "checks"]), Some("steps"));
        assert_eq!(did_you_mean("zzz", ["steps", "sources"]), None);
    }
}
