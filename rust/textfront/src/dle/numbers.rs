//! DLE `numerical.py`: money, decimals, ordinals, roman numerals, "`AxB`" and plain numbers.
//! Every step is a hand-written scanner that reproduces the reference regular expression and
//! Python's `re.sub` scanning (leftmost match, then continue after it). A step returns `None`
//! when it leaves the text unchanged.

use std::borrow::Cow;

use super::inflect::{
    cardinal, parse_digits, push_cardinal, push_cardinal_digits, push_decimal_str, push_digitwise,
    push_ordinal_digits, push_year, SPELLABLE,
};
use super::pychar::{boundary, is_word_byte, run_len};

fn has_digit(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
}

fn replace_step(cur: &mut Cow<'_, str>, step: impl FnOnce(&str) -> Option<String>) {
    if let Some(new) = step(cur) {
        *cur = Cow::Owned(new);
    }
}

/// `normalize_numbers` on ASCII text.
pub(crate) fn normalize_numbers(text: &str) -> Option<String> {
    let mut cur = Cow::Borrowed(text);
    if has_digit(&cur) {
        replace_step(&mut cur, remove_number_commas);
    }
    replace_step(&mut cur, expand_currency);
    if has_digit(&cur) {
        replace_step(&mut cur, expand_decimal_points);
        replace_step(&mut cur, expand_ordinals);
    }
    replace_step(&mut cur, expand_roman);
    if has_digit(&cur) {
        replace_step(&mut cur, expand_multiply);
        replace_step(&mut cur, expand_numbers);
    }
    match cur {
        Cow::Borrowed(_) => None,
        Cow::Owned(s) => Some(s),
    }
}

