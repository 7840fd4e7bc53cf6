//! NeMo FastPitch G2P and tokenizers (`EnglishPhonemesTokenizer` + `EnglishG2p`, `IPATokenizer` + `IpaG2p`).
//!
//! Reproduces, for already-normalized text, what NeMo's `FastPitchModel.parse` does after text
//! normalization under `set_phone_prob(1.0)`:
//!
//! * `Arpabet`: `EnglishG2p(phoneme_dict="cmudict-0.7b_nv22.10", heteronyms="heteronyms-052722")`
//!   with `EnglishPhonemesTokenizer(punct, stresses, chars, apostrophe, pad_with_space)`;
//! * `Ipa`: `IpaG2p(phoneme_dict="ipa_cmudict-0.7b_nv23.01.txt", heteronyms="heteronyms-052722",
//!   ignore_ambiguous_words=False, use_chars=True)` with `IPATokenizer(punct, apostrophe,
//!   pad_with_space)`.
//!
//! The default dictionaries are embedded and parsed once per process; tokenizers share them.

mod g2p;
mod lexicon;
mod tables;
#[cfg(test)]
mod tests;
mod unicode;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{Error, Result};
use g2p::{G2p, Sink, Suffixes};
use lexicon::{HeteronymStyle, Lexicon};

/// Which NeMo tokenizer to reproduce. Non-exhaustive: NeMo has more G2P/tokenizer pairs than
/// the two reproduced here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NemoKind {
    /// ARPAbet phonemes with stresses, plus lower-case letters for unhandled words.
    Arpabet,
    /// IPA phonemes, plus upper-case letters for unhandled words.
    Ipa,
}

const NONE: u32 = u32::MAX;

/// `EnglishPhonemesTokenizer.PUNCT_LIST` (also `ipa_lexicon.DEFAULT_PUNCTUATION`).
const PUNCT: [&str; 15] = [
    ",", ".", "!", "?", "-", ":", ";", "/", "\"", "(", ")", "[", "]", "{", "}",
];
const CONSONANTS: [&str; 24] = [
    "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH", "T",
    "TH", "V", "W", "Y", "Z", "ZH",
];
const VOWELS: [&str; 15] = [
    "AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW",
];

/// Token table with fast lookups by string and by character.
struct Vocab {
    tokens: Vec<String>,
    by_str: FxHashMap<Box<str>, u32>,
    ascii: [u32; 128],
    by_char: FxHashMap<char, u32>,
    space: u32,
    pad: u32,
    oov: u32,
}

impl Vocab {
    /// `tokens` without pad/oov; they are appended (`BaseTokenizer` with `add_blank_at=None`).
    fn new(mut tokens: Vec<String>, space: u32) -> Self {
        let pad = tokens.len() as u32;
        tokens.push("<pad>".into());
        let oov = tokens.len() as u32;
        tokens.push("<oov>".into());
        let mut by_str = FxHashMap::default();
        let mut ascii = [NONE; 128];
        let mut by_char = FxHashMap::default();
        for (i, t) in tokens.iter().enumerate() {
            // Later duplicates win, like Python's `{token: index}` comprehension.
            by_str.insert(t.as_str().into(), i as u32);
            let mut cs = t.chars();
            if let (Some(c), None) = (cs.next(), cs.next()) {
                if c.is_ascii() {
                    ascii[c as usize] = i as u32;
                } else {
                    by_char.insert(c, i as u32);
                }
            }
        }
        Vocab {
            tokens,
            by_str,
            ascii,
            by_char,
            space,
            pad,
            oov,
        }
    }

    fn arpabet() -> Self {
        let mut t: Vec<String> = vec![" ".into()];
        t.extend(CONSONANTS.iter().map(ToString::to_string));
        for v in VOWELS {
            for stress in 0..3 {
                t.push(format!("{v}{stress}"));
            }
        }
        t.extend(('a'..='z').map(String::from));
        t.push("'".into());
        t.extend(PUNCT.iter().map(ToString::to_string));
        Vocab::new(t, 0)
    }

    /// `IPATokenizer` vocabulary: sorted(G2P symbols + apostrophe + punctuation), then space.
    fn ipa(symbols: &BTreeSet<char>) -> Self {
        let mut set: BTreeSet<String> = symbols.iter().map(ToString::to_string).collect();
        set.insert("'".into());
        set.extend(PUNCT.iter().map(ToString::to_string));
        let mut t: Vec<String> = set.into_iter().collect();
        let space = match t.iter().position(|s| s == " ") {
            Some(i) if symbols.contains(&' ') => i,
            _ => {
                t.push(" ".into());
                t.len() - 1
            }
        };
        Vocab::new(t, space as u32)
    }

    #[inline]
    fn char_id(&self, c: char) -> u32 {
        if c.is_ascii() {
            self.ascii[c as usize]
        } else {
            self.by_char.get(&c).copied().unwrap_or(NONE)
        }
    }

