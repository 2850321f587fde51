"""Cut videos into scenes and drop unusable frames; write per-video JSON metadata.

    python -m training.data.scenes ../shared/data/videos/*.mp4 --out training/data/scenes

A scene cut is placed between frames t-1 and t when the SSIM of their heavily downscaled grey
images (48 px wide, so ordinary motion keeps a high score) falls below a threshold, or when
their colour histograms differ strongly (whip pans into smoke, flashes). Frames with too little variation (black frames, fades, flat credits)
or almost no colour (nothing to learn a*b* from) are dropped and also end a scene, because
training pairs must be true neighbours. Scenes are half-open frame ranges [start, end).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from colormotion.model import file_sha256
from colormotion.temporal import cuts

from training.data import DATA_ROOT, SCENES_DIR

ANALYSIS_WIDTH = 48  # SSIM, histograms and variability are judged on frames this wide


@dataclass(frozen=True)
class Thresholds:
    ssim_cut: float = 0.25  # consecutive-frame SSIM below this is a cut
    histogram_cut: float = 0.5  # total-variation distance of HSV histograms above this is a cut
    min_std: float = 0.04  # grey std (0..1) below this: black frame or fade
    max_peak_fraction: float = 0.85  # share of pixels in the fullest 1/8 of the grey range
    min_chroma: float = 2.0  # mean a*b* magnitude (Lab units) below this: effectively grey
    min_scene_frames: int = 2  # shorter runs cannot make a pair


def iter_rgb_frames(path: Path, width: int | None = None, height: int | None = None) -> Iterator[np.ndarray]:
    """Decode every frame of a video as uint8 RGB [H, W, 3], optionally resized (area filter)."""
    import av  # here: a machine that trains on a pack (training.data.pack) has no PyAV

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")


def video_info(path: Path) -> tuple[float, int, int]:
    """(fps, width, height) from the container header."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate) if stream.average_rate else 0.0
        return fps, stream.codec_context.width, stream.codec_context.height


def colour_histogram(rgb: np.ndarray) -> np.ndarray:
    """Normalised 8x4x4 HSV histogram of a uint8 RGB frame."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
    return hist / max(float(hist.sum()), 1.0)


def is_cut(prev_rgb: np.ndarray, rgb: np.ndarray, thresholds: Thresholds) -> bool:
    """Whether a scene cut lies between two consecutive small uint8 RGB frames."""
    gray_prev = cv2.cvtColor(prev_rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    if cuts.ssim(gray_prev, gray) < thresholds.ssim_cut:
        return True
    distance = 0.5 * np.abs(colour_histogram(rgb) - colour_histogram(prev_rgb)).sum()
    return bool(distance > thresholds.histogram_cut)


def drop_reason(rgb: np.ndarray, thresholds: Thresholds) -> str | None:
    """Why a uint8 RGB frame is unusable for training, or None if it is fine."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    if gray.std() < thresholds.min_std:
        return "low_std"
    hist = np.bincount(np.minimum(gray * 32, 31).astype(np.int64).ravel(), minlength=32)
    peak = np.convolve(hist, np.ones(4), mode="valid").max() / gray.size
    if peak > thresholds.max_peak_fraction:
        return "flat_histogram"
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    if np.hypot(lab[..., 1], lab[..., 2]).mean() < thresholds.min_chroma:
        return "no_colour"
    return None


def analyse_frames(frames: Iterator[np.ndarray], thresholds: Thresholds) -> dict:
    """Scenes, cuts and dropped frames of a sequence of uint8 RGB frames (already small)."""
    cuts: list[int] = []
    dropped: list[list] = []
    scenes: list[list[int]] = []
    run_start: int | None = None
    previous: np.ndarray | None = None
    count = 0

    def close_run(end: int) -> None:
        if run_start is not None and end - run_start >= thresholds.min_scene_frames:
            scenes.append([run_start, end])

    for index, rgb in enumerate(frames):
        count = index + 1
        if previous is not None and is_cut(previous, rgb, thresholds):
            cuts.append(index)
            close_run(index)
            run_start = None
        previous = rgb
        reason = drop_reason(rgb, thresholds)
        if reason is not None:
            dropped.append([index, reason])
            close_run(index)
            run_start = None
        elif run_start is None:
            run_start = index
    close_run(count)
    return {"frame_count": count, "scenes": scenes, "cuts": cuts, "dropped": dropped}


def manifest_sha256(video: Path, manifest: Path | None) -> str | None:
    if manifest is None or not manifest.is_file():
        return None
    entries = json.loads(manifest.read_text())["entries"]
    for entry in entries:
        if Path(entry["path"]).name == video.name and entry.get("sha256"):
            return entry["sha256"]
    return None


def analysis_size(width: int, height: int) -> tuple[int, int]:
    return ANALYSIS_WIDTH, max(2, round(height * ANALYSIS_WIDTH / width / 2) * 2)


def describe_video(video: Path, thresholds: Thresholds, manifest: Path | None = None) -> dict:
    """The JSON metadata of one video."""
    fps, width, height = video_info(video)
    small_w, small_h = analysis_size(width, height)
    analysis = analyse_frames(iter_rgb_frames(video, small_w, small_h), thresholds)
    expected = manifest_sha256(video, manifest)
    actual = file_sha256(video)
    if expected is not None and expected != actual:
        raise ValueError(f"{video}: sha256 {actual} does not match the manifest's {expected}")
    return {
        "source": video.name,
        "path": f"videos/{video.name}",
        "sha256": actual,
        "fps": fps,
        "width": width,
        "height": height,
        **analysis,
        "scene_frames": sum(end - start for start, end in analysis["scenes"]),
        "analysis_size": [small_w, small_h],
        "thresholds": asdict(thresholds),
    }


def metadata_path(out_dir: Path, video_name: str) -> Path:
    return out_dir / (Path(video_name).stem + ".json")


def load_all(scenes_dir: Path = SCENES_DIR) -> list[dict]:
    """Every committed per-video metadata record, sorted by source name."""
    records = [json.loads(p.read_text()) for p in sorted(scenes_dir.glob("*.json"))]
    if not records:
        raise FileNotFoundError(f"no scene metadata in {scenes_dir}; run python -m training.data.scenes")
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=SCENES_DIR)
    parser.add_argument("--manifest", type=Path, default=DATA_ROOT / "MANIFEST.json")
    parser.add_argument("--ssim-cut", type=float, default=Thresholds.ssim_cut)
    parser.add_argument("--histogram-cut", type=float, default=Thresholds.histogram_cut)
    parser.add_argument("--min-std", type=float, default=Thresholds.min_std)
    args = parser.parse_args(argv)
    thresholds = Thresholds(ssim_cut=args.ssim_cut, histogram_cut=args.histogram_cut, min_std=args.min_std)
    missing = [v for v in args.videos if not v.is_file()]
    if missing:
        parser.error(f"no such video: {', '.join(map(str, missing))}")
    args.out.mkdir(parents=True, exist_ok=True)
    for video in args.videos:
        record = describe_video(video, thresholds, args.manifest)
        metadata_path(args.out, video.name).write_text(json.dumps(record, indent=1) + "\n")
        print(
            f"{video.name}: {record['frame_count']} frames, {len(record['scenes'])} scenes, "
            f"{len(record['cuts'])} cuts, {len(record['dropped'])} dropped",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
