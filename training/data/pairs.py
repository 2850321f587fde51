"""Training pairs (frame t-1, frame t) as torch Datasets.

    train, val = build_datasets(crop=128, stride=8, seed=0)
    sample = train[0]   # dict of float32 tensors, see PairDataset.__getitem__

Decoding mp4 per sample is far too slow for a 2-core training run, so the frames of every
scene (and every photo) are decoded once, downscaled to a short side of `cache_short_side` and
stored as uint8 .npy files in a cache outside the repo (default runs/cache/), rebuilt from the
committed scene JSON when missing. Samples read them through memory maps.

Each sample is a pure function of (seed, epoch, index): call `set_epoch` on the training set
before each epoch (with non-persistent DataLoader workers) to get fresh augmentations.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from colormotion import colour, contract
from colormotion.temporal.flow import feature_flow, pixel_flow
from torch.utils.data import Dataset

from training.data import DATA_ROOT, DEFAULT_CACHE_DIR, SCENES_DIR, fetched, split
from training.data.augment import augment_pair
from training.data.hints import HintConfig, sample_pair_hints
from training.data.scenes import iter_rgb_frames, load_all

CLIP_WEIGHT_CAP = 300  # a clip counts at most this many pairs when drawing which clip to use


# ---------------------------------------------------------------- colour


def rgb_to_model(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sRGB [H, W, 3] (uint8, or float in [0, 1]) -> (gray [H, W] = L*/100, ab [2, H, W] = a*b*/110).

    Lab exactly as the engine computes it (`colormotion.colour.to_lab`, sRGB transfer, D65);
    OpenCV's COLOR_RGB2Lab differs from it by up to 0.2 L* / 0.4 a*b*.
    """
    lab = colour.to_lab(np.ascontiguousarray(rgb), "srgb")
    gray = np.clip(lab[..., 0], 0.0, contract.L_SCALE) / contract.L_SCALE
    ab = lab[..., 1:].transpose(2, 0, 1) / contract.AB_SCALE
    return np.ascontiguousarray(gray, np.float32), np.ascontiguousarray(ab, np.float32)


# ---------------------------------------------------------------- cache


def scaled_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) with the short side equal to `short_side`, both even."""
    scale = short_side / min(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def _save_atomic(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as stream:
        np.save(stream, array)
    tmp.replace(path)


@dataclass
class ClipFrames:
    """The cached scene frames of one clip."""

    name: str
    scenes: list[tuple[int, int]]  # half-open source frame ranges
    frames: np.ndarray  # [kept, h, w, 3] uint8, the frames of all scenes in order
    rows: dict[int, int]  # source frame index -> row of `frames`

    def pair_count(self) -> int:
        return sum(end - start - 1 for start, end in self.scenes)

    def frame(self, index: int) -> np.ndarray:
        return self.frames[self.rows[index]]


def kept_frames(record: dict) -> list[int]:
    return [i for start, end in record["scenes"] for i in range(start, end)]


def load_clip(record: dict, short_side: int, cache_dir: Path, data_root: Path) -> ClipFrames:
    """The clip's scene frames from the cache, decoding the video into it first if needed."""
    keep = kept_frames(record)
    path = cache_dir / f"{Path(record['source']).stem}-{record['sha256'][:12]}-s{short_side}.npy"
    if not path.is_file():
        video = fetched.resolve(record["path"], data_root)
        if not video.is_file():
            raise FileNotFoundError(f"{video} (from the scene metadata of {record['source']}) is missing")
        width, height = scaled_size(record["width"], record["height"], short_side)
        wanted = set(keep)
        frames = [f for i, f in enumerate(iter_rgb_frames(video, width, height)) if i in wanted]
        if len(frames) != len(keep):
            raise ValueError(
                f"{video}: decoded {len(frames)} of the {len(keep)} scene frames the metadata lists"
            )
        _save_atomic(path, np.stack(frames))
        print(f"cached {record['source']}: {len(frames)} frames at {width}x{height}", file=sys.stderr)
    frames = np.load(path, mmap_mode="r")
    scenes = [(int(s), int(e)) for s, e in record["scenes"]]
    return ClipFrames(record["source"], scenes, frames, {index: row for row, index in enumerate(keep)})


