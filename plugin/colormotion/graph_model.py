"""A contract-2 model (`colormotion.contract.GRAPHS_2`): four ONNX graphs in one folder, each in
its own onnxruntime session, so the engine runs each piece only where it is needed.

    model = GraphModel("models/colormotion2")
    encoded = model.encode(gray)                         # once per frame
    reference = model.reference(gray_r, guide_r)         # once per reference frame
    feat = model.blend(encoded.current, prev_feat, flow, has_prev)
    ab = model.decode(encoded, feat, guide, reference)   # only for frames that are output
    ab = model.decode(encoded, feat, guide, reference, vividness=0.5)   # rarer colours favoured

Arrays are float32 numpy, batch first. Safe to call from several threads at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import contract, profiling
from .model import ModelError, _advice, open_session, verify_model_file

log = logging.getLogger("colormotion")


@dataclass(frozen=True)
class Encoded:
    """encode's outputs for one frame (or a batch)."""

    current: np.ndarray
    key: np.ndarray
    skip4: np.ndarray
    skip2: np.ndarray

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.current, self.key, self.skip4, self.skip2))


@dataclass(frozen=True)
class Reference:
    """reference's outputs: where to look (key) and what colour is there (premultiplied)."""

    key: np.ndarray
    colour: np.ndarray


