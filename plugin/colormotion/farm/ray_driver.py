"""`colormotion colorize IN OUT --ray [ADDRESS]`: one render as Ray tasks, one per chunk.

With no address a local Ray cluster starts (and stops with the job); with one, the driver joins
that cluster. Every machine must see the input and the output's folder at the same paths (a
shared filesystem, as on any render farm) and have ColorMotion installed.

Each task renders one chunk (`colorize --frames A-B`, exact as a single render) into a staging
folder beside the output (``.<output name>.ray-<id>/``). Ray re-runs the task of a worker that
dies; a chunk whose task keeps failing stops the job, naming the chunk and its error. Only the
driver writes at the final path: an image sequence frame by frame as chunks finish (each frame
renamed into place once, never replacing), a video by joining the chunk videos at the end
without re-encoding. On Ctrl-C or a failure the driver leaves the job, which stops its tasks,
and removes every file it placed and the staging folder.
"""

from __future__ import annotations

import logging
import math
import shutil
import signal
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ..io.atomic import place
from ..io.errors import OutputError, UsageError
from ..io.sequence import parse_pattern
from .plan import Chunk, FarmPlan, join, make_plan

log = logging.getLogger("colormotion")

TASK_RETRIES = 2  # a chunk runs at most 1 + TASK_RETRIES times
MIN_CHUNK = 16  # shorter chunks spend more on start-up and warm-up than on frames


class ChunkFailed(RuntimeError):
    """A chunk failed on every attempt; exits with the code its own error has."""

    def __init__(self, chunk: Chunk, error: BaseException) -> None:
        from ..cli.main import EXIT_INTERNAL, _message, exit_code_of

        cause = getattr(error, "cause", None)  # what the task raised, which Ray wraps
        if cause is None:  # the worker died: no exception of ours inside
            text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            code = None
        else:
            text, code = _message(cause), exit_code_of(cause)
        super().__init__(f"frames {chunk.label} failed on every attempt: {text}")
        self.exit_code = code if code is not None else EXIT_INTERNAL


def _import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'colormotion[ray]'") from None
    return ray


def render_chunk(arguments: list[str], threads: int) -> int:
    """Run on a Ray worker: `colormotion` with `arguments`; errors propagate to the driver."""
    import os

    os.environ["COLORMOTION_THREADS"] = str(threads)  # one chunk per CPU Ray gave this task
    from ..cli.main import build_parser

    parsed = build_parser().parse_args(arguments)
    parsed.render_threads = threads  # the CPUs Ray gave this task, no more
    return parsed.run(parsed)


def default_chunk(frame_count: int, cpus: int) -> int:
    """About four chunks per CPU (so a slow or lost worker delays little), at least MIN_CHUNK."""
    return max(MIN_CHUNK, math.ceil(frame_count / max(1, 4 * cpus)))


