"""training/quantize.py: an int8 variant of a model folder that the runtime loads as a new model."""

from __future__ import annotations

import numpy as np
import onnx
from colormotion import contract
from colormotion.graph_model import GraphModel

from training.quantize import graph_feeds, quantise_folder


def photos(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (64, 96, 3), np.uint8) for _ in range(count)]


def test_the_named_graphs_are_quantised_the_rest_copied_and_the_model_stays_close(
    random_graph_model, tmp_path
):
    out = quantise_folder(random_graph_model, tmp_path / "int8", ("encode",), photos(3))
    encode = onnx.load(str(contract.graph_file(out, "encode")))
    assert any(node.op_type == "QuantizeLinear" for node in encode.graph.node)
    for graph in ("reference", "blend", "decode"):  # the same graph, only the version marked
        source = onnx.load(str(contract.graph_file(random_graph_model, graph)))
        copy = onnx.load(str(contract.graph_file(out, graph)))
        assert copy.graph == source.graph

    float_model, int8_model = GraphModel(random_graph_model), GraphModel(out)
    assert int8_model.version.endswith("-int8-encode") and int8_model.sha256 != float_model.sha256
    feeds = graph_feeds(float_model, photos(1)[0])["encode"]
    want, got = float_model.encode(feeds["gray"]), int8_model.encode(feeds["gray"])
    scale = np.abs(want.current).max()
    assert 0 < np.abs(got.current - want.current).max() < 0.2 * scale  # quantised, not broken
