"""`colormotion live`: a camera or a video beside its colorization, in real time (Qt)."""

from __future__ import annotations

import argparse
import sys

from . import engine
from .edit import qt_widgets


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "live",
        help="a camera or a video and its colorization side by side, in real time (needs Qt)",
        description="The real-time demo: original and colorized stream, a guidance control and the fps.",
    )
    feed = parser.add_mutually_exclusive_group()
    feed.add_argument("--camera", type=int, metavar="N", help="camera number (default 0)")
    feed.add_argument("--video", metavar="FILE", help="a video or image sequence, played in real time")
    parser.add_argument("--model", metavar="PATH", help="model (default: the bundled one)")
    parser.add_argument(
        "--working-resolution",
        type=engine.working_resolution,
        default=256,
        metavar="N",
        help="short side the model sees (default 256)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    QtWidgets = qt_widgets()  # noqa: N806 (a module; a missing Qt is a clear error first)
    from ..editor.live import CameraFeed, FileFeed, LiveWindow

    # the feed opens first: a missing camera or file is a clear error, not an empty window
    feed = FileFeed(args.video) if args.video else CameraFeed(args.camera or 0)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = LiveWindow(feed, model=args.model, working_resolution=args.working_resolution)
    window.show()
    app.exec()
    return 0
