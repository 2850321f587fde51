"""The temporal engine with a contract-2 model: same guarantees as with contract 1 (any render
order gives the same frames), each graph run only where needed."""

from __future__ import annotations

import numpy as np
import pytest
from colormotion.graph_model import GraphModel
from colormotion.hints import HintSet
from colormotion.node import ColorizeNode, StaticParams
from colormotion.temporal.cache import PROCESS_CACHE
from colormotion.temporal.engine import EngineSettings, TemporalEngine
from skimage import data

from tests.synthetic_clips import ListSource, camera_move

SETTINGS = EngineSettings(temporal_window=4)


@pytest.fixture
def clip():
    return camera_move(data.astronaut(), 12, 64, 96)


@pytest.fixture
def fresh_cache():
    PROCESS_CACHE.clear()
    yield
    PROCESS_CACHE.clear()


def render(model, frames, order, identity="v2-clip", hints_at=None):
    engine = TemporalEngine(model)
    source = ListSource(frames, identity=identity)
    return {t: engine.render(source, t, SETTINGS, hints_at) for t in order}


def test_any_render_order_gives_the_same_frames(random_graph_model, clip, fresh_cache):
    model = GraphModel(random_graph_model)
    in_order = render(model, clip, range(1, 13))
    PROCESS_CACHE.clear()
    shuffled = render(model, clip, np.random.default_rng(0).permutation(np.arange(1, 13)).tolist())
    for t in range(1, 13):
        assert np.array_equal(in_order[t], shuffled[t]), t


def test_each_frame_is_encoded_once_in_order(random_graph_model, clip, fresh_cache, monkeypatch):
    model = GraphModel(random_graph_model)
    calls = {"encode": 0, "decode": 0}
    for name in calls:
        real = getattr(model, name)

        def counted(*args, real=real, name=name):
            calls[name] += 1
            return real(*args)

        monkeypatch.setattr(model, name, counted)
    render(model, clip, range(1, 13))
    assert calls == {"encode": 12, "decode": 12}


def test_hints_change_the_output_but_not_the_state(random_graph_model, clip, fresh_cache):
    """A hint edit re-runs decode only: the chain's states (and encodings) are reused."""
    keys = [{"frame": 5, "x": 0.5, "y": 0.5}]
    hints = HintSet.from_dict(
        {"version": 1, "hints": [{"id": "a", "color": "#2050d0", "radius": 0.1, "keys": keys}]}
    )
    params = StaticParams({"temporal_window": 4})
    source = ListSource(clip, identity="v2-hints")

    def cached(kind: str) -> int:
        return sum(1 for key in PROCESS_CACHE._entries if key[0] == kind)

    plain = ColorizeNode(model_path=random_graph_model).render(5, source, params)
    states, encodings = cached("feat"), cached("encoded")
    hinted = ColorizeNode(model_path=random_graph_model, hints=hints).render(5, source, params)
    assert not np.array_equal(hinted, plain)
    assert (cached("feat"), cached("encoded")) == (states, encodings)


def test_the_command_line_runs_a_model_folder(random_graph_model, tmp_path, capsys):
    from colormotion.cli.main import main

    from tests._media import moving_frames, write_video

    source = write_video(tmp_path / "in.mp4", moving_frames(6))
    code = main(
        ["colorize", str(source), str(tmp_path / "out.mp4"), "--model", str(random_graph_model), "-q"]
    )
    assert code == 0, capsys.readouterr().err
