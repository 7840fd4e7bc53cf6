//! The serial class: letters mixed with numbers or symbols ("B2B" -> "B two B", "covid-19" ->
//! "covid-nineteen", "@mypizza" -> "at mypizza", "x^2" -> "x squared").
//!
//! A span without white space is cut into letter runs, digit runs and symbols, joined by "-",
//! "/" or (between a letter and a digit or symbol) a space. Digit runs of up to five digits are
//! read as numbers, longer ones or ones with a leading zero digit by digit; symbols are read
//! with the pipeline's symbol words.

use super::num::{digits_one_by_one, is_digits, number_to_words};
use crate::nemo_tn::tables::tables;

/// Spans longer than this (in bytes) are rejected.
const MAX_SPAN: usize = 128;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Alpha,
    Num,
}

/// One unit of a serial: its kind, its spoken form and whether it is a symbol.
struct Unit {
    kind: Kind,
    words: String,
    symbol: bool,
}

fn symbol_word(c: char) -> Option<String> {
    tables().symbols.get(&c).cloned()
}

fn num_words(d: &str) -> Option<String> {
    if d.len() >= 6 || (d.starts_with('0') && d.len() > 1) {
        digits_one_by_one(d)
    } else {
        number_to_words(d)
    }
}

/// An ordinal as NeMo's ordinal grammar writes it ("21st", "112th", "0th"; not "1th" or
/// "00th"), excluded from serials.
fn is_ordinal(s: &str) -> bool {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || (n > 1 && s.starts_with('0')) {
        return false;
    }
    let d = s.as_bytes();
    let teen = n >= 2 && d[n - 2] == b'1';
    let want = match d[n - 1] {
        b'1' if !teen => "st",
        b'2' if !teen => "nd",
        b'3' if !teen => "rd",
        _ => "th",
    };
    let suffix = &s[n..];
    suffix == want || suffix == want.to_ascii_uppercase()
}

/// The serial reading of a whole span, if NeMo's serial grammar accepts it.
pub fn serial(span: &str) -> Option<String> {
    if span.len() > MAX_SPAN || span.chars().count() < 2 || span.chars().any(char::is_whitespace) {
        return None;
    }
    for (suffix, word) in [("^2", "squared"), ("^3", "cubed")] {
        if let Some(head) = span.strip_suffix(suffix) {
            if !head.is_empty() {
                return Some(format!("{head} {word}"));
            }
        }
    }
    // Letters alone (or with "-" and "/") are no serial.
    let t = tables();
    let mut has_num = false;
    for c in span.chars() {
        if c.is_ascii_digit() || (c != '-' && t.symbols.contains_key(&c)) {
            has_num = true;
        } else if !(c.is_ascii_alphabetic() || c == '-') {
            return None;
        }
    }
    if !has_num || is_ordinal(span) {
        return None;
    }
    if let Some((a, b)) = span.split_once('/') {
        let alpha = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_alphabetic());
        if alpha(a) && alpha(b) {
            return None;
        }
    }
    parse(span, false).or_else(|| parse(span, true))
}

