//! Python bindings of `textfront`, imported as `fastpitch_tpu._textfront`.
//!
//! A thin layer: argument conversion, GIL release around the Rust work, and one Python
//! exception class per [`textfront::Error`] kind. All text rules live in the `textfront` crate.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

create_exception!(
    _textfront,
    UnknownFlavorError,
    PyValueError,
    "The flavor name is not one of FLAVORS."
);
create_exception!(
    _textfront,
    DictionaryError,
    PyOSError,
    "A dictionary or heteronym file could not be read or parsed."
);
create_exception!(
    _textfront,
    InvalidTextError,
    PyValueError,
    "The input cannot be processed (too large, or not encodable as UTF-8)."
);
create_exception!(
    _textfront,
    TextNormalizationError,
    PyValueError,
    "Text normalization is unavailable or failed for this flavor."
);
create_exception!(
    _textfront,
    InvalidTokenIdsError,
    PyValueError,
    "Token ids are outside the vocabulary."
);
create_exception!(
    _textfront,
    InternalError,
    PyRuntimeError,
    "A bug in the frontend was caught before it could crash the interpreter."
);

fn to_py_err(err: textfront::Error) -> PyErr {
    let msg = err.to_string();
    match err {
        textfront::Error::UnknownFlavor(_) => UnknownFlavorError::new_err(msg),
        textfront::Error::Dictionary { path, reason } => {
            DictionaryError::new_err((2, reason, path.display().to_string()))
        }
        textfront::Error::InvalidInput(_) => InvalidTextError::new_err(msg),
        textfront::Error::Normalization(_) => TextNormalizationError::new_err(msg),
        textfront::Error::InvalidIds(_) => InvalidTokenIdsError::new_err(msg),
        // `Error` is `#[non_exhaustive]`. A kind added to the core without a class here means
        // this binding lags behind it: report it as the bug it is, with the core's message.
        _ => InternalError::new_err(msg),
    }
}

/// Run Rust work without the GIL, turning an unexpected panic into `InternalError`.
fn run<T: Send>(py: Python<'_>, work: impl FnOnce() -> textfront::Result<T> + Send) -> PyResult<T> {
    py.allow_threads(|| catch_unwind(AssertUnwindSafe(work)))
        .map_err(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            InternalError::new_err(format!("internal error in the text frontend: {what}"))
        })?
        .map_err(to_py_err)
}

/// Borrow a Python `str` as UTF-8, with a clear error for lone surrogates or non-strings.
fn text_arg<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<std::borrow::Cow<'a, str>> {
    let s = obj.downcast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be str, not {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    s.to_cow().map_err(|e| {
        InvalidTextError::new_err(format!(
            "{what} is not valid Unicode text (it contains a lone surrogate?): {e}"
        ))
    })
}

fn path_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<PathBuf>> {
    obj.filter(|o| !o.is_none())
        .map(PyAnyMethods::extract::<PathBuf>)
        .transpose()
}

/// `encode_batch` result: ids `[B, L]` padded with the pad id, and the lengths `[B]`.
type PaddedBatch<'py> = (Bound<'py, PyArray2<i64>>, Bound<'py, PyArray1<i64>>);

/// Text → token ids for one flavor (`dle_chars`, `dle_arpabet`, `nemo_arpabet`, `nemo_ipa`).
#[pyclass(frozen, module = "fastpitch_tpu._textfront")]
struct TextFrontend {
    inner: Arc<textfront::TextFrontend>,
}

#[pymethods]
impl TextFrontend {
    #[new]
    #[pyo3(signature = (flavor = "nemo_arpabet", dictionary = None, heteronyms = None))]
    fn new(
        py: Python<'_>,
        flavor: &str,
        dictionary: Option<&Bound<'_, PyAny>>,
        heteronyms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let dictionary = path_arg(dictionary)?;
        let heteronyms = path_arg(heteronyms)?;
        let inner = run(py, || {
            textfront::TextFrontend::from_name(flavor, dictionary.as_deref(), heteronyms.as_deref())
        })?;
        Ok(TextFrontend {
            inner: Arc::new(inner),
        })
    }

