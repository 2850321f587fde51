"""`colormotion sample OUTPUT`: a real black-and-white test clip that needs no downloaded data.

Two public-domain photos shipped inside scikit-image, each filmed by a slow virtual camera
(pan and zoom), joined by a hard cut, then turned to grayscale: enough to see colorization,
temporal stability and a scene-cut reset.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from fractions import Fraction

import cv2
import numpy as np

from ..io.errors import UsageError
from ..io.sink import open_sink
from ..io.source import ClipInfo

FIRST_FRAME = 1
SAMPLE_FPS = Fraction(24)
# Rec. 709 luma weights: how a panchromatic film stock would see the (sRGB) photo, roughly
# a camera move takes at least this many frames (short clips get a part of it: the motion stays slow)
_SHOT_FRAMES = 30
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def frame_size(text: str) -> tuple[int, int]:
    """'WxH' -> (width, height); argparse type."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise argparse.ArgumentTypeError(f"expected WxH (e.g. 480x270), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "sample",
        help="write a black-and-white test clip (no download needed)",
        description="Write a grayscale test clip: two photos with a slow camera move and a hard cut.",
    )
    parser.add_argument("output", help="output video (.mp4 .mov .mkv) or image sequence (name.####.png)")
    parser.add_argument("--frames", type=int, default=48, metavar="N", help="number of frames (default 48)")
    parser.add_argument(
        "--size", type=frame_size, default=(480, 270), metavar="WxH", help="frame size (default 480x270)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    return parser


def _photos() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    return data.astronaut(), data.coffee()


def _camera(
    photo: np.ndarray,
    width: int,
    height: int,
    progress: float,
    zoom: tuple[float, float],
    pan: float,
    tilt: float,
) -> np.ndarray:
    """The view of a camera that zooms and pans over `photo`; progress runs 0..1 over the shot.

    pan: horizontal travel (fraction of the free margin, signed); tilt: vertical framing 0 (top) .. 1.
    """
    photo_h, photo_w = photo.shape[:2]
    # largest crop of the output's aspect ratio that fits the photo, then zoomed in
    fit = min(photo_w / width, photo_h / height)
    scale = fit / (zoom[0] + (zoom[1] - zoom[0]) * progress)
    crop_w, crop_h = width * scale, height * scale
    x0 = (photo_w - crop_w) * (0.5 + pan * (progress - 0.5))
    y0 = (photo_h - crop_h) * tilt
    to_photo = np.array([[scale, 0.0, x0], [0.0, scale, y0]], dtype=np.float64)
    return cv2.warpAffine(
        photo,
        to_photo,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )


def _grayscale(rgb: np.ndarray) -> np.ndarray:
    luma = rgb.astype(np.float32) @ _LUMA
    gray = np.clip(luma + 0.5, 0, 255).astype(np.uint8)
    return np.repeat(gray[:, :, None], 3, axis=2)


def sample_frames(count: int, width: int, height: int) -> Iterator[np.ndarray]:
    """`count` grayscale RGB uint8 frames: shot one (60 %), a hard cut, shot two."""
    first_photo, second_photo = _photos()
    cut = max(1, round(count * 0.6)) if count > 1 else 1
    for index in range(count):
        if index < cut:
            progress = index / max(_SHOT_FRAMES, cut - 1)
            view = _camera(first_photo, width, height, progress, zoom=(1.1, 1.35), pan=0.6, tilt=0.1)
        else:
            progress = (index - cut) / max(_SHOT_FRAMES, count - cut - 1)
            view = _camera(second_photo, width, height, progress, zoom=(1.0, 1.15), pan=-0.8, tilt=0.5)
        yield _grayscale(view)


def _synthetic_info(width: int, height: int, frames: range) -> ClipInfo:
    return ClipInfo(
        kind="synthetic",
        width=width,
        height=height,
        channels=3,
        dtype=np.dtype(np.uint8),
        fps=SAMPLE_FPS,
        first_frame=frames.start,
        last_frame=frames.stop - 1,
        files=(),
    )


def run(args: argparse.Namespace) -> int:
    if args.frames < 1:
        raise UsageError(f"--frames must be at least 1, got {args.frames}")
    width, height = args.size
    frames = range(FIRST_FRAME, FIRST_FRAME + args.frames)
    sink = open_sink(args.output, _synthetic_info(width, height, frames), frames, overwrite=args.overwrite)
    try:
        for t, frame in zip(frames, sample_frames(args.frames, width, height)):
            sink.write(t, frame)
        sink.commit()
    except BaseException:
        sink.discard()
        raise
    return 0


def write_sample_clip(path, count: int, width: int, height: int) -> None:
    """Write the sample clip to `path` (overwriting): used by `colormotion bench`."""
    frames = range(FIRST_FRAME, FIRST_FRAME + count)
    sink = open_sink(path, _synthetic_info(width, height, frames), frames, overwrite=True)
    try:
        for t, frame in zip(frames, sample_frames(count, width, height)):
            sink.write(t, frame)
        sink.commit()
    except BaseException:
        sink.discard()
        raise
