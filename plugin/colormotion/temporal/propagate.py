"""Colour carried from a reference frame straight to another frame by dense flow.

A *colour guide* is float32 [3, H, W] at working resolution: a*/110, b*/110 and a confidence
in 0..1 (a* = b* = 0 where the confidence is 0). A reference frame is a dense guide
(confidence 1 everywhere); the hints keyed on a frame are a sparse one (confidence 1 under
each hint). `carry` moves a guide from its frame r to frame t in one hop, so a reference
reaches any frame of its shot at O(1) cost, in any render order:

    flow t -> r and r -> t (DIS on L*)  ->  sample the guide at the flowed positions
    confidence x forward-backward agreement x lightness agreement x inside the frame

The network gets the fused guide (`fuse`) as input and does what flow cannot: occlusions,
new objects, large motion. Training (`training/`) calls exactly these functions, so the
network learns on the guides it sees at run time.
"""

from __future__ import annotations

import functools
import logging

import cv2
import numpy as np

log = logging.getLogger("colormotion")

# DIS "medium": reference frames can be many frames away, with larger motion than neighbours.
REFERENCE_FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
# Forward-backward occlusion test of Sundaram et al. 2010: |w + w'|^2 < 0.01 (|w|^2 + |w'|^2) + 0.5.
FB_RELATIVE, FB_ABSOLUTE = 0.01, 0.5
# Lightness disagreement (L* units) at which the confidence falls to 1/e: colour carried onto a
# pixel of very different L* is probably a wrong match.
LIGHTNESS_TOLERANCE = 12.0
EMPTY_CONFIDENCE = 1e-4  # premultiplied samples below this carry no colour


def _to_u8(gray: np.ndarray) -> np.ndarray:
    """L*/100 in [0, 1] -> uint8, the input DIS expects."""
    return np.clip(gray * 255.0 + 0.5, 0, 255).astype(np.uint8)


def dense_flow(gray_from: np.ndarray, gray_to: np.ndarray, preset: int = REFERENCE_FLOW_PRESET) -> np.ndarray:
    """Flow [H, W, 2] in pixels: pixel (x, y) of `gray_from` is at (x + dx, y + dy) in `gray_to`."""
    if gray_from.shape != gray_to.shape:
        raise ValueError(f"flow needs frames of one size, got {gray_from.shape} and {gray_to.shape}")
    dis = cv2.DISOpticalFlow_create(preset)
    return dis.calc(_to_u8(gray_from), _to_u8(gray_to), None)


def _sample_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = flow.shape[:2]
    xs = np.arange(width, dtype=np.float32)[None, :] + flow[..., 0]
    ys = np.arange(height, dtype=np.float32)[:, None] + flow[..., 1]
    return xs, ys


