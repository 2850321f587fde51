"""The ONNX step model at run time: finding, verifying, loading and running it.

`load_model(path, provider)` returns one shared `StepModel` per (file, provider) for the
whole process, so a host that builds a fresh node per frame never reloads. The shipped model
(the contract-2 folder models/colormotion2/) is verified against the SHA256SUMS in it before
loading; a contract-1 step file is verified against a SHA256SUMS beside it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
from pathlib import Path

import numpy as np

from . import contract

log = logging.getLogger("colormotion")

MODEL_FILENAME = "colormotion.onnx"  # a contract-1 step model
MODEL_FOLDERNAME = "colormotion2"  # a contract-2 model folder: preferred when it is installed
CHECKSUM_FILENAME = "SHA256SUMS"
PROVIDERS = ("auto", "cpu", "cuda", "tensorrt")
_ORT_PROVIDER = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
_RESTORE_HINT = f"reinstall the colormotion package or restore the models/{MODEL_FOLDERNAME}/ folder"
# For a model the user chose (--model, COLORMOTION_MODEL): reinstalling the package would not help.
_CUSTOM_HINT = (
    "check the path, or export a model with training/export.py (colormotion info shows the bundled one)"
)


def _advice(explicit: bool) -> str:
    return _CUSTOM_HINT if explicit else _RESTORE_HINT


class ModelError(RuntimeError):
    """The step model is missing, fails its checksum, cannot be loaded or breaks the contract."""


# ---------------------------------------------------------------------------------------------
# Finding and verifying the model file


def _repo_models_dir() -> Path:
    """models/ next to plugin/ (editable and Rez installs)."""
    return Path(__file__).resolve().parents[2] / "models"


def _prefix_models_dir() -> Path:
    """Where the wheel's data-files put the model."""
    return Path(sys.prefix) / "share" / "colormotion" / "models"


