//! The fonts a PDF report is set in: the bundled faces, extra faces from files, per-character
//! fallback between them, and text measurement.
//!
//! Three faces ship inside the binary, so a machine with no system fonts renders every
//! report, English or Chinese:
//! - Noto Sans Regular and Bold (SIL Open Font License 1.1, `report-templates/fonts/NotoSans.copyright`);
//! - Droid Sans Fallback Full (Apache License 2.0, `report-templates/fonts/DroidSansFallback.copyright`),
//!   for Chinese.
//!
//! A character is drawn with the first face in the chain that has a glyph for it: the extra
//! faces first ([`Fonts::with_extra`]), then Noto Sans (bold or regular), then Droid Sans
//! Fallback. Faces are TrueType (`glyf`) or OpenType CFF outlines, single files or
//! collections (`.ttc`). Only what measuring and embedding need is read here; the PDF
//! renderer subsets the faces it uses (`super::pdf`).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

static NOTO_SANS_REGULAR: &[u8] = include_bytes!("../../report-templates/fonts/NotoSans-Regular.ttf");
static NOTO_SANS_BOLD: &[u8] = include_bytes!("../../report-templates/fonts/NotoSans-Bold.ttf");
static DROID_SANS_FALLBACK: &[u8] = include_bytes!("../../report-templates/fonts/DroidSansFallbackFull.ttf");

/// Why a font could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error("cannot read font file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("font file {} has {count} face(s); face index {index} does not exist", path.display())]
    NoSuchFace { path: PathBuf, index: usize, count: usize },
    #[error("font `{name}` is not a usable TrueType/OpenType font: {message}")]
    Parse { name: String, message: String },
}

/// The faces a report is set in, with the fallback order for regular and bold text.
pub struct Fonts {
    faces: Vec<Face>,
    /// Indexes into `faces`, in the order a character is looked up.
    regular: Vec<usize>,
    bold: Vec<usize>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts")
            .field("faces", &self.faces.iter().map(|face| &face.name).collect::<Vec<_>>())
            .field("regular", &self.regular)
            .field("bold", &self.bold)
            .finish()
    }
}

impl Fonts {
    /// The bundled fonts: Noto Sans Regular and Bold, and Droid Sans Fallback Full for CJK,
    /// embedded in the binary so that a fresh machine with no system fonts works.
    ///
    /// # Errors
    /// Only if a bundled file is corrupt ([`FontError::Parse`]).
    pub fn bundled() -> Result<Fonts, FontError> {
        let regular = Face::parse(Cow::Borrowed(NOTO_SANS_REGULAR), 0, "NotoSans-Regular")?;
        let bold = Face::parse(Cow::Borrowed(NOTO_SANS_BOLD), 0, "NotoSans-Bold")?;
        let cjk = Face::parse(Cow::Borrowed(DROID_SANS_FALLBACK), 0, "DroidSansFallbackFull")?;
        Ok(Fonts { faces: vec![regular, bold, cjk], regular: vec![0, 2], bold: vec![1, 2] })
    }

    /// Extra fonts, tried before the bundled ones for regular and bold text alike: each a
    /// path and the face index within it (0 for a single font; for a collection such as
    /// Debian's `NotoSansCJK-Regular.ttc`, which has CFF outlines, the face to use: 2 is
    /// Simplified Chinese there). Faces are tried in the order given.
    ///
    /// # Errors
    /// A file that cannot be read, has no such face, or is not a TrueType/OpenType font.
    pub fn with_extra(mut self, files: &[(PathBuf, usize)]) -> Result<Fonts, FontError> {
        let mut added = Vec::new();
        for (path, index) in files {
            let bytes = std::fs::read(path).map_err(|source| FontError::Read { path: path.clone(), source })?;
            let count = face_count(&bytes);
            if *index >= count {
                return Err(FontError::NoSuchFace { path: path.clone(), index: *index, count });
            }
            let face = Face::parse(Cow::Owned(bytes), *index, &file_stem(path))?;
            added.push(self.faces.len());
            self.faces.push(face);
        }
        let prepend = |chain: &[usize]| added.iter().chain(chain).copied().collect::<Vec<_>>();
        self.regular = prepend(&self.regular);
        self.bold = prepend(&self.bold);
        Ok(self)
    }

    /// Width of `text` at `size` pt in the regular (or bold) face, with per-character
    /// fallback. A character no face has counts half an em (it never reaches a page:
    /// [`Fonts::missing_char`] is checked first).
    pub fn measure(&self, text: &str, size: f32, bold: bool) -> f32 {
        let chain = self.chain(bold);
        let mut em = 0.0f32;
        for ch in text.chars() {
            if is_ignorable(ch) {
                continue;
            }
            em += match self.lookup(chain, ch).or_else(|| self.lookup(&self.regular, ch)) {
                Some((face, gid)) => self.faces[face].advance_em(gid),
                None => 0.5,
            };
        }
        em * size
    }

