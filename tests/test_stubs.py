"""The typing stub of the native module matches what the module exports."""

from __future__ import annotations

import ast
from pathlib import Path

import fastpitch_tpu
from fastpitch_tpu import _textfront


def test_stub_names_match_runtime() -> None:
    stub = Path(fastpitch_tpu.__file__).with_name("_textfront.pyi")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    stub_names = {
        n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))
    } | {n.target.id for n in tree.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    runtime = {n for n in dir(_textfront) if not n.startswith("__") or n == "__version__"}
    assert stub_names == runtime
    assert (Path(fastpitch_tpu.__file__).parent / "py.typed").exists()


def test_exception_hierarchy() -> None:
    assert issubclass(fastpitch_tpu.UnknownFlavorError, ValueError)
    assert issubclass(fastpitch_tpu.InvalidTextError, ValueError)
    assert issubclass(fastpitch_tpu.TextNormalizationError, ValueError)
    assert issubclass(fastpitch_tpu.InvalidTokenIdsError, ValueError)
    assert issubclass(fastpitch_tpu.DictionaryError, OSError)
    assert issubclass(fastpitch_tpu.InternalError, RuntimeError)


def test_data_licences_ship_with_the_package() -> None:
    notices = Path(fastpitch_tpu.__file__).with_name("DATA_LICENSES.md").read_text(encoding="utf-8")
    assert "Carnegie Mellon University" in notices
    for name in ("cmudict-0.7b", "cmudict-0.7b_nv22.10", "ipa_cmudict-0.7b_nv23.01.txt", "heteronyms-052722"):
        assert name in notices
