"""`colormotion ofx build|install`: the OpenFX plug-in bundle.

The bundle is ``ColorMotion.ofx.bundle/Contents/Linux-x86-64/ColorMotion.ofx`` (the C loader from
ofx_bridge/src, compiled here with the C compiler against this Python's headers, with no link to
libpython) plus ``Contents/Resources/``: ``colormotion_ofx.json`` (the Python environment the
bundle was built against), the bridge's Python package, ``description.tsv`` (the description the
loader answers Describe with, without Python), ``ofx_declarations.json`` (the official OpenFX
headers of ofx_bridge/openfx expanded for cffi, so hosts need no compiler) and an icon.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import site
import struct
import subprocess
import sys
import sysconfig
import tempfile
import zlib
from pathlib import Path

from .. import __version__
from ..io.errors import OutputError, UsageError

BUNDLE_NAME = "ColorMotion.ofx.bundle"
BINARY_NAME = "ColorMotion.ofx"
ARCH_FOLDER = "Linux-x86-64"
PLUGIN_ID = "org.colormotion.Colorize"
CONFIG_NAME = "colormotion_ofx.json"
ICON_NAME = f"{PLUGIN_ID}.png"


# -- command line -----------------------------------------------------------------------------


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "ofx",
        help="build or install the OpenFX plug-in (Resolve, Natron, Nuke, Kdenlive/Shotcut)",
        description="Build or install the ColorMotion OpenFX plug-in bundle.",
    )
    actions = parser.add_subparsers(dest="ofx_command", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="compile the bundle", description="Compile the OpenFX bundle.")
    build.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"folder for {BUNDLE_NAME} (default: build/ofx of the source tree)",
    )
    build.add_argument("--cc", default=os.environ.get("CC", "gcc"), help="C compiler (default: $CC or gcc)")
    install = actions.add_parser(
        "install", help="build and install the bundle", description="Build the bundle and install it."
    )
    install.add_argument(
        "--dest", type=Path, default=None, help=f"plug-in folder (default: {default_install_dir()})"
    )
    install.add_argument("--overwrite", action="store_true", help="replace a different installed bundle")
    install.add_argument("--cc", default=os.environ.get("CC", "gcc"), help="C compiler (default: $CC or gcc)")
    doctor = actions.add_parser(
        "doctor",
        help="say why a host does (not) list the filter",
        description="Check what a host checks: plug-in folders, the bundle, its Python environment, the "
        "modules it imports in a host and the model. Exit 0 when a host would list and run the filter, "
        "3 when something is wrong (each problem is printed with its fix).",
    )
    doctor.add_argument("--bundle", type=Path, default=None, help=f"check this {BUNDLE_NAME} instead")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.ofx_command == "doctor":
        from .ofx_doctor import run_doctor

        return run_doctor(BUNDLE_NAME, f"Contents/{ARCH_FOLDER}/{BINARY_NAME}", CONFIG_NAME, args.bundle)
    if args.ofx_command == "build":
        bundle = build_bundle(args.out if args.out is not None else default_build_dir(), cc=args.cc)
        print(f"built {bundle}")
        print(f"hosts find it with: export OFX_PLUGIN_PATH={bundle.parent.resolve()}")
        return 0
    dest = args.dest if args.dest is not None else default_install_dir()
    installed = install_bundle(dest, overwrite=args.overwrite, cc=args.cc)
    print(f"installed {installed}")
    print(
        f'add to your shell profile: export OFX_PLUGIN_PATH="{dest.resolve()}${{OFX_PLUGIN_PATH:+:$OFX_PLUGIN_PATH}}"'
    )
    return 0


# -- locations --------------------------------------------------------------------------------


def bridge_sources() -> Path:
    """ofx_bridge/ of the source tree this package runs from."""
    root = Path(__file__).resolve().parents[3] / "ofx_bridge"
    if not (root / "src" / "loader.c").is_file():
        raise UsageError("the OpenFX bridge sources (ofx_bridge/) are not next to this installation", root)
    return root


def default_build_dir() -> Path:
    """build/ofx next to ofx_bridge/ (gitignored); the Rez package points OFX_PLUGIN_PATH here."""
    return bridge_sources().parent / "build" / "ofx"


def default_install_dir() -> Path:
    """A per-user plug-in folder (/usr/OFX/Plugins needs root); hosts read it via OFX_PLUGIN_PATH."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "OFX" / "Plugins"


# -- the Python environment -------------------------------------------------------------------


def python_environment() -> dict:
    """What the loader needs to start this very environment's Python inside a host."""
    if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
        raise UsageError(
            "this Python has no shared libpython (build it with --enable-shared)", sys.executable
        )
    libdir = Path(sysconfig.get_config_var("LIBDIR"))
    libpython = libdir / (sysconfig.get_config_var("INSTSONAME") or sysconfig.get_config_var("LDLIBRARY"))
    if not libpython.is_file():
        raise UsageError("libpython not found", libpython)
    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").is_file():
        raise UsageError("Python.h not found (install the Python development headers)", include)
    return {
        "version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "libpython": str(libpython),
        "executable": str(Path(sys.executable).absolute()),
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "site_packages": [p for p in site.getsitepackages() if Path(p).is_dir()],
        "include": str(include),
    }


