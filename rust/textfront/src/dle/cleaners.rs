//! `english_cleaners_v2` on one whitespace-free piece of input: transliteration, times,
//! letters+digits, numbers, abbreviations and acronyms. After transliteration the text is
//! ASCII, so the scanners below work on bytes. Lower-casing, whitespace collapsing and the
//! `/` replacement happen when the piece is written out (see [`Collapser::push_cleaned`]).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::numbers::normalize_numbers;
use super::pychar::{boundary, is_word_byte, run_len, Collapser};
use super::unidecode::transliterate;

/// Python's `\s` on ASCII text.
const WS: &str = r"[\t\n\x0B\x0C\r\x1C-\x1F ]";
/// `[0-9]+(?:[.,][0-9]+)?`
const NUM: &str = r"[0-9]+(?:[.,][0-9]+)?";

static AMPM_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"([0-9]|0[0-9]|1[0-9]|2[0-3]):?([0-5][0-9])?{WS}*([AaPp][Mm])(?-u:\b)"
    ))
    .expect("valid regex")
});

static HARDWARE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)({NUM}){WS}?(tb|gb|mb|kb|ghz|mhz|khz|hz|mm)")).expect("valid regex")
});

static DIMENSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    let pair = format!(r"{NUM}{WS}*[xX]{WS}*{NUM}");
    let three = format!(r"{NUM}{WS}*[xX]{WS}*{NUM}{WS}*[xX]{WS}*{NUM}");
    let unit = "(?:in|inch|m)?";
    Regex::new(&format!(
        r"(?-u:\b)({three}{unit})(?-u:\b)|(?-u:\b)({pair}{unit})(?-u:\b)"
    ))
    .expect("valid regex")
});

fn step(cur: &mut Cow<'_, str>, f: impl FnOnce(&str) -> Option<String>) {
    if let Some(new) = f(cur) {
        *cur = Cow::Owned(new);
    }
}

fn regex_step(cur: &mut Cow<'_, str>, re: &Regex, f: impl FnMut(&Captures<'_>) -> String) {
    if let Cow::Owned(new) = re.replace_all(cur, f) {
        *cur = Cow::Owned(new);
    }
}

/// Cleans one piece (a run of non-whitespace input that does not start with `{`) and writes
/// it, lower-cased and whitespace-collapsed, to `w`.
pub(crate) fn clean_piece(piece: &str, w: &mut Collapser<'_>) {
    let mut cur = transliterate(piece);
    let has = |s: &str, f: fn(&u8) -> bool| s.as_bytes().iter().any(f);
    if has(&cur, u8::is_ascii_digit) {
        if has(&cur, |&c| c == b'm' || c == b'M') {
            regex_step(&mut cur, &AMPM_RE, expand_ampm);
        }
        if has(&cur, u8::is_ascii_alphabetic) {
            regex_step(&mut cur, &HARDWARE_RE, expand_hardware);
        }
        if has(&cur, |&c| c == b'x' || c == b'X') {
            regex_step(&mut cur, &DIMENSION_RE, expand_dimension);
        }
        step(&mut cur, letters_and_numbers);
    }
    if has(&cur, |&c| c.is_ascii_digit() || c == b'$' || c == b'I') {
        step(&mut cur, normalize_numbers);
    }
    step(&mut cur, normalize_abbreviations);
    step(&mut cur, spell_acronyms);
    w.push_cleaned(&cur);
}

/// `_expand_ampm`: "10:30pm" -> "10 30 p.m.", "9am" -> "9 a.m.".
fn expand_ampm(caps: &Captures<'_>) -> String {
    let mut out = caps[1].to_string();
    if let Some(minutes) = caps.get(2) {
        if minutes.as_str() != "00" {
            out.push(' ');
            out.push_str(minutes.as_str());
        }
    }
    let half = caps[3].as_bytes()[0].to_ascii_lowercase();
    out.push_str(if half == b'a' { " a.m." } else { " p.m." });
    out
}

