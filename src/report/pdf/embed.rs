//! Font subsetting for embedding: each face the pages use is cut down to the glyphs that
//! are drawn, renumbered, and written as a standalone font program.
//!
//! printpdf only subsets with its `text_layout` feature, which this crate does not enable
//! (it pulls in a layout engine we do not use), so without this a Chinese report would carry
//! the whole 4 MB fallback font. TrueType (`glyf`) faces keep their hinting tables; CFF
//! faces (Noto CJK on Debian) are desubroutinized so that only the drawn glyphs' outlines
//! remain. The subset gets a `cmap` for exactly the characters drawn, and a name with a
//! subset tag (`ABCDEF+`, ISO 32000-1 §9.6.4) derived from its contents, so the same text
//! always gives the same bytes.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::report::fonts::{Face, Outlines, be_i16, be_u16, be_u32};

/// A subset font program, ready for `printpdf::ParsedFont::from_bytes`.
pub(super) struct Subset {
    /// A standalone sfnt (`glyf` or `OTTO`) holding only the glyphs drawn.
    pub bytes: Vec<u8>,
    /// `ABCDEF+PostScriptName`.
    pub base_font: String,
}

/// Subsets `face` to the glyphs of `chars` (character → glyph id in `face`).
///
/// # Errors
/// A message if the face's tables are malformed.
pub(super) fn subset(face: &Face, chars: &BTreeMap<char, u16>) -> Result<Subset, String> {
    let mut glyphs: Vec<u16> = std::iter::once(0).chain(chars.values().copied()).collect();
    glyphs.sort_unstable();
    glyphs.dedup();

    let (version, mut tables, glyphs) = match face.outlines {
        Outlines::TrueType { long_loca } => {
            let GlyfSubset { glyphs, glyf, loca } = subset_glyf(face, long_loca, glyphs)?;
            (0x0001_0000u32, vec![(*b"glyf", glyf), (*b"loca", loca)], glyphs)
        }
        Outlines::Cff => {
            let cff = face.table(b"CFF ").ok_or("no CFF table")?;
            (u32::from_be_bytes(*b"OTTO"), vec![(*b"CFF ", subset_cff(cff, &glyphs)?)], glyphs)
        }
    };
    let new_gid: BTreeMap<u16, u16> = glyphs.iter().enumerate().map(|(new, &old)| (old, new as u16)).collect();
    let n = glyphs.len() as u16;

    let mut head = face.table(b"head").ok_or("no head table")?.to_vec();
    if head.len() < 54 {
        return Err("head table too short".into());
    }
    head[8..12].fill(0);
    head[50..52].copy_from_slice(&1i16.to_be_bytes());
    tables.push((*b"head", head));

    let mut hhea = face.table(b"hhea").ok_or("no hhea table")?.to_vec();
    if hhea.len() < 36 {
        return Err("hhea table too short".into());
    }
    hhea[34..36].copy_from_slice(&n.to_be_bytes());
    tables.push((*b"hhea", hhea));

    let maxp = match face.outlines {
        Outlines::TrueType { .. } => {
            let mut maxp = face.table(b"maxp").ok_or("no maxp table")?.to_vec();
            if maxp.len() < 6 {
                return Err("maxp table too short".into());
            }
            maxp[4..6].copy_from_slice(&n.to_be_bytes());
            maxp
        }
        Outlines::Cff => [0x0000_5000u32.to_be_bytes().as_slice(), &n.to_be_bytes()].concat(),
    };
    tables.push((*b"maxp", maxp));

    let hmtx = face.table(b"hmtx").ok_or("no hmtx table")?;
    let hhea_orig = face.table(b"hhea").ok_or("no hhea table")?;
    let num_h_metrics = be_u16(hhea_orig, 34).ok_or("bad hhea")? as usize;
    let mut new_hmtx = Vec::with_capacity(4 * glyphs.len());
    for &g in &glyphs {
        let g = g as usize;
        let lsb_at = if g < num_h_metrics { 4 * g + 2 } else { 4 * num_h_metrics + 2 * (g - num_h_metrics) };
        new_hmtx.extend_from_slice(&face.advance(g as u16).to_be_bytes());
        new_hmtx.extend_from_slice(&be_i16(hmtx, lsb_at).unwrap_or(0).to_be_bytes());
    }
    tables.push((*b"hmtx", new_hmtx));

    let mapping: BTreeMap<u32, u16> = chars.iter().filter_map(|(&c, g)| Some((c as u32, *new_gid.get(g)?))).collect();
    tables.push((*b"cmap", cmap_format4(&mapping)));

    let mut post = vec![0u8; 32];
    if let Some(orig) = face.table(b"post") {
        let n = orig.len().min(32);
        post[..n].copy_from_slice(&orig[..n]);
    }
    post[0..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());
    tables.push((*b"post", post));

    let copied: &[&[u8; 4]] = match face.outlines {
        Outlines::TrueType { .. } => &[b"OS/2", b"cvt ", b"fpgm", b"prep", b"gasp"],
        Outlines::Cff => &[b"OS/2"],
    };
    for tag in copied {
        if let Some(table) = face.table(tag) {
            tables.push((**tag, table.to_vec()));
        }
    }

    let mut hasher = Sha256::new();
    hasher.update(face.name.as_bytes());
    for (c, g) in &mapping {
        hasher.update(c.to_be_bytes());
        hasher.update(g.to_be_bytes());
    }
    let tag: String = hasher.finalize().iter().take(6).map(|b| (b'A' + b % 26) as char).collect();
    Ok(Subset { bytes: write_sfnt(version, tables), base_font: format!("{tag}+{}", face.name) })
}

