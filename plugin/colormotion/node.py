"""The host-agnostic Colorize node.

Adapters (OpenFX bridge, CLI) translate their host's world into two small interfaces:
a `FrameSource` (the input clip) and a `ParamSource` (parameter values at a time), and call
`ColorizeNode.render(time, source, params)`.

The node holds no per-instance state that changes output: the model and the engine's cache
are process-level, so a host may build a fresh node for every frame.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .contract import MAX_HINT_SPREAD, MAX_VIVIDNESS

HINT_SLOTS = 8


class FrameSource(Protocol):
    """The node's input clip.

    first_frame/last_frame: inclusive frame range of the clip (chain anchors count from first_frame).
    random_access: False when the host hands only the current frame (MLT): streaming mode.
    identity: a string stable for the same footage within a process (e.g. path + mtime), or None.
              None makes the engine name each frame by a hash of its content (always safe, a few
              ms per frame at 1080p); a wrong identity (same string, different pixels) would
              reuse stale states, so hosts that cannot promise it must pass None.
    frame(t): the source image at integer frame t, [H, W, C] with C in {3, 4} (RGB/RGBA),
              dtype uint8, uint16, float16 or float32.
    """

    first_frame: int
    last_frame: int
    random_access: bool
    identity: str | None

    def frame(self, t: int) -> np.ndarray: ...


class ParamSource(Protocol):
    """Parameter values at a time (hosts animate hint slots).

    Value types by kind: string -> str, double -> float, int -> int, bool -> bool,
    choice -> the option's value (the first element of its (value, label) pair),
    rgb -> (r, g, b) floats, double2d -> (x, y) floats.
    """

    def value(self, name: str, time: float) -> Any: ...


@dataclass(frozen=True)
class ParamSpec:
    """One node parameter, described once for every host adapter."""

    name: str
    kind: str  # "string" | "double" | "int" | "bool" | "choice" | "rgb" | "double2d"
    default: Any
    label: str
    help: str = ""
    page: str = "Colorize"
    animatable: bool = False
    minimum: Any = None
    maximum: Any = None
    display_minimum: Any = None
    display_maximum: Any = None
    options: tuple[tuple[Any, str], ...] = ()  # choice: (value, label)


@dataclass
class StaticParams:
    """A ParamSource without animation: defaults overridden by `values` (names are checked)."""

    values: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in self.values:
            param_spec(name)  # KeyError names an unknown parameter at once

    def value(self, name: str, time: float) -> Any:
        if name in self.values:
            return self.values[name]
        return param_spec(name).default


REFERENCE_SLOTS = 2


def _reference_specs(i: int) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec(
            f"reference{i}_file",
            "string",
            "",
            f"Reference {i} image",
            help="A colour image of one frame of this clip (graded or painted elsewhere, any size): "
            "the frames from it to the next reference take its colours. Empty for none. Needs a "
            "contract-2 model.",
            page="References",
        ),
        ParamSpec(
            f"reference{i}_frame",
            "int",
            0,
            f"Reference {i} frame",
            help="The frame the reference image shows (the host's frame numbers).",
            page="References",
            minimum=-1000000,
            maximum=10000000,
            display_minimum=0,
            display_maximum=1000,
        ),
    )


def _slot_specs(i: int) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec(
            f"hint{i}_enable",
            "bool",
            False,
            f"Hint {i}",
            help=f"Use hint slot {i}: its colour is given to the model at its position on every frame.",
            page="Slots",
        ),
        ParamSpec(
            f"hint{i}_position",
            "double2d",
            (0.5, 0.5),
            f"Hint {i} position",
            help="Where the hint sits: x, y from the top-left corner, 0..1 of the frame's width and height. "
            "Animate it to follow an object.",
            page="Slots",
            animatable=True,
            minimum=(0.0, 0.0),
            maximum=(1.0, 1.0),
        ),
        ParamSpec(
            f"hint{i}_color",
            "rgb",
            (0.5, 0.5, 0.5),
            f"Hint {i} colour",
            help="The colour the hinted spot should take, in the input's transfer (0..1 per channel).",
            page="Slots",
            animatable=True,
            minimum=(0.0, 0.0, 0.0),
            maximum=(1.0, 1.0, 1.0),
        ),
    )


WORKING_RESOLUTIONS = ((256, "256 (fast)"), (384, "384"), (512, "512 (detailed)"), (768, "768 (slow)"))
TRANSFERS = (("srgb", "sRGB"), ("rec709", "Rec.709"), ("linear", "Linear (scene-referred)"))
PROVIDERS = (("auto", "Auto (best available)"), ("cpu", "CPU"), ("cuda", "CUDA"), ("tensorrt", "TensorRT"))

PARAM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "strength",
        "double",
        1.0,
        "Strength",
        help="Colour strength: 0 keeps the gray input, 1 gives the colours as predicted.",
        minimum=0.0,
        maximum=4.0,
        display_minimum=0.0,
        display_maximum=1.0,
    ),
    ParamSpec(
        "vividness",
        "double",
        0.0,
        "Vividness",
        help="Where the model is unsure of a colour, favour rarer, more saturated ones: 0 gives the "
        "colours as trained, 0.25 about twice as colourful, with more flicker. Hinted pixels keep "
        "their colours. Needs a contract-2 model (the bundled one).",
        minimum=0.0,
        maximum=MAX_VIVIDNESS,
        display_minimum=0.0,
        display_maximum=1.0,
    ),
    ParamSpec(
        "hint_spread",
        "double",
        1.0,
        "Hint spread",
        help="How far a hint's colour fills its region, stopping at edges in the picture: 0 colours "
        "the spot under the hint only (as the network alone does), 1 fills a region up to about 50 times the "
        "hint's area, higher values further (4: about 800 times): raise it, or add hints, for a large "
        "surface. Frames with a reference are left to the network. "
        "Needs a contract-2 model (the bundled one).",
        minimum=0.0,
        maximum=MAX_HINT_SPREAD,
        display_minimum=0.0,
        display_maximum=2.0,
    ),
    ParamSpec(
        "input_transfer",
        "choice",
        "srgb",
        "Input transfer",
        help="How the input's values encode light. The output uses the same transfer.",
        options=TRANSFERS,
    ),
    ParamSpec(
        "hints_json",
        "string",
        "",
        "Hints (JSON)",
        help="Colour hints with positions and frame ranges (the colormotion hints format); "
        "empty for none. Works in every host; the hint slots add to it.",
        page="Hints",
    ),
    *(spec for i in range(1, HINT_SLOTS + 1) for spec in _slot_specs(i)),
    *(spec for i in range(1, REFERENCE_SLOTS + 1) for spec in _reference_specs(i)),
    ParamSpec(
        "working_resolution",
        "choice",
        256,
        "Working resolution",
        help="Short side, in pixels, the model sees. Colour edges follow the full-resolution "
        "input either way; higher is slower and finer.",
        page="Quality",
        options=WORKING_RESOLUTIONS,
    ),
    ParamSpec(
        "temporal_window",
        "int",
        16,
        "Temporal window",
        help="Frames of history behind each frame (even; odd values are rounded up). Longer is "
        "steadier; random access costs up to this many model steps.",
        page="Quality",
        minimum=2,
        maximum=64,
        display_minimum=2,
        display_maximum=32,
    ),
    ParamSpec(
        "cut_sensitivity",
        "double",
        0.5,
        "Scene-cut sensitivity",
        help="How readily a change of shot resets the colours: 0 never, 1 very eagerly.",
        page="Quality",
        minimum=0.0,
        maximum=1.0,
    ),
    ParamSpec(
        "stateless",
        "bool",
        False,
        "Frame by frame",
        help="Colorize every frame on its own, without temporal state (faster random access, more flicker).",
        page="Quality",
    ),
    ParamSpec(
        "provider",
        "choice",
        "auto",
        "Compute device",
        help="ONNX Runtime execution provider; unavailable choices fall back to the CPU.",
        page="Advanced",
        options=PROVIDERS,
    ),
)

_SPECS_BY_NAME = {spec.name: spec for spec in PARAM_SPECS}


def param_spec(name: str) -> ParamSpec:
    try:
        return _SPECS_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown parameter {name!r}") from None


# ---------------------------------------------------------------------------------------------
# Hints from parameters

_PARSED_HINTS: OrderedDict[str, Any] = OrderedDict()
_PARSED_HINTS_LOCK = threading.Lock()


def parse_hints_json(text: str):
    """HintSet of a hints_json value, parsed once per distinct string in the process (None if empty)."""
    if not text or not text.strip():
        return None
    with _PARSED_HINTS_LOCK:
        hint_set = _PARSED_HINTS.get(text)
        if hint_set is not None:
            _PARSED_HINTS.move_to_end(text)
            return hint_set
    from .hints import HintError, HintSet

    try:
        hint_set = HintSet.from_json(text)
    except HintError as error:
        raise HintError(f"the hints_json parameter is not valid: {error}") from error
    with _PARSED_HINTS_LOCK:
        _PARSED_HINTS[text] = hint_set
        while len(_PARSED_HINTS) > 32:
            _PARSED_HINTS.popitem(last=False)
    return hint_set


def _slot_references(params: ParamSource, time: float) -> tuple:
    """The references set in the node's reference slots (images read once per process)."""
    from .hints import HintError, ReferenceSpec, read_reference_spec

    found = []
    for i in range(1, REFERENCE_SLOTS + 1):
        file = str(params.value(f"reference{i}_file", time) or "").strip()
        if file:
            spec = ReferenceSpec(int(params.value(f"reference{i}_frame", time)), Path(file).expanduser())
            try:
                found.append(read_reference_spec(spec))
            except HintError as error:
                raise ValueError(f"reference {i}: {error}") from None
    return tuple(found)


