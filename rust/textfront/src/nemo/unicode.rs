//! Character classes and string transforms with the exact semantics of CPython 3.11 (`str.upper`,
//! `str.isspace`, `\d`, `unicodedata.category(c) == "Mn"`), plus NeMo's text preprocessing.

use std::borrow::Cow;
use std::cmp::Ordering;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use super::tables::{DECIMAL_DIGIT, NONSPACING_MARK, UNASSIGNED, UPPER};

fn in_ranges(table: &[(u32, u32)], c: char) -> bool {
    let cp = c as u32;
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                Ordering::Less
            } else if lo > cp {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        })
        .is_ok()
}

/// General category `Mn` (non-spacing mark).
#[inline]
pub(crate) fn is_nonspacing_mark(c: char) -> bool {
    (c as u32) >= 0x300 && in_ranges(NONSPACING_MARK, c)
}

/// Python's `\d` for `str` patterns (general category `Nd`).
#[inline]
pub(crate) fn is_decimal(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_ranges(DECIMAL_DIGIT, c)
    }
}

pub(crate) use crate::pyunicode::is_py_space;

/// Appends Python's `c.upper()` to `out`.
#[inline]
pub(crate) fn push_upper(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_uppercase());
        return;
    }
    match UPPER.binary_search_by_key(&(c as u32), |&(cp, _)| cp) {
        Ok(i) => out.push_str(UPPER[i].1),
        Err(_) => out.push(c),
    }
}

/// Python's `s.upper()`; borrows when nothing changes.
pub(crate) fn py_upper(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(s.to_ascii_uppercase())
        } else {
            Cow::Borrowed(s)
        }
    } else {
        let mut out = String::with_capacity(s.len() + 4);
        for c in s.chars() {
            push_upper(c, &mut out);
        }
        if out == s {
            Cow::Borrowed(s)
        } else {
            Cow::Owned(out)
        }
    }
}

/// Not assigned in Unicode 14.0 (so CPython 3.11 never decomposes, reorders or composes it).
#[inline]
fn is_unassigned(c: char) -> bool {
    !c.is_ascii() && in_ranges(UNASSIGNED, c)
}

/// Applies `f` (a normalization of one run of text, appending to `out`) to the runs between
/// characters unassigned in Unicode 14.0, and copies those characters through unchanged. They are
/// starters without mappings for CPython, so normalization never crosses them; this keeps newer
/// Unicode data in the normalization crate from changing results.
fn normalize_runs(text: &str, out: &mut String, mut f: impl FnMut(&str, &mut String)) {
    let mut run_start = 0;
    for (i, c) in text.char_indices() {
        if is_unassigned(c) {
            f(&text[run_start..i], out);
            out.push(c);
            run_start = i + c.len_utf8();
        }
    }
    f(&text[run_start..], out);
}

/// NeMo's `english_text_preprocessing(text, lower=False)`: canonical decomposition, removal of
/// non-spacing marks, and the LJSpeech "synoglyph" map (curly quotes to ASCII).
pub(crate) fn english_preprocess(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    normalize_runs(text, &mut out, |run, out| {
        for c in run.nfd() {
            if is_nonspacing_mark(c) {
                continue;
            }
            out.push(match c {
                '\u{2019}' => '\'',
                '\u{201c}' | '\u{201d}' => '"',
                _ => c,
            });
        }
    });
    Cow::Owned(out)
}

/// Unicode NFC, borrowing when the text is already in NFC.
pub(crate) fn nfc(text: Cow<'_, str>) -> Cow<'_, str> {
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    normalize_runs(&text, &mut out, |run, out| out.extend(run.nfc()));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_upper_special_cases() {
        assert_eq!(py_upper("straße"), "STRASSE");
        assert_eq!(py_upper("ﬁ"), "FI");
        assert_eq!(py_upper("ı"), "I");
        assert_eq!(py_upper("µ"), "\u{39c}");
        assert_eq!(py_upper("ŉ"), "\u{2bc}N");
        // Not cased in Unicode 14 (Python 3.11), although newer Unicode versions give it a capital.
        assert_eq!(py_upper("\u{19b}"), "\u{19b}");
        assert!(matches!(py_upper("ABC 1"), Cow::Borrowed(_)));
    }

    #[test]
    fn character_classes() {
        assert!(is_decimal('7') && is_decimal('٣') && is_decimal('\u{1d7ce}'));
        assert!(!is_decimal('½') && !is_decimal('²') && !is_decimal('a'));
        assert!(is_nonspacing_mark('\u{301}') && !is_nonspacing_mark('a'));
        assert!(!is_nonspacing_mark('\u{903}')); // Mc, kept by NeMo
        for c in ['\u{1c}', '\u{1f}', '\u{85}', '\u{a0}', '\u{3000}', '\x0b'] {
            assert!(is_py_space(c));
        }
        assert!(!is_py_space('\u{200b}') && !is_py_space('\u{180e}'));
    }

    #[test]
    fn preprocessing() {
        assert_eq!(english_preprocess("Café’s “x”"), "Cafe's \"x\"");
        assert_eq!(english_preprocess("\u{212b}ǅ"), "Aǅ"); // singleton decomposition; no compatibility mapping
                                                           // Hangul decomposes to conjoining jamo (Lo, kept); NFC puts the syllable back together.
        let d = english_preprocess("한");
        assert_eq!(d.chars().count(), 3);
        assert_eq!(nfc(d), "한");
        // Unicode 16 gives U+105C9 a canonical decomposition; Unicode 14 (CPython 3.11) does not
        // know the character, and U+0897 (a Unicode 16 mark) is not removed either.
        assert_eq!(english_preprocess("\u{105c9}a\u{897}"), "\u{105c9}a\u{897}");
        assert_eq!(nfc(Cow::Borrowed("\u{105d2}\u{307}")), "\u{105d2}\u{307}");
    }
}