/// Copies the glyphs (and the components of composite glyphs) into new `glyf` and long
/// `loca` tables, renumbered in ascending order of their old ids.
/// The glyphs kept (ascending old ids, composite components included) and the new
/// `glyf` and `loca` tables.
struct GlyfSubset {
    glyphs: Vec<u16>,
    glyf: Vec<u8>,
    loca: Vec<u8>,
}

fn subset_glyf(face: &Face, long_loca: bool, mut glyphs: Vec<u16>) -> Result<GlyfSubset, String> {
    let glyf = face.table(b"glyf").ok_or("no glyf table")?;
    let loca = face.table(b"loca").ok_or("no loca table")?;
    let range = |g: u16| -> Result<&[u8], String> {
        let g = g as usize;
        let (start, end) = if long_loca {
            (be_u32(loca, 4 * g).map(|v| v as usize), be_u32(loca, 4 * g + 4).map(|v| v as usize))
        } else {
            (be_u16(loca, 2 * g).map(|v| 2 * v as usize), be_u16(loca, 2 * g + 2).map(|v| 2 * v as usize))
        };
        match (start, end) {
            (Some(s), Some(e)) if s <= e && e <= glyf.len() => Ok(&glyf[s..e]),
            _ => Err(format!("glyph {g} lies outside the glyf table")),
        }
    };

    // Composite glyphs draw other glyphs: add them until the set is closed.
    let mut todo = glyphs.clone();
    while let Some(g) = todo.pop() {
        for (_, component) in components(range(g)?)? {
            if let Err(at) = glyphs.binary_search(&component) {
                glyphs.insert(at, component);
                todo.push(component);
            }
        }
    }

    let new_gid: BTreeMap<u16, u16> = glyphs.iter().enumerate().map(|(new, &old)| (old, new as u16)).collect();
    let mut new_glyf = Vec::new();
    let mut new_loca = Vec::with_capacity(4 * (glyphs.len() + 1));
    for &g in &glyphs {
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        let data = range(g)?;
        let start = new_glyf.len();
        new_glyf.extend_from_slice(data);
        for (at, component) in components(data)? {
            let id = new_gid.get(&component).copied().unwrap_or(0);
            new_glyf[start + at..start + at + 2].copy_from_slice(&id.to_be_bytes());
        }
        while new_glyf.len() % 4 != 0 {
            new_glyf.push(0);
        }
    }
    new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
    Ok(GlyfSubset { glyphs, glyf: new_glyf, loca: new_loca })
}

