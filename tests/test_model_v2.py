"""ColorMotionNet2's training-only switches leave what the engine runs unchanged."""

from __future__ import annotations

import pytest
import torch

from tests._nets import decoded
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


def test_new_networks_use_prelus_and_older_checkpoints_keep_their_relus(tmp_path):
    """Behind ReLUs, run v2's state features became a sparse, memorising code and most stride-2
    decoder units died: new networks use PReLUs there; a checkpoint written before (no key in
    its spec) loads as it was trained, and a fine-tune switches it: the decoder's ReLUs become
    PReLUs of slope 0, the state path starts afresh (unit-spread features nobody reads yet), so
    the network starts as the ReLU one with its state ignored. The slopes learn without decay."""
    from training.train_v2 import TrainConfig, build_model, build_optimizer, load_checkpoint_model

    torch.manual_seed(0)
    fresh = ColorMotionNet2()
    assert fresh.spec()["activation"] == "prelu"
    assert not any(
        isinstance(m, torch.nn.ReLU) for part in (fresh.at8, fresh.at4, fresh.at2) for m in part.modules()
    )
    old_net = ColorMotionNet2(activation="relu")
    spec = {key: value for key, value in old_net.spec().items() if key != "activation"}
    old = tmp_path / "old.pt"
    torch.save({"model": old_net.state_dict(), "model_spec": spec, "class_weights": None}, old)
    loaded = load_checkpoint_model(old)
    assert loaded.activation == "relu"
    gray = torch.rand(4, 1, 64, 96)
    with torch.no_grad():
        assert (loaded.encode(gray)[0] >= 0).all()
        loaded.at8[0][0].weight[:, :64] = 0  # the ReLU network with its state ignored
    x = example_inputs(loaded)
    names = ("skip4", "skip2", "key", "guide", "ref_key", "ref_colour")

    switched = build_model(TrainConfig(init_from=str(old)), gray)
    assert switched.spec()["activation"] == "prelu"
    prelus = [m for m in switched.modules() if isinstance(m, torch.nn.PReLU)]
    assert len(prelus) == 8  # the state, fuse, at8 (its conv and 3 residuals), at4, at2
    with torch.no_grad():
        want = loaded.decode(x["feat"], *(x[n] for n in names))[0]
        for feat in (x["feat"], torch.randn_like(x["feat"])):  # whatever the state is
            torch.testing.assert_close(switched.decode(feat, *(x[n] for n in names))[0], want, rtol=0, atol=0)
        _, _, s8, s16 = switched.encoder(gray)
        pre = switched.state_preactivation(s8, s16)
    torch.testing.assert_close(pre.mean(dim=(0, 2, 3)), torch.zeros(64), atol=1e-4, rtol=0)
    torch.testing.assert_close(pre.std(dim=(0, 2, 3)), torch.ones(64), atol=1e-4, rtol=0)
    switched.encode(gray)[0].sum().backward()
    assert switched.state_act.weight.grad.abs().sum() > 0
    optimizer = build_optimizer(switched, TrainConfig())
    no_decay = [g for g in optimizer.param_groups if g["weight_decay"] == 0.0]
    assert len(no_decay) == 1 and {id(p) for p in no_decay[0]["params"]} == {id(m.weight) for m in prelus}
    saved = tmp_path / "prelu.pt"
    torch.save({"model": switched.state_dict(), "model_spec": switched.spec(), "class_weights": None}, saved)
    assert load_checkpoint_model(saved).activation == "prelu"
    with pytest.raises(ValueError, match="cannot go back"):
        build_model(TrainConfig(init_from=str(saved), activation="relu"))
    with pytest.raises(ValueError, match="sample frames"):
        build_model(TrainConfig(init_from=str(old)))


def test_adding_the_coarse_path_leaves_a_trained_network_unchanged_until_it_learns(tmp_path):
    """A fine-tune of a checkpoint without the coarse path (runs v2 to v5) adds it with its
    output layer at zero: the same colours bit for bit, a gradient into the new layers, PReLUs
    like the rest of the decoder, and a checkpoint that reloads with it."""
    from training.train_v2 import TrainConfig, build_model, load_checkpoint_model

    torch.manual_seed(0)
    plain = ColorMotionNet2()
    assert plain.coarse is None and "coarse" not in plain.spec()  # older specs stay as they were
    old = tmp_path / "v5.pt"
    torch.save({"model": plain.state_dict(), "model_spec": plain.spec(), "class_weights": None}, old)
    x = example_inputs(plain, 64, 96)

    tuned = build_model(TrainConfig(init_from=str(old), coarse_context=True))
    assert tuned.spec()["coarse"] is True
    assert sum(isinstance(m, torch.nn.PReLU) for m in tuned.coarse.modules()) == 4
    torch.testing.assert_close(decoded(tuned, x), decoded(plain, x), rtol=0, atol=0)

    names = ("feat", "skip4", "skip2", "key", "guide", "ref_key", "ref_colour")
    tuned.decode(*(x[n] for n in names))[0].abs().mean().backward()
    assert tuned.coarse.out.weight.grad.abs().sum() > 0

    saved = tmp_path / "v6.pt"
    torch.save({"model": tuned.state_dict(), "model_spec": tuned.spec(), "class_weights": None}, saved)
    assert load_checkpoint_model(saved).coarse is not None
    with pytest.raises(ValueError, match="already"):
        tuned.add_coarse_context()


