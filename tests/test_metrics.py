"""Evaluation metrics on synthetic frames with known answers."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from training.metrics import PSNR_CAP, WarpField, cdc, colourfulness, js_divergence, psnr, ssim, warp_error


def textured(seed: int, size=(72, 96)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size[0] // 6, size[1] // 6, 3)).astype(np.float32)
    return np.clip(cv2.resize(small, size[::-1], interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def test_psnr_of_identical_frames_is_capped_and_of_a_known_offset_is_exact():
    frame = textured(0)
    assert psnr(frame, frame) == PSNR_CAP
    brighter = frame.astype(np.float64) + 10.0  # MSE exactly 100
    assert psnr(brighter, frame.astype(np.float64)) == pytest.approx(10 * math.log10(255**2 / 100))


def test_ssim_is_one_for_identical_and_lower_for_noisy_frames():
    frame = textured(1)
    noisy = np.clip(frame + np.random.default_rng(2).normal(0, 25, frame.shape), 0, 255)
    assert ssim(frame, frame) == pytest.approx(1.0)
    assert ssim(noisy, frame) < 0.8


def test_colourfulness_is_zero_for_gray_and_high_for_saturated():
    gray = np.repeat(textured(3)[..., :1], 3, axis=2)
    saturated = np.zeros((32, 32, 3), np.uint8)
    saturated[:16, :, 0] = 255
    saturated[16:, :, 2] = 255
    assert colourfulness(gray) == pytest.approx(0.0)
    assert colourfulness(saturated) > 100


def test_js_divergence_bounds():
    p = np.array([0.5, 0.5, 0.0, 0.0])
    q = np.array([0.0, 0.0, 0.5, 0.5])
    assert js_divergence(p, p) == 0.0
    assert js_divergence(p, q) == pytest.approx(math.log(2))


def test_cdc_is_zero_for_a_still_clip_and_positive_when_colours_flicker():
    frame = textured(4)
    assert cdc([frame] * 6) == 0.0
    red_cast = frame.copy()
    red_cast[..., 0] = np.clip(red_cast[..., 0].astype(int) + 60, 0, 255)
    flicker = [frame if t % 2 else red_cast for t in range(6)]
    assert cdc(flicker) > 0.01
    assert cdc(flicker, steps=(2,)) == 0.0  # every other frame is the same
    assert math.isnan(cdc([frame]))


def test_a_known_shift_warps_back_to_almost_no_error():
    frame = textured(5, (96, 128))
    moved = np.roll(frame, shift=(2, 3), axis=(0, 1))  # content moves down 2 px, right 3 px
    field = WarpField(frame, moved)
    inner = field.valid[8:-8, 8:-8]
    assert inner.mean() > 0.9
    np.testing.assert_allclose(np.median(field.forward[8:-8, 8:-8][inner], axis=0), [3, 2], atol=0.3)
    unwarped = np.mean(((frame.astype(float) - moved) / 255.0) ** 2)
    assert field.error(frame, moved) < 0.1 * unwarped
    assert warp_error([frame, moved]) < 0.1 * unwarped
    # scoring another "output" with the reference video's field: a flicker shows up
    flickering = np.clip(moved.astype(int) + 40, 0, 255).astype(np.uint8)
    assert warp_error([frame, flickering], [field]) > 10 * warp_error([frame, moved], [field])


def test_metrics_reject_bad_shapes():
    with pytest.raises(ValueError, match="RGB"):
        psnr(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="shape"):
        ssim(np.zeros((4, 4, 3)), np.zeros((5, 4, 3)))


# ---------------------------------------------------------------- the evaluation tool end to end
