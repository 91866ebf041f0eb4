//! A parser for the chart SVG subset (documented in `crate::report::chart`), turning a
//! chart into shapes the painter draws as PDF vectors and selectable text.
//!
//! Accepted: a root `<svg>` with `viewBox="minx miny W H"` (or `width`/`height`), and the
//! elements `g`, `rect`, `line`, `polyline`, `polygon`, `circle`, `text` and `title` (whose
//! content is ignored). Presentation attributes: `x y width height x1 y1 x2 y2 points cx cy
//! r fill fill-opacity stroke stroke-width stroke-dasharray font-size font-weight
//! text-anchor`, inherited from `g` as in SVG; colours `#rrggbb` or `none`. Attributes that
//! do not change what is drawn (`id`, `class`, `role`, `aria-*`, `xmlns*`, `font-family`) are
//! skipped. Anything else is an error, so a chart never silently loses a mark.

use std::borrow::Cow;

use super::paint::{Shape, Style, TextShape};
use crate::report::fonts::Fonts;
use crate::report::model::Rgb;

/// A parsed chart: its size in SVG user units (points) and what it draws.
#[derive(Debug, Clone)]
pub(super) struct Drawing {
    pub width: f32,
    pub height: f32,
    pub shapes: Vec<Shape>,
}

/// The style a child inherits from its parents.
#[derive(Debug, Clone)]
struct Inherited {
    fill: Option<Rgb>,
    fill_opacity: f32,
    stroke: Option<Rgb>,
    stroke_width: f32,
    dash: Vec<f32>,
    font_size: f32,
    bold: bool,
    anchor: Anchor,
}

#[derive(Debug, Clone, Copy)]
enum Anchor {
    Start,
    Middle,
    End,
}

impl Default for Inherited {
    fn default() -> Self {
        Inherited {
            fill: Some(Rgb(0, 0, 0)),
            fill_opacity: 1.0,
            stroke: None,
            stroke_width: 1.0,
            dash: Vec::new(),
            font_size: 16.0,
            bold: false,
            anchor: Anchor::Start,
        }
    }
}

