//! The two G2P front halves: `english_word_tokenize` and the per-word rules of `EnglishG2p` and
//! `IpaG2p` (with phoneme probability 1.0, i.e. every word that can be phonemized is).

use rustc_hash::FxHashSet;

use super::lexicon::{is_latin_or_digit, Lexicon};
use super::unicode::{is_decimal, py_upper};

/// One match of NeMo's English word regex
/// `([A-Za-z]+(?:[A-Za-z\-']*[A-Za-z]+)*)|(\|[^|]*\|)|([^A-Za-z|]+)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Piece<'t> {
    /// A word: ASCII letters, possibly joined by `-` and `'`; starts and ends with a letter.
    Word(&'t str),
    /// A run of anything but ASCII letters and `|`.
    Other(&'t str),
    /// The inside of `|...|`, passed through unchanged (split on single spaces).
    Verbatim(&'t str),
}

/// Calls `f` for every regex match in `text`, in order. Linear time. A `|` without a closing
/// partner matches nothing and is skipped, like `re.findall` does.
pub(crate) fn for_each_piece<'t>(text: &'t str, mut f: impl FnMut(Piece<'t>)) {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    // All delimiters are ASCII, so every index used for slicing is a char boundary.
    while i < n {
        let c = b[i];
        if c.is_ascii_alphabetic() {
            let mut last = i;
            let mut j = i + 1;
            while j < n {
                let d = b[j];
                if d.is_ascii_alphabetic() {
                    last = j;
                } else if d != b'-' && d != b'\'' {
                    break;
                }
                j += 1;
            }
            f(Piece::Word(&text[i..=last]));
            i = last + 1;
        } else if c == b'|' {
            match b[i + 1..].iter().position(|&d| d == b'|') {
                Some(k) => {
                    f(Piece::Verbatim(&text[i + 1..i + 1 + k]));
                    i += k + 2;
                }
                None => i += 1,
            }
        } else {
            let mut j = i + 1;
            while j < n && !b[j].is_ascii_alphabetic() && b[j] != b'|' {
                j += 1;
            }
            f(Piece::Other(&text[i..j]));
            i = j;
        }
    }
}

/// Receives G2P output items.
pub(crate) trait Sink {
    /// A phoneme from the dictionary (symbol id of the lexicon).
    fn phone(&mut self, sym: u32);
    /// A single character (grapheme, punctuation, space, ...).
    fn ch(&mut self, c: char);
    /// An item of a `|...|` group.
    fn raw(&mut self, s: &str);
}

/// What one word turns into.
enum Pron<'a> {
    Chars(&'a str),
    Phones(&'a [u32], &'a [u32]),
}

impl Pron<'_> {
    #[inline]
    fn emit(&self, sink: &mut impl Sink) {
        match *self {
            Pron::Chars(s) => s.chars().for_each(|c| sink.ch(c)),
            Pron::Phones(p, suffix) => p.iter().chain(suffix).for_each(|&s| sink.phone(s)),
        }
    }
}

/// Symbol ids (in the lexicon) of the phonemes the suffix rules append.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Suffixes {
    /// ARPAbet `Z`.
    pub(crate) z_arpabet: [u32; 1],
    /// IPA `s`, `z`, and `ɪ z`.
    pub(crate) s_ipa: [u32; 1],
    pub(crate) z_ipa: [u32; 1],
    pub(crate) iz_ipa: [u32; 2],
}

/// A dictionary plus heteronyms, applying one flavor's per-word rules.
pub(crate) struct G2p<'a> {
    pub(crate) lexicon: &'a Lexicon,
    pub(crate) heteronyms: &'a FxHashSet<Box<str>>,
    pub(crate) suffixes: &'a Suffixes,
}

/// `[a-zA-ZÀ-ÿ\d]` of `EnglishG2p.parse_one_word`.
#[inline]
fn arpabet_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ('\u{c0}'..='\u{ff}').contains(&c) || is_decimal(c)
}

