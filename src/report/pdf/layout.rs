//! The flow layout: sections become positioned shapes on pages.
//!
//! Rules:
//! - A cover section gets a page of its own (a coloured band with the logo, title and
//!   subtitle, the facts, and the contents with page numbers); the section after it starts
//!   a new page. Every other section flows on from the one before.
//! - A heading (with its intro) is kept with the first piece of what follows: the first
//!   row of cards, the whole chart, the table header with its first rows, the first lines
//!   of text. If they do not fit together, the heading moves to the next page.
//! - Charts, rows of cards, short tables (under a third of a page) and single table rows
//!   move to the next page whole when they do not fit; longer tables split between rows
//!   with the header row repeated (and at least three rows on either side of a break);
//!   paragraphs and list items split between lines (at least two lines on either side).
//! - Every page but the cover gets a header (report title, period) and a footer (as-of
//!   date, run id, "Page X / Y"), added once the page count is known.

use std::collections::BTreeMap;

use super::paint::{Shape, Style, TextShape};
use super::svg::Drawing;
use super::text::{self, Font, wrap};
use super::{BoxKind, LayoutBox};
use crate::report::fonts::Fonts;
use crate::report::model::{Align, Cell, KpiCard, PageSize, Report, Rgb, Section, SectionBody, Table, Theme, Tone};

/// Points per millimetre.
pub(super) const MM: f32 = 72.0 / 25.4;

const MARGIN_X: f32 = 18.0 * MM;
const CONTENT_TOP: f32 = 22.0 * MM;
const CONTENT_BOTTOM_GAP: f32 = 20.0 * MM;
const HEADER_BASELINE: f32 = 12.0 * MM;
const HEADER_RULE: f32 = 14.5 * MM;
const FOOTER_RULE: f32 = 14.5 * MM;
const FOOTER_BASELINE: f32 = 10.0 * MM;

const BODY: f32 = 9.5;
const BODY_LINE: f32 = 13.5;
const SMALL: f32 = 7.5;
const SMALL_LINE: f32 = 10.0;
const HEADING: f32 = 14.0;
const HEADING_LINE: f32 = 18.0;
const SECTION_GAP: f32 = 22.0;
const TABLE_FONT: f32 = 8.5;
const TABLE_HEAD_FONT: f32 = 8.0;
const TABLE_LINE: f32 = 11.0;
const CELL_PAD_X: f32 = 5.0;
const CELL_PAD_Y: f32 = 3.5;
const CARD_GAP: f32 = 4.0 * MM;
const CARD_PAD: f32 = 8.0;
const CARD_BAR: f32 = 3.0;
const SPARKLINE_HEIGHT: f32 = 22.0;
/// How far a chart may shrink to fit the rest of a page (it is centred when narrower).
const CHART_MIN_SCALE: f32 = 0.85;

const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);
const RULE: Rgb = Rgb(0xd1, 0xd5, 0xdb);
const BORDER: Rgb = Rgb(0xe5, 0xe7, 0xeb);
const ZEBRA: Rgb = Rgb(0xf4, 0xf6, 0xf8);

/// The parsed SVG drawings of a report, prepared before layout so their text can be
/// checked for missing glyphs first.
#[derive(Default)]
pub(super) struct Drawings {
    /// By section index.
    pub charts: BTreeMap<usize, Drawing>,
    /// By (section index, card index).
    pub sparklines: BTreeMap<(usize, usize), Drawing>,
    pub logo: Option<Drawing>,
}

/// One laid-out page.
pub(super) struct Page {
    pub shapes: Vec<Shape>,
    /// What went where, in millimetres, for the layout model.
    pub boxes: Vec<LayoutBox>,
    pub cover: bool,
}

/// The laid-out document.
pub(super) struct Laid {
    pub pages: Vec<Page>,
    /// Section titles with their (0-based) page, in document order.
    pub bookmarks: Vec<(String, usize)>,
}

/// Lays out `report`.
pub(super) fn lay_out(report: &Report, fonts: &Fonts, drawings: &Drawings) -> Laid {
    let (w_mm, h_mm) = report.page_size.mm();
    let (width, height) = (w_mm * MM, h_mm * MM);
    let mut flow = Flow {
        fonts,
        theme: &report.theme,
        page_w: width,
        left: MARGIN_X,
        width: width - 2.0 * MARGIN_X,
        top: CONTENT_TOP,
        bottom: height - CONTENT_BOTTOM_GAP,
        pages: Vec::new(),
        y: CONTENT_TOP,
        fresh: true,
        bookmarks: Vec::new(),
        section_pages: BTreeMap::new(),
    };
    let mut covers = Vec::new();
    for (index, section) in report.sections.iter().enumerate() {
        if let SectionBody::Cover { .. } = section.body {
            flow.pages.push(Page { shapes: Vec::new(), boxes: Vec::new(), cover: true });
            let title = if section.title.is_empty() { &report.title } else { &section.title };
            flow.bookmarks.push((title.clone(), flow.pages.len() - 1));
            covers.push((flow.pages.len() - 1, index));
            flow.fresh = false;
            flow.y = flow.bottom; // the next section starts a new page
            continue;
        }
        flow.section(index, section, drawings);
    }
    if flow.pages.is_empty() {
        flow.new_page();
    }
    let total = flow.pages.len();
    let contents: Vec<(String, usize)> =
        flow.section_pages.iter().map(|(&section, &on)| (report.sections[section].title.clone(), on + 1)).collect();
    for &(page, index) in &covers {
        flow.cover(page, &report.sections[index], report, drawings.logo.as_ref(), &contents, height);
    }
    for number in 0..total {
        if !flow.pages[number].cover {
            flow.chrome(number, total, report, height);
        }
    }
    Laid { pages: flow.pages, bookmarks: flow.bookmarks }
}

/// The flow: pages so far and the cursor on the last one.
struct Flow<'a> {
    fonts: &'a Fonts,
    theme: &'a Theme,
    page_w: f32,
    left: f32,
    width: f32,
    top: f32,
    bottom: f32,
    pages: Vec<Page>,
    y: f32,
    /// Nothing has been placed on the current page yet.
    fresh: bool,
    bookmarks: Vec<(String, usize)>,
    /// The page each section's heading is on, by section index.
    section_pages: BTreeMap<usize, usize>,
}

