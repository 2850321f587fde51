"""ColorMotionNet v2: colour that follows references and hints, split into the graphs the engine
runs separately (contract 2). Replaces `training/model.py` once the engine runs contract 2.

    encode(gray)                    once per frame: L* only, so hint edits never re-run it
        MobileNetV2 (pretrained, to stride 16) -> s2, s4 skips; current features (stride 8);
        key (stride 16) for the correspondence to references
    reference(gray_r, guide_r)      once per reference: its key and its colour pooled to stride 16
    blend(current, prev, flow)      the paper's state: previous features warped by flow, mixed
                                    with the current ones by a small mask net
    decode(feat, skips, guide, key, reference key/colour)       only for frames that are output
        attention from the frame's key to the reference's key fetches reference colour where
        flow could not (new objects, large motion, occlusions); the colour guide (reference
        carried by flow, persisted hints, this frame's hints: colormotion.temporal.propagate)
        enters at strides 8, 4 and 2, so a point hint spreads over its region (Zhang et al. 2017)
        stride 4: logits over quantised a*b* bins -> annealed mean (Zhang et al. 2016), vivid;
                  `vividness` v shifts the logits by -v log(prior of the bin in the training
                  data) first (logit adjustment, Menon et al. 2021): rarer, more saturated
                  colours win more often where the network is unsure; v = 0 is as trained
        stride 2: + regression residual, then a learned gate towards the guide's own colour,
        so a hinted pixel or a well-matched reference pixel keeps exactly its colour
        coarse path (models from run v6 on: `CoarseContext`): the stride-8 input pooled to
        stride 32 and to the frame's mean, added to the stride-8 layers' output, so a hint's
        or a reference's colour and the scene's semantics reach the whole frame
    scene path (optional, `SceneContext`): a frozen, pretrained MobileNetV2 at half size, its
        stride-32 features added to the state features in encode: what the whole frame shows,
        as ImageNet taught it, reaches colour without a change to the graphs' interface

Tensors: gray L*/100 [N,1,H,W]; guides [N,3,H,W] = a*/110, b*/110, confidence; ab a*b*/110.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from training.mobilenet_tflite import LAST_CHANNELS, MobileNetV2
from training.model import (
    CH_S2,
    CH_S4,
    CH_S8,
    CH_S16,
    TAP_S2,
    TAP_S4,
    TAP_S8,
    TAP_S16,
    MaskNet,
    conv_relu,
    separable_conv_relu,
    upsample2,
)

AB_BIN_SIZE = 10.0  # a*b* units, as Zhang et al. 2016
ANNEAL_TEMPERATURE = 0.38  # Zhang et al. 2016's annealed-mean temperature
EXP_FLOOR = -80.0  # annealed_mean's exponents stop here (onnxruntime's Exp is slow below ~-87)


def gamut_ab_bins(bin_size: float = AB_BIN_SIZE) -> np.ndarray:
    """Centres [Q, 2] (a*b*/110) of the a*b* grid cells that some sRGB colour falls into."""
    from colormotion import colour

    edges = np.arange(-110.0, 110.0 + 1e-6, bin_size)
    centres = (edges[:-1] + edges[1:]) / 2
    a, b = np.meshgrid(centres, centres, indexing="ij")
    lightness = np.arange(2.0, 99.0, 2.0)
    # Sample each cell densely: a cell is in gamut if any point in it is, at any L*.
    offsets = np.linspace(-bin_size / 2, bin_size / 2, 5)
    keep = np.zeros(a.shape, bool)
    for da in offsets:
        for db in offsets:
            lab = np.stack(np.broadcast_arrays(lightness[:, None, None], (a + da)[None], (b + db)[None]), -1)
            linear = colour.lab_to_linear(lab.astype(np.float32))
            keep |= np.all((linear >= 0) & (linear <= 1), axis=-1).any(axis=0)
    return (np.stack([a[keep], b[keep]], axis=-1) / 110.0).astype(np.float32)


def premultiplied(guide: torch.Tensor) -> torch.Tensor:
    """(a, b, c) -> (a c, b c, c): averages of this stay meaningful when pooled."""
    confidence = guide[:, 2:3]
    return torch.cat((guide[:, :2] * confidence, confidence), dim=1)


def pooled(premult: torch.Tensor, factor: int) -> torch.Tensor:
    return F.avg_pool2d(premult, factor) if factor > 1 else premult


def unpremultiplied(premult: torch.Tensor) -> torch.Tensor:
    """(a c, b c, c) -> (a, b): the colour where c > 0, grey elsewhere."""
    confidence = premult[:, 2:3]
    return premult[:, :2] / confidence.clamp(min=1e-4) * (confidence > 1e-4).to(premult.dtype)


def warp_gather(features: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """`training.model.warp` (bilinear, border clamp) written with gathers: the same values to
    float rounding, but onnxruntime's GridSample took 63 % of blend (1.1 of 1.7 ms at 256x256,
    and blend runs ~2.5 times per frame); four GatherElements cost a fraction of it."""
    n, c, h, w = features.shape
    flow = flow.float()  # positions in float32 even under autocast (bf16 has 8 bits of mantissa)
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w)
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1)
    x = (xs + flow[:, 0]).clamp(0.0, w - 1.0)  # [N, h, w]: the border clamp of grid_sample
    y = (ys + flow[:, 1]).clamp(0.0, h - 1.0)
    x0, y0 = x.floor(), y.floor()
    fx, fy = x - x0, y - y0
    x1, y1 = (x0 + 1.0).clamp(max=w - 1.0), (y0 + 1.0).clamp(max=h - 1.0)
    flat = features.reshape(n, c, h * w)

    def at(yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        index = (yy.long() * w + xx.long()).reshape(n, 1, h * w).expand(n, c, h * w)
        return torch.gather(flat, 2, index).reshape(n, c, h, w)

    fx, fy = fx.unsqueeze(1).to(features.dtype), fy.unsqueeze(1).to(features.dtype)
    top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx
    bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx
    return top * (1.0 - fy) + bottom * fy


def separable_on_parts(layer: nn.Sequential, parts: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """`layer` (depthwise 3x3, 1x1, activation: `separable_conv_relu`) on the channel concat of
    `parts`, computed part by part: both convolutions are per input channel before the 1x1's
    sum, so this is the same function. onnxruntime runs a depthwise conv whose channel count is
    not a multiple of its SIMD block in plain NCHW, ~5x slower (67 and 91 channels here), and
    the concat is not needed."""
    depthwise, pointwise, activation = layer
    total, start = None, 0
    for part in parts:
        stop = start + int(part.shape[1])  # a constant in the traced graph: the weights' slices fold
        x = F.conv2d(
            part, depthwise.weight[start:stop], depthwise.bias[start:stop], padding=1, groups=stop - start
        )
        x = F.conv2d(x, pointwise.weight[:, start:stop], pointwise.bias if start == 0 else None)
        total = x if total is None else total + x
        start = stop
    if start != depthwise.in_channels:
        raise ValueError(f"parts have {start} channels, the layer takes {depthwise.in_channels}")
    return activation(total)


def annealed_mean(
    features: torch.Tensor,
    classifier: nn.Conv2d,
    ab_bins: torch.Tensor,
    adjustment: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The 1x1 `classifier` on `features` [N,C,h,w] -> (a*b* [N,2,h,w], logits [N,Q,h,w]):
    a*b* is the sum over bins of softmax((logits - adjustment) / T) x bin centre, `adjustment`
    (Q values, or N x Q in any shape, e.g. [N,1,1,Q]) vividness's logit shift.

    Computed with positions as rows: logits [N, P, Q] by a MatMul, the max and exp over their
    contiguous last axis, the bins' weighted sum by a second MatMul. onnxruntime's ReduceMax
    over the channel axis of an NCHW tensor took 1.2 of the head's 3.6 ms at 256x256 (one
    thread), and its 1x1 conv with three outputs 0.7; in this form decode on real frames went
    from 14.3 to 12.6-13.0 ms. 1/T is folded into the classifier's weights and the adjustment
    into its bias, so the exported graph scales nothing per position. (A softmax over the
    channel axis transposed the logits: 60 % of decode.)"""
    n, c, h, w = features.shape
    q = classifier.out_channels
    rows = features.permute(0, 2, 3, 1).reshape(n, h * w, c)  # [N, P, C]
    weight = classifier.weight.reshape(q, c).t()  # [C, Q]
    bias = classifier.bias if adjustment is None else classifier.bias - adjustment.reshape(-1, 1, q)
    z = rows @ (weight * (1.0 / ANNEAL_TEMPERATURE)) + bias * (1.0 / ANNEAL_TEMPERATURE)  # [N, P, Q]
    centres = torch.cat((ab_bins, torch.ones_like(ab_bins[:, :1])), dim=1)  # [Q, 3]: a, b, 1
    # floored: onnxruntime's Exp, and the MatMul after it, slow down ~12x where exp underflows
    # (below about -87), as a sure classifier's do; exp(-80) is nothing beside the max's exp(0)
    shifted = (z - z.amax(dim=2, keepdim=True)).clamp(min=EXP_FLOOR)
    sums = torch.exp(shifted) @ centres  # [N, P, 3]
    ab = (sums[..., :2] / sums[..., 2:]).transpose(1, 2).reshape(n, 2, h, w)
    # the logits themselves, for training's cross-entropy (the exported graph has no use for them)
    logits = z * ANNEAL_TEMPERATURE
    if adjustment is not None:
        logits = logits + adjustment.reshape(-1, 1, q)
    return ab, logits.transpose(1, 2).reshape(n, q, h, w)


