//! Money: currency symbol or code before the amount, optional "/unit" suffix.

use super::num::{
    add_and_always, cardinal_graph15, decimal_parts, graph_with_and, is_digits, long_prefix,
    strip_commas, up_to_hundred,
};
use super::tables::{self, lookup, plural};

/// Cents part of NeMo's minor-currency reading: trailing zeros dropped, then one or two
/// significant digits ("5" -> 50, "05" -> 5). Returns the value as digits without leading zero.
fn two_digit_fraction(f: &str) -> Option<String> {
    if !is_digits(f) {
        return None;
    }
    let t = f.trim_end_matches('0');
    match t.len() {
        1 => Some(format!("{t}0")),
        2 if t.starts_with('0') => Some(t[1..].to_string()),
        2 => Some(t.to_string()),
        _ => None,
    }
}

fn major_words(int: &str, maj: &str) -> Option<String> {
    if int == "1" {
        Some(format!("one {maj}"))
    } else {
        Some(format!("{} {}", graph_with_and(int)?, plural(maj)))
    }
}

/// An amount without cents. After a long prefix (where NeMo's float sums make its readings
/// tie, see `num::set_long_prefix`) the reference reads 100-1999 differently: "$184" -> "one
/// eighty four dollars" when tens and ones are not zero, else with "and" ("$110" -> "one
/// hundred and ten dollars", "$1,590" -> "one thousand five hundred and ninety dollars").
fn integer_only_words(int: &str, maj: &str) -> Option<String> {
    if long_prefix() {
        let (d, _) = strip_commas(int)?;
        let b = d.as_bytes();
        if b.first() == Some(&b'1') && (3..=4).contains(&b.len()) {
            let words = if b.len() == 3 && b[1] != b'0' && b[2] != b'0' {
                format!("one {}", up_to_hundred(&d[1..])?)
            } else {
                add_and_always(&cardinal_graph15(int)?)
            };
            return Some(format!("{words} {}", plural(maj)));
        }
    }
    major_words(int, maj)
}

/// Amount with major and minor unit ("$20.50" -> "twenty dollars fifty cents").
fn with_minor(sym: &str, num: &str, maj: &str) -> Option<String> {
    let min_pl = lookup(tables::currency_minor_plural(), sym)?;
    let (int, frac) = num.split_once('.')?;
    let cents = two_digit_fraction(frac)?;
    let minor = if cents == "1" {
        format!("one {}", lookup(tables::currency_minor_singular(), sym)?)
    } else {
        format!("{} {min_pl}", up_to_hundred(&cents)?)
    };
    if int.is_empty() || int == "0" {
        return Some(minor);
    }
    // integer part: digits other than "0", or comma grouped starting with a non-zero digit
    let (d, _) = strip_commas(int)?;
    if d.starts_with('0') {
        return None;
    }
    Some(format!("{} {minor}", major_words(int, maj)?))
}

fn amount(sym: &str, maj: &str, num: &str) -> Option<String> {
    if let Some(s) = with_minor(sym, num, maj) {
        return Some(s);
    }
    // integer amount, optionally with ".000"
    let int = match num.split_once('.') {
        Some((i, z)) if !z.is_empty() && z.bytes().all(|b| b == b'0') => i,
        Some(_) => "",
        None => num,
    };
    if !int.is_empty() {
        if let Some(w) = integer_only_words(int, maj) {
            return Some(w);
        }
    }
    // decimal amount: three or more significant fraction digits, or a quantity word
    let ends_alpha = num.chars().last().is_some_and(|c| c.is_ascii_alphabetic());
    let long_fraction = num
        .split_once('.')
        .is_some_and(|(_, f)| is_digits(f) && f.trim_end_matches('0').len() >= 3);
    if !(ends_alpha || long_fraction) {
        return None;
    }
    let cleaned;
    let num = if ends_alpha {
        num
    } else {
        let (i, f) = num.split_once('.')?;
        cleaned = format!("{}.{}", i.replace(',', ""), f.trim_end_matches('0'));
        &cleaned
    };
    let parts = decimal_parts(num, true)?;
    Some(format!("{} {}", parts.words(), plural(maj)))
}

/// A money span: currency symbol or code immediately before the amount ("$2", "£1.20",
/// "US$76.3 trillion", "¥30b", "$0.5/hr"), with an optional per-unit suffix from NeMo's
/// `per_unit.tsv`. E.g. "$20.50" -> "twenty dollars fifty cents", "$2.5 million" -> "two point
/// five million dollars", "$1/d" -> "one dollar per day".
pub fn money(span: &str) -> Option<String> {
    let best = tables::per_units()
        .iter()
        .filter(|(k, _)| span.ends_with(k.as_str()))
        .max_by_key(|(k, _)| k.len());
    let (body, per) = match best {
        Some((k, v)) => (&span[..span.len() - k.len()], Some(v.as_str())),
        None => (span, None),
    };
    let mut found = None;
    for (sym, maj) in tables::currency_major() {
        if let Some(num) = body.strip_prefix(sym.as_str()) {
            if num.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
                if let Some(w) = amount(sym, maj, num) {
                    found = Some(w);
                    break;
                }
            }
        }
    }
    let w = found?;
    Some(match per {
        Some(p) => format!("{w} {p}"),
        None => w,
    })
}