/// The components of a composite glyph: (offset of the glyph index, glyph index).
fn components(glyph: &[u8]) -> Result<Vec<(usize, u16)>, String> {
    const ARGS_ARE_WORDS: u16 = 0x0001;
    const HAVE_SCALE: u16 = 0x0008;
    const MORE: u16 = 0x0020;
    const HAVE_XY_SCALE: u16 = 0x0040;
    const HAVE_2X2: u16 = 0x0080;
    let mut out = Vec::new();
    if glyph.len() < 10 || be_i16(glyph, 0).unwrap_or(0) >= 0 {
        return Ok(out);
    }
    let mut at = 10;
    loop {
        let flags = be_u16(glyph, at).ok_or("truncated composite glyph")?;
        let gid = be_u16(glyph, at + 2).ok_or("truncated composite glyph")?;
        out.push((at + 2, gid));
        at += 4 + if flags & ARGS_ARE_WORDS != 0 { 4 } else { 2 };
        at += if flags & HAVE_SCALE != 0 {
            2
        } else if flags & HAVE_XY_SCALE != 0 {
            4
        } else if flags & HAVE_2X2 != 0 {
            8
        } else {
            0
        };
        if flags & MORE == 0 {
            return Ok(out);
        }
    }
}

/// A `cmap` table with one format 4 subtable (Windows, Unicode BMP).
fn cmap_format4(mapping: &BTreeMap<u32, u16>) -> Vec<u8> {
    // Runs where both the character and the glyph id go up by one share a segment.
    let mut segments: Vec<(u16, u16, u16)> = Vec::new(); // (start, end, first gid)
    for (&c, &g) in mapping.range(..0xFFFF) {
        let c = c as u16;
        match segments.last_mut() {
            Some((start, end, first)) if c == end.wrapping_add(1) && g == first.wrapping_add(c - *start) => *end = c,
            _ => segments.push((c, c, g)),
        }
    }
    segments.push((0xFFFF, 0xFFFF, 0));
    let seg_count = segments.len() as u16;
    let entry_selector = 15 - seg_count.leading_zeros() as u16;
    let search_range = 2 * (1u16 << entry_selector);
    let mut sub = Vec::new();
    let length = 16 + 8 * seg_count;
    for v in [4, length, 0, 2 * seg_count, search_range, entry_selector, 2 * seg_count - search_range] {
        sub.extend_from_slice(&v.to_be_bytes());
    }
    for &(_, end, _) in &segments {
        sub.extend_from_slice(&end.to_be_bytes());
    }
    sub.extend_from_slice(&0u16.to_be_bytes());
    for &(start, _, _) in &segments {
        sub.extend_from_slice(&start.to_be_bytes());
    }
    for &(start, _, first) in &segments {
        let delta = if start == 0xFFFF { 1 } else { first.wrapping_sub(start) };
        sub.extend_from_slice(&delta.to_be_bytes());
    }
    for _ in &segments {
        sub.extend_from_slice(&0u16.to_be_bytes());
    }
    let mut cmap = Vec::new();
    for v in [0u16, 1, 3, 1] {
        cmap.extend_from_slice(&v.to_be_bytes());
    }
    cmap.extend_from_slice(&12u32.to_be_bytes());
    cmap.extend_from_slice(&sub);
    cmap
}

