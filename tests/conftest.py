"""Shared fixtures.

Until a trained model has landed, and for tests that must not depend on its weights, tests
export a small random-weight step model with the training code (`training.export`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
for path in (REPO_ROOT, REPO_ROOT / "plugin"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture(scope="session")
def random_model(tmp_path_factory) -> Path:
    """Path to a random-weight ONNX step model that follows `colormotion.contract`."""
    from training.export import export_random_model

    return export_random_model(tmp_path_factory.mktemp("model") / "random.onnx", seed=0)


@pytest.fixture(scope="session")
def random_graph_model(tmp_path_factory) -> Path:
    """A random-weight contract-2 model folder (training/export_v2.py)."""
    import torch

    from training.export_v2 import export_graphs
    from training.model_v2 import ColorMotionNet2

    torch.manual_seed(0)
    net = ColorMotionNet2()
    with torch.no_grad():  # a gate and residual that do something, as after training
        net.to_gate.bias.fill_(0.0)
        net.to_residual.weight.normal_(0, 0.05)
    net.set_colour_prior(grey_heavy_prior(net.ab_bins))  # as real data: vividness has an effect
    return export_graphs(net, tmp_path_factory.mktemp("graphs") / "model", "random")


def grey_heavy_prior(bins):
    """An a*b* bin prior like real photos': most mass near grey, falling off with chroma."""
    import torch

    chroma = bins.norm(dim=1) * 110.0
    prior = torch.exp(-chroma / 15.0)
    return prior / prior.sum()


@pytest.fixture
def fresh_cache():
    """The process cache, empty before and after the test (renders start cold, leave nothing)."""
    from colormotion.temporal.cache import PROCESS_CACHE

    PROCESS_CACHE.clear()
    yield PROCESS_CACHE
    PROCESS_CACHE.clear()