/// `_expand_hardware`: "5GB" -> "5 gigabytes" (no plural for hertz or for quantities <= 1).
fn expand_hardware(caps: &Captures<'_>) -> String {
    let quantity = &caps[1];
    let unit = match caps[2].to_ascii_lowercase().as_str() {
        "tb" => "terabyte",
        "gb" => "gigabyte",
        "mb" => "megabyte",
        "kb" => "kilobyte",
        "ghz" => "gigahertz",
        "mhz" => "megahertz",
        "khz" => "kilohertz",
        "hz" => "hertz",
        _ => "millimeter",
    };
    let value: f64 = quantity.replace(',', "").parse().unwrap_or(0.0);
    let plural = !unit.ends_with('z') && value > 1.0;
    format!("{quantity} {unit}{}", if plural { "s" } else { "" })
}

/// `_expand_dimension`: "2x3m" -> "2 by 3 meter", "2 x 3in" -> "2 by 3 inch".
fn expand_dimension(caps: &Captures<'_>) -> String {
    let text = caps[0].replace(" x ", " by ").replace('x', " by ");
    let b = text.as_bytes();
    let n = b.len();
    let digit_at = |back: usize| n >= back && b[n - back].is_ascii_digit();
    if text.ends_with('m') && digit_at(2) {
        format!("{} meter", &text[..n - 1])
    } else if text.ends_with("in") && digit_at(3) {
        format!("{} inch", &text[..n - 2])
    } else {
        text
    }
}

/// `((?:[a-zA-Z]+[0-9]|[0-9]+[a-zA-Z])[a-zA-Z0-9']*)` through `_expand_letters_and_numbers`.
fn letters_and_numbers(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let (run_end, wanted): (usize, fn(&u8) -> bool) = if c.is_ascii_alphabetic() {
            (
                i + run_len(b, i, |x| x.is_ascii_alphabetic()),
                u8::is_ascii_digit,
            )
        } else if c.is_ascii_digit() {
            (
                i + run_len(b, i, |x| x.is_ascii_digit()),
                u8::is_ascii_alphabetic,
            )
        } else {
            i += 1;
            continue;
        };
        if !b.get(run_end).is_some_and(wanted) {
            i = run_end;
            continue;
        }
        let head = run_end + 1;
        let end = head + run_len(b, head, |x| x.is_ascii_alphanumeric() || x == b'\'');
        out.push_str(&text[copied..i]);
        split_letters_and_numbers(&text[i..end], &mut out);
        copied = end;
        changed = true;
        i = end;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// Splits a letters+digits token into letter and digit parts, digits in pairs: "ak47" ->
/// "ak 47", "1920s" -> "1920s", "b1234" -> "b 12 34".
fn split_letters_and_numbers(token: &str, out: &mut String) {
    // re.split(r'(\d+)', token): non-digit, digits, non-digit, ..., non-digit
    let b = token.as_bytes();
    let mut parts: Vec<Cow<'_, str>> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let end = i + run_len(b, i, |c| c.is_ascii_digit());
            parts.push(Cow::Borrowed(&token[start..i]));
            parts.push(Cow::Borrowed(&token[i..end]));
            start = end;
            i = end;
        } else {
            i += 1;
        }
    }
    parts.push(Cow::Borrowed(&token[start..]));
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    } else if parts.first().is_some_and(|p| p.is_empty()) {
        parts.remove(0);
    }
    let n = parts.len();
    if n >= 2
        && matches!(
            parts[n - 1].as_ref(),
            "'s" | "s" | "th" | "nd" | "st" | "rd"
        )
        && all_digits(&parts[n - 2])
    {
        let last = parts.pop().unwrap_or_default();
        if let Some(prev) = parts.last_mut() {
            prev.to_mut().push_str(&last);
        }
    }
    let mut first = true;
    let mut emit = |piece: &str, out: &mut String| {
        if !first {
            out.push(' ');
        }
        first = false;
        out.push_str(piece);
    };
    for part in &parts {
        let s = part.as_ref();
        let len = s.len();
        if !all_digits(s) || len >= 5 {
            emit(s, out);
        } else if len > 2 && s.as_bytes()[len - 2] == b'0' {
            if s.as_bytes()[len - 1] == b'0' {
                emit(s, out);
            } else {
                emit(&s[..len - 2], out);
                emit(&s[len - 2..len - 1], out);
                emit(&s[len - 1..], out);
            }
        } else if len % 2 == 0 {
            for k in (0..len).step_by(2) {
                emit(&s[k..k + 2], out);
            }
        } else if len > 2 {
            emit(&s[..1], out);
            for k in (1..len).step_by(2) {
                emit(&s[k..k + 2], out);
            }
        } else {
            emit(s, out);
        }
    }
}