/// Writes an sfnt: the table directory, the tables (4-byte aligned), checksums, and
/// `head.checkSumAdjustment`.
fn write_sfnt(version: u32, mut tables: Vec<([u8; 4], Vec<u8>)>) -> Vec<u8> {
    tables.sort_by_key(|t| t.0);
    let n = tables.len() as u16;
    let entry_selector = 15 - n.leading_zeros() as u16;
    let search_range = 16 * (1u16 << entry_selector);
    let mut out = Vec::new();
    out.extend_from_slice(&version.to_be_bytes());
    for v in [n, search_range, entry_selector, 16 * n - search_range] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in &tables {
        if tag == b"head" {
            head_at = Some(offset);
        }
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().next_multiple_of(4);
    }
    for (_, data) in &tables {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    if let Some(at) = head_at {
        let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out[at + 8..at + 12].copy_from_slice(&adjustment.to_be_bytes());
    }
    out
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

// ---------------------------------------------------------------------------------------
// CFF (Compact Font Format, Adobe TN #5176; Type 2 charstrings, TN #5177)

const OP_CHARSET: u16 = 15;
const OP_ENCODING: u16 = 16;
const OP_CHARSTRINGS: u16 = 17;
const OP_PRIVATE: u16 = 18;
const OP_SUBRS: u16 = 19;
const OP_UNIQUE_ID: u16 = 13;
const OP_XUID: u16 = 14;
const OP_ROS: u16 = 1230;
const OP_CID_COUNT: u16 = 1234;
const OP_UID_BASE: u16 = 1235;
const OP_FD_ARRAY: u16 = 1236;
const OP_FD_SELECT: u16 = 1237;

/// An INDEX: the byte ranges of its items within the CFF table, and where it ends.
struct Index {
    items: Vec<(usize, usize)>,
    end: usize,
}

impl Index {
    fn read(cff: &[u8], at: usize) -> Result<Index, String> {
        let count = be_u16(cff, at).ok_or("truncated INDEX")? as usize;
        if count == 0 {
            return Ok(Index { items: Vec::new(), end: at + 2 });
        }
        let off_size = *cff.get(at + 2).ok_or("truncated INDEX")? as usize;
        if !(1..=4).contains(&off_size) {
            return Err("bad INDEX offset size".into());
        }
        let offset = |i: usize| -> Result<usize, String> {
            let p = at + 3 + i * off_size;
            let bytes = cff.get(p..p + off_size).ok_or("truncated INDEX")?;
            Ok(bytes.iter().fold(0usize, |v, &b| (v << 8) | b as usize))
        };
        let data = at + 3 + (count + 1) * off_size - 1;
        let mut items = Vec::with_capacity(count);
        let mut start = offset(0)?;
        for i in 1..=count {
            let end = offset(i)?;
            if end < start || data + end > cff.len() {
                return Err("INDEX item out of range".into());
            }
            items.push((data + start, data + end));
            start = end;
        }
        Ok(Index { items, end: data + start })
    }

    fn get<'a>(&self, cff: &'a [u8], i: usize) -> Option<&'a [u8]> {
        self.items.get(i).map(|&(s, e)| &cff[s..e])
    }
}

fn write_index(items: &[Vec<u8>]) -> Vec<u8> {
    if items.is_empty() {
        return vec![0, 0];
    }
    let total: usize = items.iter().map(Vec::len).sum::<usize>() + 1;
    let off_size = match total {
        0..=0xFF => 1,
        0x100..=0xFFFF => 2,
        0x1_0000..=0xFF_FFFF => 3,
        _ => 4,
    };
    let mut out = Vec::with_capacity(3 + (items.len() + 1) * off_size + total);
    out.extend_from_slice(&(items.len() as u16).to_be_bytes());
    out.push(off_size as u8);
    let mut offset = 1usize;
    out.extend_from_slice(&(offset as u32).to_be_bytes()[4 - off_size..]);
    for item in items {
        offset += item.len();
        out.extend_from_slice(&(offset as u32).to_be_bytes()[4 - off_size..]);
    }
    for item in items {
        out.extend_from_slice(item);
    }
    out
}

/// One DICT entry: its operator, integer operands, and its bytes (operands and operator).
struct DictEntry {
    op: u16,
    operands: Vec<i64>,
    raw: Vec<u8>,
}

fn parse_dict(d: &[u8]) -> Result<Vec<DictEntry>, String> {
    let mut entries = Vec::new();
    let mut operands = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < d.len() {
        let b0 = d[i];
        let byte = |k: usize| d.get(i + k).copied().ok_or_else(|| "truncated DICT".to_string());
        match b0 {
            0..=21 => {
                let (op, len) = if b0 == 12 { (1200 + byte(1)? as u16, 2) } else { (b0 as u16, 1) };
                i += len;
                entries.push(DictEntry { op, operands: std::mem::take(&mut operands), raw: d[start..i].to_vec() });
                start = i;
            }
            28 => {
                operands.push(i16::from_be_bytes([byte(1)?, byte(2)?]) as i64);
                i += 3;
            }
            29 => {
                operands.push(i32::from_be_bytes([byte(1)?, byte(2)?, byte(3)?, byte(4)?]) as i64);
                i += 5;
            }
            30 => {
                // A real: nibbles up to an 0xf terminator. Its value is never an offset.
                let end = d[i + 1..].iter().position(|b| b & 0x0F == 0x0F || b >> 4 == 0x0F).ok_or("truncated DICT")?;
                i += end + 2;
                operands.push(0);
            }
            32..=246 => {
                operands.push(b0 as i64 - 139);
                i += 1;
            }
            247..=250 => {
                operands.push((b0 as i64 - 247) * 256 + byte(1)? as i64 + 108);
                i += 2;
            }
            251..=254 => {
                operands.push(-(b0 as i64 - 251) * 256 - byte(1)? as i64 - 108);
                i += 2;
            }
            _ => return Err(format!("bad DICT byte {b0}")),
        }
    }
    Ok(entries)
}

