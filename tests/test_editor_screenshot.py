"""The editor in a real window under Xvfb (Qt's xcb platform): its screenshot matches the one the
README shows, within a tolerance for font rendering (tests/test_docs.py checks which model made it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "docs" / "images" / "make_editor_screenshot.py"
STORED = REPO / "docs" / "images" / "editor.png"
MEAN_TOLERANCE = 4.0  # mean |difference| over all pixels and channels, in 8-bit levels


def read_png(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return image.astype(np.int16)


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="Xvfb is not installed (Debian: xvfb)")
def test_the_editor_window_looks_as_the_readme_shows(tmp_path):
    pytest.importorskip("qtpy", reason="Qt for Python is not installed")
    fresh = tmp_path / "editor.png"
    command = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, str(SCRIPT), str(fresh)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    got, want = read_png(fresh), read_png(STORED)
    assert got.shape == want.shape
    difference = float(np.abs(got - want).mean())
    assert difference < MEAN_TOLERANCE, f"mean difference {difference:.2f}: python {SCRIPT} refreshes it"
