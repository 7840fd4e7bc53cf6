//! Clean-up after verbalization: spacing around punctuation and quotes, Moses-style
//! detokenization, and re-alignment of punctuation spacing on the original input.

use super::tables::{tables, Tables};

/// Python's `str.isspace`.
pub(crate) fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Punctuation marks that may keep a space before them.
fn space_allowed_before(c: char) -> bool {
    matches!(
        c,
        '&' | '\'' | '"' | '«' | '-' | '—' | '<' | '{' | '(' | '[' | '`' | '“'
    )
}

/// Single-quote look-alikes of the possessive rule.
fn is_quote_like(c: char) -> bool {
    matches!(
        c,
        '\'' | '´'
            | 'ʹ'
            | 'ʻ'
            | 'ʼ'
            | 'ʽ'
            | 'ʾ'
            | 'ˈ'
            | 'ˊ'
            | 'ˋ'
            | '˴'
            | '\u{374}'
            | '΄'
            | '՚'
            | '՝'
            | 'י'
            | '׳'
            | 'ߴ'
            | 'ߵ'
            | 'ᑊ'
            | 'ᛌ'
            | '᾽'
            | '᾿'
            | '`'
            | '\u{1ffd}'
            | '῾'
            | '‘'
            | '’'
            | '‛'
            | '′'
            | '‵'
            | 'ꞌ'
            | '＇'
            | '｀'
            | '𖽑'
            | '𖽒'
    )
}

/// Spacing rules applied to the joined verbalization: no space before closing punctuation,
/// a pair of backquotes read as a double quote, no space after an opening bracket, no space
/// just inside paired quotes,
/// and "word ' s" joined to "word's".
pub(crate) fn post_process_graph(s: &str) -> String {
    let t = tables();
    let chars: Vec<char> = s.chars().collect();
    // 1. drop a space before a punctuation mark that takes none.
    let mut a: Vec<char> = Vec::with_capacity(chars.len());
    for (k, &c) in chars.iter().enumerate() {
        if c == ' ' {
            if let Some(&next) = chars.get(k + 1) {
                if t.is_punct_mark(next) && !space_allowed_before(next) {
                    continue;
                }
            }
        }
        a.push(c);
    }
    // 2. "``" -> '"'.
    let mut b: Vec<char> = Vec::with_capacity(a.len());
    let mut k = 0;
    while k < a.len() {
        if a[k] == '`' && a.get(k + 1) == Some(&'`') {
            b.push('"');
            k += 2;
        } else {
            b.push(a[k]);
            k += 1;
        }
    }
    // 3. no space after an opening bracket.
    let mut c3: Vec<char> = Vec::with_capacity(b.len());
    for (k, &c) in b.iter().enumerate() {
        if c == ' ' && k > 0 && matches!(b[k - 1], '<' | '{' | '(' | '[') {
            continue;
        }
        c3.push(c);
    }
    // 4. paired double quotes (and backticks): no space just inside when a letter follows
    //    the opening quote.
    let c4 = tighten_quotes(&c3, '"');
    let c4 = tighten_quotes(&c4, '`');
    // 5. possessive: letter [space] quote space s( |end) -> letter quote s
    let mut out: Vec<char> = Vec::with_capacity(c4.len());
    let mut k = 0;
    while k < c4.len() {
        let c = c4[k];
        if c4[k].is_ascii_alphabetic() {
            out.push(c);
            let mut p = k + 1;
            if c4.get(p) == Some(&' ') {
                p += 1;
            }
            if let Some(&q) = c4.get(p) {
                if is_quote_like(q)
                    && c4.get(p + 1) == Some(&' ')
                    && c4.get(p + 2) == Some(&'s')
                    && matches!(c4.get(p + 3), None | Some(' '))
                {
                    out.push(q);
                    k = p + 2;
                    continue;
                }
            }
            k += 1;
            continue;
        }
        out.push(c);
        k += 1;
    }
    out.into_iter().collect()
}

