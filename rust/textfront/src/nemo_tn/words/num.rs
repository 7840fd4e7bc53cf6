//! Number wording: cardinals, ordinals, decimals, fractions, years, digit strings.

use crate::numwords::{scale, DIGITS as ONES, TEENS, TENS, THOUSANDS as QUANTITIES};

pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn digit_word(b: u8) -> &'static str {
    ONES[(b - b'0') as usize]
}

/// Words for 1..=99 given as one or two digits (no leading zero); `None` for zero.
fn two_digits(d: &[u8]) -> Option<String> {
    let n = d.iter().fold(0usize, |a, b| a * 10 + (b - b'0') as usize);
    match n {
        0 => None,
        1..=9 => Some(ONES[n].to_string()),
        10..=19 => Some(TEENS[n - 10].to_string()),
        _ if n % 10 == 0 => Some(TENS[n / 10].to_string()),
        _ => Some(format!("{} {}", TENS[n / 10], ONES[n % 10])),
    }
}

/// Words for a group of up to three digits; `None` when the group is zero.
fn group_words(d: &[u8]) -> Option<String> {
    let (h, rest) = if d.len() == 3 {
        (d[0] - b'0', &d[1..])
    } else {
        (0, d)
    };
    let tail = two_digits(rest);
    match (h, tail) {
        (0, t) => t,
        (h, None) => Some(format!("{} hundred", ONES[h as usize])),
        (h, Some(t)) => Some(format!("{} hundred {t}", ONES[h as usize])),
    }
}

/// Plain reading of a digit string (no leading zero unless it is "0"), up to `max` digits.
fn plain_words(d: &str, max: usize) -> Option<String> {
    if !is_digits(d) || d.len() > max || (d.len() > 1 && d.starts_with('0')) {
        return None;
    }
    if d == "0" {
        return Some("zero".into());
    }
    let b = d.as_bytes();
    let ngroups = b.len().div_ceil(3);
    let first = b.len() - (ngroups - 1) * 3;
    let mut parts: Vec<String> = Vec::new();
    let mut start = 0;
    for g in 0..ngroups {
        let end = if g == 0 { first } else { start + 3 };
        if let Some(w) = group_words(&b[start..end]) {
            let power = scale(ngroups - 1 - g);
            parts.push(if power.is_empty() {
                w
            } else {
                format!("{w} {power}")
            });
        }
        start = end;
    }
    Some(parts.join(" "))
}

/// Strips NeMo-style thousands separators: either no comma at all or a leading group of 1-3
/// digits followed by `,ddd` groups. Returns the bare digits and whether commas were present.
pub(crate) fn strip_commas(s: &str) -> Option<(String, bool)> {
    if !s.contains(',') {
        return is_digits(s).then(|| (s.to_string(), false));
    }
    let mut groups = s.split(',');
    let head = groups.next()?;
    if !is_digits(head) || head.len() > 3 {
        return None;
    }
    let mut out = head.to_string();
    for g in groups {
        if g.len() != 3 || !is_digits(g) {
            return None;
        }
        out.push_str(g);
    }
    Some((out, true))
}

/// NeMo's `cardinal.graph`: plain number name (no "and"), commas allowed, up to 15 digits;
/// comma-grouped numbers up to 24 digits (NeMo's second number grammar).
pub(crate) fn cardinal_graph(s: &str) -> Option<String> {
    let (d, commas) = strip_commas(s)?;
    let max = if commas { 24 } else { 15 };
    plain_words(&d, max)
}

/// NeMo's `cardinal.graph` without the 24-digit comma grammar (ordinal, fraction, time use it).
pub(crate) fn cardinal_graph15(s: &str) -> Option<String> {
    let (d, _) = strip_commas(s)?;
    plain_words(&d, 15)
}

