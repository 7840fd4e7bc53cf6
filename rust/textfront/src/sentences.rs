//! Sentence splitting for long input (placeholder, replaced below).
pub fn split_sentences(text: &str) -> Vec<String> {
    vec![text.to_string()]
}
