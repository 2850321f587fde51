"""`colormotion bench`: per-stage cost, throughput and peak memory of the whole CLI pipeline.

Each scenario renders a sample clip from a video file to a video file (sequential) or to an
image sequence in shuffled frame order with the engine's cache emptied before every frame
(cold random access: a render-farm task or a host jumping to a frame), each in a fresh
interpreter so that its peak memory is its own.

Beside the per-stage table it prints each stage's share of the wall time, the model's achieved
GFLOP/s against this machine's measured matrix-multiply peak, and one line per target of the
speed plan (met or not, with the figure).

A machine's speed drifts through the day, so two models compare only within one sitting:
`--compare` alternates a second model's runs with the first's, `--rounds` repeats them and
reports the run of median fps with the range.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..io.errors import UsageError
from . import engine

STAGES = ("decode", "lab", "cuts", "flow", "hints", "model", "upsample", "encode")


@dataclass(frozen=True)
class Scenario:
    name: str
    width: int
    height: int
    working_resolution: int | None
    order: str  # "sequential" | "random"
    target_fps: float


SCENARIOS = (
    Scenario("256x256", 256, 256, 256, "sequential", 60.0),
    Scenario("256x256", 256, 256, 256, "random", 0.0),
    Scenario("1080p", 1920, 1080, None, "sequential", 24.0),
    Scenario("1080p", 1920, 1080, None, "random", 0.0),
)
PEAK_MB_TARGET = 1024.0  # 1080p in order
HOST_RATIO_TARGET = 1.2  # inside an OpenFX host, measured by ofx_bridge/bench/bench_melt.py


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "bench",
        help="measure speed and memory per pipeline stage",
        description="Render sample clips at 256x256 and 1080p and print ms/frame per stage, fps and peak memory.",
    )
    parser.add_argument("--model", metavar="PATH", help="the model (default: the bundled model)")
    parser.add_argument(
        "--compare",
        metavar="PATH",
        help="a second model, its runs alternated with --model's in the same sitting (the machine's "
        "speed drifts, so only figures of one sitting compare)",
    )
    parser.add_argument("--provider", choices=engine.PROVIDER_CHOICES, default="auto")
    parser.add_argument(
        "--frames", type=int, default=48, metavar="N", help="frames per scenario (default 48)"
    )
    parser.add_argument("--only", choices=("256x256", "1080p"), help="run one size only")
    parser.add_argument("--order", choices=("sequential", "random"), help="run one order only")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        metavar="N",
        help="run each scenario N times (alternating models with --compare) and report the run of "
        "median fps, with the range (default 1)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    if args.frames < 2:
        raise UsageError(f"--frames must be at least 2, got {args.frames}")
    if args.rounds < 1:
        raise UsageError(f"--rounds must be at least 1, got {args.rounds}")
    if args.compare is not None:
        from ..model import load_model

        load_model(args.compare, args.provider)  # a bad model fails now, not after the first's runs
    scenarios = [s for s in SCENARIOS if args.only in (None, s.name) and args.order in (None, s.order)]
    # (label, path): labels only when two models share the table
    models = (
        [(None, args.model)] if args.compare is None else [("model", args.model), ("compare", args.compare)]
    )
    context = multiprocessing.get_context("spawn")
    peak = peak_gflops()
    rows = []
    with tempfile.TemporaryDirectory(prefix="colormotion-bench-") as folder:
        for scenario in scenarios:
            runs: list[list[dict]] = [[] for _ in models]
            for round_index in range(args.rounds):
                for (_, model), model_runs in zip(models, runs):
                    print(
                        f"running {scenario.name} {scenario.order} ({model or 'bundled model'}, run "
                        f"{round_index + 1} of {args.rounds}) ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    with context.Pool(1) as pool:  # a fresh interpreter: its peak memory is its own
                        model_runs.append(
                            pool.apply(run_scenario, (scenario, args.frames, model, args.provider, folder))
                        )
            for (label, _), model_runs in zip(models, runs):
                rows.append(median_run(model_runs) | ({"label": label} if label else {}))
    print(format_table(rows))
    print()
    print(format_shares(rows))
    print()
    print(format_compute(rows, peak))
    print()
    print(format_targets(rows))
    if args.compare is not None:
        print()
        print(format_comparison(rows))
    used = dict.fromkeys(f"{row.get('label', 'model')}: {row['model']}" for row in rows)
    print(f"{os.cpu_count()} CPU cores; {'; '.join(used) or 'model: -'}")
    encoders = sorted({row["encoder"] for row in rows if row["encoder"]})
    if encoders:
        print(f"video output as the command line writes it by default: {'; '.join(encoders)}")
    return 0


def peak_gflops(size: int = 1024, repeats: int = 5) -> float:
    """This machine's float32 matrix-multiply rate with every core (numpy's BLAS), best of `repeats`:
    about the most a convolution network can reach here."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = a.T.copy()
    a @ b  # warm up the BLAS threads
    best = float("inf")
    for _ in range(repeats):
        begin = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - begin)
    return 2 * size**3 / best / 1e9


