"""APoZ channel pruning of a trained ColorMotionNet (Hu et al. 2016, "Network Trimming").

APoZ (average percentage of zeros) of a channel = the fraction of its post-ReLU/ReLU6 outputs
that are exactly 0 over validation data. A channel that is almost always 0 contributes almost
nothing, so it is removed together with the weights that produce and consume it:

* the hidden (expanded) channels of the encoder's inverted residual blocks, measured at the
  depthwise ReLU6 (the only input of the linear projection);
* the output channels of the decoder's two upsampling convs.

The state features (C channels, part of the ONNX contract) and the small mask net are left alone.

    python -m training.prune --checkpoint runs/main/final.pt --name main-pruned --finetune-minutes 10
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.mobilenet_tflite import TfSameConv
from training.model import ColorMotionNet

# (importing training.train also sets passive OpenMP waiting before any torch work runs)
from training.train import (
    REPO_ROOT,
    TrainConfig,
    build_data,
    load_checkpoint_model,
    run_pair,
    save_checkpoint,
)

MIN_CHANNELS = 8  # never thin a layer below this


# ---------------------------------------------------------------- measuring


def activation_points(model: ColorMotionNet) -> dict[str, nn.Module]:
    """Prunable layer name -> the module whose (post-activation) output is measured."""
    points = {
        f"encoder.blocks.{i}": block.depthwise
        for i, block in enumerate(model.encoder.blocks)
        if block.expand is not None
    }
    points["up4"] = model.up4
    points["up2"] = model.up2
    return points


@torch.no_grad()
def measure_apoz(model: ColorMotionNet, batches) -> dict[str, np.ndarray]:
    """Per prunable layer, the fraction of zero outputs of each channel over `batches` of pairs."""
    zeros: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}

    def hook(name: str):
        def record(_module, _inputs, output: torch.Tensor) -> None:
            zeros[name] = zeros.get(name, 0) + (output == 0).sum(dim=(0, 2, 3)).double()
            counts[name] = counts.get(name, 0) + output.numel() // output.shape[1]

        return record

    handles = [module.register_forward_hook(hook(name)) for name, module in activation_points(model).items()]
    try:
        model.eval()
        for batch in batches:
            run_pair(model, batch)
    finally:
        for handle in handles:
            handle.remove()
    return {name: (zeros[name] / counts[name]).numpy() for name in zeros}


def channels_to_keep(
    apoz: np.ndarray, threshold: float, max_fraction: float, multiple: int = 8
) -> np.ndarray:
    """Indices (sorted) of channels to keep: drop those with APoZ >= threshold, most-zero first,
    at most `max_fraction` of the layer and never below MIN_CHANNELS.

    The kept count is rounded up to a multiple of `multiple`: ONNX Runtime's CPU convolutions
    work on blocks of 8/16 channels, and ragged widths made a pruned net slower than the original.
    """
    width = apoz.size
    order = np.argsort(-apoz, kind="stable")  # most often zero first
    candidates = [i for i in order if apoz[i] >= threshold]
    limit = min(int(width * max_fraction), width - MIN_CHANNELS)
    n_drop = min(len(candidates), max(0, limit))
    n_keep = min(width, -(-(width - n_drop) // multiple) * multiple)
    dropped = set(candidates[: width - n_keep])
    return np.array([i for i in range(width) if i not in dropped], dtype=np.int64)


# ---------------------------------------------------------------- surgery


def _sliced_conv(conv: nn.Conv2d, out_keep=None, in_keep=None) -> nn.Conv2d:
    """A copy of `conv` keeping output channels `out_keep` and input channels `in_keep`.

    Depthwise convs (groups == channels) are sliced on their output channels only.
    """
    weight = conv.weight.detach()
    bias = conv.bias.detach() if conv.bias is not None else None
    depthwise = conv.groups > 1 and conv.groups == conv.in_channels
    if out_keep is not None:
        weight = weight[out_keep]
        bias = bias[out_keep] if bias is not None else None
    if in_keep is not None and not depthwise:
        weight = weight[:, in_keep]
    out_ch = weight.shape[0]
    in_ch = out_ch if depthwise else weight.shape[1]
    groups = out_ch if depthwise else 1
    stride, kernel = conv.stride[0], conv.kernel_size[0]
    if isinstance(conv, TfSameConv):
        new = TfSameConv(in_ch, out_ch, kernel, stride, groups)
    else:
        new = nn.Conv2d(in_ch, out_ch, kernel, stride, conv.padding, groups=groups, bias=bias is not None)
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    return new


def prune_block(block, keep: torch.Tensor) -> None:
    """Keep hidden channels `keep` of an inverted residual block (in place)."""
    block.expand[0] = _sliced_conv(block.expand[0], out_keep=keep)
    block.depthwise[0] = _sliced_conv(block.depthwise[0], out_keep=keep)
    block.project = _sliced_conv(block.project, in_keep=keep)


def prune_decoder(model: ColorMotionNet, keep4: torch.Tensor, keep2: torch.Tensor) -> None:
    """Keep output channels keep4 of up4 and keep2 of up2 (in place), fixing their consumers."""
    d4 = model.up4[1].out_channels
    model.up4[1] = _sliced_conv(model.up4[1], out_keep=keep4)
    # up2 reads cat(upsampled up4 output, s2 skip): only the first d4 channels shrink.
    skip = torch.arange(d4, model.up2[0].in_channels)
    keep_in = torch.cat((keep4, skip))
    # A removed channel read as all zeros leaves its depthwise bias as a constant: fold that
    # constant into the pointwise bias, which makes pruning always-zero channels exact.
    dropped = torch.tensor([i for i in range(d4) if i not in set(keep4.tolist())], dtype=torch.long)
    with torch.no_grad():
        constant = model.up2[0].bias[dropped]
        model.up2[1].bias += model.up2[1].weight[:, dropped, 0, 0] @ constant
    model.up2[0] = _sliced_conv(model.up2[0], out_keep=keep_in)
    model.up2[1] = _sliced_conv(model.up2[1], out_keep=keep2, in_keep=keep_in)
    model.to_ab = _sliced_conv(model.to_ab, in_keep=keep2)


def prune_model(
    model: ColorMotionNet,
    apoz: dict[str, np.ndarray],
    threshold: float,
    max_fraction: float,
    multiple: int = 8,
):
    """A pruned copy of `model` and a per-layer summary {name: (before, after)}."""
    pruned = copy.deepcopy(model).eval()
    keep = {
        name: torch.from_numpy(channels_to_keep(a, threshold, max_fraction, multiple))
        for name, a in apoz.items()
    }
    summary = {name: (int(apoz[name].size), int(k.numel())) for name, k in keep.items()}
    for i, block in enumerate(pruned.encoder.blocks):
        name = f"encoder.blocks.{i}"
        if name in keep:
            prune_block(block, keep[name])
    prune_decoder(pruned, keep["up4"], keep["up2"])
    return pruned, summary


# ---------------------------------------------------------------- measuring the result


def onnx_step_ms(
    paths: list[Path], size: int = 256, threads: int = 2, runs: int = 40
) -> list[dict[str, float]]:
    """Median and best ms per step of each exported model with ONNX Runtime (CPU).

    The models run in turns, so load from other processes on a shared machine hits them alike.
    """
    import onnxruntime as ort
    from colormotion import contract

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    rng = np.random.default_rng(0)
    sessions, feeds = [], []
    for path in paths:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = session.get_modelmeta().custom_metadata_map
        c, s = int(meta[contract.META_FEATURE_CHANNELS]), int(meta[contract.META_FEATURE_STRIDE])
        feed = {
            "gray": rng.random((1, 1, size, size), dtype=np.float32),
            "hints": np.zeros((1, 3, size, size), np.float32),
            "prev_feat": rng.random((1, c, size // s, size // s), dtype=np.float32),
            "flow": np.zeros((1, 2, size // s, size // s), np.float32),
            "has_prev": np.ones((1, 1, 1, 1), np.float32),
        }
        for _ in range(5):
            session.run(None, feed)
        sessions.append(session)
        feeds.append(feed)
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(runs):
        for session, feed, record in zip(sessions, feeds, times, strict=True):
            start = time.perf_counter()
            session.run(None, feed)
            record.append((time.perf_counter() - start) * 1000)
    return [{"median_ms": float(np.median(t)), "best_ms": float(np.min(t))} for t in times]


def conv_macs(model: ColorMotionNet, size: int = 256) -> int:
    """Multiply-accumulates of all convolutions for one size x size step."""
    total = 0

    def count(module: nn.Conv2d, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        per_output = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        total += output.numel() * per_output

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d)]
    gray = torch.rand(1, 1, size, size)
    prev, flow, _ = model.zero_state(gray)
    with torch.no_grad():
        model.eval()(gray, torch.zeros(1, 3, size, size), prev, flow, torch.ones(1, 1, 1, 1))
    for handle in handles:
        handle.remove()
    return total


def describe(model: ColorMotionNet, onnx_path: Path) -> dict:
    return {
        "params": sum(p.numel() for p in model.parameters()),
        "gflops_256": 2 * conv_macs(model) / 1e9,  # 1 MAC = 2 FLOPs
        "onnx_bytes": onnx_path.stat().st_size,
    }


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> None:
    from training.export import export_onnx

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", required=True, type=Path, help="trained model (final.pt)")
    parser.add_argument("--name", default="pruned", help="run folder under runs/ for the result")
    parser.add_argument("--threshold", type=float, default=0.75, help="prune channels with APoZ >= this")
    parser.add_argument("--max-fraction", type=float, default=0.5, help="at most this share of a layer")
    parser.add_argument("--apoz-batches", type=int, default=8, help="validation batches to measure on")
    parser.add_argument("--finetune-minutes", type=float, default=10.0)
    parser.add_argument("--finetune-lr", type=float, default=3e-4)
    args = parser.parse_args(argv)

    torch.set_num_threads(2)
    run_dir = REPO_ROOT / "runs" / args.name
    run_dir.mkdir(parents=True, exist_ok=True)
    model = load_checkpoint_model(args.checkpoint)
    config = TrainConfig(name=args.name)
    _, val_set = build_data(config)
    loader = torch.utils.data.DataLoader(val_set, batch_size=config.batch_size)
    batches = [batch for _, batch in zip(range(args.apoz_batches), loader, strict=False)]
    apoz = measure_apoz(model, batches)
    pruned, summary = prune_model(model, apoz, args.threshold, args.max_fraction)
    for name, (before, after) in summary.items():
        print(f"{name:20s} {before:4d} -> {after:4d}   mean APoZ {apoz[name].mean():.2f}")

    start_ckpt = run_dir / "pruned-start.pt"
    save_checkpoint(start_ckpt, pruned, None, 0, 0, 0, 0.0)
    finetune = dataclasses.replace(
        config,
        init_from=str(start_ckpt),
        max_minutes=args.finetune_minutes,
        max_steps=100_000,
        lr=args.finetune_lr,
        warmup_steps=20,
        val_every=100_000,
        notes={"pruned_from": str(args.checkpoint), "threshold": args.threshold},
    )
    from training.train import train

    final = train(finetune) if args.finetune_minutes > 0 else start_ckpt
    tuned = load_checkpoint_model(final)

    before_onnx = export_onnx(model, run_dir / "before.onnx", version="unpruned")
    after_onnx = export_onnx(tuned, run_dir / "after.onnx", version=f"{args.name}")
    speed_before, speed_after = onnx_step_ms([before_onnx, after_onnx])
    report = {
        "layers": {name: {"before": b, "after": a} for name, (b, a) in summary.items()},
        "apoz_mean": {name: float(a.mean()) for name, a in apoz.items()},
        "before": {**describe(model, before_onnx), **speed_before},
        "after": {**describe(tuned, after_onnx), **speed_after},
    }
    (run_dir / "prune_report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({"before": report["before"], "after": report["after"]}, indent=1))


if __name__ == "__main__":
    main()
