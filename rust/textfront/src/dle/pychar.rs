//! Character classes with the meaning Python's `re` and `str` give them, plus the whitespace
//! collapsing writer used to assemble the cleaned text.

pub(crate) use crate::pyunicode::is_py_space as is_space;

/// [`is_space`] restricted to one byte of ASCII text.
pub(crate) fn is_space_byte(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | 0x1c..=b' ')
}

/// `\w` on ASCII text: letters, digits and underscore.
pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether a `\b` assertion holds before byte `i` of ASCII text.
pub(crate) fn boundary(b: &[u8], i: usize) -> bool {
    let before = i > 0 && is_word_byte(b[i - 1]);
    let after = i < b.len() && is_word_byte(b[i]);
    before != after
}

/// Length of the run of bytes satisfying `pred` that starts at `i`.
pub(crate) fn run_len(b: &[u8], i: usize, pred: impl Fn(u8) -> bool) -> usize {
    b[i.min(b.len())..].iter().take_while(|&&c| pred(c)).count()
}

/// Appends text to a string while turning every run of whitespace into one space, which is
/// what joining the cleaned pieces with spaces and then collapsing whitespace amounts to.
pub(crate) struct Collapser<'a> {
    out: &'a mut String,
    pending: bool,
}

impl<'a> Collapser<'a> {
    pub(crate) fn new(out: &'a mut String) -> Self {
        Collapser {
            out,
            pending: false,
        }
    }

    /// A separating space (collapses with neighbouring whitespace).
    pub(crate) fn space(&mut self) {
        self.pending = true;
    }

    pub(crate) fn push(&mut self, c: char) {
        if self.pending {
            self.out.push(' ');
            self.pending = false;
        }
        self.out.push(c);
    }

    /// Raw text: whitespace is collapsed, everything else kept.
    pub(crate) fn push_raw(&mut self, s: &str) {
        for c in s.chars() {
            if is_space(c) {
                self.pending = true;
            } else {
                self.push(c);
            }
        }
    }

    /// Cleaned ASCII text: lower-cased, and runs of `/` count as whitespace.
    pub(crate) fn push_cleaned(&mut self, s: &str) {
        for &b in s.as_bytes() {
            if is_space_byte(b) || b == b'/' {
                self.pending = true;
            } else if b.is_ascii() {
                self.push(b.to_ascii_lowercase() as char);
            }
        }
    }

    pub(crate) fn finish(self) {
        if self.pending {
            self.out.push(' ');
        }
    }
}
