//! Splitting the text into tokens and choosing the reading of every token.
//!
//! The text is cut into class tokens (a whitelisted form, a number, a word...) and punctuation
//! tokens. Every cut has a cost; the cheapest cut over the whole text wins, as in NeMo's
//! classifier: a whitelisted form costs 1.01, most semiotic classes 1.1, a run of punctuation
//! 2.1 and a plain word 100, so the fewest plain words win, then the fewest tokens. Two class
//! tokens must be separated by white space or punctuation.

use std::borrow::Cow;

use super::classes;
use super::tables::{tables, Tables};
use super::words;

/// Costs, in units of 1/10000.
pub(crate) const COST_WHITELIST: i64 = 10_100;
pub(crate) const COST_PUNCT: i64 = 21_000;
/// A word without digits or currency/number signs (it may hold punctuation).
const COST_WORD: i64 = 999_999;
/// A word without punctuation (it may hold digits).
const COST_WORD_DEFAULT: i64 = 1_000_000;

/// Cost of the text before a span from which NeMo's float sums lose its "hundred and"
/// preference (2047; see `words::set_long_prefix`).
const LONG_PREFIX_COST: i64 = 20_470_000;
/// Longest span (in chars) tried for a class token other than a plain word.
const MAX_CLASS_CHARS: usize = 96;
/// Most white-space separated chunks in one class token.
const MAX_CLASS_CHUNKS: usize = 8;
/// Longest span (in chars) tried for a plain word that does not reach the end of its chunk.
const MAX_WORD_CHARS: usize = 48;
/// Class-function calls allowed per text; beyond, only whitelist, words and punctuation.
const CLASS_CALL_BUDGET: usize = 12_000;
/// Characters of text per multi-chunk fallback call allowed once the call budget is spent.
const FALLBACK_CHARS_PER_CALL: usize = 8;
/// Longest chunk read by the fallback once the call budget is spent.
const FALLBACK_MAX_CHARS: usize = 32;
/// Longest punctuation token tried that does not reach the end of its run.
const MAX_PUNCT_CHARS: usize = 8;

/// White space of the grammar (other Unicode spaces are ordinary characters there).
pub(crate) fn is_tn_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{a0}')
}

