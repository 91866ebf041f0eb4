//! Tests of the rendered SVG: what the PDF parser and a reader would see.

use super::*;
use crate::report::model::{AxisFormat, Series};

/// One parsed line of chart SVG.
#[derive(Debug)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    content: Option<String>,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn num(&self, name: &str) -> f64 {
        self.attr(name).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
    }
}

/// Parses `svg` line by line and checks it against the subset of the module docs, the
/// way the PDF renderer's parser reads it. Panics with the offending line.
fn check_subset(svg: &str) -> Vec<Element> {
    let lines: Vec<&str> = svg.lines().collect();
    let first = lines.first().copied().unwrap_or_default();
    assert!(first.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"chart-"), "root: {first}");
    assert_eq!(lines.last().copied(), Some("</svg>"), "last line");
    assert!(svg.ends_with("</svg>\n"));
    let root = parse_line(first.trim_end_matches('>').to_string() + "/>");
    let names: Vec<&str> = root.attrs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["xmlns", "id", "class", "viewBox", "width", "height", "role", "aria-label"], "{first}");
    assert!(root.attr("class").is_some_and(|c| c.starts_with("chart chart-")));
    assert_eq!(
        root.attr("viewBox"),
        Some(format!("0 0 {} {}", root.attr("width").unwrap_or(""), root.attr("height").unwrap_or("")).as_str())
    );
    let mut depth = 0usize;
    let mut elements = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(1).take(lines.len().saturating_sub(2)) {
        assert_eq!(*line, line.trim(), "whitespace around line {i}: {line:?}");
        if line.starts_with("<title>") {
            assert_eq!(i, 1, "<title> only right after the root");
            let content = line
                .strip_prefix("<title>")
                .and_then(|l| l.strip_suffix("</title>"))
                .unwrap_or_else(|| panic!("title: {line}"));
            check_escaped(content, line);
            continue;
        }
        if *line == "</g>" {
            depth = depth.checked_sub(1).unwrap_or_else(|| panic!("unbalanced </g> at line {i}"));
            continue;
        }
        let element = parse_line(line.to_string());
        check_element(&element, line);
        if element.name == "g" {
            depth += 1;
        }
        elements.push(element);
    }
    assert_eq!(depth, 0, "unclosed <g>");
    elements
}

fn parse_line(line: String) -> Element {
    let body = line.strip_prefix('<').unwrap_or_else(|| panic!("not an element: {line}"));
    let (head, content) = if let Some(head) = body.strip_suffix("/>") {
        (head.to_string(), None)
    } else if body.starts_with("text ") {
        let (head, rest) = body.split_once('>').unwrap_or_else(|| panic!("text: {line}"));
        let content = rest.strip_suffix("</text>").unwrap_or_else(|| panic!("text must close on its line: {line}"));
        (head.to_string(), Some(content.to_string()))
    } else if body.starts_with("g ") {
        (body.strip_suffix('>').unwrap_or_else(|| panic!("g: {line}")).to_string(), None)
    } else {
        panic!("unexpected element: {line}")
    };
    let (name, mut rest) = head.split_once(' ').map_or((head.as_str(), ""), |(n, r)| (n, r));
    let mut attrs = Vec::new();
    while !rest.trim().is_empty() {
        let (attr, after) = rest.trim_start().split_once("=\"").unwrap_or_else(|| panic!("attribute syntax: {line}"));
        let (value, after) = after.split_once('"').unwrap_or_else(|| panic!("unterminated attribute: {line}"));
        attrs.push((attr.to_string(), value.to_string()));
        rest = after;
    }
    Element { name: name.to_string(), attrs, content }
}

