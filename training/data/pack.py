"""A compact training subset for a GPU machine: JPEG frames, no videos, under a size budget.

    python -m training.data.pack OUT [--mib 44] [--short-side 160] [--seed 0]

The device machine (tool library `device`) receives at most 64 MiB per call, with the
repository, and has no PyAV to decode videos; `../shared/data` and the fetched data do not
travel. A pack holds a seeded subset of the training split as JPEG (4:4:4, so the colour keeps
its resolution): photos, and windows of consecutive frames from the scenes of every training
clip, plus a few held-out ones for validation. `train_v2 --pack OUT` trains on it
(`load_pack`). The held-out split and the exclusions of `training.data.split` apply: a pack
never trains on a held-out or excluded clip or photo. Sources and licences stay those of the
manifests (`../shared/data/MANIFEST.json`, `training/data/fetched_manifest.json`); OUT/pack.json
names every file's origin.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from training.data import DATA_ROOT, DEFAULT_CACHE_DIR, SCENES_DIR, fetched, split
from training.data.pairs import ClipFrames

JPEG = [cv2.IMWRITE_JPEG_QUALITY, 92, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
WINDOW = 24  # consecutive frames kept per scene window (references up to 23 frames away)
SHARES = {"photos": 0.62, "clips": 0.33, "val": 0.05}  # of the byte budget


def _encode(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), JPEG)
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def _decode(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read {path}")
    return np.ascontiguousarray(bgr[..., ::-1])


class _Writer:
    """Writes JPEGs under `root` until `budget` bytes are used."""

    def __init__(self, root: Path, budget: int):
        self.root, self.budget, self.used = root, budget, 0

    def fits(self, size: int) -> bool:
        return self.used + size <= self.budget

    def write(self, relative: str, data: bytes) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.used += len(data)


def _photos(paths: list[str], load, writer: _Writer, folder: str, rng) -> list[dict]:
    """Photos in a seeded order (`load(path)` -> RGB) until the writer's budget is used."""
    kept = []
    for index in rng.permutation(len(paths)):
        data = _encode(load(paths[index]))
        if not writer.fits(len(data)):
            break
        name = f"{folder}/{len(kept):05d}.jpg"
        writer.write(name, data)
        kept.append({"file": name, "source": paths[index]})
    return kept


def _clips(clips: list[ClipFrames], writer: _Writer, folder: str, rng) -> list[dict]:
    """Round-robin over the clips: one window of a random scene of each in turn, until full."""
    entries = [
        {"name": c.name, "folder": f"{folder}/{i:03d}", "scenes": [], "sources": []}
        for i, c in enumerate(clips)
    ]
    counts = [0] * len(clips)
    full = False
    while not full:
        added = False
        for i, clip in enumerate(clips):
            scenes = [(s, e) for s, e in clip.scenes if e - s >= 3]
            if not scenes:
                continue
            start, end = scenes[int(rng.integers(len(scenes)))]
            first = int(rng.integers(start, max(start + 1, end - WINDOW + 1)))
            window = range(first, min(end, first + WINDOW))
            frames = [_encode(clip.frame(k)) for k in window]
            if not writer.fits(sum(map(len, frames))):
                full = True
                break
            begin = counts[i]
            for data in frames:
                writer.write(f"{entries[i]['folder']}/{counts[i]:05d}.jpg", data)
                counts[i] += 1
            entries[i]["scenes"].append([begin, counts[i]])
            entries[i]["sources"].append([first, window[-1] + 1])
            added = True
        full = full or not added
    return [dict(e, frames=n) for e, n in zip(entries, counts) if n]


def write_pack(
    out: Path,
    photos: list[str],
    val_photos: list[str],
    load_photo,
    clips: list[ClipFrames],
    val_clips: list[ClipFrames],
    mib: float,
    seed: int,
    notes: dict | None = None,
) -> dict:
    """Write a pack of these training and held-out photos (names, `load_photo(name)` -> RGB)
    and clips into the empty folder `out`, within `mib` MiB of JPEG; -> its manifest."""
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; a pack is written into an empty folder")
    rng = np.random.default_rng(seed)
    budget = int(mib * 2**20)
    writers = {part: _Writer(out, int(budget * share)) for part, share in SHARES.items()}
    manifest = {
        **(notes or {}),
        "seed": seed,
        "photos": _photos(photos, load_photo, writers["photos"], "photos", rng),
        "clips": _clips(clips, writers["clips"], "clips", rng),
        "val_photos": _photos(val_photos, load_photo, writers["val"], "val_photos", rng),
    }
    manifest["val_clips"] = _clips(val_clips, writers["val"], "val_clips", rng)
    manifest["bytes"] = sum(writer.used for writer in writers.values())
    (out / "pack.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def build(out: Path, mib: float, short_side: int, seed: int) -> dict:
    """A pack of the training split of ../shared/data and the fetched data (clips from the
    frame caches of `training.data.pairs`, decoded there first if needed)."""
    from training.data.pairs import load_clip, load_photo
    from training.data.scenes import load_all

    records = load_all(SCENES_DIR) + fetched.clip_records(load_all(fetched.CLIP_SCENES_DIR))
    records = [r for r in records if not split.is_excluded_clip(r["source"])]

    def clips(held_out: bool) -> list[ClipFrames]:
        chosen = [r for r in records if split.is_val_clip(r["source"]) == held_out]
        return [load_clip(r, short_side, DEFAULT_CACHE_DIR, DATA_ROOT) for r in chosen]

    return write_pack(
        out,
        split.train_photos(DATA_ROOT, fetched=True),
        split.val_photos(DATA_ROOT),
        lambda path: load_photo(fetched.resolve(path, DATA_ROOT), short_side),
        clips(held_out=False),
        clips(held_out=True),
        mib,
        seed,
        {"short_side": short_side},
    )


def load_pack(
    folder: Path | str,
) -> tuple[list[ClipFrames], list[ClipFrames], list[np.ndarray], list[np.ndarray]]:
    """(train clips, held-out clips, train photos, held-out photos) of a pack, as `load_split`
    gives them for the data roots."""
    folder = Path(folder)
    manifest = json.loads((folder / "pack.json").read_text())

    def clips(entries: list[dict]) -> list[ClipFrames]:
        loaded = []
        for entry in entries:
            frames = np.stack(
                [_decode(folder / entry["folder"] / f"{k:05d}.jpg") for k in range(entry["frames"])]
            )
            scenes = [(int(s), int(e)) for s, e in entry["scenes"]]
            loaded.append(ClipFrames(entry["name"], scenes, frames, {k: k for k in range(len(frames))}))
        return loaded

    def photos(entries: list[dict]) -> list[np.ndarray]:
        return [_decode(folder / entry["file"]) for entry in entries]

    return (
        clips(manifest["clips"]),
        clips(manifest["val_clips"]),
        photos(manifest["photos"]),
        photos(manifest["val_photos"]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--mib", type=float, default=44.0, help="size budget of the JPEGs (default 44)")
    parser.add_argument(
        "--short-side", type=int, default=160, help="frames' short side (default 160: crops up to 128)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    manifest = build(args.out, args.mib, args.short_side, args.seed)
    frames = sum(c["frames"] for c in manifest["clips"])
    print(
        f"{args.out}: {len(manifest['photos'])} photos, {frames} clip frames of {len(manifest['clips'])} clips, "
        f"{len(manifest['val_photos'])} + {sum(c['frames'] for c in manifest['val_clips'])} held out, "
        f"{manifest['bytes'] / 2**20:.1f} MiB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
