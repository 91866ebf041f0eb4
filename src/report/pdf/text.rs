//! Line breaking: text is wrapped at spaces, and Chinese (or any CJK text) between any two
//! characters, except before closing and after opening punctuation (kinsoku). A word wider
//! than the line is broken between characters rather than running into the margin.

use crate::report::fonts::Fonts;

/// How a run of text is set: size in points, and bold or not.
#[derive(Debug, Clone, Copy)]
pub(super) struct Font {
    pub size: f32,
    pub bold: bool,
}

impl Font {
    pub fn regular(size: f32) -> Font {
        Font { size, bold: false }
    }

    pub fn bold(size: f32) -> Font {
        Font { size, bold: true }
    }

    pub fn width(self, fonts: &Fonts, text: &str) -> f32 {
        fonts.measure(text, self.size, self.bold)
    }
}

/// Wraps `text` into lines no wider than `width`; `\n` starts a new line. Never returns
/// an empty list (an empty text is one empty line).
pub(super) fn wrap(fonts: &Fonts, text: &str, font: Font, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let paragraph = paragraph.trim_end_matches('\r');
        let mut line = String::new();
        let mut line_width = 0.0f32; // including trailing spaces
        for unit in units(paragraph) {
            let unit_width = font.width(fonts, unit);
            let ink_width = font.width(fonts, unit.trim_end());
            if line_width + ink_width <= width {
                line.push_str(unit);
                line_width += unit_width;
                continue;
            }
            if !line.is_empty() {
                lines.push(line.trim_end().to_string());
                line.clear();
                line_width = 0.0;
            }
            let unit = unit.trim_start();
            if font.width(fonts, unit.trim_end()) <= width {
                line.push_str(unit);
                line_width = font.width(fonts, unit);
                continue;
            }
            // A word wider than the line: break it between characters.
            for ch in unit.chars() {
                let w = font.width(fonts, ch.encode_utf8(&mut [0; 4]));
                if !line.is_empty() && line_width + w > width && !ch.is_whitespace() {
                    lines.push(line.trim_end().to_string());
                    line.clear();
                    line_width = 0.0;
                }
                line.push(ch);
                line_width += w;
            }
        }
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// Wrapped lines joined back into one text: with a space, except where a CJK character
/// meets the break (those scripts have no spaces to restore).
pub(super) fn join_lines(lines: &[String]) -> String {
    let mut out = String::new();
    for line in lines {
        let cjk_break = out.chars().next_back().is_some_and(is_cjk) || line.chars().next().is_some_and(is_cjk);
        if !out.is_empty() && !cjk_break {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

/// The width of the widest unit of `text` that is never broken (a word, or one CJK
/// character): the narrowest a column can be without breaking words.
pub(super) fn widest_unit(fonts: &Fonts, text: &str, font: Font) -> f32 {
    text.split('\n').flat_map(units).map(|u| font.width(fonts, u.trim())).fold(0.0, f32::max)
}

/// Splits text into units that are never broken inside: a word with the spaces after it,
/// or one CJK character with the punctuation that must stay with it.
fn units(text: &str) -> Vec<&str> {
    let mut units = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    for (i, ch) in text.char_indices() {
        if let Some(p) = prev
            && i > start
            && may_break_between(p, ch)
        {
            units.push(&text[start..i]);
            start = i;
        }
        prev = Some(ch);
    }
    if start < text.len() {
        units.push(&text[start..]);
    }
    units
}

fn may_break_between(before: char, after: char) -> bool {
    if after.is_whitespace() || no_break_before(after) || no_break_after(before) {
        return false;
    }
    if before.is_whitespace() {
        return true;
    }
    if is_cjk(before) || is_cjk(after) {
        return true;
    }
    // Hyphenated compounds may break after the hyphen.
    before == '-' && after.is_alphabetic()
}

/// Scripts written without spaces, which break between any two characters.
pub(super) fn is_cjk(ch: char) -> bool {
    matches!(ch as u32,
        0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Closing punctuation that may not start a line.
fn no_break_before(ch: char) -> bool {
    matches!(
        ch,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '）'
            | '」'
            | '』'
            | '】'
            | '》'
            | '〉'
            | '”'
            | '’'
            | '％'
            | '…'
            | '·'
            | '．'
            | ','
            | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | ')'
            | ']'
            | '}'
            | '%'
    )
}

/// Opening punctuation that may not end a line.
fn no_break_after(ch: char) -> bool {
    matches!(ch, '（' | '「' | '『' | '【' | '《' | '〈' | '“' | '‘' | '(' | '[' | '{' | '¥' | '$' | '€' | '£')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_between_chinese_characters() {
        let fonts = Fonts::bundled().expect("fonts");
        let font = Font::regular(10.0);
        let lines = wrap(&fonts, "Revenue grew in every region this month", font, 100.0);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(font.width(&fonts, line) <= 100.0, "{line}");
            assert!(!line.starts_with(' ') && !line.ends_with(' '));
        }
        assert_eq!(lines.join(" "), "Revenue grew in every region this month");

        // Ten ideographs per 100 pt at 10 pt; the comma stays with the character before it.
        let lines = wrap(&fonts, "本月收入环比增长百分之八，同比增长百分之二十一。", font, 100.0);
        assert_eq!(lines.concat(), "本月收入环比增长百分之八，同比增长百分之二十一。");
        assert!(lines.iter().all(|l| !l.starts_with('，') && !l.starts_with('。')), "{lines:?}");
        assert!(lines.len() >= 3);

        let lines = wrap(&fonts, "Supercalifragilisticexpialidocious", font, 60.0);
        assert!(lines.len() > 1 && lines.iter().all(|l| font.width(&fonts, l) <= 60.0), "{lines:?}");
        assert_eq!(wrap(&fonts, "a\nb", font, 100.0), vec!["a", "b"]);
        assert_eq!(wrap(&fonts, "", font, 100.0), vec![""]);
    }
}
