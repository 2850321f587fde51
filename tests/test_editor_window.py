"""The hint editor window (pytest-qt, offscreen): mouse and keys become document edits, the
preview follows, files are asked about before closing, renders go through the CLI's code path."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("qtpy", reason="Qt for Python is not installed (pip install 'colormotion[qt]')")
pytest.importorskip("pytestqt", reason="pytest-qt is not installed")

from colormotion.editor.document import HintDocument  # noqa: E402
from colormotion.editor.preview import ProxyRenderer  # noqa: E402
from colormotion.editor.window import EditorWindow  # noqa: E402
from qtpy import QtCore, QtWidgets  # noqa: E402

from tests._media import moving_frames, write_sequence  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path, random_model, monkeypatch):
    clip = write_sequence(tmp_path / "clip", moving_frames(8, 192, 128))
    renderer = ProxyRenderer(clip, model=str(random_model), short_side=64)
    editor = EditorWindow(renderer, HintDocument(path=tmp_path / "hints.json"), clip, str(random_model))
    editor.show()  # closed below, not by qtbot: its close would meet the unsaved-changes question
    qtbot.waitUntil(lambda: editor.view.colour is not None, timeout=20000)
    yield editor
    discard = QtWidgets.QMessageBox.StandardButton.Discard
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *a, **k: discard)
    editor.close()


def point_at(view, x: float, y: float) -> QtCore.QPoint:
    rect = view.frame_rect()
    return QtCore.QPoint(round(rect.left() + x * rect.width()), round(rect.top() + y * rect.height()))


def test_a_click_adds_a_hint_where_it_lands_and_the_preview_follows(qtbot, window):
    before = window.last_preview_ms
    qtbot.mouseClick(window.view, QtCore.Qt.MouseButton.LeftButton, pos=point_at(window.view, 0.25, 0.5))
    (hint_id,) = window.document.hint_ids()
    x, y, _ = window.document.positions_at(window.frame)[hint_id]
    assert abs(x - 0.25) < 0.03 and abs(y - 0.5) < 0.03
    assert window.selected == hint_id and window.document.modified
    qtbot.waitUntil(
        lambda: window.last_preview_ms is not None and window.last_preview_ms != before, timeout=20000
    )


def test_drag_moves_undo_restores_and_redo_repeats(qtbot, window):
    window._add_hint(0.3, 0.3)
    (hint_id,) = window.document.hint_ids()
    qtbot.mousePress(window.view, QtCore.Qt.MouseButton.LeftButton, pos=point_at(window.view, 0.3, 0.3))
    qtbot.mouseMove(window.view, point_at(window.view, 0.7, 0.6))
    qtbot.mouseRelease(window.view, QtCore.Qt.MouseButton.LeftButton, pos=point_at(window.view, 0.7, 0.6))
    moved = window.document.positions_at(window.frame)[hint_id][:2]
    assert abs(moved[0] - 0.7) < 0.03 and abs(moved[1] - 0.6) < 0.03
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert window.document.positions_at(window.frame)[hint_id][:2] == (0.3, 0.3)
    modifiers = QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Z, modifiers)
    assert window.document.positions_at(window.frame)[hint_id][:2] == moved


def test_keys_on_other_frames_and_delete(qtbot, window):
    window._add_hint(0.2, 0.2)
    (hint_id,) = window.document.hint_ids()
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    assert window.frame == window.renderer.first_frame + 2
    qtbot.keyClick(window, QtCore.Qt.Key.Key_K)
    assert [m.frame for m in window.document.keys()] == [window.renderer.first_frame, window.frame]
    assert window.timeline.keys == [(hint_id, window.renderer.first_frame), (hint_id, window.frame)]
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Delete)
    assert [m.frame for m in window.document.keys()] == [window.renderer.first_frame]
    window.set_colour("#2050e0")
    assert window.document.data["hints"][0]["keys"][-1]["color"] == "#2050e0"


def test_the_wheel_grows_the_hint_under_the_cursor(qtbot, window):
    window._add_hint(0.5, 0.5)
    (hint_id,) = window.document.hint_ids()
    radius = window.document.hint(hint_id)["radius"]
    window.view.wheeled.emit(hint_id, 1)
    assert window.document.hint(hint_id)["radius"] > radius


def test_closing_with_unsaved_hints_asks_first(qtbot, window, monkeypatch):
    window._add_hint(0.5, 0.5)
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "question", lambda *a, **k: QtWidgets.QMessageBox.StandardButton.Cancel
    )
    window.close()
    assert window.isVisible()  # cancelled: still open, nothing lost
    monkeypatch.setattr(
        QtWidgets.QMessageBox, "question", lambda *a, **k: QtWidgets.QMessageBox.StandardButton.Save
    )
    window.close()
    assert not window.isVisible()
    assert HintDocument.load(window.document.path).data == window.document.data


def test_save_writes_the_file_the_command_line_reads(qtbot, window):
    window._add_hint(0.4, 0.6)
    window.set_colour("#c0302a")
    qtbot.keyClick(window, QtCore.Qt.Key.Key_S, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert not window.document.modified
    saved = HintDocument.load(window.document.path).hint_set()
    assert saved.hints[0].color == "#c0302a"


def test_the_render_dialog_renders_through_the_cli_and_can_cancel(qtbot, window, tmp_path):
    from colormotion.editor.render import RenderDialog

    window._add_hint(0.4, 0.6)
    window.save()
    dialog = RenderDialog(window.clip, window.document.path, window.model)
    qtbot.addWidget(dialog)
    dialog.output.setText(str(tmp_path / "out" / "f.####.png"))
    dialog.start()
    qtbot.waitUntil(lambda: dialog._thread is None, timeout=60000)
    assert dialog.status.text().startswith("wrote"), dialog.status.text()
    assert len(list((tmp_path / "out").iterdir())) == 8
    dialog.output.setText(str(tmp_path / "cancelled" / "f.####.png"))
    dialog._cancel.set()  # cancel before the first frame finishes
    dialog.start()
    qtbot.waitUntil(lambda: dialog._thread is None, timeout=60000)
    assert dialog.status.text() == "cancelled"
    assert not (tmp_path / "cancelled").exists() or not list((tmp_path / "cancelled").iterdir())


def test_the_live_view_plays_a_file_with_its_frame_rate(qtbot, tmp_path, random_model):
    from colormotion.editor.live import FileFeed, LiveWindow

    clip = write_sequence(tmp_path / "clip", moving_frames(12, 128, 96))
    live = LiveWindow(FileFeed(clip), model=str(random_model), working_resolution=96)
    live.show()
    try:
        qtbot.waitUntil(lambda: live.frames_shown >= 3, timeout=30000)
        assert live.fps > 0 and live.fps_label.text().endswith("fps")
        assert live.colorized.pixmap() is not None and not live.colorized.pixmap().isNull()
        live.guidance.setValue(0)
        assert live.strength == 0.0
        assert not live.vividness_slider.isEnabled()  # a contract-1 model has no vividness
    finally:
        live.close()


def test_the_live_views_vividness_reaches_the_render(qtbot, tmp_path, random_graph_model):
    from colormotion.editor.live import FileFeed, LiveWindow

    clip = write_sequence(tmp_path / "clip", moving_frames(40, 128, 96))
    live = LiveWindow(FileFeed(clip), model=str(random_graph_model), working_resolution=96)
    renders = []
    real = live.node.render
    live.node.render = lambda t, source, params: (
        renders.append(params.value("vividness", t)) or real(t, source, params)
    )
    live.show()
    try:
        assert live.vividness_slider.isEnabled()
        qtbot.waitUntil(lambda: len(renders) >= 2, timeout=30000)
        live.vividness_slider.setValue(60)
        assert live.vividness == 0.6
        qtbot.waitUntil(lambda: renders[-1] == 0.6, timeout=30000)
    finally:
        live.close()


def test_a_missing_camera_is_a_message_not_a_crash(capsys):
    from colormotion.cli.main import EXIT_INPUT, main

    assert main(["live", "--camera", "97"]) == EXIT_INPUT
    assert "no camera 97" in capsys.readouterr().err


def test_the_eyedropper_picks_from_a_shown_reference(qtbot, window, tmp_path):
    import cv2

    reference = tmp_path / "graded.png"
    cv2.imwrite(str(reference), np.full((40, 60, 3), (200, 60, 20), np.uint8))  # BGR: a blue
    window.document.path = tmp_path / "hints.json"
    window._edit(window.document.set_reference, window.frame, str(reference))
    window._add_hint(0.5, 0.5)
    window.reference_action.setChecked(True)
    window.toggle_reference()
    assert window.view.colour is not None and window.view.colour.size() == window.view.gray.size()
    window.toggle_eyedropper()
    window.view.sampled.emit(0.3, 0.3)
    assert window.document.data["hints"][0]["color"] == "#143cc8"


def test_full_resolution_preview_on_demand(qtbot, window):
    small = (window.view.gray.width(), window.view.gray.height())
    window.full_action.setChecked(True)
    window.toggle_full_resolution()
    assert (window.view.gray.width(), window.view.gray.height()) == (192, 128)  # the clip's own size
    qtbot.waitUntil(
        lambda: window.view.colour is not None and window.view.colour.width() == 192, timeout=20000
    )
    assert small == (96, 64)


def test_the_corrected_frame_becomes_a_full_size_reference(qtbot, window):
    window._add_hint(0.5, 0.5)
    window.preview_as_reference()
    (reference,) = window.document.references()
    assert reference["frame"] == window.frame
    path = window.document.path.parent / reference["image"]
    import cv2

    assert cv2.imread(str(path)).shape == (128, 192, 3)  # the clip's own size, not the proxy's


def test_the_live_views_working_resolution_is_checked_as_the_engines(capsys):
    from colormotion.cli.main import EXIT_USAGE, main

    assert main(["live", "--video", "x.mp4", "--working-resolution", "100"]) == EXIT_USAGE
    assert "multiple of 32" in capsys.readouterr().err
