//! Pronunciation dictionaries and heteronym lists in the file formats NeMo reads.
//!
//! Only what the G2P can observe is kept: per word, its first pronunciation and how many
//! pronunciations it has (the "unique" test). Phonemes are interned into a small symbol table.

use std::borrow::Cow;
use std::collections::hash_map::Entry as MapEntry;
use std::collections::BTreeSet;

use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};

use super::unicode::{is_decimal, is_py_space, nfc, py_upper};

/// Where one word's first pronunciation lives, and how many pronunciations the word has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    start: u32,
    len: u32,
    pub(crate) count: u32,
    /// First-seen order of the spelling (only used while building).
    order: u32,
}

/// A parsed pronunciation dictionary.
pub(crate) struct Lexicon {
    words: FxHashMap<Box<str>, Entry>,
    phones: Vec<u32>,
    symbols: Vec<Box<str>>,
}

impl Lexicon {
    #[inline]
    pub(crate) fn get(&self, word: &str) -> Option<Entry> {
        self.words.get(word).copied()
    }

    /// The first pronunciation of an entry, as symbol ids.
    #[inline]
    pub(crate) fn phones(&self, e: Entry) -> &[u32] {
        let start = e.start as usize;
        self.phones
            .get(start..start + e.len as usize)
            .unwrap_or(&[])
    }

    #[inline]
    pub(crate) fn symbol(&self, id: u32) -> &str {
        self.symbols.get(id as usize).map_or("", |s| s)
    }

    pub(crate) fn symbols(&self) -> &[Box<str>] {
        &self.symbols
    }

    /// Symbol id of `s`, adding it to the symbol table if needed (build time only).
    pub(crate) fn intern(&mut self, s: &str) -> u32 {
        if let Some(i) = self.symbols.iter().position(|x| &**x == s) {
            return i as u32;
        }
        self.symbols.push(s.into());
        (self.symbols.len() - 1) as u32
    }

    /// Number of distinct (looked-up) words.
    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }
}

/// Lines as Python's text-mode file iteration yields them (universal newlines: `\n`, `\r\n` and
/// `\r` end a line), without their terminators.
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if let Some(i) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let line = &rest[..i];
            let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            rest = &rest[i + skip..];
            Some(line)
        } else {
            let line = rest;
            rest = &[];
            Some(line)
        }
    })
}

/// [`lines`] for text; line ends are ASCII, so the pieces are valid `str` slices.
fn str_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.bytes().position(|b| b == b'\n' || b == b'\r') {
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
            None => Some(std::mem::take(&mut rest)),
        }
    })
}

/// `str.isspace()` for a Latin-1 byte.
#[inline]
fn is_latin1_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | 0x1c..=b' ' | 0x85 | 0xa0)
}

fn latin1_strip(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_latin1_space(*first) {
            break;
        }
        s = rest;
    }
    latin1_rstrip(s)
}

fn latin1_rstrip(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., last] = s {
        if !is_latin1_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

fn push_latin1(out: &mut String, b: u8) {
    out.push(char::from(b));
}

/// `str.lower()` of a Latin-1 character.
#[inline]
fn latin1_lower(b: u8) -> u8 {
    match b {
        b'A'..=b'Z' | 0xc0..=0xd6 | 0xd8..=0xde => b + 32,
        _ => b,
    }
}

/// Length of a `\([0-9]+\)` match starting at `s[0]`, if any.
#[inline]
fn variant_marker_len(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'(') {
        return None;
    }
    let digits = s[1..].iter().take_while(|b| b.is_ascii_digit()).count();
    (digits > 0 && s.get(1 + digits) == Some(&b')')).then_some(digits + 2)
}

fn find_double_space(s: &[u8]) -> Option<usize> {
    s.windows(2).position(|w| w == b"  ")
}

