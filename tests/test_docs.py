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
    from colormotion.model import default_model_path, load_model

    record = json.loads((REPO / "docs" / "images" / f"{picture}.json").read_text())
    shipped = default_model_path()
    assert shipped.parent == REPO / "models", "run the tests without COLORMOTION_MODEL(_DIR)"
    assert record["model"] == shipped.name, f"run {remake}"
    assert record["model_sha256"] == load_model(shipped).sha256, f"run {remake}"
    assert f"docs/images/{picture}.png" in (REPO / "README.md").read_text()
