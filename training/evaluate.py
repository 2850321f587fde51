"""Evaluate a model through the product's engine on the held-out split.

    python -m training.evaluate                                     # the shipped model
    python -m training.evaluate --model models/colormotion2          # a model folder
    python -m training.evaluate --checkpoint RUN/last.pt          # exported to a temporary folder first
    python -m training.evaluate --model models/colormotion.onnx  # round 1's step model, beside it

A contract-1 step model (round 1) gets every figure but reference propagation, which it cannot
do: the model card shows both models on the same split.

Everything runs through `colormotion.temporal.engine.TemporalEngine`, as users get it (working
short side 256; clips scored at short side 360, 60 frames; photos at 256x256). Figures:

clips      gray; automatic colour: PSNR, colourfulness, CDC and warp error, the last three also
           as ratios to the ground truth's (per clip; in the summary, of the means over clips);
           reference propagation (the true frame 0 as the reference, PSNR of frames 1-59 and
           per time bin 1-10 / 11-30 / 31-59) beside the training-free flow baseline
           (`training.baselines`); sparse-hint persistence (10 hints on frame 0, carried on:
           PSNR gain over automatic on frames 31-59)
photos     the hint sweep of Zhang et al. 2017 (n patches of 6x6 px of the true mean a*b*, as
           discs of the same area); a*b* error at the hinted pixels (10 hints); mid-density hints
           (a grid covering ~25 % of the frame) against none

Writes report.json under --out and prints its summary (JSON).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from colormotion import colour, contract
from colormotion.graph_model import GraphModel
from colormotion.hints import ActiveHint
from colormotion.model import ModelError, StepModel, default_model_path
from colormotion.references import ReferenceFrame
from colormotion.temporal.cache import PROCESS_CACHE
from colormotion.temporal.engine import EngineSettings, TemporalEngine

from training import metrics
from training.baselines import propagate_reference
from training.data import DATA_ROOT, REPO_ROOT, split
from training.data.scenes import iter_rgb_frames, video_info

BINS = ((1, 10), (11, 30), (31, 59))
HINT_COUNTS = (0, 1, 2, 5, 10, 20, 50, 100)
PATCH = 6  # px at working resolution, as Zhang et al.'s test sweep
MID_DENSITY = 0.25
PHOTO_SIZE = 256
ZHANG_2017 = {0: 24.43, 10: 28.42, 100: 31.13}  # their published sweep (ImageNet, their model)


@dataclass(frozen=True)
class Settings:
    work_short_side: int = 256  # the engine's working short side (multiple of 32)
    eval_short_side: int = 360  # clips are scored at this short side (never upscaled)
    max_frames: int = 60  # frames per clip
    vividness: float = 0.0  # the engine's vividness for every figure
    hint_spread: float = 1.0  # the engine's hint spread (its default) for every figure


@dataclass
class Frame:
    """One source frame and what the model needs of it."""

    rgb: np.ndarray  # uint8 [H, W, 3], the original
    lab: np.ndarray  # [H, W, 3]
    gray: np.ndarray  # [h, w] L*/100 at working resolution
    ab_true: np.ndarray  # [2, h, w] a*b*/110 of the original at working resolution


def prepare(rgb: np.ndarray, work_short_side: int) -> Frame:
    lab = colour.to_lab(rgb, "srgb")
    size = colour.working_size(rgb.shape[0], rgb.shape[1], work_short_side)
    gray = colour.model_gray(lab, size)
    ab = cv2.resize(lab[..., 1:], (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return Frame(rgb, lab, gray, np.ascontiguousarray(ab.transpose(2, 0, 1) / contract.AB_SCALE, np.float32))


@dataclass
class ListSource:
    """A clip held in memory, as the engine's FrameSource."""

    frames: list[np.ndarray]
    identity: str | None = None
    first_frame: int = 0
    random_access: bool = True

    @property
    def last_frame(self) -> int:
        return len(self.frames) - 1

    def frame(self, t: int) -> np.ndarray:
        return self.frames[t]