def test_adding_the_scene_path_leaves_a_trained_network_unchanged_until_it_learns(tmp_path):
    """A fine-tune of a checkpoint without the scene path (models up to 2.5) adds a frozen,
    pretrained MobileNetV2 with its projection at zero: the same state features and colours
    bit for bit, a gradient into the projection, a trunk that training never moves, and a
    checkpoint that reloads with it."""
    from training.mobilenet_tflite import MobileNetV2, load_tflite_mobilenet_v2
    from training.train_v2 import TFLITE, TrainConfig, build_model, build_optimizer, load_checkpoint_model

    if not TFLITE.is_file():
        pytest.skip("../shared/data (the pretrained MobileNetV2) is not available")
    torch.manual_seed(0)
    plain = ColorMotionNet2(coarse=True)
    assert plain.scene is None and "scene" not in plain.spec()  # older specs stay as they were
    old = tmp_path / "v16.pt"
    torch.save({"model": plain.state_dict(), "model_spec": plain.spec(), "class_weights": None}, old)
    gray = torch.rand(2, 1, 64, 96)

    config = TrainConfig(init_from=str(old), scene_context=True)
    tuned = build_model(config)
    assert tuned.spec()["scene"] is True
    for want, got in zip(plain.eval().encode(gray), tuned.eval().encode(gray)):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    x = example_inputs(plain, 64, 96)
    torch.testing.assert_close(decoded(tuned, x), decoded(plain, x), rtol=0, atol=0)

    pretrained = load_tflite_mobilenet_v2(TFLITE)
    assert torch.equal(tuned.scene.trunk[0][0].weight, pretrained.stem[0].weight)
    for net in (tuned, ColorMotionNet2(pretrained, scene=True)):  # its own copy, never the encoder's
        assert not {id(p) for p in net.scene.trunk.parameters()} & {id(p) for p in net.encoder.parameters()}
    optimizer = build_optimizer(tuned, config)
    trunk_before = [p.clone() for p in tuned.scene.trunk.parameters()]
    for _ in range(2):
        optimizer.zero_grad()
        tuned.train().encode(gray)[0].abs().mean().backward()
        assert tuned.scene.out.weight.grad.abs().sum() > 0
        optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(tuned.scene.trunk.parameters(), trunk_before))
    assert tuned.scene.out.weight.abs().sum() > 0

    saved = tmp_path / "v17.pt"
    torch.save({"model": tuned.state_dict(), "model_spec": tuned.spec(), "class_weights": None}, saved)
    reloaded = load_checkpoint_model(saved)
    torch.testing.assert_close(reloaded.encode(gray)[0], tuned.eval().encode(gray)[0], rtol=0, atol=0)
    assert not any(p.requires_grad for p in reloaded.scene.trunk.parameters())
    with pytest.raises(ValueError, match="already"):
        tuned.add_scene_context(MobileNetV2())


def test_the_coarse_path_carries_a_hint_across_the_whole_frame():
    """The stride-8 layers reach ~17 cells: a hint in one corner of a 256x256 frame cannot
    touch the opposite corner without the coarse path, and does with it."""
    torch.manual_seed(0)
    plain = ColorMotionNet2()
    wide = ColorMotionNet2(coarse=True)
    wide.load_state_dict(plain.state_dict(), strict=False)
    with torch.no_grad():
        torch.nn.init.normal_(wide.coarse.out.weight, std=0.1)  # as after training
    x = example_inputs(plain, 256, 256)
    x["ref_colour"] = torch.zeros_like(x["ref_colour"])  # no reference: only the hint differs
    without = torch.zeros(1, 3, 256, 256)
    hinted = without.clone()
    hinted[0, :, 2:8, 2:8] = torch.tensor([0.5, -0.3, 1.0])[:, None, None]
    far = (..., slice(192, 256), slice(192, 256))
    for net, reaches in ((plain, False), (wide, True)):
        change = (decoded(net, x, hinted) - decoded(net, x, without))[far].abs().max()
        assert bool(change > 0) == reaches, (net.spec(), float(change))


