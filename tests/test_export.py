"""The exported ONNX step graph follows colormotion.contract and matches PyTorch."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import skimage.color
import skimage.data
import torch
from colormotion import contract
from colormotion.temporal.flow import feature_flow

from training.export import export_onnx, random_model

# float32 ONNX Runtime vs PyTorch kernels: differences come from summation order only.
AB_MASK_ATOL = 1e-4  # ab and mask are bounded to [-1, 1] / [0, 1]
FEAT_RTOL, FEAT_ATOL = 1e-4, 1e-4


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = random_model(seed=3)
    path = export_onnx(model, tmp_path_factory.mktemp("export") / "step.onnx", version="test-1")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return model, path, session


def frame_pair(height: int, width: int, shift: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gray_prev, gray_now, ab_now) from a real photo; the camera pans `shift` pixels right."""
    lab = skimage.color.rgb2lab(skimage.data.astronaut()[::2, ::2]).astype(np.float32)
    prev = lab[40 : 40 + height, 40 : 40 + width]
    now = lab[40 : 40 + height, 40 + shift : 40 + shift + width]
    return prev[..., 0] / 100.0, now[..., 0] / 100.0, now[..., 1:] / 110.0


def sparse_hints(ab: np.ndarray, every: int = 17) -> np.ndarray:
    """Hint channels [3, H, W] carrying the true colour at a sparse grid of pixels."""
    hints = np.zeros((3, *ab.shape[:2]), np.float32)
    hints[0, ::every, ::every] = ab[::every, ::every, 0]
    hints[1, ::every, ::every] = ab[::every, ::every, 1]
    hints[2, ::every, ::every] = 1.0
    return hints


def run_both(model, session, feeds: dict[str, np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    onnx_out = session.run(list(contract.OUTPUT_NAMES), feeds)
    with torch.no_grad():
        torch_out = model(*(torch.from_numpy(feeds[name]) for name in contract.INPUT_NAMES))
    return onnx_out, [t.numpy() for t in torch_out]


def assert_outputs_close(onnx_out, torch_out) -> None:
    ab_onnx, feat_onnx, mask_onnx = onnx_out
    ab_torch, feat_torch, mask_torch = torch_out
    np.testing.assert_allclose(ab_onnx, ab_torch, atol=AB_MASK_ATOL, rtol=0)
    np.testing.assert_allclose(mask_onnx, mask_torch, atol=AB_MASK_ATOL, rtol=0)
    np.testing.assert_allclose(feat_onnx, feat_torch, rtol=FEAT_RTOL, atol=FEAT_ATOL)


@pytest.mark.parametrize(("height", "width"), [(96, 128), (160, 64)])
def test_onnx_matches_torch_on_a_two_frame_chain(exported, height, width):
    model, _, session = exported
    s, c = model.FEATURE_STRIDE, model.FEATURE_CHANNELS
    gray_prev, gray_now, ab_now = frame_pair(height, width)

    first = {
        "gray": gray_prev[None, None],
        "hints": np.zeros((1, 3, height, width), np.float32),
        "prev_feat": np.zeros((1, c, height // s, width // s), np.float32),
        "flow": np.zeros((1, 2, height // s, width // s), np.float32),
        "has_prev": np.zeros((1, 1, 1, 1), np.float32),
    }
    onnx_out, torch_out = run_both(model, session, first)
    assert_outputs_close(onnx_out, torch_out)
    ab, feat, mask = onnx_out
    assert ab.shape == (1, 2, height, width)
    assert feat.shape == (1, c, height // s, width // s)
    assert mask.shape == (1, 1, height // s, width // s)
    assert not mask.any(), "has_prev = 0 must force the blend mask to 0"

    second = {
        "gray": gray_now[None, None],
        "hints": sparse_hints(ab_now)[None],
        "prev_feat": feat,
        "flow": feature_flow(gray_now, gray_prev, s)[None],
        "has_prev": np.ones((1, 1, 1, 1), np.float32),
    }
    onnx_out, torch_out = run_both(model, session, second)
    assert_outputs_close(onnx_out, torch_out)
    assert onnx_out[2].max() > 0, "with a previous frame the mask must be able to keep it"


def test_batch_dimension_is_dynamic(exported):
    model, _, session = exported
    s, c, n = model.FEATURE_STRIDE, model.FEATURE_CHANNELS, 2
    rng = np.random.default_rng(0)
    feeds = {
        "gray": rng.random((n, 1, 64, 96), dtype=np.float32),
        "hints": np.zeros((n, 3, 64, 96), np.float32),
        "prev_feat": rng.random((n, c, 64 // s, 96 // s), dtype=np.float32),
        "flow": rng.normal(size=(n, 2, 64 // s, 96 // s)).astype(np.float32),
        "has_prev": np.array([0.0, 1.0], np.float32).reshape(n, 1, 1, 1),
    }
    onnx_out, torch_out = run_both(model, session, feeds)
    assert_outputs_close(onnx_out, torch_out)
    assert not onnx_out[2][0].any() and onnx_out[2][1].any()


def test_graph_follows_the_contract(exported):
    model, path, session = exported
    assert tuple(i.name for i in session.get_inputs()) == contract.INPUT_NAMES
    assert tuple(o.name for o in session.get_outputs()) == contract.OUTPUT_NAMES
    proto = onnx.load(str(path))
    assert max(op.version for op in proto.opset_import if op.domain in ("", "ai.onnx")) >= contract.OPSET
    meta = {prop.key: prop.value for prop in proto.metadata_props}
    assert meta[contract.META_FEATURE_CHANNELS] == str(model.FEATURE_CHANNELS)
    assert meta[contract.META_FEATURE_STRIDE] == str(model.FEATURE_STRIDE)
    assert meta[contract.META_VERSION] == "test-1"
    assert meta[contract.META_CONTRACT] == contract.CONTRACT_VERSION


def test_random_model_fixture_responds_to_every_input(random_model):
    """The shared fixture must let other tests see hints and state change the output."""
    session = ort.InferenceSession(str(random_model), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    c, s = int(meta[contract.META_FEATURE_CHANNELS]), int(meta[contract.META_FEATURE_STRIDE])
    gray_prev, gray_now, ab_now = frame_pair(64, 64)
    base = {
        "gray": gray_now[None, None],
        "hints": np.zeros((1, 3, 64, 64), np.float32),
        "prev_feat": np.ones((1, c, 64 // s, 64 // s), np.float32),
        "flow": np.zeros((1, 2, 64 // s, 64 // s), np.float32),
        "has_prev": np.zeros((1, 1, 1, 1), np.float32),
    }
    ab_base = session.run(["ab"], base)[0]
    with_hints = session.run(["ab"], {**base, "hints": sparse_hints(ab_now, every=5)[None]})[0]
    with_prev = session.run(["ab"], {**base, "has_prev": np.ones((1, 1, 1, 1), np.float32)})[0]
    assert np.abs(with_hints - ab_base).max() > 1e-3
    assert np.abs(with_prev - ab_base).max() > 1e-3