fn tighten_quotes(s: &[char], q: char) -> Vec<char> {
    let positions: Vec<usize> = s
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == q)
        .map(|(k, _)| k)
        .collect();
    if positions.len() < 2 {
        return s.to_vec();
    }
    let mut drop = vec![false; s.len()];
    let mut p = 0;
    while p + 1 < positions.len() {
        let (open, close) = (positions[p], positions[p + 1]);
        let mut first = open + 1;
        if s.get(first) == Some(&' ') {
            first += 1;
        }
        if first < close && s[first].is_ascii_alphabetic() {
            if s[open + 1] == ' ' {
                drop[open + 1] = true;
            }
            if close > 0 && s[close - 1] == ' ' && close - 1 > open + 1 {
                drop[close - 1] = true;
            }
            p += 2;
        } else {
            p += 1;
        }
    }
    s.iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(&c, _)| c)
        .collect()
}

fn is_cjk(c: char) -> bool {
    const RANGES: [(u32, u32); 11] = [
        (4352, 4607),
        (11904, 42191),
        (43072, 43135),
        (44032, 55215),
        (63744, 64255),
        (65072, 65103),
        (65381, 65500),
        (94208, 101_119),
        (110_592, 110_895),
        (110_960, 111_359),
        (131_072, 196_607),
    ];
    let v = c as u32;
    RANGES.iter().any(|&(a, b)| a <= v && v <= b)
}

/// Moses detokenization (English) of one string.
pub(crate) fn moses_detokenize(s: &str) -> String {
    let t: &Tables = tables();
    let text = format!(" {s} ").replace(" @-@ ", "-");
    let tokens: Vec<&str> = text.split(py_space).filter(|x| !x.is_empty()).collect();
    let mut out = String::with_capacity(text.len());
    let mut prepend = " ";
    let mut quote_counts: Vec<(String, usize)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let first = token.chars().next().unwrap_or(' ');
        if is_cjk(first) {
            let prev_cjk = i > 0 && tokens[i - 1].chars().last().is_some_and(is_cjk);
            if !prev_cjk {
                out.push_str(prepend);
            }
            out.push_str(token);
            prepend = " ";
        } else if token
            .chars()
            .all(|c| t.is_currency(c) || matches!(c, '(' | '[' | '{' | '¿' | '¡'))
        {
            out.push_str(prepend);
            out.push_str(token);
            prepend = "";
        } else if token.chars().all(|c| {
            matches!(
                c,
                ',' | '.' | '?' | '!' | ':' | ';' | '\\' | '%' | '}' | ']' | ')'
            )
        }) || (i > 0 && {
            // English contraction ("'s", "'ll"): attach to the left.
            let mut it = token.chars();
            it.next() == Some('\'') && it.next().is_some_and(char::is_alphabetic)
        }) {
            out.push_str(token);
            prepend = " ";
        } else if token
            .chars()
            .all(|c| matches!(c, '\'' | '"' | '„' | '“' | '`'))
        {
            let key = if token.chars().all(|c| matches!(c, '„' | '“' | '”')) {
                "\"".to_string()
            } else {
                token.to_string()
            };
            let idx = if let Some(p) = quote_counts.iter().position(|(k, _)| *k == key) {
                p
            } else {
                quote_counts.push((key, 0));
                quote_counts.len() - 1
            };
            if quote_counts[idx].1 % 2 == 0 {
                if *token == "'" && i > 0 && tokens[i - 1].ends_with('s') {
                    out.push_str(token);
                    prepend = " ";
                } else {
                    out.push_str(prepend);
                    out.push_str(token);
                    prepend = "";
                    quote_counts[idx].1 += 1;
                }
            } else {
                out.push_str(token);
                prepend = " ";
                quote_counts[idx].1 += 1;
            }
        } else {
            out.push_str(prepend);
            out.push_str(token);
            prepend = " ";
        }
    }
    let collapsed = collapse_spaces(&out, 2);
    collapsed.trim_matches(py_space).to_string()
}

/// Replaces runs of at least `min` spaces (' ') by one space.
pub(crate) fn collapse_spaces(s: &str, min: usize) -> String {
    if min <= 2 {
        // A run shorter than `min` (at most one space) is kept as is: every run of spaces
        // becomes one space.
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(p) = rest.find("  ") {
            let run_end = rest[p..].find(|c| c != ' ').map_or(rest.len(), |q| p + q);
            out.push_str(&rest[..=p]);
            rest = &rest[run_end..];
        }
        out.push_str(rest);
        return out;
    }
    let mut out = String::with_capacity(s.len());
    let mut run = 0;
    for c in s.chars() {
        if c == ' ' {
            run += 1;
            continue;
        }
        if run > 0 {
            let keep = if run >= min { 1 } else { run };
            for _ in 0..keep {
                out.push(' ');
            }
            run = 0;
        }
        out.push(c);
    }
    if run > 0 {
        let keep = if run >= min { 1 } else { run };
        for _ in 0..keep {
            out.push(' ');
        }
    }
    out
}

