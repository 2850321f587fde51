"""The ONNX step model at run time: loading, contract checks, checksums, errors."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from colormotion import contract
from colormotion.model import ModelError, StepModel, default_model_path, describe_runtime, load_model


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _inputs(model: StepModel, height: int = 64, width: int = 96, seed: int = 0):
    rng = np.random.default_rng(seed)
    s, c = model.feature_stride, model.feature_channels
    return (
        rng.random((1, 1, height, width), np.float32),
        np.zeros((1, 3, height, width), np.float32),
        rng.standard_normal((1, c, height // s, width // s)).astype(np.float32),
        np.zeros((1, 2, height // s, width // s), np.float32),
        np.ones((1, 1, 1, 1), np.float32),
    )


@pytest.fixture()
def shipped_layout(random_model, tmp_path) -> Path:
    """A models/ folder like the shipped one: colormotion.onnx + SHA256SUMS."""
    folder = tmp_path / "models"
    folder.mkdir()
    model = folder / "colormotion.onnx"
    shutil.copyfile(random_model, model)
    (folder / "SHA256SUMS").write_text(f"{_sha256(model)}  colormotion.onnx\n")
    return folder


def test_step_follows_the_contract(random_model):
    model = StepModel(random_model, provider="cpu")
    assert model.provider == "CPUExecutionProvider"
    assert model.feature_channels > 0 and contract.SIZE_MULTIPLE % model.feature_stride == 0
    ab, feat, mask = model.step(*_inputs(model))
    s = model.feature_stride
    assert ab.shape == (1, 2, 64, 96) and ab.dtype == np.float32
    assert feat.shape == (1, model.feature_channels, 64 // s, 96 // s)
    assert mask.shape == (1, 1, 64 // s, 96 // s)
    again = model.step(*_inputs(model))
    assert all(np.array_equal(a, b) for a, b in zip((ab, feat, mask), again))


def test_features_alone_equal_the_full_step(random_model):
    model = load_model(random_model, "cpu")
    inputs = _inputs(model, seed=3)
    assert np.array_equal(model.features(*inputs), model.step(*inputs)[1])


def test_chain_start_ignores_previous_features(random_model):
    model = load_model(random_model, "cpu")
    gray, hints, prev, flow, _ = _inputs(model)
    start_a = model.step(gray, hints, prev, flow, 0.0)[0]
    start_b = model.step(gray, hints, None, None, 0.0)[0]
    continued = model.step(gray, hints, prev, flow, 1.0)[0]
    np.testing.assert_allclose(start_a, start_b, atol=1e-6)
    assert not np.allclose(start_a, continued)


def test_step_rejects_bad_shapes(random_model):
    model = load_model(random_model, "cpu")
    gray, hints, prev, flow, has_prev = _inputs(model)
    with pytest.raises(ValueError, match="multiple of 32"):
        model.step(gray[..., :50], hints[..., :50], None, None, 0.0)
    with pytest.raises(ValueError, match="hints"):
        model.step(gray, hints[:, :2], prev, flow, has_prev)


def test_load_model_shares_one_instance(random_model):
    assert load_model(random_model, "cpu") is load_model(random_model, "cpu")


def test_unavailable_provider_falls_back_to_cpu(random_model, caplog):
    model = load_model(random_model, "tensorrt")
    assert model.provider in ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
    with pytest.raises(ModelError, match="unknown provider"):
        StepModel(random_model, provider="metal")


def test_missing_model_names_the_file(tmp_path):
    missing = tmp_path / "nowhere.onnx"
    with pytest.raises(ModelError, match="nowhere.onnx"):
        load_model(missing)


def test_corrupt_model_names_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x01this is not a protobuf" * 10)
    with pytest.raises(ModelError, match="corrupt.onnx"):
        load_model(corrupt)


def test_checksum_mismatch_names_the_file(shipped_layout, monkeypatch):
    model = shipped_layout / "colormotion.onnx"
    model.write_bytes(model.read_bytes()[:-16] + b"\0" * 16)  # damaged in transit
    monkeypatch.setenv("COLORMOTION_MODEL_DIR", str(shipped_layout))
    with pytest.raises(ModelError, match=r"colormotion\.onnx is damaged.*reinstall"):
        load_model()


def test_missing_checksum_entry_or_file(shipped_layout, monkeypatch):
    monkeypatch.setenv("COLORMOTION_MODEL_DIR", str(shipped_layout))
    sums = shipped_layout / "SHA256SUMS"
    sums.write_text("0" * 64 + "  other.onnx\n")
    with pytest.raises(ModelError, match="no entry for colormotion.onnx"):
        load_model()
    sums.unlink()
    with pytest.raises(ModelError, match="SHA256SUMS is missing"):
        load_model()


def test_default_model_is_found_and_verified(shipped_layout, monkeypatch):
    monkeypatch.setenv("COLORMOTION_MODEL_DIR", str(shipped_layout))
    assert default_model_path() == shipped_layout / "colormotion.onnx"
    model = load_model()
    assert model.sha256 == _sha256(shipped_layout / "colormotion.onnx")
    info = describe_runtime()
    assert info["sha256"] == model.sha256 and info["feature_channels"] == model.feature_channels
    assert {"onnxruntime", "numpy", "opencv", "provider", "available_providers"} <= set(info)
    assert info["hint_spread"] == "available"  # the package depends on OpenCV with contrib


def test_explicit_custom_model_needs_no_checksum(random_model, caplog):
    assert StepModel(random_model).sha256 == _sha256(random_model)


def test_model_breaking_the_contract_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "not-colormotion",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "identity.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises(ModelError, match="identity.onnx.*step model needs inputs"):
        load_model(path)


def test_describe_runtime_reports_a_broken_model(tmp_path):
    info = describe_runtime(tmp_path / "gone.onnx")
    assert "gone.onnx" in info["model_error"] and "onnxruntime" in info


def test_missing_onnxruntime_names_the_extra_to_install(monkeypatch):
    import builtins

    from colormotion import model

    real_import = builtins.__import__

    def refuse_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse_onnxruntime)
    with pytest.raises(model.ModelError, match=r"colormotion\[cpu\]"):
        model.available_providers()


def test_an_installed_contract_2_folder_is_the_default_and_is_verified(
    shipped_layout, random_graph_model, monkeypatch
):
    from colormotion.graph_model import GraphModel

    monkeypatch.setenv("COLORMOTION_MODEL_DIR", str(shipped_layout))
    folder = shipped_layout / "colormotion2"
    shutil.copytree(random_graph_model, folder)
    graphs = sorted(folder.glob("*.onnx"))
    (folder / "SHA256SUMS").write_text("".join(f"{_sha256(g)}  {g.name}\n" for g in graphs))
    assert default_model_path() == folder
    model = load_model()
    assert isinstance(model, GraphModel) and model.path == folder
    graphs[0].write_bytes(graphs[0].read_bytes() + b"\0")  # damaged after install
    with pytest.raises(ModelError):
        GraphModel(folder, explicit=False)


def test_frames_rendered_at_once_share_the_cores_between_their_sessions(
    random_model, random_graph_model, monkeypatch
):
    """Two render threads on two cores run one ONNX Runtime thread each, not two each (bench)."""
    import argparse

    from colormotion.cli.engine import build_node
    from colormotion.model import session_threads

    monkeypatch.setenv("COLORMOTION_THREADS", "4")
    assert [session_threads(n) for n in (1, 2, 3, 4, 8)] == [4, 2, 1, 1, 1]
    for path in (random_model, random_graph_model):
        for render_threads, expected in ((1, 4), (2, 2)):
            args = argparse.Namespace(
                model=str(path), provider="cpu", stateless=False, strength=None, vividness=None, hint_spread=None,
                working_resolution=None, window=None, cut_sensitivity=None, transfer=None,
                render_threads=render_threads,
            )  # fmt: skip
            node, params = build_node(args, None)
            model = node.model(0, params)
            sessions = model._sessions.values() if hasattr(model, "_sessions") else [model._session]
            assert {s.get_session_options().intra_op_num_threads for s in sessions} == {expected}


@pytest.mark.parametrize("height, width", [(256, 320), (128, 128)])
def test_the_shipped_graphs_give_the_same_bits_with_any_thread_count(height, width):
    """Hosts and the command line run different onnxruntime thread counts per session, and
    frames must not depend on it: a graph whose kernels split a sum over threads (a convolution
    on a tiny map did, see `training.export_v2.pad_conv_input_channels`) would make melt's frames
    differ from the command line's by one level. 128x128 puts the stride-8 layers on 16x16."""
    from colormotion.model import open_session

    folder = default_model_path()
    rng = np.random.default_rng(0)
    values = {
        "gray": rng.random((1, 1, height, width), dtype=np.float32),
        "guide": rng.random((1, 3, height, width), dtype=np.float32),
        "has_prev": np.ones((1, 1, 1, 1), np.float32),
        "vividness": np.full((1, 1, 1, 1), 0.5, np.float32),
    }
    thread_counts = (1, 2, 3, 4)
    for graph, (inputs, names) in contract.GRAPHS_2.items():
        if graph == "blend":
            values["prev_feat"] = rng.standard_normal(values["current"].shape).astype(np.float32)
            h, w = values["current"].shape[2:]
            values["flow"] = rng.uniform(-2, 2, (1, 2, h, w)).astype(np.float32)
        runs = []
        for threads in thread_counts:
            session = open_session(contract.graph_file(folder, graph), "cpu", False, threads=threads)
            runs.append(session.run(list(names), {name: values[name] for name in inputs}))
        for threads, run in zip(thread_counts[1:], runs[1:]):
            for name, one, other in zip(names, runs[0], run):
                assert np.array_equal(one, other), f"{graph}.{name} differs between 1 and {threads} threads"
        values.update(zip(names, runs[0]))
