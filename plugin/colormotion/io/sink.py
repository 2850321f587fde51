"""Frame sinks: where rendered frames go (video file, image sequence, still image), atomically.

`open_sink` checks the output before any work is done (refuses the input itself, an existing
output without overwrite, an unwritable folder); `commit` moves the finished output into place,
`discard` removes every temporary and leaves the destination as it was.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from .atomic import AtomicFile, AtomicFolder, check_targets, prepare_folder
from .errors import MediaError, UsageError
from .sequence import SequencePattern, is_image_path, parse_pattern, write_image
from .source import ClipInfo
from .video import EncodeSettings, VideoWriter, describe_encoding, is_video_path, offset_timecode

log = logging.getLogger(__name__)

SpecLookup = Callable[[int], "oiio.ImageSpec | None"]


def output_kind(path: str | Path) -> str:
    """'sequence', 'still' or 'video' from the output path."""
    if parse_pattern(path) is not None:
        return "sequence"
    if is_video_path(path):
        return "video"
    if is_image_path(path):
        return "still"
    raise UsageError(
        "unknown output format (use a video extension like .mp4/.mov/.mkv or an image pattern like name.####.exr)",
        path,
    )


class SequenceSink:
    """Writes frame t to the pattern's file for t (frame numbers match the input's)."""

    def __init__(self, pattern: SequencePattern, spec_of: SpecLookup, overwrite: bool = False) -> None:
        self.pattern = pattern
        self._spec_of = spec_of
        self._folder = AtomicFolder(pattern.directory, Path(pattern.text).name, overwrite=overwrite)
        self._warned: set[str] = set()

    def write(self, t: int, frame: np.ndarray) -> None:
        path = self._folder.temp_path(self.pattern.path(t).name)
        try:
            warnings = write_image(path, frame, self._spec_of(t))
        except MediaError as error:  # name the frame's own path, never the temporary folder
            raise _at_final_path(error, path, self.pattern.path(t)) from None
        for warning in warnings:
            if warning not in self._warned:
                self._warned.add(warning)
                log.warning("%s", warning)

    def commit(self) -> None:
        self._folder.commit()

    def discard(self) -> None:
        self._folder.discard()


class StillSink:
    """One frame to one image file."""

    def __init__(self, path: Path, spec_of: SpecLookup, overwrite: bool = False) -> None:
        self._file = AtomicFile(path, overwrite=overwrite)
        self._spec_of = spec_of

    def write(self, t: int, frame: np.ndarray) -> None:
        try:
            warnings = write_image(self._file.temp, frame, self._spec_of(t))
        except MediaError as error:  # name the user's path, never the temporary
            raise _at_final_path(error, self._file.temp, self._file.final) from None
        for warning in warnings:
            log.warning("%s", warning)

    def commit(self) -> None:
        self._file.commit()

    def discard(self) -> None:
        self._file.discard()


class VideoSink:
    """Frames to a video file; audio of a video input is stream-copied for the rendered range."""

    def __init__(
        self, path: Path, info: ClipInfo, frames: range, settings: EncodeSettings, overwrite: bool = False
    ) -> None:
        deep = np.dtype(info.dtype) != np.uint8
        # every encoder option is checked before anything is written, against the user's path
        self.encoding = describe_encoding(
            path, settings, bit_depth=16 if deep else 8, has_alpha=info.channels == 4
        )
        self._file = AtomicFile(path, overwrite=overwrite)
        audio_source, audio_range = audio_for(info, frames)
        try:
            self._writer = VideoWriter(
                self._file.temp,
                width=info.width,
                height=info.height,
                fps=info.fps,
                settings=settings,
                bit_depth=16 if deep else 8,
                has_alpha=info.channels == 4,
                audio_source=audio_source,
                audio_range=audio_range,
                metadata=info.metadata,
                timecode=_range_timecode(info, frames),
                rotation=info.rotation,
            )
        except MediaError as error:  # name the user's path, never the temporary's
            self._file.discard()
            raise _at_final_path(error, self._file.temp, path) from None
        except BaseException:
            self._file.discard()
            raise

    def write(self, t: int, frame: np.ndarray) -> None:
        self._writer.write(video_pixels(frame, self._writer.pix_fmt))

    def commit(self) -> None:
        try:
            self._writer.close()
        except MediaError as error:
            self._file.discard()
            raise _at_final_path(error, self._file.temp, self._file.final) from None
        except BaseException:
            self._file.discard()
            raise
        self._file.commit()

    def discard(self) -> None:
        self._writer.abandon()
        self._file.discard()


def audio_for(info: ClipInfo, frames: range) -> tuple[Path | None, tuple[float, float]]:
    """The file whose audio a video of `frames` carries (a video input with audio, else None) and
    the span of it in seconds, aligned to those frames."""
    source = info.files[0] if info.kind == "video" and info.audio_streams else None
    start = info.start_seconds + (frames.start - info.first_frame) / info.fps
    end = info.start_seconds + (frames.stop - info.first_frame) / info.fps
    return source, (float(start), float(end))


def _at_final_path(error: MediaError, temp: Path, final: Path) -> MediaError:
    """The same error about the user's path: temporaries are an implementation detail."""
    return type(error)(error.message.replace(str(temp), str(final)), final)


