"""Evaluate a ColorMotion step model on colour clips and photos.

    python -m training.evaluate --model models/colormotion.onnx [--clips ...] [--photos ...]

Defaults are the held-out split (`training.data.split`). Each colour frame is reduced to L*,
colourised by the model at working resolution (short side 256), its a*b* upsampled to the
frame (guided by L*) and recombined with the original L* (`colormotion.colour`), then compared
with the original. Writes report.md and report.json under --out and prints the Markdown.

Modes compared in one run:
    gray       a*b* = 0 (the input itself)
    per_frame  the model with no state (has_prev = 0 on every frame)
    stateful   the model carrying features from frame to frame (reset at scene cuts)
    engine     clips only: the product's output, `colormotion.temporal.engine.TemporalEngine`
               with default settings (chains restart every temporal_window / 2 frames)
Clips also report the ground truth itself (reference floor of CDC and warp error), and
propagation: hints on the first frame only, PSNR over the frames after it. Photos at 256x256
get the hint sweep of Zhang et al. 2017: n patches of 6x6 px at uniform random positions, each
filled with the ground-truth mean a*b* (as their colorization-pytorch test_sweep.py); their
published curve is 24.43 dB at 0, 28.42 dB at 10 and 31.13 dB at 100 hints (ImageNet, their
model).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from colormotion import colour, contract
from colormotion.model import StepModel
from colormotion.temporal.cuts import is_scene_cut
from colormotion.temporal.engine import EngineSettings, TemporalEngine
from colormotion.temporal.flow import feature_flow

from training import metrics
from training.data import DATA_ROOT, REPO_ROOT, split
from training.data.hints import full_hints, patch_hints
from training.data.scenes import iter_rgb_frames, video_info

MODES = ("gray", "per_frame", "stateful")
PHOTO_SIZE = 256
ZHANG_2017 = {0: 24.43, 10: 28.42, 100: 31.13}


@dataclass(frozen=True)
class Settings:
    work_short_side: int = 256  # model input short side (multiple of 32)
    eval_short_side: int = 360  # clips are scored at this short side (never upscaled)
    max_frames: int = 60  # frames per clip
    hint_counts: tuple[int, ...] = (0, 1, 2, 5, 10, 20, 50, 100)
    hint_patch: int = 6  # side of each random hint patch (px, working res), as Zhang's test_sweep
    propagation_hints: int = 10  # random hints on the first frame for the propagation test
    seed: int = 0
    engine: bool = True  # also score the product's engine output on clips


# ---------------------------------------------------------------- running the model


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


def random_boxes(rng: np.random.Generator, size: tuple[int, int], count: int, patch: int) -> list:
    """`count` hint patches (y, x, side) at uniform random positions in a frame of `size`."""
    height, width = size
    ys = rng.integers(0, height - patch + 1, size=count)
    xs = rng.integers(0, width - patch + 1, size=count)
    return [(int(y), int(x), patch) for y, x in zip(ys, xs)]


HintsFor = Callable[[int, Frame], "np.ndarray | None"]


class Colorizer:
    """Runs a step model over frames through the contract, as the engine does."""

    def __init__(self, model: StepModel):
        self.model = model
        self.stride = model.feature_stride

    def clip(
        self, frames: list[Frame], mode: str, cuts: set[int], flows: list, hints_for: HintsFor | None = None
    ) -> list[np.ndarray]:
        """Output RGB frames for one mode; `flows[t]` is the feature flow t -> t-1 (None at t=0)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        outputs, state = [], None
        for t, frame in enumerate(frames):
            height, width = frame.gray.shape
            if mode == "gray":
                ab = np.zeros((height, width, 2), np.float32)
            else:
                hints = hints_for(t, frame) if hints_for else None
                if hints is None:
                    hints = np.zeros((3, height, width), np.float32)
                carry = mode == "stateful" and t > 0 and t not in cuts
                ab_out, feat, _ = self.model.step(
                    frame.gray[None, None],
                    hints[None],
                    state if carry else None,
                    flows[t][None] if carry else None,
                    1.0 if carry else 0.0,
                )
                state = feat
                ab = ab_out[0].transpose(1, 2, 0) * contract.AB_SCALE
            outputs.append(colour.recombine(frame.rgb, np.ascontiguousarray(ab), "srgb", lab=frame.lab))
        return outputs


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


def engine_outputs(model: StepModel, rgb_frames: list[np.ndarray], work_short_side: int) -> list[np.ndarray]:
    """The product's colourised frames (rendered in order, no hints)."""
    engine = TemporalEngine(model)
    source = ListSource(rgb_frames)
    settings = EngineSettings(working_short_side=work_short_side)
    return [engine.render(source, t, settings) for t in range(len(rgb_frames))]


# ---------------------------------------------------------------- clips


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


def frame_scores(outputs: list[np.ndarray], truth: list[np.ndarray], fields: list) -> dict:
    return {
        "psnr": [metrics.psnr(o, g) for o, g in zip(outputs, truth)],
        "ssim": float(np.mean([metrics.ssim(o, g) for o, g in zip(outputs, truth)])),
        "colourfulness": float(np.mean([metrics.colourfulness(o) for o in outputs])),
        "cdc": metrics.cdc(outputs),
        "warp_error": metrics.warp_error(outputs, fields),
    }


def evaluate_clip(name: str, rgb_frames: list[np.ndarray], colorizer: Colorizer, settings: Settings) -> dict:
    """Scores of every mode, the ground truth, and first-frame hint propagation on one clip."""
    frames = [prepare(rgb, settings.work_short_side) for rgb in rgb_frames]
    cuts = {t for t in range(1, len(frames)) if is_scene_cut(frames[t - 1].gray, frames[t].gray)}
    flows = [None] + [
        feature_flow(frames[t].gray, frames[t - 1].gray, colorizer.stride) for t in range(1, len(frames))
    ]
    fields = [metrics.WarpField(rgb_frames[t], rgb_frames[t + 1]) for t in range(len(frames) - 1)]
    result: dict = {"name": name, "frames": len(frames), "cuts": sorted(cuts), "modes": {}}
    truth = {
        "colourfulness": float(np.mean([metrics.colourfulness(f) for f in rgb_frames])),
        "cdc": metrics.cdc(rgb_frames),
        "warp_error": metrics.warp_error(rgb_frames, fields),
    }
    result["modes"]["ground_truth"] = truth
    runs = {mode: lambda mode=mode: colorizer.clip(frames, mode, cuts, flows) for mode in MODES}
    if settings.engine:
        runs["engine"] = lambda: engine_outputs(colorizer.model, rgb_frames, settings.work_short_side)
    for mode, run in runs.items():
        scores = frame_scores(run(), rgb_frames, fields)
        scores["psnr_mean"] = float(np.mean(scores["psnr"]))
        result["modes"][mode] = scores

    rng = np.random.default_rng([settings.seed, *name.encode()])
    boxes = random_boxes(rng, frames[0].gray.shape, settings.propagation_hints, settings.hint_patch)
    first_hints = patch_hints(frames[0].ab_true, boxes)
    propagation = {}
    first_frame_hints = {
        f"stateful_{settings.propagation_hints}_hints": first_hints,
        "stateful_reference": full_hints(frames[0].ab_true),
    }
    for label, hints in first_frame_hints.items():
        outputs = colorizer.clip(
            frames, "stateful", cuts, flows, lambda t, _f, h=hints: h if t == 0 else None
        )
        propagation[label] = [metrics.psnr(o, g) for o, g in zip(outputs, rgb_frames)]
    propagation["per_frame_no_hints"] = result["modes"]["per_frame"]["psnr"]
    propagation["stateful_no_hints"] = result["modes"]["stateful"]["psnr"]
    result["propagation"] = {
        label: {"first": values[0], "after_first": float(np.mean(values[1:])) if len(values) > 1 else None}
        for label, values in propagation.items()
    }
    result["propagation_psnr"] = propagation
    return result


# ---------------------------------------------------------------- photos


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


