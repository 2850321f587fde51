"""Paired geometric augmentation: both frames of a training pair move under one transform.

Video pairs (two neighbouring frames of a scene) share one random affine transform and one crop,
so the true motion between them is untouched. A still photo becomes a pair with artificial
motion: frame t-1 is the photo, frame t is the photo under an extra small transform; then both
get the shared transform and crop like a video pair.

Every transform is a 2x3 affine matrix; the crop is folded into it, so each output frame costs
one `cv2.warpAffine` at crop size. Borders reflect, so no artificial black edges appear.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AffineRange:
    """Ranges of a random affine transform: +-degrees, +-degrees, +-pixels, [min, max] scale."""

    rotation: float
    shear: float
    shift: float
    zoom: tuple[float, float]


VIDEO_AUGMENT = AffineRange(rotation=15.0, shear=20.0, shift=12.0, zoom=(0.8, 1.1))
STILL_MOTION = AffineRange(rotation=5.0, shear=10.0, shift=4.0, zoom=(0.9, 1.0))


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def affine_about(center: tuple[float, float], rotation: float, shear: float, zoom: float, shift=(0.0, 0.0)):
    """2x3 matrix: rotate (deg), shear x (deg) and zoom about `center`, then shift (px)."""
    cx, cy = center
    angle, slant = np.deg2rad(rotation), np.deg2rad(shear)
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    linear = zoom * rotate @ np.array([[1.0, np.tan(slant)], [0.0, 1.0]])
    offset = np.array([cx, cy]) - linear @ np.array([cx, cy]) + np.asarray(shift, dtype=np.float64)
    return np.hstack([linear, offset[:, None]])


def random_affine(rng: np.random.Generator, ranges: AffineRange, center: tuple[float, float]) -> np.ndarray:
    """A random 2x3 affine matrix within `ranges`, about `center`."""
    return affine_about(
        center,
        rotation=rng.uniform(-ranges.rotation, ranges.rotation),
        shear=rng.uniform(-ranges.shear, ranges.shear),
        zoom=rng.uniform(*ranges.zoom),
        shift=rng.uniform(-ranges.shift, ranges.shift, size=2),
    )


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2x3 matrix applying `inner` first, then `outer`."""
    return (_homogeneous(outer) @ _homogeneous(inner))[:2]


def crop_transform(
    rng: np.random.Generator, image_size: tuple[int, int], crop: int, flip: bool
) -> tuple[np.ndarray, tuple[float, float]]:
    """Matrix mapping the image into a random `crop` x `crop` window, upscaling images that are
    too small; also returns the window's centre in image coordinates (where the random transform
    should pivot so that it stays in view).
    """
    height, width = image_size
    scale = max(1.0, crop / min(height, width))
    x0 = rng.uniform(0, width * scale - crop)
    y0 = rng.uniform(0, height * scale - crop)
    window = np.array([[scale, 0.0, -x0], [0.0, scale, -y0]])
    if flip:
        window = compose(np.array([[-1.0, 0.0, crop - 1.0], [0.0, 1.0, 0.0]]), window)
    center = ((x0 + crop / 2) / scale, (y0 + crop / 2) / scale)
    return window, center


def warp(image: np.ndarray, matrix: np.ndarray, crop: int) -> np.ndarray:
    """`image` [H, W, C] under `matrix`, sampled into a crop x crop output (bilinear, reflect)."""
    return cv2.warpAffine(
        image, matrix, (crop, crop), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )


def pair_transforms(
    rng: np.random.Generator,
    image_size: tuple[int, int],
    crop: int,
    still: bool,
    shared: AffineRange = VIDEO_AUGMENT,
    motion: AffineRange = STILL_MOTION,
) -> tuple[np.ndarray, np.ndarray]:
    """The two 2x3 matrices (frame t-1, frame t) of one training pair.

    Video pair: both equal (one shared transform and crop). Still pair: frame t additionally
    moves by a small random transform applied to the photo before the shared one.
    """
    window, center = crop_transform(rng, image_size, crop, flip=bool(rng.random() < 0.5))
    shared_matrix = compose(window, random_affine(rng, shared, center))
    if not still:
        return shared_matrix, shared_matrix
    return shared_matrix, compose(shared_matrix, random_affine(rng, motion, center))


def augment_pair(
    rng: np.random.Generator, prev: np.ndarray, now: np.ndarray, crop: int, still: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Augmented crops (frame t-1, frame t) of two equally sized images [H, W, C].

    For a still photo pass the same image twice with `still=True`.
    """
    if prev.shape != now.shape:
        raise ValueError(f"a pair needs frames of one size, got {prev.shape} and {now.shape}")
    matrix_prev, matrix_now = pair_transforms(rng, prev.shape[:2], crop, still)
    return warp(prev, matrix_prev, crop), warp(now, matrix_now, crop)