    /// The first character no configured font has, if any. Characters that are never
    /// drawn (line breaks, tabs, zero-width marks) do not count.
    pub fn missing_char(&self, text: &str) -> Option<char> {
        text.chars().find(|&ch| {
            !is_ignorable(ch) && self.lookup(&self.regular, ch).is_none() && self.lookup(&self.bold, ch).is_none()
        })
    }

    /// The face that draws `ch` in regular or bold text, with its glyph id.
    pub(crate) fn face_for(&self, ch: char, bold: bool) -> Option<(usize, u16)> {
        self.lookup(self.chain(bold), ch).or_else(|| self.lookup(&self.regular, ch))
    }

    /// The face at `index` (as returned by [`Fonts::face_for`]).
    pub(crate) fn face(&self, index: usize) -> &Face {
        &self.faces[index]
    }

    fn chain(&self, bold: bool) -> &[usize] {
        if bold { &self.bold } else { &self.regular }
    }

    fn lookup(&self, chain: &[usize], ch: char) -> Option<(usize, u16)> {
        let ch = normalize_space(ch);
        chain.iter().find_map(|&face| self.faces[face].glyph(ch).map(|gid| (face, gid)))
    }
}

/// Characters that are never drawn, so no font needs them.
pub(crate) fn is_ignorable(ch: char) -> bool {
    matches!(ch, '\n' | '\r' | '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// A tab is set as a space.
pub(crate) fn normalize_space(ch: char) -> char {
    if ch == '\t' { ' ' } else { ch }
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "font".to_string())
}

/// How a face's glyph outlines are stored, which decides how it is subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outlines {
    /// `glyf` + `loca`; `long_loca` is `head.indexToLocFormat == 1`.
    TrueType { long_loca: bool },
    /// A `CFF ` table (name-keyed or CID-keyed).
    Cff,
}

/// One parsed font face: its bytes, table directory and the metrics measuring needs.
pub(crate) struct Face {
    /// The PostScript name, used as the PDF font name.
    pub name: String,
    data: Cow<'static, [u8]>,
    tables: BTreeMap<[u8; 4], (usize, usize)>,
    cmap: HashMap<u32, u16>,
    advances: Vec<u16>,
    pub units_per_em: u16,
    pub num_glyphs: u16,
    /// usWeightClass from OS/2 (400 when absent).
    pub weight: u16,
    pub outlines: Outlines,
}

impl Face {
    /// Parses face `index` of `data` (a single font or a collection).
    fn parse(data: Cow<'static, [u8]>, index: usize, fallback_name: &str) -> Result<Face, FontError> {
        let err = |message: &str| FontError::Parse { name: fallback_name.to_string(), message: message.to_string() };
        let bytes: &[u8] = &data;
        let dir = if bytes.get(..4) == Some(b"ttcf") {
            let count = be_u32(bytes, 8).ok_or_else(|| err("truncated collection header"))? as usize;
            if index >= count {
                return Err(err("face index out of range"));
            }
            be_u32(bytes, 12 + 4 * index).ok_or_else(|| err("truncated collection header"))? as usize
        } else {
            0
        };
        let num_tables = be_u16(bytes, dir + 4).ok_or_else(|| err("truncated table directory"))? as usize;
        let mut tables = BTreeMap::new();
        for i in 0..num_tables {
            let rec = dir + 12 + 16 * i;
            let tag: [u8; 4] = bytes
                .get(rec..rec + 4)
                .and_then(|t| t.try_into().ok())
                .ok_or_else(|| err("truncated table directory"))?;
            let offset = be_u32(bytes, rec + 8).ok_or_else(|| err("truncated table directory"))? as usize;
            let length = be_u32(bytes, rec + 12).ok_or_else(|| err("truncated table directory"))? as usize;
            if offset.checked_add(length).is_none_or(|end| end > bytes.len()) {
                return Err(err("a table lies outside the file"));
            }
            tables.insert(tag, (offset, length));
        }
        let table = |tag: &[u8; 4]| tables.get(tag).map(|&(o, l)| &bytes[o..o + l]);

        let head = table(b"head").ok_or_else(|| err("no `head` table"))?;
        let units_per_em = be_u16(head, 18).filter(|&u| u > 0).ok_or_else(|| err("bad `head` table"))?;
        let long_loca = be_i16(head, 50).ok_or_else(|| err("bad `head` table"))? == 1;
        let maxp = table(b"maxp").ok_or_else(|| err("no `maxp` table"))?;
        let num_glyphs = be_u16(maxp, 4).ok_or_else(|| err("bad `maxp` table"))?;
        let hhea = table(b"hhea").ok_or_else(|| err("no `hhea` table"))?;
        let num_h_metrics = be_u16(hhea, 34).ok_or_else(|| err("bad `hhea` table"))? as usize;
        let hmtx = table(b"hmtx").ok_or_else(|| err("no `hmtx` table"))?;
        if num_h_metrics == 0 || hmtx.len() < 4 * num_h_metrics {
            return Err(err("bad `hmtx` table"));
        }
        let advances =
            (0..num_glyphs as usize).map(|g| be_u16(hmtx, 4 * g.min(num_h_metrics - 1)).unwrap_or(0)).collect();
        let weight = table(b"OS/2").and_then(|os2| be_u16(os2, 4)).unwrap_or(400);
        let outlines = if tables.contains_key(b"glyf") && tables.contains_key(b"loca") {
            Outlines::TrueType { long_loca }
        } else if tables.contains_key(b"CFF ") {
            Outlines::Cff
        } else {
            return Err(err("no `glyf` or `CFF ` outlines (CFF2 and bitmap-only fonts are not supported)"));
        };
        let cmap = table(b"cmap").and_then(parse_cmap).ok_or_else(|| err("no usable Unicode `cmap` subtable"))?;
        let name = table(b"name").and_then(postscript_name).unwrap_or_else(|| fallback_name.to_string());
        let name = sanitize_name(&name);
        Ok(Face { name, data, tables, cmap, advances, units_per_em, num_glyphs, weight, outlines })
    }

