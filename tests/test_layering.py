"""The package's layering (docs/architecture.md), as import-linter contracts in pyproject.toml:
entry points -> engine -> backends / model loading -> checkpoints -> voices -> models; backends
independent of each other; the server reaches the models only through the engine."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.fail("lint-imports is missing: the test extra installs import-linter")
    result = subprocess.run([lint, "--no-cache"], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    # Every contract ran (a contract dropped from the configuration would pass silently).
    assert "Contracts: 4 kept, 0 broken." in result.stdout