class _HintsAt:
    """frame k -> the active hints: the node's HintSet, hints_json at `time`, enabled slots at k."""

    def __init__(self, params: ParamSource, time: float, fixed, transfer: str):
        self.params = params
        self.sets = [s for s in (fixed, parse_hints_json(params.value("hints_json", time))) if s is not None]
        self.transfer = transfer

    def persisting(self, k: int) -> dict[int, list]:
        """Hints carried to frame k from the frame of their last key (HintSet.persisting)."""
        groups: dict[int, list] = {}
        for hint_set in self.sets:
            for frame, active in hint_set.persisting(k).items():
                groups.setdefault(frame, []).extend(active)
        return groups

    def references(self) -> tuple:
        """The reference frames the hint sets name (their images read once per process)."""
        return tuple(reference for hint_set in self.sets for reference in hint_set.reference_frames())

    def key(self, k: int) -> tuple:
        """What the hints of frame k depend on, cheap to compute: the engine caches their raster
        under it instead of drawing thousands of hints again at every step of every chain."""
        slots = []
        for i in range(1, HINT_SLOTS + 1):
            if self.params.value(f"hint{i}_enable", k):
                position = tuple(float(v) for v in self.params.value(f"hint{i}_position", k))
                slots.append((i, position, tuple(float(v) for v in self.params.value(f"hint{i}_color", k))))
        return (tuple(hint_set.fingerprint() for hint_set in self.sets), int(k), tuple(slots), self.transfer)

    def __call__(self, k: int) -> list:
        active = [hint for hint_set in self.sets for hint in hint_set.at(k)]
        for i in range(1, HINT_SLOTS + 1):
            if not self.params.value(f"hint{i}_enable", k):
                continue
            from .hints import ActiveHint

            x, y = (float(v) for v in self.params.value(f"hint{i}_position", k))
            rgb = tuple(float(v) for v in self.params.value(f"hint{i}_color", k))
            active.append(ActiveHint.from_rgb((x, y), rgb, self.transfer))
        return active


