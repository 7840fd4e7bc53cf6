//! Lookup tables embedded from `data/nemo_tn/words_*.tsv`, parsed once on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Parses our TSV format: lines that are `#` or start with `# ` are comments (so `#` itself can
/// be a key, as in the electronic symbol table), columns are tab separated, a missing second
/// column means "same as the first".
pub(super) fn parse(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.is_empty() && *l != "#" && !l.starts_with("# "))
        .map(|l| {
            let mut it = l.split('\t');
            let a = it.next().unwrap_or("").to_string();
            let b = it.next().map_or_else(|| a.clone(), str::to_string);
            (a, b)
        })
        .collect()
}

macro_rules! table {
    ($name:ident, $file:literal) => {
        pub(crate) fn $name() -> &'static [(String, String)] {
            static CELL: OnceLock<Vec<(String, String)>> = OnceLock::new();
            CELL.get_or_init(|| parse(include_str!(concat!("../../../data/nemo_tn/", $file))))
        }
    };
}

table!(suppletive, "words_suppletive.tsv");
table!(units, "words_unit.tsv");
table!(currency_major, "words_currency_major.tsv");
table!(currency_minor_singular, "words_currency_minor_singular.tsv");
table!(currency_minor_plural, "words_currency_minor_plural.tsv");
table!(per_units, "words_per_unit.tsv");
table!(time_zones, "words_time_zone.tsv");
table!(time_suffixes, "words_time_suffix.tsv");
table!(address_words, "words_address_word.tsv");
table!(address_states, "words_address_state.tsv");

/// First value for a key (NeMo's shortest path takes one of several equal options; the first
/// row is the one observed in the reference output for the keys that repeat).
pub(crate) fn lookup(table: &'static [(String, String)], key: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn suppletive_map() -> &'static HashMap<&'static str, &'static str> {
    static CELL: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut m = HashMap::new();
        for (k, v) in suppletive() {
            m.entry(k.as_str()).or_insert(v.as_str());
        }
        m
    })
}

/// NeMo's `SINGULAR_TO_PLURAL`: suppletive table on the whole string, else consonant+y -> ies,
/// sibilant -> +es, else +s.
pub(crate) fn plural(s: &str) -> String {
    if let Some(p) = suppletive_map().get(s) {
        return (*p).to_string();
    }
    let b = s.as_bytes();
    if b.len() >= 2 && b[b.len() - 1] == b'y' && b"bcdfghjklmnpqrstvwxz".contains(&b[b.len() - 2]) {
        return format!("{}ies", &s[..s.len() - 1]);
    }
    if s.ends_with('s')
        || s.ends_with("sh")
        || s.ends_with("ch")
        || s.ends_with('x')
        || s.ends_with('z')
    {
        return format!("{s}es");
    }
    format!("{s}s")
}
