//! Building the report model from a run's results: KPI results, findings and the
//! pipeline's tables, localized and formatted once for both renderers.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;

use super::chart;
use super::i18n;
use super::model::*;
use crate::engine::Engine;
use crate::engine::cells::{number_at, text_at};
use crate::kpi::KpiResult;
use crate::kpi::findings::{Finding, format_value};
use crate::period::Period;
use crate::spec::report::{ChartSource, ColumnFormat, ColumnSpec, Label, ReportSpec, SectionSpec};
use crate::spec::{Direction, Unit};

/// Why a report could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("report `{report}`, section `{section}`: {message}")]
    Section { report: String, section: String, message: String },
    #[error("report `{report}`: template of section `{section}`: {message}")]
    Template { report: String, section: String, message: String },
}

/// What a report is built from.
pub struct RunResults<'a> {
    pub period: &'a Period,
    pub run_id: &'a str,
    pub started_at: &'a str,
    pub kpis: &'a [KpiResult],
    pub findings: &'a [Finding],
    /// The same KPIs evaluated at month grain for the period's last month (their series
    /// holds every month of the period), when a section asks for months.
    pub month_kpis: Option<&'a [KpiResult]>,
}

/// A value on a radar axis: (axis, value).
type AxisValue = (String, Option<f64>);

/// Content width of a page in points (A4 minus margins), the width charts are drawn at.
pub const CONTENT_WIDTH: f32 = 480.0;

fn axis_format(unit: Unit) -> AxisFormat {
    match unit {
        Unit::Currency => AxisFormat::Money,
        Unit::Count => AxisFormat::Count,
        Unit::Ratio => AxisFormat::Percent,
        Unit::Days | Unit::Score => AxisFormat::Number,
    }
}

fn signed(text: String, value: f64) -> String {
    if value > 0.0 { format!("+{text}") } else { text }
}

/// The change shown on a card: relative for amounts and counts, in points for ratios
/// and scores (a share moving from 20 % to 22 % is "+2.0 pp", not "+10 %").
fn change_text(
    k: &KpiResult,
    other_value: Option<f64>,
    change_abs: Option<f64>,
    change_rel: Option<f64>,
    prefix: &str,
    locale: Locale,
) -> Option<String> {
    other_value?;
    let pp = if locale == Locale::ZhCn { "个百分点" } else { " pp" };
    let text = match k.unit {
        Unit::Currency | Unit::Count => {
            let r = change_rel?;
            signed(format_value(r, Unit::Ratio), r)
        }
        Unit::Ratio => {
            let a = change_abs?;
            signed(format!("{:.1}{pp}", (a * 1000.0).round() / 10.0), a)
        }
        Unit::Days | Unit::Score => {
            let a = change_abs?;
            signed(format_value(a, k.unit), a)
        }
    };
    Some(format!("{prefix} {text}"))
}

/// The scorecard card of `k`: its value, target, status and changes, formatted for `locale`
/// (also the rows of the scorecard emailed with a report).
pub(crate) fn card(k: &KpiResult, period: &Period, locale: Locale) -> KpiCard {
    let zh = locale == Locale::ZhCn;
    let status = k.status;
    let judge = |change: Option<f64>| match (k.direction, change) {
        (Direction::Higher, Some(c)) if c != 0.0 => Some(c > 0.0),
        (Direction::Lower, Some(c)) if c != 0.0 => Some(c < 0.0),
        _ => None,
    };
    let good = judge(k.previous.change_abs);
    KpiCard {
        id: k.id.clone(),
        label: if zh { k.labels.zh_cn.clone() } else { k.labels.en.clone() },
        value: k.value.map_or_else(|| "—".to_string(), |v| format_value(v, k.unit)),
        target: k.target.map(|t| format!("{} {}", i18n::target_label(locale), format_value(t, k.unit))),
        tone: i18n::tone(status),
        status_label: i18n::status_label(status, locale).to_string(),
        change_previous: change_text(
            k,
            k.previous.value,
            k.previous.change_abs,
            k.previous.change_rel,
            i18n::previous_label(period.grain(), locale),
            locale,
        ),
        change_year_ago: if period.grain() == crate::period::Grain::Year {
            None
        } else {
            change_text(
                k,
                k.year_ago.value,
                k.year_ago.change_abs,
                k.year_ago.change_rel,
                i18n::year_ago_label(locale),
                locale,
            )
        },
        change_good: good,
        change_year_ago_good: judge(k.year_ago.change_abs),
        sparkline: k.series.iter().map(|p| p.value).collect(),
    }
}

