"""Choose the engine's hint-spread constants on training photos (never the held-out split).

    python -m training.tune_spread --sigma 2 3 4 5       # the hint sweep for each edge sigma
    python -m training.tune_spread --scale 0.1 0.2 0.4   # or for each reach scale

Runs `training.evaluate`'s photo figures (hint sweep, hint fidelity, a ~25 % grid against none)
through the engine with the shipped model on `--per-folder` seeded training photos of each
shared-data folder, once per value of the constant given (`colormotion.temporal.propagate`'s
SPREAD_SCALE, SPREAD_SIGMA or SPREAD_GAIN), the others at their defaults, and prints a row each.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from colormotion.graph_model import GraphModel
from colormotion.model import default_model_path
from colormotion.temporal import propagate

from training import evaluate
from training.data import DATA_ROOT, split

CONSTANTS = {"scale": "SPREAD_SCALE", "sigma": "SPREAD_SIGMA", "gain": "SPREAD_GAIN"}


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for name in CONSTANTS:
        parser.add_argument(f"--{name}", type=float, nargs="+", help=f"values of {CONSTANTS[name]}")
    parser.add_argument("--per-folder", type=int, default=5)
    parser.add_argument("--seed", type=int, default=77)
    args = parser.parse_args(argv)
    tried = [(name, values) for name in CONSTANTS if (values := getattr(args, name))]
    if len(tried) != 1:
        parser.error("give exactly one of --scale, --sigma, --gain")
    name, values = tried[0]
    paths = tuning_photos(args.per_folder, args.seed)
    images = [evaluate.load_photo_square(DATA_ROOT / path) for path in paths]
    evaluator = evaluate.Evaluator(GraphModel(default_model_path()), evaluate.Settings())
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
    finally:
        setattr(propagate, CONSTANTS[name], default)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
