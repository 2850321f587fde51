"""Image sequences and still images through OpenImageIO.

Patterns name the frame number with `####` (zero padded to the number of #), `%04d` (printf)
or a single `#` (any padding on input, 4 digits on output). Frames keep their pixel type
(uint8, uint16, half, float), their alpha and their metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from .errors import InputError, OutputError

# one frame-number token: ####..., a lone #, or printf %d / %0Nd
_TOKEN = re.compile(r"#+|%0?(\d*)d")

# pixel types kept as they are; anything else is read as float32
_NATIVE_TYPES = {"uint8": np.uint8, "uint16": np.uint16, "half": np.float16, "float": np.float32}
_OIIO_TYPE_OF_DTYPE = {
    np.dtype(np.uint8): "uint8",
    np.dtype(np.uint16): "uint16",
    np.dtype(np.float16): "half",
    np.dtype(np.float32): "float",
}
# pixel types a file format can store (formats not listed store all four)
_FORMAT_TYPES = {
    "png": ("uint8", "uint16"),
    "jpeg": ("uint8",),
    "bmp": ("uint8",),
    "targa": ("uint8",),
    "webp": ("uint8",),
    "dpx": ("uint8", "uint16", "float"),
}


def image_extensions() -> frozenset[str]:
    """Lower-case file extensions (no dot) that OpenImageIO can read."""
    text = oiio.get_string_attribute("extension_list")
    exts: set[str] = set()
    for entry in text.split(";"):
        _, _, names = entry.partition(":")
        exts.update(name.lower() for name in names.split(",") if name)
    return frozenset(exts)


def is_image_path(path: str | Path) -> bool:
    return Path(path).suffix.lower().lstrip(".") in image_extensions()


@dataclass(frozen=True)
class SequencePattern:
    """`directory/prefix<number>suffix`; `padding` None = any width (a lone `#` on input)."""

    directory: Path
    prefix: str
    suffix: str
    padding: int | None

    @property
    def text(self) -> str:
        token = "#" if self.padding is None else "#" * self.padding
        return str(self.directory / f"{self.prefix}{token}{self.suffix}")

    def path(self, frame: int) -> Path:
        width = 4 if self.padding is None else self.padding
        sign = "-" if frame < 0 else ""
        return self.directory / f"{self.prefix}{sign}{abs(frame):0{width}d}{self.suffix}"

    def match(self, name: str) -> int | None:
        """Frame number of a file name, or None when it is not part of this sequence."""
        if not (name.startswith(self.prefix) and name.endswith(self.suffix)):
            return None
        digits = name[len(self.prefix) : len(name) - len(self.suffix)]
        body = digits[1:] if digits.startswith("-") else digits
        if not body.isdigit() or not body.isascii():
            return None
        if self.padding is not None and len(body) != self.padding:
            # wider than the padding only once the number needs it (e.g. frame 10000 of ####)
            if len(body) < self.padding or body.startswith("0"):
                return None
        return int(digits)


def parse_pattern(path: str | Path) -> SequencePattern | None:
    """The sequence pattern in a path's file name, or None for a plain file name."""
    path = Path(path)
    matches = list(_TOKEN.finditer(path.name))
    if not matches:
        return None
    token = matches[-1]
    text = token.group(0)
    if text.startswith("%"):
        padding = int(token.group(1) or 1)
    else:
        padding = None if text == "#" else len(text)
    name = path.name
    return SequencePattern(path.parent, name[: token.start()], name[token.end() :], padding)


def find_frames(pattern: SequencePattern) -> dict[int, Path]:
    """Existing frames of a sequence, by frame number, in ascending order."""
    if not pattern.directory.is_dir():
        raise InputError("input folder does not exist", pattern.directory)
    frames: dict[int, Path] = {}
    for entry in pattern.directory.iterdir():
        number = pattern.match(entry.name)
        if number is None or not entry.is_file():
            continue
        if number in frames:
            raise InputError(f"two files for frame {number}: {frames[number].name} and {entry.name}", entry)
        frames[number] = entry
    return dict(sorted(frames.items()))


def _channel_order(spec: oiio.ImageSpec) -> list[int]:
    """Channel indices giving RGB or RGBA (grey is repeated into RGB)."""
    names = [name.upper() for name in spec.channelnames]
    alpha = spec.alpha_channel if spec.alpha_channel >= 0 else (names.index("A") if "A" in names else -1)
    if all(c in names for c in "RGB"):
        rgb = [names.index(c) for c in "RGB"]
    else:
        colour = [i for i in range(spec.nchannels) if i != alpha]
        if not colour:
            raise ValueError("no colour channels")
        rgb = colour[:3] if len(colour) >= 3 else [colour[0]] * 3
    return rgb + ([alpha] if alpha >= 0 else [])


