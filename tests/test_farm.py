"""Rendering one job as chunks: plans, job files for render managers, and the join of video chunks.

The central promise: chunks run in any order (here shuffled, in this process) and, joined, give
what one render gives.
"""

from __future__ import annotations

import random
import shlex
from pathlib import Path

import av
import numpy as np
import pytest
from colormotion.cli.main import EXIT_INPUT, EXIT_OK, EXIT_OUTPUT, EXIT_USAGE, main
from colormotion.farm import outline, plan
from colormotion.io.errors import InputError, UsageError

from tests._media import audio_seconds, moving_frames, write_sequence, write_video

FRAMES = 11
COMMON = ["--working-resolution", "64"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("farm-input")
    return write_video(folder / "clip.mp4", moving_frames(FRAMES, 96, 64), audio=True)


def run_chunks(job: plan.FarmPlan, seed: int = 1) -> None:
    """Every chunk command, shuffled, in this process (a farm runs them anywhere, in any order)."""
    chunks = list(job.chunks)
    random.Random(seed).shuffle(chunks)
    for chunk in chunks:
        assert main(job.chunk_arguments(chunk)) == EXIT_OK, chunk


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_chunks_cover_the_range_once():
    chunks = plan.split_frames(3, 14, 5)
    assert [c.label for c in chunks] == ["3-7", "8-12", "13-14"]
    assert [t for c in chunks for t in c.frames] == list(range(3, 15))
    with pytest.raises(UsageError):
        plan.split_frames(1, 10, 0)


def test_sequence_chunks_in_any_order_equal_one_render(tmp_path, random_model):
    pattern = write_sequence(tmp_path / "in", moving_frames(FRAMES, 96, 64))
    options = ["--model", str(random_model), *COMMON]
    assert main(["colorize", pattern, str(tmp_path / "single" / "f.####.png"), "-q", *options]) == EXIT_OK
    job = plan.make_plan(pattern, str(tmp_path / "farm" / "f.####.png"), 4, options=options)
    assert not job.needs_join and job.join_command() is None
    run_chunks(job)
    single = sorted((tmp_path / "single").iterdir())
    farmed = sorted((tmp_path / "farm").iterdir())
    assert [p.name for p in farmed] == [p.name for p in single]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(single, farmed))


def test_lossless_video_chunks_join_to_the_single_render_with_the_audio_once(tmp_path, clip, random_model):
    options = ["--model", str(random_model), *COMMON]
    single = tmp_path / "single.mkv"
    assert main(["colorize", str(clip), str(single), "-q", *options]) == EXIT_OK
    job = plan.make_plan(str(clip), str(tmp_path / "out.mkv"), 3, options=options)
    job.save()
    run_chunks(job, seed=2)
    assert main(["farm", "join", str(job.plan_path), "-q"]) == EXIT_OK
    assert not job.staging.exists()  # the chunk files are gone once joined
    joined, reference = decoded(tmp_path / "out.mkv"), decoded(single)
    assert len(joined) == FRAMES
    assert all(np.array_equal(a, b) for a, b in zip(joined, reference))
    assert audio_seconds(tmp_path / "out.mkv") == pytest.approx(audio_seconds(single), abs=0.03)


def test_h264_chunks_join_without_reencoding_into_a_steady_stream(tmp_path, clip, random_model):
    options = ["--model", str(random_model), *COMMON]
    job = plan.make_plan(str(clip), str(tmp_path / "out.mp4"), 4, options=options)
    job.save()
    run_chunks(job)
    parts = [Path(job.chunk_output(c)) for c in job.chunks]
    part_packets = []
    for part in parts:
        with av.open(str(part)) as container:
            part_packets += [bytes(p) for p in container.demux(video=0) if p.size]
    assert plan.join(job) == FRAMES
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        assert stream.average_rate == 24  # no hole in the timeline where a short chunk joins
        assert [bytes(p) for p in packets] == part_packets  # the chunks' own coded frames
        dts = [p.dts for p in packets]
        assert dts == sorted(dts) and len(set(np.diff(dts))) == 1
    assert len(decoded(tmp_path / "out.mp4")) == FRAMES
    assert audio_seconds(tmp_path / "out.mp4") == pytest.approx(FRAMES / 24, abs=0.05)


def test_join_names_the_chunks_still_missing_and_writes_nothing(tmp_path, clip, random_model):
    job = plan.make_plan(str(clip), str(tmp_path / "out.mkv"), 4, options=["--model", str(random_model)])
    job.save()
    assert main(job.chunk_arguments(job.chunks[0])) == EXIT_OK
    with pytest.raises(InputError, match="2 chunk\\(s\\) not rendered yet: frames 5-8, 9-11"):
        plan.join(job)
    assert not (tmp_path / "out.mkv").exists()


def test_a_plan_refuses_what_a_render_would_refuse(tmp_path, clip, capsys):
    existing = tmp_path / "taken.mp4"
    existing.write_bytes(b"not ours")
    assert main(["farm", "outline", str(clip), str(existing), "--chunk", "4"]) == EXIT_OUTPUT
    assert existing.read_bytes() == b"not ours"
    assert (
        main(["farm", "outline", str(clip), str(tmp_path / "a.mp4"), "--chunk", "4", "--", "--frames", "1-2"])
        == EXIT_USAGE
    )
    assert "set by the farm plan" in capsys.readouterr().err
    assert (
        main(["farm", "outline", str(clip), str(tmp_path / "a.mp4"), "--chunk", "4", "--", "--bogus"])
        == EXIT_USAGE
    )
    assert main(["farm", "outline", str(clip), str(tmp_path / "a.png"), "--chunk", "4"]) == EXIT_USAGE
    assert (
        main(["farm", "outline", str(clip), str(tmp_path / "a.mp4"), "--chunk", "4", "--frames", "5-30"])
        == EXIT_USAGE
    )
    assert main(["farm", "join", str(tmp_path / "nothing.json")]) == EXIT_INPUT
    assert not list(tmp_path.glob("a.*"))


