//! Sentence splitting for long input.
//!
//! The synthesis engine has a largest static shape; longer text is cut here into sentences
//! (and, when one sentence is still too long, into clauses and then word groups) so that
//! nothing is ever truncated. Splitting is lossless: joining the pieces with single spaces
//! gives the input with its whitespace runs collapsed.

/// Words that end with a period without ending a sentence (compared case-insensitively,
/// without the period).
const NON_FINAL_ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "drs", "st", "jr", "sr", "prof", "rev", "gen", "col", "lt", "sgt",
    "capt", "maj", "hon", "mt", "ft", "no", "vs", "etc", "e.g", "i.e", "approx", "fig", "inc",
    "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "u.s", "u.k", "a.m", "p.m",
];

fn ends_sentence(word: &str, next: Option<&str>) -> bool {
    let trimmed = word.trim_end_matches(['"', '\'', ')', ']', '\u{201d}', '\u{2019}']);
    let Some(last) = trimmed.chars().last() else {
        return false;
    };
    if matches!(last, '!' | '?' | '\u{2026}') {
        return true;
    }
    if last != '.' {
        return false;
    }
    let stem = trimmed.trim_end_matches('.');
    // A single letter with a period is an initial ("J. Smith").
    if stem.chars().count() == 1 && stem.chars().all(char::is_alphabetic) {
        return false;
    }
    let lower = stem.to_lowercase();
    if NON_FINAL_ABBREVIATIONS.contains(&lower.as_str()) {
        // "etc." and "a.m." may end a sentence; trust a following capital then.
        let next_upper = next
            .and_then(|n| n.chars().find(|c| c.is_alphanumeric()))
            .is_some_and(char::is_uppercase);
        return matches!(lower.as_str(), "etc" | "a.m" | "p.m") && next_upper;
    }
    true
}

/// Split `text` into sentences. Whitespace runs between pieces are dropped; an input that is
/// empty or only whitespace gives no sentence.
pub fn split_sentences(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for (i, word) in words.iter().enumerate() {
        current.push(word);
        if ends_sentence(word, words.get(i + 1).copied()) {
            out.push(current.join(" "));
            current.clear();
        }
    }
    if !current.is_empty() {
        out.push(current.join(" "));
    }
    out
}

/// Split `text` into pieces of at most `max_chars` characters where possible: sentences first,
/// then clauses (after `,` `;` `:`), then groups of whole words. A single word longer than
/// `max_chars` is cut at character boundaries. `max_chars` of 0 is treated as 1.
pub fn split_sentences_max(text: &str, max_chars: usize) -> Vec<String> {
    let max_chars = max_chars.max(1);
    let mut out = Vec::new();
    for sentence in split_sentences(text) {
        if sentence.chars().count() <= max_chars {
            out.push(sentence);
            continue;
        }
        for clause in split_clauses(&sentence) {
            pack_words(&clause, max_chars, &mut out);
        }
    }
    out
}

fn split_clauses(sentence: &str) -> Vec<String> {
    let mut clauses = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for word in sentence.split(' ') {
        current.push(word);
        if word.ends_with([',', ';', ':']) {
            clauses.push(current.join(" "));
            current.clear();
        }
    }
    if !current.is_empty() {
        clauses.push(current.join(" "));
    }
    clauses
}

fn pack_words(clause: &str, max_chars: usize, out: &mut Vec<String>) {
    let mut current = String::new();
    let mut current_len = 0usize;
    for word in clause.split(' ') {
        let word_len = word.chars().count();
        if word_len > max_chars {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
                current_len = 0;
            }
            let chars: Vec<char> = word.chars().collect();
            out.extend(
                chars
                    .chunks(max_chars)
                    .map(|c| c.iter().collect::<String>()),
            );
            continue;
        }
        let needed = if current.is_empty() {
            word_len
        } else {
            current_len + 1 + word_len
        };
        if needed > max_chars {
            out.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if !current.is_empty() {
            current.push(' ');
            current_len += 1;
        }
        current.push_str(word);
        current_len += word_len;
    }
    if !current.is_empty() {
        out.push(current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_on_terminators() {
        assert_eq!(
            split_sentences("Hello there. How are you?  Fine!"),
            vec!["Hello there.", "How are you?", "Fine!"]
        );
    }

    #[test]
    fn keeps_abbreviations_and_initials() {
        assert_eq!(
            split_sentences("Mr. Smith met Dr. J. Watson at 5 p.m. on St. James St. today. Done."),
            vec![
                "Mr. Smith met Dr. J. Watson at 5 p.m. on St. James St. today.",
                "Done."
            ]
        );
        assert_eq!(
            split_sentences("We bought pens, paper, etc. Then we left."),
            vec!["We bought pens, paper, etc.", "Then we left."]
        );
    }

    #[test]
    fn decimals_and_quotes() {
        assert_eq!(
            split_sentences("Pi is 3.14 roughly. \"Yes.\" Ok"),
            vec!["Pi is 3.14 roughly.", "\"Yes.\"", "Ok"]
        );
    }

    #[test]
    fn empty_input() {
        assert!(split_sentences("").is_empty());
        assert!(split_sentences(" \n\t ").is_empty());
    }

    #[test]
    fn long_sentence_is_cut_at_clauses_then_words() {
        let pieces = split_sentences_max("one two three, four five six seven; eight", 12);
        assert_eq!(
            pieces,
            vec!["one two", "three,", "four five", "six seven;", "eight"]
        );
        assert_eq!(
            split_sentences_max("abcdefghij", 4),
            vec!["abcd", "efgh", "ij"]
        );
    }

    fn collapse(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    proptest! {
        #[test]
        fn lossless(text in "\\PC{0,200}") {
            prop_assert_eq!(split_sentences(&text).join(" "), collapse(&text));
        }

        #[test]
        fn bounded_and_lossless(text in "[a-z .,;!?]{0,300}", max in 1usize..40) {
            let pieces = split_sentences_max(&text, max);
            for p in &pieces {
                prop_assert!(p.chars().count() <= max, "{:?} longer than {}", p, max);
                prop_assert!(!p.is_empty());
            }
            let joined: String = pieces.concat().chars().filter(|c| !c.is_whitespace()).collect();
            let original: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            prop_assert_eq!(joined, original);
        }
    }
}
