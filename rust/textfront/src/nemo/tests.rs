//! Behaviour tests. Expected values come from the NeMo reference goldens (`hard.jsonl`) or were
//! produced by the reference G2P/tokenizer code on the inputs shown.

use super::*;

type Case = (&'static str, &'static [&'static str], &'static [i64]);

/// Golden records of `nemo_arpabet/hard.jsonl`: (normalized, g2p, ids).
const ARPABET_GOLDEN: &[Case] = &[
    (
        "I live here and the show is live.",
        &[
            "AY1", " ", "l", "i", "v", "e", " ", "HH", "IY1", "R", " ", "a", "n", "d", " ", "t",
            "h", "e", " ", "SH", "OW1", " ", "i", "s", " ", "l", "i", "v", "e", ".",
        ],
        &[
            0, 41, 0, 81, 78, 91, 74, 0, 7, 56, 15, 0, 70, 83, 73, 0, 89, 77, 74, 0, 17, 59, 0, 78,
            88, 0, 81, 78, 91, 74, 98, 0,
        ],
    ),
    (
        "James's book and Chris' pen.",
        &[
            "JH", "EY1", "M", "Z", "IH0", "Z", " ", "B", "UH1", "K", " ", "a", "n", "d", " ", "K",
            "R", "IH1", "S", "'", " ", "P", "EH1", "N", ".",
        ],
        &[
            0, 8, 50, 11, 23, 52, 23, 0, 1, 65, 9, 0, 70, 83, 73, 0, 9, 15, 53, 16, 96, 0, 14, 44,
            12, 98, 0,
        ],
    ),
    (
        "CPU's, GPU's and TPUs.",
        &[
            "S", "IY1", "P", "IY1", "Y", "UW1", "Z", ",", " ", "JH", "IY1", "P", "IY1", "Y", "UW1",
            "Z", " ", "a", "n", "d", " ", "t", "p", "u", "s", ".",
        ],
        &[
            0, 16, 56, 14, 56, 22, 68, 23, 97, 0, 8, 56, 14, 56, 22, 68, 23, 0, 70, 83, 73, 0, 89,
            85, 90, 88, 98, 0,
        ],
    ),
    (
        "My mother-in-law's car.",
        &[
            "M", "AY1", " ", "M", "AH1", "DH", "ER0", "IH0", "N", "L", "AO2", "Z", " ", "K", "AA1",
            "R", ".",
        ],
        &[
            0, 11, 41, 0, 11, 32, 4, 46, 52, 12, 10, 36, 23, 0, 9, 26, 15, 98, 0,
        ],
    ),
    (
        "Jack-o'-lantern season.",
        &[
            "JH", "AE1", "K", "-", "OW1", "-", "L", "AE1", "N", "T", "ER0", "N", " ", "S", "IY1",
            "Z", "AH0", "N", ".",
        ],
        &[
            0, 8, 29, 9, 101, 59, 101, 10, 29, 12, 18, 46, 12, 0, 16, 56, 23, 31, 12, 98, 0,
        ],
    ),
    (
        "Café au lait and crème brûlée.",
        &[
            "c", "a", "f", "e", " ", "OW1", " ", "L", "EY1", " ", "a", "n", "d", " ", "K", "R",
            "IY1", "M", " ", "b", "r", "u", "l", "e", "e", ".",
        ],
        &[
            0, 72, 70, 75, 74, 0, 59, 0, 10, 50, 0, 70, 83, 73, 0, 9, 15, 56, 11, 0, 71, 87, 90,
            81, 74, 74, 98, 0,
        ],
    ),
    (
        "Ligatures like ﬁ and ﬂ.",
        &[
            "l", "i", "g", "a", "t", "u", "r", "e", "s", " ", "L", "AY1", "K", " ", "ﬁ", " ", "a",
            "n", "d", " ", "ﬂ", ".",
        ],
        &[
            0, 81, 78, 76, 70, 89, 90, 87, 74, 88, 0, 10, 41, 9, 0, 70, 83, 73, 0, 98, 0,
        ],
    ),
    (
        "我爱你 means I love you.",
        &[
            "我", "爱", "你", " ", "M", "IY1", "N", "Z", " ", "AY1", " ", "L", "AH1", "V", " ",
            "Y", "UW1", ".",
        ],
        &[0, 11, 56, 12, 23, 0, 41, 0, 10, 32, 20, 0, 22, 68, 98, 0],
    ),
    (
        "The gap widened to −7.",
        &[
            "t", "h", "e", " ", "G", "AE1", "P", " ", "W", "AY1", "D", "AH0", "N", "D", " ", "t",
            "o", " ", "−", "7", ".",
        ],
        &[
            0, 89, 77, 74, 0, 6, 29, 14, 0, 21, 41, 3, 31, 12, 3, 0, 89, 84, 0, 98, 0,
        ],
    ),
    (
        "Kids' toys, women's clothing.",
        &[
            "K", "IH1", "D", "Z", "'", " ", "T", "OY1", "Z", ",", " ", "W", "IH1", "M", "AH0", "N",
            "Z", " ", "K", "L", "OW1", "DH", "IH0", "NG", ".",
        ],
        &[
            0, 9, 53, 3, 23, 96, 0, 18, 62, 23, 97, 0, 21, 53, 11, 31, 12, 23, 0, 9, 10, 59, 4, 52,
            13, 98, 0,
        ],
    ),
    ("“”", &["\"", "\""], &[0, 105, 105, 0]),
    (
        "Pre- and post-war eras.",
        &[
            "P", "R", "IY1", "-", " ", "a", "n", "d", " ", "P", "OW1", "S", "T", "-", "W", "AO1",
            "R", " ", "IH1", "R", "AH0", "Z", ".",
        ],
        &[
            0, 14, 15, 56, 101, 0, 70, 83, 73, 0, 14, 59, 16, 18, 101, 21, 35, 15, 0, 53, 15, 31,
            23, 98, 0,
        ],
    ),
    (
        "Well… I don't know.",
        &[
            "W", "EH1", "L", "…", " ", "AY1", " ", "d", "o", "n", "'", "t", " ", "N", "OW1", ".",
        ],
        &[
            0, 21, 44, 10, 0, 41, 0, 73, 84, 83, 96, 89, 0, 12, 59, 98, 0,
        ],
    ),
    (
        "Reading is in England; I like reading.",
        &[
            "r", "e", "a", "d", "i", "n", "g", " ", "i", "s", " ", "i", "n", " ", "IH1", "NG", "G",
            "L", "AH0", "N", "D", ";", " ", "AY1", " ", "L", "AY1", "K", " ", "r", "e", "a", "d",
            "i", "n", "g", ".",
        ],
        &[
            0, 87, 74, 70, 73, 78, 83, 76, 0, 78, 88, 0, 78, 83, 0, 53, 13, 6, 10, 31, 12, 3, 103,
            0, 41, 0, 10, 41, 9, 0, 87, 74, 70, 73, 78, 83, 76, 98, 0,
        ],
    ),
    (
        "Cyrillic А looks like Latin A.",
        &[
            "S", "ER0", "IH1", "L", "IH0", "K", " ", "А", " ", "L", "UH1", "K", "S", " ", "L",
            "AY1", "K", " ", "L", "AE1", "T", "AH0", "N", " ", "a", ".",
        ],
        &[
            0, 16, 46, 53, 10, 52, 9, 0, 10, 65, 9, 16, 0, 10, 41, 9, 0, 10, 29, 18, 31, 12, 0, 70,
            98, 0,
        ],
    ),
    (
        "Form W-two and one thousand ninety nine-MISC.",
        &[
            "F", "AO1", "R", "M", " ", "D", "AH1", "B", "AH0", "L", "Y", "UW0", "-", "T", "UW1",
            " ", "a", "n", "d", " ", "o", "n", "e", " ", "t", "h", "o", "u", "s", "a", "n", "d",
            " ", "N", "AY1", "N", "T", "IY0", " ", "N", "AY1", "N", "-", "m", "i", "s", "c", ".",
        ],
        &[
            0, 5, 35, 15, 11, 0, 3, 32, 1, 31, 10, 22, 67, 101, 18, 68, 0, 70, 83, 73, 0, 84, 83,
            74, 0, 89, 77, 84, 90, 88, 70, 83, 73, 0, 12, 41, 12, 18, 55, 0, 12, 41, 12, 101, 82,
            78, 88, 72, 98, 0,
        ],
    ),
];

/// Golden records of `nemo_ipa/hard.jsonl`: (normalized, g2p, ids).
const IPA_GOLDEN: &[Case] = &[
    (
        "I live here and the show is live.",
        &[
            "ˈ", "a", "ɪ", " ", "L", "I", "V", "E", " ", "ˈ", "h", "i", "ɹ", " ", "ə", "n", "d",
            " ", "ð", "ə", " ", "ˈ", "ʃ", "o", "ʊ", " ", "ˈ", "ɪ", "z", " ", "L", "I", "V", "E",
            ".",
        ],
        &[
            93, 90, 50, 84, 93, 33, 30, 43, 26, 93, 90, 55, 56, 85, 93, 79, 61, 52, 93, 75, 79, 93,
            90, 86, 62, 87, 93, 90, 84, 69, 93, 33, 30, 43, 26, 7, 93,
        ],
    ),
    (
        "James's book and Chris' pen.",
        &[
            "ˈ", "d", "ʒ", "e", "ɪ", "m", "z", "ɪ", "z", " ", "ˈ", "b", "ʊ", "k", " ", "ə", "n",
            "d", " ", "ˈ", "k", "ɹ", "ɪ", "s", "'", " ", "ˈ", "p", "ɛ", "n", ".",
        ],
        &[
            93, 90, 52, 89, 53, 84, 60, 69, 84, 69, 93, 90, 51, 87, 58, 93, 79, 61, 52, 93, 90, 58,
            85, 84, 64, 2, 93, 90, 63, 81, 61, 7, 93,
        ],
    ),
    (
        "CPU's, GPU's and TPUs.",
        &[
            "ˈ", "s", "i", "ˈ", "p", "i", "ˈ", "j", "u", "z", ",", " ", "ˈ", "d", "ʒ", "i", "ˈ",
            "p", "i", "ˈ", "j", "u", "z", " ", "ə", "n", "d", " ", "T", "P", "U", "S", ".",
        ],
        &[
            93, 90, 64, 56, 90, 63, 56, 90, 57, 66, 69, 5, 93, 90, 52, 89, 56, 90, 63, 56, 90, 57,
            66, 69, 93, 79, 61, 52, 93, 41, 37, 42, 40, 7, 93,
        ],
    ),
    (
        "My mother-in-law's car.",
        &[
            "ˈ", "m", "a", "ɪ", " ", "ˈ", "m", "ʌ", "ð", "ɚ", "ɪ", "n", "ˌ", "l", "ɔ", "z", " ",
            "ˈ", "k", "ɑ", "ɹ", ".",
        ],
        &[
            93, 90, 60, 50, 84, 93, 90, 60, 88, 75, 80, 84, 61, 91, 59, 78, 69, 93, 90, 58, 77, 85,
            7, 93,
        ],
    ),
    (
        "Jack-o'-lantern season.",
        &[
            "ˈ", "d", "ʒ", "æ", "k", "-", "ˈ", "o", "ʊ", "-", "ˈ", "l", "æ", "n", "t", "ɚ", "n",
            " ", "ˈ", "s", "i", "z", "ə", "n", ".",
        ],
        &[
            93, 90, 52, 89, 74, 58, 6, 90, 62, 87, 6, 90, 59, 74, 61, 65, 80, 61, 93, 90, 64, 56,
            69, 79, 61, 7, 93,
        ],
    ),
    (
        "Café au lait and crème brûlée.",
        &[
            "k", "ə", "ˈ", "f", "e", "ɪ", " ", "ˈ", "o", "ʊ", " ", "ˈ", "l", "e", "ɪ", " ", "ə",
            "n", "d", " ", "ˈ", "k", "ɹ", "i", "m", " ", "B", "R", "U", "L", "E", "E", ".",
        ],
        &[
            93, 58, 79, 90, 54, 53, 84, 93, 90, 62, 87, 93, 90, 59, 53, 84, 93, 79, 61, 52, 93, 90,
            58, 85, 56, 60, 93, 23, 39, 42, 33, 26, 26, 7, 93,
        ],
    ),
    (
        "Ligatures like ﬁ and ﬂ.",
        &[
            "L", "I", "G", "A", "T", "U", "R", "E", "S", " ", "ˈ", "l", "a", "ɪ", "k", " ", "F",
            "I", " ", "ə", "n", "d", " ", "F", "L", ".",
        ],
        &[
            93, 33, 30, 28, 22, 41, 42, 39, 26, 40, 93, 90, 59, 50, 84, 58, 93, 27, 30, 93, 79, 61,
            52, 93, 27, 33, 7, 93,
        ],
    ),
    (
        "我爱你 means I love you.",
        &[
            "我", "爱", "你", " ", "ˈ", "m", "i", "n", "z", " ", "ˈ", "a", "ɪ", " ", "ˈ", "l", "ʌ",
            "v", " ", "ˈ", "j", "u", ".",
        ],
        &[
            93, 93, 90, 60, 56, 61, 69, 93, 90, 50, 84, 93, 90, 59, 88, 67, 93, 90, 57, 66, 7, 93,
        ],
    ),
    (
        "The gap widened to −7.",
        &[
            "ð", "ə", " ", "ˈ", "ɡ", "æ", "p", " ", "ˈ", "w", "a", "ɪ", "d", "ə", "n", "d", " ",
            "ˈ", "t", "u", " ", "−", "7", ".",
        ],
        &[
            93, 75, 79, 93, 90, 83, 74, 63, 93, 90, 68, 50, 84, 52, 79, 61, 52, 93, 90, 65, 66, 93,
            16, 7, 93,
        ],
    ),
    (
        "Kids' toys, women's clothing.",
        &[
            "ˈ", "k", "ɪ", "d", "z", "'", " ", "ˈ", "t", "ɔ", "ɪ", "z", ",", " ", "ˈ", "w", "ɪ",
            "m", "ə", "n", "z", " ", "ˈ", "k", "l", "o", "ʊ", "ð", "ɪ", "ŋ", ".",
        ],
        &[
            93, 90, 58, 84, 52, 69, 2, 93, 90, 65, 78, 84, 69, 5, 93, 90, 68, 84, 60, 79, 61, 69,
            93, 90, 58, 59, 62, 87, 75, 84, 76, 7, 93,
        ],
    ),
    ("“”", &["\"", "\""], &[93, 1, 1, 93]),
    (
        "Pre- and post-war eras.",
        &[
            "ˈ", "p", "ɹ", "i", "-", " ", "ə", "n", "d", " ", "ˈ", "p", "o", "ʊ", "s", "t", "-",
            "ˈ", "w", "ɔ", "ɹ", " ", "ˈ", "ɪ", "ɹ", "ə", "z", ".",
        ],
        &[
            93, 90, 63, 85, 56, 6, 93, 79, 61, 52, 93, 90, 63, 62, 87, 64, 65, 6, 90, 68, 78, 85,
            93, 90, 84, 85, 79, 69, 7, 93,
        ],
    ),
    (
        "Well… I don't know.",
        &[
            "ˈ", "w", "ɛ", "l", "…", " ", "ˈ", "a", "ɪ", " ", "ˈ", "d", "o", "ʊ", "n", "t", " ",
            "ˈ", "n", "o", "ʊ", ".",
        ],
        &[
            93, 90, 68, 81, 59, 93, 90, 50, 84, 93, 90, 52, 62, 87, 61, 65, 93, 90, 61, 62, 87, 7,
            93,
        ],
    ),
    (
        "Reading is in England; I like reading.",
        &[
            "R", "E", "A", "D", "I", "N", "G", " ", "ˈ", "ɪ", "z", " ", "ɪ", "n", " ", "ˈ", "ɪ",
            "ŋ", "ɡ", "l", "ə", "n", "d", ";", " ", "ˈ", "a", "ɪ", " ", "ˈ", "l", "a", "ɪ", "k",
            " ", "R", "E", "A", "D", "I", "N", "G", ".",
        ],
        &[
            93, 39, 26, 22, 25, 30, 35, 28, 93, 90, 84, 69, 93, 84, 61, 93, 90, 84, 76, 83, 59, 79,
            61, 52, 20, 93, 90, 50, 84, 93, 90, 59, 50, 84, 58, 93, 39, 26, 22, 25, 30, 35, 28, 7,
            93,
        ],
    ),
    (
        "Cyrillic А looks like Latin A.",
        &[
            "s", "ɚ", "ˈ", "ɪ", "l", "ɪ", "k", " ", "А", " ", "ˈ", "l", "ʊ", "k", "s", " ", "ˈ",
            "l", "a", "ɪ", "k", " ", "ˈ", "l", "æ", "t", "ə", "n", " ", "ˈ", "e", "ɪ", ".",
        ],
        &[
            93, 64, 80, 90, 84, 59, 84, 58, 93, 93, 90, 59, 87, 58, 64, 93, 90, 59, 50, 84, 58, 93,
            90, 59, 74, 65, 79, 61, 93, 90, 53, 84, 7, 93,
        ],
    ),
    (
        "Form W-two and one thousand ninety nine-MISC.",
        &[
            "ˈ", "f", "ɔ", "ɹ", "m", " ", "ˈ", "d", "ʌ", "b", "ə", "l", "j", "u", "-", "ˈ", "t",
            "u", " ", "ə", "n", "d", " ", "ˈ", "w", "ʌ", "n", " ", "ˈ", "θ", "a", "ʊ", "z", "ə",
            "n", "d", " ", "ˈ", "n", "a", "ɪ", "n", "t", "i", " ", "ˈ", "n", "a", "ɪ", "n", "-",
            "M", "I", "S", "C", ".",
        ],
        &[
            93, 90, 54, 78, 85, 60, 93, 90, 52, 88, 51, 79, 59, 57, 66, 6, 90, 65, 66, 93, 79, 61,
            52, 93, 90, 68, 88, 61, 93, 90, 92, 50, 87, 69, 79, 61, 52, 93, 90, 61, 50, 84, 61, 65,
            56, 93, 90, 61, 50, 84, 61, 6, 34, 30, 40, 24, 7, 93,
        ],
    ),
];

fn arpabet() -> NemoTokenizer {
    NemoTokenizer::new(NemoKind::Arpabet, None, None).expect("default ARPAbet tokenizer")
}

fn ipa() -> NemoTokenizer {
    NemoTokenizer::new(NemoKind::Ipa, None, None).expect("default IPA tokenizer")
}

fn check(tok: &NemoTokenizer, text: &str, g2p: &[&str], ids: &[i64]) {
    assert_eq!(tok.g2p(text), g2p, "g2p of {text:?}");
    assert_eq!(tok.encode(text), ids, "ids of {text:?}");
}

#[test]
fn golden_records() {
    let (a, i) = (arpabet(), ipa());
    for &(text, g2p, ids) in ARPABET_GOLDEN {
        check(&a, text, g2p, ids);
    }
    for &(text, g2p, ids) in IPA_GOLDEN {
        check(&i, text, g2p, ids);
    }
}

#[test]
fn vocabularies() {
    let a = arpabet();
    assert_eq!(a.vocab().len(), 114);
    assert_eq!((a.space_id(), a.pad_id(), a.oov_id()), (0, 112, 113));
    assert_eq!(&a.vocab()[..3], [" ", "B", "CH"]);
    assert_eq!(a.vocab()[25], "AA0");
    assert_eq!(a.vocab()[96], "'");
    let i = ipa();
    assert_eq!(i.vocab().len(), 96);
    assert_eq!((i.space_id(), i.pad_id(), i.oov_id()), (93, 94, 95));
    assert_eq!(i.vocab()[0], "!");
    assert_eq!(i.vocab()[72], "À");
    assert_eq!(i.vocab()[90], "ˈ");
}

#[test]
fn heteronyms_and_case() {
    // "read" is a heteronym: kept as letters whatever its case; "Book" is looked up lower-cased.
    check(
        &arpabet(),
        "READ the Book",
        &["r", "e", "a", "d", " ", "t", "h", "e", " ", "B", "UH1", "K"],
        &[0, 87, 74, 70, 73, 0, 89, 77, 74, 0, 1, 65, 9, 0],
    );
    // IPA keeps graphemes upper-case and uses the first pronunciation of ambiguous words.
    check(
        &ipa(),
        "READ the Book",
        &["R", "E", "A", "D", " ", "ð", "ə", " ", "ˈ", "b", "ʊ", "k"],
        &[93, 39, 26, 22, 25, 93, 75, 79, 93, 90, 51, 87, 58, 93],
    );
}

#[test]
fn possessive_and_plural_suffixes() {
    let text = "test's cat's jones's airports dogs";
    check(
        &arpabet(),
        text,
        &[
            "T", "EH1", "S", "T", "S", " ", "K", "AE1", "T", "S", " ", "JH", "OW1", "N", "Z",
            "IH0", "Z", " ", "EH1", "R", "P", "AO2", "R", "T", "S", " ", "d", "o", "g", "s",
        ],
        &[
            0, 18, 44, 16, 18, 16, 0, 9, 29, 18, 16, 0, 8, 59, 12, 23, 52, 23, 0, 44, 15, 14, 36,
            15, 18, 16, 0, 73, 84, 76, 88, 0,
        ],
    );
    check(
        &ipa(),
        text,
        &[
            "ˈ", "t", "ɛ", "s", "t", "s", " ", "ˈ", "k", "æ", "t", "s", " ", "ˈ", "d", "ʒ", "o",
            "ʊ", "n", "z", "ɪ", "z", " ", "ˈ", "ɛ", "ɹ", "ˌ", "p", "ɔ", "ɹ", "t", "s", " ", "ˈ",
            "d", "ɑ", "ɡ", "z",
        ],
        &[
            93, 90, 65, 81, 64, 65, 64, 93, 90, 58, 74, 65, 64, 93, 90, 52, 89, 62, 87, 61, 69, 84,
            69, 93, 90, 81, 85, 91, 63, 78, 85, 65, 64, 93, 90, 52, 77, 83, 69, 93,
        ],
    );
}

#[test]
fn hyphenated_out_of_vocabulary_words() {
    // Not in the dictionary as a whole, so each part is looked up; the OOV part stays as letters.
    check(
        &arpabet(),
        "zzyzxq-the",
        &["z", "z", "y", "z", "x", "q", "-", "t", "h", "e"],
        &[0, 95, 95, 94, 95, 93, 86, 101, 89, 77, 74, 0],
    );
    check(
        &ipa(),
        "zzyzxq-the",
        &["Z", "Z", "Y", "Z", "X", "Q", "-", "ð", "ə"],
        &[93, 47, 47, 46, 47, 45, 38, 6, 75, 79, 93],
    );
}

#[test]
fn spaces_digits_and_punctuation() {
    // ARPAbet never starts with or repeats a space; IPA adds every space (then trims the end).
    check(
        &arpabet(),
        "  a  b  ",
        &[" ", " ", "a", " ", " ", "B", "IY1", " ", " "],
        &[0, 70, 0, 1, 56, 0],
    );
    check(
        &ipa(),
        "  a  b  ",
        &[" ", " ", "ˈ", "e", "ɪ", " ", " ", "ˈ", "b", "i", " ", " "],
        &[93, 93, 93, 90, 53, 84, 93, 93, 90, 51, 56, 93],
    );
    // Digits are dropped by the ARPAbet tokenizer but are IPA graphemes.
    check(&arpabet(), "1-2", &["1", "-", "2"], &[0, 101, 0]);
    check(&ipa(), "1-2", &["1", "-", "2"], &[93, 10, 6, 11, 93]);
    // Empty input is just the padding.
    assert_eq!(arpabet().encode(""), [0, 0]);
    assert_eq!(ipa().encode(""), [93, 93]);
    assert!(ipa().g2p("").is_empty());
    // NeMo's IPATokenizer raises IndexError here; we return the empty encoding.
    assert_eq!(ipa().encode("   "), [93, 93]);
}

#[test]
fn verbatim_groups() {
    check(
        &arpabet(),
        "|EY1 B <pad> x| hi |",
        &["EY1", "B", "<pad>", "x", " ", "HH", "AY1", " "],
        &[0, 50, 1, 93, 0, 7, 41, 0],
    );
    // IPATokenizer accepts any vocabulary member, even <pad>.
    check(
        &ipa(),
        "|EY1 B <pad> x| hi |",
        &["EY1", "B", "<pad>", "x", " ", "ˈ", "h", "a", "ɪ", " "],
        &[93, 23, 94, 93, 90, 55, 50, 84, 93],
    );
}

#[test]
fn non_latin_characters() {
    // Python's str.upper() maps ß to SS, ﬁ to FI and dotless ı to I before the IPA lookup.
    check(
        &arpabet(),
        "straße ﬁ ı",
        &["s", "t", "r", "a", "ß", "IY1", " ", "ﬁ", " ", "ı"],
        &[0, 88, 89, 87, 70, 56, 0],
    );
    check(
        &ipa(),
        "straße ﬁ ı",
        &[
            "S", "T", "R", "A", "ˈ", "ɛ", "s", "z", "ˈ", "i", " ", "F", "I", " ", "I",
        ],
        &[
            93, 40, 41, 39, 22, 90, 81, 64, 69, 90, 56, 93, 27, 30, 93, 30, 93,
        ],
    );
    // Å (angstrom sign) decomposes to A + ring; ǅ has no canonical decomposition.
    check(&arpabet(), "ǅ Å", &["ǅ", " ", "a"], &[0, 70, 0]);
    check(
        &ipa(),
        "ǅ Å",
        &["Ǆ", " ", "ˈ", "e", "ɪ"],
        &[93, 93, 90, 53, 84, 93],
    );
}

#[test]
fn defaults_are_shared_and_thread_safe() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<NemoTokenizer>();
    let (a, b) = (arpabet(), arpabet());
    assert!(Arc::ptr_eq(&a.model, &b.model));
    assert!(Arc::ptr_eq(&a.heteronyms, &b.heteronyms));
    assert!(a.model.lexicon.len() > 120_000);
    assert!(ipa().model.lexicon.len() > 120_000);
}

