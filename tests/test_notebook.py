"""examples/quickstart.ipynb runs top to bottom with the built-in voice (CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = Path(__file__).parent.parent / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_executes(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "s of audio at 22050 Hz" in text
    assert "may third" in text.lower() and "five dollars fifty cents" in text.lower()
    # The audio players and the figure were rendered.
    rich = [o for o in outputs if o.output_type in ("display_data", "execute_result")]
    assert any("text/html" in o.data for o in rich)
    assert any("image/png" in o.data for o in rich)
