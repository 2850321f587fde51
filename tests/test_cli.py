"""The `colormotion` command line end to end, with a random-weight model (tests/conftest.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from colormotion.cli import colorize as colorize_command
from colormotion.cli.main import EXIT_INTERRUPTED, EXIT_MODEL, EXIT_OK, EXIT_USAGE, main
from colormotion.io.atomic import TEMP_PREFIX
from colormotion.io.sequence import read_image
from colormotion.io.source import open_source

from tests._media import audio_seconds, frame_rate, moving_frames, stream_summary, write_sequence, write_video


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def clear_engine_cache() -> None:
    """Forget cached chain states so that a render really recomputes (as a new process would)."""
    from colormotion.temporal.cache import PROCESS_CACHE

    PROCESS_CACHE.clear()


def all_frames(pattern_or_path) -> dict[int, np.ndarray]:
    source = open_source(pattern_or_path)
    return {t: source.frame(t).copy() for t in range(source.first_frame, source.last_frame + 1)}


# --- sample --------------------------------------------------------------------------------------


def test_sample_writes_a_grayscale_clip_with_a_cut(capsys, tmp_path):
    code, _, err = run_cli(capsys, "sample", tmp_path / "s.####.png", "--frames", "10", "--size", "64x48")
    assert code == EXIT_OK, err
    frames = all_frames(tmp_path / "s.####.png")
    assert sorted(frames) == list(range(1, 11))
    assert frames[1].shape == (48, 64, 3)
    for frame in frames.values():  # grayscale: R = G = B
        assert np.array_equal(frame[:, :, 0], frame[:, :, 1]) and np.array_equal(
            frame[:, :, 1], frame[:, :, 2]
        )
    steps = [np.abs(frames[t + 1].astype(int) - frames[t]).mean() for t in range(1, 10)]
    cut = int(np.argmax(steps))
    assert cut + 1 == 6  # 60 % of 10 frames into the first shot
    assert steps[cut] > 4 * np.median(steps)  # a hard cut, among slow camera moves


def test_sample_video(capsys, tmp_path):
    code, _, err = run_cli(capsys, "sample", tmp_path / "s.mp4", "--frames", "6", "--size", "96x64")
    assert code == EXIT_OK, err
    source = open_source(tmp_path / "s.mp4")
    assert (source.info.frame_count, source.info.width, source.info.height) == (6, 96, 64)


# --- colorize ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip_with_audio(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("clip") / "talk.mp4", moving_frames(10), audio=True)


def test_video_to_video_copies_audio(capsys, tmp_path, random_model, clip_with_audio):
    output = tmp_path / "colour.mp4"
    code, _, err = run_cli(capsys, "colorize", clip_with_audio, output, "--model", random_model, "-q")
    assert code == EXIT_OK, err
    assert stream_summary(output) == [("video", "h264"), ("audio", "aac")]
    assert audio_seconds(output) == pytest.approx(audio_seconds(clip_with_audio), abs=0.03)
    assert frame_rate(output) == frame_rate(clip_with_audio)
    result = open_source(output)
    assert (result.info.frame_count, result.info.width, result.info.height) == (10, 96, 64)
    assert os.listdir(tmp_path) == ["colour.mp4"]


def audio_packets(path: Path) -> list[tuple]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [(p.pts, p.dts, p.duration, bytes(p)) for p in container.demux(stream) if p.size]


def test_audio_is_copied_packet_for_packet_priming_included(capsys, tmp_path, random_model, clip_with_audio):
    """AAC starts with a priming packet at a negative pts; dropping it clicks at the start."""
    output = tmp_path / "colour.mp4"
    code, _, err = run_cli(capsys, "colorize", clip_with_audio, output, "--model", random_model, "-q")
    assert code == EXIT_OK, err
    source_packets = audio_packets(clip_with_audio)
    assert source_packets[0][0] < 0  # the priming packet
    assert audio_packets(output) == source_packets


@pytest.mark.parametrize("ext", ["mp4", "mov"])
def test_rotation_metadata_is_kept(capsys, tmp_path, random_model, ext):
    """Portrait phone clips are stored sideways with a display matrix that turns them upright."""
    import av

    source = tmp_path / "phone.mp4"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        stream.set_display_rotation(90)
        for index, pixels in enumerate(moving_frames(4)):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    output = tmp_path / f"colour.{ext}"
    code, _, err = run_cli(capsys, "colorize", source, output, "--model", random_model, "-q")
    assert code == EXIT_OK, err
    with av.open(str(output)) as container:
        frame = next(container.decode(video=0))
    assert frame.rotation == 90 and (frame.width, frame.height) == (96, 64)


def test_frame_range_of_a_video_trims_audio(capsys, tmp_path, random_model, clip_with_audio):
    output = tmp_path / "part.mov"
    code, _, err = run_cli(
        capsys, "colorize", clip_with_audio, output, "--model", random_model, "--frames", "3-7", "-q"
    )
    assert code == EXIT_OK, err
    assert stream_summary(output) == [("video", "prores"), ("audio", "aac")]
    assert open_source(output).info.frame_count == 5
    assert audio_seconds(output) == pytest.approx(5 / 24, abs=0.05)


@pytest.mark.parametrize("ext", ["png", "exr"])
def test_frame_range_equals_the_full_render(capsys, tmp_path, random_model, ext):
    """A render-farm chunk (a fresh process) gives bit-identical frames to a full render."""
    frames = moving_frames(12)
    if ext == "exr":
        frames = [(f.astype(np.float32) / 255.0).astype(np.float16) for f in frames]
    pattern = write_sequence(tmp_path / "in", frames, ext=ext, first=101)
    options = ["--model", random_model, "--window", "4", "-q"]
    code, _, err = run_cli(capsys, "colorize", pattern, tmp_path / "full" / f"f.####.{ext}", *options)
    assert code == EXIT_OK, err
    chunk = subprocess.run(
        [
            sys.executable,
            "-m",
            "colormotion.cli.main",
            "colorize",
            pattern,
            str(tmp_path / "chunk" / f"c.####.{ext}"),
            "--frames",
            "106-110",
            *map(str, options),
        ],
        capture_output=True,
        text=True,
    )
    assert chunk.returncode == EXIT_OK, chunk.stderr
    full = all_frames(tmp_path / "full" / f"f.####.{ext}")
    part = all_frames(tmp_path / "chunk" / f"c.####.{ext}")
    assert sorted(full) == list(range(101, 113))  # output numbers follow the input's
    assert sorted(part) == list(range(106, 111))
    for t in part:
        assert part[t].dtype == full[t].dtype
        np.testing.assert_array_equal(part[t], full[t], err_msg=f"frame {t}")


def test_sequence_to_video_and_back(capsys, tmp_path, random_model):
    pattern = write_sequence(tmp_path / "in", moving_frames(6), first=1)
    code, _, err = run_cli(capsys, "colorize", pattern, tmp_path / "v.mkv", "--model", random_model, "-q")
    assert code == EXIT_OK, err
    code, _, err = run_cli(
        capsys, "colorize", tmp_path / "v.mkv", tmp_path / "out" / "o.#.tif", "--model", random_model, "-q"
    )
    assert code == EXIT_OK, err
    from colormotion.colour import to_lab

    video = all_frames(tmp_path / "v.mkv")
    stills = all_frames(tmp_path / "out" / "o.####.tif")
    assert sorted(stills) == list(range(1, 7))  # video frames count from 1
    assert stills[4].dtype == np.uint8 and stills[4].shape == video[4].shape
    # colorizing again keeps L* (up to 8-bit rounding): FFV1 (.mkv) stored the first render losslessly
    np.testing.assert_allclose(to_lab(stills[4], "srgb")[..., 0], to_lab(video[4], "srgb")[..., 0], atol=1.0)


def test_colorize_keeps_lightness_and_adds_colour(capsys, tmp_path, random_model):
    """Output L* is the input's (gray input -> R=G=B is lost only by adding a*b*)."""
    from colormotion.colour import to_lab

    pattern = write_sequence(
        tmp_path / "in",
        [(f.astype(np.float32) / 255).astype(np.float32) for f in moving_frames(3)],
        ext="exr",
    )
    code, _, err = run_cli(
        capsys, "colorize", pattern, tmp_path / "o.####.exr", "--model", random_model, "-q"
    )
    assert code == EXIT_OK, err
    before, _ = read_image(tmp_path / "in" / "clip.0002.exr")
    after, _ = read_image(tmp_path / "o.0002.exr")
    assert after.dtype == np.float32
    lab_before, lab_after = to_lab(before, "srgb"), to_lab(after, "srgb")
    np.testing.assert_allclose(lab_after[..., 0], lab_before[..., 0], atol=0.05)
    assert np.abs(lab_after[..., 1:]).mean() > 0.1


