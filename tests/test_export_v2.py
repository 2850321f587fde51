"""Contract 2: the v2 network exported as four graphs computes what PyTorch computes."""

from __future__ import annotations

import onnx
import pytest
import torch
from colormotion import contract

from training.export_v2 import check_against_torch, export_graphs
from training.model_v2 import ColorMotionNet2


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    net = ColorMotionNet2()
    with torch.no_grad():  # non-trivial gates and residuals, as after training
        net.to_gate.bias.fill_(0.0)
        net.to_residual.weight.normal_(0, 0.01)
    return net, export_graphs(net, tmp_path_factory.mktemp("v2"), "test")


def test_every_graph_has_the_contracts_names_and_metadata(exported):
    _, folder = exported
    for graph, (inputs, outputs) in contract.GRAPHS_2.items():
        proto = onnx.load(contract.graph_file(folder, graph))
        assert [i.name for i in proto.graph.input] == list(inputs)
        assert [o.name for o in proto.graph.output] == list(outputs)
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta[contract.META_CONTRACT] == contract.CONTRACT_2
        assert meta["colormotion.graph"] == graph


def test_the_graphs_match_pytorch_at_other_sizes(exported):
    net, folder = exported
    worst = check_against_torch(net, folder, sizes=(32, 96))
    assert max(worst.values()) < 1e-4


def test_the_shipped_size_budget(exported):
    _, folder = exported
    total = sum(contract.graph_file(folder, g).stat().st_size for g in contract.GRAPHS_2)
    assert total < 20 * 1024 * 1024


def test_the_per_frame_compute_budget():
    """Issue budget: encode + blend + decode at 256x256 within 2 GFLOPs."""
    from training.model_v2 import frame_gflops

    assert frame_gflops(ColorMotionNet2(), 256, 256) < 2.0
