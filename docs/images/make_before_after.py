"""Regenerate before_after.png for the README from `make demo`'s output.

python docs/images/make_before_after.py [out/sample.mp4 out/sample_colour.mp4]
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np
import OpenImageIO as oiio

FRAMES = (12, 40)  # one frame from each shot of the sample clip


def frames(path: str, wanted: tuple[int, ...]) -> list[np.ndarray]:
    with av.open(path) as container:
        decoded = [
            f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(video=0)) if i in wanted
        ]
    return decoded


def main(argv: list[str]) -> None:
    before_path, after_path = argv[1:3] if len(argv) > 2 else ("out/sample.mp4", "out/sample_colour.mp4")
    rows = [np.hstack((b, a)) for b, a in zip(frames(before_path, FRAMES), frames(after_path, FRAMES))]
    picture = np.vstack(rows)
    target = Path(__file__).with_name("before_after.png")
    image = oiio.ImageBuf(picture)
    if not image.write(str(target)):
        raise SystemExit(f"could not write {target}: {image.geterror()}")
    print(f"wrote {target} ({picture.shape[1]}x{picture.shape[0]})")


if __name__ == "__main__":
    main(sys.argv)
