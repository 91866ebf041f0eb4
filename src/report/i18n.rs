//! The words reports use, in English and Simplified Chinese (zh-CN labels follow the
//! seed documents' terms: 环比, 同比, 达成率, 潜在期, 成长期, 成熟期, 衰退期, 流失, …).

use super::model::{Locale, Tone};
use crate::kpi::Status;
use crate::kpi::findings::format_value;
use crate::period::{Grain, Period};
use crate::spec::Unit;

/// A word in both languages.
fn pick(locale: Locale, en: &'static str, zh: &'static str) -> &'static str {
    if locale == Locale::ZhCn { zh } else { en }
}

pub fn tone(status: Status) -> Tone {
    match status {
        Status::OnTrack => Tone::OnTrack,
        Status::AtRisk => Tone::AtRisk,
        Status::OffTrack => Tone::OffTrack,
        Status::NoTarget | Status::NoData | Status::Watch => Tone::Neutral,
    }
}

pub fn status_label(status: Status, locale: Locale) -> &'static str {
    match status {
        Status::OnTrack => pick(locale, "On track", "达成"),
        Status::AtRisk => pick(locale, "At risk", "有风险"),
        Status::OffTrack => pick(locale, "Off track", "未达成"),
        Status::NoTarget => pick(locale, "No target", "无目标"),
        Status::NoData => pick(locale, "No data", "无数据"),
        Status::Watch => pick(locale, "Watch", "关注"),
    }
}

/// Parses a status code written in a table (`on_track`, …).
pub fn status_from_code(code: &str) -> Option<Status> {
    Some(match code {
        "on_track" => Status::OnTrack,
        "at_risk" => Status::AtRisk,
        "off_track" => Status::OffTrack,
        "no_target" => Status::NoTarget,
        "no_data" => Status::NoData,
        "watch" => Status::Watch,
        _ => return None,
    })
}

/// "MoM", "QoQ", "YoY" for the change against the previous period.
pub fn previous_label(grain: Grain, locale: Locale) -> &'static str {
    match grain {
        Grain::Month => pick(locale, "MoM", "环比"),
        Grain::Quarter => pick(locale, "QoQ", "环比"),
        Grain::Year => pick(locale, "YoY", "同比"),
    }
}

pub fn year_ago_label(locale: Locale) -> &'static str {
    pick(locale, "YoY", "同比")
}

pub fn target_label(locale: Locale) -> &'static str {
    pick(locale, "Target", "目标")
}

pub fn no_data(locale: Locale) -> &'static str {
    pick(locale, "No data", "无数据")
}

