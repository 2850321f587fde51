"""A checkpoint with optional paths added at zero: the same function, a larger network.

    python -m training.grow RUNS/soups/shipped-current.pt --scene-context --out RUNS/soups/v25-scene.pt

`train_v2 --init-from CKPT --scene-context` (or `--coarse-context`) adds the path when a run
starts, but the run's weights can then only be compared or interpolated with a network that
has it too. The grown checkpoint is that network: the parent's weights, the new path as the run
starts from it (MobileNetV2's pretrained blocks, a projection at zero). A run started from it
needs no flag, and `training.interpolate GROWN RUN/final.pt` gives the points between the parent
and its fine-tune (WiSE-FT), as for any other run. The colour prior's class weights are the
parent's. No optimizer state.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from training.train_v2 import TrainConfig, build_model, save_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path, help="the parent (e.g. the shipped model's checkpoint)")
    parser.add_argument("--scene-context", action="store_true", help="add encode's scene path")
    parser.add_argument("--coarse-context", action="store_true", help="add decode's coarse path")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not (args.scene_context or args.coarse_context):
        parser.error("nothing to add: give --scene-context and/or --coarse-context")
    if args.out.exists():
        parser.error(f"{args.out} exists; not overwriting it")
    parent = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    config = TrainConfig(
        init_from=str(args.checkpoint),
        scene_context=args.scene_context,
        coarse_context=args.coarse_context,
        activation=parent.get("model_spec", {}).get("activation", "relu"),
    )
    model = build_model(config).eval()
    added = sorted(set(model.spec()) - set(parent.get("model_spec", {})))
    if not added:
        parser.error(f"{args.checkpoint} has every path asked for already")
    lam = parent.get("rebalance_lambda", TrainConfig.rebalance_lambda)
    save_checkpoint(
        args.out, model, None, parent.get("class_weights"), lam, {"grown_from": str(args.checkpoint)}
    )
    print(f"wrote {args.out}: {args.checkpoint} with {', '.join(added)} added at zero")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
