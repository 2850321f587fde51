"""Proxy-resolution previews for the hint editor: the engine on a smaller copy of the clip.

`ProxyRenderer` has no Qt: it renders frame t of a clip with a given HintSet at a proxy size
(the command line's engine and model, so the preview is what a render gives, smaller).
`PreviewWorker` runs it on a thread for a window: the latest request wins. A request that
arrives while a frame renders replaces any waiting one, and the frame in progress is dropped
when it finishes (the engine cannot stop mid-step), so the window only ever shows the newest
edit. An edit first gets a draft (the frame colorized on its own, without the temporal chain
its hints change, which takes a few model steps) and then the exact frame, unless a newer
request came meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..hints import HintSet
from ..node import ColorizeNode, StaticParams

PROXY_SHORT_SIDE = 270  # a quarter of 1080p: fast, and enough to judge colours
PREVIEW_WORKING_RESOLUTION = 256
# The node's parameters that change the look of a frame (not its speed): the preview takes the
# render's values of these, so it shows what the render will.
LOOK_PARAMS = ("strength", "vividness", "hint_spread")


class _ProxySource:
    """A clip's frames scaled to a short side (area average), under an identity of their own."""

    def __init__(self, source, short_side: int) -> None:
        self._source = source
        self.first_frame, self.last_frame = source.first_frame, source.last_frame
        self.random_access = source.random_access
        self.identity = f"proxy{short_side}:{source.identity}"
        height, width = source.info.height, source.info.width
        scale = min(1.0, short_side / min(height, width))
        self.size = (max(1, round(width * scale)), max(1, round(height * scale)))
        self._lock = threading.Lock()

    def frame(self, t: int) -> np.ndarray:
        with self._lock:  # the source decodes on one thread at a time
            pixels = self._source.frame(t)
        if (pixels.shape[1], pixels.shape[0]) == self.size:
            return pixels
        return cv2.resize(pixels, self.size, interpolation=cv2.INTER_AREA)


def to_display(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB [H, W, 3] for the screen from any frame the engine accepts."""
    if frame.ndim == 2:
        frame = frame[..., None]
    frame = frame[..., :3] if frame.shape[2] >= 3 else np.repeat(frame[..., :1], 3, axis=2)
    if frame.dtype == np.uint8:
        return np.ascontiguousarray(frame)
    if frame.dtype == np.uint16:
        return np.ascontiguousarray((frame >> 8).astype(np.uint8))
    return np.ascontiguousarray(
        (np.clip(np.nan_to_num(frame.astype(np.float32)), 0, 1) * 255 + 0.5).astype(np.uint8)
    )


class ProxyRenderer:
    def __init__(
        self,
        clip: str | Path,
        model: str | None = None,
        short_side: int = PROXY_SHORT_SIDE,
        working_resolution: int = PREVIEW_WORKING_RESOLUTION,
        look: dict | None = None,
    ) -> None:
        """`look`: values of LOOK_PARAMS (the node's, or the command line's) for the preview."""
        look = dict(look or {})
        unknown = set(look) - set(LOOK_PARAMS)
        if unknown:
            raise ValueError(f"the preview takes {', '.join(LOOK_PARAMS)}, not {', '.join(sorted(unknown))}")
        from ..io.source import open_source

        self._source = open_source(str(clip), cache_frames=20)
        self.proxy = _ProxySource(self._source, short_side)
        self.proxy_short_side = short_side
        self.full_short_side = min(self._source.info.height, self._source.info.width)
        self.first_frame, self.last_frame = self.proxy.first_frame, self.proxy.last_frame
        self._model = model
        working = min(working_resolution, _floor32(short_side))
        self.look = look
        self._params = StaticParams({**look, "working_resolution": working})
        self._draft_params = StaticParams({**look, "working_resolution": working, "stateless": True})

    def set_full_resolution(self, full: bool) -> None:
        """Preview at the clip's own size (slower: on demand) or at the proxy size. The model's
        working resolution stays: only the colour detail transfer sees more pixels."""
        self.proxy = _ProxySource(self._source, self.full_short_side if full else self.proxy_short_side)

    def full_frame(self, t: int, hints: HintSet) -> np.ndarray:
        """Frame t at the clip's own size, as a render gives it (for a reference made from it)."""
        node = ColorizeNode(model_path=self._model, hints=hints)
        return to_display(node.render(t, _ProxySource(self._source, self.full_short_side), self._params))

    def gray(self, t: int) -> np.ndarray:
        return to_display(self.proxy.frame(t))

    def colour(self, t: int, hints: HintSet, draft: bool = False) -> np.ndarray:
        """Frame t as a render gives it, or (draft) colorized on its own: no temporal chain."""
        node = ColorizeNode(model_path=self._model, hints=hints)
        return to_display(node.render(t, self.proxy, self._draft_params if draft else self._params))

    def close(self) -> None:
        self._source.close()


def _floor32(value: int) -> int:
    return max(32, value // 32 * 32)


@dataclass(frozen=True)
class Request:
    generation: int
    frame: int
    hints: HintSet
    draft_first: bool = False


class PreviewWorker:
    """Renders requests on one thread, newest first; `deliver(generation, frame, image, draft)`
    is called (on the worker thread) only for a request that is still the newest when it
    finishes, `failed(generation, message)` for one that raised. `render(frame, hints, draft)`."""

    def __init__(
        self,
        render: Callable[..., np.ndarray],
        deliver: Callable[[int, int, np.ndarray, bool], None],
        failed: Callable[[int, str], None] = lambda generation, message: None,
    ) -> None:
        self._render, self._deliver, self._failed = render, deliver, failed
        self._lock = threading.Condition()
        self._waiting: Request | None = None
        self._newest = 0
        self._stopped = False
        self.dropped = 0  # finished renders nobody wanted any more (for tests and the status bar)
        self._thread = threading.Thread(target=self._run, name="colormotion-preview", daemon=True)
        self._thread.start()

    def request(self, frame: int, hints: HintSet, draft_first: bool = False) -> int:
        with self._lock:
            self._newest += 1
            self._waiting = Request(self._newest, frame, hints, draft_first)
            self._lock.notify()
            return self._newest

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._waiting is None and not self._stopped:
                    self._lock.wait()
                if self._stopped:
                    return
                request, self._waiting = self._waiting, None
            for draft in (True, False) if request.draft_first else (False,):
                try:
                    image = self._render(request.frame, request.hints, draft)
                except Exception as error:  # shown in the window; the editor keeps working
                    self._failed(request.generation, f"{type(error).__name__}: {error}")
                    break
                with self._lock:
                    current = request.generation == self._newest
                    if not current:
                        self.dropped += 1
                if not current:
                    break
                self._deliver(request.generation, request.frame, image, draft)