def run_scenario(scenario: Scenario, frame_count: int, model: str | None, provider: str, folder: str) -> dict:
    """Render one scenario; returns its figures (runs in a child interpreter)."""
    from .. import profiling
    from ..io.sink import BackgroundSink, open_sink
    from ..io.source import open_source
    from .colorize import RENDER_THREADS, TimedSource, render_in_order
    from .sample import write_sample_clip

    work = Path(folder)
    clip = work / f"input-{scenario.width}x{scenario.height}.mp4"
    if not clip.exists():
        write_sample_clip(clip, frame_count, scenario.width, scenario.height)
    arguments = argparse.Namespace(
        model=model,
        provider=provider,
        stateless=False,
        strength=None,
        vividness=None,
        hint_spread=None,
        working_resolution=scenario.working_resolution,
        window=None,
        cut_sensitivity=None,
        transfer=None,
        # as colorize renders in order; a random access renders one frame at a time
        render_threads=1 if scenario.order == "random" else RENDER_THREADS,
    )
    node, params = engine.build_node(arguments, None)
    in_order = None if scenario.order == "random" else arguments.render_threads
    source = open_source(clip, cache_frames=engine.cache_frames(arguments, in_order))
    frames = list(range(source.first_frame, source.last_frame + 1))
    if scenario.order == "random":
        random.Random(0).shuffle(frames)
        # uncompressed TIFF: a farm's file format choice should not dominate the engine's figures
        output = work / f"random-{scenario.name}" / "frame.####.tif"
    else:
        output = work / f"out-{scenario.name}.mp4"
    frame_range = range(source.first_frame, source.last_frame + 1)
    written = open_sink(output, source.info, frame_range, overwrite=True, spec_of=_uncompressed)
    encoder = getattr(written, "encoding", None)  # the command line's defaults: the encoder's share is theirs
    sink = BackgroundSink(written, stage=profiling.stage)
    timed = TimedSource(source)
    node.render(frames[0], timed, params)  # load the model and warm up before timing
    _clear_engine_cache()
    profiling.reset()
    begin = time.perf_counter()
    if scenario.order == "random":
        for t in frames:
            _clear_engine_cache()  # cold: as a farm task or a host jumping to a frame finds it
            sink.write(t, next(render_in_order(node, params, timed, [t]))[1])
    else:  # as colormotion colorize renders: its default render threads and cache bound
        with engine.in_order_cache(arguments, source.info.height, source.info.width):
            for t, rendered in render_in_order(node, params, timed, frames, RENDER_THREADS):
                sink.write(t, rendered)
    with profiling.stage("encode"):
        sink.commit()  # waits for the writer and flushes the encoder's delayed frames
    seconds = time.perf_counter() - begin
    source.close()
    stages = profiling.snapshot()
    loaded = node.model(frames[0], params)
    model_path, provider_name = loaded.path, loaded.provider
    count = len(frames)
    model_gflops = profiling.work().get("model_gflops")
    return {
        "scenario": scenario,
        "frames": count,
        "seconds": seconds,
        "ms": {name: 1000.0 * stages[name].seconds / count for name in stages},
        "steps": stages["model"].calls / count if "model" in stages else float("nan"),
        "step_equivalents": _step_equivalents(loaded, stages, model_gflops, count, source.info),
        "model_gflops": model_gflops,
        "window": arguments.window or engine.DEFAULT_WINDOW,
        "fps": count / seconds,
        "model": f"{model_path} ({provider_name})",
        "encoder": encoder,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def median_run(runs: list[dict]) -> dict:
    """The run of median fps (the lower one of an even count), with every run's fps beside it:
    one real run's stage figures, not a mix of several."""
    ordered = sorted(runs, key=lambda run: run["fps"])
    return {**ordered[(len(ordered) - 1) // 2], "fps_runs": [run["fps"] for run in runs]}


def _step_equivalents(loaded, stages, model_gflops, count, info) -> float:
    """Model work per output frame in whole steps: calls of a contract-1 step model; for a
    contract-2 model, its GFLOPs over one frame's encode + blend + decode at the working size."""
    frame_gflops = getattr(loaded, "frame_gflops", None)
    if frame_gflops is None:
        return stages["model"].calls / count if "model" in stages else float("nan")
    from .. import colour

    per_frame = frame_gflops(*colour.working_size(info.height, info.width))
    if not model_gflops or not per_frame:
        return float("nan")
    return model_gflops / count / per_frame


def _uncompressed(t: int):
    import OpenImageIO as oiio

    spec = oiio.ImageSpec()
    spec.attribute("compression", "none")
    return spec


def _clear_engine_cache() -> None:
    try:
        from ..temporal.cache import PROCESS_CACHE
    except ImportError:
        return
    PROCESS_CACHE.clear()


def _row_name(row: dict) -> str:
    """'256x256 sequential', with the model's label when two models were compared."""
    scenario = row["scenario"]
    name = f"{scenario.name} {scenario.order}"
    return f"{name} [{row['label']}]" if "label" in row else name


def format_shares(rows: list[dict]) -> str:
    """Each stage's share of the wall time per frame. Stage times add up over the render threads
    (in order, `colormotion colorize --render-threads` frames at once) and encoding runs on its
    writer thread, so shares can add up past 100 %: what is left is the busiest resource."""
    stages = [name for name in STAGES if any(name in row["ms"] for row in rows)]
    lines = ["share of wall time per frame (times summed over render threads; encode on its writer thread)"]
    for row in rows:
        wall_ms = 1000.0 * row["seconds"] / row["frames"]
        shares = [f"{name} {100 * row['ms'][name] / wall_ms:.0f}%" for name in stages if name in row["ms"]]
        serial = sum(row["ms"][name] for name in stages if name in row["ms"] and name != "encode")
        shares.append(f"other {max(0.0, 100 * (1 - serial / wall_ms)):.0f}%")
        lines.append(f"  {_row_name(row)}: {wall_ms:.1f} ms = " + ", ".join(shares))
    return "\n".join(lines)


def format_compute(rows: list[dict], peak: float) -> str:
    lines = [f"model compute: this machine's float32 matmul peak is {peak:.0f} GFLOP/s (all cores)"]
    for row in rows:
        model_s = row["ms"].get("model", 0.0) * row["frames"] / 1000.0
        if not row["model_gflops"] or not model_s:
            rate = "- (the model records no FLOP counts: export it with training/export_v2.py)"
        else:
            achieved = row["model_gflops"] / model_s
            rate = f"{achieved:.0f} GFLOP/s, {100 * achieved / peak:.0f}% of peak"
        lines.append(f"  {_row_name(row)}: {rate}")
    return "\n".join(lines)


def format_targets(rows: list[dict]) -> str:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines = ["targets (2-core CPU, file in -> file out):"]
    for row in rows:
        scenario = row["scenario"]
        label = _row_name(row)
        if scenario.order == "sequential":
            lines.append(
                f"  {label}: {row['fps']:.1f} fps, target >= {scenario.target_fps:g}: "
                f"{verdict(row['fps'] >= scenario.target_fps)}"
            )
            if scenario.name == "1080p":
                lines.append(
                    f"  {label}: peak {row['peak_mb']:.0f} MB, target <= {PEAK_MB_TARGET:.0f}: "
                    f"{verdict(row['peak_mb'] <= PEAK_MB_TARGET)}"
                )
        else:
            limit = row["window"] / 2 + 2
            lines.append(
                f"  {label}: {row['step_equivalents']:.2f} model-step equivalents per frame, target <= "
                f"{limit:g} (window {row['window']}): {verdict(row['step_equivalents'] <= limit)}"
            )
    lines.append(
        f"  inside an OpenFX host: target <= {HOST_RATIO_TARGET}x the node alone, "
        "measured by python ofx_bridge/bench/bench_melt.py"
    )
    return "\n".join(lines)


def format_table(rows: list[dict]) -> str:
    stages = [name for name in STAGES if any(name in row["ms"] for row in rows)]
    labelled = any("label" in row for row in rows)
    ranged = any(len(row.get("fps_runs", ())) > 1 for row in rows)
    header = ["size", "order", *(["model"] if labelled else []), *stages, "model runs/fr", "fps"]
    header += [*(["fps range"] if ranged else []), "target", "peak MB"]
    lines = []
    for row in rows:
        scenario = row["scenario"]
        cells = [scenario.name, scenario.order, *([row["label"]] if labelled else [])]
        cells += [f"{row['ms'][name]:.1f}" if name in row["ms"] else "-" for name in stages]
        cells += [f"{row['steps']:.2f}", f"{row['fps']:.1f}"]
        if ranged:
            runs = row.get("fps_runs", [row["fps"]])
            cells.append(f"{min(runs):.1f}-{max(runs):.1f} ({len(runs)} runs)")
        cells += [f">={scenario.target_fps:g}" if scenario.target_fps else "-", f"{row['peak_mb']:.0f}"]
        lines.append(cells)
    widths = [max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))]
    text = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    text += ["  ".join(c.rjust(w) for c, w in zip(line, widths)) for line in lines]
    note = (
        "stage columns: ms per output frame (random access repeats chain steps: see model runs/fr, "
        "the onnxruntime calls per output frame: steps of a contract-1 model, or encode, blend and "
        "decode calls of a contract-2 one); encoding runs on a writer thread, overlapping the other stages"
    )
    if ranged:
        note += "; with several runs, each row is the run of median fps"
    return "\n".join([*text, note])


def format_comparison(rows: list[dict]) -> str:
    """--compare's model against --model's, scenario by scenario, from runs of one sitting."""
    lines = ["compare against model (same sitting, alternated runs; fps of the run of median fps):"]
    for row in rows:
        if row.get("label") != "compare":
            continue
        base = next(
            other for other in rows if other.get("label") == "model" and other["scenario"] == row["scenario"]
        )
        line = f"  {row['scenario'].name} {row['scenario'].order}: {row['fps'] / base['fps']:.2f}x fps"
        line += f" ({row['fps']:.1f} against {base['fps']:.1f})"
        if row["scenario"].order == "random":
            line += f", {row['step_equivalents']:.2f} against {base['step_equivalents']:.2f} step equivalents"
        lines.append(line)
    return "\n".join(lines)
