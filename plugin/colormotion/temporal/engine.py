"""The temporal engine: frame t of a clip -> the colourised frame, independent of render order.

Frame t is the last step of the chain chosen by `chain.chain_start` (ARCHITECTURE.md). Each
step k of a chain: working-res L* of frame k, feature-grid flow k -> k-1 and, with a contract-2
model, `encode` (once per frame, shared by every chain through it) and `blend` (the state);
`decode` runs only where a*b* is wanted: the output frame, and every step of a chain whose
guide (references, hints) carries on. A contract-1 model runs one `StepModel.step` per step.
The last step's a*b* goes to `colour.recombine` with the full-resolution frame t, whose L* is
kept exactly.

Every intermediate value sits in the process cache under a key that names everything it
depends on (model sha256, working size, transfer, frame identity or content, hints), so a
cache hit is bit-identical to recomputing and renders agree in any order, on any thread, in
any process. A chain state's key hashes the keys of all its frames and hints in order.

Streaming sources (random_access False) hand out only the current frame. In-order streaming
reuses the states the previous frame left in the cache, which are exactly those random access
would compute, so its output is identical. When a needed state is missing (a seek, frames
dropped by a player that cannot keep up, a stream that began mid-clip) a warning is logged and
the frame continues the previous output's state across the gap (flow t -> previous frame)
when the stream moved forward within one shot, else starts afresh; exact output resumes once
the chain rule needs only frames streamed in order.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import colour, profiling
from ..contract import AB_SCALE, MAX_HINT_SPREAD, MAX_VIVIDNESS
from ..model import StepModel
from . import chain, propagate
from .cache import PROCESS_CACHE, ProcessCache, digest
from .cuts import is_scene_cut
from .flow import feature_flow

log = logging.getLogger("colormotion")

HintsAt = Callable[[int], Sequence[Any]]  # frame -> list[ActiveHint]

WORKING_SHORT_SIDES = (256, 384, 512, 768)


@dataclass(frozen=True)
class EngineSettings:
    """Everything besides the source, the hints and the model that changes the output."""

    working_short_side: int = 256
    temporal_window: int = 16
    cut_sensitivity: float = 0.5
    transfer: str = "srgb"
    strength: float = 1.0
    stateless: bool = False
    vividness: float = 0.0  # contract 2: favour rarer, more saturated colours (0 = as trained)
    # contract 2: how far hint colours spread over their regions (propagate.spread_guide; 0 = off)
    hint_spread: float = 1.0

    def __post_init__(self) -> None:
        side = self.working_short_side
        if isinstance(side, bool) or not isinstance(side, int) or side < 32 or side % 32:
            raise ValueError(f"working_short_side must be a positive multiple of 32, got {side!r}")
        chain.anchor_spacing(self.temporal_window)
        if not 0.0 <= self.cut_sensitivity <= 1.0:
            raise ValueError(f"cut_sensitivity must lie in 0..1, got {self.cut_sensitivity}")
        if self.transfer not in colour.TRANSFERS:
            raise ValueError(f"transfer must be one of {colour.TRANSFERS}, got {self.transfer!r}")
        if not (0.0 <= self.strength and math.isfinite(self.strength)):
            raise ValueError(f"strength must be a finite number >= 0, got {self.strength}")
        if not (0.0 <= self.vividness <= MAX_VIVIDNESS and math.isfinite(self.vividness)):
            raise ValueError(f"vividness must lie in 0..{MAX_VIVIDNESS:g}, got {self.vividness}")
        if not (0.0 <= self.hint_spread <= MAX_HINT_SPREAD and math.isfinite(self.hint_spread)):
            raise ValueError(f"hint_spread must lie in 0..{MAX_HINT_SPREAD:g}, got {self.hint_spread}")


def sparse_fingerprint(label: str, raster: np.ndarray) -> str | None:
    """An exact, cheap name for a sparse hint raster: its nonzero positions and values (None
    when it is all zeros)."""
    nonzero = np.flatnonzero(raster)
    return digest(label, raster.shape, nonzero, raster.ravel()[nonzero]) if nonzero.size else None


class _Unavailable(Exception):
    """A streaming render needs a frame or state the host can no longer give."""


# A streaming host that renders on several threads (MLT with real_time -2/-4, as Kdenlive and
# Shotcut export) hands frame t to one thread while another still renders t-1. Frame t then
# waits for t-1 (its state is what the chain rule needs) instead of starting afresh.
PREVIOUS_FRAME_TIMEOUT_S = 60.0  # longest wait for a t-1 that another thread is rendering
# How long to wait for a t-1 that has not begun yet: in a parallel render its thread may start
# late on a busy machine; at a stream's very first frames threads start in any order, but a
# single-threaded host that seeks there must not wait long for a frame that never comes.
PARALLEL_GRACE_S = 2.0
START_GRACE_S = 0.5


class _StreamTracker:
    """What a streaming source showed recently: frame keys by frame, the last output state, and
    which frames other threads are rendering right now."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.frame_keys: OrderedDict[int, str] = OrderedDict()
        self.last_frame: int | None = None
        self.last_state: str | None = None  # state key behind the last frame's output
        self.degraded = False
        self.lock = threading.Lock()
        self.activity = threading.Condition()
        self.in_flight: dict[int, int] = {}  # frame -> renders of it begun (waiting or running)
        self.finished: OrderedDict[int, None] = OrderedDict()
        # two renders were once under way at the same time: the host renders on several threads
        self.parallel = False

    def begin(self, t: int, first: int, window: int, needs_previous: bool = True) -> None:
        """Register a render of frame t, first waiting (bounded) for frame t-1 when another thread
        renders it or is about to: a parallel render then gives the frames of an in-order one."""
        with self.activity:
            # announced at once, while it may still wait: frame t+1 then knows t is coming
            self.in_flight[t] = self.in_flight.get(t, 0) + 1
            self.parallel = self.parallel or len(self.in_flight) > 1 or self.in_flight[t] > 1
            if needs_previous:
                self._wait_for_previous(t, first, window)

    def end(self, t: int) -> None:
        with self.activity:
            left = self.in_flight.get(t, 1) - 1
            if left > 0:
                self.in_flight[t] = left
            else:
                self.in_flight.pop(t, None)
            self.finished[t] = None
            self.finished.move_to_end(t)
            while len(self.finished) > self.keep:
                self.finished.popitem(last=False)
            self.activity.notify_all()

    def _wait_for_previous(self, t: int, first: int, window: int) -> None:
        previous = t - 1
        if previous < first:
            return
        started = time.monotonic()
        while previous not in self.finished:
            now = time.monotonic()
            if previous in self.in_flight:
                if now - started >= PREVIOUS_FRAME_TIMEOUT_S:
                    log.warning(
                        "frame %d: gave up waiting for frame %d after %.0f s", t, previous, now - started
                    )
                    return
                self.activity.wait(PREVIOUS_FRAME_TIMEOUT_S - (now - started))
                continue
            # t-1 has not begun: worth a short wait only when this is a parallel render or the
            # stream's very first frames, whose threads start in any order; a single-threaded
            # host that skipped t-1 (a seek) never waits. Parallel: other frames near t under
            # way, or a host seen rendering on several threads whose stream has reached t-2 or
            # near it (between two frames no render may be under way while t-1's thread is
            # still in the host's own decode: without this, t went ahead without t-1).
            nearby = any(k in self.in_flight for k in range(t - window, t + window + 1) if k != t)
            arriving = self.parallel and any(
                k in self.finished or k in self.in_flight for k in range(max(first, t - window), t - 1)
            )
            first_frames = not self.finished
            grace = PARALLEL_GRACE_S if nearby or arriving else START_GRACE_S if first_frames else 0.0
            if now - started < grace:
                self.activity.wait(grace - (now - started))
                continue
            return

    def record(self, t: int, frame_key: str) -> None:
        self.frame_keys[t] = frame_key
        self.frame_keys.move_to_end(t)
        while len(self.frame_keys) > self.keep:
            self.frame_keys.popitem(last=False)


