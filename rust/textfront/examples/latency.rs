//! Per-sentence latency of every flavor: median / p90 / max in microseconds, one thread.
//!
//! `cargo run --release -p textfront --example latency [-- CORPUS_FILE]`
//! (default `../shared/goldens/corpora/ljspeech.txt` beside the checkout). DLE flavors time
//! `encode(text, normalize=true)`: cleaning or text normalization, then G2P and tokens.
//! Then the slowest of a set of adversarial 100 kB inputs per flavor (digit runs, punctuation
//! runs, punctuation mixed with symbols, one huge token, braces, CJK, emoji, control characters,
//! a long paragraph).

use std::path::PathBuf;
use std::time::Instant;

use textfront::{Flavor, TextFrontend};

/// Adversarial inputs of about `size` bytes each, with a short name.
fn adversarial(size: usize) -> Vec<(&'static str, String)> {
    let fill = |unit: &str| unit.repeat(size / unit.len().max(1));
    vec![
        ("digits", fill("9")),
        ("digit groups", fill("1,")),
        ("money", fill("$1. ")),
        ("decimals", fill("3.")),
        ("punctuation", fill("!?.,;:-")),
        ("one huge word", fill("a")),
        ("s suffix run", format!("a{}", fill("s"))),
        ("open braces", fill("{")),
        ("brace groups", fill("{AA1} ")),
        ("roman", fill("MMXVIII ")),
        ("acronyms", fill("NASA's ")),
        ("letters+digits", fill("a1")),
        ("CJK", fill("\u{4e2d}\u{6587}")),
        ("emoji", fill("\u{1f389}")),
        ("controls", fill("\u{0}\u{7}\r\u{b}")),
        ("combining", fill("e\u{301}")),
        (
            "dash runs with stars",
            fill(&format!(
                "Text 555.867.5309.\nTx eheten{}",
                "-----*".repeat(100)
            )),
        ),
        ("percent dashes", fill("%-")),
        (
            "paragraph",
            fill("On March 3rd, 1999 Dr. Smith paid $1,234.56 for 12 GB. "),
        ),
    ]
}

fn main() {
    let path = std::env::args().nth(1).map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/goldens/corpora/ljspeech.txt")
        },
        PathBuf::from,
    );
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {e}", path.display());
            std::process::exit(2);
        }
    };
    let lines: Vec<&str> = text.split('\n').filter(|l| !l.is_empty()).collect();
    println!("{} lines of {}", lines.len(), path.display());
    println!(
        "{:13} {:>9} {:>9} {:>9}",
        "flavor", "median_us", "p90_us", "max_us"
    );
    for &flavor in Flavor::ALL {
        let started = Instant::now();
        let fe = TextFrontend::new(flavor, None, None).expect("embedded dictionaries load");
        let load_ms = started.elapsed().as_secs_f64() * 1e3;
        let normalize = true;
        for l in lines.iter().take(200) {
            let _ = fe.encode(l, normalize);
        }
        let mut times: Vec<f64> = lines
            .iter()
            .map(|l| {
                let t0 = Instant::now();
                let out = fe.encode(l, normalize);
                let dt = t0.elapsed().as_secs_f64() * 1e6;
                std::hint::black_box(out.map_or(0, |v| v.len()));
                dt
            })
            .collect();
        times.sort_by(f64::total_cmp);
        #[expect(
            clippy::cast_precision_loss,
            clippy::cast_sign_loss,
            reason = "a quantile index: a small count scaled by q in [0, 1]"
        )]
        let pick = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        println!(
            "{:13} {:9.2} {:9.2} {:9.1}   (construction {load_ms:.1} ms)",
            flavor.name(),
            pick(0.5),
            pick(0.9),
            times[times.len() - 1]
        );
    }

    println!("\nslowest adversarial input of ~100 kB per flavor (normalize = true):");
    let inputs = adversarial(100_000);
    for &flavor in Flavor::ALL {
        let fe = TextFrontend::new(flavor, None, None).expect("embedded dictionaries load");
        let normalize = true;
        let (name, ms) = inputs
            .iter()
            .map(|(name, text)| {
                let t0 = Instant::now();
                std::hint::black_box(fe.encode(text, normalize).map_or(0, |v| v.len()));
                (*name, t0.elapsed().as_secs_f64() * 1e3)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("inputs");
        println!("{:13} {ms:8.2} ms  ({name})", flavor.name());
    }
}
