"""Write a ColorMotionNet as the ONNX step graph of `colormotion.contract`."""

from __future__ import annotations

import argparse
import io
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from colormotion import contract
from colormotion.model import file_sha256
from onnx.reference import ReferenceEvaluator

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
    _fold_pads_into_convs(proto)
    onnx.helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto)
    # Write to a sibling temp file first so a failed export never leaves a truncated model.
    tmp = path.with_name(path.name + ".tmp")
    onnx.save(proto, tmp)
    tmp.replace(path)
    return path


def _constant_value(graph: onnx.GraphProto, name: str) -> np.ndarray | None:
    """Evaluate tensor `name` if it depends on constants only, else None."""
    producers = {out: node for node in graph.node for out in node.output}
    initializers = {init.name: init for init in graph.initializer}
    needed, stack = set(), [name]
    while stack:
        tensor = stack.pop()
        if tensor in initializers or tensor == "":
            continue
        node = producers.get(tensor)
        if node is None:  # a graph input
            return None
        if id(node) not in needed:
            needed.add(id(node))
            stack.extend(node.input)
    nodes = [node for node in graph.node if id(node) in needed]
    used_inits = [init for init in graph.initializer if any(init.name in n.input for n in nodes)]
    sub = onnx.helper.make_graph(
        nodes, "const", [], [onnx.helper.make_empty_tensor_value_info(name)], used_inits
    )
    model = onnx.helper.make_model(sub, opset_imports=[onnx.helper.make_opsetid("", contract.OPSET)])
    return np.asarray(ReferenceEvaluator(model).run(None, {})[0])


def _fold_pads_into_convs(proto: onnx.ModelProto) -> None:
    """Merge each zero Pad feeding only a Conv into the Conv's own (asymmetric) pads.

    PyTorch exports F.pad through a Slice with step -1 that its constant folding skips, which
    leaves a Pad op (and a copy of the tensor) before every stride-2 conv at run time.
    """
    graph = proto.graph
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    removed = []
    for pad in [node for node in graph.node if node.op_type == "Pad"]:
        mode = next((a.s for a in pad.attribute if a.name == "mode"), b"constant")
        users = consumers.get(pad.output[0], [])
        if mode != b"constant" or len(users) != 1 or users[0].op_type != "Conv":
            continue
        if len(pad.input) > 2 and pad.input[2]:
            value = _constant_value(graph, pad.input[2])
            if value is None or np.any(value != 0):
                continue
        pads = _constant_value(graph, pad.input[1])
        conv = users[0]
        conv_pads = next((list(a.ints) for a in conv.attribute if a.name == "pads"), [0, 0, 0, 0])
        if pads is None or pads.shape != (8,) or np.any(pads[[0, 1, 4, 5]] != 0):
            continue  # not a pure spatial pad of an NCHW tensor
        top, left, bottom, right = (int(v) for v in pads[[2, 3, 6, 7]])
        merged = [conv_pads[0] + top, conv_pads[1] + left, conv_pads[2] + bottom, conv_pads[3] + right]
        for attr in list(conv.attribute):
            if attr.name == "pads":
                conv.attribute.remove(attr)
        conv.attribute.append(onnx.helper.make_attribute("pads", merged))
        conv.input[0] = pad.input[0]
        removed.append(pad)
    for pad in removed:
        graph.node.remove(pad)
    _remove_dead_nodes(graph)


def _remove_dead_nodes(graph: onnx.GraphProto) -> None:
    live = {out.name for out in graph.output}
    kept = []
    for node in reversed(graph.node):
        if any(out in live for out in node.output):
            kept.append(node)
            live.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))


def random_model(seed: int = 0) -> ColorMotionNet:
    """A randomly initialised net whose every input matters (hint and output weights not zeroed)."""
    torch.manual_seed(seed)
    model = ColorMotionNet()
    with torch.no_grad():
        torch.nn.init.normal_(model.encoder.stem[0].weight[:, 3:], std=0.5)
        torch.nn.init.normal_(model.to_ab.weight, std=0.1)
    return model.eval()


def export_random_model(path: str | Path, seed: int = 0) -> Path:
    """Export a small random-weight model for tests; needs no pretrained weights or data."""
    return export_onnx(random_model(seed), path, version=f"random-seed{seed}")


def write_sha256sums(model_path: Path) -> Path:
    """`sha256sum`-format SHA256SUMS next to the model, covering that one file."""
    digest = file_sha256(model_path)
    sums = model_path.parent / "SHA256SUMS"
    sums.write_text(f"{digest}  {model_path.name}\n")
    return sums


def main(argv: list[str] | None = None) -> None:
    """Export a training checkpoint: python -m training.export --checkpoint runs/main/final.pt"""
    from training.train import load_checkpoint_model

    parser = argparse.ArgumentParser(description="Export a ColorMotionNet checkpoint to the ONNX step graph.")
    parser.add_argument("--checkpoint", required=True, type=Path)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "models" / "colormotion.onnx"
    )
    parser.add_argument("--version", required=True, help="stored as colormotion.model_version")
    parser.add_argument("--no-sums", action="store_true", help="do not (re)write SHA256SUMS next to it")
    args = parser.parse_args(argv)
    if not args.checkpoint.is_file():
        parser.error(f"checkpoint {args.checkpoint} does not exist")
    path = export_onnx(load_checkpoint_model(args.checkpoint), args.out, args.version)
    if not args.no_sums:
        write_sha256sums(path)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