/// Runs `f` on every maximal run of ASCII digits (in order, non-overlapping); `f` gets the
/// text, the run and the output, and returns how far it consumed (at least the run end) or
/// `None` to copy the run unchanged.
fn rewrite_digit_runs(
    text: &str,
    mut f: impl FnMut(&str, usize, usize, &mut String) -> Option<usize>,
) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut replacement = String::new();
    let mut copied = 0;
    let mut changed = false;
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let end = i + run_len(b, i, |c| c.is_ascii_digit());
        replacement.clear();
        match f(text, i, end, &mut replacement) {
            Some(consumed) => {
                out.push_str(&text[copied..i]);
                out.push_str(&replacement);
                changed = true;
                copied = consumed;
                i = consumed;
            }
            None => i = end,
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// `([0-9][0-9\,]+[0-9])` with the commas removed.
fn remove_number_commas(text: &str) -> Option<String> {
    if !text.contains(',') {
        return None;
    }
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let run_end = i + run_len(b, i, |c| c.is_ascii_digit() || c == b',');
        let last_digit = (i..run_end)
            .rev()
            .find(|&k| b[k].is_ascii_digit())
            .unwrap_or(i);
        if last_digit >= i + 2 && b[i..last_digit].contains(&b',') {
            out.push_str(&text[copied..i]);
            out.extend(text[i..=last_digit].chars().filter(|&c| c != ','));
            copied = last_digit + 1;
        }
        i = run_end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// `([0-9]+\.[0-9]+)` with the point read as " point ".
fn expand_decimal_points(text: &str) -> Option<String> {
    if !text.contains('.') {
        return None;
    }
    let b = text.as_bytes();
    rewrite_digit_runs(text, |text, start, end, out| {
        if end + 1 < b.len() && b[end] == b'.' && b[end + 1].is_ascii_digit() {
            let frac_end = end + 1 + run_len(b, end + 1, |c| c.is_ascii_digit());
            out.push_str(&text[start..end]);
            out.push_str(" point ");
            out.push_str(&text[end + 1..frac_end]);
            Some(frac_end)
        } else {
            None
        }
    })
}

/// `[0-9]+(st|nd|rd|th)` spelled as an ordinal.
fn expand_ordinals(text: &str) -> Option<String> {
    let b = text.as_bytes();
    rewrite_digit_runs(text, |text, start, end, out| {
        let suffix = b.get(end..end + 2)?;
        if matches!(suffix, b"st" | b"nd" | b"rd" | b"th") {
            push_ordinal_digits(out, &text[start..end]);
            Some(end + 2)
        } else {
            None
        }
    })
}

/// `(\b[0-9]+)(x)([0-9]+)` read as "A by B".
fn expand_multiply(text: &str) -> Option<String> {
    if !text.contains('x') {
        return None;
    }
    let b = text.as_bytes();
    rewrite_digit_runs(text, |text, start, end, out| {
        if start > 0 && is_word_byte(b[start - 1]) {
            return None;
        }
        if end + 1 < b.len() && b[end] == b'x' && b[end + 1].is_ascii_digit() {
            let right_end = end + 1 + run_len(b, end + 1, |c| c.is_ascii_digit());
            out.push_str(&text[start..end]);
            out.push_str(" by ");
            out.push_str(&text[end + 1..right_end]);
            Some(right_end)
        } else {
            None
        }
    })
}

/// `[0-9]+'s|[0-9]+s|[0-9]+` through DLE's `_expand_number`.
fn expand_numbers(text: &str) -> Option<String> {
    let b = text.as_bytes();
    rewrite_digit_runs(text, |text, start, end, out| {
        let suffix = if b[end..].starts_with(b"'s") {
            "'s"
        } else if b.get(end) == Some(&b's') {
            "s"
        } else {
            ""
        };
        let word_start = out.len();
        spell_number(out, &text[start..end]);
        if !suffix.is_empty() {
            if out.len() > word_start && out.ends_with('y') {
                out.pop();
                out.push_str("ies");
            } else {
                out.push_str(suffix);
            }
        }
        Some(end + suffix.len())
    })
}

/// The body of `_expand_number` for the digits of one number.
fn spell_number(out: &mut String, digits: &str) {
    let Some(n) = parse_digits(digits) else {
        // Far beyond what the reference can spell (it raises): read the digits.
        push_digitwise(out, digits.trim_start_matches('0'));
        return;
    };
    if n > 1000 && n % 100 == 0 && n % 1000 != 0 {
        push_cardinal(out, n / 100);
        out.push_str(" hundred");
    } else if n > 1000 && n < 3000 {
        if n == 2000 {
            out.push_str("two thousand");
        } else if n > 2000 && n < 2010 {
            out.push_str("two thousand ");
            push_cardinal(out, n % 100);
        } else {
            push_year(out, n as u32);
        }
    } else if n >= SPELLABLE {
        push_digitwise(out, digits.trim_start_matches('0'));
    } else {
        let words = cardinal(n);
        out.extend(words.chars().filter_map(|c| match c {
            '-' => Some(' '),
            ',' => None,
            c => Some(c),
        }));
    }
}

/// `_expand_hundreds` for an integer amount: "fifteen hundred" for 1100..9900 in whole
/// hundreds (not thousands), else the cardinal.
fn push_hundreds_int(out: &mut String, digits: &str) {
    match parse_digits(digits) {
        Some(n) if n > 1000 && n < 10000 && n % 100 == 0 && n % 1000 != 0 => {
            push_cardinal(out, n / 100);
            out.push_str(" hundred");
        }
        _ => push_cardinal_digits(out, digits),
    }
}

/// `_expand_hundreds` for a quantity string; `None` where Python's `float()` rejects it
/// (more than one point), which makes the reference raise.
fn push_hundreds_str(out: &mut String, quantity: &str) -> Option<()> {
    let value: f64 = quantity.parse().ok()?;
    if value > 1000.0 && value < 10000.0 && value % 100.0 == 0.0 && value % 1000.0 != 0.0 {
        #[expect(
            clippy::cast_sign_loss,
            reason = "value is between 1000 and 10000 here, so the quotient is positive"
        )]
        push_cardinal(out, (value / 100.0) as u128);
        out.push_str(" hundred");
    } else {
        push_decimal_str(out, quantity);
    }
    Some(())
}

