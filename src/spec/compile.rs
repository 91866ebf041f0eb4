//! Raw layer → checked [`Pipeline`]: every value validated, every problem collected.

use std::collections::HashSet;
use std::path::Path;

use serde_saphyr::Spanned;

use super::raw::{RawCheck, RawFragment, RawPipeline, RawSource, Text};
use super::types::TYPE_NAMES;
use super::*;
use crate::diag::did_you_mean;

/// Compiles a raw pipeline read from `path`.
///
/// # Errors
/// Every invalid value, each as a diagnostic pointing into `file`.
pub fn compile(
    raw: RawPipeline,
    fragments: Vec<(RawFragment, SourceText)>,
    file: SourceText,
    path: &Path,
) -> Result<Pipeline, Vec<Diagnostic>> {
    let mut c = Compiler { file, problems: Vec::new() };
    let p = c.pipeline(raw, fragments, path);
    if c.problems.is_empty() { Ok(p) } else { Err(c.problems) }
}

pub(super) struct Compiler {
    pub(super) file: SourceText,
    pub(super) problems: Vec<Diagnostic>,
}

pub(super) fn place<T>(s: &Spanned<T>, len: usize) -> Place {
    Place { line: s.referenced.line() as usize, column: s.referenced.column() as usize, len }
}

pub(super) fn text_place(s: &Text) -> Place {
    place(s, s.value.chars().count().max(1))
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(super) fn quoted_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items.into_iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
}

impl Compiler {
    pub(super) fn error(&mut self, code: &'static str, at: Place, message: String, hint: impl Into<String>) {
        // Values whose location serde could not keep (line 0) point at the file only.
        let d = Diagnostic::new(code, message).with_hint(hint);
        self.problems.push(if at.line == 0 {
            Diagnostic { source: Some(self.file.clone()), ..d }
        } else {
            d.at(&self.file, at)
        });
    }