def read_image(path: str | Path) -> tuple[np.ndarray, oiio.ImageSpec]:
    """Pixels [H, W, 3|4] in the file's own type (uint8/uint16/half/float32) and its ImageSpec."""
    path = Path(path)
    if not path.is_file():
        raise InputError("input file does not exist" if not path.exists() else "input is not a file", path)
    if path.stat().st_size == 0:
        raise InputError("input file is empty", path)
    # pixels as stored: no premultiplying of PNG/TIFF alpha (we colorize RGB and keep alpha as is)
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    image_input = oiio.ImageInput.open(str(path), config)
    if image_input is None:
        raise InputError(f"cannot read image: {_oiio_message(oiio.geterror())}", path)
    try:
        spec = image_input.spec()
        if spec.deep:
            raise InputError("deep images are not supported", path)
        if spec.width < 1 or spec.height < 1:
            raise InputError("image has no pixels", path)
        type_name = str(spec.format)
        read_type = type_name if type_name in _NATIVE_TYPES else "float"
        pixels = image_input.read_image(0, 0, 0, spec.nchannels, read_type)
        if pixels is None or image_input.has_error:
            raise InputError(f"corrupt or truncated image: {_oiio_message(image_input.geterror())}", path)
        try:
            order = _channel_order(spec)
        except ValueError as error:
            raise InputError(f"image has {error}", path) from None
    finally:
        image_input.close()
    pixels = np.asarray(pixels).reshape(spec.height, spec.width, spec.nchannels)
    return np.ascontiguousarray(pixels[:, :, order]), spec.copy()


def write_image(path: str | Path, pixels: np.ndarray, template: oiio.ImageSpec | None = None) -> list[str]:
    """Write [H, W, 3|4] pixels, keeping their type where the format can and the template's metadata.

    Returns warnings (e.g. alpha dropped by a format without alpha).
    """
    path = Path(path)
    warnings: list[str] = []
    image_output = oiio.ImageOutput.create(str(path))
    if image_output is None:
        raise OutputError(f"cannot write this image format: {_oiio_message(oiio.geterror())}", path)
    height, width, channels = pixels.shape
    if channels == 4 and not image_output.supports("alpha"):
        warnings.append(f"{image_output.format_name()} has no alpha channel: alpha dropped")
        pixels, channels = pixels[:, :, :3], 3
    type_name = _storage_type(image_output.format_name(), pixels.dtype)
    spec = oiio.ImageSpec(width, height, channels, type_name)
    if template is not None:
        _copy_metadata(template, spec)
    if template is None and channels == 4:
        spec.attribute("oiio:UnassociatedAlpha", 1)  # video alpha is straight, not premultiplied
    spec.channelnames = ("R", "G", "B", "A")[:channels]
    spec.alpha_channel = 3 if channels == 4 else -1
    if not image_output.open(str(path), spec):
        raise OutputError(f"cannot write image: {_oiio_message(image_output.geterror())}", path)
    try:
        if not image_output.write_image(np.ascontiguousarray(pixels)):
            raise OutputError(f"cannot write image: {_oiio_message(image_output.geterror())}", path)
    finally:
        image_output.close()
    return warnings


def _storage_type(format_name: str, dtype: np.dtype) -> str:
    """The input's pixel type if the format stores it, else the deepest one the format has."""
    wanted = _OIIO_TYPE_OF_DTYPE.get(np.dtype(dtype), "float")
    allowed = _FORMAT_TYPES.get(format_name)
    if allowed is None or wanted in allowed:
        return wanted
    return "uint16" if "uint16" in allowed else allowed[0]


# attributes that describe the input file's own encoding, not the picture
_ENCODING_ATTRIBUTES = ("oiio:BitsPerSample",)


def _copy_metadata(template: oiio.ImageSpec, spec: oiio.ImageSpec) -> None:
    for attribute in template.extra_attribs:
        if attribute.name in _ENCODING_ATTRIBUTES and str(template.format) != str(spec.format):
            continue
        spec.attribute(attribute.name, attribute.type, attribute.value)


def _oiio_message(text: str) -> str:
    return " ".join(text.split()) or "unknown error"