def test_progress_bar_on_stderr(capsys, tmp_path, random_model):
    pattern = write_sequence(tmp_path / "in", moving_frames(2))
    code, out, err = run_cli(capsys, "colorize", pattern, tmp_path / "o.####.png", "--model", random_model)
    assert code == EXIT_OK
    assert out == ""
    assert "2/2" in err and "frame/s" in err
    assert "on CPUExecutionProvider" in err  # which provider runs is always said


def test_ctrl_c_leaves_no_output(capsys, tmp_path, random_model, monkeypatch):
    pattern = write_sequence(tmp_path / "in", moving_frames(5))
    original = colorize_command.restore_alpha
    calls = []

    def interrupt_on_third_frame(rendered, source_frame):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(rendered, source_frame)

    monkeypatch.setattr(colorize_command, "restore_alpha", interrupt_on_third_frame)
    code, _, err = run_cli(
        capsys, "colorize", pattern, tmp_path / "out" / "o.####.png", "--model", random_model, "-q"
    )
    assert code == EXIT_INTERRUPTED
    assert "interrupted" in err
    assert os.listdir(tmp_path / "out") == []


def test_sigterm_is_handled_like_ctrl_c(capsys, tmp_path, random_model, monkeypatch):
    source = write_video(tmp_path / "in.mp4", moving_frames(5))
    (tmp_path / "o.mp4").write_bytes(b"previous render")
    original = colorize_command.restore_alpha
    calls = []

    def terminate_on_second_frame(rendered, source_frame):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(rendered, source_frame)

    monkeypatch.setattr(colorize_command, "restore_alpha", terminate_on_second_frame)
    code, _, _ = run_cli(
        capsys, "colorize", source, tmp_path / "o.mp4", "--overwrite", "--model", random_model, "-q"
    )
    assert code == EXIT_INTERRUPTED
    assert (tmp_path / "o.mp4").read_bytes() == b"previous render"
    assert not any(name.startswith(TEMP_PREFIX) for name in os.listdir(tmp_path))


