"""OpenFX declarations for cffi and the specification's constants, read from ``ofx_min.h``.

The header is the single definition shared with the C loader and the C test host: the struct
declarations between the ``cffi-begin``/``cffi-end`` markers go to cffi, and every
``#define kOfx... "string"`` or integer becomes an attribute of :data:`OFX`.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import cffi


def find_header() -> Path:
    """ofx_min.h next to this package: ``<root>/include`` in the repo (ofx_bridge/) and bundle."""
    here = Path(__file__).resolve().parent
    for root in (here.parent.parent, here.parent):
        candidate = root / "include" / "ofx_min.h"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"ofx_min.h not found near {here}")


def _cffi_declarations(text: str) -> str:
    match = re.search(r"/\* cffi-begin[^*]*\*/(.*?)/\* cffi-end \*/", text, re.S)
    if not match:
        raise ValueError("ofx_min.h has no cffi-begin/cffi-end section")
    return match.group(1)


def _constants(text: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, string in re.findall(r'^#define\s+(kOfx\w+)\s+"([^"]*)"', text, re.M):
        values[name] = string.encode()
    for name, number in re.findall(r"^#define\s+(kOfx\w+)\s+(-?\d+)\s*$", text, re.M):
        values[name] = int(number)
    return values


_HEADER_TEXT = find_header().read_text()

ffi = cffi.FFI()
ffi.cdef(_cffi_declarations(_HEADER_TEXT))

#: Every kOfx constant of ofx_min.h: strings as bytes (ready for C calls), status codes as int.
OFX = SimpleNamespace(**_constants(_HEADER_TEXT))


class OfxError(RuntimeError):
    """A host call returned a failing status."""

    def __init__(self, status: int, what: str):
        super().__init__(f"{what} returned OpenFX status {status}")
        self.status = status
