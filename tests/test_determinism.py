"""Output depends only on source frames and parameters: never on render order, threads or process."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from colormotion.node import ColorizeNode, StaticParams
from colormotion.temporal.cache import PROCESS_CACHE

from tests.synthetic_clips import ListSource, cut_clip

REPO_ROOT = Path(__file__).resolve().parents[1]
# a 64 px working size keeps the model fast; window 6 gives anchors at 1, 4, 7, ... and a cut at 13
VALUES = {"working_resolution": 64, "temporal_window": 6}
LENGTH, CUT_AT = 18, 12


@pytest.fixture(scope="module")
def clip():
    return cut_clip(length=LENGTH, cut_at=CUT_AT)


@pytest.fixture(scope="module")
def reference(random_model, clip):
    """The clip rendered in order with a cold cache."""
    PROCESS_CACHE.clear()
    return _render(random_model, clip, range(1, LENGTH + 1))


pytestmark = pytest.mark.usefixtures("fresh_cache")  # every test starts with a cold cache


def _render(model_path, frames, order, identity="determinism-clip"):
    node = ColorizeNode(model_path=model_path, provider="cpu")
    source = ListSource(frames, identity=identity)
    params = StaticParams(dict(VALUES))
    rendered = {t: node.render(t, source, params) for t in order}
    return [rendered[t] for t in sorted(rendered)]


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_reverse_order(random_model, clip, reference):
    assert _same(_render(random_model, clip, range(LENGTH, 0, -1)), reference)


def test_random_order(random_model, clip, reference):
    order = list(range(1, LENGTH + 1))
    random.Random(7).shuffle(order)
    assert _same(_render(random_model, clip, order), reference)


def test_content_keys_without_identity(random_model, clip, reference):
    order = list(range(1, LENGTH + 1))
    random.Random(3).shuffle(order)
    assert _same(_render(random_model, clip, order, identity=None), reference)


def test_four_threads_at_once(random_model, clip, reference):
    node = ColorizeNode(model_path=random_model, provider="cpu")
    source = ListSource(clip, identity="determinism-clip")
    params = StaticParams(dict(VALUES))
    order = list(range(1, LENGTH + 1))
    random.Random(11).shuffle(order)
    with ThreadPoolExecutor(max_workers=4) as pool:
        rendered = dict(zip(order, pool.map(lambda t: node.render(t, source, params), order)))
    assert _same([rendered[t] for t in sorted(rendered)], reference)


_HALF_SCRIPT = """
import json, sys
import numpy as np
sys.path[:0] = [{root!r}, {root!r} + "/plugin"]
from colormotion.node import ColorizeNode, StaticParams
from tests.synthetic_clips import ListSource, cut_clip
frames = json.loads(sys.argv[1])
node = ColorizeNode(model_path={model!r}, provider="cpu")
source = ListSource(cut_clip(length={length}, cut_at={cut}), identity="determinism-clip")
params = StaticParams({values!r})
np.savez(sys.argv[2], **{{str(t): node.render(t, source, params) for t in frames}})
"""


def test_two_halves_in_separate_processes(random_model, reference, tmp_path):
    script = _HALF_SCRIPT.format(
        root=str(REPO_ROOT), model=str(random_model), length=LENGTH, cut=CUT_AT, values=VALUES
    )
    halves = [list(range(LENGTH // 2 + 1, LENGTH + 1)), list(range(1, LENGTH // 2 + 1))]  # second half first
    procs = [
        subprocess.Popen([sys.executable, "-c", script, json.dumps(frames), str(tmp_path / f"half{i}.npz")])
        for i, frames in enumerate(halves)
    ]
    assert all(proc.wait(timeout=120) == 0 for proc in procs)
    rendered = {}
    for i in range(2):
        with np.load(tmp_path / f"half{i}.npz") as arrays:
            rendered.update({int(t): arrays[t] for t in arrays.files})
    assert _same([rendered[t] for t in sorted(rendered)], reference)
