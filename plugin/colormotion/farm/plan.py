"""A render split into chunks of frames, each rendered by its own `colormotion colorize --frames A-B`.

Every chunk gives exactly the frames a single render gives (the engine warms each chunk up from
the frames before it), so chunks may run anywhere, in any order, and be retried:

- an image-sequence output is written by the chunks themselves, frame by frame at its final paths;
- a video output is written by each chunk to its own file in a staging folder beside the output
  (``<output>.chunks/``), and `join` concatenates those files without re-encoding (each starts on
  a keyframe) and copies the input's audio once.

The plan is a small JSON file in the staging folder (video) that the join step reads back.
"""

from __future__ import annotations

import json
import shlex
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..io.atomic import AtomicFile, check_targets, prepare_folder, write_text
from ..io.errors import InputError, OutputError, UsageError
from ..io.sink import audio_for, output_kind, output_targets

PLAN_NAME = "plan.json"
PLAN_VERSION = 1


@dataclass(frozen=True)
class Chunk:
    first: int
    last: int

    @property
    def frames(self) -> range:
        return range(self.first, self.last + 1)

    @property
    def label(self) -> str:
        return f"{self.first}-{self.last}"


def split_frames(first: int, last: int, size: int) -> list[Chunk]:
    """Consecutive chunks of `size` frames covering first..last (the last chunk may be shorter)."""
    if size < 1:
        raise UsageError(f"--chunk must be at least 1 frame, got {size}")
    if last < first:
        raise UsageError(f"frame range {first}-{last} is empty")
    return [Chunk(start, min(last, start + size - 1)) for start in range(first, last + 1, size)]


@dataclass
class FarmPlan:
    input: str  # absolute paths: farm machines run from other folders
    output: str
    first: int
    last: int
    chunks: list[Chunk]
    options: list[str] = field(default_factory=list)  # colorize options every chunk shares
    executable: list[str] = field(default_factory=lambda: ["colormotion"])
    overwrite: bool = False
    version: int = PLAN_VERSION

    # -- where things go ----------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return output_kind(self.output)

    @property
    def needs_join(self) -> bool:
        return self.kind == "video"

    @property
    def staging(self) -> Path:
        """Folder of the chunk videos and of the plan (video outputs only)."""
        return Path(self.output + ".chunks")

    @property
    def plan_path(self) -> Path:
        return self.staging / PLAN_NAME

    def chunk_output(self, chunk: Chunk) -> str:
        return self.range_output(str(chunk.first), str(chunk.last))

    def range_output(self, first: str, last: str) -> str:
        """Where frames first..last go; first and last may be a render manager's frame tokens."""
        if not self.needs_join:
            return self.output
        return str(self.staging / f"chunk-{first}-{last}{Path(self.output).suffix}")

    # -- commands ----------------------------------------------------------------------------

    def chunk_arguments(self, chunk: Chunk) -> list[str]:
        return self.range_arguments(str(chunk.first), str(chunk.last))

    def range_arguments(self, first: str, last: str) -> list[str]:
        """`colorize` arguments of frames first..last (without the executable); first and last may
        be a render manager's frame tokens. They carry --overwrite: the chunk's targets belong to
        this job (checked when the plan was made), so a retried chunk replaces what a killed
        attempt left."""
        return [
            "colorize",
            self.input,
            self.range_output(first, last),
            "--frames",
            f"{first}-{last}",
            "--overwrite",
            "-q",
            *self.options,
        ]

    def chunk_command(self, chunk: Chunk) -> list[str]:
        return [*self.executable, *self.chunk_arguments(chunk)]

    def join_command(self) -> list[str] | None:
        if not self.needs_join:
            return None
        return [*self.executable, "farm", "join", str(self.plan_path)]

    def commands(self) -> list[str]:
        """Shell lines: every chunk (any order, any machine), then the join, if any, after all."""
        lines = [shlex.join(self.chunk_command(chunk)) for chunk in self.chunks]
        join = self.join_command()
        return lines + ([shlex.join(join)] if join else [])

    # -- the file ----------------------------------------------------------------------------

    def to_json(self) -> str:
        data = asdict(self)
        data["chunks"] = [[c.first, c.last] for c in self.chunks]
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, source: Path) -> FarmPlan:
        try:
            data = json.loads(text)
            if data.get("version") != PLAN_VERSION:
                raise ValueError(f"plan version {data.get('version')!r}, expected {PLAN_VERSION}")
            data["chunks"] = [Chunk(int(a), int(b)) for a, b in data["chunks"]]
            return cls(**data)
        except (ValueError, TypeError, KeyError) as error:
            raise InputError(f"not a ColorMotion farm plan ({error})", source) from None

    def save(self) -> Path:
        prepare_folder(self.staging)
        return write_text(self.plan_path, self.to_json(), overwrite=True)


def load_plan(path: str | Path) -> FarmPlan:
    path = Path(path)
    if not path.is_file():
        raise InputError("farm plan not found", path)
    return FarmPlan.from_json(path.read_text(), path)