/// Allowed attributes per element; the `required` ones must be present.
fn allowed(name: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match name {
        "g" => (&["class"], &["class"]),
        "rect" => {
            (&["x", "y", "width", "height", "fill", "stroke", "stroke-width"], &["x", "y", "width", "height", "fill"])
        }
        "line" => (
            &["x1", "y1", "x2", "y2", "stroke", "stroke-width", "stroke-dasharray"],
            &["x1", "y1", "x2", "y2", "stroke", "stroke-width"],
        ),
        "polyline" => (
            &["points", "fill", "stroke", "stroke-width", "stroke-dasharray"],
            &["points", "fill", "stroke", "stroke-width"],
        ),
        "polygon" => (&["points", "fill", "fill-opacity", "stroke", "stroke-width"], &["points", "fill"]),
        "circle" => (&["cx", "cy", "r", "fill", "stroke", "stroke-width"], &["cx", "cy", "r", "fill"]),
        "text" => (
            &["x", "y", "font-size", "fill", "text-anchor", "font-weight"],
            &["x", "y", "font-size", "fill", "text-anchor"],
        ),
        other => panic!("element <{other}> is outside the subset"),
    }
}

fn check_element(e: &Element, line: &str) {
    let (allowed, required) = allowed(&e.name);
    for (name, value) in &e.attrs {
        assert!(allowed.contains(&name.as_str()), "attribute {name} on <{}>: {line}", e.name);
        match name.as_str() {
            "class" => assert!(value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' '), "{line}"),
            "fill" | "stroke" => assert!(is_colour(value), "colour {value}: {line}"),
            "points" => value.split(' ').for_each(|p| {
                let (x, y) = p.split_once(',').unwrap_or_else(|| panic!("point {p}: {line}"));
                check_number(x, line);
                check_number(y, line);
            }),
            "stroke-dasharray" => {
                let parts: Vec<&str> = value.split(' ').collect();
                assert_eq!(parts.len(), 2, "{line}");
                parts.iter().for_each(|p| check_number(p, line));
            }
            "text-anchor" => assert!(["start", "middle", "end"].contains(&value.as_str()), "{line}"),
            "font-weight" => assert_eq!(value, "bold", "{line}"),
            _ => check_number(value, line),
        }
    }
    for name in required {
        assert!(e.attr(name).is_some(), "<{}> lacks {name}: {line}", e.name);
    }
    if e.name == "polyline" {
        assert_eq!(e.attr("fill"), Some("none"), "{line}");
    }
    if let Some(content) = &e.content {
        check_escaped(content, line);
    }
}

fn is_colour(value: &str) -> bool {
    value == "none"
        || (value.len() == 7
            && value.starts_with('#')
            && value[1..].chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
}

fn check_number(value: &str, line: &str) {
    let parsed: f64 = value.parse().unwrap_or_else(|_| panic!("number {value:?}: {line}"));
    assert!(parsed.is_finite() && value != "-0", "{value}: {line}");
    if let Some((_, decimals)) = value.split_once('.') {
        assert!(decimals.len() <= 2 && !decimals.ends_with('0'), "decimals of {value}: {line}");
    }
}

fn check_escaped(content: &str, line: &str) {
    assert!(!content.contains('<') && !content.contains('>') && !content.contains('"'), "unescaped: {line}");
    let mut rest = content;
    while let Some(at) = rest.find('&') {
        rest = &rest[at..];
        assert!(["&amp;", "&lt;", "&gt;", "&quot;"].iter().any(|e| rest.starts_with(e)), "bare &: {line}");
        rest = &rest[1..];
    }
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

/// Text runs: (content, left, right, top, bottom) by the bundled font's estimated widths.
fn text_boxes(elements: &[Element]) -> Vec<(String, f64, f64, f64, f64)> {
    elements
        .iter()
        .filter(|e| e.name == "text")
        .map(|e| {
            let content = unescape(e.content.as_deref().unwrap_or_default());
            let size = e.num("font-size");
            let w = text::width(&content, size, e.attr("font-weight") == Some("bold"));
            let x = e.num("x");
            let left = match e.attr("text-anchor") {
                Some("middle") => x - w / 2.0,
                Some("end") => x - w,
                _ => x,
            };
            let y = e.num("y");
            (content, left, left + w, y - size * 0.75, y + size * 0.22)
        })
        .collect()
}

/// No two text runs overlap and all of them are inside the canvas.
fn assert_readable(svg: &str, width: f64, height: f64) {
    let boxes = text_boxes(&check_subset(svg));
    for (i, a) in boxes.iter().enumerate() {
        assert!(
            a.1 >= -0.5 && a.2 <= width + 0.5 && a.3 >= -0.5 && a.4 <= height + 0.5,
            "{a:?} outside {width}×{height}\n{svg}"
        );
        for b in &boxes[i + 1..] {
            let overlap = a.1 < b.2 - 0.5 && b.1 < a.2 - 0.5 && a.3 < b.4 - 0.5 && b.3 < a.4 - 0.5;
            assert!(!overlap, "{a:?} overlaps {b:?}\n{svg}");
        }
    }
}

fn texts(svg: &str) -> Vec<String> {
    check_subset(svg).iter().filter_map(|e| e.content.as_deref().map(unescape)).collect()
}

/// Elements inside the groups whose class starts with `class`.
fn in_group<'a>(svg: &'a str, class: &str) -> Vec<&'a str> {
    let mut inside = false;
    let mut found = Vec::new();
    for line in svg.lines() {
        if line.starts_with("<g class=\"") {
            inside = line.starts_with(&format!("<g class=\"{class}"));
        } else if line == "</g>" {
            inside = false;
        } else if inside {
            found.push(line);
        }
    }
    found
}