    /// The glyph for `ch`, if the face has one (glyph 0, `.notdef`, does not count).
    pub fn glyph(&self, ch: char) -> Option<u16> {
        self.cmap.get(&(ch as u32)).copied().filter(|&g| g != 0 && g < self.num_glyphs)
    }

    /// Advance width of glyph `gid` in em.
    pub fn advance_em(&self, gid: u16) -> f32 {
        self.advance(gid) as f32 / self.units_per_em as f32
    }

    /// Advance width of glyph `gid` in font units.
    pub fn advance(&self, gid: u16) -> u16 {
        self.advances.get(gid as usize).copied().unwrap_or(0)
    }

    /// Whether the face is bold by design (otherwise bold text is emboldened when drawn).
    pub fn is_bold(&self) -> bool {
        self.weight >= 600
    }

    /// The raw bytes of table `tag`, if present.
    pub fn table(&self, tag: &[u8; 4]) -> Option<&[u8]> {
        self.tables.get(tag).map(|&(o, l)| &self.data[o..o + l])
    }
}

/// Number of faces in a font file (1 unless it is a collection; 0 if unreadable).
fn face_count(bytes: &[u8]) -> usize {
    if bytes.get(..4) == Some(b"ttcf") {
        be_u32(bytes, 8).map_or(0, |n| n as usize)
    } else if bytes.len() >= 12 {
        1
    } else {
        0
    }
}

/// Reads the best Unicode subtable: a full-repertoire format 12 if present, else format 4.
fn parse_cmap(cmap: &[u8]) -> Option<HashMap<u32, u16>> {
    let count = be_u16(cmap, 2)? as usize;
    let mut best: Option<(u8, usize)> = None; // (rank, offset)
    for i in 0..count {
        let rec = 4 + 8 * i;
        let platform = be_u16(cmap, rec)?;
        let encoding = be_u16(cmap, rec + 2)?;
        let offset = be_u32(cmap, rec + 4)? as usize;
        let format = be_u16(cmap, offset)?;
        let rank = match (platform, encoding, format) {
            (3, 10, 12) | (0, 4, 12) | (0, 6, 12) => 3,
            (3, 1, 4) => 2,
            (0, 3, 4) | (0, 0..=2, 4) => 1,
            _ => 0,
        };
        if rank > 0 && best.is_none_or(|(r, _)| rank > r) {
            best = Some((rank, offset));
        }
    }
    let (_, offset) = best?;
    let sub = cmap.get(offset..)?;
    let mut map = HashMap::new();
    match be_u16(sub, 0)? {
        4 => {
            let seg_count = be_u16(sub, 6)? as usize / 2;
            let ends = 14;
            let starts = ends + 2 * seg_count + 2;
            let deltas = starts + 2 * seg_count;
            let range_offsets = deltas + 2 * seg_count;
            for s in 0..seg_count {
                let end = be_u16(sub, ends + 2 * s)? as u32;
                let start = be_u16(sub, starts + 2 * s)? as u32;
                let delta = be_u16(sub, deltas + 2 * s)? as u32;
                let range_pos = range_offsets + 2 * s;
                let range_offset = be_u16(sub, range_pos)? as usize;
                if start > end {
                    continue;
                }
                for c in start..=end.min(0xFFFE) {
                    let gid = if range_offset == 0 {
                        (c + delta) & 0xFFFF
                    } else {
                        let at = range_pos + range_offset + 2 * (c - start) as usize;
                        match be_u16(sub, at) {
                            Some(0) | None => 0,
                            Some(g) => (g as u32 + delta) & 0xFFFF,
                        }
                    };
                    if gid != 0 {
                        map.insert(c, gid as u16);
                    }
                }
            }
        }
        12 => {
            let groups = be_u32(sub, 12)? as usize;
            for g in 0..groups {
                let rec = 16 + 12 * g;
                let start = be_u32(sub, rec)?;
                let end = be_u32(sub, rec + 4)?.min(0x10FFFF);
                let first = be_u32(sub, rec + 8)?;
                for c in start..=end {
                    let gid = first.checked_add(c - start)?;
                    if gid != 0 && gid <= u16::MAX as u32 {
                        map.insert(c, gid as u16);
                    }
                }
            }
        }
        _ => return None,
    }
    Some(map)
}

