//! Spoken forms of semiotic classes (numbers, money, measures, dates, times, ...), each
//! recognizing one already delimited span and verbalizing it the way NeMo does.
//!
//! Every public function takes one span and returns NeMo's spoken form, or `None` when the
//! whole span is not of that class. Reference: `nemo_text_processing` r1.2.0 English
//! (`Normalizer(lang="en", input_case="cased")`, deterministic grammars).

mod address;
mod date;
mod electronic;
mod measure;
mod money;
/// Spans of the short classes (dates, times, ranges, equations, telephone numbers) longer
/// than this are rejected without parsing.
const MAX_SHORT_SPAN: usize = 200;

mod num;
mod range;
mod serial;
mod tables;
mod telephone;

pub use address::{address, address_eos};
pub use date::{date, time};
pub(crate) use electronic::electronic_weighted;
pub use measure::measure;
pub use money::money;
pub(crate) use num::set_long_prefix;
pub use num::{cardinal, decimal, fraction, ordinal};
// Number readings the classes above build on, checked on their own by the unit tests.
#[cfg(test)]
pub(crate) use num::{digits_one_by_one, number_to_words, ordinal_words, year_words};
pub use range::{math, money_range, range};
pub use serial::serial;
pub use telephone::telephone;

#[cfg(test)]
mod tests;
