"""`colormotion`: the command line. One module per subcommand; this one parses and maps errors.

Every failure ends in one line on stderr, "colormotion: error: <what> (<path>)", and an exit
code a script can rely on (see EPILOG). COLORMOTION_DEBUG=1 or --debug adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import traceback
from collections.abc import Sequence

from .. import __version__
from . import bench, colorize, edit, farm, info, live, ofx, sample

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_OUTPUT = 4
EXIT_MODEL = 5
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130

EPILOG = """\
exit codes:
  0    success
  2    usage error (bad option, frame range, codec or pixel format)
  3    input error (missing, corrupt, empty or zero-frame input; bad hints file)
  4    output error (exists without --overwrite, unwritable folder, output is the input)
  5    model error (missing or invalid model, unavailable provider)
  130  interrupted (Ctrl-C or SIGTERM); no partial output is left behind
  1    internal error (a bug: please report it with COLORMOTION_DEBUG=1 output)

environment:
  COLORMOTION_DEBUG=1   show tracebacks
"""

SUBCOMMANDS = (colorize, info, sample, bench, ofx, farm, edit, live)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colormotion",
        description="Automatic, temporally stable colorization of black-and-white video.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        sub = module.add_parser(commands)
        sub.epilog = EPILOG
        sub.formatter_class = argparse.RawDescriptionHelpFormatter
        sub.set_defaults(run=module.run)
    return parser


def exit_code_of(error: BaseException) -> int | None:
    """The documented exit code of a known error type, or None for an unexpected one."""
    from ..io.errors import InputError, OutputError, UsageError

    known: list[tuple[tuple[type, ...], int]] = [
        ((UsageError,), EXIT_USAGE),
        ((InputError,), EXIT_INPUT),
        ((OutputError,), EXIT_OUTPUT),
    ]
    known += _optional_errors()
    code = getattr(error, "exit_code", None)  # an error that carries another's code (a farm chunk's)
    if isinstance(code, int):
        return code
    for types, code in known:
        if isinstance(error, types):
            return code
    return None


def _optional_errors() -> list[tuple[tuple[type, ...], int]]:
    """Error types of the engine's modules (imported lazily: a broken model runtime must not
    stop `colormotion --help`)."""
    found: list[tuple[tuple[type, ...], int]] = []
    for module, name, code in (
        ("colormotion.hints", "HintError", EXIT_INPUT),
        ("colormotion.colour", "FrameError", EXIT_INPUT),
        ("colormotion.model", "ModelError", EXIT_MODEL),
    ):
        try:
            error_type = getattr(__import__(module, fromlist=[name]), name)
        except Exception:  # a broken optional module must not hide the original error
            continue
        found.append(((error_type,), code))
    return found


def _message(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return " ".join(text.split())


class _WarningFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"colormotion: {record.levelname.lower()}: {record.getMessage()}"


def _setup_logging() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_WarningFormatter())
    logger = logging.getLogger("colormotion")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    return handler


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script passes it to sys.exit)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, passed_on = parser.parse_known_args(_join_negative_ranges(argv))
        if passed_on and not getattr(args, "passes_on_options", False):
            parser.error(f"unrecognized arguments: {' '.join(passed_on)}")
        args.passed_on = [a for a in passed_on if a != "--"]
    except SystemExit as stop:  # argparse: --help / --version (0) or a usage error (2)
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    debug = args.debug or os.environ.get("COLORMOTION_DEBUG", "") not in ("", "0")
    handler = _setup_logging()
    # a render farm stops a task with SIGTERM: clean up exactly as for Ctrl-C
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if _main_thread() else None
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("colormotion: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        code = exit_code_of(error)
        if debug:
            traceback.print_exc()
        if code is None:
            print(f"colormotion: internal error: {type(error).__name__}: {_message(error)}", file=sys.stderr)
            return EXIT_INTERNAL
        print(f"colormotion: error: {_message(error)}", file=sys.stderr)
        return code
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        logging.getLogger("colormotion").removeHandler(handler)


_NEGATIVE_RANGE = re.compile(r"^-\d+(?:[-:]-?\d+)?$")


def _join_negative_ranges(argv: list[str]) -> list[str]:
    """`--frames -5-3` as `--frames=-5-3`: argparse takes a value starting with '-' for an option
    (it knows plain negative numbers only), but image sequences may number frames below zero."""
    joined: list[str] = []
    values = iter(argv)
    for arg in values:
        if arg == "--frames":
            value = next(values, None)
            if value is not None and _NEGATIVE_RANGE.match(value):
                joined.append(f"--frames={value}")
                continue
            joined.append(arg)
            if value is not None:
                joined.append(value)
            continue
        joined.append(arg)
    return joined


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
