"""The engine's optical flow: direction, units on the feature grid, and refused inputs."""

import cv2
import numpy as np
import pytest
from colormotion.temporal.flow import feature_flow, pixel_flow


def textured_gray(seed: int, size=(128, 160)) -> np.ndarray:
    """Smooth random L*/100 in [0, 1], float32 (DIS needs texture to lock on)."""
    rng = np.random.default_rng(seed)
    small = rng.random((size[0] // 8, size[1] // 8)).astype(np.float32)
    return np.clip(cv2.resize(small, size[::-1], interpolation=cv2.INTER_CUBIC), 0.0, 1.0)


def panned(gray: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The frame after the camera content moved by (dx, dy) pixels: now[y, x] = prev[y - dy, x - dx]."""
    return np.roll(gray, (dy, dx), axis=(0, 1))


INNER = (slice(24, -24), slice(24, -24))  # away from the wrapped border


def test_pixel_flow_points_from_the_current_frame_back_to_the_previous():
    prev = textured_gray(0)
    now = panned(prev, 3, -2)
    flow = pixel_flow(now, prev)
    assert flow.shape == (*prev.shape, 2) and flow.dtype == np.float32
    np.testing.assert_allclose(np.median(flow[INNER][..., 0]), -3.0, atol=0.25)
    np.testing.assert_allclose(np.median(flow[INNER][..., 1]), 2.0, atol=0.25)
    # following it lands on the previous frame's pixels
    xs, ys = np.meshgrid(
        np.arange(prev.shape[1], dtype=np.float32), np.arange(prev.shape[0], dtype=np.float32)
    )
    warped = cv2.remap(prev, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR)
    assert np.abs(warped - now)[INNER].mean() < 0.2 * np.abs(prev - now)[INNER].mean()


def test_still_frames_have_no_flow():
    frame = textured_gray(1)
    assert np.abs(pixel_flow(frame, frame)[INNER]).max() < 0.05


def test_feature_flow_is_in_grid_pixels_channels_first():
    prev = textured_gray(2)
    now = panned(prev, 8, 4)
    grid = feature_flow(now, prev, stride=8)
    assert grid.shape == (2, 128 // 8, 160 // 8) and grid.dtype == np.float32
    inner = (slice(3, -3), slice(3, -3))
    np.testing.assert_allclose(np.median(grid[0][inner]), -1.0, atol=0.1)  # 8 px = 1 grid cell
    np.testing.assert_allclose(np.median(grid[1][inner]), -0.5, atol=0.1)


def test_refused_inputs_are_named():
    frame = textured_gray(3)
    with pytest.raises(ValueError, match="one size"):
        pixel_flow(frame, frame[:-8])
    with pytest.raises(ValueError, match="multiple of the feature stride 8"):
        feature_flow(frame[:-4], frame[:-4], stride=8)