    #[inline]
    fn str_id(&self, s: &str) -> u32 {
        self.by_str.get(s).copied().unwrap_or(NONE)
    }
}

/// A dictionary with its vocabulary: everything except the heteronyms.
struct Model {
    kind: NemoKind,
    lexicon: Lexicon,
    vocab: Vocab,
    /// Lexicon symbol id -> vocabulary id (or NONE).
    sym_to_id: Vec<u32>,
    suffixes: Suffixes,
}

impl Model {
    fn build(kind: NemoKind, dictionary: &[u8]) -> std::result::Result<Self, String> {
        let (mut lexicon, vocab) = match kind {
            NemoKind::Arpabet => (lexicon::parse_arpabet_dict(dictionary)?, Vocab::arpabet()),
            NemoKind::Ipa => {
                let d = lexicon::parse_ipa_dict(dictionary)?;
                let vocab = Vocab::ipa(&d.symbols);
                (d.lexicon, vocab)
            }
        };
        let suffixes = Suffixes {
            z_arpabet: [lexicon.intern("Z")],
            s_ipa: [lexicon.intern("s")],
            z_ipa: [lexicon.intern("z")],
            iz_ipa: [lexicon.intern("ɪ"), lexicon.intern("z")],
        };
        let sym_to_id = lexicon.symbols().iter().map(|s| vocab.str_id(s)).collect();
        Ok(Model {
            kind,
            lexicon,
            vocab,
            sym_to_id,
            suffixes,
        })
    }
}

fn dictionary_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Dictionary {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let data = std::fs::read(path).map_err(|e| dictionary_error(path, e.to_string()))?;
    // The lexicon stores offsets into the file's text as `u32`; refuse what they cannot span
    // rather than wrap (real dictionaries are a few MiB).
    if u32::try_from(data.len()).is_err() {
        return Err(dictionary_error(path, "file is larger than 4 GiB"));
    }
    Ok(data)
}

fn embedded_path(name: &str) -> PathBuf {
    PathBuf::from(format!("<embedded {name}>"))
}

type Shared<T> = OnceLock<Result<Arc<T>>>;

fn default_model(kind: NemoKind) -> Result<Arc<Model>> {
    static ARPABET: Shared<Model> = OnceLock::new();
    static IPA: Shared<Model> = OnceLock::new();
    let (cell, data, name) = match kind {
        NemoKind::Arpabet => (
            &ARPABET,
            crate::data::CMUDICT_NV22_10,
            "cmudict-0.7b_nv22.10",
        ),
        NemoKind::Ipa => (
            &IPA,
            crate::data::IPA_CMUDICT_NV23_01,
            "ipa_cmudict-0.7b_nv23.01.txt",
        ),
    };
    cell.get_or_init(|| {
        Model::build(kind, data)
            .map(Arc::new)
            .map_err(|r| dictionary_error(&embedded_path(name), r))
    })
    .clone()
}

fn heteronym_style(kind: NemoKind) -> HeteronymStyle {
    match kind {
        NemoKind::Arpabet => HeteronymStyle::Arpabet,
        NemoKind::Ipa => HeteronymStyle::Ipa,
    }
}

fn default_heteronyms(kind: NemoKind) -> Result<Arc<FxHashSet<Box<str>>>> {
    static ARPABET: Shared<FxHashSet<Box<str>>> = OnceLock::new();
    static IPA: Shared<FxHashSet<Box<str>>> = OnceLock::new();
    let cell = match kind {
        NemoKind::Arpabet => &ARPABET,
        NemoKind::Ipa => &IPA,
    };
    cell.get_or_init(|| {
        lexicon::parse_heteronyms(crate::data::NEMO_HETERONYMS, heteronym_style(kind))
            .map(Arc::new)
            .map_err(|r| dictionary_error(&embedded_path("heteronyms-052722"), r))
    })
    .clone()
}

/// NeMo G2P + tokenizer for one flavor. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct NemoTokenizer {
    model: Arc<Model>,
    heteronyms: Arc<FxHashSet<Box<str>>>,
}

impl std::fmt::Debug for NemoTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NemoTokenizer")
            .field("kind", &self.model.kind)
            .field("words", &self.model.lexicon.len())
            .field("heteronyms", &self.heteronyms.len())
            .field("vocab", &self.model.vocab.tokens.len())
            .finish()
    }
}

/// Collects token ids with the tokenizer's `encode_from_g2p` filtering.
struct IdSink<'a> {
    model: &'a Model,
    /// Starts with the leading pad space, which also plays the "previous item" for the ARPAbet
    /// space rule (a space is never added first or twice in a row).
    ids: Vec<i64>,
}

impl IdSink<'_> {
    #[inline]
    fn push(&mut self, id: u32) {
        if id == NONE {
            return;
        }
        let v = &self.model.vocab;
        match self.model.kind {
            NemoKind::Arpabet => {
                if id == v.space {
                    if self.ids.last() == Some(&i64::from(v.space)) {
                        return;
                    }
                } else if id == v.pad || id == v.oov {
                    return;
                }
            }
            // `IPATokenizer` adds every vocabulary member, spaces included (its `p in tokens`
            // branch catches the spaces the first branch refuses).
            NemoKind::Ipa => {}
        }
        self.ids.push(i64::from(id));
    }
}