def _range_timecode(info: ClipInfo, frames: range) -> str | None:
    """The input's timecode moved to the first rendered frame (drop-frame only for a full range)."""
    if not info.timecode:
        return None
    offset = frames.start - info.first_frame
    return info.timecode if offset == 0 else offset_timecode(info.timecode, offset, info.fps)


def video_pixels(frame: np.ndarray, pix_fmt: str) -> np.ndarray:
    """uint8/uint16 as they are; float frames (0..1) quantised to 16 bits (8 for 8-bit formats)."""
    if frame.dtype in (np.uint8, np.uint16):
        return frame
    deep = any(depth in pix_fmt for depth in ("10", "12", "14", "16", "48", "64"))
    clipped = np.clip(np.nan_to_num(frame.astype(np.float32), nan=0.0), 0.0, 1.0)
    if deep:
        return (clipped * 65535.0 + 0.5).astype(np.uint16)
    return (clipped * 255.0 + 0.5).astype(np.uint8)


def output_targets(path: str | Path, frames: range) -> list[Path]:
    """Every file the output will create for `frames`."""
    pattern = parse_pattern(path)
    if pattern is None:
        return [Path(path)]
    return [pattern.path(t) for t in frames]


def open_sink(
    path: str | Path,
    info: ClipInfo,
    frames: range,
    *,
    overwrite: bool,
    settings: EncodeSettings | None = None,
    spec_of: SpecLookup = lambda t: None,
) -> SequenceSink | StillSink | VideoSink:
    path = Path(path)
    kind = output_kind(path)
    if kind == "still" and len(frames) != 1:
        raise UsageError(
            f"output is a single image but {len(frames)} frames are rendered; use a pattern like name.####{path.suffix}",
            path,
        )
    check_targets(output_targets(path, frames), info.files, overwrite=overwrite)
    if info.rotation and kind != "video":
        log.warning(
            "the input is shown rotated by %d degrees (display matrix); image files carry no rotation, "
            "so the frames are written as stored",
            info.rotation,
        )
    if kind == "sequence":
        pattern = parse_pattern(path)
        prepare_folder(pattern.directory)
        return SequenceSink(pattern, spec_of, overwrite)
    if kind == "still":
        return StillSink(path, spec_of, overwrite)
    return VideoSink(path, info, frames, settings or EncodeSettings(), overwrite)


class BackgroundSink:
    """Writes (encodes) frames on a worker thread while the caller renders the next ones.

    Encoders and image writers release the GIL, so on a 2-core machine encoding overlaps with
    the engine's single-threaded stages. At most `depth` frames wait; a writer error is raised
    by the next write() or by commit(); discard() stops the worker and removes everything.
    """

    def __init__(self, sink, depth: int = 2, stage: Callable[[str], object] | None = None) -> None:
        self._sink = sink
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._stage = stage
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._work, name="colormotion-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None or self._stopped.is_set():
                return
            t, frame = item
            try:
                if self._stage is not None:
                    with self._stage("encode"):
                        self._sink.write(t, frame)
                else:
                    self._sink.write(t, frame)
            except BaseException as error:  # handed to the caller's thread
                self._error = error
                self._stopped.set()
                return

    def _raise_worker_error(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, t: int, frame: np.ndarray) -> None:
        self._raise_worker_error()
        while not self._stopped.is_set():
            try:
                self._queue.put((t, frame), timeout=0.1)
                return
            except queue.Full:
                continue
        self._raise_worker_error()

    def _finish(self) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=0.1)
                break
            except queue.Full:
                if self._stopped.is_set():
                    break
        self._thread.join()

    def commit(self) -> None:
        self._finish()
        self._raise_worker_error()
        self._sink.commit()

    def discard(self) -> None:
        self._stopped.set()
        while True:  # unblock a worker waiting on a full queue, and drop pending frames
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._finish()
        self._sink.discard()
