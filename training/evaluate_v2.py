"""Reference propagation of a v2 checkpoint, run in PyTorch, beside the training-free baseline.

    python -m training.evaluate_v2 --checkpoint ../colormotion-runs/v2/last.pt

Until the engine runs contract 2 this scores a training checkpoint directly: the held-out clips
(`training.data.split`), the ground truth of frame 0 as the reference, PSNR of frames 1-59 and
per time bin (1-10, 11-30, 31-59), for gray, the flow baseline (`training.baselines`) and the
network (state carried frame to frame, the reference carried to each frame by
`colormotion.temporal.propagate`, as the engine will). Also automatic colour (no reference).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from colormotion import colour, contract
from colormotion.temporal import propagate
from colormotion.temporal.cuts import is_scene_cut
from colormotion.temporal.flow import feature_flow

from training import metrics
from training.baselines import propagate_reference
from training.data import DATA_ROOT, split
from training.evaluate import Settings, load_clip_frames, prepare
from training.model_v2 import ColorMotionNet2, pooled, premultiplied
from training.train_v2 import load_checkpoint_model

BINS = ((1, 10), (11, 30), (31, 59))


@torch.no_grad()
def network_outputs(model: ColorMotionNet2, frames, reference: bool) -> list[np.ndarray]:
    """a*b*/110 [2, h, w] per frame: state carried frame to frame (reset at cuts)."""
    first = frames[0]
    ones = np.ones((1, *first.gray.shape), np.float32)
    ref_guide = (
        np.concatenate([first.ab_true, ones]) if reference else np.zeros((3, *first.gray.shape), np.float32)
    )
    ref_gray_t = torch.from_numpy(first.gray)[None, None]
    _, ref_key, _, _ = model.encode(ref_gray_t)
    ref_colour = pooled(premultiplied(torch.from_numpy(ref_guide)[None]), model.KEY_STRIDE)
    outputs, feat, guide = [], None, None
    for t, frame in enumerate(frames):
        gray = torch.from_numpy(frame.gray)[None, None]
        current, key, s4, s2 = model.encode(gray)
        cut = t > 0 and is_scene_cut(frames[t - 1].gray, frame.gray)
        carried = []
        if reference:
            carried.append(ref_guide if t == 0 else propagate.carry(frame.gray, first.gray, ref_guide))
        if feat is None or cut:
            prev, flow, has_prev = model.zero_state(current)
        else:
            prev = feat
            flow = torch.from_numpy(feature_flow(frame.gray, frames[t - 1].gray, model.FEATURE_STRIDE))[None]
            has_prev = torch.ones(1, 1, 1, 1)
            carried.append(propagate.chain_output(frame.gray, frames[t - 1].gray, outputs[-1], guide))
        feat, _ = model.blend(current, prev, flow, has_prev)
        guide = propagate.frame_guide(frame.gray.shape, carried, None)
        ab, _ = model.decode(feat, s4, s2, key, torch.from_numpy(guide)[None], ref_key, ref_colour)
        outputs.append(ab[0].numpy())
    return outputs


def to_rgb(frame, ab_scaled: np.ndarray) -> np.ndarray:
    ab = np.ascontiguousarray(ab_scaled.transpose(1, 2, 0)) * contract.AB_SCALE
    return colour.recombine(frame.rgb, ab, "srgb", lab=frame.lab)


def summarise(psnrs: list[float]) -> dict:
    out = {"1-59": float(np.mean(psnrs[1:]))}
    for low, high in BINS:
        chosen = psnrs[low : high + 1]
        if chosen:
            out[f"{low}-{high}"] = float(np.mean(chosen))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_checkpoint_model(args.checkpoint)
    settings = Settings()
    report: dict = {}
    for clip in split.VAL_CLIPS:
        rgb_frames = load_clip_frames(DATA_ROOT / clip, settings)
        frames = [prepare(rgb, settings.work_short_side) for rgb in rgb_frames]
        runs = {
            "gray": [np.zeros_like(f.ab_true) for f in frames],
            "flow_baseline": propagate_reference([f.gray for f in frames], frames[0].ab_true),
            "network_reference": network_outputs(model, frames, reference=True),
            "network_auto": network_outputs(model, frames, reference=False),
        }
        report[clip] = {}
        for name, abs_ in runs.items():
            outputs = [to_rgb(f, ab) for f, ab in zip(frames, abs_)]
            scores = summarise([metrics.psnr(o, f.rgb) for o, f in zip(outputs, frames)])
            scores["colourfulness_ratio"] = float(
                np.mean([metrics.colourfulness(o) for o in outputs[1:]])
                / max(1e-6, np.mean([metrics.colourfulness(f.rgb) for f in frames[1:]]))
            )
            report[clip][name] = scores
        print(clip, json.dumps(report[clip]), flush=True)
    names = next(iter(report.values())).keys()
    mean = {
        n: {k: float(np.mean([report[c][n][k] for c in report])) for k in report[next(iter(report))][n]}
        for n in names
    }
    print("MEAN", json.dumps(mean, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