impl Sink for IdSink<'_> {
    #[inline]
    fn phone(&mut self, sym: u32) {
        let id = self
            .model
            .sym_to_id
            .get(sym as usize)
            .copied()
            .unwrap_or(NONE);
        self.push(id);
    }

    #[inline]
    fn ch(&mut self, c: char) {
        self.push(self.model.vocab.char_id(c));
    }

    #[inline]
    fn raw(&mut self, s: &str) {
        self.push(self.model.vocab.str_id(s));
    }
}

/// Collects the G2P output as strings.
struct StringSink<'a> {
    lexicon: &'a Lexicon,
    out: Vec<String>,
}

impl Sink for StringSink<'_> {
    fn phone(&mut self, sym: u32) {
        self.out.push(self.lexicon.symbol(sym).to_string());
    }

    fn ch(&mut self, c: char) {
        self.out.push(c.to_string());
    }

    fn raw(&mut self, s: &str) {
        self.out.push(s.to_string());
    }
}

impl NemoTokenizer {
    /// Builds a tokenizer. `None` selects the embedded default dictionary / heteronym list of
    /// the flavor; a path must name a file in the same format (CMUdict ARPAbet in Latin-1 for
    /// `Arpabet`, the NeMo IPA dictionary in UTF-8 for `Ipa`, one heteronym per line).
    ///
    /// # Errors
    ///
    /// [`Error::Dictionary`] when a given file cannot be read or parsed.
    pub fn new(
        kind: NemoKind,
        dictionary: Option<&Path>,
        heteronyms: Option<&Path>,
    ) -> Result<Self> {
        let model = match dictionary {
            None => default_model(kind)?,
            Some(path) => {
                let data = read_file(path)?;
                Arc::new(Model::build(kind, &data).map_err(|r| dictionary_error(path, r))?)
            }
        };
        let heteronyms = match heteronyms {
            None => default_heteronyms(kind)?,
            Some(path) => {
                let data = read_file(path)?;
                let set = lexicon::parse_heteronyms(&data, heteronym_style(kind))
                    .map_err(|r| dictionary_error(path, r))?;
                Arc::new(set)
            }
        };
        Ok(NemoTokenizer { model, heteronyms })
    }

    /// The flavor of this tokenizer.
    pub fn kind(&self) -> NemoKind {
        self.model.kind
    }

    fn run(&self, normalized: &str, sink: &mut impl Sink) {
        let m = &*self.model;
        let g2p = G2p {
            lexicon: &m.lexicon,
            heteronyms: &self.heteronyms,
            suffixes: &m.suffixes,
        };
        let text = unicode::english_preprocess(normalized);
        match m.kind {
            NemoKind::Arpabet => g2p.arpabet(&text, sink),
            NemoKind::Ipa => g2p.ipa(&unicode::nfc(text), sink),
        }
    }

    /// The G2P output list for already-normalized text (after the tokenizer's text
    /// preprocessing): phonemes, characters, punctuation and spaces, before filtering into ids.
    pub fn g2p(&self, normalized: &str) -> Vec<String> {
        let mut sink = StringSink {
            lexicon: &self.model.lexicon,
            out: Vec::with_capacity(normalized.len()),
        };
        self.run(normalized, &mut sink);
        sink.out
    }

    /// Token ids exactly as NeMo's `tok.encode(normalized)` under `set_phone_prob(1.0)`.
    ///
    /// One deliberate difference: where NeMo's `IPATokenizer` raises `IndexError` (the G2P
    /// output keeps nothing but spaces, e.g. `"  "`), this returns the ids of empty input.
    pub fn encode(&self, normalized: &str) -> Vec<i64> {
        let space = i64::from(self.model.vocab.space);
        let mut ids = Vec::with_capacity(normalized.len() + 2);
        ids.push(space);
        let mut sink = IdSink {
            model: &self.model,
            ids,
        };
        self.run(normalized, &mut sink);
        let mut ids = sink.ids;
        while ids.len() > 1 && ids.last() == Some(&space) {
            ids.pop();
        }
        ids.push(space);
        ids
    }

    /// Id -> token (114 tokens for ARPAbet, 96 for IPA with the default dictionary).
    pub fn vocab(&self) -> &[String] {
        &self.model.vocab.tokens
    }

    /// Id of `<pad>`.
    pub fn pad_id(&self) -> i64 {
        i64::from(self.model.vocab.pad)
    }

    /// Id of `<oov>`.
    pub fn oov_id(&self) -> i64 {
        i64::from(self.model.vocab.oov)
    }

    /// Id of the space token, which also pads both ends of every encoding.
    pub fn space_id(&self) -> i64 {
        i64::from(self.model.vocab.space)
    }
}