/// Under a table that `limit` cut: "Showing the first 25 of 21,894 rows. All of them are in
/// tables/warnings.csv."
pub fn rows_shown(shown: usize, total: usize, more: Option<&str>, locale: Locale) -> String {
    let (shown, total) = (format_value(shown as f64, Unit::Count), format_value(total as f64, Unit::Count));
    match (locale, more) {
        (Locale::ZhCn, Some(file)) => format!("仅列出前 {shown} 行，共 {total} 行；完整清单见 {file}。"),
        (Locale::ZhCn, None) => format!("仅列出前 {shown} 行，共 {total} 行。"),
        (_, Some(file)) => format!("Showing the first {shown} of {total} rows. All of them are in {file}."),
        (_, None) => format!("Showing the first {shown} of {total} rows."),
    }
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "October 2026" / "2026年10月"; "Q3 2026" / "2026年第3季度"; "2026" / "2026年度".
/// Fiscal quarters and years say so: "FY2026 Q1" / "2026财年第1季度".
pub fn period_label(period: &Period, locale: Locale) -> String {
    let fiscal = period.fiscal_year_start().month() != 1;
    let label = period.to_string();
    match (period.grain(), locale) {
        (Grain::Month, Locale::En) => format!(
            "{} {}",
            MONTHS_EN[period.start().format("%m").to_string().parse::<usize>().unwrap_or(1) - 1],
            period.start().format("%Y")
        ),
        (Grain::Month, Locale::ZhCn) => format!(
            "{}年{}月",
            period.start().format("%Y"),
            period.start().format("%m").to_string().trim_start_matches('0')
        ),
        (Grain::Quarter, _) => {
            let (fy, q) = label.split_once("-Q").unwrap_or((&label, "?"));
            match (locale, fiscal) {
                (Locale::En, false) => format!("Q{q} {fy}"),
                (Locale::En, true) => format!("FY{fy} Q{q}"),
                (Locale::ZhCn, false) => format!("{fy}年第{q}季度"),
                (Locale::ZhCn, true) => format!("{fy}财年第{q}季度"),
            }
        }
        (Grain::Year, Locale::En) => {
            if fiscal {
                format!("FY{label}")
            } else {
                label
            }
        }
        (Grain::Year, Locale::ZhCn) => {
            if fiscal {
                format!("{label}财年")
            } else {
                format!("{label}年度")
            }
        }
    }
}

/// Translates the codes the standard tables contain (stages, segments, warning kinds,
/// funnel stages, competitor dimensions); other text is returned as it is.
pub fn code(text: &str, locale: Locale) -> String {
    let (en, zh) = match text {
        "potential" => ("Potential", "潜在期"),
        "growth" => ("Growth", "成长期"),
        "mature" => ("Mature", "成熟期"),
        "decline" => ("Decline", "衰退期"),
        "churned" => ("Churned", "流失"),
        "high_value_stable" => ("High-value stable", "高价值稳定型"),
        "high_potential_growth" => ("High-potential growth", "高潜力成长型"),
        "at_risk" => ("At risk", "流失风险型"),
        "low_value_to_activate" => ("Low value, to activate", "低价值待激活型"),
        "usage_drop" => ("Usage down 30%+", "使用量下降 30% 以上"),
        "high_value_decline" => ("High-value account in decline", "高价值客户衰退"),
        "lead" => ("Lead", "线索"),
        "qualified" => ("Qualified", "合格商机"),
        "proposal" => ("Proposal", "方案"),
        "negotiation" => ("Negotiation", "谈判"),
        "won" => ("Won", "赢单"),
        "lost" => ("Lost", "丢单"),
        "product" => ("Product", "产品"),
        "price" => ("Price", "价格"),
        "channel" => ("Channel", "渠道"),
        "service" => ("Service", "服务"),
        "customer" => ("Customer", "客户"),
        "self" => ("Us", "我方"),
        "features" => ("Features", "功能"),
        "relationship" => ("Relationship", "关系"),
        "timing" => ("Timing", "时机"),
        "budget" => ("Budget", "预算"),
        "direct" => ("Direct", "直销"),
        "partner" => ("Partner", "合作伙伴"),
        "online" => ("Online", "线上"),
        "events" => ("Events", "展会活动"),
        "region" => ("Region", "区域"),
        "sales_rep" => ("Sales rep", "销售代表"),
        "all" => ("All", "全部"),
        "*" => ("All", "全部"),
        "revenue" => ("Revenue", "销售额"),
        "new_customers" => ("New customers", "新增客户"),
        "none" => ("(none)", "（无）"),
        "" => ("—", "—"),
        other => return other.to_string(),
    };
    pick(locale, en, zh).to_string()
}

/// The chrome of every page.
pub fn chrome(locale: Locale) -> super::model::ChromeLabels {
    super::model::ChromeLabels {
        page: pick(locale, "Page", "页码").into(),
        as_of: pick(locale, "Data as of", "数据截至").into(),
        run: pick(locale, "Run", "运行编号").into(),
        contents: pick(locale, "Contents", "目录").into(),
    }
}

/// Labels of the cover's facts.
pub fn fact_labels(locale: Locale) -> [&'static str; 4] {
    if locale == Locale::ZhCn {
        ["报告期", "数据截至", "运行编号", "生成时间"]
    } else {
        ["Period", "Data as of", "Run", "Generated"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::FiscalYearStart;

    #[test]
    fn the_note_under_a_cut_table_says_how_many_rows_and_where_the_rest_are() {
        assert_eq!(
            rows_shown(25, 21_894, Some("tables/warnings.csv"), Locale::En),
            "Showing the first 25 of 21,894 rows. All of them are in tables/warnings.csv."
        );
        assert_eq!(rows_shown(25, 26, None, Locale::En), "Showing the first 25 of 26 rows.");
        assert_eq!(
            rows_shown(25, 1_000, Some("tables/warnings.csv"), Locale::ZhCn),
            "仅列出前 25 行，共 1,000 行；完整清单见 tables/warnings.csv。"
        );
    }

    #[test]
    fn period_labels() {
        let m = Period::month(2026, 10).unwrap();
        assert_eq!(period_label(&m, Locale::En), "October 2026");
        assert_eq!(period_label(&m, Locale::ZhCn), "2026年10月");
        let q = Period::quarter(2026, 3, FiscalYearStart::CALENDAR).unwrap();
        assert_eq!(period_label(&q, Locale::ZhCn), "2026年第3季度");
        let fq = Period::quarter(2026, 1, FiscalYearStart::new(4).unwrap()).unwrap();
        assert_eq!(period_label(&fq, Locale::En), "FY2026 Q1");
        assert_eq!(period_label(&Period::year(2025, FiscalYearStart::CALENDAR).unwrap(), Locale::ZhCn), "2025年度");
    }
}
