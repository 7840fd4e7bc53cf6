//! `textfront`: FastPitch text frontends in pure Rust.
//!
//! Four flavors reproduce NVIDIA's reference frontends token for token:
//! `dle_chars` / `dle_arpabet` (DeepLearningExamples FastPitch) and
//! `nemo_arpabet` / `nemo_ipa` (NeMo FastPitch G2P + tokenizers).
//! [`TextFrontend`] is the one entry point; it never panics on any `&str`.

pub mod data;
pub mod dle;
pub mod error;
pub mod frontend;
pub mod nemo;
pub mod nemo_tn;
mod numwords;
mod pyunicode;
pub mod sentences;

pub use error::{Error, Result};
pub use frontend::{Flavor, TextFrontend, MAX_INPUT_BYTES};
pub use sentences::{split_sentences, split_sentences_max};