/// One token of the chosen cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// A class token, verbalized (a plain word borrows the text).
    Class(Cow<'a, str>),
    /// A run of punctuation, kept as is.
    Punct(&'a str),
}

#[derive(Clone, Copy)]
struct Back {
    from: usize,
    from_state: u8,
    /// 0: white space, 1: punctuation, 2: class token (reading stored separately).
    kind: u8,
    reading: u32,
}

const INF: i64 = i64::MAX / 4;

/// Scale of the packed costs. Among cuts of equal cost the first one found wins: the one whose
/// last token starts earliest, as in NeMo ("p.m.," -> "p.m" + ".,", "?-34" -> "?" + "-34").
const SCALE: i64 = 1 << 20;

/// Chooses the cheapest cut of `text` and returns its tokens in order.
#[expect(
    clippy::too_many_lines,
    reason = "one dynamic programme (prefix sums, forward pass, backtrack) over shared tables; \
              split up, its parts would pass a dozen arrays between them"
)]
pub(crate) fn tag(text: &str) -> Vec<Token<'_>> {
    let t = tables();
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let mut bytes = Vec::with_capacity(n + 1);
    let mut b = 0;
    for &c in &chars {
        bytes.push(b);
        b += c.len_utf8();
    }
    bytes.push(b);
    let punct: Vec<bool> = chars.iter().map(|&c| t.is_punct_mark(c)).collect();
    let space: Vec<bool> = chars.iter().map(|&c| is_tn_space(c)).collect();
    // End of the run of punctuation / white space starting at each position.
    let mut punct_end = vec![0usize; n + 1];
    let mut space_end = vec![0usize; n + 1];
    punct_end[n] = n;
    space_end[n] = n;
    for i in (0..n).rev() {
        punct_end[i] = if punct[i] { punct_end[i + 1] } else { i };
        space_end[i] = if space[i] { space_end[i + 1] } else { i };
    }
    let mut chunk_end = vec![n; n + 1];
    let mut pre_excl = vec![0u32; n + 1];
    let mut pre_punct = vec![0u32; n + 1];
    let mut pre_junk = vec![0u32; n + 1];
    for k in 0..n {
        let c = chars[k];
        let excl = c.is_ascii_digit() || matches!(c, '$' | '€' | '₩' | '£' | '¥' | '#' | '%');
        pre_excl[k + 1] = pre_excl[k] + u32::from(excl);
        pre_punct[k + 1] = pre_punct[k] + u32::from(punct[k]);
        // Punctuation, or a symbol that no class reads without letters or digits near it.
        let junk = punct[k] || !(excl || space[k] || c == '@' || c.is_alphanumeric());
        pre_junk[k + 1] = pre_junk[k] + u32::from(junk);
    }
    for k in (0..n).rev() {
        chunk_end[k] = if space[k] { k } else { chunk_end[k + 1] };
    }
    let mut cx = Ctx {
        t,
        text,
        chars: &chars,
        bytes: &bytes,
        punct: &punct,
        space: &space,
        chunk_end: &chunk_end,
        pre_excl: &pre_excl,
        pre_punct: &pre_punct,
        pre_junk: &pre_junk,
        budget: CLASS_CALL_BUDGET,
        fallback_budget: n / FALLBACK_CHARS_PER_CALL,
    };
    // cost[state][i]: state 0 = free, 1 = right after a class token.
    let mut cost = [vec![INF; n + 1], vec![INF; n + 1]];
    let mut back: [Vec<Option<Back>>; 2] = [vec![None; n + 1], vec![None; n + 1]];
    let mut readings: Vec<Option<String>> = Vec::with_capacity(n / 2 + 4);
    let mut cands = Vec::new();
    cost[0][0] = 0;

    for i in 0..n {
        for state in 0..2u8 {
            let here = cost[state as usize][i];
            if here >= INF {
                continue;
            }
            let mut relax = |j: usize, to: u8, add: i64, kind: u8, reading: u32| {
                let c = here + add;
                if c < cost[to as usize][j] {
                    cost[to as usize][j] = c;
                    back[to as usize][j] = Some(Back {
                        from: i,
                        from_state: state,
                        kind,
                        reading,
                    });
                }
            };
            if space[i] {
                relax(space_end[i], 0, 0, 0, 0);
                continue;
            }
            if chars[i] == '<' {
                if let Some(j) = emphasis_end(&chars, &space, i) {
                    relax(j, 0, COST_PUNCT * SCALE, 1, 0);
                }
            }
            if punct[i] {
                let end = punct_end[i];
                for j in (i + 1..=end.min(i + MAX_PUNCT_CHARS)).chain(std::iter::once(end)) {
                    relax(j, 0, COST_PUNCT * SCALE, 1, 0);
                }
            }
            if state != 0 {
                continue;
            }
            words::set_long_prefix(here >= LONG_PREFIX_COST * SCALE);
            class_candidates(&mut cx, i, &mut cands);
            for (j, add, reading) in cands.drain(..) {
                let idx = readings.len() as u32;
                let c = here + add * SCALE;
                if c < cost[1][j] {
                    readings.push(reading);
                    cost[1][j] = c;
                    back[1][j] = Some(Back {
                        from: i,
                        from_state: 0,
                        kind: 2,
                        reading: idx,
                    });
                }
            }
        }
    }

    words::set_long_prefix(false);
    // End in the cheaper state; a tie keeps state 0.
    let mut state = usize::from(cost[0][n] > cost[1][n]);
    if cost[state][n] >= INF {
        // Unreachable in practice (every char can be a word); keep the text.
        return vec![Token::Class(Cow::Borrowed(text))];
    }
    let mut out = Vec::new();
    let mut j = n;
    while j > 0 {
        let Some(bk) = back[state][j] else {
            break;
        };
        match bk.kind {
            1 => out.push(Token::Punct(&text[bytes[bk.from]..bytes[j]])),
            2 => {
                let r = readings[bk.reading as usize].take();
                out.push(Token::Class(match r {
                    Some(r) => Cow::Owned(r),
                    None => Cow::Borrowed(&text[bytes[bk.from]..bytes[j]]),
                }));
            }
            _ => {}
        }
        j = bk.from;
        state = bk.from_state as usize;
    }
    out.reverse();
    out
}