    fn pipeline(&mut self, mut raw: RawPipeline, fragments: Vec<(RawFragment, SourceText)>, path: &Path) -> Pipeline {
        let main_file = self.file.clone();
        if raw.version.value != SPEC_VERSION {
            self.error(
                "spec::version",
                place(&raw.version, 1),
                format!("unsupported pipeline version {}", raw.version.value),
                format!("this sextant reads `version: {SPEC_VERSION}`"),
            );
        }
        let name = raw.name.value.clone();
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') || name.is_empty() {
            self.error(
                "spec::name",
                text_place(&raw.name),
                format!("pipeline name `{name}` cannot be used as a folder name"),
                "use letters, digits, `_` and `-` only, e.g. `monthly_review`",
            );
        }
        let grain = match &raw.grain {
            None => Grain::Month,
            Some(g) => g.value.parse().unwrap_or_else(|()| {
                let hint = match did_you_mean(&g.value, ["month", "quarter", "year"]) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => "use `month`, `quarter` or `year`".into(),
                };
                self.error("spec::grain", text_place(g), format!("unknown grain `{}`", g.value), hint);
                Grain::Month
            }),
        };
        let fiscal_year_start = match &raw.fiscal_year_start {
            None => FiscalYearStart::CALENDAR,
            Some(m) => FiscalYearStart::new(m.value).unwrap_or_else(|| {
                self.error(
                    "spec::fiscal-year-start",
                    place(m, 1),
                    format!("fiscal_year_start {} is not a month", m.value),
                    "write the month the fiscal year starts in, 1-12 (4 = April)",
                );
                FiscalYearStart::CALENDAR
            }),
        };

        // Included fragments first, in order, then the file's own lists.
        let mut parts: Vec<(SourceText, RawFragment)> = fragments.into_iter().map(|(f, t)| (t, f)).collect();
        parts.push((
            main_file.clone(),
            RawFragment {
                description: None,
                sources: std::mem::take(&mut raw.sources),
                steps: std::mem::take(&mut raw.steps),
                checks: std::mem::take(&mut raw.checks),
                kpis: std::mem::take(&mut raw.kpis),
                exports: std::mem::take(&mut raw.exports),
            },
        ));
        let mut defined: HashSet<String> = HashSet::new();
        let (mut sources, mut steps) = (Vec::new(), Vec::new());
        for (file, part) in &mut parts {
            self.file = file.clone();
            for s in std::mem::take(&mut part.sources) {
                sources.extend(self.source(s, &mut defined));
            }
            for step in std::mem::take(&mut part.steps) {
                let at = text_place(&step.name);
                if self.table_name(&step.name, &mut defined) {
                    let sql = self.sql_text(&step.sql);
                    steps.push(StepSpec {
                        name: step.name.value,
                        file: file.clone(),
                        sql,
                        description: step.description,
                        place: at,
                    });
                }
            }
        }
        let all_tables: Vec<String> = sources
            .iter()
            .map(|s: &SourceSpec| s.name.clone())
            .chain(steps.iter().map(|s: &StepSpec| s.name.clone()))
            .collect();
        let (mut checks, mut kpis, mut exports) = (Vec::new(), Vec::new(), Vec::new());
        let mut kpi_ids = HashSet::new();
        for (file, part) in parts {
            self.file = file.clone();
            checks.extend(part.checks.into_iter().filter_map(|c| self.check(c, &all_tables)));
            kpis.extend(part.kpis.into_iter().filter_map(|k| self.kpi(k, &mut kpi_ids)));
            for e in part.exports {
                self.known_table(&e.table, &all_tables);
                let format = match &e.format {
                    None => ExportFormat::Csv,
                    Some(f) => match f.value.as_str() {
                        "csv" => ExportFormat::Csv,
                        "parquet" => ExportFormat::Parquet,
                        "json" => ExportFormat::Json,
                        other => {
                            self.error(
                                "spec::export-format",
                                text_place(f),
                                format!("unknown export format `{other}`"),
                                "use `csv`, `parquet` or `json`",
                            );
                            ExportFormat::Csv
                        }
                    },
                };
                let file_name = match &e.file_name {
                    Some(n) if is_identifier(&n.value) => n.value.clone(),
                    Some(n) => {
                        self.error(
                            "spec::export-name",
                            text_place(n),
                            format!("`{}` is not a usable file name", n.value),
                            "use lower-case letters, digits and `_`",
                        );
                        e.table.value.clone()
                    }
                    None => e.table.value.clone(),
                };
                exports.push(ExportSpec {
                    place: text_place(&e.table),
                    file: file.clone(),
                    table: e.table.value,
                    file_name,
                    format,
                });
            }
        }
        self.file = main_file;
        let reports: Vec<super::report::ReportSpec> = std::mem::take(&mut raw.reports)
            .iter()
            .filter_map(|r| self.report(r, path, &all_tables, &kpi_ids, &exports))
            .collect();
        let owners = self.addresses(&raw.owners);
        let schedule = raw.schedule.as_ref().map(|s| self.schedule(s));
        let report_names: Vec<&str> = reports.iter().map(|r| r.name.as_str()).collect();
        let deliver = raw.deliver.as_ref().map(|d| self.deliver(d, &all_tables, &report_names)).unwrap_or_default();
        if !deliver.is_empty() && owners.is_empty() {
            self.error(
                "spec::owners",
                text_place(&raw.name),
                "a pipeline that delivers reports needs `owners:`".into(),
                "list who gets the failure notice when a run fails, e.g. `owners: [sales-ops@example.com]`",
            );
        }

        Pipeline {
            name,
            description: raw.description,
            file: self.file.clone(),
            path: path.to_path_buf(),
            grain,
            fiscal_year_start,
            sources,
            steps,
            checks,
            kpis,
            exports,
            reports,
            owners,
            schedule,
            deliver,
        }
    }

    fn report(
        &mut self,
        r: &super::report::RawReport,
        path: &Path,
        tables: &[String],
        kpis: &HashSet<String>,
        exports: &[ExportSpec],
    ) -> Option<super::report::ReportSpec> {
        use super::report::*;
        let ok_before = self.problems.len();
        if !is_identifier(&r.name.value) {
            self.error(
                "spec::report-name",
                text_place(&r.name),
                format!("`{}` is not a usable report name", r.name.value),
                "use lower-case letters, digits and `_`",
            );
        }
        let pick = |c: &mut Self, given: &Option<Vec<Text>>, allowed: &[&str], what: &str| -> Vec<String> {
            match given {
                None => allowed.iter().map(|s| s.to_string()).collect(),
                Some(list) => list
                    .iter()
                    .filter(|t| {
                        let ok = allowed.contains(&t.value.as_str());
                        if !ok {
                            c.error(
                                "spec::report",
                                text_place(t),
                                format!("unknown {what} `{}`", t.value),
                                format!("use {}", quoted_list(allowed.iter().copied())),
                            );
                        }
                        ok
                    })
                    .map(|t| t.value.clone())
                    .collect(),
            }
        };
        let locales = pick(self, &r.locales, &["en", "zh-CN"], "locale");
        let formats = pick(self, &r.formats, &["html", "pdf"], "format");
        let page_size = match &r.page_size {
            None => "A4".to_string(),
            Some(t) if t.value == "A4" || t.value == "Letter" => t.value.clone(),
            Some(t) => {
                self.error(
                    "spec::report",
                    text_place(t),
                    format!("unknown page size `{}`", t.value),
                    "use `A4` or `Letter`",
                );
                "A4".into()
            }
        };
        let theme = r.theme.as_ref();
        let colour = |c: &mut Self, t: Option<&Text>| -> Option<String> {
            let t = t?;
            if crate::report::model::Rgb::parse(&t.value).is_none() {
                c.error(
                    "spec::report",
                    text_place(t),
                    format!("`{}` is not a colour", t.value),
                    "write it as `#rrggbb`, e.g. `#1f3a5f`",
                );
                return None;
            }
            Some(t.value.clone())
        };
        let primary = colour(self, theme.and_then(|t| t.primary.as_ref()));
        let accent = colour(self, theme.and_then(|t| t.accent.as_ref()));
        let base = path.parent().unwrap_or(Path::new(""));
        let logo = theme.and_then(|t| t.logo.as_ref()).and_then(|l| {
            let p = base.join(&l.value);
            if p.is_file() {
                Some(p)
            } else {
                self.error(
                    "spec::report",
                    text_place(l),
                    format!("logo file {} not found", p.display()),
                    "the path is relative to the pipeline file",
                );
                None
            }
        });
        let fonts = theme
            .map(|t| t.fonts.clone())
            .unwrap_or_default()
            .iter()
            .filter_map(|f| {
                let (file, index) = match f.value.rsplit_once('#') {
                    Some((file, i)) => (file, i.parse().unwrap_or(0)),
                    None => (f.value.as_str(), 0),
                };
                let p = base.join(file);
                if p.is_file() {
                    Some((p, index))
                } else {
                    self.error(
                        "spec::report",
                        text_place(f),
                        format!("font file {} not found", p.display()),
                        "write `path` or `path#index` (for a .ttc), relative to the pipeline file",
                    );
                    None
                }
            })
            .collect();
        let mut sections = Vec::new();
        for s in &r.sections {
            let at = place(s, 1);
            let need_table = |c: &mut Self, t: &Option<Text>| -> Option<String> {
                match t {
                    Some(t) => c.known_table(t, tables).then(|| t.value.clone()),
                    None => {
                        c.error(
                            "spec::report",
                            at,
                            "this chart needs `table:`".into(),
                            "name the step whose rows it draws",
                        );
                        None
                    }
                }
            };
            let section = match &s.value {
                RawSection::Cover(c) => Some(SectionSpec::Cover { subtitle: c.subtitle.as_ref().map(Label::from) }),
                RawSection::Scorecard(sc) => {
                    let ids = sc.kpis.as_ref().map(|list| {
                        list.iter()
                            .filter(|k| {
                                let ok = kpis.contains(&k.value);
                                if !ok {
                                    let hint = did_you_mean(&k.value, kpis.iter().map(String::as_str)).map_or_else(
                                        || "name a KPI of this pipeline".to_string(),
                                        |b| format!("did you mean `{b}`?"),
                                    );
                                    self.error("spec::report", text_place(k), format!("no KPI `{}`", k.value), hint);
                                }
                                ok
                            })
                            .map(|k| k.value.clone())
                            .collect()
                    });
                    Some(SectionSpec::Scorecard {
                        title: (&sc.title).into(),
                        intro: sc.intro.as_ref().map(Label::from),
                        kpis: ids,
                    })
                }
                RawSection::Chart(ch) => {
                    let first_value = ch.values.first().map(|v| v.value.clone());
                    let source = match ch.kind.value.as_str() {
                        "line" => match &ch.kpi {
                            Some(k) if kpis.contains(&k.value) => Some(ChartSource::KpiTrend { kpi: k.value.clone() }),
                            Some(k) => {
                                self.error(
                                    "spec::report",
                                    text_place(k),
                                    format!("no KPI `{}`", k.value),
                                    "a line chart draws a KPI's trend: name one of the pipeline's KPIs",
                                );
                                None
                            }
                            None => {
                                self.error(
                                    "spec::report",
                                    at,
                                    "a line chart needs `kpi:`".into(),
                                    "name the KPI whose trend it draws",
                                );
                                None
                            }
                        },
                        "bars" => need_table(self, &ch.table).zip(ch.category.as_ref()).map(|(table, cat)| {
                            ChartSource::Bars {
                                table,
                                category: cat.value.clone(),
                                values: ch.values.iter().map(|v| v.value.clone()).collect(),
                                target: ch.target.as_ref().map(|t| t.value.clone()),
                            }
                        }),
                        "funnel" => need_table(self, &ch.table).zip(ch.category.as_ref()).zip(first_value).map(
                            |((table, cat), value)| ChartSource::Funnel {
                                table,
                                category: cat.value.clone(),
                                value,
                                conversion: ch.target.as_ref().map(|t| t.value.clone()),
                            },
                        ),
                        "radar" => need_table(self, &ch.table)
                            .zip(ch.category.as_ref())
                            .zip(ch.series.as_ref())
                            .zip(first_value)
                            .map(|(((table, axis), series), value)| ChartSource::Radar {
                                table,
                                axis: axis.value.clone(),
                                series: series.value.clone(),
                                value,
                                max: ch.max.unwrap_or(10.0),
                            }),
                        other => {
                            self.error(
                                "spec::report",
                                text_place(&ch.kind),
                                format!("unknown chart kind `{other}`"),
                                "use `line`, `bars`, `funnel` or `radar`",
                            );
                            None
                        }
                    };
                    if source.is_none() && self.problems.len() == ok_before {
                        self.error("spec::report", at, format!("the {} chart is missing `category:` or `values:`", ch.kind.value), "bars: table, category, values; funnel: table, category, values; radar: table, category, series, values");
                    }
                    source.map(|source| SectionSpec::Chart {
                        title: (&ch.title).into(),
                        intro: ch.intro.as_ref().map(Label::from),
                        source,
                    })
                }
                RawSection::Table(t) => {
                    let table = self.known_table(&t.table, tables).then(|| t.table.value.clone());
                    let columns = t
                        .columns
                        .iter()
                        .map(|c| {
                            let format = match c.format.as_ref().map(|f| f.value.as_str()) {
                                None => ColumnFormat::Auto,
                                Some("text") => ColumnFormat::Text,
                                Some("money") => ColumnFormat::Money,
                                Some("count") => ColumnFormat::Count,
                                Some("percent") => ColumnFormat::Percent,
                                Some("number") => ColumnFormat::Number,
                                Some("status") => ColumnFormat::Status,
                                Some("code") => ColumnFormat::Code,
                                Some(other) => {
                                    let f = c.format.as_ref().map_or(at, text_place);
                                    self.error(
                                        "spec::report",
                                        f,
                                        format!("unknown column format `{other}`"),
                                        "use text, money, count, percent, number, status or code",
                                    );
                                    ColumnFormat::Auto
                                }
                            };
                            let locale = c.locale.as_ref().and_then(|l| {
                                if l.value == "en" || l.value == "zh-CN" {
                                    Some(l.value.clone())
                                } else {
                                    self.error(
                                        "spec::report",
                                        text_place(l),
                                        format!("unknown locale `{}`", l.value),
                                        "use `en` or `zh-CN`",
                                    );
                                    None
                                }
                            });
                            ColumnSpec { column: c.column.value.clone(), label: (&c.label).into(), format, locale }
                        })
                        .collect();
                    let more = t.more.as_ref().and_then(|m| {
                        if t.limit.is_none() {
                            self.error(
                                "spec::report",
                                text_place(m),
                                "`more` without `limit`: the table is never cut".into(),
                                "add `limit: <rows>`, or remove `more`",
                            );
                        }
                        match exports.iter().find(|e| e.file_name == m.value) {
                            Some(e) => Some(e.path()),
                            None => {
                                let names: Vec<&str> = exports.iter().map(|e| e.file_name.as_str()).collect();
                                self.error(
                                    "spec::report",
                                    text_place(m),
                                    format!("`more: {}` names no export", m.value),
                                    if names.is_empty() {
                                        "add the table to `exports:` first".to_string()
                                    } else {
                                        format!("use one of the exports: {}", names.join(", "))
                                    },
                                );
                                None
                            }
                        }
                    });
                    table.map(|table| SectionSpec::Table {
                        title: (&t.title).into(),
                        intro: t.intro.as_ref().map(Label::from),
                        table,
                        columns,
                        empty: t.empty.as_ref().map(Label::from),
                        limit: t.limit,
                        more,
                    })
                }
                RawSection::Findings(f) => Some(SectionSpec::Findings { title: (&f.title).into() }),
                RawSection::KpiMonths(m) => {
                    Some(SectionSpec::KpiMonths { title: (&m.title).into(), intro: m.intro.as_ref().map(Label::from) })
                }
                RawSection::Misses(m) => {
                    let contributors =
                        m.contributors.as_ref().and_then(|t| self.known_table(t, tables).then(|| t.value.clone()));
                    (m.contributors.is_none() || contributors.is_some()).then(|| SectionSpec::Misses {
                        title: (&m.title).into(),
                        intro: m.intro.as_ref().map(Label::from),
                        contributors,
                    })
                }
                RawSection::Text(t) => {
                    let p = base.join(&t.template.value);
                    match std::fs::read_to_string(&p) {
                        Ok(template) => Some(SectionSpec::Text { title: (&t.title).into(), template }),
                        Err(e) => {
                            self.error(
                                "spec::report",
                                text_place(&t.template),
                                format!("cannot read template {}: {e}", p.display()),
                                "the path is relative to the pipeline file",
                            );
                            None
                        }
                    }
                }
            };
            sections.extend(section);
        }
        (self.problems.len() == ok_before).then(|| ReportSpec {
            name: r.name.value.clone(),
            title: (&r.title).into(),
            locales,
            formats,
            page_size,
            primary,
            accent,
            logo,
            fonts,
            sections,
        })
    }

    fn kpi(&mut self, k: super::raw::RawKpi, ids: &mut HashSet<String>) -> Option<KpiSpec> {
        let at = text_place(&k.id);
        if !is_identifier(&k.id.value) {
            self.error(
                "spec::kpi-id",
                at,
                format!("`{}` is not a usable KPI id", k.id.value),
                "use lower-case letters, digits and `_`, e.g. `revenue_attainment`",
            );
        } else if !ids.insert(k.id.value.clone()) {
            self.error(
                "spec::duplicate-kpi",
                at,
                format!("KPI `{}` is defined twice", k.id.value),
                "every KPI needs its own id",
            );
        }
        let unit = Unit::from_name(&k.unit.value).unwrap_or_else(|| {
            let hint = did_you_mean(&k.unit.value, Unit::NAMES)
                .map_or_else(|| format!("use one of {}", quoted_list(Unit::NAMES)), |b| format!("did you mean `{b}`?"));
            self.error("spec::kpi-unit", text_place(&k.unit), format!("unknown unit `{}`", k.unit.value), hint);
            Unit::Count
        });
        let direction = match k.direction.as_ref().map(|d| d.value.as_str()) {
            None | Some("higher") => Direction::Higher,
            Some("lower") => Direction::Lower,
            Some("none") => Direction::None,
            Some(other) => {
                let d = k.direction.as_ref().map_or(at, text_place);
                self.error(
                    "spec::kpi-direction",
                    d,
                    format!("unknown direction `{other}`"),
                    "use `higher` or `lower` (which is better), or `none` to watch only",
                );
                Direction::Higher
            }
        };
        let tolerance = match &k.tolerance {
            None => 0.10,
            Some(t) if (0.0..1.0).contains(&t.value) => t.value,
            Some(t) => {
                self.error(
                    "spec::kpi-tolerance",
                    place(t, 1),
                    format!("tolerance {} is not a share", t.value),
                    "write a share between 0 and 1, e.g. `0.10` for 10 %",
                );
                0.10
            }
        };
        let target = k.target.as_ref().and_then(|t| {
            let r = &t.value;
            let given = [r.value.is_some(), r.metric.is_some(), r.sql.is_some()].iter().filter(|b| **b).count();
            if given != 1 {
                self.error(
                    "spec::kpi-target",
                    place(t, 1),
                    format!("the target of KPI `{}` must have exactly one of `value`, `metric` or `sql`", k.id.value),
                    "e.g. `target: { value: 0.9 }`, `target: { metric: revenue }` or `target: { sql: ... }`",
                );
                return None;
            }
            Some(match (r.value, &r.metric, &r.sql) {
                (Some(v), _, _) => TargetSpec::Value(v),
                (_, Some(m), _) => TargetSpec::Table {
                    metric: m.clone(),
                    dimension: r.dimension.clone().unwrap_or_else(|| "all".into()),
                    dimension_value: r.dimension_value.clone().unwrap_or_else(|| "*".into()),
                },
                (_, _, Some(sql)) => TargetSpec::Sql(self.sql_text(sql)),
                _ => return None,
            })
        });
        Some(KpiSpec {
            id: k.id.value.clone(),
            file: self.file.clone(),
            label_en: k.label.en,
            label_zh: k.label.zh_cn,
            unit,
            direction,
            tolerance,
            description: k.description,
            sql: self.sql_text(&k.sql),
            target,
            place: at,
        })
    }

    /// Checks a new table name; `false` when it cannot be used.
    fn table_name(&mut self, name: &Text, defined: &mut HashSet<String>) -> bool {
        if !is_identifier(&name.value) {
            self.error(
                "spec::table-name",
                text_place(name),
                format!("`{}` is not a usable table name", name.value),
                "use lower-case letters, digits and `_`, starting with a letter, so SQL can name it unquoted",
            );
            return false;
        }
        if name.value == crate::engine::PERIODS_TABLE {
            self.error(
                "spec::reserved-table",
                text_place(name),
                format!("`{}` is a built-in table (the run's periods)", name.value),
                "choose another name",
            );
            return false;
        }
        if !defined.insert(name.value.clone()) {
            self.error(
                "spec::duplicate-table",
                text_place(name),
                format!("table `{}` is defined twice", name.value),
                "every source and step needs its own name",
            );
            return false;
        }
        true
    }

    pub(super) fn known_table(&mut self, table: &Text, all: &[String]) -> bool {
        if all.contains(&table.value) {
            return true;
        }
        let hint = match did_you_mean(&table.value, all.iter().map(String::as_str)) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("the pipeline defines {}", quoted_list(all.iter().map(String::as_str))),
        };
        self.error(
            "spec::unknown-table",
            text_place(table),
            format!("no source or step is named `{}`", table.value),
            hint,
        );
        false
    }

    fn source(&mut self, s: RawSource, defined: &mut HashSet<String>) -> Option<SourceSpec> {
        let name_ok = self.table_name(&s.name, defined);
        let loc_text = s.location.value.trim();
        let location = if loc_text.contains("://") {
            match url::Url::parse(loc_text) {
                Ok(u) if matches!(u.scheme(), "file" | "s3" | "gs" | "az" | "abfs" | "abfss" | "http" | "https") => {
                    SourceLocation::Url(u)
                }
                Ok(u) => {
                    self.error(
                        "spec::location",
                        text_place(&s.location),
                        format!("unsupported URL scheme `{}`", u.scheme()),
                        "use a path relative to the data root, or a file://, s3://, gs://, az:// or http(s):// URL",
                    );
                    return None;
                }
                Err(e) => {
                    self.error(
                        "spec::location",
                        text_place(&s.location),
                        format!("invalid URL: {e}"),
                        "check the URL's spelling",
                    );
                    return None;
                }
            }
        } else if loc_text.is_empty() {
            self.error(
                "spec::location",
                text_place(&s.location),
                "empty location".into(),
                "write a path relative to the data root, e.g. `orders.csv`",
            );
            return None;
        } else {
            SourceLocation::Relative(loc_text.to_string())
        };
        let format = match &s.format {
            Some(f) => match DataFormat::from_name(&f.value) {
                Some(df) => Some(df),
                None => {
                    let hint = match did_you_mean(&f.value, DataFormat::ALL.map(DataFormat::as_str)) {
                        Some(b) => format!("did you mean `{b}`?"),
                        None => "use `csv`, `parquet`, `json` or `ndjson`".into(),
                    };
                    self.error("spec::format", text_place(f), format!("unknown format `{}`", f.value), hint);
                    None
                }
            },
            None => {
                let path = match &location {
                    SourceLocation::Relative(p) => p.as_str(),
                    SourceLocation::Url(u) => u.path(),
                };
                let inferred = DataFormat::from_extension(path);
                let has_extension = Path::new(path).extension().is_some();
                if inferred.is_none() && has_extension {
                    self.error(
                        "spec::format",
                        text_place(&s.location),
                        format!("cannot tell the format of `{loc_text}` from its extension"),
                        "add `format: csv` (or parquet, json, ndjson) to the source",
                    );
                }
                inferred
            }
        };
        let mut columns = Vec::new();
        for (col, ty) in &s.columns.0 {
            match parse_data_type(&ty.value) {
                Some(data_type) => {
                    columns.push(ColumnSpec { name: col.value.clone(), data_type, place: text_place(col) })
                }
                None => self.error(
                    "spec::column-type",
                    text_place(ty),
                    format!("unknown column type `{}`", ty.value),
                    format!("use one of {}", quoted_list(TYPE_NAMES.iter().copied())),
                ),
            }
        }
        let mut csv = CsvSpec::default();
        if let Some(o) = &s.csv {
            if let Some(d) = &o.delimiter {
                match d.value.as_bytes() {
                    [b] if d.value.is_ascii() => csv.delimiter = *b,
                    _ if d.value == "\\t" => csv.delimiter = b'\t',
                    _ => self.error(
                        "spec::csv-delimiter",
                        text_place(d),
                        format!("delimiter `{}` is not one character", d.value),
                        "use a single ASCII character such as `,`, `;` or `\\t`",
                    ),
                }
            }
            csv.header = o.header.unwrap_or(true);
            csv.null_values = o.null_values.clone().unwrap_or_default();
            if let Some(f) = &o.date_format {
                if chrono::format::StrftimeItems::new(&f.value).any(|i| matches!(i, chrono::format::Item::Error)) {
                    self.error(
                        "spec::date-format",
                        text_place(f),
                        format!("`{}` is not a date format", f.value),
                        "use chrono/strftime codes, e.g. `%d/%m/%Y`",
                    );
                } else {
                    csv.date_format = Some(f.value.clone());
                }
            }
        }
        name_ok.then(|| SourceSpec {
            place: text_place(&s.name),
            file: self.file.clone(),
            name: s.name.value,
            location,
            format,
            columns,
            csv,
        })
    }

    fn severity(&mut self, s: &Option<Text>) -> Severity {
        match s {
            None => Severity::Error,
            Some(t) => match t.value.as_str() {
                "error" => Severity::Error,
                "warn" | "warning" => Severity::Warn,
                other => {
                    self.error(
                        "spec::severity",
                        text_place(t),
                        format!("unknown severity `{other}`"),
                        "use `error` (stops the run) or `warn` (recorded)",
                    );
                    Severity::Error
                }
            },
        }
    }

    fn columns(&mut self, cols: &[Text], check: &str, at: Place) -> Vec<String> {
        if cols.is_empty() {
            self.error("spec::check", at, format!("`{check}` names no column"), "list at least one column");
        }
        cols.iter().map(|c| c.value.clone()).collect()
    }

    fn check(&mut self, c: Spanned<RawCheck>, all: &[String]) -> Option<CheckSpec> {
        let at = place(&c, 1);
        let (kind, severity) = match c.value {
            RawCheck::NotNull(r) => {
                let known = self.known_table(&r.table, all);
                let columns = self.columns(&r.columns.0, "not_null", at);
                (known.then_some(CheckKind::NotNull { table: r.table.value, columns })?, self.severity(&r.severity))
            }
            RawCheck::Unique(r) => {
                let known = self.known_table(&r.table, all);
                let columns = self.columns(&r.columns.0, "unique", at);
                (known.then_some(CheckKind::Unique { table: r.table.value, columns })?, self.severity(&r.severity))
            }
            RawCheck::AcceptedValues(r) => {
                let known = self.known_table(&r.table, all);
                let severity = self.severity(&r.severity);
                (
                    known.then_some(CheckKind::AcceptedValues {
                        table: r.table.value,
                        column: r.column.value,
                        values: r.values,
                    })?,
                    severity,
                )
            }
            RawCheck::RowCountMin(r) => {
                let known = self.known_table(&r.table, all);
                let severity = self.severity(&r.severity);
                (known.then_some(CheckKind::RowCountMin { table: r.table.value, min: r.min })?, severity)
            }
            RawCheck::Relationship(r) => {
                let known = self.known_table(&r.table, all);
                let severity = self.severity(&r.severity);
                let Some((to_table, to_column)) = r.to.value.split_once('.') else {
                    self.error(
                        "spec::relationship",
                        text_place(&r.to),
                        format!("`{}` does not name a column", r.to.value),
                        "write `table.column`, e.g. `customers.customer_id`",
                    );
                    return None;
                };
                if !all.iter().any(|t| t == to_table) {
                    let to =
                        Spanned { value: to_table.to_string(), referenced: r.to.referenced, defined: r.to.defined };
                    self.known_table(&to, all);
                    return None;
                }
                let kind = CheckKind::Relationship {
                    table: r.table.value,
                    column: r.column.value,
                    to_table: to_table.to_string(),
                    to_column: to_column.to_string(),
                };
                (known.then_some(kind)?, severity)
            }
            RawCheck::Sql(r) => {
                let severity = self.severity(&r.severity);
                (CheckKind::Sql { name: r.name.value, query: self.sql_text(&r.query) }, severity)
            }
        };
        Some(CheckSpec { kind, severity, place: at, file: self.file.clone() })
    }

    /// Works out how SQL positions map to the YAML file (block scalar or inline).
    fn sql_text(&self, sql: &Text) -> SqlText {
        let line = sql.referenced.line() as usize;
        let column = sql.referenced.column() as usize;
        let yaml_line = self.file.line(line).unwrap_or("");
        let first = yaml_line.chars().nth(column.saturating_sub(1));
        // serde-saphyr places a block scalar (`sql: |`) at its first content line; the
        // indicator then ends the line before.
        let previous = line.checked_sub(1).and_then(|l| self.file.line(l)).unwrap_or("");
        let previous = previous.split(" #").next().unwrap_or("").trim_end();
        let block_above = ["|", "|-", "|+", ">", ">-", ">+"].iter().any(|i| previous.ends_with(&format!(" {i}")));
        let origin = match first {
            Some('|') | Some('>') => {
                // Content starts on the first non-blank line after the indicator.
                let mut first_line = line + 1;
                let mut indent = 0;
                while let Some(l) = self.file.line(first_line) {
                    if !l.trim().is_empty() {
                        indent = l.len() - l.trim_start().len();
                        break;
                    }
                    first_line += 1;
                }
                // Leading blank lines are kept in the SQL text, so count from the line after the indicator.
                let leading_blank = sql.value.chars().take_while(|c| *c == '\n').count();
                SqlOrigin::Block { first_line: first_line - leading_blank, indent }
            }
            _ if block_above => {
                let indent = yaml_line.len() - yaml_line.trim_start().len();
                SqlOrigin::Block { first_line: line, indent }
            }
            Some('"') | Some('\'') => SqlOrigin::Inline { line, column: column + 1 },
            _ => SqlOrigin::Inline { line, column },
        };
        SqlText { text: sql.value.clone(), file: self.file.clone(), origin }
    }
}
