"""`colormotion ofx doctor`: why a host does (not) list the Colorize filter.

Hosts drop a plug-in without a word when it cannot load (MLT, Kdenlive, Shotcut) or show a
terse error (Resolve, Natron). The doctor walks what a host walks: the plug-in folders, the
bundle, the Python environment the bundle was built against, the modules it imports inside a
host, the model; and says what is wrong and how to fix it.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

SYSTEM_FOLDERS = (Path("/usr/OFX/Plugins"), Path("/usr/local/OFX/Plugins"))
RUNTIME_CHECK = (
    "import importlib.util, sys; "
    "missing = [m for m in ('numpy', 'cffi', 'cv2', 'onnxruntime', 'colormotion') "
    "if importlib.util.find_spec(m) is None]; "
    "print(' '.join(missing)); sys.exit(1 if missing else 0)"
)
MODEL_CHECK = "from colormotion.model import load_model; m = load_model(); print(m.path, m.provider)"


@dataclass
class Finding:
    ok: bool
    text: str


def plugin_folders() -> list[Path]:
    """Where Linux hosts look, in their order: OFX_PLUGIN_PATH, then the system folders."""
    listed = [Path(p) for p in os.environ.get("OFX_PLUGIN_PATH", "").split(":") if p]
    return listed + [p for p in SYSTEM_FOLDERS if p not in listed]


def find_bundles(bundle_name: str) -> list[Path]:
    """Bundles a host would find: in each folder and one folder deep (as MLT scans)."""
    found = []
    for folder in plugin_folders():
        for candidate in (folder / bundle_name, *folder.glob(f"*/{bundle_name}")):
            if candidate.is_dir() and candidate.resolve() not in [f.resolve() for f in found]:
                found.append(candidate)
    return found


def check_bundle(bundle: Path, binary_relative: str, config_name: str) -> list[Finding]:
    findings: list[Finding] = []
    binary = bundle / binary_relative
    if not binary.is_file():
        return [Finding(False, f"{binary} is missing: rebuild with colormotion ofx build")]
    try:
        library = ctypes.CDLL(str(binary), mode=os.RTLD_LOCAL)
        library.OfxGetPlugin  # noqa: B018 - the symbol hosts look up
        findings.append(Finding(True, f"{binary} loads and exports OfxGetPlugin"))
    except (OSError, AttributeError) as error:
        return [Finding(False, f"{binary} cannot be loaded by a host: {error}")]
    resources = bundle / "Contents" / "Resources"
    for name in ("description.tsv", "ofx_declarations.json"):
        if not (resources / name).is_file():
            findings.append(
                Finding(False, f"{resources / name} is missing: rebuild with colormotion ofx build")
            )
    try:
        config = json.loads((resources / config_name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [
            *findings,
            Finding(False, f"{resources / config_name} is unreadable ({error}): rebuild the bundle"),
        ]
    for key in ("libpython", "executable"):
        path = Path(config.get(key, ""))
        if not path.exists():
            findings.append(
                Finding(
                    False,
                    f"the bundle's {key} {path} no longer exists: rebuild it in the environment you use",
                )
            )
    executable = Path(config.get("executable", ""))
    if not executable.exists():
        return findings
    findings.append(Finding(True, f"Python {config.get('version')} environment: {config.get('prefix')}"))
    runtime = subprocess.run([str(executable), "-c", RUNTIME_CHECK], capture_output=True, text=True)
    if runtime.returncode != 0:
        missing = runtime.stdout.strip() or runtime.stderr.strip().splitlines()[-1:]
        findings.append(
            Finding(
                False, f"that environment lacks {missing}: pip install 'colormotion[cpu]' there, then rebuild"
            )
        )
        return findings
    findings.append(Finding(True, "numpy, cffi, OpenCV, onnxruntime and colormotion import there"))
    model = subprocess.run([str(executable), "-c", MODEL_CHECK], capture_output=True, text=True)
    if model.returncode != 0:
        last = (model.stderr.strip().splitlines() or ["no message"])[-1]
        findings.append(Finding(False, f"the model does not load there: {last}"))
    else:
        findings.append(Finding(True, f"model {model.stdout.strip()}"))
    return findings


def run_doctor(bundle_name: str, binary_relative: str, config_name: str, bundle: Path | None = None) -> int:
    """Prints the findings; 0 when a host would list and run the filter, 3 otherwise."""
    problems = 0
    if bundle is not None:
        bundles = [bundle]
    else:
        folders = plugin_folders()
        print("plug-in folders hosts scan: " + ", ".join(str(f) for f in folders))
        bundles = find_bundles(bundle_name)
        if not bundles:
            print(
                f"problem: no {bundle_name} in those folders, so no host lists the filter: run "
                "colormotion ofx install and add the folder it prints to OFX_PLUGIN_PATH"
            )
            return 3
    for found in bundles:
        print(f"{found}:")
        for finding in check_bundle(found, binary_relative, config_name):
            problems += not finding.ok
            print(f"  {'ok' if finding.ok else 'problem'}: {finding.text}")
    log = os.environ.get("COLORMOTION_OFX_LOG") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "colormotion" / "ofx.log"
    )
    print(f"what the plug-in reports inside a host goes to {log}")
    return 3 if problems else 0
