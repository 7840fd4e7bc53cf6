//! Dates and times.

pub(crate) use super::num::{
    digit_word, digits_one_by_one, is_digits, ordinal_suffix, up_to_hundred, year_words,
};
use super::tables;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const MONTH_ABBR: [(&str, usize); 12] = [
    ("jan", 0),
    ("feb", 1),
    ("mar", 2),
    ("apr", 3),
    ("jun", 5),
    ("jul", 6),
    ("aug", 7),
    ("sep", 8),
    ("sept", 8),
    ("oct", 9),
    ("nov", 10),
    ("dec", 11),
];

/// Case variants NeMo accepts for a lower-case key: as is, first letter capitalized, or all
/// capitals (two or more letters).
fn case_fold(s: &str, abbr: bool) -> Option<String> {
    if s.bytes().all(|b| b.is_ascii_lowercase()) {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    if b.len() >= 2 && b.iter().all(u8::is_ascii_uppercase) {
        return Some(s.to_ascii_lowercase());
    }
    if !b.is_empty() && b[0].is_ascii_uppercase() {
        let rest = &s[1..];
        let ok = if abbr {
            rest.bytes().all(|c| c.is_ascii_lowercase()) && !rest.is_empty()
        } else {
            true
        };
        if ok {
            return Some(format!("{}{}", s[..1].to_ascii_lowercase(), rest));
        }
    }
    None
}

fn month_name(s: &str) -> Option<&'static str> {
    if let Some(l) = case_fold(s, false) {
        if let Some(m) = MONTHS.iter().find(|m| **m == l) {
            return Some(m);
        }
    }
    let s = s.strip_suffix('.').unwrap_or(s);
    let l = case_fold(s, true)?;
    MONTH_ABBR
        .iter()
        .find(|(a, _)| *a == l)
        .map(|(_, i)| MONTHS[*i])
}

fn month_number(s: &str) -> Option<&'static str> {
    if !is_digits(s) || s.len() > 2 {
        return None;
    }
    let n: usize = s.parse().ok()?;
    if (1..=12).contains(&n) && !(s.len() == 2 && s.starts_with('0') && n > 9) {
        Some(MONTHS[n - 1])
    } else {
        None
    }
}

/// Day number (cardinal words), "1".."31" with an optional ordinal ending, optional "the ".
fn day(s: &str) -> Option<String> {
    let s = s.strip_prefix("the ").unwrap_or(s);
    let d = ["rd", "th", "st", "nd", "RD", "TH", "ST", "ND"]
        .iter()
        .find_map(|e| s.strip_suffix(e))
        .unwrap_or(s);
    let b = d.as_bytes();
    let ok = match b {
        [x] => x.is_ascii_digit(),
        [b'1' | b'2', y] => y.is_ascii_digit(),
        [b'3', b'0' | b'1'] => true,
        _ => false,
    };
    if !ok {
        return None;
    }
    up_to_hundred(d)
}

const YEAR_SUFFIXES: [(&str, &str); 16] = [
    ("A. D", "AD"),
    ("A.D", "AD"),
    ("a. d", "AD"),
    ("a.d", "AD"),
    ("a. d.", "AD"),
    ("a.d.", "AD"),
    ("B. C", "BC"),
    ("B.C", "BC"),
    ("b. c", "BC"),
    ("b.c", "BC"),
    ("A. D.", "AD"),
    ("A.D.", "AD"),
    ("B. C.", "BC"),
    ("B.C.", "BC"),
    ("b. c.", "BC"),
    ("b.c.", "BC"),
];

/// NeMo's year graph inside dates: 1000-2999 (optional "s"), two-digit decades ("'80s"),
/// years with an era suffix ("340 A.D").
fn year(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() >= 4 && (b[0] == b'1' || b[0] == b'2') && s.get(..4).is_some_and(is_digits) {
        if let Some(w) = year_words(s) {
            return Some(w);
        }
    }
    // 'X0s
    let t = s.strip_prefix('\'').unwrap_or(s);
    if let Some(d) = t.strip_suffix("0s") {
        if d.len() == 1 && (b'2'..=b'9').contains(&d.as_bytes()[0]) {
            let w = up_to_hundred(&format!("{d}0"))?;
            return Some(format!("{}ies", w.strip_suffix('y')?));
        }
    }
    for (k, v) in YEAR_SUFFIXES {
        if let Some(num) = s.strip_suffix(k) {
            let num = num.trim_end();
            let w = if num.len() == 4 {
                year_words(num)
            } else if num.len() == 3 && is_digits(num) {
                let n = digit_word(num.as_bytes()[0]);
                if num.as_bytes()[0] == b'0' {
                    None
                } else {
                    up_to_hundred(&num[1..]).map(|r| format!("{n} {r}"))
                }
            } else {
                None
            };
            if let Some(w) = w {
                return Some(format!("{w} {v}"));
            }
        }
    }
    None
}

fn two_digit_year(s: &str) -> Option<String> {
    if s.len() != 2 || !is_digits(s) {
        return None;
    }
    up_to_hundred(s).or_else(|| digits_one_by_one(s))
}

