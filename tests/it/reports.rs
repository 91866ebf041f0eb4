//! Reports as readers get them: the files of a run, their HTML (snapshot), the PDF checked
//! with real tools (qpdf, pdftotext, pdffonts from poppler-utils) and the HTML loaded in
//! headless Chromium with the network off. `.ci/run` installs these tools.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::repo;
use crate::kpi_cases::run_standard;

async fn month_run(out: &Path) -> PathBuf {
    run_standard("monthly_review", &repo().join("tests/fixtures/kpi/month_basics/data"), "2026-10", None, out)
        .await
        .expect("run")
}

fn tool(name: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(name)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{name} must be installed (apt-get install qpdf poppler-utils chromium): {e}"));
    assert!(out.status.success() || name == "qpdf", "{name} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[tokio::test]
async fn every_report_is_written_in_both_languages_and_recorded() {
    let out = tempfile::tempdir().unwrap();
    let dir = month_run(out.path()).await;
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let outputs: Vec<&str> =
        manifest["outputs"].as_array().unwrap().iter().map(|o| o["path"].as_str().unwrap()).collect();
    for f in
        ["monthly_review.en.html", "monthly_review.en.pdf", "monthly_review.zh-CN.html", "monthly_review.zh-CN.pdf"]
    {
        assert!(dir.join(f).is_file(), "{f} missing");
        assert!(outputs.contains(&f), "{f} not in run.json");
    }
}

#[tokio::test]
async fn html_report_snapshot() {
    let out = tempfile::tempdir().unwrap();
    let dir = month_run(out.path()).await;
    let html = std::fs::read_to_string(dir.join("monthly_review.en.html")).unwrap();
    // Self-contained: nothing is fetched from anywhere.
    for needle in ["http://", "https://", "<script", "<link", "@import", "url("] {
        let allowed =
            needle == "http://" && html.matches(needle).count() == html.matches("http://www.w3.org/2000/svg").count();
        assert!(allowed || !html.contains(needle), "the page refers to `{needle}`");
    }
    insta::assert_snapshot!(html);
}

#[tokio::test]
async fn pdf_passes_qpdf_extracts_every_scorecard_figure_and_embeds_subset_fonts() {
    let out = tempfile::tempdir().unwrap();
    let dir = month_run(out.path()).await;
    let kpis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("kpis.json")).unwrap()).unwrap();
    for locale in ["en", "zh-CN"] {
        let pdf = dir.join(format!("monthly_review.{locale}.pdf"));
        let check = tool("qpdf", &["--check"], &pdf);
        assert!(check.contains("No syntax or stream encoding errors"), "{check}");
        let text = tool("pdftotext", &["-layout"], &pdf.clone()).to_string();
        let text = std::fs::read_to_string(pdf.with_extension("txt")).unwrap_or(text);
        for k in kpis["kpis"].as_array().unwrap() {
            let Some(v) = k["value"].as_f64() else { continue };
            let shown = match k["unit"].as_str().unwrap() {
                "currency" | "count" => sextant::kpi::findings::format_value(v, sextant::spec::Unit::Count),
                "ratio" => sextant::kpi::findings::format_value(v, sextant::spec::Unit::Ratio),
                _ => sextant::kpi::findings::format_value(v, sextant::spec::Unit::Score),
            };
            assert!(text.contains(&shown), "{locale}: {} = {shown} is not in the PDF's text", k["id"]);
        }
        if locale == "zh-CN" {
            for word in ["月度KPI经营分析", "销售额", "重点发现", "客户经理"] {
                assert!(text.contains(word), "the Chinese report does not extract `{word}`");
            }
        }
        let fonts = tool("pdffonts", &[], &pdf);
        let rows: Vec<&str> = fonts.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
        assert!(!rows.is_empty(), "{fonts}");
        for row in rows {
            let cols: Vec<&str> = row.split_whitespace().collect();
            let name = cols[0];
            assert!(name.len() > 7 && name.as_bytes()[6] == b'+', "font {name} is not a subset");
            // emb, sub, uni are the three yes/no columns before the object id.
            let flags = &cols[cols.len() - 5..cols.len() - 2];
            assert_eq!(flags, ["yes", "yes", "yes"], "font {name}: {row}");
        }
    }
}

