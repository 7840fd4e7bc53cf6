//! Measures: a number (cardinal, decimal, fraction or range) followed by a unit.

use super::num::{decimal_parts, fraction, graph_with_and, DecimalParts};
use super::tables::{self, plural};

/// NeMo's unit lookup: exact key, or (for all-letter spellings starting with a capital, two or
/// more letters) the lower-cased key.
pub(crate) fn unit_name(u: &str) -> Option<&'static str> {
    if let Some(v) = tables::lookup(tables::units(), u) {
        return Some(v);
    }
    let b = u.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_uppercase() && b.iter().all(u8::is_ascii_alphabetic) {
        return tables::lookup(tables::units(), &u.to_ascii_lowercase());
    }
    None
}

/// Longest unit expression (with spaces) tried after a number.
const MAX_UNIT_LEN: usize = 64;

/// Unit expression: "kg", "kg/h", "/kg". `singular` picks the first unit's number.
fn unit_expr(s: &str, singular: bool) -> Option<String> {
    if let Some(rest) = s.strip_prefix('/') {
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        return Some(format!("per {}", unit_name(rest)?));
    }
    let name = |u: &str| -> Option<String> {
        let n = unit_name(u)?;
        Some(if singular { n.to_string() } else { plural(n) })
    };
    if let Some(w) = name(s) {
        return Some(w);
    }
    let (a, b) = s.split_once('/')?;
    let a = a.strip_suffix(' ').unwrap_or(a);
    let b = b.strip_prefix(' ').unwrap_or(b);
    Some(format!("{} per {}", name(a)?, unit_name(b)?))
}

/// NeMo's measure range forms on cardinals: "2-5", "2 - 5", "2x8", "2 x 8", "2*8", "2 * 8".
fn cardinal_or_range(s: &str) -> Option<String> {
    if let Some(w) = graph_with_and(s) {
        return Some(w);
    }
    if !s.contains(['-', 'x', '*']) {
        // Every separator below holds one of these.
        return None;
    }
    for (sep, word) in [
        (" - ", "to"),
        ("-", "to"),
        (" x ", "by"),
        ("x", "by"),
        (" * ", "times"),
        ("*", "times"),
    ] {
        if let Some((a, b)) = s.split_once(sep) {
            if let (Some(x), Some(y)) = (graph_with_and(a), graph_with_and(b)) {
                return Some(format!("{x} {word} {y}"));
            }
        }
    }
    None
}

/// Number part of a measure; returns words and whether the unit is singular.
fn number_part(s: &str) -> Option<(String, bool)> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let sign = |w: String| if neg { format!("minus {w}") } else { w };
    if body == "1" {
        return Some((sign("one".into()), true));
    }
    if let Some(w) = cardinal_or_range(body) {
        return Some((sign(w), false));
    }
    if let Some(p) = decimal_parts(body, false) {
        return Some((sign(p.words()), false));
    }
    if !neg {
        if let Some(w) = fraction(body) {
            return Some((w, false));
        }
    }
    None
}

fn decimal_wo_negative(s: &str) -> Option<DecimalParts> {
    decimal_parts(s, false)
}

/// A measure span: number (cardinal, decimal, fraction, range such as "2-5" or "2x8") then a
/// unit from NeMo's `unit.tsv`, with or without space ("12kg", "3 mbps", "2°C", "12kg/kg",
/// "12/kg"); also "per kg", "/kg", decimal+"x" ("4.4x"), decimal-dash-word ("7.2-millimeter"),
/// word-dash-decimal ("covid-19.5"), "88.5 FM".
/// E.g. "1 mbps" -> "one megabit per second", "2°C" -> "two degrees Celsius".
pub fn measure(span: &str) -> Option<String> {
    // "/kg", "per kg"
    if let Some(rest) = span.strip_prefix("per ") {
        return Some(format!("per {}", unit_name(rest)?));
    }
    if span.starts_with('/') {
        return unit_expr(span, true).filter(|w| w.starts_with("per "));
    }
    // number + optional whitespace + unit expression; try every split.
    let mut best: Option<String> = None;
    // units are short: only split points near the end are tried (keeps long input linear)
    let min_split = span.len().saturating_sub(MAX_UNIT_LEN);
    for (i, _) in span.char_indices().skip(1).filter(|(i, _)| *i >= min_split) {
        let (num, unit) = span.split_at(i);
        if num.ends_with(char::is_whitespace) {
            continue;
        }
        let num_t = num;
        let unit_t = unit.trim_start();
        if unit_t.is_empty() {
            continue;
        }
        if let Some((nw, singular)) = number_part(num_t) {
            if let Some(uw) = unit_expr(unit_t, singular) {
                best = Some(format!("{nw} {uw}"));
                break;
            }
        }
    }
    if best.is_some() {
        return best;
    }
    // decimal + AM/FM
    for band in [" AM", " FM", "AM", "FM"] {
        if let Some(n) = span.strip_suffix(band) {
            if let Some(p) = decimal_wo_negative(n) {
                return Some(format!("{} {}", p.words(), band.trim_start()));
            }
        }
    }
    // decimal + x
    if let Some(n) = span.strip_suffix('x').or_else(|| span.strip_suffix('X')) {
        if let Some(p) = decimal_wo_negative(n) {
            return Some(format!("{} x", p.words()));
        }
    }
    // decimal-word
    if let Some((n, w)) = span.rsplit_once('-') {
        if !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphabetic()) {
            if let Some(p) = decimal_wo_negative(n) {
                return Some(format!("{} {w}", p.words()));
            }
        }
    }
    // word-decimal
    if let Some((w, n)) = span.split_once('-') {
        if !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphabetic()) {
            if let Some(p) = decimal_wo_negative(n) {
                return Some(format!("{w}-{}", p.words()));
            }
        }
    }
    None
}