thread_local! {
    /// Set by the tagger while it reads a span that follows a long stretch of text (see
    /// `set_long_prefix`).
    static LONG_PREFIX: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Tells the number readings that the span follows text costing 2047 or more in NeMo's
/// weights (about 21 plain words). NeMo's shortest path sums weights in 32-bit floats; past
/// 2048 its -0.0001 preference for "hundred and" is lost in rounding, and the reading without
/// "and" wins ("... like 10,125" -> "ten thousand one hundred twenty five").
pub(crate) fn set_long_prefix(long: bool) {
    LONG_PREFIX.with(|c| c.set(long));
}

/// Inserts "and" the way NeMo's `add_optional_and` prefers: after the last "hundred" that is
/// followed by words without "thousand"/"million", else after a "thousand" followed by words
/// without "hundred". No "and" after a long prefix (see `set_long_prefix`).
pub(crate) fn add_and(words: &str) -> String {
    if long_prefix() {
        return words.to_string();
    }
    add_and_always(words)
}

/// Whether the span being read follows a long prefix (see `set_long_prefix`).
pub(crate) fn long_prefix() -> bool {
    LONG_PREFIX.with(std::cell::Cell::get)
}

/// `add_and` regardless of the prefix.
pub(crate) fn add_and_always(words: &str) -> String {
    let mut best: Option<usize> = None;
    for (i, _) in words.match_indices("hundred ") {
        let rest = &words[i + 8..];
        if !rest.contains("thousand") && !rest.contains("million") {
            best = Some(i + 8);
        }
    }
    if best.is_none() {
        for (i, _) in words.match_indices("thousand ") {
            let rest = &words[i + 9..];
            if !rest.contains("hundred") {
                best = Some(i + 9);
            }
        }
    }
    match best {
        Some(p) => format!("{}and {}", &words[..p], &words[p..]),
        None => words.to_string(),
    }
}

/// NeMo's `cardinal.graph_with_and` (used by decimals, money, measures).
pub(crate) fn graph_with_and(s: &str) -> Option<String> {
    cardinal_graph15(s).map(|w| add_and(&w))
}

/// NeMo's `graph_hundred_component_at_least_one_none_zero_digit`: 1-3 digits, no leading zero.
pub(crate) fn up_to_hundred(s: &str) -> Option<String> {
    if s.len() > 3 || s == "0" {
        return None;
    }
    plain_words(s, 3)
}

/// NeMo's cardinal wording of a bare digit string without "and", e.g. "123" -> "one hundred
/// twenty three". Accepts 1-15 ASCII digits without leading zero (or "0"); `None` otherwise.
pub fn number_to_words(digits: &str) -> Option<String> {
    plain_words(digits, 15)
}

/// Reads ASCII digits one by one ("0" -> "zero"), e.g. "105" -> "one zero five".
/// `None` if the input is empty or has a non-digit.
pub fn digits_one_by_one(digits: &str) -> Option<String> {
    if !is_digits(digits) {
        return None;
    }
    let mut out = String::with_capacity(digits.len() * 5);
    for (i, b) in digits.bytes().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(digit_word(b));
    }
    Some(out)
}

/// A cardinal span as NeMo's cardinal class reads it: optional leading "-" ("minus"), then
/// digits. Up to four digits (no leading zero) are read as a number with NeMo's "and" rule;
/// five or more plain digits, or a leading zero, are read digit by digit; comma-grouped
/// numbers ("13,000") are read as numbers up to 24 digits.
/// E.g. "123" -> "one hundred and twenty three", "13000" -> "one three zero zero zero".
pub fn cardinal(span: &str) -> Option<String> {
    let (neg, body) = match span.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, span),
    };
    let words = if is_digits(body) {
        if body.len() >= 5 || (body.starts_with('0') && body.len() > 1) {
            digits_one_by_one(body)?
        } else {
            graph_with_and(body)?
        }
    } else {
        cardinal_graph(body).map(|w| add_and(&w))?
    };
    Some(if neg { format!("minus {words}") } else { words })
}