/// Reads `columns` of `table`, at most `limit` rows.
async fn rows(
    engine: &Engine,
    table: &str,
    columns: &[&str],
    limit: Option<usize>,
) -> Result<Vec<RecordBatch>, String> {
    let df = engine.read_table(table).await.map_err(|e| e.to_string())?;
    let df = df.select_columns(columns).map_err(|e| e.to_string())?;
    let df = match limit {
        Some(n) => df.limit(0, Some(n)).map_err(|e| e.to_string())?,
        None => df,
    };
    df.collect().await.map_err(|e| e.to_string())
}

async fn count_rows(engine: &Engine, table: &str) -> Result<usize, String> {
    let df = engine.context().table(table).await.map_err(|e| e.to_string())?;
    df.count().await.map_err(|e| e.to_string())
}

fn column_label(name: &str, locale: Locale) -> String {
    let (en, zh) = match name {
        "revenue" => ("Revenue", "销售额"),
        "target" => ("Target", "目标"),
        "reached" => ("Reached", "到达"),
        "spend" => ("Spend", "投入"),
        "market_revenue" => ("Market", "市场规模"),
        other => return other.to_string(),
    };
    if locale == Locale::ZhCn { zh.into() } else { en.into() }
}

fn format_cell(b: &RecordBatch, col: usize, row: usize, spec: &ColumnSpec, locale: Locale) -> Cell {
    let dt = b.column(col).data_type().clone();
    let format = match spec.format {
        ColumnFormat::Auto => match dt {
            DataType::Decimal128(..) => ColumnFormat::Money,
            DataType::Int32 | DataType::Int64 | DataType::UInt64 => ColumnFormat::Count,
            DataType::Float64 | DataType::Float32 => ColumnFormat::Number,
            _ if spec.column == "status" => ColumnFormat::Status,
            _ => ColumnFormat::Code,
        },
        f => f,
    };
    let plain = |text: String| Cell { text, tone: None };
    match format {
        ColumnFormat::Money => {
            plain(number_at(b, col, row).map_or_else(|| "—".into(), |v| format_value(v, Unit::Currency)))
        }
        ColumnFormat::Count => {
            plain(number_at(b, col, row).map_or_else(|| "—".into(), |v| format_value(v, Unit::Count)))
        }
        ColumnFormat::Percent => {
            plain(number_at(b, col, row).map_or_else(|| "—".into(), |v| format_value(v, Unit::Ratio)))
        }
        ColumnFormat::Number => {
            plain(number_at(b, col, row).map_or_else(|| "—".into(), |v| format!("{:.2}", (v * 100.0).round() / 100.0)))
        }
        ColumnFormat::Status => {
            let code = text_at(b, col, row).unwrap_or_default();
            match i18n::status_from_code(&code) {
                Some(s) => Cell { text: i18n::status_label(s, locale).into(), tone: Some(i18n::tone(s)) },
                None => plain(code),
            }
        }
        ColumnFormat::Code => plain(i18n::code(&text_at(b, col, row).unwrap_or_default(), locale)),
        ColumnFormat::Text | ColumnFormat::Auto => plain(text_at(b, col, row).unwrap_or_else(|| "—".into())),
    }
}

fn is_numeric(format: ColumnFormat, dt: &DataType) -> bool {
    match format {
        ColumnFormat::Money | ColumnFormat::Count | ColumnFormat::Percent | ColumnFormat::Number => true,
        ColumnFormat::Auto => dt.is_numeric(),
        _ => false,
    }
}

