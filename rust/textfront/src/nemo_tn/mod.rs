//! English text normalization reproducing NeMo's `Normalizer(lang="en", input_case="cased")`
//! as FastPitch calls it (`punct_pre_process=True, punct_post_process=True`).

pub mod words;
