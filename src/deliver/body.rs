//! The bodies of the emails: the report email with its scorecard, a burst email with one
//! owner's rows, and the failure notice; each as HTML and as plain text.
//!
//! The HTML is for mail clients, not browsers: tables for layout and inline styles only
//! (Outlook ignores `<style>` blocks and most CSS layout), nothing fetched. The templates
//! are in `report-templates/email/` and run in strict mode: a missing field is an error.

use handlebars::Handlebars;
use serde::Serialize;
use serde_json::{Value, json};

use super::DeliverError;
use super::published::ReportLink;
use crate::kpi::findings::{Finding, format_value};
use crate::kpi::{KpiResult, Status};
use crate::period::Period;
use crate::report::build::card;
use crate::report::model::{Locale, Theme, Tone};
use crate::spec::Unit;

const TEMPLATES: [(&str, &str); 6] = [
    ("report.html", include_str!("../../report-templates/email/report.hbs")),
    ("report.txt", include_str!("../../report-templates/email/report.txt.hbs")),
    ("burst.html", include_str!("../../report-templates/email/burst.hbs")),
    ("burst.txt", include_str!("../../report-templates/email/burst.txt.hbs")),
    ("failure.html", include_str!("../../report-templates/email/failure.hbs")),
    ("failure.txt", include_str!("../../report-templates/email/failure.txt.hbs")),
];
const FRAME: &str = include_str!("../../report-templates/email/frame.hbs");

/// Fonts every mail client has, with the Chinese system fonts of Windows and macOS.
const FONT: &str = "Arial,Helvetica,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif";

/// An email's two alternatives.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct MailBody {
    pub html: String,
    pub text: String,
}

fn template_error(template: &str) -> impl Fn(handlebars::TemplateError) -> DeliverError + '_ {
    move |e| DeliverError::Template { template: template.to_string(), message: e.to_string() }
}

/// Renders `name` (`report`, `burst`, `failure`) as HTML (escaped) and text (not escaped).
fn render(name: &str, data: &Value) -> Result<MailBody, DeliverError> {
    let mut html = Handlebars::new();
    html.set_strict_mode(true);
    html.register_partial("frame", FRAME).map_err(template_error("email/frame.hbs"))?;
    let mut text = Handlebars::new();
    text.set_strict_mode(true);
    text.register_escape_fn(handlebars::no_escape);
    for (key, source) in TEMPLATES {
        let registry = if key.ends_with(".html") { &mut html } else { &mut text };
        registry.register_template_string(key, source).map_err(template_error(key))?;
    }
    let run = |registry: &Handlebars<'_>, key: String| {
        registry
            .render(&key, data)
            .map_err(|e| DeliverError::Template { template: format!("email/{key}"), message: e.to_string() })
    };
    Ok(MailBody { html: run(&html, format!("{name}.html"))?, text: run(&text, format!("{name}.txt"))? })
}

/// Renders a subject template (`{{title}}: {{period}}`) with no HTML escaping.
///
/// # Errors
/// When the template does not parse or names a field other than `pipeline`, `period`,
/// `period_code`, `title` and `owner`.
pub(super) fn subject(template: &str, vars: &Value) -> Result<String, DeliverError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.render_template(template, vars)
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .map_err(|e| DeliverError::Template { template: format!("subject `{template}`"), message: e.to_string() })
}

/// The words of the emails in both languages.
struct Words {
    kpi: &'static str,
    value: &'static str,
    target: &'static str,
    attainment: &'static str,
    status: &'static str,
    findings: &'static str,
    links: &'static str,
}

fn words(locale: Locale) -> Words {
    match locale {
        Locale::En => Words {
            kpi: "KPI",
            value: "Value",
            target: "Target",
            attainment: "Attainment",
            status: "Status",
            findings: "Key findings",
            links: "Read the report",
        },
        Locale::ZhCn => Words {
            kpi: "指标",
            value: "实际值",
            target: "目标",
            attainment: "达成率",
            status: "状态",
            findings: "重点发现",
            links: "查看报告",
        },
    }
}

fn colour(tone: Tone, theme: &Theme) -> String {
    match tone {
        Tone::OnTrack => theme.on_track,
        Tone::AtRisk => theme.at_risk,
        Tone::OffTrack => theme.off_track,
        Tone::Neutral => theme.neutral,
    }
    .hex()
}

