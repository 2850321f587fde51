"""Benchmark of the bundle in MLT's melt (the engine of Kdenlive and Shotcut) at 1080p.

Scan cost (`melt -query producers` with and without the bundle on OFX_PLUGIN_PATH), first-frame
latency, and the per-frame cost inside melt against the node alone in this process on the same
decoded pixels, handed over as melt does (RGBA, streamed in order, real_time=0). melt writes raw
video to /dev/null so that encoding in its own threads does not compete. Prints numbers only.

A shared machine's speed drifts over minutes (another job, a noisy neighbour on a VM), so melt
and the node alone run in alternation, `--repeats` times, and each melt run is compared with
the node run next to it; the summary is the median of those ratios.

    python ofx_bridge/bench/bench_melt.py [--melt PATH] [--frames 24] [--width 1920] [--height 1080] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "plugin")]

from colormotion.cli import ofx as ofx_cli  # noqa: E402
from colormotion.node import ColorizeNode, StaticParams  # noqa: E402

from tests.test_melt import DEFAULT_MELT, FILTER, write_gray_clip  # noqa: E402


def run_melt(melt: Path, arguments: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([str(melt), *arguments], check=True, capture_output=True, env={**os.environ, **env})
    return time.perf_counter() - started


def melt_timings(melt: Path, clip: Path, bundle_dir: Path, log: Path) -> list[tuple[float, float]]:
    """(total ms, node ms) of each frame the bundle rendered in melt, from the bridge's log."""
    env = {
        "OFX_PLUGIN_PATH": str(bundle_dir),
        "COLORMOTION_OFX_LOG": str(log),
        "COLORMOTION_OFX_TIMINGS": "1",
    }
    # raw video to /dev/null: encoding in melt's own threads would compete with the node
    consumer = ["-consumer", "avformat:/dev/null", "f=rawvideo", "vcodec=rawvideo", "real_time=0"]
    run_melt(melt, ["-silent", str(clip), "-filter", FILTER, *consumer], env)
    found = re.findall(r"render t=\d+ total=([\d.]+) ms node=([\d.]+) ms", log.read_text())
    return [(float(total), float(node)) for total, node in found]


def node_alone(frames: list[np.ndarray]) -> list[float]:
    """ms per frame of a fresh ColorizeNode fed the frames as the bridge feeds it in melt:
    streamed, the current frame only, no identity."""
    from colormotion.temporal.cache import PROCESS_CACHE

    class Streamed:
        first_frame, last_frame, random_access, identity, current = 0, len(frames) - 1, False, None, 0

        def frame(self, t: int) -> np.ndarray:
            return frames[self.current]

    PROCESS_CACHE.clear()  # as a fresh melt process starts: nothing cached from the last run
    node, source, params = ColorizeNode(), Streamed(), StaticParams()
    times = []
    for t in range(len(frames)):
        source.current = t
        started = time.perf_counter()
        node.render(t, source, params)
        times.append(1e3 * (time.perf_counter() - started))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--melt", type=Path, default=Path(os.environ.get("COLORMOTION_MELT", DEFAULT_MELT)))
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--repeats", type=int, default=3, help="melt and node-alone runs, alternated")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    with tempfile.TemporaryDirectory(prefix="colormotion-melt-bench-") as scratch:
        work = Path(scratch)
        bundle_dir = work / "ofx"
        ofx_cli.build_bundle(bundle_dir)
        scans = {
            label: statistics.median(
                run_melt(args.melt, ["-query", "producers"], {"OFX_PLUGIN_PATH": path}) for _ in range(5)
            )
            for label, path in (("without the bundle", ""), ("with the bundle", str(bundle_dir)))
        }
        for label, seconds in scans.items():
            print(f"melt -query producers {label}: {1e3 * seconds:.0f} ms (median of 5)")

        clip = write_gray_clip(work / "clip.mkv", args.width, args.height, count=args.frames)
        (work / "decoded").mkdir()
        decoded = ["-consumer", f"avformat:{work}/decoded/f_%04d.png", "vcodec=png", "real_time=0"]
        run_melt(args.melt, ["-silent", str(clip), *decoded], {})
        # RGBA, as melt hands the filter its frames
        frames = [
            cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGBA)
            for p in sorted((work / "decoded").glob("f_*.png"))
        ]
        ratios = []
        for repeat in range(args.repeats):
            timings = melt_timings(args.melt, clip, bundle_dir, work / f"ofx-{repeat}.log")
            alone = node_alone(frames)
            later = timings[1:]
            in_melt = statistics.median(t for t, _ in later)
            ratios.append(in_melt / statistics.median(alone[1:]))
            print(f"run {repeat + 1}: {len(timings)} x {args.width}x{args.height}, melt real_time=0")
            print(f"  first frame in melt (starts Python, loads the model): {timings[0][0]:.0f} ms")
            print(f"  later frames in melt, median: {in_melt:.1f} ms")
            print(
                f"    of which ColorizeNode.render, median: {statistics.median(n for _, n in later):.1f} ms"
            )
            print(
                f"  node alone in this process (same RGBA frames, streamed), median: {statistics.median(alone[1:]):.1f} ms"
            )
            print(f"  melt / node alone: {ratios[-1]:.2f}x")
    print(f"melt / node alone, median of {len(ratios)} runs: {statistics.median(ratios):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