# Streaming records are per process, like the cache: a host may build a new node for every frame.
_TRACKERS: OrderedDict[tuple, _StreamTracker] = OrderedDict()
_TRACKERS_LOCK = threading.Lock()
_MAX_TRACKERS = 32


def stream_tracker(identity: str | None, chain_root: str) -> _StreamTracker:
    """The record of one streaming source (by identity) under one model and settings."""
    key = (identity, chain_root)
    with _TRACKERS_LOCK:
        tracker = _TRACKERS.get(key)
        if tracker is None:
            tracker = _TRACKERS[key] = _StreamTracker(keep=128)
        _TRACKERS.move_to_end(key)
        while len(_TRACKERS) > _MAX_TRACKERS:
            _TRACKERS.popitem(last=False)
        return tracker


class _Render:
    """One call to `TemporalEngine.render`: the source, settings and hints, with per-call memos."""

    def __init__(
        self,
        engine: TemporalEngine,
        source,
        t: int,
        settings: EngineSettings,
        hints_at: HintsAt | None,
        references: Sequence[Any] = (),
    ):
        self.engine = engine
        self.model = engine.model  # a StepModel (contract 1) or a GraphModel (contract 2)
        self.graphs = not isinstance(self.model, StepModel)
        self.cache: ProcessCache = engine.cache
        self.source = source
        self.t = t
        self.settings = settings
        self.hints_at = hints_at
        self.references = tuple(references)
        self.streaming = not bool(getattr(source, "random_access", True))
        self.tracker: _StreamTracker | None = None
        identity = getattr(source, "identity", None)
        self.identity = None if identity is None else str(identity)
        self.frame_settings = (settings.working_short_side, settings.transfer)
        # the provider too: CPU and GPU kernels round differently, their states must not mix
        self.chain_root = digest("chain", self.model.sha256, self.model.provider, self.frame_settings)
        self._frame_keys: dict[int, str] = {}
        self._hint_rasters: dict[int, tuple[str, np.ndarray | None]] = {}
        self._persisting: dict[int, list] = {}
        self._guided_keys: dict[tuple[int, int], str] = {}
        self._chain_keys: dict[tuple[int, int], str] = {}
        self.current_frame: np.ndarray | None = None
        self.current_lightness: np.ndarray | None = None
        self.output_state: str | None = None  # state key behind this frame's a*b*

    # -- source frames -----------------------------------------------------------------------

    def read(self, k: int) -> np.ndarray:
        if k == self.t and self.current_frame is not None:
            return self.current_frame
        if self.streaming and k != self.t:
            raise _Unavailable(f"frame {k}")
        frame = np.asarray(self.source.frame(k))  # decode time is the adapter's to record
        colour.check_frame(frame)
        if k == self.t:
            self.current_frame = frame
        return frame

    def frame_key(self, k: int) -> str:
        key = self._frame_keys.get(k)
        if key is not None:
            return key
        if self.identity is not None:
            key = digest("identity", self.identity, k)
        elif self.streaming and k != self.t:
            key = self.tracker.frame_keys.get(k) if self.tracker else None
            if key is None:
                raise _Unavailable(f"frame {k}")
        else:
            # no identity: the frame's content names it; keep the gray we must compute anyway
            frame = self.read(k)
            key = digest("content", frame)
            gray_key = ("gray", key, self.frame_settings)
            if gray_key not in self.cache:
                self.cache.get_or_compute(gray_key, lambda: self._compute_gray(k, frame))
        self._frame_keys[k] = key
        return key

    def gray(self, k: int) -> np.ndarray:
        """Working-resolution L*/100 of frame k, [h, w] float32."""
        key = ("gray", self.frame_key(k), self.frame_settings)
        gray = self.cache.get(key)
        if gray is not None:
            return gray
        if self.streaming and k != self.t:
            raise _Unavailable(f"working data of frame {k}")
        return self.cache.get_or_compute(key, lambda: self._compute_gray(k))

    def _compute_gray(self, k: int, frame: np.ndarray | None = None) -> np.ndarray:
        frame = self.read(k) if frame is None else frame
        with profiling.stage("lab"):
            lightness = colour.to_lightness(frame, self.settings.transfer)
            height, width = frame.shape[:2]
            side = colour.capped_short_side(height, width, self.settings.working_short_side)
            size = colour.working_size(height, width, side)
            gray = colour.model_gray(lightness, size)
        if k == self.t:
            self.current_lightness = lightness
        return gray

    # -- per-frame analysis -------------------------------------------------------------------

    def is_cut(self, c: int) -> bool:
        """Frame c begins a new shot (decided from frames c-1 and c alone)."""
        if c <= self.source.first_frame:
            return False
        return self.cut_between(c - 1, c)

    def cut_between(self, j: int, k: int) -> bool:
        """Frames j and k (j < k) look like different shots."""
        key = (
            "cut",
            self.frame_key(j),
            self.frame_key(k),
            self.frame_settings,
            self.settings.cut_sensitivity,
        )
        decided = self.cache.get(key)
        if decided is None:
            prev, now = self.gray(j), self.gray(k)

            def decide() -> np.ndarray:
                with profiling.stage("cuts"):
                    return np.bool_(is_scene_cut(prev, now, self.settings.cut_sensitivity))

            decided = self.cache.get_or_compute(key, decide)
        return bool(decided)

    def flow(self, k: int, j: int) -> np.ndarray:
        """Feature-grid flow from frame k back to frame j (j = k - 1 within a chain)."""
        stride = self.model.feature_stride
        key = ("flow", self.frame_key(k), self.frame_key(j), self.frame_settings, stride)
        flow = self.cache.get(key)
        if flow is None:
            now, prev = self.gray(k), self.gray(j)

            def compute() -> np.ndarray:
                with profiling.stage("flow"):
                    return feature_flow(now, prev, stride)

            flow = self.cache.get_or_compute(key, compute)
        return flow

    def hints(self, k: int) -> tuple[str, np.ndarray | None]:
        """(fingerprint, [3, h, w] raster or None when frame k has no hints)."""
        memo = self._hint_rasters.get(k)
        if memo is not None:
            return memo
        key_of = getattr(self.hints_at, "key", None)
        if key_of is not None:  # the raster of these hints at this size, drawn once per process
            cache_key = ("hint_raster", key_of(k), self.gray(self.t).shape)
            memo = self.cache.get_or_compute(cache_key, lambda: self._draw_hints(k))
        else:
            memo = self._draw_hints(k)
        self._hint_rasters[k] = memo
        return memo

    def _draw_hints(self, k: int) -> tuple[str, np.ndarray | None]:
        active = list(self.hints_at(k)) if self.hints_at is not None else []
        if not active:
            memo = ("none", None)
        else:
            from .. import hints as hints_module

            height, width = self.gray(k).shape
            with profiling.stage("hints"):
                raster = np.ascontiguousarray(hints_module.rasterise(active, height, width), np.float32)
                if raster.shape != (3, height, width):
                    raise ValueError(f"hint raster has shape {raster.shape}, expected {(3, height, width)}")
                raster = raster + np.float32(0.0)  # a copy with -0.0 -> 0.0: the fingerprint is exact
                fingerprint = sparse_fingerprint("hints", raster)
            memo = (fingerprint, raster) if fingerprint is not None else ("none", None)
        return memo

    # -- chains -------------------------------------------------------------------------------

    def chain_key(self, start: int, k: int) -> str:
        """Key of the state (blended features) after step k of the chain that begins at `start`.

        A contract-1 state depends on the hints of every frame of its chain; a contract-2 state
        on the frames alone (hints and references enter only at decode, see output_key).
        """
        key = self._chain_keys.get((start, k))
        if key is None:
            hints = "" if self.graphs else self.hints(k)[0]
            if k == start:
                key = digest(self.chain_root, "start", self.frame_key(k), hints)
            else:
                key = digest(self.chain_key(start, k - 1), self.frame_key(k), hints)
            self._chain_keys[(start, k)] = key
        return key

    def output_key(self, state_key: str, k: int, start: int | None = None) -> str:
        """Key of the a*b* output after the state `state_key` of frame k.

        Contract 2: decode's guide is made of the frame's own guide sources and, within a chain
        (`start`), the previous output carried on, so the key names the guide sources of every
        frame of the chain up to k (`guided_key`); without a chain (a streaming bridge) only k's.
        """
        if not self.graphs:
            return state_key
        guides = self.guided_key(start, k) if start is not None else self.guide_sources(k)
        return digest(state_key, "decode", guides, self.settings.vividness, self.settings.hint_spread)

    def guide_sources(self, k: int) -> tuple:
        """What frame k's own guide is made of: its hints, references and persisting hints."""
        refs = [r.fingerprint for r in self.references_at(k)]
        persisted = [(f, self.frame_key(f), fingerprint) for f, (fingerprint, _) in self.persisting(k)]
        return (self.hints(k)[0], refs, persisted)

    def has_guide_sources(self, k: int) -> bool:
        return self.hints(k)[1] is not None or bool(self.references_at(k)) or bool(self.persisting(k))

    def guided_key(self, start: int, k: int) -> str:
        key = self._guided_keys.get((start, k))
        if key is None:
            prior = self.guided_key(start, k - 1) if k > start else "start"
            key = self._guided_keys[(start, k)] = digest(prior, self.guide_sources(k))
        return key

    def chain_is_guided(self, start: int, last: int) -> bool:
        """Whether any frame start..last has a guide source: only then do earlier outputs, carried
        on, reach later frames' guides (and must be decoded on the way)."""
        return any(self.has_guide_sources(k) for k in range(start, last + 1))

    def persisting(self, k: int) -> list[tuple[int, tuple[str, np.ndarray]]]:
        """(frame, (fingerprint, sparse guide)) of the hints carried to frame k from their last key."""
        memo = self._persisting.get(k)
        if memo is not None:
            return memo
        groups = getattr(self.hints_at, "persisting", None)
        if groups is None:
            return []
        from .. import hints as hints_module

        height, width = self.gray(self.t).shape
        found = []
        for frame, active in sorted(groups(k).items()):
            raster = hints_module.rasterise(active, height, width)
            fingerprint = sparse_fingerprint("persisted", raster)
            if fingerprint is not None:
                found.append((frame, (fingerprint, raster)))
        self._persisting[k] = found
        return found

    def carried_hints(self, k: int, frame: int, fingerprint: str, raster: np.ndarray) -> np.ndarray:
        """Hints drawn on `frame` (their last key) carried by flow to frame k, cached."""
        key = ("carried_hints", self.frame_key(k), self.frame_key(frame), fingerprint, self.frame_settings)
        gray, key_gray = self.gray(k), self.gray(frame)

        def compute() -> np.ndarray:
            with profiling.stage("flow"):
                return propagate.carry(gray, key_gray, raster)

        return self.cache.get_or_compute(key, compute)

    # -- references (contract 2) ---------------------------------------------------------------

    def references_at(self, k: int) -> list:
        from ..references import applicable

        return applicable(self.references, k) if self.references else []

    def carried(self, k: int, reference) -> np.ndarray:
        """The reference's colour carried to frame k by flow, straight from its frame."""
        from ..references import working_form

        key = ("carried", self.frame_key(k), reference.fingerprint, self.frame_settings)
        gray = self.gray(k)

        def compute() -> np.ndarray:
            ref_gray, ref_guide = working_form(reference, gray.shape, self.settings.transfer)
            with profiling.stage("flow"):
                return propagate.carry(gray, ref_gray, ref_guide)

        return self.cache.get_or_compute(key, compute)

    def guide(self, k: int, chained: np.ndarray | None = None) -> np.ndarray:
        """The colour guide decode gets for frame k: references and persisting hints carried to it
        and the previous output carried on (`chained`), fused, its own hints on top."""
        _, raster = self.hints(k)
        carried = [self.carried(k, reference) for reference in self.references_at(k)]
        carried += [
            self.carried_hints(k, f, fingerprint, sparse) for f, (fingerprint, sparse) in self.persisting(k)
        ]
        if chained is not None:
            carried.append(chained)
        return propagate.frame_guide(self.gray(k).shape, carried, raster)

    def attention_reference(self, k: int, encoded):
        """What decode's attention looks at for frame k: its nearest reference through the
        reference graph (once per reference), else its hints' own frame (`hint_reference`)."""
        from ..references import working_form

        nearest = self.references_at(k)[:1]
        if not nearest:
            return self.hint_reference(k, encoded)
        reference, size = nearest[0], self.gray(k).shape
        return self._reference_graph(
            ("reference", reference.fingerprint, size, self.settings.transfer),
            lambda: working_form(reference, size, self.settings.transfer),
        )

    def hint_reference(self, k: int, encoded):
        """Without a reference, the frame the hints of frame k were drawn on, as a sparse one:
        frame k with its own hints, else the latest key of the hints persisting to it. Attention
        then fetches a hint's colour for every position that looks like the hinted one, beyond
        what flow or the decoder's reach carry it to (training's sparse-reference samples are
        hints keyed on another frame). With model 2.5 on training photos, ten hints +0.16 dB;
        on 12 training clips, ten hints on frame 0 within noise (31-59: -0.04 -> -0.10 dB)."""
        frame, (fingerprint, raster) = k, self.hints(k)
        if raster is None:
            persisting = self.persisting(k)
            if not persisting:
                return self.model.no_reference(encoded)
            frame, (fingerprint, raster) = persisting[-1]
        gray = self.gray(frame)
        return self._reference_graph(
            ("hint_reference", self.frame_key(frame), fingerprint, self.frame_settings),
            lambda: (gray, np.ascontiguousarray(raster)),
        )

    def _reference_graph(self, source: tuple, inputs: Callable[[], tuple[np.ndarray, np.ndarray]]):
        """The reference graph's output for `inputs()` = (L* [h, w], guide [3, h, w]), once per
        `source` (what names those inputs) and model, through the cache."""

        def compute():
            gray, guide = inputs()
            with profiling.stage("model"):
                return self.model.reference(gray[None, None], guide[None])

        return self.cache.get_or_compute((*source, self.model.sha256, self.model.provider), compute)

    def encoded(self, k: int):
        """Contract 2: the encode graph's outputs of frame k, computed once per frame."""
        key = ("encoded", self.frame_key(k), self.frame_settings, self.model.sha256, self.model.provider)
        found = self.cache.get(key)
        if found is not None:
            return found
        if self.streaming and k != self.t:
            raise _Unavailable(f"encoded features of frame {k}")
        gray = self.gray(k)

        def compute():
            with profiling.stage("model"):
                return self.model.encode(gray[None, None])

        return self.cache.get_or_compute(key, compute)

    def _graph_step(
        self, k: int, prev: tuple[int, np.ndarray] | None, want_ab: bool, chained: np.ndarray | None = None
    ):
        """Contract 2: blend (cheap) for every chain step, decode only for outputs (and for the
        steps of a guided chain, whose outputs carry on). -> feat, or (ab, feat, guide)."""
        feat = self._blend(k, prev)
        if not want_ab:
            return feat
        ab, guide = self._decode(k, feat, chained)
        return ab, feat, guide

    def _blend(self, k: int, prev: tuple[int, np.ndarray] | None) -> np.ndarray:
        """Contract 2: the state after frame k, from `prev` = (frame, its state) or as a chain start."""
        encoded = self.encoded(k)
        prev_feat = flow = None
        if prev is not None:
            prev_frame, prev_feat = prev
            flow = self.flow(k, prev_frame)[None]
        with profiling.stage("model"):
            return self.model.blend(encoded.current, prev_feat, flow, float(prev is not None))

    def _decode(self, k: int, feat: np.ndarray, chained: np.ndarray | None = None) -> tuple:
        """Contract 2: (a*b* [2, h, w], guide) of frame k from its state `feat`."""
        encoded = self.encoded(k)
        guide = self.guide(k, chained)
        reference = self.attention_reference(k, encoded)
        with profiling.stage("model"):
            ab = self.model.decode(encoded, feat, guide[None], reference, self.settings.vividness)
        with profiling.stage("hints"):
            if self.references_at(k):  # spreading a reference's dense guide lost PSNR
                ab = propagate.honour_guide(ab[0], guide)
            else:
                ab = propagate.spread_guide(ab[0], guide, self.gray(k), self.settings.hint_spread)
        return ab, guide

    def _stored_guided_step(self, start: int, k: int, prev, chained) -> tuple:
        """(ab, feat, guide) of step k of guided chain `start`, through the cache."""
        state_key = self.chain_key(start, k)
        out_key = self.output_key(state_key, k, start)
        found = [
            self.cache.get(entry) for entry in (("ab", out_key), ("feat", state_key), ("guide", out_key))
        ]
        if all(value is not None for value in found):
            return tuple(found)
        # its own in-flight key: the plain path's ("out", ...) holds (ab, feat) for the same output
        ab, feat, guide = self.cache.get_or_compute(
            ("guided_out", out_key), lambda: self._graph_step(k, prev, True, chained), keep=False
        )
        self.cache.put(("feat", state_key), feat)
        self.cache.put(("ab", out_key), ab)
        self.cache.put(("guide", out_key), guide)
        return ab, feat, guide

    def run_guided_chain(self, start: int, t: int, want_ab: bool) -> np.ndarray | None:
        """Contract 2, a chain with guide sources: every step decodes, and its output, carried on
        with the confidence its guide had (propagate.chain_output), joins the next step's guide
        (as in training). Resumes from the latest step whose state and output are cached."""
        resume, feat, previous = start, None, None
        for k in range(t - 1, start - 1, -1):
            state_key = self.chain_key(start, k)
            out_key = self.output_key(state_key, k, start)
            cached = [
                self.cache.get(entry) for entry in (("feat", state_key), ("ab", out_key), ("guide", out_key))
            ]
            if all(value is not None for value in cached):
                resume, feat, previous = k + 1, cached[0], (k, cached[1], cached[2])
                break
        ab = None
        for k in range(resume, t + 1):
            prev = (k - 1, feat) if k > start else None
            chained = None
            if previous is not None:
                frame, previous_ab, previous_guide = previous
                with profiling.stage("flow"):
                    chained = propagate.chain_output(
                        self.gray(k), self.gray(frame), previous_ab, previous_guide
                    )
            ab, feat, guide = self._stored_guided_step(start, k, prev, chained)
            previous = (k, ab, guide)
        return ab if want_ab else None

    def _step(self, k: int, prev: tuple[int, np.ndarray] | None, want_ab: bool):
        """Run the model for frame k after `prev` = (frame, its state), or as a chain start.

        -> (ab [2, h, w], feat [1, C, h/s, w/s]) when want_ab, else feat alone (cached smaller).
        """
        if self.graphs:
            result = self._graph_step(k, prev, want_ab)
            return result[:2] if want_ab else result
        gray = self.gray(k)
        height, width = gray.shape
        _, raster = self.hints(k)
        if raster is None:
            raster = np.zeros((3, height, width), np.float32)
        prev_feat = flow = None
        if prev is not None:
            prev_frame, prev_feat = prev
            flow = self.flow(k, prev_frame)[None]
        inputs = (gray[None, None], raster[None], prev_feat, flow, float(prev is not None))
        with profiling.stage("model"):
            if not want_ab:
                return self.model.features(*inputs)
            ab, feat, _ = self.model.step(*inputs)
        return ab[0], feat

    def _stored_step(
        self, key: str, k: int, prev: tuple[int, np.ndarray] | None, want_ab: bool, start: int | None = None
    ):
        """`_step` through the cache under state key `key` (computed once across threads);
        `start`: the chain the step belongs to (None for a streaming bridge)."""
        if not want_ab:
            return self.cache.get_or_compute(("feat", key), lambda: self._step(k, prev, False))
        out_key = self.output_key(key, k, start)
        ab = self.cache.get(("ab", out_key))
        if ab is not None:
            return ab
        if self.graphs:
            # The state is stored before the decode starts: a thread rendering k+1 meanwhile
            # resumes the chain from it instead of blending frame k a second time.
            feat = self.cache.get_or_compute(("feat", key), lambda: self._blend(k, prev))
            ab = self.cache.get_or_compute(("out", out_key), lambda: self._decode(k, feat)[0], keep=False)
        else:
            ab, feat = self.cache.get_or_compute(
                ("out", out_key), lambda: self._step(k, prev, True), keep=False
            )
            self.cache.put(("feat", key), feat)
        self.cache.put(("ab", out_key), ab)
        return ab

    def run_chain(self, start: int, t: int, want_ab: bool) -> np.ndarray | None:
        """Advance chain `start` to frame t from its latest cached state; a*b* at t if wanted."""
        if self.graphs and t > start and self.chain_is_guided(start, t - 1):
            return self.run_guided_chain(start, t, want_ab)
        final_key = self.chain_key(start, t)
        if want_ab:
            ab = self.cache.get(("ab", self.output_key(final_key, t, start)))
            if ab is not None:
                return ab
        elif ("feat", final_key) in self.cache:
            return None
        # the latest cached state to resume from (cheap: keys only)
        resume, feat = start, None
        for k in range(t - 1, start - 1, -1):
            cached = self.cache.get(("feat", self.chain_key(start, k)))
            if cached is not None:
                resume, feat = k + 1, cached
                break
        for k in range(resume, t + 1):
            prev = (k - 1, feat) if k > start else None
            if k == t and want_ab:
                return self._stored_step(self.chain_key(start, k), k, prev, True, start)
            feat = self._stored_step(self.chain_key(start, k), k, prev, False)
        return None

    def warm_up(self, start: int) -> None:
        """Advance the chains later frames need when that costs one step (never a long warm-up)."""
        t = self.t
        live = chain.live_chain_starts(t, start, self.source.first_frame, self.settings.temporal_window)
        for other in live[1:]:
            try:
                if other == t or ("feat", self.chain_key(other, t - 1)) in self.cache:
                    self.run_chain(other, t, want_ab=False)
            except _Unavailable:
                pass  # a stream lost this chain's history; the output of t is exact regardless

    # -- the frame ----------------------------------------------------------------------------

    def exact_ab(self) -> np.ndarray:
        """a*b* of frame t by the chain rule (raises _Unavailable in streaming when data is gone)."""
        t, settings = self.t, self.settings
        start = (
            t
            if settings.stateless
            else chain.chain_start(t, self.source.first_frame, settings.temporal_window, self.is_cut)
        )
        ab = self.run_chain(start, t, want_ab=True)
        self.output_state = self.chain_key(start, t)
        if not settings.stateless:
            self.warm_up(start)
        return ab

    def fallback_ab(self) -> np.ndarray:
        """Streaming without the chain rule's states (a seek, dropped frames, a stream that began
        mid-clip): carry the previous output's state over the gap when the stream moved forward
        a little within one shot, else begin afresh at t. The newest anchor's chain keeps
        advancing, so exact output resumes once the chain rule needs only streamed frames."""
        t, tracker = self.t, self.tracker
        ab = None
        last, last_state = tracker.last_frame, tracker.last_state
        if last is not None and last_state is not None and 0 < t - last <= self.settings.temporal_window:
            try:
                ab = self._bridge(last, last_state)
            except _Unavailable:
                ab = None
        if ab is None:
            ab = self.run_chain(t, t, want_ab=True)
            self.output_state = self.chain_key(t, t)
        newest = chain.anchor(t, self.source.first_frame, self.settings.temporal_window)
        try:
            if newest == t or ("feat", self.chain_key(newest, t - 1)) in self.cache:
                self.run_chain(newest, t, want_ab=False)
        except _Unavailable:
            pass
        return ab

    def _bridge(self, last: int, last_state: str) -> np.ndarray | None:
        """a*b* of t continuing state `last_state` of frame `last` (< t) by the flow t -> last;
        None across a scene cut. The state key names the bridge, so it is never mistaken for
        a chain-rule state."""
        prev_feat = self.cache.get(("feat", last_state))
        if prev_feat is None or self.cut_between(last, self.t):
            return None
        t = self.t
        key = digest(last_state, "bridge", self.frame_key(last), self.frame_key(t), self.hints(t)[0])
        ab = self._stored_step(key, t, (last, prev_feat), True)
        self.output_state = key
        return ab

    def ab(self) -> np.ndarray:
        if not self.streaming:
            return self.exact_ab()
        self.tracker = stream_tracker(self.identity, self.chain_root)
        settings = self.settings
        self.tracker.begin(self.t, self.source.first_frame, settings.temporal_window, not settings.stateless)
        try:
            return self._streamed_ab()
        finally:
            self.tracker.end(self.t)

    def _streamed_ab(self) -> np.ndarray:
        with self.tracker.lock:
            self.tracker.record(self.t, self.frame_key(self.t))
            try:
                ab = self.exact_ab()
                if self.tracker.degraded:
                    log.info("streaming render back in step at frame %d", self.t)
                self.tracker.degraded = False
            except _Unavailable as missing:
                if not self.tracker.degraded:
                    log.warning(
                        "frame %d requested out of order in a streaming host (%s is no longer "
                        "available); rendering from the nearest available state until the stream is back in order",
                        self.t,
                        missing,
                    )
                self.tracker.degraded = True
                ab = self.fallback_ab()
            self.tracker.last_frame = self.t
            self.tracker.last_state = self.output_state
        return ab

    def output(self) -> np.ndarray:
        ab_scaled = self.ab()  # [2, h, w], a*b* / AB_SCALE
        frame = self.read(self.t)
        with profiling.stage("upsample"):
            ab = np.ascontiguousarray(ab_scaled.transpose(1, 2, 0)) * np.float32(AB_SCALE)
            return colour.recombine(
                frame,
                ab,
                self.settings.transfer,
                strength=self.settings.strength,
                lab=self.current_lightness,
            )