fn series(name: &str, values: &[Option<f64>]) -> Series {
    Series { name: name.to_string(), values: values.to_vec() }
}

fn months() -> Vec<String> {
    (0..13).map(|i| format!("{}-{:02}", 2025 + (i + 9) / 12, (i + 9) % 12 + 1)).collect()
}

/// Thirteen months of revenue with a missing month, and its target.
fn revenue_trend() -> ChartSpec {
    let revenue = [2.61, 2.74, 3.02, 2.48, 2.55, 2.83, 2.9, 2.97, 3.05, 3.11, 2.99, 3.18, 3.27];
    let target = [2.7, 2.8, 2.9, 2.6, 2.6, 2.9, 3.0, 3.0, 3.1, 3.2, 3.1, 3.3, 3.36];
    let mut values: Vec<Option<f64>> = revenue.iter().map(|v| Some(v * 1e6)).collect();
    values[4] = None;
    ChartSpec::Line {
        categories: months(),
        series: vec![series("Revenue", &values)],
        target: Some(series("Target", &target.iter().map(|v| Some(v * 1e6)).collect::<Vec<_>>())),
        format: AxisFormat::Money,
    }
}

fn attainment_by_region() -> ChartSpec {
    ChartSpec::Bars {
        categories: ["North", "South", "East", "West", "International key accounts"].map(String::from).to_vec(),
        series: vec![
            series("Revenue", &[Some(1.21e6), Some(0.87e6), Some(1.05e6), None, Some(0.32e6)]),
            series("Last year", &[Some(1.02e6), Some(0.91e6), Some(0.88e6), Some(0.4e6), Some(0.25e6)]),
        ],
        target: Some(series("Target", &[Some(1.15e6), Some(0.95e6), Some(1.0e6), Some(0.45e6), None])),
        format: AxisFormat::Money,
    }
}

fn funnel() -> ChartSpec {
    ChartSpec::Funnel {
        stages: vec![
            ("Lead".into(), 12_400.0),
            ("Qualified".into(), 9_920.0),
            ("Proposal".into(), 7_440.0),
            ("Negotiation".into(), 5_952.0),
            ("Won".into(), 3_869.0),
        ],
        conversions: vec![None, Some(0.8), Some(0.75), Some(0.8), Some(0.65)],
    }
}