impl G2p<'_> {
    /// `EnglishG2p.__call__` on preprocessed text.
    pub(crate) fn arpabet(&self, text: &str, sink: &mut impl Sink) {
        let mut lower = String::new();
        for_each_piece(text, |piece| match piece {
            Piece::Word(w) => {
                lower.clear();
                lower.push_str(w);
                lower.make_ascii_lowercase();
                self.arpabet_token(&lower, sink);
            }
            Piece::Other(s) => self.arpabet_token(s, sink),
            Piece::Verbatim(s) => s.split(' ').for_each(|p| sink.raw(p)),
        });
    }

    fn arpabet_token(&self, word: &str, sink: &mut impl Sink) {
        let (pron, handled) = self.arpabet_word(word);
        if !handled && word.contains('-') {
            for (i, sub) in word.split('-').enumerate() {
                if i > 0 {
                    sink.ch('-');
                }
                self.arpabet_word(sub).0.emit(sink);
            }
        } else {
            pron.emit(sink);
        }
    }

    /// `EnglishG2p.parse_one_word` (ambiguous words ignored).
    fn arpabet_word<'w>(&'w self, word: &'w str) -> (Pron<'w>, bool) {
        if !word.chars().any(arpabet_word_char) || self.heteronyms.contains(word) {
            return (Pron::Chars(word), true);
        }
        let lex = self.lexicon;
        let entry = lex.get(word);
        if entry.is_none() {
            let z = &self.suffixes.z_arpabet[..];
            if word.len() > 2 && word.ends_with("'s") {
                if let Some(e) = lex.get(&word[..word.len() - 2]).filter(|e| e.count == 1) {
                    return (Pron::Phones(lex.phones(e), z), true);
                }
            }
            if word.len() > 1 && word.ends_with('s') {
                if let Some(e) = lex.get(&word[..word.len() - 1]).filter(|e| e.count == 1) {
                    return (Pron::Phones(lex.phones(e), z), true);
                }
            }
        }
        match entry {
            Some(e) if e.count == 1 => (Pron::Phones(lex.phones(e), &[]), true),
            _ => (Pron::Chars(word), false),
        }
    }

    /// `IpaG2p.__call__` on preprocessed, NFC-normalized text.
    pub(crate) fn ipa(&self, text: &str, sink: &mut impl Sink) {
        let mut upper = String::new();
        for_each_piece(text, |piece| match piece {
            Piece::Word(w) => {
                // The tokenizer lower-cases, `parse_one_word` upper-cases: net effect is upper.
                upper.clear();
                upper.push_str(w);
                upper.make_ascii_uppercase();
                self.ipa_token(&upper, sink);
            }
            Piece::Other(s) => self.ipa_token(&py_upper(s), sink),
            Piece::Verbatim(s) => s.split(' ').for_each(|p| sink.raw(p)),
        });
    }

    /// `word` is already upper-cased. Upper-casing is per character, idempotent and never
    /// produces `-`, so splitting the upper-cased word equals upper-casing the split parts.
    fn ipa_token(&self, word: &str, sink: &mut impl Sink) {
        let (pron, handled) = self.ipa_word(word);
        if !handled && word.contains('-') {
            for (i, sub) in word.split('-').enumerate() {
                if i > 0 {
                    sink.ch('-');
                }
                self.ipa_word(sub).0.emit(sink);
            }
        } else {
            pron.emit(sink);
        }
    }

    /// `IpaG2p.parse_one_word` for locale en-US, ambiguous words allowed (first pronunciation).
    fn ipa_word<'w>(&'w self, word: &'w str) -> (Pron<'w>, bool) {
        if !word.chars().any(is_latin_or_digit) || self.heteronyms.contains(word) {
            return (Pron::Chars(word), true);
        }
        let lex = self.lexicon;
        let entry = lex.get(word);
        if entry.is_none() {
            let sfx = self.suffixes;
            if word.len() > 2 && (word.ends_with("'S") || word.ends_with("'s")) {
                let stem = &word[..word.len() - 2];
                if let Some(e) = lex.get(stem) {
                    let suffix: &[u32] = match stem.chars().next_back() {
                        Some('T' | 't') => &sfx.s_ipa,
                        Some('S' | 's') => &sfx.iz_ipa,
                        _ => &sfx.z_ipa,
                    };
                    return (Pron::Phones(lex.phones(e), suffix), true);
                }
            }
            if word.len() > 1 && (word.ends_with('S') || word.ends_with('s')) {
                let stem = &word[..word.len() - 1];
                if let Some(e) = lex.get(stem) {
                    let suffix: &[u32] = match stem.chars().next_back() {
                        Some('T' | 't') => &sfx.s_ipa,
                        _ => &sfx.z_ipa,
                    };
                    return (Pron::Phones(lex.phones(e), suffix), true);
                }
            }
        }
        match entry {
            Some(e) => (Pron::Phones(lex.phones(e), &[]), true),
            None => (Pron::Chars(word), false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<Piece<'_>> {
        let mut v = Vec::new();
        for_each_piece(text, |p| v.push(p));
        v
    }

    #[test]
    fn word_regex_equivalence() {
        use Piece::*;
        assert_eq!(
            pieces("Don't--stop, rock-'n'-roll's'! x-"),
            vec![
                Word("Don't--stop"),
                Other(", "),
                Word("rock-'n'-roll's"),
                Other("'! "),
                Word("x"),
                Other("-"),
            ]
        );
        assert_eq!(
            pieces("a|B C|d|e"),
            vec![Word("a"), Verbatim("B C"), Word("d"), Word("e")]
        );
        assert_eq!(pieces("||"), vec![Verbatim("")]);
        assert_eq!(pieces("é1ß"), vec![Other("é1ß")]);
        assert!(pieces("").is_empty());
    }
}
