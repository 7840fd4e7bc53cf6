//! Transliteration to ASCII, as DLE's `unidecoder` does it: characters below U+007F are kept,
//! others are replaced from the table in `data/dle_unidecode.tsv` or dropped when not listed.

use std::borrow::Cow;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;

static TABLE_TSV: &str = include_str!("../../data/dle_unidecode.tsv");

fn table() -> &'static FxHashMap<char, Box<str>> {
    static TABLE: OnceLock<FxHashMap<char, Box<str>>> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(TABLE_TSV))
}

/// Parses the table format described in the file header. Malformed lines are skipped (the
/// embedded file is checked by a unit test).
fn parse_table(tsv: &str) -> FxHashMap<char, Box<str>> {
    let mut map = FxHashMap::default();
    for line in tsv.split('\n') {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('\t') else {
            continue;
        };
        let Some(hex) = key.strip_prefix("U+") else {
            continue;
        };
        let Some(c) = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) else {
            continue;
        };
        map.insert(c, unescape(value).into_boxed_str());
    }
    map
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Number of entries in the embedded table (for tests).
#[cfg(test)]
pub(crate) fn table_len() -> usize {
    table().len()
}

/// Transliterates `s`; borrows when nothing changes.
pub(crate) fn transliterate(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| b < 0x7f) {
        return Cow::Borrowed(s);
    }
    let table = table();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if (c as u32) < 0x7f {
            out.push(c);
        } else if let Some(rep) = table.get(&c) {
            out.push_str(rep);
        }
    }
    Cow::Owned(out)
}