/// Parses a CMUdict-format ARPAbet dictionary the way `EnglishG2p` does (Latin-1 text; entry lines
/// start with `A`-`Z` or `'`; word and phonemes separated by two spaces; `(n)` variant markers
/// dropped; words lower-cased; phonemes separated by single spaces).
pub(crate) fn parse_arpabet_dict(data: &[u8]) -> Result<Lexicon, String> {
    let mut words: FxHashMap<Box<str>, Entry> =
        FxHashMap::with_capacity_and_hasher(data.len() / 24, FxBuildHasher);
    let mut phones: Vec<u32> = Vec::with_capacity(data.len() / 4);
    // Phonemes up to 7 bytes are keyed by their bytes packed into an integer (cheap to hash).
    let mut short: FxHashMap<u64, u32> = FxHashMap::default();
    let mut long: FxHashMap<&[u8], u32> = FxHashMap::default();
    let mut symbol_bytes: Vec<&[u8]> = Vec::new();
    let mut key = String::new();

    for (index, line) in lines(data).enumerate() {
        match line.first() {
            Some(b'A'..=b'Z' | b'\'') => {}
            _ => continue,
        }
        let Some(sep) = find_double_space(line) else {
            return Err(format!(
                "line {}: no two-space separator between word and phonemes",
                index + 1
            ));
        };
        let head = &line[..sep];
        let rest = &line[sep + 2..];
        let field = match find_double_space(rest) {
            Some(j) => &rest[..j],
            None => rest,
        };

        key.clear();
        let mut i = 0;
        while i < head.len() {
            if let Some(n) = variant_marker_len(&head[i..]) {
                i += n;
                continue;
            }
            push_latin1(&mut key, latin1_lower(head[i]));
            i += 1;
        }

        let slot = match words.entry(key.as_str().into()) {
            MapEntry::Occupied(mut o) => {
                o.get_mut().count += 1;
                continue;
            }
            MapEntry::Vacant(v) => v,
        };
        let start = phones.len();
        for phone in latin1_strip(field).split(|&b| b == b' ') {
            let add = || {
                symbol_bytes.push(phone);
                (symbol_bytes.len() - 1) as u32
            };
            let id = if phone.len() < 8 {
                let packed = phone
                    .iter()
                    .fold(phone.len() as u64, |acc, &b| (acc << 8) | u64::from(b));
                *short.entry(packed).or_insert_with(add)
            } else {
                *long.entry(phone).or_insert_with(add)
            };
            phones.push(id);
        }
        let entry = Entry {
            start: start as u32,
            len: (phones.len() - start) as u32,
            count: 1,
            order: 0,
        };
        slot.insert(entry);
    }

    let symbols = symbol_bytes
        .iter()
        .map(|bytes| {
            let mut s = String::with_capacity(bytes.len());
            for &b in *bytes {
                push_latin1(&mut s, b);
            }
            s.into_boxed_str()
        })
        .collect();
    Ok(Lexicon {
        words,
        phones,
        symbols,
    })
}

/// Python's `[A-Za-zÀ-ÖØ-öø-ÿ\d]` (NeMo's `LATIN_CHARS_ALL` plus digits).
#[inline]
pub(crate) fn is_latin_or_digit(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}' | '\u{f8}'..='\u{ff}')
        || (!c.is_ascii() && is_decimal(c))
}

/// First-character test of `IpaG2p._parse_phoneme_dict`.
#[inline]
fn is_ipa_entry_start(c: char) -> bool {
    c.is_ascii_alphabetic()
        || c == '\''
        || matches!(c, '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}' | '\u{f8}'..='\u{ff}')
}

fn decode_utf8(data: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(data).map_err(|e| format!("not valid UTF-8: {e}"))
}

/// A parsed IPA dictionary and the symbol set `IpaG2p` derives from it (graphemes of the
/// upper-cased words and every character of every pronunciation).
pub(crate) struct IpaDict {
    pub(crate) lexicon: Lexicon,
    pub(crate) symbols: BTreeSet<char>,
}

/// Interns single characters as lexicon symbols (direct table below U+0800).
struct CharInterner {
    low: Vec<u32>,
    high: FxHashMap<char, u32>,
    chars: Vec<char>,
}

impl CharInterner {
    fn new() -> Self {
        CharInterner {
            low: vec![u32::MAX; 0x800],
            high: FxHashMap::default(),
            chars: Vec::new(),
        }
    }

    #[inline]
    fn id(&mut self, c: char) -> u32 {
        let slot = match self.low.get_mut(c as usize) {
            Some(slot) => slot,
            None => self.high.entry(c).or_insert(u32::MAX),
        };
        if *slot == u32::MAX {
            self.chars.push(c);
            *slot = (self.chars.len() - 1) as u32;
        }
        *slot
    }
}