    /// The flavor name.
    #[getter]
    fn flavor(&self) -> &'static str {
        self.inner.flavor().name()
    }

    /// Id → token list.
    #[getter]
    fn vocab(&self) -> Vec<String> {
        self.inner.vocab().to_vec()
    }

    /// Id used to pad batches.
    #[getter]
    fn pad_id(&self) -> i64 {
        self.inner.pad_id()
    }

    fn normalize(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<String> {
        let text = text_arg(text, "text")?;
        run(py, || self.inner.normalize(&text))
    }

    #[pyo3(signature = (text, normalize = true))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        text: &Bound<'py, PyAny>,
        normalize: bool,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let text = text_arg(text, "text")?;
        let ids = run(py, || self.inner.encode(&text, normalize))?;
        Ok(ids.into_pyarray(py))
    }

    #[pyo3(signature = (texts, normalize = true, pad_to = None))]
    fn encode_batch<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
        normalize: bool,
        pad_to: Option<usize>,
    ) -> PyResult<PaddedBatch<'py>> {
        if texts.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err(
                "texts must be a sequence of str, not a single str; use encode() for one text",
            ));
        }
        let mut owned: Vec<String> = Vec::new();
        for (i, item) in texts.try_iter()?.enumerate() {
            owned.push(text_arg(&item?, &format!("texts[{i}]"))?.into_owned());
        }
        let inner = Arc::clone(&self.inner);
        let results = run(py, move || Ok(inner.encode_batch(&owned, normalize)))?;
        let mut rows = Vec::with_capacity(results.len());
        for (i, r) in results.into_iter().enumerate() {
            rows.push(r.map_err(|e| {
                let err = to_py_err(e);
                let msg = format!("texts[{i}]: {}", err.value(py));
                PyErr::from_type(err.get_type(py), msg)
            })?);
        }
        let longest = rows.iter().map(Vec::len).max().unwrap_or(0);
        let width = match pad_to {
            Some(p) if p < longest => {
                return Err(InvalidTextError::new_err(format!(
                    "the longest text has {longest} tokens, more than pad_to={p}; \
                     split long texts (split_sentences) instead of truncating"
                )))
            }
            Some(p) => p,
            None => longest,
        };
        let pad = self.inner.pad_id();
        let mut flat = vec![pad; rows.len() * width];
        let lengths: Vec<i64> = rows.iter().map(|r| r.len() as i64).collect();
        for (row, ids) in flat.chunks_mut(width.max(1)).zip(&rows) {
            row[..ids.len()].copy_from_slice(ids);
        }
        let array = Array2::from_shape_vec((rows.len(), width), flat)
            .map_err(|e| InternalError::new_err(e.to_string()))?;
        Ok((array.into_pyarray(py), lengths.into_pyarray(py)))
    }

    fn decode(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<String> {
        let ids = ids_arg(ids)?;
        run(py, || self.inner.decode(&ids))
    }

    /// Whether `ids` hold a letter, digit or phoneme (not only padding, spaces, punctuation).
    fn speaks(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<bool> {
        let ids = ids_arg(ids)?;
        run(py, || Ok(self.inner.speaks(&ids)))
    }

    /// The characters of `text` this frontend drops (emoji, scripts it cannot read).
    fn unspoken_chars(&self, py: Python<'_>, text: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let text = text_arg(text, "text")?;
        let chars = run(py, || self.inner.unspoken_chars(&text))?;
        Ok(chars.into_iter().map(String::from).collect())
    }

    /// DLE flavors: cleaned text with `{ARPABET}` substitutions; None for NeMo flavors.
    #[pyo3(signature = (text, normalize = true))]
    fn arpabet_text(
        &self,
        py: Python<'_>,
        text: &Bound<'_, PyAny>,
        normalize: bool,
    ) -> PyResult<Option<String>> {
        let text = text_arg(text, "text")?;
        run(py, || self.inner.arpabet_text(&text, normalize))
    }

    /// NeMo flavors: the G2P output list for normalized text; None for DLE flavors.
    fn g2p(&self, py: Python<'_>, normalized: &Bound<'_, PyAny>) -> PyResult<Option<Vec<String>>> {
        let text = text_arg(normalized, "normalized")?;
        run(py, || self.inner.g2p(&text))
    }

    #[pyo3(signature = (text, max_chars = None))]
    #[expect(
        clippy::unused_self,
        reason = "offered as a method too, so Python code holding a frontend can call it"
    )]
    fn split_sentences(
        &self,
        py: Python<'_>,
        text: &Bound<'_, PyAny>,
        max_chars: Option<usize>,
    ) -> PyResult<Vec<String>> {
        split_sentences(py, text, max_chars)
    }

    fn __repr__(&self) -> String {
        format!("TextFrontend(flavor={:?})", self.inner.flavor().name())
    }
}

/// Token ids from a 1-D numpy int64 array or any sequence of Python ints.
fn ids_arg(ids: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    match ids.extract::<PyReadonlyArray1<i64>>() {
        Ok(array) => Ok(array.as_array().to_vec()),
        Err(_) => ids.extract::<Vec<i64>>().map_err(|_| {
            PyTypeError::new_err("ids must be a 1-D sequence or numpy array of integers")
        }),
    }
}

/// Split text into sentences (and pieces of at most `max_chars` characters when given).
#[pyfunction]
#[pyo3(signature = (text, max_chars = None))]
fn split_sentences(
    py: Python<'_>,
    text: &Bound<'_, PyAny>,
    max_chars: Option<usize>,
) -> PyResult<Vec<String>> {
    let text = text_arg(text, "text")?;
    run(py, || {
        Ok(match max_chars {
            Some(m) => textfront::split_sentences_max(&text, m),
            None => textfront::split_sentences(&text),
        })
    })
}

#[pymodule]
fn _textfront(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<TextFrontend>()?;
    m.add_function(wrap_pyfunction!(split_sentences, m)?)?;
    m.add("FLAVORS", PyList::new(py, textfront::Flavor::NAMES)?)?;
    m.add("MAX_INPUT_BYTES", textfront::MAX_INPUT_BYTES)?;
    m.add("UnknownFlavorError", py.get_type::<UnknownFlavorError>())?;
    m.add("DictionaryError", py.get_type::<DictionaryError>())?;
    m.add("InvalidTextError", py.get_type::<InvalidTextError>())?;
    m.add(
        "TextNormalizationError",
        py.get_type::<TextNormalizationError>(),
    )?;
    m.add(
        "InvalidTokenIdsError",
        py.get_type::<InvalidTokenIdsError>(),
    )?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
