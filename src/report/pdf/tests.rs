//! Tests of the PDF renderer on a hand-built report: pagination facts, the layout model
//! (snapshots), determinism, missing glyphs, paper sizes and fonts.

use std::path::{Path, PathBuf};

use super::*;
use crate::report::model::*;

/// The page body in mm (A4): from the content top (22 mm) to 20 mm above the bottom.
const BODY_TOP: f32 = 22.0;

fn card(
    id: &str,
    label: &str,
    value: &str,
    tone: Tone,
    status: &str,
    extra: (Option<&str>, Option<&str>, Option<&str>, Option<bool>),
) -> KpiCard {
    let (target, previous, year_ago, good) = extra;
    KpiCard {
        id: id.into(),
        label: label.into(),
        value: value.into(),
        target: target.map(Into::into),
        tone,
        status_label: status.into(),
        change_previous: previous.map(Into::into),
        change_year_ago: year_ago.map(Into::into),
        change_good: good,
        change_year_ago_good: good,
        sparkline: (0..12)
            .map(|i| if i == 4 { None } else { Some(100.0 + (i * 37 % 11) as f64 * 8.0 + i as f64 * 5.0) })
            .collect(),
    }
}

/// A chart in the SVG subset, as the chart module writes it.
fn chart_svg(title: &str, zh: bool) -> String {
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"chart-trend\" class=\"chart chart-line\" viewBox=\"0 0 480 220\" width=\"480\" height=\"220\" role=\"img\" aria-label=\"{title}\">\n<title>{title}</title>\n"
    );
    s.push_str("<g class=\"grid\">\n");
    for (i, label) in ["0", "1.0M", "2.0M", "3.0M"].iter().enumerate() {
        let y = 190 - i * 55;
        s.push_str(&format!(
            "<line x1=\"44\" y1=\"{y}\" x2=\"470\" y2=\"{y}\" stroke=\"#e5e7eb\" stroke-width=\"0.75\"/>\n"
        ));
        s.push_str(&format!(
            "<text x=\"38\" y=\"{}\" font-size=\"8\" fill=\"#6b7280\" text-anchor=\"end\">{label}</text>\n",
            y + 3
        ));
    }
    s.push_str("</g>\n<g class=\"series\">\n");
    let months =
        if zh { ["1月", "2月", "3月", "4月", "5月", "6月"] } else { ["Jan", "Feb", "Mar", "Apr", "May", "Jun"] };
    let values = [120.0, 150.0, 95.0, 160.0, 140.0, 170.0];
    for (i, (m, v)) in months.iter().zip(values).enumerate() {
        let x = 60 + i * 70;
        s.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"36\" height=\"{}\" fill=\"#1f3a5f\"/>\n",
            x,
            190.0 - v,
            v
        ));
        s.push_str(&format!(
            "<text x=\"{}\" y=\"204\" font-size=\"8\" fill=\"#6b7280\" text-anchor=\"middle\">{m}</text>\n",
            x + 18
        ));
    }
    s.push_str("<polyline points=\"78,60 148,45 218,80 288,40 358,50 428,30\" fill=\"none\" stroke=\"#d97706\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>\n");
    s.push_str("<polygon points=\"400,20 470,20 470,34 400,34\" fill=\"#d97706\" fill-opacity=\"0.15\"/>\n");
    s.push_str("<circle cx=\"428\" cy=\"30\" r=\"3\" fill=\"#d97706\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n");
    let target = if zh { "目标" } else { "Target" };
    s.push_str(&format!("<text x=\"470\" y=\"14\" font-size=\"8\" fill=\"#1f2937\" font-weight=\"bold\" text-anchor=\"end\">{target} &amp; plan</text>\n"));
    s.push_str("</g>\n</svg>\n");
    s
}

/// A logo in the chart SVG subset, drawn in white for the cover band.
const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 150 32">
<title>Sextant</title>
<circle cx="16" cy="16" r="15" fill="none" stroke="#ffffff" stroke-width="2"/>
<polygon points="16,5 25,24 7,24" fill="#d97706"/>
<text x="40" y="23" font-size="19" font-weight="bold" fill="#ffffff">Sextant</text>
</svg>"##;

