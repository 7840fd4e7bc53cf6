//! The electronic class: e-mail addresses, URLs, bare domains ("test.com", "Co.'s"), words
//! joined by slashes ("upgrade/update") and card numbers after a cue ("card ending in 8876").
//!
//! The tagger keeps a username as written and turns a domain behind a protocol or an "@" to
//! upper case, except dictionary words and common endings; the verbalizer reads symbols and
//! digits as words and lower-cases the domain up to its ending (".com" / the chosen "."), after
//! which the text keeps its case.

use std::sync::OnceLock;

/// Spans longer than this (in bytes) are rejected.
const MAX_SPAN: usize = 256;

/// Extra costs of the class's paths, in units of 1/10000 (NeMo's weights inside the grammar).
const MIN_NEG: i64 = -1;
const COST_BARE_DOMAIN: i64 = 1_000 + MIN_NEG;
const COST_WWW: i64 = -10_000_000 + MIN_NEG;

struct Tables {
    symbols: Vec<(char, String)>,
    domains: Vec<(String, String)>,
    words: Vec<(String, String)>,
    cues: Vec<String>,
}

fn tables() -> &'static Tables {
    static CELL: OnceLock<Tables> = OnceLock::new();
    CELL.get_or_init(|| {
        let data = super::tables::parse;
        Tables {
            symbols: data(include_str!(
                "../../../data/nemo_tn/words_electronic_symbol.tsv"
            ))
            .into_iter()
            .filter_map(|(k, v)| {
                let mut it = k.chars();
                match (it.next(), it.next()) {
                    // NeMo's grammar never accepts the '#' row of this file.
                    (Some(c), None) if c != '#' => Some((c, v)),
                    _ => None,
                }
            })
            .collect(),
            domains: data(include_str!(
                "../../../data/nemo_tn/words_electronic_domain.tsv"
            )),
            words: data(include_str!(
                "../../../data/nemo_tn/words_electronic_words.tsv"
            )),
            cues: data(include_str!(
                "../../../data/nemo_tn/words_electronic_cc_cues.tsv"
            ))
            .into_iter()
            .map(|(k, _)| k)
            .collect(),
        }
    })
}

fn symbol_word(c: char) -> Option<&'static str> {
    tables()
        .symbols
        .iter()
        .find(|(k, _)| *k == c)
        .map(|(_, v)| v.as_str())
}

/// A symbol of `words_electronic_symbol.tsv` (without '#', see `tables`).
fn is_symbol(c: char) -> bool {
    matches!(
        c,
        '.' | '-'
            | '_'
            | '!'
            | '$'
            | '%'
            | '&'
            | '\''
            | '*'
            | '+'
            | '/'
            | '='
            | '?'
            | '^'
            | '`'
            | '|'
            | '~'
            | ','
    )
}

/// The electronic reading of a whole span, if NeMo's electronic grammar accepts it.
/// E.g. "abc@gmail.com" -> "abc at gmail dot com", "Co.'s" -> "co dot quote s". The tagger
/// needs the cost too (`electronic_weighted`); the tests check the reading alone.
#[cfg(test)]
fn electronic(span: &str) -> Option<String> {
    electronic_weighted(span).map(|(_, s)| s)
}

/// The electronic reading with its extra cost (1/10000 units, added to the class weight 1.11):
/// "www." addresses are strongly preferred (-1000), bare domains cost 0.1 more.
pub(crate) fn electronic_weighted(span: &str) -> Option<(i64, String)> {
    if span.len() > MAX_SPAN || span.is_empty() {
        return None;
    }
    if let Some(r) = with_protocol(span) {
        return Some(r);
    }
    if let Some(r) = email(span) {
        return Some((0, r));
    }
    if let Some(r) = card_number(span) {
        return Some((MIN_NEG, r));
    }
    if let Some(r) = slash_words(span) {
        return Some((0, r));
    }
    bare_domain(span).map(|r| (COST_BARE_DOMAIN, r))
}

