//! The semiotic classes tried on a delimited span, with their costs (the recognizers and
//! verbalizers themselves live in `words`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::words;

/// Costs, in units of 1/10000 (NeMo's classifier weights).
const COST_CLASS: i64 = 11_000;
const COST_DATE: i64 = 10_900;

type ClassFn = fn(&str) -> Option<String>;

/// Classes that need a digit in the span, cheapest first; equal costs in NeMo's order.
const DIGIT_CLASSES: &[(i64, ClassFn)] = &[
    (COST_DATE, words::date),
    (COST_CLASS, words::time),
    (COST_CLASS, words::decimal),
    (COST_CLASS, words::measure),
    (COST_CLASS, words::cardinal),
    (COST_CLASS, words::ordinal),
    (COST_CLASS, words::money),
    (COST_CLASS, words::telephone),
    (COST_CLASS, words::fraction),
    (COST_CLASS, words::range),
    (COST_CLASS, words::math),
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
        }
    }
}

/// The cheapest class reading of `span` (cost, spoken form), if any class accepts it.
/// Every class function called counts against `budget`.
pub(crate) fn classify(span: &str, flags: Flags, budget: &mut usize) -> Option<(i64, String)> {
    if !flags.digit && !flags.symbol {
        return None;
    }
    for &(cost, f) in DIGIT_CLASSES {
        *budget = budget.saturating_sub(1);
        if let Some(r) = try_class(f, span) {
            return Some((cost, r));
        }
    }
    None
}
