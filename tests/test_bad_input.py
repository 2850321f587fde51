"""Bad input and unsafe output: a clear one-line message, the documented exit code, nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import OpenImageIO as oiio
import pytest
from colormotion.cli.main import EXIT_INPUT, EXIT_MODEL, EXIT_OUTPUT, EXIT_USAGE, main
from colormotion.io.atomic import TEMP_PREFIX
from colormotion.io.sequence import read_image, write_image
from colormotion.io.source import VideoSource

from tests._media import moving_frames, write_sequence, write_video


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main([str(arg) for arg in argv])
    return code, capsys.readouterr().err


def assert_one_line_error(message: str, *fragments: str) -> None:
    lines = [line for line in message.splitlines() if line.startswith("colormotion: error:")]
    assert len(lines) == 1, message
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def no_temporaries(folder: Path) -> bool:
    return not any(name.startswith(TEMP_PREFIX) for name in os.listdir(folder))


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", moving_frames(8))


# --- input errors (exit 3): reported before any model is loaded ----------------------------------


def test_missing_input(capsys, tmp_path):
    code, err = run_cli(capsys, "colorize", tmp_path / "nope.mp4", tmp_path / "out.mp4")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "does not exist", "nope.mp4")
    assert os.listdir(tmp_path) == []


def test_empty_file(capsys, tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    code, err = run_cli(capsys, "colorize", tmp_path / "empty.mp4", tmp_path / "out.mp4")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "empty", "empty.mp4")


@pytest.mark.parametrize("name", ["garbage.mp4", "garbage.exr", "garbage.png"])
def test_corrupt_file(capsys, tmp_path, name):
    (tmp_path / name).write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    code, err = run_cli(capsys, "colorize", tmp_path / name, tmp_path / "out.mkv")
    assert code == EXIT_INPUT
    assert_one_line_error(err, name)


@pytest.mark.parametrize(
    ("content", "fragment"), [(None, "does not exist"), (b"not a picture", "cannot be read")]
)
def test_a_missing_or_unreadable_reference_is_named_once(capsys, tmp_path, clip, content, fragment):
    """A --reference image that is missing or not an image: one line that names it (once) and
    says which, before any model is loaded; nothing is written."""
    if content is not None:
        (tmp_path / "graded.png").write_bytes(content)
    out = tmp_path / "out.mp4"
    code, err = run_cli(capsys, "colorize", clip, out, "--reference", f"1={tmp_path / 'graded.png'}")
    assert code == EXIT_INPUT
    assert_one_line_error(err, fragment, "graded.png")
    assert err.count("graded.png") == 1, err
    assert not out.exists()


def test_truncated_image(capsys, tmp_path):
    write_image(tmp_path / "whole.exr", np.random.default_rng(0).random((64, 96, 3), dtype=np.float32))
    data = (tmp_path / "whole.exr").read_bytes()
    (tmp_path / "cut.exr").write_bytes(data[: len(data) // 2])
    code, err = run_cli(capsys, "colorize", tmp_path / "cut.exr", tmp_path / "out.exr")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "cut.exr")
    assert not (tmp_path / "out.exr").exists()


def test_truncated_video_without_index(capsys, tmp_path, clip):
    # an mp4 whose index (moov, written last) is cut off cannot be read at all
    data = clip.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    code, err = run_cli(capsys, "colorize", tmp_path / "cut.mp4", tmp_path / "out.mp4")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "cut.mp4")


def test_truncated_video_with_its_index_at_the_start_is_refused_before_rendering(capsys, tmp_path):
    """MP4 "faststart" (index first, as phones and web exports write) cut short: the index lists
    every frame, the data stops early. Refused up front, not after rendering most of it."""
    whole = tmp_path / "whole.mp4"
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for index, pixels in enumerate(moving_frames(40)):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = whole.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # the index is at the start
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 6 // 10])
    code, err = run_cli(capsys, "colorize", cut, tmp_path / "out.mp4")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "cut short", "lists 40 frames")
    assert sorted(os.listdir(tmp_path)) == ["cut.mp4", "whole.mp4"]


@pytest.mark.parametrize(
    "container, codec, pix_fmt", [("mp4", "libx264", "yuv420p"), ("mkv", "ffv1", "bgr0")]
)
def test_zero_frame_video(capsys, tmp_path, container, codec, pix_fmt):
    path = tmp_path / f"zero.{container}"
    with av.open(str(path), "w") as output:
        stream = output.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        output.start_encoding()
    code, err = run_cli(capsys, "colorize", path, tmp_path / "out.mp4")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "no", "frame", path.name)


def test_audio_only_file(capsys, tmp_path):
    path = tmp_path / "audio.mp4"
    with av.open(str(path), "w") as output:
        stream = output.add_stream("aac", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    code, err = run_cli(capsys, "colorize", path, tmp_path / "out.mp4")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "no video stream", "audio.mp4")


def test_sequence_pattern_without_frames(capsys, tmp_path):
    code, err = run_cli(capsys, "colorize", tmp_path / "shot.####.exr", tmp_path / "out.####.exr")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "no frames match", "shot.####.exr")


def test_missing_hints_file(capsys, tmp_path, clip):
    code, err = run_cli(capsys, "colorize", clip, tmp_path / "out.mp4", "--hints", tmp_path / "hints.json")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "hints", "hints.json")


@pytest.mark.parametrize("text", ["{not json", '{"hints": 5}', '{"hints": [{"frame": "x"}]}'])
def test_malformed_hints(capsys, tmp_path, clip, text):
    pytest.importorskip("colormotion.hints")
    (tmp_path / "hints.json").write_text(text)
    code, err = run_cli(capsys, "colorize", clip, tmp_path / "out.mp4", "--hints", tmp_path / "hints.json")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "hints", "hints.json")
    assert not (tmp_path / "out.mp4").exists()


# --- usage errors (exit 2) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--frames", "5-2"], "ends before"),
        (["--frames", "0-3"], "outside"),
        (["--frames", "abc"], "A-B"),
        (["--window", "7"], "even"),
        (["--codec", "nosuchcodec"], "nosuchcodec"),
        (["--transfer", "gamma"], "invalid choice"),
        (["--working-resolution", "300"], "multiple of 32"),
        (["--working-resolution", "100000"], "multiple of 32 from 32 to 2048"),
        (["--working-resolution", "big"], "whole number"),
        (["--crf", "-5"], "--crf for libx264 must be within 0..51"),
        (["--pix-fmt", "nonsense"], "cannot encode pixel format 'nonsense'"),
        (["--codec", "aac"], "not a video encoder"),
    ],
)
def test_usage_errors(capsys, tmp_path, clip, extra, fragment):
    code, err = run_cli(capsys, "colorize", clip, tmp_path / "out.mp4", *extra)
    assert code == EXIT_USAGE
    assert fragment in err
    assert "Traceback" not in err and TEMP_PREFIX not in err  # never a temporary's name
    assert os.listdir(tmp_path) == []


def frame_name(stem: str, n: int) -> str:
    """name.NNNN.png as sequences number frames, below zero too (name.-0005.png)."""
    return f"{stem}.{'-' if n < 0 else ''}{abs(n):04d}.png"


def test_negative_frame_ranges_are_accepted(capsys, tmp_path, random_model):
    (tmp_path / "in").mkdir()
    for n, pixels in zip(range(-5, 3), moving_frames(8)):
        write_image(tmp_path / "in" / frame_name("clip", n), pixels)
    code, err = run_cli(
        capsys,
        "colorize",
        tmp_path / "in" / "clip.####.png",
        tmp_path / "out" / "f.####.png",
        "--frames",
        "-5-1",
        "--model",
        random_model,
        "-q",
    )
    assert code == 0, err
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(frame_name("f", n) for n in range(-5, 2))


def test_an_unavailable_provider_asked_for_by_name_is_a_model_error(capsys, tmp_path, clip, random_model):
    from colormotion.model import available_providers

    if "CUDAExecutionProvider" in available_providers():
        pytest.skip("this machine has CUDA")
    code, err = run_cli(
        capsys, "colorize", clip, tmp_path / "out.mp4", "--provider", "cuda", "--model", random_model
    )
    assert code == EXIT_MODEL
    assert "'cuda' is not available" in err and "colormotion[gpu]" in err
    assert os.listdir(tmp_path) == []


def test_errors_about_a_users_own_model_do_not_advise_reinstalling(capsys, tmp_path, clip):
    broken = tmp_path / "mine.onnx"
    broken.write_bytes(b"not a model")
    for model in (tmp_path / "missing.onnx", broken):
        code, err = run_cli(capsys, "colorize", clip, tmp_path / "out.mp4", "--model", model)
        assert code == EXIT_MODEL
        assert str(model) in err and "reinstall" not in err and "export a model" in err


def test_a_working_resolution_above_the_input_runs_at_the_inputs_size(tmp_path):
    from colormotion.colour import capped_short_side

    assert capped_short_side(270, 480, 4096) == 288  # 270 rounded up to a multiple of 32
    assert capped_short_side(1080, 1920, 512) == 512
    assert capped_short_side(64, 96, 512) == 256  # small inputs still reach the default
    assert capped_short_side(64, 96, 128) == 128


def test_a_hints_file_with_a_byte_order_mark_is_read(capsys, tmp_path, clip, random_model):
    hints = tmp_path / "hints.json"
    hints.write_bytes(b"\xef\xbb\xbf" + b'{"version": 1, "hints": []}')
    code, err = run_cli(
        capsys, "colorize", clip, tmp_path / "out.mp4", "--hints", hints, "--model", random_model, "-q"
    )
    assert code == 0, err


def test_hint_errors_speak_json(capsys, tmp_path, clip):
    hints = tmp_path / "hints.json"
    hints.write_text(
        '{"version": 1, "hints": [{"id": "a", "color": "#ff0000", "keys": [{"frame": true, "x": 0, "y": 0}]}]}'
    )
    code, err = run_cli(capsys, "colorize", clip, tmp_path / "out.mp4", "--hints", hints)
    assert code == EXIT_INPUT
    assert "got true" in err and "True" not in err


def test_hints_never_active_on_the_rendered_frames_are_named(capsys, tmp_path, clip, random_model):
    hints = tmp_path / "hints.json"
    keys = [{"frame": f, "x": 0.5, "y": 0.5} for f in (-1, 0)]
    hints.write_text(json.dumps({"version": 1, "hints": [{"id": "early", "color": "#ff0000", "keys": keys}]}))
    code, err = run_cli(
        capsys, "colorize", clip, tmp_path / "out.mp4", "--hints", hints, "--model", random_model, "-q"
    )
    assert code == 0
    assert "never active on the rendered frames 1-8 (the clip has frames 1-8" in err
    assert "'early'" in err and "count from 1" in err


def test_still_output_for_many_frames_is_refused(capsys, tmp_path, clip):
    code, err = run_cli(capsys, "colorize", clip, tmp_path / "out.png")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "single image", "out.png")


# --- output errors (exit 4): nothing on disk is touched ------------------------------------------


def test_existing_output_is_kept_without_overwrite(capsys, tmp_path, clip):
    existing = tmp_path / "out.mp4"
    existing.write_bytes(b"an earlier render")
    code, err = run_cli(capsys, "colorize", clip, existing)
    assert code == EXIT_OUTPUT
    assert_one_line_error(err, "exists", "--overwrite", "out.mp4")
    assert existing.read_bytes() == b"an earlier render"
    assert no_temporaries(tmp_path)


def test_existing_sequence_frame_is_kept_without_overwrite(capsys, tmp_path):
    pattern = write_sequence(tmp_path / "in", moving_frames(3))
    (tmp_path / "out").mkdir()
    existing = tmp_path / "out" / "o.0002.png"
    existing.write_bytes(b"frame two of an earlier render")
    code, err = run_cli(capsys, "colorize", pattern, tmp_path / "out" / "o.####.png")
    assert code == EXIT_OUTPUT
    assert_one_line_error(err, "exists", "o.0002.png")
    assert os.listdir(tmp_path / "out") == ["o.0002.png"]
    assert existing.read_bytes() == b"frame two of an earlier render"


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_output_equal_to_input_is_refused(capsys, tmp_path, clip, overwrite):
    copy = tmp_path / "clip.mp4"
    copy.write_bytes(clip.read_bytes())
    code, err = run_cli(capsys, "colorize", copy, tmp_path / "." / "clip.mp4", *overwrite)
    assert code == EXIT_OUTPUT
    assert_one_line_error(err, "is the input", "clip.mp4")
    assert copy.read_bytes() == clip.read_bytes()


def test_sequence_output_onto_its_own_frames_is_refused(capsys, tmp_path):
    pattern = write_sequence(tmp_path, moving_frames(3))
    before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    # another spelling of the same files: %04d instead of ####
    code, err = run_cli(capsys, "colorize", pattern, tmp_path / "clip.%04d.png", "--overwrite")
    assert code == EXIT_OUTPUT
    assert_one_line_error(err, "is the input")
    assert {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)} == before


def test_unwritable_output_folder(capsys, tmp_path, clip):
    # a regular file where the output folder should be: even root cannot create files in it
    blocker = tmp_path / "not_a_folder"
    blocker.write_bytes(b"keep me")
    code, err = run_cli(capsys, "colorize", clip, blocker / "out.mp4")
    assert code == EXIT_OUTPUT
    assert_one_line_error(err, "output folder", "not_a_folder")
    assert blocker.read_bytes() == b"keep me"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder(capsys, tmp_path, clip):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        code, err = run_cli(capsys, "colorize", clip, folder / "out.mp4")
    finally:
        folder.chmod(0o755)
    assert code == EXIT_OUTPUT
    assert_one_line_error(err, "not writable", "locked")


def test_console_script_exit_code_and_message(tmp_path):
    """The real entry point: exit status reaches the shell, one line, no traceback."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "colormotion.cli.main",
            "colorize",
            str(tmp_path / "missing.mov"),
            str(tmp_path / "o.mp4"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLORMOTION_DEBUG": ""},
    )
    assert result.returncode == EXIT_INPUT
    assert result.stderr.strip().splitlines() == [
        f"colormotion: error: input file does not exist ({tmp_path / 'missing.mov'})"
    ]


