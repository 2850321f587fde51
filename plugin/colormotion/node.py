"""The host-agnostic Colorize node (API stub: bodies land with the temporal engine).

Adapters (OpenFX bridge, CLI) translate their host's world into two small interfaces:
a `FrameSource` (the input clip) and a `ParamSource` (parameter values at a time), and call
`ColorizeNode.render(time, source, params)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

HINT_SLOTS = 8


class FrameSource(Protocol):
    """The node's input clip.

    first_frame/last_frame: inclusive frame range of the clip (chain anchors count from first_frame).
    random_access: False when the host hands only the current frame (MLT): streaming mode.
    identity: a string stable for the same footage within a process (e.g. path + mtime), or None.
    frame(t): the source image at integer frame t, [H, W, C] with C in {3, 4} (RGB/RGBA),
              dtype uint8, uint16, float16 or float32.
    """

    first_frame: int
    last_frame: int
    random_access: bool
    identity: str | None

    def frame(self, t: int) -> np.ndarray: ...


class ParamSource(Protocol):
    """Parameter values at a time (hosts animate hint slots)."""

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
    """A ParamSource without animation: defaults overridden by `values`."""

    values: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str, time: float) -> Any:
        if name in self.values:
            return self.values[name]
        return param_spec(name).default


PARAM_SPECS: tuple[ParamSpec, ...] = ()  # filled in with the node implementation


def param_spec(name: str) -> ParamSpec:
    for spec in PARAM_SPECS:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown parameter {name!r}")


class ColorizeNode:
    """Colorize: source clip + parameters -> colour frame, independent of render order."""

    def render(self, time: int, source: FrameSource, params: ParamSource) -> np.ndarray:
        raise NotImplementedError
