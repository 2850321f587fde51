"""The hints file being edited: the JSON of docs/hints.md, every edit undoable.

No Qt here: the editor window, the Nuke panel and the tests share this model. The document holds
the file's own JSON data (so a file loaded and saved unedited keeps every field as written) and
checks it with `colormotion.hints.HintSet` after each edit, so it never holds a file the command
line would refuse. Undo and redo restore whole snapshots: a hints file is small.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..hints import HintError, HintSet
from ..io.atomic import write_text

DEFAULT_RADIUS = 0.01
EMPTY = {"version": 1, "hints": []}


@dataclass(frozen=True)
class KeyMark:
    """A key of a hint, as the timeline shows it."""

    hint_id: str
    frame: int


class HintDocument:
    def __init__(self, data: dict | None = None, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._data = copy.deepcopy(data if data is not None else EMPTY)
        self._hints = self._checked(self._data)  # what the engine renders, parsed once per state
        self._undo: list[tuple[str, dict]] = []
        self._redo: list[tuple[str, dict]] = []
        self._saved = copy.deepcopy(self._data)

    # -- files --------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> HintDocument:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HintError(f"cannot read hints file {path}: {error}") from None
        return cls(data, path)

    def to_json(self) -> str:
        return json.dumps(self._data, indent=2) + "\n"

    def save(self, path: str | Path | None = None) -> Path:
        """Write the file atomically (replacing the old one: the user asked to save over it)."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("no file to save to: give a path")
        write_text(target, self.to_json(), overwrite=True)
        self.path, self._saved = target, copy.deepcopy(self._data)
        self._hints = self._checked(self._data)  # references resolve beside the new file
        return target

    @property
    def modified(self) -> bool:
        return self._data != self._saved

    @property
    def data(self) -> dict:
        return copy.deepcopy(self._data)

    def hint_set(self) -> HintSet:
        """What the engine renders (reference images resolved beside the file)."""
        return self._hints

    # -- reading ------------------------------------------------------------------------------

    def hint_ids(self) -> list[str]:
        return [hint["id"] for hint in self._data["hints"]]

    def hint(self, hint_id: str) -> dict:
        for hint in self._data["hints"]:
            if hint["id"] == hint_id:
                return copy.deepcopy(hint)
        raise KeyError(f"no hint {hint_id!r}")

    def keys(self) -> list[KeyMark]:
        return sorted(
            (KeyMark(hint["id"], int(key["frame"])) for hint in self._data["hints"] for key in hint["keys"]),
            key=lambda mark: (mark.frame, mark.hint_id),
        )

    def positions_at(self, frame: int) -> dict[str, tuple[float, float, float]]:
        """(x, y, radius) of every hint shown at `frame` (interpolated between keys)."""
        shown = {}
        for hint in self.hint_set().hints:
            active = hint.at(frame)
            if active is not None:
                shown[hint.id] = (active.x, active.y, hint.radius)
        return shown

    def references(self) -> list[dict]:
        return copy.deepcopy(self._data.get("references", []))

    # -- edits (each one undoable) -----------------------------------------------------------

    def add_hint(self, frame: int, x: float, y: float, colour: str, radius: float = DEFAULT_RADIUS) -> str:
        taken = set(self.hint_ids())
        number = len(taken) + 1
        while f"hint{number}" in taken:
            number += 1
        hint_id = f"hint{number}"
        hint = {"id": hint_id, "color": colour, "radius": radius, "keys": [_key(frame, x, y)]}
        self._edit("add hint", lambda data: data["hints"].append(hint))
        return hint_id

    def move(self, hint_id: str, frame: int, x: float, y: float) -> None:
        """Key the hint's position on `frame` (a new key there, or the key there moved)."""

        def change(data):
            hint = _find(data, hint_id)
            key = _key_at(hint, frame)
            if key is None:
                hint["keys"].append(_key(frame, x, y, colour=key_colour_at(hint, frame)))
                hint["keys"].sort(key=lambda k: k["frame"])
            else:
                key["x"], key["y"] = round(x, 4), round(y, 4)

        self._edit("move hint", change)

    def set_colour(self, hint_id: str, frame: int, colour: str) -> None:
        """The hint's colour from `frame` on: on its key there, or on the whole hint when it has
        a single key (a hint that never changes colour stays one colour)."""

        def change(data):
            hint = _find(data, hint_id)
            key = _key_at(hint, frame)
            if len(hint["keys"]) == 1 and key is not None:
                hint["color"] = colour
                key.pop("color", None)
            elif key is not None:
                key["color"] = colour
            else:
                position = self.positions_at(frame).get(hint_id)
                x, y = position[:2] if position else (hint["keys"][-1]["x"], hint["keys"][-1]["y"])
                hint["keys"].append(_key(frame, x, y, colour=colour))
                hint["keys"].sort(key=lambda k: k["frame"])

        self._edit("change colour", change)

    def set_radius(self, hint_id: str, radius: float) -> None:
        radius = min(1.0, max(0.001, float(radius)))
        self._edit("change radius", lambda data: _find(data, hint_id).__setitem__("radius", round(radius, 4)))

    def delete_key(self, hint_id: str, frame: int) -> None:
        """Remove the hint's key on `frame`; its last key removes the hint."""

        def change(data):
            hint = _find(data, hint_id)
            hint["keys"] = [k for k in hint["keys"] if int(k["frame"]) != frame]
            if not hint["keys"]:
                data["hints"].remove(hint)

        self._edit("delete key", change)

    def delete_hint(self, hint_id: str) -> None:
        self._edit("delete hint", lambda data: data["hints"].remove(_find(data, hint_id)))

    def set_reference(self, frame: int, image: str) -> None:
        """The colour image of `frame` (replacing one on that frame); stored relative to the
        hints file's folder when it lies under it."""

        def change(data):
            references = [r for r in data.get("references", []) if int(r["frame"]) != frame]
            references.append({"frame": frame, "image": self._relative(image)})
            data["references"] = sorted(references, key=lambda r: r["frame"])

        self._edit("set reference", change)

    def remove_reference(self, frame: int) -> None:
        def change(data):
            data["references"] = [r for r in data.get("references", []) if int(r["frame"]) != frame]
            if not data["references"]:
                del data["references"]

        self._edit("remove reference", change)

    # -- undo ---------------------------------------------------------------------------------

    def undo(self) -> str | None:
        return self._restore(self._undo, self._redo)

    def redo(self) -> str | None:
        return self._restore(self._redo, self._undo)

    def _restore(self, source: list, target: list) -> str | None:
        """Restore the newest snapshot of `source`, keeping the current one on `target`; its edit's name."""
        if not source:
            return None
        name, snapshot = source.pop()
        target.append((name, self._data))
        self._data, self._hints = snapshot, self._checked(snapshot)
        return name

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # -- internals ----------------------------------------------------------------------------

    def _edit(self, name: str, change) -> None:
        edited = copy.deepcopy(self._data)
        change(edited)
        hints = self._checked(edited)  # an edit that would make a file the engine refuses is not made
        self._undo.append((name, self._data))
        self._redo.clear()
        self._data, self._hints = edited, hints

    def _checked(self, data: dict) -> HintSet:
        return HintSet.from_dict(data, base=self.path.parent if self.path else None)

    def _relative(self, image: str) -> str:
        path = Path(image).absolute()
        if self.path is not None:
            try:
                return path.relative_to(self.path.parent.absolute()).as_posix()
            except ValueError:
                pass
        return str(path)


def _key(frame: int, x: float, y: float, colour: Any = None) -> dict:
    key = {"frame": int(frame), "x": round(min(1.0, max(0.0, x)), 4), "y": round(min(1.0, max(0.0, y)), 4)}
    if colour is not None:
        key["color"] = colour
    return key


def _find(data: dict, hint_id: str) -> dict:
    for hint in data["hints"]:
        if hint["id"] == hint_id:
            return hint
    raise KeyError(f"no hint {hint_id!r}")


def _key_at(hint: dict, frame: int) -> dict | None:
    return next((k for k in hint["keys"] if int(k["frame"]) == frame), None)


def key_colour_at(hint: dict, frame: int) -> Any:
    """The colour the hint's keys set by `frame` (the latest key colour on or before it), else None:
    the hint's own colour applies."""
    colour = None
    for key in sorted(hint["keys"], key=lambda k: k["frame"]):
        if int(key["frame"]) <= frame and "color" in key:
            colour = key["color"]
    return colour