/// A block of wrapped text lines.
struct Lines {
    lines: Vec<String>,
    font: Font,
    line: f32,
}

impl Lines {
    fn height(&self) -> f32 {
        self.lines.len() as f32 * self.line
    }
}

/// Lines `from..to` of table row `row`: what of a row goes on one page.
#[derive(Debug, Clone, Copy)]
struct Piece {
    row: usize,
    from: usize,
    to: usize,
}

/// One table row: the wrapped lines of each cell.
struct Row<'a> {
    cells: Vec<Vec<String>>,
    tones: Vec<Option<Tone>>,
    height: f32,
    /// Which source row this is (for zebra striping and the layout model).
    index: usize,
    source: Option<&'a [Cell]>,
}

impl<'a> Flow<'a> {
    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Page { shapes: Vec::new(), boxes: Vec::new(), cover: false });
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Page { shapes: Vec::new(), boxes: Vec::new(), cover: false });
        self.y = self.top;
        self.fresh = true;
    }

    fn remaining(&self) -> f32 {
        if self.pages.is_empty() { self.bottom - self.top } else { self.bottom - self.y }
    }

    fn body_height(&self) -> f32 {
        self.bottom - self.top
    }

    /// Makes room for `height`: a new page unless it fits (or the page is still empty).
    fn room_for(&mut self, height: f32) {
        if self.pages.is_empty() || (!self.fresh && height > self.remaining() + 0.01) {
            self.new_page();
        }
    }

    fn shape(&mut self, shape: Shape) {
        self.page().shapes.push(shape);
    }

    fn text(&mut self, x: f32, baseline: f32, font: Font, colour: Rgb, text: &str) {
        if !text.is_empty() {
            self.shape(Shape::Text(TextShape {
                x,
                y: baseline,
                size: font.size,
                bold: font.bold,
                colour,
                text: text.to_string(),
            }));
        }
    }

    fn record(&mut self, kind: BoxKind, x: f32, y: f32, w: f32, h: f32, text: Option<String>) {
        self.page().boxes.push(LayoutBox::from_points(kind, x, y, w, h, text));
        self.fresh = false;
    }

    fn wrap(&self, text: &str, font: Font, width: f32, line: f32) -> Lines {
        Lines { lines: wrap(self.fonts, text, font, width), font, line }
    }

    /// Draws `lines` from `top`, left-aligned at `x`.
    fn draw_lines(&mut self, lines: &[String], font: Font, line: f32, x: f32, top: f32, colour: Rgb) {
        for (i, l) in lines.iter().enumerate() {
            self.text(x, baseline(top + i as f32 * line, line, font.size), font, colour, l);
        }
    }

    // -- sections ------------------------------------------------------------------------

    fn section(&mut self, index: usize, section: &Section, drawings: &Drawings) {
        let heading = (!section.title.is_empty())
            .then(|| self.wrap(&section.title, Font::bold(HEADING), self.width, HEADING_LINE));
        let intro = section
            .intro
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| self.wrap(s, Font::regular(BODY), self.width, BODY_LINE));
        let head_height =
            heading.as_ref().map_or(0.0, |h| h.height() + 10.0) + intro.as_ref().map_or(0.0, |i| i.height() + 8.0);
        let table = match &section.body {
            SectionBody::Table { table } => Some((table, self.table_rows(table))),
            _ => None,
        };
        let first = match &table {
            Some((table, rows)) => self.table_first_piece(table, rows),
            None => self.first_piece(index, section, drawings),
        };

        let gap = if self.fresh { 0.0 } else { SECTION_GAP };
        if self.pages.is_empty() || gap + head_height + first > self.remaining() + 0.01 && !self.fresh {
            self.new_page();
        } else {
            self.y += gap;
        }
        if let Some(h) = heading {
            self.bookmarks.push((section.title.clone(), self.pages.len() - 1));
            self.section_pages.insert(index, self.pages.len() - 1);
            let (x, y) = (self.left, self.y);
            self.draw_lines(&h.lines, h.font, h.line, x, y, self.theme.primary);
            let rule_y = y + h.height() + 3.0;
            self.shape(Shape::Rect { x, y: rule_y, w: self.width, h: 0.6, style: Style::fill(BORDER) });
            self.shape(Shape::Rect { x, y: rule_y - 0.6, w: 28.0, h: 1.8, style: Style::fill(self.theme.accent) });
            self.record(BoxKind::Heading, x, y, self.width, h.height(), Some(section.title.clone()));
            self.y += h.height() + 10.0;
        }
        if let Some(i) = intro {
            let (x, y) = (self.left, self.y);
            self.draw_lines(&i.lines, i.font, i.line, x, y, self.theme.muted);
            self.record(BoxKind::Intro, x, y, self.width, i.height(), section.intro.clone());
            self.y += i.height() + 8.0;
        }
        match &section.body {
            SectionBody::Cover { .. } => {}
            SectionBody::Scorecard { cards } => self.scorecard(index, cards, drawings),
            SectionBody::Chart { chart } => {
                if let Some(d) = drawings.charts.get(&index) {
                    let title = (chart.title != section.title).then_some(chart.title.as_str());
                    self.chart(d, title, chart.caption.as_deref());
                }
            }
            SectionBody::Table { .. } => {
                if let Some((table, rows)) = &table {
                    self.table(table, rows);
                }
            }
            SectionBody::Findings { items } => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.y += 4.0;
                    }
                    self.paragraph(item, true);
                }
            }
            SectionBody::Text { paragraphs } => {
                for (i, p) in paragraphs.iter().enumerate() {
                    if i > 0 {
                        self.y += 6.0;
                    }
                    self.paragraph(p, false);
                }
            }
        }
    }

    /// The height of the first piece of a section's body, which its heading keeps with.
    fn first_piece(&self, index: usize, section: &Section, drawings: &Drawings) -> f32 {
        match &section.body {
            SectionBody::Cover { .. } => 0.0,
            SectionBody::Scorecard { cards } => {
                let cols = self.card_columns();
                cards.chunks(cols).next().map_or(0.0, |row| self.card_row_height(index, row, drawings))
            }
            SectionBody::Chart { chart } => drawings.charts.get(&index).map_or(0.0, |d| {
                self.chart_geometry(
                    d,
                    (chart.title != section.title).then_some(chart.title.as_str()),
                    chart.caption.as_deref(),
                    None,
                )
                .least
            }),
            SectionBody::Table { table } => self.table_first_piece(table, &self.table_rows(table)),
            SectionBody::Findings { items } => items.first().map_or(0.0, |i| {
                let lines = self.wrap(i, Font::regular(BODY), self.width - 14.0, BODY_LINE);
                lines.lines.len().min(2) as f32 * BODY_LINE
            }),
            SectionBody::Text { paragraphs } => paragraphs.first().map_or(0.0, |p| {
                let lines = self.wrap(p, Font::regular(BODY), self.width, BODY_LINE);
                lines.lines.len().min(2) as f32 * BODY_LINE
            }),
        }
    }

    /// A paragraph (or a bulleted list item) that may split between lines.
    fn paragraph(&mut self, text: &str, bullet: bool) {
        let indent = if bullet { 14.0 } else { 0.0 };
        let lines = self.wrap(text, Font::regular(BODY), self.width - indent, BODY_LINE).lines;
        let kind = if bullet { BoxKind::Bullet } else { BoxKind::Paragraph };
        let mut i = 0;
        while i < lines.len() {
            if self.pages.is_empty() {
                self.new_page();
            }
            let left = lines.len() - i;
            let fit = ((self.remaining() + 0.01) / BODY_LINE).floor().max(0.0) as usize;
            let take = if fit >= left {
                left
            } else if fit < 2 {
                // Fewer than two lines of room: start on the next page (unless it is empty).
                if self.fresh { fit.max(1) } else { 0 }
            } else if left - fit < 2 {
                // Keep two lines for the next page.
                (left - 2).max(2).min(fit)
            } else {
                fit
            };
            if take == 0 {
                self.new_page();
                continue;
            }
            let (x, y) = (self.left, self.y);
            if bullet && i == 0 {
                let r = 1.9;
                self.shape(Shape::Circle {
                    cx: x + 4.0,
                    cy: y + BODY_LINE / 2.0 - 0.2,
                    r,
                    style: Style::fill(self.theme.primary),
                });
            }
            let chunk = &lines[i..i + take];
            self.draw_lines(chunk, Font::regular(BODY), BODY_LINE, x + indent, y, self.theme.text);
            self.record(kind, x, y, self.width, take as f32 * BODY_LINE, Some(text::join_lines(chunk)));
            self.y += take as f32 * BODY_LINE;
            i += take;
            if i < lines.len() {
                self.new_page();
            }
        }
    }

    // -- scorecard -----------------------------------------------------------------------

    fn card_columns(&self) -> usize {
        card_columns(self.width)
    }

    fn card_width(&self) -> f32 {
        card_width(self.width)
    }

    fn card_row_height(&self, section: usize, row: &[KpiCard], drawings: &Drawings) -> f32 {
        let w = self.card_width();
        row.iter()
            .enumerate()
            .map(|(i, c)| self.card_content(c, w, drawings.sparklines.contains_key(&(section, i))).height)
            .fold(0.0, f32::max)
    }

    fn scorecard(&mut self, section: usize, cards: &[KpiCard], drawings: &Drawings) {
        let cols = self.card_columns();
        let w = self.card_width();
        for (r, row) in cards.chunks(cols).enumerate() {
            let contents: Vec<CardContent> = row
                .iter()
                .enumerate()
                .map(|(i, c)| self.card_content(c, w, drawings.sparklines.contains_key(&(section, r * cols + i))))
                .collect();
            let h = contents.iter().map(|c| c.height).fold(0.0, f32::max);
            if r > 0 {
                self.y += CARD_GAP;
            }
            if h > self.remaining() + 0.01 && !self.fresh {
                self.new_page();
            }
            self.room_for(h);
            let y = self.y;
            for (i, (card, content)) in row.iter().zip(contents).enumerate() {
                let x = self.left + i as f32 * (w + CARD_GAP);
                let spark = drawings.sparklines.get(&(section, r * cols + i));
                self.card(card, content, spark, x, y, w, h);
            }
            self.y += h;
        }
    }

    fn card_content(&self, card: &KpiCard, w: f32, has_sparkline: bool) -> CardContent {
        let inner = w - CARD_BAR - 2.0 * CARD_PAD;
        let label = self.wrap(&card.label, Font::bold(9.0), inner, 11.5);
        let natural = Font::bold(18.0).width(self.fonts, &card.value);
        let value_size = if natural > inner { (18.0 * inner / natural).max(10.0) } else { 18.0 };
        let value = self.wrap(&card.value, Font::bold(value_size), inner, value_size * 1.2);
        let target = card.target.as_deref().map(|t| self.wrap(t, Font::regular(SMALL), inner, SMALL_LINE));
        let good = |g: Option<bool>| match g {
            Some(true) => self.theme.on_track,
            Some(false) => self.theme.off_track,
            None => self.theme.muted,
        };
        // Both changes are coloured by whether they are good news for this KPI.
        let mut parts: Vec<(String, Rgb, bool)> = Vec::new();
        if let Some(p) = &card.change_previous {
            parts.push((p.clone(), good(card.change_good), card.change_good.is_some()));
        }
        if let Some(y) = &card.change_year_ago {
            parts.push((y.clone(), good(card.change_year_ago_good), card.change_year_ago_good.is_some()));
        }
        let gap = 10.0;
        let one_line: f32 =
            parts.iter().map(|(t, _, b)| Font { size: SMALL, bold: *b }.width(self.fonts, t)).sum::<f32>()
                + gap * (parts.len().saturating_sub(1)) as f32;
        let changes: Vec<Vec<(String, Rgb, bool, f32)>> = if one_line <= inner {
            let mut x = 0.0;
            vec![
                parts
                    .into_iter()
                    .map(|(t, c, b)| {
                        let at = x;
                        x += Font { size: SMALL, bold: b }.width(self.fonts, &t) + gap;
                        (t, c, b, at)
                    })
                    .collect(),
            ]
        } else {
            parts
                .into_iter()
                .flat_map(|(t, c, b)| {
                    wrap(self.fonts, &t, Font { size: SMALL, bold: b }, inner)
                        .into_iter()
                        .map(move |l| vec![(l, c, b, 0.0)])
                })
                .collect()
        };
        let height = CARD_PAD
            + 10.0
            + 5.0
            + label.height()
            + 4.0
            + value.height()
            + 2.0
            + target.as_ref().map_or(0.0, Lines::height)
            + changes.len() as f32 * SMALL_LINE
            + if has_sparkline { 6.0 + SPARKLINE_HEIGHT } else { 0.0 }
            + CARD_PAD;
        CardContent { label, value, target, changes, height }
    }

    #[allow(clippy::too_many_arguments)]
    fn card(&mut self, card: &KpiCard, c: CardContent, spark: Option<&Drawing>, x: f32, y: f32, w: f32, h: f32) {
        let tone = tone_colour(self.theme, card.tone);
        self.shape(Shape::Rect { x, y, w, h, style: Style::fill_and_stroke(WHITE, BORDER, 0.6) });
        self.shape(Shape::Rect { x, y, w: CARD_BAR, h, style: Style::fill(tone) });
        let ix = x + CARD_BAR + CARD_PAD;
        let inner = w - CARD_BAR - 2.0 * CARD_PAD;
        let mut cy = y + CARD_PAD;
        // Status: a dot and the label in the status colour.
        self.shape(Shape::Circle { cx: ix + 2.5, cy: cy + 5.0, r: 2.5, style: Style::fill(tone) });
        self.text(ix + 8.0, cy + 7.6, Font::bold(SMALL), tone, &card.status_label);
        cy += 10.0 + 5.0;
        self.draw_lines(&c.label.lines, c.label.font, c.label.line, ix, cy, self.theme.text);
        cy += c.label.height() + 4.0;
        self.draw_lines(&c.value.lines, c.value.font, c.value.line, ix, cy, self.theme.text);
        cy += c.value.height() + 2.0;
        if let Some(t) = &c.target {
            self.draw_lines(&t.lines, t.font, t.line, ix, cy, self.theme.muted);
            cy += t.height();
        }
        for line in &c.changes {
            for (text, colour, bold, dx) in line {
                self.text(ix + dx, baseline(cy, SMALL_LINE, SMALL), Font { size: SMALL, bold: *bold }, *colour, text);
            }
            cy += SMALL_LINE;
        }
        if let Some(d) = spark {
            // The sparkline sits at the bottom of the card, level across the row.
            let top = y + h - CARD_PAD - SPARKLINE_HEIGHT;
            let scale = (inner / d.width).min(SPARKLINE_HEIGHT / d.height);
            for s in &d.shapes {
                self.shape(s.placed(ix, top, scale));
            }
        }
        let summary = [
            Some(card.label.as_str()),
            Some(card.value.as_str()),
            Some(card.status_label.as_str()),
            card.target.as_deref(),
            card.change_previous.as_deref(),
            card.change_year_ago.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" | ");
        self.record(BoxKind::Card, x, y, w, h, Some(summary));
    }

    // -- charts --------------------------------------------------------------------------

    /// The chart's title, caption and scale: the content width, or less for a chart taller
    /// than a page. With `room`, a chart that would not fit may shrink to as little as
    /// [`CHART_MIN_SCALE`] of that, rather than leave the rest of the page empty.
    fn chart_geometry(
        &self,
        d: &Drawing,
        title: Option<&str>,
        caption: Option<&str>,
        room: Option<f32>,
    ) -> ChartGeometry {
        let title = title.filter(|t| !t.is_empty()).map(|t| self.wrap(t, Font::bold(10.0), self.width, 13.0));
        let caption =
            caption.filter(|c| !c.is_empty()).map(|c| self.wrap(c, Font::regular(SMALL), self.width, SMALL_LINE));
        let title_h = title.as_ref().map_or(0.0, |t| t.height() + 4.0);
        let caption_h = caption.as_ref().map_or(0.0, |c| c.height() + 5.0);
        let mut scale = self.width / d.width;
        let max_h = self.body_height() - title_h - caption_h - 1.0;
        if d.height * scale > max_h {
            scale = max_h / d.height;
        }
        if let Some(room) = room {
            let fits = (room - title_h - caption_h) / d.height;
            if fits < scale && fits >= scale * CHART_MIN_SCALE {
                scale = fits;
            }
        }
        let total = title_h + d.height * scale + caption_h;
        let least = title_h + d.height * scale * CHART_MIN_SCALE + caption_h;
        ChartGeometry { title, caption, scale, total, least }
    }

    fn chart(&mut self, d: &Drawing, title: Option<&str>, caption: Option<&str>) {
        let room = (!self.fresh).then(|| self.remaining());
        let mut g = self.chart_geometry(d, title, caption, room);
        if g.total > self.remaining() + 0.01 && !self.fresh {
            self.new_page();
            g = self.chart_geometry(d, title, caption, None);
        }
        if let Some(t) = &g.title {
            let (x, y) = (self.left, self.y);
            self.draw_lines(&t.lines, t.font, t.line, x, y, self.theme.text);
            self.record(BoxKind::ChartTitle, x, y, self.width, t.height(), Some(text::join_lines(&t.lines)));
            self.y += t.height() + 4.0;
        }
        let (w, h) = (d.width * g.scale, d.height * g.scale);
        let x = self.left + (self.width - w) / 2.0;
        let y = self.y;
        for s in &d.shapes {
            self.shape(s.placed(x, y, g.scale));
        }
        self.record(BoxKind::Chart, x, y, w, h, title.map(str::to_string));
        self.y += h;
        if let Some(c) = &g.caption {
            self.y += 5.0;
            let (x, y) = (self.left, self.y);
            self.draw_lines(&c.lines, c.font, c.line, x, y, self.theme.muted);
            self.record(BoxKind::Caption, x, y, self.width, c.height(), Some(text::join_lines(&c.lines)));
            self.y += c.height();
        }
    }

    // -- tables --------------------------------------------------------------------------

    fn empty_table_height(&self, table: &Table) -> f32 {
        self.wrap(&table.empty_text, Font::regular(BODY), self.width - 20.0, BODY_LINE).height() + 16.0
    }

    /// Column widths ([`column_widths`]) and the wrapped rows.
    fn table_rows<'t>(&self, table: &'t Table) -> TableRows<'t> {
        let n = table.columns.len().max(1);
        let body = Font::regular(TABLE_FONT);
        let head = Font::bold(TABLE_HEAD_FONT);
        let mut natural = vec![0.0f32; n];
        let mut minimum = vec![0.0f32; n];
        for (i, c) in table.columns.iter().enumerate() {
            natural[i] = natural[i].max(head.width(self.fonts, &c.label));
            minimum[i] = minimum[i].max(text::widest_unit(self.fonts, &c.label, head));
        }
        for row in &table.rows {
            for (i, cell) in row.iter().enumerate().take(n) {
                let font = if cell.tone.is_some() { Font::bold(TABLE_FONT) } else { body };
                natural[i] = natural[i].max(font.width(self.fonts, &cell.text));
                minimum[i] = minimum[i].max(text::widest_unit(self.fonts, &cell.text, font));
            }
        }
        let pad = 2.0 * CELL_PAD_X;
        let natural: Vec<f32> = natural.iter().map(|w| w + pad + 0.5).collect();
        let minimum: Vec<f32> = minimum.iter().zip(&natural).map(|(m, n)| (m + pad + 0.5).min(*n)).collect();
        let aligns: Vec<Align> = table.columns.iter().map(|c| c.align).collect();
        let status: Vec<bool> =
            (0..n).map(|i| table.rows.iter().any(|r| r.get(i).is_some_and(|c| c.tone.is_some()))).collect();
        let widths = column_widths(&natural, &minimum, &aligns, &status, self.width);
        let cell_lines = |text: &str, font: Font, w: f32| wrap(self.fonts, text, font, w - pad);
        let header_cells: Vec<Vec<String>> =
            table.columns.iter().zip(&widths).map(|(c, &w)| cell_lines(&c.label, head, w)).collect();
        let lines = header_cells.iter().map(Vec::len).max().unwrap_or(1);
        let header = Row {
            height: lines as f32 * TABLE_LINE + 2.0 * CELL_PAD_Y,
            cells: header_cells,
            tones: vec![None; n],
            index: 0,
            source: None,
        };
        let mut rows = Vec::new();
        for (index, row) in table.rows.iter().enumerate() {
            let cells: Vec<Vec<String>> = (0..n)
                .map(|i| {
                    let cell = row.get(i);
                    let font = if cell.is_some_and(|c| c.tone.is_some()) { Font::bold(TABLE_FONT) } else { body };
                    cell_lines(cell.map_or("", |c| c.text.as_str()), font, widths[i])
                })
                .collect();
            let tones: Vec<Option<Tone>> = (0..n).map(|i| row.get(i).and_then(|c| c.tone)).collect();
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            rows.push(Row { cells, tones, height: row_height(lines), index, source: Some(row) });
        }
        TableRows { widths, aligns, header, rows }
    }

    /// What a table's heading keeps with: all of a short table (a third of a page at
    /// most, which never splits), else the header and three rows.
    fn table_first_piece(&self, table: &Table, t: &TableRows) -> f32 {
        if t.rows.is_empty() {
            return self.empty_table_height(table);
        }
        let all: f32 = t.header.height + t.rows.iter().map(|r| r.height).sum::<f32>();
        if all <= self.body_height() / 3.0 {
            all
        } else {
            t.header.height + t.rows.iter().take(3).map(|r| r.height).sum::<f32>()
        }
    }

    fn table(&mut self, table: &Table, t: &TableRows) {
        if t.rows.is_empty() {
            let h = self.empty_table_height(table);
            self.room_for(h);
            let (x, y) = (self.left, self.y);
            self.shape(Shape::Rect { x, y, w: self.width, h, style: Style::fill_and_stroke(ZEBRA, BORDER, 0.6) });
            let lines = self.wrap(&table.empty_text, Font::regular(BODY), self.width - 20.0, BODY_LINE);
            self.draw_lines(&lines.lines, lines.font, lines.line, x + 10.0, y + 8.0, self.theme.muted);
            self.record(BoxKind::TableEmpty, x, y, self.width, h, Some(table.empty_text.clone()));
            self.y += h;
            return;
        }
        self.room_for(self.table_first_piece(table, t));
        let pages = self.plan_table(t);
        for (k, pieces) in pages.iter().enumerate() {
            if k > 0 {
                self.new_page();
            }
            self.table_header(t);
            for piece in pieces {
                self.table_row(t, &t.rows[piece.row], piece.from..piece.to);
            }
            let bottom = self.y;
            self.shape(Shape::Rect { x: self.left, y: bottom - 0.35, w: self.width, h: 0.7, style: Style::fill(RULE) });
        }
        if let Some(note) = table.note.as_deref().filter(|n| !n.is_empty()) {
            let lines = self.wrap(note, Font::regular(SMALL), self.width, SMALL_LINE);
            self.room_for(lines.height() + 5.0);
            self.y += 5.0;
            let (x, y) = (self.left, self.y);
            self.draw_lines(&lines.lines, lines.font, lines.line, x, y, self.theme.muted);
            self.record(BoxKind::TableNote, x, y, self.width, lines.height(), Some(note.to_string()));
            self.y += lines.height();
        }
    }

    /// Which rows (or parts of rows) go on which page: as many as fit under the header.
    /// A row of more than four lines may split between lines (two at least on either
    /// side), as must a row taller than a page; other rows move whole. The last page gets
    /// at least three rows when the page before can spare them.
    fn plan_table(&self, t: &TableRows) -> Vec<Vec<Piece>> {
        let page_room = self.body_height() - t.header.height;
        let mut room = self.remaining() - t.header.height;
        let mut pages: Vec<Vec<Piece>> = vec![Vec::new()];
        let mut queue: std::collections::VecDeque<Piece> =
            t.rows.iter().enumerate().map(|(row, r)| Piece { row, from: 0, to: r.lines() }).collect();
        while let Some(p) = queue.pop_front() {
            let height = row_height(p.to - p.from);
            let page = pages.len() - 1;
            if height <= room + 0.01 {
                pages[page].push(p);
                room -= height;
                continue;
            }
            let lines = p.to - p.from;
            let fit = ((room - 2.0 * CELL_PAD_Y + 0.01) / TABLE_LINE).floor().max(0.0) as usize;
            let split = if lines > 4 && fit >= 2 && lines - fit >= 2 {
                Some(fit)
            } else if pages[page].is_empty() {
                Some(fit.max(1)) // taller than a whole page
            } else {
                None
            };
            match split {
                Some(at) => {
                    pages[page].push(Piece { to: p.from + at, ..p });
                    queue.push_front(Piece { from: p.from + at, ..p });
                }
                None => queue.push_front(p),
            }
            pages.push(Vec::new());
            room = page_room;
        }
        pages.retain(|p| !p.is_empty());
        if pages.len() >= 2 {
            let last = pages.len() - 1;
            loop {
                let used: f32 = pages[last].iter().map(|p| row_height(p.to - p.from)).sum();
                let Some(&candidate) = pages[last - 1].last() else { break };
                let whole = candidate.from == 0 && candidate.to == t.rows[candidate.row].lines();
                let continues = pages[last].first().is_some_and(|p| p.row == candidate.row);
                if pages[last].len() >= 3
                    || pages[last - 1].len() <= 3
                    || !whole
                    || continues
                    || used + row_height(candidate.to) > page_room
                {
                    break;
                }
                pages[last - 1].pop();
                pages[last].insert(0, candidate);
            }
        }
        pages
    }

    fn table_header(&mut self, t: &TableRows) {
        let (x0, y) = (self.left, self.y);
        let h = t.header.height;
        self.shape(Shape::Rect { x: x0, y, w: self.width, h, style: Style::fill(self.theme.primary) });
        let font = Font::bold(TABLE_HEAD_FONT);
        let mut x = x0;
        for (i, (lines, &w)) in t.header.cells.iter().zip(&t.widths).enumerate() {
            self.cell_lines(x, y, w, t.aligns.get(i).copied().unwrap_or(Align::Left), lines.iter(), font, WHITE);
            x += w;
        }
        let text = t.header.cells.iter().map(|c| text::join_lines(c)).collect::<Vec<_>>().join(" | ");
        self.record(BoxKind::TableHeader, x0, y, self.width, h, Some(text));
        self.y += h;
    }

    /// Draws the lines of one table cell, a line per `TABLE_LINE`, aligned in its column.
    #[allow(clippy::too_many_arguments)]
    fn cell_lines<'s>(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        align: Align,
        lines: impl Iterator<Item = &'s String>,
        font: Font,
        colour: Rgb,
    ) {
        for (k, line) in lines.enumerate() {
            let lx = aligned_x(self.fonts, x, w, align, line, font);
            self.text(lx, baseline(y + CELL_PAD_Y + k as f32 * TABLE_LINE, TABLE_LINE, font.size), font, colour, line);
        }
    }

    fn table_row(&mut self, t: &TableRows, row: &Row, lines: std::ops::Range<usize>) {
        let (x0, y) = (self.left, self.y);
        let height = row_height(lines.len());
        if row.index % 2 == 1 {
            self.shape(Shape::Rect { x: x0, y, w: self.width, h: height, style: Style::fill(ZEBRA) });
        }
        let mut x = x0;
        for (i, (cell, &w)) in row.cells.iter().zip(&t.widths).enumerate() {
            let tone = row.tones.get(i).copied().flatten();
            let (font, colour) = match tone {
                Some(tone) => (Font::bold(TABLE_FONT), tone_colour(self.theme, tone)),
                None => (Font::regular(TABLE_FONT), self.theme.text),
            };
            let align = t.aligns.get(i).copied().unwrap_or(Align::Left);
            self.cell_lines(x, y, w, align, cell.iter().skip(lines.start).take(lines.len()), font, colour);
            x += w;
        }
        let text = match row.source {
            Some(cells) => cells.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" | "),
            None => String::new(),
        };
        self.record(BoxKind::TableRow, x0, y, self.width, height, Some(format!("#{} {text}", row.index + 1)));
        self.y += height;
    }

    // -- cover and chrome ----------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn cover(
        &mut self,
        page: usize,
        section: &Section,
        report: &Report,
        logo: Option<&Drawing>,
        contents: &[(String, usize)],
        page_h: f32,
    ) {
        let SectionBody::Cover { title, subtitle, facts } = &section.body else { return };
        let theme = self.theme;
        let (left, width) = (self.left, self.width);
        let mut out = Page { shapes: Vec::new(), boxes: Vec::new(), cover: true };
        let text = |out: &mut Page, x: f32, y: f32, font: Font, colour: Rgb, t: &str| {
            if !t.is_empty() {
                out.shapes.push(Shape::Text(TextShape {
                    x,
                    y,
                    size: font.size,
                    bold: font.bold,
                    colour,
                    text: t.to_string(),
                }));
            }
        };
        let fonts = self.fonts;

        // The band: logo, title, subtitle (and the period if the subtitle is not it).
        let mut y = 24.0 * MM;
        let mut band_shapes = Vec::new();
        if let Some(d) = logo {
            let scale = (16.0 * MM / d.height).min(60.0 * MM / d.width);
            for s in &d.shapes {
                band_shapes.push(s.placed(left, y, scale));
            }
            out.boxes.push(LayoutBox::from_points(BoxKind::Logo, left, y, d.width * scale, d.height * scale, None));
            y += d.height * scale + 14.0 * MM;
        } else {
            y = 52.0 * MM;
        }
        let title_lines = wrap(fonts, title, Font::bold(30.0), width);
        let title_top = y;
        for (i, l) in title_lines.iter().enumerate() {
            text(&mut out, left, baseline(y + i as f32 * 36.0, 36.0, 30.0), Font::bold(30.0), WHITE, l);
        }
        let title_h = title_lines.len() as f32 * 36.0;
        out.boxes.push(LayoutBox::from_points(
            BoxKind::CoverTitle,
            left,
            title_top,
            width,
            title_h,
            Some(title.clone()),
        ));
        y += title_h + 8.0;
        let mut subtitles = vec![subtitle.clone()];
        if !subtitle.contains(&report.period_label) {
            subtitles.push(report.period_label.clone());
        }
        let light = mix(theme.primary, WHITE, 0.82);
        for s in subtitles.iter().filter(|s| !s.is_empty()) {
            let lines = wrap(fonts, s, Font::regular(16.0), width);
            for (i, l) in lines.iter().enumerate() {
                text(&mut out, left, baseline(y + i as f32 * 21.0, 21.0, 16.0), Font::regular(16.0), light, l);
            }
            out.boxes.push(LayoutBox::from_points(
                BoxKind::CoverSubtitle,
                left,
                y,
                width,
                lines.len() as f32 * 21.0,
                Some(s.clone()),
            ));
            y += lines.len() as f32 * 21.0 + 4.0;
        }
        let band_h = (y + 16.0 * MM).max(110.0 * MM);
        let mut shapes = vec![
            Shape::Rect { x: 0.0, y: 0.0, w: self.page_w, h: band_h, style: Style::fill(theme.primary) },
            Shape::Rect { x: 0.0, y: band_h, w: self.page_w, h: 1.6 * MM, style: Style::fill(theme.accent) },
        ];
        shapes.extend(band_shapes);
        shapes.append(&mut out.shapes);
        out.shapes = shapes;
        out.boxes.insert(0, LayoutBox::from_points(BoxKind::CoverBand, 0.0, 0.0, self.page_w, band_h, None));

        // The facts, two per row: a small label over the value.
        let mut y = band_h + 16.0 * MM;
        let col_w = (width - 10.0 * MM) / 2.0;
        for row in facts.chunks(2) {
            let mut row_h: f32 = 0.0;
            for (i, (label, value)) in row.iter().enumerate() {
                let x = left + i as f32 * (col_w + 10.0 * MM);
                let label_lines = wrap(fonts, label, Font::regular(8.5), col_w);
                let value_lines = wrap(fonts, value, Font::bold(12.0), col_w);
                let mut fy = y;
                for l in &label_lines {
                    text(&mut out, x, baseline(fy, 11.0, 8.5), Font::regular(8.5), theme.muted, l);
                    fy += 11.0;
                }
                fy += 2.0;
                for l in &value_lines {
                    text(&mut out, x, baseline(fy, 15.0, 12.0), Font::bold(12.0), theme.text, l);
                    fy += 15.0;
                }
                out.boxes.push(LayoutBox::from_points(
                    BoxKind::CoverFact,
                    x,
                    y,
                    col_w,
                    fy - y,
                    Some(format!("{label}: {value}")),
                ));
                row_h = row_h.max(fy - y);
            }
            y += row_h + 12.0;
        }

        // Contents, with dotted leaders to the page numbers, if it fits on the cover.
        let entry_h = 17.0;
        let needed = 14.0 * MM + 22.0 + contents.len() as f32 * entry_h;
        if !contents.is_empty() && y + needed <= page_h - 18.0 * MM {
            y += 10.0 * MM;
            out.shapes.push(Shape::Rect { x: left, y, w: width, h: 0.6, style: Style::fill(BORDER) });
            y += 10.0;
            text(&mut out, left, baseline(y, 18.0, 12.0), Font::bold(12.0), theme.primary, &report.labels.contents);
            out.boxes.push(LayoutBox::from_points(
                BoxKind::ContentsTitle,
                left,
                y,
                width,
                18.0,
                Some(report.labels.contents.clone()),
            ));
            y += 22.0;
            for (title, number) in contents {
                let font = Font::regular(10.0);
                let number_text = number.to_string();
                let nw = font.width(fonts, &number_text);
                let lines = wrap(fonts, title, font, width - nw - 30.0);
                let first = lines.first().cloned().unwrap_or_default();
                let b = baseline(y, entry_h, 10.0);
                text(&mut out, left, b, font, theme.text, &first);
                let tw = font.width(fonts, &first);
                // Dots between the title and the number.
                let mut dx = left + tw + 6.0;
                while dx < left + width - nw - 6.0 {
                    out.shapes.push(Shape::Circle { cx: dx, cy: b - 1.2, r: 0.45, style: Style::fill(theme.muted) });
                    dx += 3.2;
                }
                text(&mut out, left + width - nw, b, font, theme.text, &number_text);
                out.boxes.push(LayoutBox::from_points(
                    BoxKind::ContentsEntry,
                    left,
                    y,
                    width,
                    entry_h,
                    Some(format!("{title} … {number}")),
                ));
                y += entry_h;
            }
        }
        self.pages[page] = out;
    }

    fn chrome(&mut self, number: usize, total: usize, report: &Report, page_h: f32) {
        let theme = self.theme;
        let fonts = self.fonts;
        let (left, width) = (self.left, self.width);
        let right = left + width;
        let mut shapes = Vec::new();
        let mut boxes = Vec::new();
        let text = |x: f32, y: f32, font: Font, colour: Rgb, t: &str| {
            Shape::Text(TextShape { x, y, size: font.size, bold: font.bold, colour, text: t.to_string() })
        };

        // Header: the title at the left, the period at the right, shrunk if they would meet.
        let (tw, pw) =
            (Font::bold(8.0).width(fonts, &report.title), Font::regular(8.0).width(fonts, &report.period_label));
        let shrink = ((width - 12.0) / (tw + pw)).min(1.0);
        shapes.push(text(left, HEADER_BASELINE, Font::bold(8.0 * shrink), theme.primary, &report.title));
        shapes.push(text(
            right - pw * shrink,
            HEADER_BASELINE,
            Font::regular(8.0 * shrink),
            theme.muted,
            &report.period_label,
        ));
        shapes.push(Shape::Rect { x: left, y: HEADER_RULE, w: width, h: 0.5, style: Style::fill(RULE) });
        boxes.push(LayoutBox::from_points(
            BoxKind::Header,
            left,
            HEADER_BASELINE - 8.0,
            width,
            HEADER_RULE - HEADER_BASELINE + 8.5,
            Some(format!("{} | {}", report.title, report.period_label)),
        ));

        // Footer: as-of date and run id at the left, "Page X / Y" at the right.
        let y = page_h - FOOTER_BASELINE;
        let rule = page_h - FOOTER_RULE;
        shapes.push(Shape::Rect { x: left, y: rule, w: width, h: 0.5, style: Style::fill(RULE) });
        let left_text =
            format!("{} {}   ·   {} {}", report.labels.as_of, report.as_of, report.labels.run, report.run_id);
        let page_text = format!("{} {} / {}", report.labels.page, number + 1, total);
        let small = Font::regular(7.5);
        let (lw, pw) = (small.width(fonts, &left_text), small.width(fonts, &page_text));
        let shrink = ((width - 12.0) / (lw + pw)).min(1.0);
        let small = Font::regular(7.5 * shrink);
        shapes.push(text(left, y, small, theme.muted, &left_text));
        shapes.push(text(right - pw * shrink, y, small, theme.muted, &page_text));
        boxes.push(LayoutBox::from_points(
            BoxKind::Footer,
            left,
            rule,
            width,
            y - rule + 3.0,
            Some(format!("{left_text} | {page_text}")),
        ));

        let page = &mut self.pages[number];
        page.shapes.extend(shapes);
        page.boxes.extend(boxes);
    }
}