/// Parses the span as units joined by delimiters. `spaced`: NeMo's variant with a space
/// inserted between a letter or symbol and a digit or symbol (and back), where "/" is a symbol.
#[expect(
    clippy::too_many_lines,
    reason = "one scanner following NeMo's serial grammar rule by rule"
)]
fn parse(span: &str, spaced: bool) -> Option<String> {
    // Items: Ok(unit) or Err(delimiter).
    let mut items: Vec<Result<Unit, char>> = Vec::new();
    let chars: Vec<char> = span.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c.is_ascii_digit() {
            let alpha = c.is_ascii_alphabetic();
            let start = i;
            while i < chars.len()
                && (if alpha {
                    chars[i].is_ascii_alphabetic()
                } else {
                    chars[i].is_ascii_digit()
                })
            {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let unit = if alpha {
                Unit {
                    kind: Kind::Alpha,
                    words: run,
                    symbol: false,
                }
            } else {
                debug_assert!(is_digits(&run));
                Unit {
                    kind: Kind::Num,
                    words: num_words(&run)?,
                    symbol: false,
                }
            };
            items.push(Ok(unit));
            continue;
        }
        i += 1;
        if c == '-' || (c == '/' && !spaced) {
            items.push(Err(c));
        } else if let Some(w) = symbol_word(c) {
            items.push(Ok(Unit {
                kind: Kind::Num,
                words: w,
                symbol: true,
            }));
        } else {
            return None;
        }
    }
    // Join: units must alternate with delimiters. Spaced: adjacent units get a space; plain:
    // a number directly followed by letters (not at the start) gets a space.
    let mut units: Vec<Unit> = Vec::new();
    let mut delims: Vec<char> = Vec::new();
    let mut expect_unit = true;
    for it in items {
        // Plain: a "/" where a unit is due is the symbol ("//x" -> "slash/x").
        let it = match it {
            Err('/') if expect_unit => Ok(Unit {
                kind: Kind::Num,
                words: symbol_word('/')?,
                symbol: true,
            }),
            other => other,
        };
        match it {
            Ok(u) => {
                if !expect_unit {
                    // Plain: "number letters" only after "letters-number" or
                    // "number-letters" and a delimiter ("1/f-4s").
                    let k = units.len();
                    let ok = spaced
                        || (u.kind == Kind::Alpha
                            && k >= 3
                            && units[k - 1].kind == Kind::Num
                            && delims[k - 2] != ' '
                            && units[k - 2].kind != units[k - 3].kind);
                    if !ok {
                        return None;
                    }
                    delims.push(' ');
                }
                units.push(u);
                expect_unit = false;
            }
            Err(d) => {
                if expect_unit {
                    return None;
                }
                delims.push(d);
                expect_unit = true;
            }
        }
    }
    if expect_unit || units.len() < 2 {
        return None;
    }
    // At least one serial: letters next to a number, three numbers in a row, or two numbers
    // with a symbol among them.
    let has_serial = (0..units.len() - 1).any(|k| {
        let (a, b) = (&units[k], &units[k + 1]);
        a.kind != b.kind
            || (a.kind == Kind::Num
                && (a.symbol
                    || b.symbol
                    || delims[k] == '/'
                    || units.get(k + 2).is_some_and(|c| c.kind == Kind::Num)))
    });
    if !has_serial {
        return None;
    }
    let mut out = String::new();
    for (k, u) in units.iter().enumerate() {
        if k > 0 {
            out.push(delims[k - 1]);
        }
        out.push_str(&u.words);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        // Expected values from the reference normalizer (nemo_text_processing r1.2.0).
        let cases = [
            ("t-0t25d12-f", "t-zero t twenty five d twelve-f"),
            ("133-ABC", "one hundred thirty three-ABC"),
            ("B2A23C", "B two A twenty three C"),
            ("25d08A", "twenty five d zero eight A"),
            ("C24", "C twenty four"),
            ("b-c-1-5-b-s-b", "b-c-one-five-b-s-b"),
            (
                "MIG-25/235212-asdg",
                "MIG-twenty five/two three five two one two-asdg",
            ),
            ("1/f-4s", "one/f-four s"),
            ("2x", "two x"),
            ("31/31/100", "thirty one/thirty one/one hundred"),
            ("f++", "f plus plus"),
            ("dfsd#sfgsfd$", "dfsd hash sfgsfd dollar"),
            ("dfsd$$sfgsfd$", "dfsd dollar dollar sfgsfd dollar"),
            ("$12@12%", "dollar twelve at twelve percent"),
            ("@12", "at twelve"),
            ("12@", "twelve at"),
            ("@mypizza", "at mypizza"),
            ("#mytext#", "hash mytext hash"),
            ("covid-19", "covid-nineteen"),
            ("2*8", "two asterisk eight"),
            ("B2B", "B two B"),
            ("2x4", "two x four"),
            ("&hi", "and hi"),
            ("Registered®", "Registered registered trademark"),
            ("/configure", "slash configure"),
            ("A-8090", "A-eight thousand ninety"),
            ("A-123456", "A-one two three four five six"),
            ("21st-A", "twenty one st-A"),
            ("x^2", "x squared"),
            ("ab^3", "ab cubed"),
            ("MP3", "MP three"),
            ("1th", "one th"),
            ("//x", "slash/x"),
            ("x//", "x/slash"),
            ("a//b", "a slash slash b"),
            ("1//2", "one slash slash two"),
            ("x/", "x slash"),
            ("//8nvidiaX", "slash slash eight nvidiaX"),
            ("*/9c", "asterisk slash nine c"),
            ("Xgmailc/8https", "Xgmailc slash eight https"),
            ("11st", "eleven st"),
            ("00th", "zero zero th"),
            ("5Th", "five Th"),
        ];
        for (input, want) in cases {
            assert_eq!(serial(input).as_deref(), Some(want), "{input}");
        }
        for input in [
            "1st", "1ST", "0th", "11th", "112th", "a-b", "1-8090", "ab/cd", "12", "a", "a b2",
        ] {
            assert_eq!(serial(input), None, "{input}");
        }
    }

    #[test]
    fn bounded_on_adversarial_input() {
        let start = std::time::Instant::now();
        for s in ["a1".repeat(100_000), "-".repeat(100_000), "9".repeat(100)] {
            let _ = serial(&s);
        }
        assert!(start.elapsed().as_secs() < 5);
    }

    proptest::proptest! {
        #[test]
        fn no_panic(s in "\\PC{0,40}") {
            let _ = serial(&s);
        }

        #[test]
        fn no_panic_serial_like(s in "[a-zA-Z0-9/^@#$&+*®-]{0,30}") {
            let _ = serial(&s);
        }
    }
}
