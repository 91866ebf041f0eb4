//! Sparklines: the trailing series of a scorecard card as a tiny line, no axes, the
//! latest value marked with a dot. The scale runs from the series' own minimum to its
//! maximum: a sparkline shows the shape of a trend, the card shows the figure.

use super::scale::LinearScale;
use super::svg::{Point, Stroke, Svg};
use super::{Canvas, WHITE, present_runs, value_at};

/// Room around the line for the end dot (radius plus its outline).
const PAD: f64 = 3.0;

/// Draws the sparkline; `false` (having drawn nothing) when there is no value.
pub(super) fn render(svg: &mut Svg, canvas: &Canvas, values: &[Option<f64>]) -> bool {
    let n = values.len();
    let present: Vec<(usize, f64)> = (0..n).filter_map(|i| value_at(values, i).map(|v| (i, v))).collect();
    let Some(&(last_index, last_value)) = present.last() else {
        return false;
    };
    let min = present.iter().map(|(_, v)| *v).fold(f64::INFINITY, f64::min);
    let max = present.iter().map(|(_, v)| *v).fold(f64::NEG_INFINITY, f64::max);
    let y = LinearScale::new((min, max), (canvas.height - PAD, PAD));
    let x = |i: usize| {
        if n <= 1 { canvas.width / 2.0 } else { PAD + i as f64 * (canvas.width - 2.0 * PAD) / (n - 1) as f64 }
    };
    let colour = canvas.theme.primary;

    svg.group("series series-0", |svg| {
        for run in present_runs(values, n) {
            let points: Vec<Point> = run.filter_map(|i| value_at(values, i).map(|v| (x(i), y.map(v)))).collect();
            match points.as_slice() {
                // A lone value between gaps would otherwise vanish.
                [only] => svg.circle(*only, 1.2, Some(colour), None),
                _ => svg.polyline(&points, Stroke::solid(colour, 1.25)),
            }
        }
        svg.circle((x(last_index), y.map(last_value)), 2.2, Some(colour), Some(Stroke::solid(WHITE, 0.75)));
    });
    true
}