fn dict_get(dict: &[DictEntry], op: u16) -> Option<&[i64]> {
    dict.iter().find(|e| e.op == op).map(|e| e.operands.as_slice())
}

/// An operator with fixed-width (5-byte) integer operands, so offsets can be filled in
/// after the layout is known without changing any size.
fn fixed_entry(out: &mut Vec<u8>, operands: &[i64], op: u16) {
    for &v in operands {
        out.push(29);
        out.extend_from_slice(&(v as i32).to_be_bytes());
    }
    if op >= 1200 {
        out.extend_from_slice(&[12, (op - 1200) as u8]);
    } else {
        out.push(op as u8);
    }
}

fn subr_bias(count: usize) -> i64 {
    if count < 1240 {
        107
    } else if count < 33900 {
        1131
    } else {
        32768
    }
}

/// Inlines every subroutine call of a Type 2 charstring, so the subset needs no
/// subroutines (which would otherwise carry most of a CJK font).
struct Desubroutinizer<'a> {
    cff: &'a [u8],
    global: &'a Index,
    local: Option<&'a Index>,
    out: Vec<u8>,
    /// Operand values and where each starts in `out` (a subroutine number is removed
    /// from the output when its call is inlined).
    stack: Vec<(i64, usize)>,
    stems: usize,
}

impl Desubroutinizer<'_> {
    /// Returns whether `endchar` was reached.
    fn run(&mut self, cs: &[u8], depth: usize) -> Result<bool, String> {
        if depth > 10 {
            return Err("subroutines nested too deeply".into());
        }
        let mut i = 0;
        while i < cs.len() {
            let b0 = cs[i];
            let need =
                |n: usize| -> Result<&[u8], String> { cs.get(i..i + n).ok_or_else(|| "truncated charstring".into()) };
            match b0 {
                28 => {
                    let b = need(3)?;
                    self.push(i16::from_be_bytes([b[1], b[2]]) as i64, b);
                    i += 3;
                }
                32..=246 => {
                    self.push(b0 as i64 - 139, need(1)?);
                    i += 1;
                }
                247..=250 => {
                    let b = need(2)?;
                    self.push((b0 as i64 - 247) * 256 + b[1] as i64 + 108, b);
                    i += 2;
                }
                251..=254 => {
                    let b = need(2)?;
                    self.push(-(b0 as i64 - 251) * 256 - b[1] as i64 - 108, b);
                    i += 2;
                }
                255 => {
                    let b = need(5)?;
                    self.push((i32::from_be_bytes([b[1], b[2], b[3], b[4]]) >> 16) as i64, b);
                    i += 5;
                }
                10 | 29 => {
                    let (n, at) = self.stack.pop().ok_or("subroutine call without a number")?;
                    self.out.truncate(at);
                    let index =
                        if b0 == 10 { self.local.ok_or("callsubr without local subroutines")? } else { self.global };
                    let k = n + subr_bias(index.items.len());
                    let subr = usize::try_from(k)
                        .ok()
                        .and_then(|k| index.get(self.cff, k))
                        .ok_or("subroutine out of range")?;
                    i += 1;
                    if self.run(subr, depth + 1)? {
                        return Ok(true);
                    }
                }
                11 => return Ok(false),
                14 => {
                    self.out.push(14);
                    return Ok(true);
                }
                1 | 3 | 18 | 23 => {
                    self.stems += self.stack.len() / 2;
                    self.op(&[b0]);
                    i += 1;
                }
                19 | 20 => {
                    self.stems += self.stack.len() / 2;
                    let mask = need(1 + self.stems.div_ceil(8))?;
                    self.op(mask);
                    i += mask.len();
                }
                12 => {
                    self.op(need(2)?);
                    i += 2;
                }
                _ => {
                    self.op(&[b0]);
                    i += 1;
                }
            }
        }
        Ok(false)
    }

    fn push(&mut self, value: i64, bytes: &[u8]) {
        self.stack.push((value, self.out.len()));
        self.out.extend_from_slice(bytes);
    }

    fn op(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        self.stack.clear();
    }
}