fn radar() -> ChartSpec {
    ChartSpec::Radar {
        axes: ["Price", "Features", "Service", "Brand", "Delivery"].map(String::from).to_vec(),
        series: vec![
            series("Self", &[Some(3.8), Some(4.2), Some(4.5), Some(3.6), Some(4.0)]),
            series("Contoso", &[Some(4.4), Some(3.9), Some(3.2), Some(4.1), Some(3.7)]),
            series("Fabrikam", &[Some(3.1), Some(3.5), Some(3.9), Some(3.0), Some(4.3)]),
        ],
        max: 5.0,
    }
}

fn sparkline() -> ChartSpec {
    ChartSpec::Sparkline {
        values: vec![Some(2.6), Some(2.7), Some(3.0), None, Some(2.5), Some(2.8), Some(2.9), Some(3.1), Some(3.27)],
    }
}

fn render(spec: &ChartSpec, width: f32, height: f32) -> String {
    render_svg("t", "Test chart", spec, width, height, &Theme::default(), Locale::En)
}

/// Every kind at the size the report uses, plus the edge cases, as (name, spec, w, h).
fn gallery() -> Vec<(&'static str, ChartSpec, f32, f32)> {
    let long =
        "An extraordinarily long category name that cannot possibly fit under one bar of a narrow chart".to_string();
    vec![
        ("line", revenue_trend(), 480.0, 220.0),
        ("bars", attainment_by_region(), 480.0, 220.0),
        ("funnel", funnel(), 480.0, 200.0),
        ("radar", radar(), 320.0, 260.0),
        ("sparkline", sparkline(), 110.0, 28.0),
        (
            "line_quarters_percent",
            ChartSpec::Line {
                categories: (1..=8).map(|q| format!("2025-Q{}", (q - 1) % 4 + 1)).collect(),
                series: vec![
                    series(
                        "Win rate",
                        &[Some(0.31), Some(0.29), Some(0.33), Some(0.35), None, Some(0.3), Some(0.27), Some(0.24)],
                    ),
                    series("Market", &[Some(0.28); 8]),
                ],
                target: None,
                format: AxisFormat::Percent,
            },
            480.0,
            220.0,
        ),
        (
            "bars_negative",
            ChartSpec::Bars {
                categories: ["Direct", "Partner", "Online", "R&D <east>"].map(String::from).to_vec(),
                series: vec![series("Margin", &[Some(120_000.0), Some(-45_000.0), Some(80_500.0), Some(-1_000.0)])],
                target: None,
                format: AxisFormat::Money,
            },
            480.0,
            220.0,
        ),
        (
            "bars_single_long",
            ChartSpec::Bars {
                categories: vec![long.clone()],
                series: vec![series("Deals", &[Some(42.0)])],
                target: None,
                format: AxisFormat::Count,
            },
            240.0,
            160.0,
        ),
        (
            "line_single",
            ChartSpec::Line {
                categories: vec![long],
                series: vec![series("Revenue", &[Some(3.2e6)])],
                target: None,
                format: AxisFormat::Money,
            },
            480.0,
            220.0,
        ),
        (
            "bars_many",
            ChartSpec::Bars {
                categories: (1..=30).map(|i| format!("Territory {i}")).collect(),
                series: vec![series("Revenue", &(1..=30).map(|i| Some(f64::from(i) * 1000.0)).collect::<Vec<_>>())],
                target: None,
                format: AxisFormat::Money,
            },
            480.0,
            220.0,
        ),
        (
            "line_years_zh",
            ChartSpec::Line {
                categories: (2022..=2026).map(|y| format!("{y}年")).collect(),
                series: vec![series("华东地区直销渠道收入", &[Some(31.0), Some(32.3), None, Some(35.9), Some(34.1)])],
                target: Some(series("目标", &[Some(30.0), Some(33.0), Some(34.0), Some(35.0), Some(36.0)])),
                format: AxisFormat::Number,
            },
            480.0,
            220.0,
        ),
        ("line_narrow", revenue_trend(), 240.0, 140.0),
        ("bars_narrow", attainment_by_region(), 240.0, 160.0),
        ("funnel_short", funnel(), 240.0, 110.0),
        ("radar_small", radar(), 200.0, 180.0),
        (
            "funnel_zero_stage",
            ChartSpec::Funnel {
                stages: vec![("Lead".into(), 10.0), ("Won".into(), 0.0)],
                conversions: vec![Some(0.0)],
            },
            240.0,
            120.0,
        ),
        (
            "radar_gap",
            ChartSpec::Radar {
                axes: ["Price", "Features", "Service", "Brand", "Delivery"].map(String::from).to_vec(),
                series: vec![series("Self", &[Some(72.0), None, Some(85.0), Some(64.0), Some(90.0)])],
                max: 100.0,
            },
            240.0,
            200.0,
        ),
    ]
}

