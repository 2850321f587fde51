"""Job files for render managers, written from a `FarmPlan`.

- ``opencue``: an outline script for OpenCue's pyoutline (``cuerun JOB.outline``): a layer whose
  frame i runs chunk i's command (`ShellSequence`), and for a video output a `ShellCommand`
  layer that joins the chunks once every chunk is done.
- ``deadline``: job-info / plugin-info pairs for Deadline's CommandLine plug-in; Deadline cuts
  the frame range into chunks itself (``ChunkSize``) and fills in ``<STARTFRAME>``/``<ENDFRAME>``.
  A video output adds a second pair for the join, submitted as a job dependent on the first
  (``deadlinecommand -Multi -dependent -job ... -job ...``).
- ``commands``: one shell line per chunk, then the join: for Tractor, SLURM arrays or a loop.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from ..io.atomic import write_text
from .plan import FarmPlan

FORMATS = ("opencue", "deadline", "commands")


def write_commands(plan: FarmPlan, path: Path, overwrite: bool = False) -> list[Path]:
    header = [
        "# ColorMotion farm commands: run the chunk lines in any order, on any machine;",
        "# then the last line (video outputs) once every chunk has finished.",
    ]
    return [write_text(path, "\n".join([*header, *plan.commands()]) + "\n", overwrite=overwrite)]


def write_opencue(plan: FarmPlan, path: Path, overwrite: bool = False) -> list[Path]:
    commands = [plan.chunk_command(chunk) for chunk in plan.chunks]
    lines = [
        "# ColorMotion job for OpenCue (pyoutline): submit with  cuerun " + shlex.quote(path.name),
        f"# {len(plan.chunks)} chunks of frames {plan.first}-{plan.last}; frame i of layer",
        "# 'colorize' renders chunk i (any order, retries welcome).",
        "from outline.modules.shell import ShellCommand, ShellSequence",
        "",
        f"CHUNKS = {json.dumps([c.label for c in plan.chunks])}",
        f"colorize = ShellSequence('colorize', commands={json.dumps(commands, indent=1)})",
    ]
    join = plan.join_command()
    if join is not None:
        lines += [
            f"join = ShellCommand('join', command={json.dumps(join)})",
            "join.depend_all(colorize)  # the chunk videos are joined once all of them exist",
        ]
    return [write_text(path, "\n".join(lines) + "\n", overwrite=overwrite)]


def _deadline_pair(job: dict[str, str], plugin: dict[str, str], stem: Path, overwrite: bool) -> list[Path]:
    def text(values: dict[str, str]) -> str:
        return "".join(f"{key}={value}\n" for key, value in values.items())

    return [
        write_text(stem.with_name(stem.name + ".job_info.txt"), text(job), overwrite=overwrite),
        write_text(stem.with_name(stem.name + ".plugin_info.txt"), text(plugin), overwrite=overwrite),
    ]


def _argument_string(arguments: list[str]) -> str:
    """One string of arguments as Deadline's CommandLine plug-in splits it (.NET rules: blanks
    separate, double quotes group, a backslash escapes a double quote)."""

    def quoted(argument: str) -> str:
        if argument and not any(c in argument for c in ' \t"'):
            return argument
        return '"' + argument.replace('"', '\\"') + '"'

    return " ".join(quoted(a) for a in arguments)


def write_deadline(plan: FarmPlan, path: Path, overwrite: bool = False) -> list[Path]:
    """`path` names the job (files PATH.job_info.txt, PATH.plugin_info.txt, and PATH.join.* for a
    video output). Chunk sizes must be equal for Deadline's own chunking (they are, but the last)."""
    size = len(plan.chunks[0].frames)
    arguments = plan.range_arguments("<STARTFRAME>", "<ENDFRAME>")
    name = Path(plan.output).name
    executable, *prefix = plan.executable
    files = _deadline_pair(
        {
            "Plugin": "CommandLine",
            "Name": f"ColorMotion {name}",
            "Frames": f"{plan.first}-{plan.last}",
            "ChunkSize": str(size),
        },
        {
            "Executable": executable,
            "Arguments": _argument_string([*prefix, *arguments]),
            "ShellExecute": "False",
            "SingleFramesOnly": "False",
        },
        path,
        overwrite,
    )
    join = plan.join_command()
    if join is not None:
        files += _deadline_pair(
            {"Plugin": "CommandLine", "Name": f"ColorMotion {name} (join)", "Frames": "0", "ChunkSize": "1"},
            {"Executable": join[0], "Arguments": _argument_string(join[1:]), "ShellExecute": "False"},
            path.with_name(path.name + ".join"),
            overwrite,
        )
    return files


WRITERS = {"opencue": write_opencue, "deadline": write_deadline, "commands": write_commands}


def submit_hint(kind: str, files: list[Path]) -> str:
    """How to hand the written files to their render manager."""
    if kind == "opencue":
        return f"submit with: cuerun {shlex.quote(str(files[0]))}"
    if kind == "deadline":
        jobs = " ".join(
            f"-job {shlex.quote(str(a))} {shlex.quote(str(b))}" for a, b in zip(files[::2], files[1::2])
        )
        return f"submit with: deadlinecommand -Multi -dependent {jobs}"
    return f"run the lines of {files[0]} (chunks in any order, the join line last)"
