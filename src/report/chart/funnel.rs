//! Funnels: one centred bar per stage, widest (the first stage) on top, its width in
//! proportion to the stage's count, the count in the bar, and between two bars the
//! conversion from one stage to the next.
//!
//! `conversions` comes in one of two shapes, both accepted: one entry per stage, the
//! conversion *into* that stage from the one before (the first is then `None`, as the
//! pipelines' `conversion_from_previous` column gives it), or one entry per pair of
//! neighbouring stages (`len = stages - 1`).

use super::scale::format_axis;
use super::svg::{Anchor, Font, Stroke, Svg};
use super::{Canvas, EDGE, LABEL_FONT, SMALL_FONT, WHITE, text};
use crate::report::model::AxisFormat;

/// Gaps between bars hold the conversion labels; below this they are left out.
const MIN_LABELLED_GAP: f64 = 11.0;
/// Tallest a bar gets, so a funnel of three stages in a tall box does not look bloated.
const MAX_BAR: f64 = 30.0;

/// Draws the funnel; `false` (having drawn nothing) when no stage has a count.
pub(super) fn render(svg: &mut Svg, canvas: &Canvas, stages: &[(String, f64)], conversions: &[Option<f64>]) -> bool {
    let n = stages.len();
    let counts: Vec<Option<f64>> = stages.iter().map(|(_, c)| Some(*c).filter(|c| c.is_finite())).collect();
    if counts.iter().all(Option::is_none) {
        return false;
    }
    let theme = canvas.theme;
    let widest = counts.iter().flatten().fold(0.0_f64, |m, c| m.max(*c));

    let names_width = stages
        .iter()
        .map(|(s, _)| text::width(s.trim(), LABEL_FONT, false))
        .fold(0.0, f64::max)
        .min(canvas.width * 0.3);
    let bars_left = EDGE + names_width + 8.0;
    let bars_width = (canvas.width - EDGE - bars_left).max(1.0);
    let centre = bars_left + bars_width / 2.0;

    let room = (canvas.height - 2.0 * EDGE).max(1.0);
    let pairs = n.saturating_sub(1) as f64;
    let mut gap = if n > 1 { (room / n as f64 * 0.32).clamp(12.0, 18.0) } else { 0.0 };
    let mut bar = ((room - gap * pairs) / n as f64).min(MAX_BAR);
    if bar < 8.0 {
        // Too many stages for the height: thinner gaps (and no conversion labels) first.
        bar = (room / n as f64).min(8.0);
        gap = if n > 1 { (room - bar * n as f64) / pairs } else { 0.0 };
    }
    let used = bar * n as f64 + gap * pairs;
    let first_top = EDGE + (room - used).max(0.0) / 2.0;
    let bar_top = |i: usize| first_top + i as f64 * (bar + gap);

    svg.group("series series-0", |svg| {
        for (i, count) in counts.iter().enumerate() {
            let Some(w) = count.map(|c| bar_width(c, widest, bars_width)) else { continue };
            if w > 0.0 {
                svg.rect(centre - w / 2.0, bar_top(i), w, bar, Some(theme.primary), None);
            }
        }
    });
    svg.group("labels", |svg| {
        let name_font = Font::new(LABEL_FONT, theme.text, Anchor::End);
        let count_font = Font::new(LABEL_FONT, theme.text, Anchor::Start).bold();
        for (i, ((name, _), count)) in stages.iter().zip(&counts).enumerate() {
            let baseline = bar_top(i) + bar / 2.0 + LABEL_FONT * 0.35;
            svg.text(
                bars_left - 8.0,
                baseline,
                name_font,
                &text::truncate(name.trim(), LABEL_FONT, false, names_width),
            );
            let label = count.map_or_else(|| "—".to_string(), |c| format_axis(c, AxisFormat::Count));
            let w = count.map_or(0.0, |c| bar_width(c, widest, bars_width));
            // Inside the bar in white when it fits, else just right of the bar.
            if text::width(&label, LABEL_FONT, true) + 10.0 <= w {
                svg.text(centre, baseline, Font { colour: WHITE, anchor: Anchor::Middle, ..count_font }, &label);
            } else if w > 0.0 {
                svg.text(centre + w / 2.0 + 5.0, baseline, count_font, &label);
            } else {
                // No bar (a zero count): the figure alone, where the bar would be.
                svg.text(centre, baseline, Font { anchor: Anchor::Middle, ..count_font }, &label);
            }
        }
    });
    if gap >= MIN_LABELLED_GAP {
        svg.group("conversions", |svg| {
            let font = Font::new(SMALL_FONT, theme.muted, Anchor::Start);
            for i in 0..n.saturating_sub(1) {
                let Some(rate) = conversion_between(conversions, n, i) else { continue };
                let label = format_axis(rate, AxisFormat::Percent);
                let middle = bar_top(i) + bar + gap / 2.0;
                // A small down chevron before the rate reads as "of these, on to the next".
                let total = 6.0 + 3.0 + text::width(&label, SMALL_FONT, false);
                let start = centre - total / 2.0;
                svg.polyline(
                    &[(start, middle - 2.0), (start + 3.0, middle + 1.0), (start + 6.0, middle - 2.0)],
                    Stroke::solid(theme.muted, 1.0),
                );
                svg.text(start + 9.0, middle + SMALL_FONT * 0.35, font, &label);
            }
        });
    }
    true
}

/// A stage's bar width: in proportion to the widest stage; none for zero or less.
fn bar_width(count: f64, widest: f64, room: f64) -> f64 {
    if count <= 0.0 || widest <= 0.0 {
        return 0.0;
    }
    // A small but present stage still shows as a sliver.
    (count / widest * room).max(1.5)
}

/// The conversion from stage `i` to stage `i + 1`, in either shape of `conversions`.
fn conversion_between(conversions: &[Option<f64>], stages: usize, i: usize) -> Option<f64> {
    let index = if conversions.len() >= stages { i + 1 } else { i };
    conversions.get(index).copied().flatten().filter(|r| r.is_finite())
}
