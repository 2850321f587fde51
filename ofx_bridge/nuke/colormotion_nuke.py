"""ColorMotion inside Nuke: the Colorize node and the "Edit hints" panel.

Nuke runs the OpenFX bundle itself; this module only adds menu commands. "Edit hints" opens the
hint editor (`colormotion edit`, Qt through qtpy: PySide2 or PySide6, whichever Nuke ships) on
the clip of the selected Colorize node's input, starting from the node's Hints (JSON) knob, and
writes every save back into that knob (one undoable knob change in Nuke).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

COLORIZE_NODE = "OFXorg.colormotion.Colorize_v1"  # "OFX" + plug-in identifier + "_v" + major
HINTS_KNOB = "hints_json"  # the OpenFX parameter's name is the knob's


class PanelError(RuntimeError):
    """Shown to the user in Nuke's message box."""


def selected_colorize(nuke):
    try:
        node = nuke.selectedNode()
    except ValueError:
        raise PanelError("select a ColorMotion Colorize node first") from None
    if node.Class() != COLORIZE_NODE:
        raise PanelError(f"{node.name()} is a {node.Class()}, not a ColorMotion Colorize node")
    return node


def input_clip(node) -> str:
    """The file of the first Read node up the node's main input (the clip the editor opens)."""
    upstream = node.input(0)
    while upstream is not None and upstream.Class() != "Read":
        upstream = upstream.input(0)
    if upstream is None:
        raise PanelError(f"{node.name()} has no Read node up its input: the editor opens a file")
    return upstream["file"].value()  # the pattern (name.####.exr or name.%04d.exr), not one frame


def hints_from_knob(node) -> dict | None:
    text = node[HINTS_KNOB].value().strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise PanelError(f"the Hints (JSON) knob of {node.name()} is not valid JSON: {error}") from None


def write_hints(node, text: str) -> None:
    node[HINTS_KNOB].setValue(text)


def node_look(node) -> dict:
    """The node's look parameters (colormotion.editor.preview.LOOK_PARAMS), so the preview shows
    what the node renders; a knob the node lacks (an older bundle) is left at its default."""
    from colormotion.editor.preview import LOOK_PARAMS

    look = {}
    for name in LOOK_PARAMS:
        knob = node.knob(name)
        if knob is not None:
            look[name] = float(knob.value())
    return look


def open_editor(nuke, model: str | None = None):
    """The panel command: the editor on the selected node, saves going into its knob."""
    from colormotion.editor.document import HintDocument
    from colormotion.editor.preview import ProxyRenderer
    from colormotion.editor.window import EditorWindow

    node = selected_colorize(nuke)
    clip = input_clip(node)
    folder = Path(tempfile.mkdtemp(prefix="colormotion-nuke-"))
    document = HintDocument(hints_from_knob(node), path=folder / f"{node.name()}_hints.json")
    renderer = ProxyRenderer(clip, model=model, look=node_look(node))
    window = EditorWindow(renderer, document, clip, model)
    window.saved.connect(lambda text: write_hints(node, text))
    window.show()
    return window  # the caller keeps a reference, or Qt closes it at once


def install(nuke) -> None:
    """Menu entries (menu.py calls this at Nuke's start-up)."""
    menu = nuke.menu("Nodes").addMenu("ColorMotion")
    menu.addCommand("Colorize", f"nuke.createNode('{COLORIZE_NODE}')")
    menu.addCommand("Edit hints", "import colormotion_nuke; colormotion_nuke.run_panel()")


_OPEN = []  # editor windows Nuke keeps open


def run_panel() -> None:
    import nuke

    try:
        _OPEN.append(open_editor(nuke))
    except PanelError as error:
        nuke.message(str(error))
