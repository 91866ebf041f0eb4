//! Line and bar charts: categories along x, a value axis with nice ticks along y.
//!
//! Lines are for trends (13 months, 8 quarters, 5 years): one point per category, a gap
//! where a value is missing, the target as a dashed muted line underneath. Bars are for
//! comparisons (attainment by region or channel): grouped when there are several series,
//! with the target as a dashed marker across each category's group.

use super::legend::{Item, Legend, Swatch};
use super::scale::{LinearScale, Ticks, format_tick, nice_ticks, value_range};
use super::svg::{Anchor, Font, Point, Stroke, Svg};
use super::{Canvas, EDGE, SMALL_FONT, WHITE, i18n, present_runs, text, value_at};
use crate::report::model::{AxisFormat, Series};

/// How values are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Marks {
    Lines,
    Bars,
}

/// A line or bar chart's data, borrowed from its spec.
pub(super) struct Data<'a> {
    pub categories: &'a [String],
    pub series: &'a [Series],
    pub target: Option<&'a Series>,
    pub format: AxisFormat,
    pub marks: Marks,
}

/// Line height of category labels, which may wrap to two lines under bars.
const CATEGORY_LINE: f64 = 10.0;
/// From the plot's bottom edge to the first category label's baseline.
const CATEGORY_DROP: f64 = 11.0;
/// From the end of a tick label to the plot.
const TICK_GAP: f64 = 5.0;
/// Wanted vertical distance between gridlines; the tick count follows the plot's height.
const GRID_PITCH: f64 = 28.0;
/// Room to the right of the plot, so the last category label and marker are not clipped.
const RIGHT: f64 = 8.0;
/// Widest a single bar gets, so three regions do not become three slabs.
const MAX_BAR: f64 = 56.0;
/// Bars narrower than this per category get thinned single-line labels instead of wrapped ones.
const MIN_WRAP_BAND: f64 = 28.0;

/// The computed layout of the plot area and its labels.
struct Layout {
    top: f64,
    bottom: f64,
    left: f64,
    right: f64,
    ticks: Ticks,
    tick_labels: Vec<String>,
    /// Shown categories: (index, lines of text).
    labels: Vec<(usize, Vec<String>)>,
}

impl Layout {
    fn band(&self, count: usize) -> f64 {
        (self.right - self.left) / count.max(1) as f64
    }
}

