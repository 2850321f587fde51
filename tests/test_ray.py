"""`colorize --ray ADDRESS` on a real Ray cluster on loopback (`ray start --head`, two CPUs):
output identical to one render, a worker killed mid-chunk, a chunk that keeps failing."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from colormotion.cli.main import EXIT_INPUT, EXIT_MODEL, EXIT_OK, main

from tests._media import moving_frames, write_sequence

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'colormotion[ray]')")
RAY = Path(sys.executable).with_name("ray")
TIMEOUT = 240
# loopback only: no token authentication between the test's cluster and its drivers
RAY_ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A head node with two worker CPUs on 127.0.0.1; `ray stop` afterwards (it stops every Ray
    process of this user on the machine: CI runs nothing else)."""
    port = free_port()
    env = RAY_ENV
    start = [str(RAY), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2"]
    start += ["--include-dashboard=false", "--disable-usage-stats"]
    subprocess.run(start, check=True, capture_output=True, env=env, timeout=TIMEOUT)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(RAY), "stop", "--force"], capture_output=True, env=env, timeout=TIMEOUT)


def colorize_on(cluster: str, *argv: str) -> subprocess.Popen:
    """The driver in its own process, as a user runs it from a terminal: with Ctrl-C's default
    action, even when the suite itself runs in the background (a shell's `&` ignores SIGINT for
    what it starts, and the ignore would pass on to the driver)."""
    command = [sys.executable, "-m", "colormotion.cli.main", "colorize", *argv, "--ray", cluster]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=RAY_ENV,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def single_render(pattern: str, output: Path, options: list[str]) -> list[bytes]:
    assert main(["colorize", pattern, str(output / "f.####.png"), "-q", *options]) == EXIT_OK
    return [p.read_bytes() for p in sorted(output.iterdir())]


def chunk_workers() -> list[int]:
    """Worker processes running a chunk now (Ray titles them after the task)."""
    listing = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in listing.splitlines() if "ray::render_chunk" in line]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    return write_sequence(tmp_path_factory.mktemp("ray-input"), moving_frames(40, 160, 128))


def test_a_ray_render_equals_one_render(cluster, clip, tmp_path, random_model):
    options = ["--model", str(random_model), "--working-resolution", "128"]
    expected = single_render(clip, tmp_path / "single", options)
    driver = colorize_on(cluster, clip, str(tmp_path / "ray" / "f.####.png"), "--chunk", "8", *options)
    _, err = driver.communicate(timeout=TIMEOUT)
    assert driver.returncode == EXIT_OK, err
    assert "40/40 frames, 5/5 chunks" in err
    frames = sorted((tmp_path / "ray").iterdir())
    assert [p.read_bytes() for p in frames] == expected  # no staging folder left beside them either


def test_a_worker_killed_mid_chunk_is_retried_and_no_frame_is_lost(cluster, clip, tmp_path, random_model):
    options = ["--model", str(random_model), "--working-resolution", "128"]
    expected = single_render(clip, tmp_path / "single", options)
    driver = colorize_on(cluster, clip, str(tmp_path / "ray" / "f.####.png"), "--chunk", "20", *options)
    deadline, killed = time.monotonic() + TIMEOUT, None
    while killed is None and driver.poll() is None and time.monotonic() < deadline:
        workers = chunk_workers()
        if workers:
            os.kill(workers[0], signal.SIGKILL)
            killed = workers[0]
        time.sleep(0.02)
    _, err = driver.communicate(timeout=TIMEOUT)
    assert killed is not None, "no chunk was seen running"
    assert driver.returncode == EXIT_OK, err
    assert [p.read_bytes() for p in sorted((tmp_path / "ray").iterdir())] == expected


def test_a_chunk_that_keeps_failing_stops_the_job_naming_it(cluster, tmp_path, random_model):
    pattern = write_sequence(tmp_path / "in", moving_frames(24, 160, 128))
    damaged = sorted((tmp_path / "in").iterdir())[17]  # frame 18: only the chunk of 17-24 reads it
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    options = ["--model", str(random_model), "--chunk", "8"]
    driver = colorize_on(cluster, pattern, str(tmp_path / "out" / "f.####.png"), *options)
    _, err = driver.communicate(timeout=TIMEOUT)
    assert driver.returncode == EXIT_INPUT, err
    assert re.search(r"frames 17-24 failed on every attempt: .*18", err), err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_what_every_chunk_would_refuse_is_refused_before_a_cluster_starts(cluster, clip, tmp_path):
    driver = colorize_on(
        cluster, clip, str(tmp_path / "out" / "f.####.png"), "--model", str(tmp_path / "none.onnx")
    )
    _, err = driver.communicate(timeout=TIMEOUT)
    assert driver.returncode == EXIT_MODEL, err
    assert "none.onnx" in err and "failed on every attempt" not in err


def test_ctrl_c_on_the_driver_cancels_and_leaves_no_output(cluster, clip, tmp_path, random_model):
    options = ["--model", str(random_model), "--working-resolution", "128"]
    driver = colorize_on(cluster, clip, str(tmp_path / "out" / "f.####.png"), "--chunk", "4", *options)
    lines = []
    for line in driver.stderr:  # wait until frames of a first chunk are at their final paths
        lines.append(line)
        if " frames, " in line:
            break
    assert list((tmp_path / "out").iterdir()), "".join(lines)
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=TIMEOUT)
    assert driver.returncode == 130, "".join(lines) + err
    assert not list((tmp_path / "out").iterdir())  # neither frames nor the staging folder