#[test]
fn user_files() {
    let dir = std::env::temp_dir().join(format!("textfront-nemo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dict = dir.join("dict.txt");
    let het = dir.join("het.txt");
    std::fs::write(
        &dict,
        "HELLO  HH AH0 L OW1\nWORLD  W ER1 L D\nWORLD(2)  W AO1 L D\n",
    )
    .unwrap();
    std::fs::write(&het, "hello\n").unwrap();
    let tok = NemoTokenizer::new(NemoKind::Arpabet, Some(&dict), None).unwrap();
    // Ambiguous words stay letters in the ARPAbet flavor.
    assert_eq!(
        tok.g2p("Hello world"),
        ["HH", "AH0", "L", "OW1", " ", "w", "o", "r", "l", "d"]
    );
    let tok = NemoTokenizer::new(NemoKind::Arpabet, Some(&dict), Some(&het)).unwrap();
    assert_eq!(tok.g2p("Hello"), ["h", "e", "l", "l", "o"]);

    std::fs::write(&dict, "HELLO  həˈloʊ\nWorld  ˈwɝld\n").unwrap();
    let tok = NemoTokenizer::new(NemoKind::Ipa, Some(&dict), Some(&het)).unwrap();
    assert_eq!(
        tok.g2p("hello world"),
        ["H", "E", "L", "L", "O", " ", "ˈ", "w", "ɝ", "l", "d"]
    );
    let expected: Vec<&str> = vec![
        "!", "\"", "'", "(", ")", ",", "-", ".", "/", ":", ";", "?", "D", "E", "H", "L", "O", "R",
        "W", "[", "]", "d", "h", "l", "o", "w", "{", "}", "ə", "ɝ", "ʊ", "ˈ", " ", "<pad>",
        "<oov>",
    ];
    assert_eq!(tok.vocab(), expected);

    let missing = dir.join("missing.txt");
    let err = NemoTokenizer::new(NemoKind::Ipa, Some(&missing), None).unwrap_err();
    assert!(matches!(err, Error::Dictionary { ref path, .. } if path == &missing));
    std::fs::write(&dict, ";;; empty\n").unwrap();
    assert!(matches!(
        NemoTokenizer::new(NemoKind::Ipa, Some(&dict), None),
        Err(Error::Dictionary { .. })
    ));
    std::fs::write(&dict, "HELLO HH AH0\n").unwrap();
    assert!(matches!(
        NemoTokenizer::new(NemoKind::Arpabet, Some(&dict), None),
        Err(Error::Dictionary { .. })
    ));
    std::fs::write(&het, b"caf\xe9\n").unwrap();
    assert!(NemoTokenizer::new(NemoKind::Arpabet, None, Some(&het)).is_ok());
    assert!(NemoTokenizer::new(NemoKind::Ipa, None, Some(&het)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

mod prop {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn tokenizers() -> &'static [NemoTokenizer; 2] {
        static T: OnceLock<[NemoTokenizer; 2]> = OnceLock::new();
        T.get_or_init(|| [arpabet(), ipa()])
    }

    fn check_any(text: &str) {
        for tok in tokenizers() {
            let ids = tok.encode(text);
            let n = tok.vocab().len() as i64;
            assert!(ids.len() >= 2);
            assert!(ids.iter().all(|&i| (0..n).contains(&i)));
            assert_eq!(ids[0], tok.space_id());
            assert_eq!(ids[ids.len() - 1], tok.space_id());
            let _ = tok.g2p(text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_on_any_unicode(text in any::<String>()) {
            check_any(&text);
        }

        #[test]
        fn never_panics_on_word_like_text(
            text in "[a-zA-Z'\\-| ,.0-9ßéﬁı\u{301}\u{2019}\u{201c}中😀]{0,40}"
        ) {
            check_any(&text);
        }
    }
}
