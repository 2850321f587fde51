"""The temporal engine with a contract-2 model: same guarantees as with contract 1 (any render
order gives the same frames), each graph run only where needed."""

from __future__ import annotations

import collections
import threading

import numpy as np
import pytest
from colormotion.graph_model import GraphModel
from colormotion.hints import HintSet
from colormotion.node import ColorizeNode, StaticParams
from colormotion.temporal.cache import PROCESS_CACHE
from colormotion.temporal.engine import EngineSettings, TemporalEngine
from skimage import data

from tests.synthetic_clips import ListSource, camera_move

SETTINGS = EngineSettings(temporal_window=4)


@pytest.fixture
def clip():
    return camera_move(data.astronaut(), 12, 64, 96)


def render(model, frames, order, identity="v2-clip", hints_at=None):
    engine = TemporalEngine(model)
    source = ListSource(frames, identity=identity)
    return {t: engine.render(source, t, SETTINGS, hints_at) for t in order}


def test_any_render_order_gives_the_same_frames(random_graph_model, clip, fresh_cache):
    model = GraphModel(random_graph_model)
    in_order = render(model, clip, range(1, 13))
    PROCESS_CACHE.clear()
    shuffled = render(model, clip, np.random.default_rng(0).permutation(np.arange(1, 13)).tolist())
    for t in range(1, 13):
        assert np.array_equal(in_order[t], shuffled[t]), t


def test_each_frame_is_encoded_once_in_order(random_graph_model, clip, fresh_cache, monkeypatch):
    model = GraphModel(random_graph_model)
    calls = {"encode": 0, "decode": 0}
    for name in calls:
        real = getattr(model, name)

        def counted(*args, real=real, name=name):
            calls[name] += 1
            return real(*args)

        monkeypatch.setattr(model, name, counted)
    render(model, clip, range(1, 13))
    assert calls == {"encode": 12, "decode": 12}


def counting_blends_per_frame(model, monkeypatch) -> collections.Counter:
    """Blend calls per frame number (frames are encoded in ascending order here)."""
    frame_of, blends = {}, collections.Counter()
    real_encode, real_blend = model.encode, model.blend

    def encode(gray):
        encoded = real_encode(gray)
        frame_of[id(encoded.current)] = len(frame_of) + 1
        return encoded

    def blend(current, *rest):
        blends[frame_of[id(current)]] += 1
        return real_blend(current, *rest)

    monkeypatch.setattr(model, "encode", encode)
    monkeypatch.setattr(model, "blend", blend)
    return blends


def test_a_frame_begun_while_the_previous_one_decodes_resumes_from_its_state(
    random_graph_model, clip, fresh_cache, monkeypatch
):
    """Render threads overlap (the command line renders t+1 while t is recoloured): frame 8
    starts while frame 7, on the same chain, is still in its decode. It resumes from 7's state,
    stored before the decode, instead of blending frame 7 again: every frame is blended as
    often as in one thread."""
    model = GraphModel(random_graph_model)
    blends = counting_blends_per_frame(model, monkeypatch)
    render(model, clip, range(1, 10))
    one_thread = dict(blends)

    PROCESS_CACHE.clear()
    model = GraphModel(random_graph_model)
    blends = counting_blends_per_frame(model, monkeypatch)
    engine, source = TemporalEngine(model), ListSource(clip, identity="v2-clip")
    outputs = {t: engine.render(source, t, SETTINGS) for t in range(1, 7)}
    decoding, release = threading.Event(), threading.Event()
    real_decode = model.decode

    def held_decode(*args):
        decoding.set()
        assert release.wait(30), "frame 8 never finished"
        return real_decode(*args)

    monkeypatch.setattr(model, "decode", held_decode)
    frame_7 = threading.Thread(target=lambda: outputs.setdefault(7, engine.render(source, 7, SETTINGS)))
    frame_7.start()
    assert decoding.wait(30)
    monkeypatch.setattr(model, "decode", real_decode)  # frame 8 decodes at once
    outputs[8] = engine.render(source, 8, SETTINGS)
    release.set()
    frame_7.join(30)
    outputs[9] = engine.render(source, 9, SETTINGS)
    assert dict(blends) == one_thread
    PROCESS_CACHE.clear()
    one_render = render(GraphModel(random_graph_model), clip, range(1, 10))
    assert all(np.array_equal(outputs[t], one_render[t]) for t in one_render)


