"""Video files through PyAV: frame-accurate reading, encoding, and audio stream copy.

Frames are indexed 0.. in presentation order from an index of the video packets' timestamps,
built once at open (demuxing only, no decoding), so random access is exact even with B-frames
or a variable frame rate: seek to the keyframe before a frame, decode forward to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from .errors import InputError, OutputError, UsageError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset(
    {"mp4", "m4v", "mov", "mkv", "avi", "webm", "mxf", "mpg", "mpeg", "ts", "flv", "wmv", "y4m"}
)

# container tags that describe the file's muxer, not the footage: written anew
_MUXER_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder", "timecode"})

# decoding further forward than this many frames is slower than seeking to a keyframe
_FORWARD_DECODE_LIMIT = 48


def is_video_path(path: str | Path) -> bool:
    return Path(path).suffix.lower().lstrip(".") in VIDEO_EXTENSIONS


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    frame_count: int
    fps: Fraction
    bit_depth: int
    has_alpha: bool
    codec: str
    audio_streams: int
    start_seconds: float  # presentation time of the first frame (audio is aligned to it)
    metadata: tuple[tuple[str, str], ...] = ()  # container tags worth keeping (title, creation_time ...)
    timecode: str | None = None  # the video stream's start timecode, if tagged


class UndecodableFrame(InputError):
    """A frame the decoder cannot produce (damaged data); `index` counts from 0."""

    def __init__(self, index: int, path: Path, first_number: int = 0) -> None:
        super().__init__(f"frame {first_number + index} could not be decoded (damaged video)", path)
        self.index = index


class VideoReader:
    """Decodes frames of a video file as RGB(A) uint8 (8-bit sources) or uint16 (deeper)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(
                "input file does not exist" if not self.path.exists() else "input is not a file", path
            )
        if self.path.stat().st_size == 0:
            raise InputError("input file is empty", path)
        self._container = _open_input(self.path)
        try:
            self._setup()
        except BaseException:
            self._container.close()
            raise

    def _setup(self) -> None:
        if not self._container.streams.video:
            raise InputError("no video stream (or no video frames) in the file", self.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        context = self._stream.codec_context
        if not context.width or not context.height:
            raise InputError("video stream has no picture size (corrupt?)", self.path)
        pix_fmt = context.pix_fmt or "yuv420p"
        video_format = av.VideoFormat(pix_fmt)
        bit_depth = max(component.bits for component in video_format.components)
        has_alpha = any(component.is_alpha for component in video_format.components)
        self._rgb_format = (
            ("rgba" if has_alpha else "rgb24") if bit_depth <= 8 else ("rgba64le" if has_alpha else "rgb48le")
        )
        self._reformatter = VideoReformatter()  # one scaler for every frame, not one each
        self._timestamps = self._index_timestamps()
        if not self._timestamps:
            raise InputError("video has no frames", self.path)
        self._index_of_pts = {pts: i for i, pts in enumerate(self._timestamps)}
        fps = self._stream.average_rate or self._stream.guessed_rate or Fraction(25)
        self.info = VideoInfo(
            width=context.width,
            height=context.height,
            frame_count=len(self._timestamps),
            fps=Fraction(fps),
            bit_depth=8 if bit_depth <= 8 else 16,
            has_alpha=has_alpha,
            codec=context.name,
            audio_streams=len(self._container.streams.audio),
            start_seconds=float(self._timestamps[0] * self._stream.time_base),
            metadata=tuple(
                (key, value) for key, value in self._container.metadata.items() if key not in _MUXER_TAGS
            ),
            timecode=self._stream.metadata.get("timecode") or self._container.metadata.get("timecode"),
        )
        self._frames: Iterator[av.VideoFrame] | None = None
        self._next_index: int | None = None
        self._warned_decode = False
        self.rotation = 0  # degrees counter-clockwise a player turns the picture, from decoded frames

    def _index_timestamps(self) -> list[int]:
        """Presentation timestamps of all video packets, sorted: frame i has the i-th.

        A file cut short whose index sits at its start (MP4 "faststart", as phones and web
        exports write) lists more frames than it holds data for; that is refused here, before
        anything is rendered, instead of at the first missing frame.
        """
        timestamps: list[int] = []
        file_size = self.path.stat().st_size
        data_end = 0
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0:
                    continue
                if packet.pts is None:
                    raise InputError(
                        "video packets carry no timestamps; remux it into a container first", self.path
                    )
                timestamps.append(packet.pts)
                if packet.pos is not None and packet.pos >= 0:
                    data_end = max(data_end, packet.pos + packet.size)
        except av.error.FFmpegError:
            # a truncated file: keep the packets read before the damage
            log.warning("video is damaged after %d frames: %s", len(timestamps), self.path)
        declared = self._stream.frames
        if (declared and len(timestamps) < declared) or data_end > file_size:
            raise InputError(
                f"video is cut short: its index lists {declared or len(timestamps)} frames but the file "
                f"holds data for {len(timestamps)} at most; re-export or re-download it",
                self.path,
            )
        timestamps.sort()
        self._rewind()
        return timestamps

    def _rewind(self) -> None:
        self._container.seek(0, backward=True, any_frame=False, stream=self._stream)
        self._frames = None
        self._next_index = None

    @property
    def frame_count(self) -> int:
        return len(self._timestamps)

    def read(self, index: int, keep: int = 1, store=None) -> np.ndarray:
        """Frame `index` (0-based). Frames decoded on the way within `keep` before it go to `store`."""
        if not 0 <= index < len(self._timestamps):
            raise IndexError(f"frame {index} outside 0..{len(self._timestamps) - 1}")
        forward = (
            self._next_index is not None
            and self._next_index <= index <= self._next_index + _FORWARD_DECODE_LIMIT
        )
        if not forward:
            self._seek(index)
        frame = self._decode_until(index, keep, store)
        if frame is None and forward:
            self._seek(index)
            frame = self._decode_until(index, keep, store)
        if frame is None:
            # the seek landed past the frame (inexact index in the container): decode from the start
            self._rewind()
            frame = self._decode_until(index, keep, store)
        if frame is None:
            raise UndecodableFrame(index, self.path)
        return frame

    def _seek(self, index: int) -> None:
        self._container.seek(self._timestamps[index], backward=True, any_frame=False, stream=self._stream)
        self._frames = None
        self._next_index = None

    def _decode_until(self, index: int, keep: int, store) -> np.ndarray | None:
        if self._frames is None:
            self._frames = self._decoded_frames()
        for position, frame in self._frames:
            self._next_index = position + 1
            if position > index:
                return None
            if position > index - keep:
                self.rotation = frame.rotation  # the display matrix (phone clips), kept on output
                rgb = self._reformatter.reformat(
                    frame, format=self._rgb_format, src_color_range=frame.color_range or None
                )
                pixels = rgb.to_ndarray()
                if position == index:
                    return pixels
                if store is not None:
                    store(position, pixels)
        return None

    def _decoded_frames(self) -> Iterator[tuple[int, av.VideoFrame]]:
        try:
            for frame in self._container.decode(self._stream):
                position = self._index_of_pts.get(frame.pts)
                if position is not None:
                    yield position, frame
        except av.error.FFmpegError as error:
            # said once: read() retries from a keyframe and from the start before it gives up
            if not self._warned_decode:
                log.warning("damaged video data: %s (%s)", _ffmpeg_message(error), self.path)
                self._warned_decode = True

    def close(self) -> None:
        self._container.close()


def _open_input(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except av.error.EOFError:
        raise InputError("video has no frames (the file ends before its first frame)", path) from None
    except av.error.FFmpegError as error:
        raise InputError(f"cannot read video: {_ffmpeg_message(error)}", path) from None


def _ffmpeg_message(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


# --- writing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodeSettings:
    """Codec choice for a video output; None fields take the container's defaults."""

    codec: str | None = None
    crf: float | None = None
    pix_fmt: str | None = None
    preset: str | None = None


# container -> (codec, pixel format for 8-bit, for deeper, for alpha)
_DEFAULT_CODECS = {
    "mp4": ("libx264", "yuv420p", "yuv420p", None),
    "m4v": ("libx264", "yuv420p", "yuv420p", None),
    "mov": ("prores_ks", "yuv422p10le", "yuv422p10le", "yuva444p10le"),
    "mkv": ("ffv1", "bgr0", "rgb48le", "bgra"),
    "avi": ("ffv1", "bgr0", "rgb48le", "bgra"),
    "webm": ("libvpx-vp9", "yuv420p", "yuv420p", "yuva420p"),
}
_DEFAULT_CRF = 16
# x264/x265 speed preset. "veryfast" encodes 1080p in about half of "faster"'s time (49 against
# 101 ms a frame, one thread, six real clips) for files of about the same size and 1.2 dB lower
# luma PSNR at 46-48 dB, both far past visible; `colormotion bench` at 1080p: 7.1 -> 8.6 fps.
# Archival renders take a slower --preset, or ProRes (.mov).
_DEFAULT_PRESET = "veryfast"
_PRESET_CODECS = {"libx264", "libx265"}
_CRF_CODECS = {"libx264", "libx265", "libvpx-vp9", "libvpx", "libaom-av1", "libsvtav1"}


def _has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except (av.error.FFmpegError, ValueError, av.codec.codec.UnknownCodecError):
        return False
    return True


# encoders worth knowing about, in the order `colormotion info` lists them
_NOTABLE_ENCODERS = ("libx264", "libx265", "prores_ks", "dnxhd", "ffv1", "libvpx-vp9", "libaom-av1", "mpeg4")


def available_encoders() -> list[str]:
    """The notable video encoders that this PyAV's FFmpeg build has."""
    return [name for name in _NOTABLE_ENCODERS if _has_encoder(name)]


def resolve_encoding(
    path: str | Path, settings: EncodeSettings, *, bit_depth: int, has_alpha: bool
) -> tuple[str, str]:
    """(codec, pixel format) for an output file, validating user choices."""
    extension = Path(path).suffix.lower().lstrip(".")
    default = _DEFAULT_CODECS.get(extension, ("libx264", "yuv420p", "yuv420p", None))
    if extension == "mov" and not _has_encoder("prores_ks"):
        default = ("libx264", "yuv420p", "yuv420p", None)
    codec_name = settings.codec or default[0]
    if not _has_encoder(codec_name):
        raise UsageError(f"unknown or unavailable video encoder {codec_name!r}", path)
    codec = av.codec.Codec(codec_name, "w")
    if codec.type != "video":
        raise UsageError(f"{codec_name!r} is not a video encoder", path)
    formats = [f.name for f in (codec.video_formats or [])]
    if settings.crf is not None and codec_name in _CRF_CODECS:
        top = 51 if codec_name in ("libx264", "libx265") else 63
        if not 0 <= settings.crf <= top:
            raise UsageError(f"--crf for {codec_name} must be within 0..{top}, got {settings.crf:g}", path)
    if settings.pix_fmt:
        pix_fmt = settings.pix_fmt
        if formats and pix_fmt not in formats:
            raise UsageError(
                f"{codec_name} cannot encode pixel format {pix_fmt!r} (it has: {', '.join(formats)})", path
            )
    elif codec_name == default[0]:
        pix_fmt = (has_alpha and default[3]) or (default[2] if bit_depth > 8 else default[1])
    else:
        pix_fmt = _closest_format(formats, bit_depth, has_alpha)
    return codec_name, pix_fmt


def _closest_format(formats: list[str], bit_depth: int, has_alpha: bool) -> str:
    preferences = []
    if has_alpha:
        preferences += ["yuva444p10le" if bit_depth > 8 else "yuva420p", "bgra", "rgba"]
    preferences += ["yuv422p10le", "yuv420p10le"] if bit_depth > 8 else []
    preferences += ["yuv420p", "yuv422p", "yuv444p", "bgr0", "rgb24"]
    for name in preferences:
        if name in formats:
            return name
    return formats[0] if formats else "yuv420p"


class AudioCopy:
    """Copies the audio streams of an input into an output container, packet by packet."""

    def __init__(
        self, source: Path, output: av.container.OutputContainer, start: float, end: float | None
    ) -> None:
        self._container = av.open(str(source), mode="r")
        self._start = start
        self._end = end
        self._streams = {}
        for stream in self._container.streams.audio:
            codec_name = stream.codec_context.name
            if codec_name not in output.supported_codecs:
                log.warning(
                    "audio stream %d (%s) cannot be stored in %s without re-encoding: left out",
                    stream.index,
                    codec_name,
                    output.name,
                )
                continue
            self._streams[stream.index] = output.add_stream_from_template(stream)
        self._output = output
        self._packets = (
            self._container.demux(*[self._container.streams[i] for i in self._streams])
            if self._streams
            else iter(())
        )
        self._pending = None

    def mux_until(self, seconds: float | None) -> None:
        """Mux audio packets that start before `seconds` of output time (None: all that are left)."""
        while True:
            packet = self._pending or next(self._packets, None)
            self._pending = None
            if packet is None:
                return
            if packet.pts is None or packet.size == 0:
                continue
            time = float(packet.pts * packet.time_base)
            if self._end is not None and time >= self._end:
                continue
            # A packet that ends at or after the start is kept: the encoder's priming packet
            # (negative pts, AAC) of a full copy, or the pre-roll packet a decoder needs to
            # decode the first kept one of a sub-range; both keep their timestamps (below 0).
            if time + float((packet.duration or 0) * packet.time_base) < self._start:
                continue
            if seconds is not None and time - self._start >= seconds:
                self._pending = packet
                return
            shift = int(round(self._start / packet.time_base))
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            packet.stream = self._streams[packet.stream.index]
            self._output.mux(packet)

    def close(self) -> None:
        self._container.close()


class VideoWriter:
    """Encodes RGB(A) frames to a video file; optionally copies audio from a source video."""

    def __init__(
        self,
        path: str | Path,
        *,
        width: int,
        height: int,
        fps: Fraction,
        settings: EncodeSettings = EncodeSettings(),
        bit_depth: int = 8,
        has_alpha: bool = False,
        audio_source: Path | None = None,
        audio_range: tuple[float, float | None] = (0.0, None),
        container_format: str | None = None,
        metadata: tuple[tuple[str, str], ...] = (),
        timecode: str | None = None,
        rotation: int = 0,
    ) -> None:
        self.path = Path(path)
        codec_name, pix_fmt = resolve_encoding(self.path, settings, bit_depth=bit_depth, has_alpha=has_alpha)
        pix_fmt = _even_size_format(pix_fmt, width, height)
        self.codec, self.pix_fmt = codec_name, pix_fmt
        try:
            self._container = av.open(str(self.path), mode="w", format=container_format)
        except av.error.FFmpegError as error:
            raise OutputError(f"cannot create video: {_ffmpeg_message(error)}", self.path) from None
        self._audio: AudioCopy | None = None
        self._fps = Fraction(fps)
        try:
            self._stream = self._container.add_stream(codec_name, rate=self._fps)
            self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, pix_fmt
            self._stream.time_base = Fraction(1) / self._fps
            self._stream.options = _codec_options(codec_name, settings, has_alpha)
            self._container.metadata.update(dict(metadata))
            if timecode:
                self._stream.metadata["timecode"] = timecode
            if rotation:  # a portrait phone clip stays upright in players
                self._stream.set_display_rotation(rotation)
            self._yuv = pix_fmt.startswith("yuv")
            self._reformatter = VideoReformatter()
            if self._yuv:
                context = self._stream.codec_context
                context.colorspace, context.color_primaries, context.color_trc, context.color_range = (
                    1,
                    1,
                    1,
                    1,
                )
            if audio_source is not None:
                self._audio = AudioCopy(audio_source, self._container, *audio_range)
        except BaseException:
            self._container.close()
            raise
        self._count = 0

    def write(self, pixels: np.ndarray) -> None:
        pixels = np.ascontiguousarray(pixels)
        if self._yuv:
            # The RGB picture only feeds the conversion, so it wraps the array instead of a copy,
            # and one scaler serves every frame: a copy and a new scaler per frame took 6-8 ms
            # of the writer thread at 1080p, this takes ~2.3.
            rgb = av.VideoFrame.from_numpy_buffer(pixels, format=_array_format(pixels))
            frame = self._reformatter.reformat(
                rgb, format=self.pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG"
            )
        else:
            frame = av.VideoFrame.from_ndarray(pixels, format=_array_format(pixels))
        frame.pts = self._count
        self._count += 1
        try:
            if self._audio is not None:
                self._audio.mux_until(float(self._count / self._fps))
            self._container.mux(self._stream.encode(frame))
        except av.error.FFmpegError as error:
            raise OutputError(f"cannot encode video: {_ffmpeg_message(error)}", self.path) from None

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        try:
            self._container.mux(self._stream.encode(None))
            if self._audio is not None:
                self._audio.mux_until(None)
        except av.error.FFmpegError as error:
            raise OutputError(f"cannot finish video: {_ffmpeg_message(error)}", self.path) from None
        finally:
            self.abandon()

    def abandon(self) -> None:
        """Close files without flushing (the caller removes the partial output)."""
        if self._audio is not None:
            self._audio.close()
            self._audio = None
        self._container.close()


def join_videos(
    parts: list[Path],
    path: Path,
    *,
    fps: Fraction,
    audio_source: Path | None = None,
    audio_range: tuple[float, float | None] = (0.0, None),
) -> int:
    """Concatenate the video streams of `parts` (consecutive pieces of one render, each encoded
    on its own with the same settings, so each starts on a keyframe) into `path` without
    re-encoding; audio, if any, is copied once from `audio_source`. Returns the frame count.

    Part k's packets are shifted by the frames of the parts before it. Decode timestamps are
    renumbered one frame apart from the largest reordering delay of any part: a short part may
    use fewer B-frames than the others, which would leave a hole in the decode order. Container
    tags and the stream's tags (its timecode) come from the first part."""
    if not parts:
        raise UsageError("nothing to join: no parts")
    delay = max(_reorder_delay(part) for part in parts)  # seconds
    try:
        output = av.open(str(path), mode="w")
    except av.error.FFmpegError as error:
        raise OutputError(f"cannot create video: {_ffmpeg_message(error)}", path) from None
    audio: AudioCopy | None = None
    frames = packets = 0
    try:
        stream = reference = None
        for part in parts:
            container = _open_input(part)
            try:
                source = _single_video_stream(container, part)
                if stream is None:
                    stream = output.add_stream_from_template(source)
                    stream.metadata.update(source.metadata)
                    output.metadata.update(
                        {k: v for k, v in container.metadata.items() if k not in _MUXER_TAGS}
                    )
                    reference = source.codec_context
                    if audio_source is not None:
                        audio = AudioCopy(audio_source, output, *audio_range)
                else:
                    _check_same_encoding(source.codec_context, reference, part, parts[0])
                ticks = 1 / (fps * source.time_base)  # one frame in the part's time base
                shift = int(round(frames * ticks))
                count = 0
                for packet in container.demux(source):
                    if packet.pts is None or packet.size == 0:  # the demuxer's flush packet
                        continue
                    packet.pts += shift
                    packet.dts = int(round(packets * ticks - delay / source.time_base))
                    packet.stream = stream
                    if audio is not None:
                        audio.mux_until(float(packet.pts * packet.time_base))
                    output.mux(packet)
                    count += 1
                    packets += 1
                frames += count
            finally:
                container.close()
        if audio is not None:
            audio.mux_until(None)
    except av.error.FFmpegError as error:
        raise OutputError(f"cannot join video parts: {_ffmpeg_message(error)}", path) from None
    finally:
        if audio is not None:
            audio.close()
        output.close()
    return frames


def _reorder_delay(part: Path) -> float:
    """Seconds the first decode timestamp of a part lies before its first presentation (B-frames)."""
    container = _open_input(part)
    try:
        source = _single_video_stream(container, part)
        for packet in container.demux(source):
            if packet.pts is not None and packet.dts is not None and packet.size:
                return max(0.0, float((packet.pts - packet.dts) * source.time_base))
        return 0.0
    finally:
        container.close()


def _single_video_stream(container: av.container.InputContainer, path: Path):
    if len(container.streams.video) != 1:
        raise InputError(
            f"a part to join must hold one video stream, it holds {len(container.streams.video)}", path
        )
    return container.streams.video[0]


def _check_same_encoding(context, reference, part: Path, first: Path) -> None:
    """Parts encoded differently cannot share one stream header."""
    mine = (context.name, context.width, context.height, context.format.name if context.format else None)
    theirs = (
        reference.name,
        reference.width,
        reference.height,
        reference.format.name if reference.format else None,
    )
    if mine != theirs:
        raise InputError(
            f"part is encoded as {mine}, unlike {first.name} {theirs}: it cannot be joined", part
        )


def offset_timecode(timecode: str, frames: int, fps: Fraction) -> str | None:
    """SMPTE non-drop timecode `frames` later; None for drop-frame (';') or unreadable codes."""
    parts = timecode.split(":")
    if ";" in timecode or len(parts) != 4 or not all(part.isdigit() for part in parts):
        return None
    base = round(fps)
    if base < 1:
        return None
    hours, minutes, seconds, frame = (int(part) for part in parts)
    total = (((hours * 60 + minutes) * 60 + seconds) * base + frame + frames) % (24 * 3600 * base)
    frame, total = total % base, total // base
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}:{frame:02d}"


def _array_format(pixels: np.ndarray) -> str:
    channels = pixels.shape[2]
    if pixels.dtype == np.uint8:
        return "rgba" if channels == 4 else "rgb24"
    if pixels.dtype == np.uint16:
        return "rgba64le" if channels == 4 else "rgb48le"
    raise TypeError(f"video frames must be uint8 or uint16, got {pixels.dtype}")


def _even_size_format(pix_fmt: str, width: int, height: int) -> str:
    """4:2:0 / 4:2:2 need even sizes: odd-sized pictures are encoded 4:4:4 instead."""
    subsampled = pix_fmt.startswith(("yuv420", "yuv422", "yuva420", "yuva422", "nv12"))
    if subsampled and (width % 2 or height % 2):
        replacement = pix_fmt.replace("420", "444").replace("422", "444").replace("nv12", "yuv444p")
        log.warning("odd picture size %dx%d: encoding %s instead of %s", width, height, replacement, pix_fmt)
        return replacement
    return pix_fmt


def describe_encoding(path: str | Path, settings: EncodeSettings, *, bit_depth: int, has_alpha: bool) -> str:
    """What a video output gets, in one line: e.g. 'libx264 yuv420p crf 16 preset veryfast'."""
    codec_name, pix_fmt = resolve_encoding(path, settings, bit_depth=bit_depth, has_alpha=has_alpha)
    options = _codec_options(codec_name, settings, has_alpha)
    return " ".join([codec_name, pix_fmt, *(f"{key} {value}" for key, value in options.items())])


def _codec_options(codec_name: str, settings: EncodeSettings, has_alpha: bool) -> dict[str, str]:
    options: dict[str, str] = {}
    if codec_name in _CRF_CODECS:
        options["crf"] = str(settings.crf if settings.crf is not None else _DEFAULT_CRF)
        if codec_name == "libvpx-vp9":
            options["b"] = "0"
    elif settings.crf is not None:
        log.warning("--crf applies to x264/x265/vpx/av1 encoders; %s ignores it", codec_name)
    if codec_name in _PRESET_CODECS:
        options["preset"] = settings.preset or _DEFAULT_PRESET
    elif settings.preset is not None:
        log.warning("--preset applies to x264/x265; %s ignores it", codec_name)
    if codec_name == "prores_ks":
        options["profile"] = "4" if has_alpha else "3"  # 4444 keeps alpha; 422 HQ otherwise
    if codec_name == "ffv1":
        options["level"] = "3"
    return options
