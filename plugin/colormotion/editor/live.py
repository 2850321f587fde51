"""`colormotion live`: the monograph's real-time demo (its Fig. 13): a stream and its colorization
side by side, a guidance control (colour strength), a vividness control and the measured frame
rate.

Frames come from a camera (OpenCV) or from a file played in real time; they stream through the
engine in order, as a host's playback does (the temporal state carries from frame to frame).
When colorizing is slower than the stream, frames are skipped to stay in real time; the engine
continues its state across the gap.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import numpy as np
from qtpy import QtCore, QtGui, QtWidgets

from ..io.errors import InputError
from ..node import ColorizeNode, StaticParams
from .preview import to_display
from .window import qimage

KEEP_FRAMES = 24  # frames a streaming source keeps for the engine (its window looks back)


class LiveSource:
    """Frames as they arrive, numbered from 0; only recent ones are kept (a stream)."""

    random_access = False

    def __init__(self) -> None:
        self.identity = f"live:{id(self)}:{time.time_ns()}"
        self.first_frame, self.last_frame = 0, -1
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def push(self, frame: np.ndarray, t: int | None = None) -> int:
        with self._lock:
            t = self.last_frame + 1 if t is None else t
            self._frames[t] = frame
            self.last_frame = t
            while len(self._frames) > KEEP_FRAMES:
                self._frames.popitem(last=False)
            return t

    def frame(self, t: int) -> np.ndarray:
        with self._lock:
            if t not in self._frames:
                raise InputError(f"frame {t} of the live stream is no longer kept")
            return self._frames[t]


class CameraFeed:
    """Frames of camera `index` as RGB; a missing camera is an error that names it."""

    def __init__(self, index: int) -> None:
        import cv2

        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our message says it better
        self._capture = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise InputError(f"no camera {index} can be opened (is one connected, and free?)")
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 30.0)

    def read(self, index: int) -> np.ndarray | None:
        ok, bgr = self._capture.read()
        return None if not ok else np.ascontiguousarray(bgr[..., ::-1])

    def close(self) -> None:
        self._capture.release()


class FileFeed:
    """A clip played in real time: `read(i)` gives frame i of the file, None past its end."""

    def __init__(self, path: str) -> None:
        from ..io.source import open_source

        self._source = open_source(path, cache_frames=2)
        self.fps = float(self._source.info.fps) if self._source.info.fps else 24.0
        self.count = self._source.last_frame - self._source.first_frame + 1

    def read(self, index: int) -> np.ndarray | None:
        if index >= self.count:
            return None
        return self._source.frame(self._source.first_frame + index)

    def close(self) -> None:
        self._source.close()


class LiveWindow(QtWidgets.QMainWindow):
    shown = QtCore.Signal(object, object, float)  # original, colorized (uint8 RGB), fps
    ended = QtCore.Signal(str)

    def __init__(self, feed, model: str | None = None, working_resolution: int = 256) -> None:
        super().__init__()
        self.setWindowTitle("ColorMotion live")
        self.feed, self.node = feed, ColorizeNode(model_path=model)
        self.working_resolution = working_resolution
        self.strength = 1.0
        self.original, self.colorized = QtWidgets.QLabel(), QtWidgets.QLabel()
        for label in (self.original, self.colorized):
            label.setMinimumSize(320, 180)
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.guidance = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.guidance.setRange(0, 200)
        self.guidance.setValue(100)
        self.guidance.valueChanged.connect(lambda value: setattr(self, "strength", value / 100))
        self.vividness = 0.0
        self.vividness_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.vividness_slider.setRange(0, 100)  # 0..1, the node's display range
        self.vividness_slider.valueChanged.connect(lambda value: setattr(self, "vividness", value / 100))
        if not self._model_has_vividness():
            self.vividness_slider.setEnabled(False)
            self.vividness_slider.setToolTip(
                "this model has no vividness input (contract 1, or exported before it)"
            )
        self.fps_label = QtWidgets.QLabel("– fps")
        self.frames_shown, self.fps = 0, 0.0
        pictures = QtWidgets.QHBoxLayout()
        pictures.addWidget(self.original)
        pictures.addWidget(self.colorized)
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(QtWidgets.QLabel("Guidance (colour strength)"))
        controls.addWidget(self.guidance, 1)
        controls.addWidget(QtWidgets.QLabel("Vividness"))
        controls.addWidget(self.vividness_slider, 1)
        controls.addWidget(self.fps_label)
        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        column.addLayout(pictures, 1)
        column.addLayout(controls)
        self.setCentralWidget(central)
        self.resize(960, 420)
        self.shown.connect(self._show)
        self.ended.connect(lambda message: self.statusBar().showMessage(message))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="colormotion-live", daemon=True)
        self._thread.start()

    def _model_has_vividness(self) -> bool:
        try:
            return self.node.model(0, StaticParams()).has_vividness
        except Exception:  # a model error is shown by the render thread, in the window
            return False

    def _run(self) -> None:
        source = LiveSource()
        begin, index, last_shown, rate = time.perf_counter(), 0, None, 0.0
        try:
            while not self._stop.is_set():
                frame = self.feed.read(index)
                if frame is None:
                    self.ended.emit("end of the stream")
                    return
                t = source.push(frame, index)
                params = StaticParams(
                    {
                        "working_resolution": self.working_resolution,
                        "strength": self.strength,
                        "vividness": self.vividness,
                    }
                )
                colour = self.node.render(t, source, params)
                now = time.perf_counter()
                if last_shown is not None:
                    rate = (
                        0.9 * rate + 0.1 / max(1e-6, now - last_shown)
                        if rate
                        else 1 / max(1e-6, now - last_shown)
                    )
                last_shown = now
                self.shown.emit(to_display(frame), to_display(colour), rate)
                # real time: the next frame is the one the stream has reached by now
                index = max(index + 1, int((now - begin) * self.feed.fps))
        except Exception as error:  # shown in the window, never a crash
            self.ended.emit(f"stopped: {type(error).__name__}: {error}")

    def _show(self, original: np.ndarray, colorized: np.ndarray, fps: float) -> None:
        for label, image in ((self.original, original), (self.colorized, colorized)):
            pixmap = QtGui.QPixmap.fromImage(qimage(image))
            label.setPixmap(pixmap.scaled(label.size(), QtCore.Qt.AspectRatioMode.KeepAspectRatio))
        self.frames_shown += 1
        self.fps = fps
        self.fps_label.setText(f"{fps:.1f} fps")

    def closeEvent(self, event) -> None:  # noqa: N802
        self._stop.set()
        self._thread.join(timeout=10)
        self.feed.close()
        event.accept()
