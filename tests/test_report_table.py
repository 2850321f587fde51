"""training.report_table: the card's table of held-out figures from evaluate's reports."""

from __future__ import annotations

import json

import pytest

from training import report_table


def _report(folder, reference, sweep10, colourful):
    summary = {
        "clips": {"reference": {"1-59": reference, "31-59": reference - 2.5}},
        "hint_sweep": {"0": 23.7, "10": sweep10, "100": 30.7},
        "auto": {"colourfulness_ratio": colourful, "cdc_ratio": 1.15, "warp_error_ratio": 0.98},
        "persistence_gain_31-59": 0.61,
        "auto_over_gray": 0.65,
    }
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps({"summary": summary}))
    return folder / "report.json"


def test_one_column_per_report_with_the_figures_where_the_card_puts_them(tmp_path, capsys):
    first = _report(tmp_path / "runs" / "eval-2.3.1", 32.21, 25.91, 0.29)
    second = _report(tmp_path / "v12" / "eval-final", 32.4, 26.1, 0.35)
    assert report_table.main([str(first), str(second)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "| figure | target | runs/eval-2.3.1 | v12/eval-final |"
    rows = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
    assert rows["reference 1-59 / 31-59 (dB)"].endswith("| 32.21 / 29.71 | 32.40 / 29.90 |")
    assert rows["hint sweep 0 / 10 / 100 (dB)"].endswith("| 23.70 / 25.91 / 30.70 | 23.70 / 26.10 / 30.70 |")
    assert rows["colourfulness / CDC / warp (x truth)"].endswith(
        "| 0.29 / 1.15 / 0.98 | 0.35 / 1.15 / 0.98 |"
    )
    assert rows["ten hints on frame 0: gain on 31-59 (dB)"].endswith("| +0.61 | +0.61 |")
    # figures a report lacks (an older evaluate, a contract-1 model) show as "-"
    assert rows["flow baseline 1-59 / 31-59 (dB)"].endswith("| - / - | - / - |")
    assert rows["a*b* error at hinted pixels"].endswith("| - | - |")


def test_a_file_that_is_not_a_report_is_refused_by_name(tmp_path, capsys):
    other = tmp_path / "other.json"
    other.write_text("{}")
    with pytest.raises(SystemExit):
        report_table.main([str(other)])
    assert "other.json is not a training.evaluate report" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        report_table.main([str(tmp_path / "missing.json")])
    assert "cannot read report" in capsys.readouterr().err


def test_per_clip_rows_name_each_clip_with_its_figures(tmp_path, capsys):
    path = _report(tmp_path / "v12" / "eval-final", 32.4, 26.1, 0.35)
    report = json.loads(path.read_text())
    psnr = {"gray": {"1-59": 19.63}, "auto": {"1-59": 20.32}, "reference": {"1-59": 32.37}}
    report["clips"] = [
        {
            "name": "videos/coffee.mp4",
            "psnr": psnr,
            "auto": {"colourfulness": 14.5},
            "truth": {"colourfulness": 57.4},
        }
    ]
    path.write_text(json.dumps(report))
    assert report_table.main([str(path), "--per-clip"]) == 0
    out = capsys.readouterr().out
    assert "Per clip, v12/eval-final:" in out
    assert "| coffee.mp4 | 19.63 | 20.32 | 32.37 | - | - | 14.5 / 57.4 |" in out.splitlines()
