"""`colormotion farm`: split a render into chunks for a render manager, and join video chunks.

    colormotion farm outline IN OUT --chunk 100 [--format opencue|deadline|commands] [-- OPTIONS]
    colormotion farm join OUT.chunks/plan.json

OPTIONS after `--` are `colormotion colorize` options every chunk shares (--hints, --model,
--reference, --crf ...). See colormotion.farm.plan for what the chunks and the join do.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..farm import outline, plan
from .colorize import frame_range

_JOB_SUFFIX = {"opencue": ".outline", "deadline": ".deadline", "commands": ".commands.sh"}


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "farm",
        help="render on many machines: job files for OpenCue, Deadline or a shell; join video chunks",
        description="Split a render into chunks that render managers run anywhere, in any order.",
    )
    actions = parser.add_subparsers(dest="farm_command", metavar="ACTION", required=True)
    job = actions.add_parser(
        "outline",
        help="write a job: one colorize command per chunk, then a join for a video output",
        usage="colormotion farm outline INPUT OUTPUT --chunk N [options] [-- COLORIZE OPTIONS]",
        description=(
            "Write a job that renders INPUT into OUTPUT in chunks of N frames. Each chunk gives exactly\n"
            "the frames of a single render. Options after -- go to every chunk's colorize command."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    job.add_argument("input", help="input video, image sequence pattern or image")
    job.add_argument("output", help="output video or image sequence pattern")
    job.add_argument("--chunk", type=int, required=True, metavar="N", help="frames per chunk")
    job.add_argument(
        "--format", choices=outline.FORMATS, default="opencue", help="job kind (default opencue)"
    )
    job.add_argument(
        "--job", metavar="PATH", help="job file to write (default: beside OUTPUT, named after it)"
    )
    job.add_argument("--frames", type=frame_range, metavar="A-B", help="render only frames A..B")
    job.add_argument(
        "--executable",
        default="colormotion",
        metavar="CMD",
        help="how farm machines start ColorMotion (default colormotion; e.g. 'rez env colormotion -- colormotion')",
    )
    job.add_argument("--overwrite", action="store_true", help="let the job replace an existing output")
    job.set_defaults(passes_on_options=True)  # what follows -- reaches run() as args.passed_on
    joiner = actions.add_parser(
        "join", help="join the chunk videos of a finished job into its output (no re-encoding)"
    )
    joiner.add_argument("plan", help="the job's plan: OUTPUT.chunks/plan.json")
    joiner.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.farm_command == "join":
        return _join(args)
    return _outline(args)


def _outline(args: argparse.Namespace) -> int:
    options = list(args.passed_on)
    job_plan = plan.make_plan(
        args.input,
        args.output,
        args.chunk,
        frames=args.frames,
        options=options,
        executable=shlex.split(args.executable),
        overwrite=args.overwrite,
    )
    path = Path(args.job) if args.job else Path(job_plan.output + _JOB_SUFFIX[args.format])
    files = outline.WRITERS[args.format](job_plan, path.absolute(), overwrite=args.overwrite)
    if job_plan.needs_join:
        files.append(job_plan.save())
    for file in files:
        print(file)
    print(
        f"colormotion: {len(job_plan.chunks)} chunk(s) of frames {job_plan.first}-{job_plan.last}; "
        + outline.submit_hint(args.format, files),
        file=sys.stderr,
    )
    return 0


def _join(args: argparse.Namespace) -> int:
    job_plan = plan.load_plan(args.plan)
    count = plan.join(job_plan)
    if not args.quiet:
        print(
            f"colormotion: joined {len(job_plan.chunks)} chunk(s), {count} frames, into {job_plan.output}",
            file=sys.stderr,
        )
    return 0
