"""No output is replaced without --overwrite, even one that appears during the render; of
concurrent renders to one output exactly one wins; killed renders' temporaries are cleaned."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from colormotion.io.atomic import TEMP_PREFIX, AtomicFile, AtomicFolder, remove_stale_temps
from colormotion.io.errors import OutputError

from tests._media import moving_frames, write_video

EXIT_OUTPUT = 4


def colorize_command(model: Path, *args) -> list[str]:
    return [
        sys.executable,
        "-m",
        "colormotion.cli.main",
        "colorize",
        *map(str, args),
        "--model",
        str(model),
        "-q",
    ]


def test_a_file_that_appears_before_commit_is_kept(tmp_path):
    final = tmp_path / "out.png"
    output = AtomicFile(final)
    output.temp.write_bytes(b"render")
    final.write_text("precious")
    with pytest.raises(OutputError, match="appeared during the render"):
        output.commit()
    assert final.read_text() == "precious"
    assert not output.temp.exists()


def test_overwrite_replaces_what_appeared(tmp_path):
    final = tmp_path / "out.png"
    output = AtomicFile(final, overwrite=True)
    output.temp.write_bytes(b"render")
    final.write_text("old")
    output.commit()
    assert final.read_bytes() == b"render"


def test_a_sequence_commit_that_meets_a_foreign_frame_takes_its_own_frames_back(tmp_path):
    folder = AtomicFolder(tmp_path, "f.####.png")
    for t in range(1, 5):
        folder.temp_path(f"f.{t:04d}.png").write_bytes(b"render")
    (tmp_path / "f.0003.png").write_text("precious")
    with pytest.raises(OutputError):
        folder.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.0003.png"]
    assert (tmp_path / "f.0003.png").read_text() == "precious"


@pytest.fixture
def clip(tmp_path) -> Path:
    return write_video(tmp_path / "in.mp4", moving_frames(48, 256, 160))


def test_an_output_written_during_the_render_is_not_replaced(clip, tmp_path, random_model):
    out = tmp_path / "out" / "out.mp4"
    render = subprocess.Popen(colorize_command(random_model, clip, out), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while (
        not any(p.name.startswith(TEMP_PREFIX) for p in out.parent.glob("*")) and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    out.write_text("precious")
    _, err = render.communicate(timeout=300)
    assert render.returncode == EXIT_OUTPUT, err
    assert "appeared during the render" in err and TEMP_PREFIX not in err
    assert out.read_text() == "precious"
    assert [p.name for p in out.parent.iterdir()] == ["out.mp4"]


def test_of_concurrent_renders_to_one_output_exactly_one_wins(clip, tmp_path, random_model):
    out = tmp_path / "out.mp4"
    renders = [
        subprocess.Popen(colorize_command(random_model, clip, out), stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    codes = sorted(render.wait(timeout=600) for render in renders)
    assert codes == [0, EXIT_OUTPUT, EXIT_OUTPUT]
    assert out.stat().st_size > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_stale_temporaries_of_the_output_are_removed_live_ones_kept(tmp_path):
    stale_file = tmp_path / f"{TEMP_PREFIX}out.mp4-abc123.mp4"
    stale_file.write_bytes(b"left by a killed render")
    stale_folder = tmp_path / f"{TEMP_PREFIX}out.mp4-def456"
    stale_folder.mkdir()
    (stale_folder / "frame.png").write_bytes(b"x")
    live = tmp_path / f"{TEMP_PREFIX}out.mp4-live99.mp4"
    live.write_bytes(b"being written")
    other = tmp_path / f"{TEMP_PREFIX}other.mp4-abc.mp4"  # another output's: not ours to judge
    other.write_bytes(b"x")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            str(live),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        removed = remove_stale_temps(tmp_path, "out.mp4")
    finally:
        holder.kill()
    assert sorted(removed) == sorted([stale_file, stale_folder])
    assert live.exists() and other.exists()


def test_a_render_cleans_what_a_killed_render_of_its_output_left(clip, tmp_path, random_model):
    stale = tmp_path / f"{TEMP_PREFIX}out.mp4-abc123.mp4"
    stale.write_bytes(b"left by a killed render")
    result = subprocess.run(colorize_command(random_model, clip, tmp_path / "out.mp4"), capture_output=True)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]


def test_temporaries_are_locked_by_their_writer(tmp_path):
    output = AtomicFile(tmp_path / "out.png")
    fd = os.open(output.temp, os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
        output.discard()


def test_write_errors_name_the_users_path_never_a_temporary(tmp_path, monkeypatch):
    import numpy as np
    from colormotion.io import sink as sink_module
    from colormotion.io.sequence import parse_pattern

    def failing_write(path, *args, **kwargs):
        raise OutputError(f"disk full while writing {path}", path)

    monkeypatch.setattr(sink_module, "write_image", failing_write)
    frame = np.zeros((4, 4, 3), np.uint8)
    for make, final in (
        (lambda: sink_module.StillSink(tmp_path / "still.png", lambda t: None), tmp_path / "still.png"),
        (
            lambda: sink_module.SequenceSink(parse_pattern(tmp_path / "f.####.png"), lambda t: None),
            tmp_path / "f.0001.png",
        ),
    ):
        output = make()
        with pytest.raises(OutputError) as caught:
            output.write(1, frame)
        output.discard()
        assert TEMP_PREFIX not in str(caught.value) and str(final) in str(caught.value)
