"""Simulated user hints for training, after Zhang et al. 2017 ("Real-Time User-Guided Image
Colorization with Learned Deep Priors").

A hint is a small square patch (side 1..9 px) filled with the ground-truth mean a*b* of that
patch, mask 1 inside. Regimes (one drawn per pair, weights are a config value):

``none``       no hints on either frame
``sparse``     per frame, the number of patches is geometric with p = 1/8 (counted from 0, so a
               frame often gets none), positions normal around the centre (sigma = size / 4)
``dense_low``  0.008 % of pixels hinted (single pixels, uniform positions), as in the paper
``dense_high`` 5 % of pixels hinted
``reference``  every pixel of frame t-1 hinted, none on frame t: a reference frame given as
               dense hints must be reproduced and then carried to frame t by the state
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REGIMES = ("none", "sparse", "dense_low", "dense_high", "reference")


def _default_mix() -> dict[str, float]:
    return {"none": 0.1, "sparse": 0.55, "dense_low": 0.1, "dense_high": 0.1, "reference": 0.15}


@dataclass(frozen=True)
class HintConfig:
    mix: dict[str, float] = field(default_factory=_default_mix)  # regime -> relative weight
    geometric_p: float = 1.0 / 8.0
    max_patch: int = 9  # patch sides are uniform in 1..max_patch
    centre_sigma: float = 0.25  # std of hint positions, as a fraction of the frame size
    dense_low_fraction: float = 0.00008  # 0.008 %
    dense_high_fraction: float = 0.05  # 5 %

    def __post_init__(self):
        unknown = set(self.mix) - set(REGIMES)
        if unknown:
            raise ValueError(f"unknown hint regimes {sorted(unknown)}; known: {REGIMES}")
        if any(w < 0 for w in self.mix.values()) or sum(self.mix.values()) <= 0:
            raise ValueError(f"hint regime weights must be >= 0 with a positive sum, got {self.mix}")


def empty_hints(height: int, width: int) -> np.ndarray:
    return np.zeros((3, height, width), np.float32)


def patch_hints(ab: np.ndarray, boxes: list[tuple[int, int, int]]) -> np.ndarray:
    """Hint channels [3, H, W] for square patches (y, x, side) on ground truth `ab` [2, H, W].

    Each patch holds the mean a*b* of the ground truth under it; later patches overwrite
    earlier ones where they overlap.
    """
    hints = empty_hints(*ab.shape[1:])
    for y, x, side in boxes:
        window = (slice(y, y + side), slice(x, x + side))
        hints[0][window] = ab[0][window].mean()
        hints[1][window] = ab[1][window].mean()
        hints[2][window] = 1.0
    return hints


def sparse_boxes(
    rng: np.random.Generator, size: tuple[int, int], config: HintConfig
) -> list[tuple[int, int, int]]:
    """Geometric number of patches, positions normal around the centre, sides 1..max_patch."""
    height, width = size
    count = int(rng.geometric(config.geometric_p)) - 1
    boxes = []
    for _ in range(count):
        side = int(rng.integers(1, config.max_patch + 1))
        cy = rng.normal(height / 2, config.centre_sigma * height)
        cx = rng.normal(width / 2, config.centre_sigma * width)
        y = int(np.clip(round(cy - side / 2), 0, height - side))
        x = int(np.clip(round(cx - side / 2), 0, width - side))
        boxes.append((y, x, side))
    return boxes


def dense_hints(rng: np.random.Generator, ab: np.ndarray, fraction: float) -> np.ndarray:
    """Single-pixel hints on a uniform random `fraction` of the pixels (at least one)."""
    height, width = ab.shape[1:]
    count = max(1, round(fraction * height * width))
    flat = rng.choice(height * width, size=count, replace=False)
    hints = empty_hints(height, width)
    ys, xs = np.unravel_index(flat, (height, width))
    hints[0, ys, xs] = ab[0, ys, xs]
    hints[1, ys, xs] = ab[1, ys, xs]
    hints[2, ys, xs] = 1.0
    return hints


def full_hints(ab: np.ndarray) -> np.ndarray:
    """Every pixel hinted with its own ground truth (a reference frame)."""
    return np.concatenate([ab, np.ones((1, *ab.shape[1:]), np.float32)]).astype(np.float32)


def draw_regime(rng: np.random.Generator, config: HintConfig) -> str:
    names = [r for r in REGIMES if config.mix.get(r, 0.0) > 0]
    weights = np.array([config.mix[r] for r in names], np.float64)
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def sample_pair_hints(
    rng: np.random.Generator, ab_prev: np.ndarray, ab_now: np.ndarray, config: HintConfig
) -> tuple[np.ndarray, np.ndarray, str]:
    """Hints [3, H, W] for frames t-1 and t (ground truth ab [2, H, W] each) and the regime."""
    regime = draw_regime(rng, config)
    height, width = ab_now.shape[1:]
    if regime == "none":
        return empty_hints(height, width), empty_hints(height, width), regime
    if regime == "reference":
        return full_hints(ab_prev), empty_hints(height, width), regime
    if regime == "sparse":
        return (
            patch_hints(ab_prev, sparse_boxes(rng, (height, width), config)),
            patch_hints(ab_now, sparse_boxes(rng, (height, width), config)),
            regime,
        )
    fraction = config.dense_low_fraction if regime == "dense_low" else config.dense_high_fraction
    return dense_hints(rng, ab_prev, fraction), dense_hints(rng, ab_now, fraction), regime
