//! The report model: everything a report shows, already localized and formatted, and
//! independent of the output format. It is built once per report and locale
//! ([`super::build`]) and rendered twice: to HTML ([`super::html`]) and to PDF
//! ([`super::pdf`]). Charts are rendered once, to SVG, by [`super::chart`]; both
//! renderers use that SVG (the PDF converts its restricted subset to vector drawing ops).

use serde::Serialize;

/// Report languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Locale {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Locale {
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    pub fn from_code(code: &str) -> Option<Locale> {
        match code {
            "en" => Some(Locale::En),
            "zh-CN" => Some(Locale::ZhCn),
            _ => None,
        }
    }
}

/// Paper sizes, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PageSize {
    A4,
    Letter,
}

impl PageSize {
    /// (width, height) in mm, portrait.
    pub fn mm(self) -> (f32, f32) {
        match self {
            PageSize::A4 => (210.0, 297.0),
            PageSize::Letter => (215.9, 279.4),
        }
    }
}

/// An RGB colour, `#rrggbb` in HTML and SVG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Parses `#rrggbb`.
    pub fn parse(hex: &str) -> Option<Rgb> {
        let h = hex.strip_prefix('#')?;
        if h.len() != 6 {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
        Some(Rgb(byte(0)?, byte(2)?, byte(4)?))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Colours and fonts of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Theme {
    /// Headings, cover band, main chart series.
    pub primary: Rgb,
    /// Second chart series, highlights.
    pub accent: Rgb,
    /// Text.
    pub text: Rgb,
    /// Secondary text, axes, rules.
    pub muted: Rgb,
    pub on_track: Rgb,
    pub at_risk: Rgb,
    pub off_track: Rgb,
    /// Status without a judgement (no target, no data, watch).
    pub neutral: Rgb,
    /// Further chart series colours, in order, after primary and accent.
    pub palette: Vec<Rgb>,
    /// An SVG logo shown on the cover (restricted to the chart SVG subset), if any.
    pub logo_svg: Option<String>,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            primary: Rgb(0x1f, 0x3a, 0x5f),
            accent: Rgb(0xd9, 0x77, 0x06),
            text: Rgb(0x1f, 0x29, 0x37),
            muted: Rgb(0x6b, 0x72, 0x80),
            on_track: Rgb(0x15, 0x80, 0x3d),
            at_risk: Rgb(0xb4, 0x53, 0x09),
            off_track: Rgb(0xb9, 0x1c, 0x1c),
            neutral: Rgb(0x6b, 0x72, 0x80),
            palette: vec![Rgb(0x0e, 0x74, 0x90), Rgb(0x7c, 0x3a, 0xed), Rgb(0x4d, 0x7c, 0x0f), Rgb(0xbe, 0x18, 0x5d)],
            logo_svg: None,
        }
    }
}

/// A KPI status as a report shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    OnTrack,
    AtRisk,
    OffTrack,
    Neutral,
}

/// One KPI card of the scorecard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiCard {
    pub id: String,
    pub label: String,
    /// The formatted value (`3,267,515`, `97.3%`, `—` for no data).
    pub value: String,
    /// `Target 3,359,000`, or `None`.
    pub target: Option<String>,
    pub tone: Tone,
    /// `On track`, `At risk`, … in the report's language.
    pub status_label: String,
    /// `MoM +8.1%` (or `QoQ`, `YoY` by grain), `None` without a previous value.
    pub change_previous: Option<String>,
    /// `YoY +21.2%`, `None` without a year-ago value.
    pub change_year_ago: Option<String>,
    /// Whether the change against the previous period is good news (`Some(true)`), bad news, or neither.
    pub change_good: Option<bool>,
    /// The same for the change against a year ago.
    pub change_year_ago_good: Option<bool>,
    /// The trailing series for the sparkline, oldest first.
    pub sparkline: Vec<Option<f64>>,
}

/// A value axis format for charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AxisFormat {
    /// Thousands separators, abbreviated (`1.2M`, `350K`).
    Money,
    Count,
    /// 0.25 → `25%`.
    Percent,
    /// Plain with up to one decimal.
    Number,
}

/// A named series of values; `None` is a missing value (a gap, never a zero).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// What a chart shows. The chart module turns it into SVG.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ChartSpec {
    /// Lines over categories (periods), with an optional dashed target line.
    Line { categories: Vec<String>, series: Vec<Series>, target: Option<Series>, format: AxisFormat },
    /// Vertical bars per category; several series give grouped bars. `target` draws a
    /// marker per category.
    Bars { categories: Vec<String>, series: Vec<Series>, target: Option<Series>, format: AxisFormat },
    /// Funnel stages, widest first, with counts and conversion labels.
    Funnel { stages: Vec<(String, f64)>, conversions: Vec<Option<f64>> },
    /// Radar (spider) chart: one polygon per series over the axes; `max` is the scale's top.
    Radar { axes: Vec<String>, series: Vec<Series>, max: f64 },
    /// A tiny line without axes, for scorecard cards.
    Sparkline { values: Vec<Option<f64>> },
}

/// A chart with its rendered SVG.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// Stable id, used as the SVG element id and by tests.
    pub id: String,
    pub title: String,
    pub spec: ChartSpec,
    /// Width and height of the SVG's viewBox, in points (1/72 in).
    pub width: f32,
    pub height: f32,
    /// The SVG, in the subset documented in [`super::chart`].
    pub svg: String,
    /// A caption under the chart (the source of the figures).
    pub caption: Option<String>,
}

/// Column alignment: text left, numbers right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub label: String,
    pub align: Align,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub text: String,
    /// Colours a status cell.
    pub tone: Option<Tone>,
}

/// A table; long tables split across pages with the header repeated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Shown when there are no rows (`No warnings this month.`).
    pub empty_text: String,
    /// Shown under the table when `limit` cut it: how many rows it shows and where the
    /// rest are.
    pub note: Option<String>,
}

/// What a section contains.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SectionBody {
    /// The cover page: title, subtitle and facts (period, as-of date, run id).
    Cover {
        title: String,
        subtitle: String,
        facts: Vec<(String, String)>,
    },
    Scorecard {
        cards: Vec<KpiCard>,
    },
    Chart {
        chart: Chart,
    },
    Table {
        table: Table,
    },
    Findings {
        items: Vec<String>,
    },
    /// Free text from a template: paragraphs of plain text.
    Text {
        paragraphs: Vec<String>,
    },
}

/// A section: a heading and its body. A cover has no heading.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// Stable id (anchor in HTML, bookmark in PDF).
    pub id: String,
    pub title: String,
    /// A short sentence under the heading.
    pub intro: Option<String>,
    pub body: SectionBody,
}

/// One report in one language, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `monthly_review`
    pub name: String,
    pub title: String,
    /// `October 2026` / `2026年10月`
    pub period_label: String,
    pub period: String,
    pub as_of: String,
    pub run_id: String,
    /// When the run started (RFC 3339); the PDF's dates come from it, so the same run gives the same bytes.
    pub generated_at: String,
    pub locale: Locale,
    pub page_size: PageSize,
    pub theme: Theme,
    pub sections: Vec<Section>,
    /// Header and footer words: `Page`, `As of`, `Run` in the report's language.
    pub labels: ChromeLabels,
}

/// The words of the page chrome, localized.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChromeLabels {
    pub page: String,
    pub as_of: String,
    pub run: String,
    pub contents: String,
}
