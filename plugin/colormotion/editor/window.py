"""`colormotion edit CLIP`: place and key hints by eye, with the colorized preview beside the gray.

The window translates mouse, keys and dialogs into `HintDocument` edits and shows what the engine
makes of them (`PreviewWorker`, proxy resolution, newest edit wins). Shortcuts follow compositing
tools: Space play, Left/Right step, K key the selected hint here, Del delete its key here,
Shift+Del delete the hint, Ctrl+Z / Ctrl+Shift+Z undo/redo, Ctrl+S save, I eyedropper.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from qtpy import QtCore, QtGui, QtWidgets

from ..hints import HintError
from .document import DEFAULT_RADIUS, HintDocument, key_colour_at
from .preview import PreviewWorker, ProxyRenderer

NEW_HINT_COLOUR = "#c04040"
HANDLE_PX = 6  # a click within this many pixels of a hint's centre picks it


def qimage(rgb: np.ndarray) -> QtGui.QImage:
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QtGui.QImage(rgb.data, width, height, 3 * width, QtGui.QImage.Format.Format_RGB888).copy()


class FrameView(QtWidgets.QWidget):
    """The frame: gray left of the split, colour right of it (or side by side), hints on top."""

    clicked = QtCore.Signal(float, float)  # normalised x, y of a click on no hint
    dragged = QtCore.Signal(str, float, float)  # hint id and where it was dropped
    picked = QtCore.Signal(str)  # a hint was selected
    wheeled = QtCore.Signal(str, int)  # hint id, wheel steps
    sampled = QtCore.Signal(float, float)  # eyedropper click

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 180)
        self.setMouseTracking(True)
        self.gray: QtGui.QImage | None = None
        self.colour: QtGui.QImage | None = None
        self.hints: dict[str, tuple[float, float, float, str]] = {}  # id -> x, y, radius, colour
        self.selected: str | None = None
        self.split = 0.5  # share of the frame shown gray
        self.side_by_side = False
        self.eyedropper = False
        self._dragging: str | None = None
        self._drag_at: tuple[float, float] | None = None

    # geometry: the frame rectangle(s) in widget pixels
    def frame_rect(self) -> QtCore.QRectF:
        if self.gray is None:
            return QtCore.QRectF(self.rect())
        columns = 2 if self.side_by_side else 1
        scale = min(self.width() / (columns * self.gray.width()), self.height() / self.gray.height())
        width, height = self.gray.width() * scale, self.gray.height() * scale
        left = (self.width() - columns * width) / 2
        return QtCore.QRectF(left, (self.height() - height) / 2, width, height)

    def to_frame(self, point: QtCore.QPointF) -> tuple[float, float]:
        rect = self.frame_rect()
        x = (point.x() - rect.left()) / rect.width()
        if self.side_by_side and x > 1:
            x -= 1
        return x, (point.y() - rect.top()) / rect.height()

    def hint_under(self, point: QtCore.QPointF) -> str | None:
        rect = self.frame_rect()
        short = min(rect.width(), rect.height())
        for hint_id, (x, y, radius, _) in reversed(list(self.hints.items())):
            for offset in (0, rect.width()) if self.side_by_side else (0,):
                centre = QtCore.QPointF(
                    rect.left() + offset + x * rect.width(), rect.top() + y * rect.height()
                )
                if QtCore.QLineF(centre, point).length() <= max(HANDLE_PX, radius * short):
                    return hint_id
        return None

    # painting
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtGui.QColor(40, 40, 40))
        if self.gray is None:
            painter.setPen(QtGui.QColor(200, 200, 200))
            painter.drawText(self.rect(), QtCore.Qt.AlignmentFlag.AlignCenter, "loading…")
            return
        rect = self.frame_rect()
        colour = self.colour or self.gray
        if self.side_by_side:
            painter.drawImage(rect, self.gray)
            painter.drawImage(rect.translated(rect.width(), 0), colour)
        else:
            cut = self.split * rect.width()
            source_cut = self.split * self.gray.width()
            painter.drawImage(
                QtCore.QRectF(rect.left(), rect.top(), cut, rect.height()),
                self.gray,
                QtCore.QRectF(0, 0, source_cut, self.gray.height()),
            )
            painter.drawImage(
                QtCore.QRectF(rect.left() + cut, rect.top(), rect.width() - cut, rect.height()),
                colour,
                QtCore.QRectF(
                    source_cut,
                    0,
                    colour.width() - source_cut * colour.width() / self.gray.width(),
                    colour.height(),
                ),
            )
            painter.setPen(QtGui.QPen(QtGui.QColor(255, 255, 255, 160), 1))
            painter.drawLine(
                QtCore.QPointF(rect.left() + cut, rect.top()),
                QtCore.QPointF(rect.left() + cut, rect.bottom()),
            )
        short = min(rect.width(), rect.height())
        for hint_id, (x, y, radius, hint_colour) in self.hints.items():
            for offset in (0, rect.width()) if self.side_by_side else (0,):
                centre = QtCore.QPointF(
                    rect.left() + offset + x * rect.width(), rect.top() + y * rect.height()
                )
                size = max(HANDLE_PX, radius * short)
                selected = hint_id == self.selected
                painter.setPen(
                    QtGui.QPen(QtGui.QColor("white" if selected else "black"), 2 if selected else 1)
                )
                painter.setBrush(QtGui.QColor(hint_colour))
                painter.drawEllipse(centre, size, size)

    # mouse
    def mousePressEvent(self, event) -> None:  # noqa: N802
        point = event.position() if hasattr(event, "position") else QtCore.QPointF(event.pos())
        if self.eyedropper:
            self.sampled.emit(*self.to_frame(point))
            return
        hint_id = self.hint_under(point)
        if hint_id is None:
            x, y = self.to_frame(point)
            if 0 <= x <= 1 and 0 <= y <= 1:
                self.clicked.emit(x, y)
            return
        self.picked.emit(hint_id)
        self._dragging, self._drag_at = hint_id, None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._dragging is None:
            return
        point = event.position() if hasattr(event, "position") else QtCore.QPointF(event.pos())
        x, y = self.to_frame(point)
        self._drag_at = (min(1.0, max(0.0, x)), min(1.0, max(0.0, y)))
        shown = self.hints[self._dragging]
        self.hints[self._dragging] = (*self._drag_at, shown[2], shown[3])
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._dragging is not None and self._drag_at is not None:
            self.dragged.emit(self._dragging, *self._drag_at)  # one undoable move per drag
        self._dragging, self._drag_at = None, None

    def wheelEvent(self, event) -> None:  # noqa: N802
        point = event.position() if hasattr(event, "position") else QtCore.QPointF(event.pos())
        hint_id = self.hint_under(point) or self.selected
        if hint_id is not None:
            self.wheeled.emit(hint_id, 1 if event.angleDelta().y() > 0 else -1)


class Timeline(QtWidgets.QWidget):
    """A scrubber with every key of every hint marked (the selected hint's brighter)."""

    frame_changed = QtCore.Signal(int)

    def __init__(self, first: int, last: int, parent=None) -> None:
        super().__init__(parent)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(first, last)
        self.slider.valueChanged.connect(self.frame_changed)
        self.label = QtWidgets.QLabel()
        self.slider.valueChanged.connect(lambda v: self.label.setText(f"frame {v}"))
        self.label.setText(f"frame {first}")
        layout = QtWidgets.QHBoxLayout(self)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.keys: list[tuple[str, int]] = []
        self.references: list[int] = []
        self.selected: str | None = None

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        painter = QtGui.QPainter(self)
        groove = self.slider.geometry()
        span = max(1, self.slider.maximum() - self.slider.minimum())

        def x_of(frame: int) -> float:
            return groove.left() + 8 + (frame - self.slider.minimum()) / span * (groove.width() - 16)

        for hint_id, frame in self.keys:
            painter.setPen(QtGui.QPen(QtGui.QColor("#ffd040" if hint_id == self.selected else "#a08040"), 2))
            painter.drawLine(
                QtCore.QPointF(x_of(frame), groove.top()), QtCore.QPointF(x_of(frame), groove.top() + 6)
            )
        for frame in self.references:
            painter.setPen(QtGui.QPen(QtGui.QColor("#40c0ff"), 3))
            painter.drawLine(
                QtCore.QPointF(x_of(frame), groove.bottom() - 6), QtCore.QPointF(x_of(frame), groove.bottom())
            )


class EditorWindow(QtWidgets.QMainWindow):
    preview_ready = QtCore.Signal(int, int, object, bool)  # generation, frame, image, draft (worker thread)
    preview_failed = QtCore.Signal(int, str)
    saved = QtCore.Signal(str)  # the hints JSON just saved (the Nuke panel writes it into the node)

    def __init__(self, renderer: ProxyRenderer, document: HintDocument, clip: str, model: str | None = None):
        super().__init__()
        self.renderer, self.document, self.clip, self.model = renderer, document, clip, model
        self.frame = renderer.first_frame
        self._requested_at: dict[int, float] = {}
        self.last_preview_ms: float | None = None  # request -> exact frame shown
        self.last_draft_ms: float | None = None  # edit -> draft shown
        self.setWindowTitle(self._title())
        self.view = FrameView()
        self.timeline = Timeline(renderer.first_frame, renderer.last_frame)
        self.hint_list = QtWidgets.QListWidget()
        self.reference_list = QtWidgets.QListWidget()
        self._build_layout()
        self._build_actions()
        self.view.clicked.connect(self._add_hint)
        self.view.dragged.connect(
            lambda hint_id, x, y: self._edit(self.document.move, hint_id, self.frame, x, y)
        )
        self.view.picked.connect(self._select)
        self.view.wheeled.connect(self._resize_hint)
        self.view.sampled.connect(self._eyedrop)
        self.timeline.frame_changed.connect(self.set_frame)
        self.hint_list.currentTextChanged.connect(lambda text: self._select(text or None))
        self.preview_ready.connect(self._show_preview)
        self.preview_failed.connect(
            lambda generation, message: self.statusBar().showMessage(f"preview failed: {message}")
        )
        self.worker = PreviewWorker(
            renderer.colour,
            lambda generation, frame, image, draft: self.preview_ready.emit(generation, frame, image, draft),
            lambda generation, message: self.preview_failed.emit(generation, message),
        )
        self.preview_image: QtGui.QImage | None = None
        self._gray_frame: int | None = None  # the frame view.gray shows
        self.player = QtCore.QTimer(self)
        self.player.timeout.connect(self._play_step)
        self.selected: str | None = None
        self.refresh()

    # -- layout and actions -------------------------------------------------------------------

    def _build_layout(self) -> None:
        side = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(side)
        column.addWidget(QtWidgets.QLabel("Hints"))
        column.addWidget(self.hint_list, 2)
        self.colour_button = QtWidgets.QPushButton("Colour…")
        self.colour_button.clicked.connect(self.choose_colour)
        column.addWidget(self.colour_button)
        column.addWidget(QtWidgets.QLabel("References"))
        column.addWidget(self.reference_list, 1)
        for text, slot in (
            ("Load reference for this frame…", self.load_reference),
            ("Preview as reference", self.preview_as_reference),
            ("Remove reference", self.remove_reference),
        ):
            button = QtWidgets.QPushButton(text)
            button.clicked.connect(slot)
            column.addWidget(button)
        self.split_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.split_slider.setRange(0, 100)
        self.split_slider.setValue(50)
        self.split_slider.valueChanged.connect(self._set_split)
        column.addWidget(QtWidgets.QLabel("Gray | colour"))
        column.addWidget(self.split_slider)
        centre = QtWidgets.QWidget()
        rows = QtWidgets.QVBoxLayout(centre)
        rows.addWidget(self.view, 1)
        rows.addWidget(self.timeline)
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(centre)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 4)
        self.setCentralWidget(splitter)
        self.resize(1100, 640)

    def _build_actions(self) -> None:
        def action(menu, text, slot, shortcut=None):
            item = QtGui.QAction(text, self)
            if shortcut:
                item.setShortcut(QtGui.QKeySequence(shortcut))
                item.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            item.triggered.connect(slot)
            menu.addAction(item)
            return item

        file_menu = self.menuBar().addMenu("&File")
        action(file_menu, "&Open hints…", self.open_hints, "Ctrl+O")
        action(file_menu, "&Save", self.save, "Ctrl+S")
        action(file_menu, "Save &as…", self.save_as, "Ctrl+Shift+S")
        action(file_menu, "&Render clip…", self.render_clip, "Ctrl+R")
        edit_menu = self.menuBar().addMenu("&Edit")
        self.undo_action = action(edit_menu, "&Undo", self.undo, "Ctrl+Z")
        self.redo_action = action(edit_menu, "&Redo", self.redo, "Ctrl+Shift+Z")
        action(edit_menu, "&Key selected hint here", self.key_here, "K")
        action(edit_menu, "&Delete key here", self.delete_key, "Del")
        action(edit_menu, "Delete &hint", self.delete_hint, "Shift+Del")
        action(edit_menu, "&Eyedropper", self.toggle_eyedropper, "I")
        view_menu = self.menuBar().addMenu("&View")
        action(view_menu, "&Play / stop", self.toggle_play, "Space")
        action(view_menu, "Next frame", lambda: self.set_frame(self.frame + 1), "Right")
        action(view_menu, "Previous frame", lambda: self.set_frame(self.frame - 1), "Left")
        action(view_menu, "&Side by side", self.toggle_side_by_side, "S")
        self.full_action = action(view_menu, "&Full resolution preview", self.toggle_full_resolution, "F")
        self.full_action.setCheckable(True)
        self.reference_action = action(view_menu, "Show this frame's &reference", self.toggle_reference, "R")
        self.reference_action.setCheckable(True)

    # -- state to screen ----------------------------------------------------------------------

    def _title(self) -> str:
        name = self.document.path.name if self.document.path else "untitled hints"
        return f"ColorMotion — {name}{' •' if self.document.modified else ''} — {Path(self.clip).name}"

    def refresh(self, render: bool = True, edited: bool = False) -> None:
        """Show the document at the current frame and ask for a new preview (after an edit, a
        draft first: the exact frame re-runs the temporal chain its hints change)."""
        data = self.document.data
        colours = {hint["id"]: _shown_colour(hint, self.frame) for hint in data["hints"]}
        self.view.hints = {
            hint_id: (x, y, radius, colours[hint_id])
            for hint_id, (x, y, radius) in self.document.positions_at(self.frame).items()
        }
        self.view.selected = self.timeline.selected = self.selected
        if self.view.gray is None or self._gray_frame != self.frame:  # an edit keeps the frame
            self.view.gray, self._gray_frame = qimage(self.renderer.gray(self.frame)), self.frame
        self.timeline.keys = [(mark.hint_id, mark.frame) for mark in self.document.keys()]
        self.timeline.references = [int(r["frame"]) for r in self.document.references()]
        ids = self.document.hint_ids()
        if [self.hint_list.item(i).text() for i in range(self.hint_list.count())] != ids:
            self.hint_list.blockSignals(True)
            self.hint_list.clear()
            self.hint_list.addItems(ids)
            self.hint_list.blockSignals(False)
        self.reference_list.clear()
        self.reference_list.addItems([f"{r['frame']}: {r['image']}" for r in self.document.references()])
        self.undo_action.setEnabled(self.document.can_undo)
        self.redo_action.setEnabled(self.document.can_redo)
        self.setWindowTitle(self._title())
        self.view.update()
        self.timeline.update()
        if render:
            self.request_preview(draft_first=edited)

    def request_preview(self, draft_first: bool = False) -> int:
        try:
            hints = self.document.hint_set()
        except HintError as error:  # e.g. a reference image that went missing
            self.statusBar().showMessage(f"hints: {error}")
            return -1
        generation = self.worker.request(self.frame, hints, draft_first)
        self._requested_at[generation] = time.perf_counter()
        return generation

    def _show_preview(self, generation: int, frame: int, image, draft: bool = False) -> None:
        began = self._requested_at.get(generation) if draft else self._requested_at.pop(generation, None)
        if frame != self.frame:
            return
        self.preview_image = qimage(image)
        self.view.colour = self._reference_image() or self.preview_image
        self.view.update()
        if began is not None:
            elapsed = 1000 * (time.perf_counter() - began)
            if draft:
                self.last_draft_ms = elapsed
                self.statusBar().showMessage(f"frame {frame}: draft in {elapsed:.0f} ms, exact frame coming")
            else:
                self.last_preview_ms = elapsed
                self.statusBar().showMessage(f"frame {frame}: preview in {elapsed:.0f} ms")

    # -- edits ----------------------------------------------------------------------------------

    def _edit(self, operation, *arguments):
        try:
            result = operation(*arguments)
        except (HintError, KeyError, ValueError) as error:
            self.statusBar().showMessage(str(error))
            return None
        self.refresh(edited=True)
        return result

    def _add_hint(self, x: float, y: float) -> None:
        hint_id = self._edit(self.document.add_hint, self.frame, x, y, NEW_HINT_COLOUR, DEFAULT_RADIUS * 3)
        if hint_id:
            self._select(hint_id)

    def _select(self, hint_id: str | None) -> None:
        self.selected = hint_id
        if hint_id is not None:
            items = self.hint_list.findItems(hint_id, QtCore.Qt.MatchFlag.MatchExactly)
            if items:
                self.hint_list.blockSignals(True)
                self.hint_list.setCurrentItem(items[0])
                self.hint_list.blockSignals(False)
        self.refresh(render=False)

    def _resize_hint(self, hint_id: str, steps: int) -> None:
        radius = self.document.hint(hint_id).get("radius", DEFAULT_RADIUS)
        self._edit(self.document.set_radius, hint_id, radius * (1.25 if steps > 0 else 0.8))

    def key_here(self) -> None:
        if self.selected in self.view.hints:
            x, y = self.view.hints[self.selected][:2]
            self._edit(self.document.move, self.selected, self.frame, x, y)

    def delete_key(self) -> None:
        if self.selected is not None:
            self._edit(self.document.delete_key, self.selected, self.frame)
            if self.selected not in self.document.hint_ids():
                self.selected = None

    def delete_hint(self) -> None:
        if self.selected is not None:
            self._edit(self.document.delete_hint, self.selected)
            self.selected = None
            self.refresh(render=False)

    def set_colour(self, colour: str) -> None:
        if self.selected is not None:
            self._edit(self.document.set_colour, self.selected, self.frame, colour)

    def choose_colour(self) -> None:
        if self.selected is None:
            return
        start = QtGui.QColor(self.view.hints.get(self.selected, (0, 0, 0, NEW_HINT_COLOUR))[3])
        colour = QtWidgets.QColorDialog.getColor(start, self, "Hint colour")
        if colour.isValid():
            self.set_colour(colour.name())

    def toggle_eyedropper(self) -> None:
        self.view.eyedropper = not self.view.eyedropper
        self.view.setCursor(
            QtCore.Qt.CursorShape.CrossCursor if self.view.eyedropper else QtCore.Qt.CursorShape.ArrowCursor
        )

    def _eyedrop(self, x: float, y: float) -> None:
        """The colour under the cursor in the colorized preview (or a loaded reference shown there)."""
        self.toggle_eyedropper()
        image = self.view.colour
        if image is None or self.selected is None or not (0 <= x <= 1 and 0 <= y <= 1):
            return
        pixel = image.pixelColor(
            min(image.width() - 1, int(x * image.width())), min(image.height() - 1, int(y * image.height()))
        )
        self.set_colour(pixel.name())

    def undo(self) -> None:
        if self.document.undo() is not None:
            self._forget_missing_selection()
            self.refresh()

    def redo(self) -> None:
        if self.document.redo() is not None:
            self._forget_missing_selection()
            self.refresh()

    def _forget_missing_selection(self) -> None:
        if self.selected not in self.document.hint_ids():
            self.selected = None

    # -- references -------------------------------------------------------------------------------

    def load_reference(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, f"Colour image of frame {self.frame}")
        if path:
            self._edit(self.document.set_reference, self.frame, path)

    def preview_as_reference(self) -> None:
        """The colorized frame (hints included), rendered at the clip's own size and saved beside
        the hints file as this frame's reference: correct a frame with hints, then let it colour
        the shot."""
        if self.document.path is None and not self.save_as():
            return
        folder = self.document.path.parent / f"{self.document.path.stem}_references"
        folder.mkdir(exist_ok=True)
        target = folder / f"frame{self.frame}.png"
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            image = qimage(self.renderer.full_frame(self.frame, self.document.hint_set()))
        except Exception as error:  # shown, never a crash
            self.statusBar().showMessage(f"cannot render frame {self.frame}: {error}")
            return
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        if not image.save(str(target)):
            self.statusBar().showMessage(f"cannot write {target}")
            return
        self._edit(self.document.set_reference, self.frame, str(target))

    def remove_reference(self) -> None:
        self._edit(self.document.remove_reference, self.frame)

    # -- frames -----------------------------------------------------------------------------------

    def set_frame(self, frame: int) -> None:
        frame = min(self.renderer.last_frame, max(self.renderer.first_frame, int(frame)))
        if frame == self.frame and self.view.gray is not None:
            return
        self.frame = frame
        self.timeline.slider.blockSignals(True)
        self.timeline.slider.setValue(frame)
        self.timeline.label.setText(f"frame {frame}")
        self.timeline.slider.blockSignals(False)
        self.view.colour = self.preview_image = None
        self.refresh()

    def toggle_play(self) -> None:
        if self.player.isActive():
            self.player.stop()
        else:
            self.player.start(42)  # about 24 fps; frames show as their previews arrive

    def _play_step(self) -> None:
        if self.frame >= self.renderer.last_frame:
            self.player.stop()
            return
        self.set_frame(self.frame + 1)

    def toggle_full_resolution(self) -> None:
        self.renderer.set_full_resolution(self.full_action.isChecked())
        self.view.gray = None
        self.refresh()

    def toggle_reference(self) -> None:
        """Show the current frame's reference image in place of the preview (the eyedropper then
        picks its colours)."""
        self.view.colour = self._reference_image() or self.preview_image
        self.view.update()

    def _reference_image(self) -> QtGui.QImage | None:
        if not self.reference_action.isChecked():
            return None
        for spec in self.document.hint_set().references:
            if spec.frame == self.frame:
                image = QtGui.QImage(str(spec.image))
                if image.isNull():
                    self.statusBar().showMessage(f"cannot read reference {spec.image}")
                    return None
                size = self.view.gray.size() if self.view.gray is not None else image.size()
                return image.convertToFormat(QtGui.QImage.Format.Format_RGB888).scaled(size)
        return None

    def toggle_side_by_side(self) -> None:
        self.view.side_by_side = not self.view.side_by_side
        self.view.update()

    def _set_split(self, value: int) -> None:
        self.view.split = value / 100
        self.view.update()

    # -- files ------------------------------------------------------------------------------------

    def open_hints(self) -> None:
        if not self._may_discard():
            return
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open hints", filter="Hints (*.json)")
        if path:
            try:
                self.document = HintDocument.load(path)
            except HintError as error:
                QtWidgets.QMessageBox.warning(self, "Cannot open hints", str(error))
                return
            self.selected = None
            self.refresh()

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        self.document.save()
        self.saved.emit(self.document.to_json())
        self.refresh(render=False)
        return True

    def save_as(self) -> bool:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save hints", "hints.json", "Hints (*.json)")
        if not path:
            return False
        self.document.save(path)
        self.saved.emit(self.document.to_json())
        self.refresh(render=False)
        return True

    def render_clip(self) -> None:
        from .render import RenderDialog

        if self.document.modified and not self.save():
            return
        RenderDialog(self.clip, self.document.path, self.model, self).exec()

    def _may_discard(self) -> bool:
        if not self.document.modified:
            return True
        answer = QtWidgets.QMessageBox.question(
            self,
            "Unsaved hints",
            "The hints have changed. Save them first?",
            QtWidgets.QMessageBox.StandardButton.Save
            | QtWidgets.QMessageBox.StandardButton.Discard
            | QtWidgets.QMessageBox.StandardButton.Cancel,
        )
        if answer == QtWidgets.QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QtWidgets.QMessageBox.StandardButton.Discard

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._may_discard():
            event.ignore()
            return
        self.player.stop()
        self.worker.stop()
        self.renderer.close()  # the window owns its renderer (the CLI and the Nuke panel hand it over)
        event.accept()


def _shown_colour(hint: dict, frame: int) -> str:
    """The hint's colour at `frame` as '#rrggbb' for drawing (its keys', else its own)."""
    colour = key_colour_at(hint, frame) or hint.get("color")
    if isinstance(colour, list):
        return QtGui.QColor.fromRgbF(*(min(1.0, max(0.0, float(v))) for v in colour)).name()
    return colour or NEW_HINT_COLOUR