/// Turns the last word of a cardinal reading into its ordinal form ("twenty one" ->
/// "twenty first", "twenty" -> "twentieth").
pub(crate) fn ordinal_suffix(words: &str) -> String {
    let (head, last) = match words.rfind(' ') {
        Some(i) => (&words[..=i], &words[i + 1..]),
        None => ("", words),
    };
    let new_last = match last {
        "one" => "first".to_string(),
        "two" => "second".to_string(),
        "three" => "third".to_string(),
        "five" => "fifth".to_string(),
        "eight" => "eighth".to_string(),
        "nine" => "ninth".to_string(),
        "twelve" => "twelfth".to_string(),
        _ => {
            if let Some(stem) = last.strip_suffix("ty") {
                format!("{stem}tieth")
            } else {
                format!("{last}th")
            }
        }
    };
    format!("{head}{new_last}")
}

/// Ordinal words for a digit string (commas allowed), e.g. "21" -> "twenty first",
/// "1,000" -> "one thousandth". Up to 15 digits.
pub fn ordinal_words(digits: &str) -> Option<String> {
    cardinal_graph15(digits).map(|w| ordinal_suffix(&w))
}

/// An ordinal span such as "21st", "1,000th", "3RD", "2ⁿᵈ": digits (commas allowed) with the
/// matching suffix; "1th", "4rd", "11st" are not ordinals. E.g. "111th" -> "one hundred eleventh".
pub fn ordinal(span: &str) -> Option<String> {
    let sfx = [
        ("st", 1u8),
        ("ST", 1),
        ("ˢᵗ", 1),
        ("nd", 2),
        ("ND", 2),
        ("ⁿᵈ", 2),
        ("rd", 3),
        ("RD", 3),
        ("ʳᵈ", 3),
        ("th", 0),
        ("TH", 0),
        ("ᵗʰ", 0),
    ];
    let (num, kind) = sfx
        .iter()
        .find_map(|(s, k)| span.strip_suffix(s).map(|n| (n, *k)))?;
    let b = num.as_bytes();
    let last = *b.last()?;
    if !last.is_ascii_digit() {
        return None;
    }
    let prev = if b.len() >= 2 {
        Some(b[b.len() - 2])
    } else {
        None
    };
    let ok = match kind {
        0 => !(b'1'..=b'3').contains(&last) || prev == Some(b'1'),
        k => last == b'0' + k && prev.is_none_or(|p| p.is_ascii_digit() && p != b'1'),
    };
    if !ok {
        return None;
    }
    ordinal_words(num)
}

/// Splits a trailing quantity word ("million", and with `abbr` also "M", "bn", "k", ...)
/// separated by at most one space. Returns (number part, quantity word, was abbreviation).
pub(crate) fn split_quantity(s: &str, abbr: bool) -> Option<(&str, &'static str)> {
    const ABBR: [(&str, &str); 10] = [
        ("M", "million"),
        ("MLN", "million"),
        ("m", "million"),
        ("mln", "million"),
        ("B", "billion"),
        ("b", "billion"),
        ("BN", "billion"),
        ("bn", "billion"),
        ("K", "thousand"),
        ("k", "thousand"),
    ];
    let split = |tail: &str| -> Option<&'static str> {
        if let Some(q) = QUANTITIES.iter().find(|q| **q == tail) {
            return Some(q);
        }
        if abbr {
            if let Some((_, q)) = ABBR.iter().find(|(a, _)| *a == tail) {
                return Some(q);
            }
            // NeMo also accepts an upper-cased spelling of an abbreviation.
            if let Some((_, q)) = ABBR.iter().find(|(a, _)| a.to_ascii_uppercase() == tail) {
                return Some(q);
            }
        }
        None
    };
    let cut = s.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len();
    let tail = &s[cut..];
    let q = split(tail)?;
    let mut head = &s[..cut];
    if let Some(h) = head.strip_suffix(' ') {
        head = h;
    }
    if head.is_empty() || head.ends_with(' ') {
        return None;
    }
    Some((head, q))
}

/// Parts of a decimal (without sign): integer words, fractional digit words, quantity.
pub(crate) struct DecimalParts {
    pub integer: Option<String>,
    pub fractional: Option<String>,
    pub quantity: Option<&'static str>,
}