fn mdy(month: &str, day: Option<&str>, year: Option<&str>) -> String {
    let mut out = month.to_string();
    if let Some(d) = day {
        out.push(' ');
        out.push_str(&ordinal_suffix(d));
    }
    if let Some(y) = year {
        out.push(' ');
        out.push_str(y);
    }
    out
}

/// NeMo keeps the comma before the year ("march fifth, twenty twenty one").
fn with_comma(out: &str, year: &str) -> String {
    let head = &out[..out.len() - year.len() - 1];
    format!("{head}, {year}")
}

fn dmy(day: &str, month: &str, year: Option<&str>) -> String {
    let mut out = format!("the {} of {month}", ordinal_suffix(day));
    if let Some(y) = year {
        out.push(' ');
        out.push_str(y);
    }
    out
}

fn numeric_date(s: &str) -> Option<String> {
    for sep in ['-', '/', '.'] {
        let parts: Vec<&str> = s.split(sep).collect();
        if parts.len() != 3 {
            continue;
        }
        let (a, b, c) = (parts[0], parts[1], parts[2]);
        let y = |x: &str| year(x).or_else(|| two_digit_year(x));
        // month / day / year
        if let (Some(m), Some(d), Some(yy)) =
            (month_number(a), day(b.strip_prefix('0').unwrap_or(b)), y(c))
        {
            if !b.starts_with("00") {
                return Some(mdy(m, Some(&d), Some(&yy)));
            }
        }
        // day / month / year (day not a month number)
        if a.len() == 2 && month_number(a).is_none() {
            if let (Some(d), Some(m), Some(yy)) = (day(a), month_number(b), y(c)) {
                return Some(dmy(&d, m, Some(&yy)));
            }
        }
        // year / month / day
        if let (Some(yy), Some(m), Some(d)) =
            (y(a), month_number(b), day(c.strip_prefix('0').unwrap_or(c)))
        {
            return Some(mdy(m, Some(&d), Some(&yy)));
        }
    }
    None
}

/// A date span: "july 25 2012", "Jan. 15, 2020", "25th jul 2012", "15 january", "2006-08-05",
/// "01.10.2010", "11/17/05", "Jan-15-2020", "1980s", "'80s", "340 A.D", "2Q22", or a year
/// 1000-2999 alone ("2012" -> "twenty twelve"). E.g. "25 july 2012" -> "the twenty fifth of
/// july twenty twelve", "2016-11-03" -> "november third twenty sixteen".
pub fn date(span: &str) -> Option<String> {
    if span.len() > super::MAX_SHORT_SPAN {
        return None;
    }
    if let Some(y) = year(span) {
        return Some(y);
    }
    if let Some(d) = numeric_date(span) {
        return Some(d);
    }
    // financial period: 2Q22, 1H22
    let b = span.as_bytes();
    if b.len() == 4 {
        let ord = match (b[0], b[1]) {
            (b'1', b'H') => Some("first half"),
            (b'2', b'H') => Some("second half"),
            (b'1', b'Q') => Some("first quarter"),
            (b'2', b'Q') => Some("second quarter"),
            (b'3', b'Q') => Some("third quarter"),
            (b'4', b'Q') => Some("fourth quarter"),
            _ => None,
        };
        if let (Some(o), Some(y)) = (ord, span.get(2..).and_then(two_digit_year)) {
            return Some(format!("the {o} of {y}"));
        }
    }
    // Month-day(-year) with dashes
    if let Some((m, rest)) = span.split_once('-') {
        if let Some(month) = month_name(m) {
            let (d, y) = match rest.split_once('-') {
                Some((d, y)) => (d, Some(y)),
                None => (rest, None),
            };
            if let Some(dw) = day(d) {
                match y {
                    None => return Some(mdy(month, Some(&dw), None)),
                    Some(y) => {
                        if let Some(yw) = year(y) {
                            return Some(mdy(month, Some(&dw), Some(&yw)));
                        }
                    }
                }
            }
        }
    }
    // month first: "july 25 2012", "july 25, 2012", "july 2012", "july, 2012", "jan. 5"
    if let Some((m, rest)) = span.split_once(' ') {
        if let Some(month) = month_name(m) {
            let rest_t = rest.trim_start_matches(' ');
            if let Some(d) = day(rest_t) {
                return Some(mdy(month, Some(&d), None));
            }
            if let Some(y) = year(rest_t) {
                return Some(mdy(month, None, Some(&y)));
            }
            // day + year
            let (d, y, comma) = if let Some((d, y)) = rest_t.split_once(',') {
                (d, y.strip_prefix(' ').unwrap_or(y), true)
            } else if let Some((d, y)) = rest_t.split_once(' ') {
                (d, y, false)
            } else {
                ("", "", false)
            };
            if let (Some(dw), Some(yw)) = (day(d), year(y)) {
                let out = mdy(month, Some(&dw), Some(&yw));
                return Some(if comma { with_comma(&out, &yw) } else { out });
            }
        }
    }
    // month + ", year"
    if let Some((m, y)) = span.split_once(',') {
        if let Some(month) = month_name(m) {
            if let Some(yw) = year(y.strip_prefix(' ').unwrap_or(y)) {
                return Some(format!("{month}, {yw}"));
            }
        }
    }
    // day first: "25 july 2012", "the 26th May", "15 january"
    let s = span.strip_prefix("the ").map(|r| ("the ", r));
    let body = s.map_or(span, |(_, r)| r);
    if let Some((d, rest)) = body.split_once(' ') {
        let dw = day(d)?;
        let rest = rest.trim_start_matches(' ');
        if let Some(month) = month_name(rest) {
            return Some(dmy(&dw, month, None));
        }
        let (m, y, comma) = if let Some((m, y)) = rest.split_once(',') {
            (m, y.strip_prefix(' ').unwrap_or(y), true)
        } else {
            let (m, y) = rest.split_once(' ')?;
            (m, y, false)
        };
        let month = month_name(m)?;
        let yw = year(y)?;
        let out = dmy(&dw, month, Some(&yw));
        return Some(if comma { with_comma(&out, &yw) } else { out });
    }
    None
}

