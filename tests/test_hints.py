"""Hints: the JSON format, validation messages, interpolation, activity and rasterisation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from colormotion import colour
from colormotion.contract import AB_SCALE
from colormotion.hints import DEFAULT_RADIUS, ActiveHint, HintError, HintSet, merge, rasterise
from skimage import data

EXAMPLE = """{"version": 1,
 "hints": [
   {"id": "shirt", "color": "#c0302a", "radius": 0.01,
    "keys": [{"frame": 0, "x": 0.40, "y": 0.60},
             {"frame": 48, "x": 0.52, "y": 0.61, "color": "#d04030"}]}
 ]}"""


def _lab_hex(text: str):
    return colour.rgb_to_lab(tuple(int(text[i : i + 2], 16) / 255 for i in (1, 3, 5)))


def _with_hint(**fields) -> str:
    hint = {"id": "a", "color": "#808080", "keys": [{"frame": 0, "x": 0.5, "y": 0.5}]}
    hint.update(fields)
    hint = {k: v for k, v in hint.items() if v is not None}
    return json.dumps({"version": 1, "hints": [hint]})


def _with_key(**fields) -> str:
    key = {"frame": 0, "x": 0.5, "y": 0.5}
    key.update(fields)
    key = {k: v for k, v in key.items() if v is not None}
    return _with_hint(keys=[key])


# ---------------------------------------------------------------------------------------------
# validation: every message names the place and the problem


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"version": 1,\n "hints": [}', r"not valid JSON: .* at line 2, column 12"),
        ("", r"not valid JSON: .* line 1, column 1"),
        ('{"version": 1, "hints": [{"id": "a", "radius": NaN}]}', "NaN is not allowed"),
        ("[1, 2]", "top level must be an object"),
        ('{"version": 1, "hints": [], "extra": 3, "more": 4}', r"top level: unknown fields 'extra', 'more'"),
        ('{"hints": []}', 'missing "version"'),
        ('{"version": 2, "hints": []}', "unsupported version 2: this build reads version 1"),
        ('{"version": "1", "hints": []}', "unsupported version '1'"),
        ('{"version": true, "hints": []}', "unsupported version True"),
        ('{"version": 1}', 'missing "hints"'),
        ('{"version": 1, "hints": 5}', '"hints" must be a list, got a number'),
        ('{"version": 1, "hints": ["shirt"]}', r"hints\[0\]: a hint must be an object"),
        ('{"version": 1, "hints": [{"color": "#ffffff", "keys": []}]}', r'hints\[0\]: missing "id"'),
        ('{"version": 1, "hints": [{"id": " ", "keys": []}]}', r"hints\[0\]: id must be a non-empty string"),
        (
            '{"version": 1, "hints": [{"id": 7, "keys": []}]}',
            r"hints\[0\]: id must be a non-empty string, got 7",
        ),
    ],
)
def test_document_level_errors(text, words):
    with pytest.raises(HintError, match=words):
        HintSet.from_json(text)


@pytest.mark.parametrize(
    "fields, words",
    [
        (
            {"colour": "#ffffff"},
            r"hint 'a': unknown field 'colour' \(allowed: id, color, radius, keys, until\)",
        ),
        ({"radius": 0}, "hint 'a': radius = 0 must be > 0"),
        ({"radius": -0.1}, "hint 'a': radius = -0.1 must be > 0"),
        ({"radius": 1.5}, "hint 'a': radius = 1.5 must be > 0 and <= 1.0"),
        ({"radius": "big"}, "hint 'a': radius must be a number, got \"big\""),
        ({"radius": True}, "hint 'a': radius must be a number, got true"),
        ({"keys": None}, "hint 'a': missing \"keys\""),
        ({"keys": []}, "hint 'a': keys must be a non-empty list, got a list"),
        ({"keys": {"frame": 0}}, "hint 'a': keys must be a non-empty list, got an object"),
        ({"keys": [3]}, r"hint 'a', keys\[0\]: a key must be an object"),
        ({"color": None, "keys": [{"frame": 0, "x": 0.5, "y": 0.5}]}, "hint 'a': missing \"color\""),
        ({"color": "#12345"}, "hint 'a': color '#12345' is not \"#RRGGBB\""),
        ({"color": "red"}, "hint 'a': color 'red' is not \"#RRGGBB\""),
        ({"color": "#12345g"}, "hint 'a': color '#12345g'"),
        ({"color": [1, 0]}, r"hint 'a': color \[r, g, b\] needs 3 numbers, got 2"),
        ({"color": [1.5, 0, 0]}, "hint 'a': color r = 1.5 is outside 0..1"),
        ({"color": [0, -0.5, 0]}, "hint 'a': color g = -0.5 is outside 0..1"),
        ({"color": [0, 0, "x"]}, "hint 'a': color b must be a number in 0..1, got \"x\""),
        ({"color": 255}, "hint 'a': color must be \"#RRGGBB\" or \\[r, g, b\\] in 0..1, got a number"),
        (
            {"keys": [{"frame": 4, "x": 0.1, "y": 0.1}, {"frame": 4, "x": 0.2, "y": 0.2}]},
            r"hint 'a': two keys on frame 4 \(keys\[0\] and keys\[1\]\)",
        ),
    ],
)
def test_hint_level_errors(fields, words):
    with pytest.raises(HintError, match=words):
        HintSet.from_json(_with_hint(**fields))


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"time": 3}, r"hint 'a', keys\[0\]: unknown field 'time' \(allowed: frame, x, y, color\)"),
        ({"frame": None}, r"hint 'a', keys\[0\]: missing \"frame\""),
        ({"frame": 1.5}, r"keys\[0\]: frame must be an integer, got 1.5"),
        ({"frame": 2.0}, r"keys\[0\]: frame must be an integer, got 2.0"),
        ({"frame": "12"}, r"keys\[0\]: frame must be an integer, got \"12\""),
        ({"frame": False}, r"keys\[0\]: frame must be an integer, got false"),
        ({"x": None}, r"keys\[0\] \(frame 0\): missing \"x\""),
        ({"y": None}, r"keys\[0\] \(frame 0\): missing \"y\""),
        ({"x": 1.2}, r"keys\[0\] \(frame 0\): x = 1.2 is outside 0..1"),
        ({"y": -0.01}, r"keys\[0\] \(frame 0\): y = -0.01 is outside 0..1"),
        ({"x": "left"}, r"keys\[0\] \(frame 0\): x must be a number in 0..1, got \"left\""),
        ({"color": "#zzzzzz"}, r"hint 'a', keys\[0\] \(frame 0\): color '#zzzzzz' is not"),
    ],
)
def test_key_level_errors(fields, words):
    with pytest.raises(HintError, match=words):
        HintSet.from_json(_with_key(**fields))


def test_duplicate_ids_are_named():
    hint = {"id": "tree", "color": "#00ff00", "keys": [{"frame": 0, "x": 0.1, "y": 0.1}]}
    text = json.dumps({"version": 1, "hints": [hint, {**hint, "id": "sky"}, hint]})
    with pytest.raises(HintError, match=r"duplicate hint id 'tree' \(hints\[0\] and hints\[2\]\)"):
        HintSet.from_json(text)


def test_hint_error_is_a_value_error_and_non_text_is_refused():
    assert issubclass(HintError, ValueError)
    with pytest.raises(HintError, match="JSON text, got bytes"):
        HintSet.from_json(b"{}")


def test_from_file_reads_and_reports_unreadable_files(tmp_path):
    path = tmp_path / "hints.json"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert HintSet.from_file(path) == HintSet.from_json(EXAMPLE)
    assert HintSet.from_file(str(path)) == HintSet.from_json(EXAMPLE)
    with pytest.raises(HintError, match="cannot read hints file .*missing.json"):
        HintSet.from_file(tmp_path / "missing.json")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(HintError, match="cannot read hints file .*binary.json"):
        HintSet.from_file(tmp_path / "binary.json")


# ---------------------------------------------------------------------------------------------
# interpolation and activity


def test_position_and_lab_colour_interpolate_midway():
    hints = HintSet.from_json(EXAMPLE)
    (middle,) = hints.at(24)
    assert middle.x == pytest.approx(0.46) and middle.y == pytest.approx(0.605)
    start, end = _lab_hex("#c0302a"), _lab_hex("#d04030")
    np.testing.assert_allclose(middle.lab, [(s + e) / 2 for s, e in zip(start, end)], atol=1e-4)
    assert middle.radius == 0.01
    (quarter,) = hints.at(12)
    np.testing.assert_allclose(quarter.lab, [s + (e - s) / 4 for s, e in zip(start, end)], atol=1e-4)


def test_keys_hit_exactly_on_their_frames():
    hints = HintSet.from_json(EXAMPLE)
    (first,) = hints.at(0)
    (last,) = hints.at(48)
    assert (first.x, first.y) == (0.40, 0.60) and (last.x, last.y) == (0.52, 0.61)
    np.testing.assert_allclose(first.lab, _lab_hex("#c0302a"), atol=1e-5)
    np.testing.assert_allclose(last.lab, _lab_hex("#d04030"), atol=1e-5)


def test_a_key_colour_holds_until_the_next_key_that_names_one():
    text = json.dumps(
        {
            "version": 1,
            "hints": [
                {
                    "id": "car",
                    "color": "#0000ff",
                    "keys": [
                        {"frame": 0, "x": 0.1, "y": 0.5},
                        {"frame": 10, "x": 0.2, "y": 0.5, "color": "#ff0000"},
                        {"frame": 20, "x": 0.3, "y": 0.5},
                    ],
                }
            ],
        }
    )
    hints = HintSet.from_json(text)
    red = _lab_hex("#ff0000")
    for frame in (10, 15, 20):
        np.testing.assert_allclose(hints.at(frame)[0].lab, red, atol=1e-5)
    halfway = [(b + r) / 2 for b, r in zip(_lab_hex("#0000ff"), red)]
    np.testing.assert_allclose(hints.at(5)[0].lab, halfway, atol=1e-4)  # blue -> red, blending in L*a*b*


def test_multi_key_hints_are_active_from_first_to_last_key_inclusive():
    hints = HintSet.from_json(
        _with_hint(keys=[{"frame": 10, "x": 0.1, "y": 0.1}, {"frame": 20, "x": 0.9, "y": 0.9}])
    )
    assert [frame for frame in range(0, 31) if hints.at(frame)] == list(range(10, 21))


def test_single_key_hints_are_active_on_every_frame():
    hints = HintSet.from_json(_with_key(frame=100, x=0.25, y=0.75))
    for frame in (-5, 0, 99, 100, 101, 10**6):
        (active,) = hints.at(frame)
        assert (active.x, active.y) == (0.25, 0.75)


def test_keys_may_come_in_any_order():
    keys = [
        {"frame": 30, "x": 0.3, "y": 0.3},
        {"frame": 0, "x": 0.0, "y": 0.0},
        {"frame": 10, "x": 0.1, "y": 0.1},
    ]
    hints = HintSet.from_json(_with_hint(keys=keys))
    assert [key.frame for key in hints.hints[0].keys] == [0, 10, 30]
    assert hints.at(20)[0].x == pytest.approx(0.2)


def test_at_keeps_file_order_and_checks_the_frame():
    hint = {"color": "#ffffff", "keys": [{"frame": 0, "x": 0.5, "y": 0.5}]}
    text = json.dumps({"version": 1, "hints": [{"id": "b", **hint}, {"id": "a", **hint, "color": "#000000"}]})
    first, second = HintSet.from_json(text).at(3)
    assert first.lab[0] > 99 and second.lab[0] < 1
    assert HintSet.from_json(text).at(np.int64(3)) == [first, second]
    with pytest.raises(ValueError, match="frame must be an integer"):
        HintSet.from_json(text).at(2.5)


def test_colour_lists_are_display_srgb():
    hints = HintSet.from_json(_with_hint(color=[1.0, 0.0, 0.0]))
    np.testing.assert_allclose(hints.at(0)[0].lab, colour.rgb_to_lab((1, 0, 0)), atol=1e-5)
    np.testing.assert_allclose(hints.at(0)[0].lab, _lab_hex("#ff0000"), atol=1e-5)


def test_colour_may_be_given_on_the_first_key_only():
    hints = HintSet.from_json(
        _with_hint(color=None, keys=[{"frame": 0, "x": 0.5, "y": 0.5, "color": "#00ff00"}])
    )
    np.testing.assert_allclose(hints.at(0)[0].lab, _lab_hex("#00ff00"), atol=1e-5)


def test_default_radius():
    hints = HintSet.from_json(_with_hint())
    assert hints.at(0)[0].radius == DEFAULT_RADIUS == 0.01


# ---------------------------------------------------------------------------------------------
# writing and fingerprints


def test_round_trip_through_to_json():
    hints = HintSet.from_json(EXAMPLE)
    again = HintSet.from_json(hints.to_json())
    assert again == hints
    assert again.to_json() == hints.to_json()
    assert HintSet.from_json(HintSet.empty().to_json()) == HintSet.empty()
    mixed = HintSet.from_json(
        _with_hint(
            color=[0.25, 0.5, 1.0], radius=0.2, keys=[{"frame": -3, "x": 0, "y": 1, "color": "#ABCDEF"}]
        )
    )
    assert HintSet.from_json(mixed.to_json()) == mixed
    assert '"#abcdef"' in mixed.to_json()  # colours are written in one canonical spelling


def test_fingerprint_follows_content_not_spelling():
    hints = HintSet.from_json(EXAMPLE)
    respelled = HintSet.from_json(json.dumps(json.loads(EXAMPLE), indent=7).replace("#c0302a", "#C0302A"))
    assert respelled.fingerprint() == hints.fingerprint()
    assert len(hints.fingerprint()) == 64
    moved = HintSet.from_json(EXAMPLE.replace("0.61", "0.62"))
    assert moved.fingerprint() != hints.fingerprint()
    assert HintSet.empty().fingerprint() != hints.fingerprint()
    assert HintSet.empty().fingerprint() == HintSet.from_json('{"version": 1, "hints": []}').fingerprint()


def test_empty_and_merged_sets():
    empty = HintSet.empty()
    assert len(empty) == 0 and not empty and empty.at(0) == []
    other = HintSet.from_json(_with_hint(id="b"))
    merged = HintSet.from_json(EXAMPLE).merged(other)
    assert [hint.id for hint in merged.hints] == ["shirt", "b"]
    with pytest.raises(HintError, match="duplicate hint id 'b'"):
        merged.merged(other)


# ---------------------------------------------------------------------------------------------
# point hints from node parameters


def test_active_hint_from_rgb_understands_the_host_transfer():
    srgb = ActiveHint.from_rgb((0.2, 0.3), (0.8, 0.4, 0.1))
    linear = ActiveHint.from_rgb(
        (0.2, 0.3), tuple(colour.decode(np.array([0.8, 0.4, 0.1]), "srgb")), "linear"
    )
    assert (srgb.x, srgb.y, srgb.radius) == (0.2, 0.3, DEFAULT_RADIUS)
    np.testing.assert_allclose(srgb.lab, colour.rgb_to_lab((0.8, 0.4, 0.1)), atol=1e-5)
    np.testing.assert_allclose(linear.lab, srgb.lab, atol=1e-3)


@pytest.mark.parametrize(
    "args, words",
    [
        (((0.5, float("nan")), (1, 0, 0)), "hint position must be finite"),
        (((0.5, 0.5), (1, 0)), "needs 3 values"),
        (((0.5, 0.5, 0.5), (1, 0, 0)), "position needs 2 values"),
        (((0.5, 0.5), (1, 0, "x")), "hint colour must be a number"),
        (((0.5, 0.5), (1, 0, 0), "srgb", 0.0), "hint radius must be in"),
    ],
)
def test_active_hint_from_rgb_rejects_bad_values(args, words):
    with pytest.raises(HintError, match=words):
        ActiveHint.from_rgb(*args)


def test_merge_keeps_order():
    a = ActiveHint(0.1, 0.1, (50.0, 1.0, 1.0))
    b = ActiveHint(0.2, 0.2, (50.0, 2.0, 2.0))
    c = ActiveHint(0.3, 0.3, (50.0, 3.0, 3.0))
    assert merge([a, b], [], [c]) == [a, b, c]


# ---------------------------------------------------------------------------------------------
# rasterisation


def test_rasterised_disc_sits_at_the_hint():
    hint = ActiveHint(0.25, 0.5, (60.0, 33.0, -22.0), radius=0.05)
    raster = rasterise([hint], 64, 128)
    assert raster.shape == (3, 64, 128) and raster.dtype == np.float32
    rows, columns = np.nonzero(raster[2])
    assert rows.mean() == pytest.approx(32 - 0.5, abs=0.01) and columns.mean() == pytest.approx(
        32 - 0.5, abs=0.01
    )
    radius = 0.05 * 64
    assert len(rows) == pytest.approx(np.pi * radius**2, rel=0.15)
    assert np.hypot(rows + 0.5 - 32, columns + 0.5 - 32).max() <= radius
    np.testing.assert_allclose(raster[0][raster[2] == 1], 33.0 / AB_SCALE)
    np.testing.assert_allclose(raster[1][raster[2] == 1], -22.0 / AB_SCALE)
    assert not raster[:, raster[2] == 0].any()  # nothing outside the mask


def test_a_tiny_hint_still_marks_the_pixel_under_it():
    raster = rasterise([ActiveHint(0.51, 0.26, (50.0, 10.0, 10.0), radius=1e-6)], 32, 64)
    assert list(zip(*np.nonzero(raster[2]))) == [(8, 32)]  # y 0.26 * 32 = 8.3, x 0.51 * 64 = 32.6


def test_hints_on_the_far_edges_and_outside():
    corner = rasterise([ActiveHint(1.0, 1.0, (50.0, 10.0, 10.0), radius=1e-6)], 32, 32)
    assert list(zip(*np.nonzero(corner[2]))) == [(31, 31)]
    outside = rasterise([ActiveHint(1.5, -0.5, (50.0, 10.0, 10.0), radius=0.01)], 32, 32)
    assert not outside.any()


def test_later_hints_overwrite_earlier_ones_and_output_is_deterministic():
    under = ActiveHint(0.5, 0.5, (50.0, 40.0, 40.0), radius=0.2)
    over = ActiveHint(0.5, 0.5, (50.0, -40.0, 5.0), radius=0.05)
    raster = rasterise([under, over], 100, 100)
    assert raster[0, 50, 50] == pytest.approx(-40.0 / AB_SCALE)
    assert raster[0, 50, 65] == pytest.approx(40.0 / AB_SCALE)  # outside the small disc
    assert rasterise([under, over], 100, 100).tobytes() == raster.tobytes()
    assert rasterise([over, under], 100, 100)[0, 50, 50] == pytest.approx(40.0 / AB_SCALE)


def test_no_hints_rasterise_to_zeros_and_bad_values_are_refused():
    assert not rasterise([], 32, 32).any()
    with pytest.raises(ValueError, match="at least 1x1"):
        rasterise([], 0, 32)
    with pytest.raises(HintError, match="finite"):
        rasterise([ActiveHint(float("nan"), 0.5, (50.0, 0.0, 0.0))], 32, 32)


def test_hint_set_to_raster_end_to_end():
    hints = HintSet.from_json(EXAMPLE)
    raster = rasterise(hints.at(0), 256, 448)
    rows, columns = np.nonzero(raster[2])
    assert rows.mean() == pytest.approx(0.60 * 256 - 0.5, abs=0.6)
    assert columns.mean() == pytest.approx(0.40 * 448 - 0.5, abs=0.6)
    np.testing.assert_allclose(raster[0, rows[0], columns[0]], _lab_hex("#c0302a")[1] / AB_SCALE, rtol=1e-5)


def _reference_rasterise(active, height, width):
    """The rule spelled out one hint and one pixel at a time (what rasterise vectorises)."""
    import math

    raster = np.zeros((3, height, width), np.float32)
    short = min(height, width)
    for hint in active:
        cx, cy, r = hint.x * width, hint.y * height, hint.radius * short
        for row in range(height):
            for column in range(width):
                inside = (row + 0.5 - cy) ** 2 + (column + 0.5 - cx) ** 2 <= r * r
                centre = 0 <= cy <= height and 0 <= cx <= width
                centre = (
                    centre
                    and row == min(math.floor(cy), height - 1)
                    and column == min(math.floor(cx), width - 1)
                )
                if inside or centre:
                    raster[:, row, column] = (hint.lab[1] / 110.0, hint.lab[2] / 110.0, 1.0)
    return raster


def test_vectorised_rasterise_follows_the_rule_pixel_for_pixel():
    from colormotion.hints import ActiveHint, rasterise

    rng = np.random.default_rng(3)
    for _ in range(60):
        count, height, width = int(rng.integers(0, 25)), int(rng.integers(1, 24)), int(rng.integers(1, 24))
        active = [
            ActiveHint(
                float(rng.uniform(-0.2, 1.2)),
                float(rng.uniform(-0.2, 1.2)),
                (50.0, float(rng.uniform(-90, 90)), float(rng.uniform(-90, 90))),
                float(rng.choice([1e-4, 0.02, 0.1, 0.4, 1.0])),
            )
            for _ in range(count)
        ]
        if count:
            active[0] = ActiveHint(1.0, 1.0, (50.0, 30.0, -30.0), 0.01)  # the corner: its last pixel
        np.testing.assert_array_equal(
            rasterise(active, height, width), _reference_rasterise(active, height, width)
        )


def test_the_engine_draws_each_frames_hints_once_across_renders(monkeypatch, random_model, tmp_path):
    """Every chain step used to draw its frame's hints again (78 draws for 12 frames)."""
    from colormotion import hints as hints_module
    from colormotion.hints import HintSet
    from colormotion.node import ColorizeNode, StaticParams
    from colormotion.temporal.cache import PROCESS_CACHE

    from tests.synthetic_clips import ListSource, camera_move

    PROCESS_CACHE.clear()
    drawn = []
    real = hints_module.rasterise
    monkeypatch.setattr(hints_module, "rasterise", lambda active, h, w: drawn.append(1) or real(active, h, w))
    keys = [{"frame": f, "x": 0.3 + 0.01 * f, "y": 0.5} for f in (1, 12)]
    hints = HintSet.from_dict({"version": 1, "hints": [{"id": "a", "color": "#c03020", "keys": keys}]})
    node = ColorizeNode(model_path=random_model, hints=hints)
    source = ListSource(camera_move(data.astronaut(), 12, 64, 96), identity="hint-draws")
    for t in range(1, 13):
        node.render(t, source, StaticParams({}))
    assert len(drawn) == 12