class TemporalEngine:
    """Renders frames of a source clip with one StepModel; holds no state that changes output."""

    def __init__(self, model: StepModel, cache: ProcessCache | None = None):
        self.model = model
        self.cache = PROCESS_CACHE if cache is None else cache

    def render(
        self,
        source,
        t: int,
        settings: EngineSettings,
        hints_at: HintsAt | None = None,
        references: Sequence[Any] = (),
    ) -> np.ndarray:
        """The colourised frame t of `source` (a node.FrameSource), same dtype and channels.

        `references`: colormotion.references.ReferenceFrame values (contract-2 models only).
        """
        t = int(t)
        if not source.first_frame <= t <= source.last_frame:
            raise ValueError(
                f"frame {t} lies outside the clip's frames {source.first_frame}..{source.last_frame}"
            )
        if references and isinstance(self.model, StepModel):
            from ..model import ModelError

            raise ModelError(
                f"reference frames need a contract-2 model; {self.model.path} follows contract 1 "
                "(export one with training/export_v2.py)"
            )
        if settings.vividness and not self.model.has_vividness:
            from ..model import ModelError

            raise ModelError(
                f"vividness {settings.vividness:g} needs a contract-2 model whose decode graph takes "
                f"it; {self.model.path} has none (export one with training/export_v2.py)"
            )
        return _Render(self, source, t, settings, hints_at, references).output()
