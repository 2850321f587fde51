"""Helpers for the contract-2 network's tests."""

from __future__ import annotations

import torch

from training.model_v2 import ColorMotionNet2


def decoded(net: ColorMotionNet2, x: dict, guide: torch.Tensor | None = None) -> torch.Tensor:
    """decode's a*b* for the inputs `x` (training.export_v2.example_inputs), with `guide`
    instead of x's guide when given."""
    with torch.no_grad():
        return net.decode(
            x["feat"], x["skip4"], x["skip2"], x["key"], x["guide"] if guide is None else guide,
            x["ref_key"], x["ref_colour"],
        )[0]  # fmt: skip