# What the bridge imports inside a host, and the install that provides each.
RUNTIME_MODULES = (
    ("numpy", "pip install colormotion"),
    ("cffi", "pip install colormotion"),
    ("cv2", "pip install colormotion"),
    ("onnxruntime", "pip install 'colormotion[cpu]' (or '[gpu]')"),
    ("colormotion", "pip install colormotion"),
)


def missing_runtime_modules() -> list[str]:
    """'module (install)' for each module the bundle would fail to import in this environment."""
    return [f"{name} ({how})" for name, how in RUNTIME_MODULES if importlib.util.find_spec(name) is None]


def check_runtime_modules() -> None:
    missing = missing_runtime_modules()
    if missing:
        raise UsageError(
            "this environment lacks what the plug-in imports inside a host, so hosts would drop it: "
            + ", ".join(missing),
            sys.executable,
        )


def write_generated_resources(sources: Path, resources: Path, cc: str) -> None:
    """The bridge's build-time resources (colormotion_ofx.description.write_resources): the
    recorded description the loader answers Describe with, and the official OpenFX headers
    expanded for cffi. Run in a child process: it imports the bridge package from `sources`."""
    env = {**os.environ, "PYTHONPATH": str(sources / "python"), "CC": cc}
    command = [sys.executable, "-m", "colormotion_ofx.description", str(resources)]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no message"
        raise UsageError(f"could not describe the plug-in: {detail}", sources / "python")


# -- building ---------------------------------------------------------------------------------


def compile_loader(sources: Path, python_include: Path, output: Path, cc: str = "gcc") -> None:
    command = [
        cc,
        "-O2",
        "-fPIC",
        "-shared",
        "-fvisibility=hidden",
        "-Wall",
        "-Wno-format-truncation",
        f"-I{sources / 'openfx' / 'include'}",
        f"-I{python_include}",
        f'-DCOLORMOTION_PLUGIN_ID="{PLUGIN_ID}"',
        str(sources / "src" / "loader.c"),
        "-o",
        str(output),
        "-ldl",
        "-lpthread",
        "-Wl,-z,defs",  # no undefined symbols: in particular nothing from libpython
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError as missing:
        raise UsageError(f"C compiler {cc!r} not found; install gcc or set CC") from missing
    if result.returncode != 0:
        raise UsageError(
            f"compiling the OpenFX loader failed:\n{result.stderr.strip()}", sources / "src" / "loader.c"
        )


def build_bundle(out_dir: Path, cc: str = "gcc") -> Path:
    """Builds ColorMotion.ofx.bundle in `out_dir` (replacing an earlier build there)."""
    sources = bridge_sources()
    environment = python_environment()
    check_runtime_modules()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=out_dir))
    try:
        bundle = staging / BUNDLE_NAME
        binary_dir = bundle / "Contents" / ARCH_FOLDER
        resources = bundle / "Contents" / "Resources"
        binary_dir.mkdir(parents=True)
        resources.mkdir(parents=True)
        compile_loader(sources, Path(environment["include"]), binary_dir / BINARY_NAME, cc)
        shutil.copytree(
            sources / "python" / "colormotion_ofx",
            resources / "python" / "colormotion_ofx",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        write_generated_resources(sources, resources, cc)
        shutil.copy2(sources / "openfx" / "LICENSE.md", resources / "OpenFX-LICENSE.md")
        config = {"plugin_id": PLUGIN_ID, "colormotion_version": __version__, **environment}
        (resources / CONFIG_NAME).write_text(
            json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (resources / ICON_NAME).write_bytes(icon_png())
        final = out_dir / BUNDLE_NAME
        _replace_dir(bundle, final)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install_bundle(dest: Path, overwrite: bool = False, cc: str = "gcc") -> Path:
    """Builds a fresh bundle and copies it into `dest`; an existing different bundle is kept
    unless `overwrite`."""
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create the plug-in folder: {error.strerror}", dest) from error
    if not os.access(dest, os.W_OK):
        raise OutputError("the plug-in folder is not writable (choose another with --dest)", dest)
    with tempfile.TemporaryDirectory(prefix=".colormotion-ofx-", dir=dest) as scratch:
        built = build_bundle(Path(scratch), cc=cc)
        target = dest / BUNDLE_NAME
        if target.exists() and not _same_tree(built, target) and not overwrite:
            raise OutputError("a different ColorMotion bundle is already installed (use --overwrite)", target)
        _replace_dir(built, target)
    return target


def _replace_dir(new: Path, target: Path) -> None:
    """Moves `new` to `target`, replacing it with two renames (no half-written bundle)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _same_tree(a: Path, b: Path) -> bool:
    return b.is_dir() and _tree_digest(a) == _tree_digest(b)


# -- icon -------------------------------------------------------------------------------------


def icon_png(size: int = 128) -> bytes:
    """The plug-in icon: a gray ramp turning into colour along the diagonal (PNG, RGBA)."""
    import colorsys

    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type: none
        for x in range(size):
            u, v = x / (size - 1), y / (size - 1)
            gray = 0.15 + 0.7 * (1.0 - v)
            colour_amount = min(1.0, max(0.0, (u - v) * 2.0 + 0.5))
            r, g, b = colorsys.hsv_to_rgb((u * 0.8 + v * 0.2) % 1.0, 0.75, gray)
            pixel = [gray + (c - gray) * colour_amount for c in (r, g, b)]
            row += bytes(round(255 * c) for c in pixel) + b"\xff"
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )
