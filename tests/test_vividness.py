"""Vividness: the logit adjustment of the automatic colour, from the network to the command line.

At 0 everything is exactly as trained; more moves the annealed mean away from the colours the
training data had most of, and leaves hinted and referenced colours theirs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from colormotion import contract
from colormotion.graph_model import GraphModel
from colormotion.hints import HintSet
from colormotion.model import ModelError, StepModel
from colormotion.node import ColorizeNode, StaticParams, param_spec
from colormotion.temporal.cache import PROCESS_CACHE
from colormotion.temporal.engine import EngineSettings, TemporalEngine
from skimage import data

from tests.conftest import grey_heavy_prior
from tests.synthetic_clips import ListSource, camera_move
from training.export_v2 import example_inputs, export_graphs
from training.model_v2 import ColorMotionNet2
from training.train_v2 import prior_of_weights, rebalance_weights


def _net() -> ColorMotionNet2:
    torch.manual_seed(1)
    net = ColorMotionNet2().eval()
    net.set_colour_prior(grey_heavy_prior(net.ab_bins))
    return net


def _decode(net: ColorMotionNet2, inputs: dict, vividness: float | None) -> torch.Tensor:
    names = ("feat", "skip4", "skip2", "key", "guide", "ref_key", "ref_colour")
    value = None if vividness is None else torch.full((1, 1, 1, 1), vividness)
    with torch.no_grad():
        return net.decode(*(inputs[name] for name in names), vividness=value)[0]


def test_the_prior_is_recovered_exactly_from_the_checkpoints_class_weights():
    prior = torch.rand(300, dtype=torch.float64) ** 4
    prior /= prior.sum()
    for lam in (0.2, 0.5, 0.9):
        recovered = prior_of_weights(rebalance_weights(prior.float(), lam), lam)
        torch.testing.assert_close(recovered.double(), prior, atol=1e-7, rtol=1e-4)


def test_vividness_0_is_the_network_as_trained_and_more_is_a_logit_adjustment():
    net = _net()
    with torch.no_grad():
        inputs = example_inputs(net)
        inputs["guide"] = torch.zeros_like(inputs["guide"])  # automatic colour: nothing to follow
    assert torch.equal(_decode(net, inputs, 0.0), _decode(net, inputs, None))
    # v shifts every logit by -v log(prior): the same as a classifier bias lowered by that much
    adjusted = _net()
    with torch.no_grad():
        adjusted.to_logits.bias -= 0.5 * net.log_prior
    torch.testing.assert_close(_decode(net, inputs, 0.5), _decode(adjusted, inputs, None))
    chroma = [float(_decode(net, inputs, v).norm(dim=1).mean()) for v in (0.0, 0.5, 1.0)]
    assert chroma[0] < chroma[1] < chroma[2]  # away from the grey the prior is heavy in


def test_the_exported_decode_takes_vividness_and_the_encoder_has_no_separate_pads(tmp_path):
    import onnx
    import onnxruntime as ort

    net = _net()
    folder = export_graphs(net, tmp_path / "model", "test")
    for graph in ("encode", "reference"):
        ops = {node.op_type for node in onnx.load(contract.graph_file(folder, graph)).graph.node}
        assert "Pad" not in ops and "Conv" in ops  # TF SAME padding folded into the convolutions
    session = ort.InferenceSession(
        str(contract.graph_file(folder, "decode")), providers=["CPUExecutionProvider"]
    )
    assert tuple(i.name for i in session.get_inputs()) == contract.GRAPHS_2["decode"][0]
    with torch.no_grad():
        inputs = example_inputs(net, 64, 96)
    for vividness in (0.0, 0.7):
        inputs["vividness"] = torch.full((1, 1, 1, 1), vividness)
        got = session.run(["ab"], {i.name: inputs[i.name].numpy() for i in session.get_inputs()})[0]
        np.testing.assert_allclose(got, _decode(net, inputs, vividness).numpy(), atol=1e-5)


def test_a_model_exported_before_vividness_runs_at_0_and_refuses_more_by_name(tmp_path, monkeypatch):
    monkeypatch.setitem(contract.GRAPHS_2, "decode", (contract.DECODE_INPUTS_WITHOUT_VIVIDNESS, ("ab",)))
    folder = export_graphs(_net(), tmp_path / "old", "2.0")
    monkeypatch.undo()
    model = GraphModel(folder)
    assert not model.has_vividness
    encoded = model.encode(np.random.default_rng(0).random((1, 1, 64, 64), np.float32))
    feat = model.blend(encoded.current, None, None, 0.0)
    guide = np.zeros((1, 3, 64, 64), np.float32)
    assert model.decode(encoded, feat, guide, model.no_reference(encoded)).shape == (1, 2, 64, 64)
    with pytest.raises(ModelError, match=rf"vividness 0.5 .*{folder.name}.*re-export"):
        model.decode(encoded, feat, guide, model.no_reference(encoded), vividness=0.5)


def test_the_engine_output_follows_vividness_in_any_order(random_graph_model, fresh_cache):
    clip = camera_move(data.astronaut(), 8, 64, 96)
    engine = TemporalEngine(GraphModel(random_graph_model))
    source = ListSource(clip, first=0, identity="vivid")

    def frames(vividness, order):
        settings = EngineSettings(temporal_window=4, vividness=vividness)
        return {t: engine.render(source, t, settings, None) for t in order}

    plain, vivid = frames(0.0, range(8)), frames(1.0, range(8))
    PROCESS_CACHE.clear()
    vivid_shuffled = frames(1.0, [5, 2, 7, 0, 3, 6, 1, 4])
    for t in range(8):
        assert np.array_equal(vivid[t], vivid_shuffled[t]), t  # keyed by vividness, order-free
        assert not np.array_equal(vivid[t], plain[t]), t

    def chroma(frame):
        from colormotion import colour

        return float(np.hypot(*colour.to_lab(frame, "srgb")[..., 1:].transpose(2, 0, 1)).mean())

    assert np.mean([chroma(vivid[t]) for t in range(8)]) > np.mean([chroma(plain[t]) for t in range(8)])


def test_vividness_outside_its_range_or_with_a_contract_1_model_is_refused(random_model):
    with pytest.raises(ValueError, match="vividness"):
        EngineSettings(vividness=-0.1)
    with pytest.raises(ValueError, match="vividness"):
        EngineSettings(vividness=float("nan"))
    clip = camera_move(data.astronaut(), 2, 64, 96)
    engine = TemporalEngine(StepModel(random_model))
    with pytest.raises(ModelError, match="vividness 0.5 needs a contract-2 model"):
        engine.render(ListSource(clip), 1, EngineSettings(vividness=0.5), None)


def test_the_node_parameter_and_the_command_line_option(random_graph_model, random_model, tmp_path, capsys):
    from colormotion.cli.main import EXIT_MODEL, EXIT_USAGE, main
    from colormotion.io.source import open_source

    from tests._media import moving_frames, write_video

    spec = param_spec("vividness")
    assert (spec.kind, spec.default, spec.minimum, spec.maximum) == (
        "double",
        0.0,
        0.0,
        contract.MAX_VIVIDNESS,
    )
    assert ColorizeNode().settings(0, StaticParams({"vividness": 0.4})).vividness == 0.4

    clip = write_video(tmp_path / "in.mp4", moving_frames(4))
    run = ["colorize", str(clip), "-q", "--overwrite"]
    outputs = {}
    for vividness in ("0", "1"):
        out = tmp_path / f"out-{vividness}.mp4"
        assert main([*run, str(out), "--model", str(random_graph_model), "--vividness", vividness]) == 0
        source = open_source(out)
        outputs[vividness] = source.frame(source.first_frame)
        source.close()
    assert not np.array_equal(outputs["0"], outputs["1"])
    capsys.readouterr()
    assert main([*run, str(tmp_path / "x.mp4"), "--vividness", "3"]) == EXIT_USAGE
    assert "--vividness must be within 0..2" in capsys.readouterr().err
    assert (
        main([*run, str(tmp_path / "x.mp4"), "--model", str(random_model), "--vividness", "0.5"])
        == EXIT_MODEL
    )
    assert "--vividness needs a model whose decode graph takes it" in capsys.readouterr().err


def test_the_shipped_model_grows_bolder_and_keeps_its_hinted_pixels(fresh_cache):
    """On a real photo: vividness 0.5 gives clearly more chroma than 0, and a hint's a*b* stays
    at its own pixels either way (the decoder's gate, not the classifier, places it)."""
    from colormotion import colour

    # a colour photo: the engine takes its L* only, the output's a*b* is the model's
    photo = np.ascontiguousarray(data.coffee()[::2, ::2])  # 200x300
    source = ListSource([photo], identity="vivid-photo")
    # hint a spot in the photo's own colour, where it is mid-grey in L* (in gamut, as a user's)
    lab = colour.to_lab(photo, "srgb")
    height, width = photo.shape[:2]
    spot = np.abs(lab[..., 0] - 50) + 100 * (np.hypot(lab[..., 1], lab[..., 2]) < 25)
    spot[:20], spot[-20:], spot[:, :20], spot[:, -20:] = np.inf, np.inf, np.inf, np.inf
    y, x = np.unravel_index(np.argmin(spot), spot.shape)
    hex_colour = "#" + "".join(f"{int(v):02x}" for v in photo[y, x])
    key = {"frame": 1, "x": (x + 0.5) / width, "y": (y + 0.5) / height}
    hints = HintSet.from_dict(
        {"version": 1, "hints": [{"id": "a", "color": hex_colour, "radius": 0.02, "keys": [key]}]}
    )
    want = lab[y, x, 1:]
    chroma, at_hint = {}, {}
    for vividness in (0.0, 0.5):
        params = StaticParams({"vividness": vividness})
        plain = ColorizeNode().render(1, source, params)
        chroma[vividness] = float(np.hypot(*colour.to_lab(plain, "srgb")[..., 1:].transpose(2, 0, 1)).mean())
        hinted = ColorizeNode(hints=hints).render(1, source, params)
        at_hint[vividness] = colour.to_lab(hinted, "srgb")[y, x, 1:]
    assert chroma[0.5] > 1.5 * chroma[0.0]
    for vividness, ab in at_hint.items():
        assert np.abs(ab - want).max() < 6, (vividness, ab, want)
