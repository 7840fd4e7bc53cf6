//! [`TextFrontend`]: one entry point over every flavor.

use std::path::Path;
use std::str::FromStr;

use rayon::prelude::*;

use crate::dle::DleFrontend;
use crate::error::{Error, Result};
use crate::nemo::{NemoKind, NemoTokenizer};
use crate::nemo_tn::Normalizer;

/// Largest accepted input, in bytes. Longer text gets [`Error::InvalidInput`] instead of being
/// truncated; split it first (see [`crate::split_sentences`]).
pub const MAX_INPUT_BYTES: usize = 16 << 20;

/// A named preset reproducing one reference frontend.
///
/// Non-exhaustive: more references (other languages, other NeMo tokenizers) may be added;
/// iterate [`Flavor::ALL`] rather than listing the variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flavor {
    /// DeepLearningExamples FastPitch, `english_cleaners_v2`, graphemes only.
    DleChars,
    /// DeepLearningExamples FastPitch, `english_cleaners_v2`, CMUdict ARPAbet for known words.
    DleArpabet,
    /// NeMo FastPitch (English, ARPAbet): `EnglishG2p` + `EnglishPhonemesTokenizer`.
    NemoArpabet,
    /// NeMo FastPitch (English, IPA): `IpaG2p` + `IPATokenizer`.
    NemoIpa,
}

impl Flavor {
    /// Every flavor name, in the order of [`Flavor::ALL`].
    pub const NAMES: &'static [&'static str] =
        &["dle_chars", "dle_arpabet", "nemo_arpabet", "nemo_ipa"];
    /// Every flavor. A slice rather than an array, so that adding a flavor does not change
    /// its type.
    pub const ALL: &'static [Flavor] = &[
        Flavor::DleChars,
        Flavor::DleArpabet,
        Flavor::NemoArpabet,
        Flavor::NemoIpa,
    ];

    /// The flavor's name as accepted by [`Flavor::from_str`].
    pub fn name(self) -> &'static str {
        match self {
            Flavor::DleChars => "dle_chars",
            Flavor::DleArpabet => "dle_arpabet",
            Flavor::NemoArpabet => "nemo_arpabet",
            Flavor::NemoIpa => "nemo_ipa",
        }
    }

    /// Whether this flavor reproduces a NeMo frontend.
    pub fn is_nemo(self) -> bool {
        matches!(self, Flavor::NemoArpabet | Flavor::NemoIpa)
    }
}

impl FromStr for Flavor {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self> {
        Flavor::ALL
            .iter()
            .copied()
            .find(|f| f.name() == name)
            .ok_or_else(|| Error::UnknownFlavor(name.to_string()))
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

enum Engine {
    Dle(DleFrontend),
    Nemo(NemoTokenizer, Normalizer),
}

/// Text → token ids for one flavor. Cheap to share between threads (`Send + Sync`).
pub struct TextFrontend {
    flavor: Flavor,
    engine: Engine,
}

fn check_size(text: &str) -> Result<()> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(Error::InvalidInput(format!(
            "text is {} bytes, more than the limit of {MAX_INPUT_BYTES}; split it into sentences first",
            text.len()
        )));
    }
    Ok(())
}

impl TextFrontend {
    /// Build a frontend. `dictionary` and `heteronyms` replace the embedded files of the flavor
    /// (same formats as the originals); `dle_chars` uses neither.
    ///
    /// # Errors
    ///
    /// [`Error::Dictionary`] when a given file cannot be read or parsed (for `dle_chars` too:
    /// a bad path is reported, not ignored).
    pub fn new(
        flavor: Flavor,
        dictionary: Option<&Path>,
        heteronyms: Option<&Path>,
    ) -> Result<Self> {
        let engine = match flavor {
            Flavor::DleChars => Engine::Dle(DleFrontend::new(false, dictionary, heteronyms)?),
            Flavor::DleArpabet => Engine::Dle(DleFrontend::new(true, dictionary, heteronyms)?),
            Flavor::NemoArpabet => Engine::Nemo(
                NemoTokenizer::new(NemoKind::Arpabet, dictionary, heteronyms)?,
                Normalizer::new(),
            ),
            Flavor::NemoIpa => Engine::Nemo(
                NemoTokenizer::new(NemoKind::Ipa, dictionary, heteronyms)?,
                Normalizer::new(),
            ),
        };
        Ok(TextFrontend { flavor, engine })
    }