def test_hints_change_the_output_but_not_the_state(random_graph_model, clip, fresh_cache):
    """A hint edit re-runs decode only: the chain's states (and encodings) are reused."""
    keys = [{"frame": 5, "x": 0.5, "y": 0.5}]
    hints = HintSet.from_dict(
        {"version": 1, "hints": [{"id": "a", "color": "#2050d0", "radius": 0.1, "keys": keys}]}
    )
    params = StaticParams({"temporal_window": 4})
    source = ListSource(clip, identity="v2-hints")

    def cached(kind: str) -> int:
        return sum(1 for key in PROCESS_CACHE._entries if key[0] == kind)

    plain = ColorizeNode(model_path=random_graph_model).render(5, source, params)
    states, encodings = cached("feat"), cached("encoded")
    hinted = ColorizeNode(model_path=random_graph_model, hints=hints).render(5, source, params)
    assert not np.array_equal(hinted, plain)
    assert (cached("feat"), cached("encoded")) == (states, encodings)


def test_the_command_line_runs_a_model_folder(random_graph_model, tmp_path, capsys):
    from colormotion.cli.main import main

    from tests._media import moving_frames, write_video

    source = write_video(tmp_path / "in.mp4", moving_frames(6))
    code = main(
        ["colorize", str(source), str(tmp_path / "out.mp4"), "--model", str(random_graph_model), "-q"]
    )
    assert code == 0, capsys.readouterr().err


# -- reference frames -----------------------------------------------------------------------------


def colour_frames(count: int) -> list[np.ndarray]:
    """A colour clip (the truth) panning over a photo; its gray version is what gets colorized."""
    return camera_move_colour(data.coffee(), count, 64, 96)


def camera_move_colour(photo, frames, height, width, step=1.5):
    import cv2

    scale = 1.3 * max(height / photo.shape[0], width / photo.shape[1])
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return [
        np.ascontiguousarray(big[:height, round(i * step) : round(i * step) + width]) for i in range(frames)
    ]


def renders_in_order(engine, truth, references, order, identity: str) -> dict[int, np.ndarray]:
    """Frame t of the gray of `truth` for each t of `order`, one at a time, with `references`."""
    return {
        t: engine.render(ListSource(gray_of(truth), identity=identity), t, SETTINGS, None, references)
        for t in order
    }


def gray_of(frames):
    return [np.repeat(f.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2) for f in frames]


def test_a_reference_reaches_a_far_frame_without_a_chain_through_the_frames_between(
    random_graph_model, fresh_cache
):
    from colormotion.references import ReferenceFrame

    truth = colour_frames(48)
    source = ListSource(gray_of(truth), identity="v2-far")
    reference = ReferenceFrame(1, truth[0], "truth-1")
    engine = TemporalEngine(GraphModel(random_graph_model))
    with_reference = engine.render(source, 40, SETTINGS, None, [reference])
    assert min(source.reads) >= 40 - SETTINGS.temporal_window  # only frame 40's own chain was read
    assert not np.array_equal(with_reference, engine.render(source, 40, SETTINGS))


def test_a_reference_applies_from_its_frame_to_the_next_one(random_graph_model, fresh_cache):
    from colormotion.references import ReferenceFrame, applicable

    truth = colour_frames(12)
    first, second = ReferenceFrame(4, truth[3], "a"), ReferenceFrame(9, truth[8], "b")
    assert [applicable([first, second], t) for t in (3, 4, 8)] == [[], [first], [first]]
    assert applicable([first, second], 9) == [second]
    limited = ReferenceFrame(4, truth[3], "c", first=2, last=5)
    assert applicable([limited], 2) == [limited] and applicable([limited], 6) == []
    engine = TemporalEngine(GraphModel(random_graph_model))
    source = ListSource(gray_of(truth), identity="v2-range")
    assert np.array_equal(
        engine.render(source, 3, SETTINGS, None, [first]), engine.render(source, 3, SETTINGS)
    )


def test_references_keep_render_order_irrelevant(random_graph_model, fresh_cache):
    from colormotion.references import ReferenceFrame

    truth = colour_frames(12)
    references = [ReferenceFrame(2, truth[1], "r")]
    engine = TemporalEngine(GraphModel(random_graph_model))
    forward = renders_in_order(engine, truth, references, range(1, 13), "o")
    PROCESS_CACHE.clear()
    backward = renders_in_order(engine, truth, references, range(12, 0, -1), "o")
    assert all(np.array_equal(forward[t], backward[t]) for t in forward)