def default_model_path() -> Path:
    """The model to use when none is given: env COLORMOTION_MODEL (a file or model folder), env
    COLORMOTION_MODEL_DIR, the repository's models/, then sys.prefix/share/colormotion/models. In
    each models folder a contract-2 model folder (colormotion2/) wins over the step file."""
    explicit = os.environ.get("COLORMOTION_MODEL", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    folder = os.environ.get("COLORMOTION_MODEL_DIR", "").strip()
    folders = [Path(folder).expanduser()] if folder else [_repo_models_dir(), _prefix_models_dir()]
    candidates = [f / name for f in folders for name in (MODEL_FOLDERNAME, MODEL_FILENAME)]
    for candidate in candidates:
        if candidate.is_file() or (
            candidate.name == MODEL_FOLDERNAME and (candidate / "encode.onnx").is_file()
        ):
            return candidate
    if folder:
        return candidates[-1]  # the error names the step file the variable points at
    searched = ", ".join(str(c) for c in candidates)
    raise ModelError(f"no ColorMotion model found (looked for {searched}); {_RESTORE_HINT}")


def file_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _expected_sha256(path: Path) -> str | None:
    """The checksum listed for `path` in SHA256SUMS beside it; None when there is no SHA256SUMS."""
    sums = path.parent / CHECKSUM_FILENAME
    if not sums.is_file():
        return None
    for line in sums.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and parts[1].lstrip("*") == path.name:
            return parts[0].lower()
    raise ModelError(f"{sums} has no entry for {path.name}; {_RESTORE_HINT}")


def verify_model_file(path: Path, require_checksum: bool) -> str:
    """Check that `path` exists and matches SHA256SUMS beside it; return its sha256.

    `require_checksum` is False for a model the user chose, whose errors advise accordingly.
    """
    advice = _advice(explicit=not require_checksum)
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist; {advice}")
    expected = _expected_sha256(path)
    actual = file_sha256(path)
    if expected is None:
        if require_checksum:
            raise ModelError(
                f"{path.parent / CHECKSUM_FILENAME} is missing, cannot verify {path}; {_RESTORE_HINT}"
            )
        log.info("no %s beside %s: loading this custom model unverified", CHECKSUM_FILENAME, path)
    elif actual != expected:
        raise ModelError(
            f"model file {path} is damaged or modified (sha256 {actual}, expected {expected}); {advice}"
        )
    return actual


# ---------------------------------------------------------------------------------------------
# Sessions


def import_onnxruntime():
    """The onnxruntime module, or a ModelError saying which extra installs it.

    Neither build is a hard dependency: the CPU (`onnxruntime`) and GPU (`onnxruntime-gpu`)
    wheels install the same module and break each other, so the user picks one extra.
    """
    try:
        import onnxruntime as ort
    except ImportError as error:
        raise ModelError(
            "onnxruntime is not installed: pip install 'colormotion[cpu]' (or 'colormotion[gpu]' for CUDA)"
        ) from error
    return ort


def available_providers() -> list[str]:
    ort = import_onnxruntime()

    return list(ort.get_available_providers())


_PROVIDER_INSTALL = {
    "cuda": "pip install 'colormotion[gpu]' (onnxruntime-gpu) on a machine with an NVIDIA GPU and CUDA",
    "tensorrt": "pip install 'colormotion[gpu]' (onnxruntime-gpu) and TensorRT on a machine with an NVIDIA GPU",
    "cpu": "pip install 'colormotion[cpu]'",
}


def require_provider(provider: str) -> None:
    """A provider asked for by name must be there (the CLI's --provider); "auto" always is."""
    if provider == "auto":
        return
    if provider not in PROVIDERS:
        raise ModelError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    available = available_providers()
    if _ORT_PROVIDER[provider] not in available:
        raise ModelError(
            f"provider {provider!r} is not available in this onnxruntime (it has {', '.join(available)}); "
            f"{_PROVIDER_INSTALL[provider]}, or use --provider auto"
        )


def _provider_chain(provider: str) -> list[str]:
    """ORT provider names to try, best first; an unavailable request falls back with a warning."""
    if provider not in PROVIDERS:
        raise ModelError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    available = set(available_providers())
    if provider != "auto" and _ORT_PROVIDER[provider] not in available:
        log.warning("provider %r is not available in this onnxruntime build; using the next best", provider)
    preference = ("tensorrt", "cuda", "cpu")
    # "auto" and "tensorrt" may fall back through CUDA; "cuda" falls back to the CPU only
    wanted = preference if provider in ("auto", "tensorrt") else (provider, "cpu")
    chain = [_ORT_PROVIDER[name] for name in dict.fromkeys(wanted) if _ORT_PROVIDER[name] in available]
    return chain or [_ORT_PROVIDER["cpu"]]


def thread_count() -> int:
    """ORT intra-op threads: env COLORMOTION_THREADS, else every core (the host decides the rest)."""
    text = os.environ.get("COLORMOTION_THREADS", "").strip()
    if text:
        try:
            value = int(text)
            if value >= 1:
                return value
        except ValueError:
            pass
        log.warning("COLORMOTION_THREADS=%r is not a positive integer; using all cores", text)
    return os.cpu_count() or 1


def _provider_options(name: str) -> dict:
    if name == "TensorrtExecutionProvider":
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "colormotion" / "tensorrt"
        return {
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_fp16_enable": False,
        }
    if name == "CUDAExecutionProvider":
        # exhaustive search may pick different kernels per process; the heuristic is repeatable
        return {"cudnn_conv_algo_search": "HEURISTIC"}
    return {}


def session_threads(render_threads: int) -> int:
    """ORT threads per session when `render_threads` frames render at once: together they use
    `thread_count()` cores, not that many each (measured with `colormotion bench` on 2 cores:
    1080p in order 6.0 -> 7.2 fps with 2 render threads of 1 ORT thread instead of 2 of 2)."""
    return max(1, thread_count() // max(1, render_threads))


def open_session(path: Path, provider: str, explicit: bool, threads: int | None = None):
    """An onnxruntime session for one model file, set up as every ColorMotion graph runs;
    `threads` intra-op threads (default `thread_count()`)."""
    ort = import_onnxruntime()

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or thread_count()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.use_deterministic_compute = True
    options.log_severity_level = 3
    # A plugin shares the machine with its host: idle worker threads sleep instead of spinning.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    chain = _provider_chain(provider)
    try:
        return ort.InferenceSession(
            str(path),
            sess_options=options,
            providers=[(name, _provider_options(name)) for name in chain],
        )
    except Exception as error:  # onnxruntime raises its own exception types
        raise ModelError(f"cannot load model file {path} ({error}); {_advice(explicit)}") from error


class StepModel:
    """One ONNX step model (see `colormotion.contract`) in an onnxruntime session.

    `feature_channels` (C) and `feature_stride` (s) come from the model's metadata; `provider`
    names the execution provider that actually runs; `sha256` identifies the file. `step` is
    safe to call from several threads at once (onnxruntime sessions are).
    """

    has_vividness = False  # contract 1 has no vividness input (GraphModel: when its decode has one)

    def __init__(self, path: str | Path | None = None, provider: str = "auto", threads: int | None = None):
        explicit = path is not None or bool(os.environ.get("COLORMOTION_MODEL", "").strip())
        self.path = Path(path).expanduser() if path is not None else default_model_path()
        self.explicit = explicit
        self.sha256 = verify_model_file(self.path, require_checksum=not explicit)
        self._session = open_session(self.path, provider, self.explicit, threads)
        self.provider = self._session.get_providers()[0]
        self.feature_channels, self.feature_stride, self.version = self._check_contract()
        log.info(
            "colormotion model %s (%s, C=%d, s=%d) on %s",
            self.path,
            self.version,
            self.feature_channels,
            self.feature_stride,
            self.provider,
        )

    def _check_contract(self) -> tuple[int, int, str]:
        session = self._session
        inputs = tuple(item.name for item in session.get_inputs())
        outputs = tuple(item.name for item in session.get_outputs())
        if set(inputs) != set(contract.INPUT_NAMES) or set(outputs) != set(contract.OUTPUT_NAMES):
            raise ModelError(
                f"model {self.path} has inputs {inputs} and outputs {outputs}; a ColorMotion step model "
                f"needs inputs {contract.INPUT_NAMES} and outputs {contract.OUTPUT_NAMES} "
                "(export models with training/export.py)"
            )
        meta = session.get_modelmeta().custom_metadata_map
        version = meta.get(contract.META_CONTRACT)
        if version != contract.CONTRACT_VERSION:
            raise ModelError(
                f"model {self.path} follows model contract {version!r}, this colormotion needs "
                f"{contract.CONTRACT_VERSION!r}; install a matching model or package version"
            )
        try:
            channels = int(meta[contract.META_FEATURE_CHANNELS])
            stride = int(meta[contract.META_FEATURE_STRIDE])
        except (KeyError, ValueError) as error:
            raise ModelError(
                f"model {self.path} lacks valid feature channel/stride metadata ({error})"
            ) from error
        if channels < 1 or stride < 1 or contract.SIZE_MULTIPLE % stride:
            raise ModelError(
                f"model {self.path} declares an unusable feature grid (C={channels}, s={stride})"
            )
        return channels, stride, meta.get(contract.META_VERSION, "unknown")

    def zero_features(self, height: int, width: int, batch: int = 1) -> np.ndarray:
        """prev_feat for a chain start at working size height x width."""
        s = self.feature_stride
        return np.zeros((batch, self.feature_channels, height // s, width // s), np.float32)

    def _feeds(self, gray, hints, prev_feat, flow, has_prev) -> dict[str, np.ndarray]:
        """Validated contract inputs; prev_feat and flow None mean zeros (a chain start)."""
        gray = np.ascontiguousarray(gray, np.float32)
        if gray.ndim != 4 or gray.shape[1] != 1:
            raise ValueError(f"gray must be [N, 1, H, W], got shape {gray.shape}")
        batch, _, height, width = gray.shape
        if height % contract.SIZE_MULTIPLE or width % contract.SIZE_MULTIPLE:
            raise ValueError(
                f"model input size {width}x{height} is not a multiple of {contract.SIZE_MULTIPLE}"
            )
        grid = (height // self.feature_stride, width // self.feature_stride)
        if prev_feat is None:
            prev_feat = self.zero_features(height, width, batch)
        if flow is None:
            flow = np.zeros((batch, 2, *grid), np.float32)
        feeds = {
            "gray": gray,
            "hints": np.ascontiguousarray(hints, np.float32),
            "prev_feat": np.ascontiguousarray(prev_feat, np.float32),
            "flow": np.ascontiguousarray(flow, np.float32),
            "has_prev": np.broadcast_to(np.asarray(has_prev, np.float32), (batch, 1, 1, 1)).copy(),
        }
        expected = {
            "hints": (batch, 3, height, width),
            "prev_feat": (batch, self.feature_channels, *grid),
            "flow": (batch, 2, *grid),
        }
        for name, shape in expected.items():
            if feeds[name].shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {feeds[name].shape}")
        return feeds

    def step(
        self,
        gray: np.ndarray,
        hints: np.ndarray,
        prev_feat: np.ndarray | None,
        flow: np.ndarray | None,
        has_prev: np.ndarray | float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One recurrence step on [N, ...] float32 batches -> (ab, feat, mask).

        prev_feat and flow may be None at a chain start (has_prev = 0); they become zeros.
        """
        feeds = self._feeds(gray, hints, prev_feat, flow, has_prev)
        ab, feat, mask = self._session.run(list(contract.OUTPUT_NAMES), feeds)
        return ab, feat, mask

    def features(
        self,
        gray: np.ndarray,
        hints: np.ndarray,
        prev_feat: np.ndarray | None,
        flow: np.ndarray | None,
        has_prev: np.ndarray | float,
    ) -> np.ndarray:
        """`step`'s feat alone, for steps that only carry state forward (warm-up, catching up).

        It costs as much as `step`: onnxruntime runs the whole graph whichever outputs are
        fetched (measured: 14.7 vs 15.1 ms median at 256x256).
        """
        return self.step(gray, hints, prev_feat, flow, has_prev)[1]


# ---------------------------------------------------------------------------------------------
# The process-level model cache

_MODELS: dict[tuple, StepModel] = {}
_MODELS_LOCK = threading.Lock()


def load_model(
    path: str | Path | None = None, provider: str = "auto", threads: int | None = None
) -> StepModel:
    """The shared StepModel (or GraphModel) for (file, provider, ORT threads per session, default
    `thread_count()`); loaded (and verified) once per process.

    A file replaced on disk (new size or mtime) is loaded afresh.
    """
    resolved = Path(path).expanduser() if path is not None else default_model_path()
    try:
        stat = resolved.resolve().stat()
    except OSError as error:
        explicit = path is not None or bool(os.environ.get("COLORMOTION_MODEL", "").strip())
        raise ModelError(f"model file {resolved} does not exist; {_advice(explicit)}") from error
    key = (str(resolved.resolve()), stat.st_size, stat.st_mtime_ns, provider, path is None, threads)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            from .graph_model import GraphModel, is_graph_model

            if is_graph_model(resolved):  # a contract-2 model folder
                explicit = path is not None or bool(os.environ.get("COLORMOTION_MODEL", "").strip())
                model = GraphModel(resolved, provider, explicit=explicit, threads=threads)
            else:
                model = StepModel(resolved if path is not None else None, provider, threads)
            _MODELS[key] = model
        return model


def describe_runtime(path: str | Path | None = None, provider: str = "auto") -> dict:
    """What `colormotion info` prints: the model, its provider and the library versions."""
    import cv2

    ort = import_onnxruntime()

    info: dict = {
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "hint_spread": "available" if hasattr(cv2, "ximgproc") else "unavailable (OpenCV without contrib)",
        "available_providers": available_providers(),
        "threads": thread_count(),
    }
    from .temporal.cache import PROCESS_CACHE

    info["cache_mb"] = PROCESS_CACHE.max_bytes / (1024 * 1024)
    try:
        model = load_model(path, provider)
    except ModelError as error:
        info.update(model_path=str(path) if path else None, model_error=str(error))
        return info
    info.update(
        model_path=str(model.path),
        model_version=model.version,
        model_contract=contract.CONTRACT_VERSION if isinstance(model, StepModel) else contract.CONTRACT_2,
        sha256=model.sha256,
        feature_channels=model.feature_channels,
        feature_stride=model.feature_stride,
        provider=model.provider,
    )
    return info