impl DecimalParts {
    pub(crate) fn words(&self) -> String {
        let mut out = String::new();
        if let Some(i) = &self.integer {
            out.push_str(i);
        }
        if let Some(f) = &self.fractional {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("point ");
            out.push_str(f);
        }
        if let Some(q) = self.quantity {
            out.push(' ');
            out.push_str(q);
        }
        out
    }
}

/// "12.5", ".5", "1,234.56": integer part with NeMo's "and", fraction digit by digit.
pub(crate) fn point_number(s: &str) -> Option<DecimalParts> {
    let (i, f) = s.split_once('.')?;
    if !is_digits(f) {
        return None;
    }
    let integer = if i.is_empty() {
        None
    } else {
        Some(graph_with_and(i)?)
    };
    Some(DecimalParts {
        integer,
        fractional: digits_one_by_one(f),
        quantity: None,
    })
}

/// NeMo's `decimal.final_graph_wo_negative` (with `abbr`: the `_w_abbr` variant used by money).
pub(crate) fn decimal_parts(s: &str, abbr: bool) -> Option<DecimalParts> {
    if let Some(p) = point_number(s) {
        return Some(p);
    }
    let (num, q) = split_quantity(s, abbr)?;
    if let Some(mut p) = point_number(num) {
        p.quantity = Some(q);
        return Some(p);
    }
    if q == "thousand" {
        return None;
    }
    Some(DecimalParts {
        integer: Some(up_to_hundred(num)?),
        fractional: None,
        quantity: Some(q),
    })
}

/// A decimal span: optional "-", optional integer part (commas allowed), "." and fraction
/// digits, optional quantity word ("1.5 billion", "100 million"). Integer-only numbers without
/// a quantity are not decimals. E.g. "-0.1" -> "minus zero point one",
/// ".1 trillion" -> "point one trillion".
pub fn decimal(span: &str) -> Option<String> {
    let (neg, body) = match span.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, span),
    };
    let w = decimal_parts(body, false)?.words();
    Some(if neg { format!("minus {w}") } else { w })
}

const UNICODE_FRACTIONS: [(char, &str); 18] = [
    ('¼', "1/4"),
    ('½', "1/2"),
    ('¾', "3/4"),
    ('⅐', "1/7"),
    ('⅑', "1/9"),
    ('⅒', "1/10"),
    ('⅓', "1/3"),
    ('⅔', "2/3"),
    ('⅕', "1/5"),
    ('⅖', "2/5"),
    ('⅗', "3/5"),
    ('⅘', "4/5"),
    ('⅙', "1/6"),
    ('⅚', "5/6"),
    ('⅛', "1/8"),
    ('⅜', "3/8"),
    ('⅝', "5/8"),
    ('⅞', "7/8"),
];

/// NeMo's fraction verbalization from numerator/denominator words.
fn fraction_words(integer: Option<&str>, num: &str, den: &str) -> String {
    let denom = match den {
        "one" => "over one".to_string(),
        "two" => "half".to_string(),
        "four" => "quarter".to_string(),
        d => ordinal_suffix(d),
    };
    let mut body = if num == "one" {
        format!("one {denom}")
    } else if let Some(h) = denom.strip_suffix("half") {
        format!("{num} {h}halves")
    } else {
        format!("{num} {denom}s")
    };
    if let Some(b) = body.strip_suffix("over ones") {
        body = format!("{b}over one");
    }
    match integer {
        Some(i) => {
            let mut s = format!("{i} and {body}");
            if let Some(h) = s.strip_suffix("and one half") {
                s = format!("{h}and a half");
            }
            s
        }
        None => body,
    }
}