#[test]
fn every_kind_renders_within_the_subset_with_readable_labels() {
    for (name, spec, w, h) in gallery() {
        let svg = render(&spec, w, h);
        let kind = match spec {
            ChartSpec::Line { .. } => "line",
            ChartSpec::Bars { .. } => "bars",
            ChartSpec::Funnel { .. } => "funnel",
            ChartSpec::Radar { .. } => "radar",
            ChartSpec::Sparkline { .. } => "sparkline",
        };
        assert!(
            svg.starts_with(&format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"chart-t\" class=\"chart chart-{kind}\" viewBox=\"0 0 {w} {h}\""
            )),
            "{name}"
        );
        assert!(!texts(&svg).iter().any(|t| t == "No data"), "{name} drew the empty state");
        assert_readable(&svg, f64::from(w), f64::from(h));
        assert_eq!(svg, render(&spec, w, h), "{name} is not deterministic");
    }
}

#[test]
fn writes_samples_for_a_look_when_asked() {
    // `CHART_SAMPLES=/tmp/charts cargo test …` writes every sample, to view as PNG.
    let Ok(dir) = std::env::var("CHART_SAMPLES") else { return };
    let mut samples = gallery();
    samples.push((
        "empty_line",
        ChartSpec::Line { categories: months(), series: vec![], target: None, format: AxisFormat::Money },
        480.0,
        220.0,
    ));
    samples.push(("empty_sparkline", ChartSpec::Sparkline { values: vec![None; 6] }, 110.0, 28.0));
    for (name, spec, w, h) in samples {
        for (locale, suffix) in [(Locale::En, ""), (Locale::ZhCn, "_zh")] {
            let svg = render_svg(name, name, &spec, w, h, &Theme::default(), locale);
            std::fs::write(format!("{dir}/{name}{suffix}.svg"), svg).expect("sample directory is writable");
        }
    }
}

