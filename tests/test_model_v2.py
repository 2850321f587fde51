"""ColorMotionNet2's training-only switches leave what the engine runs unchanged."""

from __future__ import annotations

import pytest
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


def test_the_state_activation_is_a_prelu_and_older_checkpoints_keep_their_relu(tmp_path):
    """Behind a ReLU, run v2's state features almost never fired on full frames: new networks
    use a PReLU; a checkpoint written before (no key in its spec) loads as it was trained, and a
    fine-tune switches it to a PReLU with slope 0, the same function, whose slope then learns."""
    from training.train_v2 import TrainConfig, build_model, build_optimizer, load_checkpoint_model

    torch.manual_seed(0)
    fresh = ColorMotionNet2()
    assert fresh.spec()["state_activation"] == "prelu"
    old_net = ColorMotionNet2(state_activation="relu")
    spec = {key: value for key, value in old_net.spec().items() if key != "state_activation"}
    old = tmp_path / "old.pt"
    torch.save({"model": old_net.state_dict(), "model_spec": spec, "class_weights": None}, old)
    gray = torch.rand(2, 1, 64, 96)
    loaded = load_checkpoint_model(old)
    assert loaded.state_activation == "relu"
    with torch.no_grad():
        relu_features = loaded.encode(gray)[0]
    assert (relu_features >= 0).all()

    switched = build_model(TrainConfig(init_from=str(old)))
    assert switched.spec()["state_activation"] == "prelu"
    with torch.no_grad():
        torch.testing.assert_close(switched.encode(gray)[0], relu_features, rtol=0, atol=0)
    # the slope gets a gradient where the features are negative, and no weight decay
    current = switched.encode(gray)[0]
    current.sum().backward()
    assert switched.state_act.weight.grad.abs().sum() > 0
    groups = build_optimizer(switched, TrainConfig())
    slope_group = [g for g in groups.param_groups if any(p is switched.state_act.weight for p in g["params"])]
    assert slope_group and slope_group[0]["weight_decay"] == 0.0
    with pytest.raises(ValueError, match="cannot go back"):
        saved = tmp_path / "prelu.pt"
        torch.save(
            {"model": switched.state_dict(), "model_spec": switched.spec(), "class_weights": None}, saved
        )
        build_model(TrainConfig(init_from=str(saved), state_activation="relu"))
