"""Tiny test media made on the fly: videos (optionally with a sine audio track) and image frames."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from colormotion.io.sequence import write_image

WIDTH, HEIGHT = 96, 64


def moving_frames(count: int, width: int = WIDTH, height: int = HEIGHT, seed: int = 0) -> list[np.ndarray]:
    """Grayscale RGB uint8 frames of a textured pattern drifting right, distinct per frame."""
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, size=(height // 4 + 1, (width + 4 * count) // 4 + 1), dtype=np.uint8)
    texture = np.kron(texture, np.ones((4, 4), dtype=np.uint8))
    frames = []
    for index in range(count):
        gray = texture[:height, index * 2 : index * 2 + width]
        frames.append(np.repeat(gray[:, :, None], 3, axis=2).copy())
    return frames


def write_video(
    path: Path,
    frames: list[np.ndarray],
    *,
    fps: int = 24,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    audio: bool = False,
    options: dict | None = None,
) -> Path:
    """Encode frames (and a 440 Hz sine for the same duration when `audio`) with PyAV directly."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = options or {}
        audio_stream = container.add_stream("aac", rate=48000) if audio else None
        if audio_stream is not None:
            audio_stream.layout = "mono"
        for index, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(
                pixels, format="rgb24" if pixels.dtype == np.uint8 else "rgb48le"
            )
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio_stream is not None:
            samples = sine(len(frames) / fps)
            for start in range(0, samples.shape[1], 1024):
                chunk = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(samples[:, start : start + 1024]), format="flt", layout="mono"
                )
                chunk.sample_rate, chunk.pts = 48000, start
                container.mux(audio_stream.encode(chunk))
            container.mux(audio_stream.encode(None))
    return path


def sine(seconds: float, rate: int = 48000) -> np.ndarray:
    time = np.arange(int(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * 440.0 * time)).astype(np.float32)[None]


def write_sequence(
    folder: Path, frames: list[np.ndarray], name: str = "clip", ext: str = "png", first: int = 1
) -> str:
    """Write frames as folder/name.NNNN.ext; returns the #### pattern."""
    folder.mkdir(parents=True, exist_ok=True)
    for offset, pixels in enumerate(frames):
        write_image(folder / f"{name}.{first + offset:04d}.{ext}", pixels)
    return str(folder / f"{name}.####.{ext}")


def stream_summary(path: Path) -> list[tuple[str, str]]:
    with av.open(str(path)) as container:
        return [(stream.type, stream.codec_context.name) for stream in container.streams]


def audio_seconds(path: Path) -> float:
    """Duration covered by the audio packets of a file."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        ends = [
            float((packet.pts + (packet.duration or 0)) * packet.time_base)
            for packet in container.demux(stream)
            if packet.pts is not None
        ]
    return max(ends) if ends else 0.0


def frame_rate(path: Path) -> Fraction:
    with av.open(str(path)) as container:
        return Fraction(container.streams.video[0].average_rate)