/// "http://", "https://", "file:///", "www." and "http(s)://www." followed by a domain.
fn with_protocol(span: &str) -> Option<(i64, String)> {
    if let Some(rest) = span.strip_prefix("file:///") {
        let d = tagged_domain(rest)?;
        return Some((
            MIN_NEG,
            finish(Some("file colon slash slash slash"), None, &d),
        ));
    }
    let (proto, rest) = if let Some(r) = span.strip_prefix("https://") {
        (Some("HTTPS colon slash slash"), r)
    } else if let Some(r) = span.strip_prefix("http://") {
        (Some("HTTP colon slash slash"), r)
    } else {
        (None, span)
    };
    if let Some(r) = rest.strip_prefix("www.") {
        if let Some(d) = tagged_domain(r) {
            let p = match proto {
                Some(p) => format!("{p} WWW dot"),
                None => "WWW dot".to_string(),
            };
            return Some((COST_WWW, finish(Some(&p), None, &d)));
        }
    }
    let p = proto?;
    let d = tagged_domain(rest)?;
    Some((MIN_NEG, finish(Some(p), None, &d)))
}

/// "user@domain" with a "." after the "@".
fn email(span: &str) -> Option<String> {
    let (user, domain) = span.split_once('@')?;
    if !domain.contains('.') {
        return None;
    }
    let user = tagged_username(user)?;
    let d = tagged_domain(domain)?;
    Some(finish(None, Some(&user), &d))
}

/// "card ending in 8876" (4 to 16 digits after a cue).
fn card_number(span: &str) -> Option<String> {
    for cue in &tables().cues {
        if let Some(num) = span.strip_prefix(cue.as_str()) {
            if (4..=16).contains(&num.len()) && num.bytes().all(|b| b.is_ascii_digit()) {
                return Some(format!("{cue}{}", verbalize_domain(num)));
            }
        }
    }
    None
}

/// Letters, then one or more "/letters" (spaces allowed around the slash); not "and/...".
fn slash_words(span: &str) -> Option<String> {
    if !span.contains('/') {
        return None;
    }
    let parts: Vec<&str> = span.split('/').collect();
    if parts.len() < 2 {
        return None;
    }
    let last = parts.len() - 1;
    for (k, p) in parts.iter().enumerate() {
        let p = if k > 0 {
            p.strip_prefix(' ').unwrap_or(p)
        } else {
            p
        };
        let p = if k < last {
            p.strip_suffix(' ').unwrap_or(p)
        } else {
            p
        };
        if p.is_empty() || (k == 0 && p == "and") || !p.bytes().all(|b| b.is_ascii_alphabetic()) {
            return None;
        }
    }
    Some(verbalize_domain(span))
}

/// A domain without protocol or "@": letters/digits/symbols, then one or more parts of "."
/// followed by at least two such characters (not ".", "$", ",").
fn bare_domain(span: &str) -> Option<String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || (is_symbol(c) && !matches!(c, '.' | '$' | ','));
    let mut parts = span.split('.');
    let first = parts.next()?;
    if first.is_empty() || !first.chars().all(ok) {
        return None;
    }
    let mut n = 0;
    for p in parts {
        if p.chars().count() < 2 || !p.chars().all(ok) {
            return None;
        }
        n += 1;
    }
    (n >= 1).then(|| verbalize_domain(span))
}

/// The verbalized electronic token: protocol, "user at", domain; runs of spaces collapsed.
fn finish(protocol: Option<&str>, user: Option<&str>, domain: &str) -> String {
    let mut out = String::new();
    if let Some(p) = protocol {
        out.push_str(p);
        out.push(' ');
    }
    if let Some(u) = user {
        out.push_str(&default_chars(u));
        out.push_str(" at ");
    }
    out.push_str(&verbalize_domain(domain));
    collapse(&out)
}

