"""Engine options shared by `colorize` and `bench`, and their translation into node parameters."""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from ..colour import TRANSFERS
from ..io.errors import InputError, UsageError
from ..model import PROVIDERS

TRANSFER_CHOICES = TRANSFERS
PROVIDER_CHOICES = PROVIDERS
DEFAULT_WINDOW = 16


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engine")
    group.add_argument("--model", metavar="PATH", help="ONNX step model (default: the bundled model)")
    group.add_argument(
        "--provider", choices=PROVIDER_CHOICES, default="auto", help="ONNX Runtime provider (default: auto)"
    )
    group.add_argument(
        "--stateless", action="store_true", help="colorize every frame on its own (no temporal state)"
    )
    group.add_argument("--strength", type=float, metavar="S", help="colour strength (1 = as predicted)")
    group.add_argument(
        "--vividness",
        type=float,
        metavar="V",
        help="favour rarer, more saturated colours where the model is unsure, 0..2 (default 0: as "
        "trained; 0.25 about twice as colourful, with more flicker; contract-2 models)",
    )
    group.add_argument(
        "--hint-spread",
        type=float,
        metavar="X",
        help="how far hint colours fill their regions, stopping at edges, 0..4 (default 1; 0: only "
        "the spots under the hints; contract-2 models)",
    )
    group.add_argument(
        "--working-resolution",
        type=working_resolution,
        metavar="N",
        help=f"short side the model sees, in pixels: a multiple of 32 from 32 to {MAX_WORKING_RESOLUTION} "
        "(default 256); never more than the input's own short side",
    )
    group.add_argument(
        "--window", type=int, metavar="N", help=f"temporal window in frames, even (default {DEFAULT_WINDOW})"
    )
    group.add_argument("--cut-sensitivity", type=float, metavar="X", help="scene-cut sensitivity 0..1")
    group.add_argument(
        "--transfer", choices=TRANSFER_CHOICES, help="transfer function of the input (default srgb)"
    )


MAX_WORKING_RESOLUTION = 2048


