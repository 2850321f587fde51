"""Contract 2: the v2 network exported as four graphs computes what PyTorch computes."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from colormotion import contract

from tests.conftest import grey_heavy_prior
from training.export_v2 import check_against_torch, export_graphs, pad_conv_input_channels
from training.model_v2 import ColorMotionNet2


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    net = ColorMotionNet2(coarse=True, scene=True)
    with torch.no_grad():  # non-trivial gates, residuals, coarse and scene paths, as after training
        net.to_gate.bias.fill_(0.0)
        net.to_residual.weight.normal_(0, 0.01)
        net.coarse.out.weight.normal_(0, 0.1)
        net.scene.out.weight.normal_(0, 0.01)
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


def test_the_shipped_model_keeps_the_budgets():
    """Issue budgets on the bundled model itself: files within 20 MB, a 256x256 frame in order
    (encode, blend, decode) within 2 GFLOPs."""
    from colormotion.model import load_model

    folder = Path(__file__).resolve().parents[1] / "models" / "colormotion2"
    assert sum(contract.graph_file(folder, g).stat().st_size for g in contract.GRAPHS_2) < 20 * 1024 * 1024
    assert load_model(folder).frame_gflops(256, 256) < 2.0


def test_the_per_frame_compute_budget():
    """Issue budget: encode + blend + decode at 256x256 within 2 GFLOPs, with every optional path."""
    from training.model_v2 import frame_gflops

    assert frame_gflops(ColorMotionNet2(coarse=True, scene=True), 256, 256) < 2.0


def test_the_runtime_runs_the_graphs_as_pytorch_does(exported):
    """GraphModel (the engine's runtime) gives what the network gives for a two-frame chain."""
    import numpy as np
    from colormotion.graph_model import GraphModel

    net, folder = exported
    model = GraphModel(folder)
    rng = np.random.default_rng(0)
    gray = rng.random((2, 1, 64, 96), dtype=np.float32)
    guide = np.zeros((1, 3, 64, 96), np.float32)
    guide[0, :, 10:20, 30:40] = np.array([0.3, -0.2, 1.0], np.float32)[:, None, None]
    first, second = model.encode(gray[:1]), model.encode(gray[1:])
    reference = model.reference(gray[:1], guide)
    feat0 = model.blend(first.current, None, None, 0.0)
    flow = np.zeros((1, 2, 8, 12), np.float32)
    feat1 = model.blend(second.current, feat0, flow, 1.0)
    ab = model.decode(second, feat1, guide, reference)
    with torch.no_grad():
        t = [torch.from_numpy(g[None]) for g in gray]
        c0, k0, a0, b0 = net.encode(t[0])
        c1, k1, a1, b1 = net.encode(t[1])
        ref_key, ref_colour = net.reference(t[0], torch.from_numpy(guide))
        f0, _ = net.blend(c0, *net.zero_state(c0))
        f1, _ = net.blend(c1, f0, torch.from_numpy(flow), torch.ones(1, 1, 1, 1))
        want, _ = net.decode(f1, a1, b1, k1, torch.from_numpy(guide), ref_key, ref_colour)
    assert np.abs(ab - want.numpy()).max() < 1e-4
    # no reference: one key position of zeros gives exactly what zeros of the frame's size give
    from colormotion.graph_model import Reference

    none = model.no_reference(second)
    assert none.key.shape == (1, net.KEY_CHANNELS, 1, 1) and none.colour.shape == (1, 3, 1, 1)
    full = Reference(np.zeros_like(second.key), np.zeros((1, 3, *second.key.shape[2:]), np.float32))
    np.testing.assert_array_equal(
        model.decode(second, feat1, guide, none), model.decode(second, feat1, guide, full)
    )


def test_a_contract_1_model_is_refused_by_name(exported, tmp_path, random_model):
    import shutil

    from colormotion.graph_model import GraphModel
    from colormotion.model import ModelError

    _, folder = exported
    broken = tmp_path / "mixed"
    shutil.copytree(folder, broken)
    shutil.copy(random_model, contract.graph_file(broken, "decode"))
    with pytest.raises(ModelError, match="not the decode graph of a contract-2 model"):
        GraphModel(broken)


def test_the_runtime_counts_the_flops_the_network_has(exported):
    """The FLOPs recorded at export reach `colormotion bench` through the runtime's work counter,
    at any frame size: one in-order frame costs what `frame_gflops` counts in PyTorch. Only the
    scene path's trunk (its border, its maps of odd size) is not quite proportional to the
    pixels, so encode is exact at 256x256, where the export counts, and within 10 % elsewhere."""
    from colormotion import profiling
    from colormotion.graph_model import GraphModel

    from training.model_v2 import frame_gflops, graph_gflops

    net, folder = exported
    model = GraphModel(folder)
    assert model.frame_gflops(256, 256) == pytest.approx(frame_gflops(net, 256, 256), rel=1e-3)
    height, width = 96, 160
    encode = graph_gflops(net, height, width)["encode"]
    assert model.frame_gflops(height, width) - model.graph_gflops("encode", height, width) == pytest.approx(
        frame_gflops(net, height, width) - encode, rel=1e-3
    )
    assert model.graph_gflops("encode", height, width) == pytest.approx(encode, rel=0.1)
    profiling.reset()
    gray = torch.rand(1, 1, height, width).numpy()
    guide = torch.zeros(1, 3, height, width).numpy()
    encoded = model.encode(gray)
    feat = model.blend(encoded.current, None, None, 0.0)
    model.decode(encoded, feat, guide, model.reference(gray, guide))
    counted = profiling.work()["model_gflops"] - model.graph_gflops("reference", height, width)
    assert counted == pytest.approx(model.frame_gflops(height, width), rel=1e-6)
    profiling.reset()
    model.decode(encoded, feat, guide, model.no_reference(encoded))  # attention to one key only
    positions = (height // net.KEY_STRIDE) * (width // net.KEY_STRIDE)
    attention = 4 * positions * (positions - 1) * net.KEY_CHANNELS / 1e9
    full_decode = model.graph_gflops("decode", height, width)
    assert profiling.work()["model_gflops"] == pytest.approx(full_decode - attention, rel=1e-6)


def test_every_convolution_weight_is_an_initializer(exported):
    """Weights computed in the graph (slices of parameters) keep onnxruntime from its blocked
    convolution layout, a ~5x slower depthwise conv: export folds them to constants."""
    _, folder = exported
    for graph in contract.GRAPHS_2:
        proto = onnx.load(str(contract.graph_file(folder, graph)))
        initializers = {init.name for init in proto.graph.initializer}
        for node in proto.graph.node:
            if node.op_type == "Conv":
                assert all(name in initializers for name in node.input[1:]), (graph, node.name)


def test_the_annealed_means_exponent_is_floored(exported):
    """onnxruntime's Exp, and the MatMul after it, take a slow path where exp underflows
    (exponents below about -87), as a sure classifier's do (decode 20-30 % slower on a
    reference's dense guide): the exported decode floors them. The values stay the textbook
    ones for logits far beyond the floor (test_model_v2)."""
    _, folder = exported
    proto = onnx.load(str(contract.graph_file(folder, "decode")))
    producers = {output: node for node in proto.graph.node for output in node.output}
    floored = [
        producers[node.input[0]].op_type in ("Clip", "Max")
        for node in proto.graph.node
        if node.op_type == "Exp"
    ]
    assert floored.count(True) == 1, floored  # the annealed mean's (the attention's is a Softmax)


def test_the_importer_rebuilds_every_weight_from_the_graphs(exported, tmp_path):
    """A machine that lost its checkpoints trains on from the shipped model (training.import_v2)."""
    from training.import_v2 import model_from_graphs, read_spec

    net = copy.deepcopy(exported[0])
    with torch.no_grad():  # weights the constructor would not give, so a fresh default cannot pass
        net.log_sharpness.fill_(1.7)
    net.set_colour_prior(grey_heavy_prior(net.ab_bins))
    folder = export_graphs(net, tmp_path, "test")
    assert read_spec(folder) == net.spec()
    rebuilt = model_from_graphs(folder)
    want, got = net.state_dict(), rebuilt.state_dict()
    assert want.keys() == got.keys()
    for name in want:
        assert torch.allclose(got[name], want[name], atol=1e-6), name
    assert torch.allclose(rebuilt.log_prior, net.log_prior)


def test_the_importer_refuses_graphs_that_lack_a_weight(exported, tmp_path):
    from training.import_v2 import model_from_graphs

    _, folder = exported
    for graph in contract.GRAPHS_2:
        (tmp_path / contract.graph_file(folder, graph).name).write_bytes(
            contract.graph_file(folder, graph).read_bytes()
        )
    blend = onnx.load(contract.graph_file(tmp_path, "blend"))
    conv = next(node for node in blend.graph.node if node.op_type == "Conv")
    # the weight becomes a graph input: the importer must say which constant it lacks
    weight = next(init for init in blend.graph.initializer if init.name == conv.input[1])
    blend.graph.initializer.remove(weight)
    blend.graph.input.append(
        onnx.helper.make_tensor_value_info(weight.name, onnx.TensorProto.FLOAT, weight.dims)
    )
    onnx.save(blend, contract.graph_file(tmp_path, "blend"))
    with pytest.raises(ValueError, match="no constant input"):
        model_from_graphs(tmp_path)


def _one_conv(in_channels: int, kernel: int) -> onnx.ModelProto:
    weight = np.random.default_rng(1).standard_normal((64, in_channels, kernel, kernel)).astype(np.float32)
    conv = onnx.helper.make_node("Conv", ["x", "w"], ["y"], pads=[kernel // 2] * 4)
    graph = onnx.helper.make_graph(
        [conv],
        "one_conv",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, in_channels, None, None])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 64, None, None])],
        [onnx.numpy_helper.from_array(weight, "w")],
    )
    return onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", contract.OPSET)])