/// Parses `svg`; text anchors are resolved with `fonts`' widths.
///
/// # Errors
/// A message naming the unsupported element or attribute, or the malformed markup.
pub(super) fn parse(svg: &str, fonts: &Fonts) -> Result<Drawing, String> {
    let mut scanner = Scanner { s: svg, pos: 0 };
    let mut stack: Vec<(String, Inherited)> = Vec::new();
    let mut drawing: Option<Drawing> = None;
    let mut origin = (0.0f32, 0.0f32);
    // The text element being read: its start and style.
    let mut open_text: Option<(f32, f32, Inherited, String)> = None;
    let mut in_title = false;

    while let Some(token) = scanner.next()? {
        match token {
            Token::Text(text) => {
                if let Some((_, _, _, content)) = open_text.as_mut() {
                    content.push_str(&text);
                } else if !in_title && !text.trim().is_empty() {
                    return Err(format!("unexpected text `{}`", text.trim()));
                }
            }
            Token::Close(name) => {
                let Some((open, _)) = stack.pop() else {
                    return Err(format!("`</{name}>` closes nothing"));
                };
                if open != name {
                    return Err(format!("`</{name}>` closes `<{open}>`"));
                }
                match name {
                    "title" => in_title = false,
                    "text" => {
                        if let (Some((x, y, style, content)), Some(d)) = (open_text.take(), drawing.as_mut()) {
                            push_text(d, fonts, x - origin.0, y - origin.1, &style, &content);
                        }
                    }
                    _ => {}
                }
            }
            Token::Open { name, attrs, self_closing } => {
                if in_title || open_text.is_some() {
                    return Err(format!("`<{name}>` inside `<title>` or `<text>`"));
                }
                let parent = stack.last().map(|(_, s)| s.clone()).unwrap_or_default();
                let Some(d) = drawing.as_mut() else {
                    if name != "svg" {
                        return Err(format!("the root element is `<{name}>`, not `<svg>`"));
                    }
                    let (w, h, o) = root_size(&attrs)?;
                    origin = o;
                    drawing = Some(Drawing { width: w, height: h, shapes: Vec::new() });
                    let style = apply_style(parent, "svg", &attrs, &[])?;
                    if !self_closing {
                        stack.push((name.to_string(), style));
                    }
                    continue;
                };
                if stack.is_empty() {
                    return Err(format!("`<{name}>` after the root element"));
                }
                let geometry: &[&str] = match name {
                    "g" | "title" => &[],
                    "rect" => &["x", "y", "width", "height"],
                    "line" => &["x1", "y1", "x2", "y2"],
                    "polyline" | "polygon" => &["points"],
                    "circle" => &["cx", "cy", "r"],
                    "text" => &["x", "y"],
                    other => return Err(format!("unsupported element `<{other}>`")),
                };
                let style = if name == "title" { parent } else { apply_style(parent, name, &attrs, geometry)? };
                let num = |key: &str| -> Result<f32, String> {
                    match attrs.iter().find(|(k, _)| *k == key) {
                        Some((_, v)) => {
                            number(v).ok_or_else(|| format!("`{key}=\"{v}\"` on `<{name}>` is not a number"))
                        }
                        None => Ok(0.0),
                    }
                };
                let (ox, oy) = origin;
                match name {
                    "rect" => {
                        let (w, h) = (num("width")?, num("height")?);
                        if w > 0.0 && h > 0.0 {
                            d.shapes.push(Shape::Rect {
                                x: num("x")? - ox,
                                y: num("y")? - oy,
                                w,
                                h,
                                style: shape_style(&style),
                            });
                        }
                    }
                    "line" => {
                        let points = vec![(num("x1")? - ox, num("y1")? - oy), (num("x2")? - ox, num("y2")? - oy)];
                        let style = Style { fill: None, ..shape_style(&style) };
                        d.shapes.push(Shape::Path { points, closed: false, style });
                    }
                    "polyline" | "polygon" => {
                        let raw = attrs.iter().find(|(k, _)| *k == "points").map(|(_, v)| v.as_ref()).unwrap_or("");
                        let points = parse_points(raw).ok_or_else(|| format!("bad `points` on `<{name}>`"))?;
                        let points = points.into_iter().map(|(x, y)| (x - ox, y - oy)).collect();
                        d.shapes.push(Shape::Path { points, closed: name == "polygon", style: shape_style(&style) });
                    }
                    "circle" => {
                        let r = num("r")?;
                        if r > 0.0 {
                            d.shapes.push(Shape::Circle {
                                cx: num("cx")? - ox,
                                cy: num("cy")? - oy,
                                r,
                                style: shape_style(&style),
                            });
                        }
                    }
                    "text" => {
                        if self_closing {
                            continue;
                        }
                        open_text = Some((num("x")?, num("y")?, style.clone(), String::new()));
                    }
                    _ => {}
                }
                if name == "title" && !self_closing {
                    in_title = true;
                }
                if !self_closing {
                    stack.push((name.to_string(), style));
                }
            }
        }
    }
    if let Some((open, _)) = stack.last() {
        return Err(format!("`<{open}>` is never closed"));
    }
    drawing.ok_or_else(|| "no `<svg>` element".to_string())
}