def evaluate_photos(photos: list[np.ndarray], colorizer: Colorizer, settings: Settings) -> dict:
    """Gray vs model scores and the hint sweep on square photos (each a one-frame clip)."""
    sweep: dict[int, list[float]] = {n: [] for n in settings.hint_counts}
    scores: dict[str, dict[str, list[float]]] = {
        mode: {"psnr": [], "ssim": [], "colourfulness": []} for mode in ("ground_truth", "gray", "model")
    }
    for index, rgb in enumerate(photos):
        frame = prepare(rgb, settings.work_short_side)
        scores["ground_truth"]["colourfulness"].append(metrics.colourfulness(rgb))
        for mode, run_mode in (("gray", "gray"), ("model", "per_frame")):
            output = colorizer.clip([frame], run_mode, set(), [None])[0]
            scores[mode]["psnr"].append(metrics.psnr(output, rgb))
            scores[mode]["ssim"].append(metrics.ssim(output, rgb))
            scores[mode]["colourfulness"].append(metrics.colourfulness(output))
        # nested hint sets: the first n of one random draw, so more hints only add information
        rng = np.random.default_rng([settings.seed, index])
        boxes = random_boxes(rng, frame.gray.shape, max(settings.hint_counts), settings.hint_patch)
        for count in settings.hint_counts:
            hints = patch_hints(frame.ab_true, boxes[:count])
            output = colorizer.clip([frame], "per_frame", set(), [None], lambda _t, _f, h=hints: h)[0]
            sweep[count].append(metrics.psnr(output, rgb))
    return {
        "photos": len(photos),
        "size": PHOTO_SIZE,
        "modes": {m: {k: float(np.mean(v)) for k, v in s.items() if v} for m, s in scores.items()},
        "hint_sweep_psnr": {str(n): float(np.mean(v)) for n, v in sweep.items()},
        "zhang_2017_psnr": {str(n): v for n, v in ZHANG_2017.items()},
    }


# ---------------------------------------------------------------- report