fn hour(s: &str) -> Option<String> {
    if s.is_empty() || s.len() > 2 || !is_digits(s) {
        return None;
    }
    let n: u32 = s.parse().ok()?;
    if n > 23 {
        return None;
    }
    if n == 0 {
        return Some("zero".into());
    }
    up_to_hundred(&n.to_string())
}

/// Minutes/seconds: "00" handled by caller; "0X" -> "o X"; 10-59.
fn minute(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 2 || !is_digits(s) {
        return None;
    }
    if b[0] == b'0' {
        if b[1] == b'0' {
            return None;
        }
        return Some(format!("o {}", digit_word(b[1])));
    }
    if b[0] > b'5' {
        return None;
    }
    up_to_hundred(s)
}

/// Splits "<rest><ws?><suffix><ws?><zone?>" from the end; returns (rest, suffix, zone).
fn suffix_zone(s: &str) -> Vec<(&str, Option<&'static str>, Option<&'static str>)> {
    let mut out = vec![(s, None, None)];
    // zone
    let mut bases = vec![(s, None)];
    for (k, v) in tables::time_zones() {
        if let Some(r) = s.strip_suffix(k.as_str()) {
            bases.push((r.trim_end(), Some(v.as_str())));
        }
    }
    for (b, z) in bases {
        if z.is_some() {
            out.push((b, None, z));
        }
        for (k, v) in tables::time_suffixes() {
            if let Some(r) = b.strip_suffix(k.as_str()) {
                out.push((r.trim_end(), Some(v.as_str()), z));
            }
        }
    }
    out
}

/// A time span: "10:30", "01:00 a.m.", "1:59 p.m. est", "5pm", "2.30 p.m.", "10:00:05".
/// E.g. "01:00" -> "one o'clock", "1:01:01" -> "one hour one minute and one second",
/// "1:59 p.m. e.s.t" -> "one fifty nine PM EST".
pub fn time(span: &str) -> Option<String> {
    if span.len() > super::MAX_SHORT_SPAN {
        return None;
    }
    for (rest, sfx, zone) in suffix_zone(span) {
        if rest.ends_with(char::is_whitespace) || rest.is_empty() {
            continue;
        }
        let tail = |mut s: String| {
            if let Some(x) = sfx {
                s.push(' ');
                s.push_str(x);
            }
            if let Some(z) = zone {
                s.push(' ');
                s.push_str(z);
            }
            s
        };
        let parts: Vec<&str> = rest.split(':').collect();
        if parts.len() == 3 {
            let h = hour(parts[0]);
            let m = if parts[1] == "00" {
                Some("zero".to_string())
            } else {
                minute(parts[1])
            };
            let sec = if parts[2] == "00" {
                Some("zero".to_string())
            } else {
                minute(parts[2])
            };
            if let (Some(h), Some(m), Some(sec)) = (h, m, sec) {
                let hw = if h == "one" {
                    "one hour".to_string()
                } else {
                    format!("{h} hours")
                };
                let mw = match m.as_str() {
                    "o one" => "one minute".to_string(),
                    x => format!("{} minutes", x.strip_prefix("o ").unwrap_or(x)),
                };
                let sw = match sec.as_str() {
                    "o one" => "one second".to_string(),
                    x => format!("{} seconds", x.strip_prefix("o ").unwrap_or(x)),
                };
                return Some(tail(format!("{hw} {mw} and {sw}")));
            }
            continue;
        }
        let colon = parts.len() == 2;
        let hm = if colon {
            Some((parts[0], parts[1]))
        } else if sfx.is_some() {
            rest.split_once('.')
        } else {
            None
        };
        if let Some((h, m)) = hm {
            if let Some(hw) = hour(h) {
                if m == "00" {
                    if sfx.is_none() {
                        return Some(tail(format!("{hw} o'clock")));
                    }
                    return Some(tail(hw));
                }
                if let Some(mw) = minute(m) {
                    return Some(tail(format!("{hw} {mw}")));
                }
            }
            continue;
        }
        if sfx.is_some() {
            if let Some(hw) = hour(rest) {
                return Some(tail(hw));
            }
        }
    }
    None
}
