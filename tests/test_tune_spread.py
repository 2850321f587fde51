"""training.tune_spread chooses the hint-spread constants on training photos only and leaves the
engine's constants as they were."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from colormotion.temporal import propagate

from training import tune_spread
from training.data import DATA_ROOT, split

pytestmark = pytest.mark.skipif(not (DATA_ROOT / "stills").is_dir(), reason="../shared/data is absent")


def test_tuning_photos_are_training_photos_one_draw_per_folder():
    photos = tune_spread.tuning_photos(per_folder=2, seed=5)
    assert photos == tune_spread.tuning_photos(per_folder=2, seed=5)  # seeded
    assert not any(split.is_val_photo(path) for path in photos)
    per_folder = Counter(path.split("/")[1] for path in split.train_photos(DATA_ROOT))
    assert Counter(path.split("/")[1] for path in photos) == {f: min(2, n) for f, n in per_folder.items()}


def test_each_value_is_in_force_while_measured_and_the_default_comes_back(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(tune_spread, "tuning_photos", lambda per_folder, seed: ["stills/x.jpg"])
    monkeypatch.setattr(tune_spread.evaluate, "load_photo_square", lambda path: np.zeros((8, 8, 3), np.uint8))

    def figures(evaluator, images):
        seen.append(propagate.SPREAD_SIGMA)
        return {"sweep": {"0": 20.0, "10": 22.0}, "fidelity": 0.1, "mid_vs_none": 1.0}

    monkeypatch.setattr(tune_spread, "photo_figures", figures)
    default = propagate.SPREAD_SIGMA
    assert tune_spread.main(["--sigma", "3", "7"]) == 0
    assert seen == [3.0, 7.0] and propagate.SPREAD_SIGMA == default
    assert "sigma 7  0:20.00 10:22.00" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        tune_spread.main(["--sigma", "3", "--gain", "10"])  # one constant at a time


def test_the_clip_figure_is_the_hinted_render_against_the_automatic_one_by_bin():
    rng = np.random.default_rng(0)
    truth = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(40)]

    class Renders:  # automatic colour: gray; with hints: the truth from frame 20 on
        settings = tune_spread.evaluate.Settings(work_short_side=32)

        def render(self, rgb, hints_at=None):
            assert hints_at is None or hints_at(0) and not hints_at(1) and hints_at.persisting(5)
            gray = [np.repeat(f.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2) for f in rgb]
            return gray if hints_at is None else gray[:20] + rgb[20:]

    gains = tune_spread.hint_gain_on_clips(Renders(), {"videos/x.mp4": truth})
    assert gains["1-10"] == (0.0, 0.0)
    assert gains["31-59"][0] > 20 and gains["31-59"][0] == gains["31-59"][1]  # one clip: mean = worst


def test_the_tuning_clips_are_training_clips():
    assert not any(
        split.is_val_clip(clip) or split.is_excluded_clip(clip) for clip in tune_spread.TUNING_CLIPS
    )
    assert all((DATA_ROOT / clip).is_file() for clip in tune_spread.TUNING_CLIPS)
