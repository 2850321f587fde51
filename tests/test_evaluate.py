"""training/evaluate.py runs both contracts on the held-out split (short: 4 frames, 2 photos)."""

from __future__ import annotations

import json

import pytest

from training.data import DATA_ROOT
from training.evaluate import main

pytestmark = pytest.mark.skipif(not (DATA_ROOT / "videos").is_dir(), reason="../shared/data is absent")


@pytest.mark.parametrize("which", ["random_graph_model", "random_model"])
def test_the_evaluation_reports_every_figure_its_model_can_give(which, request, tmp_path):
    model = request.getfixturevalue(which)
    assert (
        main(["--model", str(model), "--out", str(tmp_path), "--max-photos", "2", "--max-frames", "4"]) == 0
    )
    summary = json.loads((tmp_path / "report.json").read_text())["summary"]
    clips = summary["clips"]
    assert {"gray", "auto", "flow_baseline", "hints_on_frame_0"} <= set(clips)
    assert ("reference" in clips) == (which == "random_graph_model")  # a step model takes no reference
    assert set(summary["hint_sweep"]) >= {"0", "10", "100"} and summary["hint_fidelity_ab"] >= 0
    assert "auto_over_gray" in summary and "colourfulness_ratio" in summary["auto"]


def test_a_missing_model_is_a_usage_error_that_names_it(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--model", str(tmp_path / "none.onnx"), "--out", str(tmp_path)])
    assert stop.value.code == 2 and "none.onnx" in capsys.readouterr().err


def test_vividness_and_hint_spread_are_recorded_and_bad_values_are_usage_errors(
    random_graph_model, random_model, tmp_path, capsys
):
    argv = ["--out", str(tmp_path), "--max-photos", "1", "--max-frames", "3"]
    assert main(["--model", str(random_graph_model), "--vividness", "0.5", "--hint-spread", "2", *argv]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["vividness"], report["hint_spread"]) == (0.5, 2.0)
    for bad in (
        ["--model", str(random_graph_model), "--vividness", "-1"],
        ["--model", str(random_graph_model), "--hint-spread", "4.5"],
        ["--model", str(random_model), "--vividness", "0.5"],
    ):
        with pytest.raises(SystemExit) as stop:
            main([*bad, *argv])
        assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--vividness must lie in 0..2" in err and "needs a contract-2 model" in err
    assert "--hint-spread must lie in 0..4, got 4.5" in err
