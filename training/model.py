"""ColorMotionNet: one step of the temporal colourisation recurrence (see colormotion.contract).

    gray, hints ──► encoder (pretrained MobileNetV2, cut at stride 16) ──► s2, s4, s8, s16 maps
    s16 ─up─┐
    s8 ─────┴► fuse ──► current features (C channels, stride 8)
    prev_feat ──warp by flow──► warped ─┐
                                        ├► mask net ► m (forced to 0 when has_prev = 0)
    current ────────────────────────────┘
    feat = m * warped + (1 - m) * current                        (passed to the next frame)
    feat ─up─► + s4 ─► conv ─up─► + s2 ─► conv ─► a*b* at stride 2 ─up─► a*b* at full size

The network sees L* only (never the colour image): L*/100 in [0, 1] is mapped to [-1, 1], the
range the pretrained net saw for RGB, and replicated to its 3 input channels. The 3 hint
channels get their own zero-initialised stem weights, so training starts from the pretrained
behaviour. Output a*/110, b*/110 through tanh.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from training.mobilenet_tflite import MobileNetV2, TfSameConv, load_tflite_mobilenet_v2

# Encoder taps: MobileNetV2 block index whose output is used, and its channels / stride.
TAP_S2, TAP_S4, TAP_S8, TAP_S16 = 0, 2, 5, 12
CH_S2, CH_S4, CH_S8, CH_S16 = 16, 24, 32, 96
HINT_CHANNELS = 3


def conv_relu(in_ch: int, out_ch: int, kernel: int = 3, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (kernel // 2)
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, padding=pad, dilation=dilation), nn.ReLU(inplace=True)
    )


def separable_conv_relu(in_ch: int, out_ch: int) -> nn.Sequential:
    """3x3 depthwise + 1x1 pointwise: a tenth of a full 3x3 conv's cost at high resolution."""
    return nn.Sequential(
        nn.Conv2d(in_ch, in_ch, 3, padding=1, groups=in_ch),
        nn.Conv2d(in_ch, out_ch, 1),
        nn.ReLU(inplace=True),
    )


def upsample2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def warp(features: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample `features` [N,C,h,w] at (x + dx, y + dy); flow [N,2,h,w] in feature-grid pixels.

    Positions outside the grid take the nearest border feature.
    """
    _, _, h, w = flow.shape
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device).view(1, 1, w).expand(1, h, w)
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device).view(1, h, 1).expand(1, h, w)
    # align_corners=True: -1 and +1 are the centres of the first and last feature. The grid is
    # at least 4 wide (sizes are multiples of 32), and plain arithmetic keeps w, h dynamic in ONNX.
    gx = (xs + flow[:, 0]) * (2.0 / (w - 1)) - 1.0
    gy = (ys + flow[:, 1]) * (2.0 / (h - 1)) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    return F.grid_sample(features, grid, mode="bilinear", padding_mode="border", align_corners=True)


class MaskNet(nn.Module):
    """Per-position blend weight from the warped previous and the current features (the paper's)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv_relu(2 * channels, 16), conv_relu(16, 24), nn.Conv2d(24, 1, 1))

    def forward(self, warped: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.body(torch.cat((warped, current), dim=1)))


class Encoder(nn.Module):
    """MobileNetV2 blocks up to stride 16; the stem takes 3 more, zero-initialised, hint inputs."""

    def __init__(self, backbone: MobileNetV2):
        super().__init__()
        pretrained = backbone.stem[0]
        stem = TfSameConv(3 + HINT_CHANNELS, pretrained.out_channels, 3, stride=2)
        with torch.no_grad():
            stem.weight.zero_()
            stem.weight[:, :3] = pretrained.weight
            stem.bias.copy_(pretrained.bias)
        self.stem = nn.Sequential(stem, nn.ReLU6(inplace=True))
        self.blocks = nn.ModuleList(backbone.blocks[: TAP_S16 + 1])

    def forward(self, gray: torch.Tensor, hints: torch.Tensor) -> list[torch.Tensor]:
        rgb_like = (gray * 2.0 - 1.0).expand(-1, 3, -1, -1)
        x = self.stem(torch.cat((rgb_like, hints), dim=1))
        taps = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in (TAP_S2, TAP_S4, TAP_S8, TAP_S16):
                taps.append(x)
        return taps


class ColorMotionNet(nn.Module):
    FEATURE_STRIDE = 8  # s: prev_feat / flow / mask live on the H/8 x W/8 grid
    FEATURE_CHANNELS = 64  # C

    def __init__(
        self,
        backbone: MobileNetV2 | None = None,
        decoder_channels: tuple[int, int] = (32, 16),
        hidden_widths: list[int] | None = None,
    ):
        """`hidden_widths` (expanded widths of the encoder blocks) is set for pruned networks."""
        super().__init__()
        c = self.FEATURE_CHANNELS
        d4, d2 = decoder_channels
        self.encoder = Encoder(backbone if backbone is not None else MobileNetV2(hidden_widths=hidden_widths))
        self.fuse = nn.Sequential(conv_relu(CH_S16 + CH_S8, c, 1), conv_relu(c, c))
        self.mask_net = MaskNet(c)
        self.up4 = separable_conv_relu(c + CH_S4, d4)
        self.up2 = separable_conv_relu(d4 + CH_S2, d2)
        self.to_ab = nn.Conv2d(d2, 2, 3, padding=1)
        # Start from the grey (a* = b* = 0) prediction, the MSE-optimal guess without information.
        nn.init.zeros_(self.to_ab.weight)
        nn.init.zeros_(self.to_ab.bias)

    @classmethod
    def from_tflite(cls, path: str | Path, **kwargs) -> ColorMotionNet:
        """A net whose encoder starts from the pretrained MobileNetV2 TFLite weights."""
        return cls(load_tflite_mobilenet_v2(path), **kwargs)

    def forward(
        self,
        gray: torch.Tensor,
        hints: torch.Tensor,
        prev_feat: torch.Tensor,
        flow: torch.Tensor,
        has_prev: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Contract inputs -> (ab [N,2,H,W], feat [N,C,H/8,W/8], mask [N,1,H/8,W/8])."""
        s2, s4, s8, s16 = self.encoder(gray, hints)
        current = self.fuse(torch.cat((upsample2(s16), s8), dim=1))

        warped = warp(prev_feat, flow)
        mask = self.mask_net(warped, current) * has_prev
        feat = mask * warped + (1.0 - mask) * current

        x = self.up4(torch.cat((upsample2(feat), s4), dim=1))
        x = self.up2(torch.cat((upsample2(x), s2), dim=1))
        ab = upsample2(torch.tanh(self.to_ab(x)))
        return ab, feat, mask

    def spec(self) -> dict:
        """Constructor arguments that rebuild this architecture (widths change when pruned)."""
        return {
            "decoder_channels": (self.up4[1].out_channels, self.up2[1].out_channels),
            "hidden_widths": [block.depthwise[0].out_channels for block in self.encoder.blocks],
        }

    def zero_state(self, gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """prev_feat, flow and has_prev for the first frame of a clip."""
        n, _, h, w = gray.shape
        s = self.FEATURE_STRIDE
        zeros = gray.new_zeros
        return zeros(n, self.FEATURE_CHANNELS, h // s, w // s), zeros(n, 2, h // s, w // s), zeros(n, 1, 1, 1)
