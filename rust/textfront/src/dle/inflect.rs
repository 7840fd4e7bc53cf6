//! Numbers in words exactly as Python's `inflect` (7.x) `number_to_words` spells them for the
//! calls DLE makes: cardinals and ordinals with the default arguments, decimal strings, and the
//! "year" reading (`group=2, zero="oh", andword=""`).
//!
//! inflect only knows scales up to "decillion" and raises for 10^36 and above; the reference
//! then fails on the whole input. We read such numbers digit by digit instead.

use crate::numwords::{scale, DIGITS as DIGIT_WORDS, TEENS, TENS};

/// Units as inflect writes them inside a number (no word for 0).
const UNITS: [&str; 10] = [
    "", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// inflect spells numbers below this bound; it raises for larger ones.
pub(crate) const SPELLABLE: u128 = 1_000_000_000_000_000_000_000_000_000_000_000_000;

/// Value of an ASCII digit string (leading zeros allowed), or `None` when it has more than
/// 38 significant digits (more than any caller can spell).
pub(crate) fn parse_digits(digits: &str) -> Option<u128> {
    let significant = digits.trim_start_matches('0');
    if significant.len() > 38 {
        return None;
    }
    Some(
        significant
            .bytes()
            .fold(0u128, |acc, b| acc * 10 + u128::from(b - b'0')),
    )
}

/// Two-digit part: "seven", "twelve", "forty", "forty-two" (empty for 0).
fn push_tens(out: &mut String, value: u32) {
    let (t, u) = ((value / 10) as usize, (value % 10) as usize);
    if t == 1 {
        out.push_str(TEENS[u]);
    } else {
        out.push_str(TENS[t]);
        if t > 0 && u > 0 {
            out.push('-');
        }
        out.push_str(UNITS[u]);
    }
}

/// Cardinal of `n < SPELLABLE`: "one million, two hundred and three thousand and four".
fn push_cardinal_small(out: &mut String, n: u128) {
    if n == 0 {
        out.push_str("zero");
        return;
    }
    let mut groups = [0u32; 12];
    let mut count = 0;
    let mut rest = n;
    while rest > 0 && count < groups.len() {
        groups[count] = (rest % 1000) as u32;
        rest /= 1000;
        count += 1;
    }
    let mut any = false;
    for i in (0..count).rev() {
        let group = groups[i];
        if group == 0 {
            continue;
        }
        if any {
            // inflect turns the last ", " into " and " when the final group is below 100.
            out.push_str(if i == 0 && group < 100 { " and " } else { ", " });
        }
        any = true;
        let hundreds = group / 100;
        let tens = group % 100;
        if hundreds > 0 {
            out.push_str(UNITS[hundreds as usize]);
            out.push_str(" hundred");
            if tens > 0 {
                out.push_str(" and ");
                push_tens(out, tens);
            }
        } else {
            push_tens(out, tens);
        }
        if i > 0 {
            out.push(' ');
            out.push_str(scale(i));
        }
    }
}

/// Digit-by-digit reading, our substitute where inflect gives up.
pub(crate) fn push_digitwise(out: &mut String, digits: &str) {
    for (i, b) in digits.bytes().filter(u8::is_ascii_digit).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(DIGIT_WORDS[(b - b'0') as usize]);
    }
}

/// `number_to_words(n)` for an integer value.
pub(crate) fn push_cardinal(out: &mut String, n: u128) {
    if n < SPELLABLE {
        push_cardinal_small(out, n);
    } else {
        push_digitwise(out, &n.to_string());
    }
}

/// `number_to_words` of an integer given as ASCII digits (leading zeros allowed).
pub(crate) fn push_cardinal_digits(out: &mut String, digits: &str) {
    match parse_digits(digits) {
        Some(n) if n < SPELLABLE => push_cardinal_small(out, n),
        _ => push_digitwise(out, digits.trim_start_matches('0')),
    }
}

pub(crate) fn cardinal(n: u128) -> String {
    let mut out = String::new();
    push_cardinal(&mut out, n);
    out
}

/// Turns the last word into its ordinal form, as inflect does ("twenty-one" -> "twenty-first").
fn make_ordinal(out: &mut String) {
    const ENDINGS: [(&str, &str); 8] = [
        ("ty", "tieth"),
        ("one", "first"),
        ("two", "second"),
        ("three", "third"),
        ("five", "fifth"),
        ("eight", "eighth"),
        ("nine", "ninth"),
        ("twelve", "twelfth"),
    ];
    for (ending, ordinal) in ENDINGS {
        if out.ends_with(ending) {
            out.truncate(out.len() - ending.len());
            out.push_str(ordinal);
            return;
        }
    }
    out.push_str("th");
}

/// `number_to_words("21st")`: the digits spelled as an ordinal (the suffix letters are not
/// checked, as in inflect).
pub(crate) fn push_ordinal_digits(out: &mut String, digits: &str) {
    let mut words = String::new();
    push_cardinal_digits(&mut words, digits);
    make_ordinal(&mut words);
    out.push_str(&words);
}

/// `number_to_words(s)` for a string of digits with at most one `.` that ends in a digit
/// ("12", "1.50", ".5"): the integer part as a cardinal, then "point" and one word per digit.
pub(crate) fn push_decimal_str(out: &mut String, s: &str) {
    let (int_part, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let mut first = true;
    if !int_part.is_empty() {
        push_cardinal_digits(out, int_part);
        first = false;
    }
    if let Some(frac) = frac {
        if !first {
            out.push(' ');
        }
        out.push_str("point");
        for b in frac.bytes().filter(u8::is_ascii_digit) {
            out.push(' ');
            out.push_str(DIGIT_WORDS[(b - b'0') as usize]);
        }
    }
}

/// The reading DLE gives years 1001..=2999 that are not whole hundreds, through
/// `number_to_words(n, andword="", zero="oh", group=2)` with commas and hyphens replaced by
/// spaces: "nineteen oh five", "twenty ten", "ten twenty".
pub(crate) fn push_year(out: &mut String, n: u32) {
    let high = n / 100;
    let low = n % 100;
    let start = out.len();
    push_tens(out, high);
    out.push(' ');
    if low < 10 {
        out.push_str("oh ");
        out.push_str(UNITS[low as usize]);
    } else {
        push_tens(out, low);
    }
    // hyphens become spaces
    let tail: String = out[start..].replace('-', " ");
    out.truncate(start);
    out.push_str(&tail);
}