def test_reference_options_on_the_command_line(random_graph_model, random_model, tmp_path, capsys):
    from colormotion.cli.main import EXIT_INPUT, EXIT_MODEL, main
    from colormotion.io.sequence import write_image

    from tests._media import write_video

    truth = colour_frames(8)
    clip = write_video(tmp_path / "in.mp4", gray_of(truth))
    write_image(tmp_path / "graded.png", truth[0])
    run = ["colorize", str(clip), str(tmp_path / "out.mp4"), "-q", "--overwrite"]
    assert (
        main([*run, "--model", str(random_graph_model), "--reference", f"1={tmp_path / 'graded.png'}"]) == 0
    )
    assert main([*run, "--model", str(random_graph_model), "--reference", "1=missing.png"]) == EXIT_INPUT
    assert "missing.png" in capsys.readouterr().err
    assert (
        main([*run, "--model", str(random_model), "--reference", f"1={tmp_path / 'graded.png'}"])
        == EXIT_MODEL
    )
    assert "contract-2" in capsys.readouterr().err
    hints = tmp_path / "hints" / "h.json"
    hints.parent.mkdir()
    write_image(hints.parent / "frame1.png", truth[0])  # named relative to the hints file
    hints.write_text('{"version": 1, "hints": [], "references": [{"frame": 1, "image": "frame1.png"}]}')
    assert main([*run, "--model", str(random_graph_model), "--hints", str(hints)]) == 0, (
        capsys.readouterr().err
    )


# -- hints that persist ---------------------------------------------------------------------------


def keyed_hints(until=None) -> HintSet:
    keys = [{"frame": 2, "x": 0.4, "y": 0.5}, {"frame": 4, "x": 0.42, "y": 0.5}]
    hint = {"id": "mug", "color": "#2050d0", "radius": 0.08, "keys": keys}
    if until is not None:
        hint["until"] = until
    return HintSet.from_dict({"version": 1, "hints": [hint]})


def test_a_keyed_hint_persists_after_its_last_key_until_its_end(random_graph_model, clip, fresh_cache):
    """Frame 12 is far past the last key (4). With until 6 the hint is gone before frame 12's
    chain begins (window 4: the chain starts at frame 9), so nothing of it is left there."""
    params = StaticParams({"temporal_window": 4})
    source = ListSource(clip, identity="v2-persist")
    plain = ColorizeNode(model_path=random_graph_model).render(12, source, params)
    carried = ColorizeNode(model_path=random_graph_model, hints=keyed_hints()).render(12, source, params)
    ended = ColorizeNode(model_path=random_graph_model, hints=keyed_hints(until=6)).render(12, source, params)
    assert not np.array_equal(carried, plain)
    assert np.array_equal(ended, plain)


def test_a_guided_chain_carries_each_output_on_and_stays_order_independent(
    random_graph_model, clip, fresh_cache
):
    """Hints keyed on 2..4: frames after them take their colour through the chain's carried
    outputs too (decoded at every step); render order still changes nothing."""
    params = StaticParams({"temporal_window": 4})
    node = ColorizeNode(model_path=random_graph_model, hints=keyed_hints())
    forward = {t: node.render(t, ListSource(clip, identity="g"), params) for t in range(1, 13)}
    PROCESS_CACHE.clear()
    backward = {t: node.render(t, ListSource(clip, identity="g"), params) for t in range(12, 0, -1)}
    assert all(np.array_equal(forward[t], backward[t]) for t in forward)


def test_hints_are_decodes_sparse_reference_without_a_reference(
    random_graph_model, clip, fresh_cache, monkeypatch
):
    """Decode's attention looks at the frame the hints were drawn on: a hinted frame at itself,
    a later frame at the last key of the hints persisting to it; an unhinted render at nothing."""
    made, attended = {}, []  # reference outputs -> their inputs; decode's reference per call
    real_reference, real_decode = GraphModel.reference, GraphModel.decode

    def reference(self, gray, guide):
        result = real_reference(self, gray, guide)
        made[id(result)] = (gray.copy(), guide.copy())
        return result

    def decode(self, encoded, feat, guide, reference, *rest):
        attended.append(made.get(id(reference)))
        return real_decode(self, encoded, feat, guide, reference, *rest)

    monkeypatch.setattr(GraphModel, "reference", reference)
    monkeypatch.setattr(GraphModel, "decode", decode)
    params = StaticParams({"temporal_window": 4})
    source = ListSource(clip, identity="v2-hint-reference")
    ColorizeNode(model_path=random_graph_model).render(6, source, params)
    assert attended == [None]  # no_reference
    node = ColorizeNode(model_path=random_graph_model, hints=keyed_hints())
    node.render(6, source, params)  # past the last key (4): the hints persist
    persisted_from = attended[-1]
    assert persisted_from is not None and persisted_from[1][0, 2].max() == 1.0
    PROCESS_CACHE.clear()
    node.render(4, source, params)  # the last key, with its own hints
    assert all(np.array_equal(a, b) for a, b in zip(attended[-1], persisted_from))
    PROCESS_CACHE.clear()
    node.render(3, source, params)  # between the keys: hints of its own, elsewhere
    assert not np.array_equal(attended[-1][1], persisted_from[1])


