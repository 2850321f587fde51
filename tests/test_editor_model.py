"""The hint editor's Qt-free parts: the document (edits, undo, files) and the preview worker."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from colormotion.editor.document import HintDocument, KeyMark
from colormotion.editor.preview import PreviewWorker, ProxyRenderer
from colormotion.hints import HintError, HintSet

from tests._media import moving_frames, write_sequence


def test_add_move_key_and_colour_make_the_file_the_engine_reads():
    doc = HintDocument()
    shirt = doc.add_hint(10, 0.4, 0.6, "#c0302a")
    doc.move(shirt, 20, 0.5, 0.6)  # a second key on another frame
    doc.move(shirt, 10, 0.42, 0.61)  # the first key moved
    doc.set_colour(shirt, 20, "#2040d0")
    assert doc.keys() == [KeyMark(shirt, 10), KeyMark(shirt, 20)]
    hints = doc.hint_set()
    assert hints.at(15)[0].x == pytest.approx(0.46)
    assert doc.positions_at(10)[shirt][:2] == (0.42, 0.61)
    saved = json.loads(doc.to_json())
    assert saved["hints"][0]["keys"][1]["color"] == "#2040d0"
    assert HintSet.from_dict(saved).hints[0].keys[0].frame == 10


def test_single_key_colour_changes_the_hint_and_the_last_key_deletes_it():
    doc = HintDocument()
    sky = doc.add_hint(0, 0.5, 0.1, "#80a0ff", radius=0.08)
    doc.set_colour(sky, 0, "#7090f0")
    assert doc.hint(sky)["color"] == "#7090f0" and "color" not in doc.hint(sky)["keys"][0]
    doc.set_radius(sky, 5.0)
    assert doc.hint(sky)["radius"] == 1.0  # clamped to what the format allows
    doc.delete_key(sky, 0)
    assert doc.hint_ids() == []


def test_every_edit_undoes_and_redoes_and_a_new_edit_clears_redo():
    doc = HintDocument()
    states = [doc.data]
    a = doc.add_hint(0, 0.1, 0.1, "#ff0000")
    states.append(doc.data)
    doc.move(a, 5, 0.2, 0.2)
    states.append(doc.data)
    doc.set_reference(3, "/tmp/graded.png")
    states.append(doc.data)
    for expected in reversed(states[:-1]):
        assert doc.undo() is not None
        assert doc.data == expected
    assert doc.undo() is None and not doc.can_undo
    doc.redo()
    assert doc.data == states[1]
    doc.add_hint(1, 0.9, 0.9, "#00ff00")
    assert not doc.can_redo


def test_an_edit_the_engine_would_refuse_is_not_made():
    doc = HintDocument()
    a = doc.add_hint(0, 0.5, 0.5, "#ff0000")
    with pytest.raises(HintError):
        doc.set_colour(a, 0, "not a colour")
    assert doc.hint(a)["color"] == "#ff0000" and doc.undo() == "add hint"


def test_files_round_trip_exactly_and_modified_tracks_saving(tmp_path):
    original = {
        "version": 1,
        "hints": [
            {
                "id": "sky",
                "color": [0.35, 0.55, 0.85],
                "radius": 0.08,
                "until": 40,
                "keys": [{"frame": 0, "x": 0.5, "y": 0.08}],
            }
        ],
        "references": [{"frame": 12, "image": "graded/0012.png"}],
    }
    path = tmp_path / "hints.json"
    path.write_text(json.dumps(original))
    doc = HintDocument.load(path)
    assert not doc.modified and doc.data == original
    doc.save(tmp_path / "copy.json")
    assert json.loads((tmp_path / "copy.json").read_text()) == original
    again = HintDocument.load(tmp_path / "copy.json")
    again.save()
    assert (tmp_path / "copy.json").read_text() == again.to_json()
    again.move("sky", 4, 0.5, 0.1)
    assert again.modified
    again.undo()
    assert not again.modified


def test_references_are_stored_relative_to_the_hints_file(tmp_path):
    doc = HintDocument(path=tmp_path / "hints.json")
    doc.set_reference(5, str(tmp_path / "graded" / "f5.png"))
    doc.set_reference(9, "/elsewhere/f9.png")
    assert doc.references() == [
        {"frame": 5, "image": "graded/f5.png"},
        {"frame": 9, "image": "/elsewhere/f9.png"},
    ]
    doc.remove_reference(5)
    doc.remove_reference(9)
    assert "references" not in doc.data


def test_the_preview_worker_shows_only_the_newest_request():
    started, release = threading.Event(), threading.Event()
    delivered = []

    def render(frame, hints, draft):
        if frame == 1:  # the first render is slow: edits arrive meanwhile
            started.set()
            release.wait(10)
        return np.full((2, 2, 3), frame, np.uint8)

    worker = PreviewWorker(
        render, lambda generation, frame, image, draft: delivered.append((generation, frame))
    )
    worker.request(1, HintSet.empty())
    assert started.wait(10)
    worker.request(2, HintSet.empty())
    newest = worker.request(3, HintSet.empty())  # replaces 2 before it starts
    release.set()
    deadline = time.monotonic() + 10
    while not delivered and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert delivered == [(newest, 3)]  # frame 1 finished but was dropped; 2 never rendered
    assert worker.dropped == 1


def test_an_edit_gets_a_draft_then_the_exact_frame():
    delivered = []
    worker = PreviewWorker(
        lambda frame, hints, draft: np.zeros((1, 1, 3), np.uint8),
        lambda generation, frame, image, draft: delivered.append((generation, draft)),
    )
    edit = worker.request(4, HintSet.empty(), draft_first=True)
    deadline = time.monotonic() + 10
    while len(delivered) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    scrub = worker.request(5, HintSet.empty())
    while len(delivered) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert delivered == [(edit, True), (edit, False), (scrub, False)]  # a new frame needs no draft


def test_the_proxy_renderer_colours_a_frame_with_the_documents_hints(tmp_path, random_model):
    clip = write_sequence(tmp_path / "clip", moving_frames(6, 192, 128))
    renderer = ProxyRenderer(clip, model=str(random_model), short_side=64)
    try:
        gray = renderer.gray(3)
        assert gray.shape == (64, 96, 3) and gray.dtype == np.uint8
        doc = HintDocument()
        doc.add_hint(3, 0.5, 0.5, "#ff0000", radius=0.3)
        plain = renderer.colour(3, HintSet.empty())
        hinted = renderer.colour(3, doc.hint_set())
        assert plain.shape == gray.shape and not np.array_equal(plain, hinted)
        draft = renderer.colour(3, doc.hint_set(), draft=True)  # frame 3 on its own
        assert draft.shape == gray.shape and not np.array_equal(draft, hinted)
    finally:
        renderer.close()


def test_the_proxy_renderer_shows_the_renders_look(tmp_path, random_graph_model, capsys):
    """The preview renders with the node's (or the command line's) strength and vividness."""
    from colormotion.cli.main import EXIT_USAGE, main

    clip = write_sequence(tmp_path / "clip", moving_frames(4, 192, 128))
    plain = ProxyRenderer(clip, model=str(random_graph_model), short_side=64)
    vivid = ProxyRenderer(clip, model=str(random_graph_model), short_side=64, look={"vividness": 1.0})
    try:
        assert not np.array_equal(plain.colour(2, HintSet.empty()), vivid.colour(2, HintSet.empty()))
    finally:
        plain.close()
        vivid.close()
    with pytest.raises(ValueError, match="not working_resolution"):
        ProxyRenderer(clip, look={"working_resolution": 512})
    assert main(["edit", clip, "--vividness", "5"]) == EXIT_USAGE  # before any window opens
    assert "--vividness must be within 0..2" in capsys.readouterr().err


def test_the_command_line_and_the_plug_in_never_import_qt():
    import subprocess
    import sys

    code = (
        "import sys, colormotion.cli.main, colormotion.node, colormotion.editor.document, colormotion.editor.preview;"
        "from colormotion.cli.main import build_parser; build_parser();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('qtpy', 'PySide6', 'PySide2')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
