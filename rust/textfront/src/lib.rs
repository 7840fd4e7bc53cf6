//! `textfront`: the text frontends of FastPitch, in pure Rust.
//!
//! A text-to-speech model does not read text: it reads token ids. This crate turns text into
//! the ids that NVIDIA's FastPitch checkpoints were trained on, reproducing each reference
//! frontend token for token (the golden tests under `tests/` check that against records made
//! by the references themselves).
//!
//! # The pipeline
//!
//! ```text
//!              normalization                      G2P / symbols
//!  "Dr. Smith  ─────────────▶  "doctor smith   ─────────────────▶  [41, 52, 40, ...]
//!   paid $5"    (numbers,       paid five        (dictionary         token ids (i64)
//!               abbreviations,  dollars"         lookup, letters,
//!               currency ...)                    punctuation)
//! ```
//!
//! 1. **Normalization** writes out everything that is not read as it is spelled: numbers,
//!    currency, abbreviations, dates, units. The DeepLearningExamples flavors run
//!    `english_cleaners_v2` (lower-casing, transliteration to ASCII, `inflect` number
//!    spelling); the NeMo flavors run a port of NeMo's English text normalizer
//!    (`nemo_text_processing`), which keeps case.
//! 2. **G2P and symbols** turn normalized text into tokens: DLE looks words up in CMUdict and
//!    writes their ARPAbet as `{HH AH0 L OW1}` groups before mapping symbols to ids; NeMo runs
//!    its `EnglishG2p` / `IpaG2p` (dictionary, heteronyms, fallback to letters) and its
//!    tokenizer, which also pads the sequence with spaces.
//! 3. **Token ids** index the flavor's vocabulary ([`TextFrontend::vocab`]);
//!    [`TextFrontend::decode`] maps them back to text for inspection.
//!
//! # Flavors
//!
//! | [`Flavor`]    | name           | reference                                                      |
//! |---------------|----------------|----------------------------------------------------------------|
//! | `DleChars`    | `dle_chars`    | DLE FastPitch, `english_cleaners_v2`, graphemes only           |
//! | `DleArpabet`  | `dle_arpabet`  | DLE FastPitch, `english_cleaners_v2`, CMUdict ARPAbet          |
//! | `NemoArpabet` | `nemo_arpabet` | NeMo `EnglishG2p` + `EnglishPhonemesTokenizer` (ARPAbet)       |
//! | `NemoIpa`     | `nemo_ipa`     | NeMo `IpaG2p` + `IPATokenizer` (IPA)                           |
//!
//! The dictionaries the references use are embedded, so a frontend needs no files; a custom
//! dictionary or heteronym list in the same format can replace them.
//!
//! # Example
//!
//! ```
//! use textfront::{split_sentences, Flavor, TextFrontend};
//!
//! # fn main() -> textfront::Result<()> {
//! let fe = TextFrontend::new(Flavor::DleArpabet, None, None)?;
//! // Or by name, as the Python package and the command line spell it:
//! assert_eq!(TextFrontend::from_name("dle_arpabet", None, None)?.flavor(), fe.flavor());
//!
//! // Normalization alone.
//! let text = "Dr. Smith paid $5.";
//! assert_eq!(fe.normalize(text)?, "doctor smith paid five dollars.");
//!
//! // Text to ids (`true`: normalize first), and back.
//! let ids = fe.encode("Hello world.", true)?;
//! assert_eq!(ids, [45, 42, 49, 49, 52, 11, 144, 98, 117, 90, 7]);
//! // "hello" has two CMUdict pronunciations, so it stays letters; "world" becomes ARPAbet.
//! assert_eq!(fe.decode(&ids)?, "hello {W}{ER1}{L}{D}.");
//!
//! // Is there anything to say? An emoji alone encodes to nothing that is spoken, and
//! // `unspoken_chars` names what a frontend drops, to warn the user.
//! assert!(fe.speaks(&ids));
//! assert!(!fe.speaks(&fe.encode("\u{1F600}", true)?));
//! assert_eq!(fe.unspoken_chars("Hi \u{1F600}!")?, ['\u{1F600}']);
//!
//! // NeMo flavors keep case, pad with spaces and have their own vocabulary.
//! let nemo = TextFrontend::new(Flavor::NemoIpa, None, None)?;
//! assert_eq!(nemo.normalize(text)?, "doctor Smith paid five dollars.");
//! let ids = nemo.encode("Hello world.", true)?;
//! assert_eq!(nemo.decode(&ids)?, " həˈloʊ ˈwɝld. ");
//! assert_eq!(nemo.pad_id(), 94);
//!
//! // Long input is split into sentences (and, with a limit, into clauses and word groups)
//! // rather than truncated.
//! assert_eq!(
//!     split_sentences("Hello there. How are you? Fine!"),
//!     ["Hello there.", "How are you?", "Fine!"]
//! );
//! # Ok(())
//! # }
//! ```
//!
//! # Sentence splitting
//!
//! A synthesis engine has a largest input it accepts. [`split_sentences`] cuts text at sentence
//! ends (knowing `Dr.`, `e.g.` and initials do not end one); [`split_sentences_max`] further cuts
//! a sentence longer than a limit at clauses and then between words. Nothing is dropped: the
//! pieces joined with single spaces give the input with its whitespace runs collapsed.
//!
//! # Errors
//!
//! Every fallible function returns [`Result`] with one [`Error`] kind per cause: an unknown
//! flavor name, an unreadable dictionary, input over [`MAX_INPUT_BYTES`], ids outside the
//! vocabulary. Text itself never fails: any `&str` encodes, characters a flavor cannot read are
//! dropped as the reference drops them (see [`TextFrontend::unspoken_chars`]). The Python
//! binding maps each kind to one exception class. Nothing in the crate panics on input; the
//! binding still catches panics at the boundary so that a bug cannot abort the interpreter.
//!
//! # Threads
//!
//! [`TextFrontend`] is `Send + Sync` and holds no mutable state: share one (in an `Arc`, or by
//! reference) between threads. Dictionaries and tables are parsed once per process on first
//! use and shared by every frontend. [`TextFrontend::encode_batch`] encodes many texts on all
//! cores (rayon).
//!
//! # Modules
//!
//! Most users need only the items re-exported here. The per-reference engines stay public in
//! [`dle`], [`nemo`] and [`nemo_tn`]: the golden tests check each of them on its own against its
//! reference (cleaned text, ARPAbet text and G2P output, not only final ids), and tools that
//! need one stage alone can use them. Everything else is internal.

// Public: the per-reference engines (see "Modules" above).
pub mod dle;
pub mod nemo;
pub mod nemo_tn;

// Internal; their public items are re-exported below.
mod data;
mod error;
mod frontend;
mod numwords;
mod pyunicode;
mod sentences;

pub use error::{Error, Result};
pub use frontend::{Flavor, TextFrontend, MAX_INPUT_BYTES};
pub use sentences::{split_sentences, split_sentences_max};
