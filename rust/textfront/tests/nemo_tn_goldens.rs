//! Agreement of the Rust NeMo text normalizer with the reference goldens
//! (`shared/goldens/nemo_arpabet/*.jsonl`): for every record, `normalize(text)` is compared with
//! `normalized`, and the ARPAbet token ids of our output with the record's `ids`. Prints the
//! agreement per corpus and per `nemo_tn_cases` class, the first mismatches, and asserts floors
//! so regressions fail. Skipped when the goldens are absent.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use textfront::nemo::{NemoKind, NemoTokenizer};
use textfront::nemo_tn::Normalizer;

/// (corpus, floor on % identical ids).
const FLOORS: [(&str, f64); 4] = [
    ("ljspeech", 99.98),
    ("dle_phrases", 97.0),
    ("nemo_tn_cases", 99.8),
    ("hard", 99.0),
];

mod common;

fn goldens_dir() -> Option<PathBuf> {
    common::goldens_dir(&["nemo_arpabet"])
}

fn read_lines(path: &Path) -> Vec<String> {
    let text = if path.exists() {
        std::fs::read_to_string(path).expect("read golden file")
    } else {
        let gz = PathBuf::from(format!("{}.gz", path.display()));
        let file = std::fs::File::open(&gz).expect("open golden file");
        let mut s = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut s)
            .expect("gunzip golden file");
        s
    };
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

fn records(dir: &Path, flavor: &str, corpus: &str) -> Vec<Value> {
    read_lines(&dir.join(flavor).join(format!("{corpus}.jsonl")))
        .iter()
        .map(|l| serde_json::from_str(l).expect("golden record is JSON"))
        .collect()
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

#[derive(Default)]
struct Tally {
    n: usize,
    ids_ok: usize,
    text_ok: usize,
}

impl Tally {
    #[expect(
        clippy::cast_precision_loss,
        reason = "a percentage for the log; counts are far below 2^52"
    )]
    fn pct(k: usize, n: usize) -> f64 {
        if n == 0 {
            100.0
        } else {
            100.0 * k as f64 / n as f64
        }
    }
    fn ids_pct(&self) -> f64 {
        Self::pct(self.ids_ok, self.n)
    }
    fn text_pct(&self) -> f64 {
        Self::pct(self.text_ok, self.n)
    }
}

#[test]
fn agreement_with_reference_normalizer() {
    let Some(dir) = goldens_dir() else {
        return;
    };
    let tok = NemoTokenizer::new(NemoKind::Arpabet, None, None).expect("tokenizer");
    let norm = Normalizer::new();
    let show: usize = std::env::var("NEMO_TN_SHOW")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let classes: Vec<String> = {
        let path = dir.join("nemo_tn/nemo_tn_cases.jsonl");
        if path.exists() {
            read_lines(&path)
                .iter()
                .map(|l| {
                    let v: Value = serde_json::from_str(l).expect("case is JSON");
                    v["class"].as_str().unwrap_or("?").to_string()
                })
                .collect()
        } else {
            Vec::new()
        }
    };
    let mut failures = Vec::new();
    // NEMO_TN_DUMP=<file>: every compared record as JSON lines, for analysis.
    let mut dump = std::env::var("NEMO_TN_DUMP")
        .ok()
        .map(|p| std::fs::File::create(p).expect("create dump file"));
    for (corpus, floor) in FLOORS {
        let recs = records(&dir, "nemo_arpabet", corpus);
        let mut total = Tally::default();
        let mut per_class: BTreeMap<String, Tally> = BTreeMap::new();
        let mut shown = 0;
        for (k, r) in recs.iter().enumerate() {
            let (Some(text), Some(expected)) = (r["text"].as_str(), r["normalized"].as_str())
            else {
                continue; // the reference failed on this line
            };
            if r.get("ids").is_none() {
                continue;
            }
            let ours = norm.normalize(text);
            let ids_ok = tok.encode(&ours) == ids(&r["ids"]);
            let text_ok = ours == expected;
            for t in [Some(&mut total), {
                if corpus == "nemo_tn_cases" {
                    let c = classes.get(k).cloned().unwrap_or_else(|| "?".into());
                    Some(per_class.entry(c).or_default())
                } else {
                    None
                }
            }]
            .into_iter()
            .flatten()
            {
                t.n += 1;
                t.ids_ok += usize::from(ids_ok);
                t.text_ok += usize::from(text_ok);
            }
            if let Some(f) = dump.as_mut() {
                use std::io::Write;
                let class = if corpus == "nemo_tn_cases" {
                    classes.get(k).cloned().unwrap_or_default()
                } else {
                    String::new()
                };
                let rec = serde_json::json!({"corpus": corpus, "class": class, "k": k,
                    "text": text, "ref": expected, "ours": ours, "ids_ok": ids_ok});
                writeln!(f, "{rec}").expect("write dump");
            }
            if !ids_ok && shown < show {
                shown += 1;
                println!(
                    "  [{corpus} #{k}] in : {text:?}\n      ref: {expected:?}\n      our: {ours:?}"
                );
            }
        }
        println!(
            "{corpus}: n={} ids {:.2}% normalized {:.2}%",
            total.n,
            total.ids_pct(),
            total.text_pct()
        );
        for (c, t) in &per_class {
            println!(
                "    {c:<26} n={:<3} ids {:6.2}% normalized {:6.2}%",
                t.n,
                t.ids_pct(),
                t.text_pct()
            );
        }
        if total.ids_pct() < floor {
            failures.push(format!(
                "{corpus}: ids {:.2}% below floor {floor}%",
                total.ids_pct()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn ljspeech_speed() {
    let Some(dir) = goldens_dir() else {
        return;
    };
    let norm = Normalizer::new();
    let lines: Vec<String> = records(&dir, "nemo_arpabet", "ljspeech")
        .iter()
        .filter_map(|r| r["text"].as_str().map(str::to_string))
        .take(2000)
        .collect();
    for l in lines.iter().take(50) {
        norm.normalize(l);
    }
    let mut times: Vec<f64> = lines
        .iter()
        .map(|l| {
            let t0 = Instant::now();
            std::hint::black_box(norm.normalize(l));
            t0.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "ljspeech normalize: median {median:.1} us, p90 {:.1} us, max {:.1} us ({} lines)",
        times[times.len() * 9 / 10],
        times[times.len() - 1],
        times.len()
    );
}
