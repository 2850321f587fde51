"""`colormotion info`: the model, the ONNX Runtime providers and library versions."""

from __future__ import annotations

import argparse
import platform
import sys

from .. import __version__
from .engine import PROVIDER_CHOICES


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "info",
        help="show the model, providers and versions",
        description="Show the model, providers and versions.",
    )
    parser.add_argument("--model", metavar="PATH", help="ONNX step model (default: the bundled model)")
    parser.add_argument("--provider", choices=PROVIDER_CHOICES, default="auto")
    return parser


def _library_versions() -> dict[str, str]:
    import av
    import OpenImageIO

    return {
        "colormotion": __version__,
        "python": platform.python_version(),
        "av": av.__version__,
        "openimageio": OpenImageIO.__version__,
    }


def _video_encoders() -> list[str]:
    from ..io.video import available_encoders

    return available_encoders()


def _format(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "-"
    return "-" if value is None else str(value)


def run(args: argparse.Namespace) -> int:
    from ..model import describe_runtime

    facts = _library_versions()
    facts["video_encoders"] = _video_encoders()
    facts.update(describe_runtime(args.model, args.provider))
    width = max(map(len, facts))
    for key, value in facts.items():
        print(f"{key.replace('_', ' '):<{width}}  {_format(value)}")
    if facts.get("model_error"):
        print(f"colormotion: error: {facts['model_error']}", file=sys.stderr)
        return 5
    return 0
