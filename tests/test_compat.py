"""The drop-in shims give the reference ids through the reference APIs, and decode ids back as
the references do (fixtures/compat: the references' own output, see make_decode_fixtures.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import golden_records
from fastpitch_tpu.compat import dle, nemo
from fastpitch_tpu.errors import InvalidTokenIdsError

COMPAT = Path(__file__).parent / "fixtures" / "compat"


def reference(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((COMPAT / name).read_text(encoding="utf-8"))
    return data


def ids_as_given(case: dict[str, Any]) -> Any:
    """The case's ids in the container the reference was called with."""
    if case["as"] == "numpy":
        return np.array(case["ids"], dtype=np.int64)
    if case["as"] == "torch":
        torch = pytest.importorskip("torch")
        return torch.tensor(case["ids"], dtype=torch.int64)
    return case["ids"]


@pytest.mark.parametrize("p_arpabet,flavor", [(0.0, "dle_chars"), (1.0, "dle_arpabet")])
def test_dle_text_processing_matches_reference(p_arpabet: float, flavor: str) -> None:
    tp = dle.get_text_processing("english_basic", ["english_cleaners_v2"], p_arpabet)
    for rec in golden_records(flavor, "hard") + golden_records(flavor, "dle_phrases"):
        ids, cleaned, arpabet = tp.encode_text(rec["text"], return_all=True)
        assert ids == rec["ids"], rec["text"]
        assert cleaned == rec["normalized"]
        assert arpabet == rec.get("arpabet_text", "")
        assert tp.encode_text(rec["text"]) == rec["ids"]


def test_dle_sequence_to_text() -> None:
    tp = dle.TextProcessing("english_basic", ["english_cleaners_v2"], p_arpabet=1.0)
    assert tp.sequence_to_text(tp.text_to_sequence("{HH AH0 L OW1} there")) == "{HH AH0 L OW1} there"
    assert tp.symbols[0] == "_" and len(tp.symbols) == 148


@pytest.mark.parametrize("flavor", ["dle_chars", "dle_arpabet"])
def test_dle_sequence_to_text_matches_reference_output(flavor: str) -> None:
    ref = reference("decode_dle.json")["setups"][flavor]
    tp = dle.get_text_processing("english_basic", ["english_cleaners_v2"], ref["p_arpabet"])
    assert tp.symbols == ref["symbols"]
    labels = set()
    for case in ref["cases"]:
        labels.add(case["label"])
        assert tp.sequence_to_text(ids_as_given(case)) == case["decoded"], case
        if "text" in case:
            assert tp.encode_text(case["text"]) == case["ids"], case["text"]
    assert {"sentence", "whole vocabulary", "padding (id 0) is written"} <= labels


@pytest.mark.parametrize(
    "kwargs",
    [
        {"symbol_set": "english_mandarin_basic"},
        {"cleaner_names": ["english_cleaners"]},
        {"p_arpabet": 0.5},
        {"handle_arpabet": "sentence"},
        {"expand_currency": False},
    ],
)
def test_dle_unsupported_configuration_is_refused(kwargs: dict) -> None:
    args = {"symbol_set": "english_basic", "cleaner_names": ["english_cleaners_v2"], **kwargs}
    with pytest.raises(ValueError, match="fastpitch_tpu.compat.dle supports"):
        dle.TextProcessing(**args)


@pytest.mark.parametrize(
    "cls,flavor", [(nemo.EnglishPhonemesTokenizer, "nemo_arpabet"), (nemo.IPATokenizer, "nemo_ipa")]
)
def test_nemo_tokenizer_matches_reference(cls: type, flavor: str) -> None:
    tok = cls()
    with tok.set_phone_prob(prob=1.0):
        for rec in golden_records(flavor, "hard") + golden_records(flavor, "nemo_tn_cases"):
            assert tok.encode(rec["normalized"]) == rec["ids"], rec["normalized"]
            assert tok(rec["normalized"]) == rec["ids"]
    assert tok.tokens[tok.pad] == "<pad>" and tok.tokens[tok.oov] == "<oov>" and tok.blank is None
    with pytest.raises(ValueError):
        with tok.set_phone_prob(prob=0.5):
            pass