struct CardContent {
    label: Lines,
    value: Lines,
    target: Option<Lines>,
    /// Lines of (text, colour, bold, x offset).
    changes: Vec<Vec<(String, Rgb, bool, f32)>>,
    height: f32,
}

struct ChartGeometry {
    title: Option<Lines>,
    caption: Option<Lines>,
    scale: f32,
    total: f32,
    /// The height when shrunk as far as allowed.
    least: f32,
}

impl Row<'_> {
    fn lines(&self) -> usize {
        self.cells.iter().map(Vec::len).max().unwrap_or(1).max(1)
    }
}

struct TableRows<'a> {
    widths: Vec<f32>,
    aligns: Vec<Align>,
    header: Row<'a>,
    rows: Vec<Row<'a>>,
}

/// Scorecard cards per row: three on A4 and Letter.
fn card_columns(content_width: f32) -> usize {
    if content_width >= 400.0 { 3 } else { 2 }
}

fn card_width(content_width: f32) -> f32 {
    let cols = card_columns(content_width) as f32;
    (content_width - (cols - 1.0) * CARD_GAP) / cols
}

/// The size sparklines are drawn at on `page_size` paper, in points.
pub(super) fn sparkline_size(page_size: PageSize) -> (f32, f32) {
    let content = page_size.mm().0 * MM - 2.0 * MARGIN_X;
    (card_width(content) - CARD_BAR - 2.0 * CARD_PAD, SPARKLINE_HEIGHT)
}

