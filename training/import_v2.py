"""Rebuild a trainable checkpoint from a shipped contract-2 model folder: the inverse of export_v2.

    python -m training.import_v2 models/colormotion2 OUT.pt

Training's checkpoints live outside the repository, and a machine can come back without them.
The shipped graphs hold every weight, but the exporter renamed, sliced and concatenated some of
them. Rather than a hand-kept table of those moves, the importer exports a network whose every
weight is its own index (1, 2, 3, ... as float32: exact below 2**24) through the same exporter;
each element of the traced graphs then names the weight it came from. Copying the shipped
graphs' elements back by those indices rebuilds the state dict. A second trace, every index
shifted, tells copied weights from the graphs' other constants (shapes, the a*b* grid), and
finds the one weight that reaches the graphs through a nonlinear function (the attention's
`log_sharpness`, folded into its exp). The rebuilt network is then checked against the
shipped graphs through onnxruntime (`export_v2.check_against_torch`).

The checkpoint has no optimizer state: `train_v2 --init-from OUT.pt` starts a new run from it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import onnx
import torch
from colormotion import contract

from training.export_v2 import check_against_torch, graph_protos
from training.model_v2 import ColorMotionNet2

# the weights the exporter copies, as opposed to `_NONLINEAR`
_NONLINEAR = "log_sharpness"
# buffers that the graphs carry besides the parameters (`ab_bins` is a fixed grid, not learned)
_TRACED_BUFFERS = ("log_prior",)


def read_spec(folder: str | Path) -> dict:
    """ColorMotionNet2's constructor arguments for the graphs in `folder`."""
    decode = onnx.load(contract.graph_file(folder, "decode"))
    shapes = {init.name: tuple(init.dims) for init in decode.graph.initializer}
    widths = (
        shapes["net.at8.0.0.weight"][0],
        shapes["net.at4.1.bias"][0],
        shapes["net.at2.1.bias"][0],
    )
    activation = "prelu" if any(node.op_type == "PRelu" for node in decode.graph.node) else "relu"
    spec = {"widths": widths, "activation": activation}
    if any(name.startswith("net.coarse.") for name in shapes):
        spec["coarse"] = True
    encode = onnx.load(contract.graph_file(folder, "encode"))
    if any(init.name.startswith("net.scene.") for init in encode.graph.initializer):
        spec["scene"] = True
    return spec


def _weights(net: ColorMotionNet2) -> dict[str, torch.Tensor]:
    named = dict(net.named_parameters())
    named.update({name: buffer for name, buffer in net.named_buffers() if name in _TRACED_BUFFERS})
    return named


def _constants(proto: onnx.ModelProto) -> dict[tuple[str, int], np.ndarray]:
    """Every constant input of every node, keyed by (node name, input index)."""
    values = {init.name: onnx.numpy_helper.to_array(init) for init in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            values[node.output[0]] = onnx.numpy_helper.to_array(node.attribute[0].t)
    return {
        (node.name, index): values[name]
        for node in proto.graph.node
        for index, name in enumerate(node.input)
        if name in values
    }


def _traced(spec: dict, first: int, sharpness: float) -> tuple[dict[str, dict], dict[str, torch.Size]]:
    """The graphs' constants of a network whose weights are their flat index plus `first`."""
    net = ColorMotionNet2(**spec)
    shapes, offset = {}, first
    with torch.no_grad():
        for name, weight in _weights(net).items():
            shapes[name] = weight.shape
            if name == _NONLINEAR:
                weight.fill_(sharpness)
                continue
            count = weight.numel()
            weight.copy_(torch.arange(offset, offset + count, dtype=torch.float64).reshape(weight.shape))
            offset += count
    if offset >= 2**24:
        raise ValueError(f"{offset - first} weights: too many to index exactly in float32")
    protos = graph_protos(net, "trace")
    return {graph: _constants(proto) for graph, proto in protos.items()}, shapes


def model_from_graphs(folder: str | Path) -> ColorMotionNet2:
    """The network whose exported graphs are those in `folder`."""
    spec = read_spec(folder)
    # Two traces, the indices shifted by `shift` and log_sharpness moved from 0 to 1: an element
    # that moved by `shift` is a copied weight, one that did not move is structure (a shape, a
    # fixed grid), one that moved otherwise is exp(log_sharpness).
    shift = 2**23
    traced, shapes = _traced(spec, first=1, sharpness=0.0)
    shifted, _ = _traced(spec, first=1 + shift, sharpness=1.0)
    names = [name for name in shapes if name != _NONLINEAR]
    sizes = [math.prod(shapes[name]) for name in names]
    flat = np.full(sum(sizes), np.nan, dtype=np.float64)
    sharpness = None
    for graph in contract.GRAPHS_2:
        shipped = _constants(onnx.load(contract.graph_file(folder, graph)))
        for key, ids in traced[graph].items():
            if key not in shipped:
                raise ValueError(f"{graph}: no constant input {key} in {folder}; exported by other code?")
            value = shipped[key]
            if value.shape != ids.shape:
                raise ValueError(f"{graph}: {key} has shape {value.shape}, the trace {ids.shape}")
            moved = shifted[graph][key].astype(np.float64) - ids
            copied = moved == shift
            if not (copied | (moved == 0)).all():
                if ids.size != 1:
                    raise ValueError(f"{graph}: {key} is a function of weights the importer cannot invert")
                sharpness = float(np.log(value.reshape(-1)[0]))
                continue
            targets = np.rint(ids[copied]).astype(np.int64) - 1
            values = value[copied].astype(np.float64)
            known = ~np.isnan(flat[targets])
            if not np.allclose(flat[targets][known], values[known], atol=1e-6):
                raise ValueError(f"{graph}: {key} disagrees with a copy of the same weights elsewhere")
            flat[targets] = values
    parts = np.split(flat, np.cumsum(sizes)[:-1])
    missing = [name for name, part in zip(names, parts) if np.isnan(part).any()]
    if missing or sharpness is None:
        raise ValueError(f"the graphs in {folder} do not hold {', '.join(missing) or _NONLINEAR}")

    net = ColorMotionNet2(**spec)
    with torch.no_grad():
        weights = _weights(net)
        for name, part in zip(names, parts):
            weights[name].copy_(torch.from_numpy(part.reshape(shapes[name])))
        weights[_NONLINEAR].fill_(sharpness)
    return net.eval()


def main(argv: list[str] | None = None) -> int:
    from colormotion.graph_model import GraphModel

    from training.train_v2 import TrainConfig, rebalance_weights, save_checkpoint

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path, help="a contract-2 model folder (models/colormotion2)")
    parser.add_argument("out", type=Path, help="the checkpoint to write (outside the repository)")
    args = parser.parse_args(argv)
    if args.out.exists():
        raise SystemExit(f"{args.out} exists; not overwriting it")
    net = model_from_graphs(args.model)
    worst = check_against_torch(net, args.model)
    # checkpoints carry the colour prior as class weights (train_v2.load_checkpoint_model)
    lam = TrainConfig.rebalance_lambda
    prior = net.log_prior.double().exp()
    class_weights = rebalance_weights((prior / prior.sum()).float(), lam)
    version = GraphModel(args.model).version
    save_checkpoint(args.out, net, None, class_weights, lam, {"step": 0, "imported_from": version})
    print(f"wrote {args.out} from {args.model} ({version}); largest difference per graph: {worst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
