//! Character predicates with the meaning CPython 3.11 gives them, shared by every flavor
//! (the references are Python programs, so `str.split()` and `\s` decide what a space is).

/// Python's `str.isspace()` (also what `str.split()`, `strip()` and `\s` in a `str` pattern use).
/// Unlike `char::is_whitespace` it includes the information separators U+001C..U+001F.
#[inline]
pub(crate) fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..=' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

#[cfg(test)]
mod tests {
    use super::is_py_space;

    #[test]
    fn matches_python_isspace() {
        // Python: [c for c in map(chr, range(0x110000)) if c.isspace()]
        let expected: Vec<u32> = (0x09..=0x0d)
            .chain(0x1c..=0x20)
            .chain([0x85, 0xa0, 0x1680])
            .chain(0x2000..=0x200a)
            .chain([0x2028, 0x2029, 0x202f, 0x205f, 0x3000])
            .collect();
        let found: Vec<u32> = (0..=0x10_ffff_u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_py_space(c))
            .map(u32::from)
            .collect();
        assert_eq!(found, expected);
    }
}
