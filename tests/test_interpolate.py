"""training.interpolate: a checkpoint on the line between two weights of one network."""

from __future__ import annotations

import pytest
import torch

from training import interpolate
from training.model_v2 import ColorMotionNet2
from training.train_v2 import load_checkpoint_model, save_checkpoint


def _checkpoint(path, seed, **spec):
    torch.manual_seed(seed)
    model = ColorMotionNet2(activation="prelu", **spec)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.01)
    save_checkpoint(path, model, None, torch.ones(model.ab_bins.shape[0]) * seed, 0.5, {"step": seed})
    return model


def _interpolate(a, b, share, out) -> int:
    return interpolate.main([str(a), str(b), "--share", str(share), "--out", str(out)])


def test_the_share_walks_from_a_to_b(tmp_path):
    a = _checkpoint(tmp_path / "a.pt", 1)
    b = _checkpoint(tmp_path / "b.pt", 2)
    for share in (0.0, 0.25, 1.0):
        out = tmp_path / f"mix-{share}.pt"
        assert _interpolate(tmp_path / "a.pt", tmp_path / "b.pt", share, out) == 0
        mixed = load_checkpoint_model(out).state_dict()
        for name, weight in b.state_dict().items():
            if weight.is_floating_point() and name != "log_prior":
                expected = (1 - share) * a.state_dict()[name] + share * weight
                torch.testing.assert_close(mixed[name], expected, rtol=1e-6, atol=1e-7)
        saved = torch.load(out, weights_only=False)
        assert saved["interpolated"]["share"] == share and saved["optimizer"] is None
        torch.testing.assert_close(saved["class_weights"], torch.ones_like(saved["class_weights"]) * 2)


def test_different_networks_and_bad_shares_are_refused(tmp_path, capsys):
    a, coarse, out = tmp_path / "a.pt", tmp_path / "coarse.pt", tmp_path / "m.pt"
    _checkpoint(a, 1)
    _checkpoint(coarse, 2, coarse=True)
    with pytest.raises(SystemExit):
        _interpolate(a, coarse, 0.5, out)
    assert "different networks" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _interpolate(a, a, 1.5, out)
    assert "share must lie in 0..1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _interpolate(a, coarse, 0.5, a)
    assert "must not be one of the checkpoints" in capsys.readouterr().err
    assert not out.exists()
