"""The colour pipeline: host frames <-> CIE L*a*b*, the model's gray input, and the output frame.

The network sees L* only and predicts a*b* at working resolution; the output frame keeps the
input's L* exactly. Everything here is a pure function of numpy arrays.

Frames are [H, W, C] with C in {3, 4} (RGB, RGBA; [H, W] and C = 1 are gray), dtype uint8,
uint16, float16, float32 or float64. Integers are normalised by their dtype's maximum. Three
transfers are understood, all with BT.709/sRGB primaries and a D65 white:

* ``"srgb"``: the IEC 61966-2-1 curve;
* ``"rec709"``: the BT.709 OETF (decoded with its exact inverse);
* ``"linear"``: scene-linear light, values may exceed 1 (L* then exceeds 100).

Both curves are extended beyond [0, 1] (the linear toe below 0, the power law above 1) so that
float frames with out-of-range values survive the round trip. Work is done in horizontal strips
of about 64k pixels, so the temporaries stay in cache (the arithmetic is memory bound).

One frame through the engine::

    lightness = to_lightness(frame, transfer)                  # L* [H, W]
    size = working_size(*frame.shape[:2], short_side)           # (h, w), multiples of 32
    gray = model_gray(lightness, size)                          # L*/100 [h, w]: the model input
    ab = ...                                                    # model output * AB_SCALE, [h, w, 2]
    out = recombine(frame, ab, transfer, strength, lab=lightness, gray_small=gray)
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import cv2
import numpy as np

from .contract import L_SCALE, SIZE_MULTIPLE

TRANSFERS = ("srgb", "rec709", "linear")

SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float16, np.float32, np.float64)

# +Inf in a scene-linear frame becomes the largest half float (a common "very bright" value);
# in a display-referred frame it becomes white. -Inf and NaN become 0.
POSINF_LINEAR = 65504.0
POSINF_DISPLAY = 1.0

_STRIP_PIXELS = 1 << 16
# Working frames stay within this aspect ratio: a 1x8000 strip must not become a 256x2M input.
MAX_WORKING_ASPECT = 16


class FrameError(ValueError):
    """A frame the colour pipeline cannot take (shape, channels, dtype, size)."""


# ---------------------------------------------------------------------------------------------
# Colorimetry constants (derived once from the chromaticities, in float64)


def _rgb_to_xyz_matrix() -> np.ndarray:
    """BT.709 primaries with a D65 white -> XYZ (Y of white = 1)."""
    primaries = np.array([[0.640, 0.330], [0.300, 0.600], [0.150, 0.060]])
    white = np.array([0.3127, 0.3290])

    def xyz(xy):
        return np.array([xy[0] / xy[1], 1.0, (1.0 - xy[0] - xy[1]) / xy[1]])

    columns = np.stack([xyz(p) for p in primaries], axis=1)
    scale = np.linalg.solve(columns, xyz(white))
    return columns * scale


_RGB_TO_XYZ = _rgb_to_xyz_matrix()
# The reference white is the matrix's own white, so R = G = B maps to a* = b* = 0 exactly.
_WHITE = _RGB_TO_XYZ.sum(axis=1)
_RGB_TO_XYZN = _RGB_TO_XYZ / _WHITE[:, None]  # XYZ / white
_XYZN_TO_RGB = np.linalg.inv(_RGB_TO_XYZN)
LUMINANCE_WEIGHTS = tuple(_RGB_TO_XYZN[1])  # Y of linear RGB; sums to 1

# f(t) = t^(1/3) above (6/29)^3, else t / (3 (6/29)^2) + 4/29
_DELTA = 6.0 / 29.0
_F_KNEE = _DELTA**3
_F_SLOPE = 1.0 / (3.0 * _DELTA**2)
_F_OFFSET = 4.0 / 29.0

# [f(X/Xn), f(Y/Yn), f(Z/Zn)] -> [L*, a*, b*] (a 3x4 affine matrix for cv2.transform)
_F_TO_LAB = np.array([[0.0, 116.0, 0.0, -16.0], [500.0, -500.0, 0.0, 0.0], [0.0, 200.0, -200.0, 0.0]])


def _lab_to_f_matrix(strength: float) -> np.ndarray:
    """[L*, a*, b*] -> [fx, fy, fz], with a*b* scaled by `strength`."""
    return np.array(
        [
            [1.0 / 116.0, strength / 500.0, 0.0, 16.0 / 116.0],
            [1.0 / 116.0, 0.0, 0.0, 16.0 / 116.0],
            [1.0 / 116.0, 0.0, -strength / 200.0, 16.0 / 116.0],
        ]
    )


# ---------------------------------------------------------------------------------------------
# Transfer curves (float32 arrays in, new float32 arrays out)


def _flat(array: np.ndarray) -> np.ndarray:
    """A 2-D single-channel view, so OpenCV applies scalars to every value (not channel 0 only)."""
    return array.reshape(array.shape[0] if array.ndim > 1 else 1, -1)


class _Curve:
    """A continuous piecewise curve: `slope * x + intercept` up to `knee`, `(scale * x + offset) ** power` above.

    Evaluated branch-free as line(min(x, knee)) + power(max(x, knee)) - power(knee): the
    pieces meet at the knee, so each side is exact and no per-pixel select is needed. The line
    continues below 0 and the power law above 1, so out-of-range float values round-trip.
    OpenCV's element-wise ops are used because they are several times faster than numpy's on
    these cache-sized strips; x ** p is exp(p log x) (OpenCV's pow is no more accurate).
    """

    def __init__(
        self, slope: float, intercept: float, knee: float, scale: float, offset: float, power: float
    ):
        self.slope, self.intercept, self.knee = slope, intercept, knee
        self.scale, self.offset, self.power = scale, offset, power
        self.line_at_knee = slope * knee + intercept
        self.power_at_knee = (scale * knee + offset) ** power

    def __call__(self, x: np.ndarray, in_place: bool = False) -> np.ndarray:
        """The curve of `x` (float32), a new array; with `in_place`, written over `x` (a contiguous
        float32 array the caller owns: no temporaries, so no fresh pages to fault in)."""
        if in_place:
            if x.dtype != np.float32 or not x.flags.c_contiguous:
                raise ValueError("in_place needs a contiguous float32 array")
        else:
            x = np.array(x, dtype=np.float32, order="C")  # a copy, then worked on in place
        flat = _flat(x)
        low, high = cv2.minMaxLoc(flat)[:2]
        if high <= self.knee:  # all on the line (e.g. a black strip)
            cv2.addWeighted(flat, self.slope, flat, 0.0, self.intercept, dst=flat)
            return x
        # line(min(x, knee)) + power(max(x, knee)) - power(knee): the line's part kept aside
        clipped = None if low >= self.knee else cv2.threshold(flat, self.knee, 0.0, cv2.THRESH_TRUNC)[1]
        if clipped is not None:
            cv2.max(flat, self.knee, dst=flat)
        if float(self.power).is_integer():
            if self.scale != 1.0 or self.offset:
                cv2.addWeighted(flat, self.scale, flat, 0.0, self.offset, dst=flat)
            cv2.pow(flat, self.power, dst=flat)
        else:
            if self.offset:
                cv2.addWeighted(flat, self.scale, flat, 0.0, self.offset, dst=flat)
                log_shift = 0.0
            else:  # log(scale x) = log x + log scale: one op fewer
                log_shift = self.power * math.log(self.scale)
            cv2.log(flat, dst=flat)
            cv2.addWeighted(flat, self.power, flat, 0.0, log_shift, dst=flat)
            cv2.exp(flat, dst=flat)
        shift = self.line_at_knee - self.power_at_knee
        if clipped is None:  # every value above the knee (the usual case): the power law alone
            if shift:
                cv2.add(flat, shift, dst=flat)
            return x
        # the line folded into one op
        cv2.addWeighted(flat, 1.0, clipped, self.slope, self.intercept - self.power_at_knee, dst=flat)
        return x


# BT.709 with the unrounded constants (as BT.2020 states them): the rounded 1.099/0.018 leave a
# 2.5e-4 step at the knee, these make the curve continuous.
_BT709_ALPHA = 1.09929682680944
_BT709_BETA = 0.018053968510807

_DECODE = {
    "srgb": _Curve(1 / 12.92, 0.0, 0.04045, 1 / 1.055, 0.055 / 1.055, 2.4),
    "rec709": _Curve(
        1 / 4.5, 0.0, 4.5 * _BT709_BETA, 1 / _BT709_ALPHA, (_BT709_ALPHA - 1) / _BT709_ALPHA, 1 / 0.45
    ),
}
# a * y^p - (a - 1) == (a^(1/p) * y)^p + const; the constant follows from continuity at the knee.
_ENCODE = {
    "srgb": _Curve(12.92, 0.0, 0.0031308, 1.055**2.4, 0.0, 1 / 2.4),
    "rec709": _Curve(4.5, 0.0, _BT709_BETA, _BT709_ALPHA ** (1 / 0.45), 0.0, 0.45),
}
_LAB_F = _Curve(_F_SLOPE, _F_OFFSET, _F_KNEE, 1.0, 0.0, 1.0 / 3.0)
_LAB_F_INVERSE = _Curve(1.0 / _F_SLOPE, -_F_OFFSET / _F_SLOPE, _DELTA, 1.0, 0.0, 3.0)


def decode(values: np.ndarray, transfer: str) -> np.ndarray:
    """Encoded float values -> linear light (float32, new array). Identity for "linear"."""
    _check_transfer(transfer)
    values = np.asarray(values, dtype=np.float32)
    if transfer == "linear":
        return values.copy()
    return _DECODE[transfer](values)


def encode(values: np.ndarray, transfer: str) -> np.ndarray:
    """Linear light -> encoded float values (float32, new array). Identity for "linear"."""
    _check_transfer(transfer)
    values = np.asarray(values, dtype=np.float32)
    if transfer == "linear":
        return values.copy()
    return _ENCODE[transfer](values)


# ---------------------------------------------------------------------------------------------
# Validation


def _check_transfer(transfer: str) -> None:
    if transfer not in TRANSFERS:
        raise ValueError(f"unknown transfer {transfer!r}: expected one of {', '.join(TRANSFERS)}")


def check_frame(image: np.ndarray) -> None:
    """Raise FrameError unless `image` is a frame this module accepts."""
    if not isinstance(image, np.ndarray):
        raise FrameError(f"a frame must be a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3):
        raise FrameError(f"a frame must be [H, W] or [H, W, C], got {image.ndim} dimensions {image.shape}")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise FrameError(
            f"a frame must have 1 (gray), 3 (RGB) or 4 (RGBA) channels, got {image.shape[2]} {image.shape}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise FrameError(f"a frame must have at least one pixel, got {image.shape[1]}x{image.shape[0]}")
    if image.dtype.type not in SUPPORTED_DTYPES:
        names = ", ".join(np.dtype(t).name for t in SUPPORTED_DTYPES)
        raise FrameError(f"unsupported frame dtype {image.dtype}: expected one of {names}")


def _colour_channels(image: np.ndarray) -> int:
    """1 for gray frames, else 3 (alpha is not colour)."""
    return 1 if image.ndim == 2 or image.shape[2] == 1 else 3


def _strip_rows(width: int) -> int:
    """Rows of a full strip: about _STRIP_PIXELS pixels."""
    return max(1, _STRIP_PIXELS // width)


def _strips(height: int, width: int):
    """Row slices of about _STRIP_PIXELS pixels each."""
    rows = _strip_rows(width)
    for top in range(0, height, rows):
        yield slice(top, min(height, top + rows))


# Strips are independent, so they can run on a small process-wide pool (OpenCV and numpy
# release the GIL); the result is the same bit for bit whatever the count. Off by default:
# alone on an idle 2-core machine two workers cut 1080p L* + recombine from 114 to 71 ms, but
# `colormotion bench` at 1080p fell from 6.1 to 5.3 fps, competing with the model's and the
# encoder's threads (hosts also render several frames at once). COLORMOTION_COLOUR_THREADS=N
# turns it on.
STRIP_WORKERS = max(1, int(os.environ.get("COLORMOTION_COLOUR_THREADS", "1")))
_POOL: ThreadPoolExecutor | None = None
_POOL_PID = -1
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or _POOL_PID != os.getpid():  # a forked child needs its own threads
            _POOL = ThreadPoolExecutor(STRIP_WORKERS, thread_name_prefix="colormotion-colour")
            _POOL_PID = os.getpid()
        return _POOL


def _for_each_strip(height: int, width: int, work) -> None:
    """Call work(rows) for every strip, in parallel when that helps."""
    strips = list(_strips(height, width))
    if STRIP_WORKERS == 1 or len(strips) < 4:
        for rows in strips:
            work(rows)
        return
    for _ in _pool().map(work, strips):  # re-raises a strip's exception here
        pass


# ---------------------------------------------------------------------------------------------
# Frame -> linear light -> L*a*b*


@cache
def _integer_decode_table(dtype_name: str, transfer: str) -> np.ndarray:
    """Linear value of every code of an integer dtype (computed once per dtype and transfer)."""
    codes = np.arange(np.iinfo(dtype_name).max + 1, dtype=np.float64) / np.iinfo(dtype_name).max
    table = decode(codes.astype(np.float32), transfer)
    table.setflags(write=False)
    return table


def _as_float32(block: np.ndarray) -> np.ndarray:
    """A float32 copy (numpy: OpenCV 4.14's arithmetic no longer takes half floats)."""
    return block.astype(np.float32)


def _all_within(block: np.ndarray, bound: float) -> bool:
    """True when every value is finite and within +-bound (one fast pass)."""
    return bool(cv2.checkRange(_flat(np.ascontiguousarray(block)), True, -bound, bound)[0])


def _sanitised(block: np.ndarray, transfer: str) -> np.ndarray:
    """float32 copy of a float block with NaN -> 0, -Inf -> 0 and +Inf -> white (display) or 65504 (linear)."""
    block = _as_float32(block)
    if not _all_within(block, POSINF_LINEAR):
        high = POSINF_LINEAR if transfer == "linear" else POSINF_DISPLAY
        block = np.nan_to_num(block, nan=0.0, posinf=high, neginf=0.0)
        np.clip(block, -POSINF_LINEAR, POSINF_LINEAR, out=block)
    return block


def _linear_rows(image: np.ndarray, rows: slice, transfer: str) -> np.ndarray:
    """Linear light of some rows: [r, W, 3] float32, or [r, W] for gray frames."""
    if _colour_channels(image) == 1:
        block = image[rows] if image.ndim == 2 else image[rows, :, 0]
    else:
        block = image[rows, :, :3]
    if image.dtype == np.uint8:
        return cv2.LUT(np.ascontiguousarray(block), _integer_decode_table("uint8", transfer))
    if image.dtype == np.uint16:
        return _integer_decode_table("uint16", transfer)[block]
    linear = _sanitised(block, transfer)
    return linear if transfer == "linear" else _DECODE[transfer](linear)


def _lightness_of_luminance(luminance: np.ndarray) -> np.ndarray:
    lightness = _LAB_F(luminance)
    lightness *= np.float32(116.0)
    lightness -= np.float32(16.0)
    return lightness


def linear_to_lab(linear_rgb: np.ndarray) -> np.ndarray:
    """Linear RGB [..., 3] -> L*a*b* [..., 3] float32 (no clipping: L* > 100 above white)."""
    linear_rgb = np.ascontiguousarray(linear_rgb, dtype=np.float32)
    shape = linear_rgb.shape
    pixels = linear_rgb.reshape(-1, 1, 3)
    f = _LAB_F(cv2.transform(pixels, _RGB_TO_XYZN).reshape(-1, 1, 3))
    return cv2.transform(f, _F_TO_LAB).reshape(shape)


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """L*a*b* [..., 3] -> linear RGB [..., 3] float32, unclipped (may leave the gamut)."""
    lab = np.ascontiguousarray(lab, dtype=np.float32)
    f = cv2.transform(lab.reshape(-1, 1, 3), _lab_to_f_matrix(1.0))
    xyz = _LAB_F_INVERSE(f.reshape(-1, 1, 3))
    return cv2.transform(xyz, _XYZN_TO_RGB).reshape(lab.shape)


def rgb_to_lab(rgb, transfer: str = "srgb") -> tuple[float, float, float]:
    """One colour (three floats, encoded with `transfer`) -> (L*, a*, b*)."""
    linear = decode(np.asarray(rgb, dtype=np.float32).reshape(1, 3), transfer)
    return tuple(float(v) for v in linear_to_lab(linear)[0])


def lab_to_rgb(lab, transfer: str = "srgb") -> tuple[float, float, float]:
    """One colour (L*, a*, b*) -> three floats encoded with `transfer`, unclipped."""
    linear = lab_to_linear(np.asarray(lab, dtype=np.float32).reshape(1, 3))
    return tuple(float(v) for v in encode(linear, transfer)[0])


def to_lab(image: np.ndarray, transfer: str) -> np.ndarray:
    """A frame -> L*a*b* [H, W, 3] float32 (L* in 0..100 for in-range values, above 100 for
    scene-linear values above 1). NaN/Inf are sanitised first (see `_sanitised`)."""
    check_frame(image)
    _check_transfer(transfer)
    height, width = image.shape[:2]
    lab = np.zeros((height, width, 3), np.float32)
    gray = _colour_channels(image) == 1

    def work(rows):
        linear = _linear_rows(image, rows, transfer)
        if gray:
            lab[rows, :, 0] = _lightness_of_luminance(linear)
        else:
            f = _LAB_F(cv2.transform(linear, _RGB_TO_XYZN))
            lab[rows] = cv2.transform(f, _F_TO_LAB)
            # L* exactly as `to_lightness` computes it (the matrix path differs in the last
            # bits), so training data, evaluation and the engine see the same L*.
            luminance = cv2.transform(linear, _RGB_TO_XYZN[1:2]).reshape(linear.shape[:2])
            lab[rows, :, 0] = _lightness_of_luminance(luminance)

    _for_each_strip(height, width, work)
    return lab


def to_lightness(image: np.ndarray, transfer: str) -> np.ndarray:
    """L* of a frame, [H, W] float32: `to_lab(image, transfer)[..., 0]` at about half the cost.

    This is all the engine needs of the input: the model's gray and `recombine`'s lab=.
    """
    check_frame(image)
    _check_transfer(transfer)
    height, width = image.shape[:2]
    lightness = np.empty((height, width), np.float32)
    gray = _colour_channels(image) == 1
    luminance_row = _RGB_TO_XYZN[1:2]

    def work(rows):
        linear = _linear_rows(image, rows, transfer)
        luminance = linear if gray else cv2.transform(linear, luminance_row)
        lightness[rows] = _lightness_of_luminance(luminance.reshape(linear.shape[:2]))

    _for_each_strip(height, width, work)
    return lightness


# ---------------------------------------------------------------------------------------------
# Working resolution and the model's gray


def working_size(
    height: int, width: int, short_side: int = 256, multiple: int = SIZE_MULTIPLE
) -> tuple[int, int]:
    """(h, w) the model runs at: short side = `short_side`, aspect kept to the nearest `multiple`.

    Frames smaller than `short_side` are scaled up (the model sees one scale). The long side is
    capped at MAX_WORKING_ASPECT times the short side, so degenerate strips stay small.
    """
    for name, value in (
        ("height", height),
        ("width", width),
        ("short_side", short_side),
        ("multiple", multiple),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if height < 1 or width < 1:
        raise ValueError(f"frame size must be at least 1x1, got {width}x{height}")
    if multiple < 1:
        raise ValueError(f"multiple must be at least 1, got {multiple}")
    if short_side < multiple or short_side % multiple:
        raise ValueError(f"short_side must be a positive multiple of {multiple}, got {short_side}")
    short, long = min(height, width), max(height, width)
    long_side = math.floor(long * short_side / short / multiple + 0.5) * multiple
    long_side = int(min(max(long_side, short_side), MAX_WORKING_ASPECT * short_side))
    return (short_side, long_side) if height <= width else (long_side, short_side)


def capped_short_side(
    height: int, width: int, requested: int, floor: int = 256, multiple: int = SIZE_MULTIPLE
) -> int:
    """The working short side for a frame: `requested`, but never above the frame's own short side
    (rounded up to `multiple`) unless that is below `floor`, the default every frame is brought
    to. A 4096 request on a 480x270 clip runs at 288, not at 15 times the input's pixels."""
    own = -(-min(height, width) // multiple) * multiple
    return min(requested, max(floor, own))


def _lightness_plane(lab_or_lightness: np.ndarray) -> np.ndarray:
    """L* [H, W] from either L*a*b* [H, W, 3] or L* [H, W]."""
    array = np.asarray(lab_or_lightness)
    if array.ndim == 3 and array.shape[2] == 3:
        return array[..., 0]
    if array.ndim == 2:
        return array
    raise FrameError(f"expected L*a*b* [H, W, 3] or L* [H, W], got shape {array.shape}")


def _resize(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area average when shrinking both ways, bilinear otherwise.

    OpenCV's area average is several times faster for whole-number factors, so a large shrink
    first averages by the largest whole factor that divides both sides, then finishes at a
    small size (e.g. 1920x1080 -> 480x270 -> 448x256).
    """
    source_h, source_w = array.shape[:2]
    if not (height <= source_h and width <= source_w):
        return cv2.resize(array, (width, height), interpolation=cv2.INTER_LINEAR)
    factor = min(source_h // height, source_w // width)
    while factor > 1 and (source_h % factor or source_w % factor):
        factor -= 1
    if factor > 1:
        array = cv2.resize(array, (source_w // factor, source_h // factor), interpolation=cv2.INTER_AREA)
    return cv2.resize(array, (width, height), interpolation=cv2.INTER_AREA)


def _guide(lightness: np.ndarray) -> np.ndarray:
    """The guide image: L*/100 clipped to 0..1 (so scene-linear highlights do not dominate)."""
    guide = np.clip(lightness.astype(np.float32, copy=False), 0.0, L_SCALE)
    guide *= np.float32(1.0 / L_SCALE)
    return guide


def model_gray(lab: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The model's `gray` input: L*/100 clipped to 0..1, [h, w] float32 at `size` = (h, w)."""
    lightness = np.ascontiguousarray(_lightness_plane(lab), dtype=np.float32)
    height, width = size
    return np.ascontiguousarray(_guide(_resize(lightness, height, width)))


# ---------------------------------------------------------------------------------------------
# Edge-aware upsampling of a*b*
#
# The guided filter's local linear model (He et al.), used for detail transfer: solved at the
# prediction's resolution, a*b* ~ A * guide + B in each small window; at full resolution the
# bilinear a*b* gets A times the guide's detail that the small grid cannot hold:
#     ab = up(ab_small) + up(A) * (guide - up(guide_small))
# Smooth regions keep the bilinear a*b* (no extra blur, unlike the plain fast guided filter)
# and colour edges snap to the full-resolution L* edges. On real photos (true a*b* shrunk to
# the working size and brought back) this is 10-25% closer to the truth than bilinear.

GUIDE_RADIUS = 1  # box radius at the a*b* resolution (3x3 windows)
GUIDE_EPS = 1e-3  # regulariser on the 0..1 guide (L*/100): L* edges weaker than ~3 follow less


def _check_ab(ab: np.ndarray) -> np.ndarray:
    """float32 a*b* [h, w, 2], NaN/Inf -> 0 (a broken prediction must not poison the frame)."""
    if not isinstance(ab, np.ndarray) or ab.ndim != 3 or ab.shape[2] != 2 or 0 in ab.shape:
        shape = getattr(ab, "shape", type(ab).__name__)
        raise FrameError(f"a*b* must be a non-empty [h, w, 2] array, got {shape}")
    if not np.issubdtype(ab.dtype, np.floating):
        raise FrameError(f"a*b* must be floating point, got {ab.dtype}")
    ab = np.ascontiguousarray(ab, dtype=np.float32)
    if not _all_within(ab, POSINF_LINEAR):
        ab = np.clip(np.nan_to_num(ab, nan=0.0, posinf=0.0, neginf=0.0), -POSINF_LINEAR, POSINF_LINEAR)
    return ab


_SCRATCH = threading.local()


def _thread_buffers(name: str, count: int, shape: tuple[int, ...]) -> list[np.ndarray]:
    """`count` float32 buffers of `shape` kept per thread between frames, under `name`: fresh
    temporaries are handed back to the system after a call and faulted in again on the next (a
    1080p plane ~1 ms before it holds anything; a 256x256 frame's colour strip ~740 page
    faults, half of recombine's time). Only for temporaries that never leave their call."""
    held = getattr(_SCRATCH, name, None)
    if held is None or len(held) < count or held[0].shape != shape:
        held = [np.empty(shape, np.float32) for _ in range(count)]
        setattr(_SCRATCH, name, held)
    return held[:count]


def _upsampling_planes(
    ab_small: np.ndarray, lightness_full: np.ndarray, gray_small: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Five [H, W] planes: up(a*), up(b*), up(A_a), up(A_b), up(guide_small) (see above), in
    this thread's scratch planes (valid until its next call).

    Single-channel resizes: OpenCV's multi-channel float resize is several times slower.
    """
    height, width = lightness_full.shape
    small_h, small_w = ab_small.shape[:2]
    if gray_small is None:
        guide_small = _guide(_resize(np.asarray(lightness_full, dtype=np.float32), small_h, small_w))
    else:
        guide_small = _checked_gray_small(gray_small, (small_h, small_w))

    window = (2 * GUIDE_RADIUS + 1, 2 * GUIDE_RADIUS + 1)

    def box(array):
        return cv2.boxFilter(array, -1, window, borderType=cv2.BORDER_REPLICATE)

    mean_guide = box(guide_small)
    variance = box(guide_small * guide_small) - mean_guide * mean_guide + np.float32(GUIDE_EPS)
    channels, slopes = [], []
    for channel in range(2):
        ab_plane = np.ascontiguousarray(ab_small[..., channel])
        covariance = box(ab_plane * guide_small) - box(ab_plane) * mean_guide
        channels.append(ab_plane)
        slopes.append(box(covariance / variance))

    scratch = _thread_buffers("planes", 5, (height, width))
    for out, plane in zip(scratch, (*channels, *slopes, guide_small)):
        cv2.resize(plane, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)
    return tuple(scratch)


def _checked_gray_small(gray_small: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    gray_small = np.asarray(gray_small)
    if gray_small.shape != size:
        raise FrameError(
            f"gray_small must be [h, w] = {list(size)} like the a*b*, got {list(gray_small.shape)}"
        )
    return np.ascontiguousarray(gray_small, dtype=np.float32)


def _upsampled_rows(planes: tuple[np.ndarray, ...], rows: slice, guide: np.ndarray):
    """(a*, b*) planes [r, W] for some rows, from `_upsampling_planes` and the rows' guide."""
    smooth_a, smooth_b, slope_a, slope_b, smooth_guide = (plane[rows] for plane in planes)
    detail = cv2.subtract(guide, smooth_guide)
    a = cv2.add(smooth_a, cv2.multiply(slope_a, detail))
    b = cv2.add(smooth_b, cv2.multiply(slope_b, detail))
    return a, b


def upsample_ab(
    ab_small: np.ndarray, lightness_full: np.ndarray, gray_small: np.ndarray | None = None
) -> np.ndarray:
    """Predicted a*b* [h, w, 2] -> [H, W, 2] float32, edges following the full-resolution L*.

    `lightness_full` is L* [H, W] (or L*a*b* [H, W, 3]). `gray_small`, optional, is the model's
    gray input ([h, w], `model_gray(lightness_full, (h, w))`): passing it saves a full-frame
    resize. When the frame is not larger than the prediction in either direction, a*b* are
    simply resized.
    """
    ab_small = _check_ab(ab_small)
    lightness = _lightness_plane(lightness_full)
    height, width = lightness.shape
    if height <= ab_small.shape[0] and width <= ab_small.shape[1]:
        return np.ascontiguousarray(_resize(ab_small, height, width).reshape(height, width, 2))
    planes = _upsampling_planes(ab_small, lightness, gray_small)
    ab = np.empty((height, width, 2), np.float32)

    def work(rows):
        ab[rows] = cv2.merge(_upsampled_rows(planes, rows, _guide(lightness[rows])))

    _for_each_strip(height, width, work)
    return ab


# ---------------------------------------------------------------------------------------------
# L* + a*b* -> output frame


_ONE_PER_CHANNEL = np.full((1, 3), 1.0 / 255.0)  # counts 0/255 masks per pixel with cv2.transform


def _fit_gamut(rgb: np.ndarray, gray: np.ndarray, bounded_above: bool) -> np.ndarray:
    """Pull out-of-gamut linear RGB [r, W, 3] toward its gray (Y, Y, Y), in place; returns `rgb`.

    Mixing with the gray in linear light keeps the luminance, hence L*, exactly, and keeps the hue
    far better than clipping each channel. The gamut is [0, max(1, Y)] per channel (or [0, inf)
    when not bounded above). Y is a positive-weighted mean of R, G, B, so min <= Y <= max and
    the extreme channels alone decide how much chroma survives:
    share = min(1, Y / (Y - min), (ceiling - Y) / (max - Y)). Pixels whose own gray lies
    outside the gamut come out gray. Only the offending pixels are touched (usually few).
    """
    flat = _flat(rgb)
    low, high = cv2.minMaxLoc(flat)[:2]
    bounded_above = bounded_above and high > 1
    if low >= 0 and not bounded_above:
        return rgb
    rows, width = rgb.shape[:2]
    if bounded_above:  # a pixel is inside when all three channels are in [0, 1]
        inside = cv2.inRange(flat, 0.0, 1.0).reshape(rows, width, 3)
        candidates = cv2.transform(inside, _ONE_PER_CHANNEL) < 3
    else:
        negative = cv2.compare(flat, 0.0, cv2.CMP_LT).reshape(rows, width, 3)
        candidates = cv2.transform(negative, _ONE_PER_CHANNEL) > 0
    first = 3 * np.flatnonzero(candidates)
    values = rgb.reshape(-1)
    red, green, blue = values[first], values[first + 1], values[first + 2]
    level = gray.reshape(-1)[first // 3]
    lowest = np.minimum(np.minimum(red, green), blue)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(lowest < 0, level / (level - lowest), 1.0)
        if bounded_above:
            ceiling = np.maximum(level, 1.0)
            highest = np.maximum(np.maximum(red, green), blue)
            share = np.fmin(share, np.where(highest > ceiling, (ceiling - level) / (highest - level), 1.0))
    share = np.clip(np.nan_to_num(share, nan=0.0), 0.0, 1.0)
    for offset, channel in enumerate((red, green, blue)):
        values[first + offset] = level + share * (channel - level)
    return rgb


def _store(encoded: np.ndarray, out_rows: np.ndarray) -> None:
    """Write encoded float values [r, W, 3] into output rows, rounding and saturating integers."""
    if out_rows.dtype == np.uint8 or out_rows.dtype == np.uint16:
        depth, peak = (cv2.CV_8U, 255.0) if out_rows.dtype == np.uint8 else (cv2.CV_16U, 65535.0)
        flat = _flat(encoded)
        # addWeighted rounds and saturates into the integer depth in one pass
        out_rows[...] = cv2.addWeighted(flat, peak, flat, 0.0, 0.0, dtype=depth).reshape(encoded.shape)
    else:  # float: numpy rounds to the nearest half float (OpenCV 4.14's arithmetic has no half)
        out_rows[...] = encoded


def recombine(
    image: np.ndarray,
    ab: np.ndarray,
    transfer: str,
    strength: float = 1.0,
    lab: np.ndarray | None = None,
    gray_small: np.ndarray | None = None,
) -> np.ndarray:
    """The colour frame: L* of `image` kept exactly, a*b* = strength * `ab`.

    image     the source frame (any accepted layout); the output has its dtype and transfer, and
              its shape ([H, W, 3] for gray frames, which gain colour channels)
    ab        predicted a*b* at working resolution [h, w, 2] (upsampled with `upsample_ab`) or at
              frame resolution [H, W, 2]
    strength  chroma gain (0 = the original gray, 1 = as predicted)
    lab       L*a*b* [H, W, 3] or L* [H, W] of `image` when the caller already has it
    gray_small  the model's gray input [h, w] when the caller already has it (see `upsample_ab`)

    Alpha is copied bit for bit. Colours outside the output's range are pulled toward their gray
    in linear light (L* unchanged); scene-linear float output is only kept non-negative.
    """
    check_frame(image)
    _check_transfer(transfer)
    strength = float(strength)
    if not math.isfinite(strength) or strength < 0:
        raise ValueError(f"strength must be a finite number >= 0, got {strength}")
    height, width = image.shape[:2]
    lightness = to_lightness(image, transfer) if lab is None else _lightness_plane(lab)
    if lightness.shape != (height, width):
        raise FrameError(
            f"lab is {lightness.shape[1]}x{lightness.shape[0]} but the frame is {width}x{height}"
        )
    ab = _check_ab(ab)
    if ab.shape[0] >= height and ab.shape[1] >= width and ab.shape[:2] != (height, width):
        ab = upsample_ab(ab, lightness)  # a frame smaller than the prediction: a plain resize
    full_size = ab.shape[:2] == (height, width)
    planes = None if full_size else _upsampling_planes(ab, lightness, gray_small)

    channels = image.shape[2] if image.ndim == 3 and image.shape[2] == 4 else 3
    out = np.empty((height, width, channels), image.dtype)
    if channels == 4:
        out[..., 3] = image[..., 3]
    bounded_above = not (transfer == "linear" and np.issubdtype(image.dtype, np.floating))
    to_f = _lab_to_f_matrix(strength)
    # a strip's two intermediate colours, sized for a full strip of this width (the last may be shorter)
    strip_shape = (_strip_rows(width), width, 3)

    def work(rows):
        lightness_rows = np.ascontiguousarray(lightness[rows], dtype=np.float32)
        lab_rows, xyz = (
            buffer[: len(lightness_rows)] for buffer in _thread_buffers("strips", 2, strip_shape)
        )
        if full_size:
            cv2.merge((lightness_rows, ab[rows]), dst=lab_rows)
        else:
            a, b = _upsampled_rows(planes, rows, _guide(lightness_rows))
            cv2.merge((lightness_rows, a, b), dst=lab_rows)
        _LAB_F_INVERSE(cv2.transform(lab_rows, to_f, dst=xyz), in_place=True)
        rgb = cv2.transform(xyz, _XYZN_TO_RGB, dst=lab_rows)  # L*a*b* is no longer needed
        rgb = _fit_gamut(rgb, cv2.extractChannel(xyz, 1), bounded_above)
        _store(rgb if transfer == "linear" else _ENCODE[transfer](rgb, in_place=True), out[rows, :, :3])

    _for_each_strip(height, width, work)
    return out
