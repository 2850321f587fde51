"""A training step of ColorMotionNet2 on synthetic guided samples: on the CPU, under bfloat16
autocast, and on a CUDA GPU when there is one."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from tests.test_training_data import panning, textured
from training.data.pairs import ClipFrames
from training.data.sequences import GuidedDataset
from training.model_v2 import ColorMotionNet2
from training.train_v2 import TrainConfig, losses_of, own_hints_reference, temporal_change_loss


@pytest.fixture(scope="module")
def batch():
    frames = np.stack(panning(textured(8, (80, 96)), 8))
    clip = ClipFrames("synthetic.mp4", [(0, 8)], frames, {i: i for i in range(8)})
    photos = [textured(9, (70, 90)), textured(10, (64, 64))]
    dataset = GuidedDataset([clip], photos, length=4, crop=64, seed=3, still_fraction=0.5)
    return default_collate([dataset[i] for i in range(4)])


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    net = ColorMotionNet2()
    with torch.no_grad():  # non-trivial gates and residuals, as after training
        net.to_residual.weight.normal_(0, 0.01)
    return net.train()


def _losses(net, batch, device: str, bf16: bool = False) -> dict[str, float]:
    model = copy.deepcopy(net).to(device, memory_format=torch.channels_last)
    weights = torch.ones(model.ab_bins.shape[0], device=device)
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
        losses = losses_of(model, batch, weights, TrainConfig(name="test"))
    losses["total"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    return {key: float(value.detach()) for key, value in losses.items()}


def test_a_training_step_under_bfloat16_autocast_keeps_the_losses(net, batch):
    exact, fast = _losses(net, batch, "cpu"), _losses(net, batch, "cpu", bf16=True)
    assert exact["total"] > 0
    for key in exact:
        assert fast[key] == pytest.approx(exact[key], rel=0.02), key


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_a_training_step_on_a_gpu_gives_the_cpus_losses(net, batch):
    """The batch stays on the CPU (the engine's guide work is numpy); the network runs on the GPU."""
    on_cpu, on_gpu = _losses(net, batch, "cpu"), _losses(net, batch, "cuda")
    for key in on_cpu:
        assert on_gpu[key] == pytest.approx(on_cpu[key], rel=1e-3), key


def test_bf16_is_refused_on_a_cpu_without_native_bfloat16(monkeypatch, tmp_path):
    from training import train_v2

    monkeypatch.setattr(train_v2, "cpu_has_native_bf16", lambda: False)
    config = TrainConfig(name="bf16", runs_dir=str(tmp_path), bf16=True)
    with pytest.raises(ValueError, match="no native bfloat16"):
        train_v2.train(config)
    assert not (tmp_path / "bf16").exists()  # refused before anything was written
    train_v2.check_config(TrainConfig(bf16=False))  # float32 always goes
    monkeypatch.setattr(train_v2, "cpu_has_native_bf16", lambda: True)
    train_v2.check_config(config)


def test_the_flicker_term_counts_only_change_the_truth_does_not_have():
    torch.manual_seed(1)
    truth0 = torch.rand(2, 2, 32, 40) - 0.5
    truth1 = torch.roll(truth0, shifts=8, dims=-1)  # the scene moves 8 px right: one grid cell
    flow = torch.zeros(2, 2, 4, 5)
    flow[:, 0] = -1.0  # backward, in feature-grid cells: t+1 at x came from t at x - 8 px
    truths = (truth0, truth1)
    assert float(temporal_change_loss(truths, truths, flow)) == 0.0
    # a steady error that moves with the scene is the L1 term's business, not flicker
    steady = (truth0 + 0.2, truth1 + 0.2)
    assert float(temporal_change_loss(steady, truths, flow)) == pytest.approx(0.0, abs=1e-6)
    flicker = (truth0, truth1 + 0.2)  # t+1 changes colour, the scene does not
    assert float(temporal_change_loss(flicker, truths, flow)) > 0.15
    # counted: the mean over the covered samples only
    one_flickers = (truth0, torch.cat([truth1[:1], truth1[1:] + 0.2]))
    assert float(temporal_change_loss(one_flickers, truths, flow, torch.tensor([1.0, 0.0]))) == 0.0
    only_it = float(temporal_change_loss(one_flickers, truths, flow, torch.tensor([0.0, 1.0])))
    assert only_it == pytest.approx(float(temporal_change_loss(flicker, truths, flow)), rel=1e-5)
    assert float(temporal_change_loss(flicker, truths, flow, torch.zeros(2))) == 0.0


def test_the_flicker_term_joins_the_total_only_when_weighted(net, batch):
    without = losses_of(net, batch, torch.ones(net.ab_bins.shape[0]), TrainConfig(name="test"))
    config = TrainConfig(name="test", temporal_weight=3.0, temporal_on_hinted=True)
    weighted = losses_of(net, batch, torch.ones(net.ab_bins.shape[0]), config)
    assert "temporal" not in without and weighted["temporal"].item() > 0
    expected = without["total"].item() + 3.0 * weighted["temporal"].item()
    assert weighted["total"].item() == pytest.approx(expected, rel=1e-5)


def test_the_flicker_term_leaves_samples_with_hints_of_their_own_alone(net, batch):
    """Their t and t+1 are hinted at independent positions: answering the hints is no flicker."""
    weights = torch.ones(net.ab_bins.shape[0])
    hinted = {**batch, "hinted": torch.ones_like(batch["hinted"])}
    unhinted = {**batch, "hinted": torch.zeros_like(batch["hinted"])}
    config = TrainConfig(name="test", temporal_weight=3.0)
    assert losses_of(net, hinted, weights, config)["temporal"].item() == 0.0
    everywhere = losses_of(net, hinted, weights, dataclasses.replace(config, temporal_on_hinted=True))
    assert everywhere["temporal"].item() > 0
    assert losses_of(net, unhinted, weights, config)["temporal"].item() == pytest.approx(
        everywhere["temporal"].item(), rel=1e-5
    )


def test_hint_mix_reaches_the_data_and_bad_mixes_are_refused_before_the_run(tmp_path):
    from training import train_v2
    from training.data.sequences import GuideConfig

    assert train_v2.guide_config(TrainConfig()).hint_mix == GuideConfig().hint_mix
    mixed = train_v2.guide_config(TrainConfig(hint_mix=["points=3", "none=1"]))
    assert mixed.hint_weights() == pytest.approx([0.25, 0.75, 0.0, 0.0])  # none, points, density, full
    for bad, message in (
        (["pointz=1"], "unknown regimes"),
        (["points"], "not REGIME=WEIGHT"),
        (["points=0.4", "points=0.5"], "twice"),
        (["none=0", "points=0"], "positive sum"),
    ):
        config = TrainConfig(name="bad", runs_dir=str(tmp_path), hint_mix=bad)
        with pytest.raises(ValueError, match=message):
            train_v2.train(config)
        assert not (tmp_path / "bad").exists()


def test_hint_mix_is_a_command_line_option():
    from training.train_v2 import parse_args

    assert parse_args(["--hint-mix", "none=0.3", "points=0.45"]).hint_mix == ["none=0.3", "points=0.45"]
    assert parse_args([]).hint_mix == []


def test_with_hints_as_reference_a_hinted_frame_attends_to_itself_as_the_engine_does(net, batch):
    """Sample 0 has hints of its own and no graded reference: it attends to what the engine's
    `reference` graph makes of the frame and its hints. Sample 1 is unhinted and sample 2 has a
    graded (dense) reference: both keep the sample's reference."""
    gray = batch["gray"][:3, 0]
    hints = torch.zeros(3, 2, 3, *gray.shape[-2:])
    hints[:, 0, 2, 10:14, 20:24] = 1.0
    hints[:, 0, 0, 10:14, 20:24] = 0.4
    hints[1] = 0.0
    sample = {"hints": hints, "dense_reference": torch.tensor([0.0, 0.0, 1.0])}
    with torch.no_grad():
        key = net.encode(gray)[1]
        ref_key, ref_colour = torch.randn_like(key), torch.rand(3, 3, *key.shape[-2:])
        chosen_key, chosen_colour = own_hints_reference(net, sample, 0, key, ref_key, ref_colour)
        engine_key, engine_colour = net.reference(gray[:1], hints[:1, 0])
    assert torch.allclose(chosen_key[:1], engine_key, atol=1e-6)
    assert torch.allclose(chosen_colour[:1], engine_colour) and chosen_colour[0, 2].max() > 0
    assert torch.equal(chosen_key[1:], ref_key[1:]) and torch.equal(chosen_colour[1:], ref_colour[1:])


def test_hints_as_reference_changes_the_losses_of_hinted_samples_only(net, batch):
    weights = torch.ones(net.ab_bins.shape[0])
    config = TrainConfig(name="test")
    on = dataclasses.replace(config, hints_as_reference=True)
    own_hints = (batch["hints"][:, :, 2] > 0).flatten(2).any(dim=2).any(dim=1) & (
        batch["dense_reference"] == 0
    )
    assert own_hints.any()
    assert (
        losses_of(net, batch, weights, on)["total"].item()
        != losses_of(net, batch, weights, config)["total"].item()
    )
    unhinted = {**batch, "hints": torch.zeros_like(batch["hints"])}
    assert (
        losses_of(net, unhinted, weights, on)["total"].item()
        == losses_of(net, unhinted, weights, config)["total"].item()
    )


def test_hints_as_reference_is_a_command_line_option():
    from training.train_v2 import parse_args

    assert parse_args(["--hints-as-reference"]).hints_as_reference
    assert not parse_args([]).hints_as_reference
