"""training.grow: a checkpoint with paths added at zero computes what its parent computes."""

from __future__ import annotations

import pytest
import torch

from tests._nets import decoded
from training.export_v2 import example_inputs
from training.grow import main as grow
from training.interpolate import main as interpolate
from training.model_v2 import ColorMotionNet2
from training.train_v2 import TFLITE, load_checkpoint_model


def _parent(tmp_path, **spec):
    torch.manual_seed(0)
    net = ColorMotionNet2(**spec)
    path = tmp_path / "parent.pt"
    weights = torch.linspace(0.5, 2.0, net.ab_bins.shape[0])
    torch.save({"model": net.state_dict(), "model_spec": net.spec(), "class_weights": weights}, path)
    return net.eval(), path, weights


def test_a_grown_coarse_path_keeps_the_function_and_the_class_weights(tmp_path):
    parent, path, weights = _parent(tmp_path)
    out = tmp_path / "grown.pt"
    assert grow([str(path), "--coarse-context", "--out", str(out)]) == 0
    grown = load_checkpoint_model(out)
    assert grown.spec() == {**parent.spec(), "coarse": True}
    x = example_inputs(parent, 64, 96)
    torch.testing.assert_close(decoded(grown, x), decoded(parent, x), rtol=0, atol=0)
    assert torch.equal(torch.load(out, weights_only=False)["class_weights"], weights)

    # a fine-tune of the grown network interpolates with it
    moved = tmp_path / "moved.pt"
    state = torch.load(out, weights_only=False)
    state["model"] = {k: v + 0.01 if v.is_floating_point() else v for k, v in state["model"].items()}
    torch.save(state, moved)
    assert interpolate([str(out), str(moved), "--share", "0.5", "--out", str(tmp_path / "mid.pt")]) == 0


@pytest.mark.skipif(
    not TFLITE.is_file(), reason="../shared/data (the pretrained MobileNetV2) is not available"
)
def test_a_grown_scene_path_keeps_the_state_features(tmp_path):
    parent, path, _ = _parent(tmp_path, coarse=True)
    out = tmp_path / "grown.pt"
    assert grow([str(path), "--scene-context", "--out", str(out)]) == 0
    grown = load_checkpoint_model(out)
    assert grown.spec()["scene"] is True
    gray = torch.rand(1, 1, 64, 96)
    with torch.no_grad():
        for want, got in zip(parent.encode(gray), grown.encode(gray)):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_grow_refuses_nothing_to_add_and_never_overwrites(tmp_path):
    _, path, _ = _parent(tmp_path, coarse=True)
    with pytest.raises(SystemExit):
        grow([str(path), "--out", str(tmp_path / "a.pt")])
    with pytest.raises(SystemExit):
        grow([str(path), "--coarse-context", "--out", str(tmp_path / "b.pt")])  # has it already
    assert not (tmp_path / "b.pt").exists()
    with pytest.raises(SystemExit):
        grow([str(path), "--coarse-context", "--out", str(path)])  # the parent itself
