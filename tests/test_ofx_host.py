"""The ColorMotion bundle loaded by a C OpenFX host (tests/ofx_host/host.c) through the real ABI.

The host acts like Natron/Resolve (temporal clip access, one instance, out-of-order renders on
several threads, keyframes, render scale, tiles of a frame) or like MLT (a fresh instance per
frame, no temporal access, 8-bit bottom-up rows, Choice set by label). Frames out of the plug-in
must equal the Colorize node's frames on the same input and parameters.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from colormotion.cli import ofx as ofx_cli
from colormotion.node import PARAM_SPECS, ColorizeNode, StaticParams, param_spec
from colormotion.temporal import chain

from tests.ofx_host import harness

pytestmark = pytest.mark.skipif(harness.compiler() is None, reason="gcc is not installed")

SENTINEL = 0x11  # the host fills output memory with this byte before each render


@pytest.fixture(scope="module")
def host_binary(tmp_path_factory) -> Path:
    return harness.compile_host(tmp_path_factory.mktemp("ofx_host"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return ofx_cli.build_bundle(tmp_path_factory.mktemp("ofx_build"))


@pytest.fixture
def plugin(bundle) -> Path:
    return harness.bundle_binary(bundle)


@pytest.fixture
def model_env(random_model, monkeypatch) -> dict[str, str]:
    """The plug-in (in the host) and the node (here) both use the random test model."""
    monkeypatch.setenv("COLORMOTION_MODEL", str(random_model))
    return {"COLORMOTION_MODEL": str(random_model)}


class ArraySource:
    """FrameSource over in-memory frames (the reference the plug-in must match)."""

    identity = None

    def __init__(self, frames, random_access: bool = True):
        self.frames = frames
        self.first_frame, self.last_frame = 0, len(frames) - 1
        self.random_access = random_access
        self.current = 0

    def frame(self, t: int) -> np.ndarray:
        return self.frames[t if self.random_access else self.current]


class KeyedParams:
    """ParamSource with linear keyframes, interpolated as the test host does."""

    def __init__(self, values: dict, keys: dict[str, list[tuple[float, tuple]]]):
        self.static = StaticParams(values)
        self.keys = keys

    def value(self, name: str, time: float):
        keys = self.keys.get(name)
        if not keys:
            return self.static.value(name, time)
        if time <= keys[0][0]:
            return keys[0][1]
        for (t0, v0), (t1, v1) in zip(keys, keys[1:]):
            if t0 <= time <= t1:
                w = (time - t0) / (t1 - t0)
                return tuple(a * (1 - w) + b * w for a, b in zip(v0, v1))
        return keys[-1][1]


def node_frames(frames, params, times=None) -> dict[int, np.ndarray]:
    node = ColorizeNode()
    source = ArraySource(frames)
    return {t: node.render(t, source, params) for t in (times if times is not None else range(len(frames)))}


def assert_survived(run: harness.HostRun) -> None:
    assert run.survived, run.describe()


# -- discovery and description ----------------------------------------------------------------


def test_describe_is_answered_without_python(host_binary, plugin, tmp_path):
    """A host scan (Load, Describe, DescribeInContext: MLT at every start) never maps libpython."""
    run = harness.run_host(host_binary, plugin, tmp_path, extra=["stop_after describe"])
    assert_survived(run)
    assert run.statuses("OfxActionDescribe") == [0]
    assert run.statuses("OfxImageEffectActionDescribeInContext") == [0]
    assert "HOST python_loaded_after_describe 0" in run.lines


def test_the_test_host_knows_only_the_official_property_names(tmp_path):
    header = harness.known_properties_header(tmp_path).read_text()
    assert '"OfxImageEffectPropMultipleClipDepths"' in header
    assert '"OfxImageEffectPluginRenderThreadSafety"' in header
    # the strings round 1's hand-written header used, which strict hosts refuse
    assert '"OfxImageEffectPropSupportsMultipleClipDepths"' not in header
    assert '"OfxImageEffectPropProjectPixelAspectRatio"' not in header


def test_discovery_and_load_do_not_start_python(host_binary, plugin, tmp_path):
    run = harness.run_host(host_binary, plugin, tmp_path, extra=["stop_after load"])
    assert_survived(run)
    assert run.statuses("OfxActionLoad") == [0]
    assert "HOST python_loaded 0" in run.lines  # libpython is not even mapped after Load
    assert run.statuses("OfxActionUnload") == [0]


def test_describe_declares_contexts_depths_threading_and_every_node_parameter(host_binary, plugin, tmp_path):
    run = harness.run_host(host_binary, plugin, tmp_path, extra=["stop_after describe"])
    assert_survived(run)
    assert run.statuses("OfxActionDescribe") == [0]
    assert run.statuses("OfxImageEffectActionDescribeInContext") == [0]
    assert not [line for line in run.lines if line.startswith("UNKNOWN_PROPERTY")]
    effect = run.props("EFFECTPROP", "descriptor")
    # the names strict hosts check (round 1 had the first two swapped and the third misspelt)
    assert effect["OfxImageEffectPropMultipleClipDepths"] == ["0"]
    assert effect["OfxImageEffectPropSupportsMultipleClipPARs"] == ["0"]
    assert effect["OfxImageEffectPropSupportedContexts"] == [
        "OfxImageEffectContextFilter",
        "OfxImageEffectContextGeneral",
    ]
    assert effect["OfxImageEffectPropSupportedPixelDepths"] == [
        "OfxBitDepthByte",
        "OfxBitDepthShort",
        "OfxBitDepthFloat",
    ]
    assert effect["OfxImageEffectPluginRenderThreadSafety"] == ["OfxImageEffectRenderFullySafe"]
    assert effect["OfxImageEffectInstancePropSequentialRender"] == ["2"]
    assert effect["OfxImageEffectPropTemporalClipAccess"] == ["1"]
    assert run.props("CLIPPROP", "Source")["OfxImageEffectPropTemporalClipAccess"] == ["1"]
    defined = {line.split()[1] for line in run.lines if line.startswith("PARAM ")}
    assert {spec.name for spec in PARAM_SPECS} <= defined
    position = run.props("PARAMPROP", "hint1_position")
    assert position["OfxParamPropDoubleType"] == ["OfxParamDoubleTypeXYAbsolute"]
    for key in ("OfxParamPropMin", "OfxParamPropMax", "OfxParamPropDisplayMin", "OfxParamPropDisplayMax"):
        assert len(position[key]) == 2  # Resolve clamps to (-1, 1) without both ranges
    for name in ("hint1_position", "hint8_color", "hint3_enable", "hints_json"):
        assert run.props("PARAMPROP", name)["OfxParamPropCacheInvalidation"] == [
            "OfxParamInvalidateValueChangeToEnd"
        ]
    assert run.props("PARAMPROP", "hint2_color")["OfxParamPropAnimates"] == ["1"]
    labels = " ".join(label for _, label in param_spec("working_resolution").options)
    assert " ".join(run.props("PARAMPROP", "working_resolution")["OfxParamPropChoiceOption"]) == labels


# -- Natron/Resolve-like host -----------------------------------------------------------------


def test_out_of_order_threaded_renders_equal_the_node(host_binary, plugin, tmp_path, model_env):
    frames = harness.sample_frames(6)
    order = [5, 2, 0, 4, 1, 3]
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=5,
        render=order,
        extra=["threads 4", "rows up", "padding 16"],
        env=model_env,
    )
    assert_survived(run)
    assert run.render_status() == {t: 0 for t in order}, run.describe()
    for t, range_ in run.frames_needed().items():
        assert range_ == (chain.nominal_start(t, 0, 16), t)
    expected = node_frames(frames, StaticParams())
    for t in order:
        np.testing.assert_array_equal(run.output(t), expected[t], err_msg=f"frame {t}")


def test_a_contract_2_model_with_a_keyed_slot_in_a_threaded_host(
    host_binary, plugin, tmp_path, random_graph_model, monkeypatch
):
    """The same with a model folder and a keyframed hint slot: out of order, four threads."""
    monkeypatch.setenv("COLORMOTION_MODEL", str(random_graph_model))
    frames = harness.sample_frames(6, seed=41)
    order = [5, 2, 0, 4, 1, 3]
    settings = ["set hint1_enable 1", "key hint1_position 0 20 20", "key hint1_position 5 40 24"]
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=5,
        render=order,
        extra=["threads 4"],
        settings=[*settings, "set hint1_color 0.9 0.2 0.1", "set temporal_window 4"],
        env={"COLORMOTION_MODEL": str(random_graph_model)},
    )
    assert_survived(run)
    assert run.render_status() == {t: 0 for t in order}, run.describe()
    height, width = frames[0].shape[:2]
    positions = [(0.0, (20 / width, 1 - 20 / height)), (5.0, (40 / width, 1 - 24 / height))]
    keyed = KeyedParams(
        {"hint1_enable": True, "hint1_color": (0.9, 0.2, 0.1), "temporal_window": 4},
        {"hint1_position": positions},
    )
    expected = node_frames(frames, keyed, times=order)
    for t in order:
        np.testing.assert_array_equal(run.output(t), expected[t], err_msg=f"frame {t}")


def test_frame_by_frame_needs_only_the_current_frame(host_binary, plugin, tmp_path, model_env):
    frames = harness.sample_frames(4, seed=31)
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=3,
        render=[3],
        settings=["set stateless 1"],
        env=model_env,
    )
    assert_survived(run)
    assert run.frames_needed() == {3: (3.0, 3.0)}
    expected = node_frames(frames, StaticParams({"stateless": True}), times=[3])[3]
    np.testing.assert_array_equal(run.output(3), expected)


def test_short_rgb_half_scale_window_and_padded_rows(host_binary, plugin, tmp_path, model_env):
    frames = [harness.as_depth(f, np.uint16, channels=3) for f in harness.sample_frames(4, 40, 56, seed=3)]
    window = (5, 3, 31, 27)  # x1 y1 x2 y2, pixels (bottom-left origin)
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=3,
        render=[3, 1],
        extra=[
            "scale 0.5",
            "rows up",
            "padding 24",
            "window " + " ".join(map(str, window)),
            "context general",
            "purge",
        ],
        settings=["set temporal_window 4", "set cut_sensitivity 0.7"],
        env=model_env,
    )
    assert_survived(run)
    assert run.render_status() == {3: 0, 1: 0}, run.describe()
    assert run.statuses("OfxActionPurgeCaches") == [0, 0]  # frame 1, rendered after a purge, is still exact
    expected = node_frames(frames, StaticParams({"temporal_window": 4, "cut_sensitivity": 0.7}), times=[3, 1])
    height = frames[0].shape[0]
    rows, cols = slice(height - window[3], height - window[1]), slice(window[0], window[2])
    for t in (3, 1):
        out = run.output(t)
        np.testing.assert_array_equal(out[rows, cols], expected[t][rows, cols])
        outside = np.ones(out.shape[:2], bool)
        outside[rows, cols] = False
        assert (out[outside].view(np.uint8) == SENTINEL).all()  # nothing written outside the window


def test_hint_slot_positions_are_canonical_pixels(host_binary, plugin, tmp_path, model_env):
    frames = harness.sample_frames(3, seed=5)
    height, width = frames[0].shape[:2]
    scale = 0.5  # frames on disk are the half-scale images; canonical = pixels / scale
    x, y = 30.0, 70.0
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=2,
        render=[2, 0],
        extra=[f"scale {scale}"],
        settings=["set hint1_enable 1", f"set hint1_position {x} {y}", "set hint1_color 0.9 0.1 0.1"],
        env=model_env,
    )
    assert_survived(run)
    normalised = (x / (width / scale), 1.0 - y / (height / scale))  # top-left origin, 0..1
    params = StaticParams(
        {"hint1_enable": True, "hint1_position": normalised, "hint1_color": (0.9, 0.1, 0.1)}
    )
    expected = node_frames(frames, params, times=[2, 0])
    for t in (2, 0):
        np.testing.assert_array_equal(run.output(t), expected[t])


@pytest.mark.parametrize("quirk", [[], ["unscaled_defaults"]])
def test_a_new_hint_slot_sits_at_the_centre_of_a_small_frame(host_binary, plugin, tmp_path, model_env, quirk):
    """64x48 frames: the round-1 default (960, 540) canonical lay off the frame and did nothing.
    Hosts that ignore normalised defaults (Resolve) hand back the unscaled default."""
    frames = harness.sample_frames(2, seed=5)
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=1,
        render=[1],
        extra=quirk,
        settings=["set hint1_enable 1", "set hint1_color 0.9 0.1 0.1"],
        env=model_env,
    )
    assert_survived(run)
    values = {"hint1_enable": True, "hint1_position": (0.5, 0.5), "hint1_color": (0.9, 0.1, 0.1)}
    expected = node_frames(frames, StaticParams(values), times=[1])
    np.testing.assert_array_equal(run.output(1), expected[1])
    unhinted = node_frames(frames, StaticParams({}), times=[1])
    assert not np.array_equal(run.output(1), unhinted[1])


def test_keyframed_hint_colours_change_the_output_at_keyed_frames(host_binary, plugin, tmp_path, model_env):
    frames = harness.sample_frames(5, seed=7)
    red, blue = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=4,
        render=[4, 0, 2],
        extra=["threads 2"],
        settings=[
            "set hint1_enable 1",
            "set hint1_position 32 24",
            "key hint1_color 0 1 0 0",
            "key hint1_color 4 0 0 1",
        ],
        env=model_env,
    )
    assert_survived(run)
    values = {"hint1_enable": True, "hint1_position": (0.5, 0.5)}
    keyed = KeyedParams(values, {"hint1_color": [(0.0, red), (4.0, blue)]})
    expected = node_frames(frames, keyed, times=[4, 0, 2])
    for t in (4, 0, 2):
        np.testing.assert_array_equal(run.output(t), expected[t], err_msg=f"frame {t}")
    static_red = node_frames(frames, StaticParams({**values, "hint1_color": red}), times=[4])
    assert not np.array_equal(run.output(4), static_red[4])  # the blue key at 4 shows


def test_premultiplied_images_are_coloured_unassociated(host_binary, plugin, tmp_path, model_env):
    frames = harness.sample_frames(3, seed=19)  # alpha 0.5..1
    associated = []
    for frame in frames:
        frame = frame.copy()
        frame[:, :, :3] *= frame[:, :, 3:]
        associated.append(frame)
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", associated),
        last=2,
        render=[2],
        extra=["premultiplied"],
        env=model_env,
    )
    assert_survived(run)
    unassociated = []
    for frame in associated:
        frame = frame.copy()
        frame[:, :, :3] /= frame[:, :, 3:]
        unassociated.append(frame)
    expected = node_frames(unassociated, StaticParams(), times=[2])[2].copy()
    expected[:, :, :3] *= expected[:, :, 3:]
    np.testing.assert_allclose(run.output(2), expected, rtol=1e-6, atol=1e-7)


def test_plugin_frames_equal_colormotion_colorize_with_the_same_hints(
    host_binary, plugin, tmp_path, model_env
):
    """The command line and the plug-in give the same 8-bit frames for one clip and one hints file."""
    cv2 = pytest.importorskip("cv2")
    from colormotion.cli.main import main

    frames = [harness.as_depth(f, np.uint8, channels=3) for f in harness.sample_frames(5, seed=23)]
    sequence = tmp_path / "seq"
    sequence.mkdir()
    for number, frame in enumerate(frames, start=1):
        cv2.imwrite(str(sequence / f"clip.{number:04d}.png"), np.ascontiguousarray(frame[:, :, ::-1]))
    hints = '{"version": 1, "hints": [{"id": "coat", "color": "#c0302a", "keys": [{"frame": 1, "x": 0.4, "y": 0.6}]}]}'
    (tmp_path / "hints.json").write_text(hints)
    code = main(
        [
            "colorize",
            str(sequence / "clip.%04d.png"),
            str(tmp_path / "cli" / "out.%04d.png"),
            "--model",
            model_env["COLORMOTION_MODEL"],
            "--hints",
            str(tmp_path / "hints.json"),
            "-q",
        ]
    )
    assert code == 0
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames, first=1),
        first=1,
        last=5,
        render=[5, 2, 4, 1, 3],
        extra=["threads 2"],
        settings=[f"set hints_json {hints}"],
        env=model_env,
    )
    assert_survived(run)
    for number in range(1, 6):
        cli = cv2.imread(str(tmp_path / "cli" / f"out.{number:04d}.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
        difference = np.abs(run.output(number).astype(int) - cli.astype(int)).max()
        assert difference <= 1, f"frame {number} differs by {difference} code values"


def test_unload_and_reload_in_one_process_rejoins_python(host_binary, plugin, tmp_path, model_env):
    """Hosts never finalize Python: after Unload and dlclose, a new load joins the running one."""
    frames = harness.sample_frames(3, seed=29)
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=2,
        render=[2, 1],
        extra=["cycles 2"],
        env=model_env,
    )
    assert_survived(run)
    assert run.statuses("OfxActionLoad") == [0, 0] and run.statuses("OfxActionUnload") == [0, 0]
    assert run.statuses("OfxActionDescribe") == [0, 0]
    assert [line.split()[2] for line in run.lines if line.startswith("RENDER ")] == ["0"] * 4
    assert [line for line in run.lines if line.startswith("HOST python_loaded ")] == [
        "HOST python_loaded 0",  # first load: nothing of Python yet
        "HOST python_loaded 1",  # second load: the interpreter of the first session lives on
    ]
    expected = node_frames(frames, StaticParams(), times=[2, 1])
    for t in (2, 1):
        np.testing.assert_array_equal(run.output(t), expected[t])


# -- MLT-like host ----------------------------------------------------------------------------


def test_mlt_like_host_equals_the_streaming_node(host_binary, plugin, tmp_path, model_env):
    frames = [harness.as_depth(f, np.uint8) for f in harness.sample_frames(5, seed=11)]
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        mode="mlt",
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=4,
        render=range(5),
        extra=["rows down"],
        settings=["set input_transfer Rec.709", "set temporal_window 4"],  # Choice by its label
        env=model_env,
    )
    assert_survived(run)
    assert run.render_status() == {t: 0 for t in range(5)}, run.describe()
    assert not run.frames_needed()  # no temporal access: GetFramesNeeded is not part of MLT
    params = StaticParams({"input_transfer": "rec709", "temporal_window": 4})
    node, source = ColorizeNode(), ArraySource(frames, random_access=False)
    for t in range(5):
        source.current = t
        expected = node.render(t, source, params)
        difference = np.abs(run.output(t).astype(int) - expected.astype(int)).max()
        assert difference <= 1, f"frame {t} differs by {difference} code values"
    default_resolution = node_frames(frames, StaticParams({"temporal_window": 4}), times=[4])[4]
    assert not np.array_equal(run.output(4), default_resolution)  # the label was taken


def test_mlt_like_host_with_four_render_threads(host_binary, plugin, tmp_path, model_env):
    frames = [harness.as_depth(f, np.uint8) for f in harness.sample_frames(6, seed=13)]
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        mode="mlt",
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=5,
        render=[0, 1, 2, 3, 4, 5, 5, 5],  # read-ahead renders the last frame again
        extra=["rows down", "threads 4"],
        env=model_env,
    )
    assert_survived(run)
    assert set(run.render_status().values()) == {0}, run.describe()
    for t in range(6):
        out, source = run.output(t), frames[t]
        assert out.shape == source.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out[..., 3], source[..., 3])  # alpha passes through
    # eight fresh instances, one model load: the model lives at process level (StepModel logs each load)
    loads = [line for line in (tmp_path / "ofx.log").read_text().splitlines() if "colormotion model" in line]
    assert len(loads) == 1, loads


# -- failures reach the user, never crash the host --------------------------------------------


BAD_INPUTS = {
    "unsupported depth": ({"dtype": np.float16}, [], {}, "OfxBitDepthHalf"),
    "missing model": (
        {},
        [],
        {"COLORMOTION_MODEL": "/nonexistent/colormotion.onnx"},
        "/nonexistent/colormotion.onnx",
    ),
    "malformed hints JSON": ({}, ["set hints_json {not json"], {}, "hints_json"),
    "broken host image": ({}, [], {}, "OfxImagePropRowBytes"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_fails_with_a_message_and_the_host_survives(case, host_binary, plugin, tmp_path, model_env):
    frame_options, settings, env, expected_text = BAD_INPUTS[case]
    frames = [harness.as_depth(f, frame_options.get("dtype", np.float32)) for f in harness.sample_frames(2)]
    extra = ["fault no_rowbytes"] if case == "broken host image" else []
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=1,
        render=[1, 0],
        extra=extra,
        settings=settings,
        env={**model_env, **env},
    )
    assert_survived(run)
    assert run.render_status() == {1: 1, 0: 1}, run.describe()  # kOfxStatFailed
    messages = run.messages()
    assert messages and all("OfxMessageError" in m for m in messages)
    assert any(expected_text in m for m in messages), messages
    assert not list(run.output_dir.glob("out_*.npy"))
    assert "Traceback" in (tmp_path / "ofx.log").read_text()  # details in the log file


@pytest.mark.parametrize("hints, shown", [("{not json", True), ('{"version": 1, "hints": []}', False)])
def test_editing_hints_json_is_checked_at_once(hints, shown, host_binary, plugin, tmp_path):
    frames = harness.sample_frames(1)
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=0,
        extra=["changed hints_json"],
        settings=[f"set hints_json {hints}"],
    )
    assert_survived(run)
    assert run.statuses("OfxActionInstanceChanged") == [0]  # a bad value is a message, not a failure
    messages = [m for m in run.messages() if "hints_json" in m]
    assert bool(messages) == shown, run.describe()


def _config(bundle: Path) -> dict:
    return json.loads((bundle / "Contents" / "Resources" / "colormotion_ofx.json").read_text())


@pytest.mark.parametrize("damage", ["no configuration", "missing libpython"])
def test_a_damaged_bundle_fails_describe_with_a_message(damage, host_binary, bundle, tmp_path):
    copy = tmp_path / "ColorMotion.ofx.bundle"
    shutil.copytree(bundle, copy)
    config_path = copy / "Contents" / "Resources" / "colormotion_ofx.json"
    if damage == "no configuration":
        config_path.unlink()
        expected = "colormotion_ofx.json"
    else:
        config = json.loads(config_path.read_text())
        config["libpython"] = str(tmp_path / "gone" / "libpython3.so")
        config_path.write_text(json.dumps(config))
        expected = "cannot load"
    run = harness.run_host(host_binary, harness.bundle_binary(copy), tmp_path, extra=["stop_after describe"])
    assert_survived(run)
    assert run.statuses("OfxActionLoad") == [0]
    assert run.statuses("OfxActionDescribe") and run.statuses("OfxActionDescribe")[0] != 0
    assert any(expected in m for m in run.messages()), run.describe()
    assert expected in (tmp_path / "ofx.log").read_text()


def test_host_running_another_python_is_refused_cleanly(host_binary, plugin, bundle, tmp_path):
    ours = _config(bundle)["version"]
    base = Path(_config(bundle)["base_prefix"]).parent
    others = sorted(
        p for p in base.glob("3.*/lib/libpython3.*.so") if not p.name.startswith(f"libpython{ours}.")
    )
    if not others:
        pytest.skip("no shared libpython of another minor version installed")
    other = others[-1]
    run = harness.run_host(host_binary, plugin, tmp_path, extra=[f"python {other}", "stop_after describe"])
    assert_survived(run)
    assert run.statuses("OfxActionDescribe") and run.statuses("OfxActionDescribe")[0] != 0
    text = " ".join(run.messages())
    assert f"built for Python {ours}" in text and "already runs Python" in text, run.describe()


def test_host_running_the_same_python_is_joined(host_binary, plugin, bundle, tmp_path, model_env):
    frames = harness.sample_frames(2, seed=17)
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=1,
        render=[1],
        extra=[f"python {_config(bundle)['libpython']}"],
        env=model_env,
    )
    assert_survived(run)
    assert run.render_status() == {1: 0}, run.describe()
    np.testing.assert_array_equal(run.output(1), node_frames(frames, StaticParams(), times=[1])[1])


def test_the_general_contexts_reference_input(host_binary, plugin, tmp_path, random_graph_model, monkeypatch):
    """Hosts with several inputs (Nuke, Natron, Resolve): the Reference input's image at
    "Reference 1 frame" is that frame's reference (a contract-2 model)."""
    from colormotion.references import ReferenceFrame

    monkeypatch.setenv("COLORMOTION_MODEL", str(random_graph_model))
    frames = [harness.as_depth(f, np.uint8) for f in harness.sample_frames(4, seed=23)]
    run = harness.run_host(
        host_binary,
        plugin,
        tmp_path,
        input_dir=harness.write_frames(tmp_path / "in", frames),
        last=3,
        render=[2],
        extra=["context general", "connect_optional"],
        settings=["set reference1_frame 0", "set temporal_window 4"],
        env={"COLORMOTION_MODEL": str(random_graph_model)},
    )
    assert_survived(run)
    assert run.render_status() == {2: 0}, run.describe()
    params = StaticParams({"reference1_frame": 0, "temporal_window": 4})
    node, source = ColorizeNode(), ArraySource(frames)
    expected = node.render(2, source, params, [ReferenceFrame(0, frames[0], "input")])
    np.testing.assert_array_equal(run.output(2), expected)
    assert not np.array_equal(run.output(2), node.render(2, source, params))
