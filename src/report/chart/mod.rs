//! Charts as SVG: each [`ChartSpec`] is drawn once, here, and both renderers use the
//! result — the HTML page inlines it, the PDF converts it to vector drawing operations
//! with its own small parser. So every chart keeps to a strict subset of SVG:
//!
//! - Root: `<svg xmlns="http://www.w3.org/2000/svg" id="chart-{id}" class="chart
//!   chart-{kind}" viewBox="0 0 W H" width="W" height="H" role="img" aria-label="{title}">`,
//!   then at most one `<title>`. `kind` is `line`, `bars`, `funnel`, `radar` or `sparkline`.
//! - Elements: `g` (`class` only), `rect` (`x y width height fill`, optional `stroke
//!   stroke-width`), `line` (`x1 y1 x2 y2 stroke stroke-width`, optional
//!   `stroke-dasharray="a b"`), `polyline` (`points fill="none" stroke stroke-width`,
//!   optional dash), `polygon` (`points fill`, optional `fill-opacity stroke
//!   stroke-width`), `circle` (`cx cy r fill`, optional `stroke stroke-width`), `text` (`x
//!   y font-size fill text-anchor`, optional `font-weight="bold"`; `y` is the baseline;
//!   plain escaped content, no `tspan`).
//! - One element per line, attributes double-quoted and always in that order, numbers
//!   with at most two decimals, colours `#rrggbb` or `none`; no CSS, styles, transforms,
//!   paths or fonts. Coordinates are points from the top-left corner.
//! - The same input gives the same bytes.
//!
//! Text is laid out with the bundled font's widths ([`text`]), so labels are thinned,
//! wrapped or truncated with `…` rather than left to overlap. Missing values are gaps,
//! never zeros; a chart without any value shows "No data" in the report's language.

mod cartesian;
mod funnel;
mod legend;
mod radar;
mod scale;
mod sparkline;
mod svg;
mod text;

#[cfg(test)]
mod tests;

pub use scale::format_axis;

use super::i18n;
use super::model::{Chart, ChartSpec, Locale, Rgb, Theme};
use svg::{Anchor, Font, Svg};

/// Tick labels, category labels and legends.
const SMALL_FONT: f64 = 8.0;
/// Funnel stage names and counts, radar axis names.
const LABEL_FONT: f64 = 9.0;
/// The empty-state message on charts of ordinary size.
const MESSAGE_FONT: f64 = 10.0;
/// Room kept free along the edges of every chart, so strokes and glyphs are not clipped.
const EDGE: f64 = 4.0;

/// Renders `spec` as SVG of `width` × `height` points in the theme's colours, in the subset
/// described in the [module docs](self). A size that is not a positive number is taken as
/// 1 point; a spec without any value gives a valid SVG with an empty-state message.
pub fn render_svg(
    id: &str,
    title: &str,
    spec: &ChartSpec,
    width: f32,
    height: f32,
    theme: &Theme,
    locale: Locale,
) -> String {
    let canvas = Canvas { width: dimension(width), height: dimension(height), theme, locale };
    let mut svg = Svg::new(id, kind(spec), title, canvas.width, canvas.height);
    let drawn = match spec {
        ChartSpec::Line { categories, series, target, format }
        | ChartSpec::Bars { categories, series, target, format } => cartesian::render(
            &mut svg,
            &canvas,
            &cartesian::Data {
                categories,
                series,
                target: target.as_ref(),
                format: *format,
                marks: if matches!(spec, ChartSpec::Line { .. }) {
                    cartesian::Marks::Lines
                } else {
                    cartesian::Marks::Bars
                },
            },
        ),
        ChartSpec::Funnel { stages, conversions } => funnel::render(&mut svg, &canvas, stages, conversions),
        ChartSpec::Radar { axes, series, max } => radar::render(&mut svg, &canvas, axes, series, *max),
        ChartSpec::Sparkline { values } => sparkline::render(&mut svg, &canvas, values),
    };
    if !drawn {
        empty_state(&mut svg, &canvas);
    }
    svg.finish()
}

/// Builds a [`Chart`]: the spec with its SVG rendered by [`render_svg`].
// The arguments are the chart's own fields plus the theme and locale it is drawn in; a
// parameter struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn chart(
    id: &str,
    title: &str,
    spec: ChartSpec,
    width: f32,
    height: f32,
    theme: &Theme,
    locale: Locale,
    caption: Option<String>,
) -> Chart {
    let svg = render_svg(id, title, &spec, width, height, theme, locale);
    Chart { id: id.to_string(), title: title.to_string(), spec, width, height, svg, caption }
}

/// The drawing surface a chart kind lays itself out on.
pub(super) struct Canvas<'a> {
    pub width: f64,
    pub height: f64,
    pub theme: &'a Theme,
    pub locale: Locale,
}

impl Canvas<'_> {
    /// The colour of the `index`th series: primary, accent, then the palette, repeating.
    pub fn series_colour(&self, index: usize) -> Rgb {
        let t = self.theme;
        let count = 2 + t.palette.len();
        match index % count {
            0 => t.primary,
            1 => t.accent,
            i => t.palette.get(i - 2).copied().unwrap_or(t.primary),
        }
    }

    /// Gridlines and radar rings: the muted colour lightened, so they recede behind data.
    pub fn grid_colour(&self) -> Rgb {
        mix(self.theme.muted, WHITE, 0.75)
    }
}

pub(super) const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);

/// `a` moved a fraction `t` of the way towards `b`.
pub(super) fn mix(a: Rgb, b: Rgb, t: f64) -> Rgb {
    let channel = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round().clamp(0.0, 255.0) as u8;
    Rgb(channel(a.0, b.0), channel(a.1, b.1), channel(a.2, b.2))
}

fn kind(spec: &ChartSpec) -> &'static str {
    match spec {
        ChartSpec::Line { .. } => "line",
        ChartSpec::Bars { .. } => "bars",
        ChartSpec::Funnel { .. } => "funnel",
        ChartSpec::Radar { .. } => "radar",
        ChartSpec::Sparkline { .. } => "sparkline",
    }
}

fn dimension(points: f32) -> f64 {
    if points.is_finite() && points >= 1.0 { f64::from(points) } else { 1.0 }
}

/// "No data" in the middle of the chart, smaller on tiny charts (sparklines).
fn empty_state(svg: &mut Svg, canvas: &Canvas) {
    let size = if canvas.height < 60.0 { SMALL_FONT } else { MESSAGE_FONT };
    let message = text::truncate(i18n::no_data(canvas.locale), size, false, canvas.width - 2.0);
    svg.group("empty", |svg| {
        svg.text(
            canvas.width / 2.0,
            canvas.height / 2.0 + size * 0.35,
            Font::new(size, canvas.theme.muted, Anchor::Middle),
            &message,
        );
    });
}

/// The finite value of `values[index]`: out of range, `None` and NaN are all missing.
pub(super) fn value_at(values: &[Option<f64>], index: usize) -> Option<f64> {
    values.get(index).copied().flatten().filter(|v| v.is_finite())
}

/// Runs of consecutive present values, as index ranges: the pieces a line is drawn in,
/// so a missing value leaves a gap.
pub(super) fn present_runs(values: &[Option<f64>], len: usize) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for i in 0..len {
        match (value_at(values, i).is_some(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push(s..len);
    }
    runs
}
