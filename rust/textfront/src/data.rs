//! Dictionaries embedded in the binary, so the frontend needs no files at run time.
//! The files are byte-identical copies of the references (see `data/README.md` for sources,
//! sha256 sums and licences).

/// CMU Pronouncing Dictionary 0.7b (CRLF line ends), used by the `dle_arpabet` flavor.
pub static CMUDICT_0_7B: &[u8] = include_bytes!("../data/cmudict-0.7b");
/// DeepLearningExamples' heteronym list, used by the `dle_arpabet` flavor.
pub static DLE_HETERONYMS: &[u8] = include_bytes!("../data/heteronyms");
/// NVIDIA's ARPAbet dictionary `cmudict-0.7b_nv22.10`, used by `nemo_arpabet`.
pub static CMUDICT_NV22_10: &[u8] = include_bytes!("../data/cmudict-0.7b_nv22.10");
/// NVIDIA's IPA dictionary `ipa_cmudict-0.7b_nv23.01.txt`, used by `nemo_ipa`.
pub static IPA_CMUDICT_NV23_01: &[u8] = include_bytes!("../data/ipa_cmudict-0.7b_nv23.01.txt");
/// NeMo's heteronym list `heteronyms-052722`, used by both NeMo flavors.
pub static NEMO_HETERONYMS: &[u8] = include_bytes!("../data/heteronyms-052722");