# -- the formulations chosen for onnxruntime's speed compute the textbook ones ------------------


def test_the_gather_warp_samples_as_grid_sample_does_inside_and_beyond_the_border():
    from training.model import warp
    from training.model_v2 import warp_gather

    torch.manual_seed(0)
    features = torch.randn(2, 5, 8, 12)
    flow = (torch.rand(2, 2, 8, 12) - 0.5) * 30  # many positions land outside the grid
    flow[0, :, 0, 0] = torch.tensor([3.0, 2.0])  # an exact grid position
    torch.testing.assert_close(warp_gather(features, flow), warp(features, flow), rtol=0, atol=1e-5)


def test_a_separable_layer_on_parts_is_the_layer_on_their_concat():
    from training.model import separable_conv_relu
    from training.model_v2 import separable_on_parts

    torch.manual_seed(0)
    layer = separable_conv_relu(11, 6)
    parts = (torch.randn(1, 8, 9, 10), torch.randn(1, 2, 9, 10), torch.randn(1, 1, 9, 10))
    torch.testing.assert_close(
        separable_on_parts(layer, parts), layer(torch.cat(parts, dim=1)), rtol=0, atol=1e-5
    )
    with pytest.raises(ValueError, match="10 channels"):
        separable_on_parts(layer, parts[:2])


def test_the_annealed_mean_is_the_softmax_weighted_mean_of_the_bins_even_for_large_logits():
    from training.model_v2 import ANNEAL_TEMPERATURE, annealed_mean

    torch.manual_seed(0)
    bins = torch.rand(7, 2) - 0.5
    classifier = torch.nn.Conv2d(5, 7, 1)
    features = torch.randn(2, 5, 3, 4) * 40  # exp(logits / T) alone would overflow
    shift = torch.randn(7)
    logits = classifier(features)
    probabilities = torch.softmax((logits - shift[None, :, None, None]) / ANNEAL_TEMPERATURE, dim=1)
    expected = torch.einsum("nqhw,qc->nchw", probabilities, bins)
    for adjustment in (shift, shift.reshape(1, 1, 1, 7).expand(2, 1, 1, 7)):
        got, got_logits = annealed_mean(features, classifier, bins, adjustment)
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)  # logits ~100: float32 rounding
        torch.testing.assert_close(got_logits, logits, rtol=1e-5, atol=1e-4)
    plain = torch.einsum("nqhw,qc->nchw", torch.softmax(logits / ANNEAL_TEMPERATURE, dim=1), bins)
    got, got_logits = annealed_mean(features, classifier, bins)
    torch.testing.assert_close(got, plain, rtol=0, atol=1e-5)
    torch.testing.assert_close(got_logits, logits, rtol=1e-5, atol=1e-4)


def test_the_merged_residual_and_gate_convolution_is_the_two_convolutions():
    torch.manual_seed(0)
    net = ColorMotionNet2()
    torch.nn.init.normal_(net.to_residual.weight)
    torch.nn.init.normal_(net.to_gate.weight)
    x, guide2 = torch.randn(1, 24, 8, 8), torch.rand(1, 3, 8, 8)
    residual, gate = net.residual_and_gate(x, guide2)
    torch.testing.assert_close(residual, net.to_residual(x), rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(gate, net.to_gate(torch.cat((x, guide2), dim=1)), rtol=1e-6, atol=1e-5)


def test_the_gather_warp_indexes_exactly_with_a_bfloat16_flow():
    """bfloat16 holds integers exactly only up to 256: a 24x24 grid's last index, 575, became
    576 when the index was computed in the flow's dtype (training under --bf16 autocast)."""
    from training.model_v2 import warp_gather

    torch.manual_seed(0)
    features = torch.randn(1, 3, 24, 24)
    flow = ((torch.rand(1, 2, 24, 24) - 0.5) * 60).bfloat16()  # many positions clamp to the border
    torch.testing.assert_close(
        warp_gather(features, flow), warp_gather(features, flow.float()), rtol=0, atol=0
    )


def test_the_work_counter_counts_the_classifiers_matmuls():
    """The annealed mean's classifier runs as MatMuls, not as a 1x1 conv: the count keeps them
    (the budget of 2 GFLOPs per frame is checked on it). 0.55694 GFLOPs is decode's count at
    256x256 from when the classifier was a conv (commit a22aa24)."""
    from training.model_v2 import graph_gflops

    assert graph_gflops(ColorMotionNet2())["decode"] == pytest.approx(0.556941312, rel=1e-9)