const ASCII_PUNCT: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Makes the spaces around ASCII punctuation of `normalized` match those of `input`.
pub(crate) fn post_process_punct(input: &str, normalized: &str) -> String {
    // Every char of `normalized` as an editable piece: the char (None once cleared) followed
    // by a number of added spaces.
    #[derive(Clone, Copy)]
    struct Piece {
        ch: Option<char>,
        spaces: u32,
    }
    impl Piece {
        fn clear(&mut self) {
            self.ch = None;
            self.spaces = 0;
        }
        fn push_space(&mut self) {
            self.spaces += 1;
        }
    }
    let input_owned;
    let input = if input.contains("``") && !normalized.contains("``") {
        input_owned = input.replace("``", "\"");
        input_owned.as_str()
    } else {
        input
    };
    let inp: Vec<char> = input.chars().collect();
    let mut out: Vec<Piece> = normalized
        .chars()
        .map(|c| Piece {
            ch: Some(c),
            spaces: 0,
        })
        .collect();
    // Whether the piece is exactly the one-char string `c`.
    let is = |e: &Piece, c: char| match e.ch {
        Some(x) => x == c && e.spaces == 0,
        None => c == ' ' && e.spaces == 1,
    };
    let mut present = [false; 128];
    for &c in &inp {
        if c.is_ascii() {
            present[c as usize] = true;
        }
    }
    for punct in ASCII_PUNCT.chars() {
        if !present[punct as usize] {
            continue;
        }
        let count_in = inp.iter().filter(|&&c| c == punct).count();
        let count_out = out.iter().filter(|e| is(e, punct)).count();
        let equal = count_in == count_out;
        let (mut idx_in, mut idx_out) = (0usize, 0usize);
        while idx_in < inp.len() && inp[idx_in..].contains(&punct) {
            let Some(o) = out[idx_out.min(out.len())..]
                .iter()
                .position(|e| is(e, punct))
            else {
                break;
            };
            idx_out += o;
            idx_in += inp[idx_in..].iter().position(|&c| c == punct).unwrap_or(0);
            let valid = (idx_out > 0 && idx_in > 0 && is(&out[idx_out - 1], inp[idx_in - 1]))
                || (idx_out + 1 < out.len()
                    && idx_in + 1 < inp.len()
                    && is(&out[idx_out + 1], inp[idx_in + 1]));
            if !equal && !valid {
                idx_in += 1;
                continue;
            }
            if idx_in > 0 && idx_out > 0 {
                let prev_space = is(&out[idx_out - 1], ' ');
                if prev_space && inp[idx_in - 1] != ' ' {
                    out[idx_out - 1].clear();
                } else if !prev_space && inp[idx_in - 1] == ' ' {
                    out[idx_out - 1].push_space();
                }
            }
            if idx_in + 1 < inp.len() && idx_out + 1 < out.len() {
                let next_space = is(&out[idx_out + 1], ' ');
                if next_space && inp[idx_in + 1] != ' ' {
                    out[idx_out + 1].clear();
                } else if !next_space && inp[idx_in + 1] == ' ' {
                    out[idx_out].push_space();
                }
            }
            idx_out += 1;
            idx_in += 1;
        }
    }
    let mut joined = String::with_capacity(normalized.len() + 8);
    for e in &out {
        if let Some(c) = e.ch {
            joined.push(c);
        }
        for _ in 0..e.spaces {
            joined.push(' ');
        }
    }
    collapse_spaces(&joined, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_spacing() {
        assert_eq!(post_process_graph("a , b ( c ) ."), "a, b (c).");
        assert_eq!(
            post_process_graph("\" mister Smith \" said"),
            "\"mister Smith\" said"
        );
    }

    #[test]
    fn moses() {
        assert_eq!(moses_detokenize("a , b"), "a, b");
        assert_eq!(moses_detokenize("\" hi \" there"), "\"hi\" there");
        assert_eq!(moses_detokenize("the Jones ' house"), "the Jones' house");
    }

    #[test]
    fn punct_alignment() {
        assert_eq!(post_process_punct("a-b", "a - b"), "a-b");
        assert_eq!(post_process_punct("x (y)", "x (y)"), "x (y)");
    }
}
