"""The Ray driver's frame placement: what it placed is what a Ctrl-C removes (no Ray needed)."""

import os
import signal

import pytest
from colormotion.farm import ray_driver
from colormotion.farm.plan import Chunk, FarmPlan


@pytest.fixture(autouse=True)
def python_ctrl_c():
    """Python's own Ctrl-C handler (tests that ran before may have left another one)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_inside_the_deferred_block_waits_for_its_end():
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with ray_driver._interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append(True)  # reached: the interrupt waits for the block's end
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_a_frame_placed_as_ctrl_c_arrives_is_recorded_for_removal(tmp_path, monkeypatch):
    staging, out = tmp_path / "staging", tmp_path / "out"
    staging.mkdir(), out.mkdir()
    for t in range(1, 5):
        (staging / f"f.{t:04d}.png").write_bytes(b"frame %d" % t)
    job = FarmPlan(input="in.####.png", output=str(out / "f.####.png"), first=1, last=4, chunks=[Chunk(1, 4)])
    task_job = ray_driver._chunk_job(job, staging)  # the plan the tasks render: into staging
    real_place = ray_driver.place

    def place_then_interrupt(source, target, overwrite):
        real_place(source, target, overwrite=overwrite)
        if target.name == "f.0002.png":  # Ctrl-C just after the second frame landed
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(ray_driver, "place", place_then_interrupt)
    placed = []
    with pytest.raises(KeyboardInterrupt):
        ray_driver._place_frames(task_job, job, job.chunks[0], placed)
    assert placed == [out / "f.0001.png", out / "f.0002.png"]
    assert sorted(p.name for p in out.iterdir()) == ["f.0001.png", "f.0002.png"]
