//! CMUdict and heteronym list as DLE's `cmudict.py` reads them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustc_hash::{FxHashMap, FxHashSet};

use super::pychar::is_space;
use super::symbols::ARPABET;
use crate::error::{Error, Result};

/// Pronunciations of one word: DLE only uses a word with exactly one.
#[derive(Debug)]
pub(crate) enum Pronunciation {
    One(Box<str>),
    Ambiguous,
}

/// Word (as written in the file, alternates merged) -> pronunciations.
#[derive(Debug, Default)]
pub(crate) struct CmuDict {
    entries: FxHashMap<Box<str>, Pronunciation>,
    /// Longest key in characters: longer words cannot be found.
    max_chars: usize,
}

/// Heteronyms: words that are never replaced by their pronunciation.
#[derive(Debug, Default)]
pub(crate) struct Heteronyms {
    words: FxHashSet<Box<str>>,
    max_chars: usize,
}

/// Lines as Python's universal-newline text mode yields them (`\n`, `\r\n` and `\r` end a line),
/// without their terminator.
fn universal_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            usize::from(end < rest.len())
        };
        rest = &rest[end + skip..];
        Some(line)
    })
}

/// Removes every `(digits)` group, like `re.sub(r'\([0-9]+\)', '', word)`.
fn strip_alternate_marks(word: &str) -> String {
    let b = word.as_bytes();
    let mut out = String::with_capacity(word.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'(' {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits > 0 && b.get(i + 1 + digits) == Some(&b')') {
                out.push_str(&word[copied..i]);
                i += digits + 2;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&word[copied..]);
    out
}

fn dictionary_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Dictionary {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl CmuDict {
    /// Parses a CMUdict file (Latin-1). Lines starting with `A`-`Z` or `'` are entries
    /// `WORD  PH ON ES`; entries with a symbol outside the ARPAbet set are skipped.
    pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        let text: String = bytes.iter().map(|&b| b as char).collect();
        let mut entries: FxHashMap<Box<str>, Pronunciation> = FxHashMap::default();
        for (number, line) in universal_lines(&text).enumerate() {
            let Some(first) = line.chars().next() else {
                continue;
            };
            if !(first.is_ascii_uppercase() || first == '\'') {
                continue;
            }
            let mut parts = line.split("  ");
            let head = parts.next().unwrap_or_default();
            let Some(pron) = parts.next() else {
                return Err(dictionary_error(
                    path,
                    format!("line {}: no two-space separator in {line:?}", number + 1),
                ));
            };
            let pron = pron.trim_matches(is_space);
            if !pron.split(' ').all(|s| ARPABET.binary_search(&s).is_ok()) {
                continue;
            }
            let word = strip_alternate_marks(head).into_boxed_str();
            match entries.get_mut(&word) {
                Some(existing) => *existing = Pronunciation::Ambiguous,
                None => {
                    entries.insert(word, Pronunciation::One(pron.into()));
                }
            }
        }
        if entries.is_empty() {
            return Err(dictionary_error(path, "no dictionary entries"));
        }
        let max_chars = entries.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        Ok(CmuDict { entries, max_chars })
    }

    /// Looks up an upper-cased word.
    pub(crate) fn get(&self, upper: &str) -> Option<&Pronunciation> {
        self.entries.get(upper)
    }

    pub(crate) fn max_chars(&self) -> usize {
        self.max_chars
    }

    pub(crate) fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| dictionary_error(path, e.to_string()))?;
        Self::parse(&bytes, path)
    }

    /// The embedded `cmudict-0.7b`, parsed once per process.
    pub(crate) fn embedded() -> Arc<Self> {
        static DICT: OnceLock<Arc<CmuDict>> = OnceLock::new();
        DICT.get_or_init(|| {
            Arc::new(
                CmuDict::parse(
                    crate::data::CMUDICT_0_7B,
                    &PathBuf::from("<embedded cmudict-0.7b>"),
                )
                .unwrap_or_default(),
            )
        })
        .clone()
    }
}

impl Heteronyms {
    /// Parses a UTF-8 word list, one word per line, trailing whitespace removed.
    pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| dictionary_error(path, format!("not UTF-8: {e}")))?;
        let words: FxHashSet<Box<str>> = universal_lines(text)
            .map(|line| line.trim_end_matches(is_space).into())
            .collect();
        let max_chars = words.iter().map(|w| w.chars().count()).max().unwrap_or(0);
        Ok(Heteronyms { words, max_chars })
    }

    pub(crate) fn contains(&self, lower: &str) -> bool {
        self.words.contains(lower)
    }

    pub(crate) fn max_chars(&self) -> usize {
        self.max_chars
    }

    pub(crate) fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| dictionary_error(path, e.to_string()))?;
        Self::parse(&bytes, path)
    }

    /// The embedded DLE `heteronyms`, parsed once per process.
    pub(crate) fn embedded() -> Arc<Self> {
        static LIST: OnceLock<Arc<Heteronyms>> = OnceLock::new();
        LIST.get_or_init(|| {
            Arc::new(
                Heteronyms::parse(
                    crate::data::DLE_HETERONYMS,
                    &PathBuf::from("<embedded heteronyms>"),
                )
                .unwrap_or_default(),
            )
        })
        .clone()
    }
}