/// Fraction parts (integer words, numerator words, denominator words) of NeMo's fraction graph.
pub(crate) fn fraction_parts(s: &str) -> Option<(Option<String>, String, String)> {
    // Unicode vulgar fraction, optionally preceded by an integer and an optional space.
    if let Some(c) = s.chars().last() {
        if let Some((_, f)) = UNICODE_FRACTIONS.iter().find(|(u, _)| *u == c) {
            let head = &s[..s.len() - c.len_utf8()];
            let head = head.strip_suffix(' ').unwrap_or(head);
            let integer = if head.is_empty() {
                None
            } else {
                Some(cardinal_graph15(head)?)
            };
            let (n, d) = f.split_once('/')?;
            return Some((integer, cardinal_graph15(n)?, cardinal_graph15(d)?));
        }
    }
    let (left, right) = if let Some((l, r)) = s.split_once(" / ") {
        (l, r)
    } else {
        s.split_once('/')?
    };
    let (integer, num) = match left.rsplit_once(' ') {
        Some((i, n)) => (Some(cardinal_graph15(i)?), n),
        None => (None, left),
    };
    let den = ["rd", "th", "st", "nd", "RD", "TH", "ST", "ND"]
        .iter()
        .find_map(|e| right.strip_suffix(e))
        .unwrap_or(right);
    Some((integer, cardinal_graph15(num)?, cardinal_graph15(den)?))
}

/// A fraction span: "1/2", "3 5/2", "1795 / 1805", "1/4th", "2½". E.g. "2 1/2" -> "two and a
/// half", "31/32" -> "thirty one thirty seconds".
pub fn fraction(span: &str) -> Option<String> {
    let (i, n, d) = fraction_parts(span)?;
    Some(fraction_words(i.as_deref(), &n, &d))
}

fn ties(d: &[u8]) -> Option<String> {
    // NeMo's two-digit year piece: teen, "twenty", "twenty one", "oh five"; "00" is not one.
    match d {
        [b'0', b'0'] => None,
        [b'0', x] => Some(format!("oh {}", digit_word(*x))),
        // A teen or a ten with its unit.
        [_, _] => two_digits(d),
        _ => None,
    }
}

/// NeMo's four-digit year reading (`get_four_digit_year_graph`), e.g. "1994" -> "nineteen
/// ninety four", "2005" -> "two thousand five", "1900" -> "nineteen hundred", "1506" ->
/// "fifteen oh six". Also accepts a decade form with "s" ("1980s" -> "nineteen eighties",
/// "2000s" -> "two thousands"). Exactly four digits (plus optional "s").
pub fn year_words(digits: &str) -> Option<String> {
    if let Some(d) = digits.strip_suffix('s') {
        return year_with_s(d);
    }
    if digits.len() != 4 || !is_digits(digits) {
        return None;
    }
    let b = digits.as_bytes();
    if b[0] != b'0' && b[1] == b'0' && b[2] == b'0' {
        let first = digit_word(b[0]);
        return Some(if b[3] == b'0' {
            format!("{first} thousand")
        } else {
            format!("{first} thousand {}", digit_word(b[3]))
        });
    }
    let head = ties(&b[..2])?;
    if &b[2..] == b"00" {
        return Some(format!("{head} hundred"));
    }
    Some(format!("{head} {}", ties(&b[2..])?))
}

fn pluralize_last(s: &str) -> String {
    match s.strip_suffix('y') {
        Some(h) => format!("{h}ies"),
        None => format!("{s}s"),
    }
}

fn year_with_s(d: &str) -> Option<String> {
    let d = d.strip_suffix(' ').unwrap_or(d);
    if d.len() != 4 || !is_digits(d) {
        return None;
    }
    let b = d.as_bytes();
    if b[0] != b'0' && &b[1..] == b"000" {
        return Some(format!("{} thousands", digit_word(b[0])));
    }
    if b[3] != b'0' {
        return None;
    }
    if &b[2..] == b"00" {
        let head = ties(&b[..2])?;
        if b[1] == b'0' {
            return None;
        }
        return Some(format!("{head} hundreds"));
    }
    if b[0] == b'1' {
        let teen = TEENS[(b[1] - b'0') as usize];
        let t = if b[2] == b'1' {
            "ten".to_string()
        } else {
            TENS[(b[2] - b'0') as usize].to_string()
        };
        return Some(pluralize_last(&format!("{teen} {t}")));
    }
    None
}