def _run_all(proto: onnx.ModelProto, x: np.ndarray, threads: int = 1) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


def _run(proto: onnx.ModelProto, x: np.ndarray, threads: int) -> np.ndarray:
    return _run_all(proto, x, threads)[0]


def test_padded_convolutions_compute_the_same_with_any_thread_count():
    """A 3x3 convolution over 70 channels on an 8x10 map (the coarse path's shape at 256x320):
    widened to 80 zero-padded channels it computes the same function, to the same bits with 1
    to 4 onnxruntime threads."""
    x = np.random.default_rng(0).random((1, 70, 8, 10), dtype=np.float32)
    original = _one_conv(70, 3)
    padded = copy.deepcopy(original)
    assert pad_conv_input_channels(padded) == 1
    onnx.checker.check_model(padded)
    assert onnx.numpy_helper.to_array(padded.graph.initializer[0]).shape == (64, 80, 3, 3)
    reference = _run(padded, x, 1)
    np.testing.assert_allclose(reference, _run(original, x, 1), rtol=0, atol=1e-4)
    for threads in (2, 3, 4):
        assert np.array_equal(_run(padded, x, threads), reference), f"{threads} threads"


@pytest.mark.parametrize("in_channels, kernel", [(80, 3), (11, 3), (70, 1)])
def test_convolutions_already_summed_in_one_order_are_left_alone(in_channels, kernel):
    """Multiples of 16 run blocked; a sum of at most 128 products (11x3x3, 70x1x1) takes one pass."""
    proto = _one_conv(in_channels, kernel)
    assert pad_conv_input_channels(proto) == 0
    assert [node.op_type for node in proto.graph.node] == ["Conv"]


def test_two_convolutions_of_one_input_are_widened_apart():
    """One tensor feeding two widened convolutions gets a Pad node for each, named apart."""
    original = _one_conv(70, 3)
    weight = np.random.default_rng(2).standard_normal((8, 70, 3, 3)).astype(np.float32)
    original.graph.initializer.append(onnx.numpy_helper.from_array(weight, "w2"))
    original.graph.node.append(onnx.helper.make_node("Conv", ["x", "w2"], ["y2"], pads=[1] * 4))
    original.graph.output.append(
        onnx.helper.make_tensor_value_info("y2", onnx.TensorProto.FLOAT, [1, 8, None, None])
    )
    padded = copy.deepcopy(original)
    assert pad_conv_input_channels(padded) == 2
    onnx.checker.check_model(padded, full_check=True)
    x = np.random.default_rng(0).random((1, 70, 8, 10), dtype=np.float32)
    for got, want in zip(_run_all(padded, x), _run_all(original, x)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
