"""How long the editor's preview takes after an edit, at proxy resolution.

    QT_QPA_PLATFORM=offscreen python -m colormotion.editor.bench_preview [--model PATH] [--edits 12]

Opens the sample clip (1080p) in the editor, moves a hint `--edits` times on one frame (each a
new edit, waiting for its preview), then steps to new frames, and prints the median time from
the edit to its draft (the frame alone) and to the exact frame on screen, and from a step to a
new frame to its preview (target: about 100 ms from an edit to what the screen shows).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qtpy import QtWidgets


def _wait(app, window, generation_before) -> float:
    deadline = time.monotonic() + 60
    while window.last_preview_ms == generation_before and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.001)
    return window.last_preview_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model")
    parser.add_argument("--edits", type=int, default=12)
    args = parser.parse_args(argv)
    from ..cli.sample import write_sample_clip
    from .document import HintDocument
    from .preview import ProxyRenderer
    from .window import EditorWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="colormotion-preview-") as scratch:
        clip = Path(scratch) / "clip.mp4"
        write_sample_clip(clip, 48, 1920, 1080)
        window = EditorWindow(ProxyRenderer(clip, model=args.model), HintDocument(), str(clip), args.model)
        window.show()
        window.set_frame(24)
        _wait(app, window, None)
        hint = window.document.add_hint(24, 0.5, 0.5, "#c04040", radius=0.05)
        window.refresh()
        _wait(app, window, window.last_preview_ms)
        edits, drafts, frames = [], [], []
        for i in range(args.edits):
            before = window.last_preview_ms
            window._edit(window.document.move, hint, 24, 0.3 + 0.03 * i, 0.5)
            edits.append(_wait(app, window, before))
            drafts.append(window.last_draft_ms)
        for frame in range(25, 25 + args.edits):
            before = window.last_preview_ms
            window.set_frame(frame)
            frames.append(_wait(app, window, before))
        print(f"model {args.model or 'bundled'}; proxy short side {window.renderer.proxy_short_side}")
        print(f"edit -> draft: median {statistics.median(drafts):.0f} ms over {len(drafts)} edits")
        print(f"edit -> exact frame: median {statistics.median(edits):.0f} ms over {len(edits)} edits")
        print(f"next frame -> preview: median {statistics.median(frames):.0f} ms over {len(frames)} frames")
        window.document = HintDocument()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
