//! Word-level ARPAbet substitution (`handle_arpabet="word"`, `p_arpabet=1.0`,
//! `handle_arpabet_ambiguous="ignore"`): every word with exactly one CMUdict pronunciation
//! that is not a heteronym becomes `{PH ON ES}`, with `'s`/`s` suffix fallbacks.

use std::borrow::Cow;

use super::cmudict::{CmuDict, Heteronyms, Pronunciation};

/// `[a-zA-ZÀ-ž]`, the letters of DLE's word pattern.
fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || ('\u{c0}'..='\u{17e}').contains(&c)
}

fn letter_run(s: &str) -> usize {
    s.char_indices()
        .find(|&(_, c)| !is_letter(c))
        .map_or(s.len(), |(i, _)| i)
}

fn lower(word: &str) -> Cow<'_, str> {
    if word.is_ascii() {
        if word.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(word.to_ascii_lowercase())
        } else {
            Cow::Borrowed(word)
        }
    } else {
        Cow::Owned(word.to_lowercase())
    }
}

fn upper_into(word: &str, buf: &mut String) {
    buf.clear();
    if word.is_ascii() {
        buf.extend(word.bytes().map(|b| b.to_ascii_uppercase() as char));
    } else {
        buf.extend(word.chars().flat_map(char::to_uppercase));
    }
}

pub(crate) struct Substituter<'a> {
    pub(crate) dict: &'a CmuDict,
    pub(crate) heteronyms: &'a Heteronyms,
}

impl Substituter<'_> {
    /// The pronunciation DLE's `get_arpabet` gives `word` (without braces) and the number of
    /// " Z" suffixes to append, or `None` when the word stays as it is. The reference recurses
    /// once per stripped suffix; this loops.
    pub(crate) fn pronounce<'d>(
        &'d self,
        word: &str,
        buf: &mut String,
    ) -> Option<(&'d str, usize)> {
        let mut current = word;
        let mut chars = word.chars().count();
        let mut suffixes = 0usize;
        loop {
            if chars <= self.heteronyms.max_chars() && self.heteronyms.contains(&lower(current)) {
                return None;
            }
            let found = if chars <= self.dict.max_chars() {
                upper_into(current, buf);
                self.dict.get(buf)
            } else {
                None
            };
            #[expect(
                clippy::bool_to_int_with_if,
                reason = "a ladder keeps each suffix (\"'s\", \"s\", none) beside its length"
            )]
            let strip = if chars > 2 && current.ends_with("'s") {
                2
            } else if chars > 1 && current.ends_with('s') {
                1
            } else {
                0
            };
            match found {
                Some(Pronunciation::One(p)) => return Some((p, suffixes)),
                None if strip > 0 => {
                    current = &current[..current.len() - strip];
                    chars -= strip;
                    suffixes += 1;
                }
                // An ambiguous word is left as letters, like one with no entry at all.
                Some(Pronunciation::Ambiguous) | None => return None,
            }
        }
    }

    /// Applies the substitution to cleaned text, like `''.join` over DLE's `_words_re.findall`:
    /// a `{` or `}` outside a complete `{...}` group is dropped.
    pub(crate) fn substitute(&self, text: &str, out: &mut String) {
        let mut buf = String::new();
        // Byte offset of the next `}` at or after the current position (cached so that many
        // unmatched `{` stay linear).
        let mut next_close: Option<usize> = text.find('}');
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            let Some(c) = rest.chars().next() else { break };
            if is_letter(c) {
                let mut end = letter_run(rest);
                if rest[end..].starts_with('\'') {
                    let after = &rest[end + 1..];
                    let first = letter_run(after);
                    if first > 0 {
                        // one or two letters after the apostrophe
                        let mut take = after[..first].chars();
                        let mut n = take.next().map_or(0, char::len_utf8);
                        n += take.next().map_or(0, char::len_utf8);
                        end += 1 + n;
                    }
                }
                let word = &rest[..end];
                match self.pronounce(word, &mut buf) {
                    Some((p, suffixes)) => {
                        out.push('{');
                        out.push_str(p);
                        for _ in 0..suffixes {
                            out.push_str(" Z");
                        }
                        out.push('}');
                    }
                    None => out.push_str(word),
                }
                i += end;
            } else if c == '{' {
                if next_close.is_some_and(|k| k <= i) {
                    next_close = text[i..].find('}').map(|k| k + i);
                }
                let group = rest[1..]
                    .chars()
                    .next()
                    .filter(|&c1| c1 != '}')
                    .and(next_close)
                    .map(|k| k - i + 1);
                match group {
                    Some(len) => {
                        out.push_str(&rest[..len]);
                        i += len;
                    }
                    None => i += 1,
                }
            } else if c == '}' {
                i += 1;
            } else {
                let end = rest
                    .char_indices()
                    .find(|&(_, c)| is_letter(c) || c == '{' || c == '}')
                    .map_or(rest.len(), |(k, _)| k);
                out.push_str(&rest[..end]);
                i += end;
            }
        }
    }
}
