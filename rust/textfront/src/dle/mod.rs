//! DeepLearningExamples FastPitch frontend (`english_basic` symbols, `english_cleaners_v2`).
//!
//! A re-implementation of DLE FastPitch's `TextProcessing.encode_text` as DLE `inference.py`
//! configures it: `english_basic` symbols, the `english_cleaners_v2` cleaner, currency
//! expansion, and ARPAbet substitution with `p_arpabet` 0.0 (`dle_chars`) or 1.0
//! (`dle_arpabet`) from CMUdict 0.7b and DLE's heteronym list.
//!
//! The reference is a chain of Python regular expressions; each step is reproduced with a
//! scanner (or a `regex` with the same leftmost-first semantics) that gives the same result
//! as Python's `re.sub`, including Python's Unicode notions of whitespace and case. Where the
//! reference raises (numbers of 10^36 and more, which `inflect` cannot spell, or a currency
//! amount like `$1.2.3 million`) we give a reading instead: digits read one by one, or the
//! amount left as digits.

mod arpabet;
mod cleaners;
mod cmudict;
mod inflect;
mod numbers;
mod pychar;
mod symbols;
mod unidecode;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use crate::error::Result;

use self::arpabet::Substituter;
use self::cmudict::{CmuDict, Heteronyms};
use self::pychar::{is_space, Collapser};

/// Number of symbols in the `english_basic` vocabulary.
pub const VOCAB_SIZE: usize = symbols::VOCAB_SIZE;

/// The DLE FastPitch text frontend (`dle_chars` or `dle_arpabet`).
#[derive(Debug, Clone)]
pub struct DleFrontend {
    arpabet: Option<(Arc<CmuDict>, Arc<Heteronyms>)>,
}

impl DleFrontend {
    /// `arpabet = false`: `dle_chars` (`p_arpabet` 0.0); `true`: `dle_arpabet` (`p_arpabet` 1.0).
    /// `dictionary` / `heteronyms` replace the embedded `cmudict-0.7b` / DLE `heteronyms`
    /// (same formats); they are read and checked for either flavor.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Dictionary`] when a given file cannot be read or parsed.
    pub fn new(
        arpabet: bool,
        dictionary: Option<&Path>,
        heteronyms: Option<&Path>,
    ) -> Result<Self> {
        let dict = dictionary.map(CmuDict::load).transpose()?.map(Arc::new);
        let het = heteronyms.map(Heteronyms::load).transpose()?.map(Arc::new);
        let arpabet = arpabet.then(|| {
            (
                dict.unwrap_or_else(CmuDict::embedded),
                het.unwrap_or_else(Heteronyms::embedded),
            )
        });
        Ok(DleFrontend { arpabet })
    }

    /// Whether this is the `dle_arpabet` flavor.
    pub fn is_arpabet(&self) -> bool {
        self.arpabet.is_some()
    }

    /// The cleaned text exactly as `encode_text(..., return_all=True)` returns it.
    pub fn clean(&self, text: &str) -> String {
        let expanded = numbers::expand_currency(text);
        let text = expanded.as_deref().unwrap_or(text);
        let mut out = String::with_capacity(text.len() + text.len() / 4 + 8);
        let mut writer = Collapser::new(&mut out);
        for (k, piece) in pieces(text).enumerate() {
            if k > 0 {
                writer.space();
            }
            if piece.starts_with('{') {
                writer.push_raw(piece);
            } else {
                cleaners::clean_piece(piece, &mut writer);
            }
        }
        writer.finish();
        out
    }

    /// From cleaned text: the ids and the ARPAbet-substituted text (empty for `dle_chars`,
    /// as in the reference).
    pub fn encode_cleaned(&self, cleaned: &str) -> (Vec<i64>, String) {
        let mut ids = Vec::with_capacity(cleaned.len());
        if let Some((dict, heteronyms)) = &self.arpabet {
            let mut text = String::with_capacity(cleaned.len() * 2);
            Substituter { dict, heteronyms }.substitute(cleaned, &mut text);
            symbols::text_to_sequence(&text, &mut ids);
            (ids, text)
        } else {
            symbols::text_to_sequence(cleaned, &mut ids);
            (ids, String::new())
        }
    }

    /// The 148 `english_basic` symbols, id = index (`_` pad is 0, ARPAbet symbols are `@AA`...).
    pub fn vocab(&self) -> &[String] {
        symbols::vocab()
    }
}

/// The pieces of `re.findall(r'{[^}]+}|\S+', text)`: complete `{...}` groups (which may hold
/// whitespace) and runs of non-whitespace.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut pos = 0;
    // Offset of the next `}` at or after `pos`, cached so that many unmatched `{` stay linear.
    let mut next_close = text.find('}');
    std::iter::from_fn(move || {
        let rest = &text[pos..];
        let start = pos + (rest.len() - rest.trim_start_matches(is_space).len());
        if start >= text.len() {
            return None;
        }
        let rest = &text[start..];
        if next_close.is_some_and(|k| k < start) {
            next_close = text[start..].find('}').map(|k| k + start);
        }
        let group = rest
            .strip_prefix('{')
            .filter(|after| after.chars().next().is_some_and(|c| c != '}'))
            .and(next_close)
            .map(|k| k + 1 - start);
        let len = group.unwrap_or_else(|| rest.find(is_space).unwrap_or(rest.len()));
        pos = start + len;
        Some(&rest[..len])
    })
}
