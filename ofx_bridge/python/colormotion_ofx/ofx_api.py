"""OpenFX declarations for cffi and the specification's constants, from the official headers.

The official OpenFX API headers (AcademySoftwareFoundation/openfx, BSD-3-Clause) are vendored in
``ofx_bridge/openfx/include`` and are the single definition for the C loader, the C test host and
this package: the C preprocessor expands them into plain declarations for cffi and lists their
``#define kOfx...`` macros. ``colormotion ofx build`` does that once and stores the result in the
bundle (``Resources/ofx_declarations.json``), so a host machine needs no compiler; a source
checkout without that file generates it on import.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import cffi

DECLARATIONS_NAME = "ofx_declarations.json"
#: The official headers the bridge uses (the rest of the API is not needed).
HEADERS = (
    "ofxCore.h",
    "ofxProperty.h",
    "ofxImageEffect.h",
    "ofxParam.h",
    "ofxMemory.h",
    "ofxMultiThread.h",
    "ofxMessage.h",
    "ofxGPURender.h",
)
# The headers include <stddef.h> and <limits.h>; cffi knows size_t and the macros need INT_MIN/MAX
# only, so these stand-ins keep the system headers (and their compiler extensions) out of cdef.
_SHIM_HEADERS = {
    "stddef.h": "",
    "limits.h": "#define INT_MIN (-2147483647 - 1)\n#define INT_MAX 2147483647\n",
}
_INT_MACRO = re.compile(r"^\(*\s*(?:\(\s*int\s*\)\s*)?(-?\d+)\s*\)*$")
_STRING_MACRO = re.compile(r'^"((?:[^"\\]|\\.)*)"$')


def official_include_dir() -> Path:
    """ofx_bridge/openfx/include of the source tree this package sits in."""
    return Path(__file__).resolve().parents[2] / "openfx" / "include"


def generate_declarations(include_dir: Path, cc: str | None = None) -> dict:
    """{"cdef": C declarations cffi accepts, "constants": {kOfx name: str or int}} of `HEADERS`."""
    cc = cc or os.environ.get("CC", "gcc")
    with tempfile.TemporaryDirectory(prefix="colormotion-ofx-") as scratch:
        shims = Path(scratch)
        for name, text in _SHIM_HEADERS.items():
            (shims / name).write_text(text)
        wrapper = shims / "ofx_all.h"
        wrapper.write_text("".join(f'#include "{header}"\n' for header in HEADERS))
        common = [cc, "-E", "-nostdinc", f"-I{shims}", f"-I{include_dir}", str(wrapper)]
        try:
            declarations = _run([*common[:2], "-P", *common[2:]])
            macros = _run([*common[:2], "-dM", *common[2:]])
        except FileNotFoundError as missing:
            raise RuntimeError(f"C compiler {cc!r} not found: it reads the OpenFX headers") from missing
    constants: dict[str, object] = {}
    for line in macros.splitlines():
        match = re.match(r"#define (kOfx\w+) (.+)$", line)
        if not match:
            continue
        name, body = match.group(1), match.group(2).strip()
        if string := _STRING_MACRO.match(body):
            constants[name] = string.group(1)
        elif number := _INT_MACRO.match(body):
            constants[name] = int(number.group(1))
    return {"headers": list(HEADERS), "cdef": declarations, "constants": constants}


def _run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"reading the OpenFX headers failed: {result.stderr.strip()}")
    return result.stdout


def _load_declarations() -> dict:
    # In a bundle this package is Resources/python/colormotion_ofx; the file is in Resources.
    bundled = Path(__file__).resolve().parents[2] / DECLARATIONS_NAME
    if bundled.is_file():
        return json.loads(bundled.read_text(encoding="utf-8"))
    return generate_declarations(official_include_dir())


DECLARATIONS = _load_declarations()

ffi = cffi.FFI()
ffi.cdef(DECLARATIONS["cdef"])

#: Every kOfx constant of the headers: strings as bytes (ready for C calls), numbers as int.
OFX = SimpleNamespace(
    **{
        name: value.encode() if isinstance(value, str) else value
        for name, value in DECLARATIONS["constants"].items()
    }
)

# Property names the specification builds from a clip name and has no macro for (ofxImageEffect.h,
# kOfxImageEffectActionGetRegionsOfInterest and kOfxImageEffectActionGetFramesNeeded: "a set of
# properties, one for each input clip, named OfxImageClipPropRoI_ / OfxImageClipPropFrameRange_
# with the name of the clip post-pended").
CLIP_ROI_PREFIX = b"OfxImageClipPropRoI_"
CLIP_FRAME_RANGE_PREFIX = b"OfxImageClipPropFrameRange_"


class OfxError(RuntimeError):
    """A host call returned a failing status."""

    def __init__(self, status: int, what: str):
        super().__init__(f"{what} returned OpenFX status {status}")
        self.status = status