    /// Build a frontend from a flavor name.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownFlavor`] when `name` is not one of [`Flavor::NAMES`]; otherwise as
    /// [`TextFrontend::new`].
    pub fn from_name(
        name: &str,
        dictionary: Option<&Path>,
        heteronyms: Option<&Path>,
    ) -> Result<Self> {
        Self::new(name.parse()?, dictionary, heteronyms)
    }

    /// The flavor this frontend reproduces.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The normalized text the tokenizer sees: for DLE flavors the output of
    /// `english_cleaners_v2`; for NeMo flavors the text normalizer's output.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the text is longer than [`MAX_INPUT_BYTES`].
    pub fn normalize(&self, text: &str) -> Result<String> {
        check_size(text)?;
        match &self.engine {
            Engine::Dle(dle) => Ok(dle.clean(text)),
            Engine::Nemo(_, normalizer) => Ok(normalizer.normalize(text)),
        }
    }

    /// Token ids of `text`. With `normalize == false` the text is taken as already normalized
    /// (DLE: already cleaned, so only the ARPAbet substitution and symbol lookup run).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the text is longer than [`MAX_INPUT_BYTES`].
    pub fn encode(&self, text: &str, normalize: bool) -> Result<Vec<i64>> {
        let normalized;
        let text = if normalize {
            normalized = self.normalize(text)?;
            normalized.as_str()
        } else {
            check_size(text)?;
            text
        };
        Ok(match &self.engine {
            Engine::Dle(dle) => dle.encode_cleaned(text).0,
            Engine::Nemo(nemo, _) => nemo.encode(text),
        })
    }

    /// DLE flavors: the cleaned text with ARPAbet substitutions (`{G EY1 V}`), as
    /// `encode_text(..., return_all=True)` returns it. NeMo flavors: the G2P output list joined
    /// with `|` is available through [`TextFrontend::g2p`] instead; this returns `None`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the text is longer than [`MAX_INPUT_BYTES`].
    pub fn arpabet_text(&self, text: &str, normalize: bool) -> Result<Option<String>> {
        let Engine::Dle(dle) = &self.engine else {
            return Ok(None);
        };
        check_size(text)?;
        let cleaned = if normalize {
            dle.clean(text)
        } else {
            text.to_string()
        };
        Ok(Some(dle.encode_cleaned(&cleaned).1))
    }

    /// NeMo flavors: the G2P output (phonemes, graphemes, punctuation, spaces) for normalized text.
    /// DLE flavors have no G2P stage of that shape; they return `None`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the text is longer than [`MAX_INPUT_BYTES`].
    pub fn g2p(&self, normalized: &str) -> Result<Option<Vec<String>>> {
        check_size(normalized)?;
        Ok(match &self.engine {
            Engine::Nemo(nemo, _) => Some(nemo.g2p(normalized)),
            Engine::Dle(_) => None,
        })
    }

