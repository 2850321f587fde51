"""The plug-in's description, recorded at build time so hosts get it without Python.

Hosts run Load, Describe and DescribeInContext in every process that scans plug-ins (MLT at
every start); answering them from C keeps a scan at a fraction of a millisecond and never maps
libpython. ``colormotion ofx build`` runs `describe` against a recording host and stores every
property and definition call in ``Resources/description.tsv``; the loader replays the file
(``replay_description`` in src/loader.c). One record per line, tab-separated, with ``\\t``,
``\\n`` and ``\\\\`` escaped in fields:

    SECTION  clip   NAME                         define a clip (DescribeInContext)
    SECTION  param  TYPE  NAME                   define a parameter (DescribeInContext)
    SECTION  set    TARGET  FLAG  KIND  PROPERTY  VALUE...

SECTION is ``describe`` or a context name; TARGET ``effect``, ``clip`` or ``param`` (the latest
defined); FLAG ``r`` (a failure fails the action) or ``o`` (optional: hosts may not know it);
KIND ``i``, ``d`` or ``s``; one VALUE per dimension.

    python -m colormotion_ofx.description RESOURCES_DIR     # also writes ofx_declarations.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

DESCRIPTION_NAME = "description.tsv"
_KINDS = {"int": "i", "ints": "i", "double": "d", "doubles": "d", "string": "s", "strings": "s"}


def _field(value) -> str:
    text = value.decode() if isinstance(value, bytes) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


class _RecordingProps:
    def __init__(self, lines: list[str], section: str, target: str):
        self._lines, self._section, self._target = lines, section, target

    def _record(self, flag: str, kind: str, name, values: Sequence) -> None:
        fields = [self._section, "set", self._target, flag, _KINDS[kind], _field(name)]
        self._lines.append("\t".join(fields + [_field(v) for v in values]))

    def set_int(self, name, value, index: int = 0) -> None:
        self._indexed("int", name, value, index)

    def set_double(self, name, value, index: int = 0) -> None:
        self._indexed("double", name, value, index)

    def set_string(self, name, value, index: int = 0) -> None:
        self._indexed("string", name, value, index)

    def _indexed(self, kind: str, name, value, index: int) -> None:
        if index != 0:
            raise ValueError(f"the description records whole properties; {name!r} was set at index {index}")
        self._record("r", kind, name, [value])

    def set_ints(self, name, values) -> None:
        self._record("r", "ints", name, [int(v) for v in values])

    def set_doubles(self, name, values) -> None:
        self._record("r", "doubles", name, [float(v) for v in values])

    def set_strings(self, name, values) -> None:
        self._record("r", "strings", name, list(values))

    def set_optional(self, kind: str, name, value) -> bool:
        values = list(value) if kind.endswith("s") else [value]
        self._record("o", kind, name, values)
        return True


class _RecordingHost:
    """Stands in for colormotion_ofx.host.Host in describe.describe / describe_in_context."""

    def __init__(self, lines: list[str], section: str):
        self._lines, self._section = lines, section

    def effect_props(self, effect) -> _RecordingProps:
        return _RecordingProps(self._lines, self._section, "effect")

    def param_set(self, effect) -> None:
        return None

    def define_clip(self, effect, name) -> _RecordingProps:
        self._lines.append("\t".join([self._section, "clip", _field(name)]))
        return _RecordingProps(self._lines, self._section, "clip")

    def define_param(self, param_set, kind, name) -> _RecordingProps:
        self._lines.append("\t".join([self._section, "param", _field(kind), _field(name)]))
        return _RecordingProps(self._lines, self._section, "param")


def record_description(specs: Sequence) -> str:
    """The description records of the effect and of every supported context."""
    from . import describe

    lines: list[str] = []
    describe.describe(_RecordingHost(lines, "describe"), None)
    for context in describe.SUPPORTED_CONTEXTS:
        describe.describe_in_context(_RecordingHost(lines, context.decode()), None, specs, context)
    return "\n".join(lines) + "\n"


def write_resources(resources: Path) -> None:
    """What `colormotion ofx build` puts in Resources from this package: the description and the
    official OpenFX headers expanded for cffi."""
    from colormotion.node import PARAM_SPECS

    from .ofx_api import DECLARATIONS, DECLARATIONS_NAME

    (resources / DESCRIPTION_NAME).write_text(record_description(PARAM_SPECS), encoding="utf-8")
    (resources / DECLARATIONS_NAME).write_text(json.dumps(DECLARATIONS, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_resources(Path(sys.argv[1]))