#[test]
fn missing_values_are_gaps_not_zeros() {
    let svg = render(&revenue_trend(), 480.0, 220.0);
    let lines = in_group(&svg, "series series-0");
    // The missing fifth month splits the line in two, and nothing is drawn at it.
    assert_eq!(lines.iter().filter(|l| l.starts_with("<polyline")).count(), 2, "{svg}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("<circle")).count(), 12);

    let bars = render(&attainment_by_region(), 480.0, 220.0);
    assert_eq!(in_group(&bars, "series series-0").len(), 4, "West has no revenue bar");
    assert_eq!(in_group(&bars, "series series-1").len(), 5);
    // Two lines (halo and dash) per target value; the last region has none.
    assert_eq!(in_group(&bars, "target").len(), 8);

    let spark = render(&sparkline(), 110.0, 28.0);
    assert_eq!(in_group(&spark, "series").iter().filter(|l| l.starts_with("<polyline")).count(), 2);
}

#[test]
fn a_lone_value_between_gaps_is_a_dot() {
    let spec = ChartSpec::Line {
        categories: months(),
        series: vec![series("x", &[None, None, Some(3.0), None])],
        target: None,
        format: AxisFormat::Number,
    };
    let svg = render(&spec, 480.0, 220.0);
    let marks = in_group(&svg, "series");
    assert_eq!(marks.len(), 1, "{svg}");
    assert!(marks[0].starts_with("<circle"));
}

#[test]
fn no_data_gives_the_empty_state_in_the_reports_language() {
    let empty_cases = [
        ChartSpec::Line {
            categories: months(),
            series: vec![series("Revenue", &[None; 13])],
            target: None,
            format: AxisFormat::Money,
        },
        ChartSpec::Line { categories: vec![], series: vec![], target: None, format: AxisFormat::Money },
        ChartSpec::Bars {
            categories: vec!["North".into()],
            series: vec![series("Revenue", &[Some(f64::NAN)])],
            target: None,
            format: AxisFormat::Money,
        },
        ChartSpec::Bars {
            categories: vec![],
            series: vec![series("Revenue", &[Some(1.0)])],
            target: None,
            format: AxisFormat::Money,
        },
        ChartSpec::Funnel { stages: vec![], conversions: vec![] },
        ChartSpec::Radar { axes: vec![], series: vec![], max: 5.0 },
        ChartSpec::Radar { axes: vec!["Price".into()], series: vec![series("Self", &[None])], max: 5.0 },
        ChartSpec::Sparkline { values: vec![None, None] },
        ChartSpec::Sparkline { values: vec![] },
    ];
    for spec in &empty_cases {
        let (w, h) = if matches!(spec, ChartSpec::Sparkline { .. }) { (110.0, 28.0) } else { (480.0, 220.0) };
        let en = render_svg("e", "Empty", spec, w, h, &Theme::default(), Locale::En);
        assert_eq!(texts(&en), ["No data"], "{spec:?}");
        assert_readable(&en, f64::from(w), f64::from(h));
        let zh = render_svg("e", "空", spec, w, h, &Theme::default(), Locale::ZhCn);
        assert_eq!(texts(&zh), ["无数据"], "{spec:?}");
    }
}

#[test]
fn value_axes_have_nice_ticks() {
    let svg = render(&revenue_trend(), 480.0, 220.0);
    let texts = texts(&svg);
    for tick in ["0", "1M", "2M", "3M", "4M"] {
        assert!(texts.iter().any(|t| t == tick), "no tick {tick} in {texts:?}");
    }
    let negative = render(&gallery()[6].1, 480.0, 220.0);
    let labels = texts_in(&negative, "labels");
    assert!(labels.iter().any(|t| t == "-50K") && labels.iter().any(|t| t == "150K"), "{labels:?}");
}

fn texts_in(svg: &str, class: &str) -> Vec<String> {
    in_group(svg, class)
        .iter()
        .filter_map(|l| l.split_once('>').and_then(|(_, r)| r.strip_suffix("</text>")).map(unescape))
        .collect()
}

#[test]
fn negative_bars_hang_below_the_zero_line() {
    let svg = render(&gallery()[6].1, 480.0, 220.0);
    let elements = check_subset(&svg);
    let zero_line = elements
        .iter()
        .find(|e| e.name == "line" && e.attr("stroke") == Some("#6b7280"))
        .map(|e| e.num("y1"))
        .unwrap_or(f64::NAN);
    let bars: Vec<&Element> = elements.iter().filter(|e| e.name == "rect").collect();
    assert_eq!(bars.len(), 4);
    assert!((bars[0].num("y") + bars[0].num("height") - zero_line).abs() < 0.02, "positive bar ends on the zero line");
    assert!((bars[1].num("y") - zero_line).abs() < 0.02, "negative bar starts on the zero line");
}

#[test]
fn text_is_escaped() {
    let spec = ChartSpec::Bars {
        categories: vec!["R&D <east>".into(), "Sales \"west\"".into()],
        series: vec![series("A & B", &[Some(1.0), Some(2.0)]), series("<b>", &[Some(2.0), Some(1.0)])],
        target: None,
        format: AxisFormat::Count,
    };
    let svg = render_svg("r&d", "Revenue <by> \"region\" & more", &spec, 480.0, 220.0, &Theme::default(), Locale::En);
    check_subset(&svg);
    assert!(svg.contains(">R&amp;D &lt;east&gt;</text>"), "{svg}");
    assert!(svg.contains(">Sales &quot;west&quot;</text>"));
    assert!(svg.contains(">A &amp; B</text>") && svg.contains(">&lt;b&gt;</text>"));
    assert!(svg.contains("id=\"chart-r&amp;d\""));
    assert!(svg.contains("aria-label=\"Revenue &lt;by&gt; &quot;region&quot; &amp; more\""));
    assert!(!svg.contains("<east>") && !svg.contains("<b>"));
}

#[test]
fn long_names_are_truncated_and_dense_periods_thinned() {
    // Under a bar, a long name wraps onto two lines and the second is cut.
    let single = render(&gallery()[7].1, 120.0, 160.0);
    assert_readable(&single, 120.0, 160.0);
    let lines: Vec<String> = texts_in(&single, "labels")
        .into_iter()
        .filter(|t| !t.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].ends_with('…'), "{lines:?}");

    // Under a trend, every name is one line, cut to its (thinned) room.
    let names: Vec<String> = (0..13).map(|i| format!("Period number {i} with a long name")).collect();
    let spec = ChartSpec::Line {
        categories: names,
        series: vec![series("x", &[Some(1.0); 13])],
        target: None,
        format: AxisFormat::Number,
    };
    let svg = render(&spec, 480.0, 220.0);
    assert_readable(&svg, 480.0, 220.0);
    let cut: Vec<String> = texts_in(&svg, "labels").into_iter().filter(|t| t.starts_with("Period")).collect();
    assert!(!cut.is_empty() && cut.iter().all(|t| t.ends_with('…')), "{cut:?}");

    let trend = render(&revenue_trend(), 480.0, 220.0);
    let months: Vec<String> = texts_in(&trend, "labels").into_iter().filter(|t| t.starts_with("202")).collect();
    assert!(months.len() < 13 && months.len() >= 6, "{months:?}");
    assert_eq!(months.last().map(String::as_str), Some("2026-10"), "the latest period is always labelled");
}