class GraphModel:
    """The four sessions of a contract-2 model folder, checked against the contract."""

    def __init__(
        self, folder: str | Path, provider: str = "auto", explicit: bool = True, threads: int | None = None
    ):
        self.path = Path(folder).expanduser()
        if not self.path.is_dir():
            raise ModelError(f"model folder {self.path} does not exist; {_advice(explicit)}")
        digest = hashlib.sha256()
        self._sessions = {}
        metadata = {}
        for graph in contract.GRAPHS_2:
            file = contract.graph_file(self.path, graph)
            digest.update(graph.encode() + verify_model_file(file, require_checksum=not explicit).encode())
            session = open_session(file, provider, explicit, threads)
            self._check_graph(session, graph, file)
            self._sessions[graph] = session
            metadata[graph] = session.get_modelmeta().custom_metadata_map
        self.sha256 = digest.hexdigest()
        decode_inputs = tuple(i.name for i in self._sessions["decode"].get_inputs())
        self.has_vividness = "vividness" in decode_inputs
        self.provider = self._sessions["encode"].get_providers()[0]
        meta = metadata["encode"]
        try:
            self.feature_channels = int(meta[contract.META_FEATURE_CHANNELS])
            self.feature_stride = int(meta[contract.META_FEATURE_STRIDE])
            self.key_channels = int(meta[contract.META_KEY_CHANNELS])
            self.key_stride = int(meta[contract.META_KEY_STRIDE])
        except (KeyError, ValueError) as error:
            raise ModelError(f"model {self.path} lacks valid contract-2 metadata ({error})") from error
        self.version = meta.get(contract.META_VERSION, "unknown")
        self._gflops_per_pixel = {
            graph: float(values[contract.META_GFLOPS_PER_MEGAPIXEL]) / 1e6
            for graph, values in metadata.items()
            if contract.META_GFLOPS_PER_MEGAPIXEL in values
        }
        versions = {m.get(contract.META_VERSION) for m in metadata.values()}
        if len(versions) != 1:
            raise ModelError(
                f"the graphs of {self.path} come from different exports ({sorted(map(str, versions))})"
            )
        log.info("colormotion model %s (%s, contract 2) on %s", self.path, self.version, self.provider)

    @staticmethod
    def _check_graph(session, graph: str, file: Path) -> None:
        inputs, outputs = contract.GRAPHS_2[graph]
        accepted = {inputs}
        if graph == "decode":
            accepted.add(contract.DECODE_INPUTS_WITHOUT_VIVIDNESS)
        got_in = tuple(i.name for i in session.get_inputs())
        got_out = tuple(o.name for o in session.get_outputs())
        version = session.get_modelmeta().custom_metadata_map.get(contract.META_CONTRACT)
        if version != contract.CONTRACT_2 or got_in not in accepted or got_out != outputs:
            raise ModelError(
                f"{file} is not the {graph} graph of a contract-2 model (contract {version!r}, inputs "
                f"{got_in}, outputs {got_out}); export models with training/export_v2.py"
            )

    def graph_gflops(
        self, graph: str, height: int, width: int, reference_positions: int | None = None
    ) -> float | None:
        """GFLOPs of one call of `graph` on a height x width frame (decode with its attention to
        a reference of `reference_positions` keys, by default one of the frame's size), when the
        export recorded them."""
        per_pixel = self._gflops_per_pixel.get(graph)
        if per_pixel is None:
            return None
        gflops = per_pixel * height * width
        if graph == "decode":
            positions = (height // self.key_stride) * (width // self.key_stride)
            keys = positions if reference_positions is None else reference_positions
            gflops += 4 * positions * keys * self.key_channels / 1e9
        return gflops

    def frame_gflops(self, height: int, width: int) -> float | None:
        """GFLOPs of one output frame in order (encode, blend, decode) at a working size, when the
        export recorded them."""
        calls = [self.graph_gflops(g, height, width) for g in ("encode", "blend", "decode")]
        return None if None in calls else sum(calls)

    def _count(
        self, graph: str, frames: int, height: int, width: int, reference_positions: int | None = None
    ) -> None:
        """Add the GFLOPs of one call to the `model_gflops` work counter (when the export recorded them)."""
        gflops = self.graph_gflops(graph, height, width, reference_positions)
        if gflops is not None:
            profiling.add_work("model_gflops", frames * gflops)

    # -- the graphs ---------------------------------------------------------------------------

    def encode(self, gray: np.ndarray) -> Encoded:
        gray = _batch(gray, 1, "gray")
        if gray.shape[2] % contract.SIZE_MULTIPLE or gray.shape[3] % contract.SIZE_MULTIPLE:
            raise ValueError(f"model input size {gray.shape[3]}x{gray.shape[2]} is not a multiple of 32")
        encoded = Encoded(*self._sessions["encode"].run(None, {"gray": gray}))
        self._count("encode", *gray.shape[:1], *gray.shape[2:])
        return encoded

    def reference(self, gray: np.ndarray, guide: np.ndarray) -> Reference:
        feeds = {"gray": _batch(gray, 1, "gray"), "guide": _batch(guide, 3, "guide")}
        reference = Reference(*self._sessions["reference"].run(None, feeds))
        self._count("reference", feeds["gray"].shape[0], *feeds["gray"].shape[2:])
        return reference

    def no_reference(self, encoded: Encoded) -> Reference:
        """What decode gets without a reference: one key position of colour 0 and confidence 0.
        The attention's output is then exactly the zero it is for a zero reference of the
        frame's size (uniform weights over zeros), without the frame-size attention's work."""
        batch, channels = encoded.key.shape[:2]
        return Reference(
            np.zeros((batch, channels, 1, 1), np.float32), np.zeros((batch, 3, 1, 1), np.float32)
        )

    def blend(
        self, current: np.ndarray, prev_feat: np.ndarray | None, flow: np.ndarray | None, has_prev: float
    ) -> np.ndarray:
        """The state after this frame; prev_feat and flow None at a chain start (has_prev 0)."""
        batch, _, height, width = current.shape
        if prev_feat is None:
            prev_feat = np.zeros_like(current)
        if flow is None:
            flow = np.zeros((batch, 2, height, width), np.float32)
        feeds = {
            "current": np.ascontiguousarray(current, np.float32),
            "prev_feat": np.ascontiguousarray(prev_feat, np.float32),
            "flow": np.ascontiguousarray(flow, np.float32),
            "has_prev": np.full((batch, 1, 1, 1), float(has_prev), np.float32),
        }
        feat = self._sessions["blend"].run(["feat"], feeds)[0]
        stride = self.feature_stride
        self._count("blend", batch, height * stride, width * stride)
        return feat

    def decode(
        self,
        encoded: Encoded,
        feat: np.ndarray,
        guide: np.ndarray,
        reference: Reference,
        vividness: float = 0.0,
    ) -> np.ndarray:
        """a*b* [N,2,H,W]; `vividness` (>= 0, see colormotion.contract) needs a decode graph
        that takes it, except at 0."""
        feeds = {
            "feat": np.ascontiguousarray(feat, np.float32),
            "skip4": encoded.skip4,
            "skip2": encoded.skip2,
            "key": encoded.key,
            "guide": _batch(guide, 3, "guide"),
            "ref_key": reference.key,
            "ref_colour": reference.colour,
        }
        if self.has_vividness:
            feeds["vividness"] = np.full((feeds["guide"].shape[0], 1, 1, 1), vividness, np.float32)
        elif vividness != 0.0:
            raise ModelError(
                f"vividness {vividness:g} needs a model whose decode graph takes it; {self.path} "
                "(exported before vividness existed) runs at vividness 0 only: re-export it with "
                "training/export_v2.py"
            )
        ab = self._sessions["decode"].run(["ab"], feeds)[0]
        reference_positions = reference.key.shape[2] * reference.key.shape[3]
        self._count("decode", feeds["guide"].shape[0], *feeds["guide"].shape[2:], reference_positions)
        return ab


def _batch(array: np.ndarray, channels: int, name: str) -> np.ndarray:
    array = np.ascontiguousarray(array, np.float32)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[1] != channels:
        raise ValueError(f"{name} must be [N, {channels}, H, W], got shape {array.shape}")
    return array


def is_graph_model(path: str | Path) -> bool:
    """A folder holding contract-2 graphs (rather than a contract-1 .onnx file)."""
    path = Path(os.path.expanduser(str(path)))
    return path.is_dir() and contract.graph_file(path, "encode").is_file()
