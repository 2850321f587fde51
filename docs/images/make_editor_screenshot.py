"""A screenshot of the hint editor (`colormotion edit`) on a real X server, for the README.

    xvfb-run -a python docs/images/make_editor_screenshot.py [OUT.png]

Opens the sample clip with three hints (one keyed twice) in the editor, waits for the preview of
frame 30, and saves the window as drawn by the X server (Qt's xcb platform, not offscreen).
With no argument it rewrites docs/images/editor.png and records the model in editor.json;
tests/test_editor_screenshot.py makes a fresh one under Xvfb and compares the two.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "plugin"))
os.environ.setdefault("QT_QPA_PLATFORM", "xcb")

from colormotion.cli.sample import write_sample_clip  # noqa: E402
from colormotion.editor.document import HintDocument  # noqa: E402
from colormotion.editor.preview import ProxyRenderer  # noqa: E402
from colormotion.model import default_model_path, load_model  # noqa: E402
from qtpy import QtWidgets  # noqa: E402

PICTURE = HERE / "editor.png"
RECORD = HERE / "editor.json"
FRAME = 30
SIZE = (1100, 640)


def hints() -> HintDocument:
    document = HintDocument()
    sky = document.add_hint(20, 0.5, 0.12, "#6f9fe0", radius=0.06)
    coat = document.add_hint(20, 0.32, 0.62, "#b03a2e", radius=0.04)
    document.move(coat, 40, 0.4, 0.6)
    document.add_hint(30, 0.75, 0.8, "#3f8f4a", radius=0.05)
    document.set_radius(sky, 0.07)
    return document


def screenshot(out: Path) -> None:
    from colormotion.editor.window import EditorWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="colormotion-shot-") as scratch:
        clip = Path(scratch) / "clip.mp4"
        write_sample_clip(clip, 48, 480, 270)
        window = EditorWindow(ProxyRenderer(clip), hints(), str(clip))
        window.resize(*SIZE)
        window.show()
        window.set_frame(FRAME)
        window._select("hint2")
        deadline = time.monotonic() + 120
        while (window.view.colour is None or window.last_preview_ms is None) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        if window.view.colour is None:
            raise RuntimeError("the preview did not arrive")
        window.statusBar().clearMessage()  # it shows the preview's time: not a picture to compare
        app.processEvents()
        if not window.grab().save(str(out)):
            raise RuntimeError(f"cannot write {out}")
        window.document = HintDocument()  # close without the unsaved-changes question
        window.close()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else PICTURE
    screenshot(out)
    if not argv:
        model = default_model_path()
        RECORD.write_text(
            json.dumps({"model": model.name, "model_sha256": load_model(model).sha256}, indent=1) + "\n"
        )
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