def test_commands_file_lists_every_chunk_then_the_join(tmp_path, clip):
    assert main(["farm", "outline", str(clip), str(tmp_path / "o.mp4"), "--chunk", "4", "--format", "commands",
                 "--", "--crf", "20"]) == EXIT_OK  # fmt: skip
    lines = [
        line for line in (tmp_path / "o.mp4.commands.sh").read_text().splitlines() if not line.startswith("#")
    ]
    job = plan.load_plan(tmp_path / "o.mp4.chunks" / "plan.json")
    assert [shlex.split(line) for line in lines] == [
        *(job.chunk_command(c) for c in job.chunks),
        job.join_command(),
    ]
    assert all("--crf" in line and str(clip) in line for line in lines[:-1])


def test_opencue_outline_loads_back_with_pyoutline(tmp_path, clip):
    pyoutline = pytest.importorskip("outline", reason="opencue-pyoutline is not installed")
    job_file = tmp_path / "job.outline"
    assert main(["farm", "outline", str(clip), str(tmp_path / "o.mp4"), "--chunk", "3", "--job", str(job_file),
                 "--executable", "rez env colormotion -- colormotion"]) == EXIT_OK  # fmt: skip
    job = plan.load_plan(tmp_path / "o.mp4.chunks" / "plan.json")
    loaded = pyoutline.load_outline(str(job_file))
    layers = {layer.get_name(): layer for layer in loaded.get_layers()}
    assert set(layers) == {"colorize", "join"}
    assert layers["colorize"].get_frame_range() == f"1-{len(job.chunks)}"
    commands = layers["colorize"].get_arg("commands")
    assert commands == [job.chunk_command(c) for c in job.chunks]
    assert commands[0][:4] == ["rez", "env", "colormotion", "--"]
    assert layers["join"].get_arg("command") == job.join_command()
    assert [d.get_depend_on_layer().get_name() for d in layers["join"].get_depends()] == ["colorize"]


def test_deadline_chunks_are_the_plans_chunks(tmp_path, clip):
    assert main(["farm", "outline", str(clip), str(tmp_path / "o.mp4"), "--chunk", "4", "--format", "deadline",
                 "--job", str(tmp_path / "job")]) == EXIT_OK  # fmt: skip
    job = plan.load_plan(tmp_path / "o.mp4.chunks" / "plan.json")

    def read(name: str) -> dict[str, str]:
        return dict(line.split("=", 1) for line in (tmp_path / name).read_text().splitlines())

    info, plugin = read("job.job_info.txt"), read("job.plugin_info.txt")
    assert info["Plugin"] == "CommandLine" and info["Frames"] == f"1-{FRAMES}" and info["ChunkSize"] == "4"
    # Deadline's own chunking of Frames by ChunkSize, tokens filled in as Deadline does
    first, last = (int(v) for v in info["Frames"].split("-"))
    size = int(info["ChunkSize"])
    for chunk, start in zip(job.chunks, range(first, last + 1, size)):
        stop = min(last, start + size - 1)
        filled = plugin["Arguments"].replace("<STARTFRAME>", str(start)).replace("<ENDFRAME>", str(stop))
        assert shlex.split(filled) == job.chunk_arguments(chunk)
    join_plugin = read("job.join.plugin_info.txt")
    assert [join_plugin["Executable"], *shlex.split(join_plugin["Arguments"])] == job.join_command()
    assert "deadlinecommand -Multi -dependent" in outline.submit_hint(
        "deadline", [tmp_path / n for n in ("a", "b", "c", "d")]
    )


def test_a_split_render_passes_on_every_option_of_the_render_with_absolute_paths(tmp_path, monkeypatch):
    from colormotion.cli.colorize import shared_options
    from colormotion.cli.main import build_parser

    monkeypatch.chdir(tmp_path)
    argv = ["colorize", "in.mp4", "out.mp4", "--ray", "--chunk", "8", "--hints", "h.json", "--reference",
            "3=grade.png", "--crf", "18", "--stateless", "--fps", "30000/1001", "--frames", "1-5", "-q"]  # fmt: skip
    options = shared_options(build_parser().parse_args(argv))
    assert options == ["--stateless", "--hints", "h.json", "--reference", "3=grade.png", "--crf", "18.0",
                       "--fps", "30000/1001"]  # fmt: skip
    assert plan.absolute_paths(options + ["--model=m.onnx"]) == [
        "--stateless", "--hints", str(tmp_path / "h.json"), "--reference", f"3={tmp_path / 'grade.png'}",
        "--crf", "18.0", "--fps", "30000/1001", f"--model={tmp_path / 'm.onnx'}",
    ]  # fmt: skip


def test_chunk_without_ray_is_a_usage_error(tmp_path, clip):
    assert main(["colorize", str(clip), str(tmp_path / "o.mkv"), "--chunk", "4"]) == EXIT_USAGE
    assert not (tmp_path / "o.mkv").exists()


def test_ray_options_are_checked_before_any_cluster_is_reached(tmp_path, clip):
    out = str(tmp_path / "o.mkv")
    assert main(["colorize", str(clip), out, "--ray", "10.0.0.1:1", "--ray-workers", "2"]) == EXIT_USAGE
    assert main(["colorize", str(clip), out, "--ray", "--chunk", "0"]) == EXIT_USAGE
    assert not (tmp_path / "o.mkv").exists()