/// Draws the chart; `false` (having drawn nothing) when there is no value to show.
pub(super) fn render(svg: &mut Svg, canvas: &Canvas, data: &Data) -> bool {
    let n = data.categories.len();
    let series_values = data.series.iter().flat_map(|s| (0..n).filter_map(|i| value_at(&s.values, i)));
    let Some((min, max)) = min_max(series_values) else {
        return false;
    };
    // A target without a single value is as good as none: no line, no legend entry.
    let target = data.target.filter(|t| (0..n).any(|i| value_at(&t.values, i).is_some()));
    let target_values = target.into_iter().flat_map(|t| (0..n).filter_map(|i| value_at(&t.values, i)));
    let (min, max) = min_max(target_values).map_or((min, max), |(tmin, tmax)| (min.min(tmin), max.max(tmax)));
    let (lo, hi) = value_range(min, max, data.marks == Marks::Bars);

    let legend = (data.series.len() >= 2 || target.is_some()).then(|| legend(canvas, data, target));
    let top = EDGE + 2.0 + legend.as_ref().map_or(0.0, |l| l.height() + 6.0);
    let layout = layout(canvas, data, top, lo, hi);

    let y = LinearScale::new(layout.ticks.domain(), (layout.bottom, layout.top));
    let band = layout.band(n);
    let centre = |i: usize| layout.left + (i as f64 + 0.5) * band;
    let theme = canvas.theme;

    svg.group("grid", |svg| {
        for t in &layout.ticks.values {
            svg.line((layout.left, y.map(*t)), (layout.right, y.map(*t)), Stroke::solid(canvas.grid_colour(), 0.75));
        }
    });
    if let (Marks::Lines, Some(t)) = (data.marks, target) {
        svg.group("target", |svg| {
            draw_line(
                svg,
                &t.values,
                n,
                &centre,
                &y,
                LineStyle { stroke: Stroke::dashed(theme.muted, 1.5, 5.0, 3.0), dot: 1.5, markers: false },
            )
        });
    }
    match data.marks {
        Marks::Lines => {
            // The first series is drawn last, so the main line is on top where they cross.
            for (j, s) in data.series.iter().enumerate().rev() {
                let colour = canvas.series_colour(j);
                let width = if j == 0 { 2.0 } else { 1.5 };
                svg.group(&format!("series series-{j}"), |svg| {
                    draw_line(
                        svg,
                        &s.values,
                        n,
                        &centre,
                        &y,
                        LineStyle { stroke: Stroke::solid(colour, width), dot: 2.2, markers: n <= 24 },
                    )
                });
            }
        }
        Marks::Bars => draw_bars(svg, canvas, data, &layout, &y),
    }
    svg.group("axis", |svg| {
        // The baseline is the zero line when zero is on the axis (bars grow from it).
        let (d0, d1) = layout.ticks.domain();
        let base = if d0 <= 0.0 && d1 >= 0.0 { y.map(0.0) } else { layout.bottom };
        svg.line((layout.left, base), (layout.right, base), Stroke::solid(theme.muted, 1.0));
    });
    if let (Marks::Bars, Some(t)) = (data.marks, target) {
        svg.group("target", |svg| {
            let (_, group) = bar_geometry(band, data.series.len());
            for i in 0..n {
                let Some(v) = value_at(&t.values, i) else { continue };
                let (x0, x1, ty) = (centre(i) - group / 2.0 - 3.0, centre(i) + group / 2.0 + 3.0, y.map(v));
                // A white halo keeps the grey marker visible across dark bars.
                svg.line((x0, ty), (x1, ty), Stroke::solid(WHITE, 4.0));
                svg.line((x0, ty), (x1, ty), Stroke::dashed(theme.muted, 2.0, 4.0, 2.0));
            }
        });
    }
    svg.group("labels", |svg| {
        let tick_font = Font::new(SMALL_FONT, theme.muted, Anchor::End);
        for (t, label) in layout.ticks.values.iter().zip(&layout.tick_labels) {
            svg.text(layout.left - TICK_GAP, y.map(*t) + SMALL_FONT * 0.35, tick_font, label);
        }
        // From the latest category backwards, so it is the one always shown: each label is
        // kept inside the canvas, and one that would then touch its right neighbour is left
        // out (only a shifted first label can).
        let mut free_until = canvas.width;
        let mut placed = Vec::new();
        for (i, lines) in layout.labels.iter().rev() {
            let widest = lines.iter().map(|l| text::width(l, SMALL_FONT, false)).fold(0.0, f64::max);
            let x = centre(*i).min(canvas.width - widest / 2.0 - 1.0).max(widest / 2.0 + 1.0);
            if x + widest / 2.0 + 4.0 > free_until && !placed.is_empty() {
                continue;
            }
            free_until = x - widest / 2.0;
            placed.push((x, lines));
        }
        for (x, lines) in placed.into_iter().rev() {
            for (k, line) in lines.iter().enumerate() {
                let baseline = layout.bottom + CATEGORY_DROP + k as f64 * CATEGORY_LINE;
                svg.text(x, baseline, Font::new(SMALL_FONT, theme.text, Anchor::Middle), line);
            }
        }
    });
    if let Some(legend) = legend {
        legend.draw(svg, canvas, EDGE);
    }
    true
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| Some(acc.map_or((v, v), |(lo, hi): (f64, f64)| (lo.min(v), hi.max(v)))))
}

fn legend(canvas: &Canvas, data: &Data, target: Option<&Series>) -> Legend {
    let mut items: Vec<Item> = data
        .series
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let colour = canvas.series_colour(j);
            let swatch = match data.marks {
                Marks::Lines => Swatch::Line(colour),
                Marks::Bars => Swatch::Block(colour),
            };
            Item { swatch, label: s.name.clone() }
        })
        .collect();
    if let Some(t) = target {
        let label =
            if t.name.trim().is_empty() { i18n::target_label(canvas.locale).to_string() } else { t.name.clone() };
        items.push(Item { swatch: Swatch::Dashed(canvas.theme.muted), label });
    }
    Legend::layout(items, EDGE, canvas.width - EDGE, false)
}

/// Lays out the plot: ticks for its height, a left margin for their labels, then category
/// labels for the band width that leaves. Wrapped bar labels need a taller bottom margin,
/// which changes the height and so the ticks: one more pass settles it.
fn layout(canvas: &Canvas, data: &Data, top: f64, lo: f64, hi: f64) -> Layout {
    let mut lines = 1;
    let mut pass = 0;
    loop {
        let bottom = canvas.height - EDGE - CATEGORY_DROP - (lines - 1) as f64 * CATEGORY_LINE;
        let plot_height = (bottom - top).max(1.0);
        let intervals = ((plot_height / GRID_PITCH).round() as usize).clamp(2, 6);
        let ticks = nice_ticks(lo, hi, intervals, data.format == AxisFormat::Count);
        let tick_labels: Vec<String> = ticks.values.iter().map(|v| format_tick(*v, ticks.step, data.format)).collect();
        let widest_tick = tick_labels.iter().map(|l| text::width(l, SMALL_FONT, false)).fold(0.0, f64::max);
        let left = EDGE + widest_tick + TICK_GAP;
        let right = (canvas.width - RIGHT).max(left + 1.0);
        let n = data.categories.len();
        let band = (right - left) / n.max(1) as f64;
        let labels = category_labels(data.categories, band, data.marks);
        let needed = labels.iter().map(|(_, l)| l.len()).max().unwrap_or(1).max(1);
        pass += 1;
        if needed == lines || pass == 2 {
            return Layout { top, bottom, left, right, ticks, tick_labels, labels };
        }
        lines = needed;
    }
}