# --- model errors, info, bench -------------------------------------------------------------------


def test_bad_model_is_a_model_error(capsys, tmp_path):
    pattern = write_sequence(tmp_path / "in", moving_frames(2))
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    code, _, err = run_cli(
        capsys, "colorize", pattern, tmp_path / "o.####.png", "--model", tmp_path / "broken.onnx"
    )
    assert code == EXIT_MODEL
    assert err.count("colormotion: error:") == 1
    assert "Traceback" not in err
    assert not any(name.startswith("o.") for name in os.listdir(tmp_path))


def test_info_describes_the_runtime(capsys, random_model):
    code, out, _ = run_cli(capsys, "info", "--model", random_model)
    assert code == EXIT_OK
    assert "onnxruntime" in out
    assert str(random_model) in out
    assert "CPU" in out.upper()


def test_info_reports_a_missing_model(capsys, tmp_path):
    code, _, err = run_cli(capsys, "info", "--model", tmp_path / "missing.onnx")
    assert code == EXIT_MODEL
    assert "missing.onnx" in err


def test_help_documents_exit_codes(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == EXIT_OK
    for line in (
        "0    success",
        "2    usage error",
        "3    input error",
        "4    output error",
        "5    model error",
        "130  interrupted",
    ):
        assert line in out


def test_bench_prints_a_table(capsys, random_model):
    code, out, err = run_cli(capsys, "bench", "--model", random_model, "--frames", "3", "--only", "256x256")
    assert code == EXIT_OK, err
    header, sequential, random_access = out.splitlines()[:3]
    for column in ("decode", "model", "encode", "model runs/fr", "fps", "peak MB"):
        assert column in header
    assert "sequential" in sequential and "random" in random_access
    assert "share of wall time per frame" in out and "model" in out.split("share of wall time")[1]
    assert "matmul peak is" in out
    targets = out.split("targets (")[1]
    assert "256x256 sequential" in targets and "target >= 60" in targets
    assert "model-step equivalents per frame, target <= 10 (window 16)" in targets
    assert "by default: libx264 yuv420p crf 16 preset veryfast" in out


def test_bench_compares_two_models_in_one_sitting(capsys, random_model, random_graph_model):
    code, out, err = run_cli(
        capsys, "bench", "--model", random_model, "--compare", random_graph_model, "--frames", "3",
        "--only", "256x256", "--order", "sequential", "--rounds", "2",
    )  # fmt: skip
    assert code == EXIT_OK, err
    # alternated: model, compare, model, compare
    runs = [line for line in err.splitlines() if line.startswith("running 256x256 sequential")]
    assert [str(random_model) in line for line in runs] == [True, False, True, False]
    header, first, second = out.splitlines()[:3]
    assert "model" in header.split() and "fps range" in header
    assert first.split()[2] == "model" and second.split()[2] == "compare"
    assert "(2 runs)" in first and "random" not in out.split("stage columns")[0]
    comparison = out.split("compare against model")[1]
    line = next(row for row in comparison.splitlines() if "256x256 sequential" in row)
    fps = [row.split()[-6] for row in (first, second)]  # before "a-b (2 runs)", target, peak
    ratio, compared, base = re.search(r"([\d.]+)x fps \(([\d.]+) against ([\d.]+)\)", line).groups()
    assert (compared, base) == (fps[1], fps[0])
    assert abs(float(ratio) - float(fps[1]) / float(fps[0])) < 0.01  # the table's fps are rounded
    assert f"compare: {random_graph_model}" in out and f"model: {random_model}" in out


def test_bench_compares_a_model_with_itself(capsys, random_model):
    """Labels follow the option, not the path: the same model twice gives both rows."""
    code, out, err = run_cli(
        capsys, "bench", "--model", random_model, "--compare", random_model, "--frames", "2",
        "--only", "256x256", "--order", "sequential",
    )  # fmt: skip
    assert code == EXIT_OK, err
    first, second = out.splitlines()[1:3]
    assert first.split()[2] == "model" and second.split()[2] == "compare"


def test_bench_refuses_bad_options_before_any_run(capsys):
    code, _, err = run_cli(capsys, "bench", "--rounds", "0")
    assert code == EXIT_USAGE and "--rounds must be at least 1" in err
    code, _, err = run_cli(capsys, "bench", "--compare", "no-such-model", "--only", "256x256")
    assert code == EXIT_MODEL and "model file no-such-model does not exist" in err
    assert "running" not in err


def test_hints_file_reaches_the_model(capsys, tmp_path, random_model):
    pattern = write_sequence(tmp_path / "in", moving_frames(3))
    hints = tmp_path / "hints.json"
    hints.write_text(
        '{"version": 1, "hints": [{"id": "red", "color": "#d02020", "radius": 0.2,'
        ' "keys": [{"frame": 2, "x": 0.5, "y": 0.5}]}]}'
    )
    options = ["--model", random_model, "-q"]
    assert main(["colorize", pattern, str(tmp_path / "plain.####.png"), *map(str, options)]) == EXIT_OK
    assert (
        main(
            [
                "colorize",
                pattern,
                str(tmp_path / "hinted.####.png"),
                "--hints",
                str(hints),
                *map(str, options),
            ]
        )
        == 0
    )
    plain, _ = read_image(tmp_path / "plain.0002.png")
    hinted, _ = read_image(tmp_path / "hinted.0002.png")
    assert not np.array_equal(plain, hinted)


def test_strength_zero_gives_back_the_gray_input(capsys, tmp_path, random_model):
    pattern = write_sequence(tmp_path / "in", moving_frames(2))
    code, _, err = run_cli(
        capsys, "colorize", pattern, tmp_path / "o.####.png", "--strength", "0", "--model", random_model, "-q"
    )
    assert code == EXIT_OK, err
    output, _ = read_image(tmp_path / "o.0002.png")
    source, _ = read_image(tmp_path / "in" / "clip.0002.png")
    assert np.abs(output.astype(int) - source).max() <= 1


def test_stateless_frames_equal_single_image_renders(capsys, tmp_path, random_model):
    """--stateless: a frame's colours come from that frame alone, as for a lone still image."""
    pattern = write_sequence(tmp_path / "in", moving_frames(4))
    options = ["--model", random_model, "--working-resolution", "96", "-q"]
    code, _, err = run_cli(capsys, "colorize", pattern, tmp_path / "o.####.png", "--stateless", *options)
    assert code == EXIT_OK, err
    code, _, err = run_cli(
        capsys, "colorize", tmp_path / "in" / "clip.0003.png", tmp_path / "still.png", *options
    )
    assert code == EXIT_OK, err
    np.testing.assert_array_equal(
        read_image(tmp_path / "o.0003.png")[0], read_image(tmp_path / "still.png")[0]
    )
    # with temporal state the same frame differs: history reaches it
    code, _, err = run_cli(capsys, "colorize", pattern, tmp_path / "t.####.png", *options)
    assert code == EXIT_OK, err
    assert not np.array_equal(read_image(tmp_path / "t.0003.png")[0], read_image(tmp_path / "still.png")[0])


def test_fps_for_a_video_made_from_images(capsys, tmp_path, random_model):
    pattern = write_sequence(tmp_path / "in", moving_frames(3))
    code, _, err = run_cli(
        capsys, "colorize", pattern, tmp_path / "v.mp4", "--fps", "30000/1001", "--model", random_model, "-q"
    )
    assert code == EXIT_OK, err
    assert frame_rate(tmp_path / "v.mp4") == Fraction(30000, 1001)


@pytest.mark.parametrize("model_fixture", ["random_model", "random_graph_model"])
def test_render_threads_change_speed_not_frames(tmp_path, model_fixture, request, monkeypatch):
    """Frames rendered two or three at once (the default overlaps model and colour work) are the
    bytes one thread writes, though each onnxruntime session then runs 4, 2 or 1 threads."""
    model = request.getfixturevalue(model_fixture)
    monkeypatch.setenv("COLORMOTION_THREADS", "4")
    pattern = write_sequence(tmp_path / "in", moving_frames(9))
    outputs = {}
    for threads in (1, 2, 3):
        out = tmp_path / f"out{threads}"
        argv = ["colorize", pattern, str(out / "f.####.png"), "--model", str(model), "-q"]
        assert main([*argv, "--render-threads", str(threads)]) == EXIT_OK
        outputs[threads] = [p.read_bytes() for p in sorted(out.iterdir())]
    assert len(outputs[1]) == 9 and outputs[1] == outputs[2] == outputs[3]
    assert main(["colorize", pattern, str(tmp_path / "x.####.png"), "--render-threads", "0"]) == 2


def test_an_in_order_render_bounds_the_engine_cache_to_about_a_window(monkeypatch, random_model, tmp_path):
    """In order the engine reuses about a window of frames; its 512 MB default let a long 1080p
    render grow past 1 GB. The bound holds while colorize renders, and is restored after."""
    import argparse

    from colormotion.cli import engine
    from colormotion.temporal.cache import CACHE_MB_ENV, PROCESS_CACHE

    monkeypatch.delenv(CACHE_MB_ENV, raising=False)
    default = PROCESS_CACHE.max_bytes
    args = argparse.Namespace(working_resolution=None, window=None)
    with engine.in_order_cache(args, 1080, 1920):
        # 18 frames of the 448x256 working size at 48 bytes a pixel
        assert PROCESS_CACHE.max_bytes == 18 * engine.CACHE_BYTES_PER_WORKING_PIXEL * 256 * 448
    assert PROCESS_CACHE.max_bytes == default
    monkeypatch.setenv(CACHE_MB_ENV, "300")
    with engine.in_order_cache(args, 1080, 1920):
        assert PROCESS_CACHE.max_bytes == default  # the user's setting decides
    monkeypatch.delenv(CACHE_MB_ENV)

    seen = []
    real = colorize_command._render

    def spy(*arguments, **options):
        seen.append(PROCESS_CACHE.max_bytes)
        return real(*arguments, **options)

    monkeypatch.setattr(colorize_command, "_render", spy)
    clip = write_video(tmp_path / "in.mp4", moving_frames(3))
    assert (
        main(["colorize", str(clip), str(tmp_path / "out.mp4"), "-q", "--model", str(random_model)])
        == EXIT_OK
    )
    assert seen and seen[0] < default and PROCESS_CACHE.max_bytes == default
    assert engine.cache_frames(args, 2) == 4 and engine.cache_frames(args) == engine.DEFAULT_WINDOW + 2
