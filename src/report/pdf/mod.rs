//! PDF rendering: the report model laid out with a small flow layout of our own
//! ([`layout`]), charts converted from their SVG to vector operations ([`svg`]), text set
//! in the report's fonts with per-character fallback and embedded as subsets ([`embed`]),
//! and everything written with printpdf's drawing operations ([`paint`]).
//!
//! The same report gives the same bytes: the PDF's dates come from
//! [`Report::generated_at`] and its document id from [`Report::run_id`].

mod embed;
mod layout;
mod paint;
mod svg;
mod text;

#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::report::chart;
use crate::report::fonts::{FontError, Fonts};
use crate::report::model::{ChartSpec, Report, SectionBody};
use layout::{Drawings, MM};

/// Why a report could not be rendered to PDF.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// A character that none of the configured fonts has. It would print as a box, so
    /// the report is not rendered; configure a font that has it (`Fonts::with_extra`).
    #[error("{context}: character {ch:?} (U+{codepoint:04X}) is in none of the report's fonts; add a font that has it")]
    MissingGlyph { ch: char, codepoint: u32, context: String },
    /// A font could not be read or subset.
    #[error(transparent)]
    Font(#[from] FontError),
    /// A chart's (or the logo's) SVG is outside the subset the PDF renderer draws.
    #[error("chart `{chart}`: {message}")]
    Svg { chart: String, message: String },
    /// `generated_at` is not an RFC 3339 time, so the PDF's dates cannot be set from it.
    #[error("the report's generation time `{value}` is not an RFC 3339 time")]
    GeneratedAt { value: String },
    /// Serializing the document failed.
    #[error("writing the PDF failed: {0}")]
    Write(String),
}

/// A rendered PDF and where everything went on its pages.
#[derive(Debug)]
pub struct RenderedPdf {
    /// The PDF file.
    pub bytes: Vec<u8>,
    /// What went where, for tests.
    pub layout: LayoutModel,
}

/// A serializable description of what went on which page, for snapshot tests: each box
/// has a kind, a rectangle in millimetres from the page's top-left corner, and its text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayoutModel {
    /// The paper, portrait.
    pub page_width_mm: f32,
    pub page_height_mm: f32,
    pub pages: Vec<PageLayout>,
    /// The outline: section titles and the (1-based) page each starts on.
    pub bookmarks: Vec<(String, usize)>,
}

/// One page of the [`LayoutModel`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageLayout {
    /// 1-based.
    pub number: usize,
    pub boxes: Vec<LayoutBox>,
}

/// What a [`LayoutBox`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BoxKind {
    /// Report title and period, on every page but the cover.
    Header,
    /// As-of date, run id and "Page X / Y".
    Footer,
    /// The coloured band at the top of the cover.
    CoverBand,
    Logo,
    CoverTitle,
    CoverSubtitle,
    /// One `label: value` fact on the cover.
    CoverFact,
    ContentsTitle,
    /// A section and its page number in the cover's contents.
    ContentsEntry,
    /// A section heading (its text is the section title).
    Heading,
    /// The sentence under a heading.
    Intro,
    /// A scorecard card (text: label, value, status, target, changes).
    Card,
    ChartTitle,
    /// A chart drawing.
    Chart,
    Caption,
    /// A table's header row (repeated on each page the table spans).
    TableHeader,
    /// A table row, or the part of one on this page (text: `#n` and the cells).
    TableRow,
    /// The text shown for a table without rows.
    TableEmpty,
    /// The line under a table that `limit` cut: how many rows it shows, where the rest are.
    TableNote,
    /// A findings item, or the part of one on this page.
    Bullet,
    /// A paragraph of text, or the part of one on this page.
    Paragraph,
}

impl BoxKind {
    fn name(self) -> &'static str {
        match self {
            BoxKind::Header => "header",
            BoxKind::Footer => "footer",
            BoxKind::CoverBand => "cover-band",
            BoxKind::Logo => "logo",
            BoxKind::CoverTitle => "cover-title",
            BoxKind::CoverSubtitle => "cover-subtitle",
            BoxKind::CoverFact => "cover-fact",
            BoxKind::ContentsTitle => "contents-title",
            BoxKind::ContentsEntry => "contents-entry",
            BoxKind::Heading => "heading",
            BoxKind::Intro => "intro",
            BoxKind::Card => "card",
            BoxKind::ChartTitle => "chart-title",
            BoxKind::Chart => "chart",
            BoxKind::Caption => "caption",
            BoxKind::TableHeader => "table-header",
            BoxKind::TableRow => "table-row",
            BoxKind::TableNote => "table-note",
            BoxKind::TableEmpty => "table-empty",
            BoxKind::Bullet => "bullet",
            BoxKind::Paragraph => "paragraph",
        }
    }
}