# ---------------------------------------------------------------------------------------------
# The node


def _frame_of(time: float) -> int:
    """Hosts may ask fractional times (motion blur sub-frames): use the nearest frame."""
    if not math.isfinite(float(time)):
        raise ValueError(f"render time must be a finite number, got {time!r}")
    return int(math.floor(float(time) + 0.5))


class ColorizeNode:
    """Colorize: source clip + parameters -> colour frame, independent of render order.

    model_path: an ONNX step model (default: the bundled, checksum-verified model).
    provider: overrides the "provider" parameter when given.
    hints: a HintSet used in addition to the hints_json parameter and the slots (the CLI's --hints).
    references: colormotion.references.ReferenceFrame values (the CLI's --reference), in addition
    to the references of the hint sets (contract-2 models).
    model_threads: ONNX Runtime threads per session (default: every core); an adapter that
    renders several frames at once gives each a share (colormotion.model.session_threads).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        provider: str | None = None,
        hints=None,
        references=(),
        model_threads: int | None = None,
    ):
        self.model_path = model_path
        self.provider = provider
        self.hints = hints
        self.references = tuple(references)
        self.model_threads = model_threads

    def settings(self, time: float, params: ParamSource):
        """EngineSettings from the parameters at `time`."""
        from .temporal.engine import EngineSettings

        window = int(params.value("temporal_window", time))
        return EngineSettings(
            working_short_side=int(params.value("working_resolution", time)),
            temporal_window=window + window % 2,
            cut_sensitivity=float(params.value("cut_sensitivity", time)),
            transfer=str(params.value("input_transfer", time)),
            strength=float(params.value("strength", time)),
            vividness=float(params.value("vividness", time)),
            hint_spread=float(params.value("hint_spread", time)),
            stateless=bool(params.value("stateless", time)),
        )

    def model(self, time: float, params: ParamSource):
        from .model import load_model

        provider = self.provider or str(params.value("provider", time))
        return load_model(self.model_path, provider, self.model_threads)

    def render(self, time: float, source: FrameSource, params: ParamSource, references=()) -> np.ndarray:
        """The colour frame at `time`: same size, dtype and alpha as the source frame.

        `references`: more ReferenceFrame values for this render (a host's Reference input).
        """
        from .temporal.engine import TemporalEngine

        t = _frame_of(time)
        settings = self.settings(t, params)
        hints_at = _HintsAt(params, t, self.hints, settings.transfer)
        references = self.references + tuple(references) + hints_at.references() + _slot_references(params, t)
        return TemporalEngine(self.model(t, params)).render(source, t, settings, hints_at, references)