    /// Encode many texts in parallel over all cores. Each entry is that text's own result, so
    /// one bad input never hides the others.
    pub fn encode_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        normalize: bool,
    ) -> Vec<Result<Vec<i64>>> {
        texts
            .par_iter()
            .map(|t| self.encode(t.as_ref(), normalize))
            .collect()
    }

    /// Id → token table.
    pub fn vocab(&self) -> &[String] {
        match &self.engine {
            Engine::Dle(dle) => dle.vocab(),
            Engine::Nemo(nemo, _) => nemo.vocab(),
        }
    }

    /// Id used for padding batches.
    pub fn pad_id(&self) -> i64 {
        match &self.engine {
            Engine::Dle(_) => 0,
            Engine::Nemo(nemo, _) => nemo.pad_id(),
        }
    }

    /// Whether `ids` hold anything to speak: a letter, digit or phoneme, not only padding,
    /// spaces and punctuation. The NeMo flavors encode empty text as two spaces and the DLE
    /// flavors `...` as three full stops; neither is speech.
    pub fn speaks(&self, ids: &[i64]) -> bool {
        let vocab = self.vocab();
        ids.iter().any(|&id| {
            usize::try_from(id)
                .ok()
                .and_then(|i| vocab.get(i))
                .is_some_and(|token| is_spoken_token(token))
        })
    }

    /// The characters of `text` that this frontend drops: each distinct character (in order of
    /// first appearance) that on its own encodes to nothing but padding and spaces, and without
    /// which the text encodes the same — emoji and scripts the flavor cannot read. Whitespace,
    /// ASCII letters and digits, and combining marks (which belong to the letter before them)
    /// are never reported. Punctuation that encodes to a pause is kept, so it is not reported
    /// either.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the text is longer than [`MAX_INPUT_BYTES`].
    pub fn unspoken_chars(&self, text: &str) -> Result<Vec<char>> {
        check_size(text)?;
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut buf = [0u8; 4];
        for c in text.chars() {
            if c.is_whitespace()
                || c.is_ascii_alphanumeric()
                || is_combining_mark(c)
                || !seen.insert(c)
            {
                continue;
            }
            let alone = self.encode(c.encode_utf8(&mut buf), true)?;
            if alone.iter().all(|&id| self.is_filler(id)) {
                out.push(c);
            }
        }
        // Some characters say nothing alone but something in context (`$` in `$5`): a candidate
        // is reported only if the text without it encodes the same.
        if !out.is_empty() {
            let whole = self.encode(text, true)?;
            let mut kept = Vec::with_capacity(out.len());
            for c in out {
                if self.encode(&text.replace(c, ""), true)? == whole {
                    kept.push(c);
                }
            }
            out = kept;
        }
        Ok(out)
    }

    /// Padding or the space token: what an encoding holds when it holds nothing.
    fn is_filler(&self, id: i64) -> bool {
        id == self.pad_id()
            || usize::try_from(id)
                .ok()
                .and_then(|i| self.vocab().get(i))
                .is_some_and(|token| token == " ")
    }

    /// Tokens of `ids` concatenated. NeMo flavors write phonemes as they are (`HH`, `ˈ`);
    /// DLE ARPAbet symbols are written as `{AA1}`-style groups like the reference's arpabet text.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIds`] naming the first id outside the vocabulary (negative or too large).
    pub fn decode(&self, ids: &[i64]) -> Result<String> {
        let vocab = self.vocab();
        let mut out = String::new();
        for (pos, &id) in ids.iter().enumerate() {
            let token = usize::try_from(id)
                .ok()
                .and_then(|i| vocab.get(i))
                .ok_or_else(|| {
                    Error::InvalidIds(format!(
                        "id {id} at position {pos} is outside the vocabulary of {} tokens",
                        vocab.len()
                    ))
                })?;
            match token.strip_prefix('@') {
                Some(phone) if matches!(self.engine, Engine::Dle(_)) => {
                    out.push('{');
                    out.push_str(phone);
                    out.push('}');
                }
                _ => out.push_str(token),
            }
        }
        Ok(out)
    }
}

/// A token that is a sound: a letter, digit or phoneme (DLE writes ARPAbet as `@AA1`), not a
/// space, punctuation mark or a `<pad>` / `<oov>` marker.
fn is_spoken_token(token: &str) -> bool {
    token
        .strip_prefix('@')
        .unwrap_or(token)
        .chars()
        .next()
        .is_some_and(char::is_alphanumeric)
}

