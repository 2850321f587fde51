"""Tiny synthetic clips for the engine, node and determinism tests.

Built from scikit-image photos (public domain): a slow synthetic camera move over one photo,
then a hard cut to another photo with its own slow move. Frames are gray RGB uint8.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from skimage import data


def _gray_rgb(photo: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY) if photo.ndim == 3 else photo
    return np.repeat(gray[..., None], 3, axis=2)


def camera_move(
    photo: np.ndarray, frames: int, height: int, width: int, step: float = 1.5
) -> list[np.ndarray]:
    """`frames` crops of `photo` scaled to height x width, panning right by `step` px per frame."""
    photo = _gray_rgb(photo)
    scale = 1.3 * max(height / photo.shape[0], width / photo.shape[1])
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = []
    for i in range(frames):
        shift = np.float32([[1, 0, -i * step], [0, 1, -0.3 * i * step]])
        out.append(
            cv2.warpAffine(big, shift, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        )
    return out


def cut_clip(length: int = 16, cut_at: int = 10, height: int = 64, width: int = 96) -> list[np.ndarray]:
    """astronaut for frames [0, cut_at), then a hard cut to coffee."""
    return camera_move(data.astronaut(), cut_at, height, width) + camera_move(
        data.coffee(), length - cut_at, height, width
    )


@dataclass
class ListSource:
    """A node.FrameSource over a list of frames (first frame = `first`)."""

    frames: list[np.ndarray]
    first: int = 1
    random_access: bool = True
    identity: str | None = "synthetic-clip"
    reads: list[int] = field(default_factory=list)

    @property
    def first_frame(self) -> int:
        return self.first

    @property
    def last_frame(self) -> int:
        return self.first + len(self.frames) - 1

    def frame(self, t: int) -> np.ndarray:
        if not self.first_frame <= t <= self.last_frame:
            raise IndexError(f"frame {t} outside {self.first_frame}..{self.last_frame}")
        self.reads.append(t)
        return self.frames[t - self.first]


@dataclass
class StreamingSource(ListSource):
    """Like a streaming host (MLT): only the frame being rendered may be read."""

    random_access: bool = False
    current: int | None = None

    def frame(self, t: int) -> np.ndarray:
        if self.current is not None and t != self.current:
            raise AssertionError(f"streaming source asked for frame {t} while rendering {self.current}")
        return super().frame(t)
