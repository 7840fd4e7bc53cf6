//! Ranges ("1980-1986", "2+3", "5pm-7 pm", "mid-1980s") and simple equations ("1-2=5").

use super::date::{date, time};
use super::num::{graph_with_and, is_digits};

/// Splits `s` at `sep` allowing at most one space on either side.
fn split_spaced<'a>(s: &'a str, sep: &str) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    for (i, _) in s.match_indices(sep) {
        let l = &s[..i];
        let r = &s[i + sep.len()..];
        let l = l.strip_suffix(' ').unwrap_or(l);
        let r = r.strip_prefix(' ').unwrap_or(r);
        if !l.is_empty() && !r.is_empty() && !l.ends_with(' ') && !r.starts_with(' ') {
            out.push((l, r));
        }
    }
    out
}

fn year_part(s: &str, four: bool) -> Option<String> {
    let d = s.strip_suffix('s').unwrap_or(s);
    let n = if four { 4 } else { 2 };
    if d.len() != n || !is_digits(d) {
        return None;
    }
    date(s)
}

/// A range span as NeMo's range class reads it: time to time ("5pm-7 pm" -> "five PM to seven
/// PM"), year to year ("1980-1986", "1960s-80s", "1960-80"), "mid-1980s", cardinal sums
/// ("2+3" -> "two plus three"), "~5" ("approximately five"), "1 ... 5".
pub fn range(span: &str) -> Option<String> {
    if span.len() > super::MAX_SHORT_SPAN {
        return None;
    }
    if let Some(t) = span.strip_prefix('~') {
        if let Some(w) = time(t) {
            return Some(format!("approximately {w}"));
        }
        if let Some(w) = graph_with_and(t) {
            return Some(format!("approximately {w}"));
        }
    }
    for (a, b) in split_spaced(span, "-") {
        if let (Some(x), Some(y)) = (time(a), time(b)) {
            return Some(format!("{x} to {y}"));
        }
        if let Some(x) = year_part(a, true) {
            let y = year_part(b, true)
                .or_else(|| year_part(b, false))
                .or_else(|| {
                    if b.len() == 2 && is_digits(b) {
                        graph_with_and(b)
                    } else {
                        None
                    }
                });
            if let Some(y) = y {
                return Some(format!("{x} to {y}"));
            }
        }
    }
    if let Some(y) = span.strip_prefix("mid-") {
        if let Some(w) = year_part(y, true).or_else(|| year_part(y, false)) {
            return Some(format!("mid {w}"));
        }
    }
    for sep in ["+", " + "] {
        let parts: Vec<&str> = span.split(sep).collect();
        if parts.len() >= 2 {
            let words: Option<Vec<String>> = parts.iter().map(|p| graph_with_and(p)).collect();
            if let Some(w) = words {
                return Some(w.join(" plus "));
            }
        }
    }
    for sep in [" ... ", "..."] {
        if let Some((a, b)) = span.split_once(sep) {
            if let (Some(x), Some(y)) = (graph_with_and(a), graph_with_and(b)) {
                return Some(format!("{x} ... {y}"));
            }
        }
    }
    None
}

fn math_op(c: char) -> Option<&'static str> {
    Some(match c {
        '+' => "plus",
        '-' => "minus",
        '/' | '÷' | ':' => "divided",
        '×' | '*' | '·' => "times",
        '=' => "equals",
        _ => return None,
    })
}

/// An equation span: operand, operator, operand, "=", operand (or operand "=" operand operator
/// operand), operands being cardinals or single letters, with at most one space between
/// elements. E.g. "1-2=5" -> "one minus two equals five", "y=x +1" -> "y equals x plus one".
pub fn math(span: &str) -> Option<String> {
    if span.len() > super::MAX_SHORT_SPAN {
        return None;
    }
    // tokenize into operands and operators, remembering spacing
    let mut toks: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut spaces = 0;
    for c in span.chars() {
        if c == ' ' {
            spaces += 1;
            if spaces > 1 {
                return None;
            }
            if !cur.is_empty() {
                toks.push(std::mem::take(&mut cur));
            }
            continue;
        }
        spaces = 0;
        if math_op(c).is_some() {
            if !cur.is_empty() {
                toks.push(std::mem::take(&mut cur));
            }
            toks.push(c.to_string());
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        toks.push(cur);
    }
    if toks.len() != 5 {
        return None;
    }
    let operand = |t: &str, letter_ok: bool| -> Option<String> {
        if letter_ok && t.len() == 1 && t.as_bytes()[0].is_ascii_alphabetic() {
            return Some(t.to_string());
        }
        graph_with_and(t)
    };
    let op = |t: &str| t.chars().next().and_then(math_op);
    let eq_first = toks[1] == "=";
    let (o1, o2) = (op(&toks[1])?, op(&toks[3])?);
    if eq_first == (toks[3] == "=") || (o1 == "equals") != eq_first {
        return None;
    }
    let w = [
        operand(&toks[0], true)?,
        o1.to_string(),
        operand(&toks[2], eq_first)?,
        o2.to_string(),
        operand(&toks[4], !eq_first)?,
    ];
    Some(w.join(" "))
}

/// NeMo's money range ("$150-$200"): two money amounts joined by "-", read "... to ...".
/// E.g. "$50.00-$100.00" -> "fifty dollars to one hundred dollars".
pub fn money_range(span: &str) -> Option<String> {
    if span.len() > super::MAX_SHORT_SPAN {
        return None;
    }
    span.match_indices('-').find_map(|(i, _)| {
        let (a, b) = (&span[..i], &span[i + 1..]);
        Some(format!("{} to {}", super::money(a)?, super::money(b)?))
    })
}
