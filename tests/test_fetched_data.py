"""Fetched training photos and clips: extraction from a repository snapshot, the greyscale rule, paths."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from training.data import fetched, split
from training.data.pairs import PhotoStore


def git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    return subprocess.run(
        ["git", *env_args, *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout


def colour_photo(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (40, 60, 3), np.uint8)


def bare_snapshot(work: Path, mirror: Path) -> tuple[Path, str]:
    """Commit everything in `work` and clone it bare to `mirror`, as `fetch` brings repositories."""
    git(work, "init", "-q")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "files")
    commit = git(work, "rev-parse", "HEAD").strip()
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirror)], check=True)
    return mirror, commit


@pytest.fixture
def snapshot(tmp_path: Path) -> tuple[Path, str]:
    """A bare repository like the ones `fetch` brings: two colour photos, one grey, one not a photo."""
    work = tmp_path / "work"
    (work / "images").mkdir(parents=True)
    cv2.imwrite(str(work / "images" / "a.png"), colour_photo(1))
    cv2.imwrite(str(work / "images" / "b.png"), colour_photo(2))
    grey = np.repeat(colour_photo(3)[..., :1], 3, axis=2)
    cv2.imwrite(str(work / "images" / "grey.png"), grey)
    (work / "images" / "notes.txt").write_text("not a photo")
    (work / "README.md").write_text("outside the folder")
    return bare_snapshot(work, tmp_path / "mirror" / "someone+photos" / "repo")


def test_prepare_keeps_colour_photos_unmodified_and_records_the_grey_one(snapshot, tmp_path):
    bare, commit = snapshot
    source = fetched.Source("photos", "someone/photos", commit[:7], "images", "CC0-1.0", "test photos")
    entry = fetched.prepare_source(source, bare, tmp_path / "out")
    assert entry["commit"] == commit  # the short commit is recorded in full
    assert entry["count"] == 2 and entry["skipped_greyscale"] == ["grey.png"]
    kept = sorted(p.name for p in (tmp_path / "out" / "photos").iterdir())
    assert kept == ["a.png", "b.png"]
    original = subprocess.run(
        ["git", "--git-dir", str(bare), "show", f"{commit}:images/a.png"], check=True, capture_output=True
    ).stdout
    assert (tmp_path / "out" / "photos" / "a.png").read_bytes() == original


def test_prepare_refuses_a_commit_the_snapshot_does_not_have(snapshot, tmp_path):
    bare, _ = snapshot
    source = fetched.Source("photos", "someone/photos", "0" * 40, "images", "CC0-1.0", "")
    with pytest.raises(subprocess.CalledProcessError):
        fetched.prepare_source(source, bare, tmp_path / "out")


def test_greyscale_rule_ignores_jpeg_colour_noise_but_keeps_a_small_colour_area():
    grey = np.full((100, 100, 3), 120, np.uint8)
    noisy = grey.copy()
    noisy[0, :50, 2] += 20  # 0.5 % of pixels: colour noise
    assert fetched.is_greyscale(grey) and fetched.is_greyscale(noisy)
    coloured = grey.copy()
    coloured[:5, :, 2] += 20  # 5 % of pixels
    assert not fetched.is_greyscale(coloured)


def test_fetched_paths_resolve_outside_the_shared_data(tmp_path):
    assert fetched.resolve("stills/x.jpg", tmp_path / "shared") == tmp_path / "shared" / "stills/x.jpg"
    assert fetched.resolve("fetched/clothing/y.jpg", tmp_path / "shared", tmp_path / "f") == (
        tmp_path / "f" / "clothing/y.jpg"
    )


def test_a_manifest_source_that_was_not_prepared_is_an_error_naming_the_command(tmp_path, monkeypatch):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"entries": [{"name": "clothing", "repo": "a/b"}]}))
    monkeypatch.setattr(fetched, "MANIFEST_PATH", manifest)
    with pytest.raises(FileNotFoundError, match="training.data.fetched prepare"):
        fetched.list_photos(tmp_path / "nowhere")


def test_fetched_photos_join_training_only_and_load_through_the_photo_store(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    (shared / "stills" / "set").mkdir(parents=True)
    cv2.imwrite(str(shared / "stills" / "set" / "s.png"), colour_photo(4))
    root = tmp_path / "fetched"
    (root / "clothing").mkdir(parents=True)
    cv2.imwrite(str(root / "clothing" / "c.png"), colour_photo(5))
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"entries": [{"name": "clothing", "repo": "a/b"}]}))
    monkeypatch.setattr(fetched, "MANIFEST_PATH", manifest)
    monkeypatch.setattr(fetched, "FETCHED_ROOT", root)
    assert split.train_photos(shared) == ["stills/set/s.png"]
    photos = split.train_photos(shared, fetched=True)
    assert photos == ["stills/set/s.png", "fetched/clothing/c.png"]
    assert "fetched/clothing/c.png" not in split.val_photos(shared)
    store = PhotoStore(photos, 40, tmp_path / "cache", shared)
    assert len(store) == 2 and store[1].shape[2] == 3
    assert np.array_equal(store[1][0, 0], colour_photo(5)[0, 0, ::-1])  # RGB of the fetched file


def test_committed_manifest_names_its_commits_and_licences():
    for entry in fetched.load_manifest():
        assert len(entry["commit"]) == 40 and entry["licence"] and entry["count"] > 0
        source = next(s for s in fetched.SOURCES + fetched.CLIP_SOURCES if s.name == entry["name"])
        assert source.commit == entry["commit"] and source.repo == entry["repo"]


def write_clip(path: Path, frames: int, seed: int) -> None:
    import av

    texture = np.random.default_rng(seed).integers(0, 256, (12, 20, 3), np.uint8)
    texture = cv2.resize(texture, (160, 96), interpolation=cv2.INTER_CUBIC)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "bgr0"
        for t in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(texture[:, t * 2 : t * 2 + 128]), "rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_fetched_clips_are_extracted_unmodified_with_scene_metadata_and_load_for_training(
    tmp_path, monkeypatch
):
    work = tmp_path / "work"
    (work / "clips").mkdir(parents=True)
    write_clip(work / "clips" / "pan.mkv", 8, 1)
    write_clip(work / "clips" / "pan.avi", 5, 3)  # the same name but for its extension
    write_clip(work / "other.mkv", 6, 2)
    (work / "clips" / "notes.txt").write_text("not a video")
    bare, commit = bare_snapshot(work, tmp_path / "mirror" / "someone+clips" / "repo")

    source = fetched.ClipSource("vids", "someone/clips", commit, ("clips", "missing.mp4"), "CC0-1.0", "test")
    root, scenes = tmp_path / "fetched", tmp_path / "scenes"
    entry = fetched.prepare_clip_source(source, bare, root, scenes)
    assert entry["count"] == 2 and entry["clips"] == [
        {"file": "clips/pan.avi", "frames": 5, "scene_frames": 5},
        {"file": "clips/pan.mkv", "frames": 8, "scene_frames": 8},
    ]
    assert (root / "vids" / "clips__pan.mkv").read_bytes() == (work / "clips" / "pan.mkv").read_bytes()
    record = json.loads((scenes / "vids__clips__pan.mkv.json").read_text())
    assert record["path"] == "fetched/vids/clips__pan.mkv" and record["scenes"] == [[0, 8]]
    other = json.loads((scenes / "vids__clips__pan.avi.json").read_text())
    assert other["path"] == "fetched/vids/clips__pan.avi" and other["scenes"] == [[0, 5]]

    # training decodes them from outside the shared data
    from training.data import pairs

    monkeypatch.setattr(fetched, "FETCHED_ROOT", root)
    monkeypatch.setattr(fetched, "CLIP_SCENES_DIR", scenes)
    clip = pairs.load_clip(record, 64, tmp_path / "cache", tmp_path / "shared")
    assert clip.frames.shape[0] == 8 and min(clip.frames.shape[1:3]) == 64


def test_a_run_can_keep_to_the_clip_sources_it_started_with(monkeypatch):
    """Sources added after a run started must not change its data when it resumes."""
    from training import train_v2

    records = [{"source": f"{name}__{clip}.mp4"} for name in ("old", "new") for clip in ("a", "b")]
    sources = tuple(
        fetched.ClipSource(name, f"x/{name}", "0" * 40, ("a",), "MIT", "-") for name in ("old", "new")
    )
    monkeypatch.setattr(fetched, "CLIP_SOURCES", sources)
    assert fetched.clip_records(records) == records
    assert [r["source"] for r in fetched.clip_records(records, ["old"])] == ["old__a.mp4", "old__b.mp4"]
    with pytest.raises(ValueError, match="no fetched clip source named olde"):
        fetched.clip_records(records, ["olde"])

    config = train_v2.parse_args(["--fetched-clips", "--fetched-clip-sources", "old", "new"])
    assert config.fetched_clips and config.fetched_clip_sources == ["old", "new"]
    assert train_v2.parse_args([]).fetched_clip_sources == []


def test_a_run_can_leave_out_the_animated_films(monkeypatch):
    """--no-animated-clips drops the clips a source marks as animation, and nothing else."""
    from training import train_v2

    records = [
        {"source": f"{name}__media__{clip}.mp4"} for name in ("films", "street") for clip in ("a", "b")
    ]
    sources = (
        fetched.ClipSource(
            "films", "x/films", "0" * 40, ("media/a.mp4", "media/b.mp4"), "MIT", "-", ("media/b.mp4",)
        ),
        fetched.ClipSource("street", "x/street", "0" * 40, ("media/a.mp4", "media/b.mp4"), "MIT", "-"),
    )
    monkeypatch.setattr(fetched, "CLIP_SOURCES", sources)
    assert fetched.clip_records(records) == records
    kept = [r["source"] for r in fetched.clip_records(records, animated=False)]
    assert kept == ["films__media__a.mp4", "street__media__a.mp4", "street__media__b.mp4"]
    assert [r["source"] for r in fetched.clip_records(records, ["films"], animated=False)] == [
        "films__media__a.mp4"
    ]

    assert train_v2.parse_args([]).animated_clips
    assert not train_v2.parse_args(["--no-animated-clips"]).animated_clips


def test_the_animated_films_name_the_committed_scene_records():
    """Each film a source marks is one of its paths and has its scene record under that name."""
    committed = {json.loads(p.read_text())["source"] for p in fetched.CLIP_SCENES_DIR.glob("*.json")}
    films = [(source, path) for source in fetched.CLIP_SOURCES for path in source.animated]
    assert films, "no clip source marks an animated film"
    for source, path in films:
        assert path in source.paths
        assert source.clip_source_name(path) in committed


def test_prepare_refuses_files_the_shared_data_already_holds(tmp_path, monkeypatch):
    """The shared data took some repositories' clips already: fetching them again would train on
    them twice and count them as new data."""
    shared = tmp_path / "shared"
    shared.mkdir()
    entry = {"path": "videos/x_pan.mp4", "source_repo": "someone/clips", "original_path": "clips/pan.mkv"}
    (shared / "MANIFEST.json").write_text(json.dumps({"entries": [entry]}))
    monkeypatch.setattr(fetched, "DATA_ROOT", shared)
    taken = fetched.ClipSource("vids", "someone/clips", "0" * 40, ("clips",), "CC0-1.0", "test")
    other = fetched.ClipSource("vids", "someone/clips", "0" * 40, ("other.mkv",), "CC0-1.0", "test")
    monkeypatch.setattr(fetched, "SOURCES", ())
    monkeypatch.setattr(fetched, "CLIP_SOURCES", (taken,))
    with pytest.raises(ValueError, match=r"vids: someone/clips clips is already in ../shared/data"):
        fetched.prepare(tmp_path / "mirror", tmp_path / "out")
    assert fetched.already_shared(other, fetched.files_in_shared_data()) == []


def test_prepare_names_every_missing_snapshot_before_extracting_any(snapshot, tmp_path, monkeypatch):
    """A bare machine learns the whole fetch list at once, and nothing is half prepared."""
    bare, commit = snapshot
    mirrors = tmp_path / "mirrors"
    (mirrors / "someone+here").mkdir(parents=True)
    bare.rename(mirrors / "someone+here" / "repo")
    here = fetched.Source("here", "someone/here", commit, "images", "CC0-1.0", "test")
    gone = fetched.Source("gone", "someone/gone", "0" * 40, "photos", "CC0-1.0", "test")
    clips = fetched.ClipSource("vids", "other/clips", "0" * 40, ("clips",), "CC0-1.0", "test")
    monkeypatch.setattr(fetched, "DATA_ROOT", tmp_path / "no-shared-data")
    monkeypatch.setattr(fetched, "SOURCES", (here, gone))
    monkeypatch.setattr(fetched, "CLIP_SOURCES", (clips,))
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError, match="of 2 source repositories") as error:
        fetched.prepare(mirrors, out)
    assert "github:other/clips, github:someone/gone" in str(error.value)
    assert "someone/here" not in str(error.value)
    assert not out.exists()
    assert [entry["name"] for entry in fetched.prepare(mirrors, out, only={"here"})] == ["here"]


@pytest.mark.skipif(
    not (fetched.DATA_ROOT / "MANIFEST.json").is_file(), reason="no ../shared/data on this machine"
)
def test_no_committed_source_takes_files_the_shared_data_holds():
    shared = fetched.files_in_shared_data()
    assert shared, "the shared MANIFEST names no source files"
    for source in fetched.SOURCES + fetched.CLIP_SOURCES:
        assert fetched.already_shared(source, shared) == [], source.name
