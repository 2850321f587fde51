"""Reference frames: a colour image for frame r of a clip (a frame graded or painted elsewhere),
whose colours every frame of its range takes directly (`colormotion.temporal.propagate.carry`,
and the network's attention to the reference), not through a chain of the frames between.

Where a reference applies: from its frame up to the frame before the next reference, or the
explicit range `first..last` it was given. A reference of another size or aspect than the clip
is resized to the clip's working size.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from . import colour, contract


class ReferenceError(ValueError):
    """A reference that cannot be used (missing or unreadable image, bad frame or range)."""


@dataclass(frozen=True)
class ReferenceFrame:
    """A colour image for frame `frame`; `first`/`last` (inclusive) limit where it applies."""

    frame: int
    image: np.ndarray = field(repr=False, compare=False)
    name: str = ""  # the file it came from, for messages
    first: int | None = None
    last: int | None = None
    fingerprint: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.first is not None and self.last is not None and self.last < self.first:
            raise ReferenceError(
                f"reference {self.name or self.frame}: range {self.first}..{self.last} ends before it starts"
            )
        if not self.fingerprint:
            from .temporal.cache import digest

            object.__setattr__(
                self, "fingerprint", digest("reference", self.frame, self.first, self.last, self.image)
            )


def read_reference(
    path: str | Path, frame: int, first: int | None = None, last: int | None = None
) -> ReferenceFrame:
    """A reference from an image file (any format the CLI reads), checked at once."""
    from .io.sequence import read_image

    path = Path(path)
    if not path.is_file():
        raise ReferenceError(f"reference image {str(path)!r} does not exist")
    try:
        pixels, _ = read_image(path)
    except Exception as error:  # OpenImageIO's and the format's errors alike
        reason = getattr(error, "message", error)  # a MediaError's text without its path: named here
        raise ReferenceError(f"reference image {str(path)!r} cannot be read: {reason}") from None
    return ReferenceFrame(int(frame), np.ascontiguousarray(pixels), str(path), first, last)


def parse_reference_argument(text: str) -> tuple[int, str]:
    """'FRAME=IMAGE' (the CLI's --reference) -> (frame, path)."""
    frame, separator, path = text.partition("=")
    if not separator or not path:
        raise ValueError(f"expected FRAME=IMAGE (e.g. 1=graded.png), got {text!r}")
    try:
        return int(frame), path
    except ValueError:
        raise ValueError(f"the frame of --reference must be a whole number, got {frame!r}") from None


def ranges(references: Sequence[ReferenceFrame]) -> list[tuple[ReferenceFrame, int, float]]:
    """(reference, first, last) of each reference: explicit, else its frame to the next one's."""
    ordered = sorted(references, key=lambda r: (r.frame, r.fingerprint))
    result = []
    for i, reference in enumerate(ordered):
        following = [r.frame for r in ordered[i + 1 :] if r.frame > reference.frame]
        default_last = following[0] - 1 if following else float("inf")
        first = reference.first if reference.first is not None else reference.frame
        last = reference.last if reference.last is not None else default_last
        result.append((reference, first, last))
    return result


def applicable(references: Sequence[ReferenceFrame], t: int) -> list[ReferenceFrame]:
    """The references frame t takes colour from, nearest first."""
    chosen = [reference for reference, first, last in ranges(references) if first <= t <= last]
    return sorted(chosen, key=lambda r: (abs(t - r.frame), r.frame))


# The working-resolution form of a reference, per process: many frames share one reference.
_WORKING: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_WORKING_LOCK = threading.Lock()


def working_form(
    reference: ReferenceFrame, size: tuple[int, int], transfer: str
) -> tuple[np.ndarray, np.ndarray]:
    """(gray [h, w] L*/100, guide [3, h, w]) of the reference at the working size (h, w)."""
    key = (reference.fingerprint, size, transfer)
    with _WORKING_LOCK:
        found = _WORKING.get(key)
    if found is not None:
        return found
    lab = colour.to_lab(reference.image, transfer)
    height, width = size
    gray = colour.model_gray(lab, size)  # exactly as the engine makes a frame's
    small = cv2.resize(np.ascontiguousarray(lab[..., 1:]), (width, height), interpolation=cv2.INTER_AREA)
    guide = np.empty((3, height, width), np.float32)
    guide[0], guide[1] = small[..., 0] / contract.AB_SCALE, small[..., 1] / contract.AB_SCALE
    guide[2] = 1.0
    found = (gray, guide)
    with _WORKING_LOCK:
        _WORKING[key] = found
        while len(_WORKING) > 16:
            _WORKING.popitem(last=False)
    return found
