"""The OpenFX bridge's pure parts (pixel layout, parameter mapping) and the bundle build/install."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "ofx_bridge" / "python"))

from colormotion.cli import ofx as ofx_cli  # noqa: E402
from colormotion.io.errors import OutputError  # noqa: E402
from colormotion.node import PARAM_SPECS, param_spec  # noqa: E402
from colormotion_ofx import images, params  # noqa: E402
from colormotion_ofx.ofx_api import OFX, ffi  # noqa: E402

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


def _host_memory(top_down: np.ndarray, row_bytes_sign: int, padding: int = 8):
    """Lays a top-down image out as a host would; returns (keep-alive buffer, data address, rowBytes)."""
    height, width, channels = top_down.shape
    row = width * channels * top_down.itemsize + padding
    memory = np.zeros(height * row, np.uint8)
    for y in range(height):
        index = (height - 1 - y) if row_bytes_sign > 0 else y  # up: memory row 0 is the bottom row
        memory[index * row : index * row + row - padding] = top_down[y].view(np.uint8).ravel()
    base = memory.ctypes.data
    data = base if row_bytes_sign > 0 else base + (height - 1) * row
    return memory, data, row * row_bytes_sign


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_pixel_view_reads_rows_of_either_sign_top_down(sign, dtype):
    rng = np.random.default_rng(1)
    image = (rng.random((5, 7, 4)) * 200).astype(dtype)
    memory, data, row_bytes = _host_memory(image, sign)
    view = images.pixel_view(data, (3, 10, 10, 15), row_bytes, np.dtype(dtype), 4)
    np.testing.assert_array_equal(view, image)
    view[0, 0, 0] = 99  # a view into host memory: writes land there
    assert images.pixel_view(data, (3, 10, 10, 15), row_bytes, np.dtype(dtype), 4)[0, 0, 0] == 99
    assert memory.size  # keeps the host memory alive until here


def test_pixel_view_rejects_short_rows():
    buffer = ffi.new("char[]", 64)
    with pytest.raises(images.UnsupportedImage, match="rowBytes"):
        images.pixel_view(int(ffi.cast("uintptr_t", buffer)), (0, 0, 4, 2), 8, np.dtype(np.uint8), 4)


def test_pixel_format_names_unsupported_depth_and_components():
    with pytest.raises(images.UnsupportedImage, match="OfxBitDepthHalf"):
        images.pixel_format("OfxBitDepthHalf", "OfxImageComponentRGBA")
    with pytest.raises(images.UnsupportedImage, match="OfxImageComponentAlpha"):
        images.pixel_format("OfxBitDepthFloat", "OfxImageComponentAlpha")


def test_paste_writes_only_the_window_and_zeros_where_the_source_has_no_pixels():
    target = np.full((10, 10, 1), 7, np.uint8)  # bounds (0, 0, 10, 10), top-down
    source = np.arange(36, dtype=np.uint8).reshape(6, 6, 1)  # bounds (2, 2, 8, 8)
    images.paste(target, (0, 0, 10, 10), source, (2, 2, 8, 8), window=(0, 4, 5, 9))
    # window rows y 4..8 -> top-down rows 1..5; columns 0..4
    assert (target[:1] == 7).all() and (target[6:] == 7).all() and (target[:, 5:] == 7).all()
    assert (target[1:6, 0:2] == 0).all()  # x 0..1 lies outside the source
    assert (target[1, 2:5] == 0).all()  # y 8 lies outside the source (source rows y 2..7)
    np.testing.assert_array_equal(target[2:6, 2:5, 0], source[0:4, 0:3, 0])


def test_convert_pixels_between_depths_and_channel_counts():
    rgba = np.array([[[0, 128, 255, 255]]], np.uint8)
    as_float = images.convert_pixels(rgba, np.float32, 3)
    np.testing.assert_allclose(as_float, [[[0.0, 128 / 255, 1.0]]], rtol=1e-6)
    back = images.convert_pixels(as_float, np.uint16, 4)
    np.testing.assert_array_equal(back, [[[0, 32896, 65535, 65535]]])


def test_canonical_positions_map_to_normalised_top_left():
    frame = (0.0, 0.0, 200.0, 100.0)
    assert params.canonical_to_normalised(50.0, 75.0, frame) == (0.25, 0.25)
    assert params.normalised_to_canonical(0.25, 0.25, frame) == (50.0, 75.0)
    assert params.canonical_to_normalised(0.0, 0.0, frame) == (0.0, 1.0)  # bottom-left


def test_every_node_parameter_has_an_ofx_mapping_and_valid_default():
    for spec in PARAM_SPECS:
        assert spec.kind in params.OFX_TYPES, spec.name
        default = params.ofx_default(spec)
        assert len(default) == len(params.VALUE_CTYPES[spec.kind])


def test_choice_values_come_from_option_index():
    spec = param_spec("working_resolution")
    index = params.choice_index(spec, spec.options[2][0])
    assert params.from_ofx(spec, [index], (0, 0, 1, 1)) == spec.options[2][0]
    with pytest.raises(ValueError, match="out of range"):
        params.from_ofx(spec, [len(spec.options)], (0, 0, 1, 1))


def test_constants_follow_the_specification():
    assert OFX.kOfxImageEffectPluginApi == b"OfxImageEffectPluginAPI"
    assert OFX.kOfxImagePreMultiplied == b"OfxImageAlphaPremultiplied"
    assert OFX.kOfxStatReplyDefault == 14
    assert ffi.sizeof("OfxParameterSuiteV1") == 18 * ffi.sizeof("void *")
    assert ffi.sizeof("OfxPropertySuiteV1") == 18 * ffi.sizeof("void *")
    assert ffi.sizeof("OfxImageEffectSuiteV1") == 13 * ffi.sizeof("void *")


def test_build_refuses_an_environment_the_bundle_cannot_run_in(tmp_path, monkeypatch):
    from colormotion.io.errors import UsageError

    monkeypatch.setattr(
        ofx_cli,
        "RUNTIME_MODULES",
        (*ofx_cli.RUNTIME_MODULES, ("colormotion_no_such_module", "pip install x")),
    )
    with pytest.raises(UsageError, match="colormotion_no_such_module \\(pip install x\\)"):
        ofx_cli.build_bundle(tmp_path / "build")
    assert not (tmp_path / "build" / ofx_cli.BUNDLE_NAME).exists()


@needs_gcc
def test_build_writes_a_complete_bundle(tmp_path):
    bundle = ofx_cli.build_bundle(tmp_path / "build")
    binary = bundle / "Contents" / "Linux-x86-64" / "ColorMotion.ofx"
    resources = bundle / "Contents" / "Resources"
    assert binary.is_file()
    config = json.loads((resources / "colormotion_ofx.json").read_text())
    assert Path(config["libpython"]).is_file()
    assert config["version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert Path(config["executable"]).exists()
    assert (resources / "python" / "colormotion_ofx" / "entry.py").is_file()
    declarations = json.loads((resources / "ofx_declarations.json").read_text())
    assert (
        declarations["constants"]["kOfxImageEffectPropSupportsMultipleClipDepths"]
        == "OfxImageEffectPropMultipleClipDepths"
    )
    assert (resources / "OpenFX-LICENSE.md").is_file()
    icon = (resources / "org.colormotion.Colorize.png").read_bytes()
    assert icon.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in icon
    readelf = shutil.which("readelf")
    if readelf:
        dynamic = subprocess.run(
            [readelf, "-d", "--dyn-syms", str(binary)], capture_output=True, text=True
        ).stdout
        assert "libpython" not in dynamic  # discovery must not load Python
        assert "OfxGetPlugin" in dynamic and "OfxGetNumberOfPlugins" in dynamic and "OfxSetHost" in dynamic


@needs_gcc
def test_install_keeps_a_different_bundle_unless_overwrite(tmp_path, capsys):
    from colormotion.cli.main import main

    dest = tmp_path / "Plugins"
    assert main(["ofx", "install", "--dest", str(dest)]) == 0
    assert "OFX_PLUGIN_PATH" in capsys.readouterr().out
    installed = dest / "ColorMotion.ofx.bundle"
    assert main(["ofx", "install", "--dest", str(dest)]) == 0  # identical: fine
    marker = installed / "Contents" / "Resources" / "local-change.txt"
    marker.write_text("user data")
    with pytest.raises(OutputError, match="--overwrite"):
        ofx_cli.install_bundle(dest)
    assert marker.is_file()  # nothing was lost
    assert main(["ofx", "install", "--dest", str(dest), "--overwrite"]) == 0
    assert not marker.exists() and (installed / "Contents" / "Linux-x86-64" / "ColorMotion.ofx").is_file()
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_unpremultiply_keeps_transparent_pixels_and_round_trips():
    pixels = np.array([[[50, 100, 120, 128], [7, 8, 9, 0], [255, 255, 255, 255]]], np.uint8)
    straight = images.unpremultiply(pixels)
    np.testing.assert_array_equal(straight[0, 1], [7, 8, 9, 0])  # alpha 0: left as it is
    np.testing.assert_array_equal(straight[0, 0], [100, 199, 239, 128])  # 50 / (128/255) = 99.6 -> 100
    back = images.premultiply(straight)
    assert np.abs(back.astype(int) - pixels.astype(int))[0, [0, 2]].max() <= 1
    rgb = pixels[:, :, :3]
    assert images.unpremultiply(rgb) is rgb  # no alpha, nothing to do


def test_an_instance_names_its_frames_until_the_upstream_content_changes():
    from colormotion_ofx.actions import Instance

    instance, other = Instance(effect=1), Instance(effect=2)
    a, b = np.zeros((4, 4, 4), np.uint8), np.ones((4, 4, 4), np.uint8)
    first = instance.source_identity(5, a)
    assert instance.source_identity(6, b) == first  # another time, first seen: same clip
    assert instance.source_identity(5, a) == first  # the same pixels again
    assert other.source_identity(5, a) != first  # instances never share names
    changed = instance.source_identity(5, b)  # frame 5 is not what it was: upstream changed
    assert changed != first
    assert instance.source_identity(6, b) == changed  # what was seen before the change is forgotten


@needs_gcc
def test_doctor_says_why_a_host_does_not_list_the_filter(tmp_path, monkeypatch, capsys):
    from colormotion.cli.main import main

    monkeypatch.setenv("OFX_PLUGIN_PATH", str(tmp_path / "empty"))
    assert main(["ofx", "doctor"]) == 3
    assert "no ColorMotion.ofx.bundle" in capsys.readouterr().out

    bundle = ofx_cli.build_bundle(tmp_path / "plugins")
    monkeypatch.setenv("OFX_PLUGIN_PATH", str(tmp_path / "plugins"))
    assert main(["ofx", "doctor"]) == 0, capsys.readouterr().out
    assert "problem" not in capsys.readouterr().out

    config_path = bundle / "Contents" / "Resources" / "colormotion_ofx.json"
    config = json.loads(config_path.read_text())
    config["libpython"] = str(tmp_path / "gone" / "libpython3.so")
    config_path.write_text(json.dumps(config))
    assert main(["ofx", "doctor", "--bundle", str(bundle)]) == 3
    assert "libpython" in capsys.readouterr().out