def load_clip_frames(path: Path, settings: Settings) -> list[np.ndarray]:
    _, width, height = video_info(path)
    short = min(settings.eval_short_side, width, height)
    scale = short / min(width, height)
    size = (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2))
    frames = []
    for rgb in iter_rgb_frames(path, *size):
        frames.append(rgb)
        if len(frames) >= settings.max_frames:
            break
    if not frames:
        raise ValueError(f"{path}: no frames decoded")
    return frames


def load_photo_square(path: Path, size: int = PHOTO_SIZE) -> np.ndarray:
    """uint8 RGB photo, short side resized to `size` and centre-cropped to size x size."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read photo {path}")
    height, width = bgr.shape[:2]
    scale = size / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(bgr, (new_w, new_h), interpolation=interpolation)
    y0, x0 = (new_h - size) // 2, (new_w - size) // 2
    return np.ascontiguousarray(resized[y0 : y0 + size, x0 : x0 + size, ::-1])


def random_patches(rng: np.random.Generator, size: tuple[int, int], count: int) -> list[tuple[int, int]]:
    height, width = size
    return [
        (int(rng.integers(0, height - PATCH + 1)), int(rng.integers(0, width - PATCH + 1)))
        for _ in range(count)
    ]


def patch_hints(frame, patches: list[tuple[int, int]]) -> list[ActiveHint]:
    """Each patch as a hint disc of the patch's area filled with its true mean a*b*."""
    height, width = frame.gray.shape
    radius = math.sqrt(PATCH * PATCH / math.pi) / min(height, width)
    hints = []
    for y, x in patches:
        ab = frame.ab_true[:, y : y + PATCH, x : x + PATCH].reshape(2, -1).mean(axis=1) * contract.AB_SCALE
        centre_x, centre_y = (x + PATCH / 2) / width, (y + PATCH / 2) / height
        hints.append(ActiveHint(centre_x, centre_y, (50.0, float(ab[0]), float(ab[1])), radius))
    return hints


def grid_hints(frame, cover: float) -> list[ActiveHint]:
    """Patches on a regular grid covering `cover` of the frame."""
    height, width = frame.gray.shape
    step = max(PATCH, round(PATCH / math.sqrt(cover)))
    patches = [(y, x) for y in range(0, height - PATCH + 1, step) for x in range(0, width - PATCH + 1, step)]
    return patch_hints(frame, patches)


class FirstFrameHints:
    """Hints drawn on frame 0 and carried on (one-key hints with an until), as `hints_at`."""

    def __init__(self, hints: list[ActiveHint]):
        self.hints = hints

    def __call__(self, k):
        return self.hints if k == 0 else []

    def persisting(self, k):
        return {0: self.hints} if k > 0 else {}


def persistence_hints(name: str, frame0) -> FirstFrameHints:
    """The sparse-hint persistence figure's hints: 10 patches of frame 0's true colour, drawn
    with a seed of the clip's name."""
    rng = np.random.default_rng([0, *name.encode()])
    return FirstFrameHints(patch_hints(frame0, random_patches(rng, frame0.gray.shape, 10)))


class Evaluator:
    def __init__(self, model: GraphModel | StepModel, settings: Settings):
        self.engine = TemporalEngine(model)
        self.takes_references = isinstance(model, GraphModel)
        self.settings = settings
        self.engine_settings = EngineSettings(
            working_short_side=settings.work_short_side,
            vividness=settings.vividness,
            hint_spread=settings.hint_spread,
        )

    def render(self, rgb_frames: list[np.ndarray], hints_at=None, references=()) -> list[np.ndarray]:
        PROCESS_CACHE.clear()  # each run from scratch: nothing carried over between conditions
        source = ListSource(rgb_frames, identity=f"eval-{time.perf_counter_ns()}")
        return [
            self.engine.render(source, t, self.engine_settings, hints_at, references)
            for t in range(len(rgb_frames))
        ]

    def clip(self, name: str, rgb_frames: list[np.ndarray]) -> dict:
        frames = [prepare(rgb, self.settings.work_short_side) for rgb in rgb_frames]
        fields = [metrics.WarpField(rgb_frames[t], rgb_frames[t + 1]) for t in range(len(frames) - 1)]
        truth = {
            "colourfulness": float(np.mean([metrics.colourfulness(f) for f in rgb_frames])),
            "cdc": metrics.cdc(rgb_frames),
            "warp_error": metrics.warp_error(rgb_frames, fields),
        }
        gray_frames = [
            colour.recombine(f.rgb, np.zeros((*f.gray.shape, 2), np.float32), "srgb", lab=f.lab)
            for f in frames
        ]
        auto = self.render(rgb_frames)
        reference = (
            self.render(rgb_frames, references=[ReferenceFrame(0, rgb_frames[0], f"{name}:0")])
            if self.takes_references
            else None
        )
        baseline_ab = propagate_reference([f.gray for f in frames], frames[0].ab_true)
        baseline = [
            colour.recombine(
                f.rgb, np.ascontiguousarray(ab.transpose(1, 2, 0)) * contract.AB_SCALE, "srgb", lab=f.lab
            )
            for f, ab in zip(frames, baseline_ab)
        ]
        persisted = self.render(rgb_frames, hints_at=persistence_hints(name, frames[0]))
        psnr = {
            label: [metrics.psnr(o, f) for o, f in zip(outputs, rgb_frames)]
            for label, outputs in (
                ("gray", gray_frames),
                ("auto", auto),
                ("reference", reference),
                ("flow_baseline", baseline),
                ("hints_on_frame_0", persisted),
            )
            if outputs is not None
        }
        auto_scores = {
            "colourfulness": float(np.mean([metrics.colourfulness(o) for o in auto])),
            "cdc": metrics.cdc(auto),
            "warp_error": metrics.warp_error(auto, fields),
        }
        return {
            "name": name,
            "frames": len(frames),
            "psnr": {label: binned(values) for label, values in psnr.items()},
            "auto": {**auto_scores, **{f"{k}_ratio": auto_scores[k] / max(truth[k], 1e-12) for k in truth}},
            "truth": truth,
        }

    def photo(self, index: int, rgb: np.ndarray) -> dict:
        frame = prepare(rgb, self.settings.work_short_side)
        rng = np.random.default_rng([0, index])
        patches = random_patches(rng, frame.gray.shape, max(HINT_COUNTS))
        sweep = {}
        for count in HINT_COUNTS:
            hints = patch_hints(frame, patches[:count])
            output = self.render([rgb], hints_at=lambda k, h=hints: h)[0]
            sweep[str(count)] = metrics.psnr(output, rgb)
            if count == 10:
                fidelity = hinted_error(output, frame, patches[:count])
        mid = self.render([rgb], hints_at=lambda k: grid_hints(frame, MID_DENSITY))[0]
        return {"sweep": sweep, "hint_fidelity": fidelity, "mid_density": metrics.psnr(mid, rgb)}


