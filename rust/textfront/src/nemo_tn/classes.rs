//! The semiotic classes tried on a delimited span, with their costs (the recognizers and
//! verbalizers themselves live in `words`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::words;

/// Costs, in units of 1/10000 (NeMo's classifier weights).
const COST_CLASS: i64 = 11_000;
const COST_DATE: i64 = 10_900;
const COST_ELECTRONIC: i64 = 11_100;
const COST_SERIAL: i64 = 11_200;
/// An address (measure class, 1.1) ending a sentence, with the next sentence's first word
/// (weight -0.001 in NeMo's address grammar).
const COST_ADDRESS_EOS: i64 = 10_990;

type ClassFn = fn(&str) -> Option<String>;

/// Classes that need a digit in the span, cheapest first; equal costs in NeMo's order.
const DIGIT_CLASSES: &[(i64, ClassFn)] = &[
    (COST_DATE, words::date),
    (COST_ADDRESS_EOS, words::address_eos),
    (COST_CLASS, words::time),
    (COST_CLASS, words::decimal),
    (COST_CLASS, words::measure),
    (COST_CLASS, words::address),
    (COST_CLASS, words::cardinal),
    (COST_CLASS, words::ordinal),
    (COST_CLASS, words::money),
    (COST_CLASS, words::telephone),
    (COST_CLASS, words::fraction),
    (COST_CLASS, words::range),
    (COST_CLASS, words::math),
    (COST_CLASS, words::money_range),
];

/// Calls a class function; a panic inside it counts as "not this class".
fn try_class(f: ClassFn, span: &str) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| f(span))).ok().flatten()
}

/// What a span contains, to skip classes that cannot match.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    pub digit: bool,
    /// A symbol read as a word (&, /, %, $, ...) or '@'.
    pub symbol: bool,
    /// A '.' (domains such as "test.com").
    pub dot: bool,
}

impl Flags {
    pub fn see(&mut self, c: char) {
        if c.is_ascii_digit() || matches!(c, '\u{bc}'..='\u{be}' | '\u{2150}'..='\u{215e}') {
            // Digits and vulgar fractions.
            self.digit = true;
        } else if matches!(
            c,
            '&' | '#'
                | '@'
                | '§'
                | '™'
                | '®'
                | '©'
                | '_'
                | '%'
                | '*'
                | '+'
                | '/'
                | '='
                | '^'
                | '|'
                | '~'
                | '$'
                | '£'
                | '€'
                | '₩'
                | '¥'
                | '°'
                | 'º'
        ) {
            self.symbol = true;
        } else if c == '.' {
            self.dot = true;
        }
    }
}

/// The cheapest class reading of `span` (cost, spoken form), if any class accepts it.
/// Every class function called counts against `budget`.
pub(crate) fn classify(span: &str, flags: Flags, budget: &mut usize) -> Option<(i64, String)> {
    if !flags.digit && !flags.symbol {
        // Only a domain can match ("test.com", "Co.'s"): one chunk with a '.' inside.
        if !flags.dot
            || span.contains(char::is_whitespace)
            || !span.trim_end_matches('.').contains('.')
        {
            return None;
        }
    }
    // "www." addresses carry a large negative weight in NeMo: they beat every other class.
    let www = span.starts_with("www.") || (span.contains(':') && span.contains("://www."));
    if www {
        *budget = budget.saturating_sub(1);
        if let Some((extra, r)) = try_electronic(span) {
            return Some((COST_ELECTRONIC + extra, r));
        }
    }
    if flags.digit || flags.symbol {
        for &(cost, f) in DIGIT_CLASSES {
            *budget = budget.saturating_sub(1);
            if let Some(r) = try_class(f, span) {
                return Some((cost, r));
            }
        }
    }
    let mut best = None;
    if !www {
        *budget = budget.saturating_sub(1);
        if let Some((extra, r)) = try_electronic(span) {
            if COST_ELECTRONIC + extra <= COST_SERIAL {
                return Some((COST_ELECTRONIC + extra, r));
            }
            // A bare domain (1.21) loses to a serial ("a.com^2" -> "a.com squared").
            best = Some((COST_ELECTRONIC + extra, r));
        }
    }
    if flags.digit || flags.symbol {
        *budget = budget.saturating_sub(1);
        if let Some(r) = try_class(words::serial, span) {
            return Some((COST_SERIAL, r));
        }
    }
    best
}

/// Calls the electronic class (extra cost, spoken form); a panic counts as "not this class".
fn try_electronic(span: &str) -> Option<(i64, String)> {
    catch_unwind(AssertUnwindSafe(|| words::electronic_weighted(span)))
        .ok()
        .flatten()
}