/// One line of the scorecard, formatted as the report's scorecard formats it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ScorecardRow {
    pub id: String,
    pub label: String,
    pub value: String,
    /// `—` without a target.
    pub target: String,
    /// `97.3%`, `—` without a target.
    pub attainment: String,
    pub status: Status,
    /// `At risk` / `有风险`.
    pub status_label: String,
    pub tone: Tone,
}

/// The scorecard rows of `kpis` in `locale`.
pub(super) fn scorecard(kpis: &[KpiResult], period: &Period, locale: Locale) -> Vec<ScorecardRow> {
    kpis.iter()
        .map(|k| {
            let c = card(k, period, locale);
            ScorecardRow {
                id: k.id.clone(),
                label: c.label,
                value: c.value,
                target: k.target.map_or_else(|| "—".to_string(), |t| format_value(t, k.unit)),
                attainment: k.attainment.map_or_else(|| "—".to_string(), |a| format_value(a, Unit::Ratio)),
                status: k.status,
                status_label: c.status_label,
                tone: c.tone,
            }
        })
        .collect()
}

/// How many KPIs are on track, at risk and off track, as `(tone, count, label)`; tones
/// without a KPI are left out.
pub(super) fn status_counts(rows: &[ScorecardRow], locale: Locale) -> Vec<(Tone, usize, &'static str)> {
    let label = |tone| match (tone, locale) {
        (Tone::OnTrack, Locale::En) => "on track",
        (Tone::AtRisk, Locale::En) => "at risk",
        (Tone::OffTrack, Locale::En) => "off track",
        (Tone::OnTrack, Locale::ZhCn) => "项达成",
        (Tone::AtRisk, Locale::ZhCn) => "项有风险",
        (Tone::OffTrack, Locale::ZhCn) => "项未达成",
        (Tone::Neutral, _) => "",
    };
    [Tone::OnTrack, Tone::AtRisk, Tone::OffTrack]
        .into_iter()
        .map(|t| (t, rows.iter().filter(|r| r.tone == t).count(), label(t)))
        .filter(|(_, n, _)| *n > 0)
        .collect()
}

/// What the report email says.
pub(super) struct ReportMail<'a> {
    pub locale: Locale,
    pub subject: &'a str,
    /// The title of the (first) report sent.
    pub title: &'a str,
    pub period_label: &'a str,
    pub run_id: &'a str,
    pub as_of: &'a str,
    pub rows: &'a [ScorecardRow],
    pub findings: &'a [Finding],
    pub links: &'a [ReportLink],
    /// File names of the attached PDFs.
    pub attachments: &'a [String],
}

fn footer(locale: Locale, run_id: &str, as_of: &str) -> String {
    match locale {
        Locale::En => {
            format!("Sent by sextant {} · run {run_id} · data as of {as_of}", env!("CARGO_PKG_VERSION"))
        }
        Locale::ZhCn => format!("由 sextant {} 发送 · 运行编号 {run_id} · 数据截至 {as_of}", env!("CARGO_PKG_VERSION")),
    }
}

/// The email that carries a report: the scorecard, the findings and the links.
pub(super) fn report_mail(m: &ReportMail<'_>) -> Result<MailBody, DeliverError> {
    let theme = Theme::default();
    let w = words(m.locale);
    let zh = m.locale == Locale::ZhCn;
    let intro = match (zh, m.attachments.is_empty()) {
        (false, false) => format!("The {} for {} is attached.", m.title, m.period_label),
        (false, true) => format!("The {} for {} is ready.", m.title, m.period_label),
        (true, false) => format!("附件为{}的{}。", m.period_label, m.title),
        (true, true) => format!("{}的{}已生成。", m.period_label, m.title),
    };
    let attachments = match (zh, m.attachments.is_empty()) {
        (_, true) => String::new(),
        (false, false) => format!("Attached: {}", m.attachments.join(", ")),
        (true, false) => format!("附件：{}", m.attachments.join("，")),
    };
    let rows: Vec<Value> = m
        .rows
        .iter()
        .map(|r| {
            let line = if r.target == "—" {
                let colon = if zh { "：" } else { ": " };
                format!("{}{colon}{} — {}", r.label, r.value, r.status_label)
            } else if zh {
                format!("{}：{}（目标 {}，达成率 {}）— {}", r.label, r.value, r.target, r.attainment, r.status_label)
            } else {
                format!("{}: {} (target {}, {}) — {}", r.label, r.value, r.target, r.attainment, r.status_label)
            };
            json!({
                "label": r.label, "value": r.value, "target": r.target, "attainment": r.attainment,
                "target_cell": if r.target == "—" { "" } else { r.target.as_str() },
                "status": r.status_label, "colour": colour(r.tone, &theme), "line": line,
            })
        })
        .collect();
    let counts: Vec<Value> = status_counts(m.rows, m.locale)
        .into_iter()
        .map(|(tone, count, label)| json!({ "count": count, "label": label, "colour": colour(tone, &theme) }))
        .collect();
    let findings: Vec<&str> = m.findings.iter().map(|f| if zh { f.zh_cn.as_str() } else { f.en.as_str() }).collect();
    let data = json!({
        "lang": m.locale.code(),
        "version": env!("CARGO_PKG_VERSION"),
        "font": FONT,
        "subject": m.subject,
        "band": theme.primary.hex(),
        "primary": theme.primary.hex(),
        "heading": m.title,
        "subheading": m.period_label,
        "intro": intro,
        "counts": counts,
        "headers": { "kpi": w.kpi, "value": w.value, "target": w.target, "attainment": w.attainment, "status": w.status },
        "rows": rows,
        "findings_title": w.findings,
        "findings": findings,
        "links_title": w.links,
        "links": links_json(m.links),
        "attachments": attachments,
        "footer": footer(m.locale, m.run_id, m.as_of),
    });
    render("report", &data)
}

