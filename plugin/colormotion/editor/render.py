"""Render the clip with the edited hints through the command line's own code path, with progress."""

from __future__ import annotations

import threading
from pathlib import Path

from qtpy import QtCore, QtWidgets


class RenderDialog(QtWidgets.QDialog):
    progressed = QtCore.Signal(int, int)
    finished_with = QtCore.Signal(str)  # "" on success, else the error

    def __init__(self, clip: str, hints: Path | None, model: str | None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Render clip")
        self.clip, self.hints, self.model = clip, hints, model
        self.output = QtWidgets.QLineEdit(str(Path(clip).with_name(Path(clip).stem + "_color.mp4")))
        self.bar = QtWidgets.QProgressBar()
        self.status = QtWidgets.QLabel("")
        self.start_button = QtWidgets.QPushButton("Render")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        form = QtWidgets.QFormLayout(self)
        form.addRow("Output", self.output)
        form.addRow(self.bar)
        form.addRow(self.status)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.progressed.connect(self._show_progress)
        self.finished_with.connect(self._finished)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def arguments(self) -> list[str]:
        argv = ["colorize", self.clip, self.output.text(), "-q"]
        if self.hints is not None:
            argv += ["--hints", str(self.hints)]
        if self.model:
            argv += ["--model", self.model]
        return argv

    def start(self) -> None:
        from ..cli.main import build_parser

        args = build_parser().parse_args(self.arguments())
        args.on_frame = self._on_frame
        self.start_button.setEnabled(False)
        self._thread = threading.Thread(target=self._run, args=(args,), daemon=True)
        self._thread.start()

    def _on_frame(self, done: int, total: int) -> None:
        if self._cancel.is_set():
            raise KeyboardInterrupt  # the command line's cancel: nothing is left at the output
        self.progressed.emit(done, total)

    def _run(self, args) -> None:
        try:
            args.run(args)
        except KeyboardInterrupt:
            self.finished_with.emit("cancelled")
        except Exception as error:  # shown in the dialog
            self.finished_with.emit(f"{type(error).__name__}: {error}")
        else:
            self.finished_with.emit("")

    def cancel(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._cancel.set()
        else:
            self.reject()

    def _show_progress(self, done: int, total: int) -> None:
        self.bar.setMaximum(total)
        self.bar.setValue(done)
        self.status.setText(f"{done} / {total} frames")

    def _finished(self, error: str) -> None:
        self.status.setText(f"wrote {self.output.text()}" if not error else error)
        self.start_button.setEnabled(True)
        self.cancel_button.setText("Close")
        self._thread = None