/// A placed block: kind, rectangle (mm, origin top-left, rounded to 0.1 mm) and text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayoutBox {
    pub kind: BoxKind,
    /// Left edge, mm from the left of the page.
    pub x: f32,
    /// Top edge, mm from the top of the page.
    pub y: f32,
    pub width: f32,
    pub height: f32,
    /// The text the box shows, where it has one.
    pub text: Option<String>,
}

impl LayoutBox {
    fn from_points(kind: BoxKind, x: f32, y: f32, w: f32, h: f32, text: Option<String>) -> LayoutBox {
        let mm = |v: f32| (v / MM * 10.0).round() / 10.0;
        LayoutBox { kind, x: mm(x), y: mm(y), width: mm(w), height: mm(h), text }
    }

    /// The bottom edge, in mm from the top of the page.
    pub fn bottom(&self) -> f32 {
        self.y + self.height
    }
}

impl LayoutModel {
    /// The boxes of `kind` on each page: (page number, box).
    pub fn boxes(&self, kind: BoxKind) -> impl Iterator<Item = (usize, &LayoutBox)> {
        self.pages.iter().flat_map(move |p| p.boxes.iter().filter(move |b| b.kind == kind).map(move |b| (p.number, b)))
    }
}

/// One line per box: `kind  x y width×height  text`, pages separated by a heading line.
impl std::fmt::Display for LayoutModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} × {} mm", self.page_width_mm, self.page_height_mm)?;
        for page in &self.pages {
            writeln!(f, "--- page {}", page.number)?;
            for b in &page.boxes {
                let text = b.text.as_deref().unwrap_or("");
                let text: String = if text.chars().count() > 90 {
                    text.chars().take(89).chain(['…']).collect()
                } else {
                    text.to_string()
                };
                writeln!(
                    f,
                    "{:<15}{:>6.1}{:>6.1}{:>7.1}×{:<6.1} {}",
                    b.kind.name(),
                    b.x,
                    b.y,
                    b.width,
                    b.height,
                    text
                )?;
            }
        }
        writeln!(f, "--- bookmarks")?;
        for (title, page) in &self.bookmarks {
            writeln!(f, "{page:>3}  {title}")?;
        }
        Ok(())
    }
}

/// Renders `report` to PDF with `fonts`.
///
/// # Errors
/// - [`PdfError::MissingGlyph`] if a character in the report is in none of the fonts
///   (every string is checked before anything is drawn);
/// - [`PdfError::Svg`] if a chart's SVG is outside the supported subset;
/// - [`PdfError::GeneratedAt`] if `generated_at` is not RFC 3339;
/// - [`PdfError::Font`] if a font cannot be subset.
pub fn render(report: &Report, fonts: &Fonts) -> Result<RenderedPdf, PdfError> {
    let drawings = prepare_drawings(report, fonts)?;
    check_glyphs(report, &drawings, fonts)?;
    let laid = layout::lay_out(report, fonts, &drawings);
    let bytes = paint::write(report, fonts, &laid)?;
    let (page_width_mm, page_height_mm) = report.page_size.mm();
    let layout = LayoutModel {
        page_width_mm,
        page_height_mm,
        pages: laid.pages.into_iter().enumerate().map(|(i, p)| PageLayout { number: i + 1, boxes: p.boxes }).collect(),
        bookmarks: laid.bookmarks.into_iter().map(|(t, p)| (t, p + 1)).collect(),
    };
    Ok(RenderedPdf { bytes, layout })
}

/// Parses every chart's SVG, the logo, and draws the scorecard sparklines.
fn prepare_drawings(report: &Report, fonts: &Fonts) -> Result<Drawings, PdfError> {
    let mut drawings = Drawings::default();
    if let Some(logo) = &report.theme.logo_svg {
        drawings.logo =
            Some(svg::parse(logo, fonts).map_err(|message| PdfError::Svg { chart: "logo".into(), message })?);
    }
    for (index, section) in report.sections.iter().enumerate() {
        match &section.body {
            SectionBody::Chart { chart } => {
                let d = svg::parse(&chart.svg, fonts)
                    .map_err(|message| PdfError::Svg { chart: chart.title.clone(), message })?;
                drawings.charts.insert(index, d);
            }
            SectionBody::Scorecard { cards } => {
                let (width, height) = layout::sparkline_size(report.page_size);
                for (i, card) in cards.iter().enumerate() {
                    if card.sparkline.iter().all(Option::is_none) {
                        continue;
                    }
                    let spec = ChartSpec::Sparkline { values: card.sparkline.clone() };
                    let svg = chart::render_svg(
                        &format!("{}-sparkline", card.id),
                        "",
                        &spec,
                        width,
                        height,
                        &report.theme,
                        report.locale,
                    );
                    let d = svg::parse(&svg, fonts)
                        .map_err(|message| PdfError::Svg { chart: format!("sparkline of `{}`", card.id), message })?;
                    drawings.sparklines.insert((index, i), d);
                }
            }
            _ => {}
        }
    }
    Ok(drawings)
}

