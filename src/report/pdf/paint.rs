//! Painting: laid-out pages (shapes in points, origin top-left) become printpdf drawing
//! operations (origin bottom-left), with the faces subset and embedded, and the document
//! written deterministically: dates from the run, the document id from the run id, and
//! resource names chosen here rather than printpdf's generated ones.

use std::collections::{BTreeMap, BTreeSet};

use printpdf::{
    Color, ExtendedGraphicsState, ExtendedGraphicsStateId, FontId, Line, LineDashPattern, LineJoinStyle, LinePoint, Mm,
    Op, PageAnnotId, PageAnnotation, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Polygon,
    PolygonRing, Pt, Rect, TextItem, TextMatrix, TextRenderingMode, WindingOrder,
};

use super::PdfError;
use super::embed;
use super::layout::Laid;
use crate::report::fonts::{FontError, Fonts, is_ignorable, normalize_space};
use crate::report::model::{Report, Rgb};

/// How a shape is filled and stroked.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Style {
    pub fill: Option<Rgb>,
    pub fill_opacity: f32,
    pub stroke: Option<Rgb>,
    pub stroke_width: f32,
    pub dash: Vec<f32>,
}

impl Style {
    pub fn fill(colour: Rgb) -> Style {
        Style { fill: Some(colour), fill_opacity: 1.0, stroke: None, stroke_width: 0.0, dash: Vec::new() }
    }

    pub fn stroke(colour: Rgb, width: f32) -> Style {
        Style { fill: None, fill_opacity: 1.0, stroke: Some(colour), stroke_width: width, dash: Vec::new() }
    }

    pub fn fill_and_stroke(fill: Rgb, stroke: Rgb, width: f32) -> Style {
        Style { fill: Some(fill), ..Style::stroke(stroke, width) }
    }
}

/// A run of text on one baseline.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TextShape {
    pub x: f32,
    /// The baseline.
    pub y: f32,
    pub size: f32,
    pub bold: bool,
    pub colour: Rgb,
    pub text: String,
}

/// What can be painted, in points with the origin at the top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Shape {
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        style: Style,
    },
    /// A polyline (or polygon when `closed`); a fill always closes the area.
    Path {
        points: Vec<(f32, f32)>,
        closed: bool,
        style: Style,
    },
    Circle {
        cx: f32,
        cy: f32,
        r: f32,
        style: Style,
    },
    Text(TextShape),
}

impl Shape {
    /// The shape scaled by `scale` about the origin, then moved by (`dx`, `dy`).
    pub fn placed(&self, dx: f32, dy: f32, scale: f32) -> Shape {
        let p = |x: f32, y: f32| (dx + x * scale, dy + y * scale);
        let style = |s: &Style| Style {
            stroke_width: s.stroke_width * scale,
            dash: s.dash.iter().map(|d| d * scale).collect(),
            ..s.clone()
        };
        match self {
            Shape::Rect { x, y, w, h, style: s } => {
                let (x, y) = p(*x, *y);
                Shape::Rect { x, y, w: w * scale, h: h * scale, style: style(s) }
            }
            Shape::Path { points, closed, style: s } => {
                Shape::Path { points: points.iter().map(|&(x, y)| p(x, y)).collect(), closed: *closed, style: style(s) }
            }
            Shape::Circle { cx, cy, r, style: s } => {
                let (cx, cy) = p(*cx, *cy);
                Shape::Circle { cx, cy, r: r * scale, style: style(s) }
            }
            Shape::Text(t) => {
                let (x, y) = p(t.x, t.y);
                Shape::Text(TextShape { x, y, size: t.size * scale, text: t.text.clone(), ..*t })
            }
        }
    }
}