fn links_json(links: &[ReportLink]) -> Vec<Value> {
    links.iter().map(|l| json!({ "title": l.title, "format": l.format.to_uppercase(), "url": l.url })).collect()
}

/// What one owner's burst email says.
pub(super) struct BurstMail<'a> {
    pub locale: Locale,
    pub subject: &'a str,
    pub owner: &'a str,
    pub period_label: &'a str,
    pub run_id: &'a str,
    pub as_of: &'a str,
    pub headers: &'a [String],
    pub rows: &'a [Vec<String>],
    pub links: &'a [ReportLink],
}

/// The email of one owner's rows.
pub(super) fn burst_mail(m: &BurstMail<'_>) -> Result<MailBody, DeliverError> {
    let theme = Theme::default();
    let zh = m.locale == Locale::ZhCn;
    let n = m.rows.len();
    let intro = match (zh, n) {
        (false, 1) => format!("One item for you ({}) in {}; only your own are listed.", m.owner, m.period_label),
        (false, _) => format!("{n} items for you ({}) in {}; only your own are listed.", m.owner, m.period_label),
        (true, _) => format!("{}您（{}）名下共有 {n} 条，以下仅列出您负责的部分。", m.period_label, m.owner),
    };
    let lines: Vec<String> = m
        .rows
        .iter()
        .map(|row| {
            let sep = if zh { "；" } else { "; " };
            m.headers
                .iter()
                .zip(row)
                .map(|(h, v)| if zh { format!("{h}：{v}") } else { format!("{h}: {v}") })
                .collect::<Vec<_>>()
                .join(sep)
        })
        .collect();
    let data = json!({
        "lang": m.locale.code(),
        "version": env!("CARGO_PKG_VERSION"),
        "font": FONT,
        "subject": m.subject,
        "band": theme.primary.hex(),
        "primary": theme.primary.hex(),
        "heading": m.subject,
        "subheading": m.owner,
        "intro": intro,
        "headers": m.headers,
        "rows": m.rows,
        "lines": lines,
        "links_title": if zh { "完整名单见报告：" } else { "The full list is in the report:" },
        "links": links_json(m.links),
        "footer": footer(m.locale, m.run_id, m.as_of),
    });
    render("burst", &data)
}

/// A failed check as the notice lists it.
pub(super) struct FailedCheck {
    pub name: String,
    pub violations: u64,
    pub message: String,
}

/// What the failure notice says.
pub(super) struct FailureMail<'a> {
    pub locale: Locale,
    pub subject: &'a str,
    pub pipeline: &'a str,
    pub period: &'a str,
    pub run_id: &'a str,
    pub checks: &'a [FailedCheck],
    pub errors: &'a [String],
    /// The run's diagnostics as the terminal shows them (file, line, snippet), uncoloured.
    pub details: &'a str,
    /// Where the attempt is recorded.
    pub ledger: &'a str,
    /// How to name the pipeline on the command line: its name for `pipelines/<name>.yaml`,
    /// else its file.
    pub command_arg: &'a str,
}