fn collapse(s: &str) -> String {
    s.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Tags a username or domain: the segmentation with the most dictionary words (a word right
/// after another one counts twice and is set off by a space) and common endings; other
/// letters are upper-cased in a domain and kept in a username.
fn segment(s: &str, domain: bool) -> String {
    const NONE: i32 = i32::MIN;
    /// Score of one dictionary word; characters covered by dictionary words break ties.
    const WORD: i32 = 1 << 12;
    let b = s.as_bytes();
    let n = b.len();
    // best[i][prev_dict] = (score, from, unit kind); filled forwards.
    let mut score = vec![[NONE; 2]; n + 1];
    // (from, from_state, unit end is dict, output)
    let mut back: Vec<[Option<(usize, usize, String)>; 2]> = vec![[None, None]; n + 1];
    score[0][0] = 0;
    let t = tables();
    for i in 0..n {
        for st in 0..2 {
            let here = score[i][st];
            if here == NONE {
                continue;
            }
            let mut relax = |j: usize, to: usize, add: i32, out: String| {
                if here + add > score[j][to] {
                    score[j][to] = here + add;
                    back[j][to] = Some((i, st, out));
                }
            };
            // One character.
            let c = b[i] as char;
            let out = if domain {
                c.to_ascii_uppercase().to_string()
            } else {
                c.to_string()
            };
            relax(i + 1, 0, 0, out);
            for (k, v) in &t.words {
                if s[i..].starts_with(k.as_str()) {
                    // Ties go to the segmentation with longer dictionary words ("program",
                    // not "pro" + "GRAM").
                    let len = k.len() as i32;
                    let (add, out) = if st == 1 {
                        (2 * WORD + len, format!(" {v}"))
                    } else {
                        (WORD + len, v.clone())
                    };
                    relax(i + k.len(), 1, add, out);
                }
            }
            if domain && i > 0 {
                for (k, _) in &t.domains {
                    if s[i..].starts_with(k.as_str()) {
                        relax(i + k.len(), 0, WORD, k.clone());
                    }
                }
            }
        }
    }
    let mut st = usize::from(score[n][1] > score[n][0]);
    let mut parts = Vec::new();
    let mut j = n;
    while j > 0 {
        let Some((from, fst, out)) = back[j][st].take() else {
            break;
        };
        parts.push(out);
        j = from;
        st = fst;
    }
    parts.reverse();
    parts.concat()
}

/// A username: an ASCII letter, then letters, digits and URL symbols.
fn tagged_username(u: &str) -> Option<String> {
    let mut it = u.chars();
    if !it.next()?.is_ascii_alphabetic() {
        return None;
    }
    if !u.chars().all(|c| c.is_ascii_alphanumeric() || is_symbol(c)) {
        return None;
    }
    Some(segment(u, false))
}

/// A domain behind a protocol or "@": two or more letters, digits and URL symbols, starting
/// with a letter and ending with a letter, digit or "/".
fn tagged_domain(d: &str) -> Option<String> {
    if d.len() < 2 {
        return None;
    }
    let first = d.chars().next()?;
    let last = d.chars().next_back()?;
    if !first.is_ascii_alphabetic() || !(last.is_ascii_alphanumeric() || last == '/') {
        return None;
    }
    if !d.chars().all(|c| c.is_ascii_alphanumeric() || is_symbol(c)) {
        return None;
    }
    Some(segment(d, true))
}

/// Symbols and digits read as words (a digit followed by "000" reads "N thousand"); letters kept.
fn default_chars(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() * 4);
    let mut i = 0;
    while i < s.len() {
        let c = s[i..].chars().next().unwrap_or(' ');
        if c.is_ascii_digit() {
            out.push(' ');
            out.push_str(super::num::digit_word(b[i]));
            if c != '0' && b.len() >= i + 4 && &b[i + 1..i + 4] == b"000" {
                out.push_str(" thousand");
                i += 3;
            }
            out.push(' ');
        } else if let Some(w) = symbol_word(c) {
            out.push(' ');
            out.push_str(w);
            out.push(' ');
        } else {
            out.push(c);
        }
        i += c.len_utf8();
    }
    out
}

/// Upper-case dictionary outputs kept, other letters lower-cased.
fn lower_keep_dict(s: &str) -> String {
    let t = tables();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if let Some((_, v)) = t.words.iter().find(|(_, v)| {
            v.bytes().any(|b| b.is_ascii_uppercase()) && s[i..].starts_with(v.as_str())
        }) {
            out.push_str(v);
            i += v.len();
            continue;
        }
        let c = s[i..].chars().next().unwrap_or(' ');
        out.push(c.to_ascii_lowercase());
        i += c.len_utf8();
    }
    out
}