/// Writes the PDF: fonts subset and embedded, one page per laid-out page, bookmarks in
/// document order, metadata from the run.
pub(super) fn write(report: &Report, fonts: &Fonts, laid: &Laid) -> Result<Vec<u8>, PdfError> {
    let (page_w_mm, page_h_mm) = report.page_size.mm();
    let page_h = round3(Pt::from(Mm(page_h_mm)).0);
    let mut doc = PdfDocument::new(&report.title);

    // Which characters each face draws, then one subset per face.
    let mut used: BTreeMap<usize, BTreeMap<char, u16>> = BTreeMap::new();
    for (number, page) in laid.pages.iter().enumerate() {
        for shape in &page.shapes {
            if let Shape::Text(t) = shape {
                for ch in t.text.chars().filter(|c| !is_ignorable(*c)).map(normalize_space) {
                    // `check_glyphs` has seen every string; this guards text added since.
                    let (face, gid) = fonts.face_for(ch, t.bold).ok_or_else(|| PdfError::MissingGlyph {
                        ch,
                        codepoint: ch as u32,
                        context: format!("page {}: `{}`", number + 1, t.text),
                    })?;
                    used.entry(face).or_default().insert(ch, gid);
                }
            }
        }
    }
    for (&face, chars) in &used {
        let f = fonts.face(face);
        let font_error = |message: String| PdfError::Font(FontError::Parse { name: f.name.clone(), message });
        let subset = embed::subset(f, chars).map_err(font_error)?;
        let mut warnings = Vec::new();
        let mut parsed = ParsedFont::from_bytes(&subset.bytes, 0, &mut warnings)
            .ok_or_else(|| font_error("printpdf cannot read the subset font".to_string()))?;
        parsed.font_name = Some(subset.base_font);
        doc.resources.fonts.map.insert(font_id(face), printpdf::PdfFont::new(parsed));
    }

    let mut painter = Painter { fonts, page_h, ops: Vec::new(), opacities: BTreeSet::new() };
    let mut pages = Vec::with_capacity(laid.pages.len());
    for page in &laid.pages {
        painter.ops = vec![Op::SetLineJoinStyle { join: LineJoinStyle::Round }];
        for shape in &page.shapes {
            painter.shape(shape);
        }
        let mut pdf_page = PdfPage::new(Mm(page_w_mm), Mm(page_h_mm), std::mem::take(&mut painter.ops));
        // Whole thousandths of a point: Letter is 612 × 792, not 612.00006 × 792.00006.
        let media = Rect::from_wh(Pt(round3(Pt::from(Mm(page_w_mm)).0)), Pt(round3(page_h)));
        (pdf_page.media_box, pdf_page.trim_box, pdf_page.crop_box) = (media.clone(), media.clone(), media);
        pages.push(pdf_page);
    }
    for &percent in &painter.opacities {
        let state = ExtendedGraphicsState::default().with_current_fill_alpha(percent as f32 / 100.0);
        doc.resources.extgstates.map.insert(opacity_state(percent), state);
    }
    doc.pages = pages;

    // Bookmarks: printpdf sorts them by page, then name, so the order is restored below.
    for (i, (title, page)) in laid.bookmarks.iter().enumerate() {
        doc.bookmarks
            .map
            .insert(PageAnnotId(format!("B{i:04}")), PageAnnotation { name: title.clone(), page: page + 1 });
    }

    let generated = chrono::DateTime::parse_from_rfc3339(&report.generated_at)
        .map_err(|_| PdfError::GeneratedAt { value: report.generated_at.clone() })?;
    let date = printpdf::OffsetDateTime::from_unix_timestamp(generated.timestamp())
        .map_err(|_| PdfError::GeneratedAt { value: report.generated_at.clone() })?;
    let info = &mut doc.metadata.info;
    info.creation_date = date;
    info.modification_date = date;
    info.metadata_date = date;
    info.document_title = format!("{} — {}", report.title, report.period_label);
    info.subject = report.period_label.clone();
    info.creator = "sextant".into();
    info.producer = format!("sextant {} (printpdf)", env!("CARGO_PKG_VERSION"));
    info.identifier = report.run_id.clone();
    info.keywords = vec![report.name.clone(), report.period.clone(), report.locale.code().to_string()];

    let mut warnings = Vec::new();
    let mut lopdf =
        doc.to_lopdf_document(&PdfSaveOptions { subset_fonts: true, ..PdfSaveOptions::default() }, &mut warnings);
    lopdf.version = "1.7".into();
    // The file identifier (ISO 32000-1 §14.4) from the run id, not printpdf's counter.
    let id: String = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(report.run_id.as_bytes()))[..32].to_string()
    };
    if let Ok(ids) = lopdf.trailer.get_mut(b"ID").and_then(|o| o.as_array_mut()) {
        for part in ids.iter_mut() {
            if let Ok(bytes) = part.as_str_mut() {
                *bytes = id.clone().into_bytes();
            }
        }
    }

    // Outline order. printpdf links the items sorted by (page, title), which scrambles
    // sections that share a page; it sorts stably from our B0000… ids, so the k-th item of
    // its chain is the k-th bookmark in that order. Relink them in document order. (The
    // code is inline because lopdf is printpdf's dependency: its types cannot be named.)
    let root = lopdf.catalog().ok().and_then(|c| c.get(b"Outlines").ok()).and_then(|o| o.as_reference().ok());
    if let Some(root) = root {
        let mut chain: Vec<(u32, u16)> = Vec::new();
        let mut next =
            lopdf.get_dictionary(root).ok().and_then(|d| d.get(b"First").ok()).and_then(|o| o.as_reference().ok());
        while let Some(id) = next.filter(|id| !chain.contains(id)) {
            chain.push(id);
            next = lopdf.get_dictionary(id).ok().and_then(|d| d.get(b"Next").ok()).and_then(|o| o.as_reference().ok());
        }
        let mut printpdf_order: Vec<usize> = (0..laid.bookmarks.len()).collect();
        printpdf_order.sort_by(|&a, &b| {
            let (ta, pa) = &laid.bookmarks[a];
            let (tb, pb) = &laid.bookmarks[b];
            (pa, ta).cmp(&(pb, tb))
        });
        if chain.len() == printpdf_order.len() {
            let mut ids = vec![chain[0]; chain.len()];
            for (item, &bookmark) in chain.iter().zip(&printpdf_order) {
                ids[bookmark] = *item;
            }
            for (i, &id) in ids.iter().enumerate() {
                if let Ok(item) = lopdf.get_object_mut(id).and_then(|o| o.as_dict_mut()) {
                    item.remove(b"Prev");
                    item.remove(b"Next");
                    if i > 0 {
                        item.set("Prev", ids[i - 1]);
                    }
                    if let Some(&n) = ids.get(i + 1) {
                        item.set("Next", n);
                    }
                }
            }
            if let Ok(outlines) = lopdf.get_object_mut(root).and_then(|o| o.as_dict_mut()) {
                outlines.set("First", ids[0]);
                outlines.set("Last", ids[ids.len() - 1]);
            }
        }
        // printpdf writes the page mode as a string; it must be a name.
        if let Ok(catalog) = lopdf.catalog_mut() {
            catalog.set("PageMode", "UseOutlines");
        }
    }
    // The info dictionary: printpdf adds a PDF/X version key (which makes readers take the
    // file for PDF/X) and empty entries.
    let info = lopdf.trailer.get(b"Info").ok().and_then(|o| o.as_reference().ok());
    if let Some(info) = info
        && let Ok(dict) = lopdf.get_object_mut(info).and_then(|o| o.as_dict_mut())
    {
        dict.remove(b"GTS_PDFXVersion");
        dict.remove(b"Trapped");
        let empty: Vec<Vec<u8>> = dict
            .iter()
            .filter(|(_, v)| v.as_str().is_ok_and(|s| s.is_empty() || s == [0xFE, 0xFF]))
            .map(|(k, _)| k.clone())
            .collect();
        for key in empty {
            dict.remove(&key);
        }
    }
    lopdf.compress();
    let mut bytes = Vec::new();
    lopdf.save_to(&mut bytes).map_err(|e| PdfError::Write(e.to_string()))?;
    Ok(bytes)
}

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

