"""Throughput of `colorize --ray` with 1, 2 and 4 local worker processes, and what a chunk costs
beyond its frames.

    python -m colormotion.farm.bench_ray [--frames 96] [--size 256] [--chunk 24]

Prints, for the same sample clip and the bundled model: one plain process; Ray with N workers
(each task one model thread); and a chunk's overhead split into process start-up with model
load (a one-frame render in a fresh process, less one frame) and warm-up (the steps that rebuild
the temporal state before a chunk's first frame: a frame deep in the clip against frame 1).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _colorize(*argv: str, env: dict | None = None) -> float:
    """Seconds a `colormotion colorize` run takes in its own process."""
    command = [sys.executable, "-m", "colormotion.cli.main", "colorize", *argv, "-q", "--overwrite"]
    begin = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    return time.perf_counter() - begin


def _ray_startup(env: dict) -> float:
    code = "import ray; ray.init(num_cpus=1, include_dashboard=False); ray.shutdown()"
    begin = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    return time.perf_counter() - begin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--chunk", type=int, default=24)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args(argv)
    from ..cli.sample import write_sample_clip

    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    with tempfile.TemporaryDirectory(prefix="colormotion-bench-ray-") as folder:
        clip = Path(folder) / "clip.mp4"
        write_sample_clip(clip, args.frames, args.size, args.size)
        out = str(Path(folder) / "out" / "f.####.tif")
        single = _colorize(str(clip), out, env={**env, "COLORMOTION_THREADS": "1"})
        single_all = _colorize(str(clip), out, env=env)
        rows = [
            ("one process, 1 model thread", single),
            (f"one process, {os.cpu_count()} model threads", single_all),
        ]
        for workers in args.workers:
            seconds = _colorize(
                str(clip), out, "--ray", "--ray-workers", str(workers), "--chunk", str(args.chunk), env=env
            )
            rows.append((f"ray, {workers} worker process(es)", seconds))
        startup = _ray_startup(env)
        one_frame = single / args.frames
        first = _colorize(str(clip), out, "--frames", "1-1", env={**env, "COLORMOTION_THREADS": "1"})
        deep = _colorize(
            str(clip),
            out,
            "--frames",
            f"{args.frames - 1}-{args.frames - 1}",
            env={**env, "COLORMOTION_THREADS": "1"},
        )
    print(
        f"{args.frames} frames at {args.size}x{args.size}, chunks of {args.chunk}, {os.cpu_count()} CPU cores"
    )
    for name, seconds in rows:
        print(f"  {name:34s} {seconds:6.1f} s  {args.frames / seconds:5.1f} fps")
    print(f"starting and stopping a local Ray cluster (in each ray row): {startup:.1f} s")
    print(
        f"chunk overhead: start-up and model load {first - one_frame:.2f} s (a 1-frame render: {first:.2f} s),"
    )
    print(
        f"  warm-up before a chunk's first frame {deep - first:.2f} s, frames {one_frame * 1000:.0f} ms each"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
