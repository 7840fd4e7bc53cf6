//! Telephone numbers, SSNs and IP addresses.

use super::num::{digits_one_by_one, is_digits};

fn group(s: &str, min: usize, max: usize) -> Option<String> {
    if s.len() < min || s.len() > max || !is_digits(s) {
        return None;
    }
    digits_one_by_one(s)
}

/// A telephone-like span: "123-123-5678", "(123) 123-5678", "+1 123-123-5678",
/// "555.555.5555", optional "-1111" extension, SSN "111-11-1111", IP "123.123.0.40".
/// Digits are read one by one, groups separated by ", " (" dot " for IP addresses).
/// E.g. "+1 (123)-123-5678" -> "plus one, one two three, one two three, five six seven eight".
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
    // SSN
    let ssn: Vec<&str> = span.split('-').collect();
    if ssn.len() == 3 && ssn[0].len() == 3 && ssn[1].len() == 2 && ssn[2].len() == 4 {
        let w: Option<Vec<String>> = ssn.iter().map(|p| group(p, 1, 4)).collect();
        return Some(w?.join(", "));
    }
    let mut parts: Vec<String> = Vec::new();
    let mut rest = span;
    if let Some(r) = rest.strip_prefix('+') {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        parts.push(format!("plus {}", group(&r[..end], 1, 3)?));
        rest = &r[end..];
        rest = rest.strip_prefix(['-', ' ']).unwrap_or(rest);
    }
    // area code
    let (area, after) = if let Some(r) = rest.strip_prefix('(') {
        let (a, b) = r.split_once(')')?;
        (a, b.strip_prefix(['-', ' ']).unwrap_or(b))
    } else {
        let sep = rest.find(['-', '.', ' '])?;
        (&rest[..sep], &rest[sep + 1..])
    };
    parts.push(group(area, 3, 3)?);
    let sep = if after.contains('.') && !after.contains('-') {
        '.'
    } else {
        '-'
    };
    let groups: Vec<&str> = after.split(sep).collect();
    if groups.len() < 2 || groups.len() > 3 {
        return None;
    }
    parts.push(group(groups[0], 3, 3)?);
    parts.push(group(groups[1], 4, 4)?);
    if let Some(ext) = groups.get(2) {
        parts.push(group(ext, 1, 4)?);
    }
    Some(parts.join(", "))
}