#[test]
fn legends_appear_for_several_series_or_a_target() {
    assert!(!in_group(&render(&revenue_trend(), 480.0, 220.0), "legend").is_empty());
    let one = ChartSpec::Bars {
        categories: vec!["North".into()],
        series: vec![series("Revenue", &[Some(1.0)])],
        target: None,
        format: AxisFormat::Money,
    };
    assert!(in_group(&render(&one, 480.0, 220.0), "legend").is_empty());
    assert!(!in_group(&render(&radar(), 320.0, 260.0), "legend").is_empty());
}

#[test]
fn funnel_reads_conversions_in_either_shape() {
    let per_stage = texts(&render(&funnel(), 480.0, 200.0));
    let ChartSpec::Funnel { stages, .. } = funnel() else { unreachable!() };
    let per_pair = texts(&render(
        &ChartSpec::Funnel { stages, conversions: vec![Some(0.8), Some(0.75), Some(0.8), Some(0.65)] },
        480.0,
        200.0,
    ));
    assert_eq!(per_stage, per_pair);
    assert!(per_stage.iter().any(|t| t == "65%") && per_stage.iter().any(|t| t == "12,400"), "{per_stage:?}");
}

#[test]
fn colours_follow_the_theme() {
    let theme = Theme { primary: Rgb(1, 2, 3), accent: Rgb(4, 5, 6), palette: vec![Rgb(7, 8, 9)], ..Theme::default() };
    let svg = render_svg("c", "c", &radar(), 320.0, 260.0, &theme, Locale::En);
    assert!(svg.contains("fill=\"#010203\"") && svg.contains("fill=\"#040506\"") && svg.contains("fill=\"#070809\""));
}

#[test]
fn snapshots_of_rendered_charts() {
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => true }, {
        insta::assert_snapshot!("line_trend", render(&revenue_trend(), 480.0, 220.0));
        insta::assert_snapshot!("grouped_bars", render(&attainment_by_region(), 480.0, 220.0));
        insta::assert_snapshot!("funnel", render(&funnel(), 480.0, 200.0));
        insta::assert_snapshot!("sparkline", render(&sparkline(), 110.0, 28.0));
    });
}

