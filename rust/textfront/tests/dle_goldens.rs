//! Agreement of the DLE frontend with the golden reference records in `shared/goldens`
//! (`dle_chars/*.jsonl`, `dle_arpabet/*.jsonl[.gz]`). Skipped when they are absent (see `common`).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use textfront::dle::DleFrontend;

mod common;

/// Reads a UTF-8 file (optionally gzip) and splits it on '\n' only.
fn read_records(path: &Path) -> Vec<Value> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    } else {
        text = String::from_utf8(raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        #[expect(
            clippy::case_sensitive_file_extension_comparisons,
            reason = "the goldens are written with lower-case extensions"
        )]
        let golden = name.ends_with(".jsonl") || name.ends_with(".jsonl.gz");
        golden
    });
    files.sort();
    files
}

#[test]
fn dle_goldens_agree() {
    let Some(root) = common::goldens_dir(&["dle_chars", "dle_arpabet"]) else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0usize;
    for (flavor, arpabet) in [("dle_chars", false), ("dle_arpabet", true)] {
        let dir = root.join(flavor);
        let fe = DleFrontend::new(arpabet, None, None).expect("frontend");
        for path in corpus_files(&dir) {
            let records = read_records(&path);
            let (mut ok, mut ref_errors, mut shown) = (0usize, 0usize, 0usize);
            for (line, rec) in records.iter().enumerate() {
                let text = rec["text"].as_str().expect("text field");
                if rec.get("error").is_some() {
                    ref_errors += 1;
                    continue;
                }
                let want_norm = rec["normalized"].as_str().expect("normalized field");
                let want_ids: Vec<i64> = rec["ids"]
                    .as_array()
                    .expect("ids field")
                    .iter()
                    .map(|v| v.as_i64().expect("integer id"))
                    .collect();
                let want_arpa = rec.get("arpabet_text").and_then(Value::as_str);
                let norm = fe.clean(text);
                let (ids, arpa) = fe.encode_cleaned(&norm);
                let same =
                    norm == want_norm && ids == want_ids && want_arpa.is_none_or(|w| w == arpa);
                if same {
                    ok += 1;
                } else if shown < 5 {
                    shown += 1;
                    eprintln!(
                        "MISMATCH {flavor} {} line {}\n  text:  {text:?}\n  want:  {want_norm:?}\n  got:   {norm:?}\n  want arpabet: {want_arpa:?}\n  got arpabet:  {arpa:?}\n  ids equal: {}",
                        path.display(),
                        line + 1,
                        ids == want_ids
                    );
                }
            }
            let handled = records.len() - ref_errors;
            #[expect(
                clippy::cast_precision_loss,
                reason = "a percentage for the log; counts are far below 2^52"
            )]
            let percent = if handled == 0 {
                100.0
            } else {
                100.0 * ok as f64 / handled as f64
            };
            eprintln!(
                "{flavor} {}: {ok}/{handled} identical ({percent:.2} %), {ref_errors} reference errors",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
            );
            checked += handled;
            if ok != handled {
                failures.push(format!(
                    "{flavor}/{}: {} mismatches",
                    path.display(),
                    handled - ok
                ));
            }
        }
    }
    assert!(failures.is_empty(), "golden mismatches: {failures:#?}");
    eprintln!("{checked} records identical");
}
