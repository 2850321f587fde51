"""Write a ColorMotionNet as the ONNX step graph of `colormotion.contract`."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import onnx
import torch
from colormotion import contract

from training.model import ColorMotionNet

# Tracing size: any multiple of SIZE_MULTIPLE works, the graph stays dynamic in N, H and W.
_TRACE_SIZE = 64


def example_inputs(model: ColorMotionNet, size: int = _TRACE_SIZE) -> tuple[torch.Tensor, ...]:
    """Contract inputs of batch 1 and size x size (has_prev = 1 so the whole graph is traced)."""
    s, c = model.FEATURE_STRIDE, model.FEATURE_CHANNELS
    return (
        torch.rand(1, 1, size, size),
        torch.zeros(1, 3, size, size),
        torch.zeros(1, c, size // s, size // s),
        torch.zeros(1, 2, size // s, size // s),
        torch.ones(1, 1, 1, 1),
    )


def export_onnx(model: ColorMotionNet, path: str | Path, version: str) -> Path:
    """Export `model` (set to eval mode) to `path` with the contract's names, shapes and metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    image_axes = {0: "N", 2: "H", 3: "W"}
    grid_axes = {0: "N", 2: "Hs", 3: "Ws"}
    dynamic_axes = {
        "gray": image_axes,
        "hints": image_axes,
        "prev_feat": grid_axes,
        "flow": grid_axes,
        "has_prev": {0: "N"},
        "ab": image_axes,
        "feat": grid_axes,
        "mask": grid_axes,
    }
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer's notes about constant folding and Python ints are expected and harmless:
        # the tests check the graph against PyTorch at several sizes.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example_inputs(model),
            buffer,
            input_names=list(contract.INPUT_NAMES),
            output_names=list(contract.OUTPUT_NAMES),
            dynamic_axes=dynamic_axes,
            opset_version=contract.OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    metadata = {
        contract.META_FEATURE_CHANNELS: str(model.FEATURE_CHANNELS),
        contract.META_FEATURE_STRIDE: str(model.FEATURE_STRIDE),
        contract.META_VERSION: version,
        contract.META_CONTRACT: contract.CONTRACT_VERSION,
    }
    onnx.helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto)
    # Write to a sibling temp file first so a failed export never leaves a truncated model.
    tmp = path.with_name(path.name + ".tmp")
    onnx.save(proto, tmp)
    tmp.replace(path)
    return path


def random_model(seed: int = 0) -> ColorMotionNet:
    """A randomly initialised net whose every input matters (hint weights are not zeroed)."""
    torch.manual_seed(seed)
    model = ColorMotionNet()
    with torch.no_grad():
        torch.nn.init.normal_(model.encoder.hint_stem.weight, std=0.5)
    return model.eval()


def export_random_model(path: str | Path, seed: int = 0) -> Path:
    """Export a small random-weight model for tests; needs no pretrained weights or data."""
    return export_onnx(random_model(seed), path, version=f"random-seed{seed}")
