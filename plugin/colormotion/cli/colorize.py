"""`colormotion colorize INPUT OUTPUT`: render a clip (or a sub-range of it) through the node.

`--frames A-B` renders exactly the frames a full render gives for A..B: the source keeps the
whole clip's frame range, so every frame's chain starts where it would in a full render.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import sys
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np

from .. import profiling
from ..io.errors import UsageError
from ..io.sink import BackgroundSink, open_sink
from ..io.source import ClipInfo, open_source
from ..io.video import EncodeSettings
from . import engine

log = logging.getLogger("colormotion")

RENDER_THREADS = 2  # frame t+1's model overlaps frame t's full-resolution colour (measured: bench)
_RANGE = re.compile(r"^\s*(-?\d+)\s*(?:[-:]\s*(-?\d+)\s*)?$")


def frame_range(text: str) -> tuple[int, int]:
    """'A-B' (inclusive) or 'A' -> (A, B); argparse type."""
    match = _RANGE.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected A-B (e.g. 1-100), got {text!r}")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise argparse.ArgumentTypeError(f"range {text!r} ends before it starts")
    return first, last


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "colorize",
        help="colorize a video, an image sequence or an image",
        description=(
            "Colorize INPUT into OUTPUT. Either may be a video file (.mp4 .mov .mkv ...), an image\n"
            "sequence (name.####.exr, name.%04d.png, name.#.dpx) or a single image. Sequence frame\n"
            "numbers carry over to the output; video frames and single images are numbered from 1."
        ),
    )
    parser.add_argument("input", help="input video, image sequence pattern or image")
    parser.add_argument("output", help="output video, image sequence pattern or image")
    engine.add_engine_arguments(parser)
    parser.add_argument(
        "--hints", metavar="FILE", help="colour hints file (JSON; frame numbers as for --frames)"
    )
    parser.add_argument(
        "--reference",
        action="append",
        metavar="FRAME=IMAGE",
        help="a colour image of frame FRAME (graded or painted elsewhere; any size): the frames from it "
        "to the next reference take its colours (repeatable; needs a contract-2 model)",
    )
    parser.add_argument(
        "--frames",
        type=frame_range,
        metavar="A-B",
        help="render only frames A..B (inclusive); identical to the same frames of a full render",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument(
        "--render-threads",
        type=int,
        default=RENDER_THREADS,
        metavar="N",
        help=f"frames rendered at once (default {RENDER_THREADS}; the output is the same for any N)",
    )
    add_encode_arguments(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_ray_arguments(parser)
    return parser


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("many machines (Ray; pip install 'colormotion[ray]')")
    group.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="render chunks as Ray tasks: on a local Ray cluster started for the job, or on the "
        "cluster at ADDRESS (host:port); every machine must see INPUT and OUTPUT at the same paths",
    )
    group.add_argument(
        "--chunk", type=int, metavar="N", help="frames per Ray task (default: about 4 tasks per CPU, >= 16)"
    )
    group.add_argument(
        "--ray-threads",
        type=int,
        default=1,
        metavar="N",
        help="CPUs (model threads) per Ray task (default 1)",
    )
    group.add_argument(
        "--ray-workers",
        type=int,
        metavar="N",
        help="worker processes of a local Ray cluster (default: one per CPU core)",
    )


# colorize options about how a render is split and written, not what it renders: a farm plan
# sets them per chunk (see shared_options, farm.plan)
SPLIT_OPTIONS = frozenset({"frames", "overwrite", "quiet", "ray", "chunk", "ray_threads", "ray_workers"})


def standalone_parser() -> argparse.ArgumentParser:
    """The colorize parser on its own (INPUT OUTPUT [options]), to check or rebuild options."""
    return add_parser(argparse.ArgumentParser(add_help=False).add_subparsers())


def split_flags() -> set[str]:
    """The command-line spellings of SPLIT_OPTIONS (--frames, -q, --quiet ...)."""
    return {
        flag for a in standalone_parser()._actions if a.dest in SPLIT_OPTIONS for flag in a.option_strings
    }


def shared_options(args: argparse.Namespace) -> list[str]:
    """The colorize options of `args` as command-line words, for each chunk of a split render
    (every option that is not about the split itself, where it differs from its default)."""
    words: list[str] = []
    for action in standalone_parser()._actions:  # argparse keeps its options there
        if action.dest in SPLIT_OPTIONS or action.dest == "help" or not action.option_strings:
            continue
        value = getattr(args, action.dest, None)
        if value is None or value == action.default:
            continue
        flag = (
            action.option_strings[-1]
            if action.option_strings[-1].startswith("--")
            else action.option_strings[0]
        )
        if action.nargs == 0:
            words.append(flag)
        elif isinstance(value, list):
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return words


def add_encode_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("video output")
    group.add_argument(
        "--codec",
        help="video encoder (default: libx264 for .mp4, prores_ks for .mov, ffv1 (lossless) for .mkv)",
    )
    group.add_argument("--crf", type=float, help="quality for x264/x265/vpx (lower is better; default 16)")
    group.add_argument(
        "--fps",
        type=frame_rate,
        metavar="RATE",
        help="frame rate of a video made from images (default: the images' metadata, else 24)",
    )
    group.add_argument(
        "--preset",
        choices=(
            "ultrafast",
            "superfast",
            "veryfast",
            "faster",
            "fast",
            "medium",
            "slow",
            "slower",
            "veryslow",
        ),
        help="x264/x265 speed preset (default veryfast; slower presets make smaller files)",
    )
    group.add_argument(
        "--pix-fmt", help="encoder pixel format (default: yuv420p for H.264, yuv422p10le for ProRes)"
    )


def _requested_frames(args: argparse.Namespace, first: int, last: int) -> range:
    if args.frames is None:
        return range(first, last + 1)
    start, stop = args.frames
    if start < first or stop > last:
        raise UsageError(
            f"--frames {start}-{stop} lies outside the input's frames {first}-{last}", args.input
        )
    return range(start, stop + 1)


class TimedSource:
    """The clip as the node sees it, with decoding time recorded under the "decode" stage. One
    thread decodes at a time: the readers keep one decoder position and frame cache."""

    def __init__(self, source) -> None:
        self._source = source
        self._lock = threading.Lock()
        self.first_frame = source.first_frame
        self.last_frame = source.last_frame
        self.random_access = source.random_access
        self.identity = source.identity

    def frame(self, t: int) -> np.ndarray:
        with self._lock, profiling.stage("decode"):
            return self._source.frame(t)

    def original(self, t: int) -> np.ndarray:
        """Frame t without timing it (the render has just decoded it: a cache hit)."""
        with self._lock:
            return self._source.frame(t)


def render_in_order(node, params, timed_source: TimedSource, frames, threads: int = 1):
    """(t, colour frame with the input's alpha) for `frames`, in order. With several threads,
    frame t+1's model steps run while frame t is recoloured at full resolution; the engine gives
    the same frames whatever the thread count (its states are keyed, computed once, shared)."""

    def render(t: int) -> np.ndarray:
        return restore_alpha(node.render(t, timed_source, params), timed_source.original(t))

    if threads <= 1:
        for t in frames:
            yield t, render(t)
        return
    pool = ThreadPoolExecutor(threads, thread_name_prefix="colormotion-render")
    try:
        pending: deque = deque()
        for t in frames:
            pending.append((t, pool.submit(render, t)))
            if len(pending) > threads:  # bounded: at most `threads` frames ahead of the writer
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # frames in flight finish; queued ones drop


def restore_alpha(rendered: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Give the output the input's alpha when the render returned colour only."""
    if original.shape[2] == 4 and rendered.shape[2] == 3:
        alpha = original[:, :, 3:4]
        if alpha.dtype != rendered.dtype:
            alpha = _convert_alpha(alpha, rendered.dtype)
        return np.concatenate([rendered, alpha], axis=2)
    return rendered


def _convert_alpha(alpha: np.ndarray, dtype: np.dtype) -> np.ndarray:
    scale_in = np.iinfo(alpha.dtype).max if alpha.dtype.kind == "u" else 1.0
    values = alpha.astype(np.float32) / scale_in
    if np.dtype(dtype).kind == "u":
        top = np.iinfo(dtype).max
        return (np.clip(values, 0.0, 1.0) * top + 0.5).astype(dtype)
    return values.astype(dtype)


def _output_clip_info(info: ClipInfo, fps: Fraction | None) -> ClipInfo:
    """The input's description, with the user's frame rate for a video made from images."""
    if fps is None:
        return info
    if info.kind == "video":
        raise UsageError("--fps applies to image input; a video keeps its own frame rate", info.files[0])
    return dataclasses.replace(info, fps=fps)


def frame_rate(text: str) -> Fraction:
    """'24', '23.976', '30000/1001' -> Fraction; argparse type."""
    try:
        rate = Fraction(text.strip()).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"expected a frame rate like 24, 25 or 30000/1001, got {text!r}"
        ) from None
    if not 0 < rate <= 1000:
        raise argparse.ArgumentTypeError(f"frame rate must be within 0..1000, got {text!r}")
    return rate


