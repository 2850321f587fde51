"""training.slim: a checkpoint's decoder cut to fewer channels, keeping those that pass on most."""

from __future__ import annotations

import pytest
import torch

from tests._nets import decoded
from training.export_v2 import example_inputs, export_graphs
from training.import_v2 import model_from_graphs
from training.model_v2 import ColorMotionNet2
from training.slim import GROUPS, channel_scores, channel_slices, kept_channels, main, slim


def _net() -> ColorMotionNet2:
    torch.manual_seed(0)
    net = ColorMotionNet2(coarse=True)
    with torch.no_grad():  # layers that start at zero are not zero once trained
        for layer in (net.coarse.out, net.to_residual, net.to_gate):
            layer.weight.normal_(0.0, 0.05)
    return net.eval()


def _frames(count: int = 3) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(L*/100, a*b*/110) of random frames: automatic, hinted and referenced cases, in turn."""
    generator = torch.Generator().manual_seed(1)
    return [
        (torch.rand(1, 1, 64, 64, generator=generator), torch.rand(1, 2, 64, 64, generator=generator) - 0.5)
        for _ in range(count)
    ]


def _any_scores(net: ColorMotionNet2) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    return {
        group: torch.rand(count, generator=generator) for group, count in zip(GROUPS, net.spec()["widths"])
    }


def test_the_parents_own_widths_give_the_parent():
    parent = _net()
    same = slim(parent, (64, 48, 24), _any_scores(parent))
    x = example_inputs(parent, 64, 96)
    torch.testing.assert_close(decoded(same, x), decoded(parent, x), rtol=0, atol=0)


def test_a_slimmer_decoder_runs_exports_and_keeps_encode():
    parent = _net()
    slimmer = slim(parent, (48, 32, 16), _any_scores(parent))
    assert slimmer.spec() == {**parent.spec(), "widths": (48, 32, 16)}
    gray = _frames(1)[0][0]
    with torch.no_grad():
        for want, got in zip(parent.encode(gray), slimmer.encode(gray)):
            torch.testing.assert_close(got, want, rtol=0, atol=0)
    x = example_inputs(slimmer, 64, 96)
    assert decoded(slimmer, x).shape == (1, 2, 64, 96)


def test_a_channel_nothing_reads_scores_zero_and_goes_first():
    net = _net()
    with torch.no_grad():  # d4 channel 5 and d2 channel 3: every weight that reads them is zero
        net.to_logits.weight[:, 5] = 0.0
        net.at2[0].weight[5] = 0.0
        net.at2[1].weight[:, 5] = 0.0
        net.to_residual.weight[:, 3] = 0.0
        net.to_gate.weight[:, 3] = 0.0
    before = {name: tensor.clone() for name, tensor in net.state_dict().items()}
    scores = channel_scores(net, _frames())
    for name, tensor in net.state_dict().items():  # every weight put back as it was
        assert torch.equal(tensor, before[name]), name
    assert scores["d4"][5] == 0 and scores["d2"][3] == 0
    assert (scores["d4"] > 0).sum() == 47 and (scores["d8"] > 0).all() and (scores["d2"] > 0).sum() == 23
    assert 5 not in kept_channels(scores["d4"], 47).tolist()
    assert kept_channels(scores["d2"], 23).tolist() == [c for c in range(24) if c != 3]


def test_removing_a_channel_as_scored_is_cutting_it_out():
    """The score's removal (every slice that holds the channel zeroed) computes what the slimmer
    network computes."""
    net = _net()
    scores = channel_scores(net, _frames())
    slimmer = slim(net, (63, 47, 23), scores)
    with torch.no_grad():
        for group in GROUPS:
            for piece in channel_slices(net, group, int(torch.argmin(scores[group]))):
                piece.zero_()
    x = example_inputs(net, 64, 96)
    torch.testing.assert_close(decoded(slimmer, x), decoded(net, x), rtol=1e-5, atol=1e-6)


def test_kept_channels_stay_in_order_and_refuse_impossible_counts():
    scores = torch.tensor([0.1, 0.9, 0.5, 0.7])
    assert kept_channels(scores, 2).tolist() == [1, 3]
    with pytest.raises(ValueError):
        kept_channels(scores, 5)
    with pytest.raises(ValueError):
        kept_channels(scores, 0)


def test_a_slimmer_decoder_exports_and_imports_again(tmp_path):
    net = _net()
    slimmer = slim(net, (48, 32, 16), _any_scores(net))
    folder = export_graphs(slimmer, tmp_path / "model", "slim-test")
    rebuilt = model_from_graphs(folder)  # a shipped slim model can be trained on again
    assert rebuilt.spec() == slimmer.spec()
    x = example_inputs(slimmer, 64, 96)
    torch.testing.assert_close(decoded(rebuilt, x), decoded(slimmer, x), rtol=0, atol=1e-6)


def test_the_command_refuses_wider_widths_and_never_overwrites(tmp_path):
    net = _net()
    parent = tmp_path / "parent.pt"
    torch.save({"model": net.state_dict(), "model_spec": net.spec(), "class_weights": None}, parent)
    with pytest.raises(SystemExit):
        main([str(parent), "--widths", "64", "64", "24", "--out", str(tmp_path / "wide.pt")])
    assert not (tmp_path / "wide.pt").exists()
    with pytest.raises(SystemExit):
        main([str(parent), "--widths", "48", "32", "16", "--out", str(parent)])