/// The size and origin from the root's `viewBox` (or `width`/`height`).
fn root_size(attrs: &[(&str, Cow<'_, str>)]) -> Result<(f32, f32, (f32, f32)), String> {
    let get = |key: &str| attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_ref());
    if let Some(view_box) = get("viewBox") {
        let v: Vec<f32> = view_box
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(number)
            .collect::<Option<_>>()
            .ok_or_else(|| format!("bad viewBox `{view_box}`"))?;
        if let [x, y, w, h] = v[..]
            && w > 0.0
            && h > 0.0
        {
            return Ok((w, h, (x, y)));
        }
        return Err(format!("bad viewBox `{view_box}`"));
    }
    match (get("width").and_then(number), get("height").and_then(number)) {
        (Some(w), Some(h)) if w > 0.0 && h > 0.0 => Ok((w, h, (0.0, 0.0))),
        _ => Err("the root `<svg>` has neither a viewBox nor a width and height".into()),
    }
}

/// Applies an element's presentation attributes to what it inherits; rejects any
/// attribute the subset does not know.
fn apply_style(
    mut style: Inherited,
    element: &str,
    attrs: &[(&str, Cow<'_, str>)],
    geometry: &[&str],
) -> Result<Inherited, String> {
    for (key, value) in attrs {
        let key = *key;
        let value = value.trim();
        let bad = || format!("`{key}=\"{value}\"` on `<{element}>` is not supported");
        match key {
            "fill" => style.fill = colour(value).ok_or_else(bad)?,
            "stroke" => style.stroke = colour(value).ok_or_else(bad)?,
            "fill-opacity" => style.fill_opacity = number(value).ok_or_else(bad)?.clamp(0.0, 1.0),
            "stroke-width" => style.stroke_width = number(value).filter(|w| *w >= 0.0).ok_or_else(bad)?,
            "stroke-dasharray" => {
                style.dash = if value == "none" {
                    Vec::new()
                } else {
                    value
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                        .map(|s| number(s).filter(|v| *v >= 0.0))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(bad)?
                }
            }
            "font-size" => {
                style.font_size = number(value.trim_end_matches("px")).filter(|v| *v > 0.0).ok_or_else(bad)?
            }
            "font-weight" => {
                style.bold = match value {
                    "bold" | "bolder" => true,
                    "normal" | "lighter" => false,
                    n => n.parse::<u16>().map_err(|_| bad())? >= 600,
                }
            }
            "text-anchor" => {
                style.anchor = match value {
                    "start" => Anchor::Start,
                    "middle" => Anchor::Middle,
                    "end" => Anchor::End,
                    _ => return Err(bad()),
                }
            }
            "id" | "class" | "role" | "font-family" => {}
            k if k.starts_with("aria-") => {}
            "xmlns" | "viewBox" | "width" | "height" | "version" if element == "svg" => {}
            k if k.starts_with("xmlns:") && element == "svg" => {}
            k if geometry.contains(&k) => {}
            _ => return Err(format!("unsupported attribute `{key}` on `<{element}>`")),
        }
    }
    Ok(style)
}

fn shape_style(s: &Inherited) -> Style {
    Style {
        fill: s.fill,
        fill_opacity: s.fill_opacity,
        stroke: s.stroke.filter(|_| s.stroke_width > 0.0),
        stroke_width: s.stroke_width,
        dash: s.dash.clone(),
    }
}

fn push_text(d: &mut Drawing, fonts: &Fonts, x: f32, y: f32, style: &Inherited, content: &str) {
    // XML whitespace handling of SVG text: runs collapse to one space, ends are trimmed.
    let text = content.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return;
    }
    let width = fonts.measure(&text, style.font_size, style.bold);
    let x = match style.anchor {
        Anchor::Start => x,
        Anchor::Middle => x - width / 2.0,
        Anchor::End => x - width,
    };
    let colour = style.fill.unwrap_or(Rgb(0, 0, 0));
    d.shapes.push(Shape::Text(TextShape { x, y, size: style.font_size, bold: style.bold, colour, text }));
}

fn colour(value: &str) -> Option<Option<Rgb>> {
    if value == "none" { Some(None) } else { Rgb::parse(value).map(Some) }
}

fn number(s: &str) -> Option<f32> {
    s.trim().parse::<f32>().ok().filter(|v| v.is_finite())
}

fn parse_points(raw: &str) -> Option<Vec<(f32, f32)>> {
    let values: Vec<f32> = raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(number)
        .collect::<Option<_>>()?;
    if !values.len().is_multiple_of(2) {
        return None;
    }
    Some(values.chunks_exact(2).map(|p| (p[0], p[1])).collect())
}

enum Token<'a> {
    Open { name: &'a str, attrs: Vec<(&'a str, Cow<'a, str>)>, self_closing: bool },
    Close(&'a str),
    Text(Cow<'a, str>),
}

/// A tag and attribute scanner for well-formed XML without DTDs or CDATA.
struct Scanner<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn next(&mut self) -> Result<Option<Token<'a>>, String> {
        let rest = &self.s[self.pos..];
        if rest.is_empty() {
            return Ok(None);
        }
        if !rest.starts_with('<') {
            let end = rest.find('<').unwrap_or(rest.len());
            self.pos += end;
            return Ok(Some(Token::Text(unescape(&rest[..end])?)));
        }
        for (open, close) in [("<?", "?>"), ("<!--", "-->")] {
            if rest.starts_with(open) {
                let end = rest.find(close).ok_or_else(|| format!("unterminated `{open}`"))?;
                self.pos += end + close.len();
                return self.next();
            }
        }
        if rest.starts_with("<!") {
            return Err("DOCTYPE and CDATA are not supported".into());
        }
        let end = tag_end(rest).ok_or("unterminated tag")?;
        let tag = &rest[1..end];
        self.pos += end + 1;
        if let Some(name) = tag.strip_prefix('/') {
            return Ok(Some(Token::Close(name.trim())));
        }
        let (tag, self_closing) = match tag.strip_suffix('/') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let name_end = tag.find(|c: char| c.is_whitespace()).unwrap_or(tag.len());
        let name = &tag[..name_end];
        if name.is_empty() {
            return Err("a tag without a name".into());
        }
        let mut attrs = Vec::new();
        let mut a = tag[name_end..].trim_start();
        while !a.is_empty() {
            let eq = a.find('=').ok_or_else(|| format!("attribute without a value in `<{name}>`"))?;
            let key = a[..eq].trim();
            let after = a[eq + 1..].trim_start();
            let quote = after
                .chars()
                .next()
                .filter(|c| *c == '"' || *c == '\'')
                .ok_or_else(|| format!("unquoted attribute `{key}` in `<{name}>`"))?;
            let close =
                after[1..].find(quote).ok_or_else(|| format!("unterminated attribute `{key}` in `<{name}>`"))?;
            if attrs.iter().any(|(k, _)| *k == key) {
                return Err(format!("attribute `{key}` twice in `<{name}>`"));
            }
            attrs.push((key, unescape(&after[1..1 + close])?));
            a = after[close + 2..].trim_start();
        }
        Ok(Some(Token::Open { name, attrs, self_closing }))
    }
}

/// The index of the `>` that ends the tag at the start of `s`, skipping quoted values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn unescape(s: &str) -> Result<Cow<'_, str>, String> {
    if !s.contains('&') {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').ok_or("unterminated entity")? + at;
        let entity = &rest[at + 1..end];
        let ch = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("bad entity `&{e};`"))?,
            e if e.starts_with('#') => {
                e[1..].parse::<u32>().ok().and_then(char::from_u32).ok_or_else(|| format!("bad entity `&{e};`"))?
            }
            e => return Err(format!("unknown entity `&{e};`")),
        };
        out.push(ch);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts() -> Fonts {
        Fonts::bundled().expect("fonts")
    }

    #[test]
    fn parses_the_subset_with_inheritance() {
        let svg = r##"<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" id="chart-x" class="chart" viewBox="0 0 200 100" width="200" height="100" role="img" aria-label="A &amp; B">
<title>A &amp; B</title>
<!-- grid -->
<g class="grid" stroke="#cccccc" stroke-width="0.5">
<line x1="0" y1="90" x2="200" y2="90"/>
</g>
<rect x="10" y="20" width="30" height="70" fill="#1f3a5f"/>
<polyline points="0,50 50,40 100,60" fill="none" stroke="#d97706" stroke-width="2" stroke-dasharray="4 2"/>
<polygon points="0 0 10 0 10 10" fill="#00ff00" fill-opacity="0.25"/>
<circle cx="5" cy="5" r="2" fill="#ffffff" stroke="#000000"/>
<text x="100" y="95" font-size="8" fill="#6b7280" text-anchor="middle" font-weight="bold">Q1 &lt; Q2</text>
</svg>"##;
        let d = parse(svg, &fonts()).expect("parses");
        assert_eq!((d.width, d.height), (200.0, 100.0));
        assert_eq!(d.shapes.len(), 6);
        let Shape::Path { style, closed: false, .. } = &d.shapes[0] else { panic!("{:?}", d.shapes[0]) };
        assert_eq!(style.stroke, Some(Rgb(0xcc, 0xcc, 0xcc)));
        assert_eq!(style.stroke_width, 0.5);
        assert_eq!(style.fill, None);
        let Shape::Path { style, .. } = &d.shapes[2] else { panic!() };
        assert_eq!(style.dash, vec![4.0, 2.0]);
        let Shape::Text(t) = &d.shapes[5] else { panic!() };
        assert_eq!(t.text, "Q1 < Q2");
        assert!(t.bold && t.x < 100.0 && t.x > 80.0, "{t:?}");
    }

    #[test]
    fn rejects_what_it_cannot_draw() {
        let f = fonts();
        let err = parse(r#"<svg viewBox="0 0 10 10"><path d="M0 0"/></svg>"#, &f).expect_err("path");
        assert!(err.contains("<path>"), "{err}");
        let err =
            parse(r#"<svg viewBox="0 0 10 10"><g transform="translate(1,1)"></g></svg>"#, &f).expect_err("transform");
        assert!(err.contains("transform"), "{err}");
        let err = parse(r#"<svg viewBox="0 0 10 10"><rect fill="red"/></svg>"#, &f).expect_err("named colour");
        assert!(err.contains("red"), "{err}");
        assert!(parse(r#"<svg viewBox="0 0 10 10"><g></svg>"#, &f).is_err());
    }
}
