"""The colour pipeline: transfers, L*a*b*, working size, a*b* upsampling and recombination."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from colormotion import colour
from colormotion.colour import FrameError

DTYPES = (np.uint8, np.uint16, np.float16, np.float32)


# ---------------------------------------------------------------------------------------------
# helpers


def _reference_decode(x: np.ndarray, transfer: str) -> np.ndarray:
    """Textbook curves in float64 with an explicit select (independent of the branch-free code)."""
    x = np.asarray(x, np.float64)
    if transfer == "srgb":
        return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0.04045) + 0.055) / 1.055) ** 2.4)
    if transfer == "rec709":
        alpha, beta = 1.09929682680944, 0.018053968510807
        return np.where(
            x < 4.5 * beta, x / 4.5, ((np.maximum(x, 4.5 * beta) + alpha - 1) / alpha) ** (1 / 0.45)
        )
    return x


def _frame(values: np.ndarray, dtype) -> np.ndarray:
    """Encoded values in 0..1 (float) -> a frame of `dtype`."""
    if np.issubdtype(dtype, np.integer):
        return np.rint(np.clip(values, 0, 1) * np.iinfo(dtype).max).astype(dtype)
    return values.astype(dtype)


def _quantisation_tolerance(out: np.ndarray, transfer: str) -> np.ndarray:
    """Per pixel: how far L* can move when each colour channel is rounded by half a code."""
    if out.dtype == np.float32:
        return np.full(out.shape[:2], 2e-3, np.float32)
    base = colour.to_lightness(out, transfer)
    total = np.zeros(out.shape[:2], np.float64)
    for channel in range(3):
        nudged = out.copy()
        if np.issubdtype(out.dtype, np.integer):
            top = np.iinfo(out.dtype).max
            values = nudged[..., channel].astype(np.int64)
            nudged[..., channel] = np.where(values < top, values + 1, values - 1).astype(out.dtype)
        else:
            values = nudged[..., channel]
            nudged[..., channel] = np.nextafter(values, np.float16(np.inf)).astype(out.dtype)
        total += 0.5 * np.abs(colour.to_lightness(nudged, transfer) - base)
    return (total + 1e-3).astype(np.float32)


def _moderate_ab(rng, height, width, chroma=25.0) -> np.ndarray:
    return (rng.uniform(-1, 1, (height, width, 2)) * chroma).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize(
    "frame, words",
    [
        ([[1, 2], [3, 4]], "numpy array"),
        (np.zeros((2, 2, 3, 1), np.uint8), "4 dimensions"),
        (np.zeros(5, np.uint8), "1 dimensions"),
        (np.zeros((2, 2, 2), np.uint8), "got 2"),
        (np.zeros((2, 2, 5), np.float32), "got 5"),
        (np.zeros((0, 4, 3), np.uint8), "at least one pixel"),
        (np.zeros((4, 0), np.uint8), "at least one pixel"),
        (np.zeros((2, 2, 3), np.int32), "int32"),
        (np.zeros((2, 2, 3), bool), "bool"),
    ],
)
def test_check_frame_rejects_bad_frames_with_a_precise_message(frame, words):
    with pytest.raises(FrameError, match=words):
        colour.check_frame(frame)
    with pytest.raises(FrameError):
        colour.to_lab(frame, "srgb")


def test_frame_error_is_a_value_error_and_good_frames_pass():
    assert issubclass(FrameError, ValueError)
    for dtype in (*DTYPES, np.float64):
        for shape in ((3, 4), (3, 4, 1), (3, 4, 3), (3, 4, 4)):
            colour.check_frame(np.zeros(shape, dtype))


def test_unknown_transfer_is_refused():
    with pytest.raises(ValueError, match="unknown transfer 'gamma22'"):
        colour.to_lab(np.zeros((2, 2, 3), np.uint8), "gamma22")


# ---------------------------------------------------------------------------------------------
# transfers and L*a*b*


@pytest.mark.parametrize("transfer", colour.TRANSFERS)
def test_transfer_curves_match_the_textbook_formulas_and_invert(transfer):
    encoded = np.linspace(-0.1, 2.0, 4001, dtype=np.float32)
    linear = colour.decode(encoded, transfer)
    reference = _reference_decode(encoded, transfer)
    np.testing.assert_allclose(linear, reference, rtol=3e-6, atol=1e-7)
    np.testing.assert_allclose(colour.encode(linear, transfer), encoded, rtol=1e-5, atol=2e-6)


def test_lab_of_known_colours():
    white, black, mid_gray = (
        colour.rgb_to_lab((1, 1, 1)),
        colour.rgb_to_lab((0, 0, 0)),
        colour.rgb_to_lab((0.5,) * 3),
    )
    np.testing.assert_allclose(white, (100, 0, 0), atol=1e-3)
    np.testing.assert_allclose(black, (0, 0, 0), atol=1e-4)
    np.testing.assert_allclose(mid_gray, (53.389, 0, 0), atol=2e-3)  # L* of sRGB 0.5
    red = colour.rgb_to_lab((1, 0, 0))
    np.testing.assert_allclose(red, (53.24, 80.09, 67.20), atol=0.05)  # the usual sRGB red


def test_to_lab_agrees_with_scikit_image():
    skimage_color = pytest.importorskip("skimage.color")
    rng = np.random.default_rng(1)
    image = rng.random((13, 17, 3)).astype(np.float32)
    expected = skimage_color.rgb2lab(image.astype(np.float64))  # D65 tabulated white: tiny offsets
    np.testing.assert_allclose(colour.to_lab(image, "srgb"), expected, atol=0.03)


@pytest.mark.parametrize("dtype", (*DTYPES, np.float64))
@pytest.mark.parametrize("transfer", colour.TRANSFERS)
def test_to_lightness_is_the_l_of_to_lab_and_integers_normalise_by_dtype_max(dtype, transfer):
    rng = np.random.default_rng(2)
    values = rng.random((5, 7, 3))
    image = _frame(values, dtype)
    lab = colour.to_lab(image, transfer)
    assert lab.dtype == np.float32 and lab.shape == (5, 7, 3)
    np.testing.assert_allclose(colour.to_lightness(image, transfer), lab[..., 0], atol=2e-4)
    as_float = image.astype(np.float64) / (np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else 1)
    np.testing.assert_allclose(lab, colour.to_lab(as_float.astype(np.float32), transfer), atol=2e-3)


def test_gray_layouts_have_zero_chroma_and_match_rgb():
    rng = np.random.default_rng(3)
    gray = rng.random((6, 9)).astype(np.float32)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    for layout in (gray, gray[..., None]):
        lab = colour.to_lab(layout, "srgb")
        np.testing.assert_array_equal(lab[..., 1:], 0)
        np.testing.assert_allclose(lab[..., 0], colour.to_lab(rgb, "srgb")[..., 0], atol=2e-4)
    np.testing.assert_allclose(colour.to_lab(rgb, "srgb")[..., 1:], 0, atol=2e-3)


def test_scene_linear_values_above_one_give_lightness_above_100():
    image = np.full((2, 2, 3), 2.0, np.float32)
    lightness = colour.to_lightness(image, "linear")
    np.testing.assert_allclose(lightness, 116 * 2 ** (1 / 3) - 16, rtol=1e-5)
    # ... and the model sees them clipped
    np.testing.assert_array_equal(colour.model_gray(lightness, (32, 32)), 1.0)


def test_nan_and_inf_are_sanitised_before_the_model():
    image = np.full((4, 4, 3), 0.5, np.float32)
    image[0, 0] = np.nan
    image[1, 1] = np.inf
    image[2, 2] = -np.inf
    for transfer, bright in (("srgb", 100.0), ("linear", 116 * 65504 ** (1 / 3) - 16)):
        lab = colour.to_lab(image, transfer)
        assert np.isfinite(lab).all()
        assert lab[0, 0, 0] == pytest.approx(0.0, abs=1e-4)
        assert lab[2, 2, 0] == pytest.approx(0.0, abs=1e-4)
        assert lab[1, 1, 0] == pytest.approx(bright, rel=1e-4)
        gray = colour.model_gray(lab, (32, 32))
        assert np.isfinite(gray).all() and gray.min() >= 0 and gray.max() <= 1
        out = colour.recombine(image, np.full((32, 32, 2), 10.0, np.float32), transfer)
        assert np.isfinite(out).all()
    half = image.astype(np.float16)
    assert np.isfinite(colour.to_lab(half, "rec709")).all()


# ---------------------------------------------------------------------------------------------
# working size and the model's gray


@pytest.mark.parametrize(
    "height, width, expected",
    [
        (1080, 1920, (256, 448)),
        (1920, 1080, (448, 256)),
        (4320, 7680, (256, 448)),
        (480, 640, (256, 352)),
        (256, 256, (256, 256)),
        (1, 1, (256, 256)),
        (3, 5, (256, 416)),
        (1, 100_000, (256, 256 * colour.MAX_WORKING_ASPECT)),
    ],
)
def test_working_size(height, width, expected):
    size = colour.working_size(height, width)
    assert size == expected
    assert all(side % 32 == 0 and side >= 32 for side in size)


def test_working_size_other_short_sides():
    assert colour.working_size(1080, 1920, short_side=384) == (384, 672)
    assert colour.working_size(10, 10, short_side=32) == (32, 32)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"short_side": 100}, "positive multiple of 32, got 100"),
        ({"short_side": 0}, "positive multiple of 32, got 0"),
        ({"short_side": 16}, "positive multiple of 32, got 16"),
        ({"short_side": 256.0}, "short_side must be an integer"),
    ],
)
def test_working_size_validates_short_side(kwargs, words):
    with pytest.raises(ValueError, match=words):
        colour.working_size(1080, 1920, **kwargs)


def test_working_size_validates_frame_size():
    with pytest.raises(ValueError, match="at least 1x1"):
        colour.working_size(0, 10)


def test_model_gray_shape_range_and_tiny_frames():
    rng = np.random.default_rng(4)
    lab = colour.to_lab(rng.random((90, 160, 3)).astype(np.float32), "srgb")
    gray = colour.model_gray(lab, (64, 96))
    assert gray.shape == (64, 96) and gray.dtype == np.float32 and gray.flags.c_contiguous
    assert 0 <= gray.min() and gray.max() <= 1
    assert gray.mean() == pytest.approx(lab[..., 0].mean() / 100, abs=2e-3)
    one = colour.model_gray(colour.to_lab(np.full((1, 1, 3), 128, np.uint8), "srgb"), (256, 256))
    np.testing.assert_allclose(one, colour.rgb_to_lab((128 / 255,) * 3)[0] / 100, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# upsampling a*b*


def test_upsample_ab_keeps_constant_colour_and_shape():
    lightness = np.random.default_rng(5).uniform(0, 100, (100, 150)).astype(np.float32)
    ab = np.empty((32, 64, 2), np.float32)
    ab[..., 0], ab[..., 1] = 12.5, -30.0
    full = colour.upsample_ab(ab, lightness)
    assert full.shape == (100, 150, 2) and full.dtype == np.float32
    np.testing.assert_allclose(full[..., 0], 12.5, atol=1e-3)
    np.testing.assert_allclose(full[..., 1], -30.0, atol=1e-3)


def test_upsample_ab_follows_lightness_edges_better_than_bilinear():
    """A dark object on a bright ground: colour must stop at the full-resolution edge."""
    height, width, small = 256, 256, 32
    lightness = np.full((height, width), 80.0, np.float32)
    lightness[:, 101:] = 30.0  # edge not on the small grid (101 / 8 = 12.6)
    truth = np.zeros((height, width, 2), np.float32)
    truth[:, 101:, 0] = 40.0
    truth_small = colour._resize(truth, small, small)  # what a model sees at 1/8 scale
    bilinear = cv2.resize(truth_small, (width, height), interpolation=cv2.INTER_LINEAR)
    guided = colour.upsample_ab(truth_small, lightness)
    band = slice(90, 112)  # the columns around the edge
    bilinear_error = np.abs(bilinear[:, band, 0] - truth[:, band, 0]).mean()
    guided_error = np.abs(guided[:, band, 0] - truth[:, band, 0]).mean()
    assert guided_error < 0.5 * bilinear_error
    gray_small = colour.model_gray(lightness, (small, small))
    np.testing.assert_allclose(colour.upsample_ab(truth_small, lightness, gray_small), guided, atol=0.5)


def test_upsample_ab_to_a_smaller_frame_resizes():
    ab = np.full((32, 32, 2), 7.0, np.float32)
    out = colour.upsample_ab(ab, np.zeros((1, 1), np.float32))
    assert out.shape == (1, 1, 2)
    np.testing.assert_allclose(out, 7.0)


@pytest.mark.parametrize(
    "ab", [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.float32), np.zeros((4, 4, 2), np.int16)]
)
def test_upsample_ab_rejects_bad_ab(ab):
    with pytest.raises(FrameError, match="a\\*b\\*"):
        colour.upsample_ab(ab, np.zeros((8, 8), np.float32))


def test_gray_small_of_the_wrong_size_is_refused():
    with pytest.raises(FrameError, match="gray_small"):
        colour.upsample_ab(np.zeros((4, 4, 2), np.float32), np.zeros((8, 8), np.float32), np.zeros((3, 4)))


# ---------------------------------------------------------------------------------------------
# recombine: the output frame


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("transfer", colour.TRANSFERS)
def test_recombine_keeps_lightness_within_quantisation(dtype, transfer):
    """The property that defines the method: output L* = input L*, for gray and colour input."""
    rng = np.random.default_rng(6)
    height, width = 41, 67
    gray = _frame(rng.random((height, width)), dtype)
    coloured = _frame(rng.random((height, width, 3)), dtype)
    for image in (np.repeat(gray[..., None], 3, axis=2), coloured):
        for ab in (_moderate_ab(rng, 32, 64), _moderate_ab(rng, height, width)):
            out = colour.recombine(image, ab, transfer)
            assert out.shape == image.shape and out.dtype == image.dtype
            error = np.abs(colour.to_lightness(out, transfer) - colour.to_lightness(image, transfer))
            assert (error <= _quantisation_tolerance(out, transfer)).all(), error.max()


def test_recombine_applies_the_predicted_chroma():
    """In gamut, the output's a*b* are the prediction (times strength)."""
    image = np.full((8, 8, 3), 0.45, np.float32)
    ab = np.zeros((8, 8, 2), np.float32)
    ab[..., 0], ab[..., 1] = 20.0, -15.0
    for strength in (1.0, 0.5):
        lab = colour.to_lab(colour.recombine(image, ab, "srgb", strength=strength), "srgb")
        np.testing.assert_allclose(lab[..., 1], 20.0 * strength, atol=1e-3)
        np.testing.assert_allclose(lab[..., 2], -15.0 * strength, atol=1e-3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("transfer", colour.TRANSFERS)
def test_strength_zero_gives_the_gray_input_back(dtype, transfer):
    rng = np.random.default_rng(7)
    gray = np.repeat(_frame(rng.random((9, 11)), dtype)[..., None], 3, axis=2)
    out = colour.recombine(gray, _moderate_ab(rng, 32, 32, chroma=60), transfer, strength=0.0)
    if np.issubdtype(dtype, np.integer):
        assert np.abs(out.astype(np.int64) - gray.astype(np.int64)).max() <= 1
    else:
        np.testing.assert_allclose(out.astype(np.float32), gray.astype(np.float32), rtol=2e-3, atol=1e-6)


def test_strength_zero_on_a_colour_frame_gives_its_gray():
    rng = np.random.default_rng(8)
    image = rng.random((5, 6, 3)).astype(np.float32)
    out = colour.recombine(image, _moderate_ab(rng, 5, 6), "srgb", strength=0.0)
    np.testing.assert_allclose(out[..., 0], out[..., 1], atol=1e-5)
    np.testing.assert_allclose(out[..., 1], out[..., 2], atol=1e-5)
    np.testing.assert_allclose(
        colour.to_lightness(out, "srgb"), colour.to_lightness(image, "srgb"), atol=1e-3
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_alpha_is_passed_through_bit_for_bit(dtype):
    rng = np.random.default_rng(9)
    image = _frame(rng.random((7, 10, 4)), dtype)
    if not np.issubdtype(dtype, np.integer):
        image[0, 0, 3] = np.nan  # even odd alpha values survive untouched
        image[0, 1, 3] = -0.25
        image[0, 2, 3] = 3.0
    out = colour.recombine(image, _moderate_ab(rng, 32, 32), "srgb")
    assert out.shape == image.shape
    assert out[..., 3].tobytes() == image[..., 3].tobytes()


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 1, 3), (3, 5, 3), (3, 5, 4), (17, 31, 3), (31, 17, 1), (1, 9, 3)]
)
def test_recombine_odd_and_tiny_sizes(shape):
    rng = np.random.default_rng(10)
    image = _frame(rng.random(shape), np.uint8)
    height, width = shape[:2]
    size = colour.working_size(height, width)
    lightness = colour.to_lightness(image, "srgb")
    gray = colour.model_gray(lightness, size)
    assert gray.shape == size
    out = colour.recombine(image, _moderate_ab(rng, *size), "srgb", lab=lightness, gray_small=gray)
    expected_channels = 4 if len(shape) == 3 and shape[2] == 4 else 3
    assert out.shape == (height, width, expected_channels) and out.dtype == np.uint8