/// Builds `spec` for `locale`.
///
/// # Errors
/// When a table or column a section names cannot be read, or a text template fails.
pub async fn build(
    engine: &Engine,
    spec: &ReportSpec,
    locale: Locale,
    run: &RunResults<'_>,
) -> Result<Report, BuildError> {
    let zh = locale == Locale::ZhCn;
    let mut theme = Theme::default();
    if let Some(c) = spec.primary.as_deref().and_then(Rgb::parse) {
        theme.primary = c;
    }
    if let Some(c) = spec.accent.as_deref().and_then(Rgb::parse) {
        theme.accent = c;
    }
    theme.logo_svg = spec.logo.as_ref().and_then(|p| std::fs::read_to_string(p).ok());
    let period_label = i18n::period_label(run.period, locale);
    let mut sections = Vec::new();
    for (i, s) in spec.sections.iter().enumerate() {
        let section_error = |title: &Label, message: String| BuildError::Section {
            report: spec.name.clone(),
            section: title.en.clone(),
            message,
        };
        let section = match s {
            SectionSpec::Cover { subtitle } => {
                let labels = i18n::fact_labels(locale);
                Section {
                    id: "cover".into(),
                    title: spec.title.get(zh).to_string(),
                    intro: None,
                    body: SectionBody::Cover {
                        title: spec.title.get(zh).to_string(),
                        subtitle: subtitle.as_ref().map_or_else(|| period_label.clone(), |s| s.get(zh).to_string()),
                        facts: vec![
                            (labels[0].into(), period_label.clone()),
                            (labels[1].into(), run.period.as_of().to_string()),
                            (labels[2].into(), run.run_id.to_string()),
                            (labels[3].into(), run.started_at.replace('T', " ").replace('Z', " UTC")),
                        ],
                    },
                }
            }
            SectionSpec::Scorecard { title, intro, kpis } => {
                let chosen: Vec<&KpiResult> = match kpis {
                    Some(ids) => ids.iter().filter_map(|id| run.kpis.iter().find(|k| &k.id == id)).collect(),
                    None => run.kpis.iter().collect(),
                };
                Section {
                    id: format!("s{i}-scorecard"),
                    title: title.get(zh).into(),
                    intro: intro.as_ref().map(|l| l.get(zh).into()),
                    body: SectionBody::Scorecard {
                        cards: chosen.into_iter().map(|k| card(k, run.period, locale)).collect(),
                    },
                }
            }
            SectionSpec::Chart { title, intro, source } => {
                let id = format!("s{i}-chart");
                let (chart_spec, width, height, caption) = match source {
                    ChartSource::KpiTrend { kpi } => {
                        let k = run
                            .kpis
                            .iter()
                            .find(|k| &k.id == kpi)
                            .ok_or_else(|| section_error(title, format!("no KPI `{kpi}` in this run")))?;
                        let label = if zh { k.labels.zh_cn.clone() } else { k.labels.en.clone() };
                        let target = k.series.iter().any(|p| p.target.is_some()).then(|| Series {
                            name: i18n::target_label(locale).into(),
                            values: k.series.iter().map(|p| p.target).collect(),
                        });
                        (
                            ChartSpec::Line {
                                categories: k.series.iter().map(|p| p.period.clone()).collect(),
                                series: vec![Series {
                                    name: label,
                                    values: k.series.iter().map(|p| p.value).collect(),
                                }],
                                target,
                                format: axis_format(k.unit),
                            },
                            CONTENT_WIDTH,
                            220.0,
                            None,
                        )
                    }
                    ChartSource::Bars { table, category, values, target } => {
                        let mut cols: Vec<&str> = vec![category.as_str()];
                        cols.extend(values.iter().map(String::as_str));
                        cols.extend(target.iter().map(String::as_str));
                        let batches = rows(engine, table, &cols, None).await.map_err(|m| section_error(title, m))?;
                        let mut categories = Vec::new();
                        let mut series: Vec<Series> = values
                            .iter()
                            .map(|v| Series { name: column_label(v, locale), values: Vec::new() })
                            .collect();
                        let mut target_values = Vec::new();
                        for b in &batches {
                            for r in 0..b.num_rows() {
                                categories.push(i18n::code(&text_at(b, 0, r).unwrap_or_default(), locale));
                                for (j, s) in series.iter_mut().enumerate() {
                                    s.values.push(number_at(b, 1 + j, r));
                                }
                                if target.is_some() {
                                    target_values.push(number_at(b, 1 + values.len(), r));
                                }
                            }
                        }
                        let target =
                            target.as_ref().map(|t| Series { name: column_label(t, locale), values: target_values });
                        (
                            ChartSpec::Bars { categories, series, target, format: AxisFormat::Money },
                            CONTENT_WIDTH,
                            220.0,
                            None,
                        )
                    }
                    ChartSource::Funnel { table, category, value, conversion } => {
                        let mut cols = vec![category.as_str(), value.as_str()];
                        cols.extend(conversion.iter().map(String::as_str));
                        let batches = rows(engine, table, &cols, None).await.map_err(|m| section_error(title, m))?;
                        let mut stages = Vec::new();
                        let mut conversions = Vec::new();
                        for b in &batches {
                            for r in 0..b.num_rows() {
                                stages.push((
                                    i18n::code(&text_at(b, 0, r).unwrap_or_default(), locale),
                                    number_at(b, 1, r).unwrap_or(0.0),
                                ));
                                conversions.push(if conversion.is_some() { number_at(b, 2, r) } else { None });
                            }
                        }
                        (ChartSpec::Funnel { stages, conversions }, CONTENT_WIDTH, 200.0, None)
                    }
                    ChartSource::Radar { table, axis, series, value, max } => {
                        let batches = rows(engine, table, &[series.as_str(), axis.as_str(), value.as_str()], None)
                            .await
                            .map_err(|m| section_error(title, m))?;
                        let mut axes: Vec<String> = Vec::new();
                        let mut by_series: Vec<(String, Vec<AxisValue>)> = Vec::new();
                        for b in &batches {
                            for r in 0..b.num_rows() {
                                let (s, a, v) = (
                                    text_at(b, 0, r).unwrap_or_default(),
                                    text_at(b, 1, r).unwrap_or_default(),
                                    number_at(b, 2, r),
                                );
                                if !axes.contains(&a) {
                                    axes.push(a.clone());
                                }
                                match by_series.iter_mut().find(|(name, _)| *name == s) {
                                    Some((_, points)) => points.push((a, v)),
                                    None => by_series.push((s, vec![(a, v)])),
                                }
                            }
                        }
                        // Our own scores first, so they get the primary colour.
                        by_series.sort_by_key(|(name, _)| (name != "self", name.clone()));
                        let series = by_series
                            .into_iter()
                            .map(|(name, points)| Series {
                                name: i18n::code(&name, locale),
                                values: axes
                                    .iter()
                                    .map(|a| points.iter().find(|(x, _)| x == a).and_then(|(_, v)| *v))
                                    .collect(),
                            })
                            .collect();
                        let axes = axes.iter().map(|a| i18n::code(a, locale)).collect();
                        (ChartSpec::Radar { axes, series, max: *max }, 320.0, 260.0, None)
                    }
                };
                let chart = chart::chart(&id, title.get(zh), chart_spec, width, height, &theme, locale, caption);
                Section {
                    id,
                    title: title.get(zh).into(),
                    intro: intro.as_ref().map(|l| l.get(zh).into()),
                    body: SectionBody::Chart { chart },
                }
            }
            SectionSpec::Table { title, intro, table, columns, empty, limit, more } => {
                let columns: Vec<ColumnSpec> = columns
                    .iter()
                    .filter(|c| c.locale.as_deref().is_none_or(|l| l == locale.code()))
                    .cloned()
                    .collect();
                let names: Vec<&str> = columns.iter().map(|c| c.column.as_str()).collect();
                let batches = rows(engine, table, &names, *limit).await.map_err(|m| section_error(title, m))?;
                let shown: usize = batches.iter().map(RecordBatch::num_rows).sum();
                // Only a table that filled its limit may have been cut; count it then.
                let note = match limit {
                    Some(n) if shown >= *n => {
                        let total = count_rows(engine, table).await.map_err(|m| section_error(title, m))?;
                        (total > shown).then(|| i18n::rows_shown(shown, total, more.as_deref(), locale))
                    }
                    _ => None,
                };
                let mut out_rows = Vec::new();
                let mut numeric = vec![false; columns.len()];
                for b in &batches {
                    for (j, c) in columns.iter().enumerate() {
                        numeric[j] = is_numeric(c.format, b.column(j).data_type());
                    }
                    for r in 0..b.num_rows() {
                        out_rows
                            .push(columns.iter().enumerate().map(|(j, c)| format_cell(b, j, r, c, locale)).collect());
                    }
                }
                Section {
                    id: format!("s{i}-table"),
                    title: title.get(zh).into(),
                    intro: intro.as_ref().map(|l| l.get(zh).into()),
                    body: SectionBody::Table {
                        table: Table {
                            columns: columns
                                .iter()
                                .zip(&numeric)
                                .map(|(c, n)| Column {
                                    label: c.label.get(zh).into(),
                                    align: if *n { Align::Right } else { Align::Left },
                                })
                                .collect(),
                            rows: out_rows,
                            empty_text: empty
                                .as_ref()
                                .map_or_else(|| i18n::no_data(locale).to_string(), |l| l.get(zh).into()),
                            note,
                        },
                    },
                }
            }
            SectionSpec::KpiMonths { title, intro } => {
                let months: Vec<Period> = {
                    let mut m = vec![Period::containing(
                        run.period.start(),
                        crate::period::Grain::Month,
                        run.period.fiscal_year_start(),
                    )];
                    while let Some(next) = m.last().map(Period::shift_one).filter(|p| p.start() < run.period.end()) {
                        m.push(next);
                    }
                    m
                };
                let labels: Vec<String> = months.iter().map(ToString::to_string).collect();
                let month_kpis = run.month_kpis.unwrap_or(&[]);
                let rows_out = month_kpis
                    .iter()
                    .map(|k| {
                        let mut row = vec![Cell {
                            text: if zh { k.labels.zh_cn.clone() } else { k.labels.en.clone() },
                            tone: None,
                        }];
                        for label in &labels {
                            let point = k.series.iter().find(|p| &p.period == label);
                            let value = point.and_then(|p| p.value);
                            let status = crate::kpi::status(value, point.and_then(|p| p.target), k.direction, 0.10);
                            row.push(Cell {
                                text: value.map_or("—".into(), |v| format_value(v, k.unit)),
                                tone: point.and_then(|p| p.target).map(|_| i18n::tone(status)),
                            });
                        }
                        row
                    })
                    .collect();
                let mut columns =
                    vec![Column { label: if zh { "指标".into() } else { "KPI".into() }, align: Align::Left }];
                columns.extend(
                    months.iter().map(|m| Column { label: i18n::period_label(m, locale), align: Align::Right }),
                );
                Section {
                    id: format!("s{i}-months"),
                    title: title.get(zh).into(),
                    intro: intro.as_ref().map(|l| l.get(zh).into()),
                    body: SectionBody::Table {
                        table: Table { columns, rows: rows_out, empty_text: i18n::no_data(locale).into(), note: None },
                    },
                }
            }
            SectionSpec::Misses { title, intro, contributors } => {
                // Biggest contributors: the first row of each dimension (the table is ranked by gap).
                let mut biggest: Vec<(String, String, f64)> = Vec::new();
                if let Some(table) = contributors {
                    let batches = rows(engine, table, &["dimension", "key", "gap"], None)
                        .await
                        .map_err(|m| section_error(title, m))?;
                    for b in &batches {
                        for r in 0..b.num_rows() {
                            let dim = text_at(b, 0, r).unwrap_or_default();
                            if !biggest.iter().any(|(d, _, _)| *d == dim) {
                                biggest.push((
                                    dim,
                                    text_at(b, 1, r).unwrap_or_default(),
                                    number_at(b, 2, r).unwrap_or(0.0),
                                ));
                            }
                        }
                    }
                }
                let mut missed: Vec<(f64, &KpiResult)> = run
                    .kpis
                    .iter()
                    .filter(|k| matches!(k.status, crate::kpi::Status::AtRisk | crate::kpi::Status::OffTrack))
                    .filter_map(|k| k.shortfall().map(|gap| (gap, k)))
                    .collect();
                missed.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
                let short = if zh { "差" } else { "short" };
                let rows_out = missed
                    .iter()
                    .map(|(gap, k)| {
                        let contributor = if k.id.starts_with("revenue") && !biggest.is_empty() {
                            biggest
                                .iter()
                                .map(|(d, key, g)| {
                                    format!(
                                        "{}: {} ({short} {})",
                                        i18n::code(d, locale),
                                        i18n::code(key, locale),
                                        format_value(*g, Unit::Currency)
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("; ")
                        } else {
                            "—".into()
                        };
                        vec![
                            Cell { text: if zh { k.labels.zh_cn.clone() } else { k.labels.en.clone() }, tone: None },
                            Cell { text: k.value.map_or("—".into(), |v| format_value(v, k.unit)), tone: None },
                            Cell { text: k.target.map_or("—".into(), |v| format_value(v, k.unit)), tone: None },
                            Cell { text: format_value(*gap, Unit::Ratio), tone: Some(i18n::tone(k.status)) },
                            Cell { text: contributor, tone: None },
                        ]
                    })
                    .collect();
                let labels: [(&str, &str, Align); 5] = [
                    ("KPI", "指标", Align::Left),
                    ("Value", "实际", Align::Right),
                    ("Target", "目标", Align::Right),
                    ("Gap", "差距", Align::Right),
                    ("Biggest contributors", "主要影响区域/渠道", Align::Left),
                ];
                Section {
                    id: format!("s{i}-misses"),
                    title: title.get(zh).into(),
                    intro: intro.as_ref().map(|l| l.get(zh).into()),
                    body: SectionBody::Table {
                        table: Table {
                            columns: labels
                                .iter()
                                .map(|(en, zh_label, align)| Column {
                                    label: if zh { (*zh_label).into() } else { (*en).into() },
                                    align: *align,
                                })
                                .collect(),
                            rows: rows_out,
                            empty_text: if zh {
                                "所有有目标的指标均已达成。".into()
                            } else {
                                "Every KPI with a target is on track.".into()
                            },
                            note: None,
                        },
                    },
                }
            }
            SectionSpec::Findings { title } => Section {
                id: format!("s{i}-findings"),
                title: title.get(zh).into(),
                intro: None,
                body: SectionBody::Findings {
                    items: run.findings.iter().map(|f| if zh { f.zh_cn.clone() } else { f.en.clone() }).collect(),
                },
            },
            SectionSpec::Text { title, template } => {
                let mut hb = handlebars::Handlebars::new();
                hb.set_strict_mode(true);
                let data = serde_json::json!({
                    "period": run.period.to_string(),
                    "period_label": period_label,
                    "locale": locale.code(),
                    "kpis": run.kpis.iter().map(|k| (k.id.clone(), serde_json::json!({
                        "label": if zh { &k.labels.zh_cn } else { &k.labels.en },
                        "value": k.value.map(|v| format_value(v, k.unit)),
                        "target": k.target.map(|v| format_value(v, k.unit)),
                        "status": i18n::status_label(k.status, locale),
                    }))).collect::<serde_json::Map<_, _>>(),
                    "findings": run.findings.iter().map(|f| if zh { &f.zh_cn } else { &f.en }).collect::<Vec<_>>(),
                });
                let text = hb.render_template(template, &data).map_err(|e| BuildError::Template {
                    report: spec.name.clone(),
                    section: title.en.clone(),
                    message: e.to_string(),
                })?;
                let paragraphs = text
                    .split("\n\n")
                    .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|p| !p.is_empty())
                    .collect();
                Section {
                    id: format!("s{i}-text"),
                    title: title.get(zh).into(),
                    intro: None,
                    body: SectionBody::Text { paragraphs },
                }
            }
        };
        sections.push(section);
    }
    Ok(Report {
        name: spec.name.clone(),
        title: spec.title.get(zh).into(),
        period_label,
        period: run.period.to_string(),
        as_of: run.period.as_of().to_string(),
        run_id: run.run_id.into(),
        generated_at: run.started_at.into(),
        locale,
        page_size: if spec.page_size == "Letter" { PageSize::Letter } else { PageSize::A4 },
        theme,
        sections,
        labels: i18n::chrome(locale),
    })
}
