"""FrameSource adapters over clips on disk: image sequences, still images and video files.

Frame numbers: a sequence keeps its files' numbers; video frames and a still image count from 1
(as ffmpeg's image2 muxer and most compositors number a movie's frames).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from .errors import InputError
from .sequence import find_frames, is_image_path, parse_pattern, read_image
from .video import UndecodableFrame, VideoReader, is_video_path

VIDEO_FIRST_FRAME = 1
DEFAULT_FPS = Fraction(24)


@dataclass(frozen=True)
class ClipInfo:
    """What an output needs to know about its input."""

    kind: str  # "video" | "sequence" | "still"
    width: int
    height: int
    channels: int  # 3 or 4
    dtype: np.dtype
    fps: Fraction
    first_frame: int
    last_frame: int
    files: tuple[Path, ...]  # every input file (to refuse writing over one)
    audio_streams: int = 0
    start_seconds: float = 0.0  # container time of the first frame (videos whose timeline starts late)
    metadata: tuple[tuple[str, str], ...] = ()  # video container tags to carry over
    timecode: str | None = None  # start timecode of a video
    rotation: int = 0  # display rotation of a video (degrees, as its display matrix says)

    @property
    def frame_count(self) -> int:
        return self.last_frame - self.first_frame + 1


class FrameCache:
    """The last `capacity` frames handed out, least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()

    def get(self, t: int) -> np.ndarray | None:
        frame = self._frames.get(t)
        if frame is not None:
            self._frames.move_to_end(t)
        return frame

    def put(self, t: int, frame: np.ndarray) -> None:
        frame.flags.writeable = False  # shared with every caller: nobody may change it
        self._frames[t] = frame
        self._frames.move_to_end(t)
        while len(self._frames) > self.capacity:
            self._frames.popitem(last=False)


def _identity(path: Path, files: list[Path]) -> str:
    size = 0
    mtime = 0
    for file in files:
        status = file.stat()
        size += status.st_size
        mtime = max(mtime, status.st_mtime_ns)
    return f"{os.path.realpath(path)}|{size}|{mtime}"


class SequenceSource:
    """Random access over an image sequence (or a single still image as a one-frame clip)."""

    random_access = True

    def __init__(self, path: str | Path, cache_frames: int = 4) -> None:
        path = Path(path)
        pattern = parse_pattern(path)
        if pattern is None:
            self.files = {VIDEO_FIRST_FRAME: path}
            kind = "still"
        else:
            self.files = find_frames(pattern)
            if not self.files:
                raise InputError("no frames match the sequence pattern", path)
            numbers = list(self.files)
            missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
            if missing:
                shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
                raise InputError(f"sequence has gaps: frame(s) {shown} missing", path)
            kind = "sequence"
        self.first_frame = next(iter(self.files))
        self.last_frame = next(reversed(self.files))
        self._cache = FrameCache(cache_frames)
        self._specs: dict[int, oiio.ImageSpec] = {}
        first = self.frame(self.first_frame)
        self.identity = _identity(path, list(self.files.values()))
        height, width, channels = first.shape
        self.info = ClipInfo(
            kind=kind,
            width=width,
            height=height,
            channels=channels,
            dtype=first.dtype,
            fps=_spec_fps(self._specs[self.first_frame]),
            first_frame=self.first_frame,
            last_frame=self.last_frame,
            files=tuple(self.files.values()),
        )

    def frame(self, t: int) -> np.ndarray:
        cached = self._cache.get(t)
        if cached is not None:
            return cached
        if t not in self.files:
            raise IndexError(f"frame {t} outside {self.first_frame}..{self.last_frame}")
        pixels, spec = read_image(self.files[t])
        if self._specs and pixels.shape[:2] != (self.info.height, self.info.width):
            raise InputError(
                f"frame {t} is {pixels.shape[1]}x{pixels.shape[0]}, the sequence is {self.info.width}x{self.info.height}",
                self.files[t],
            )
        self._specs[t] = spec
        self._cache.put(t, pixels)
        return pixels

    def spec(self, t: int) -> oiio.ImageSpec | None:
        """The ImageSpec (metadata) of frame t's file, once read."""
        return self._specs.get(t)

    def close(self) -> None:
        pass


def _spec_fps(spec: oiio.ImageSpec) -> Fraction:
    rate = spec.getattribute("FramesPerSecond")
    try:
        fps = Fraction(rate).limit_denominator(1001) if rate else DEFAULT_FPS
    except (TypeError, ValueError, ZeroDivisionError):
        return DEFAULT_FPS
    return fps if fps > 0 else DEFAULT_FPS


class VideoSource:
    """A video as a FrameSource: sequential decode, an LRU of recent frames, seek for random access."""

    random_access = True

    def __init__(self, path: str | Path, cache_frames: int = 18) -> None:
        self.path = Path(path)
        self._reader = VideoReader(self.path)
        video = self._reader.info
        self.first_frame = VIDEO_FIRST_FRAME
        self.last_frame = VIDEO_FIRST_FRAME + video.frame_count - 1
        self.identity = _identity(self.path, [self.path])
        self._cache = FrameCache(cache_frames)
        first = self.frame(self.first_frame)
        self.info = ClipInfo(
            kind="video",
            width=video.width,
            height=video.height,
            channels=first.shape[2],
            dtype=first.dtype,
            fps=video.fps,
            first_frame=self.first_frame,
            last_frame=self.last_frame,
            files=(self.path,),
            audio_streams=video.audio_streams,
            start_seconds=video.start_seconds,
            metadata=video.metadata,
            timecode=video.timecode,
            rotation=self._reader.rotation,
        )

    def frame(self, t: int) -> np.ndarray:
        cached = self._cache.get(t)
        if cached is not None:
            return cached
        if not self.first_frame <= t <= self.last_frame:
            raise IndexError(f"frame {t} outside {self.first_frame}..{self.last_frame}")
        first = self.first_frame
        try:
            pixels = self._reader.read(
                t - first, keep=self._cache.capacity, store=lambda i, p: self._cache.put(i + first, p)
            )
        except UndecodableFrame as error:
            raise UndecodableFrame(error.index, self.path, first_number=first) from None
        self._cache.put(t, pixels)
        return pixels

    def spec(self, t: int) -> oiio.ImageSpec | None:
        return None

    def close(self) -> None:
        self._reader.close()


def open_source(path: str | Path, cache_frames: int = 18) -> SequenceSource | VideoSource:
    """The FrameSource for a path: a pattern or an image is a sequence/still, anything else a video."""
    path = Path(path)
    if parse_pattern(path) is not None:
        return SequenceSource(path, cache_frames)
    if not path.exists():
        raise InputError("input file does not exist", path)
    if is_image_path(path) and not is_video_path(path):
        return SequenceSource(path, cache_frames)
    return VideoSource(path, cache_frames)