def test_out_of_gamut_colour_is_desaturated_not_clipped():
    """A deep red asked of a dark gray: hue kept, lightness kept, values in range."""
    image = np.full((4, 4, 3), 40, np.uint8)
    ab = np.zeros((4, 4, 2), np.float32)
    ab[..., 0], ab[..., 1] = 90.0, 70.0
    out = colour.recombine(image, ab, "srgb")
    red, green, blue = (out[0, 0, c].astype(int) for c in range(3))
    assert red > green and red > blue  # still red
    assert min(red, green, blue) == 0  # on the gamut boundary, chroma as high as it can be
    tolerance = _quantisation_tolerance(out, "srgb")
    assert (np.abs(colour.to_lightness(out, "srgb") - colour.to_lightness(image, "srgb")) <= tolerance).all()


def test_scene_linear_float_output_may_exceed_one_but_not_go_negative():
    image = np.full((4, 4, 3), 3.0, np.float32)
    ab = np.full((4, 4, 2), 60.0, np.float32)
    out = colour.recombine(image, ab, "linear")
    assert out.max() > 3.0 and out.min() >= 0
    np.testing.assert_allclose(
        colour.to_lightness(out, "linear"), colour.to_lightness(image, "linear"), rtol=1e-5
    )
    dark = colour.recombine(np.full((2, 2, 3), 0.001, np.float32), ab[:2, :2], "linear")
    assert dark.min() >= 0


