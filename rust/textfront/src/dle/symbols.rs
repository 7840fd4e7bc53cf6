//! The `english_basic` symbol set (148 symbols) and the conversion of text with `{ARPABET}`
//! groups into ids, following DLE's `text_to_sequence`.

use std::sync::OnceLock;

use super::pychar::is_space;

/// ARPAbet symbols of CMUdict, sorted; in the vocabulary they carry an `@` prefix.
pub(crate) const ARPABET: [&str; 84] = [
    "AA", "AA0", "AA1", "AA2", "AE", "AE0", "AE1", "AE2", "AH", "AH0", "AH1", "AH2", "AO", "AO0",
    "AO1", "AO2", "AW", "AW0", "AW1", "AW2", "AY", "AY0", "AY1", "AY2", "B", "CH", "D", "DH", "EH",
    "EH0", "EH1", "EH2", "ER", "ER0", "ER1", "ER2", "EY", "EY0", "EY1", "EY2", "F", "G", "HH",
    "IH", "IH0", "IH1", "IH2", "IY", "IY0", "IY1", "IY2", "JH", "K", "L", "M", "N", "NG", "OW",
    "OW0", "OW1", "OW2", "OY", "OY0", "OY1", "OY2", "P", "R", "S", "SH", "T", "TH", "UH", "UH0",
    "UH1", "UH2", "UW", "UW0", "UW1", "UW2", "V", "W", "Y", "Z", "ZH",
];

/// The single-character symbols, in id order (pad, special, punctuation and space, letters).
const CHARS: &[u8; 64] = b"_-!'(),.:;? ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Total number of symbols.
pub(crate) const VOCAB_SIZE: usize = CHARS.len() + ARPABET.len();

const CHAR_IDS: [i8; 128] = {
    let mut table = [-1i8; 128];
    let mut i = 0;
    while i < CHARS.len() {
        table[CHARS[i] as usize] = i as i8;
        i += 1;
    }
    table
};

/// The vocabulary, id = index.
pub(crate) fn vocab() -> &'static [String] {
    static VOCAB: OnceLock<Vec<String>> = OnceLock::new();
    VOCAB.get_or_init(|| {
        CHARS
            .iter()
            .map(|&b| (b as char).to_string())
            .chain(ARPABET.iter().map(|s| format!("@{s}")))
            .collect()
    })
}

pub(crate) fn char_id(c: char) -> Option<i64> {
    let code = c as usize;
    if code < 128 && CHAR_IDS[code] >= 0 {
        Some(i64::from(CHAR_IDS[code]))
    } else {
        None
    }
}

/// Packs a symbol of at most three ASCII bytes into a `u32` whose order is the string order.
const fn pack(s: &[u8]) -> u32 {
    let mut key = 0u32;
    let mut i = 0;
    while i < 3 {
        key <<= 8;
        if i < s.len() {
            key |= s[i] as u32;
        }
        i += 1;
    }
    key
}

const ARPABET_KEYS: [u32; 84] = {
    let mut keys = [0u32; 84];
    let mut i = 0;
    while i < ARPABET.len() {
        keys[i] = pack(ARPABET[i].as_bytes());
        i += 1;
    }
    keys
};

pub(crate) fn arpabet_id(symbol: &str) -> Option<i64> {
    if symbol.is_empty() || symbol.len() > 3 || symbol.bytes().any(|b| b == 0) {
        return None;
    }
    ARPABET_KEYS
        .binary_search(&pack(symbol.as_bytes()))
        .ok()
        .map(|i| (CHARS.len() + i) as i64)
}

fn push_chars(text: &str, ids: &mut Vec<i64>) {
    ids.extend(text.chars().filter_map(char_id));
}

/// The content of a `{...}` group: whitespace-separated ARPAbet symbols; unknown ones vanish.
fn push_arpabet(content: &str, ids: &mut Vec<i64>) {
    ids.extend(
        content
            .split(is_space)
            .filter(|t| !t.is_empty())
            .filter_map(arpabet_id),
    );
}

/// Ids of `text`, where the first `{` followed by at least one character and then a `}` opens
/// an ARPAbet group (repeated on the rest). As in the reference pattern, whose `.` does not
/// cross a line feed, a group never spans a `\n` and the text after the line that holds a group
/// is not read.
pub(crate) fn text_to_sequence(text: &str, ids: &mut Vec<i64>) {
    let mut rest = text;
    // After the first group, `rest` is the remainder of one line.
    let mut within_line = false;
    while !rest.is_empty() {
        let line_end = if within_line {
            rest.len()
        } else {
            rest.find('\n').unwrap_or(rest.len())
        };
        let line = &rest[..line_end];
        let group = line.find('{').and_then(|open| {
            let first = line[open + 1..].chars().next()?;
            let from = open + 1 + first.len_utf8();
            let close = from + line[from..].find('}')?;
            Some((open, close))
        });
        let Some((open, close)) = group else {
            push_chars(rest, ids);
            return;
        };
        push_chars(&rest[..open], ids);
        push_arpabet(&rest[open + 1..close], ids);
        rest = &rest[close + 1..line_end];
        within_line = true;
    }
}