/// End of an emphasis tag ("<pitch=2>", "</pitch>") starting at `i`, if there is one.
fn emphasis_end(chars: &[char], space: &[bool], i: usize) -> Option<usize> {
    let mut j = i + 1;
    let inner = |c: char, k: usize| !space[k] && c != '<' && c != '>';
    if chars.get(j) == Some(&'/') {
        // "</name>": slash then at least one char.
        j += 1;
        let start = j;
        while j < chars.len() && inner(chars[j], j) {
            j += 1;
        }
        return (j > start && chars.get(j) == Some(&'>')).then_some(j + 1);
    }
    let start = j;
    while j < chars.len() && inner(chars[j], j) {
        j += 1;
    }
    (j > start && chars.get(j) == Some(&'>')).then_some(j + 1)
}

/// Per-text context of the candidate search.
struct Ctx<'a> {
    t: &'a Tables,
    text: &'a str,
    chars: &'a [char],
    bytes: &'a [usize],
    punct: &'a [bool],
    space: &'a [bool],
    /// End of the chunk (non-space run) containing each position.
    chunk_end: &'a [usize],
    /// Prefix counts of chars excluded from plain words (digits, $, %, ...) and of punctuation.
    pre_excl: &'a [u32],
    pre_punct: &'a [u32],
    /// Prefix counts of punctuation and of symbols without letters, digits, currency or '@'.
    pre_junk: &'a [u32],
    /// Class-function calls left for this text (bounds the time on adversarial input).
    budget: usize,
    /// Multi-chunk class calls left for the fallback once `budget` is spent.
    fallback_budget: usize,
}