/// The resource name of face `face`'s font.
fn font_id(face: usize) -> FontId {
    FontId(format!("FNT{face}"))
}

/// The graphics state that sets the fill opacity to `percent` %.
fn opacity_state(percent: u8) -> ExtendedGraphicsStateId {
    ExtendedGraphicsStateId(format!("GSA{percent:03}"))
}

fn colour(c: Rgb) -> Color {
    Color::Rgb(printpdf::Rgb::new(c.0 as f32 / 255.0, c.1 as f32 / 255.0, c.2 as f32 / 255.0, None))
}

/// Turns shapes into operations on one page.
struct Painter<'a> {
    fonts: &'a Fonts,
    page_h: f32,
    ops: Vec<Op>,
    opacities: BTreeSet<u8>,
}

impl Painter<'_> {
    fn point(&self, x: f32, y: f32) -> Point {
        Point { x: Pt(x), y: Pt(self.page_h - y) }
    }

    fn shape(&mut self, shape: &Shape) {
        match shape {
            Shape::Text(t) => self.text(t),
            Shape::Rect { x, y, w, h, style } => {
                let page_h = self.page_h;
                let rect = |mode| Rect {
                    x: Pt(*x),
                    y: Pt(page_h - y - h),
                    width: Pt(*w),
                    height: Pt(*h),
                    mode: Some(mode),
                    winding_order: None,
                };
                self.painted(style, |p, mode| p.ops.push(Op::DrawRectangle { rectangle: rect(mode) }), true);
            }
            Shape::Path { points, closed, style } => {
                if points.len() < 2 {
                    return;
                }
                let ring: Vec<LinePoint> =
                    points.iter().map(|&(x, y)| LinePoint { p: self.point(x, y), bezier: false }).collect();
                self.path(ring, *closed, style);
            }
            Shape::Circle { cx, cy, r, style } => {
                // Four cubic Béziers, the usual circle approximation.
                const K: f32 = 0.552_284_8;
                let (cx, cy, r) = (*cx, *cy, *r);
                let mut ring = vec![LinePoint { p: self.point(cx + r, cy), bezier: false }];
                let quadrants = [
                    ((1.0, 0.0), (0.0, 1.0)),
                    ((0.0, 1.0), (-1.0, 0.0)),
                    ((-1.0, 0.0), (0.0, -1.0)),
                    ((0.0, -1.0), (1.0, 0.0)),
                ];
                for ((ax, ay), (bx, by)) in quadrants {
                    let (sx, sy) = (cx + ax * r, cy + ay * r);
                    let (ex, ey) = (cx + bx * r, cy + by * r);
                    ring.push(LinePoint { p: self.point(sx + bx * K * r, sy + by * K * r), bezier: true });
                    ring.push(LinePoint { p: self.point(ex + ax * K * r, ey + ay * K * r), bezier: true });
                    ring.push(LinePoint { p: self.point(ex, ey), bezier: false });
                }
                self.path(ring, true, style);
            }
        }
    }

    fn path(&mut self, ring: Vec<LinePoint>, closed: bool, style: &Style) {
        let polygon = |mode| Polygon {
            rings: vec![PolygonRing { points: ring.clone() }],
            mode,
            winding_order: WindingOrder::NonZero,
        };
        if closed {
            self.painted(style, |p, mode| p.ops.push(Op::DrawPolygon { polygon: polygon(mode) }), true);
        } else {
            // An open polyline: the fill closes the area, the stroke does not.
            if style.fill.is_some() {
                let fill_only = Style { stroke: None, ..style.clone() };
                self.painted(&fill_only, |p, mode| p.ops.push(Op::DrawPolygon { polygon: polygon(mode) }), true);
            }
            if style.stroke.is_some() {
                let stroke_only = Style { fill: None, ..style.clone() };
                let line = Line { points: ring.clone(), is_closed: false };
                self.painted(&stroke_only, |p, _| p.ops.push(Op::DrawLine { line: line.clone() }), false);
            }
        }
    }

    /// Sets the colours, width, dash and opacity of `style`, draws, and restores.
    fn painted(&mut self, style: &Style, draw: impl FnOnce(&mut Self, printpdf::PaintMode), may_fill: bool) {
        use printpdf::PaintMode;
        let fill = style.fill.filter(|_| may_fill);
        let mode = match (fill, style.stroke) {
            (Some(_), Some(_)) => PaintMode::FillStroke,
            (Some(_), None) => PaintMode::Fill,
            (None, Some(_)) => PaintMode::Stroke,
            (None, None) => return,
        };
        self.ops.push(Op::SaveGraphicsState);
        if let Some(f) = fill {
            self.ops.push(Op::SetFillColor { col: colour(f) });
            let percent = (style.fill_opacity * 100.0).round().clamp(0.0, 100.0) as u8;
            if percent < 100 {
                self.opacities.insert(percent);
                self.ops.push(Op::LoadGraphicsState { gs: opacity_state(percent) });
            }
        }
        if let Some(s) = style.stroke {
            self.ops.push(Op::SetOutlineColor { col: colour(s) });
            self.ops.push(Op::SetOutlineThickness { pt: Pt(style.stroke_width) });
            if !style.dash.is_empty() {
                self.ops.push(Op::SetLineDashPattern { dash: LineDashPattern::new(0.0, &style.dash) });
            }
        }
        draw(self, mode);
        self.ops.push(Op::RestoreGraphicsState);
    }

    /// Text in runs of one face each; faces without a bold design are emboldened with a
    /// thin outline of the text colour.
    fn text(&mut self, t: &TextShape) {
        let mut runs: Vec<(usize, String)> = Vec::new();
        for ch in t.text.chars().filter(|c| !is_ignorable(*c)).map(normalize_space) {
            let Some((face, _)) = self.fonts.face_for(ch, t.bold) else { continue };
            match runs.last_mut() {
                Some((f, run)) if *f == face => run.push(ch),
                _ => runs.push((face, ch.to_string())),
            }
        }
        if runs.is_empty() {
            return;
        }
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFillColor { col: colour(t.colour) });
        let mut x = t.x;
        for (face, run) in runs {
            let fake_bold = t.bold && !self.fonts.face(face).is_bold();
            self.ops.push(Op::SetFont { font: PdfFontHandle::External(font_id(face)), size: Pt(t.size) });
            if fake_bold {
                self.ops.push(Op::SetTextRenderingMode { mode: TextRenderingMode::FillStroke });
                self.ops.push(Op::SetOutlineColor { col: colour(t.colour) });
                self.ops.push(Op::SetOutlineThickness { pt: Pt(t.size * 0.04) });
            }
            self.ops.push(Op::SetTextMatrix { matrix: TextMatrix::Translate(Pt(x), Pt(self.page_h - t.y)) });
            x += self.fonts.measure(&run, t.size, t.bold);
            self.ops.push(Op::ShowText { items: vec![TextItem::Text(run)] });
            if fake_bold {
                self.ops.push(Op::SetTextRenderingMode { mode: TextRenderingMode::Fill });
            }
        }
        self.ops.push(Op::EndTextSection);
    }
}