/// `s` with every `\([0-9]+\)` removed (`re.sub(_alt_re, "", s)`).
fn strip_variant_markers(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some(n) = variant_marker_len(&b[i..]) {
            // The marker is ASCII, so `i` and `i + n` are char boundaries.
            out.get_or_insert_with(String::new).push_str(&s[copied..i]);
            i += n;
            copied = i;
        } else {
            i += 1;
        }
    }
    match out {
        None => Cow::Borrowed(s),
        Some(mut o) => {
            o.push_str(&s[copied..]);
            Cow::Owned(o)
        }
    }
}

/// NFC of a dictionary line; characters below U+0300 (lead byte < 0xCC) are always NFC-stable.
fn nfc_line(line: &str) -> Cow<'_, str> {
    if line.bytes().all(|b| b < 0xcc) {
        Cow::Borrowed(line)
    } else {
        nfc(Cow::Borrowed(line))
    }
}

/// Parses an IPA dictionary the way `IpaG2p` does with `use_chars=True`, upper-case graphemes and
/// stresses kept (UTF-8 text; lines NFC-normalized; word, whitespace, then a pronunciation whose
/// characters, whitespace removed, are its phonemes).
pub(crate) fn parse_ipa_dict(data: &[u8]) -> Result<IpaDict, String> {
    let text = decode_utf8(data)?;
    // Keyed by the original spelling; `order` records first-seen order.
    let mut words: FxHashMap<Box<str>, Entry> =
        FxHashMap::with_capacity_and_hasher(data.len() / 20, FxBuildHasher);
    let mut phones: Vec<u32> = Vec::with_capacity(data.len() / 3);
    let mut interner = CharInterner::new();
    let mut graphemes: BTreeSet<char> = BTreeSet::new();
    let mut ascii_graphemes = [false; 128];
    let mut all_upper = true;

    for (index, raw) in str_lines(text).enumerate() {
        let line = nfc_line(raw);
        match line.chars().next() {
            Some(c) if is_ipa_entry_start(c) => {}
            _ => continue,
        }
        let line = line.trim_end_matches(is_py_space);
        let Some(split) = line.find(is_py_space) else {
            return Err(format!("line {}: word without a pronunciation", index + 1));
        };
        let word = strip_variant_markers(&line[..split]);
        let pron = &line[split..];

        let upper = py_upper(&word);
        if upper != *word {
            all_upper = false;
        }
        for c in upper.chars().filter(|&c| is_latin_or_digit(c)) {
            if c.is_ascii() {
                ascii_graphemes[c as usize] = true;
            } else {
                graphemes.insert(c);
            }
        }

        let order = words.len() as u32;
        if let Some(e) = words.get_mut(&*word) {
            e.count += 1;
            for c in pron.chars().filter(|&c| !is_py_space(c)) {
                interner.id(c);
            }
            continue;
        }
        let start = phones.len();
        phones.extend(
            pron.chars()
                .filter(|&c| !is_py_space(c))
                .map(|c| interner.id(c)),
        );
        let entry = Entry {
            start: start as u32,
            len: (phones.len() - start) as u32,
            count: 1,
            order,
        };
        words.insert(word.into_owned().into_boxed_str(), entry);
    }

    if words.is_empty() {
        return Err("contains no entries".to_string());
    }

    // Words are looked up upper-cased; when two spellings collapse onto one key, the one first
    // seen later wins (Python dict insertion order, later assignment overwrites).
    let words = if all_upper {
        words
    } else {
        let mut ordered: Vec<(Box<str>, Entry)> = words.into_iter().collect();
        ordered.sort_unstable_by_key(|x| x.1.order);
        let mut map = FxHashMap::with_capacity_and_hasher(ordered.len(), FxBuildHasher);
        for (k, e) in ordered {
            let key: Box<str> = match py_upper(&k) {
                Cow::Borrowed(_) => k,
                Cow::Owned(s) => s.into_boxed_str(),
            };
            map.insert(key, e);
        }
        map
    };

    let mut symbols = graphemes;
    symbols.extend(
        (0u8..128)
            .filter(|&b| ascii_graphemes[b as usize])
            .map(char::from),
    );
    symbols.extend(interner.chars.iter().copied());
    let lexicon = Lexicon {
        words,
        phones,
        symbols: interner
            .chars
            .iter()
            .map(|c| c.to_string().into())
            .collect(),
    };
    Ok(IpaDict { lexicon, symbols })
}

