"""Behaviour of the public TextFrontend API: shapes, batching, errors on bad input, custom files."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastpitch_tpu
from fastpitch_tpu import (
    DictionaryError,
    InvalidTextError,
    InvalidTokenIdsError,
    TextFrontend,
    UnknownFlavorError,
)

FLAVORS = list(fastpitch_tpu.FLAVORS)
SENTENCES = [
    "Printing, in the only sense with which we are at present concerned.",
    "Dr. Smith paid $5.50 on March 3rd, 1999.",
    "",
    "The NASA launch at 10:30 a.m. was a success!",
]


@pytest.fixture(scope="module", params=FLAVORS)
def fe(request: pytest.FixtureRequest) -> TextFrontend:
    return TextFrontend(request.param)


def _encode(fe: TextFrontend, text: str) -> np.ndarray:
    ids = fe.encode(text)
    assert ids.tolist() == fe.encode(fe.normalize(text), normalize=False).tolist()
    return ids


def test_flavors_listed() -> None:
    assert FLAVORS == ["dle_chars", "dle_arpabet", "nemo_arpabet", "nemo_ipa"]
    assert TextFrontend().flavor == "nemo_arpabet"


def test_encode_returns_int64_vector_within_vocab(fe: TextFrontend) -> None:
    ids = _encode(fe, SENTENCES[0])
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int64 and ids.ndim == 1
    assert len(ids) > 10 and ids.min() >= 0 and ids.max() < len(fe.vocab)


def test_batch_equals_single_and_is_padded(fe: TextFrontend) -> None:
    normalize = True
    batch, lengths = fe.encode_batch(SENTENCES, normalize=normalize)
    assert batch.dtype == np.int64 and lengths.dtype == np.int64
    assert batch.shape == (len(SENTENCES), int(lengths.max()))
    for row, n, text in zip(batch, lengths, SENTENCES):
        assert row[:n].tolist() == _encode(fe, text).tolist()
        assert (row[n:] == fe.pad_id).all()
    padded, _ = fe.encode_batch(SENTENCES, normalize=normalize, pad_to=400)
    assert padded.shape == (len(SENTENCES), 400)


def test_batch_never_truncates(fe: TextFrontend) -> None:
    with pytest.raises(InvalidTextError, match="pad_to=3"):
        fe.encode_batch(["a much longer sentence than three tokens"], normalize=False, pad_to=3)


def test_batch_error_names_the_bad_text(fe: TextFrontend) -> None:
    with pytest.raises(InvalidTextError, match=r"texts\[1\]"):
        fe.encode_batch(["fine", "bad \ud800 surrogate"], normalize=False)
    with pytest.raises(TypeError):
        fe.encode_batch("not a list")  # type: ignore[arg-type]
    batch, lengths = fe.encode_batch([], normalize=False)
    assert batch.shape == (0, 0) and lengths.shape == (0,)


def test_decode_round_trip(fe: TextFrontend) -> None:
    ids = fe.encode("hello world, again!", normalize=False)
    text = fe.decode(ids)
    assert fe.decode(ids.tolist()) == text
    if fe.flavor == "dle_chars":
        assert text == "hello world, again!"
    with pytest.raises(InvalidTokenIdsError, match="outside the vocabulary"):
        fe.decode([len(fe.vocab)])
    with pytest.raises(InvalidTokenIdsError):
        fe.decode([-1])


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\t\n\r\x0b\x0c", "\x00\x01\x1f\x7f", "🎉🚀 emoji only", "中文字符 and Latin",
     "\u200b\u2028\u2029\u0085", "ﬁ ﬂ Ⅻ ½ ² ℃", "!!!???...,,,;;;", "a" * 5000, "9" * 5000,
     "e\u0301 combining", "Ωμέγα Кириллица עברית العربية"],
)
def test_any_text_gives_a_result(fe: TextFrontend, text: str) -> None:
    ids = _encode(fe, text)
    assert ids.dtype == np.int64
    assert ((ids >= 0) & (ids < len(fe.vocab))).all()


def test_one_megabyte_input(fe: TextFrontend) -> None:
    text = ("The 3rd of May, 1999: Dr. Who paid $1,234.56 for 12 GB of RAM. " * 17000)[: 1 << 20]
    ids = _encode(fe, text)
    assert len(ids) > 100_000


def test_lone_surrogate_is_a_clear_value_error(fe: TextFrontend) -> None:
    with pytest.raises(InvalidTextError, match="surrogate") as info:
        fe.encode("abc \udcff def")
    assert isinstance(info.value, ValueError)


def test_non_str_is_a_type_error(fe: TextFrontend) -> None:
    with pytest.raises(TypeError, match="must be str"):
        fe.encode(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fe.encode(None)  # type: ignore[arg-type]


def test_oversized_input_is_rejected_not_truncated() -> None:
    fe = TextFrontend("dle_chars")
    with pytest.raises(InvalidTextError, match="split it into sentences"):
        fe.encode("a" * (fastpitch_tpu.MAX_INPUT_BYTES + 1))


def test_unknown_flavor() -> None:
    with pytest.raises(UnknownFlavorError, match='"espeak".*nemo_ipa') as info:
        TextFrontend("espeak")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("flavor", ["dle_arpabet", "nemo_arpabet", "nemo_ipa"])
def test_missing_dictionary_names_path_and_reason(flavor: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.dict"
    with pytest.raises(DictionaryError, match="nope.dict") as info:
        TextFrontend(flavor, dictionary=missing)
    assert isinstance(info.value, OSError)
    assert "No such file" in str(info.value) or "not found" in str(info.value)
    with pytest.raises(DictionaryError, match="nope.dict"):
        TextFrontend(flavor, heteronyms=missing)


def test_directory_as_dictionary_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DictionaryError, match=str(tmp_path)):
        TextFrontend("nemo_arpabet", dictionary=tmp_path)


@pytest.mark.parametrize("flavor", ["nemo_arpabet", "nemo_ipa"])
def test_nemo_normalization(flavor: str) -> None:
    fe = TextFrontend(flavor)
    assert fe.normalize("Mr. Smith paid $5 on Jan. 3rd.") == "mister Smith paid five dollars on january third."
    assert fe.encode("Mr. Smith.").tolist() == fe.encode("mister Smith.", normalize=False).tolist()


def test_custom_arpabet_dictionary(tmp_path: Path) -> None:
    custom = tmp_path / "my.dict"
    custom.write_text("HELLO  HH AH0 L OW1\nZORBLAX  Z AO1 R B L AE2 K S\n", encoding="latin-1")
    fe = TextFrontend("nemo_arpabet", dictionary=custom)
    tokens = [fe.vocab[i] for i in fe.encode("zorblax", normalize=False)]
    # NeMo pads the sequence with a space on both sides (pad_with_space=True).
    assert tokens == [" ", "Z", "AO1", "R", "B", "L", "AE2", "K", "S", " "]
    default = TextFrontend("nemo_arpabet")
    assert [default.vocab[i] for i in default.encode("zorblax", normalize=False)] == [" ", *"zorblax", " "]


def test_custom_dle_dictionary(tmp_path: Path) -> None:
    custom = tmp_path / "cmu.dict"
    custom.write_text("ZORBLAX  Z AO1 R B L AE2 K S\n", encoding="latin-1")
    fe = TextFrontend("dle_arpabet", dictionary=custom)
    assert fe.arpabet_text("Zorblax!") == "{Z AO1 R B L AE2 K S}!"


def test_threads_share_one_frontend() -> None:
    fe = TextFrontend("dle_arpabet")
    expected = [fe.encode(t).tolist() for t in SENTENCES]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                assert [fe.encode(t).tolist() for t in SENTENCES] == expected
        except BaseException as e:  # noqa: BLE001 - collected and re-raised below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_split_sentences() -> None:
    fe = TextFrontend("dle_chars")
    text = "Mr. Smith arrived at 5 p.m. today. Was it late? Yes!"
    assert fe.split_sentences(text) == ["Mr. Smith arrived at 5 p.m. today.", "Was it late?", "Yes!"]
    assert fastpitch_tpu.split_sentences(text) == fe.split_sentences(text)
    assert all(len(p) <= 10 for p in fastpitch_tpu.split_sentences(text, max_chars=10))
    assert fastpitch_tpu.split_sentences("  ") == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_property_any_unicode_encodes_within_vocab(text: str) -> None:
    for flavor in FLAVORS:
        fe = _FRONTENDS[flavor]
        ids = fe.encode(text)
        assert ((ids >= 0) & (ids < len(fe.vocab))).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=12))
def test_property_batch_matches_single(texts: list[str]) -> None:
    fe = _FRONTENDS["dle_arpabet"]
    clean = [t for t in texts if not any(0xD800 <= ord(c) < 0xE000 for c in t)]
    batch, lengths = fe.encode_batch(clean)
    for row, n, t in zip(batch, lengths, clean):
        assert row[:n].tolist() == fe.encode(t).tolist()


_FRONTENDS = {f: TextFrontend(f) for f in FLAVORS}