class PhotoStore:
    """Cached photos, downscaled to a short side (long side cropped to at most twice that)."""

    def __init__(self, paths: list[str], short_side: int, cache_dir: Path, data_root: Path):
        self.paths = list(paths)
        key = hashlib.sha256("\n".join(self.paths).encode()).hexdigest()[:12]
        pixels_path = cache_dir / f"photos-{key}-s{short_side}.npy"
        index_path = cache_dir / f"photos-{key}-s{short_side}.index.npy"
        if not (pixels_path.is_file() and index_path.is_file()):
            self._build(data_root, short_side, pixels_path, index_path)
        self.pixels = np.load(pixels_path, mmap_mode="r")
        self.index = np.load(index_path)  # [N, 3]: offset, height, width

    def _build(self, data_root: Path, short_side: int, pixels_path: Path, index_path: Path) -> None:
        chunks, index, offset = [], [], 0
        for relative in self.paths:
            image = load_photo(fetched.resolve(relative, data_root), short_side)
            chunks.append(image.ravel())
            index.append((offset, image.shape[0], image.shape[1]))
            offset += image.size
        _save_atomic(pixels_path, np.concatenate(chunks) if chunks else np.zeros(0, np.uint8))
        _save_atomic(index_path, np.array(index, np.int64).reshape(-1, 3))
        print(f"cached {len(self.paths)} photos at short side {short_side}", file=sys.stderr)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> np.ndarray:
        offset, height, width = (int(v) for v in self.index[i])
        return np.asarray(self.pixels[offset : offset + height * width * 3]).reshape(height, width, 3)