def run(args, options: list[str]) -> int:
    """Render args.input into args.output on a Ray cluster; `options` are the chunks' shared
    colorize options."""
    ray = _import_ray()
    started_here = not args.ray or args.ray == "local"
    for name in ("chunk", "ray_threads", "ray_workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.ray_workers is not None and not started_here:
        raise UsageError("--ray-workers sizes a local Ray cluster; a cluster at an address has its own")
    frame_count = _check_render(args)
    try:
        ray.init(
            address=None if started_here else args.ray,
            num_cpus=args.ray_workers if started_here else None,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=False,
            configure_logging=False,
        )
    except ConnectionError as error:
        raise UsageError(f"cannot join the Ray cluster at {args.ray}: {error}") from None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        job = make_plan(
            args.input,
            args.output,
            args.chunk or default_chunk(frame_count, cpus),
            frames=args.frames,
            options=options,
            overwrite=args.overwrite,
        )
        return _drive(ray, job, quiet=args.quiet, threads=args.ray_threads)
    finally:
        ray.shutdown()


def _check_render(args) -> int:
    """What every chunk would refuse, refused once here before a cluster starts: a model that is
    missing or broken, a bad hints file, a reference outside the clip (the chunks load them again).
    Returns the number of frames to render."""
    from ..cli import engine
    from ..io.source import open_source

    source = open_source(args.input, cache_frames=1)
    try:
        hints = engine.load_hints(args.hints)
        references = engine.load_references(args.reference, hints, source.first_frame, source.last_frame)
        first, last = args.frames or (source.first_frame, source.last_frame)
    finally:
        source.close()
    engine.build_node(args, hints, references)
    return last - first + 1


def _staging(job: FarmPlan) -> Path:
    output = Path(job.output)
    return output.parent / f".{output.name.replace('#', '_')}.ray-{uuid.uuid4().hex[:8]}"


def _chunk_job(job: FarmPlan, staging: Path) -> FarmPlan:
    """The plan the tasks run: every chunk writes into the staging folder."""
    return replace(job, output=str(staging / Path(job.output).name))


def _drive(ray, job: FarmPlan, quiet: bool, threads: int) -> int:
    staging = _staging(job)
    staging.mkdir(parents=True)
    task_job = _chunk_job(job, staging)
    if task_job.needs_join:
        task_job.staging.mkdir()
    remote = ray.remote(num_cpus=threads, max_retries=TASK_RETRIES, retry_exceptions=True)(render_chunk)
    pending = {remote.remote(task_job.chunk_arguments(chunk), threads): chunk for chunk in job.chunks}
    placed: list[Path] = []
    done_frames, begin = 0, time.perf_counter()
    total = job.last - job.first + 1
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in ready:
                chunk = pending.pop(ref)
                try:
                    ray.get(ref)
                except Exception as error:  # the task's own error, after its retries
                    raise ChunkFailed(chunk, error) from None
                if not job.needs_join:
                    _place_frames(task_job, job, chunk, placed)
                done_frames += len(chunk.frames)
                if not quiet:
                    done_chunks = len(job.chunks) - len(pending)
                    _progress(done_frames, total, time.perf_counter() - begin, done_chunks, len(job.chunks))
        if job.needs_join:
            join(job, parts=[Path(task_job.chunk_output(chunk)) for chunk in job.chunks])
    except BaseException:
        # Leaving the job stops its tasks: Ray ends the tasks a driver submitted when the driver
        # disconnects (and a local cluster goes with it). ray.cancel is not used: cancelling tasks
        # that are just finishing trips a check in Ray 2.60's task manager and aborts the driver.
        ray.shutdown()
        for path in placed:
            path.unlink(missing_ok=True)
        raise
    finally:
        _remove(staging)
    if not quiet:
        seconds = time.perf_counter() - begin
        print(
            f"colormotion: wrote {total} frame(s) to {job.output} ({total / seconds:.1f} fps)",
            file=sys.stderr,
        )
    return 0


def _remove(folder: Path, attempts: int = 20) -> None:
    """Remove a staging folder, again while a stopping worker may still be writing into it."""
    for _ in range(attempts):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.1)


def _place_frames(task_job: FarmPlan, job: FarmPlan, chunk: Chunk, placed: list[Path]) -> None:
    """Rename a finished chunk's frames into place, each once, never over an existing file, and
    add each to `placed` as it lands, so that a Ctrl-C between two frames removes them all."""
    staged, final = parse_pattern(task_job.output), parse_pattern(job.output)
    for t in chunk.frames:
        source, target = staged.path(t), final.path(t)
        if not source.is_file():
            raise OutputError(f"chunk {chunk.label} finished without frame {t}", source)
        with _interrupts_deferred():  # a frame placed is a frame recorded
            place(source, target, overwrite=job.overwrite)
            placed.append(target)


@contextmanager
def _interrupts_deferred():
    """Hold Ctrl-C and SIGTERM until the block ends, then act on them as before (main thread
    only: elsewhere signals are not delivered to Python code anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, lambda received, _frame: caught.append(received))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if caught:  # act on the first signal held, as its handler would have
            number = caught[0]
            handler = previous[number]
            if callable(handler):
                handler(number, None)  # Python's Ctrl-C handler, or the CLI's for SIGTERM: raise
            elif handler == signal.SIG_DFL:
                signal.raise_signal(number)


def _progress(frames: int, total: int, seconds: float, chunks: int, all_chunks: int) -> None:
    fps = frames / seconds if seconds > 0 else 0.0
    eta = (total - frames) / fps if fps > 0 else float("inf")
    print(
        f"colormotion: {frames}/{total} frames, {chunks}/{all_chunks} chunks, {fps:.1f} fps, ETA {eta:.0f} s",
        file=sys.stderr,
        flush=True,
    )
