//! Text from a probe or the network, made safe to show.
//!
//! Reports carry text nobody here wrote: certificate names, error details,
//! a probe's configured merchant. Shown as it is, such text can drive a
//! terminal (ESC and the other control characters start escape sequences)
//! or make a spreadsheet or an editor show something other than what is
//! there (Unicode direction overrides reorder a line; zero-width characters
//! make two different ids look alike). [`escape`] writes every such
//! character as a visible escape instead — controls as `\xNN` (C0, DEL and
//! C1, newline and tab included), the others as `\u{XXXX}` — so the text
//! keeps its information and loses its power. [`is_hidden`] names the
//! non-control ones, for fields that refuse them outright (a probe id).

use std::borrow::Cow;

/// Unicode characters that change how text around them is shown without
/// showing themselves: direction marks, embeddings, overrides and isolates
/// (U+061C, U+200E/F, U+202A–E, U+2066–9), zero-width characters and the
/// byte-order mark (U+200B–D, U+2060, U+FEFF), and the line and paragraph
/// separators (U+2028/9), which break a line where no newline is seen.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// `text` with every control character written as `\xNN` and every
/// [`is_hidden`] character as `\u{XXXX}`; borrowed when there is none.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || is_hidden(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else if is_hidden(c) {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_hidden_characters_become_visible() {
        for (text, want) in [
            ("toulouse", "toulouse"),
            ("é – 日本", "é – 日本"),
            ("\u{1b}[31mred", "\\x1b[31mred"),
            ("a\0b\u{7f}\u{9b}", "a\\x00b\\x7f\\x9b"),
            ("l1\nl2\tx\r", "l1\\x0al2\\x09x\\x0d"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
            ("p\u{200b}1\u{feff}", "p\\u{200b}1\\u{feff}"),
            ("\u{061c}\u{2028}", "\\u{061c}\\u{2028}"),
        ] {
            assert_eq!(escape(text), want, "{text:?}");
        }
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn what_is_hidden() {
        for c in [
            '\u{202a}', '\u{202e}', '\u{2067}', '\u{200d}', '\u{2060}', '\u{feff}',
        ] {
            assert!(is_hidden(c), "{c:?}");
        }
        // Ordinary punctuation around those ranges stays.
        for c in ['a', '\u{2010}', '\u{2030}', '\u{2065}', '\u{206a}', '€'] {
            assert!(!is_hidden(c), "{c:?}");
        }
    }
}
