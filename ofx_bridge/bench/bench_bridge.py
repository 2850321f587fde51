"""Benchmark of the OpenFX bridge: load time, Python start, first-frame latency and the per-frame
overhead of the bridge over the engine, at 1080p.

Builds the bundle and the C test host (tests/ofx_host), renders N frames in order through the
host (Natron-like, one instance, one thread) with COLORMOTION_OFX_TIMINGS=1 so the plug-in logs
the time spent inside ColorizeNode.render, then renders the same frames with the node in this
process. Prints numbers only; nothing is asserted.

    python ofx_bridge/bench/bench_bridge.py [--frames 6] [--width 1920] [--height 1080] [--model PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "plugin")]

from colormotion.cli import ofx as ofx_cli  # noqa: E402
from colormotion.node import ColorizeNode, StaticParams  # noqa: E402

from tests.ofx_host import harness  # noqa: E402


def gray_clip(count: int, height: int, width: int) -> list[np.ndarray]:
    """uint8 RGBA frames with texture and motion (the content does not change the cost much)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    noise = rng.random((height, width)).astype(np.float32)
    frames = []
    for t in range(count):
        gray = 0.5 + 0.3 * np.sin((xx + 4 * t) / 40.0) * np.cos(yy / 55.0) + 0.1 * noise
        value = np.clip(gray * 255, 0, 255).astype(np.uint8)
        frames.append(np.dstack([value, value, value, np.full_like(value, 255)]))
    return frames


class Frames:
    identity = None
    random_access = True

    def __init__(self, frames):
        self.frames, self.first_frame, self.last_frame = frames, 0, len(frames) - 1

    def frame(self, t):
        return self.frames[t]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--model", type=Path, help="ONNX step model (default: a random-weight export)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="colormotion-ofx-bench-") as scratch:
        work = Path(scratch)
        model = args.model
        if model is None:
            from training.export import export_random_model

            model = export_random_model(work / "random.onnx", seed=0)
        os.environ["COLORMOTION_MODEL"] = str(model)
        frames = gray_clip(args.frames, args.height, args.width)
        bundle = ofx_cli.build_bundle(work / "build")
        host = harness.compile_host(work)
        run = harness.run_host(
            host,
            harness.bundle_binary(bundle),
            work,
            input_dir=harness.write_frames(work / "in", frames),
            last=args.frames - 1,
            render=range(args.frames),
            extra=["bench_actions 2000"],
            env={"COLORMOTION_OFX_TIMINGS": "1"},
            timeout=3600,
        )
        if not run.survived or set(run.render_status().values()) != {0}:
            print(run.describe())
            return 1
        log = (work / "ofx.log").read_text()
        node_ms = {
            int(t): float(ms) for t, ms in re.findall(r"render t=(\d+) total=[\d.]+ ms node=([\d.]+) ms", log)
        }
        host_ms = run.render_ms()

        node = ColorizeNode()
        source = Frames(frames)
        direct_ms = {}
        for t in range(args.frames):
            started = time.perf_counter()
            node.render(t, source, StaticParams())
            direct_ms[t] = 1e3 * (time.perf_counter() - started)

    steady = range(1, args.frames)
    overhead = [host_ms[t] - node_ms[t] for t in steady]
    print(f"frames: {args.frames} x {args.width}x{args.height} uint8 RGBA, model {model}")
    print(f"load (dlopen + OfxGetPlugin + Load, no Python): {run.timing('load'):.2f} ms")
    print(f"describe (starts Python, imports the bridge):   {run.timing('describe'):.1f} ms")
    print(f"describe in context (parameters from specs):    {run.timing('describe_in_context'):.1f} ms")
    print(f"no-op action round trip host->Python->host:     {run.timing('action_noop_us'):.1f} us")
    print(
        f"GetClipPreferences round trip:                  {run.timing('action_clip_preferences_us'):.1f} us"
    )
    print(
        f"first frame through the host (loads model):     {host_ms[0]:.1f} ms (node alone in-process {direct_ms[0]:.1f} ms)"
    )
    print(
        f"later frames through the host, median:          {statistics.median(host_ms[t] for t in steady):.1f} ms"
    )
    print(
        f"  of which ColorizeNode.render, median:         {statistics.median(node_ms[t] for t in steady):.1f} ms"
    )
    print(f"  bridge overhead per frame, median:            {statistics.median(overhead):.1f} ms")
    print(
        f"node alone in this process, median:             {statistics.median(direct_ms[t] for t in steady):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
