"""The held-out validation split: clips and photos never used for training.

Cited by models/MODEL_CARD.md. Everything here is a path relative to ``../shared/data``.

Validation clips (5 of 37, 819 frames) were picked by hand for varied content, all under
permissive licences: an indoor close-up (sam2_04_coffee, Apache-2.0), a hand-held outdoor
street scene (DaSiamRPN_bag, MIT), sport with fast motion (SiamMask_tennis, MIT), a dash-cam
road (CarND-LaneLines-P1_solidWhiteRight, MIT) and a crowded outdoor scene
(aot-benchmark_1001_3iEIq5HBY1s, BSD-3-Clause).

Validation photos: all of ``stills/misc/`` (8 photos, CC0 / CC-BY-2.0) plus 5 photos from each
other stills folder, drawn once with ``numpy.random.default_rng({VAL_PHOTO_SEED})`` from the
sorted file list of each sorted folder (``_draw_val_photos`` reproduces it) and frozen below so
the split cannot drift if folders change.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

VAL_CLIPS = (
    "videos/sam2_04_coffee.mp4",
    "videos/DaSiamRPN_bag.mp4",
    "videos/SiamMask_tennis.mp4",
    "videos/CarND-LaneLines-P1_solidWhiteRight.mp4",
    "videos/aot-benchmark_1001_3iEIq5HBY1s.mp4",
)

VAL_PHOTO_FOLDERS = ("stills/misc/",)  # every photo in these folders is held out
VAL_PHOTO_SEED = 2018
VAL_PHOTOS_PER_FOLDER = 5
VAL_PHOTOS_SAMPLED = (
    "stills/bsds500/test/140006.jpg",
    "stills/bsds500/test/16004.jpg",
    "stills/bsds500/test/187099.jpg",
    "stills/bsds500/test/267036.jpg",
    "stills/bsds500/test/81066.jpg",
    "stills/coco128/train2017/000000000154.jpg",
    "stills/coco128/train2017/000000000260.jpg",
    "stills/coco128/train2017/000000000428.jpg",
    "stills/coco128/val2017/000000002153.jpg",
    "stills/coco128/val2017/000000011813.jpg",
    "stills/flowers/daisy/2889325612_f2fc403ff0_m.jpg",
    "stills/flowers/sunflower/5293283002_9b17f085f7_m.jpg",
    "stills/flowers/tulip/13530786873_0d34880300_n.jpg",
    "stills/flowers/tulip/20883735451_7aa9c50111_n.jpg",
    "stills/flowers/tulip/5631861819_f0eb39a357_m.jpg",
    "stills/imagen/n00007846_147031_person.jpg",
    "stills/imagen/n02129165_2762_lion.jpg",
    "stills/imagen/n02777292_14330_balance_beam.jpg",
    "stills/imagen/n03797390_3213_cup_or_mug.jpg",
    "stills/imagen/n03942813_5408_ping-pong_ball.jpg",
    "stills/imagenet-sample/n02077923_sea_lion.JPEG",
    "stills/imagenet-sample/n02843684_birdhouse.JPEG",
    "stills/imagenet-sample/n03661043_library.JPEG",
    "stills/imagenet-sample/n03857828_oscilloscope.JPEG",
    "stills/imagenet-sample/n07753113_fig.JPEG",
    "stills/kangaroo/00069.jpg",
    "stills/kangaroo/00083.jpg",
    "stills/kangaroo/00095.jpg",
    "stills/kangaroo/00128.jpg",
    "stills/kangaroo/00136.jpg",
    "stills/openpose/COCO_val2014_000000000257.jpg",
    "stills/openpose/COCO_val2014_000000000294.jpg",
    "stills/openpose/COCO_val2014_000000000474.jpg",
    "stills/openpose/COCO_val2014_000000000569.jpg",
    "stills/openpose/COCO_val2014_000000000589.jpg",
    "stills/raccoon/raccoon-164.jpg",
    "stills/raccoon/raccoon-175.jpg",
    "stills/raccoon/raccoon-191.jpg",
    "stills/raccoon/raccoon-197.jpg",
    "stills/raccoon/raccoon-81.jpg",
    "stills/sun-hays80/building_facade_sun_bpaohzcfkhzodryb.jpg",
    "stills/sun-hays80/butte_sun_aidickeaxixvkuxv.jpg",
    "stills/sun-hays80/mountain_sun_bdgkjthkoxhovklv.jpg",
    "stills/sun-hays80/pasture_sun_bbqhimmwjfjzmmrw.jpg",
    "stills/sun-hays80/waterfall_plunge_sun_bjwxsiaofeanyezl.jpg",
    "stills/sun-scenes/colegulino/airport/sun_ahysmkthymrikndn.jpg",
    "stills/sun-scenes/colegulino/auditorium/sun_awxmnvplsifcyqlt.jpg",
    "stills/sun-scenes/colegulino/landscape/sun_avsusxjcgjsowndc.jpg",
    "stills/sun-scenes/colegulino/rainforest/sun_aarognxryzgyygjm.jpg",
    "stills/sun-scenes/nhantd/sky/sun_arxxouzgwyfsupkz.jpg",
    "stills/utkface/20_1_1_20170114031114934.jpg.chip.jpg",
    "stills/utkface/26_1_2_20170116184248014.jpg.chip.jpg",
    "stills/utkface/27_1_0_20170116173136538.jpg.chip.jpg",
    "stills/utkface/50_0_0_20170103183532811.jpg.chip.jpg",
    "stills/utkface/61_0_2_20170116183826361.jpg.chip.jpg",
)

# Shared clips that are DAVIS 2017 validation or test-dev sequences: kept for checks outside this
# repo, so never trained on nor evaluated here (round 1's model did train on them).
EXCLUDED_CLIPS = (
    "videos/deep-video-prior_bike-packing.mp4",  # DAVIS 2017 val "bike-packing"
    "videos/Cutie_judo.mp4",  # DAVIS 2017 val "judo"
    "videos/Video-Depth-Anything_davis_rollercoaster.mp4",  # DAVIS 2017 test-dev "rollercoaster"
)

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


def list_photos(data_root: Path, folder: str = "stills") -> list[str]:
    """Every photo under ``data_root/folder``, as sorted paths relative to ``data_root``."""
    base = data_root / folder
    return sorted(
        p.relative_to(data_root).as_posix() for p in base.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES
    )


def is_val_photo(relative_path: str) -> bool:
    return relative_path in VAL_PHOTOS_SAMPLED or relative_path.startswith(VAL_PHOTO_FOLDERS)


def val_photos(data_root: Path) -> list[str]:
    return [p for p in list_photos(data_root) if is_val_photo(p)]


def train_photos(data_root: Path, fetched: bool = False) -> list[str]:
    """Training photos of the shared data and, with `fetched`, every photo of
    ``training.data.fetched`` (those all train: the held-out split stays the shared data's)."""
    photos = [p for p in list_photos(data_root) if not is_val_photo(p)]
    if fetched:
        from training.data import fetched as fetched_photos

        photos += fetched_photos.list_photos()
    return photos


def is_val_clip(source_name: str) -> bool:
    """`source_name` is a clip file name as in the scene metadata (e.g. ``DaSiamRPN_bag.mp4``)."""
    return f"videos/{source_name}" in VAL_CLIPS


def is_excluded_clip(source_name: str) -> bool:
    """A clip that may not be used at all (see EXCLUDED_CLIPS)."""
    return f"videos/{source_name}" in EXCLUDED_CLIPS


def _draw_val_photos(data_root: Path) -> list[str]:
    """Reproduce VAL_PHOTOS_SAMPLED from the data (how the frozen list was made)."""
    rng = np.random.default_rng(VAL_PHOTO_SEED)
    chosen: list[str] = []
    folders = sorted(p for p in (data_root / "stills").iterdir() if p.is_dir())
    for folder in folders:
        relative = folder.relative_to(data_root).as_posix() + "/"
        if relative in VAL_PHOTO_FOLDERS:
            continue
        files = list_photos(data_root, relative)
        chosen.extend(sorted(str(f) for f in rng.choice(files, VAL_PHOTOS_PER_FOLDER, replace=False)))
    return chosen