def test_display_referred_superwhites_keep_their_lightness():
    image = np.full((3, 3, 3), 1.4, np.float32)
    out = colour.recombine(image, np.full((3, 3, 2), 30.0, np.float32), "srgb")
    np.testing.assert_allclose(
        colour.to_lightness(out, "srgb"), colour.to_lightness(image, "srgb"), rtol=1e-5
    )


def test_gray_frames_gain_colour_channels():
    gray = np.full((6, 8), 30000, np.uint16)
    out = colour.recombine(gray, np.full((32, 32, 2), 20.0, np.float32), "rec709")
    assert out.shape == (6, 8, 3) and out.dtype == np.uint16
    assert out[..., 0].mean() > out[..., 2].mean()  # a* > 0, b* > 0: warm


def test_broken_predictions_do_not_poison_the_frame():
    ab = np.full((32, 32, 2), np.nan, np.float32)
    ab[0, 0, 0] = np.inf
    image = np.full((5, 5, 3), 100, np.uint8)
    out = colour.recombine(image, ab, "srgb")
    np.testing.assert_array_equal(out, image)


def test_recombine_is_deterministic_and_leaves_its_inputs_alone():
    rng = np.random.default_rng(11)
    image = _frame(rng.random((50, 70, 4)), np.uint16)
    ab = _moderate_ab(rng, 32, 32, chroma=80)
    image_before, ab_before = image.copy(), ab.copy()
    first = colour.recombine(image, ab, "srgb")
    second = colour.recombine(image, ab, "srgb")
    assert first.tobytes() == second.tobytes()
    np.testing.assert_array_equal(image, image_before)
    np.testing.assert_array_equal(ab, ab_before)


