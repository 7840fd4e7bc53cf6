//! Error kinds of the text frontend. Every fallible public function returns [`Result`].

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong in the frontend. Each variant maps to one Python exception class.
///
/// Non-exhaustive so that a new kind of failure is not a breaking change; a `match` on it needs
/// a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The flavor name is not one of [`crate::Flavor::NAMES`].
    UnknownFlavor(String),
    /// A dictionary or heteronym file could not be read or parsed.
    Dictionary {
        /// The file as it was given.
        path: PathBuf,
        /// What went wrong, for people (an I/O error or the offending line).
        reason: String,
    },
    /// The input text cannot be processed (e.g. it exceeds [`crate::MAX_INPUT_BYTES`]).
    InvalidInput(String),
    /// Text normalization is not available (or failed) for this flavor. No flavor raises it
    /// today (every flavor normalizes); it keeps the Python exception of the same name
    /// meaningful for frontends that may lack a normalizer.
    Normalization(String),
    /// Token ids given to `decode` are outside the vocabulary.
    InvalidIds(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownFlavor(name) => write!(
                f,
                "unknown flavor {name:?}; expected one of: {}",
                crate::Flavor::NAMES.join(", ")
            ),
            Error::Dictionary { path, reason } => {
                write!(f, "cannot load dictionary {}: {reason}", path.display())
            }
            Error::InvalidInput(reason) => write!(f, "invalid input: {reason}"),
            Error::Normalization(reason) => write!(f, "text normalization failed: {reason}"),
            Error::InvalidIds(reason) => write!(f, "invalid token ids: {reason}"),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;