/// `normalize_abbreviations`.
fn normalize_abbreviations(text: &str) -> Option<String> {
    let mut cur = Cow::Borrowed(text);
    let has = |s: &str, c: u8| s.as_bytes().contains(&c);
    if has(&cur, b'.') {
        step(&mut cur, expand_no_period);
    }
    if has(&cur, b'%') {
        cur = Cow::Owned(expand_percent(&cur));
    }
    if has(&cur, b'&') {
        cur = Cow::Owned(cur.replace('&', " and "));
    }
    if has(&cur, b'@') {
        cur = Cow::Owned(cur.replace('@', " at "));
    }
    if has(&cur, b'.') {
        step(&mut cur, expand_urls);
        step(&mut cur, expand_titles);
    }
    match cur {
        Cow::Borrowed(_) => None,
        Cow::Owned(s) => Some(s),
    }
}

/// `(No[.])(?=[ ]?[0-9])` -> "Number".
fn expand_no_period(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i + 3 <= b.len() {
        if &b[i..i + 3] == b"No." {
            let next = b.get(i + 3).copied();
            let digit_follows = match next {
                Some(c) if c.is_ascii_digit() => true,
                Some(b' ') => b.get(i + 4).is_some_and(u8::is_ascii_digit),
                _ => false,
            };
            if digit_follows {
                out.push_str(&text[copied..i]);
                out.push_str("Number");
                copied = i + 3;
                i += 3;
                continue;
            }
        }
        i += 1;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// `([ ]?[%])` -> " percent". Only called on text holding a `%`, so it always changes it and,
/// unlike the other steps, returns the new text rather than an `Option`.
fn expand_percent(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let len = if b[i] == b'%' {
            1
        } else if b[i] == b' ' && b.get(i + 1) == Some(&b'%') {
            2
        } else {
            i += 1;
            continue;
        };
        out.push_str(&text[copied..i]);
        out.push_str(" percent");
        i += len;
        copied = i;
    }
    out.push_str(&text[copied..]);
    out
}

/// `([a-zA-Z])\.(com|gov|org)` -> "x dot com".
fn expand_urls(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i + 5 <= b.len() {
        if b[i].is_ascii_alphabetic()
            && b[i + 1] == b'.'
            && matches!(&b[i + 2..i + 5], b"com" | b"gov" | b"org")
        {
            out.push_str(&text[copied..=i]);
            out.push_str(" dot ");
            out.push_str(&text[i + 2..i + 5]);
            i += 5;
            copied = i;
        } else {
            i += 1;
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// DLE's abbreviation list, applied in this order, each as `\b<abbr>\.` (case-insensitive).
const TITLES: [(&str, &str); 21] = [
    ("mrs", "misess"),
    ("ms", "miss"),
    ("mr", "mister"),
    ("dr", "doctor"),
    ("st", "saint"),
    ("co", "company"),
    ("jr", "junior"),
    ("maj", "major"),
    ("gen", "general"),
    ("drs", "doctors"),
    ("rev", "reverend"),
    ("lt", "lieutenant"),
    ("hon", "honorable"),
    ("sgt", "sergeant"),
    ("capt", "captain"),
    ("esq", "esquire"),
    ("ltd", "limited"),
    ("col", "colonel"),
    ("ft", "fort"),
    ("sen", "senator"),
    ("etc", "et cetera"),
];

/// Applies the abbreviation list. Replacements only ever remove matches of later entries, so
/// the entries that match the original text are found first and then applied in order.
fn expand_titles(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut present = 0u32;
    for (dot, _) in b.iter().enumerate().filter(|(_, &c)| c == b'.') {
        let len = b[..dot]
            .iter()
            .rev()
            .take(5)
            .take_while(|&&c| is_word_byte(c))
            .count();
        if !(2..=4).contains(&len) || !boundary(b, dot - len) {
            continue;
        }
        let word = &b[dot - len..dot];
        if let Some(k) = TITLES
            .iter()
            .position(|(abbr, _)| word.eq_ignore_ascii_case(abbr.as_bytes()))
        {
            present |= 1 << k;
        }
    }
    if present == 0 {
        return None;
    }
    let mut cur = text.to_string();
    for (k, (abbr, replacement)) in TITLES.iter().enumerate() {
        if present & (1 << k) != 0 {
            cur = replace_title(&cur, abbr.as_bytes(), replacement);
        }
    }
    Some(cur)
}

fn replace_title(text: &str, abbr: &[u8], replacement: &str) -> String {
    let b = text.as_bytes();
    let len = abbr.len();
    let mut out = String::with_capacity(text.len() + 16);
    let mut copied = 0;
    let mut i = 0;
    while i + len < b.len() {
        if b[i + len] == b'.'
            && b[i..i + len].eq_ignore_ascii_case(abbr)
            && (i == 0 || !is_word_byte(b[i - 1]))
        {
            out.push_str(&text[copied..i]);
            out.push_str(replacement);
            i += len + 1;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// `spell_acronyms`: "email" -> "e-mail", then upper-case runs spelled with dots.
fn spell_acronyms(text: &str) -> Option<String> {
    let mut cur = Cow::Borrowed(text);
    if cur.len() >= 5 {
        step(&mut cur, expand_email);
    }
    if cur.as_bytes().iter().any(u8::is_ascii_uppercase) {
        step(&mut cur, expand_acronyms);
    }
    match cur {
        Cow::Borrowed(_) => None,
        Cow::Owned(s) => Some(s),
    }
}

/// `\b(email)\b` (case-insensitive) -> "e-mail".
fn expand_email(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i + 5 <= b.len() {
        if b[i..i + 5].eq_ignore_ascii_case(b"email") && boundary(b, i) && boundary(b, i + 5) {
            out.push_str(&text[copied..i]);
            out.push_str("e-mail");
            i += 5;
            copied = i;
        } else {
            i += 1;
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// `([a-z]*[A-Z][A-Z]+)s?\.?` through `expand_acronyms`: "USA" -> "U.S.A.", "CDs" -> "C.D.'s".
fn expand_acronyms(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        let lower = run_len(b, i, |c| c.is_ascii_lowercase());
        let upper = run_len(b, i + lower, |c| c.is_ascii_uppercase());
        if upper < 2 {
            i += lower.max(1);
            continue;
        }
        let core_end = i + lower + upper;
        let mut end = core_end;
        if b.get(end) == Some(&b's') {
            end += 1;
        }
        if b.get(end) == Some(&b'.') {
            end += 1;
        }
        out.push_str(&text[copied..i]);
        let core = &text[i..core_end];
        let whole = &b[i..end];
        let start = out.len();
        if core == "NVIDIA" {
            out.push_str("N.VIDIA");
        } else {
            for c in core.chars() {
                out.push(c);
                out.push('.');
            }
        }
        if whole.contains(&b's') {
            out.push_str("'s");
        }
        if !out[start..].ends_with('.') && whole.last() == Some(&b'.') {
            out.push('.');
        }
        changed = true;
        copied = end;
        i = end;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}