/// Combining diacritical marks (U+0300-U+036F and their supplements): part of the letter before
/// them, so never reported as dropped on their own.
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavor_names_round_trip() {
        for (flavor, name) in Flavor::ALL.iter().zip(Flavor::NAMES) {
            assert_eq!(flavor.name(), *name);
            assert_eq!(name.parse::<Flavor>().unwrap(), *flavor);
        }
        let err = "espeak".parse::<Flavor>().unwrap_err();
        assert!(err.to_string().contains("espeak") && err.to_string().contains("nemo_ipa"));
    }

    #[test]
    fn missing_dictionary_names_path() {
        let err = TextFrontend::new(
            Flavor::NemoArpabet,
            Some(Path::new("/no/such/dict.txt")),
            None,
        )
        .err()
        .expect("must fail");
        let msg = err.to_string();
        assert!(matches!(err, Error::Dictionary { .. }), "{msg}");
        assert!(msg.contains("/no/such/dict.txt"), "{msg}");
    }

    #[test]
    fn oversized_input_is_rejected_not_truncated() {
        let fe = TextFrontend::new(Flavor::DleChars, None, None).unwrap();
        let big = "a".repeat(MAX_INPUT_BYTES + 1);
        assert!(matches!(fe.encode(&big, true), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn decode_round_trips_and_rejects_bad_ids() {
        let fe = TextFrontend::new(Flavor::DleChars, None, None).unwrap();
        let ids = fe.encode("hello world.", false).unwrap();
        assert_eq!(fe.decode(&ids).unwrap(), "hello world.");
        assert!(matches!(fe.decode(&[-1]), Err(Error::InvalidIds(_))));
        assert!(matches!(fe.decode(&[100_000]), Err(Error::InvalidIds(_))));
    }

    #[test]
    fn batch_matches_single() {
        let fe = TextFrontend::new(Flavor::NemoArpabet, None, None).unwrap();
        let texts = ["hello world.", "", "the quick brown fox, jumps!"];
        let batch = fe.encode_batch(&texts, false);
        for (t, b) in texts.iter().zip(batch) {
            assert_eq!(b.unwrap(), fe.encode(t, false).unwrap());
        }
    }

    #[test]
    fn nemo_flavors_normalize_then_tokenize() {
        for flavor in [Flavor::NemoArpabet, Flavor::NemoIpa] {
            let fe = TextFrontend::new(flavor, None, None).unwrap();
            let normalized = fe.normalize("Mr. Smith paid $5.").unwrap();
            assert_eq!(normalized, "mister Smith paid five dollars.");
            assert_eq!(
                fe.encode("Mr. Smith paid $5.", true).unwrap(),
                fe.encode(&normalized, false).unwrap()
            );
        }
    }
    #[test]
    fn nothing_to_speak_is_recognised_in_every_flavor() {
        for &flavor in Flavor::ALL {
            let fe = TextFrontend::new(flavor, None, None).unwrap();
            for text in ["", "   ", "\u{1F600}", "\u{4F60}\u{597D}", "...", "?!"] {
                let ids = fe.encode(text, true).unwrap();
                assert!(!fe.speaks(&ids), "{flavor}: {text:?} -> {ids:?}");
            }
            for text in ["a", "Hello.", "42", "\u{1F600} hi"] {
                let ids = fe.encode(text, true).unwrap();
                assert!(fe.speaks(&ids), "{flavor}: {text:?} -> {ids:?}");
            }
            assert!(!fe.speaks(&[-1, 1_000_000]));
        }
    }

    #[test]
    fn unspoken_chars_names_what_is_dropped() {
        for &flavor in Flavor::ALL {
            let fe = TextFrontend::new(flavor, None, None).unwrap();
            let text = "Hi \u{1F600}, e\u{301}t\u{E9} \u{4F60}\u{1F600}!";
            assert_eq!(
                fe.unspoken_chars(text).unwrap(),
                vec!['\u{1F600}', '\u{4F60}'],
                "{flavor}"
            );
            assert!(fe
                .unspoken_chars("Dr. Smith paid $5, didn't he?")
                .unwrap()
                .is_empty());
        }
    }
}