def hinted_error(output: np.ndarray, frame, patches) -> float:
    """Mean a*b* distance (a*b* units) between the output and each hint's colour under the hint."""
    lab = colour.to_lab(output, "srgb")
    height, width = frame.gray.shape
    small = cv2.resize(np.ascontiguousarray(lab[..., 1:]), (width, height), interpolation=cv2.INTER_AREA)
    small = small.transpose(2, 0, 1)
    errors = []
    for y, x in patches:
        want = frame.ab_true[:, y : y + PATCH, x : x + PATCH].reshape(2, -1).mean(axis=1) * contract.AB_SCALE
        got = small[:, y + PATCH // 2 - 1 : y + PATCH // 2 + 1, x + PATCH // 2 - 1 : x + PATCH // 2 + 1]
        errors.append(float(np.linalg.norm(got.reshape(2, -1).mean(axis=1) - want)))
    return float(np.mean(errors))


def binned(values: list[float]) -> dict:
    out = {"1-59": float(np.mean(values[1:]))}
    for low, high in BINS:
        chosen = values[low : high + 1]
        if chosen:
            out[f"{low}-{high}"] = float(np.mean(chosen))
    return out


def summarise(clips: list[dict], photos: list[dict]) -> dict:
    def mean(rows, *path):
        values = []
        for row in rows:
            for key in path:
                row = row[key]
            values.append(row)
        return float(np.mean(values))

    labels = clips[0]["psnr"].keys() if clips else []
    summary = {
        "clips": {
            label: {b: mean(clips, "psnr", label, b) for b in clips[0]["psnr"][label]} for label in labels
        },
        "auto": {k: mean(clips, "auto", k) for k in (clips[0]["auto"] if clips else {}) if "ratio" not in k},
    }
    # ratios of the means over clips: a mean of per-clip ratios is ruled by near-gray clips, where
    # any colour is a large multiple of the truth's
    for k in list(summary["auto"]):
        summary["auto"][f"{k}_ratio"] = summary["auto"][k] / max(mean(clips, "truth", k), 1e-12)
    if clips:
        late = "31-59" if "31-59" in summary["clips"]["auto"] else "1-59"  # short test clips
        summary[f"persistence_gain_{late}"] = (
            summary["clips"]["hints_on_frame_0"][late] - summary["clips"]["auto"][late]
        )
        summary["auto_over_gray"] = summary["clips"]["auto"]["1-59"] - summary["clips"]["gray"]["1-59"]
    if photos:
        summary["hint_sweep"] = {n: mean(photos, "sweep", n) for n in photos[0]["sweep"]}
        summary["zhang_2017"] = {str(n): v for n, v in ZHANG_2017.items()}
        summary["hint_fidelity_ab"] = mean(photos, "hint_fidelity")
        summary["mid_density_vs_none"] = mean(photos, "mid_density") - mean(photos, "sweep", "0")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model",
        type=Path,
        help="a contract-2 model folder, or a contract-1 .onnx file (default: the shipped model)",
    )
    source.add_argument("--checkpoint", type=Path, help="a training checkpoint (exported first)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT.parent / "colormotion-runs" / "eval")
    parser.add_argument("--max-photos", type=int, default=None)
    parser.add_argument("--max-clips", type=int, default=None)
    parser.add_argument("--max-frames", type=int, default=60)
    parser.add_argument(
        "--vividness", type=float, default=0.0, help="the engine's vividness (contract-2 models; default 0)"
    )
    parser.add_argument(
        "--hint-spread",
        type=float,
        default=1.0,
        help="how far hint colours spread over their regions (contract-2 models; default 1, 0 = off)",
    )
    args = parser.parse_args(argv)
    for flag, value, most in (
        ("--vividness", args.vividness, contract.MAX_VIVIDNESS),
        ("--hint-spread", args.hint_spread, contract.MAX_HINT_SPREAD),
    ):
        if not 0.0 <= value <= most:
            parser.error(f"{flag} must lie in 0..{most:g}, got {value}")
    settings = Settings(max_frames=args.max_frames, vividness=args.vividness, hint_spread=args.hint_spread)
    with tempfile.TemporaryDirectory(prefix="colormotion-eval-") as scratch:
        if args.checkpoint is None:
            folder = args.model if args.model is not None else default_model_path()
        else:
            from training.export_v2 import export_graphs
            from training.train_v2 import load_checkpoint_model

            folder = export_graphs(
                load_checkpoint_model(args.checkpoint), Path(scratch) / "model", args.checkpoint.name
            )
        try:
            model = GraphModel(folder) if folder.is_dir() else StepModel(folder)
        except ModelError as error:
            parser.error(str(error))
        if args.vividness and not isinstance(model, GraphModel):
            parser.error(f"--vividness needs a contract-2 model; {folder} follows contract 1")
        evaluator = Evaluator(model, settings)
        clips = []
        for clip in split.VAL_CLIPS[: args.max_clips]:
            clips.append(evaluator.clip(clip, load_clip_frames(DATA_ROOT / clip, settings)))
            print(clip, json.dumps(clips[-1]["psnr"]), flush=True)
        photo_paths = split.val_photos(DATA_ROOT)[: args.max_photos]
        photos = [evaluator.photo(i, load_photo_square(DATA_ROOT / p)) for i, p in enumerate(photo_paths)]
    report = {
        "model": str(args.checkpoint or folder),
        "vividness": settings.vividness,
        "hint_spread": settings.hint_spread,
        "clips": clips,
        "photos": len(photos),
        "summary": summarise(clips, photos),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report["summary"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