const MAGNITUDES: [&str; 8] = [
    "trillion", "billion", "million", "thousand", "hundred", "m", "b", "t",
];

/// Case-insensitive comparison of one character with a lower-case ASCII letter, with the
/// extra equivalences of Python's `re.IGNORECASE` in Unicode mode.
fn ci_letter(c: char, letter: u8) -> bool {
    if c.is_ascii() {
        return c.to_ascii_lowercase() as u32 == u32::from(letter);
    }
    match letter {
        b'i' => matches!(c, '\u{130}' | '\u{131}'),
        b's' => c == '\u{17f}',
        b'k' => c == '\u{212a}',
        _ => false,
    }
}

/// Whether `c` is matched by `[a-zA-Z]` under `re.IGNORECASE`.
fn ci_ascii_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{130}' | '\u{131}' | '\u{17f}' | '\u{212a}')
}

/// Matches one magnitude word at byte `pos` followed by a non-letter or the end.
fn match_magnitude(text: &str, pos: usize) -> Option<usize> {
    let rest = &text[pos..];
    for word in MAGNITUDES {
        let mut chars = rest.char_indices();
        let mut ok = true;
        for &letter in word.as_bytes() {
            match chars.next() {
                Some((_, c)) if ci_letter(c, letter) => {}
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        let (end, next) = match chars.next() {
            Some((i, c)) => (i, Some(c)),
            None => (rest.len(), None),
        };
        if next.is_none_or(|c| !ci_ascii_letter(c)) {
            return Some(pos + end);
        }
    }
    None
}

/// DLE's `_currency_re` substitution (`([\$€£₩])([0-9\.\,]*[0-9]+)(?:[ ]?(magnitude)(?=[^a-zA-Z]|$))?`,
/// case-insensitive) with `_expand_currency`. Works on any text: it also runs on the raw input.
pub(crate) fn expand_currency(text: &str) -> Option<String> {
    if !text.contains(['$', '€', '£', '₩']) {
        return None;
    }
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let unit = match b[i] {
            b'$' => "dollar",
            0xE2 if b[i..].starts_with("€".as_bytes()) => "euro",
            0xE2 if b[i..].starts_with("₩".as_bytes()) => "won",
            0xC2 if b[i..].starts_with("£".as_bytes()) => "pound",
            _ => {
                i += 1;
                continue;
            }
        };
        let symbol_len = if b[i] == b'$' {
            1
        } else {
            text[i..].chars().next().map_or(1, char::len_utf8)
        };
        let q_start = i + symbol_len;
        let run = run_len(b, q_start, |c| c.is_ascii_digit() || c == b'.' || c == b',');
        let Some(last_digit) = (q_start..q_start + run)
            .rev()
            .find(|&k| b[k].is_ascii_digit())
        else {
            i = q_start;
            continue;
        };
        let q_end = last_digit + 1;
        let (magnitude, end) = if b.get(q_end) == Some(&b' ') {
            match match_magnitude(text, q_end + 1) {
                Some(e) => (Some(&text[q_end + 1..e]), e),
                None => match match_magnitude(text, q_end) {
                    Some(e) => (Some(&text[q_end..e]), e),
                    None => (None, q_end),
                },
            }
        } else {
            match match_magnitude(text, q_end) {
                Some(e) => (Some(&text[q_end..e]), e),
                None => (None, q_end),
            }
        };
        out.push_str(&text[copied..i]);
        spell_money(&mut out, unit, &text[q_start..q_end], magnitude);
        copied = end;
        i = end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// `_expand_currency`.
fn spell_money(out: &mut String, unit: &str, quantity: &str, magnitude: Option<&str>) {
    let quantity: String = quantity.chars().filter(|&c| c != ',').collect();
    if let Some(magnitude) = magnitude.filter(|m| m.is_ascii()) {
        // Only an all-ASCII match lower-cases to one of the magnitude words.
        let word = match magnitude.to_ascii_lowercase().as_str() {
            "m" => "million",
            "b" => "billion",
            "t" => "trillion",
            _ => magnitude,
        };
        let start = out.len();
        if push_hundreds_str(out, &quantity).is_none() {
            // The reference raises here (float() of "1.2.3"); keep the digits instead.
            out.truncate(start);
            out.push_str(&quantity);
        }
        out.push(' ');
        out.push_str(word);
        out.push(' ');
        out.push_str(unit);
        out.push('s');
        return;
    }
    let parts: Vec<&str> = quantity.split('.').collect();
    if parts.len() > 2 {
        out.push_str(&quantity);
        out.push(' ');
        out.push_str(unit);
        out.push('s');
        return;
    }
    let dollars = parts[0];
    let cents = parts.get(1).copied().unwrap_or("");
    let is_zero = |d: &str| d.bytes().all(|c| c == b'0');
    let is_one = |d: &str| d.trim_start_matches('0') == "1";
    let push_unit = |out: &mut String, one: bool| {
        out.push_str(unit);
        if !one {
            out.push('s');
        }
    };
    let push_cents = |out: &mut String| {
        push_cardinal_digits(out, cents);
        out.push_str(if is_one(cents) { " cent" } else { " cents" });
    };
    match (is_zero(dollars), is_zero(cents)) {
        (false, false) => {
            push_hundreds_int(out, dollars);
            out.push(' ');
            push_unit(out, is_one(dollars));
            out.push_str(", ");
            push_cents(out);
        }
        (false, true) => {
            push_hundreds_int(out, dollars);
            out.push(' ');
            push_unit(out, is_one(dollars));
        }
        (true, false) => push_cents(out),
        (true, true) => {
            out.push_str("zero ");
            out.push_str(unit);
            out.push('s');
        }
    }
}

/// `\b(?=[MDCLXVI]+\b)M{0,4}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{2,3})\b`, replaced by
/// the decimal value.
fn expand_roman(text: &str) -> Option<String> {
    let is_roman = |c: u8| matches!(c, b'M' | b'D' | b'C' | b'L' | b'X' | b'V' | b'I');
    let b = text.as_bytes();
    if !b.contains(&b'I') {
        return None; // every match ends in I, IV or IX
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if !is_roman(b[i]) {
            i += 1;
            continue;
        }
        let end = i + run_len(b, i, is_roman);
        if boundary(b, i) && boundary(b, end) && is_roman_numeral(&b[i..end]) {
            out.push_str(&text[copied..i]);
            out.push_str(&roman_value(&b[i..end]).to_string());
            copied = end;
        }
        i = end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Whether the whole of `s` matches `M{0,4}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{2,3})`.
fn is_roman_numeral(s: &[u8]) -> bool {
    let mut i = 0;
    let count =
        |i: usize, c: u8, max: usize| s[i..].iter().take(max).take_while(|&&x| x == c).count();
    let m = s.iter().take_while(|&&x| x == b'M').count();
    if m > 4 {
        return false;
    }
    i += m;
    if s[i..].starts_with(b"CM") || s[i..].starts_with(b"CD") {
        i += 2;
    } else {
        if s.get(i) == Some(&b'D') {
            i += 1;
        }
        i += count(i, b'C', 3);
    }
    if s[i..].starts_with(b"XC") || s[i..].starts_with(b"XL") {
        i += 2;
    } else {
        if s.get(i) == Some(&b'L') {
            i += 1;
        }
        i += count(i, b'X', 3);
    }
    let rest = &s[i..];
    matches!(rest, b"IX" | b"IV" | b"II" | b"III" | b"VII" | b"VIII")
}

fn roman_value(s: &[u8]) -> i64 {
    let value = |c: u8| match c {
        b'I' => 1,
        b'V' => 5,
        b'X' => 10,
        b'L' => 50,
        b'C' => 100,
        b'D' => 500,
        _ => 1000,
    };
    let mut total = 0i64;
    for (k, &c) in s.iter().enumerate() {
        let v = value(c);
        match s.get(k + 1) {
            Some(&next) if v < value(next) => total -= v,
            _ => total += v,
        }
    }
    total
}
