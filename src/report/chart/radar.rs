//! Radar charts: one spoke per axis, starting at the top and going clockwise, rings at
//! nice values from 0 to the scale's top, one translucent polygon per series (the first,
//! "self", drawn on top) and a legend underneath when there are several series.

use std::f64::consts::PI;

use super::legend::{Item, Legend, Swatch};
use super::scale::{format_axis, format_tick, nice_ticks};
use super::svg::{Anchor, Font, Point, Stroke, Svg};
use super::{Canvas, EDGE, SMALL_FONT, WHITE, text, value_at};
use crate::report::model::{AxisFormat, Series};

/// Axis names: a touch larger than ring labels, which are secondary.
const AXIS_FONT: f64 = 8.5;
/// From the outer ring to an axis name.
const LABEL_OFFSET: f64 = 6.0;

/// Draws the radar; `false` (having drawn nothing) when there are no axes or no values.
pub(super) fn render(svg: &mut Svg, canvas: &Canvas, axes: &[String], series: &[Series], max: f64) -> bool {
    let n = axes.len();
    let data_max = series
        .iter()
        .flat_map(|s| (0..n).filter_map(|i| value_at(&s.values, i)))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let Some(data_max) = data_max else {
        return false;
    };
    // The caller's scale top; without a usable one, the nice value above the data.
    let top_value = if max.is_finite() && max > 0.0 {
        max
    } else {
        nice_ticks(0.0, data_max.max(0.0), 4, false).domain().1.max(1.0)
    };
    let theme = canvas.theme;

    let legend = (series.len() >= 2).then(|| {
        let items = series
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let colour = canvas.series_colour(j);
                Item { swatch: if j == 0 { Swatch::Area(colour) } else { Swatch::Line(colour) }, label: s.name.clone() }
            })
            .collect();
        Legend::layout(items, EDGE, canvas.width - EDGE, true)
    });
    let legend_height = legend.as_ref().map_or(0.0, |l| l.height() + 6.0);
    let area_top = EDGE;
    let area_bottom = canvas.height - EDGE - legend_height;

    let names_width =
        axes.iter().map(|a| text::width(a.trim(), AXIS_FONT, false)).fold(0.0, f64::max).min(canvas.width * 0.22);
    let angle = |i: usize| -PI / 2.0 + 2.0 * PI * i as f64 / n as f64;
    // With an odd number of axes the shape reaches less far down (0.81 r for five) than
    // up (r): size and centre it by its real extent, not by a circle.
    let reach_down = (0..n).map(|i| angle(i).sin()).fold(0.0, f64::max);
    let vertical_room = AXIS_FONT + LABEL_OFFSET + 2.0;
    let radius = ((canvas.width - 2.0 * (EDGE + names_width + LABEL_OFFSET)) / 2.0)
        .min((area_bottom - area_top - 2.0 * vertical_room) / (1.0 + reach_down))
        .max(4.0);
    let spare = (area_bottom - area_top - 2.0 * vertical_room - radius * (1.0 + reach_down)).max(0.0);
    let centre = (canvas.width / 2.0, area_top + vertical_room + spare / 2.0 + radius);
    let at = |i: usize, fraction: f64| -> Point {
        let a = angle(i);
        (centre.0 + a.cos() * radius * fraction, centre.1 + a.sin() * radius * fraction)
    };
    let ring = |fraction: f64| -> Vec<Point> { (0..n).map(|i| at(i, fraction)).collect() };

    let (rings, ring_step) = rings(top_value);

    svg.group("grid", |svg| {
        for (k, value) in rings.iter().enumerate() {
            let outer = k + 1 == rings.len();
            let stroke =
                Stroke::solid(if outer { theme.muted } else { canvas.grid_colour() }, if outer { 0.75 } else { 0.6 });
            svg.polygon(&ring(value / top_value), None, None, Some(stroke));
        }
        for i in 0..n {
            svg.line(centre, at(i, 1.0), Stroke::solid(canvas.grid_colour(), 0.6));
        }
    });
    // The first series is drawn last, so "self" stays on top of the competitors.
    for (j, s) in series.iter().enumerate().rev() {
        let colour = canvas.series_colour(j);
        svg.group(&format!("series series-{j}"), |svg| {
            let fraction = |i: usize| value_at(&s.values, i).map(|v| (v / top_value).clamp(0.0, 1.0));
            let points: Vec<Option<Point>> = (0..n).map(|i| fraction(i).map(|f| at(i, f))).collect();
            if points.iter().all(Option::is_some) {
                let closed: Vec<Point> = points.iter().flatten().copied().collect();
                // Only the first series is filled: several translucent fills mix into grey.
                let fill = (j == 0).then_some(colour);
                svg.polygon(&closed, fill, Some(0.15), Some(Stroke::solid(colour, if j == 0 { 2.0 } else { 1.5 })));
            } else {
                // A missing score leaves its spoke empty: edges only between neighbours
                // that both have a value, and no fill that would invent a shape.
                // (Two axes have one edge between them, not two.)
                let edges = if n > 2 { n } else { n.saturating_sub(1) };
                for i in 0..edges {
                    if let (Some(a), Some(b)) = (points[i], points[(i + 1) % n]) {
                        svg.polyline(&[a, b], Stroke::solid(colour, 1.5));
                    }
                }
            }
            for p in points.iter().flatten() {
                svg.circle(*p, 2.0, Some(colour), Some(Stroke::solid(WHITE, 0.5)));
            }
        });
    }
    svg.group("labels", |svg| {
        // Ring values along the first spoke, from the top (so the scale's top is always
        // labelled) inwards, skipping any that would crowd the one above.
        let ring_font = Font::new(SMALL_FONT, theme.muted, Anchor::Start);
        let mut last_y = f64::NEG_INFINITY;
        for value in rings.iter().rev() {
            let y = centre.1 - radius * value / top_value;
            if y - last_y < 14.0 {
                continue;
            }
            last_y = y;
            let label = match ring_step {
                Some(step) => format_tick(*value, step, AxisFormat::Number),
                None => format_axis(*value, AxisFormat::Number),
            };
            // On a white backing, so the series' lines crossing the spoke do not run through it.
            let baseline = y + SMALL_FONT * 0.35 + 3.0;
            let w = text::width(&label, SMALL_FONT, false);
            svg.rect(centre.0 + 1.5, baseline - SMALL_FONT * 0.9, w + 3.0, SMALL_FONT * 1.15, Some(WHITE), None);
            svg.text(centre.0 + 3.0, baseline, ring_font, &label);
        }
        for (i, name) in axes.iter().enumerate() {
            let (cos, sin) = (angle(i).cos(), angle(i).sin());
            let x = centre.0 + cos * (radius + LABEL_OFFSET);
            let y = centre.1 + sin * (radius + LABEL_OFFSET);
            let (anchor, room) = if cos > 0.3 {
                (Anchor::Start, canvas.width - EDGE - x)
            } else if cos < -0.3 {
                (Anchor::End, x - EDGE)
            } else {
                (Anchor::Middle, 2.0 * (x - EDGE).min(canvas.width - EDGE - x))
            };
            let baseline = if sin < -0.5 {
                y - 2.0
            } else if sin > 0.5 {
                y + AXIS_FONT
            } else {
                y + AXIS_FONT * 0.35
            };
            svg.text(
                x,
                baseline,
                Font::new(AXIS_FONT, theme.text, anchor),
                &text::truncate(name.trim(), AXIS_FONT, false, room),
            );
        }
    });
    if let Some(legend) = legend {
        legend.draw(svg, canvas, canvas.height - EDGE - legend_height + 6.0);
    }
    true
}

/// The values of the grid rings, ending at `top`, and their step when it is a round one:
/// 3 to 6 rings of a nice step that divides `top` (1‥5 for a score out of 5, 20‥100 for
/// one out of 100); else four equal rings.
fn rings(top: f64) -> (Vec<f64>, Option<f64>) {
    let magnitude = 10f64.powf(top.log10().floor() - 1.0);
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0].map(|n| n * magnitude);
    let round_step = nice.into_iter().find(|step| {
        let count = top / step;
        (count - count.round()).abs() < 1e-9 && (3.0..=6.0).contains(&count.round())
    });
    let step = round_step.unwrap_or(top / 4.0);
    let count = (top / step).round() as usize;
    ((1..=count).map(|k| if k == count { top } else { k as f64 * step }).collect(), round_step)
}
