"""User colour hints: the JSON format, its validation, interpolation over time and rasterisation.

A hint says "this spot has this colour" and can move and change colour over time through keys.
The format is documented in docs/hints.md; in short::

    {"version": 1,
     "hints": [{"id": "shirt", "color": "#c0302a", "radius": 0.01,
                "keys": [{"frame": 0, "x": 0.40, "y": 0.60},
                         {"frame": 48, "x": 0.52, "y": 0.61, "color": "#d04030"}]}]}

Timing rule: a hint with several keys is active from its first to its last key frame, inclusive;
a hint with one key is active on every frame (like a parameter with a single keyframe). Between
keys, position moves linearly and colour blends linearly in CIE L*a*b*; a key's "color" holds
from that key on until the next key that names one.

`HintSet.at(frame)` gives the `ActiveHint`s of a frame; `rasterise` turns them into the model's
three hint channels (a*/110, b*/110, mask) at working resolution.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from . import colour
from .contract import AB_SCALE

FORMAT_VERSION = 1
DEFAULT_RADIUS = 0.01  # fraction of the frame's short side
MAX_RADIUS = 1.0

_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_TOP_FIELDS = ("version", "hints", "references")
_REFERENCE_FIELDS = ("frame", "image", "from", "until")
_HINT_FIELDS = ("id", "color", "radius", "keys", "until")
_KEY_FIELDS = ("frame", "x", "y", "color")

ColourSpec = Union[str, tuple]  # "#rrggbb" or (r, g, b) display-sRGB floats in 0..1
Lab = tuple  # (L*, a*, b*)


class HintError(ValueError):
    """Hints that cannot be used, with a message that names the place and the problem."""


# ---------------------------------------------------------------------------------------------
# Active hints: what one frame sees


@dataclass(frozen=True)
class ActiveHint:
    """One hint on one frame: normalised top-left position, L*a*b* colour, radius (fraction of the
    frame's short side). Positions outside 0..1 are allowed here and simply draw less or nothing."""

    x: float
    y: float
    lab: Lab
    radius: float = DEFAULT_RADIUS

    @classmethod
    def from_rgb(
        cls,
        position: Sequence[float],
        rgb: Sequence[float],
        transfer: str = "srgb",
        radius: float = DEFAULT_RADIUS,
    ) -> ActiveHint:
        """A hint from a position (x, y) and a colour (r, g, b) encoded with `transfer`
        (a host's colour parameter: its working space, e.g. "linear" in Nuke)."""
        position = tuple(_finite_number(v, "hint position") for v in position)
        if len(position) != 2:
            raise HintError(f"hint position needs 2 values (x, y), got {len(position)}")
        x, y = position
        values = tuple(_finite_number(v, "hint colour") for v in rgb)
        if len(values) != 3:
            raise HintError(f"hint colour needs 3 values (r, g, b), got {len(values)}")
        radius = _finite_number(radius, "hint radius")
        if not 0 < radius <= MAX_RADIUS:
            raise HintError(f"hint radius must be in (0, {MAX_RADIUS}], got {radius}")
        return cls(x, y, colour.rgb_to_lab(values, transfer), radius)


def merge(*lists: Iterable[ActiveHint]) -> list[ActiveHint]:
    """One list of active hints from several sources; in `rasterise`, later hints win overlaps."""
    return [hint for hints in lists for hint in hints]


# Hints whose disc spans at most this many pixels from its centre are drawn together, offset by
# offset; larger discs one by one. Either way each pixel ends up with its latest hint.
_SMALL_REACH = 6


def rasterise(active: Sequence[ActiveHint], height: int, width: int) -> np.ndarray:
    """The model's hint channels [3, height, width] float32: a*/110, b*/110 and a 0/1 mask.

    Each hint is a disc of radius `radius * min(height, width)` pixels around (x * width,
    y * height): the pixels whose centres lie within it, and always the pixel under its centre
    when that lies in the frame. Later hints overwrite earlier ones. Pure and deterministic;
    thousands of hints are drawn in a few vectorised passes (each pixel records its latest hint,
    then takes that hint's colour).
    """
    if height < 1 or width < 1:
        raise ValueError(f"raster size must be at least 1x1, got {width}x{height}")
    raster = np.zeros((3, height, width), np.float32)
    if not active:
        return raster
    values = np.array([(h.x, h.y, h.radius, *h.lab) for h in active], np.float64).reshape(-1, 6)
    if not np.isfinite(values).all():
        bad = next(h for h, ok in zip(active, np.isfinite(values).all(axis=1)) if not ok)
        raise HintError(f"hint values must be finite, got {bad}")
    centre_x, centre_y = values[:, 0] * width, values[:, 1] * height
    radius = values[:, 2] * min(height, width)
    order = np.arange(len(active))
    owner = np.full(height * width, -1, np.int64)  # the latest hint covering each pixel

    def cover(rows: np.ndarray, columns: np.ndarray, dy, dx, who: np.ndarray) -> None:
        """Mark pixels (rows, columns) whose centres lie within the discs of `who`."""
        inside = (rows >= 0) & (rows < height) & (columns >= 0) & (columns < width)
        inside &= dy * dy + dx * dx <= radius[who] ** 2
        np.maximum.at(owner, rows[inside] * width + columns[inside], who[inside])

    small = radius <= _SMALL_REACH
    who = order[small]
    reach = math.ceil(radius[who].max()) + 1 if who.size else 0  # pixels a small disc can touch
    base_row, base_column = np.floor(centre_y[who]).astype(np.int64), np.floor(centre_x[who]).astype(np.int64)
    for offset_row in range(-reach, reach + 1):
        rows = base_row + offset_row
        dy = rows + 0.5 - centre_y[who]
        for offset_column in range(-reach, reach + 1):
            columns = base_column + offset_column
            cover(rows, columns, dy, columns + 0.5 - centre_x[who], who)
    for i in order[~small]:
        top, bottom = (
            max(0, math.floor(centre_y[i] - radius[i])),
            min(height, math.floor(centre_y[i] + radius[i]) + 1),
        )
        left, right = (
            max(0, math.floor(centre_x[i] - radius[i])),
            min(width, math.floor(centre_x[i] + radius[i]) + 1),
        )
        if top >= bottom or left >= right:
            continue
        rows, columns = np.meshgrid(np.arange(top, bottom), np.arange(left, right), indexing="ij")
        rows, columns = rows.ravel(), columns.ravel()
        cover(rows, columns, rows + 0.5 - centre_y[i], columns + 0.5 - centre_x[i], np.full(rows.size, i))
    # the pixel under each centre inside the frame (x = 1 or y = 1 is the last one)
    centred = (centre_y >= 0) & (centre_y <= height) & (centre_x >= 0) & (centre_x <= width)
    row = np.minimum(np.floor(centre_y[centred]).astype(np.int64), height - 1)
    column = np.minimum(np.floor(centre_x[centred]).astype(np.int64), width - 1)
    np.maximum.at(owner, row * width + column, order[centred])

    covered = owner >= 0
    winners = owner[covered]
    for channel, column_values in enumerate((values[:, 4] / AB_SCALE, values[:, 5] / AB_SCALE)):
        raster[channel].reshape(-1)[covered] = column_values[winners]
    raster[2].reshape(-1)[covered] = 1.0
    return raster


# ---------------------------------------------------------------------------------------------
# The stored format


@dataclass(frozen=True)
class Key:
    """One key of a hint: frame, position and (optionally) a new colour from this frame on."""

    frame: int
    x: float
    y: float
    color: ColourSpec | None = None


@dataclass(frozen=True)
class Hint:
    """One hint: its id, colour, radius and keys (sorted by frame, at least one)."""

    id: str
    color: ColourSpec | None
    radius: float
    keys: tuple[Key, ...]
    until: int | None = None  # last frame it persists to after its last key (None: no end)
    _key_labs: tuple = field(init=False, repr=False, compare=False)
    _key_frames: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # colour conversions once, not on every frame asked
        object.__setattr__(self, "_key_labs", self._compute_key_colours())
        object.__setattr__(self, "_key_frames", tuple(key.frame for key in self.keys))

    @property
    def first_frame(self) -> int:
        return self.keys[0].frame

    @property
    def last_frame(self) -> int:
        return self.keys[-1].frame

    def is_active(self, frame: int) -> bool:
        """Drawn on `frame`: between its first and last key; a one-key hint on every frame, or
        only on its key's frame when it has an `until` (it persists from there)."""
        if len(self.keys) == 1 and self.until is None:
            return True
        return self.first_frame <= frame <= self.last_frame

    def persists_at(self, frame: int) -> bool:
        """After its last key a hint follows its object (carried by flow from that key's frame,
        contract-2 models) up to `until`; a one-key hint without `until` is drawn everywhere."""
        if frame <= self.last_frame or (len(self.keys) == 1 and self.until is None):
            return False
        return self.until is None or frame <= self.until

    def key_colours(self) -> tuple[Lab, ...]:
        """The L*a*b* colour in force at each key (a key without "color" keeps the one before)."""
        return self._key_labs

    def _compute_key_colours(self) -> tuple[Lab, ...]:
        current = _lab_of(self.color) if self.color is not None else None
        colours = []
        for key in self.keys:
            if key.color is not None:
                current = _lab_of(key.color)
            colours.append(current)
        return tuple(colours)

    def at(self, frame: int) -> ActiveHint | None:
        """This hint on `frame`, or None when it is not active there."""
        if not self.is_active(frame):
            return None
        colours, frames = self._key_labs, self._key_frames
        after = bisect.bisect_right(frames, frame)
        if after == 0 or after == len(frames):  # single key, or on/beyond an end key
            index = 0 if after == 0 else len(frames) - 1
            key = self.keys[index]
            return ActiveHint(key.x, key.y, colours[index], self.radius)
        before = after - 1
        start, end = self.keys[before], self.keys[after]
        share = (frame - start.frame) / (end.frame - start.frame)
        return ActiveHint(
            _lerp(start.x, end.x, share),
            _lerp(start.y, end.y, share),
            tuple(_lerp(a, b, share) for a, b in zip(colours[before], colours[after])),
            self.radius,
        )


@dataclass(frozen=True)
class ReferenceSpec:
    """A reference frame as the hints format names it: an image file for `frame`, and where it
    applies (`first`..`last`, inclusive; None: from its frame to the next reference)."""

    frame: int
    image: Path
    first: int | None = None
    last: int | None = None


@dataclass(frozen=True)
class HintSet:
    """A validated set of hints (ids unique, in file order: later hints win overlaps) and the
    reference frames the file names."""

    hints: tuple[Hint, ...] = ()
    references: tuple[ReferenceSpec, ...] = ()

    # -- reading ---------------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> HintSet:
        return cls(())

    @classmethod
    def from_json(cls, text: str, base: Path | None = None) -> HintSet:
        """Parse and validate; raises HintError naming the problem (line and column for bad JSON).

        `base`: the folder relative reference image paths start from (default: the current one).
        """
        if not isinstance(text, str):
            raise HintError(f"hints must be given as JSON text, got {type(text).__name__}")
        text = text.removeprefix("\ufeff")  # a byte order mark, as some Windows editors write
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            raise HintError(
                f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
            ) from None
        return cls.from_dict(data, base)

    @classmethod
    def from_file(cls, path: str | Path) -> HintSet:
        """Read a hints file; reference images named relative to it are found beside it."""
        try:
            text = Path(path).read_text(encoding="utf-8-sig")  # a byte order mark is accepted
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise HintError(f"cannot read hints file {str(path)!r}: {reason}") from None
        return cls.from_json(text, base=Path(path).resolve().parent)

    @classmethod
    def from_dict(cls, data: Any, base: Path | None = None) -> HintSet:
        """Validate an already-parsed JSON value (see docs/hints.md)."""
        if not isinstance(data, dict):
            raise HintError(
                f'the top level must be an object {{"version": 1, "hints": [...]}}, got {_kind(data)}'
            )
        _refuse_unknown(data, _TOP_FIELDS, "the top level")
        if "version" not in data:
            raise HintError(f'missing "version" at the top level (expected {FORMAT_VERSION})')
        version = data["version"]
        if version != FORMAT_VERSION or isinstance(version, bool):
            raise HintError(f"unsupported version {version!r}: this build reads version {FORMAT_VERSION}")
        if "hints" not in data:
            raise HintError('missing "hints" at the top level (a list, possibly empty)')
        if not isinstance(data["hints"], list):
            raise HintError(f'"hints" must be a list, got {_kind(data["hints"])}')
        hints = tuple(_parse_hint(item, index) for index, item in enumerate(data["hints"]))
        seen: dict[str, int] = {}
        for index, hint in enumerate(hints):
            if hint.id in seen:
                raise HintError(f"duplicate hint id {hint.id!r} (hints[{seen[hint.id]}] and hints[{index}])")
            seen[hint.id] = index
        references = data.get("references", [])
        if not isinstance(references, list):
            raise HintError(f'"references" must be a list, got {_kind(references)}')
        return cls(hints, tuple(_parse_reference(item, index, base) for index, item in enumerate(references)))

    # -- writing ---------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "version": FORMAT_VERSION,
            "hints": [
                {
                    "id": hint.id,
                    **({"color": _colour_json(hint.color)} if hint.color is not None else {}),
                    "radius": hint.radius,
                    **({"until": hint.until} if hint.until is not None else {}),
                    "keys": [
                        {
                            "frame": key.frame,
                            "x": key.x,
                            "y": key.y,
                            **({"color": _colour_json(key.color)} if key.color is not None else {}),
                        }
                        for key in hint.keys
                    ],
                }
                for hint in self.hints
            ],
            **(
                {
                    "references": [
                        {
                            "frame": r.frame,
                            "image": str(r.image),
                            **({"from": r.first} if r.first is not None else {}),
                            **({"until": r.last} if r.last is not None else {}),
                        }
                        for r in self.references
                    ]
                }
                if self.references
                else {}
            ),
        }

    def to_json(self) -> str:
        """Readable JSON (one line per key) that `from_json` reads back to an equal HintSet."""
        hints = []
        for hint in self.to_dict()["hints"]:
            keys = ",\n".join(f"      {json.dumps(key)}" for key in hint.pop("keys"))
            head = json.dumps(hint)[:-1]  # the hint's fields without the closing brace
            hints.append(f'    {head}, "keys": [\n{keys}\n    ]}}')
        body = ",\n".join(hints)
        listing = f"[\n{body}\n  ]" if hints else "[]"
        return f'{{\n  "version": {FORMAT_VERSION},\n  "hints": {listing}\n}}\n'

    def fingerprint(self) -> str:
        """A stable hash of the content (same hints -> same string, in any process); computed once."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
            cached = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
            object.__setattr__(self, "_fingerprint", cached)  # frozen: content never changes
        return cached

    # -- use -------------------------------------------------------------------------------------

    def persisting(self, frame: int) -> dict[int, list[ActiveHint]]:
        """The hints that persist on `frame`, by the frame they are carried from (their last key),
        as they are drawn there."""
        groups: dict[int, list[ActiveHint]] = {}
        for hint in self.hints:
            if hint.persists_at(frame):
                groups.setdefault(hint.last_frame, []).append(hint.at(hint.last_frame))
        return groups

    def reference_frames(self) -> list:
        """The references as colormotion.references.ReferenceFrame (images read once per process)."""
        return [read_reference_spec(spec) for spec in self.references]

    def inactive_over(self, first: int, last: int) -> list[Hint]:
        """The hints active on none of the frames first..last (a misnumbered key, usually)."""
        return [
            hint
            for hint in self.hints
            if not (len(hint.keys) == 1 or (hint.first_frame <= last and hint.last_frame >= first))
        ]

    def at(self, frame: int) -> list[ActiveHint]:
        """The hints active on `frame`, in file order."""
        frame = _frame_number(frame)
        return [active for active in (hint.at(frame) for hint in self.hints) if active is not None]

    def merged(self, *others: HintSet) -> HintSet:
        """This set followed by others (ids must stay unique)."""
        merged = HintSet.from_dict(
            {"version": FORMAT_VERSION, "hints": [h for s in (self, *others) for h in s.to_dict()["hints"]]}
        )
        return HintSet(merged.hints, tuple(r for s in (self, *others) for r in s.references))

    def __len__(self) -> int:
        return len(self.hints)

    def __bool__(self) -> bool:
        return bool(self.hints)


# ---------------------------------------------------------------------------------------------
# Validation helpers


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a number" if isinstance(value, (int, float)) else type(value).__name__


def _as_json(value: Any) -> str:
    """A value as the JSON text it came from (true, null, "text"), for messages."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _refuse_constant(name: str):
    raise HintError(f"not valid JSON: {name} is not allowed (numbers must be finite)")