/// Checks every string the PDF will draw against the fonts, naming where a missing
/// character appears.
fn check_glyphs(report: &Report, drawings: &Drawings, fonts: &Fonts) -> Result<(), PdfError> {
    let check = |text: &str, context: &dyn Fn() -> String| match fonts.missing_char(text) {
        Some(ch) => Err(PdfError::MissingGlyph { ch, codepoint: ch as u32, context: context() }),
        None => Ok(()),
    };
    for text in [&report.title, &report.period_label] {
        check(text, &|| "page header".into())?;
    }
    for text in [&report.labels.page, &report.labels.as_of, &report.as_of, &report.labels.run, &report.run_id] {
        check(text, &|| "page footer".into())?;
    }
    check(&report.labels.contents, &|| "contents".into())?;
    if let Some(logo) = &drawings.logo {
        check_drawing(logo, fonts, &|| "logo".into())?;
    }
    for (index, section) in report.sections.iter().enumerate() {
        let title = &section.title;
        check(title, &|| format!("section `{title}`, heading"))?;
        if let Some(intro) = &section.intro {
            check(intro, &|| format!("section `{title}`, intro"))?;
        }
        match &section.body {
            SectionBody::Cover { title, subtitle, facts } => {
                check(title, &|| "cover, title".into())?;
                check(subtitle, &|| "cover, subtitle".into())?;
                for (label, value) in facts {
                    check(label, &|| format!("cover, fact `{label}`"))?;
                    check(value, &|| format!("cover, fact `{label}`"))?;
                }
            }
            SectionBody::Scorecard { cards } => {
                for card in cards {
                    let context = || format!("scorecard `{title}`, card `{}`", card.id);
                    for text in [
                        Some(&card.label),
                        Some(&card.value),
                        Some(&card.status_label),
                        card.target.as_ref(),
                        card.change_previous.as_ref(),
                        card.change_year_ago.as_ref(),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        check(text, &context)?;
                    }
                }
            }
            SectionBody::Chart { chart } => {
                check(&chart.title, &|| format!("chart `{}`, title", chart.title))?;
                if let Some(caption) = &chart.caption {
                    check(caption, &|| format!("chart `{}`, caption", chart.title))?;
                }
                if let Some(d) = drawings.charts.get(&index) {
                    check_drawing(d, fonts, &|| format!("chart `{}`, SVG text", chart.title))?;
                }
            }
            SectionBody::Table { table } => {
                for column in &table.columns {
                    check(&column.label, &|| format!("table `{title}`, header"))?;
                }
                for (r, row) in table.rows.iter().enumerate() {
                    for (c, cell) in row.iter().enumerate() {
                        let column = table.columns.get(c).map_or("?", |col| col.label.as_str());
                        check(&cell.text, &|| format!("table `{title}`, row {}, column `{column}`", r + 1))?;
                    }
                }
                check(&table.empty_text, &|| format!("table `{title}`, empty-table text"))?;
                if let Some(note) = &table.note {
                    check(note, &|| format!("table `{title}`, note under the table"))?;
                }
            }
            SectionBody::Findings { items } => {
                for (i, item) in items.iter().enumerate() {
                    check(item, &|| format!("findings `{title}`, item {}", i + 1))?;
                }
            }
            SectionBody::Text { paragraphs } => {
                for (i, p) in paragraphs.iter().enumerate() {
                    check(p, &|| format!("text `{title}`, paragraph {}", i + 1))?;
                }
            }
        }
    }
    for d in drawings.sparklines.values() {
        check_drawing(d, fonts, &|| "scorecard sparkline".into())?;
    }
    Ok(())
}

fn check_drawing(d: &svg::Drawing, fonts: &Fonts, context: &dyn Fn() -> String) -> Result<(), PdfError> {
    for shape in &d.shapes {
        if let paint::Shape::Text(t) = shape
            && let Some(ch) = fonts.missing_char(&t.text)
        {
            return Err(PdfError::MissingGlyph {
                ch,
                codepoint: ch as u32,
                context: format!("{}: `{}`", context(), t.text),
            });
        }
    }
    Ok(())
}