def run(args: argparse.Namespace) -> int:
    engine.validate_engine_arguments(args)
    if args.render_threads < 1:
        raise UsageError(f"--render-threads must be at least 1, got {args.render_threads}")
    if args.ray is not None:
        from ..farm import ray_driver

        return ray_driver.run(args, shared_options(args))
    if args.chunk is not None:
        raise UsageError("--chunk splits a render for --ray; add --ray (or use colormotion farm outline)")
    source = open_source(args.input, cache_frames=engine.cache_frames(args, args.render_threads))
    try:
        frames = _requested_frames(args, source.first_frame, source.last_frame)
        hints = engine.load_hints(args.hints)
        if hints:
            _warn_inactive_hints(hints, frames, source)
        references = engine.load_references(args.reference, hints, source.first_frame, source.last_frame)
        settings = EncodeSettings(codec=args.codec, crf=args.crf, pix_fmt=args.pix_fmt, preset=args.preset)
        sink = BackgroundSink(
            open_sink(
                args.output,
                _output_clip_info(source.info, args.fps),
                frames,
                overwrite=args.overwrite,
                settings=settings,
                spec_of=source.spec,
            ),
            stage=profiling.stage,
        )
        try:
            node, params = engine.build_node(args, hints, references)
            if not args.quiet:
                model = node.model(0, params)
                print(
                    f"colormotion: model {model.path.name} ({model.version}) on {model.provider}",
                    file=sys.stderr,
                )
            begin = time.perf_counter()
            with engine.in_order_cache(args, source.info.height, source.info.width):
                _render(
                    node,
                    params,
                    TimedSource(source),
                    frames,
                    sink,
                    quiet=args.quiet,
                    threads=args.render_threads,
                    on_frame=getattr(args, "on_frame", None),
                )
            sink.commit()
            if not args.quiet:
                seconds = time.perf_counter() - begin
                print(
                    f"colormotion: wrote {len(frames)} frame(s) to {args.output} ({len(frames) / seconds:.1f} fps)",
                    file=sys.stderr,
                )
        except BaseException:
            sink.discard()
            raise
    finally:
        source.close()
    return 0