def load_photo(path: Path, short_side: int) -> np.ndarray:
    """uint8 RGB photo with short side `short_side`, long side centre-cropped to <= 2x that."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read photo {path}")
    height, width = bgr.shape[:2]
    size = scaled_size(width, height, short_side)
    image = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)[..., ::-1]
    height, width = image.shape[:2]
    long_cap = 2 * short_side
    y0, x0 = max(0, (height - long_cap) // 2), max(0, (width - long_cap) // 2)
    return np.ascontiguousarray(image[y0 : y0 + long_cap, x0 : x0 + long_cap])


# ---------------------------------------------------------------- dataset


class PairDataset(Dataset):
    """Pairs from video scenes and from still photos with artificial motion.

    Sample `index` of epoch `epoch` is drawn with numpy Generator seeded by (seed, epoch, index).
    """

    def __init__(
        self,
        clips: list[ClipFrames],
        photos: PhotoStore | None,
        length: int,
        crop: int,
        stride: int,
        seed: int,
        still_fraction: float = 0.5,
        hint_config: HintConfig | None = None,
        max_gap: int = 1,
    ):
        if crop % contract.SIZE_MULTIPLE or crop % stride:
            raise ValueError(
                f"crop {crop} must be a multiple of {contract.SIZE_MULTIPLE} and of the stride {stride}"
            )
        if not 0.0 <= still_fraction <= 1.0:
            raise ValueError(f"still_fraction must lie in 0..1, got {still_fraction}")
        if max_gap < 1:
            raise ValueError(f"max_gap must be at least 1 frame, got {max_gap}")
        clips = [c for c in clips if c.pair_count() > 0]
        if not clips and (photos is None or len(photos) == 0):
            raise ValueError("no clips with scenes and no photos to make pairs from")
        if not clips:
            still_fraction = 1.0
        elif photos is None or len(photos) == 0:
            still_fraction = 0.0
        self.clips, self.photos = clips, photos
        self.length, self.crop, self.stride, self.seed = length, crop, stride, seed
        self.still_fraction, self.max_gap = still_fraction, max_gap
        self.hint_config = hint_config or HintConfig()
        self.epoch = 0
        weights = np.array([min(c.pair_count(), CLIP_WEIGHT_CAP) for c in clips], np.float64)
        self.clip_weights = weights / weights.sum() if clips else weights

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.length

    def _video_pair(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        clip = self.clips[int(rng.choice(len(self.clips), p=self.clip_weights))]
        pick = int(rng.integers(clip.pair_count()))
        for start, end in clip.scenes:
            if pick < end - start - 1:
                now = start + 1 + pick
                prev = max(start, now - int(rng.integers(1, self.max_gap + 1)))
                return clip.frame(prev), clip.frame(now)
            pick -= end - start - 1
        raise AssertionError("pair index out of range")

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """One pair as float32 tensors:

        gray [2,1,H,W] L*/100; ab [2,2,H,W] a*b*/110; hints [2,3,H,W] (a/110, b/110, mask);
        flow [2,H/s,W/s] feature-grid backward flow t -> t-1; flow_px [2,H,W] the same in pixels;
        is_still [] 1 for a photo pair.
        """
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        still = bool(rng.random() < self.still_fraction)
        if still:
            photo = self.photos[int(rng.integers(len(self.photos)))]
            prev, now = photo, photo
        else:
            prev, now = self._video_pair(rng)
        prev, now = augment_pair(rng, prev, now, self.crop, still)
        gray_prev, ab_prev = rgb_to_model(prev)
        gray_now, ab_now = rgb_to_model(now)
        hints_prev, hints_now, _ = sample_pair_hints(rng, ab_prev, ab_now, self.hint_config)
        return {
            "gray": torch.from_numpy(np.stack([gray_prev, gray_now])[:, None]),
            "ab": torch.from_numpy(np.stack([ab_prev, ab_now])),
            "hints": torch.from_numpy(np.stack([hints_prev, hints_now])),
            "flow": torch.from_numpy(feature_flow(gray_now, gray_prev, self.stride)),
            "flow_px": torch.from_numpy(
                np.ascontiguousarray(pixel_flow(gray_now, gray_prev).transpose(2, 0, 1))
            ),
            "is_still": torch.tensor(float(still)),
        }


def load_split(
    short_side: int,
    cache_dir: Path | str | None = None,
    data_root: Path | str | None = None,
    scenes_dir: Path | str | None = None,
    fetched_photos: bool = False,
    fetched_clips: bool = False,
    fetched_clip_sources: Sequence[str] = (),
    animated_clips: bool = True,
) -> tuple[list[ClipFrames], list[ClipFrames], PhotoStore, PhotoStore]:
    """(train clips, held-out clips, train photos, held-out photos) of the shared data, cached at
    `short_side`, split by `training.data.split`; excluded clips (DAVIS 2017 val/test-dev) left out.
    `fetched_photos` and `fetched_clips` add those of `training.data.fetched` to the training set;
    `fetched_clip_sources`, when given, keeps the clips of those sources only (a run started
    before a source was added keeps its data); `animated_clips` False leaves out the animated
    films among them."""
    data_root = Path(data_root) if data_root is not None else DATA_ROOT
    cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    if not data_root.is_dir():
        raise FileNotFoundError(f"shared data folder {data_root} does not exist")
    train_clips, val_clips = [], []
    records = load_all(Path(scenes_dir) if scenes_dir is not None else SCENES_DIR)
    if fetched_clips:
        if not fetched.CLIP_SCENES_DIR.is_dir():
            raise FileNotFoundError(
                f"no scene metadata of fetched clips in {fetched.CLIP_SCENES_DIR}: "
                "run python -m training.data.fetched prepare"
            )
        records += fetched.clip_records(
            load_all(fetched.CLIP_SCENES_DIR), fetched_clip_sources, animated_clips
        )
    for record in records:
        if split.is_excluded_clip(record["source"]):
            continue
        clip = load_clip(record, short_side, cache_dir, data_root)
        (val_clips if split.is_val_clip(record["source"]) else train_clips).append(clip)
    train_photos = PhotoStore(split.train_photos(data_root, fetched_photos), short_side, cache_dir, data_root)
    val_photos = PhotoStore(split.val_photos(data_root), short_side, cache_dir, data_root)
    return train_clips, val_clips, train_photos, val_photos


def build_datasets(
    crop: int = 128,
    stride: int = 8,
    seed: int = 0,
    samples_per_epoch: int = 20000,
    val_samples: int = 256,
    still_fraction: float = 0.5,
    hint_config: HintConfig | None = None,
    max_gap: int = 1,
    cache_short_side: int | None = None,
    cache_dir: Path | str | None = None,
    data_root: Path | str | None = None,
    scenes_dir: Path | str | None = None,
) -> tuple[PairDataset, PairDataset]:
    """(train, val) pair datasets over the shared data, split by `training.data.split`.

    `cache_short_side` defaults to 5/4 of the crop (at least 160), leaving room for the zoom.
    The validation set is fixed: its samples never change with `set_epoch`.
    """
    short_side = cache_short_side or max(160, crop * 5 // 4)
    train_clips, val_clips, train_photos, val_photos = load_split(
        short_side, cache_dir, data_root, scenes_dir
    )
    common = dict(
        crop=crop, stride=stride, still_fraction=still_fraction, hint_config=hint_config, max_gap=max_gap
    )
    train = PairDataset(train_clips, train_photos, samples_per_epoch, seed=seed, **common)
    val = PairDataset(val_clips, val_photos, val_samples, seed=seed + 1_000_003, **common)
    return train, val


def describe(dataset: PairDataset) -> dict:
    """Counts for logs and the model card."""
    return {
        "clips": [c.name for c in dataset.clips],
        "video_pairs": sum(c.pair_count() for c in dataset.clips),
        "photos": len(dataset.photos) if dataset.photos is not None else 0,
        "samples": len(dataset),
        "still_fraction": dataset.still_fraction,
        "hint_mix": dataset.hint_config.mix,
    }


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    train_set, val_set = build_datasets()
    print(f"built in {time.perf_counter() - started:.1f} s")
    print(json.dumps({"train": describe(train_set), "val": describe(val_set)}, indent=1))
    started = time.perf_counter()
    for i in range(200):
        train_set[i]
    print(f"{(time.perf_counter() - started) / 200 * 1000:.1f} ms per sample (crop 128, one core)")