class LightnessEncoder(nn.Module):
    """MobileNetV2 blocks up to stride 16 on L* alone (replicated to the 3 pretrained inputs)."""

    def __init__(self, backbone: MobileNetV2):
        super().__init__()
        self.stem = backbone.stem
        self.blocks = nn.ModuleList(backbone.blocks[: TAP_S16 + 1])

    def forward(self, gray: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem((gray * 2.0 - 1.0).expand(-1, 3, -1, -1))
        taps = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in (TAP_S2, TAP_S4, TAP_S8, TAP_S16):
                taps.append(x)
        return taps


class Residual(nn.Module):
    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.conv = conv_relu(channels, channels, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class CoarseContext(nn.Module):
    """decode's coarse path, beside its stride-8 layers (whose reach is ~17 cells, ~136 px):
    the frame's features, guide and reference colour pooled to stride 32, three 3x3 layers
    there (a few MFLOPs), and the mean over the whole frame as a bias at every position, as the
    global paths of Iizuka et al. 2016 and Zhang et al. 2017. So ten hints tell the whole frame
    their palette and a hint fills more of its object. Its output layer starts at zero: added to
    a trained network it leaves the function unchanged until training moves it."""

    FACTOR = 4  # stride 8 -> 32 (the contract's sizes are multiples of 32)

    def __init__(self, feature_channels: int, out_channels: int, width: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            conv_relu(feature_channels + 3 + 3, width), Residual(width, 2), Residual(width, 1)
        )
        self.from_frame = nn.Conv2d(width, width, 1)  # the frame's mean -> a bias everywhere
        self.act = nn.ReLU()
        self.out = nn.Conv2d(width, out_channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, feat: torch.Tensor, guide_p: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
        """feat [N,C,h,w] and attended [N,3,h,w] at stride 8, guide_p the premultiplied guide at
        full size -> [N,out,h,w], to add to the stride-8 layers' output."""
        coarse_guide = pooled(guide_p, 8 * self.FACTOR)
        # a hint covers a sliver of a 32x32 cell: its colour, and sqrt of its cover to see it
        guide = torch.cat((unpremultiplied(coarse_guide), coarse_guide[:, 2:3].sqrt()), dim=1)
        x = self.body(torch.cat((pooled(feat, self.FACTOR), guide, pooled(attended, self.FACTOR)), dim=1))
        x = self.act(x + self.from_frame(x.mean(dim=(2, 3), keepdim=True)))
        return F.interpolate(
            self.out(x), scale_factor=float(self.FACTOR), mode="bilinear", align_corners=False
        )


class SceneContext(nn.Module):
    """encode's scene path: a whole MobileNetV2 trunk (stem, 17 blocks, 1x1 head) as pretrained
    on ImageNet and kept frozen, run on the frame's L* at half the working size; its stride-32
    features are projected to the state's channels, resized to stride 8 and added to the state
    features' pre-activation.

    The encoder stops at stride 16, so the network learns what a frame shows as a whole only
    from our colour data (the coarse path). ImageNet's 1.3 M labelled photos taught this trunk
    what scenes and objects are, the global features of Iizuka et al. 2016. It is a copy of its
    own, frozen: the encoder's own MobileNetV2 blocks have been fine-tuned for colour so far that
    the pretrained stride-32 blocks read nonsense from them (on 60 ImageNet training photos in
    gray, the pretrained classifier behind 2.5's encoder agreed with the pretrained network's
    top-1 class on none of them; the pretrained network in gray agrees with itself in colour on
    33). Half size keeps the trunk to ~0.2 GFLOPs at 256x256. The projection starts at zero:
    added to a trained network it leaves the function unchanged until training moves it. No
    change to the contract: encode's outputs keep their names and shapes."""

    def __init__(self, backbone: MobileNetV2, out_channels: int):
        super().__init__()
        pretrained = copy.deepcopy(backbone)  # never shares a module with the encoder
        self.trunk = nn.Sequential(pretrained.stem, *pretrained.blocks, pretrained.head)
        self.trunk.requires_grad_(False)
        self.out = nn.Conv2d(LAST_CHANNELS, out_channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    # Replicated on every side of the half-size frame: the trunk's five stride-2 layers (fixed
    # padding, as TensorFlow's for even sizes) need at least 32 pixels, and the smallest working
    # size (32) halves to 16. The features then span a frame 1/8 wider and taller than the
    # 256x256 one (144 half-size pixels for 128): immaterial for what a scene is.
    BORDER = 8

    def forward(self, gray: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """gray [N,1,H,W] (L*/100) -> [N,out,*size] (the state's stride-8 grid)."""
        half = F.avg_pool2d(gray * 2.0 - 1.0, 2)  # MobileNetV2's inputs lie in -1..1
        half = F.pad(half, (self.BORDER,) * 4, mode="replicate")
        features = self.trunk(half.expand(-1, 3, -1, -1))
        return F.interpolate(self.out(features), size=size, mode="bilinear", align_corners=False)


class ColorMotionNet2(nn.Module):
    FEATURE_STRIDE = 8
    FEATURE_CHANNELS = 64
    KEY_STRIDE = 16
    KEY_CHANNELS = 32

    def __init__(
        self,
        backbone: MobileNetV2 | None = None,
        widths: tuple[int, int, int] = (64, 48, 24),
        activation: str = "prelu",
        coarse: bool = False,
        scene: bool = False,
    ):
        """`coarse` adds decode's `CoarseContext` (runs v2 to v5 have none), `scene` encode's
        `SceneContext` (a frozen copy of `backbone`; models up to 2.5 have none).

        `activation` of the state features (encode's `current`) and of the decoder's layers,
        "relu" or "prelu". Behind ReLUs (run v2, the model 2.x it shipped, run v3) most of those
        units died: the state features became a sparse code that fires on ~2 % of training-crop
        positions and 0.02 % of full frames at the working size (so at inference the paper's
        state and the decoder's stride-8 input, the only way semantics reach the classifier,
        carry nearly nothing), and 20 of the 24 stride-2 decoder channels are zero on 95 % of
        positions. A PReLU's negative slope keeps every unit's gradient. Checkpoints whose spec
        lacks `activation` are ReLU networks."""
        super().__init__()
        if activation not in ("relu", "prelu"):
            raise ValueError(f"activation must be 'relu' or 'prelu', got {activation!r}")
        c, k = self.FEATURE_CHANNELS, self.KEY_CHANNELS
        d8, d4, d2 = widths
        backbone = backbone if backbone is not None else MobileNetV2()
        self.encoder = LightnessEncoder(backbone)
        # the activation is a module of its own: the conv's parameter names stay those of v2's
        self.fuse = nn.Sequential(
            conv_relu(CH_S16 + CH_S8, c, 1), nn.Sequential(nn.Conv2d(c, c, 3, padding=1))
        )
        self.state_act = nn.ReLU()
        self.to_key = nn.Conv2d(CH_S16, k, 1)
        # Sharpness of the attention over cosine similarities, learned (log scale).
        self.log_sharpness = nn.Parameter(torch.tensor(np.log(10.0), dtype=torch.float32))
        self.mask_net = MaskNet(c)
        self.at8 = nn.Sequential(conv_relu(c + 3 + 3, d8), Residual(d8, 2), Residual(d8, 4), Residual(d8, 1))
        self.at4 = separable_conv_relu(d8 + CH_S4 + 3, d4)
        self.register_buffer("ab_bins", torch.from_numpy(gamut_ab_bins()))  # [Q, 2]
        # log of the training data's a*b* bin prior, for `vividness`; not in state dicts: the
        # checkpoint's class weights give it (set_colour_prior), zeros leave the logits as trained
        self.register_buffer("log_prior", torch.zeros(self.ab_bins.shape[0]), persistent=False)
        self.to_logits = nn.Conv2d(d4, self.ab_bins.shape[0], 1)
        self.at2 = separable_conv_relu(d4 + CH_S2 + 3, d2)
        self.to_residual = nn.Conv2d(d2, 2, 3, padding=1)
        self.to_gate = nn.Conv2d(d2 + 3, 1, 3, padding=1)
        nn.init.zeros_(self.to_residual.weight)
        nn.init.zeros_(self.to_residual.bias)
        nn.init.zeros_(self.to_gate.weight)
        nn.init.constant_(self.to_gate.bias, -2.0)  # start trusting the guide only a little
        self.coarse: CoarseContext | None = None
        self.scene: SceneContext | None = None
        self.activation = "relu"
        if activation == "prelu":
            use_prelu(self, init=0.25)
        if coarse:
            self.add_coarse_context()
        if scene:
            self.add_scene_context(backbone)

    def add_coarse_context(self) -> None:
        """Give the network decode's coarse path, with its activation: a new network's, or one
        without it (runs v2 to v5) for a fine-tune, the same function until training moves it
        (its output layer is zero)."""
        if self.coarse is not None:
            raise ValueError("the network has a coarse path already")
        device = next(self.parameters()).device
        self.coarse = CoarseContext(self.FEATURE_CHANNELS, self.at8[0][0].out_channels).to(device)
        if self.activation == "prelu":
            _to_prelu(_coarse_relu_slots(self.coarse), init=0.25, device=device)

    def add_scene_context(self, backbone: MobileNetV2) -> None:
        """Give the network encode's scene path, a frozen copy of `backbone` (the pretrained
        MobileNetV2, `mobilenet_tflite.load_tflite_mobilenet_v2`, for a fine-tune of a network without one): the
        same function until training moves its projection (which starts at zero)."""
        if self.scene is not None:
            raise ValueError("the network has a scene path already")
        device = next(self.parameters()).device
        self.scene = SceneContext(backbone, self.FEATURE_CHANNELS).to(device)

    def set_colour_prior(self, prior: torch.Tensor) -> None:
        """The training data's a*b* bin distribution [Q] (sums to 1), used by `vividness`."""
        if prior.shape != self.log_prior.shape:
            raise ValueError(
                f"colour prior has shape {tuple(prior.shape)}, expected {tuple(self.log_prior.shape)}"
            )
        self.log_prior.copy_(prior.double().clamp(min=1e-8).log().float())

    # ------------------------------------------------------------ the contract-2 graphs

    def encode(self, gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """gray -> (current [N,C,H/8,W/8], key [N,K,H/16,W/16], s4 skip, s2 skip)."""
        s2, s4, s8, s16 = self.encoder(gray)
        pre = self.state_preactivation(s8, s16)
        if self.scene is not None:
            pre = pre + self.scene(gray, pre.shape[2:])
        return self.state_act(pre), self.key(s16), s4, s2

    def state_preactivation(self, s8: torch.Tensor, s16: torch.Tensor) -> torch.Tensor:
        """The state features before their activation (`state_act`)."""
        return self.fuse(torch.cat((upsample2(s16), s8), dim=1))

    def key(self, s16: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.to_key(s16), dim=1)

    def reference(self, gray: torch.Tensor, guide: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reference (its L* and its guide) -> (key [N,K,h,w], colour [N,3,h,w] premultiplied)."""
        s16 = self.encoder(gray)[3]
        return self.key(s16), pooled(premultiplied(guide), self.KEY_STRIDE)

    def blend(
        self, current: torch.Tensor, prev_feat: torch.Tensor, flow: torch.Tensor, has_prev: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        warped = warp_gather(prev_feat, flow)
        mask = self.mask_net(warped, current) * has_prev
        return mask * warped + (1.0 - mask) * current, mask

    def attend(self, key: torch.Tensor, ref_key: torch.Tensor, ref_colour: torch.Tensor) -> torch.Tensor:
        """Reference colour [N,3,h,w] (premultiplied) fetched for each position of `key`."""
        n, k, h, w = key.shape
        query = key.reshape(n, k, h * w).transpose(1, 2)  # [N, P, K]
        keys = ref_key.reshape(n, k, -1)  # [N, K, R]
        weights = torch.softmax(torch.bmm(query, keys) * self.log_sharpness.exp(), dim=-1)  # [N, P, R]
        values = ref_colour.reshape(n, 3, -1).transpose(1, 2)  # [N, R, 3]
        return torch.bmm(weights, values).transpose(1, 2).reshape(n, 3, h, w)

    def decode(
        self,
        feat: torch.Tensor,
        s4: torch.Tensor,
        s2: torch.Tensor,
        key: torch.Tensor,
        guide: torch.Tensor,
        ref_key: torch.Tensor,
        ref_colour: torch.Tensor,
        vividness: torch.Tensor | None = None,
        detach_classifier: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (ab [N,2,H,W], logits [N,Q,H/4,W/4] over `ab_bins`).

        `vividness` [N,1,1,1] (None: 0): the logit adjustment of the annealed mean (see above).
        `detach_classifier` (training only): the a*b* loss reaches the residual, not the
        classifier's annealed mean, so only the rebalanced cross-entropy shapes the classifier."""
        guide_p = premultiplied(guide)
        attended = upsample2(self.attend(key, ref_key, ref_colour))
        x = self.at8(torch.cat((feat, pooled(guide_p, 8), attended), dim=1))
        if self.coarse is not None:
            x = x + self.coarse(feat, guide_p, attended)
        x = separable_on_parts(self.at4, (upsample2(x), s4, pooled(guide_p, 4)))
        ab4, logits = annealed_mean(
            x, self.to_logits, self.ab_bins, None if vividness is None else vividness * self.log_prior
        )
        if detach_classifier:
            ab4 = ab4.detach()
        guide2 = pooled(guide_p, 2)
        x = separable_on_parts(self.at2, (upsample2(x), s2, guide2))
        residual, gate_logit = self.residual_and_gate(x, guide2)
        ab2 = upsample2(ab4) + residual
        gate = torch.sigmoid(gate_logit) * (guide2[:, 2:3] > 0).to(x.dtype)
        ab2 = gate * unpremultiplied(guide2) + (1.0 - gate) * ab2
        return upsample2(ab2).clamp(-1.0, 1.0), logits

    def residual_and_gate(self, x: torch.Tensor, guide2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """to_residual(x) and to_gate(x, guide2) as one 3x3 convolution (the residual's weights
        are zero on the guide's channels): onnxruntime's two convolutions with 2 and 1 outputs
        took 1.9 ms at 256x256 (one thread), the one with 3 outputs takes 1.5."""
        residual_weight = F.pad(self.to_residual.weight, (0, 0, 0, 0, 0, int(guide2.shape[1])))
        weight = torch.cat((residual_weight, self.to_gate.weight))
        bias = torch.cat((self.to_residual.bias, self.to_gate.bias))
        both = F.conv2d(torch.cat((x, guide2), dim=1), weight, bias, padding=1)
        return both[:, :2], both[:, 2:]

    # ------------------------------------------------------------ helpers for training

    def zero_state(self, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """prev_feat, flow and has_prev for a chain's first frame."""
        n, _, h, w = current.shape
        zeros = current.new_zeros
        return zeros(current.shape), zeros(n, 2, h, w), zeros(n, 1, 1, 1)

    def spec(self) -> dict:
        widths = (self.at8[0][0].out_channels, self.at4[1].out_channels, self.at2[1].out_channels)
        spec = {"widths": widths, "activation": self.activation}
        # absent, not False: older checkpoints' specs stay as they were
        if self.coarse is not None:
            spec["coarse"] = True
        if self.scene is not None:
            spec["scene"] = True
        return spec


def _sequential_relu_slots(part: nn.Module):
    for module in part.modules():
        if isinstance(module, nn.Sequential):
            for index, child in enumerate(module):
                if isinstance(child, nn.ReLU) and index > 0:
                    yield module, index, module[index - 1].out_channels


def _coarse_relu_slots(coarse: CoarseContext):
    yield from _sequential_relu_slots(coarse.body)
    yield coarse, "act", coarse.from_frame.out_channels


def _relu_slots(net: ColorMotionNet2):
    """(container, index, channels) of every ReLU of the state and the decoder (the encoder's
    ReLU6s and the mask net's are the pretrained and the paper's, and stay)."""
    yield net, "state_act", net.FEATURE_CHANNELS
    for part in (net.fuse, net.at8, net.at4, net.at2):
        yield from _sequential_relu_slots(part)
    if net.coarse is not None:
        yield from _coarse_relu_slots(net.coarse)


def _to_prelu(slots, init: float, device: torch.device) -> None:
    for container, slot, channels in list(slots):
        prelu = nn.PReLU(channels, init=init).to(device)
        if isinstance(slot, str):
            setattr(container, slot, prelu)
        else:
            container[slot] = prelu


def use_prelu(net: ColorMotionNet2, init: float) -> None:
    """Every ReLU of the state and the decoder becomes a PReLU of negative slope `init`."""
    _to_prelu(_relu_slots(net), init, next(net.parameters()).device)
    net.activation = "prelu"


@torch.no_grad()
def switch_to_prelu(net: ColorMotionNet2, gray: torch.Tensor) -> None:
    """Turn a ReLU network (run v2, v3) into a PReLU one for a fine-tune, on sample frames
    `gray` [N,1,H,W].

    The decoder's ReLUs become PReLUs of slope 0: the same function, but dead units get a
    gradient again through the slopes. The state path starts afresh instead: its ReLU code was
    sparse (~1-2 % of training-crop positions, 0.04 % of held-out ones) and memorised the
    training images (on held-out validation crops run v3 scores better with the decoder
    ignoring it: a*b* MSE 0.01092 against 0.01231 without hints), and under a slope-0 PReLU its
    pre-activations (mean about -40) turned into a large, data-dependent offset as the slopes
    grew (automatic colour 43 % worse than grey after 500 steps). So the state's last conv is
    rescaled to zero mean and unit spread per channel on `gray`, followed by a PReLU of slope
    0.25, and what reads the state (the decoder's stride-8 conv and the mask net's first conv)
    starts at zero on it: the network starts as run v3 with its state ignored."""
    if net.activation == "prelu":
        raise ValueError("the network's activations are PReLUs already")
    use_prelu(net, init=0.0)
    last = net.fuse[1][0]
    _, _, s8, s16 = net.encoder(gray)
    pre = net.state_preactivation(s8, s16)
    mean, std = pre.mean(dim=(0, 2, 3)), pre.std(dim=(0, 2, 3)).clamp(min=1e-6)
    last.weight.div_(std[:, None, None, None])
    last.bias.sub_(mean).div_(std)
    net.state_act.weight.fill_(0.25)
    net.at8[0][0].weight[:, : net.FEATURE_CHANNELS].zero_()
    net.mask_net.body[0][0].weight.zero_()


@torch.no_grad()
def graph_gflops(net: ColorMotionNet2, height: int = 256, width: int = 256) -> dict[str, float]:
    """GFLOPs (2 x multiply-adds) of the convolutions of each contract-2 graph for one
    height x width frame. They grow with the pixel count; decode's attention, which grows with
    its square, is `attention_gflops`."""
    from torch.overrides import TorchFunctionMode

    flops: dict[str, float] = {}
    graph = ""

    class CountConvolutions(TorchFunctionMode):
        """Every conv2d call, a module's or a functional one (`separable_on_parts`), and every
        matmul (the annealed mean's classifier); the attention's bmm is attention_gflops'."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            output = func(*args, **(kwargs or {}))
            if func is F.conv2d:
                weight = args[1] if len(args) > 1 else kwargs["weight"]
                kernel = weight.shape[1] * weight.shape[2] * weight.shape[3]  # inputs per group
                flops[graph] = flops.get(graph, 0.0) + 2 * output.numel() * kernel
            elif func in (torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__):
                flops[graph] = flops.get(graph, 0.0) + 2 * output.numel() * args[0].shape[-1]
            return output

    with torch.no_grad(), CountConvolutions():
        gray, guide = torch.rand(1, 1, height, width), torch.zeros(1, 3, height, width)
        graph = "encode"
        current, key, s4, s2 = net.encode(gray)
        graph = "reference"
        ref_key, ref_colour = net.reference(gray, guide)
        graph = "blend"
        feat, _ = net.blend(current, *net.zero_state(current)[:2], torch.ones(1, 1, 1, 1))
        graph = "decode"
        net.decode(feat, s4, s2, key, guide, ref_key, ref_colour)
    return {name: value / 1e9 for name, value in flops.items()}


def attention_gflops(net: ColorMotionNet2, height: int = 256, width: int = 256) -> float:
    """decode's attention to the reference: similarities and the weighted sum over key positions."""
    positions = (height // net.KEY_STRIDE) * (width // net.KEY_STRIDE)
    return 2 * 2 * positions * positions * net.KEY_CHANNELS / 1e9


def frame_gflops(net: ColorMotionNet2, height: int = 256, width: int = 256) -> float:
    """GFLOPs of what every output frame costs: encode, blend and decode with its attention (a
    reference's own graph runs once per reference, not per frame)."""
    graphs = graph_gflops(net, height, width)
    return graphs["encode"] + graphs["blend"] + graphs["decode"] + attention_gflops(net, height, width)
