//! Lazily loaded lookup tables of the pipeline (whitelist, symbols, states, names, Unicode
//! classes). Everything is parsed on first use from data files embedded in the binary.

use std::sync::OnceLock;

use rustc_hash::{FxHashMap, FxHashSet};

const WHITELIST: &str = include_str!("../../data/nemo_tn/pipeline_whitelist.tsv");
const SYMBOLS: &str = include_str!("../../data/nemo_tn/pipeline_symbols.tsv");
const STATES: &str = include_str!("../../data/nemo_tn/pipeline_states.tsv");
const NAMES: &str = include_str!("../../data/nemo_tn/pipeline_names.tsv");
const UNICODE_CLASSES: &str = include_str!("../../data/nemo_tn/pipeline_unicode_classes.tsv");

/// Tables shared by every `Normalizer`.
pub(crate) struct Tables {
    /// Written form -> spoken form (first entry of the file wins).
    pub whitelist: FxHashMap<String, String>,
    /// Longest whitelist key, in chars.
    pub whitelist_max_chars: usize,
    /// Bit `first * 256 + last` set for the first and last bytes of every whitelist key: a
    /// cheap test before hashing a span.
    whitelist_ends: Vec<u64>,
    /// Bit `min(len, 63) * 256 + second` set for the byte length and second byte of every
    /// whitelist key (0 for a one-byte key).
    whitelist_len2: Vec<u64>,
    /// Symbol read as a word when it is a whole token.
    pub symbols: FxHashMap<char, String>,
    /// State abbreviation ("TX" and "T.X") -> state name.
    pub states: FxHashMap<String, String>,
    /// Given names (as listed and upper-cased).
    pub names: FxHashSet<String>,
    /// Sorted inclusive ranges of Unicode punctuation (general category P*).
    punct_ranges: Vec<(u32, u32)>,
    /// Sorted inclusive ranges of currency symbols (Sc).
    currency_ranges: Vec<(u32, u32)>,
}

/// Data lines of an embedded table: comment lines ("# ...") and empty lines skipped.
fn data_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.is_empty() && !l.starts_with("# "))
}

/// Bit index of a key's byte length (capped at 63) and second byte, for `whitelist_len2`.
fn len_second(b: &[u8]) -> usize {
    b.len().min(63) * 256 + b.get(1).copied().unwrap_or(0) as usize
}

fn in_ranges(ranges: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    match ranges.binary_search_by(|&(lo, _)| lo.cmp(&c)) {
        Ok(_) => true,
        Err(0) => false,
        Err(k) => c <= ranges[k - 1].1,
    }
}

impl Tables {
    fn load() -> Tables {
        let mut whitelist = FxHashMap::default();
        let mut whitelist_max_chars = 0;
        let mut whitelist_ends = vec![0u64; 256 * 256 / 64];
        let mut whitelist_len2 = vec![0u64; 64 * 256 / 64];
        for line in data_lines(WHITELIST) {
            let mut cols = line.split('\t');
            let (Some(k), Some(v)) = (cols.next(), cols.next()) else {
                continue;
            };
            whitelist_max_chars = whitelist_max_chars.max(k.chars().count());
            if let (Some(&f), Some(&l)) = (k.as_bytes().first(), k.as_bytes().last()) {
                let bit = f as usize * 256 + l as usize;
                whitelist_ends[bit / 64] |= 1u64 << (bit % 64);
                let bit = len_second(k.as_bytes());
                whitelist_len2[bit / 64] |= 1u64 << (bit % 64);
            }
            whitelist
                .entry(k.to_string())
                .or_insert_with(|| v.to_string());
        }
        let mut symbols = FxHashMap::default();
        for line in data_lines(SYMBOLS) {
            let mut cols = line.split('\t');
            let (Some(k), Some(v)) = (cols.next(), cols.next()) else {
                continue;
            };
            let mut ch = k.chars();
            if let (Some(c), None) = (ch.next(), ch.next()) {
                symbols.entry(c).or_insert_with(|| v.to_string());
            }
        }
        let mut states = FxHashMap::default();
        for line in data_lines(STATES) {
            let mut cols = line.split('\t');
            let (Some(name), Some(abbr)) = (cols.next(), cols.next()) else {
                continue;
            };
            states
                .entry(abbr.to_string())
                .or_insert_with(|| name.to_string());
            let mut it = abbr.chars();
            if let Some(first) = it.next() {
                let dotted = format!("{first}.{}", it.as_str());
                states.entry(dotted).or_insert_with(|| name.to_string());
            }
        }
        let mut names = FxHashSet::default();
        for line in data_lines(NAMES) {
            let name = line.split('\t').next().unwrap_or("");
            if !name.is_empty() {
                names.insert(name.to_string());
                names.insert(name.to_uppercase());
            }
        }
        let mut punct_ranges = Vec::new();
        let mut currency_ranges = Vec::new();
        for line in data_lines(UNICODE_CLASSES) {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() != 3 {
                continue;
            }
            let (Ok(lo), Ok(hi)) = (
                u32::from_str_radix(cols[1], 16),
                u32::from_str_radix(cols[2], 16),
            ) else {
                continue;
            };
            match cols[0] {
                "P" => punct_ranges.push((lo, hi)),
                "Sc" => currency_ranges.push((lo, hi)),
                _ => {}
            }
        }
        punct_ranges.sort_unstable();
        currency_ranges.sort_unstable();
        Tables {
            whitelist,
            whitelist_max_chars,
            whitelist_ends,
            whitelist_len2,
            symbols,
            states,
            names,
            punct_ranges,
            currency_ranges,
        }
    }

    /// The whitelist reading of `span`, if it is a key.
    pub fn whitelist_get(&self, span: &str) -> Option<&String> {
        let b = span.as_bytes();
        let (Some(&f), Some(&l)) = (b.first(), b.last()) else {
            return self.whitelist.get(span);
        };
        let bit = f as usize * 256 + l as usize;
        if self.whitelist_ends[bit / 64] & (1u64 << (bit % 64)) == 0 {
            return None;
        }
        let bit = len_second(b);
        if self.whitelist_len2[bit / 64] & (1u64 << (bit % 64)) == 0 {
            return None;
        }
        self.whitelist.get(span)
    }

    /// Whether `c` is Unicode punctuation (general category P*).
    pub fn is_unicode_punct(&self, c: char) -> bool {
        in_ranges(&self.punct_ranges, c)
    }

    /// Whether `c` is a currency symbol (general category Sc).
    pub fn is_currency(&self, c: char) -> bool {
        in_ranges(&self.currency_ranges, c)
    }

    /// Whether `c` is a punctuation mark for the tagger: Unicode punctuation or one of the
    /// ASCII marks NeMo adds, minus the symbols it reads as words.
    pub fn is_punct_mark(&self, c: char) -> bool {
        if c.is_ascii() {
            return is_ascii_punct_mark(c);
        }
        self.is_unicode_punct(c) && !self.symbols.contains_key(&c)
    }
}

/// ASCII punctuation marks of the tagger (symbols read as words excluded).
pub(crate) fn is_ascii_punct_mark(c: char) -> bool {
    matches!(
        c,
        '!' | '"'
            | '\''
            | '('
            | ')'
            | ','
            | '-'
            | '.'
            | ':'
            | ';'
            | '<'
            | '>'
            | '?'
            | '['
            | ']'
            | '\\'
            | '`'
            | '{'
            | '}'
    )
}

/// The shared tables, built on first use.
pub(crate) fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(Tables::load)
}