def _warn_inactive_hints(hints, frames: range, source) -> None:
    inactive = hints.inactive_over(frames.start, frames.stop - 1)
    if not inactive:
        return
    listed = ", ".join(
        f"{hint.id!r} (keys on frames {hint.first_frame}..{hint.last_frame})" for hint in inactive
    )
    numbering = "; video frames and single images count from 1" if source.info.kind != "sequence" else ""
    log.warning(
        "hints never active on the rendered frames %d-%d (the clip has frames %d-%d%s), so they change nothing: %s",
        frames.start,
        frames.stop - 1,
        source.first_frame,
        source.last_frame,
        numbering,
        listed,
    )


def _render(
    node, params, timed_source, frames: range, sink, *, quiet: bool, threads: int = 1, on_frame=None
) -> None:
    """Render `frames` into `sink`; `on_frame(done, total)` after each (an editor's progress
    dialog: raising KeyboardInterrupt there cancels, as Ctrl-C does)."""
    from tqdm import tqdm

    with tqdm(
        total=len(frames), unit="frame", file=sys.stderr, disable=quiet, dynamic_ncols=True
    ) as progress:
        for t, rendered in render_in_order(node, params, timed_source, frames, threads):
            sink.write(t, rendered)  # encoded on the writer thread, timed as "encode"
            progress.update(1)
            if on_frame is not None:
                on_frame(progress.n, len(frames))
