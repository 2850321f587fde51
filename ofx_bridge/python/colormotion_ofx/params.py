"""Node parameters (``colormotion.node.ParamSpec``) <-> OpenFX parameters: types, defaults, values.

Pure functions, shared by the description (``describe``) and the value reader (``adapters``).
Positions: the node speaks normalised top-left coordinates (0..1, y down); OpenFX positions are
Double2D ``XYAbsolute`` in canonical pixel coordinates with the origin at the bottom left.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .ofx_api import OFX

# C types of the values paramGetValue(AtTime) writes, per node kind
VALUE_CTYPES: dict[str, tuple[str, ...]] = {
    "double": ("double",),
    "int": ("int",),
    "bool": ("int",),
    "choice": ("int",),
    "rgb": ("double", "double", "double"),
    "double2d": ("double", "double"),
    "string": ("char *",),
}

OFX_TYPES: dict[str, bytes] = {
    "double": OFX.kOfxParamTypeDouble,
    "int": OFX.kOfxParamTypeInteger,
    "bool": OFX.kOfxParamTypeBoolean,
    "choice": OFX.kOfxParamTypeChoice,
    "rgb": OFX.kOfxParamTypeRGB,
    "double2d": OFX.kOfxParamTypeDouble2D,
    "string": OFX.kOfxParamTypeString,
}

# What the OpenFX user sees: the host's own coordinates, not the node's normalised ones.
POSITION_HELP = (
    "Where the hint sits, in the host's canonical coordinates: pixels of the full-size frame from "
    "its bottom-left corner (drag the on-screen point where the host shows one). A new slot "
    "starts at the frame centre. Animate it to follow an object."
)
# Positions may sit outside the frame; both a range and a display range must be set or Resolve
# clamps doubles to (-1, 1).
POSITION_RANGE = (-100000.0, 100000.0)
POSITION_DISPLAY_RANGE = (0.0, 4096.0)

_HINT_SLOT = re.compile(r"^hint(\d+)_")

Rect = tuple[float, float, float, float]  # canonical x1, y1, x2, y2


def hint_slot(name: str) -> int | None:
    """The hint slot a parameter belongs to ("hint3_color" -> 3), or None."""
    match = _HINT_SLOT.match(name)
    return int(match.group(1)) if match else None


def invalidates_to_end(name: str) -> bool:
    """Hint parameters change every later frame (colour propagates forward through the chain)."""
    return name.startswith("hint")


def canonical_to_normalised(x: float, y: float, frame: Rect) -> tuple[float, float]:
    """Canonical pixel position (origin bottom-left) -> normalised top-left (0..1, y down)."""
    x1, y1, x2, y2 = frame
    return (x - x1) / (x2 - x1), (y2 - y) / (y2 - y1)


def normalised_to_canonical(u: float, v: float, frame: Rect) -> tuple[float, float]:
    x1, y1, x2, y2 = frame
    return x1 + u * (x2 - x1), y2 - v * (y2 - y1)


def choice_index(spec, value: Any) -> int:
    for index, (option_value, label) in enumerate(spec.options):
        if value == option_value or value == label:
            return index
    raise ValueError(f"{spec.name}: {value!r} is not one of {[v for v, _ in spec.options]}")


def ofx_default(spec) -> Sequence[Any]:
    """The default as OpenFX property values (a sequence, one per dimension)."""
    kind, default = spec.kind, spec.default
    if kind == "double2d":
        return normalised_default(spec)
    if kind == "rgb":
        return tuple(float(c) for c in default)
    if kind == "choice":
        return (choice_index(spec, default),)
    if kind in ("int", "bool"):
        return (int(default),)
    if kind == "double":
        return (float(default),)
    if kind == "string":
        return ("" if default is None else str(default),)
    raise ValueError(f"{spec.name}: unknown parameter kind {kind!r}")


def normalised_default(spec) -> tuple[float, float]:
    """A position default in the node's normalised coordinates, y flipped to the OpenFX origin
    (bottom-left): hosts scale it to the project when kOfxParamCoordinatesNormalised is set."""
    u, v = (float(c) for c in spec.default)
    return u, 1.0 - v


def _ignored_normalised_default(spec, x: float, y: float) -> bool:
    """A host that accepted the normalised default but did not scale it (Resolve, by openfx-misc's
    notes) hands it back as canonical pixels: a sub-pixel spot in the corner nobody would pick."""
    return spec.kind == "double2d" and (x, y) == normalised_default(spec)


def from_ofx(spec, raw: Sequence[Any], frame: Rect, decode_string=None) -> Any:
    """The node's value from the raw values paramGetValueAtTime wrote."""
    kind = spec.kind
    if kind == "double":
        return float(raw[0])
    if kind == "int":
        return int(raw[0])
    if kind == "bool":
        return bool(raw[0])
    if kind == "choice":
        index = int(raw[0])
        if not 0 <= index < len(spec.options):
            raise ValueError(f"{spec.name}: choice index {index} out of range")
        return spec.options[index][0]
    if kind == "rgb":
        return tuple(float(c) for c in raw)
    if kind == "double2d":
        x, y = float(raw[0]), float(raw[1])
        if _ignored_normalised_default(spec, x, y):
            return tuple(float(c) for c in spec.default)
        return canonical_to_normalised(x, y, frame)
    if kind == "string":
        return decode_string(raw[0]) if decode_string else raw[0]
    raise ValueError(f"{spec.name}: unknown parameter kind {kind!r}")
