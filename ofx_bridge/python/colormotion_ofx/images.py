"""OpenFX pixel buffers <-> numpy arrays.

OpenFX addresses pixels bottom-up: the data pointer is pixel (x1, y1) of the bounds and row y
starts at ``data + (y - y1) * rowBytes``. rowBytes may be negative (MLT hands top-down memory with
the pointer at its last row). The node works on top-down [H, W, C] arrays, so :func:`pixel_view`
maps host memory to a top-down numpy view without copying, whatever the sign of rowBytes.
"""

from __future__ import annotations

import numpy as np

from .ofx_api import ffi

Rect = tuple[int, int, int, int]  # x1, y1, x2, y2 (pixels, x2/y2 exclusive)

DEPTH_DTYPES = {
    "OfxBitDepthByte": np.dtype(np.uint8),
    "OfxBitDepthShort": np.dtype(np.uint16),
    "OfxBitDepthFloat": np.dtype(np.float32),
}
COMPONENT_CHANNELS = {"OfxImageComponentRGBA": 4, "OfxImageComponentRGB": 3}


class UnsupportedImage(ValueError):
    """The host handed a pixel format the node cannot colorize."""


def pixel_format(depth: str, components: str) -> tuple[np.dtype, int]:
    if depth not in DEPTH_DTYPES:
        raise UnsupportedImage(f"unsupported pixel depth {depth!r} (supported: byte, short, float)")
    if components not in COMPONENT_CHANNELS:
        raise UnsupportedImage(f"unsupported pixel components {components!r} (supported: RGBA, RGB)")
    return DEPTH_DTYPES[depth], COMPONENT_CHANNELS[components]


def pixel_view(data: int, bounds: Rect, row_bytes: int, dtype: np.dtype, channels: int) -> np.ndarray:
    """A top-down [H, W, C] numpy view of host memory (no copy; valid while the image is held)."""
    x1, y1, x2, y2 = bounds
    height, width = y2 - y1, x2 - x1
    if height <= 0 or width <= 0:
        return np.zeros((max(height, 0), max(width, 0), channels), dtype)
    pixel_bytes = dtype.itemsize * channels
    if abs(row_bytes) < width * pixel_bytes:
        raise UnsupportedImage(f"rowBytes {row_bytes} is smaller than a row of {width} pixels")
    top_row = (height - 1) * row_bytes  # offset of the top row (y2 - 1) from the data pointer
    lowest = min(0, top_row)
    span = abs(top_row) + width * pixel_bytes
    buffer = ffi.buffer(ffi.cast("char *", data + lowest), span)
    return np.ndarray(
        (height, width, channels),
        dtype=dtype,
        buffer=buffer,
        offset=top_row - lowest,
        strides=(-row_bytes, pixel_bytes, dtype.itemsize),
    )


def _scale(dtype: np.dtype) -> float:
    return float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0


def convert_pixels(pixels: np.ndarray, dtype: np.dtype, channels: int) -> np.ndarray:
    """`pixels` in another depth and/or channel count (RGB <-> RGBA, opaque alpha when added)."""
    dtype = np.dtype(dtype)
    if pixels.dtype != dtype:
        source_scale, target_scale = _scale(pixels.dtype), _scale(dtype)
        values = pixels.astype(np.float32) * np.float32(target_scale / source_scale)
        if dtype.kind == "u":
            values = np.clip(np.rint(values), 0, target_scale)
        pixels = values.astype(dtype)
    if pixels.shape[2] > channels:
        pixels = pixels[:, :, :channels]
    elif pixels.shape[2] < channels:
        alpha = np.full(pixels.shape[:2] + (1,), _scale(dtype), dtype)
        pixels = np.concatenate([pixels, alpha], axis=2)
    return pixels


def unpremultiply(pixels: np.ndarray) -> np.ndarray:
    """Colour divided by alpha (RGBA, same dtype); fully transparent pixels keep their values.

    The node colours unassociated RGB (a premultiplied pixel's lightness is not its colour's)."""
    if pixels.shape[2] != 4:
        return pixels
    values = pixels.astype(np.float32)
    alpha = values[:, :, 3:] / np.float32(_scale(pixels.dtype))
    safe = np.where(alpha > 0, alpha, np.float32(1.0))
    values[:, :, :3] /= safe
    return _store(values, pixels.dtype)


def premultiply(pixels: np.ndarray) -> np.ndarray:
    if pixels.shape[2] != 4:
        return pixels
    values = pixels.astype(np.float32)
    values[:, :, :3] *= values[:, :, 3:] / np.float32(_scale(pixels.dtype))
    return _store(values, pixels.dtype)


def _store(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.dtype(dtype).kind == "u":
        top = _scale(dtype)
        return np.clip(np.rint(values), 0, top).astype(dtype)
    return values.astype(dtype)


def intersect(a: Rect, b: Rect) -> Rect:
    return max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])


def rows_cols(rect: Rect, bounds: Rect) -> tuple[slice, slice]:
    """Index slices of `rect` inside a top-down array covering `bounds`."""
    x1, y1, x2, y2 = rect
    return slice(bounds[3] - y2, bounds[3] - y1), slice(x1 - bounds[0], x2 - bounds[0])


def paste(
    target: np.ndarray, target_bounds: Rect, source: np.ndarray, source_bounds: Rect, window: Rect
) -> None:
    """Writes `window` of the output: pixels covered by `source`, zeros elsewhere (both top-down)."""
    area = intersect(window, target_bounds)
    if area[2] <= area[0] or area[3] <= area[1]:
        return
    covered = intersect(area, source_bounds)
    empty = covered[2] <= covered[0] or covered[3] <= covered[1]
    if empty or covered != area:
        target[rows_cols(area, target_bounds)] = 0
    if not empty:
        target[rows_cols(covered, target_bounds)] = source[rows_cols(covered, source_bounds)]


def conform(frame: np.ndarray, bounds: Rect, reference: Rect) -> np.ndarray:
    """`frame` (covering `bounds`) cropped/padded with zeros to cover `reference` exactly."""
    if tuple(bounds) == tuple(reference):
        return frame
    height, width = reference[3] - reference[1], reference[2] - reference[0]
    result = np.zeros((height, width, frame.shape[2]), frame.dtype)
    paste(result, reference, frame, bounds, reference)
    return result
