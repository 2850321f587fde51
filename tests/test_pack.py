"""A training pack (training.data.pack): a size-bounded JPEG subset that trains without the data roots."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_training_data import panning, textured
from training.data.pack import load_pack, write_pack
from training.data.pairs import ClipFrames
from training.data.sequences import GuidedDataset


def _clip(name: str, seed: int, count: int = 30, size=(64, 96)) -> ClipFrames:
    frames = np.stack(panning(textured(seed, size), count))
    return ClipFrames(name, [(0, 20), (20, count)], frames, {i: i for i in range(count)})


def test_a_pack_keeps_its_budget_and_loads_as_the_split_does(tmp_path):
    photos = {f"stills/p{i}.jpg": textured(20 + i, (64, 80)) for i in range(200)}  # ~3.3 kB each
    manifest = write_pack(
        tmp_path / "pack",
        photos=[name for name in photos if name != "stills/p0.jpg"],
        val_photos=["stills/p0.jpg"],
        load_photo=photos.__getitem__,
        clips=[_clip("a.mp4", 1), _clip("b.mp4", 2)],
        val_clips=[_clip("held.mp4", 3, size=(32, 48))],
        mib=0.8,
        seed=0,
    )
    assert 0 < manifest["bytes"] <= 0.8 * 2**20
    assert 0 < len(manifest["photos"]) < 199  # the budget, not the list, ended it
    assert {entry["source"] for entry in manifest["val_photos"]} == {"stills/p0.jpg"}
    assert "stills/p0.jpg" not in {entry["source"] for entry in manifest["photos"]}

    train_clips, val_clips, train_photos, val_photos = load_pack(tmp_path / "pack")
    assert [c.name for c in val_clips] == ["held.mp4"]
    assert {c.name for c in train_clips} <= {"a.mp4", "b.mp4"} and train_clips
    for clip, entry in zip(train_clips, manifest["clips"]):
        assert clip.scenes and all(0 <= s < e <= len(clip.frames) for s, e in clip.scenes)
        first, end = entry["sources"][0]  # the window's frames, in order, from one scene
        original = _clip(clip.name, {"a.mp4": 1, "b.mp4": 2}[clip.name])
        error = np.abs(clip.frames[: end - first].astype(int) - original.frames[first:end]).mean()
        assert error < 3  # JPEG 4:4:4 at quality 92
    assert train_photos[0].shape == (64, 80, 3) and len(val_photos) == 1

    dataset = GuidedDataset(train_clips, train_photos, length=4, crop=64, seed=0)
    assert dataset[0]["gray"].shape == (2, 1, 64, 64)


def test_a_pack_is_never_written_over_another_folder(tmp_path):
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not empty"):
        write_pack(tmp_path / "pack", [], [], None, [], [], mib=1, seed=0)
    assert (tmp_path / "pack" / "mine.txt").read_text() == "keep"
