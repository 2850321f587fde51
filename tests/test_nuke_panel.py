"""The Nuke menu and "Edit hints" panel, against a stand-in `nuke` module (Nuke itself is not
here): menu entries, finding the clip up the node graph, and the knob round trip."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ofx_bridge" / "nuke"))
import colormotion_nuke  # noqa: E402

from tests._media import moving_frames, write_sequence  # noqa: E402


class Knob:
    def __init__(self, value: str = "") -> None:
        self._value = value

    def value(self) -> str:
        return self._value

    def setValue(self, value: str) -> None:  # noqa: N802 (Nuke's name)
        self._value = value


class Node:
    def __init__(self, kind: str, name: str, upstream=None, **knobs: str) -> None:
        self.kind, self.node_name, self.upstream = kind, name, upstream
        self.knobs = {key: Knob(value) for key, value in knobs.items()}

    def Class(self) -> str:  # noqa: N802
        return self.kind

    def name(self) -> str:
        return self.node_name

    def input(self, index: int):
        return self.upstream

    def __getitem__(self, key: str) -> Knob:
        return self.knobs[key]

    def knob(self, key: str) -> Knob | None:  # Nuke's: None for a knob the node lacks
        return self.knobs.get(key)


class Menu:
    def __init__(self) -> None:
        self.commands: dict[str, str] = {}
        self.menus: dict[str, Menu] = {}

    def addMenu(self, name: str) -> Menu:  # noqa: N802
        return self.menus.setdefault(name, Menu())

    def addCommand(self, name: str, script: str) -> None:  # noqa: N802
        self.commands[name] = script


class FakeNuke:
    def __init__(self, selected=None) -> None:
        self.selected, self.nodes_menu, self.messages = selected, Menu(), []

    def selectedNode(self):  # noqa: N802
        if self.selected is None:
            raise ValueError("no node selected")  # what Nuke raises
        return self.selected

    def menu(self, name: str) -> Menu:
        assert name == "Nodes"
        return self.nodes_menu

    def message(self, text: str) -> None:
        self.messages.append(text)


def test_the_menu_offers_the_node_and_the_panel():
    nuke = FakeNuke()
    colormotion_nuke.install(nuke)
    commands = nuke.nodes_menu.menus["ColorMotion"].commands
    assert commands["Colorize"] == f"nuke.createNode('{colormotion_nuke.COLORIZE_NODE}')"
    assert "run_panel" in commands["Edit hints"]


def test_the_panel_needs_a_selected_colorize_node_with_a_read_upstream():
    with pytest.raises(colormotion_nuke.PanelError, match="select"):
        colormotion_nuke.selected_colorize(FakeNuke())
    with pytest.raises(colormotion_nuke.PanelError, match="not a ColorMotion"):
        colormotion_nuke.selected_colorize(FakeNuke(Node("Blur", "Blur1")))
    read = Node("Read", "Read1", file="/shots/a.%04d.exr")
    colorize = Node(colormotion_nuke.COLORIZE_NODE, "Colorize1", Node("Grade", "Grade1", read), hints_json="")
    assert colormotion_nuke.input_clip(colorize) == "/shots/a.%04d.exr"
    with pytest.raises(colormotion_nuke.PanelError, match="no Read node"):
        colormotion_nuke.input_clip(Node(colormotion_nuke.COLORIZE_NODE, "C2", None, hints_json=""))
    bad = Node(colormotion_nuke.COLORIZE_NODE, "C3", read, hints_json="{nope")
    with pytest.raises(colormotion_nuke.PanelError, match="not valid JSON"):
        colormotion_nuke.hints_from_knob(bad)


def test_the_editor_opens_on_the_knobs_hints_and_saves_back_into_the_knob(
    qtbot, tmp_path, random_model, monkeypatch
):
    pytest.importorskip("qtpy")
    from qtpy import QtWidgets

    clip = write_sequence(tmp_path / "clip", moving_frames(4, 96, 64))
    hints = {
        "version": 1,
        "hints": [{"id": "a", "color": "#ff0000", "keys": [{"frame": 1, "x": 0.5, "y": 0.5}]}],
    }
    node = Node(
        colormotion_nuke.COLORIZE_NODE,
        "Colorize1",
        Node("Read", "Read1", file=clip),
        hints_json=json.dumps(hints),
    )
    window = colormotion_nuke.open_editor(FakeNuke(node), model=str(random_model))
    try:
        assert window.document.data == hints
        assert window.renderer.look == {}  # a node without look knobs: the defaults
        window._add_hint(0.2, 0.2)
        assert window.save()
        saved = json.loads(node["hints_json"].value())
        assert [h["id"] for h in saved["hints"]] == ["a", "hint2"]
    finally:
        monkeypatch.setattr(
            QtWidgets.QMessageBox, "question", lambda *a, **k: QtWidgets.QMessageBox.StandardButton.Discard
        )
        window.close()


def test_the_preview_takes_the_nodes_look(qtbot, tmp_path, random_graph_model, monkeypatch):
    """Strength and vividness set on the node reach the editor's preview renders."""
    pytest.importorskip("qtpy")
    from qtpy import QtWidgets

    clip = write_sequence(tmp_path / "clip", moving_frames(4, 96, 64))
    node = Node(
        colormotion_nuke.COLORIZE_NODE,
        "Colorize1",
        Node("Read", "Read1", file=clip),
        hints_json="",
        strength="0.5",
        vividness="0.3",
    )
    window = colormotion_nuke.open_editor(FakeNuke(node), model=str(random_graph_model))
    try:
        assert window.renderer.look == {"strength": 0.5, "vividness": 0.3}
    finally:
        monkeypatch.setattr(
            QtWidgets.QMessageBox, "question", lambda *a, **k: QtWidgets.QMessageBox.StandardButton.Discard
        )
        window.close()
