"""Choose the engine's hint-spread constants on training photos (never the held-out split).

    python -m training.tune_spread --sigma 2 3 4 5       # the hint sweep for each edge sigma
    python -m training.tune_spread --scale 0.1 0.2 0.4   # or for each reach scale
    python -m training.tune_spread --gain 2000 50 --clips   # and 10 hints on training clips

Runs `training.evaluate`'s photo figures (hint sweep, hint fidelity, a ~25 % grid against none)
through the engine with the shipped model on `--per-folder` seeded training photos of each
shared-data folder, once per value of the constant given (`colormotion.temporal.propagate`'s
SPREAD_SCALE, SPREAD_SIGMA or SPREAD_GAIN), the others at their defaults, and prints a row each.
With `--clips`, also evaluate's sparse-hint persistence on TUNING_CLIPS (training clips): 10
hints on frame 0, carried on, PSNR against automatic colour on frames 1-10 and 31-59, the mean
over clips and the worst clip (a spread that helps on average can still ruin one clip).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from colormotion.graph_model import GraphModel
from colormotion.model import default_model_path
from colormotion.temporal import propagate

from training import evaluate, metrics
from training.data import DATA_ROOT, split

CONSTANTS = {"scale": "SPREAD_SCALE", "sigma": "SPREAD_SIGMA", "gain": "SPREAD_GAIN"}
TUNING_CLIPS = tuple(
    f"videos/{name}.mp4"
    for name in (
        "sam2_01_dog", "sam2_02_cups", "co-tracker_apple", "ECO_Crossing", "deep-video-prior_Bedroom",
        "Cutie_judo", "co-tracker_teddy", "sam2_05_default_juggle", "deep-video-prior_Haze2",
        "staple_vot15_ball1", "ProPainter_running_car", "opencv_vtest",
    )
)  # fmt: skip


def tuning_photos(per_folder: int, seed: int) -> list[str]:
    """`per_folder` training photos of each shared-data folder under stills/, drawn with `seed`."""
    rng = np.random.default_rng(seed)
    by_folder: dict[str, list[str]] = {}
    for path in split.train_photos(DATA_ROOT):
        by_folder.setdefault(path.split("/")[1], []).append(path)
    chosen = []
    for _, paths in sorted(by_folder.items()):
        picks = rng.choice(len(paths), size=min(per_folder, len(paths)), replace=False)
        chosen += [paths[i] for i in picks]
    return chosen


def photo_figures(evaluator: evaluate.Evaluator, images: list[np.ndarray]) -> dict:
    rows = [evaluator.photo(i, rgb) for i, rgb in enumerate(images)]
    sweep = {n: float(np.mean([row["sweep"][n] for row in rows])) for n in rows[0]["sweep"]}
    return {
        "sweep": sweep,
        "fidelity": float(np.mean([row["hint_fidelity"] for row in rows])),
        "mid_vs_none": float(np.mean([row["mid_density"] for row in rows])) - sweep["0"],
    }


def hint_gain_on_clips(evaluator: evaluate.Evaluator, clips: dict[str, list[np.ndarray]]) -> dict:
    """PSNR gain of 10 hints on frame 0 (carried on) over automatic colour: for each time bin,
    (mean, worst) over the clips that reach it."""
    gains = {"1-10": [], "31-59": []}
    for name, rgb in clips.items():
        hints = evaluate.persistence_hints(name, evaluate.prepare(rgb[0], evaluator.settings.work_short_side))
        auto, hinted = evaluator.render(rgb), evaluator.render(rgb, hints_at=hints)
        for label, (first, last) in (("1-10", (1, 10)), ("31-59", (31, 59))):
            frames = range(first, min(last, len(rgb) - 1) + 1)
            per_frame = [metrics.psnr(hinted[t], rgb[t]) - metrics.psnr(auto[t], rgb[t]) for t in frames]
            if per_frame:
                gains[label].append(float(np.mean(per_frame)))
    return {label: (float(np.mean(values)), float(np.min(values))) for label, values in gains.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for name in CONSTANTS:
        parser.add_argument(f"--{name}", type=float, nargs="+", help=f"values of {CONSTANTS[name]}")
    parser.add_argument("--per-folder", type=int, default=5)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--clips", action="store_true", help="also 10 hints on frame 0 of TUNING_CLIPS")
    args = parser.parse_args(argv)
    tried = [(name, values) for name in CONSTANTS if (values := getattr(args, name))]
    if len(tried) != 1:
        parser.error("give exactly one of --scale, --sigma, --gain")
    name, values = tried[0]
    paths = tuning_photos(args.per_folder, args.seed)
    images = [evaluate.load_photo_square(DATA_ROOT / path) for path in paths]
    settings = evaluate.Settings()
    evaluator = evaluate.Evaluator(GraphModel(default_model_path()), settings)
    clips = {}
    if args.clips:
        assert not any(split.is_val_clip(clip) or split.is_excluded_clip(clip) for clip in TUNING_CLIPS)
        clips = {name: evaluate.load_clip_frames(DATA_ROOT / name, settings) for name in TUNING_CLIPS}
    print(f"{len(images)} training photos; sweep PSNR (dB) by hint count", flush=True)
    default = getattr(propagate, CONSTANTS[name])
    try:
        for value in values:
            setattr(propagate, CONSTANTS[name], value)
            started = time.perf_counter()
            figures = photo_figures(evaluator, images)
            sweep = " ".join(f"{n}:{psnr:.2f}" for n, psnr in figures["sweep"].items())
            print(
                f"{name} {value:g}  {sweep}  grid vs none {figures['mid_vs_none']:+.2f}"
                f"  fidelity {figures['fidelity']:.2f}  ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
            if clips:
                gain = hint_gain_on_clips(evaluator, clips)
                print(
                    f"{name} {value:g}  10 hints on frame 0, gain over automatic (dB), mean / worst of "
                    f"{len(clips)} clips: frames 1-10 {gain['1-10'][0]:+.2f} / {gain['1-10'][1]:+.2f}, "
                    f"31-59 {gain['31-59'][0]:+.2f} / {gain['31-59'][1]:+.2f}",
                    flush=True,
                )
    finally:
        setattr(propagate, CONSTANTS[name], default)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