/// Category labels that fit their bands: wrapped onto two lines under wide enough bars;
/// otherwise one line, thinned to every k-th category (counting back from the last, the
/// latest period, which is always labelled) and truncated to the room that leaves.
fn category_labels(categories: &[String], band: f64, marks: Marks) -> Vec<(usize, Vec<String>)> {
    let n = categories.len();
    if marks == Marks::Bars && band >= MIN_WRAP_BAND {
        return categories
            .iter()
            .enumerate()
            .map(|(i, c)| (i, text::wrap(c, SMALL_FONT, false, band - 4.0, 2)))
            .collect();
    }
    // Long names are cut rather than thinning everything to make room for them.
    let widest = categories.iter().map(|c| text::width(c.trim(), SMALL_FONT, false)).fold(0.0, f64::max).min(90.0);
    let every = ((widest + 6.0) / band.max(0.01)).ceil().max(1.0) as usize;
    (0..n)
        .filter(|i| (n - 1 - i).is_multiple_of(every))
        .map(|i| (i, vec![text::truncate(categories[i].trim(), SMALL_FONT, false, every as f64 * band - 6.0)]))
        .collect()
}

/// (width of one bar, width of a category's group of bars).
fn bar_geometry(band: f64, series: usize) -> (f64, f64) {
    let series = series.max(1);
    let share = if series == 1 { 0.6 } else { 0.75 };
    let group = (band * share).min(MAX_BAR * series as f64);
    (group / series as f64, group)
}

fn draw_bars(svg: &mut Svg, canvas: &Canvas, data: &Data, layout: &Layout, y: &LinearScale) {
    let n = data.categories.len();
    let band = layout.band(n);
    let (bar, group) = bar_geometry(band, data.series.len());
    // A hairline between neighbouring bars of a group, none for a single series.
    let gap = if data.series.len() > 1 { (bar * 0.12).min(1.5) } else { 0.0 };
    let (d0, d1) = layout.ticks.domain();
    // Bars grow from zero, or from the axis edge nearest to it (`max`/`min`, unlike
    // `clamp`, cannot panic on a degenerate domain).
    let zero = y.map(0.0_f64.max(d0).min(d1));
    for (j, s) in data.series.iter().enumerate() {
        let colour = canvas.series_colour(j);
        svg.group(&format!("series series-{j}"), |svg| {
            for i in 0..n {
                let Some(v) = value_at(&s.values, i) else { continue };
                let x = layout.left + (i as f64 + 0.5) * band - group / 2.0 + j as f64 * bar + gap / 2.0;
                let top = y.map(v).min(zero);
                // A tiny non-zero value still shows as a sliver.
                let height = (y.map(v) - zero).abs().max(if v != 0.0 { 0.5 } else { 0.0 });
                svg.rect(x, top, bar - gap, height, Some(colour), None);
            }
        });
    }
}

/// How a line series is drawn: its stroke, the radius of its dots, and whether every
/// point gets one (else only lone points do).
#[derive(Clone, Copy)]
struct LineStyle {
    stroke: Stroke,
    dot: f64,
    markers: bool,
}

/// Draws a series as polylines over its runs of present values; a lone value between gaps
/// becomes a dot, so it does not vanish.
fn draw_line(
    svg: &mut Svg,
    values: &[Option<f64>],
    n: usize,
    x: &dyn Fn(usize) -> f64,
    y: &LinearScale,
    style: LineStyle,
) {
    let LineStyle { stroke, dot, markers } = style;
    let point = |i: usize| -> Option<Point> { value_at(values, i).map(|v| (x(i), y.map(v))) };
    for run in present_runs(values, n) {
        let points: Vec<Point> = run.clone().filter_map(point).collect();
        if points.len() >= 2 {
            svg.polyline(&points, stroke);
        }
        if markers || points.len() == 1 {
            // A lone point carries the whole series there: a little larger than a marker.
            let r = if points.len() == 1 { dot + 0.5 } else { dot };
            for p in &points {
                svg.circle(*p, r, Some(stroke.colour), None);
            }
        }
    }
}