/// Glyph → SID (name-keyed) or CID (CID-keyed), from a charset.
fn parse_charset(cff: &[u8], offset: usize, num_glyphs: usize) -> Result<Vec<u16>, String> {
    let mut ids = vec![0u16];
    if offset == 0 {
        // ISOAdobe: SID = glyph id.
        return Ok((0..num_glyphs as u16).collect());
    }
    if offset <= 2 {
        return Err("predefined Expert charsets are not supported".into());
    }
    let format = *cff.get(offset).ok_or("truncated charset")?;
    let mut at = offset + 1;
    while ids.len() < num_glyphs {
        match format {
            0 => {
                ids.push(be_u16(cff, at).ok_or("truncated charset")?);
                at += 2;
            }
            1 | 2 => {
                let first = be_u16(cff, at).ok_or("truncated charset")?;
                let left = if format == 1 {
                    *cff.get(at + 2).ok_or("truncated charset")? as u16
                } else {
                    be_u16(cff, at + 2).ok_or("truncated charset")?
                };
                at += if format == 1 { 3 } else { 4 };
                for k in 0..=left {
                    ids.push(first.wrapping_add(k));
                }
            }
            _ => return Err(format!("bad charset format {format}")),
        }
    }
    ids.truncate(num_glyphs);
    Ok(ids)
}

fn parse_fd_select(cff: &[u8], offset: usize, num_glyphs: usize) -> Result<Vec<u8>, String> {
    match cff.get(offset) {
        Some(0) => {
            cff.get(offset + 1..offset + 1 + num_glyphs).map(<[u8]>::to_vec).ok_or_else(|| "truncated FDSelect".into())
        }
        Some(3) => {
            let ranges = be_u16(cff, offset + 1).ok_or("truncated FDSelect")? as usize;
            let mut fds = vec![0u8; num_glyphs];
            for r in 0..ranges {
                let at = offset + 3 + 3 * r;
                let first = be_u16(cff, at).ok_or("truncated FDSelect")? as usize;
                let fd = *cff.get(at + 2).ok_or("truncated FDSelect")?;
                let end = be_u16(cff, at + 3).ok_or("truncated FDSelect")? as usize;
                for slot in fds.iter_mut().take(end.min(num_glyphs)).skip(first) {
                    *slot = fd;
                }
            }
            Ok(fds)
        }
        _ => Err("bad FDSelect format".into()),
    }
}

/// A private DICT without its `Subrs` (the subset has none), and the local
/// subroutines it pointed to.
type Private = (Vec<u8>, Option<Index>);

fn private_without_subrs(cff: &[u8], size: usize, offset: usize) -> Result<Private, String> {
    let data = cff.get(offset..offset + size).ok_or("private DICT out of range")?;
    let dict = parse_dict(data)?;
    let local = match dict_get(&dict, OP_SUBRS).and_then(|o| o.first()) {
        Some(&rel) => Some(Index::read(cff, offset + rel as usize)?),
        None => None,
    };
    let raw = dict.iter().filter(|e| e.op != OP_SUBRS).flat_map(|e| e.raw.iter().copied()).collect();
    Ok((raw, local))
}