def test_debug_shows_the_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "colormotion.cli.main",
            "--debug",
            "colorize",
            str(tmp_path / "missing.mov"),
            str(tmp_path / "o.mp4"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == EXIT_INPUT
    assert "Traceback" in result.stderr


def test_input_untouched_by_a_failed_run(capsys, tmp_path):
    pattern = write_sequence(tmp_path, moving_frames(2), ext="exr")
    before = read_image(tmp_path / "clip.0001.exr")[0].copy()
    run_cli(capsys, "colorize", pattern, tmp_path / "clip.####.exr", "--overwrite")
    np.testing.assert_array_equal(read_image(tmp_path / "clip.0001.exr")[0], before)


# --- unusual but valid input: rendered, with its properties kept ---------------------------------


@pytest.mark.parametrize("width, height", [(1, 1), (3, 5), (5, 3)])
def test_tiny_and_odd_sizes(capsys, tmp_path, random_model, width, height):
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    write_image(tmp_path / "tiny.png", pixels)
    code, err = run_cli(
        capsys, "colorize", tmp_path / "tiny.png", tmp_path / "out.png", "--model", random_model, "-q"
    )
    assert code == 0, err
    assert read_image(tmp_path / "out.png")[0].shape == (height, width, 3)


def test_odd_sized_video(capsys, tmp_path, random_model):
    pattern = write_sequence(tmp_path / "in", [f[:5, :3] for f in moving_frames(3)])
    code, err = run_cli(capsys, "colorize", pattern, tmp_path / "odd.mp4", "--model", random_model, "-q")
    assert code == 0, err
    assert "4:4:4" in err or "yuv444p" in err  # told why the pixel format differs
    assert VideoSource(tmp_path / "odd.mp4").info.frame_count == 3


def test_8k_frame(capsys, tmp_path, random_model):
    gradient = np.linspace(0, 255, 7680, dtype=np.float32)[None, :, None]
    pixels = np.broadcast_to(gradient, (4320, 7680, 3)).astype(np.uint8)
    uncompressed = oiio.ImageSpec(7680, 4320, 3, "uint8")
    uncompressed.attribute("compression", "none")  # keeps file I/O out of the test's time
    write_image(tmp_path / "big.tif", pixels, uncompressed)
    code, err = run_cli(
        capsys,
        "colorize",
        tmp_path / "big.tif",
        tmp_path / "out.tif",
        "--working-resolution",
        "256",
        "--model",
        random_model,
        "-q",
    )
    assert code == 0, err
    assert read_image(tmp_path / "out.tif")[0].shape == (4320, 7680, 3)


def test_nan_and_inf_in_float_exr(capsys, tmp_path, random_model):
    frames = [np.random.default_rng(i).random((64, 96, 3), dtype=np.float32) for i in range(3)]
    frames[1][10:20, 10:20] = np.nan
    frames[1][30:40, 30:40] = np.inf
    frames[1][40:50, 50:60] = -np.inf
    pattern = write_sequence(tmp_path / "in", frames, ext="exr")
    code, err = run_cli(capsys, "colorize", pattern, tmp_path / "o.####.exr", "--model", random_model, "-q")
    assert code == 0, err
    output, _ = read_image(tmp_path / "o.0002.exr")
    assert output.dtype == np.float32
    assert np.isfinite(output).all()


@pytest.mark.parametrize("ext", ["png", "tif"])
def test_16_bit_images_stay_16_bit(capsys, tmp_path, random_model, ext):
    frames = [f.astype(np.uint16) * 257 + 3 for f in moving_frames(2)]
    pattern = write_sequence(tmp_path / "in", frames, ext=ext)
    code, err = run_cli(
        capsys, "colorize", pattern, tmp_path / f"o.####.{ext}", "--model", random_model, "-q"
    )
    assert code == 0, err
    output, _ = read_image(tmp_path / f"o.0001.{ext}")
    assert output.dtype == np.uint16
    assert len(np.unique(output)) > 256  # real 16-bit values, not 8-bit ones widened


@pytest.mark.parametrize("ext, dtype", [("png", np.uint8), ("png", np.uint16), ("exr", np.float16)])
def test_alpha_is_preserved(capsys, tmp_path, random_model, ext, dtype):
    rng = np.random.default_rng(3)
    colour = moving_frames(2)
    alpha = rng.integers(0, 256, (64, 96, 1), dtype=np.uint8)
    frames = []
    for frame in colour:
        rgba = np.concatenate([frame, alpha], axis=2)
        if dtype == np.uint16:
            rgba = rgba.astype(np.uint16) * 257
        elif dtype == np.float16:
            rgba = (rgba / 255.0).astype(np.float16)
        frames.append(rgba)
    pattern = write_sequence(tmp_path / "in", frames, ext=ext)
    code, err = run_cli(
        capsys, "colorize", pattern, tmp_path / f"o.####.{ext}", "--model", random_model, "-q"
    )
    assert code == 0, err
    output, spec = read_image(tmp_path / f"o.0002.{ext}")
    assert output.shape == (64, 96, 4) and output.dtype == dtype
    np.testing.assert_array_equal(output[:, :, 3], frames[1][:, :, 3])


def test_damaged_video_data(capsys, tmp_path, random_model):
    """Packets that exist but hold garbage: the frame is named, nothing is written."""
    clip = write_video(tmp_path / "clip.mp4", moving_frames(8), options={"threads": "1"})
    data = bytearray(clip.read_bytes())
    damaged = tmp_path / "damaged.mp4"
    start, stop = len(data) // 4, len(data) // 2  # frame data; the index (moov) is at the end
    data[start:stop] = bytes(stop - start)
    damaged.write_bytes(bytes(data))
    code, err = run_cli(capsys, "colorize", damaged, tmp_path / "out.mp4", "--model", random_model, "-q")
    assert code == EXIT_INPUT
    assert_one_line_error(err, "could not be decoded", "damaged.mp4")
    assert not (tmp_path / "out.mp4").exists()
    assert no_temporaries(tmp_path)
    assert damaged.read_bytes() == bytes(data)


def test_unknown_output_format(capsys, tmp_path, clip):
    code, err = run_cli(capsys, "colorize", clip, tmp_path / "out.xyz")
    assert code == EXIT_USAGE
    assert_one_line_error(err, "unknown output format", "out.xyz")
    assert os.listdir(tmp_path) == []