def make_plan(
    input_path: str,
    output_path: str,
    chunk_size: int,
    *,
    frames: tuple[int, int] | None = None,
    options: list[str] | None = None,
    executable: list[str] | None = None,
    overwrite: bool = False,
) -> FarmPlan:
    """Plan a render: read the input's frame range, check the shared options and the outputs."""
    from ..io.source import open_source

    options = absolute_paths(list(options or []))
    _check_options(options)
    source = open_source(input_path, cache_frames=1)
    try:
        first, last = source.first_frame, source.last_frame
        input_files = list(source.info.files)
    finally:
        source.close()
    if frames is not None:
        if frames[0] < first or frames[1] > last:
            raise UsageError(
                f"--frames {frames[0]}-{frames[1]} lies outside the input's frames {first}-{last}", input_path
            )
        first, last = frames
    output = str(Path(output_path).expanduser().absolute())
    if output_kind(output) == "still" and last > first:
        raise UsageError(
            f"a single-image output cannot be split over {last - first + 1} frames; "
            "use a pattern like name.####.png or a video",
            output,
        )
    plan = FarmPlan(
        input=str(Path(input_path).expanduser().absolute()) if "://" not in input_path else input_path,
        output=output,
        first=first,
        last=last,
        chunks=split_frames(first, last, chunk_size),
        options=options,
        executable=list(executable or ["colormotion"]),
        overwrite=overwrite,
    )
    check_targets(output_targets(output, range(first, last + 1)), input_files, overwrite=overwrite)
    if plan.needs_join and plan.staging.exists() and not overwrite:
        raise OutputError(
            "a staging folder of another farm job is here; remove it or pass --overwrite", plan.staging
        )
    return plan


_PATH_OPTIONS = ("--model", "--hints")


def absolute_paths(options: list[str]) -> list[str]:
    """The options with their file paths made absolute (farm machines run in other folders):
    --model, --hints and the IMAGE of --reference FRAME=IMAGE."""

    def absolute(path: str) -> str:
        return str(Path(path).expanduser().absolute())

    result: list[str] = []
    expect = None
    for option in options:
        if expect is not None:
            result.append(absolute(option) if expect != "--reference" else _absolute_reference(option))
            expect = None
            continue
        name, equals, value = option.partition("=")
        if name in (*_PATH_OPTIONS, "--reference") and equals:
            fixed = absolute(value) if name != "--reference" else _absolute_reference(value)
            result.append(f"{name}={fixed}")
        else:
            result.append(option)
            if option in (*_PATH_OPTIONS, "--reference"):
                expect = option
    return result


def _absolute_reference(value: str) -> str:
    frame, equals, image = value.partition("=")
    return f"{frame}={Path(image).expanduser().absolute()}" if equals else value


def _check_options(options: list[str]) -> None:
    """The chunks' shared options must be valid `colorize` options and leave the plan's own alone."""
    import argparse

    from ..cli import colorize

    owned = colorize.split_flags()
    for option in options:
        name = option.split("=", 1)[0]
        if name in owned:
            raise UsageError(f"{name} is set by the farm plan for each chunk; leave it out of the options")
    try:
        _, unknown = colorize.standalone_parser().parse_known_args(["in", "out", *options])
    except (argparse.ArgumentError, SystemExit) as error:
        raise UsageError(f"invalid colorize options {' '.join(options)!r}: {error}") from None
    if unknown:
        raise UsageError(f"not colorize options: {' '.join(unknown)}")


def join(plan: FarmPlan, parts: list[Path] | None = None) -> int:
    """Concatenate the chunk videos of `plan` into its output (atomic) and remove the staging
    folder. Every chunk must be there: a missing one is named, and nothing is written.
    `parts` (one file per chunk) replaces the plan's staging folder, which is then left alone."""
    from ..io.source import open_source
    from ..io.video import join_videos

    if not plan.needs_join:
        raise UsageError(f"{plan.output} is not a video output: its chunks need no join")
    own_staging = parts is None
    if parts is None:
        parts = [Path(plan.chunk_output(chunk)) for chunk in plan.chunks]
    missing = [chunk.label for chunk, part in zip(plan.chunks, parts) if not part.is_file()]
    if missing:
        raise InputError(
            f"{len(missing)} chunk(s) not rendered yet: frames {', '.join(missing)}", plan.staging
        )
    source = open_source(plan.input, cache_frames=1)
    try:
        info = source.info
    finally:
        source.close()
    audio_source, audio_range = audio_for(info, range(plan.first, plan.last + 1))
    target = AtomicFile(Path(plan.output), overwrite=plan.overwrite)
    try:
        count = join_videos(
            parts,
            target.temp,
            fps=info.fps,
            audio_source=audio_source,
            audio_range=audio_range,
        )
        expected = plan.last - plan.first + 1
        if count != expected:
            raise InputError(f"the chunks hold {count} frames, the plan {expected}", plan.staging)
    except BaseException:
        target.discard()
        raise
    target.commit()
    if own_staging:
        shutil.rmtree(plan.staging, ignore_errors=True)
    return count
