"""ColorMotionNet2's training-only switches leave what the engine runs unchanged."""

from __future__ import annotations

import torch

from training.export_v2 import example_inputs
from training.model_v2 import ColorMotionNet2


def _decode_grads(detach: bool):
    torch.manual_seed(0)
    net = ColorMotionNet2()
    x = example_inputs(net)
    ab, _ = net.decode(
        x["feat"],
        x["skip4"],
        x["skip2"],
        x["key"],
        x["guide"],
        x["ref_key"],
        x["ref_colour"],
        detach_classifier=detach,
    )
    ab.abs().mean().backward()  # an a*b* loss alone, no cross-entropy
    return ab.detach(), net.to_logits.weight.grad, net.to_residual.weight.grad


def test_a_detached_classifier_gives_the_same_colour_and_learns_from_cross_entropy_only():
    ab, logits_grad, residual_grad = _decode_grads(detach=False)
    ab_detached, logits_grad_detached, residual_grad_detached = _decode_grads(detach=True)
    torch.testing.assert_close(ab, ab_detached, rtol=0, atol=0)
    assert logits_grad.abs().sum() > 0 and residual_grad.abs().sum() > 0
    assert logits_grad_detached is None or logits_grad_detached.abs().sum() == 0
    assert residual_grad_detached.abs().sum() > 0