def test_recombine_reuses_its_strip_buffers_without_mixing_frames():
    """Each thread keeps its strip buffers between frames: a frame after a wider, a narrower and
    a taller one, and the same frames on several threads at once, come out as they do alone."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(13)
    shapes = ((256, 256, 3), (64, 1000, 3), (300, 40, 3), (256, 256, 3), (1100, 90, 3))
    frames = [_frame(rng.random(shape), np.uint8) for shape in shapes]
    predictions = [_moderate_ab(rng, 64, 64, chroma=60) for _ in shapes]
    alone = [colour.recombine(f, ab, "srgb").tobytes() for f, ab in zip(frames, predictions)]
    after_others = [colour.recombine(f, ab, "srgb").tobytes() for f, ab in zip(frames, predictions)][::-1]
    with ThreadPoolExecutor(4) as pool:  # OpenCV lets go of the GIL: threads overlap in earnest
        order = [i % len(shapes) for i in range(40)]
        threaded = list(
            pool.map(lambda i: colour.recombine(frames[i], predictions[i], "srgb").tobytes(), order)
        )
    assert after_others[::-1] == alone
    assert threaded == [alone[i] for i in order]


@pytest.mark.parametrize("curve", [colour._ENCODE["srgb"], colour._DECODE["rec709"], colour._LAB_F_INVERSE])
def test_a_curve_in_place_writes_over_its_input_and_otherwise_leaves_it(curve):
    values = np.linspace(-0.2, 1.5, 999, dtype=np.float32).reshape(27, 37)  # both sides of the knee
    before = values.copy()
    result = curve(values)
    np.testing.assert_array_equal(values, before)
    assert result is not values
    in_place = curve(values, in_place=True)
    assert in_place is values
    np.testing.assert_array_equal(in_place, result)
    with pytest.raises(ValueError, match="contiguous float32"):
        curve(before[:, ::2], in_place=True)
    with pytest.raises(ValueError, match="contiguous float32"):
        curve(before.astype(np.float64), in_place=True)


def test_recombine_argument_errors():
    image = np.zeros((4, 4, 3), np.uint8)
    ab = np.zeros((32, 32, 2), np.float32)
    with pytest.raises(ValueError, match="strength"):
        colour.recombine(image, ab, "srgb", strength=-1)
    with pytest.raises(ValueError, match="strength"):
        colour.recombine(image, ab, "srgb", strength=float("nan"))
    with pytest.raises(FrameError, match="lab is 5x4 but the frame is 4x4"):
        colour.recombine(image, ab, "srgb", lab=np.zeros((4, 5), np.float32))
    with pytest.raises(FrameError, match="unsupported frame dtype"):
        colour.recombine(image.astype(np.int8), ab, "srgb")


def test_a_4k_frame_goes_through():
    image = np.zeros((2160, 3840, 4), np.uint8)
    image[..., :3] = np.linspace(0, 255, 3840, dtype=np.uint8)[None, :, None]
    image[..., 3] = 200
    size = colour.working_size(2160, 3840)
    lightness = colour.to_lightness(image, "srgb")
    gray = colour.model_gray(lightness, size)
    ab = np.zeros((*size, 2), np.float32)
    ab[..., 1] = 25.0
    out = colour.recombine(image, ab, "srgb", lab=lightness, gray_small=gray)
    assert out.shape == image.shape
    assert (out[..., 3] == 200).all()
    assert out[1000, 3000, 0] > out[1000, 3000, 2]  # b* > 0: yellowish


def test_strips_on_a_thread_pool_give_the_same_bits(monkeypatch):
    rng = np.random.default_rng(12)
    image = _frame(rng.random((300, 500, 3)), np.uint8)
    ab = _moderate_ab(rng, 256, 416, chroma=70)

    def run():
        lab = colour.to_lab(image, "srgb")
        return colour.recombine(image, ab, "srgb"), lab, colour.upsample_ab(ab, lab)

    serial = run()
    monkeypatch.setattr(colour, "STRIP_WORKERS", 2)
    parallel = run()
    for one, other in zip(serial, parallel):
        assert one.tobytes() == other.tobytes()


def test_float64_frames_come_back_as_float64():
    rng = np.random.default_rng(13)
    image = rng.random((6, 7, 4))
    out = colour.recombine(image, _moderate_ab(rng, 6, 7), "rec709")
    assert out.dtype == np.float64 and out.shape == image.shape
    np.testing.assert_array_equal(out[..., 3], image[..., 3])
    np.testing.assert_allclose(
        colour.to_lightness(out, "rec709"), colour.to_lightness(image, "rec709"), atol=2e-3
    )


@pytest.mark.parametrize("transfer", colour.TRANSFERS)
def test_to_lab_lightness_is_exactly_to_lightness(transfer):
    """Training and evaluation use to_lab, the engine to_lightness: they must agree bit for bit."""
    rng = np.random.default_rng(7)
    image = rng.random((37, 53, 3), dtype=np.float32)
    np.testing.assert_array_equal(
        colour.to_lab(image, transfer)[..., 0], colour.to_lightness(image, transfer)
    )
