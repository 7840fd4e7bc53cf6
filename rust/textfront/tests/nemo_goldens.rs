//! Checks the NeMo tokenizers against the reference goldens in `shared/goldens/`
//! (`nemo_arpabet/*.jsonl`, `nemo_ipa/*.jsonl`, `vocab.json`): every record's `ids` and `g2p`
//! must be reproduced exactly from its `normalized` text. Skipped when the goldens are absent.

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;
use textfront::nemo::{NemoKind, NemoTokenizer};

const CORPORA: [&str; 4] = ["ljspeech", "dle_phrases", "nemo_tn_cases", "hard"];
const FLAVORS: [(&str, NemoKind); 2] = [
    ("nemo_arpabet", NemoKind::Arpabet),
    ("nemo_ipa", NemoKind::Ipa),
];

mod common;

fn goldens_dir() -> Option<PathBuf> {
    common::goldens_dir(&["nemo_arpabet", "nemo_ipa"])
}

/// Records of one golden file (split on '\n' only; the final '\n' ends the last record).
fn read_records(dir: &std::path::Path, flavor: &str, corpus: &str) -> Vec<Value> {
    let plain = dir.join(flavor).join(format!("{corpus}.jsonl"));
    let text = if plain.exists() {
        std::fs::read_to_string(&plain).expect("read golden file")
    } else {
        let gz = dir.join(flavor).join(format!("{corpus}.jsonl.gz"));
        let file = std::fs::File::open(&gz).expect("open golden file");
        let mut s = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut s)
            .expect("gunzip golden file");
        s
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("golden record is JSON"))
        .collect()
}

fn as_ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("ids array")
        .iter()
        .map(|x| x.as_i64().expect("integer id"))
        .collect()
}

fn as_strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("g2p array")
        .iter()
        .map(|x| x.as_str().expect("g2p item").to_string())
        .collect()
}

#[test]
fn nemo_vocabularies_match() {
    let Some(dir) = goldens_dir() else { return };
    for (flavor, kind) in FLAVORS {
        let tok = NemoTokenizer::new(kind, None, None).expect("default tokenizer");
        let text =
            std::fs::read_to_string(dir.join(flavor).join("vocab.json")).expect("vocab.json");
        let v: Value = serde_json::from_str(&text).expect("vocab JSON");
        let expected = as_strings(&v["id_to_token"]);
        assert_eq!(tok.vocab(), expected.as_slice(), "{flavor} vocabulary");
        let special = &v["special_ids"];
        assert_eq!(Some(tok.pad_id()), special["pad"].as_i64(), "{flavor} pad");
        assert_eq!(Some(tok.oov_id()), special["oov"].as_i64(), "{flavor} oov");
        assert_eq!(
            Some(tok.space_id()),
            special["space"].as_i64(),
            "{flavor} space"
        );
        assert!(special["blank"].is_null());
    }
}

#[test]
fn nemo_goldens_match() {
    let Some(dir) = goldens_dir() else { return };
    let mut failures = Vec::new();
    for (flavor, kind) in FLAVORS {
        let tok = NemoTokenizer::new(kind, None, None).expect("default tokenizer");
        for corpus in CORPORA {
            let records = read_records(&dir, flavor, corpus);
            let (mut handled, mut ids_ok, mut g2p_ok, mut ref_errors) =
                (0usize, 0usize, 0usize, 0usize);
            let mut shown = 0;
            for (line, r) in records.iter().enumerate() {
                let Some(normalized) = r.get("normalized").and_then(Value::as_str) else {
                    ref_errors += 1;
                    continue;
                };
                let Some(ids) = r.get("ids") else {
                    ref_errors += 1;
                    continue;
                };
                handled += 1;
                let want_ids = as_ids(ids);
                let want_g2p = as_strings(&r["g2p"]);
                let got_ids = tok.encode(normalized);
                let got_g2p = tok.g2p(normalized);
                ids_ok += usize::from(got_ids == want_ids);
                g2p_ok += usize::from(got_g2p == want_g2p);
                if (got_ids != want_ids || got_g2p != want_g2p) && shown < 5 {
                    shown += 1;
                    eprintln!(
                        "MISMATCH {flavor}/{corpus} line {}: {normalized:?}\n  ids  want {want_ids:?}\n       got  {got_ids:?}\n  g2p  want {want_g2p:?}\n       got  {got_g2p:?}",
                        line + 1
                    );
                }
            }
            eprintln!(
                "{flavor:13} {corpus:14} records {:6}  reference errors {ref_errors:3}  ids {ids_ok}/{handled}  g2p {g2p_ok}/{handled}",
                records.len()
            );
            if ids_ok != handled || g2p_ok != handled {
                failures.push(format!(
                    "{flavor}/{corpus}: ids {ids_ok}/{handled}, g2p {g2p_ok}/{handled}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "golden mismatches: {failures:#?}");
}

/// Median wall time per LJSpeech sentence of `encode` (and of `g2p` + `encode`), one thread.
/// Run with `cargo test --release -p textfront --test nemo_goldens -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run explicitly in release mode"]
fn nemo_speed_ljspeech() {
    let Some(dir) = goldens_dir() else { return };
    for (flavor, kind) in FLAVORS {
        let tok = NemoTokenizer::new(kind, None, None).expect("default tokenizer");
        let texts: Vec<String> = read_records(&dir, flavor, "ljspeech")
            .iter()
            .filter_map(|r| {
                r.get("normalized")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        let median = |f: &dyn Fn(&str)| -> f64 {
            for t in &texts {
                f(t);
            }
            let mut times: Vec<f64> = texts
                .iter()
                .map(|t| {
                    let start = Instant::now();
                    f(t);
                    start.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        };
        let enc = median(&|t| {
            std::hint::black_box(tok.encode(t));
        });
        let both = median(&|t| {
            std::hint::black_box(tok.g2p(t));
            std::hint::black_box(tok.encode(t));
        });
        eprintln!(
            "{flavor}: median over {} LJSpeech sentences: encode {enc:.2} us, g2p+encode {both:.2} us",
            texts.len()
        );
    }
}
