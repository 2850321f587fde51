"""An int8 variant of a contract-2 model folder, to measure what it gains and what it costs.

    python -m training.quantize models/colormotion2 OUT_FOLDER [--graphs encode reference] [--photos 64]
    colormotion bench --model OUT_FOLDER                # speed, beside the float model
    python -m training.evaluate --model OUT_FOLDER      # quality, beside the float model

The named graphs are quantised statically (onnxruntime's QDQ format: int8 weights per channel,
uint8 activations), calibrated on training photos of the shared data, never held-out ones; the
other graphs are copied unchanged. Every graph keeps the contract's metadata, and the model
version gains "-int8-<graphs>" so the engine's caches never mix the two models.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
from colormotion import colour, contract
from colormotion.graph_model import GraphModel

from training.data import DATA_ROOT, split

QUANTISABLE = ("encode", "reference", "decode")
CALIBRATION_SIZE = 256  # px, the engine's default working short side


def calibration_frames(count: int, seed: int = 0) -> list[np.ndarray]:
    """`count` training photos (seeded choice) as uint8 RGB squares of CALIBRATION_SIZE."""
    from training.evaluate import load_photo_square

    photos = split.train_photos(DATA_ROOT)
    chosen = np.random.default_rng(seed).choice(len(photos), size=min(count, len(photos)), replace=False)
    return [load_photo_square(DATA_ROOT / photos[int(i)], CALIBRATION_SIZE) for i in sorted(chosen)]


def graph_feeds(model: GraphModel, rgb: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """The inputs each graph gets for one photo, as the engine builds them: the photo as its own
    dense reference (its true a*b*, confidence 1), a chain start."""
    lab = colour.to_lab(rgb, "srgb")
    size = rgb.shape[:2]
    gray = colour.model_gray(lab, size)[None, None]
    guide = np.concatenate(
        (lab[..., 1:].transpose(2, 0, 1) / contract.AB_SCALE, np.ones((1, *size), np.float32))
    )[None].astype(np.float32)
    encoded = model.encode(gray)
    reference = model.reference(gray, guide)
    feat = model.blend(encoded.current, None, None, 0.0)
    return {
        "encode": {"gray": gray},
        "reference": {"gray": gray, "guide": guide},
        "decode": {
            "feat": feat,
            "skip4": encoded.skip4,
            "skip2": encoded.skip2,
            "key": encoded.key,
            "guide": guide,
            "ref_key": reference.key,
            "ref_colour": reference.colour,
        },
    }


class _Feeds:
    """onnxruntime's CalibrationDataReader over prepared feeds."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self._feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def quantise_folder(source: Path, out: Path, graphs: tuple[str, ...], frames: list[np.ndarray]) -> Path:
    """Write `source` to `out` with `graphs` quantised, calibrated on `frames` (uint8 RGB)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    unknown = set(graphs) - set(QUANTISABLE)
    if unknown:
        raise ValueError(
            f"cannot quantise {', '.join(sorted(unknown))}; choose from {', '.join(QUANTISABLE)}"
        )
    model = GraphModel(source, explicit=True)
    feeds = [graph_feeds(model, rgb) for rgb in frames]
    out.mkdir(parents=True, exist_ok=True)
    suffix = "-int8-" + "-".join(graphs)
    with tempfile.TemporaryDirectory(prefix="colormotion-quantise-") as scratch:
        for graph in contract.GRAPHS_2:
            source_file, target = contract.graph_file(source, graph), contract.graph_file(out, graph)
            if graph in graphs:
                prepared = Path(scratch) / f"{graph}.onnx"
                quant_pre_process(str(source_file), str(prepared), skip_symbolic_shape=True)
                quantize_static(
                    str(prepared),
                    str(target),
                    _Feeds([f[graph] for f in feeds]),
                    quant_format=QuantFormat.QDQ,
                    per_channel=True,
                    weight_type=QuantType.QInt8,
                    activation_type=QuantType.QUInt8,
                    calibrate_method=CalibrationMethod.MinMax,
                )
            else:
                shutil.copyfile(source_file, target)
            _keep_metadata(source_file, target, suffix)
    return out


def _keep_metadata(source_file: Path, target: Path, version_suffix: str) -> None:
    """The source graph's contract metadata on `target`, its model version marked as int8."""
    metadata = {p.key: p.value for p in onnx.load(str(source_file), load_external_data=False).metadata_props}
    metadata[contract.META_VERSION] = metadata.get(contract.META_VERSION, "") + version_suffix
    quantised = onnx.load(str(target))
    del quantised.metadata_props[:]
    for key, value in metadata.items():
        quantised.metadata_props.add(key=key, value=value)
    onnx.save(quantised, str(target))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path, help="a contract-2 model folder")
    parser.add_argument("out", type=Path)
    parser.add_argument("--graphs", nargs="+", default=["encode", "reference"], choices=QUANTISABLE)
    parser.add_argument("--photos", type=int, default=64, help="training photos to calibrate on")
    args = parser.parse_args(argv)
    if args.out.resolve() == args.model.resolve():
        parser.error("the output folder must differ from the model folder")
    quantise_folder(args.model, args.out, tuple(args.graphs), calibration_frames(args.photos))
    print(f"wrote {args.out} ({', '.join(args.graphs)} int8)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