#[tokio::test]
async fn html_loads_in_headless_chromium_without_errors_and_shows_every_chart() {
    let out = tempfile::tempdir().unwrap();
    let dir = month_run(out.path()).await;
    for locale in ["en", "zh-CN"] {
        let page = dir.join(format!("monthly_review.{locale}.html"));
        let html = std::fs::read_to_string(&page).unwrap();
        let charts = html.matches("<figure class=\"figure\"").count();
        assert!(charts >= 5, "{locale}: {charts} charts in the source");
        let profile = tempfile::tempdir().unwrap();
        let result = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                // The network is off: any request would fail and be logged.
                "--proxy-server=127.0.0.1:9",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=3000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("chromium must be installed (apt-get install chromium)");
        let dom = String::from_utf8_lossy(&result.stdout);
        let log = String::from_utf8_lossy(&result.stderr);
        let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE") || l.contains("net::ERR")).collect();
        assert!(console.is_empty(), "{locale}: console errors:\n{}", console.join("\n"));
        // Every figure holds its rendered chart, and every scorecard card its sparkline.
        assert_eq!(dom.matches("<figure class=\"figure\"").count(), charts, "{locale}: the browser lost figures");
        assert_eq!(
            dom.matches("class=\"chart chart-").count() - dom.matches("chart-sparkline").count(),
            charts,
            "{locale}: a figure has no chart"
        );
        assert_eq!(
            dom.matches("chart-sparkline").count(),
            dom.matches("class=\"card ").count(),
            "{locale}: a card lacks its sparkline"
        );
    }
}

#[tokio::test]
async fn the_same_run_gives_the_same_bytes() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (da, db) = (month_run(a.path()).await, month_run(b.path()).await);
    for f in
        ["monthly_review.en.pdf", "monthly_review.zh-CN.pdf", "monthly_review.en.html", "kpis.json", "findings.json"]
    {
        assert!(
            std::fs::read(da.join(f)).unwrap() == std::fs::read(db.join(f)).unwrap(),
            "{f} differs between two identical runs"
        );
    }
}

#[tokio::test]
async fn quarterly_misses_are_ranked_by_gap_with_their_biggest_contributors() {
    let out = tempfile::tempdir().unwrap();
    let dir =
        run_standard("quarterly_retro", &repo().join("data/sample"), "2026-Q3", None, out.path()).await.expect("run");
    let html = std::fs::read_to_string(dir.join("quarterly_retro.en.html")).unwrap();
    let section = &html[html.find("<h2>KPIs that missed their target").expect("the misses section")..];
    let section = &section[..section.find("</section>").unwrap()];
    // Ranked by gap: customer growth (43.8%) before revenue (5.1%); revenue names the
    // region and channel that fell shortest (the first rows of the `misses` table).
    let growth = section.find("Customer growth attainment").unwrap();
    let revenue = section.find(">Revenue<").unwrap();
    assert!(growth < revenue);
    let misses = std::fs::read_to_string(dir.join("tables/misses.csv")).unwrap();
    let first_region = misses.lines().find(|l| l.starts_with("region,")).unwrap().split(',').nth(1).unwrap();
    assert!(section.contains(&format!("Region: {first_region} (short ")), "{section}");
}

