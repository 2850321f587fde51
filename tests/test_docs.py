"""The README's picture is made by the shipped model (docs/images/make_before_after.py records it)."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_picture_was_made_with_the_shipped_model():
    record = json.loads((REPO / "docs" / "images" / "before_after.json").read_text())
    sums = dict(
        reversed(line.split(maxsplit=1))
        for line in (REPO / "models" / "SHA256SUMS").read_text().splitlines()
        if line
    )
    shipped = sums[record["model"]]
    assert record["model_sha256"] == shipped, "run python docs/images/make_before_after.py"
    assert "docs/images/before_after.png" in (REPO / "README.md").read_text()