def working_resolution(text: str) -> int:
    """argparse type of --working-resolution: a multiple of 32 in 32..MAX_WORKING_RESOLUTION."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of pixels, got {text!r}") from None
    if value < 32 or value > MAX_WORKING_RESOLUTION or value % 32:
        raise argparse.ArgumentTypeError(
            f"must be a multiple of 32 from 32 to {MAX_WORKING_RESOLUTION} (e.g. 256, 384, 512), got {value}"
        )
    return value


def validate_engine_arguments(args: argparse.Namespace) -> None:
    if args.window is not None and (args.window < 2 or args.window % 2):
        raise UsageError(f"--window must be an even number >= 2, got {args.window}")
    for name in ("strength", "vividness", "hint_spread", "cut_sensitivity"):
        check_param_range(name, getattr(args, name))


def check_param_range(name: str, value: float | None) -> None:
    """A command-line value of node parameter `name` (None: not given) within the parameter's
    own range (node.PARAM_SPECS), else a usage error that names the option."""
    from ..node import param_spec

    spec = param_spec(name)
    if value is not None and not spec.minimum <= value <= spec.maximum:
        flag = "--" + name.replace("_", "-")
        raise UsageError(f"{flag} must be within {spec.minimum:g}..{spec.maximum:g}, got {value}")


def cache_frames(args: argparse.Namespace, render_threads: int | None = None) -> int:
    """Source frames to keep decoded. Out of order a chain reaches at most one window back. In
    order (`render_threads` frames at once) the engine keeps every frame's working data in its
    process cache and reads a source frame only while rendering it: the frames in flight, the
    one before and the next suffice (at 1080p each decoded frame is 6 MB or more)."""
    if render_threads is not None:
        return render_threads + 2
    return (args.window or DEFAULT_WINDOW) + 2


# What the engine caches per frame at the working size (encode's outputs, L*, states, a*b*):
# ~43 bytes a working pixel, measured at 1080p (456x256); with margin.
CACHE_BYTES_PER_WORKING_PIXEL = 48


@contextlib.contextmanager
def in_order_cache(args: argparse.Namespace, height: int, width: int):
    """While rendering in order, keep the engine's process cache to what that reuses: about a
    window of frames. Its default bound (512 MB) suits hosts that jump around a clip; in order
    it only grew memory over a long render (48 frames at 1080p peaked at 1.01 GB with 512 MB,
    0.82 GB with 64 MB, for the same model work per frame). COLORMOTION_CACHE_MB, when set,
    still decides. The bound is restored afterwards."""
    from .. import colour
    from ..temporal.cache import CACHE_MB_ENV, PROCESS_CACHE

    if os.environ.get(CACHE_MB_ENV, "").strip():
        yield
        return
    working_h, working_w = colour.working_size(height, width, args.working_resolution or 256)
    frames = (args.window or DEFAULT_WINDOW) + 2
    previous = PROCESS_CACHE.max_bytes
    PROCESS_CACHE.set_max_bytes(min(previous, frames * CACHE_BYTES_PER_WORKING_PIXEL * working_h * working_w))
    try:
        yield
    finally:
        PROCESS_CACHE.set_max_bytes(previous)


def load_hints(path: str | None):
    if path is None:
        return None
    if not Path(path).is_file():
        raise InputError("hints file does not exist", path)
    from ..hints import HintError, HintSet

    try:
        return HintSet.from_file(path)
    except HintError as error:
        raise InputError(f"bad hints file: {error}", path) from None


def load_references(arguments: list[str] | None, hints, first: int, last: int) -> list:
    """The --reference FRAME=IMAGE values, read; they and the hints file's references (which the
    node takes from the hints themselves) are checked now, before anything is rendered."""
    from ..hints import HintError
    from ..references import ReferenceError, parse_reference_argument, read_reference

    references = []
    for text in arguments or []:
        try:
            frame, path = parse_reference_argument(text)
        except ValueError as error:
            raise UsageError(f"--reference: {error}") from None
        try:
            references.append(read_reference(path, frame))
        except ReferenceError as error:  # its message names the image
            raise InputError(str(error)) from None
    from_hints = []
    if hints is not None:
        try:
            from_hints = hints.reference_frames()
        except HintError as error:
            raise InputError(f"bad hints file: {error}") from None
    for reference in references + from_hints:
        if not first <= reference.frame <= last:
            raise UsageError(
                f"reference {reference.name!r} is for frame {reference.frame}, outside the input's frames {first}-{last}"
            )
    return references


def build_node(args: argparse.Namespace, hints, references=()):
    """(node, params) for the options; raises ModelError when the model cannot be loaded."""
    from ..node import ColorizeNode, StaticParams

    values = {
        "stateless": args.stateless,
        "strength": args.strength,
        "vividness": args.vividness,
        "hint_spread": args.hint_spread,
        "working_resolution": args.working_resolution,
        "temporal_window": args.window,
        "cut_sensitivity": args.cut_sensitivity,
        "input_transfer": args.transfer,
    }
    values = {name: value for name, value in values.items() if value is not None}
    from ..model import require_provider, session_threads

    require_provider(args.provider)  # asked for by name: missing is an error (exit 5), not a fallback
    node = ColorizeNode(
        model_path=args.model,
        provider=args.provider,
        hints=hints,
        references=references,
        model_threads=session_threads(getattr(args, "render_threads", 1)),
    )
    params = StaticParams(values)
    model = node.model(0, params)  # load now: a model error stops the command before any frame
    from ..model import ModelError, StepModel

    if references and isinstance(model, StepModel):
        raise ModelError(
            f"--reference needs a contract-2 model (a model folder); {model.path.name} follows contract 1"
        )
    if args.vividness and not model.has_vividness:
        raise ModelError(
            f"--vividness needs a model whose decode graph takes it; {model.path.name} has none "
            "(a contract-1 model, or one exported before vividness existed: re-export it)"
        )
    return node, params
