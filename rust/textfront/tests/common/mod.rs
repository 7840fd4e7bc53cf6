//! Where the golden reference records are, for every golden test: `FASTPITCH_TPU_GOLDENS`, or
//! `shared/goldens` beside the checkout (as the Python tests find them). Without them a golden
//! test has nothing to check: it says so and passes, except under `FASTPITCH_TPU_STRICT_SKIPS=1`
//! (the full CI run), where missing goldens fail it.

use std::path::PathBuf;

/// The goldens folder, if it holds every one of the `flavors` subfolders.
pub fn goldens_dir(flavors: &[&str]) -> Option<PathBuf> {
    let dir = std::env::var_os("FASTPITCH_TPU_GOLDENS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/goldens"),
        PathBuf::from,
    );
    let missing: Vec<&str> = flavors
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_dir())
        .collect();
    if missing.is_empty() {
        return Some(dir);
    }
    let msg = format!(
        "goldens {} not found under {}",
        missing.join(", "),
        dir.display()
    );
    let strict = std::env::var("FASTPITCH_TPU_STRICT_SKIPS").as_deref() == Ok("1");
    assert!(
        !strict,
        "{msg} (FASTPITCH_TPU_STRICT_SKIPS=1: a golden test may not skip)"
    );
    eprintln!("note: {msg}; skipping");
    None
}