/// The notice to the owners that a run failed and its report was not sent.
pub(super) fn failure_mail(m: &FailureMail<'_>) -> Result<MailBody, DeliverError> {
    let theme = Theme::default();
    let zh = m.locale == Locale::ZhCn;
    let (p, period, run, arg) = (m.pipeline, m.period, m.run_id, m.command_arg);
    // A failed check is also one of the run's errors: list it once, in the table.
    let errors: Vec<&String> =
        m.errors.iter().filter(|e| !m.checks.iter().any(|c| e.contains(&format!("check {} failed", c.name)))).collect();
    let data = json!({
        "lang": m.locale.code(),
        "version": env!("CARGO_PKG_VERSION"),
        "font": FONT,
        "subject": m.subject,
        "band": theme.off_track.hex(),
        "primary": theme.primary.hex(),
        "heading": if zh { format!("{p} {period} 运行失败") } else { format!("{p} {period} failed") },
        "subheading": if zh { "报告未发送给读者".to_string() } else { "The report was not sent to its readers".to_string() },
        "intro": if zh {
            format!("{p} 在 {period} 的运行 {run} 失败，报告未发布，也未发送给读者。该期间上一次成功的运行（如有）保持不变。")
        } else {
            format!("Run {run} of {p} for {period} failed, so nothing was published and the report was not sent to \
                     its readers. The last good run of the period, if any, is still in place.")
        },
        "checks_title": if zh { "未通过的检查" } else { "Failed checks" },
        "headers": if zh {
            json!({ "check": "检查", "rows": "行数", "message": "说明" })
        } else {
            json!({ "check": "Check", "rows": "Rows", "message": "Message" })
        },
        "checks": m.checks.iter().map(|c| json!({
            "name": c.name, "violations": format_value(c.violations as f64, Unit::Count), "message": c.message,
        })).collect::<Vec<_>>(),
        "errors_title": if zh { "错误" } else { "Errors" },
        "errors": errors,
        "details_title": if zh { "详细信息" } else { "Details" },
        "details": m.details,
        "next_step": if zh {
            format!("修复后重新运行：sextant run {arg} --period {period} --deliver")
        } else {
            format!("Once fixed, run it again: sextant run {arg} --period {period} --deliver")
        },
        "footer": if zh {
            format!("由 sextant {} 发送 · 本次尝试记录于 {}", env!("CARGO_PKG_VERSION"), m.ledger)
        } else {
            format!("Sent by sextant {} · attempt recorded in {}", env!("CARGO_PKG_VERSION"), m.ledger)
        },
    });
    render("failure", &data)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::kpi::{Comparison, Labels};
    use crate::spec::Direction;

    fn kpi(id: &str, en: &str, zh: &str, unit: Unit, value: f64, target: Option<f64>, status: Status) -> KpiResult {
        let none = Comparison { period: "2026-09".into(), value: None, change_abs: None, change_rel: None };
        KpiResult {
            id: id.into(),
            label: en.into(),
            labels: Labels { en: en.into(), zh_cn: zh.into() },
            unit,
            direction: Direction::Higher,
            value: Some(value),
            target,
            attainment: target.map(|t| value / t),
            status,
            previous: none.clone(),
            year_ago: Comparison { period: "2025-10".into(), ..none },
            series: Vec::new(),
        }
    }

    /// Three KPIs, one of each status, and a watched one without a target.
    pub fn kpis() -> Vec<KpiResult> {
        vec![
            kpi("revenue", "Revenue", "销售额", Unit::Currency, 3_267_514.79, Some(3_359_000.0), Status::AtRisk),
            kpi("win_rate", "Win rate", "赢单率", Unit::Ratio, 0.31, Some(0.25), Status::OnTrack),
            kpi("nps", "NPS", "净推荐值", Unit::Score, 21.4, Some(35.0), Status::OffTrack),
            kpi("orders", "Orders <all>", "订单数", Unit::Count, 1204.0, None, Status::NoTarget),
        ]
    }

    pub fn findings() -> Vec<Finding> {
        vec![Finding {
            rule: "biggest_miss".into(),
            en: "The biggest miss is nps: 21.4 against a target of 35.0.".into(),
            zh_cn: "差距最大的是净推荐值：21.4，目标 35.0。".into(),
        }]
    }

    pub fn links() -> Vec<ReportLink> {
        vec![ReportLink {
            name: "monthly_review".into(),
            title: "Monthly KPI Review".into(),
            format: "html".into(),
            url: "https://reports.example.com/monthly_review/2026-10/monthly_review.en.html".into(),
        }]
    }

    fn report(locale: Locale) -> MailBody {
        let period = Period::month(2026, 10).unwrap();
        let rows = scorecard(&kpis(), &period, locale);
        let title = if locale == Locale::En { "Monthly KPI Review" } else { "月度KPI经营分析" };
        let label = crate::report::i18n::period_label(&period, locale);
        report_mail(&ReportMail {
            locale,
            subject: "Monthly KPI Review: October 2026",
            title,
            period_label: &label,
            run_id: "20261105T080000Z-1a2b3c4d",
            as_of: "2026-10-31",
            rows: &rows,
            findings: &findings(),
            links: &links(),
            attachments: &["monthly_review.en.pdf".to_string()],
        })
        .unwrap()
    }

    #[test]
    fn scorecard_rows_format_like_the_report() {
        let period = Period::month(2026, 10).unwrap();
        let rows = scorecard(&kpis(), &period, Locale::En);
        let r = &rows[0];
        assert_eq!(
            (r.label.as_str(), r.value.as_str(), r.target.as_str(), r.attainment.as_str(), r.status_label.as_str()),
            ("Revenue", "3,267,515", "3,359,000", "97.3%", "At risk")
        );
        assert_eq!((rows[1].value.as_str(), rows[1].attainment.as_str()), ("31.0%", "124.0%"));
        assert_eq!((rows[3].target.as_str(), rows[3].attainment.as_str()), ("—", "—"));
        let zh = scorecard(&kpis(), &period, Locale::ZhCn);
        assert_eq!((zh[0].label.as_str(), zh[0].status_label.as_str()), ("销售额", "有风险"));
        assert_eq!(status_counts(&rows, Locale::En).iter().map(|c| c.1).collect::<Vec<_>>(), [1, 1, 1]);
    }

    #[test]
    fn report_email_snapshots() {
        let en = report(Locale::En);
        let zh = report(Locale::ZhCn);
        // Values are escaped; only inline styles, no <style> block, nothing fetched.
        assert!(en.html.contains("Orders &lt;all&gt;"));
        assert!(!en.html.contains("<style") && !en.html.contains("src=\"http"));
        assert!(en.text.contains("- Revenue: 3,267,515 (target 3,359,000, 97.3%) — At risk"));
        assert!(zh.text.contains("- 销售额：3,267,515（目标 3,359,000，达成率 97.3%）— 有风险"));
        insta::assert_snapshot!("report_email_en_html", en.html);
        insta::assert_snapshot!("report_email_en_text", en.text);
        insta::assert_snapshot!("report_email_zh_text", zh.text);
    }

    #[test]
    fn subjects_are_templates_and_typos_are_errors() {
        let vars = json!({ "pipeline": "monthly_review", "period": "October 2026", "period_code": "2026-10",
                           "title": "Monthly KPI Review & more" });
        assert_eq!(subject("{{title}}: {{period}}", &vars).unwrap(), "Monthly KPI Review & more: October 2026");
        let e = subject("{{title}}: {{peroid}}", &vars).unwrap_err().to_string();
        assert!(e.contains("peroid"), "{e}");
    }

    #[test]
    fn burst_and_failure_bodies() {
        let headers = vec!["Customer".to_string(), "Warning".to_string()];
        let rows = vec![vec!["C0006".to_string(), "High-value account in decline".to_string()]];
        let b = burst_mail(&BurstMail {
            locale: Locale::En,
            subject: "Your customers to look after: October 2026",
            owner: "am03",
            period_label: "October 2026",
            run_id: "r1",
            as_of: "2026-10-31",
            headers: &headers,
            rows: &rows,
            links: &links(),
        })
        .unwrap();
        assert!(b.text.contains("- Customer: C0006; Warning: High-value account in decline"), "{}", b.text);
        insta::assert_snapshot!("burst_email_en_text", b.text);
        let f = failure_mail(&FailureMail {
            locale: Locale::En,
            subject: "sextant: monthly_review 2026-10 failed — report not sent",
            pipeline: "monthly_review",
            period: "2026-10",
            run_id: "r2",
            checks: &[FailedCheck {
                name: "unique(orders: order_id, product_id)".into(),
                violations: 1,
                message: "1 duplicate key".into(),
            }],
            errors: &[
                "pipelines/monthly_review.yaml:9:5: check unique(orders: order_id, product_id) failed: 1 keys".into(),
                "orders.csv: unreadable".to_string(),
            ],
            details: "error: <details>",
            ledger: "out/monthly_review/.runs/2026-10/r2.json",
            command_arg: "monthly_review",
        })
        .unwrap();
        assert!(f.html.contains("&lt;details&gt;"));
        insta::assert_snapshot!("failure_email_en_text", f.text);
    }
}