/// A new CFF table with only `glyphs` (ascending old ids; the subset renumbers them
/// 0..n), no subroutines, and for CID-keyed fonts an identity charset (CID = glyph id).
fn subset_cff(cff: &[u8], glyphs: &[u16]) -> Result<Vec<u8>, String> {
    let header_size = *cff.get(2).ok_or("truncated CFF header")? as usize;
    let names = Index::read(cff, header_size)?;
    let top_dicts = Index::read(cff, names.end)?;
    let strings = Index::read(cff, top_dicts.end)?;
    let global = Index::read(cff, strings.end)?;
    let top = parse_dict(top_dicts.get(cff, 0).ok_or("no top DICT")?)?;
    if dict_get(&top, 1206).and_then(|o| o.first()).is_some_and(|&t| t != 2) {
        return Err("only Type 2 charstrings are supported".into());
    }
    let offset_of = |op: u16| dict_get(&top, op).and_then(|o| o.first()).map(|&v| v as usize);
    let charstrings = Index::read(cff, offset_of(OP_CHARSTRINGS).ok_or("no CharStrings")?)?;
    let num_glyphs = charstrings.items.len();
    let cid_keyed = dict_get(&top, OP_ROS).is_some();

    // Per glyph: its private DICT (font DICT index for CID-keyed fonts).
    let (fd_select, privates, fd_dicts): (Vec<u8>, Vec<Private>, Vec<Vec<DictEntry>>) = if cid_keyed {
        let fd_array = Index::read(cff, offset_of(OP_FD_ARRAY).ok_or("no FDArray")?)?;
        let fd_select = parse_fd_select(cff, offset_of(OP_FD_SELECT).ok_or("no FDSelect")?, num_glyphs)?;
        let mut privates = Vec::new();
        let mut dicts = Vec::new();
        for k in 0..fd_array.items.len() {
            let fd = parse_dict(fd_array.get(cff, k).ok_or("bad FDArray")?)?;
            let private = dict_get(&fd, OP_PRIVATE).ok_or("font DICT without Private")?;
            let (size, offset) =
                (*private.first().ok_or("bad Private")? as usize, *private.get(1).ok_or("bad Private")? as usize);
            privates.push(private_without_subrs(cff, size, offset)?);
            dicts.push(fd);
        }
        (fd_select, privates, dicts)
    } else {
        let private = dict_get(&top, OP_PRIVATE).ok_or("no Private DICT")?;
        let (size, offset) =
            (*private.first().ok_or("bad Private")? as usize, *private.get(1).ok_or("bad Private")? as usize);
        (vec![0; num_glyphs], vec![private_without_subrs(cff, size, offset)?], Vec::new())
    };

    let mut new_charstrings = Vec::with_capacity(glyphs.len());
    let mut new_fd_select = Vec::with_capacity(glyphs.len());
    for &g in glyphs {
        let g = g as usize;
        let cs = charstrings.get(cff, g).ok_or("glyph out of range")?;
        let fd = *fd_select.get(g).ok_or("glyph without FDSelect entry")?;
        let local = privates.get(fd as usize).ok_or("FDSelect points past FDArray")?.1.as_ref();
        let mut d = Desubroutinizer {
            cff,
            global: &global,
            local,
            out: Vec::with_capacity(cs.len() * 2),
            stack: Vec::new(),
            stems: 0,
        };
        d.run(cs, 0)?;
        new_charstrings.push(d.out);
        new_fd_select.push(fd);
    }

    let charset = if cid_keyed {
        if glyphs.len() > 1 {
            let mut c = vec![2];
            c.extend_from_slice(&1u16.to_be_bytes());
            c.extend_from_slice(&(glyphs.len() as u16 - 2).to_be_bytes());
            c
        } else {
            vec![0]
        }
    } else {
        let sids = parse_charset(cff, offset_of(OP_CHARSET).unwrap_or(0), num_glyphs)?;
        let mut c = vec![0];
        for &g in &glyphs[1..] {
            c.extend_from_slice(&sids.get(g as usize).copied().unwrap_or(0).to_be_bytes());
        }
        c
    };
    let fd_select_bytes: Vec<u8> = std::iter::once(0).chain(new_fd_select).collect();
    let charstrings_index = write_index(&new_charstrings);

    // Top DICT: everything but what points at rewritten data, then fixed-width pointers.
    let dropped = [
        OP_CHARSET,
        OP_ENCODING,
        OP_CHARSTRINGS,
        OP_PRIVATE,
        OP_FD_ARRAY,
        OP_FD_SELECT,
        OP_CID_COUNT,
        OP_UID_BASE,
        OP_XUID,
        OP_UNIQUE_ID,
    ];
    let kept_top: Vec<u8> =
        top.iter().filter(|e| !dropped.contains(&e.op)).flat_map(|e| e.raw.iter().copied()).collect();
    let build_top = |charset_at: i64, charstrings_at: i64, fd_select_at: i64, fd_array_at: i64, private: (i64, i64)| {
        let mut t = kept_top.clone();
        fixed_entry(&mut t, &[charset_at], OP_CHARSET);
        fixed_entry(&mut t, &[charstrings_at], OP_CHARSTRINGS);
        if cid_keyed {
            fixed_entry(&mut t, &[glyphs.len() as i64], OP_CID_COUNT);
            fixed_entry(&mut t, &[fd_select_at], OP_FD_SELECT);
            fixed_entry(&mut t, &[fd_array_at], OP_FD_ARRAY);
        } else {
            fixed_entry(&mut t, &[private.0, private.1], OP_PRIVATE);
        }
        t
    };
    let build_fd_array = |private_at: &[i64]| -> Vec<u8> {
        let dicts: Vec<Vec<u8>> = fd_dicts
            .iter()
            .zip(private_at)
            .zip(&privates)
            .map(|((fd, &at), (private, _))| {
                let mut d: Vec<u8> =
                    fd.iter().filter(|e| e.op != OP_PRIVATE).flat_map(|e| e.raw.iter().copied()).collect();
                fixed_entry(&mut d, &[private.len() as i64, at], OP_PRIVATE);
                d
            })
            .collect();
        write_index(&dicts)
    };

    let names_raw = &cff[header_size..names.end];
    let strings_raw = &cff[top_dicts.end..strings.end];
    let top_len = write_index(&[build_top(0, 0, 0, 0, (0, 0))]).len();
    let fd_array_len = build_fd_array(&vec![0; privates.len()]).len();

    let mut at = 4 + names_raw.len() + top_len + strings_raw.len() + 2;
    let charset_at = at;
    at += charset.len();
    let fd_select_at = at;
    if cid_keyed {
        at += fd_select_bytes.len();
    }
    let charstrings_at = at;
    at += charstrings_index.len();
    let fd_array_at = at;
    if cid_keyed {
        at += fd_array_len;
    }
    let mut private_at = Vec::new();
    for (private, _) in &privates {
        private_at.push(at as i64);
        at += private.len();
    }

    let mut out = Vec::with_capacity(at);
    out.extend_from_slice(&[1, 0, 4, 4]);
    out.extend_from_slice(names_raw);
    let first_private = (privates.first().map_or(0, |p| p.0.len()) as i64, private_at.first().copied().unwrap_or(0));
    out.extend_from_slice(&write_index(&[build_top(
        charset_at as i64,
        charstrings_at as i64,
        fd_select_at as i64,
        fd_array_at as i64,
        first_private,
    )]));
    out.extend_from_slice(strings_raw);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&charset);
    if cid_keyed {
        out.extend_from_slice(&fd_select_bytes);
    }
    out.extend_from_slice(&charstrings_index);
    if cid_keyed {
        out.extend_from_slice(&build_fd_array(&private_at));
    }
    for (private, _) in &privates {
        out.extend_from_slice(private);
    }
    debug_assert_eq!(out.len(), at);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fonts::Fonts;

    fn chars(fonts: &Fonts, face: usize, text: &str) -> BTreeMap<char, u16> {
        text.chars().filter_map(|c| Some((c, fonts.face(face).glyph(c)?))).collect()
    }

    #[test]
    fn truetype_subset_keeps_only_the_drawn_glyphs_and_parses() {
        let fonts = Fonts::bundled().expect("fonts");
        let used = chars(&fonts, 2, "收入达成率");
        let subset = subset(fonts.face(2), &used).expect("subset");
        assert!(subset.bytes.len() < 20_000, "{} bytes", subset.bytes.len());
        let (tag, name) = subset.base_font.split_once('+').expect("subset tag");
        assert!(tag.len() == 6 && tag.chars().all(|c| c.is_ascii_uppercase()), "{tag}");
        assert_eq!(name, fonts.face(2).name);
        let mut warnings = Vec::new();
        let parsed =
            printpdf::ParsedFont::from_bytes(&subset.bytes, 0, &mut warnings).expect("printpdf parses the subset");
        let mut gids: Vec<u16> = "收入达成率".chars().filter_map(|c| parsed.lookup_glyph_index(c as u32)).collect();
        gids.sort_unstable();
        assert_eq!(gids, vec![1, 2, 3, 4, 5]);
        // Same characters, same bytes and name.
        let again = super::subset(fonts.face(2), &used).expect("subset");
        assert_eq!(again.bytes, subset.bytes);
        assert_eq!(again.base_font, subset.base_font);
    }

    #[test]
    fn index_round_trips() {
        let items = vec![b"abc".to_vec(), Vec::new(), vec![7; 300]];
        let bytes = write_index(&items);
        let index = Index::read(&bytes, 0).expect("index");
        assert_eq!(index.end, bytes.len());
        for (i, item) in items.iter().enumerate() {
            assert_eq!(index.get(&bytes, i), Some(item.as_slice()));
        }
    }
}