/// Column widths from each column's natural width (its widest cell on one line) and
/// minimum (its widest word). A table that fits fills the width by widening its widest
/// text column (not a status column, whose cells carry a tone). Otherwise columns narrower than an equal share of what is left keep their
/// natural width (short figures and statuses never wrap), and the wide columns share the
/// rest, each keeping at least its widest word.
fn column_widths(natural: &[f32], minimum: &[f32], aligns: &[Align], status: &[bool], width: f32) -> Vec<f32> {
    let total: f32 = natural.iter().sum();
    if total <= width {
        // Figures stay together; a table of figures only is stretched evenly.
        let mut widths = natural.to_vec();
        // The widest text column that is not a status column absorbs the spare width.
        let label = (0..widths.len())
            .filter(|&i| aligns.get(i) == Some(&Align::Left) && !status.get(i).copied().unwrap_or(false))
            .max_by(|&a, &b| natural[a].total_cmp(&natural[b]).then(b.cmp(&a)));
        match label {
            Some(label) => {
                // A little air between the other columns first (at most 10 pt each).
                let others = (widths.len() - 1).max(1) as f32;
                let air = (0.3 * (width - total) / others).min(10.0);
                for (i, w) in widths.iter_mut().enumerate() {
                    if i != label {
                        *w += air;
                    }
                }
                let used: f32 = widths.iter().sum();
                widths[label] += width - used;
            }
            None => widths.iter_mut().for_each(|w| *w += (width - total) * *w / total),
        }
        return widths;
    }
    let n = natural.len();
    let mut fixed = vec![false; n];
    loop {
        let free: f32 = width - (0..n).filter(|&i| fixed[i]).map(|i| natural[i]).sum::<f32>();
        let wide: Vec<usize> = (0..n).filter(|&i| !fixed[i]).collect();
        let share = free / wide.len().max(1) as f32;
        let newly: Vec<usize> = wide.iter().copied().filter(|&i| natural[i] <= share).collect();
        if newly.is_empty() || newly.len() == wide.len() {
            let min_total: f32 = wide.iter().map(|&i| minimum[i]).sum();
            if min_total > free {
                // Even the widest words do not fit: scale the minimums (words then break).
                let all: f32 = minimum.iter().sum();
                return minimum.iter().map(|m| m * width / all).collect();
            }
            let want: f32 = wide.iter().map(|&i| natural[i] - minimum[i]).sum::<f32>().max(0.001);
            return (0..n)
                .map(|i| {
                    if fixed[i] {
                        natural[i]
                    } else {
                        minimum[i] + (free - min_total) * (natural[i] - minimum[i]) / want
                    }
                })
                .collect();
        }
        for i in newly {
            fixed[i] = true;
        }
    }
}

/// The height of a table row of `lines` lines.
fn row_height(lines: usize) -> f32 {
    lines as f32 * TABLE_LINE + 2.0 * CELL_PAD_Y
}

/// The baseline of a line of `size` pt text set in a line box of height `line` from `top`:
/// the cap height (≈ 0.71 em in Noto Sans) is centred in the box.
fn baseline(top: f32, line: f32, size: f32) -> f32 {
    top + line / 2.0 + 0.355 * size
}

fn aligned_x(fonts: &Fonts, x: f32, w: f32, align: Align, line: &str, font: Font) -> f32 {
    match align {
        Align::Left => x + CELL_PAD_X,
        Align::Right => x + w - CELL_PAD_X - font.width(fonts, line),
    }
}

fn tone_colour(theme: &Theme, tone: Tone) -> Rgb {
    match tone {
        Tone::OnTrack => theme.on_track,
        Tone::AtRisk => theme.at_risk,
        Tone::OffTrack => theme.off_track,
        Tone::Neutral => theme.neutral,
    }
}

/// `a` moved towards `b` by `t` (0 to 1).
fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let m = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
    Rgb(m(a.0, b.0), m(a.1, b.1), m(a.2, b.2))
}