#[tokio::test]
async fn quarterly_shows_every_kpi_for_each_month_as_the_monthly_review_computes_it() {
    let out = tempfile::tempdir().unwrap();
    let data = repo().join("data/sample");
    let quarter = run_standard("quarterly_retro", &data, "2026-Q3", None, out.path()).await.expect("quarterly run");
    let html = std::fs::read_to_string(quarter.join("quarterly_retro.en.html")).unwrap();
    let section = &html[html.find("<h2>Every KPI month by month").expect("the months section")..];
    let section = &section[..section.find("</section>").unwrap()];
    for (month, label) in [("2026-07", "July 2026"), ("2026-08", "August 2026"), ("2026-09", "September 2026")] {
        assert!(section.contains(label), "{label} column");
        let monthly = run_standard("monthly_review", &data, month, None, out.path()).await.expect("monthly run");
        let kpis: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(monthly.join("kpis.json")).unwrap()).unwrap();
        let revenue = kpis["kpis"][0]["value"].as_f64().unwrap();
        let shown = sextant::kpi::findings::format_value(revenue, sextant::spec::Unit::Currency);
        assert!(section.contains(&format!(">{shown}<")), "{month}: revenue {shown} not in the months table");
    }
    assert_eq!(section.matches("<tr>").count(), 1 + 17, "a header and every KPI");
}

/// The bundled sample has more lifecycle warnings than the monthly review lists (`limit:
/// 25`): both formats say how many they show, where the rest are, and put the tier-A
/// declines first.
#[tokio::test]
async fn a_cut_table_says_how_many_rows_it_shows_and_where_the_rest_are() {
    let out = tempfile::tempdir().unwrap();
    let dir = run_standard("monthly_review", &repo().join("data/sample"), "2026-10", None, out.path()).await.unwrap();
    let csv = std::fs::read_to_string(dir.join("tables/warnings.csv")).unwrap();
    let total = csv.lines().count() - 1;
    assert!(total > 25, "the sample must have more than 25 warnings to test the cut; it has {total}");
    let declines = csv.lines().filter(|l| l.contains(",high_value_decline,")).count();
    let notes = [
        ("en", format!("Showing the first 25 of {total} rows. All of them are in tables/warnings.csv.")),
        ("zh-CN", format!("仅列出前 25 行，共 {total} 行；完整清单见 tables/warnings.csv。")),
    ];
    for (locale, note) in &notes {
        let html = std::fs::read_to_string(dir.join(format!("monthly_review.{locale}.html"))).unwrap();
        assert!(html.contains(&format!("<p class=\"table-note\">{note}</p>")), "{locale}: no note in the HTML");
        let section = html.split("<h2>").find(|s| s.contains("class=\"table-note\"")).unwrap();
        let rows: Vec<&str> = section.split("<tr>").skip(2).collect();
        assert_eq!(rows.len(), 25, "{locale}: the HTML lists {} warnings", rows.len());
        let decline = if *locale == "en" { "High-value account in decline" } else { "高价值客户衰退" };
        let kinds: Vec<bool> = rows.iter().map(|r| r.contains(decline)).collect();
        assert_eq!(kinds.iter().filter(|d| **d).count(), declines.min(25), "{locale}");
        assert!(kinds.windows(2).all(|w| w[0] || !w[1]), "{locale}: a decline is listed after a usage drop");
        // Within a kind, the largest 12-month revenue first (the fourth cell, money).
        let revenue: Vec<i64> = rows
            .iter()
            .map(|r| {
                let cell = r.split("<td").nth(4).and_then(|c| c.split('>').nth(1)).unwrap_or_default();
                cell.trim_end_matches("</td").replace(',', "").parse().unwrap_or(-1)
            })
            .collect();
        assert!(revenue.iter().all(|v| *v >= 0), "{locale}: revenue cells {revenue:?}");
        for (pair, kind) in revenue.windows(2).zip(kinds.windows(2)) {
            assert!(kind[0] != kind[1] || pair[0] >= pair[1], "{locale}: not by revenue: {revenue:?}");
        }
        let text = tool("pdftotext", &[], &dir.join(format!("monthly_review.{locale}.pdf")));
        let text = std::fs::read_to_string(dir.join(format!("monthly_review.{locale}.txt"))).unwrap_or(text);
        assert!(text.replace('\n', " ").contains(note.as_str()), "{locale}: no note in the PDF's text");
    }
}
