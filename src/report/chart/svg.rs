//! The writer of the chart SVG subset: the only place that emits markup, so every chart
//! stays inside what the PDF renderer's small parser understands (see the module docs of
//! [`super`]): one element per line, double-quoted attributes in a fixed order, numbers
//! with at most two decimals, colours as `#rrggbb` or `none`.

use crate::report::model::Rgb;

/// A stroke: colour, width and an optional `dash gap` pattern.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stroke {
    pub colour: Rgb,
    pub width: f64,
    pub dash: Option<(f64, f64)>,
}

impl Stroke {
    pub fn solid(colour: Rgb, width: f64) -> Stroke {
        Stroke { colour, width, dash: None }
    }

    pub fn dashed(colour: Rgb, width: f64, dash: f64, gap: f64) -> Stroke {
        Stroke { colour, width, dash: Some((dash, gap)) }
    }
}

/// Horizontal alignment of a text run around its `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn keyword(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// How a text run is drawn.
#[derive(Debug, Clone, Copy)]
pub(super) struct Font {
    pub size: f64,
    pub colour: Rgb,
    pub anchor: Anchor,
    pub bold: bool,
}

impl Font {
    pub fn new(size: f64, colour: Rgb, anchor: Anchor) -> Font {
        Font { size, colour, anchor, bold: false }
    }

    pub fn bold(self) -> Font {
        Font { bold: true, ..self }
    }
}

/// A point in SVG user space (points, origin top-left).
pub(super) type Point = (f64, f64);

/// An SVG document being written.
pub(super) struct Svg {
    out: String,
}

impl Svg {
    /// Opens the root element; `kind` becomes the `chart-{kind}` class.
    pub fn new(id: &str, kind: &str, title: &str, width: f64, height: f64) -> Svg {
        let (w, h) = (num(width), num(height));
        let title = escape(title);
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"chart-{}\" class=\"chart chart-{kind}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{title}\">\n",
            escape(id)
        );
        if !title.is_empty() {
            out.push_str(&format!("<title>{title}</title>\n"));
        }
        Svg { out }
    }

    /// Writes `body` inside a `<g class="…">`, so groups are always closed.
    pub fn group(&mut self, class: &str, body: impl FnOnce(&mut Svg)) {
        self.out.push_str(&format!("<g class=\"{}\">\n", escape(class)));
        body(self);
        self.out.push_str("</g>\n");
    }

    pub fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, fill: Option<Rgb>, stroke: Option<Stroke>) {
        self.out.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{}/>\n",
            num(x),
            num(y),
            num(width.max(0.0)),
            num(height.max(0.0)),
            paint(fill),
            stroke_attrs(stroke, false)
        ));
    }

    pub fn line(&mut self, from: Point, to: Point, stroke: Stroke) {
        self.out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"{}/>\n",
            num(from.0),
            num(from.1),
            num(to.0),
            num(to.1),
            stroke_attrs(Some(stroke), true)
        ));
    }

    pub fn polyline(&mut self, points: &[Point], stroke: Stroke) {
        self.out.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\"{}/>\n",
            points_attr(points),
            stroke_attrs(Some(stroke), true)
        ));
    }

    /// A closed shape; `fill_opacity` below 1 lets grid lines show through (radar areas).
    pub fn polygon(&mut self, points: &[Point], fill: Option<Rgb>, fill_opacity: Option<f64>, stroke: Option<Stroke>) {
        let opacity = match fill_opacity {
            Some(o) if fill.is_some() => format!(" fill-opacity=\"{}\"", num(o.clamp(0.0, 1.0))),
            _ => String::new(),
        };
        self.out.push_str(&format!(
            "<polygon points=\"{}\" fill=\"{}\"{opacity}{}/>\n",
            points_attr(points),
            paint(fill),
            stroke_attrs(stroke, false)
        ));
    }

    pub fn circle(&mut self, centre: Point, r: f64, fill: Option<Rgb>, stroke: Option<Stroke>) {
        self.out.push_str(&format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"{}/>\n",
            num(centre.0),
            num(centre.1),
            num(r.max(0.0)),
            paint(fill),
            stroke_attrs(stroke, false)
        ));
    }

    /// A single-line text run; `y` is the baseline. Empty text writes nothing.
    pub fn text(&mut self, x: f64, y: f64, font: Font, content: &str) {
        let content = escape(content);
        if content.trim().is_empty() {
            return;
        }
        let weight = if font.bold { " font-weight=\"bold\"" } else { "" };
        self.out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{}\" text-anchor=\"{}\"{weight}>{content}</text>\n",
            num(x),
            num(y),
            num(font.size),
            font.colour.hex(),
            font.anchor.keyword()
        ));
    }

    /// Closes the root element and returns the document.
    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

fn paint(fill: Option<Rgb>) -> String {
    fill.map_or_else(|| "none".to_string(), Rgb::hex)
}

/// `stroke`, `stroke-width` and, when `dash_allowed` (lines and polylines only, per the
/// subset), `stroke-dasharray`.
fn stroke_attrs(stroke: Option<Stroke>, dash_allowed: bool) -> String {
    let Some(s) = stroke else { return String::new() };
    let mut attrs = format!(" stroke=\"{}\" stroke-width=\"{}\"", s.colour.hex(), num(s.width));
    if let (Some((dash, gap)), true) = (s.dash, dash_allowed) {
        attrs.push_str(&format!(" stroke-dasharray=\"{} {}\"", num(dash), num(gap)));
    }
    attrs
}

fn points_attr(points: &[Point]) -> String {
    points.iter().map(|(x, y)| format!("{},{}", num(*x), num(*y))).collect::<Vec<_>>().join(" ")
}

/// A coordinate or size with at most two decimals, trailing zeros trimmed, never `-0`
/// (so equal inputs give equal bytes). Non-finite numbers, which only a degenerate layout
/// could produce, become `0` rather than `NaN`, which no parser accepts.
pub(super) fn num(value: f64) -> String {
    if !value.is_finite() {
        return "0".to_string();
    }
    let mut s = format!("{:.2}", (value * 100.0).round() / 100.0);
    if s.contains('.') {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
    }
    if s == "-0" { "0".to_string() } else { s }
}

/// XML-escapes text for element content and double-quoted attributes. Control characters
/// (a newline in a category name, say) become spaces: every element must stay on one line.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