def sample(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """`image` [H, W] or [H, W, C] read at the flowed positions (bilinear, zero outside)."""
    xs, ys = _sample_maps(flow)
    return cv2.remap(image, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def flow_confidence(
    flow_t_to_r: np.ndarray, flow_r_to_t: np.ndarray, gray_t: np.ndarray, gray_r: np.ndarray
) -> np.ndarray:
    """[H, W] float32 in 0..1: how far to trust colour carried from r along `flow_t_to_r`."""
    back = sample(flow_r_to_t, flow_t_to_r)
    mismatch = np.sum((flow_t_to_r + back) ** 2, axis=-1)
    motion = np.sum(flow_t_to_r**2, axis=-1) + np.sum(back**2, axis=-1)
    agreement = np.exp(-mismatch / (FB_RELATIVE * motion + FB_ABSOLUTE))
    lightness_gap = (gray_t - sample(gray_r, flow_t_to_r)) * (100.0 / LIGHTNESS_TOLERANCE)
    inside = sample(np.ones_like(gray_r), flow_t_to_r)  # < 1 near and beyond the frame edge
    return (agreement * np.exp(-(lightness_gap**2)) * inside).astype(np.float32)


def carry(gray_t: np.ndarray, gray_r: np.ndarray, guide_r: np.ndarray) -> np.ndarray:
    """The guide of frame r [3, H, W] carried to frame t: a guide [3, H, W] for frame t.

    `gray_t`, `gray_r` are [H, W] float32 L*/100 of one size. Colour is sampled premultiplied
    by its confidence, so a sparse hint keeps its colour instead of fading towards grey.
    """
    if guide_r.shape != (3, *gray_r.shape):
        raise ValueError(f"guide {guide_r.shape} does not match the frame {gray_r.shape}")
    flow_t_to_r = dense_flow(gray_t, gray_r)
    flow_r_to_t = dense_flow(gray_r, gray_t)
    confidence_r = guide_r[2]
    premultiplied = np.stack([guide_r[0] * confidence_r, guide_r[1] * confidence_r, confidence_r], axis=-1)
    carried = sample(np.ascontiguousarray(premultiplied, np.float32), flow_t_to_r)
    weight = carried[..., 2]
    has_colour = weight > EMPTY_CONFIDENCE
    safe = np.where(has_colour, weight, 1.0)
    confidence = weight * flow_confidence(flow_t_to_r, flow_r_to_t, gray_t, gray_r) * has_colour
    guide = np.empty_like(guide_r, dtype=np.float32)
    guide[0] = np.where(has_colour, carried[..., 0] / safe, 0.0)
    guide[1] = np.where(has_colour, carried[..., 1] / safe, 0.0)
    guide[2] = confidence
    return guide


def empty(height: int, width: int) -> np.ndarray:
    return np.zeros((3, height, width), np.float32)


def fuse(guides: list[np.ndarray], overrides: np.ndarray | None = None) -> np.ndarray:
    """One guide from several carried ones, plus the frame's own hints on top.

    Carried guides are averaged weighted by confidence squared (the surer one dominates) and
    keep the highest confidence. `overrides` (the hints on this very frame, a sparse guide)
    replace whatever was carried wherever they have confidence.
    """
    if not guides and overrides is None:
        raise ValueError("fuse needs at least one guide")
    shape = (guides[0] if guides else overrides).shape
    fused = empty(*shape[1:])
    if guides:
        stack = np.stack(guides)
        weights = stack[:, 2] ** 2
        total = weights.sum(axis=0)
        safe = np.where(total > 0, total, 1.0)
        fused[0] = (stack[:, 0] * weights).sum(axis=0) / safe
        fused[1] = (stack[:, 1] * weights).sum(axis=0) / safe
        fused[2] = stack[:, 2].max(axis=0)
    if overrides is not None:
        if overrides.shape != shape:
            raise ValueError(f"hint guide {overrides.shape} does not match {shape}")
        hinted = overrides[2] > 0
        fused[:, hinted] = overrides[:, hinted]
    return fused


def chain_output(
    gray_t: np.ndarray, gray_prev: np.ndarray, ab_prev: np.ndarray, guide_prev: np.ndarray
) -> np.ndarray:
    """The previous frame's output a*b* [2, H, W] carried to frame t, with the confidence the
    previous frame's guide had: what the user set persists along the chain, the network's own
    guesses do not (they have confidence 0)."""
    return carry(gray_t, gray_prev, np.concatenate([ab_prev, guide_prev[2:3]]).astype(np.float32))


def frame_guide(size: tuple[int, int], carried: list[np.ndarray], hints: np.ndarray | None) -> np.ndarray:
    """The guide the network gets for one frame: carried references and chained output, fused,
    with the frame's own hints on top (an empty guide when there is nothing)."""
    hinted = hints is not None and bool((hints[2] > 0).any())
    if not carried and not hinted:
        return empty(*size)
    return fuse(carried or [empty(*size)], hints if hinted else None)


# Hint spread: the colours a user set fill their regions, not only the spots under the hints.
# An edge-aware smoother on L* (the fast global smoother of Min et al. 2014) spreads the guide's
# colours, normalised by its spread confidence; where that confidence is high the spread colour
# replaces the network's. Its reach follows the hints' spacing: lambda = SPREAD_SCALE x the
# unhinted pixels per hint region, so 10 hints reach far and 100 stay local; SPREAD_GAIN bounds
# how far the colour replaces the network's. Chosen on training data, never the held-out split
# (`python -m training.tune_spread`; the model card has the figures): the edge sigma on 55
# photos (2 -> 4: +0.15 dB at 10 hints); the gain on 12 clips with 10 hints on frame 0 (2000 ->
# 50). At 2000 a few hints replaced the network's colour across most of the frame wherever L*
# edges were weak: it won on photos (+0.5 dB at 10 hints) but lost up to 4 dB on clips whose
# colours the network had right (red cups painted grey by hints on the wooden deck); at 50 no
# clip lost more than 0.3 dB on frames 1-10 and a hint still fills up to ~50 times its area.
SPREAD_SCALE = 0.2
SPREAD_SIGMA = 4.0  # L* edge on the 0..255 scale of the filter's guide (~1.6 L*) that stops it
SPREAD_GAIN = 50.0  # spread confidence -> blend weight (saturates where it passes 1/50)


def spread_guide(ab: np.ndarray, guide: np.ndarray, gray: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """The network's a*b* [2, H, W] with the guide's colours spread over their regions.

    `guide` is a colour guide [3, H, W] (module docstring), `gray` L*/100 [H, W]; `amount`
    scales the reach and how far the spread colour replaces the network's (0: `ab` unchanged).
    A guide with no confident pixel, or one that covers the whole frame, leaves `ab` as it is.
    """
    if amount <= 0:
        return ab
    confident = guide[2] > EMPTY_CONFIDENCE
    guided = int(np.count_nonzero(confident))
    free = confident.size - guided
    if guided == 0 or free == 0:
        return ab
    if not hasattr(cv2, "ximgproc"):  # an OpenCV without its contrib modules (a host's own build)
        _warn_no_smoother()
        return honour_guide(ab, guide)
    regions = cv2.connectedComponents(confident.astype(np.uint8), connectivity=8)[0] - 1
    smoother = cv2.ximgproc.createFastGlobalSmootherFilter(
        _to_u8(gray), SPREAD_SCALE * amount * free / regions, SPREAD_SIGMA
    )
    weight = np.where(confident, guide[2], 0.0).astype(np.float32)
    reach = smoother.filter(weight)
    spread_a = smoother.filter(guide[0] * weight)
    spread_b = smoother.filter(guide[1] * weight)
    safe = np.maximum(reach, np.float32(1e-30))  # the smoother keeps a positive weight positive
    share = np.clip(reach * (SPREAD_GAIN * amount * amount), 0.0, 1.0)
    out = np.empty_like(ab, dtype=np.float32)
    out[0] = share * (spread_a / safe) + (1.0 - share) * ab[0]
    out[1] = share * (spread_b / safe) + (1.0 - share) * ab[1]
    return honour_guide(out, guide)  # the spread of its neighbours must not shift a hint


@functools.cache
def _warn_no_smoother() -> None:
    log.warning(
        "hint spread needs OpenCV's contrib modules (cv2.ximgproc, in opencv-contrib-python); "
        "this OpenCV %s has none, so hints colour the spots under them only",
        cv2.__version__,
    )


def honour_guide(ab: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """a*b* [2, H, W] with the guide's own colour under the guide, as sure as the guide is: a
    hint keeps its colour exactly, a reference's colour carried with confidence c weighs c.
    (On training clips, with the true frame 0 as the reference: +0.8 dB over frames 1-59.)"""
    weight = guide[2:3]
    if not (weight > 0).any():
        return ab
    return (weight * guide[:2] + (1.0 - weight) * ab).astype(np.float32, copy=False)
