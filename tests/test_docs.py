"""The README's pictures are made by the shipped model (their scripts in docs/images record it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "picture, remake",
    [
        ("before_after", "python docs/images/make_before_after.py"),
        ("editor", "xvfb-run -a python docs/images/make_editor_screenshot.py"),
    ],
)
def test_the_readme_pictures_were_made_with_the_shipped_model(picture, remake):
    record = json.loads((REPO / "docs" / "images" / f"{picture}.json").read_text())
    sums = dict(
        reversed(line.split(maxsplit=1))
        for line in (REPO / "models" / "SHA256SUMS").read_text().splitlines()
        if line
    )
    shipped = sums[record["model"]]
    assert record["model_sha256"] == shipped, f"run {remake}"
    assert f"docs/images/{picture}.png" in (REPO / "README.md").read_text()
