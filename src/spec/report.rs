//! The `reports:` block of a pipeline: which reports to render from the run's results, in
//! which languages and formats, and their sections in order.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::raw::{RawLabel, Text};

/// A report as written in YAML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReport {
    /// File name stem: `<name>.<locale>.<format>`.
    pub name: Text,
    pub title: RawLabel,
    #[serde(default)]
    pub locales: Option<Vec<Text>>,
    #[serde(default)]
    pub formats: Option<Vec<Text>>,
    #[serde(default)]
    pub page_size: Option<Text>,
    #[serde(default)]
    pub theme: Option<RawTheme>,
    pub sections: Vec<Spanned<RawSection>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawTheme {
    #[serde(default)]
    pub primary: Option<Text>,
    #[serde(default)]
    pub accent: Option<Text>,
    /// An SVG file (relative to the pipeline file) shown on the cover.
    #[serde(default)]
    pub logo: Option<Text>,
    /// Extra font files tried before the bundled ones: `path` or `path#index` for a `.ttc`.
    #[serde(default)]
    pub fonts: Vec<Text>,
}

/// A section; the YAML key names the kind.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawSection {
    Cover(RawCover),
    Scorecard(RawScorecard),
    // Boxed: a chart has many optional fields and would size every section like itself.
    Chart(Box<RawChart>),
    Table(RawTable),
    Findings(RawFindings),
    Text(RawText),
    Misses(RawMisses),
    KpiMonths(RawKpiMonths),
}

/// Every KPI for each month of a quarter or year (the KPIs evaluated once more at month grain).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKpiMonths {
    pub title: RawLabel,
    #[serde(default)]
    pub intro: Option<RawLabel>,
}

/// The KPIs that missed their target, ranked by the gap, each revenue miss with the
/// region and channel that contributed most (from a table of `dimension, key, gap` rows
/// ranked largest gap first, such as the quarterly retrospective's `misses`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMisses {
    pub title: RawLabel,
    #[serde(default)]
    pub intro: Option<RawLabel>,
    #[serde(default)]
    pub contributors: Option<Text>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCover {
    #[serde(default)]
    pub subtitle: Option<RawLabel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScorecard {
    pub title: RawLabel,
    #[serde(default)]
    pub intro: Option<RawLabel>,
    /// KPI ids, in order; all of the pipeline's when omitted.
    #[serde(default)]
    pub kpis: Option<Vec<Text>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChart {
    pub title: RawLabel,
    #[serde(default)]
    pub intro: Option<RawLabel>,
    /// `line`, `bars`, `funnel` or `radar`.
    pub kind: Text,
    /// For `line`: the KPI whose trailing series (and target) is drawn.
    #[serde(default)]
    pub kpi: Option<Text>,
    /// For the other kinds: the table the data comes from.
    #[serde(default)]
    pub table: Option<Text>,
    /// The category (bars, funnel) or axis (radar) column.
    #[serde(default)]
    pub category: Option<Text>,
    /// The value columns (bars: one per series; funnel/radar: one).
    #[serde(default)]
    pub values: Vec<Text>,
    /// Bars: a column drawn as a target marker. Funnel: the conversion column.
    #[serde(default)]
    pub target: Option<Text>,
    /// Radar: the column whose values become the series (e.g. competitor_id).
    #[serde(default)]
    pub series: Option<Text>,
    /// Radar: the top of the scale (default 10).
    #[serde(default)]
    pub max: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    pub title: RawLabel,
    #[serde(default)]
    pub intro: Option<RawLabel>,
    pub table: Text,
    pub columns: Vec<RawColumn>,
    /// Text shown when the table has no rows.
    #[serde(default)]
    pub empty: Option<RawLabel>,
    /// At most this many rows (after `order_by` in the table's own SQL).
    #[serde(default)]
    pub limit: Option<usize>,
    /// An export (its file name) that holds the whole table: when `limit` cuts rows, the
    /// report says how many it shows and where the rest are.
    #[serde(default)]
    pub more: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumn {
    pub column: Text,
    pub label: RawLabel,
    /// `text`, `money`, `count`, `percent`, `number`, `status` or `code` (a translated code
    /// such as a lifecycle stage); inferred from the column's type when omitted.
    #[serde(default)]
    pub format: Option<Text>,
    /// Show the column only in this language's report (e.g. a text column written per language).
    #[serde(default)]
    pub locale: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFindings {
    pub title: RawLabel,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawText {
    pub title: RawLabel,
    /// A handlebars template in `report-templates/`, rendered with the run's KPIs and findings;
    /// blank lines separate paragraphs.
    pub template: Text,
}

/// A label in both languages.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub en: String,
    pub zh_cn: String,
}

impl Label {
    pub fn get(&self, zh: bool) -> &str {
        if zh { &self.zh_cn } else { &self.en }
    }
}

impl From<&RawLabel> for Label {
    fn from(r: &RawLabel) -> Self {
        Label { en: r.en.clone(), zh_cn: r.zh_cn.clone() }
    }
}

/// How a table column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnFormat {
    Auto,
    Text,
    Money,
    Count,
    Percent,
    Number,
    Status,
    Code,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    pub column: String,
    pub label: Label,
    pub format: ColumnFormat,
    /// `Some("zh-CN")`: shown only in that language's report.
    pub locale: Option<String>,
}

/// Chart kinds a report can draw.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartSource {
    /// A KPI's trailing series with its target.
    KpiTrend {
        kpi: String,
    },
    Bars {
        table: String,
        category: String,
        values: Vec<String>,
        target: Option<String>,
    },
    Funnel {
        table: String,
        category: String,
        value: String,
        conversion: Option<String>,
    },
    Radar {
        table: String,
        axis: String,
        series: String,
        value: String,
        max: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum SectionSpec {
    Cover {
        subtitle: Option<Label>,
    },
    Scorecard {
        title: Label,
        intro: Option<Label>,
        kpis: Option<Vec<String>>,
    },
    Chart {
        title: Label,
        intro: Option<Label>,
        source: ChartSource,
    },
    Table {
        title: Label,
        intro: Option<Label>,
        table: String,
        columns: Vec<ColumnSpec>,
        empty: Option<Label>,
        limit: Option<usize>,
        /// `tables/<file>.<ext>` of the export that holds the whole table.
        more: Option<String>,
    },
    Findings {
        title: Label,
    },
    Text {
        title: Label,
        template: String,
    },
    Misses {
        title: Label,
        intro: Option<Label>,
        contributors: Option<String>,
    },
    KpiMonths {
        title: Label,
        intro: Option<Label>,
    },
}

impl ReportSpec {
    /// Whether a section needs the KPIs evaluated per month as well.
    pub fn needs_months(&self) -> bool {
        self.sections.iter().any(|s| matches!(s, SectionSpec::KpiMonths { .. }))
    }
}

/// A checked report definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSpec {
    pub name: String,
    pub title: Label,
    /// `en`, `zh-CN`.
    pub locales: Vec<String>,
    /// `html`, `pdf`.
    pub formats: Vec<String>,
    /// `A4` or `Letter`.
    pub page_size: String,
    pub primary: Option<String>,
    pub accent: Option<String>,
    pub logo: Option<std::path::PathBuf>,
    pub fonts: Vec<(std::path::PathBuf, usize)>,
    pub sections: Vec<SectionSpec>,
}
