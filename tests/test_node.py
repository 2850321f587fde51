"""The Colorize node: its parameters (an API for the CLI and the OpenFX bridge) and rendering."""

from __future__ import annotations

import json

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


pytestmark = pytest.mark.usefixtures("fresh_cache")  # every test starts with a cold cache


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


# ---------------------------------------------------------------------------------------------
# hints: the hints_json parameter and the animatable slots


def _float_clip(clip):
    # float frames: the random model's hints reach later frames only faintly, below 8-bit steps
    return ListSource([f.astype(np.float32) / 255 for f in clip], identity="float-node-clip")


def _hints_json(first: int, last: int) -> str:
    return json.dumps(
        {
            "version": 1,
            "hints": [
                {
                    "id": "spot",
                    "color": "#c0302a",
                    "radius": 0.05,
                    "keys": [{"frame": first, "x": 0.4, "y": 0.5}, {"frame": last, "x": 0.45, "y": 0.5}],
                }
            ],
        }
    )


def _render_clip(node, source, params):
    return [node.render(t, source, params) for t in range(source.first_frame, source.last_frame + 1)]


def test_hints_json_changes_frames_from_its_first_chain_on(random_model, clip):
    source = _float_clip(clip)
    node = ColorizeNode(model_path=random_model)
    plain = _render_clip(node, source, StaticParams(dict(FAST)))
    hinted = _render_clip(node, source, StaticParams({**FAST, "hints_json": _hints_json(5, 6)}))
    # window 4 (anchors 1, 3, 5, ...): frames 1-4 never see frames 5-6; frames 5-6 do
    assert all(np.array_equal(a, b) for a, b in zip(plain[:4], hinted[:4]))
    assert not np.array_equal(plain[4], hinted[4]) and not np.array_equal(plain[5], hinted[5])


def test_bad_hints_json_is_a_clear_error(random_model, clip):
    from colormotion.hints import HintError

    node = ColorizeNode(model_path=random_model)
    with pytest.raises(HintError, match="hints_json"):
        node.render(2, ListSource(clip), StaticParams({**FAST, "hints_json": '{"version": 1, "hints": [}'}))


class _AnimatedSlot(StaticParams):
    """Slot 1 enabled, its position animated: x moves with time; records the times asked."""

    def __init__(self, values):
        super().__init__({**values, "hint1_enable": True, "hint1_color": (0.9, 0.2, 0.1)})
        self.position_times: list[float] = []

    def value(self, name, time):
        if name == "hint1_position":
            self.position_times.append(time)
            return (0.2 + 0.02 * time, 0.5)
        return super().value(name, time)


def test_slots_are_evaluated_at_every_frame_of_the_chain(random_model, clip):
    source = _float_clip(clip)
    node = ColorizeNode(model_path=random_model)
    params = _AnimatedSlot(FAST)
    t = 6
    with_slot = node.render(t, source, params)
    assert set(params.position_times) == set(range(3, t + 1))  # the chain of frame 6 begins at 3
    assert not np.array_equal(with_slot, node.render(t, source, StaticParams(dict(FAST))))


def test_node_hints_add_to_the_parameters(random_model, clip):
    from colormotion.hints import HintSet

    source = _float_clip(clip)
    hint_set = HintSet.from_json(_hints_json(1, 12))
    by_param = ColorizeNode(model_path=random_model).render(
        4, source, StaticParams({**FAST, "hints_json": _hints_json(1, 12)})
    )
    by_node = ColorizeNode(model_path=random_model, hints=hint_set).render(
        4, source, StaticParams(dict(FAST))
    )
    assert np.array_equal(by_param, by_node)