/// Class tokens starting at `i`: (end, cost, reading), the cheapest reading per end.
#[expect(
    clippy::too_many_lines,
    reason = "one flat list of the semiotic classes tried in the reference's order"
)]
fn class_candidates(cx: &mut Ctx, i: usize, out: &mut Vec<(usize, i64, Option<String>)>) {
    out.clear();
    let (t, chars, space, punct) = (cx.t, cx.chars, cx.space, cx.punct);
    let n = chars.len();
    let wl_max = t.whitelist_max_chars.max(24);
    if i > 0 && punct[i - 1] && punct[i] && cx.pre_junk[(i + 16).min(n)] - cx.pre_junk[i] >= 16 {
        // Deep inside a long run of punctuation (possibly mixed with symbols such as '*'): only
        // the run itself is worth reading.
        return;
    }
    let far = MAX_CLASS_CHARS.max(wl_max).max(MAX_WORD_CHARS);
    let mut flags = classes::Flags::default();
    let mut class_calls = 0;
    // Once the budget is spent, a chunk that starts here and holds a digit still gets one class
    // reading of its whole length (without trailing punctuation), so that numbers late in a
    // long text are read, never left as digits the tokenizer would drop.
    let mut fallback = cx.budget == 0 && (i == 0 || space[i - 1]);
    // Beyond this length a span of one chunk is only a whitelist form or a class token.
    let wl_or_word = wl_max.max(MAX_WORD_CHARS);
    let mut j = i;
    while j < n && !space[j] {
        if cx.budget == 0 && !fallback && j - i >= wl_or_word {
            // No class call is left: only a plain word up to the end of the chunk remains.
            let e = cx.chunk_end[j];
            let excl = cx.pre_excl[e] > cx.pre_excl[i];
            let has_punct = cx.pre_punct[e] > cx.pre_punct[i];
            if let Some(c) = word_cost(excl, has_punct) {
                out.push((e, c, None));
            }
            if e - i > far {
                return;
            }
            j = e;
            break;
        }
        if j - i >= far {
            // Only a plain word can reach further: jump to the end of the chunk.
            let e = cx.chunk_end[j];
            let excl = cx.pre_excl[e] > cx.pre_excl[i];
            let has_punct = cx.pre_punct[e] > cx.pre_punct[i];
            if let Some(c) = word_cost(excl, has_punct) {
                out.push((e, c, None));
            }
            return;
        }
        flags.see(chars[j]);
        j += 1;
        if !(j == n || space[j] || punct[j]) {
            continue;
        }
        let len = j - i;
        let span = &cx.text[cx.bytes[i]..cx.bytes[j]];
        let mut best: Option<(i64, Option<String>)> = None;
        if len <= wl_max {
            if let Some(r) = whitelist(t, span) {
                best = Some((COST_WHITELIST, Some(r)));
            }
        }
        if best.is_none() && len <= MAX_CLASS_CHARS && class_calls < 24 && cx.budget > 0 {
            if let Some((c, r)) = classes::classify(span, flags, &mut cx.budget) {
                best = Some((c, Some(r)));
            }
            class_calls += 1;
        } else if best.is_none()
            && fallback
            && (flags.digit || flags.symbol)
            && len <= FALLBACK_MAX_CHARS
        {
            let end = cx.chunk_end[j];
            if cx.pre_punct[end] - cx.pre_punct[j] == (end - j) as u32 {
                fallback = false;
                let mut unmetered = usize::MAX;
                if let Some((c, r)) = classes::classify(span, flags, &mut unmetered) {
                    best = Some((c, Some(r)));
                }
            }
        }
        let chunk_end = j == n || space[j];
        if best.is_none() && (chunk_end || len <= MAX_WORD_CHARS) {
            let excl = cx.pre_excl[j] > cx.pre_excl[i];
            let has_punct = cx.pre_punct[j] > cx.pre_punct[i];
            if let Some(c) = word_cost(excl, has_punct) {
                best = Some((c, None));
            }
        }
        if let Some((c, r)) = best {
            out.push((j, c, r));
        }
    }
    // Spans over several chunks (class tokens containing white space).
    // Past the budget, a chunk start holding a digit still tries up to two more whole chunks
    // (e.g. "$4.2 billion", "(555) 010-2233"), once per chunk count.
    let fallback_multi =
        cx.budget == 0 && (i == 0 || space[i - 1]) && flags.digit && j - i <= FALLBACK_MAX_CHARS;
    let mut chunks = 1;
    let mut k = j;
    while k < n && space[k] && chunks < MAX_CLASS_CHUNKS && k - i < MAX_CLASS_CHARS {
        chunks += 1;
        let mut fallback_here = fallback_multi && chunks <= 3;
        while k < n && space[k] {
            k += 1;
        }
        while k < n && !space[k] && k - i < MAX_CLASS_CHARS {
            flags.see(chars[k]);
            k += 1;
            if !(k == n || space[k] || punct[k]) {
                continue;
            }
            let span = &cx.text[cx.bytes[i]..cx.bytes[k]];
            let wl = if k - i <= wl_max {
                whitelist(t, span)
            } else {
                None
            };
            if let Some(r) = wl {
                out.push((k, COST_WHITELIST, Some(r)));
            } else if class_calls < 48 && cx.budget > 0 {
                class_calls += 1;
                if let Some((c, r)) = classes::classify(span, flags, &mut cx.budget) {
                    out.push((k, c, Some(r)));
                }
            } else if fallback_here && cx.fallback_budget > 0 {
                let end = cx.chunk_end[k];
                if cx.pre_punct[end] - cx.pre_punct[k] == (end - k) as u32 {
                    fallback_here = false;
                    cx.fallback_budget -= 1;
                    let mut unmetered = usize::MAX;
                    if let Some((c, r)) = classes::classify(span, flags, &mut unmetered) {
                        out.push((k, c, Some(r)));
                    }
                }
            }
        }
        if k < n && !space[k] {
            break;
        }
    }
}

/// Cost of a plain word, if the span can be one.
fn word_cost(has_excluded: bool, has_punct: bool) -> Option<i64> {
    if !has_excluded {
        Some(COST_WORD)
    } else if !has_punct {
        Some(COST_WORD_DEFAULT)
    } else {
        None
    }
}

/// The whitelist reading of a whole span, if any.
pub(crate) fn whitelist(t: &Tables, span: &str) -> Option<String> {
    let mut it = span.chars();
    if let (Some(c), None) = (it.next(), it.next()) {
        if c != '/' {
            if let Some(v) = t.symbols.get(&c) {
                return Some(v.clone());
            }
        }
    }
    if let Some(v) = t.whitelist_get(span) {
        return Some(v.clone());
    }
    let b = span.as_bytes();
    if matches!(b.first(), Some(b'S' | b's')) {
        if let Some(r) = saint(t, span) {
            return Some(r);
        }
    }
    if let Some(r) = initials(span) {
        return Some(r);
    }
    // The comma of "Dallas, TX" is among the last five bytes.
    if b.iter().rev().take(5).any(|&c| c == b',') {
        return state_after_comma(t, span);
    }
    None
}

