"""MobileNetV2 (width 1.0) in PyTorch, with weights read from the quantised TFLite file.

The TFLite graph has batch norm already folded into every convolution, so the PyTorch module
here is plain conv + bias + ReLU6 and the converted weights are exact (up to the uint8
quantisation the file itself carries). TensorFlow pads stride-2 convolutions "SAME", i.e. one
extra row/column at the bottom/right only; `TfSameConv` reproduces that so activations line up
with the TFLite interpreter.

Input convention of the pretrained net: RGB in [-1, 1], NCHW here (NHWC in the TFLite file).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# (expansion t, output channels c, repeats n, first stride s) from the MobileNetV2 paper.
INVERTED_RESIDUAL_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
NUM_CLASSES = 1001  # TFLite model: index 0 is "background"


class TfSameConv(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding for odd kernels (asymmetric when stride is 2)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1):
        # Stride 1: SAME is symmetric, so the conv pads itself (no separate Pad op in ONNX).
        padding = kernel // 2 if stride == 1 else 0
        super().__init__(in_ch, out_ch, kernel, stride=stride, padding=padding, groups=groups, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        if s > 1 and k > 1:
            # For even input sizes TF pads (k - s) in total, the extra pixel going after.
            total = k - s
            before = total // 2
            x = F.pad(x, (before, total - before, before, total - before))
        return super().forward(x)


class ConvReLU6(nn.Sequential):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(TfSameConv(in_ch, out_ch, kernel, stride, groups), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """1x1 expand (skipped when t = 1) -> 3x3 depthwise -> 1x1 linear projection (+ residual)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expansion: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or in_ch * expansion
        self.expand = ConvReLU6(in_ch, hidden, 1) if expansion != 1 else None
        self.depthwise = ConvReLU6(hidden, hidden, 3, stride, groups=hidden)
        self.project = TfSameConv(hidden, out_ch, 1)
        self.use_residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.depthwise(y))
        return x + y if self.use_residual else y


class MobileNetV2(nn.Module):
    """`blocks[i]` is TFLite's `expanded_conv` (i = 0) or `expanded_conv_<i>`."""

    def __init__(self, num_classes: int = NUM_CLASSES, hidden_widths: list[int] | None = None):
        """`hidden_widths[i]` overrides block i's expanded width (for pruned networks)."""
        super().__init__()
        self.stem = ConvReLU6(3, STEM_CHANNELS, 3, stride=2)
        blocks, in_ch = [], STEM_CHANNELS
        for t, c, n, s in INVERTED_RESIDUAL_SETTINGS:
            for i in range(n):
                hidden = in_ch * t
                if hidden_widths is not None and len(blocks) < len(hidden_widths):
                    hidden = hidden_widths[len(blocks)]
                blocks.append(InvertedResidual(in_ch, c, s if i == 0 else 1, t, hidden))
                in_ch = c
        self.blocks = nn.ModuleList(blocks)
        self.head = ConvReLU6(in_ch, LAST_CHANNELS, 1)
        self.classifier = nn.Conv2d(LAST_CHANNELS, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """RGB in [-1, 1] -> logits [N, num_classes]."""
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        x = self.head(x).mean(dim=(2, 3), keepdim=True)
        return self.classifier(x).flatten(1)


# --- TFLite reading -------------------------------------------------------------------------


def _dequantise(model, graph, index: int) -> np.ndarray:
    """Constant tensor `index` as float32: (q - zero_point) * scale, per channel where given."""
    import tflite

    tensor = graph.Tensors(index)
    dtypes = {
        tflite.TensorType.UINT8: np.uint8,
        tflite.TensorType.INT8: np.int8,
        tflite.TensorType.INT32: np.int32,
    }
    if tensor.Type() not in dtypes:
        raise ValueError(f"unexpected tensor type {tensor.Type()} for {tensor.Name()!r}")
    data = model.Buffers(tensor.Buffer()).DataAsNumpy()
    values = np.frombuffer(data.tobytes(), dtype=dtypes[tensor.Type()]).reshape(tensor.ShapeAsNumpy())
    quant = tensor.Quantization()
    scale = quant.ScaleAsNumpy().astype(np.float32)
    zero = quant.ZeroPointAsNumpy().astype(np.float32)
    if scale.size > 1:  # per-channel: broadcast along the quantised dimension
        shape = [1] * values.ndim
        shape[quant.QuantizedDimension()] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((values.astype(np.float32) - zero) * scale).astype(np.float32)


def _conv_parameters(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Dequantised (weight, bias) of every convolution, keyed by its TF scope.

    The scope is taken from the weight tensor's name (TFLite joins fused names with ';'), e.g.
    "MobilenetV2/Conv/Conv2D_Fold;..." -> "MobilenetV2/Conv".
    """
    import tflite  # the flatbuffer schema; imported here so plain training does not need it

    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    graph = model.Subgraphs(0)
    conv_codes = {tflite.BuiltinOperator.CONV_2D, tflite.BuiltinOperator.DEPTHWISE_CONV_2D}
    params = {}
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if model.OperatorCodes(op.OpcodeIndex()).BuiltinCode() not in conv_codes:
            continue
        weight_index, bias_index = op.Inputs(1), op.Inputs(2)
        name = graph.Tensors(weight_index).Name().decode().split(";")[0]
        params[name.rsplit("/", 1)[0]] = (
            _dequantise(model, graph, weight_index),
            _dequantise(model, graph, bias_index),
        )
    return params


def _load_conv(conv: nn.Conv2d, params: dict[str, tuple[np.ndarray, np.ndarray]], scope: str) -> None:
    if scope not in params:
        raise KeyError(f"no convolution {scope!r} in the TFLite file")
    weight, bias = params[scope]
    if conv.groups > 1:  # depthwise: TFLite [1, kh, kw, C] -> torch [C, 1, kh, kw]
        weight = weight.transpose(3, 0, 1, 2)
    else:  # regular: TFLite [out, kh, kw, in] -> torch [out, in, kh, kw]
        weight = weight.transpose(0, 3, 1, 2)
    if tuple(weight.shape) != tuple(conv.weight.shape):
        raise ValueError(f"{scope}: TFLite weight {weight.shape} does not fit {tuple(conv.weight.shape)}")
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
        conv.bias.copy_(torch.from_numpy(bias))


def load_tflite_mobilenet_v2(path: str | Path) -> MobileNetV2:
    """A float MobileNetV2 carrying the dequantised weights of `mobilenet_v2_1.0_224_quant.tflite`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MobileNetV2 TFLite weights not found: {path}")
    tensors = _conv_parameters(path)
    net = MobileNetV2()
    _load_conv(net.stem[0], tensors, "MobilenetV2/Conv")
    for i, block in enumerate(net.blocks):
        scope = "MobilenetV2/expanded_conv" + (f"_{i}" if i else "")
        if block.expand is not None:
            _load_conv(block.expand[0], tensors, scope + "/expand")
        _load_conv(block.depthwise[0], tensors, scope + "/depthwise")
        _load_conv(block.project, tensors, scope + "/project")
    _load_conv(net.head[0], tensors, "MobilenetV2/Conv_1")
    _load_conv(net.classifier, tensors, "MobilenetV2/Logits/Conv2d_1c_1x1")
    return net.eval()
