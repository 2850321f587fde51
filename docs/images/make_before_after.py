"""Regenerate before_after.png for the README with the bundled model, and record which model made it.

    python docs/images/make_before_after.py

Makes the sample clip (`colormotion sample`), colorizes it with the bundled model
(`colormotion colorize`), puts one frame of each shot before/after side by side, and writes the
model's sha256 to before_after.json: tests/test_docs.py fails when it is not the shipped model's,
so the picture cannot go stale when a new model ships.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
import OpenImageIO as oiio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "plugin"))

from colormotion.cli.main import main as colormotion  # noqa: E402
from colormotion.model import default_model_path, load_model  # noqa: E402

FRAMES = (12, 40)  # one frame from each shot of the sample clip
PICTURE = HERE / "before_after.png"
RECORD = HERE / "before_after.json"


def frames(path: Path, wanted: tuple[int, ...]) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(video=0)) if i in wanted]


def main() -> int:
    model = default_model_path()
    with tempfile.TemporaryDirectory(prefix="colormotion-picture-") as scratch:
        before, after = Path(scratch) / "sample.mp4", Path(scratch) / "sample_colour.mp4"
        for command in (["sample", str(before)], ["colorize", str(before), str(after), "-q"]):
            if colormotion(command) != 0:
                return 1
        rows = [np.hstack(pair) for pair in zip(frames(before, FRAMES), frames(after, FRAMES))]
    picture = np.vstack(rows)
    image = oiio.ImageBuf(picture)
    if not image.write(str(PICTURE)):
        raise SystemExit(f"could not write {PICTURE}: {image.geterror()}")
    record = {"model": model.name, "model_sha256": load_model(model).sha256, "frames": list(FRAMES)}
    RECORD.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {PICTURE} ({picture.shape[1]}x{picture.shape[0]}) with {model.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