def test_persistence_is_in_the_hints_format():
    assert keyed_hints(until=6).hints[0].persists_at(6) and not keyed_hints(until=6).hints[0].persists_at(7)
    assert not keyed_hints().hints[0].persists_at(4)  # on its last key it is drawn, not carried
    with pytest.raises(ValueError, match="until 3 is before its last key"):
        keyed_hints(until=3)
    assert HintSet.from_json(keyed_hints(until=9).to_json()) == keyed_hints(until=9)
    one_key = {"id": "a", "color": "#ff0000", "keys": [{"frame": 3, "x": 0.5, "y": 0.5}]}
    static = HintSet.from_dict({"version": 1, "hints": [one_key]}).hints[0]
    assert static.is_active(1) and static.is_active(9) and not static.persists_at(9)
    carried = HintSet.from_dict({"version": 1, "hints": [{**one_key, "until": 20}]}).hints[0]
    assert not carried.is_active(1) and carried.is_active(3) and not carried.is_active(4)
    assert carried.persists_at(4) and carried.persists_at(20) and not carried.persists_at(21)


def test_the_nodes_reference_slots(random_graph_model, tmp_path, fresh_cache):
    """What OpenFX hosts show as the References page: an image file and its frame."""
    from colormotion.io.sequence import write_image

    truth = colour_frames(6)
    write_image(tmp_path / "graded.png", truth[0])
    source = ListSource(gray_of(truth), identity="v2-slots")
    node = ColorizeNode(model_path=random_graph_model)
    plain = node.render(3, source, StaticParams({}))
    slot = StaticParams({"reference1_file": str(tmp_path / "graded.png"), "reference1_frame": 1})
    assert not np.array_equal(node.render(3, source, slot), plain)
    missing = StaticParams({"reference2_file": str(tmp_path / "gone.png"), "reference2_frame": 1})
    with pytest.raises(ValueError, match="reference 2: .*gone.png"):
        node.render(3, source, missing)


def test_streaming_in_order_equals_random_access_with_a_reference(random_graph_model, fresh_cache):
    """A streaming host (MLT): only the current frame is readable; in order, the frames equal
    the random-access ones, guided chains (a reference) included."""
    from colormotion.references import ReferenceFrame

    from tests.synthetic_clips import StreamingSource

    truth = colour_frames(12)
    references = [ReferenceFrame(3, truth[2], "r")]
    engine = TemporalEngine(GraphModel(random_graph_model))
    expected = renders_in_order(engine, truth, references, range(1, 13), "ra")
    PROCESS_CACHE.clear()
    stream = StreamingSource(gray_of(truth), identity=None)
    for t in range(1, 13):
        stream.current = t
        assert np.array_equal(engine.render(stream, t, SETTINGS, None, references), expected[t]), t


def test_threads_and_farm_chunks_give_the_frames_of_one_render(random_graph_model, tmp_path, fresh_cache):
    """Contract 2 keeps the product's determinism: four threads at once, and --frames chunks
    rendered by separate commands, equal one in-order render (with a reference, so guided
    chains are part of it)."""
    from concurrent.futures import ThreadPoolExecutor

    from colormotion.cli.main import main
    from colormotion.io.sequence import read_image, write_image
    from colormotion.references import ReferenceFrame

    truth = colour_frames(12)
    references = [ReferenceFrame(2, truth[1], "r")]
    engine = TemporalEngine(GraphModel(random_graph_model))
    in_order = renders_in_order(engine, truth, references, range(1, 13), "t")
    PROCESS_CACHE.clear()
    source = ListSource(gray_of(truth), identity="t")
    with ThreadPoolExecutor(4) as pool:
        threaded = dict(
            zip(
                range(12, 0, -1),
                pool.map(lambda t: engine.render(source, t, SETTINGS, None, references), range(12, 0, -1)),
            )
        )
    assert all(np.array_equal(in_order[t], threaded[t]) for t in in_order)

    (tmp_path / "in").mkdir()
    for t, frame in enumerate(gray_of(truth), start=1):
        write_image(tmp_path / "in" / f"f.{t:04d}.png", frame)
    write_image(tmp_path / "graded.png", truth[1])
    common = [
        "--model",
        str(random_graph_model),
        "--reference",
        f"2={tmp_path / 'graded.png'}",
        "--window",
        "4",
        "-q",
    ]
    pattern = str(tmp_path / "in" / "f.####.png")
    assert main(["colorize", pattern, str(tmp_path / "full" / "f.####.png"), *common]) == 0
    for chunk in ("7-12", "1-6"):
        PROCESS_CACHE.clear()  # a farm machine starts with nothing
        assert (
            main(["colorize", pattern, str(tmp_path / "chunks" / "f.####.png"), "--frames", chunk, *common])
            == 0
        )
    for t in range(1, 13):
        name = f"f.{t:04d}.png"
        assert np.array_equal(
            read_image(tmp_path / "full" / name)[0], read_image(tmp_path / "chunks" / name)[0]
        ), t
