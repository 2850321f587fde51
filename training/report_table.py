"""The model card's table of held-out figures, from `training.evaluate` reports, beside the targets.

    python -m training.report_table RUNS/eval-2.3.1/report.json RUNS/v12/eval-final/report.json

Prints one Markdown row per figure of the "colour that follows the user" targets and one
column per report (headed by its two parent folders), so a card table is reproduced by one
command rather than copied by hand; `--per-clip` adds each report's table per held-out clip.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _get(summary: dict, *path: str) -> float | None:
    for key in path:
        if not isinstance(summary, dict) or key not in summary:
            return None
        summary = summary[key]
    return float(summary)


def _joined(values: list[float | None], form: str) -> str:
    return " / ".join("-" if value is None else format(value, form) for value in values)


# (figure, target, value paths into a report's summary, number format)
FIGURES = (
    ("reference 1-59 / 31-59 (dB)", ">= 33 / >= 31",
     (("clips", "reference", "1-59"), ("clips", "reference", "31-59")), ".2f"),
    ("flow baseline 1-59 / 31-59 (dB)", "(to beat)",
     (("clips", "flow_baseline", "1-59"), ("clips", "flow_baseline", "31-59")), ".2f"),
    ("ten hints on frame 0: gain on 31-59 (dB)", ">= +0.5", (("persistence_gain_31-59",),), "+.2f"),
    ("hint sweep 0 / 10 / 100 (dB)", ">= 24.4 / 28.4 / 31.1",
     (("hint_sweep", "0"), ("hint_sweep", "10"), ("hint_sweep", "100")), ".2f"),
    ("a*b* error at hinted pixels", "<= 3", (("hint_fidelity_ab",),), ".2f"),
    ("~25 % grid vs none (dB)", "never worse", (("mid_density_vs_none",),), "+.2f"),
    ("automatic over grey (dB)", ">= +1.5", (("auto_over_gray",),), "+.2f"),
    ("colourfulness / CDC / warp (x truth)", ">= 0.75 / <= 1.2 / <= 1.1",
     (("auto", "colourfulness_ratio"), ("auto", "cdc_ratio"), ("auto", "warp_error_ratio")), ".2f"),
)  # fmt: skip


def table(reports: dict[str, dict]) -> str:
    """Markdown rows: figure, target, then each report's value(s)."""
    lines = [
        "| figure | target | " + " | ".join(reports) + " |",
        "|---|---|" + "---|" * len(reports),
    ]
    for figure, target, paths, form in FIGURES:
        cells = [
            _joined([_get(report["summary"], *path) for path in paths], form) for report in reports.values()
        ]
        lines.append(f"| {figure} | {target} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


CLIP_COLUMNS = ("gray", "auto", "reference", "flow_baseline", "hints_on_frame_0")


def clip_table(report: dict) -> str:
    """Markdown rows per held-out clip: PSNR over frames 1-59 of each condition, and the automatic
    colour's colourfulness beside the truth's."""
    lines = [
        "| clip | gray | automatic | reference | flow baseline | 10 hints on frame 0 | colourfulness auto / truth |",
        "|---|---|---|---|---|---|---|",
    ]
    for clip in report["clips"]:
        psnr = [clip["psnr"].get(column, {}).get("1-59") for column in CLIP_COLUMNS]
        cells = ["-" if value is None else f"{value:.2f}" for value in psnr]
        colour = f"{clip['auto']['colourfulness']:.1f} / {clip['truth']['colourfulness']:.1f}"
        lines.append(f"| {clip['name'].split('/')[-1]} | " + " | ".join(cells) + f" | {colour} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "reports", type=Path, nargs="+", help="report.json files written by training.evaluate"
    )
    parser.add_argument("--per-clip", action="store_true", help="also each report's per-clip table")
    args = parser.parse_args(argv)
    reports = {}
    for path in args.reports:
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            parser.error(f"cannot read report {path}: {error}")
        if "summary" not in report:
            parser.error(f"{path} is not a training.evaluate report (it has no summary)")
        reports["/".join(path.parts[-3:-1]) or str(path)] = report  # e.g. v12/eval-final
    print(table(reports))
    if args.per_clip:
        for label, report in reports.items():
            print(f"\nPer clip, {label}:\n\n{clip_table(report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