def _refuse_unknown(obj: dict, allowed: Sequence[str], where: str) -> None:
    unknown = [name for name in obj if name not in allowed]
    if unknown:
        listed = ", ".join(repr(name) for name in unknown)
        raise HintError(
            f"{where}: unknown field{'s' if len(unknown) > 1 else ''} {listed} (allowed: {', '.join(allowed)})"
        )


def _finite_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise HintError(f"{what} must be a number, got {_as_json(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise HintError(f"{what} must be finite, got {value}")
    return value


def _frame_number(frame: Any) -> int:
    if isinstance(frame, (bool, np.bool_)):
        raise ValueError(f"frame must be an integer, got {_as_json(frame)}")
    if isinstance(frame, (int, np.integer)):
        return int(frame)
    if isinstance(frame, (float, np.floating)) and float(frame).is_integer():
        return int(frame)
    raise ValueError(f"frame must be an integer, got {_as_json(frame)}")


def _parse_colour(value: Any, where: str) -> ColourSpec:
    if isinstance(value, str):
        if not _HEX_COLOUR.match(value):
            raise HintError(f'{where}: color {value!r} is not "#RRGGBB" (six hex digits)')
        return value.lower()
    if isinstance(value, list):
        if len(value) != 3:
            raise HintError(f"{where}: color [r, g, b] needs 3 numbers, got {len(value)}")
        channels = []
        for name, channel in zip("rgb", value):
            if isinstance(channel, bool) or not isinstance(channel, (int, float)):
                raise HintError(f"{where}: color {name} must be a number in 0..1, got {_as_json(channel)}")
            if not 0.0 <= channel <= 1.0:
                raise HintError(f"{where}: color {name} = {channel} is outside 0..1")
            channels.append(float(channel))
        return tuple(channels)
    raise HintError(f'{where}: color must be "#RRGGBB" or [r, g, b] in 0..1, got {_kind(value)}')


def _colour_json(spec: ColourSpec) -> Any:
    return spec if isinstance(spec, str) else list(spec)


def _lab_of(spec: ColourSpec) -> Lab:
    """Display-sRGB colour spec -> L*a*b*."""
    if isinstance(spec, str):
        rgb = tuple(int(spec[i : i + 2], 16) / 255.0 for i in (1, 3, 5))
    else:
        rgb = spec
    return colour.rgb_to_lab(rgb, "srgb")


def _parse_unit(key: dict, name: str, where: str) -> float:
    if name not in key:
        raise HintError(f'{where}: missing "{name}"')
    value = key[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise HintError(f"{where}: {name} must be a number in 0..1, got {_as_json(value)}")
    if not 0.0 <= value <= 1.0:
        raise HintError(f"{where}: {name} = {value} is outside 0..1 (positions are fractions of the frame)")
    return float(value)


def _parse_key(key: Any, where: str) -> Key:
    if not isinstance(key, dict):
        raise HintError(f"{where}: a key must be an object with frame, x, y, got {_kind(key)}")
    _refuse_unknown(key, _KEY_FIELDS, where)
    if "frame" not in key:
        raise HintError(f'{where}: missing "frame"')
    frame = key["frame"]
    if isinstance(frame, bool) or not isinstance(frame, int):
        raise HintError(f"{where}: frame must be an integer, got {_as_json(frame)}")
    where = f"{where} (frame {frame})"
    x = _parse_unit(key, "x", where)
    y = _parse_unit(key, "y", where)
    color = _parse_colour(key["color"], where) if "color" in key else None
    return Key(frame, x, y, color)


def _parse_reference(item: Any, index: int, base: Path | None) -> ReferenceSpec:
    where = f"references[{index}]"
    if not isinstance(item, dict):
        raise HintError(f"{where}: a reference must be an object with frame and image, got {_kind(item)}")
    _refuse_unknown(item, _REFERENCE_FIELDS, where)
    for name in ("frame", "image"):
        if name not in item:
            raise HintError(f"{where}: missing {name!r}")
    try:
        frame = _frame_number(item["frame"])
        first = _frame_number(item["from"]) if "from" in item else None
        last = _frame_number(item["until"]) if "until" in item else None
    except ValueError as error:
        raise HintError(f"{where}: {error}") from None
    if not isinstance(item["image"], str) or not item["image"]:
        raise HintError(f"{where}: image must be a file name, got {_as_json(item['image'])}")
    if first is not None and last is not None and last < first:
        raise HintError(f"{where}: from {first} is after until {last}")
    image = Path(item["image"]).expanduser()
    if not image.is_absolute() and base is not None:
        image = base / image
    return ReferenceSpec(frame, image, first, last)


_REFERENCE_IMAGES: dict = {}


def read_reference_spec(spec: ReferenceSpec):
    """The reference's image, read once per process while the file stays the same (also the
    node's reference slots)."""
    from .references import ReferenceError, read_reference

    try:
        stat = spec.image.stat()
    except OSError:
        raise HintError(f"reference image {str(spec.image)!r} (frame {spec.frame}) does not exist") from None
    key = (spec, stat.st_size, stat.st_mtime_ns)
    found = _REFERENCE_IMAGES.get(key)
    if found is None:
        try:
            found = read_reference(spec.image, spec.frame, spec.first, spec.last)
        except ReferenceError as error:
            raise HintError(str(error)) from None
        if len(_REFERENCE_IMAGES) > 16:
            _REFERENCE_IMAGES.clear()
        _REFERENCE_IMAGES[key] = found
    return found


def _parse_hint(item: Any, index: int) -> Hint:
    where = f"hints[{index}]"
    if not isinstance(item, dict):
        raise HintError(f"{where}: a hint must be an object with id, color, keys, got {_kind(item)}")
    hint_id = item.get("id")
    if "id" not in item:
        raise HintError(f'{where}: missing "id"')
    if not isinstance(hint_id, str) or not hint_id.strip():
        raise HintError(f"{where}: id must be a non-empty string, got {_as_json(hint_id)}")
    where = f"hint {hint_id!r}"
    _refuse_unknown(item, _HINT_FIELDS, where)

    radius = item.get("radius", DEFAULT_RADIUS)
    if isinstance(radius, bool) or not isinstance(radius, (int, float)):
        raise HintError(f"{where}: radius must be a number, got {_as_json(radius)}")
    if not 0.0 < radius <= MAX_RADIUS:
        raise HintError(
            f"{where}: radius = {radius} must be > 0 and <= {MAX_RADIUS} (a fraction of the short side)"
        )

    color = _parse_colour(item["color"], where) if "color" in item else None

    if "keys" not in item:
        raise HintError(f'{where}: missing "keys" (a list of {{"frame", "x", "y"}})')
    keys_value = item["keys"]
    if not isinstance(keys_value, list) or not keys_value:
        raise HintError(f"{where}: keys must be a non-empty list, got {_kind(keys_value)}")
    keys = [_parse_key(key, f"{where}, keys[{i}]") for i, key in enumerate(keys_value)]
    frames: dict[int, int] = {}
    for i, key in enumerate(keys):
        if key.frame in frames:
            raise HintError(
                f"{where}: two keys on frame {key.frame} (keys[{frames[key.frame]}] and keys[{i}])"
            )
        frames[key.frame] = i
    keys.sort(key=lambda key: key.frame)
    if color is None and keys[0].color is None:
        raise HintError(f'{where}: missing "color" (give it on the hint or on its first key)')
    until = None
    if "until" in item:
        try:
            until = _frame_number(item["until"])
        except ValueError as error:
            raise HintError(f"{where}: until: {error}") from None
        if until < keys[-1].frame:
            raise HintError(f"{where}: until {until} is before its last key (frame {keys[-1].frame})")
    return Hint(hint_id, color, float(radius), tuple(keys), until)


def _lerp(start: float, end: float, share: float) -> float:
    return start + (end - start) * share
