//! Street addresses, which NeMo reads inside its measure class: a house number, an optional
//! compass direction, capitalized street name words and a street-type word, then optionally a
//! city, a state and a ZIP code, e.g. "2788 San Tomas Expy, Santa Clara, CA 95051" ->
//! "twenty seven eighty eight San Tomas Expressway, Santa Clara, California nine five zero five
//! one".

use super::num::{
    cardinal_graph, digit_word, digits_one_by_one, is_digits, ordinal, up_to_hundred,
};
use super::tables;
use super::MAX_SHORT_SPAN;

/// House number: three or four digits are read in two halves ("1428" -> "fourteen twenty
/// eight", "708" -> "seven zero eight"); anything else as a plain number ("1600" -> "one
/// thousand six hundred").
fn house_number(s: &str) -> Option<String> {
    if (3..=4).contains(&s.len()) && is_digits(s) {
        let (a, c) = s.split_at(s.len() - 2);
        let cb = c.as_bytes();
        let second = if cb[0] == b'0' {
            (cb[1] != b'0').then(|| format!("zero {}", digit_word(cb[1])))
        } else {
            up_to_hundred(c)
        };
        if let (Some(x), Some(y)) = (up_to_hundred(a), second) {
            return Some(format!("{x} {y}"));
        }
    }
    cardinal_graph(s)
}

/// A street-type word ("st", "St", "St.", "Street", "Expy", ...) -> its full form.
fn street_word(w: &str) -> Option<&'static str> {
    let w = w.strip_suffix('.').unwrap_or(w);
    if w.is_empty() || !w.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    if let Some(v) = tables::lookup(tables::address_words(), w) {
        return Some(v);
    }
    // The capitalized spelling of a lower-case key ("St", "Expy"; not "ST").
    let mut low = w.to_string();
    if !low.as_bytes()[0].is_ascii_uppercase() {
        return None;
    }
    low[..1].make_ascii_lowercase();
    tables::lookup(tables::address_words(), &low)
}

/// An ASCII word starting with a capital, at least `min` letters.
fn cap_word(w: &str, min: usize) -> bool {
    let b = w.as_bytes();
    b.len() >= min && b[0].is_ascii_uppercase() && b.iter().all(u8::is_ascii_alphabetic)
}

/// A compass direction "E", "S.", ... -> "East", "South", ...
fn direction(w: &str) -> Option<&'static str> {
    match w.strip_suffix('.').unwrap_or(w) {
        "E" => Some("East"),
        "S" => Some("South"),
        "W" => Some("West"),
        "N" => Some("North"),
        _ => None,
    }
}

/// State abbreviation ("CA", or "C.A" with a dot after the first letter) -> state name.
fn state(abbr: &str) -> Option<&'static str> {
    let plain;
    let key = match abbr.split_once('.') {
        Some((a, b)) if a.len() == 1 && !b.is_empty() && !b.contains('.') => {
            plain = format!("{a}{b}");
            plain.as_str()
        }
        Some(_) => return None,
        None => abbr,
    };
    tables::address_states()
        .iter()
        .find(|(_, ab)| ab == key)
        .map(|(name, _)| name.as_str())
}

/// ", " + letters and spaces.
fn is_city(s: &str) -> bool {
    s.strip_prefix(", ")
        .is_some_and(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphabetic() || b == b' '))
}

/// Optional "," then " " and a five-digit ZIP code, read digit by digit; `Some("")` for "".
fn zip(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some(String::new());
    }
    let (sep, rest) = match s.strip_prefix(", ") {
        Some(r) => (", ", r),
        None => (" ", s.strip_prefix(' ')?),
    };
    if rest.len() != 5 {
        return None;
    }
    Some(format!("{sep}{}", digits_one_by_one(rest)?))
}

/// Optional ", STATE" then an optional ZIP code.
fn state_zip(s: &str) -> Option<String> {
    if let Some(z) = zip(s) {
        return Some(z);
    }
    let rest = s.strip_prefix(", ")?;
    let end = rest.find([',', ' ']).unwrap_or(rest.len());
    let name = state(&rest[..end])?;
    Some(format!(", {name}{}", zip(&rest[end..])?))
}

/// The part after the street-type word: optional city, state and ZIP code. A lone ", XY" is
/// kept as a city (as the reference does) rather than read as a state.
fn city_state_zip(s: &str) -> Option<String> {
    if let Some(body) = s.strip_prefix(", ") {
        let run = body
            .bytes()
            .take_while(|b| b.is_ascii_alphabetic() || *b == b' ')
            .count();
        for m in (1..=run).rev() {
            let city = &s[..2 + m];
            if !is_city(city) {
                continue;
            }
            if let Some(t) = state_zip(&s[2 + m..]) {
                return Some(format!("{city}{t}"));
            }
        }
    }
    state_zip(s)
}

/// Splits off the house number, direction and street words; calls `tail` with (reading so far,
/// the street-type word's token and everything after it) for every street-type candidate.
fn parse(span: &str, tail: fn(&str) -> Option<String>) -> Option<String> {
    if span.len() > MAX_SHORT_SPAN || !span.as_bytes().first()?.is_ascii_digit() {
        return None;
    }
    let (num, mut rest) = span.split_once(' ')?;
    let mut out = house_number(num)?;
    let (first, r) = rest.split_once(' ')?;
    let first = if let Some(d) = direction(first) {
        out.push(' ');
        out.push_str(d);
        rest = r;
        let (f, r2) = rest.split_once(' ')?;
        rest = r2;
        f
    } else {
        rest = r;
        first
    };
    out.push(' ');
    if cap_word(first, 2) {
        out.push_str(first);
    } else {
        out.push_str(&ordinal(first)?);
    }
    loop {
        // `rest` starts with the next word.
        let wend = rest
            .bytes()
            .position(|b| !b.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let word = &rest[..wend];
        if let Some(full) = street_word(word) {
            if let Some(t) = tail(&rest[wend..]) {
                return Some(format!("{out} {full}{t}"));
            }
        }
        let (w, r) = rest.split_once(' ')?;
        if !cap_word(w, 1) {
            return None;
        }
        out.push(' ');
        out.push_str(w);
        rest = r;
    }
}

/// What may follow the street-type word in a plain address: an optional "." (dropped), then
/// optional city, state and ZIP code.
fn plain_tail(s: &str) -> Option<String> {
    if s == "." {
        return Some(String::new());
    }
    city_state_zip(s.strip_prefix('.').unwrap_or(s))
}

/// ". " and a capitalized word (letters and hyphens) starting the next sentence, kept.
fn eos_tail(s: &str) -> Option<String> {
    let rest = s.strip_prefix('.')?;
    let word = rest.trim_start_matches(' ');
    let spaces = rest.len() - word.len();
    let b = word.as_bytes();
    ((1..=2).contains(&spaces)
        && b.first()?.is_ascii_uppercase()
        && b.iter().all(|c| c.is_ascii_alphabetic() || *c == b'-'))
    .then(|| s.to_string())
}

/// A street address (NeMo's measure "address" reading), e.g. "1211 E Arques Ave" -> "twelve
/// eleven East Arques Avenue", "12 S 1st st" -> "twelve South first Street".
pub fn address(span: &str) -> Option<String> {
    parse(span, plain_tail)
}

/// An address ending a sentence, followed by the next sentence's first word, which NeMo keeps
/// in the same token (and prefers, weight 1.099): "1428 Elm St. It" -> "fourteen twenty eight
/// Elm Street. It".
pub fn address_eos(span: &str) -> Option<String> {
    parse(span, eos_tail)
}