/// Number of dictionary outputs found scanning `s` left to right (not overlapping) that end at
/// or before each byte offset (index = offset).
fn dict_counts(s: &str) -> Vec<i32> {
    let t = tables();
    let mut counts = vec![0; s.len() + 1];
    let mut n = 0;
    let mut i = 0;
    while i < s.len() {
        let step = match t.words.iter().find(|(_, v)| s[i..].starts_with(v.as_str())) {
            Some((_, v)) => {
                n += 1;
                v.len()
            }
            None => s[i..].chars().next().map_or(1, char::len_utf8),
        };
        for c in &mut counts[i + 1..i + step] {
            *c = n - 1;
        }
        i += step;
        counts[i] = n;
    }
    counts
}

/// Verbalizes a tagged domain: lower-cased up to the ending (a common ending, else a "."),
/// chosen to keep the most dictionary words before it; the rest keeps its case.
fn verbalize_domain(d: &str) -> String {
    let t = tables();
    // Dictionary words never contain '.', so counts at a '.' are those of the prefix.
    let counts = dict_counts(d);
    // (score, split start, split end, penalty, spoken ending); lower score wins.
    let mut best: Option<(i32, usize, usize, i32, &str)> = None;
    for (i, c) in d.char_indices() {
        if c != '.' {
            continue;
        }
        let ending = t
            .domains
            .iter()
            .find(|(k, _)| d[i..].starts_with(k.as_str()));
        let (pen, end, word) = match ending {
            Some((k, v)) => (0, i + k.len(), v.as_str()),
            None => (1, i + 1, "dot"),
        };
        // Ties, as the reference breaks them: the rightmost common ending followed by a symbol
        // or digit ("x.it.de.fr" -> ".de"), else the leftmost ending.
        let s = pen - counts[i];
        let before_symbol = d[end..]
            .chars()
            .next()
            .is_some_and(|c| !c.is_ascii_alphabetic());
        let replace = match best {
            None => true,
            Some((b, _, _, best_pen, _)) => {
                s < b || (s == b && pen == 0 && best_pen == 0 && before_symbol)
            }
        };
        if replace {
            best = Some((s, i, end, pen, word));
        }
    }
    let out = match best {
        Some((_, i, end, _, word)) => format!(
            "{} {word} {}",
            lower_keep_dict(&default_chars(&d[..i])),
            default_chars(&d[end..])
        ),
        None => lower_keep_dict(&default_chars(d)),
    };
    collapse(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        // Expected values from the reference normalizer (nemo_text_processing r1.2.0).
        let cases = [
            ("a.bc@gmail.com", "a dot bc at gmail dot com"),
            ("a@hotmail.de", "a at hotmail dot DE"),
            ("abc@gmail.abc", "abc at gmail dot ABC"),
            ("asdf123@abc.com", "asdf one two three at abc dot com"),
            ("abs@nvidia.com", "abs at NVIDIA dot com"),
            (
                "a-1.b3_c&-d@gma4i-l.com",
                "a dash one dot b three underscore c ampersand dash d at gma four i dash l dot com",
            ),
            ("test.abc", "test dot abc"),
            (
                "https://www.ourdailynews.com.sm",
                "HTTPS colon slash slash WWW dot ourdailynews dot com dot SM",
            ),
            (
                "www.ourdailynews.com/123-sm",
                "WWW dot ourdailynews dot com slash one two three dash SM",
            ),
            ("ourdailynews.com/12-sm", "ourdailynews dot com slash one two dash sm"),
            (
                "file:///photos/image.jpg",
                "file colon slash slash slash photos slash image dot jpeg",
            ),
            (
                "https://developer.nvidia.com/cv-cuda/early-access",
                "HTTPS colon slash slash developer dot NVIDIA dot com slash cv dash CUDA slash early dash access",
            ),
            (
                "http://www.nvidia.com/rtx-6000",
                "HTTP colon slash slash WWW dot NVIDIA dot com slash RTX dash six thousand",
            ),
            ("rtxprohelp@exchange.nvidia.com", "RTX pro help at exchange dot NVIDIA dot com"),
            ("enterpriseservices@nvidia.com", "enterprise services at NVIDIA dot com"),
            ("card ending in 8876", "card ending in eight eight seven six"),
            ("upgrade / update", "upgrade slash update"),
            ("Co.'s", "co dot quote s"),
            ("www.acme-widgets.co.uk", "WWW dot acme dash widgets dot co dot UK"),
            ("www.abc.com.uk", "WWW dot abc dot com dot uk"),
            ("www.x.it.de.fr", "WWW dot x dot it dot DE dot fr"),
            ("www.drive.com.uk/sim", "WWW dot drive dot com dot UK slash sim"),
            ("www.x.de.it", "WWW dot x dot DE dot it"),
            ("www.aa.bb.cc/d", "WWW dot aa dot BB dot CC slash D"),
            ("pro.it.dewww", "pro dot IT dot dewww"),
            ("org.it9th4.uka", "org dot IT nine th four dot uka"),
            ("x.com.ukY", "x dot com dot ukY"),
            ("adrive.com~.uk26|.com", "adrive dot com tilde dot UK two six vertical bar dot com"),
            ("6.uknvidia'-8.com1", "six dot uknvidia quote dash eight dot com one"),
            ("www.drive.aa.bb", "WWW dot drive dot AA dot BB"),
            ("www.aa.drive.bb", "WWW dot aa dot drive dot BB"),
            ("test.community", "test dot com munity"),
            ("x@y.z", "x at y dot Z"),
            ("end.The", "end dot The"),
            ("or/and", "or slash and"),
            (
                "https://developer.nvidia.com/drive-sim-early-access-program",
                "HTTPS colon slash slash developer dot NVIDIA dot com slash drive dash sim dash early dash access dash program",
            ),
            ("www.a.com/b-c.html", "WWW dot a dot com slash B dash C dot HTML"),
            ("research@example.org", "research at example dot org"),
        ];
        for (input, want) in cases {
            assert_eq!(electronic(input).as_deref(), Some(want), "{input}");
        }
        for input in [
            "www.x",
            "www.x.com#a",
            "a#b@x.com",
            "test.a#b",
            "and/or",
            "abc.d",
            "a.b.c",
            "a@b",
            "1@b.cd",
            "No.1",
            "5.4",
            "e.g.",
        ] {
            assert_eq!(electronic(input), None, "{input}");
        }
        assert!(electronic_weighted("www.abc.com").unwrap().0 < -1_000_000);
    }

    #[test]
    fn symbol_set_matches_table() {
        let mut from_table: Vec<char> = tables().symbols.iter().map(|(c, _)| *c).collect();
        from_table.sort_unstable();
        let mut from_fn: Vec<char> = (' '..='~').filter(|&c| is_symbol(c)).collect();
        from_fn.sort_unstable();
        assert_eq!(from_table, from_fn);
    }

    #[test]
    fn bounded_on_adversarial_input() {
        let start = std::time::Instant::now();
        for s in [
            "a.".repeat(100_000),
            format!("www.{}", "nvidia".repeat(40)),
            format!("a@{}.com", "rtxpro".repeat(40)),
            "/".repeat(100_000),
        ] {
            let _ = electronic(&s);
        }
        assert!(start.elapsed().as_secs() < 5);
    }

    proptest::proptest! {
        #[test]
        fn no_panic(s in "\\PC{0,40}") {
            let _ = electronic(&s);
        }

        #[test]
        fn no_panic_url_like(s in "[a-zA-Z0-9.@/:_'&$,-]{0,40}") {
            let _ = electronic(&s);
        }
    }
}