def _fmt(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def markdown(report: dict) -> str:
    lines = [f"# Evaluation of {report['model']}", ""]
    lines.append(f"Settings: {json.dumps(report['settings'])}")
    clips = report.get("clips", [])
    if clips:
        lines += ["", "## Clips (mean over clips)", ""]
        lines.append("| mode | PSNR dB | SSIM | colourfulness | CDC | warp error x1e3 |")
        lines.append("|---|---|---|---|---|---|")
        for mode in clips[0]["modes"]:
            rows = [c["modes"][mode] for c in clips]

            def mean(key, rows=rows):
                values = [r[key] for r in rows if key in r and r[key] is not None and np.isfinite(r[key])]
                return float(np.mean(values)) if values else None

            warp = mean("warp_error")
            lines.append(
                f"| {mode} | {_fmt(mean('psnr_mean'))} | {_fmt(mean('ssim'), 4)} | {_fmt(mean('colourfulness'), 1)} "
                f"| {_fmt(mean('cdc'), 5)} | {_fmt(warp * 1e3 if warp is not None else None, 3)} |"
            )
        lines += ["", "### Per clip (PSNR dB: per_frame / stateful; CDC: truth / stateful)", ""]
        lines.append("| clip | frames | cuts | PSNR per_frame | PSNR stateful | CDC truth | CDC stateful |")
        lines.append("|---|---|---|---|---|---|---|")
        for c in clips:
            m = c["modes"]
            lines.append(
                f"| {c['name']} | {c['frames']} | {len(c['cuts'])} | {_fmt(m['per_frame']['psnr_mean'])} "
                f"| {_fmt(m['stateful']['psnr_mean'])} | {_fmt(m['ground_truth']['cdc'], 5)} "
                f"| {_fmt(m['stateful']['cdc'], 5)} |"
            )
        labels = list(clips[0]["propagation"])
        lines += ["", "## Propagation: hints on the first frame only (PSNR dB, mean over clips)", ""]
        lines.append("| run | first frame | following frames |")
        lines.append("|---|---|---|")
        for label in labels:
            firsts = [c["propagation"][label]["first"] for c in clips]
            afters = [
                c["propagation"][label]["after_first"]
                for c in clips
                if c["propagation"][label]["after_first"]
            ]
            lines.append(
                f"| {label} | {_fmt(np.mean(firsts))} | {_fmt(np.mean(afters) if afters else None)} |"
            )
    photos = report.get("photos")
    if photos:
        lines += ["", f"## Photos ({photos['photos']} at {photos['size']}x{photos['size']})", ""]
        lines.append("| mode | PSNR dB | SSIM | colourfulness |")
        lines.append("|---|---|---|---|")
        for mode, s in photos["modes"].items():
            lines.append(
                f"| {mode} | {_fmt(s.get('psnr'))} | {_fmt(s.get('ssim'), 4)} | {_fmt(s.get('colourfulness'), 1)} |"
            )
        lines += ["", "### Hint sweep (random ground-truth hints, PSNR dB)", ""]
        counts = list(photos["hint_sweep_psnr"])
        lines.append("| hints | " + " | ".join(counts) + " |")
        lines.append("|---|" + "---|" * len(counts))
        lines.append(
            "| this model | " + " | ".join(_fmt(photos["hint_sweep_psnr"][n]) for n in counts) + " |"
        )
        zhang = photos["zhang_2017_psnr"]
        lines.append("| Zhang et al. 2017 | " + " | ".join(_fmt(zhang.get(n)) for n in counts) + " |")
    lines.append("")
    return "\n".join(lines)


def evaluate(
    model_path: Path,
    clips: list[tuple[str, list[np.ndarray]]],
    photos: list[np.ndarray],
    settings: Settings,
) -> dict:
    """The whole report for already loaded clips (name, RGB frames) and square photos."""
    colorizer = Colorizer(StepModel(model_path))
    started = time.perf_counter()
    report: dict = {"model": str(model_path), "settings": asdict(settings)}
    report["clips"] = [evaluate_clip(name, frames, colorizer, settings) for name, frames in clips]
    report["photos"] = evaluate_photos(photos, colorizer, settings) if photos else None
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


# ---------------------------------------------------------------- command line


def resolve(path: str, data_root: Path) -> Path:
    """A path as given, else relative to the shared data folder."""
    candidate = Path(path)
    if candidate.exists():
        return candidate
    if (data_root / path).exists():
        return data_root / path
    raise FileNotFoundError(f"{path} not found (neither as given nor under {data_root})")


def photo_paths(items: list[str], data_root: Path) -> list[Path]:
    paths = []
    for item in items:
        path = resolve(item, data_root)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*") if p.suffix.lower() in split.PHOTO_SUFFIXES)
        else:
            paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate a ColorMotion step model (see module docs).")
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "colormotion.onnx")
    parser.add_argument("--clips", nargs="*", help="videos (default: the held-out clips)")
    parser.add_argument("--photos", nargs="*", help="photos or folders (default: the held-out photos)")
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT)
    parser.add_argument("--out", type=Path, help="report folder (default runs/eval/<model name>)")
    parser.add_argument("--max-frames", type=int, default=Settings.max_frames)
    parser.add_argument("--max-photos", type=int, default=0, help="use only the first N photos (0 = all)")
    parser.add_argument("--eval-short-side", type=int, default=Settings.eval_short_side)
    parser.add_argument("--work-short-side", type=int, default=Settings.work_short_side)
    parser.add_argument("--seed", type=int, default=Settings.seed)
    parser.add_argument("--no-engine", action="store_true", help="skip the product engine's run on clips")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"model file {args.model} does not exist")
    if args.max_frames < 1:
        parser.error("--max-frames must be at least 1")
    settings = Settings(
        work_short_side=args.work_short_side,
        eval_short_side=args.eval_short_side,
        max_frames=args.max_frames,
        seed=args.seed,
        engine=not args.no_engine,
    )
    try:
        clip_paths = [
            resolve(c, args.data_root) for c in (split.VAL_CLIPS if args.clips is None else args.clips)
        ]
        if args.photos is None:
            photo_files = [args.data_root / p for p in split.val_photos(args.data_root)]
        else:
            photo_files = photo_paths(args.photos, args.data_root)
    except FileNotFoundError as error:
        parser.error(str(error))
    if args.max_photos:
        photo_files = photo_files[: args.max_photos]
    clips = [(p.name, load_clip_frames(p, settings)) for p in clip_paths]
    photos = [load_photo_square(p) for p in photo_files]
    report = evaluate(args.model, clips, photos, settings)
    report["clip_files"] = [str(p) for p in clip_paths]
    report["photo_files"] = [str(p) for p in photo_files]
    out = args.out or REPO_ROOT / "runs" / "eval" / args.model.stem
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(report)
    (out / "report.md").write_text(text)
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(text)
    print(f"wrote {out / 'report.md'} and report.json ({report['seconds']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