fn report(locale: Locale) -> Report {
    let zh = locale == Locale::ZhCn;
    let t = |en: &str, cn: &str| -> String { if zh { cn.into() } else { en.into() } };
    let statuses = [
        (Tone::OnTrack, t("On track", "达标")),
        (Tone::AtRisk, t("At risk", "有风险")),
        (Tone::OffTrack, t("Off track", "未达标")),
        (Tone::Neutral, t("No target", "无目标")),
    ];
    let cards = vec![
        card(
            "revenue",
            &t("Revenue", "收入"),
            "3,267,515",
            Tone::OnTrack,
            &statuses[0].1,
            (
                Some(&t("Target 3,159,000", "目标 3,159,000")),
                Some(&t("MoM +8.1%", "环比 +8.1%")),
                Some(&t("YoY +21.2%", "同比 +21.2%")),
                Some(true),
            ),
        ),
        card(
            "gross_margin",
            &t("Gross margin", "毛利率"),
            "41.8%",
            Tone::AtRisk,
            &statuses[1].1,
            (
                Some(&t("Target 43.0%", "目标 43.0%")),
                Some(&t("MoM -0.6 pp", "环比 -0.6个百分点")),
                Some(&t("YoY +1.1 pp", "同比 +1.1个百分点")),
                Some(false),
            ),
        ),
        card(
            "new_customers",
            &t("New customers", "新客户"),
            "1,284",
            Tone::OffTrack,
            &statuses[2].1,
            (Some(&t("Target 1,500", "目标 1,500")), Some(&t("MoM -12.4%", "环比 -12.4%")), None, Some(false)),
        ),
        card(
            "nrr",
            &t("Net revenue retention, rolling twelve months", "净收入留存率（滚动十二个月）"),
            "108.2%",
            Tone::OnTrack,
            &statuses[0].1,
            (
                Some(&t("Target 105.0%", "目标 105.0%")),
                Some(&t("MoM +0.4 pp", "环比 +0.4个百分点")),
                Some(&t("YoY +2.0 pp", "同比 +2.0个百分点")),
                Some(true),
            ),
        ),
        card(
            "cac",
            &t("Customer acquisition cost", "获客成本"),
            "¥1,932",
            Tone::AtRisk,
            &statuses[1].1,
            (
                Some(&t("Target ¥1,800", "目标 ¥1,800")),
                Some(&t("MoM +3.2%", "环比 +3.2%")),
                Some(&t("YoY -4.0%", "同比 -4.0%")),
                Some(false),
            ),
        ),
        card(
            "nps",
            &t("Net promoter score", "净推荐值"),
            "47",
            Tone::Neutral,
            &statuses[3].1,
            (None, Some(&t("MoM +2", "环比 +2")), Some(&t("YoY +5", "同比 +5")), Some(true)),
        ),
        card(
            "win_rate",
            &t("Win rate", "赢单率"),
            "31.5%",
            Tone::OnTrack,
            &statuses[0].1,
            (Some(&t("Target 30.0%", "目标 30.0%")), None, None, None),
        ),
        card(
            "churn",
            &t("Churned accounts", "流失客户数"),
            "—",
            Tone::Neutral,
            &statuses[3].1,
            (None, None, None, None),
        ),
    ];
    let regions = if zh {
        ["华东", "华北", "华南", "西南", "西北", "东北"]
    } else {
        ["East", "North", "South", "Southwest", "Northwest", "Northeast"]
    };
    let channels = if zh {
        ["直销", "合作伙伴", "线上", "展会活动"]
    } else {
        ["Direct", "Partner", "Online", "Events"]
    };
    let rows: Vec<Vec<Cell>> = (0..120)
        .map(|i| {
            let revenue = 50_000 + (i * 7919 % 90_000);
            let target = 60_000 + (i * 104_729 % 50_000);
            let attainment = revenue as f64 / target as f64;
            let (tone, label) = if attainment >= 1.0 {
                statuses[0].clone()
            } else if attainment >= 0.9 {
                statuses[1].clone()
            } else {
                statuses[2].clone()
            };
            let plain = |s: String| Cell { text: s, tone: None };
            let mut account = format!("{} {:03}", t("Account", "客户"), i + 1);
            if i % 17 == 3 {
                account.push_str(&t(
                    " (merged with a subsidiary after the spring reorganisation)",
                    "（春季重组后与子公司合并）",
                ));
            }
            vec![
                plain(account),
                plain(regions[i % regions.len()].to_string()),
                plain(channels[i % channels.len()].to_string()),
                plain(thousands(revenue)),
                plain(thousands(target)),
                plain(format!("{:.1}%", attainment * 100.0)),
                Cell { text: label, tone: Some(tone) },
            ]
        })
        .collect();
    let columns = [
        (t("Account", "客户"), Align::Left),
        (t("Region", "区域"), Align::Left),
        (t("Channel", "渠道"), Align::Left),
        (t("Revenue", "收入"), Align::Right),
        (t("Target", "目标"), Align::Right),
        (t("Attainment", "达成率"), Align::Right),
        (t("Status", "状态"), Align::Left),
    ]
    .into_iter()
    .map(|(label, align)| Column { label, align })
    .collect();
    let chart_title = t("Revenue by month", "月度收入");
    Report {
        name: "monthly_review".into(),
        title: t("Monthly KPI review", "月度经营回顾"),
        period_label: t("October 2026", "2026年10月"),
        period: "2026-10".into(),
        as_of: "2026-10-31".into(),
        run_id: "20261101T060000Z-3f2a".into(),
        generated_at: "2026-11-01T06:00:00Z".into(),
        locale,
        page_size: PageSize::A4,
        theme: Theme { logo_svg: Some(LOGO.to_string()), ..Theme::default() },
        labels: ChromeLabels {
            page: t("Page", "页"),
            as_of: t("Data as of", "数据截至"),
            run: t("Run", "运行编号"),
            contents: t("Contents", "目录"),
        },
        sections: vec![
            Section {
                id: "cover".into(),
                title: t("Monthly KPI review", "月度经营回顾"),
                intro: None,
                body: SectionBody::Cover {
                    title: t("Monthly KPI review", "月度经营回顾"),
                    subtitle: t("October 2026", "2026年10月"),
                    facts: vec![
                        (t("Period", "报告期"), t("October 2026", "2026年10月")),
                        (t("Data as of", "数据截至"), "2026-10-31".into()),
                        (t("Run", "运行编号"), "20261101T060000Z-3f2a".into()),
                        (t("Generated", "生成时间"), "2026-11-01 06:00:00 UTC".into()),
                    ],
                },
            },
            Section {
                id: "s1-scorecard".into(),
                title: t("Scorecard", "关键指标"),
                intro: Some(t("Eight KPIs against their targets for the month.", "本月八项关键指标与目标的对比。")),
                body: SectionBody::Scorecard { cards },
            },
            Section {
                id: "s2-chart".into(),
                title: chart_title.clone(),
                intro: None,
                body: SectionBody::Chart {
                    chart: Chart {
                        id: "s2-chart".into(),
                        title: chart_title.clone(),
                        spec: ChartSpec::Sparkline { values: Vec::new() },
                        width: 480.0,
                        height: 220.0,
                        svg: chart_svg(&chart_title, zh),
                        caption: Some(t("Source: sales ledger, invoiced revenue.", "来源：销售台账，已开票收入。")),
                    },
                },
            },
            Section {
                id: "s3-table".into(),
                title: t("Attainment by account", "各客户目标达成"),
                intro: Some(t(
                    "All accounts with a target this month, by account number.",
                    "本月有目标的全部客户，按客户编号排列。",
                )),
                body: SectionBody::Table {
                    table: Table {
                        columns,
                        rows,
                        empty_text: t("No accounts this month.", "本月没有客户。"),
                        note: None,
                    },
                },
            },
            Section {
                id: "s4-findings".into(),
                title: t("Findings", "主要发现"),
                intro: None,
                body: SectionBody::Findings {
                    items: vec![
                        t(
                            "Revenue reached 3,267,515, 3.4% above target, the best month of the year.",
                            "收入达到 3,267,515，高于目标 3.4%，为年内最佳月份。",
                        ),
                        t(
                            "Gross margin slipped 0.6 points to 41.8% as discounting in the South region continued; without the two largest discounted deals the margin would have been 43.1%, above target.",
                            "毛利率下降 0.6 个百分点至 41.8%，主要因为华南区域持续折扣；若剔除两笔最大的折扣订单，毛利率为 43.1%，高于目标。",
                        ),
                        t(
                            "New customers fell 12.4% month on month and are 14.4% below target.",
                            "新客户环比下降 12.4%，低于目标 14.4%。",
                        ),
                        t(
                            "Net revenue retention stays above target for the fifth month running.",
                            "净收入留存率连续第五个月高于目标。",
                        ),
                    ],
                },
            },
            Section {
                id: "s5-text".into(),
                title: t("Notes", "说明"),
                intro: None,
                body: SectionBody::Text {
                    paragraphs: vec![
                        t(
                            "Figures are in thousands of yuan unless stated otherwise. Targets are the approved plan of January; attainment compares the month with its target, and changes compare it with the previous month and with the same month a year earlier.",
                            "除另有说明外，金额单位为千元。目标为一月批准的年度计划；达成率为本月实际与目标之比，变化为与上月及上年同月的比较。",
                        ),
                        t(
                            "Questions about this review go to the finance analytics team.",
                            "如对本报告有疑问，请联系财务分析团队。",
                        ),
                    ],
                },
            },
        ],
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fonts() -> Fonts {
    Fonts::bundled().expect("bundled fonts")
}

/// Writes `bytes` to `$SEXTANT_PDF_SAMPLES/name` when that variable is set, for looking at
/// the pages with poppler's tools.
fn keep_sample(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("SEXTANT_PDF_SAMPLES") {
        let path = Path::new(&dir).join(name);
        std::fs::write(&path, bytes).expect("write sample");
    }
}

fn is_chrome(b: &LayoutBox) -> bool {
    matches!(b.kind, BoxKind::Header | BoxKind::Footer)
}

/// The pagination rules every rendered report must keep.
fn assert_pagination(layout: &LayoutModel, table_rows: usize) {
    let total = layout.pages.len();
    let body_bottom = layout.page_height_mm - 20.0;
    for page in &layout.pages {
        let cover = page.boxes.iter().any(|b| b.kind == BoxKind::CoverBand);
        let headers = page.boxes.iter().filter(|b| b.kind == BoxKind::Header).count();
        let footers: Vec<&LayoutBox> = page.boxes.iter().filter(|b| b.kind == BoxKind::Footer).collect();
        if cover {
            assert_eq!((headers, footers.len()), (0, 0), "the cover has no header or footer");
            continue;
        }
        assert_eq!((headers, footers.len()), (1, 1), "page {} has a header and a footer", page.number);
        let footer = footers[0].text.as_deref().unwrap_or("");
        assert!(footer.ends_with(&format!(" {} / {total}", page.number)), "page {}: {footer}", page.number);
        assert!(footer.contains("2026-10-31") && footer.contains("20261101T060000Z-3f2a"), "{footer}");

        let content: Vec<&LayoutBox> = page.boxes.iter().filter(|b| !is_chrome(b)).collect();
        assert!(!content.is_empty(), "page {} is empty", page.number);
        for b in &content {
            assert!(
                b.y >= BODY_TOP - 0.1 && b.bottom() <= body_bottom + 0.1,
                "page {}: {b:?} outside the body",
                page.number
            );
        }
        // Boxes follow each other down the page without overlapping (cards share a row).
        for pair in content.windows(2) {
            let same_row = pair[0].y == pair[1].y && pair[0].kind == pair[1].kind;
            assert!(
                same_row || pair[1].y >= pair[0].bottom() - 0.15,
                "page {}: {:?} overlaps {:?}",
                page.number,
                pair[1],
                pair[0]
            );
        }
        // No heading alone at the bottom of a page.
        let last = content.last().expect("content");
        assert!(
            !matches!(last.kind, BoxKind::Heading | BoxKind::Intro | BoxKind::ChartTitle),
            "page {} ends with {last:?}",
            page.number
        );
        // A page with table rows starts them under a header row.
        if let Some(first_row) = content.iter().position(|b| b.kind == BoxKind::TableRow) {
            assert!(
                first_row > 0 && content[first_row - 1].kind == BoxKind::TableHeader,
                "page {}: table rows without a header",
                page.number
            );
        }
        // No half-empty page, unless the next one starts a section.
        if page.number < total {
            let next = &layout.pages[page.number];
            let next_starts_section =
                next.boxes.iter().find(|b| !is_chrome(b)).is_some_and(|b| b.kind == BoxKind::Heading);
            let filled = (last.bottom() - BODY_TOP) / (body_bottom - BODY_TOP);
            assert!(filled > 0.5 || next_starts_section, "page {} is {:.0}% full", page.number, filled * 100.0);
        }
    }
    // Every table row exactly once, in order.
    let rows: Vec<usize> = layout
        .boxes(BoxKind::TableRow)
        .filter_map(|(_, b)| b.text.as_deref()?.strip_prefix('#')?.split(' ').next()?.parse().ok())
        .collect();
    let mut deduped = rows.clone();
    deduped.dedup();
    assert_eq!(deduped, (1..=table_rows).collect::<Vec<_>>(), "table rows in order, none lost");
}

#[test]
fn english_report_paginates_by_the_rules() {
    let rendered = render(&report(Locale::En), &fonts()).expect("renders");
    keep_sample("report.en.pdf", &rendered.bytes);
    let layout = &rendered.layout;
    assert_pagination(layout, 120);
    assert!(rendered.bytes.starts_with(b"%PDF-1.7"));
    // The long table spans pages, with its header repeated on each.
    let table_pages: Vec<usize> = layout.boxes(BoxKind::TableHeader).map(|(p, _)| p).collect();
    assert!(table_pages.len() >= 3, "{table_pages:?}");
    assert_eq!(layout.boxes(BoxKind::Card).count(), 8);
    let cards_per_row = layout
        .boxes(BoxKind::Card)
        .filter(|(_, b)| (b.y - layout.boxes(BoxKind::Card).next().map_or(0.0, |(_, f)| f.y)).abs() < 0.01)
        .count();
    assert_eq!(cards_per_row, 3, "three cards per row on A4");
    let titles: Vec<&str> = layout.bookmarks.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        titles,
        ["Monthly KPI review", "Scorecard", "Revenue by month", "Attainment by account", "Findings", "Notes"]
    );
    assert_eq!(layout.pages.len(), 6);
}

#[test]
fn chinese_report_paginates_by_the_rules() {
    let rendered = render(&report(Locale::ZhCn), &fonts()).expect("renders");
    keep_sample("report.zh-CN.pdf", &rendered.bytes);
    assert_pagination(&rendered.layout, 120);
    assert!(rendered.bytes.len() < 1_500_000, "{} bytes", rendered.bytes.len());
}

#[test]
fn layout_snapshots() {
    let fonts = fonts();
    insta::assert_snapshot!("layout_en", render(&report(Locale::En), &fonts).expect("renders").layout.to_string());
    insta::assert_snapshot!("layout_zh_cn", render(&report(Locale::ZhCn), &fonts).expect("renders").layout.to_string());
}

#[test]
fn the_same_report_gives_the_same_bytes() {
    let fonts = fonts();
    let report = report(Locale::ZhCn);
    let first = render(&report, &fonts).expect("renders").bytes;
    let second = render(&report, &fonts).expect("renders").bytes;
    assert!(first == second, "two renders differ");
    let text = String::from_utf8_lossy(&first);
    assert!(text.contains("/CreationDate(D:20261101060000+00'00')"), "creation date from generated_at");

    let mut other = report.clone();
    other.run_id = "another-run".into();
    assert_ne!(render(&other, &fonts).expect("renders").bytes, first, "the document id follows the run id");
}

#[test]
fn fonts_are_embedded_as_tagged_subsets() {
    let rendered = render(&report(Locale::ZhCn), &fonts()).expect("renders");
    let text = String::from_utf8_lossy(&rendered.bytes);
    let names: Vec<&str> = text
        .match_indices("/BaseFont/")
        .map(|(i, _)| text[i + 10..].split(['/', '>', ' ']).next().unwrap_or(""))
        .collect();
    assert!(!names.is_empty());
    for name in &names {
        let (tag, _) = name.split_once('+').unwrap_or_else(|| panic!("{name} has no subset tag"));
        assert!(tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase()), "{name}");
    }
    assert!(names.iter().any(|n| n.ends_with("+DroidSansFallback")), "{names:?}");
}

