"""Drives the C test host (host.c): compile it, write frames and a script, run it, read results.

The host runs as a subprocess, so a crash inside the plug-in shows up as a failed run instead of
taking pytest down, and "the host survived" is a real check (exit code 0 and "HOST DONE").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
HOST_SOURCE = HERE / "host.c"
OFX_INCLUDE = REPO / "ofx_bridge" / "openfx" / "include"
sys.path.insert(0, str(REPO / "ofx_bridge" / "python"))
from colormotion_ofx.ofx_api import CLIP_FRAME_RANGE_PREFIX, CLIP_ROI_PREFIX, generate_declarations  # noqa: E402


def compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "gcc"))


def known_properties_header(out_dir: Path) -> Path:
    """A C header listing every name the official OpenFX headers define.

    The host refuses any other property name with kOfxStatErrUnknown, as strict hosts (the
    OpenFX HostSupport library, Natron, Nuke, Resolve) do; MLT accepts anything and hides such
    bugs. (Property macros are not all named *Prop*, e.g. kOfxImageEffectPluginRenderThreadSafety,
    so every string the headers define counts: a misspelt or swapped name is none of them.)
    """
    constants = generate_declarations(OFX_INCLUDE)["constants"]
    names = sorted({value for value in constants.values() if isinstance(value, str)})
    prefixes = [CLIP_ROI_PREFIX.decode(), CLIP_FRAME_RANGE_PREFIX.decode()]
    lines = ["static const char *const KNOWN_PROPERTIES[] = {"]
    lines += [f'  "{name}",' for name in names] + [
        "  0};",
        "static const char *const KNOWN_PROPERTY_PREFIXES[] = {",
    ]
    lines += [f'  "{prefix}",' for prefix in prefixes] + ["  0};"]
    header = out_dir / "known_properties.h"
    header.write_text("\n".join(lines) + "\n")
    return header


def compile_host(out_dir: Path) -> Path:
    binary = out_dir / "ofx_test_host"
    command = [
        compiler() or "gcc",
        "-O1",
        "-g",
        "-Wall",
        "-Wno-format-truncation",
        f"-I{OFX_INCLUDE}",
        "-include",
        str(known_properties_header(out_dir)),
        str(HOST_SOURCE),
        "-o",
        str(binary),
        "-ldl",
        "-lpthread",
        "-lm",
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return binary


def write_frames(folder: Path, frames: Sequence[np.ndarray], first: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for offset, frame in enumerate(frames):
        np.save(folder / f"in_{first + offset:05d}.npy", np.ascontiguousarray(frame))
    return folder


def sample_frames(count: int, height: int = 48, width: int = 64, seed: int = 0) -> list[np.ndarray]:
    """A short gray clip with structure and motion, float32 RGBA in 0..1 (alpha varies)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    texture = rng.random((height, width)).astype(np.float32)
    frames = []
    for t in range(count):
        shift = 2.0 * t
        gray = 0.45 + 0.3 * np.sin((xx + shift) / 7.0) * np.cos(yy / 9.0) + 0.15 * np.roll(texture, t, axis=1)
        gray = np.clip(gray, 0.0, 1.0)
        alpha = np.clip(0.5 + xx / (2 * width), 0.0, 1.0)
        frames.append(np.stack([gray, gray, gray, alpha], axis=2).astype(np.float32))
    return frames


def as_depth(frame: np.ndarray, dtype, channels: int = 4) -> np.ndarray:
    """float 0..1 RGBA -> the given dtype and channel count."""
    frame = frame[:, :, :channels]
    dtype = np.dtype(dtype)
    if dtype.kind == "u":
        top = np.iinfo(dtype).max
        return np.clip(np.rint(frame * top), 0, top).astype(dtype)
    return frame.astype(dtype)


@dataclass
class HostRun:
    returncode: int
    stdout: str
    stderr: str
    output_dir: Path
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lines = self.stdout.splitlines()

    @property
    def survived(self) -> bool:
        return self.returncode == 0 and "HOST DONE" in self.lines

    def statuses(self, action: str) -> list[int]:
        return [int(line.split()[2]) for line in self.lines if line.startswith(f"STATUS {action} ")]

    def render_status(self) -> dict[int, int]:
        result = {}
        for line in self.lines:
            if line.startswith("RENDER "):
                _, t, status, _ = line.split()
                result[int(t)] = int(status)
        return result

    def render_ms(self) -> dict[int, float]:
        return {
            int(line.split()[1]): float(line.split()[3]) for line in self.lines if line.startswith("RENDER ")
        }

    def timing(self, what: str) -> float:
        for line in self.lines:
            if line.startswith(f"TIME {what} "):
                return float(line.split()[2])
        raise KeyError(what)

    def messages(self) -> list[str]:
        return [line for line in self.lines if line.startswith("MESSAGE ")]

    def frames_needed(self) -> dict[int, tuple[float, ...]]:
        result = {}
        for line in self.lines:
            if line.startswith("FRAMES "):
                parts = line.split()
                result[int(parts[1])] = tuple(float(v) for v in parts[3:])
        return result

    def props(self, kind: str, owner: str) -> dict[str, list[str]]:
        """Properties the host dumped after describe: kind PARAMPROP/EFFECTPROP/CLIPPROP."""
        found = {}
        for line in self.lines:
            parts = line.split(" ")
            if len(parts) >= 3 and parts[0] == kind and parts[1] == owner:
                found[parts[2]] = parts[3:]
        return found

    def output(self, t: int) -> np.ndarray:
        return np.load(self.output_dir / f"out_{t:05d}.npy")

    def describe(self) -> str:
        return f"exit {self.returncode}\nstdout:\n{self.stdout[-4000:]}\nstderr:\n{self.stderr[-4000:]}"


def run_host(
    host: Path,
    plugin: Path,
    work: Path,
    *,
    input_dir: Path | None = None,
    first: int = 0,
    last: int = 0,
    render: Iterable[int] = (),
    mode: str = "natron",
    settings: Sequence[str] = (),
    extra: Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> HostRun:
    """Writes a script for the host and runs it; `settings` are "set ..."/"key ..." lines."""
    output_dir = work / "out"
    output_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"plugin {plugin}", f"mode {mode}", f"output {output_dir}"]
    if input_dir is not None:
        lines.append(f"input {input_dir} {first} {last}")
    lines += list(extra) + list(settings)
    times = list(render)
    if times:
        lines.append("render " + " ".join(str(t) for t in times))
    script = work / "script.txt"
    script.write_text("\n".join(lines) + "\n")
    environment = dict(os.environ)
    environment["COLORMOTION_OFX_LOG"] = str(work / "ofx.log")
    environment.update(env or {})
    result = subprocess.run(
        [str(host), str(script)], capture_output=True, text=True, env=environment, timeout=timeout
    )
    return HostRun(result.returncode, result.stdout, result.stderr, output_dir)


def bundle_binary(bundle: Path) -> Path:
    return bundle / "Contents" / "Linux-x86-64" / "ColorMotion.ofx"