/// Which flavor's file conventions a heteronym list follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeteronymStyle {
    /// `EnglishG2p`: Latin-1, lines right-stripped, case kept.
    Arpabet,
    /// `IpaG2p`: UTF-8, lines right-stripped and upper-cased.
    Ipa,
}

/// Parses a heteronym list (one word per line).
pub(crate) fn parse_heteronyms(
    data: &[u8],
    style: HeteronymStyle,
) -> Result<FxHashSet<Box<str>>, String> {
    let mut set = FxHashSet::default();
    match style {
        HeteronymStyle::Arpabet => {
            for line in lines(data) {
                let mut s = String::with_capacity(line.len());
                for &b in latin1_rstrip(line) {
                    push_latin1(&mut s, b);
                }
                set.insert(s.into_boxed_str());
            }
        }
        HeteronymStyle::Ipa => {
            for line in str_lines(decode_utf8(data)?) {
                let word = py_upper(line.trim_end_matches(is_py_space));
                set.insert(word.into_owned().into_boxed_str());
            }
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn universal_newlines() {
        let got: Vec<&[u8]> = lines(b"a\r\nb\rc\n\nd").collect();
        assert_eq!(got, vec![&b"a"[..], b"b", b"c", b"", b"d"]);
        assert_eq!(lines(b"x\n").count(), 1);
    }

    #[test]
    fn arpabet_dict_format() {
        let data = b";;; comment\nREAD  R IY1 D\nREAD(1)  R EH1 D\nCAT  K AE1 T  extra\n\
                     O'NEIL(2)  OW0 N IY1 L\nbad line\n\xc0LA  AA1 L AH0\nCAF\xc9  K AE0 F EY1\n";
        let lex = parse_arpabet_dict(data).unwrap();
        let e = lex.get("read").unwrap();
        assert_eq!(e.count, 2);
        let ph: Vec<&str> = lex.phones(e).iter().map(|&i| lex.symbol(i)).collect();
        assert_eq!(ph, ["R", "IY1", "D"]);
        let e = lex.get("cat").unwrap();
        assert_eq!(lex.phones(e).len(), 3);
        assert!(lex.get("o'neil").is_some());
        // Entry lines must start with A-Z or an apostrophe; other Latin-1 letters are lower-cased.
        assert!(lex.get("àla").is_none());
        assert!(lex.get("café").is_some());
        assert!(parse_arpabet_dict(b"WORD AH0\n").is_err());
    }

    #[test]
    fn ipa_dict_format() {
        let data = "Wire  ˈwaɪɚ\nWIRE  ˈwaɪɹ\nWire(2)  ˈw aɪ ɹ\nÉTÉ  eɪte\n".as_bytes();
        let d = parse_ipa_dict(data).unwrap();
        let e = d.lexicon.get("WIRE").unwrap();
        // "WIRE" was first seen after "Wire", so it overwrites the upper-cased key.
        assert_eq!(e.count, 1);
        let s: String = d
            .lexicon
            .phones(e)
            .iter()
            .map(|&i| d.lexicon.symbol(i))
            .collect();
        assert_eq!(s, "ˈwaɪɹ");
        for c in ['É', 'W', 'ˈ', 'w', 'ɚ', 'ɹ'] {
            assert!(d.symbols.contains(&c), "{c}");
        }
        assert!(!d.symbols.contains(&'(') && !d.symbols.contains(&'2'));
        assert!(parse_ipa_dict(b"WORD\n").is_err());
        assert!(parse_ipa_dict(b";;; nothing\n").is_err());
        assert!(parse_ipa_dict(b"A  \xff\n").is_err());
    }

    #[test]
    fn heteronym_styles() {
        let a = parse_heteronyms(b"read \nLive\r\n\n", HeteronymStyle::Arpabet).unwrap();
        assert!(a.contains("read") && a.contains("Live") && a.contains(""));
        let i = parse_heteronyms("read\nstraße\n".as_bytes(), HeteronymStyle::Ipa).unwrap();
        assert!(i.contains("READ") && i.contains("STRASSE"));
    }
}
