//! Every flavor must take any UTF-8 string without panicking, give ids inside its vocabulary,
//! and decode them back.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use textfront::{Flavor, TextFrontend};

fn frontends() -> &'static Vec<TextFrontend> {
    static FRONTENDS: OnceLock<Vec<TextFrontend>> = OnceLock::new();
    FRONTENDS.get_or_init(|| {
        Flavor::ALL
            .iter()
            .map(|&f| TextFrontend::new(f, None, None).expect("embedded dictionaries load"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for fe in frontends() {
        for normalize in [true, false] {
            if let Ok(ids) = fe.encode(text, normalize) {
                let vocab = fe.vocab().len() as i64;
                assert!(ids.iter().all(|&i| (0..vocab).contains(&i)));
                fe.decode(&ids).expect("own ids decode");
            }
        }
        let _ = fe.normalize(text);
    }
    let _ = textfront::split_sentences(text);
});
