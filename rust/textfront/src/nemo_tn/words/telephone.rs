//! Telephone numbers, SSNs and IP addresses.

use super::num::{digit_word, digits_one_by_one, is_digits};

fn group(s: &str, min: usize, max: usize) -> Option<String> {
    if s.len() < min || s.len() > max || !is_digits(s) {
        return None;
    }
    digits_one_by_one(s)
}

/// SSN "111-11-1111", read digit by digit in its three groups.
fn ssn(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() == 3 && parts[0].len() == 3 && parts[1].len() == 2 && parts[2].len() == 4 {
        let w: Option<Vec<String>> = parts.iter().map(|p| group(p, 1, 4)).collect();
        return Some(w?.join(", "));
    }
    None
}

/// Area code: "123-", "123.", "(123)", "(123) ", "(123)-"; "800" is read "eight hundred".
/// Returns its reading followed by ", " and the rest of the span.
fn area(s: &str) -> Option<(String, &str)> {
    let (digits, rest) = if let Some(r) = s.strip_prefix('(') {
        let (d, r) = r.split_at_checked(3)?;
        let r = r.strip_prefix(')')?;
        let r = r
            .strip_prefix('-')
            .or_else(|| r.strip_prefix(' '))
            .unwrap_or(r);
        (d, r)
    } else {
        let (d, r) = s.split_at_checked(3)?;
        (d, r.strip_prefix(['-', '.'])?)
    };
    if !is_digits(digits) {
        return None;
    }
    let words = if digits == "800" {
        "eight hundred".to_string()
    } else {
        digits_one_by_one(digits)?
    };
    Some((format!("{words}, "), rest))
}

/// The seven letters or digits after the area code, separated by `sep` ("-" or "."): digits
/// are read one by one, a separator after a digit reads ", ", after a letter " ", letters are
/// kept. Returns the reading (ending in a space after a digit) and the rest of the span.
fn local_number(s: &str, sep: u8) -> Option<(String, &str)> {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    for _ in 0..7 {
        let c = *b.get(i)?;
        i += 1;
        let after_sep = b.get(i) == Some(&sep);
        if c.is_ascii_digit() {
            out.push_str(digit_word(c));
            out.push_str(if after_sep { ", " } else { " " });
        } else if c.is_ascii_alphabetic() {
            out.push(c as char);
            if after_sep {
                out.push(' ');
            }
        } else {
            return None;
        }
        i += usize::from(after_sep);
    }
    Some((out, &s[i..]))
}

/// Area code, local number and an optional extension of 1-4 digits.
fn number_part(s: &str) -> Option<String> {
    let (a, rest) = area(s)?;
    for sep in [b'-', b'.'] {
        let Some((n, ext)) = local_number(rest, sep) else {
            continue;
        };
        let ext = if ext.is_empty() {
            None
        } else {
            match group(ext, 1, 4) {
                Some(e) => Some(e),
                None => continue,
            }
        };
        let mut out = format!("{a}{n}");
        // NeMo's verbalizer drops one trailing space of the number part.
        if out.ends_with(' ') {
            out.pop();
        }
        if let Some(e) = ext {
            out.push(' ');
            out.push_str(&e);
        }
        return Some(out);
    }
    None
}

/// A telephone-like span as NeMo's telephone grammar reads it: optional country code ("+1 ",
/// "1-", "+44"), area code, seven letters or digits with "-" or "." separators, optional
/// extension; or an SSN "111-11-1111"; or an IP address "123.123.0.40".
/// E.g. "+1 (123)-123-5678" -> "plus one, one two three, one two three, five six seven eight",
/// "1-800-GO-U-HAUL" -> "one, eight hundred, GO U HAUL".
pub fn telephone(span: &str) -> Option<String> {
    if span.len() > super::MAX_SHORT_SPAN {
        return None;
    }
    // IP address
    let ip: Vec<&str> = span.split('.').collect();
    if ip.len() == 4
        && ip
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && is_digits(p))
    {
        let w: Option<Vec<String>> = ip.iter().map(|p| digits_one_by_one(p)).collect();
        return Some(w?.join(" dot "));
    }
    if let Some(w) = ssn(span) {
        return Some(w);
    }
    // An SSN after its prompt ("ssn is" -> "SSN is"); the other prompts are kept as they are.
    for (prompt, spoken) in [("ssn is", "SSN is"), ("SSN is", "SSN is"), ("SSN", "SSN")] {
        if let Some(r) = span.strip_prefix(prompt).filter(|r| r.starts_with(' ')) {
            if let Some(w) = ssn(r.trim_start_matches(' ')) {
                return Some(format!("{spoken} {w}"));
            }
        }
    }
    if let Some(r) = number_part(span) {
        return Some(r);
    }
    // Country code: optional "+", one to three digits, optional "-", optional spaces.
    let (plus, rest) = match span.strip_prefix('+') {
        Some(r) => ("plus ", r),
        None => ("", span),
    };
    for len in 1..=3 {
        let Some((cc, after)) = rest.split_at_checked(len) else {
            break;
        };
        if !is_digits(cc) {
            break;
        }
        let after = after.strip_prefix('-').unwrap_or(after);
        let after = after.trim_start_matches(' ');
        if let Some(r) = number_part(after) {
            return Some(format!("{plus}{}, {r}", digits_one_by_one(cc)?));
        }
    }
    None
}