/// "St. Name" -> "Saint Name".
fn saint(t: &Tables, span: &str) -> Option<String> {
    let rest = span
        .strip_prefix("St")
        .or_else(|| span.strip_prefix("st"))
        .or_else(|| span.strip_prefix("ST"))?;
    let rest = rest.trim_start_matches('.');
    let name = rest.strip_prefix(' ')?;
    if t.names.contains(name) {
        Some(format!("Saint {name}"))
    } else {
        None
    }
}

/// Three or more capitals separated by "." or ". ", optionally ending in ".": "J. F. K." -> "JFK".
fn initials(span: &str) -> Option<String> {
    let b = span.as_bytes();
    if b.len() < 5 || !b[0].is_ascii_uppercase() || b[1] != b'.' {
        return None;
    }
    let sep: &[u8] = if b[2] == b' ' { b". " } else { b"." };
    let mut out = String::new();
    out.push(b[0] as char);
    let mut p = 1;
    loop {
        if b.len() > p + sep.len()
            && &b[p..p + sep.len()] == sep
            && b[p + sep.len()].is_ascii_uppercase()
        {
            out.push(b[p + sep.len()] as char);
            p += sep.len() + 1;
        } else {
            break;
        }
    }
    let rest = &b[p..];
    if out.len() >= 3 && (rest.is_empty() || rest == b".") {
        Some(out)
    } else {
        None
    }
}

/// "Dallas, TX" -> "Dallas, Texas" (a state abbreviation after a comma).
fn state_after_comma(t: &Tables, span: &str) -> Option<String> {
    // The abbreviation is "XY" or "X.Y" at the end, after ", " or ",".
    for abbr_len in [2usize, 3] {
        if span.len() <= abbr_len + 1 || !span.is_char_boundary(span.len() - abbr_len) {
            continue;
        }
        let (head, abbr) = span.split_at(span.len() - abbr_len);
        let head_core = head
            .strip_suffix(", ")
            .or_else(|| head.strip_suffix(','))
            .filter(|h| !h.is_empty() && !h.chars().any(is_tn_space));
        let Some(h) = head_core else {
            continue;
        };
        if let Some(name) = t.states.get(abbr) {
            let sep = &head[h.len()..];
            return Some(format!("{h}{sep}{name}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str) -> Vec<String> {
        tag(text)
            .into_iter()
            .map(|t| match t {
                Token::Class(s) => s.into_owned(),
                Token::Punct(s) => format!("<{s}>"),
            })
            .collect()
    }

    #[test]
    fn titles_and_punct() {
        assert_eq!(render("Mr. Smith"), ["mister", "Smith"]);
        assert_eq!(render("(Mr.) said"), ["<(>", "mister", "<)>", "said"]);
        assert_eq!(render("Hello, world."), ["Hello,", "world."]);
    }

    #[test]
    fn ties_prefer_longer_punct() {
        assert_eq!(render("p.m., he"), ["PM", "<.,>", "he"]);
        assert_eq!(render("ten p.m."), ["ten", "PM"]);
        assert_eq!(render("A.D.:"), ["AD", "<.:>"]);
        assert_eq!(render("<p=-.3>1</p>"), ["<<p=-.3>>", "one", "<</p>>"]);
        assert_eq!(render("~"), ["tilde"]);
        assert_eq!(render("x ?-34"), ["x", "<?>", "minus thirty four"]);
    }

    #[test]
    fn initials_saint_state() {
        assert_eq!(render("J. F. K. Jr."), ["JFK", "junior"]);
        assert_eq!(render("N.R.A. which"), ["NRA", "which"]);
        assert_eq!(render("St. Jerome is"), ["Saint Jerome", "is"]);
        assert_eq!(render("Dallas, TX"), ["Dallas, Texas"]);
    }
}
