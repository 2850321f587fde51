"""A checkpoint between two of the same network: weights (1 - share) x A + share x B.

    python -m training.interpolate RUNS/v8/final.pt RUNS/v12/final.pt --share 0.5 --out RUNS/v8-v12-0.5.pt

Weight-space interpolation between a model and its fine-tuned child (WiSE-FT, Wortsman et al.
2022, "Robust fine-tuning of zero-shot models"): fine-tunes here raise automatic colour while
losing some hint and reference accuracy; a point on the line between the two weights can keep
more of both than either end. Floating-point tensors (weights, biases, PReLU slopes; the
network has no batch norm) are interpolated; any integer buffer and the colour prior's class
weights come from B. The result has no optimizer state (it is for evaluation and export, not
for resuming).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from training.train_v2 import TrainConfig, model_of_checkpoint, save_checkpoint


def interpolated(a: dict, b: dict, share: float) -> dict:
    """B's checkpoint with every floating-point tensor of its model set to (1 - share) A + share B."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must lie in 0..1, got {share}")
    if a.get("model_spec") != b.get("model_spec") or a["model"].keys() != b["model"].keys():
        raise ValueError(
            f"the checkpoints hold different networks ({a.get('model_spec')} against {b.get('model_spec')})"
        )
    weights = {}
    for name, tensor_b in b["model"].items():
        tensor_a = a["model"][name]
        if tensor_a.shape != tensor_b.shape:
            raise ValueError(f"{name} is {list(tensor_a.shape)} in A but {list(tensor_b.shape)} in B")
        weights[name] = torch.lerp(tensor_a, tensor_b, share) if tensor_b.is_floating_point() else tensor_b
    return {**b, "model": weights}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("a", type=Path, help="checkpoint at share 0 (e.g. the parent run's final.pt)")
    parser.add_argument("b", type=Path, help="checkpoint at share 1 (e.g. its fine-tune's final.pt)")
    parser.add_argument("--share", type=float, required=True, help="how far from A towards B, 0..1")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.out.resolve() in (args.a.resolve(), args.b.resolve()):
        parser.error("--out must not be one of the checkpoints it is made from")
    a, b = (torch.load(path, map_location="cpu", weights_only=False) for path in (args.a, args.b))
    try:
        state = interpolated(a, b, args.share)
    except ValueError as error:
        parser.error(str(error))
    # through the network itself, so weights that do not fit it are refused here, not at export
    model = model_of_checkpoint(state)
    lam = state.get("rebalance_lambda", TrainConfig.rebalance_lambda)
    progress = {"interpolated": {"a": str(args.a), "b": str(args.b), "share": args.share}}
    save_checkpoint(args.out, model, None, state.get("class_weights"), lam, progress)
    print(f"wrote {args.out}: {args.share:g} of the way from {args.a} to {args.b}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
