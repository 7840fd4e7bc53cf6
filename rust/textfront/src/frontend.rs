//! Placeholder facade (replaced below).
pub const MAX_INPUT_BYTES: usize = 16 << 20;
pub enum Flavor {}
impl Flavor { pub const NAMES: &'static [&'static str] = &["dle_chars", "dle_arpabet", "nemo_arpabet", "nemo_ipa"]; }
pub struct TextFrontend;
