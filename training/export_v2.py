"""Write a ColorMotionNet2 as the four ONNX graphs of contract 2 (`colormotion.contract.GRAPHS_2`).

    python -m training.export_v2 CHECKPOINT OUT_FOLDER [--version NAME]

Each graph is a thin module over the network's own methods (encode, reference, blend, decode), so
the exported graphs compute exactly what training ran; `check_against_torch` compares them with
PyTorch at several sizes through onnxruntime.
"""

from __future__ import annotations

import argparse
import io
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from colormotion import contract
from torch import nn

from training.model_v2 import ColorMotionNet2, graph_gflops

_TRACE_SIZE = 64


class _Graph(nn.Module):
    def __init__(self, net: ColorMotionNet2, method: str):
        super().__init__()
        self.net, self.method = net, method

    def forward(self, *inputs):
        out = getattr(self.net, self.method)(*inputs)
        return out[0] if self.method == "decode" else out  # decode's logits are for training only


def example_inputs(
    net: ColorMotionNet2, height: int = _TRACE_SIZE, width: int = _TRACE_SIZE, batch: int = 1
) -> dict[str, torch.Tensor]:
    """One value per contract-2 tensor name, of a height x width frame."""
    s, c = net.FEATURE_STRIDE, net.FEATURE_CHANNELS
    gray = torch.rand(batch, 1, height, width)
    guide = torch.rand(batch, 3, height, width)
    current, key_map, skip4, skip2 = net.encode(gray)
    ref_key, ref_colour = net.reference(gray, guide)
    return {
        "gray": gray,
        "guide": guide,
        "current": current,
        "key": key_map,
        "skip4": skip4,
        "skip2": skip2,
        "prev_feat": torch.rand(batch, c, height // s, width // s),
        "flow": torch.rand(batch, 2, height // s, width // s) - 0.5,
        "has_prev": torch.ones(batch, 1, 1, 1),
        "feat": current,
        "ref_key": ref_key,
        "ref_colour": ref_colour,
        "vividness": torch.full((batch, 1, 1, 1), 0.5),
    }


def _dynamic_axes(names) -> dict:
    return {
        name: ({0: "N", 2: f"{name}_h", 3: f"{name}_w"} if name not in _PER_FRAME else {0: "N"})
        for name in names
    }


_PER_FRAME = ("has_prev", "vividness")  # [N,1,1,1]: one value per frame


def fold_pads_into_convs(proto: onnx.ModelProto) -> int:
    """Give each zero Pad that feeds only a Conv to that Conv's own `pads` (ONNX convolutions pad
    asymmetrically): TensorFlow's SAME padding of the MobileNetV2 encoder otherwise runs as
    separate Pad nodes that onnxruntime leaves unfused (its pads come from a chain of
    shape ops, which `fold_constant_nodes` must have folded first). The result is the same to
    the bit, a third faster to encode. -> Pads folded."""
    graph = proto.graph
    initializers = {init.name: init for init in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    folded = 0
    for pad in [node for node in graph.node if node.op_type == "Pad"]:
        users = consumers.get(pad.output[0], [])
        mode = {a.name: a for a in pad.attribute}.get("mode")
        has_value = len(pad.input) > 2 and pad.input[2]
        if len(users) != 1 or users[0].op_type != "Conv" or has_value:
            continue
        if (mode is not None and mode.s not in (b"", b"constant")) or pad.input[1] not in initializers:
            continue
        pads = [
            int(v) for v in onnx.numpy_helper.to_array(initializers[pad.input[1]])
        ]  # N, C, H, W begins, then ends
        if len(pads) != 8 or pads[0] or pads[1] or pads[4] or pads[5]:
            continue
        conv = users[0]
        auto_pad = next((a.s for a in conv.attribute if a.name == "auto_pad"), b"NOTSET")
        if auto_pad not in (b"", b"NOTSET"):
            continue
        current = next((list(a.ints) for a in conv.attribute if a.name == "pads"), [0, 0, 0, 0])
        merged = [pads[2] + current[0], pads[3] + current[1], pads[6] + current[2], pads[7] + current[3]]
        for attribute in [a for a in conv.attribute if a.name == "pads"]:
            conv.attribute.remove(attribute)
        conv.attribute.append(onnx.helper.make_attribute("pads", merged))
        conv.input[0] = pad.input[0]
        graph.node.remove(pad)
        folded += 1
    _drop_unused_initializers(graph)
    return folded


# onnxruntime's blocked (NCHWc) layout takes input channels in blocks of 8 on AVX2 CPUs and of
# 16 on AVX-512 ones (a multiple of 16 suits both)
_CHANNEL_BLOCK = 16
_SINGLE_PASS_SUM = 128  # MLAS sums at most this many products (in channels x kernel) in one pass


def pad_conv_input_channels(proto: onnx.ModelProto) -> int:
    """Give every dense convolution whose input channels are not a multiple of 16 (and whose sum
    is longer than MLAS sums in one pass) zero channels up to the next multiple: its input
    through a Pad node, its weights as zeros. onnxruntime runs such a convolution through
    im2col and a GEMM that cuts the sum into passes whose length depends on how many output
    positions each thread takes, so on a small map (the coarse path's stride 32) the last bit
    changed with the thread count. Blocked-layout convolutions sum in one order on any count.
    The zeros add nothing: the function is unchanged. -> convolutions padded."""
    graph = proto.graph
    initializers = {init.name: init for init in graph.initializer}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    padded = 0
    for conv in [node for node in graph.node if node.op_type == "Conv"]:
        group = next((a.i for a in conv.attribute if a.name == "group"), 1)
        if group != 1 or conv.input[1] not in initializers or uses[conv.input[1]] != 1:
            continue
        weight = onnx.numpy_helper.to_array(initializers[conv.input[1]])
        channels = weight.shape[1]
        extra = -channels % _CHANNEL_BLOCK
        if not extra or weight[0].size <= _SINGLE_PASS_SUM:
            continue
        widened = np.pad(weight, ((0, 0), (0, extra)) + ((0, 0),) * (weight.ndim - 2))
        initializers[conv.input[1]].CopyFrom(onnx.numpy_helper.from_array(widened, conv.input[1]))
        # named after the convolution: one tensor may feed several widened convolutions
        name = f"{conv.output[0]}/input_channels_to_{channels + extra}"
        pads = onnx.numpy_helper.from_array(
            np.array([0, 0] + [0] * (weight.ndim - 2) + [0, extra] + [0] * (weight.ndim - 2), np.int64),
            f"{name}/pads",
        )
        graph.initializer.append(pads)
        graph.node.insert(
            list(graph.node).index(conv),
            onnx.helper.make_node("Pad", [conv.input[0], pads.name], [name], name=name),
        )
        conv.input[0] = name
        padded += 1
    return padded


def fold_constant_nodes(proto: onnx.ModelProto) -> int:
    """Replace every node computed from constants only (initializers, Constant nodes) by its
    value. The tracer leaves slices of parameters (`model_v2.separable_on_parts`) as Slice
    nodes, and onnxruntime lays a convolution out in its fast blocked format only when the
    weights are initializers. -> nodes folded."""
    from onnx.reference import ReferenceEvaluator

    graph = proto.graph
    values = {init.name: onnx.numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute[0].name == "value":
            values[node.output[0]] = onnx.numpy_helper.to_array(node.attribute[0].t)
    folded = 0
    for node in list(graph.node):
        if node.op_type == "Constant" or not all(name in values or not name for name in node.input):
            continue
        inputs = [name for name in node.input if name]
        sub = onnx.helper.make_graph(
            [node],
            "fold",
            [],
            [onnx.helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in node.output],
            [onnx.numpy_helper.from_array(values[name], name) for name in inputs],
        )
        model = onnx.helper.make_model(sub, opset_imports=proto.opset_import)
        for name, value in zip(node.output, ReferenceEvaluator(model).run(None, {})):
            values[name] = value
            graph.initializer.append(onnx.numpy_helper.from_array(value, name))
        graph.node.remove(node)
        folded += 1
    _drop_unused_nodes(graph)
    _drop_unused_initializers(graph)
    return folded


def _drop_unused_initializers(graph: onnx.GraphProto) -> None:
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    for init in [init for init in graph.initializer if init.name not in used]:
        graph.initializer.remove(init)


def _drop_unused_nodes(graph: onnx.GraphProto) -> None:
    """Remove nodes none of whose outputs is used (Constant nodes whose users were folded)."""
    while True:
        used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
        unused = [node for node in graph.node if not any(output in used for output in node.output)]
        if not unused:
            return
        for node in unused:
            graph.node.remove(node)


def graph_protos(net: ColorMotionNet2, version: str) -> dict[str, onnx.ModelProto]:
    """The four graphs of `net`, in memory, each with the contract's names and metadata."""
    net = net.eval()
    with torch.no_grad():
        examples = example_inputs(net)
    metadata = {
        contract.META_CONTRACT: contract.CONTRACT_2,
        contract.META_VERSION: version,
        contract.META_FEATURE_CHANNELS: str(net.FEATURE_CHANNELS),
        contract.META_FEATURE_STRIDE: str(net.FEATURE_STRIDE),
        contract.META_KEY_CHANNELS: str(net.KEY_CHANNELS),
        contract.META_KEY_STRIDE: str(net.KEY_STRIDE),
    }
    per_megapixel = {name: value * 1e6 / 256**2 for name, value in graph_gflops(net, 256, 256).items()}
    protos = {}
    for graph, (inputs, outputs) in contract.GRAPHS_2.items():
        buffer = io.BytesIO()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes; check_against_torch verifies the result
            torch.onnx.export(
                _Graph(net, graph),
                tuple(examples[name] for name in inputs),
                buffer,
                input_names=list(inputs),
                output_names=list(outputs),
                dynamic_axes=_dynamic_axes((*inputs, *outputs)),
                opset_version=contract.OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        proto = onnx.load_from_string(buffer.getvalue())
        fold_constant_nodes(proto)
        fold_pads_into_convs(proto)
        pad_conv_input_channels(proto)
        onnx.helper.set_model_props(
            proto,
            {
                **metadata,
                "colormotion.graph": graph,
                contract.META_GFLOPS_PER_MEGAPIXEL: f"{per_megapixel[graph]:.4f}",
            },
        )
        onnx.checker.check_model(proto)
        protos[graph] = proto
    return protos


def export_graphs(net: ColorMotionNet2, folder: str | Path, version: str) -> Path:
    """The four graphs into `folder` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for graph, proto in graph_protos(net, version).items():
        path = contract.graph_file(folder, graph)
        tmp = path.with_name(path.name + ".tmp")
        onnx.save(proto, tmp)
        tmp.replace(path)
    return folder


def check_against_torch(
    net: ColorMotionNet2, folder: str | Path, sizes=(64, 96), tolerance: float = 1e-4
) -> dict:
    """Largest |onnxruntime - PyTorch| per graph over frames of the given sizes (height = size,
    width = size + 32), raising when one exceeds `tolerance`."""
    import onnxruntime as ort

    net = net.eval()
    worst: dict[str, float] = {}
    for size in sizes:
        with torch.no_grad():
            examples = example_inputs(net, size, size + 32)
        for graph, (inputs, outputs) in contract.GRAPHS_2.items():
            session = ort.InferenceSession(
                str(contract.graph_file(folder, graph)), providers=["CPUExecutionProvider"]
            )
            feeds = {name: examples[name].numpy() for name in inputs}
            got = session.run(list(outputs), feeds)
            with torch.no_grad():
                want = _Graph(net, graph)(*(examples[name] for name in inputs))
            want = (want,) if isinstance(want, torch.Tensor) else want
            error = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))
            worst[graph] = max(worst.get(graph, 0.0), error)
            if error > tolerance:
                raise AssertionError(f"{graph} at {size}px differs from PyTorch by {error:.2e}")
    return worst


def main(argv: list[str] | None = None) -> int:
    from training.train_v2 import load_checkpoint_model

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint")
    parser.add_argument("out", type=Path)
    parser.add_argument("--version", default="2.0-dev")
    args = parser.parse_args(argv)
    net = load_checkpoint_model(args.checkpoint)
    export_graphs(net, args.out, args.version)
    print(
        f"wrote {args.out}; largest difference from PyTorch per graph: {check_against_torch(net, args.out)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
