"""`colormotion edit CLIP`: the hint editor (Qt; pip install 'colormotion[qt]')."""

from __future__ import annotations

import argparse
import sys

from ..io.errors import UsageError


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "edit",
        help="place and key hints by eye on a clip, with a live colorized preview (needs Qt)",
        description=(
            "Open CLIP (video or image sequence) in the hint editor: click to add a hint, drag to move\n"
            "it, K to key it on this frame, wheel for its radius, I for the eyedropper; Ctrl+S saves\n"
            "the hints file that `colormotion colorize --hints` reads (docs/hints.md)."
        ),
    )
    parser.add_argument("clip", help="video or image sequence pattern")
    parser.add_argument("--hints", metavar="FILE", help="hints file to open (created on save if missing)")
    parser.add_argument(
        "--reference", action="append", metavar="FRAME=IMAGE", help="a colour image of FRAME (repeatable)"
    )
    parser.add_argument("--model", metavar="PATH", help="model for the preview (default: the bundled one)")
    parser.add_argument(
        "--strength", type=float, metavar="S", help="the render's colour strength, for the preview (0..4)"
    )
    parser.add_argument(
        "--vividness", type=float, metavar="V", help="the render's vividness, for the preview (0..2)"
    )
    parser.add_argument(
        "--hint-spread", type=float, metavar="X", help="the render's hint spread, for the preview (0..4)"
    )
    return parser


def preview_look(args: argparse.Namespace) -> dict:
    """The look options given (checked as colorize checks them), as node parameter values."""
    from ..editor.preview import LOOK_PARAMS
    from .engine import check_param_range

    look = {}
    for name in LOOK_PARAMS:
        value = getattr(args, name)
        check_param_range(name, value)
        if value is not None:
            look[name] = value
    return look


def qt_widgets():
    try:
        from qtpy import QtWidgets
    except Exception as error:  # qtpy raises its own error when no binding is installed
        raise UsageError(f"the editor needs Qt for Python: pip install 'colormotion[qt]' ({error})") from None
    return QtWidgets


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..editor.document import HintDocument
    from ..references import parse_reference_argument

    look = preview_look(args)
    QtWidgets = qt_widgets()  # noqa: N806 (a module)
    hints_path = Path(args.hints) if args.hints else None
    document = (
        HintDocument.load(hints_path) if hints_path and hints_path.exists() else HintDocument(path=hints_path)
    )
    for text in args.reference or []:
        frame, image = parse_reference_argument(text)
        document.set_reference(frame, str(image))
    from ..editor.preview import ProxyRenderer
    from ..editor.window import EditorWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = EditorWindow(
        ProxyRenderer(args.clip, model=args.model, look=look), document, args.clip, args.model
    )
    window.show()
    app.exec()
    return 0
