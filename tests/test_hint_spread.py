"""Hint spread: a hint's colour fills its region, stopping at edges in L*, on top of the network.

The spread is a post-step of decode (temporal.propagate.spread_guide); these tests check what a
user sees: the hinted region takes the colour, the region beyond an edge does not, hinted pixels
keep their colour, and the setting reaches from the engine to the node and the command line."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from colormotion import colour, contract
from colormotion.graph_model import GraphModel
from colormotion.hints import HintSet
from colormotion.node import ColorizeNode, StaticParams, param_spec
from colormotion.references import ReferenceFrame
from colormotion.temporal import propagate
from colormotion.temporal.engine import EngineSettings, TemporalEngine

from tests.synthetic_clips import ListSource

HINT_AB = (0.4, -0.3)  # a*/110, b*/110 of the hint (a strong green-blue)


def two_regions(height: int = 96, width: int = 128) -> np.ndarray:
    """L*/100: a darker left region and a lighter right one, split by a sharp edge, with texture."""
    rng = np.random.default_rng(0)
    gray = np.where(np.arange(width)[None, :] < width // 2, 0.35, 0.75) * np.ones((height, 1))
    gray = gray + cv2.GaussianBlur(rng.normal(0, 0.01, (height, width)), (0, 0), 2)
    return gray.astype(np.float32)


def one_hint(height: int = 96, width: int = 128, y: int = 45, x: int = 20, size: int = 6) -> np.ndarray:
    guide = np.zeros((3, height, width), np.float32)
    guide[0, y : y + size, x : x + size] = HINT_AB[0]
    guide[1, y : y + size, x : x + size] = HINT_AB[1]
    guide[2, y : y + size, x : x + size] = 1.0
    return guide


def distance_to_hint(ab: np.ndarray) -> np.ndarray:
    return np.hypot(ab[0] - HINT_AB[0], ab[1] - HINT_AB[1])


def test_a_hint_fills_its_region_and_stops_at_the_edge():
    gray, guide = two_regions(48, 64), one_hint(48, 64, y=20, x=10)  # a region of 1,536 px
    network = np.zeros((2, *gray.shape), np.float32)  # a network that left everything grey
    spread = propagate.spread_guide(network, guide, gray)
    hint_colour = np.hypot(*HINT_AB)
    left = distance_to_hint(spread[:, 2:46, 2:30]).mean()  # the hint's whole region
    right = np.hypot(*spread[:, :, 34:]).mean()  # beyond the edge
    assert left < 0.05 * hint_colour, left
    assert right < 0.01 * hint_colour, right
    # under the hint its own colour, exactly as sure as the guide
    np.testing.assert_allclose(spread[:, 20:26, 10:16], guide[:2, 20:26, 10:16], atol=1e-6)


def test_a_larger_region_fills_as_the_spread_is_raised_never_past_the_edge():
    gray, guide = two_regions(), one_hint()  # one hint in a region of 6,144 px
    network = np.zeros((2, *gray.shape), np.float32)
    hint_colour = np.hypot(*HINT_AB)
    far = (slice(None), slice(5, 90), slice(30, 60))  # the hint's region, away from it
    error = {
        amount: distance_to_hint(propagate.spread_guide(network, guide, gray, amount)[far]).mean()
        for amount in (1.0, 4.0)
    }
    # by default the colour fades within a few thousand pixels: a weak L* edge a few hints
    # away must not carry it over the rest of the frame (model card, Hint spread)
    assert 0.3 * hint_colour < error[1.0] < 0.9 * hint_colour, error
    assert error[4.0] < 0.05 * hint_colour, error
    beyond = np.hypot(*propagate.spread_guide(network, guide, gray, 4.0)[:, :, 68:]).mean()
    assert beyond < 0.01 * hint_colour, beyond


def test_more_spread_reaches_further_and_none_leaves_the_network_alone():
    gray, guide = two_regions(), one_hint()
    rng = np.random.default_rng(1)
    network = rng.normal(0, 0.05, (2, *gray.shape)).astype(np.float32)
    assert propagate.spread_guide(network, guide, gray, amount=0.0) is network
    far = (slice(None), slice(0, 20), slice(40, 60))
    reach = [
        distance_to_hint(propagate.spread_guide(network, guide, gray, amount)[far]).mean()
        for amount in (0.05, 1.0, 4.0)
    ]
    assert reach[0] > reach[1] > 10 * reach[2], reach  # at 4 the region is filled
    # nothing to spread: no confident pixel, or a guide over the whole frame
    empty = np.zeros_like(guide)
    assert propagate.spread_guide(network, empty, gray) is network
    full = np.ones_like(guide)
    assert propagate.spread_guide(network, full, gray) is network


def test_the_spread_does_not_depend_on_opencvs_thread_count():
    gray, guide = two_regions(), one_hint()
    network = np.zeros((2, *gray.shape), np.float32)
    threads = cv2.getNumThreads()
    try:
        outputs = []
        for count in (1, 4):
            cv2.setNumThreads(count)
            outputs.append(propagate.spread_guide(network, guide, gray))
    finally:
        cv2.setNumThreads(threads)
    assert np.array_equal(outputs[0], outputs[1])


def _two_region_frame(height: int = 96, width: int = 128) -> np.ndarray:
    level = (two_regions(height, width) * 255).clip(0, 255).astype(np.uint8)
    return np.repeat(level[..., None], 3, axis=2)


def _hints_at(x: float, y: float, hex_colour: str = "#2f9a6a") -> HintSet:
    key = {"frame": 0, "x": x, "y": y}
    return HintSet.from_dict(
        {"version": 1, "hints": [{"id": "a", "color": hex_colour, "radius": 0.02, "keys": [key]}]}
    )


def test_the_shipped_model_colours_the_hinted_region_with_spread(fresh_cache):
    frame = _two_region_frame()
    source = ListSource([frame], first=0, identity="spread-regions")
    hints = _hints_at(0.2, 0.5)
    want = colour.to_lab(np.full((1, 1, 3), (0x2F, 0x9A, 0x6A), np.uint8), "srgb")[0, 0, 1:]
    outputs = {}
    for amount in (0.0, 4.0):  # one hint for half the frame: the most spread
        rendered = ColorizeNode(hints=hints).render(0, source, StaticParams({"hint_spread": amount}))
        outputs[amount] = colour.to_lab(rendered, "srgb")[..., 1:]
    away = (slice(5, 90), slice(35, 60))  # the hint's region, away from the hint
    beyond = (slice(None), slice(70, None))
    error = {amount: float(np.linalg.norm(ab[away] - want, axis=-1).mean()) for amount, ab in outputs.items()}
    assert error[4.0] < 0.5 * error[0.0], error
    change_beyond = float(np.abs(outputs[4.0][beyond] - outputs[0.0][beyond]).mean())
    assert change_beyond < 2.0, change_beyond  # a*b* units: the far side keeps the network's colour


def test_frames_with_a_reference_are_left_to_the_network(random_graph_model, fresh_cache):
    frames = [_two_region_frame() for _ in range(2)]
    source = ListSource(frames, first=0, identity="spread-reference")
    engine = TemporalEngine(GraphModel(random_graph_model))
    painted = frames[0].copy()
    painted[:, :64] = (40, 150, 90)
    reference = [ReferenceFrame(0, painted, "painted:0")]
    hints = _hints_at(0.8, 0.5).at

    def render(amount):
        settings = EngineSettings(temporal_window=4, hint_spread=amount)
        return engine.render(source, 1, settings, hints, reference)

    assert np.array_equal(render(0.0), render(2.0))


def test_the_node_parameter_and_the_command_line_option(random_graph_model, tmp_path, capsys):
    from colormotion.cli.main import EXIT_USAGE, main

    from tests._media import moving_frames, write_video

    spec = param_spec("hint_spread")
    assert (spec.kind, spec.default, spec.minimum, spec.maximum) == (
        "double",
        1.0,
        0.0,
        contract.MAX_HINT_SPREAD,
    )
    assert ColorizeNode().settings(0, StaticParams({"hint_spread": 2.5})).hint_spread == 2.5
    with pytest.raises(ValueError, match="hint_spread must lie in 0..4"):
        EngineSettings(hint_spread=-1.0)

    clip = write_video(tmp_path / "in.mp4", moving_frames(3))
    hints = tmp_path / "hints.json"
    hints.write_text(_hints_at(0.3, 0.5).to_json())
    run = ["colorize", str(clip), "-q", "--overwrite", "--model", str(random_graph_model)]
    assert main([*run, str(tmp_path / "a.mp4"), "--hints", str(hints), "--hint-spread", "0.5"]) == 0
    capsys.readouterr()
    assert main([*run, str(tmp_path / "x.mp4"), "--hint-spread", "5"]) == EXIT_USAGE
    assert "--hint-spread must be within 0..4" in capsys.readouterr().err


def test_a_guide_colour_weighs_as_sure_as_the_guide_is():
    ab = np.full((2, 4, 4), 0.1, np.float32)
    guide = np.zeros((3, 4, 4), np.float32)
    guide[:2, 0, 0], guide[2, 0, 0] = 0.5, 1.0  # a hint: exactly its colour
    guide[:2, 1, 1], guide[2, 1, 1] = 0.5, 0.25  # a colour carried with little confidence
    kept = propagate.honour_guide(ab, guide)
    np.testing.assert_allclose(kept[:, 0, 0], 0.5)
    np.testing.assert_allclose(kept[:, 1, 1], 0.25 * 0.5 + 0.75 * 0.1)
    np.testing.assert_allclose(kept[:, 2:, 2:], 0.1)
    assert propagate.honour_guide(ab, np.zeros_like(guide)) is ab


def test_the_reference_frame_itself_comes_out_in_its_colours(random_graph_model, fresh_cache):
    """Even a network that knows nothing (random weights) gives the graded frame back as graded:
    the reference's colour is carried to its own frame with full confidence."""
    frame = _two_region_frame()
    painted = frame.copy()
    painted[:, :64] = np.clip(painted[:, :64].astype(int) + (40, -10, -30), 0, 255).astype(np.uint8)
    painted[:, 64:] = np.clip(painted[:, 64:].astype(int) + (-20, 10, 30), 0, 255).astype(np.uint8)
    source = ListSource([frame, frame], first=0, identity="reference-itself")
    engine = TemporalEngine(GraphModel(random_graph_model))
    rendered = engine.render(source, 0, EngineSettings(), None, [ReferenceFrame(0, painted, "painted:0")])
    got, want = (colour.to_lab(image, "srgb")[..., 1:] for image in (rendered, painted))
    inside = (slice(8, -8), np.r_[8:56, 72:120])  # away from the edge the upsampling softens
    assert float(np.abs(got[inside] - want[inside]).mean()) < 3.0  # 7.7 without honour_guide


def test_an_opencv_without_contrib_modules_colours_the_spots_and_says_why(monkeypatch, caplog):
    """A host's own OpenCV build may lack cv2.ximgproc: the render goes on, without spreading."""
    gray, guide = two_regions(), one_hint()
    network = np.zeros((2, *gray.shape), np.float32)
    monkeypatch.delattr(cv2, "ximgproc")
    propagate._warn_no_smoother.cache_clear()
    with caplog.at_level("WARNING", logger="colormotion"):
        kept = propagate.spread_guide(network, guide, gray)
        propagate.spread_guide(network, guide, gray)
    np.testing.assert_array_equal(kept, propagate.honour_guide(network, guide))
    warnings = [r for r in caplog.records if "cv2.ximgproc" in r.getMessage()]
    assert len(warnings) == 1  # once per process, not once per frame
