"""Per-stage wall-clock timings for `colormotion bench`.

Stages used by the engine: "lab", "cuts", "flow", "hints", "model", "upsample" (colour
recombine); the command line adds "decode" and "encode". Timing is always on: a
`perf_counter` pair per stage costs well under a microsecond next to milliseconds of work.

    with profiling.stage("flow"):
        ...
    profiling.snapshot()  # {"flow": StageTime(calls=..., seconds=...), ...}

Work counters add up amounts that are not times (the GFLOPs the model computed):
    profiling.add_work("model_gflops", 1.2); profiling.work()  # {"model_gflops": 1.2}
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class StageTime:
    calls: int
    seconds: float

    @property
    def ms_per_call(self) -> float:
        return 1000.0 * self.seconds / self.calls if self.calls else 0.0


class StageTimer:
    """A thread-safe accumulator of (calls, seconds) per stage name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        self._seconds: dict[str, float] = {}
        self._work: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self._calls[name] = self._calls.get(name, 0) + 1
            self._seconds[name] = self._seconds.get(name, 0.0) + seconds

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - begin)

    def add_work(self, name: str, amount: float) -> None:
        with self._lock:
            self._work[name] = self._work.get(name, 0.0) + amount

    def work(self) -> dict[str, float]:
        with self._lock:
            return dict(self._work)

    def snapshot(self) -> dict[str, StageTime]:
        with self._lock:
            return {name: StageTime(self._calls[name], self._seconds[name]) for name in self._calls}

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._seconds.clear()
            self._work.clear()


# The process-wide accumulator: the engine, the CLI and `colormotion bench` share it.
STAGE_TIMER = StageTimer()
stage = STAGE_TIMER.stage
snapshot = STAGE_TIMER.snapshot
reset = STAGE_TIMER.reset
add = STAGE_TIMER.add
add_work = STAGE_TIMER.add_work
work = STAGE_TIMER.work
