"""Chain rule, scene cuts, the process cache, stage timings and the engine's temporal behaviour."""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np
import pytest
from colormotion import colour, profiling
from colormotion.model import load_model
from colormotion.temporal import chain, cuts
from colormotion.temporal.cache import ProcessCache, digest
from colormotion.temporal.cuts import cut_score, is_scene_cut
from colormotion.temporal.engine import EngineSettings, TemporalEngine
from skimage import data

from tests.synthetic_clips import ListSource, StreamingSource, camera_move, cut_clip

CUT_AT = 10  # index of the first frame after the cut in cut_clip()
FAST = EngineSettings(working_short_side=64, temporal_window=4)


# ---------------------------------------------------------------------------------------------
# chain rule


@pytest.mark.parametrize("first", [0, 1, 1001])
def test_nominal_start_follows_the_rule(first):
    window, spacing = 16, 8
    for offset in range(60):
        t = first + offset
        nominal = chain.nominal_start(t, first, window)
        assert nominal == max(first, first + (offset // spacing - 1) * spacing)
        assert nominal <= t and t - nominal < window  # at most W steps
        assert t - nominal >= spacing or nominal == first  # warmed up for K frames


def test_chain_start_takes_the_latest_cut_after_nominal():
    cuts = {5, 21, 23}
    start = lambda t: chain.chain_start(t, 0, 16, cuts.__contains__)  # noqa: E731
    assert start(4) == 0
    assert start(5) == 5 and start(7) == 5  # cut within the first chain
    assert start(16) == 8  # nominal 8 > cut 5: the cut is behind the window
    assert start(22) == 21 and start(24) == 23
    assert start(31) == 23 and start(32) == 24  # nominal 24 passes cut 23


def test_live_chains_cover_every_later_frame():
    cuts = {13, 40}
    first, window = 3, 8
    is_cut = cuts.__contains__
    for t in range(first, 70):
        live = chain.live_chain_starts(t, chain.chain_start(t, first, window, is_cut), first, window)
        for u in range(t, t + 2 * window):
            start_u = chain.chain_start(u, first, window, is_cut)
            assert start_u in live or start_u > t, (t, u, live)


def test_window_must_be_even():
    with pytest.raises(ValueError, match="even"):
        chain.nominal_start(5, 0, 7)


# ---------------------------------------------------------------------------------------------
# scene cuts


def _working_gray(rgb: np.ndarray, height: int = 128, width: int = 192) -> np.ndarray:
    return colour.model_gray(colour.to_lightness(rgb, "srgb"), (height, width))


@pytest.mark.parametrize("photos", [("astronaut", "coffee"), ("chelsea", "rocket"), ("camera", "moon")])
def test_switching_photos_is_a_cut(photos):
    a, b = (camera_move(getattr(data, name)(), 1, 128, 192)[0] for name in photos)
    assert is_scene_cut(_working_gray(a), _working_gray(b))


@pytest.mark.parametrize("photo", ["astronaut", "coffee", "chelsea", "camera"])
def test_a_small_camera_move_is_not_a_cut(photo):
    frames = camera_move(getattr(data, photo)(), 4, 128, 192, step=3.0)
    grays = [_working_gray(f) for f in frames]
    assert not any(is_scene_cut(a, b) for a, b in zip(grays, grays[1:]))


def test_sensitivity_controls_eagerness():
    frames = camera_move(data.astronaut(), 2, 128, 192, step=6.0)
    a, b = (_working_gray(f) for f in frames)
    brighter = np.clip(a * 1.4 + 0.1, 0, 1).astype(np.float32)  # an exposure jump, same shot
    noise = np.random.default_rng(0).standard_normal(a.shape).astype(np.float32)
    other = cv2.GaussianBlur(noise, (0, 0), 8)
    other = ((other - other.min()) / np.ptp(other)).astype(np.float32)
    assert not is_scene_cut(a, other, sensitivity=0.0)  # 0 never cuts
    assert not is_scene_cut(a, b, sensitivity=0.5)
    assert is_scene_cut(a, brighter, sensitivity=1.0)
    scores = [cut_score(a, b), cut_score(a, brighter), cut_score(a, other)]
    assert scores == sorted(scores)
    assert cut_score(a, b) == cut_score(a.copy(), b.copy())  # a pure function
    assert is_scene_cut(a, a[:64], sensitivity=0.0)  # a change of frame size always is a new shot


def test_tone_histogram_bins_like_numpy_histogram_edges_included():
    rng = np.random.default_rng(5)
    edges = np.arange(33, dtype=np.float32) / 32  # every bin edge, 0 and 1 included
    gray = np.concatenate([rng.random(4000, dtype=np.float32), edges, np.nextafter(edges, -1)[1:]])
    gray = gray.reshape(1, -1)
    expected, _ = np.histogram(gray, bins=32, range=(0.0, 1.0))
    np.testing.assert_array_equal(cuts._histogram(gray), expected / gray.size)


# ---------------------------------------------------------------------------------------------
# the process cache


def test_cache_is_bounded_and_lru():
    cache = ProcessCache(max_bytes=10_000)
    for i in range(50):
        cache.put(("a", i), np.zeros(250, np.float32))  # ~1 kB each
        assert cache.nbytes <= cache.max_bytes
    assert ("a", 49) in cache and ("a", 0) not in cache
    cache.get(("a", 45))  # touch: now the most recent
    for i in range(50, 55):
        cache.put(("a", i), np.zeros(250, np.float32))
    assert ("a", 45) in cache and ("a", 46) not in cache
    cache.put("huge", np.zeros(10_000, np.float32))  # larger than the bound: not kept
    assert "huge" not in cache and cache.nbytes <= cache.max_bytes


def test_cached_arrays_are_read_only():
    cache = ProcessCache(max_bytes=1 << 20)
    value = cache.get_or_compute("k", lambda: np.ones(4))
    with pytest.raises(ValueError):
        value[0] = 5


def test_the_arrays_of_a_model_s_dataclass_outputs_are_counted_and_frozen():
    """encode's outputs (GraphModel's Encoded) are most of what a contract-2 render caches: the
    bound must count their arrays (it once counted 64 bytes for the whole object)."""
    from colormotion.graph_model import Encoded

    encoded = Encoded(*(np.zeros(1000, np.float32) for _ in range(4)))
    cache = ProcessCache(max_bytes=1 << 20)
    cache.put("encoded", encoded)
    assert 4 * 4000 <= cache.nbytes < 4 * 4000 + 1000  # its four arrays, and the bookkeeping
    with pytest.raises(ValueError):
        encoded.skip2[0] = 1.0
    small = ProcessCache(max_bytes=10_000)
    small.put("encoded", encoded)  # larger than that whole bound: not kept
    assert "encoded" not in small


def test_concurrent_requests_compute_once():
    cache = ProcessCache(max_bytes=1 << 20)
    calls = []
    barrier = threading.Barrier(6)

    def compute():
        calls.append(1)
        time.sleep(0.05)
        return np.arange(3)

    def worker(out):
        barrier.wait()
        out.append(cache.get_or_compute("shared", compute))

    results: list = []
    threads = [threading.Thread(target=worker, args=(results,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(calls) == 1 and len(results) == 6
    assert all(np.array_equal(r, np.arange(3)) for r in results)


def test_failed_computation_is_not_cached_and_reentry_does_not_deadlock():
    cache = ProcessCache(max_bytes=1 << 20)

    def broken():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        cache.get_or_compute("k", broken)
    assert "k" not in cache
    assert cache.get_or_compute("k", lambda: 7) == 7
    inner = cache.get_or_compute("outer", lambda: cache.get_or_compute("outer", lambda: 3) + 1)
    assert inner in (3, 4)


def test_digest_tells_arrays_apart():
    a = np.zeros((2, 3), np.float32)
    assert digest(a) == digest(a.copy())
    assert digest(a) != digest(a.reshape(3, 2)) != digest(a.astype(np.float64))
    assert digest("x", 1) != digest("x1") != digest(("x", 1))


def test_stage_timer_accumulates():
    timer = profiling.StageTimer()
    for _ in range(3):
        with timer.stage("flow"):
            pass
    snap = timer.snapshot()
    assert snap["flow"].calls == 3 and snap["flow"].seconds >= 0
    timer.reset()
    assert timer.snapshot() == {}


# ---------------------------------------------------------------------------------------------
# the engine (random-weight model, 64x96 clips at a 64 px working size)


@pytest.fixture(scope="module")
def engine(random_model):
    return TemporalEngine(load_model(random_model, "cpu"))


@pytest.fixture(scope="module")
def clip():
    return cut_clip(length=16, cut_at=CUT_AT)


def _render_all(engine, source, settings=FAST, order=None, hints_at=None):
    frames = list(range(source.first_frame, source.last_frame + 1)) if order is None else order
    out = {t: engine.render(source, t, settings, hints_at) for t in frames}
    return [out[t] for t in sorted(out)]


def test_output_keeps_size_dtype_and_lightness(engine, clip, fresh_cache):
    source = ListSource(clip)
    frame = engine.render(source, 3, FAST)
    assert frame.shape == clip[2].shape and frame.dtype == clip[2].dtype
    lightness_in = colour.to_lightness(clip[2], "srgb")
    lightness_out = colour.to_lightness(frame, "srgb")
    assert np.abs(lightness_in - lightness_out).mean() < 1.0  # L* kept up to 8-bit rounding
    assert np.abs(frame.astype(int) - clip[2]).max() > 0  # colour was added


def test_in_order_equals_reverse_with_a_cold_cache(engine, clip, fresh_cache):
    source = ListSource(clip)
    forward = _render_all(engine, source)
    fresh_cache.clear()
    backward = _render_all(engine, source, order=list(range(source.last_frame, source.first_frame - 1, -1)))
    assert all(np.array_equal(a, b) for a, b in zip(forward, backward))


def test_random_access_costs_at_most_window_plus_one_steps(engine, clip, fresh_cache):
    source = ListSource(clip)
    settings = EngineSettings(working_short_side=64, temporal_window=8)
    for t in range(source.first_frame, source.last_frame + 1):
        fresh_cache.clear()
        profiling.reset()
        engine.render(source, t, settings)
        assert profiling.snapshot()["model"].calls <= settings.temporal_window + 1


def test_random_access_reads_only_its_window(engine, clip, fresh_cache):
    for identity in ("clip", None):
        for t in (1, 6, 9, 16):
            fresh_cache.clear()
            source = ListSource(clip, identity=identity)
            engine.render(source, t, FAST)
            nominal = chain.nominal_start(t, source.first_frame, FAST.temporal_window)
            assert set(source.reads) <= set(range(nominal, t + 1)) and t in source.reads
            assert len(source.reads) == len(set(source.reads))  # each frame read once


def test_in_order_rendering_takes_two_steps_per_frame(engine, fresh_cache):
    source = ListSource(camera_move(data.astronaut(), 24, 64, 96))
    profiling.reset()
    _render_all(engine, source)
    assert profiling.snapshot()["model"].calls <= 2 * 24


def test_a_cut_resets_state(engine, clip, fresh_cache):
    whole = ListSource(clip, identity="whole")
    after_cut = whole.first_frame + CUT_AT
    in_clip = _render_all(engine, whole)[CUT_AT:]
    second_shot = ListSource(clip[CUT_AT:], first=after_cut, identity="second-shot")
    alone = _render_all(engine, second_shot)
    assert all(np.array_equal(a, b) for a, b in zip(in_clip, alone))


def test_stateless_differs_from_stateful(engine, clip, fresh_cache):
    source = ListSource(clip)
    stateless = EngineSettings(working_short_side=64, temporal_window=4, stateless=True)
    t = source.first_frame + 6
    with_state = engine.render(source, t, FAST)
    without = engine.render(source, t, stateless)
    assert not np.array_equal(with_state, without)
    alone = ListSource([clip[6]], first=t, identity="single")
    assert np.array_equal(without, engine.render(alone, t, FAST))  # stateless = the frame alone


def test_streaming_in_order_equals_random_access(engine, clip, fresh_cache):
    reference = _render_all(engine, ListSource(clip))
    fresh_cache.clear()
    stream = StreamingSource(clip, identity="stream-in-order")
    streamed = []
    for t in range(stream.first_frame, stream.last_frame + 1):
        stream.current = t
        streamed.append(engine.render(stream, t, FAST))
    assert all(np.array_equal(a, b) for a, b in zip(reference, streamed))


def test_streaming_without_identity_equals_random_access(engine, clip, fresh_cache):
    reference = _render_all(engine, ListSource(clip, identity=None))
    fresh_cache.clear()
    stream = StreamingSource(clip, identity=None)
    for t, expected in zip(range(stream.first_frame, stream.last_frame + 1), reference):
        stream.current = t
        assert np.array_equal(engine.render(stream, t, FAST), expected)


def test_streaming_out_of_order_warns_and_recovers(engine, clip, fresh_cache, caplog):
    reference = _render_all(engine, ListSource(clip))
    fresh_cache.clear()
    stream = StreamingSource(clip, identity="stream-jumping")
    jump_to = 7  # frames 1, 2, then 7 onwards
    results = {}
    with caplog.at_level(logging.WARNING, logger="colormotion"):
        for t in [1, 2, *range(jump_to, stream.last_frame + 1)]:
            stream.current = t
            results[t] = engine.render(stream, t, FAST)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "out of order" in r.message]
    assert len(warnings) == 1 and "frame 7" in warnings[0].message
    assert results[7].shape == clip[6].shape
    assert not np.array_equal(results[7], reference[6])  # best effort, not the exact chain
    # exact again once the chain rule only needs frames streamed in order (the cut at 11 resets)
    for t in range(1 + CUT_AT, stream.last_frame + 1):
        assert np.array_equal(results[t], reference[t - 1])


def test_streaming_with_dropped_frames_carries_state_over_the_gaps(engine, clip, fresh_cache, caplog):
    """A player that cannot keep up drops frames: the state bridges each gap within a shot."""
    stream = StreamingSource(clip, identity="stream-dropping")
    shown = [1, 2, 3, 5, 6, 9, 10, 12, 14, 15, 16]  # the cut is at 11 (not shown)
    results = {}
    with caplog.at_level(logging.WARNING, logger="colormotion"):
        for t in shown:
            stream.current = t
            results[t] = engine.render(stream, t, FAST)
    assert any("out of order" in r.message for r in caplog.records)
    fresh_cache.clear()
    stateless = EngineSettings(working_short_side=64, temporal_window=4, stateless=True)
    alone = {t: engine.render(ListSource(clip), t, stateless) for t in (5, 9, 12)}
    assert not np.array_equal(results[5], alone[5])  # bridged from frame 3, not restarted
    assert not np.array_equal(results[9], alone[9])
    # frame 12 follows the cut at 11, which was dropped: the cut check refuses the bridge
    assert np.array_equal(results[12], alone[12])
    # rendered again in order, every frame is exact
    reference = _render_all(engine, ListSource(clip))
    stream = StreamingSource(clip, identity="stream-dropping-2")
    for t in range(1, len(clip) + 1):
        stream.current = t
        assert np.array_equal(engine.render(stream, t, FAST), reference[t - 1])


def test_cache_stays_under_its_bound(random_model, clip):
    cache = ProcessCache(max_bytes=200_000)
    engine = TemporalEngine(load_model(random_model, "cpu"), cache)
    source = ListSource(clip)
    reference = _render_all(TemporalEngine(engine.model, ProcessCache(1 << 30)), source)
    for t in range(source.first_frame, source.last_frame + 1):
        assert np.array_equal(engine.render(source, t, FAST), reference[t - 1])
        assert 0 < cache.nbytes <= cache.max_bytes


def test_settings_are_validated():
    with pytest.raises(ValueError, match="even"):
        EngineSettings(temporal_window=5)
    with pytest.raises(ValueError, match="multiple of 32"):
        EngineSettings(working_short_side=100)
    with pytest.raises(ValueError, match="transfer"):
        EngineSettings(transfer="gamma22")


def test_frames_outside_the_clip_are_refused(engine, clip):
    with pytest.raises(ValueError, match="outside"):
        engine.render(ListSource(clip), 0, FAST)


# ---------------------------------------------------------------------------------------------
# hints in the chain (a stand-in rasteriser: the engine only needs hints.rasterise)


class _Spot:
    def __init__(self, x: float, y: float, a: float, b: float):
        self.x, self.y, self.a, self.b = x, y, a, b


def _rasterise_spots(active, height, width):
    raster = np.zeros((3, height, width), np.float32)
    for spot in active:
        row, col = int(spot.y * (height - 1)), int(spot.x * (width - 1))
        raster[:, max(0, row - 2) : row + 3, max(0, col - 2) : col + 3] = np.array(
            [spot.a / 110, spot.b / 110, 1.0], np.float32
        )[:, None, None]
    return raster


@pytest.fixture()
def spot_hints(monkeypatch):
    import importlib
    import sys
    import types

    try:
        module = importlib.import_module("colormotion.hints")
    except ImportError:
        module = types.ModuleType("colormotion.hints")
        monkeypatch.setitem(sys.modules, "colormotion.hints", module)
    monkeypatch.setattr(module, "rasterise", _rasterise_spots, raising=False)


def test_changing_hints_changes_only_the_chains_that_see_them(engine, clip, fresh_cache, spot_hints):
    # float frames: the random model's hints reach later frames only faintly, below 8-bit steps
    source = ListSource([f.astype(np.float32) / 255 for f in clip], identity="float-clip")
    settings = EngineSettings(working_short_side=64, temporal_window=4)
    hinted_frame = 6
    plain = _render_all(engine, source, settings)
    spot = _Spot(0.5, 0.5, 60.0, -40.0)
    hinted = _render_all(engine, source, settings, hints_at=lambda k: [spot] if k == hinted_frame else [])
    frames = range(source.first_frame, source.last_frame + 1)
    cuts = {source.first_frame + CUT_AT}
    for t, a, b in zip(frames, plain, hinted):
        start = chain.chain_start(t, source.first_frame, settings.temporal_window, cuts.__contains__)
        sees_hint = start <= hinted_frame <= t
        assert np.array_equal(a, b) != sees_hint, t
    # the same hints again: served from the cache, identical
    profiling.reset()
    again = _render_all(engine, source, settings, hints_at=lambda k: [spot] if k == hinted_frame else [])
    assert all(np.array_equal(a, b) for a, b in zip(hinted, again))
    assert "model" not in profiling.snapshot()


def test_a_change_of_frame_size_restarts_the_chain(engine, clip, fresh_cache):
    portrait = [np.ascontiguousarray(cv2.resize(f, (64, 48)).transpose(1, 0, 2)) for f in clip[8:]]
    source = ListSource(clip[:8] + portrait, identity="mixed-sizes")
    never_cut = EngineSettings(working_short_side=64, temporal_window=4, cut_sensitivity=0.0)
    frames = _render_all(engine, source, never_cut)
    assert [f.shape[:2] for f in frames] == [(64, 96)] * 8 + [(64, 48)] * (len(clip) - 8)


def test_a_streamed_frame_waits_for_the_previous_one_another_thread_renders():
    """Parallel streaming hosts (MLT real_time -2/-4): frame t starts only after frame t-1 ends."""
    import threading
    import time

    from colormotion.temporal.engine import _StreamTracker

    tracker = _StreamTracker(keep=16)
    tracker.begin(4, first=0, window=4)
    order = []

    def render_five():
        tracker.begin(5, first=0, window=4)
        order.append("5 begins")
        tracker.end(5)

    worker = threading.Thread(target=render_five)
    worker.start()
    time.sleep(0.3)
    order.append("4 ends")
    tracker.end(4)
    worker.join(timeout=10)
    assert order == ["4 ends", "5 begins"]


def test_a_single_threaded_seek_does_not_wait():
    """Nothing else under way and frames already seen: a frame whose t-1 never came goes at once."""
    import time

    from colormotion.temporal.engine import _StreamTracker

    tracker = _StreamTracker(keep=16)
    tracker.begin(1, first=0, window=4)
    tracker.end(1)
    started = time.monotonic()
    tracker.begin(40, first=0, window=4)  # a seek: 39 never comes
    assert time.monotonic() - started < 0.2
    tracker.end(40)


def _tracker_seen_rendering_in_parallel():
    """A stream tracker whose frames 0 and 1 were rendered at once, both finished."""
    import threading

    from colormotion.temporal.engine import _StreamTracker

    tracker = _StreamTracker(keep=16)
    tracker.begin(0, first=0, window=4)
    second = threading.Thread(target=lambda: (tracker.begin(1, first=0, window=4), tracker.end(1)))
    second.start()
    tracker.end(0)
    second.join(timeout=10)
    return tracker


def test_a_parallel_stream_waits_for_a_previous_frame_still_in_the_hosts_decode():
    """MLT on several threads: frames 0 and 1 rendered at once, then nothing is under way while
    frame 2's thread is still decoding and frame 3's reaches the filter. Frame 3 waits for 2."""
    import threading
    import time

    tracker = _tracker_seen_rendering_in_parallel()
    assert not tracker.in_flight
    order = []

    def render_three():
        tracker.begin(3, first=0, window=4)
        order.append("3 begins")
        tracker.end(3)

    worker = threading.Thread(target=render_three)
    worker.start()
    time.sleep(0.3)
    tracker.begin(2, first=0, window=4)
    order.append("2 begins")
    time.sleep(0.1)
    tracker.end(2)
    worker.join(timeout=10)
    assert order == ["2 begins", "3 begins"]


def test_a_seek_in_a_parallel_stream_does_not_wait():
    import time

    tracker = _tracker_seen_rendering_in_parallel()
    started = time.monotonic()
    tracker.begin(40, first=0, window=4)  # a seek: 39 never comes
    assert time.monotonic() - started < 0.2
    tracker.end(40)
