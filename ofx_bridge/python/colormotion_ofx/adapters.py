"""The node's two inputs over an OpenFX instance: a FrameSource over clipGetImage and a
ParamSource over paramGetValueAtTime."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import images, params
from .host import Host, Image
from .ofx_api import ffi


def read_pixels(image: Image) -> tuple[np.ndarray, images.Rect]:
    """A top-down copy of a host image (the host may reuse its memory once released), with
    unassociated alpha: premultiplied images are divided by their alpha."""
    dtype, channels = images.pixel_format(image.depth, image.components)
    view = images.pixel_view(image.data, image.bounds, image.row_bytes, dtype, channels)
    if image.premultiplied:
        return images.unpremultiply(view), image.bounds
    # always a copy: a contiguous view would otherwise be returned as it is (dangling once released)
    return view.copy(order="C"), image.bounds


class ClipFrames:
    """FrameSource over the Source clip.

    random_access: the host serves other times (temporal clip access); frames are fetched with
    clipGetImage at those times and conformed to the current frame's bounds and format.
    Without it (MLT), the node streams and asks only for the current frame.
    """

    def __init__(
        self,
        host: Host,
        clip,
        time: int,
        current: np.ndarray,
        bounds: images.Rect,
        frame_range: tuple[int, int],
        random_access: bool,
        identity: str | None = None,
    ):
        """`identity`: a name for these frames (Instance.source_identity), or None to have the
        engine key every frame by its content."""
        self.identity = identity
        self._host = host
        self._clip = clip
        self._time = time
        self._current = current
        self._bounds = bounds
        self.first_frame = min(frame_range[0], time)
        self.last_frame = max(frame_range[1], time)
        self.random_access = random_access

    def frame(self, t: int) -> np.ndarray:
        if t == self._time or not self.random_access:
            return self._current
        image = self._host.fetch_image(self._clip, float(t))
        if image is None:
            raise ValueError(f"the host gave no source image at frame {t}")
        try:
            pixels, bounds = read_pixels(image)
        finally:
            self._host.release_image(image)
        pixels = images.convert_pixels(pixels, self._current.dtype, self._current.shape[2])
        return images.conform(pixels, bounds, self._bounds)


# Values a streaming host gave while rendering each frame (see HostParams), per process like the
# engine's states: MLT makes a fresh instance for every frame.
_VALUES_SEEN: OrderedDict[tuple[str, float], Any] = OrderedDict()
_VALUES_SEEN_LOCK = threading.Lock()
_VALUES_SEEN_MAX = 20000


class HostParams:
    """ParamSource over an instance's parameters; positions relative to `frame` (canonical).

    `streaming_time`: the frame being rendered, for hosts without temporal access. MLT's
    paramGetValueAtTime ignores the time asked for and answers the current frame's value, but the
    node asks for the hints of every earlier frame of a chain; those are answered with what the
    host gave when that frame was the current one (rendered before it, in order), so a keyframed
    slot reaches each frame's chain with its own values.
    """

    def __init__(
        self,
        host: Host,
        param_set,
        specs: Sequence,
        frame: params.Rect,
        handles: dict,
        streaming_time: float | None = None,
    ):
        self._host = host
        self._param_set = param_set
        self._specs = {spec.name: spec for spec in specs}
        self._frame = frame
        self._handles = handles  # name -> param handle, kept per instance
        self._memo: dict[tuple[str, float], Any] = {}
        self._streaming_time = streaming_time

    def _handle(self, name: str):
        handle = self._handles.get(name)
        if handle is None:
            handle = self._handles[name] = self._host.param_handle(self._param_set, name)
        return handle

    def value(self, name: str, time: float) -> Any:
        key = (name, float(time))
        if key in self._memo:
            return self._memo[key]
        spec = self._specs.get(name)
        if spec is None:
            raise KeyError(f"unknown parameter {name!r}")
        if self._streaming_time is not None and float(time) != self._streaming_time:
            with _VALUES_SEEN_LOCK:
                seen = _VALUES_SEEN.get(key, _VALUES_SEEN)
            if seen is not _VALUES_SEEN:
                self._memo[key] = seen
                return seen
        raw = self._host.param_value_at(self._handle(name), float(time), params.VALUE_CTYPES[spec.kind])
        value = params.from_ofx(spec, raw, self._frame, decode_string=_decode)
        self._memo[key] = value
        if self._streaming_time is not None and float(time) == self._streaming_time:
            with _VALUES_SEEN_LOCK:
                _VALUES_SEEN[key] = value
                _VALUES_SEEN.move_to_end(key)
                while len(_VALUES_SEEN) > _VALUES_SEEN_MAX:
                    _VALUES_SEEN.popitem(last=False)
        return value


def _decode(pointer) -> str:
    return "" if pointer == ffi.NULL else ffi.string(pointer).decode("utf-8", "replace")
