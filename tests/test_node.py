"""The Colorize node: its parameters (an API for the CLI and the OpenFX bridge) and rendering."""

from __future__ import annotations

import numpy as np
import pytest
from colormotion.model import ModelError
from colormotion.node import HINT_SLOTS, PARAM_SPECS, ColorizeNode, StaticParams, param_spec
from colormotion.temporal.cache import PROCESS_CACHE
from colormotion.temporal.engine import EngineSettings

from tests.synthetic_clips import ListSource, cut_clip

FAST = {"working_resolution": 64, "temporal_window": 4}


@pytest.fixture(scope="module")
def clip():
    return cut_clip(length=12, cut_at=8)


@pytest.fixture(autouse=True)
def cold_cache():
    PROCESS_CACHE.clear()
    yield
    PROCESS_CACHE.clear()


def test_parameter_names_and_kinds():
    kinds = {spec.name: spec.kind for spec in PARAM_SPECS}
    expected = {
        "hints_json": "string",
        "strength": "double",
        "working_resolution": "choice",
        "temporal_window": "int",
        "cut_sensitivity": "double",
        "input_transfer": "choice",
        "provider": "choice",
    }
    for i in range(1, HINT_SLOTS + 1):
        expected.update({f"hint{i}_enable": "bool", f"hint{i}_position": "double2d", f"hint{i}_color": "rgb"})
    assert {name: kinds.get(name) for name in expected} == expected
    assert len(kinds) == len(PARAM_SPECS)  # names are unique
    assert param_spec("hint8_color").animatable and param_spec("hint3_position").animatable
    assert {spec.page for spec in PARAM_SPECS} >= {"Hints", "Slots", "Quality"}


def test_parameter_ranges_and_choices():
    resolution = param_spec("working_resolution")
    assert [value for value, _ in resolution.options] == [256, 384, 512, 768]
    assert resolution.default == 256 and "fast" in resolution.options[0][1]
    window = param_spec("temporal_window")
    assert (window.default, window.minimum, window.maximum) == (16, 2, 64)
    assert param_spec("cut_sensitivity").default == 0.5
    assert param_spec("strength").default == 1.0
    assert [value for value, _ in param_spec("input_transfer").options] == ["srgb", "rec709", "linear"]
    assert [value for value, _ in param_spec("provider").options] == ["auto", "cpu", "cuda", "tensorrt"]
    for spec in PARAM_SPECS:
        if spec.kind == "choice":
            assert spec.default in [value for value, _ in spec.options]
    with pytest.raises(KeyError, match="no_such"):
        param_spec("no_such")


def test_defaults_give_the_default_engine_settings():
    assert ColorizeNode().settings(1, StaticParams()) == EngineSettings()


def test_settings_follow_parameters():
    params = StaticParams(
        {"temporal_window": 7, "input_transfer": "rec709", "stateless": True, "strength": 0.5}
    )
    settings = ColorizeNode().settings(1, params)
    assert settings.temporal_window == 8  # odd windows round up to even
    assert settings.transfer == "rec709" and settings.stateless and settings.strength == 0.5


def test_static_params_refuse_unknown_names():
    with pytest.raises(KeyError, match="transfer"):
        StaticParams({"transfer": "srgb"})


def test_fresh_nodes_agree_and_fractional_times_take_the_nearest_frame(random_model, clip):
    source = ListSource(clip)
    params = StaticParams(dict(FAST))
    one = ColorizeNode(model_path=random_model).render(5, source, params)
    PROCESS_CACHE.clear()
    other = ColorizeNode(model_path=random_model).render(5.4, source, params)
    assert np.array_equal(one, other)
    assert one.shape == clip[4].shape and one.dtype == clip[4].dtype


def test_rgba_and_float_frames(random_model, clip):
    rgba = [np.concatenate([f, np.full(f.shape[:2] + (1,), 200, np.uint8)], axis=2) for f in clip]
    out = ColorizeNode(model_path=random_model).render(3, ListSource(rgba), StaticParams(dict(FAST)))
    assert out.shape == rgba[2].shape and np.array_equal(out[..., 3], rgba[2][..., 3])
    floats = [f.astype(np.float32) / 255 for f in clip]
    out = ColorizeNode(model_path=random_model).render(3, ListSource(floats), StaticParams(dict(FAST)))
    assert out.dtype == np.float32 and out.shape == floats[2].shape


def test_missing_model_is_a_model_error(tmp_path, clip):
    node = ColorizeNode(model_path=tmp_path / "missing.onnx")
    with pytest.raises(ModelError, match="missing.onnx"):
        node.render(1, ListSource(clip), StaticParams(dict(FAST)))
