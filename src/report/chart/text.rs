//! Text measurement without a font engine: widths estimated from the advance widths of the
//! bundled report font (Noto Sans, `report-templates/fonts/`), which the PDF draws with and
//! the HTML page asks for first. Labels are laid out with these widths, so the estimate
//! errs wide: a label that is a little short of its room looks fine; one that overlaps
//! does not.

/// Advance widths of ASCII 0x20..=0x7e in Noto Sans Regular, in thousandths of an em.
#[rustfmt::skip]
const REGULAR: [u16; 95] = [
    260, 269, 408, 646, 572, 831, 732, 225, 300, 300, 551, 572, 268, 322, 268, 372, 572, 572, 572, 572, 572, 572, 572, 572,
    572, 572, 268, 268, 572, 572, 572, 434, 899, 639, 650, 632, 730, 556, 519, 728, 741, 339, 273, 619, 524, 907, 760, 781,
    605, 781, 622, 549, 556, 731, 600, 930, 586, 566, 572, 329, 372, 329, 572, 444, 281, 561, 615, 480, 615, 564, 344, 615,
    618, 258, 258, 534, 258, 935, 618, 605, 615, 615, 413, 479, 361, 618, 508, 786, 529, 510, 470, 380, 551, 380, 572,
];

/// The same for Noto Sans Bold.
#[rustfmt::skip]
const BOLD: [u16; 95] = [
    260, 286, 472, 646, 572, 901, 750, 266, 339, 339, 545, 572, 285, 322, 285, 413, 572, 572, 572, 572, 572, 572, 572, 572,
    572, 572, 285, 285, 572, 572, 572, 477, 897, 690, 672, 637, 740, 560, 549, 724, 765, 389, 331, 664, 565, 943, 813, 796,
    628, 796, 660, 551, 579, 756, 650, 967, 667, 624, 579, 331, 413, 331, 572, 411, 362, 604, 633, 514, 633, 591, 387, 633,
    657, 305, 305, 620, 305, 982, 657, 619, 633, 633, 454, 497, 434, 657, 569, 856, 578, 569, 488, 394, 551, 394, 572,
];

/// The ellipsis that marks truncated labels.
pub(super) const ELLIPSIS: char = '…';

/// Whether `c` is drawn a full em wide: CJK ideographs, kana, hangul and full-width forms.
fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115f
        | 0x2e80..=0x303e
        | 0x3041..=0x33ff
        | 0x3400..=0x4dbf
        | 0x4e00..=0x9fff
        | 0xa000..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x20000..=0x3fffd)
}

/// The estimated advance of `c`, in ems.
fn char_em(c: char, bold: bool) -> f64 {
    let table = if bold { &BOLD } else { &REGULAR };
    match c as u32 {
        code @ 0x20..=0x7e => f64::from(table[(code - 0x20) as usize]) / 1000.0,
        _ if is_wide(c) => 1.0,
        _ if c == ELLIPSIS || c == '—' => 1.0,
        // Accented Latin, Greek, Cyrillic: about a lowercase letter, rounded up.
        _ => 0.62,
    }
}

/// The estimated width of `text` at `size` points.
pub(super) fn width(text: &str, size: f64, bold: bool) -> f64 {
    text.chars().map(|c| char_em(c, bold)).sum::<f64>() * size
}

/// `text` cut to fit `max_width`, ending in `…` when cut. Gives `…` alone when not even a
/// character fits next to it, and an empty string when not even that fits.
pub(super) fn truncate(text: &str, size: f64, bold: bool, max_width: f64) -> String {
    if width(text, size, bold) <= max_width {
        return text.to_string();
    }
    let room = max_width - char_em(ELLIPSIS, bold) * size;
    if room < 0.0 {
        return String::new();
    }
    let mut kept = String::new();
    let mut used = 0.0;
    for c in text.chars() {
        let w = char_em(c, bold) * size;
        if used + w > room {
            break;
        }
        used += w;
        kept.push(c);
    }
    let mut kept = kept.trim_end().to_string();
    kept.push(ELLIPSIS);
    kept
}

/// `text` broken into at most `max_lines` lines of `max_width`: at spaces, or between any
/// two CJK characters (which need no spaces); the last line is truncated when the rest does
/// not fit.
pub(super) fn wrap(text: &str, size: f64, bold: bool, max_width: f64, max_lines: usize) -> Vec<String> {
    let text = text.trim();
    if max_lines <= 1 || width(text, size, bold) <= max_width {
        return vec![truncate(text, size, bold, max_width)];
    }
    // Break opportunities: (token, whether a space precedes it).
    let mut tokens: Vec<(String, bool)> = Vec::new();
    let mut space_before = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space_before = true;
            continue;
        }
        let starts_token =
            is_wide(c) || space_before || tokens.last().is_none_or(|(t, _)| t.chars().last().is_some_and(is_wide));
        if starts_token {
            tokens.push((c.to_string(), space_before));
        } else if let Some((t, _)) = tokens.last_mut() {
            t.push(c);
        }
        space_before = false;
    }
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, (token, spaced)) in tokens.iter().enumerate() {
        let candidate = if current.is_empty() {
            token.clone()
        } else if *spaced {
            format!("{current} {token}")
        } else {
            format!("{current}{token}")
        };
        if current.is_empty() || width(&candidate, size, bold) <= max_width {
            current = candidate;
            continue;
        }
        lines.push(std::mem::take(&mut current));
        if lines.len() == max_lines - 1 {
            // The last line takes everything left, truncated if need be.
            let rest: String = tokens[i..]
                .iter()
                .enumerate()
                .map(|(j, (t, s))| if j > 0 && *s { format!(" {t}") } else { t.clone() })
                .collect();
            lines.push(rest);
            current.clear();
            break;
        }
        current = token.clone();
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines.into_iter().map(|l| truncate(&l, size, bold, max_width)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_with_an_ellipsis_only_when_needed() {
        assert_eq!(truncate("North", 8.0, false, 100.0), "North");
        let cut = truncate("A very long category name indeed", 8.0, false, 60.0);
        assert!(cut.ends_with('…') && width(&cut, 8.0, false) <= 60.0, "{cut}");
        assert_eq!(truncate("Anything", 8.0, false, 3.0), "");
    }

    #[test]
    fn wraps_at_spaces_and_between_cjk_characters() {
        assert_eq!(wrap("North America", 8.0, false, 40.0, 2), vec!["North", "America"]);
        let zh = wrap("华东地区直销渠道合作", 8.0, false, 34.0, 2);
        assert_eq!(zh, vec!["华东地区", "直销渠…"]);
        let three = wrap("one two three four five six", 8.0, false, 30.0, 2);
        assert_eq!(three.len(), 2);
        assert!(three[1].ends_with('…'), "{three:?}");
    }
}
