"""Training samples for the v2 network: a reference frame and two consecutive frames of its shot.

    train, val = build_datasets(crop=128, seed=0)
    sample = train[0]   # dict of float32 tensors, see GuidedDataset.__getitem__

A sample is what the engine sees when it renders frames t and t+1 of a shot whose colour was
set on frame r (a graded reference, or hints keyed on r):

- video: r is up to MAX_GAP frames before t (or after t+1), drawn log-uniformly, in the same
  scene; all three frames share one crop and transform, so the true motion is untouched.
- still photo: r, t and t+1 are the photo under different transforms (a large move r -> t, a
  small one t -> t+1), the artificial motion of the monograph.
- sometimes an occluder (a patch of another photo) covers part of t and t+1 but not r: colour
  the reference cannot give, which the network must invent.

The reference guide is carried to t and t+1 by `colormotion.temporal.propagate.carry`, exactly
as at run time; the frames' own hints (every density from none to a whole frame, patches 1-9 px)
are fused on top. Each sample is a pure function of (seed, epoch, index).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from colormotion import contract
from colormotion.temporal import propagate
from colormotion.temporal.flow import feature_flow
from torch.utils.data import Dataset

from training.data.augment import (
    STILL_MOTION,
    AffineRange,
    compose,
    pair_transforms,
    random_affine,
)
from training.data.augment import warp as warp_image
from training.data.hints import empty_hints, full_hints, patch_hints
from training.data.pairs import CLIP_WEIGHT_CAP, ClipFrames, PhotoStore, load_split, rgb_to_model

MAX_GAP = 80  # frames between the reference and frame t
STILL_REFERENCE_MOTION = AffineRange(rotation=20.0, shear=10.0, shift=24.0, zoom=(0.75, 1.25))

REFERENCE_REGIMES = ("none", "dense", "sparse")  # what the user set on frame r
HINT_REGIMES = ("none", "points", "density", "full")  # hints on the frames t, t+1 themselves


def _weights(mix: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    unknown = set(mix) - set(names)
    if unknown:
        raise ValueError(f"unknown regimes {sorted(unknown)}; known: {names}")
    weights = np.array([mix.get(n, 0.0) for n in names], np.float64)
    if (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"regime weights must be >= 0 with a positive sum, got {mix}")
    return weights / weights.sum()


@dataclass(frozen=True)
class GuideConfig:
    reference_mix: dict = field(default_factory=lambda: {"none": 0.4, "dense": 0.45, "sparse": 0.15})
    hint_mix: dict = field(
        default_factory=lambda: {"none": 0.5, "points": 0.25, "density": 0.22, "full": 0.03}
    )
    max_points: int = 20
    max_patch: int = 9  # patch sides 1..max_patch px
    density_range: tuple[float, float] = (0.00008, 0.30)  # fraction of pixels hinted, log-uniform
    occluder_still: float = 0.3
    occluder_video: float = 0.15
    negative_gap: float = 0.3  # share of samples whose reference comes after the frames
    # share of samples whose reference shows something else (another photo): a reference used
    # outside its shot must be ignored, not copied. 0 draws nothing, keeping older runs' data order.
    mismatched_reference: float = 0.0

    def reference_weights(self) -> np.ndarray:
        return _weights(self.reference_mix, REFERENCE_REGIMES)

    def hint_weights(self) -> np.ndarray:
        return _weights(self.hint_mix, HINT_REGIMES)


# ---------------------------------------------------------------- hints


def point_boxes(rng: np.random.Generator, size: tuple[int, int], count: int, max_patch: int) -> list:
    """`count` square patches (y, x, side), uniform positions, sides 1..max_patch."""
    height, width = size
    boxes = []
    for _ in range(count):
        side = int(rng.integers(1, max_patch + 1))
        boxes.append((int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1)), side))
    return boxes


def frame_hints(rng: np.random.Generator, ab: np.ndarray, regime: str, config: GuideConfig) -> np.ndarray:
    """Hint guide [3, H, W] for one frame under `regime` (ground truth `ab` [2, H, W])."""
    height, width = ab.shape[1:]
    if regime == "none":
        return empty_hints(height, width)
    if regime == "full":
        return full_hints(ab)
    if regime == "points":
        count = int(rng.integers(1, config.max_points + 1))
        return patch_hints(ab, point_boxes(rng, (height, width), count, config.max_patch))
    low, high = config.density_range
    fraction = math.exp(rng.uniform(math.log(low), math.log(high)))
    side = int(rng.integers(1, config.max_patch + 1))
    count = max(1, round(fraction * height * width / side**2))
    return patch_hints(ab, point_boxes(rng, (height, width), count, side))


def reference_guide(rng: np.random.Generator, ab: np.ndarray, regime: str, config: GuideConfig) -> np.ndarray:
    """What the user set on frame r: the whole frame, a few hints, or nothing."""
    if regime == "dense":
        return full_hints(ab)
    if regime == "sparse":
        count = int(rng.integers(1, config.max_points + 1))
        return patch_hints(ab, point_boxes(rng, ab.shape[1:], count, config.max_patch))
    return empty_hints(*ab.shape[1:])


# ---------------------------------------------------------------- geometry


def occluder_mask(rng: np.random.Generator, crop: int) -> tuple[np.ndarray, tuple[float, float]]:
    """A soft ellipse [crop, crop] in 0..1 covering 5-35 % of the frame, and a small drift (px)."""
    mask = np.zeros((crop, crop), np.float32)
    axes = (int(crop * rng.uniform(0.15, 0.4)), int(crop * rng.uniform(0.15, 0.4)))
    centre = (int(rng.uniform(0.2, 0.8) * crop), int(rng.uniform(0.2, 0.8) * crop))
    cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.5)
    return mask, tuple(rng.uniform(-4, 4, size=2))


def paste(frame: np.ndarray, patch: np.ndarray, mask: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    moved = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    size = frame.shape[1], frame.shape[0]
    patch = cv2.warpAffine(patch, moved, size, borderMode=cv2.BORDER_REFLECT_101)
    alpha = cv2.warpAffine(mask, moved, size)[..., None]
    return (frame * (1 - alpha) + patch * alpha).astype(np.uint8)


# ---------------------------------------------------------------- dataset


class GuidedDataset(Dataset):
    def __init__(
        self,
        clips: list[ClipFrames],
        photos: PhotoStore | None,
        length: int,
        crop: int,
        seed: int,
        still_fraction: float = 0.4,
        config: GuideConfig | None = None,
        stride: int = 8,
    ):
        if crop % contract.SIZE_MULTIPLE:
            raise ValueError(f"crop {crop} must be a multiple of {contract.SIZE_MULTIPLE}")
        clips = [c for c in clips if any(end - start >= 3 for start, end in c.scenes)]
        if not clips and (photos is None or len(photos) == 0):
            raise ValueError("no clips with scenes of 3+ frames and no photos")
        if not clips:
            still_fraction = 1.0
        elif photos is None or len(photos) == 0:
            still_fraction = 0.0
        self.clips, self.photos = clips, photos
        self.length, self.crop, self.seed, self.stride = length, crop, seed, stride
        self.still_fraction = still_fraction
        self.config = config or GuideConfig()
        self.epoch = 0
        weights = np.array([min(c.pair_count(), CLIP_WEIGHT_CAP) for c in clips], np.float64)
        self.clip_weights = weights / weights.sum() if clips else weights

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def _video_triple(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(reference, frame t, frame t+1), unaugmented, from one scene."""
        clip = self.clips[int(rng.choice(len(self.clips), p=self.clip_weights))]
        scenes = [(s, e) for s, e in clip.scenes if e - s >= 3]
        lengths = np.array([e - s for s, e in scenes], np.float64)
        start, end = scenes[int(rng.choice(len(scenes), p=lengths / lengths.sum()))]
        t = int(rng.integers(start, end - 1))
        gap = int(round(math.exp(rng.uniform(0.0, math.log(MAX_GAP)))))
        if rng.random() < self.config.negative_gap:
            r = min(end - 1, t + 1 + gap)
        else:
            r = max(start, t - gap)
        if r in (t, t + 1):  # the scene leaves no room on that side: take the other
            r = t - 1 if t - 1 >= start else t + 2
        return clip.frame(r), clip.frame(t), clip.frame(t + 1)

    def _still_triple(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        photo = self.photos[int(rng.integers(len(self.photos)))]
        crop = self.crop
        shared, _ = pair_transforms(rng, photo.shape[:2], crop, still=False)
        centre = (crop / 2, crop / 2)
        to_t = compose(random_affine(rng, STILL_REFERENCE_MOTION, centre), shared)
        to_next = compose(random_affine(rng, STILL_MOTION, centre), to_t)
        return (
            warp_image(photo, shared, crop),
            warp_image(photo, to_t, crop),
            warp_image(photo, to_next, crop),
        )

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """float32 tensors:

        gray [2,1,H,W] L*/100 of t, t+1;  ab [2,2,H,W] their true a*b*/110;
        carried [2,3,H,W] the reference's guide carried to t, t+1 (propagate.carry);
        hints [2,3,H,W] the hints on t, t+1 themselves (confidence 0 where none); the training
        loop fuses them, for t+1 with the guide chained from t's output, as the engine does;
        ref_gray [1,H,W], ref_guide [3,H,W] the reference frame and what the user set on it;
        flow [2,H/8,W/8] feature-grid backward flow t+1 -> t;
        has_reference [], dense_reference [] (1 for a whole graded frame, 0 for hints keyed on
        r or none), hinted [] (1 when t, t+1 carry hints of their own), is_still [].
        """
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        config = self.config
        still = bool(rng.random() < self.still_fraction)
        if still:
            reference, now, after = self._still_triple(rng)
        else:
            r, t, t1 = self._video_triple(rng)
            matrix, _ = pair_transforms(rng, r.shape[:2], self.crop, still=False)
            reference, now, after = (warp_image(f, matrix, self.crop) for f in (r, t, t1))
        if (
            self.photos is not None
            and len(self.photos)
            and rng.random() < (config.occluder_still if still else config.occluder_video)
        ):
            other = self.photos[int(rng.integers(len(self.photos)))]
            matrix, _ = pair_transforms(rng, other.shape[:2], self.crop, still=False)
            patch = warp_image(other, matrix, self.crop)
            mask, drift = occluder_mask(rng, self.crop)
            now = paste(now, patch, mask, (0.0, 0.0))
            after = paste(after, patch, mask, drift)

        if config.mismatched_reference > 0 and self.photos is not None and len(self.photos):
            if rng.random() < config.mismatched_reference:
                other = self.photos[int(rng.integers(len(self.photos)))]
                matrix, _ = pair_transforms(rng, other.shape[:2], self.crop, still=False)
                reference = warp_image(other, matrix, self.crop)
        ref_gray, ref_ab = rgb_to_model(reference)
        grays, abs_ = zip(*(rgb_to_model(f) for f in (now, after)))
        ref_regime = REFERENCE_REGIMES[int(rng.choice(len(REFERENCE_REGIMES), p=config.reference_weights()))]
        hint_regime = HINT_REGIMES[int(rng.choice(len(HINT_REGIMES), p=config.hint_weights()))]
        ref_guide = reference_guide(rng, ref_ab, ref_regime, config)
        carried, hints = [], []
        for gray, ab in zip(grays, abs_):
            has_reference = ref_regime != "none"
            carried.append(
                propagate.carry(gray, ref_gray, ref_guide) if has_reference else empty_hints(*gray.shape)
            )
            hints.append(frame_hints(rng, ab, hint_regime, config))
        return {
            "gray": torch.from_numpy(np.stack(grays)[:, None]),
            "ab": torch.from_numpy(np.stack(abs_)),
            "carried": torch.from_numpy(np.stack(carried)),
            "hints": torch.from_numpy(np.stack(hints)),
            "ref_gray": torch.from_numpy(ref_gray[None]),
            "ref_guide": torch.from_numpy(ref_guide),
            "flow": torch.from_numpy(feature_flow(grays[1], grays[0], self.stride)),
            "has_reference": torch.tensor(float(ref_regime != "none")),
            "dense_reference": torch.tensor(float(ref_regime == "dense")),
            "hinted": torch.tensor(float(hint_regime != "none")),
            "is_still": torch.tensor(float(still)),
        }


def build_datasets(
    crop: int = 128,
    seed: int = 0,
    samples_per_epoch: int = 20000,
    val_samples: int = 256,
    still_fraction: float = 0.4,
    config: GuideConfig | None = None,
    cache_short_side: int | None = None,
    cache_dir: Path | str | None = None,
    data_root: Path | str | None = None,
    scenes_dir: Path | str | None = None,
    fetched_photos: bool = False,
    fetched_clips: bool = False,
    fetched_clip_sources: Sequence[str] = (),
    pack: Path | str | None = None,
    animated_clips: bool = True,
) -> tuple[GuidedDataset, GuidedDataset]:
    """(train, val) over the shared data, split by `training.data.split`; excluded clips skipped.
    With `pack` (training.data.pack), over that compact subset instead of the data roots."""
    if pack is not None:
        from training.data.pack import load_pack

        train_clips, val_clips, train_photos, val_photos = load_pack(pack)
    else:
        short_side = cache_short_side or max(160, crop * 5 // 4)
        train_clips, val_clips, train_photos, val_photos = load_split(
            short_side,
            cache_dir,
            data_root,
            scenes_dir,
            fetched_photos,
            fetched_clips,
            fetched_clip_sources,
            animated_clips,
        )
    common = dict(crop=crop, still_fraction=still_fraction, config=config)
    train = GuidedDataset(train_clips, train_photos, samples_per_epoch, seed=seed, **common)
    val = GuidedDataset(val_clips, val_photos, val_samples, seed=seed + 1_000_003, **common)
    return train, val


def describe(dataset: GuidedDataset) -> dict:
    return {
        "clips": [c.name for c in dataset.clips],
        "video_frames": sum(len(c.rows) for c in dataset.clips),
        "photos": len(dataset.photos) if dataset.photos is not None else 0,
        "samples": len(dataset),
        "still_fraction": dataset.still_fraction,
        "reference_mix": dataset.config.reference_mix,
        "hint_mix": dataset.config.hint_mix,
    }


if __name__ == "__main__":
    import time

    train_set, val_set = build_datasets()
    print(json.dumps({"train": describe(train_set), "val": describe(val_set)}, indent=1))
    started = time.perf_counter()
    for i in range(100):
        train_set[i]
    print(f"{(time.perf_counter() - started) * 10:.1f} ms per sample (crop 128, one core)")
