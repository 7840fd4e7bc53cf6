//! English number words shared by the DLE (inflect-style) and NeMo number readings.

/// "zero" to "nine".
pub(crate) const DIGITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
/// "ten" to "nineteen".
pub(crate) const TEENS: [&str; 10] = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
/// Tens by their digit ("" for 0 and 1).
pub(crate) const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
/// Short-scale names of the powers of 1000 from 10^3 up (NeMo's `number/thousand.tsv` lists the
/// same words as the quantities allowed after a number).
pub(crate) const THOUSANDS: [&str; 22] = [
    "thousand",
    "million",
    "billion",
    "trillion",
    "quadrillion",
    "quintillion",
    "sextillion",
    "septillion",
    "octillion",
    "nonillion",
    "decillion",
    "undecillion",
    "duodecillion",
    "tredecillion",
    "quattuordecillion",
    "quindecillion",
    "sexdecillion",
    "septendecillion",
    "octodecillion",
    "novemdecillion",
    "vigintillion",
    "centillion",
];

/// Name of 1000^`i`: "" for 0, then "thousand", "million" ...
pub(crate) fn scale(i: usize) -> &'static str {
    if i == 0 {
        ""
    } else {
        THOUSANDS[i - 1]
    }
}
