//! Legends: a row (or rows, when they do not fit) of swatches and series names.

use super::svg::{Anchor, Font, Stroke, Svg};
use super::{Canvas, SMALL_FONT, WHITE, mix, text};
use crate::report::model::Rgb;

/// Height of one legend row.
const ROW: f64 = 12.0;
/// Space between a swatch and its label, and between items.
const SWATCH_GAP: f64 = 4.0;
const ITEM_GAP: f64 = 12.0;

/// What an item's swatch looks like, matching how its series is drawn.
#[derive(Debug, Clone, Copy)]
pub(super) enum Swatch {
    /// A line series.
    Line(Rgb),
    /// A dashed target line or marker.
    Dashed(Rgb),
    /// A bar series.
    Block(Rgb),
    /// A translucent area with an outline (radar).
    Area(Rgb),
}

impl Swatch {
    fn width(self) -> f64 {
        match self {
            Swatch::Line(_) | Swatch::Dashed(_) => 14.0,
            Swatch::Block(_) | Swatch::Area(_) => 8.0,
        }
    }
}

/// One legend entry.
pub(super) struct Item {
    pub swatch: Swatch,
    pub label: String,
}

/// Legend items placed in rows between a left and a right edge.
pub(super) struct Legend {
    /// (x, row, swatch, label as it fits).
    placed: Vec<(f64, usize, Swatch, String)>,
    rows: usize,
}

impl Legend {
    /// Places `items` left to right, wrapping to a new row when one does not fit; each row
    /// is centred when `centred`, else starts at `left`. Long names are truncated.
    pub fn layout(items: Vec<Item>, left: f64, right: f64, centred: bool) -> Legend {
        let room = (right - left).max(0.0);
        // One name may not take the whole row: leave room for at least one other.
        let max_label = (room * 0.6).max(40.0);
        let mut rows: Vec<Vec<(f64, Swatch, String)>> = vec![Vec::new()];
        let mut x = 0.0;
        for item in items {
            let label =
                text::truncate(&item.label, SMALL_FONT, false, max_label.min(room - item.swatch.width() - SWATCH_GAP));
            let item_width = item.swatch.width() + SWATCH_GAP + text::width(&label, SMALL_FONT, false);
            let row_is_empty = rows.last().is_none_or(Vec::is_empty);
            if !row_is_empty && x + item_width > room {
                rows.push(Vec::new());
                x = 0.0;
            }
            if let Some(row) = rows.last_mut() {
                row.push((x, item.swatch, label));
            }
            x += item_width + ITEM_GAP;
        }
        let mut placed = Vec::new();
        let row_count = rows.len();
        for (r, row) in rows.into_iter().enumerate() {
            let used =
                row.last().map_or(0.0, |(x, s, l)| x + s.width() + SWATCH_GAP + text::width(l, SMALL_FONT, false));
            let offset = if centred { left + (room - used).max(0.0) / 2.0 } else { left };
            placed.extend(row.into_iter().map(|(x, s, l)| (offset + x, r, s, l)));
        }
        Legend { placed, rows: row_count }
    }

    /// The height the legend takes.
    pub fn height(&self) -> f64 {
        self.rows as f64 * ROW
    }

    /// Draws the legend with its first row's top at `top`.
    pub fn draw(&self, svg: &mut Svg, canvas: &Canvas, top: f64) {
        svg.group("legend", |svg| {
            for (x, row, swatch, label) in &self.placed {
                let row_top = top + *row as f64 * ROW;
                let baseline = row_top + 8.5;
                // The optical middle of lowercase text, where a line swatch sits.
                let middle = baseline - SMALL_FONT * 0.32;
                match *swatch {
                    Swatch::Line(c) => svg.line((*x, middle), (x + 14.0, middle), Stroke::solid(c, 2.0)),
                    Swatch::Dashed(c) => svg.line((*x, middle), (x + 14.0, middle), Stroke::dashed(c, 1.5, 4.0, 2.0)),
                    Swatch::Block(c) => svg.rect(*x, middle - 4.0, 8.0, 8.0, Some(c), None),
                    Swatch::Area(c) => {
                        svg.rect(*x, middle - 4.0, 8.0, 8.0, Some(mix(c, WHITE, 0.7)), Some(Stroke::solid(c, 1.0)))
                    }
                }
                let text_x = x + swatch.width() + SWATCH_GAP;
                svg.text(text_x, baseline, Font::new(SMALL_FONT, canvas.theme.text, Anchor::Start), label);
            }
        });
    }
}
