//! Criterion benchmarks of `normalize` and `encode` per flavor over LJSpeech sentences.
//!
//! `cargo bench -p textfront` reads `../shared/goldens/corpora/ljspeech.txt` (beside the
//! checkout) or the file named by `TEXTFRONT_BENCH_CORPUS`; each iteration processes the first
//! 1000 lines, so criterion's time / 1000 is the mean time per sentence. NeMo flavors are fed the
//! reference's normalized text (G2P + tokenization only) from the goldens.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use textfront::{Flavor, TextFrontend};

const LINES: usize = 1000;

fn goldens() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/goldens")
}

fn corpus() -> Vec<String> {
    let path = std::env::var_os("TEXTFRONT_BENCH_CORPUS")
        .map_or_else(|| goldens().join("corpora/ljspeech.txt"), PathBuf::from);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read bench corpus {}: {e}", path.display()));
    text.split('\n')
        .filter(|l| !l.is_empty())
        .take(LINES)
        .map(str::to_string)
        .collect()
}

fn nemo_normalized(flavor: Flavor) -> Option<Vec<String>> {
    use std::io::Read;
    let path = goldens().join(flavor.name()).join("ljspeech.jsonl.gz");
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .ok()?;
    Some(
        text.split('\n')
            .filter(|l| !l.is_empty())
            .take(LINES)
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                Some(v.get("normalized")?.as_str()?.to_string())
            })
            .collect(),
    )
}

fn bench(c: &mut Criterion) {
    let lines = corpus();
    let bytes: usize = lines.iter().map(String::len).sum();
    for &flavor in Flavor::ALL {
        let fe = TextFrontend::new(flavor, None, None).expect("embedded dictionaries load");
        let mut group = c.benchmark_group(flavor.name());
        group.throughput(Throughput::Bytes(bytes as u64));
        if flavor.is_nemo() {
            let Some(normalized) = nemo_normalized(flavor) else {
                continue;
            };
            group.bench_function("encode_normalized_x1000", |b| {
                b.iter(|| {
                    normalized
                        .iter()
                        .map(|t| fe.encode(t, false).map_or(0, |v| v.len()))
                        .sum::<usize>()
                });
            });
        } else {
            group.bench_function("normalize_x1000", |b| {
                b.iter(|| {
                    lines
                        .iter()
                        .map(|t| fe.normalize(t).map_or(0, |s| s.len()))
                        .sum::<usize>()
                });
            });
            group.bench_function("encode_x1000", |b| {
                b.iter(|| {
                    lines
                        .iter()
                        .map(|t| fe.encode(t, true).map_or(0, |v| v.len()))
                        .sum::<usize>()
                });
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