#[test]
fn extreme_inputs_still_give_valid_svg() {
    let extremes =
        [Some(f64::MAX), Some(-f64::MAX), Some(1e-300), Some(f64::INFINITY), Some(f64::NAN), None, Some(0.0)];
    let names: Vec<String> = (0..extremes.len()).map(|i| format!("c{i}")).collect();
    let many: Vec<Series> = (0..12).map(|j| series(&format!("Series {j} with a long name"), &extremes)).collect();
    let specs = [
        ChartSpec::Line {
            categories: names.clone(),
            series: many.clone(),
            target: Some(series("", &extremes)),
            format: AxisFormat::Money,
        },
        ChartSpec::Bars { categories: names.clone(), series: many.clone(), target: None, format: AxisFormat::Count },
        ChartSpec::Bars {
            categories: names,
            series: vec![series("zero", &[Some(0.0); 7])],
            target: None,
            format: AxisFormat::Percent,
        },
        ChartSpec::Funnel {
            stages: vec![("a".into(), f64::NAN), ("b".into(), -5.0), ("c".into(), 1e300)],
            conversions: vec![Some(f64::INFINITY)],
        },
        ChartSpec::Radar { axes: vec!["only".into()], series: many.clone(), max: f64::NAN },
        ChartSpec::Radar {
            axes: vec!["a".into(), "b".into()],
            series: vec![series("s", &[Some(-3.0), Some(9.0)])],
            max: 0.0,
        },
        ChartSpec::Sparkline { values: vec![Some(5.0)] },
        ChartSpec::Sparkline { values: extremes.to_vec() },
    ];
    for spec in &specs {
        for (w, h) in [(480.0, 220.0), (110.0, 28.0), (0.0, f32::NAN), (10.0, 10.0)] {
            check_subset(&render(spec, w, h));
        }
    }
}

#[test]
fn a_flat_or_single_value_keeps_zero_in_view() {
    let spec = ChartSpec::Line {
        categories: months(),
        series: vec![series("x", &[Some(3.2e6); 13])],
        target: None,
        format: AxisFormat::Money,
    };
    let labels = texts_in(&render(&spec, 480.0, 220.0), "labels");
    assert!(labels.iter().any(|t| t == "0") && labels.iter().any(|t| t == "3M"), "{labels:?}");
}

#[test]
fn radar_ring_labels_sit_on_a_white_backing_that_covers_them() {
    let svg = render(&radar(), 320.0, 260.0);
    let labels = in_group(&svg, "labels");
    let attr = |line: &str, name: &str| -> f64 {
        let start = line.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        line[start..].split('"').next().unwrap().parse().unwrap()
    };
    let mut backed = 0;
    for pair in labels.windows(2) {
        let (rect, text) = (pair[0], pair[1]);
        if !(rect.starts_with("<rect") && text.starts_with("<text")) {
            continue;
        }
        assert!(rect.contains("fill=\"#ffffff\""), "{rect}");
        let (x, y, w, h) = (attr(rect, "x"), attr(rect, "y"), attr(rect, "width"), attr(rect, "height"));
        let (tx, ty) = (attr(text, "x"), attr(text, "y"));
        // The text starts inside the backing, its baseline near the bottom, its cap height inside.
        assert!(x < tx && tx < x + w && ty <= y + h && ty - 5.5 >= y, "{rect} / {text}");
        backed += 1;
    }
    // Ring labels are in the small font; axis names are larger.
    let small = format!("font-size=\"{}\"", super::SMALL_FONT);
    let rings = labels.iter().filter(|l| l.starts_with("<text") && l.contains(&small)).count();
    assert!(backed >= 2 && backed == rings, "{backed} backings for {rings} ring labels:\n{}", labels.join("\n"));
}
