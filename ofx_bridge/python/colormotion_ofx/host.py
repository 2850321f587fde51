"""Thin Python wrappers over the host's OpenFX suites.

Every host call goes through here, and every failing status becomes an :class:`OfxError`, so the
action code reads like ordinary Python and errors are contained in one place (``entry``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .ofx_api import OFX, OfxError, ffi


def _check(status: int, what: str) -> None:
    if status != OFX.kOfxStatOK:
        raise OfxError(status, what)


def _name(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _premultiplication(props: PropertySet) -> str:
    try:
        return props.get_string(OFX.kOfxImageEffectPropPreMultiplication)
    except OfxError:
        return ""


class PropertySet:
    """One OpenFX property set (descriptor, instance, clip, image, in/out arguments)."""

    def __init__(self, suite, handle):
        self._suite = suite
        self.handle = ffi.cast("OfxPropertySetHandle", handle)

    def dimension(self, name) -> int:
        count = ffi.new("int *")
        _check(self._suite.propGetDimension(self.handle, _name(name), count), f"propGetDimension({name!r})")
        return count[0]

    def has(self, name) -> bool:
        count = ffi.new("int *")
        return self._suite.propGetDimension(self.handle, _name(name), count) == OFX.kOfxStatOK

    # getters -------------------------------------------------------------------------------
    def get_int(self, name, index: int = 0) -> int:
        value = ffi.new("int *")
        _check(self._suite.propGetInt(self.handle, _name(name), index, value), f"propGetInt({name!r})")
        return value[0]

    def get_double(self, name, index: int = 0) -> float:
        value = ffi.new("double *")
        _check(self._suite.propGetDouble(self.handle, _name(name), index, value), f"propGetDouble({name!r})")
        return value[0]

    def get_string(self, name, index: int = 0) -> str:
        value = ffi.new("char **")
        _check(self._suite.propGetString(self.handle, _name(name), index, value), f"propGetString({name!r})")
        return ffi.string(value[0]).decode() if value[0] != ffi.NULL else ""

    def get_pointer(self, name, index: int = 0) -> int:
        value = ffi.new("void **")
        _check(
            self._suite.propGetPointer(self.handle, _name(name), index, value), f"propGetPointer({name!r})"
        )
        return int(ffi.cast("uintptr_t", value[0]))

    def get_ints(self, name, count: int) -> list[int]:
        values = ffi.new("int[]", count)
        _check(self._suite.propGetIntN(self.handle, _name(name), count, values), f"propGetIntN({name!r})")
        return list(values)

    def get_doubles(self, name, count: int) -> list[float]:
        values = ffi.new("double[]", count)
        _check(
            self._suite.propGetDoubleN(self.handle, _name(name), count, values), f"propGetDoubleN({name!r})"
        )
        return list(values)

    def get_strings(self, name) -> list[str]:
        return [self.get_string(name, i) for i in range(self.dimension(name))]

    def get_int_or(self, name, default: int, index: int = 0) -> int:
        value = ffi.new("int *")
        if self._suite.propGetInt(self.handle, _name(name), index, value) != OFX.kOfxStatOK:
            return default
        return value[0]

    # setters -------------------------------------------------------------------------------
    def set_int(self, name, value: int, index: int = 0) -> None:
        _check(self._suite.propSetInt(self.handle, _name(name), index, int(value)), f"propSetInt({name!r})")

    def set_double(self, name, value: float, index: int = 0) -> None:
        _check(
            self._suite.propSetDouble(self.handle, _name(name), index, float(value)),
            f"propSetDouble({name!r})",
        )

    def set_string(self, name, value: str | bytes, index: int = 0) -> None:
        _check(
            self._suite.propSetString(self.handle, _name(name), index, _name(value)),
            f"propSetString({name!r})",
        )

    def set_ints(self, name, values: Sequence[int]) -> None:
        for index, value in enumerate(values):
            self.set_int(name, value, index)

    def set_doubles(self, name, values: Sequence[float]) -> None:
        for index, value in enumerate(values):
            self.set_double(name, value, index)

    def set_strings(self, name, values: Sequence[str | bytes]) -> None:
        for index, value in enumerate(values):
            self.set_string(name, value, index)

    def set_optional(self, kind: str, name, value) -> bool:
        """Sets a property some hosts do not know (they answer an error, which is harmless).

        `kind` names the setter: "int", "ints", "double", "doubles", "string" or "strings".
        """
        try:
            getattr(self, f"set_{kind}")(name, value)
            return True
        except OfxError:
            return False

    def try_set_int(self, name, value: int) -> bool:
        """Sets an optional property; hosts that do not know it answer an error we ignore."""
        return self._suite.propSetInt(self.handle, _name(name), 0, int(value)) == OFX.kOfxStatOK


@dataclass(frozen=True)
class Image:
    """A fetched clip image: its pixel layout and the handle to release."""

    handle: object
    data: int
    bounds: tuple[int, int, int, int]
    row_bytes: int
    depth: str
    components: str
    premultiplied: bool = False


class Host:
    """The host's suites, fetched once at bootstrap."""

    def __init__(self, host_address: int):
        self.ofx_host = ffi.cast("OfxHost *", host_address)
        self.props_suite = self._fetch("OfxPropertySuiteV1 *", OFX.kOfxPropertySuite, 1, required=True)
        self.effect_suite = self._fetch("OfxImageEffectSuiteV1 *", OFX.kOfxImageEffectSuite, 1, required=True)
        self.param_suite = self._fetch("OfxParameterSuiteV1 *", OFX.kOfxParameterSuite, 1, required=True)
        self.message_suite_v2 = self._fetch("OfxMessageSuiteV2 *", OFX.kOfxMessageSuite, 2)
        self.message_suite = self.message_suite_v2 or self._fetch(
            "OfxMessageSuiteV1 *", OFX.kOfxMessageSuite, 1
        )
        self.props = self.property_set(self.ofx_host.host)

    def _fetch(self, ctype: str, name: bytes, version: int, required: bool = False):
        suite = self.ofx_host.fetchSuite(self.ofx_host.host, name, version)
        if suite == ffi.NULL:
            if required:
                raise OfxError(OFX.kOfxStatErrMissingHostFeature, f"fetchSuite({name.decode()}, {version})")
            return None
        return ffi.cast(ctype, suite)

    def property_set(self, handle) -> PropertySet:
        return PropertySet(self.props_suite, handle)

    # host capabilities --------------------------------------------------------------------
    @property
    def name(self) -> str:
        try:
            return self.props.get_string(OFX.kOfxPropName)
        except OfxError:
            return "unknown host"

    @property
    def temporal_clip_access(self) -> bool:
        return bool(self.props.get_int_or(OFX.kOfxImageEffectPropTemporalClipAccess, 0))

    # effects and clips ---------------------------------------------------------------------
    def effect_props(self, effect) -> PropertySet:
        handle = ffi.new("OfxPropertySetHandle *")
        _check(
            self.effect_suite.getPropertySet(ffi.cast("OfxImageEffectHandle", effect), handle),
            "getPropertySet",
        )
        return self.property_set(handle[0])

    def param_set(self, effect):
        handle = ffi.new("OfxParamSetHandle *")
        _check(self.effect_suite.getParamSet(ffi.cast("OfxImageEffectHandle", effect), handle), "getParamSet")
        return handle[0]

    def define_clip(self, effect, name: bytes) -> PropertySet:
        props = ffi.new("OfxPropertySetHandle *")
        _check(
            self.effect_suite.clipDefine(ffi.cast("OfxImageEffectHandle", effect), name, props), "clipDefine"
        )
        return self.property_set(props[0])

    def clip(self, effect, name: bytes):
        """(clip handle, clip properties)."""
        clip = ffi.new("OfxImageClipHandle *")
        props = ffi.new("OfxPropertySetHandle *")
        status = self.effect_suite.clipGetHandle(ffi.cast("OfxImageEffectHandle", effect), name, clip, props)
        _check(status, f"clipGetHandle({name.decode()})")
        return clip[0], self.property_set(props[0])

    def clip_rod(self, clip, time: float) -> tuple[float, float, float, float]:
        rect = ffi.new("OfxRectD *")
        _check(
            self.effect_suite.clipGetRegionOfDefinition(clip, float(time), rect), "clipGetRegionOfDefinition"
        )
        return rect.x1, rect.y1, rect.x2, rect.y2

    def fetch_image(self, clip, time: float) -> Image | None:
        """The clip's image at `time`, or None when the host has none (unconnected, out of range)."""
        handle = ffi.new("OfxPropertySetHandle *")
        if self.effect_suite.clipGetImage(clip, float(time), ffi.NULL, handle) != OFX.kOfxStatOK:
            return None
        if handle[0] == ffi.NULL:
            return None
        try:
            props = self.property_set(handle[0])
            data = props.get_pointer(OFX.kOfxImagePropData)
            image = Image(
                handle=handle[0],
                data=data,
                bounds=tuple(props.get_ints(OFX.kOfxImagePropBounds, 4)),
                row_bytes=props.get_int(OFX.kOfxImagePropRowBytes),
                depth=props.get_string(OFX.kOfxImageEffectPropPixelDepth),
                components=props.get_string(OFX.kOfxImageEffectPropComponents),
                premultiplied=_premultiplication(props) == OFX.kOfxImagePreMultiplied.decode(),
            )
        except BaseException:
            self.effect_suite.clipReleaseImage(handle[0])
            raise
        if data == 0:
            self.effect_suite.clipReleaseImage(handle[0])
            raise OfxError(OFX.kOfxStatFailed, "clipGetImage gave an image without pixel data")
        return image

    def release_image(self, image: Image) -> None:
        self.effect_suite.clipReleaseImage(image.handle)

    # parameters ----------------------------------------------------------------------------
    def define_param(self, param_set, kind: bytes, name: str) -> PropertySet:
        props = ffi.new("OfxPropertySetHandle *")
        _check(self.param_suite.paramDefine(param_set, kind, name.encode(), props), f"paramDefine({name})")
        return self.property_set(props[0])

    def param_handle(self, param_set, name: str):
        handle = ffi.new("OfxParamHandle *")
        _check(
            self.param_suite.paramGetHandle(param_set, name.encode(), handle, ffi.NULL),
            f"paramGetHandle({name})",
        )
        return handle[0]

    def param_value_at(self, param, time: float, ctypes: Sequence[str]) -> list:
        """Values of a parameter at `time`; ctypes are the C types of its components."""
        cells = [ffi.new(f"{ctype} *") for ctype in ctypes]
        _check(self.param_suite.paramGetValueAtTime(param, float(time), *cells), "paramGetValueAtTime")
        return [cell[0] for cell in cells]

    # messages ------------------------------------------------------------------------------
    def post_message(self, handle, kind: bytes, text: str) -> None:
        if self.message_suite is None:
            return
        self.message_suite.message(
            ffi.cast("void *", handle), kind, b"colormotion", b"%s", ffi.new("char[]", text.encode())
        )

    def set_persistent_error(self, handle, text: str) -> bool:
        """Shows an error on the node (OFX 1.2 message suite v2); False when the host lacks it."""
        suite = self.message_suite_v2
        if suite is None or suite.setPersistentMessage == ffi.NULL:
            return False
        status = suite.setPersistentMessage(
            ffi.cast("void *", handle),
            OFX.kOfxMessageError,
            b"colormotion",
            b"%s",
            ffi.new("char[]", text.encode()),
        )
        return status == OFX.kOfxStatOK

    def clear_persistent_message(self, handle) -> None:
        suite = self.message_suite_v2
        if suite is not None and suite.clearPersistentMessage != ffi.NULL:
            suite.clearPersistentMessage(ffi.cast("void *", handle))