@pytest.mark.parametrize("cls", [nemo.EnglishPhonemesTokenizer, nemo.IPATokenizer])
def test_nemo_decode_matches_reference_output(cls: type) -> None:
    ref = reference("decode_nemo.json")["tokenizers"][cls.__name__]
    tok = cls()
    assert (tok.tokens, tok.pad, tok.blank, tok.oov, tok.sep) == (
        ref["tokens"], ref["pad"], ref["blank"], ref["oov"], ref["sep"])
    labels = set()
    for case in ref["cases"]:
        labels.add(case["label"])
        ids = ids_as_given(case)
        negative = any(type(i) is int and i < 0 for i in case["ids"])
        if case.get("error") == "IndexError" or negative:
            # Ids outside the vocabulary are refused with a clear error, where NeMo fails with
            # IndexError past its end and reads a negative id from the end of its token list.
            with pytest.raises(InvalidTokenIdsError, match="outside the vocabulary"):
                tok.decode(ids)
        elif case.get("error") == "TypeError":
            with pytest.raises(TypeError, match="token ids must be integers"):
                tok.decode(ids)
        else:
            assert tok.decode(ids) == case["decoded"], case
        if "text" in case:
            assert tok.encode(case["text"]) == case["ids"], case["text"]
    assert {"sentence", "whole vocabulary", "padded batch row", "torch tensor"} <= labels


def test_nemo_patched_model_decodes_like_nemo() -> None:
    from types import SimpleNamespace

    model = nemo.patch(SimpleNamespace(vocab=None))
    ids = model.vocab.encode("hello world.")
    assert model.vocab.decode(ids) == "|".join(model.vocab.tokens[i] for i in ids)
    assert model.vocab.decode(ids).startswith(" |h|e|l|l|o| |W|ER1|")


def test_nemo_patch_swaps_normalizer_and_tokenizer() -> None:
    from types import SimpleNamespace

    class IPATokenizer:  # stands in for NeMo's class of the same name
        tokens = nemo.IPATokenizer().tokens

    model = SimpleNamespace(vocab=IPATokenizer(), normalizer=None, text_normalizer_call=None,
                            text_normalizer_call_kwargs={}, _parser=object())
    assert nemo.patch(model) is model
    assert isinstance(model.vocab, nemo.IPATokenizer)
    assert model._parser is None
    assert isinstance(model.normalizer, nemo.Normalizer)
    assert model.text_normalizer_call == model.normalizer.normalize
    assert model.text_normalizer_call_kwargs == {"punct_pre_process": True, "punct_post_process": True}

    arpabet_model = SimpleNamespace(vocab=SimpleNamespace(tokens=nemo.EnglishPhonemesTokenizer().tokens))
    assert isinstance(nemo.patch(arpabet_model).vocab, nemo.EnglishPhonemesTokenizer)

    foreign = SimpleNamespace(vocab=SimpleNamespace(tokens=["a", "b", "<pad>"]))
    with pytest.raises(ValueError, match="vocabulary"):
        nemo.patch(foreign)
    with pytest.raises(ValueError, match="flavor"):
        nemo.patch(SimpleNamespace(), flavor="dle_chars")


def test_nemo_normalizer_refuses_settings_it_does_not_reproduce() -> None:
    with pytest.raises(ValueError, match="lang"):
        nemo.Normalizer(lang="de")
    norm = nemo.Normalizer()
    with pytest.raises(ValueError, match="punct_pre_process"):
        norm.normalize("Hello.", punct_pre_process=False)


def test_nemo_parse_returns_token_tensor_like_fastpitch() -> None:
    torch = pytest.importorskip("torch")
    text = "Mr. Smith paid $5 on Jan. 3rd."
    tokens = nemo.parse(text)
    assert isinstance(tokens, torch.Tensor) and tokens.dtype == torch.int64
    assert tokens.shape[0] == 1
    tok = nemo.EnglishPhonemesTokenizer()
    expected = tok.encode(nemo.Normalizer().normalize(text, punct_pre_process=True, punct_post_process=True))
    assert tokens[0].tolist() == expected
    assert nemo.parse("mister Smith.", normalize=False)[0].tolist() == tok.encode("mister Smith.")
    assert nemo.parse(text, flavor="nemo_ipa")[0].tolist() == nemo.IPATokenizer().encode(
        "mister Smith paid five dollars on january third."
    )
