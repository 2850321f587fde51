"""Training data pipeline: scene splitting, paired augmentation, hints, pair samples."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from training.data import DATA_ROOT, SCENES_DIR, split
from training.data.augment import augment_pair, pair_transforms
from training.data.hints import HintConfig, dense_hints, patch_hints, sample_pair_hints, sparse_boxes
from training.data.pairs import ClipFrames, PairDataset, load_clip, rgb_to_model
from training.data.scenes import Thresholds, analyse_frames, drop_reason, load_all

needs_data = pytest.mark.skipif(not (DATA_ROOT / "videos").is_dir(), reason="../shared/data is absent")


def textured(seed: int, size=(48, 64)) -> np.ndarray:
    """A smooth random colour image, uint8 RGB."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size[0] // 8, size[1] // 8, 3)).astype(np.float32)
    return np.clip(cv2.resize(small, size[::-1], interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def panning(image: np.ndarray, count: int) -> list[np.ndarray]:
    return [np.roll(image, shift=i, axis=1) for i in range(count)]


# ---------------------------------------------------------------- scenes


def test_scene_splitting_finds_a_cut_and_drops_black_frames():
    black = np.zeros((48, 64, 3), np.uint8)
    frames = panning(textured(1), 8) + [black, black] + panning(textured(2), 6) + panning(textured(3), 5)
    result = analyse_frames(iter(frames), Thresholds())
    assert result["frame_count"] == 21
    assert [index for index, _ in result["dropped"]] == [8, 9]
    assert 16 in result["cuts"]
    assert result["scenes"] == [[0, 8], [10, 16], [16, 21]]


def test_drop_reason_spots_grey_and_flat_frames_but_keeps_colour():
    grey = np.repeat(textured(4)[..., :1], 3, axis=2)
    credits = np.zeros((48, 64, 3), np.uint8)
    credits[20:24, 10:50] = 255
    assert drop_reason(textured(4), Thresholds()) is None
    assert drop_reason(grey, Thresholds()) == "no_colour"
    assert drop_reason(credits, Thresholds()) in ("flat_histogram", "low_std")


# ---------------------------------------------------------------- augmentation


def test_video_pairs_share_one_transform():
    rng = np.random.default_rng(0)
    prev = textured(5, (96, 120))
    inverted = 255 - prev  # a pixel-wise change: warping commutes with it under one geometry
    out_prev, out_now = augment_pair(rng, prev, inverted, crop=64, still=False)
    assert out_prev.shape == out_now.shape == (64, 64, 3)
    np.testing.assert_allclose(out_now.astype(int), 255 - out_prev.astype(int), atol=1)


def test_still_pairs_get_a_small_extra_motion():
    rng = np.random.default_rng(1)
    first, second = pair_transforms(rng, (96, 120), crop=64, still=True)
    assert not np.allclose(first, second)
    # the extra motion is small: corners of the crop move by at most a few pixels
    corners = np.array([[0, 0, 1], [63, 0, 1], [0, 63, 1], [63, 63, 1]], np.float64).T
    inverse = lambda m: np.linalg.inv(np.vstack([m, [0, 0, 1]]))  # noqa: E731
    displacement = (inverse(first) @ corners - inverse(second) @ corners)[:2]
    assert 0 < np.abs(displacement).max() < 20


# ---------------------------------------------------------------- hints


def test_patch_hints_hold_the_ground_truth_mean():
    ab = np.random.default_rng(2).uniform(-0.5, 0.5, (2, 32, 32)).astype(np.float32)
    hints = patch_hints(ab, [(4, 6, 5), (20, 20, 1)])
    np.testing.assert_allclose(hints[0, 4:9, 6:11], ab[0, 4:9, 6:11].mean(), rtol=1e-5)
    np.testing.assert_allclose(hints[1, 4:9, 6:11], ab[1, 4:9, 6:11].mean(), rtol=1e-5)
    assert hints[2].sum() == 26
    np.testing.assert_allclose(hints[:2, 20, 20], ab[:, 20, 20])
    assert np.all(hints[:, hints[2] == 0] == 0)


def test_sparse_hints_stay_inside_and_are_often_none():
    rng = np.random.default_rng(3)
    counts = [len(sparse_boxes(rng, (40, 50), HintConfig())) for _ in range(800)]
    assert 0.08 < np.mean(np.array(counts) == 0) < 0.18  # geometric p=1/8 counted from 0
    assert 5 < np.mean(counts) < 9  # mean (1-p)/p = 7
    for y, x, side in sparse_boxes(np.random.default_rng(4), (40, 50), HintConfig(geometric_p=0.02)):
        assert 1 <= side <= 9 and 0 <= y <= 40 - side and 0 <= x <= 50 - side


def test_dense_and_reference_regimes():
    ab = np.random.default_rng(5).uniform(-0.5, 0.5, (2, 100, 100)).astype(np.float32)
    assert dense_hints(np.random.default_rng(6), ab, 0.05)[2].sum() == 500
    prev, now, regime = sample_pair_hints(
        np.random.default_rng(7), ab, ab, HintConfig(mix={"reference": 1.0})
    )
    assert regime == "reference"
    assert prev[2].all() and not now[2].any()
    np.testing.assert_array_equal(prev[:2], ab)
    with pytest.raises(ValueError, match="unknown hint regimes"):
        HintConfig(mix={"lots": 1.0})


# ---------------------------------------------------------------- samples


def synthetic_dataset(**kwargs) -> PairDataset:
    frames = np.stack(panning(textured(8, (80, 96)), 6))
    clip = ClipFrames("synthetic.mp4", [(0, 3), (3, 6)], frames, {i: i for i in range(6)})
    photos = [textured(9, (70, 90)), textured(10, (64, 64))]
    options = dict(length=6, crop=64, stride=8, seed=11, still_fraction=0.5)
    options.update(kwargs)
    return PairDataset([clip], photos, **options)


def test_pair_samples_have_the_documented_shapes_and_ranges():
    dataset = synthetic_dataset()
    for index in range(len(dataset)):
        sample = dataset[index]
        assert sample["gray"].shape == (2, 1, 64, 64)
        assert sample["ab"].shape == (2, 2, 64, 64)
        assert sample["hints"].shape == (2, 3, 64, 64)
        assert sample["flow"].shape == (2, 8, 8)
        assert sample["flow_px"].shape == (2, 64, 64)
        assert all(v.dtype == torch.float32 for v in sample.values())
        assert 0.0 <= sample["gray"].min() and sample["gray"].max() <= 1.0
        assert sample["ab"].abs().max() <= 1.0
        assert set(np.unique(sample["hints"][:, 2].numpy())) <= {0.0, 1.0}


def test_video_pair_flow_points_back_to_the_previous_frame():
    # a clip panning 3 px per frame: flow_px must map frame t's pixels onto frame t-1
    frames = np.stack([np.roll(textured(8, (80, 96)), 3 * i, axis=1) for i in range(4)])
    clip = ClipFrames("pan.mp4", [(0, 4)], frames, {i: i for i in range(4)})
    dataset = PairDataset([clip], None, length=4, crop=64, stride=8, seed=3)
    for index in range(len(dataset)):
        sample = dataset[index]
        prev, now = sample["gray"][0, 0].numpy(), sample["gray"][1, 0].numpy()
        flow = sample["flow_px"].numpy()
        xs, ys = np.meshgrid(np.arange(64, dtype=np.float32), np.arange(64, dtype=np.float32))
        warped = cv2.remap(
            prev, xs + flow[0], ys + flow[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        inner = (slice(8, -8), slice(8, -8))
        assert np.abs(warped - now)[inner].mean() < 0.5 * np.abs(prev - now)[inner].mean()
        assert 1.5 < np.hypot(*flow[:, 32, 32]) < 5  # 3 px, scaled by the augmentation zoom
        np.testing.assert_allclose(
            sample["flow"].numpy().mean(axis=(1, 2)) * 8, flow.mean(axis=(1, 2)), atol=0.3
        )


def test_samples_are_deterministic_per_seed_and_epoch():
    a, b = synthetic_dataset(), synthetic_dataset()
    for key, value in a[3].items():
        assert np.array_equal(value.numpy(), b[3][key].numpy()), key
    b.set_epoch(1)
    assert not np.array_equal(a[3]["gray"].numpy(), b[3]["gray"].numpy())
    other_seed = synthetic_dataset(seed=12)
    assert not np.array_equal(a[3]["gray"].numpy(), other_seed[3]["gray"].numpy())


def test_rgb_to_model_uses_contract_scales():
    gray, ab = rgb_to_model(np.array([[[255, 0, 0], [255, 255, 255]]], np.uint8))
    np.testing.assert_allclose(gray[0, 1], 1.0, atol=1e-3)
    assert 0.45 < ab[0, 0, 0] < 0.85  # red: a* about 80 of 110
    np.testing.assert_allclose(ab[:, 0, 1], 0.0, atol=1e-3)


def test_crop_must_fit_the_contract():
    with pytest.raises(ValueError, match="multiple"):
        synthetic_dataset(crop=60)


# ---------------------------------------------------------------- committed metadata


def test_scene_metadata_is_committed_for_every_clip_and_split_is_consistent():
    records = load_all(SCENES_DIR)
    names = {r["source"] for r in records}
    assert len(records) == 37
    for clip in split.VAL_CLIPS:
        assert clip.split("/")[-1] in names
    for record in records:
        for start, end in record["scenes"]:
            assert 0 <= start < end <= record["frame_count"]


@needs_data
def test_scene_metadata_matches_the_manifest():
    manifest = json.loads((DATA_ROOT / "MANIFEST.json").read_text())
    expected = {e["path"]: e for e in manifest["entries"] if e["path"].startswith("videos/")}
    for record in load_all(SCENES_DIR):
        entry = expected[record["path"]]
        assert record["sha256"] == entry["sha256"]
        assert record["frame_count"] == entry["count"]


@needs_data
def test_val_and_train_photos_are_disjoint_and_exist():
    val, train = split.val_photos(DATA_ROOT), split.train_photos(DATA_ROOT)
    assert set(split.VAL_PHOTOS_SAMPLED) <= set(val)
    assert not set(val) & set(train)
    assert len(val) == len(split.VAL_PHOTOS_SAMPLED) + 8


@needs_data
def test_clip_cache_is_rebuilt_from_metadata(tmp_path):
    record = next(r for r in load_all(SCENES_DIR) if r["source"] == "staple_vot15_ball1.mp4")
    clip = load_clip(record, 64, tmp_path, DATA_ROOT)
    kept = sum(end - start for start, end in record["scenes"])
    assert clip.frames.shape[0] == kept and min(clip.frames.shape[1:3]) == 64
    again = load_clip(record, 64, tmp_path, DATA_ROOT)  # second call reads the cache
    assert np.array_equal(np.asarray(clip.frames), np.asarray(again.frames))


def test_a_mismatched_reference_shows_something_else_and_is_off_by_default():
    """The regime that teaches the v2 network to ignore a reference from another shot."""
    import numpy as np

    from training.data.pairs import ClipFrames
    from training.data.sequences import GuideConfig, GuidedDataset

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(6, 160, 160, 3), dtype=np.uint8)
    clip = ClipFrames("c", [(0, 6)], frames, {i: i for i in range(6)})

    class Photos(list):
        pass

    photos = Photos([rng.integers(0, 256, size=(160, 160, 3), dtype=np.uint8)])
    plain = GuidedDataset([clip], photos, 8, crop=128, seed=0, still_fraction=0.0)
    assert GuideConfig().mismatched_reference == 0.0
    mismatched = GuidedDataset(
        [clip], photos, 8, crop=128, seed=0, still_fraction=0.0, config=GuideConfig(mismatched_reference=1.0)
    )
    for index in range(4):
        a, b = plain[index], mismatched[index]
        assert not np.allclose(a["ref_gray"], b["ref_gray"])  # the reference is another picture