#[test]
fn chinese_text_extracts_as_chinese() {
    let rendered = render(&report(Locale::ZhCn), &fonts()).expect("renders");
    let pages = rendered.layout.pages.len();
    let mut warnings = Vec::new();
    let doc = printpdf::PdfDocument::parse(&rendered.bytes, &printpdf::PdfParseOptions::default(), &mut warnings)
        .expect("parses");
    let text: String = doc.extract_text().into_iter().flatten().collect::<Vec<_>>().join("\n");
    for expected in ["月度经营回顾", "关键指标", "净收入留存率", "客户 120", &format!("页 {pages} / {pages}")]
    {
        assert!(text.contains(expected), "`{expected}` not in the extracted text");
    }
}

#[test]
fn a_character_no_font_has_is_an_error_naming_it() {
    let mut report = report(Locale::En);
    let SectionBody::Table { table } = &mut report.sections[3].body else { panic!("table section") };
    table.rows[2][2].text = "Online \u{13000}".into();
    let err = render(&report, &fonts()).expect_err("missing glyph");
    match &err {
        PdfError::MissingGlyph { ch, codepoint, context } => {
            assert_eq!((*ch, *codepoint), ('\u{13000}', 0x13000));
            assert_eq!(context, "table `Attainment by account`, row 3, column `Channel`");
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("U+13000"), "{err}");

    let mut report = self::report(Locale::En);
    let SectionBody::Chart { chart } = &mut report.sections[2].body else { panic!("chart section") };
    chart.svg = chart.svg.replace("Jan", "Jan \u{1F600}");
    let err = render(&report, &fonts()).expect_err("missing glyph in a chart");
    assert!(
        matches!(&err, PdfError::MissingGlyph { ch: '\u{1F600}', context, .. } if context.starts_with("chart `Revenue by month`")),
        "{err}"
    );
}

#[test]
fn unsupported_svg_is_an_error() {
    let mut report = report(Locale::En);
    let SectionBody::Chart { chart } = &mut report.sections[2].body else { panic!("chart section") };
    chart.svg = chart.svg.replace("<title>", "<path d=\"M0 0 L10 10\"/>\n<title>");
    let err = render(&report, &fonts()).expect_err("path is outside the subset");
    assert!(
        matches!(&err, PdfError::Svg { chart, message } if chart == "Revenue by month" && message.contains("<path>")),
        "{err}"
    );
}

#[test]
fn letter_paper() {
    let mut report = report(Locale::En);
    report.page_size = PageSize::Letter;
    let rendered = render(&report, &fonts()).expect("renders");
    keep_sample("report.letter.pdf", &rendered.bytes);
    assert_eq!((rendered.layout.page_width_mm, rendered.layout.page_height_mm), (215.9, 279.4));
    assert!(String::from_utf8_lossy(&rendered.bytes).contains("/MediaBox[0 0 612 792]"));
    assert_pagination(&rendered.layout, 120);
}

#[test]
fn an_empty_table_shows_its_empty_text() {
    let mut report = report(Locale::En);
    let SectionBody::Table { table } = &mut report.sections[3].body else { panic!("table section") };
    table.rows.clear();
    let rendered = render(&report, &fonts()).expect("renders");
    let empty: Vec<_> = rendered.layout.boxes(BoxKind::TableEmpty).collect();
    assert_eq!(empty.len(), 1);
    assert_eq!(empty[0].1.text.as_deref(), Some("No accounts this month."));
}

/// Debian's Noto Sans CJK is a collection with CFF outlines; face 2 is Simplified
/// Chinese. Runs only where `fonts-noto-cjk` is installed.
#[test]
fn a_cff_collection_face_loads_and_renders() {
    let path = PathBuf::from("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc");
    if !path.exists() {
        eprintln!("skipped: {} is not installed", path.display());
        return;
    }
    let fonts = fonts().with_extra(&[(path, 2)]).expect("loads face 2");
    let rendered = render(&report(Locale::ZhCn), &fonts).expect("renders");
    keep_sample("report.zh-CN.noto-cjk.pdf", &rendered.bytes);
    let text = String::from_utf8_lossy(&rendered.bytes);
    assert!(text.contains("+NotoSansCJKsc-Regular"), "the CJK face is embedded");
    assert!(rendered.bytes.len() < 1_500_000, "{} bytes", rendered.bytes.len());
}

/// Rendering time of the report with a 300-row table (run with `--release --ignored`).
#[test]
#[ignore]
fn timing() {
    let fonts = fonts();
    for locale in [Locale::En, Locale::ZhCn] {
        let mut report = report(locale);
        let SectionBody::Table { table } = &mut report.sections[3].body else { panic!("table section") };
        let rows = table.rows.clone();
        table.rows = rows.iter().cycle().take(300).cloned().collect();
        let start = std::time::Instant::now();
        let runs = 10;
        let mut pages = 0;
        let mut size = 0;
        for _ in 0..runs {
            let r = render(&report, &fonts).expect("renders");
            pages = r.layout.pages.len();
            size = r.bytes.len();
        }
        eprintln!("{}: {pages} pages, {size} bytes, {:?} per render", locale.code(), start.elapsed() / runs);
    }
    let start = std::time::Instant::now();
    let _ = Fonts::bundled().expect("fonts");
    eprintln!("Fonts::bundled: {:?}", start.elapsed());
}

#[test]
fn extreme_content_is_split_never_cut() {
    let mut report = report(Locale::En);
    let long_words: String = (1..=700).map(|i| format!("word{i}")).collect::<Vec<_>>().join(" ");
    let SectionBody::Table { table } = &mut report.sections[3].body else { panic!("table section") };
    table.rows[5][0].text = long_words.clone();
    report.sections[3].title =
        "A very long section title that goes on and on, well past the width of a single line of the page".into();
    let SectionBody::Text { paragraphs } = &mut report.sections[5].body else { panic!("text section") };
    paragraphs.push(long_words.replace("word", "para"));
    let rendered = render(&report, &fonts()).expect("renders");
    keep_sample("report.extreme.pdf", &rendered.bytes);
    assert_pagination(&rendered.layout, 120);
    let mut warnings = Vec::new();
    let doc = printpdf::PdfDocument::parse(&rendered.bytes, &printpdf::PdfParseOptions::default(), &mut warnings)
        .expect("parses");
    let text: String = doc.extract_text().into_iter().flatten().collect::<Vec<_>>().join("\n");
    for expected in ["word1 ", "word350 ", "word700", "para1 ", "para700"] {
        assert!(text.contains(expected), "`{expected}` is missing");
    }
}
