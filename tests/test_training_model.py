"""The network: pretrained MobileNetV2 conversion and ColorMotionNet's behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from training.model import ColorMotionNet, warp

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TFLITE = DATA / "weights" / "mobilenet_v2_1.0_224_quant.tflite"
needs_data = pytest.mark.skipif(not TFLITE.is_file(), reason="../shared/data is not available")


def photos_224() -> list[tuple[str, np.ndarray]]:
    import cv2

    photos = []
    for path in sorted((DATA / "stills" / "misc").glob("*.jpg")):
        rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        photos.append((path.name, cv2.resize(rgb, (224, 224), interpolation=cv2.INTER_AREA)))
    return photos


@needs_data
def test_converted_mobilenet_agrees_with_tflite_on_photos():
    from ai_edge_litert.interpreter import Interpreter

    from training.mobilenet_tflite import load_tflite_mobilenet_v2

    net = load_tflite_mobilenet_v2(TFLITE)
    interpreter = Interpreter(model_path=str(TFLITE))
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero = inp["quantization"]
    photos = photos_224()
    assert len(photos) >= 5
    for name, rgb in photos:
        interpreter.set_tensor(inp["index"], rgb[None])
        interpreter.invoke()
        tflite_top1 = int(interpreter.get_tensor(out["index"])[0].argmax())
        x = (torch.from_numpy(rgb).permute(2, 0, 1)[None].float() - zero) * scale  # same as TFLite input
        with torch.no_grad():
            torch_top1 = int(net(x)[0].argmax())
        assert torch_top1 == tflite_top1, f"{name}: PyTorch class {torch_top1}, TFLite class {tflite_top1}"


@needs_data
def test_pretrained_net_ignores_hints_and_state_at_start():
    """Zero-initialised hint weights: a fresh net's encoder behaves as the pretrained one."""
    model = ColorMotionNet.from_tflite(TFLITE).eval()
    gray = torch.rand(1, 1, 64, 64)
    hints = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        without = model.encoder(gray, torch.zeros_like(hints))
        with_hints = model.encoder(gray, hints)
    for a, b in zip(without, with_hints, strict=True):
        torch.testing.assert_close(a, b)


def test_warp_follows_the_flow_convention():
    """feature (x, y) of this frame is read from (x + dx, y + dy) of the previous one."""
    prev = torch.arange(6 * 8, dtype=torch.float32).view(1, 1, 6, 8)
    flow = torch.zeros(1, 2, 6, 8)
    flow[:, 0] = 2.0  # everything came from 2 features to the right
    flow[:, 1] = -1.0  # and one row up
    warped = warp(prev, flow)
    torch.testing.assert_close(warped[0, 0, 1:, :6], prev[0, 0, :-1, 2:])
    # Half-pixel flow interpolates.
    flow = torch.zeros(1, 2, 6, 8)
    flow[:, 0] = 0.5
    assert warp(prev, flow)[0, 0, 0, 0].item() == pytest.approx(0.5)


def test_state_blend_and_shapes():
    torch.manual_seed(0)
    model = ColorMotionNet().eval()
    s, c = model.FEATURE_STRIDE, model.FEATURE_CHANNELS
    gray = torch.rand(2, 1, 64, 96)
    hints = torch.zeros(2, 3, 64, 96)
    prev = torch.randn(2, c, 64 // s, 96 // s)
    flow = torch.zeros(2, 2, 64 // s, 96 // s)
    with torch.no_grad():
        ab0, feat0, mask0 = model(gray, hints, prev, flow, torch.zeros(2, 1, 1, 1))
        ab1, feat1, mask1 = model(gray, hints, prev, flow, torch.ones(2, 1, 1, 1))
    assert ab0.shape == (2, 2, 64, 96) and feat0.shape == (2, c, 8, 12) and mask0.shape == (2, 1, 8, 12)
    assert ab0.abs().max() <= 1.0
    assert not mask0.any(), "no previous frame: the mask must be 0 and prev_feat ignored"
    # Without a previous frame the features are the current ones, whatever prev_feat holds.
    with torch.no_grad():
        _, feat_other_prev, _ = model(gray, hints, torch.zeros_like(prev), flow, torch.zeros(2, 1, 1, 1))
    torch.testing.assert_close(feat0, feat_other_prev)
    # With one, feat is the mask-weighted blend of warped previous and current features.
    expected = mask1 * prev + (1 - mask1) * feat0
    torch.testing.assert_close(feat1, expected)
    assert (mask1 > 0).all() and (mask1 < 1).all()


def test_pruning_channels_that_are_always_zero_keeps_the_output():
    from training.prune import measure_apoz, prune_model
    from training.train import run_pair

    torch.manual_seed(1)
    model = ColorMotionNet().eval()
    torch.nn.init.normal_(model.to_ab.weight, std=0.1)
    with torch.no_grad():  # kill some channels: their ReLU outputs are then always 0
        model.encoder.blocks[3].depthwise[0].bias[:40] = -100.0
        model.up4[1].bias[:5] = -100.0
        model.up2[1].bias[-3:] = -100.0
    s = model.FEATURE_STRIDE
    batch = {
        "gray": torch.rand(2, 2, 1, 64, 64),
        "hints": torch.zeros(2, 2, 3, 64, 64),
        "flow": torch.randn(2, 2, 64 // s, 64 // s),
    }
    apoz = measure_apoz(model, [batch])
    assert (apoz["encoder.blocks.3"][:40] == 1).all() and (apoz["up4"][:5] == 1).all()

    pruned, summary = prune_model(model, apoz, threshold=1.0, max_fraction=0.5, multiple=1)
    for name, (before, after) in summary.items():
        # every always-zero channel goes, up to half of the layer
        assert after == max(before - before // 2, int((apoz[name] < 1).sum())), name
    assert summary["encoder.blocks.3"][1] <= 104 and summary["up4"][1] <= 27 and summary["up2"][1] <= 13
    rebuilt = ColorMotionNet(**pruned.spec())
    rebuilt.load_state_dict(pruned.state_dict())  # the spec describes the pruned widths

    # On the data APoZ was measured on, the removed channels were exactly 0: nothing changes.
    with torch.no_grad():
        expected = run_pair(model, batch)
        got = run_pair(rebuilt.eval(), batch)
    for a, b in zip(expected, got, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert sum(p.numel() for p in rebuilt.parameters()) < sum(p.numel() for p in model.parameters())


def test_pruned_widths_are_multiples_of_eight():
    from training.prune import channels_to_keep

    apoz = np.linspace(0.0, 1.0, 96)  # the top third has APoZ >= 0.67
    keep = channels_to_keep(apoz, threshold=0.67, max_fraction=0.5)
    assert keep.size % 8 == 0 and 64 <= keep.size < 96
    assert keep.max() < 96 and (np.diff(keep) > 0).all()
    assert set(range(60)) <= set(keep.tolist())  # low-APoZ channels always stay
