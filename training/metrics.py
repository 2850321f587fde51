"""Image and video colourisation metrics on uint8 (or 0..255 float) RGB frames [H, W, 3].

psnr            peak signal-to-noise ratio in dB (peak 255), capped at PSNR_CAP for equal frames
ssim            structural similarity (Wang et al. 2004: Gaussian window 11, sigma 1.5), RGB mean
colourfulness   Hasler & Suesstrunk 2003, on 0..255 RGB
cdc             colour distribution consistency (Liu et al. 2021): Jensen-Shannon divergence
                (natural log) of per-channel 256-bin histograms between frames t and t+d,
                averaged over channels, t, and d in (1, 2, 4)
warp_error      Lai et al. 2018: mean squared difference (RGB in 0..1) between frame t and frame
                t+1 warped back by optical flow, on pixels passing a forward-backward check
"""

from __future__ import annotations

import cv2
import numpy as np
from colormotion.temporal import cuts

PSNR_CAP = 100.0  # dB reported for identical frames (MSE 0)
CDC_STEPS = (1, 2, 4)


def _as_float(image: np.ndarray, dtype=np.float64) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB frame [H, W, 3], got shape {image.shape}")
    return image.astype(dtype)


def psnr(output: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB of two RGB frames on the 0..255 scale."""
    a, b = _as_float(output), _as_float(reference)
    if a.shape != b.shape:
        raise ValueError(f"frames differ in shape: {a.shape} vs {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * np.log10(255.0**2 / mse))


def ssim(output: np.ndarray, reference: np.ndarray) -> float:
    """Mean SSIM over the three channels (data range 255, 11x11 Gaussian window)."""
    a, b = _as_float(output, np.float32), _as_float(reference, np.float32)
    if a.shape != b.shape:
        raise ValueError(f"frames differ in shape: {a.shape} vs {b.shape}")
    return cuts.ssim(a, b, data_range=255.0, window=11)


def colourfulness(image: np.ndarray) -> float:
    """Hasler-Suesstrunk colourfulness M of one RGB frame (0 for gray, ~100+ for vivid)."""
    rgb = _as_float(image)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = red - green
    yb = 0.5 * (red + green) - blue
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def channel_histograms(image: np.ndarray) -> np.ndarray:
    """[3, 256] normalised histograms of a uint8 RGB frame (float frames are rounded)."""
    rgb = np.clip(np.rint(_as_float(image)), 0, 255).astype(np.int64)
    hists = np.stack([np.bincount(rgb[..., c].ravel(), minlength=256) for c in range(3)]).astype(np.float64)
    return hists / hists.sum(axis=1, keepdims=True)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (natural log, 0..ln 2) of two distributions over the last axis."""
    m = 0.5 * (p + q)

    def kl(x, y):
        mask = x > 0
        return float(np.sum(x[mask] * np.log(x[mask] / y[mask])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def cdc(frames: list[np.ndarray], steps: tuple[int, ...] = CDC_STEPS) -> float:
    """Colour distribution consistency of a clip (lower = steadier colours); nan if too short."""
    hists = [channel_histograms(frame) for frame in frames]
    per_step = []
    for step in steps:
        if len(hists) <= step:
            continue
        values = [
            np.mean([js_divergence(hists[t][c], hists[t + step][c]) for c in range(3)])
            for t in range(len(hists) - step)
        ]
        per_step.append(np.mean(values))
    return float(np.mean(per_step)) if per_step else float("nan")


def _flow(gray_from: np.ndarray, gray_to: np.ndarray) -> np.ndarray:
    """Dense flow [H, W, 2]: pixel (x, y) of `gray_from` is at (x, y) + flow in `gray_to`."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(gray_from, gray_to, None)


def _sample(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """`image` sampled at (x, y) + flow (bilinear, border replicated)."""
    height, width = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(
        image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


class WarpField:
    """Flow from frame t to t+1 of the reference video and its occlusion mask.

    Computed once on the ground-truth pair and reused for every output being scored, as in
    Lai et al. 2018. Pixels fail the forward-backward check (Sundaram et al. 2010) when
    |F + B(x + F)|^2 > 0.01 (|F|^2 + |B(x + F)|^2) + 0.5, or when they leave the frame.
    """

    def __init__(self, frame_t: np.ndarray, frame_next: np.ndarray):
        gray_t = cv2.cvtColor(np.asarray(frame_t, np.uint8), cv2.COLOR_RGB2GRAY)
        gray_next = cv2.cvtColor(np.asarray(frame_next, np.uint8), cv2.COLOR_RGB2GRAY)
        self.forward = _flow(gray_t, gray_next)
        backward_at_target = _sample(_flow(gray_next, gray_t), self.forward)
        round_trip = np.sum((self.forward + backward_at_target) ** 2, axis=2)
        magnitude = np.sum(self.forward**2, axis=2) + np.sum(backward_at_target**2, axis=2)
        height, width = gray_t.shape
        xs, ys = np.meshgrid(np.arange(width), np.arange(height))
        target_x, target_y = xs + self.forward[..., 0], ys + self.forward[..., 1]
        inside = (target_x >= 0) & (target_x <= width - 1) & (target_y >= 0) & (target_y <= height - 1)
        self.valid = (round_trip <= 0.01 * magnitude + 0.5) & inside

    def error(self, output_t: np.ndarray, output_next: np.ndarray) -> float:
        """Mean squared RGB difference (0..1 scale) between output t and output t+1 warped back."""
        a = _as_float(output_t, np.float32) / 255.0
        b = _as_float(output_next, np.float32) / 255.0
        warped = _sample(b, self.forward)
        if not self.valid.any():
            return float("nan")
        return float(np.mean(np.sum((a - warped) ** 2, axis=2)[self.valid]) / 3.0)


def warp_error(frames: list[np.ndarray], fields: list[WarpField] | None = None) -> float:
    """Mean warp error over consecutive frame pairs; `fields` from the reference video (default:
    computed on `frames` themselves)."""
    if len(frames) < 2:
        return float("nan")
    if fields is None:
        fields = [WarpField(frames[t], frames[t + 1]) for t in range(len(frames) - 1)]
    if len(fields) != len(frames) - 1:
        raise ValueError(f"{len(frames)} frames need {len(frames) - 1} warp fields, got {len(fields)}")
    return float(np.nanmean([field.error(frames[t], frames[t + 1]) for t, field in enumerate(fields)]))