/// The PostScript name (name id 6) from a `name` table.
fn postscript_name(name: &[u8]) -> Option<String> {
    let count = be_u16(name, 2)? as usize;
    let strings = be_u16(name, 4)? as usize;
    for i in 0..count {
        let rec = 6 + 12 * i;
        let (platform, name_id) = (be_u16(name, rec)?, be_u16(name, rec + 6)?);
        if name_id != 6 {
            continue;
        }
        let len = be_u16(name, rec + 8)? as usize;
        let off = strings + be_u16(name, rec + 10)? as usize;
        let raw = name.get(off..off + len)?;
        let text = match platform {
            0 | 3 => {
                let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                String::from_utf16_lossy(&units)
            }
            _ => raw.iter().map(|&b| b as char).collect(),
        };
        if !text.is_empty() {
            return Some(text);
        }
    }
    None
}

/// A PDF font name may hold only printable ASCII without delimiters.
fn sanitize_name(name: &str) -> String {
    let cleaned: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect();
    if cleaned.is_empty() { "Font".to_string() } else { cleaned }
}

pub(crate) fn be_u16(data: &[u8], at: usize) -> Option<u16> {
    data.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

pub(crate) fn be_i16(data: &[u8], at: usize) -> Option<i16> {
    be_u16(data, at).map(|v| v as i16)
}

pub(crate) fn be_u32(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_fonts_cover_latin_and_chinese() {
        let fonts = Fonts::bundled().expect("bundled fonts parse");
        assert_eq!(fonts.missing_char("Revenue 3,267,515 — 97.3% · MoM +8.1%"), None);
        assert_eq!(fonts.missing_char("月度经营回顾 2026年10月，收入：达成率。"), None);
        assert_eq!(fonts.missing_char("ok \u{13000}"), Some('\u{13000}'));
        assert_eq!(fonts.face(0).name, "NotoSans-Regular");
        assert!(fonts.face(1).is_bold() && !fonts.face(2).is_bold());
    }

    #[test]
    fn measuring_falls_back_per_character() {
        let fonts = Fonts::bundled().expect("bundled fonts parse");
        let latin = fonts.measure("Revenue", 10.0, false);
        assert!(latin > 30.0 && latin < 45.0, "{latin}");
        assert!(fonts.measure("Revenue", 10.0, true) > latin);
        // A CJK ideograph is one em wide in Droid Sans Fallback.
        assert!((fonts.measure("收入", 10.0, false) - 20.0).abs() < 0.5);
        assert_eq!(fonts.face_for('收', false).map(|(face, _)| face), Some(2));
        assert_eq!(fonts.face_for('R', true).map(|(face, _)| face), Some(1));
    }

    #[test]
    fn a_missing_face_index_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("NotoSans-Regular.ttf");
        std::fs::write(&path, NOTO_SANS_REGULAR).expect("write");
        let fonts = Fonts::bundled().expect("bundled").with_extra(&[(path.clone(), 0)]).expect("extra");
        assert_eq!(fonts.face_for('A', true).map(|(face, _)| face), Some(3));
        let err = Fonts::bundled().expect("bundled").with_extra(&[(path, 2)]).expect_err("no face 2");
        assert!(matches!(err, FontError::NoSuchFace { index: 2, count: 1, .. }), "{err}");
    }
}
