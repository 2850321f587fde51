"""The plug-in description (Describe, DescribeInContext), parameters generated from PARAM_SPECS."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from . import params
from .host import Host, PropertySet
from .ofx_api import OFX

log = logging.getLogger("colormotion.ofx")

PLUGIN_LABEL = "Colorize"
PLUGIN_GROUPING = "ColorMotion"
PLUGIN_DESCRIPTION = (
    "ColorMotion: automatic, temporally stable colorization of black-and-white footage. "
    "The output keeps the input's lightness exactly; optional colour hints steer the result "
    "and propagate forward in time."
)
ICON_FILE = "org.colormotion.Colorize.png"
SUPPORTED_CONTEXTS = (OFX.kOfxImageEffectContextFilter, OFX.kOfxImageEffectContextGeneral)
SUPPORTED_DEPTHS = (OFX.kOfxBitDepthByte, OFX.kOfxBitDepthShort, OFX.kOfxBitDepthFloat)
SUPPORTED_COMPONENTS = (OFX.kOfxImageComponentRGBA, OFX.kOfxImageComponentRGB)
SEQUENTIAL_RENDER_PREFERRED = 2  # "best rendered sequentially, but can render in any order"


def describe(host: Host, effect) -> None:
    props = host.effect_props(effect)
    props.set_string(OFX.kOfxPropLabel, PLUGIN_LABEL)
    props.set_string(OFX.kOfxPropShortLabel, PLUGIN_LABEL)
    props.set_string(OFX.kOfxPropLongLabel, f"{PLUGIN_GROUPING} {PLUGIN_LABEL}")
    props.set_string(OFX.kOfxImageEffectPluginPropGrouping, PLUGIN_GROUPING)
    props.set_string(OFX.kOfxPropPluginDescription, PLUGIN_DESCRIPTION)
    props.set_strings(OFX.kOfxImageEffectPropSupportedContexts, SUPPORTED_CONTEXTS)
    props.set_strings(OFX.kOfxImageEffectPropSupportedPixelDepths, SUPPORTED_DEPTHS)
    props.set_int(OFX.kOfxImageEffectPluginPropSingleInstance, 0)
    props.set_int(OFX.kOfxImageEffectPluginPropHostFrameThreading, 0)
    props.set_int(OFX.kOfxImageEffectPropSupportsMultiResolution, 1)
    # the node computes whole frames: tiles would only repeat that work
    props.set_int(OFX.kOfxImageEffectPropSupportsTiles, 0)
    props.set_int(OFX.kOfxImageEffectPropTemporalClipAccess, 1)
    props.set_int(OFX.kOfxImageEffectPropSupportsMultipleClipDepths, 0)
    props.set_int(OFX.kOfxImageEffectPropSupportsMultipleClipPARs, 0)
    # the engine is thread-safe and keeps model and states per process
    props.set_string(OFX.kOfxImageEffectPluginRenderThreadSafety, OFX.kOfxImageEffectRenderFullySafe)
    props.set_optional("int", OFX.kOfxImageEffectInstancePropSequentialRender, SEQUENTIAL_RENDER_PREFERRED)
    props.set_optional("strings", OFX.kOfxPropIcon, ["", ICON_FILE])


REFERENCE_CLIP = b"Reference"  # General context: a graded frame from another node (Nuke, Natron, Resolve)


def describe_in_context(host: Host, effect, specs: Sequence, context: bytes = b"") -> None:
    names = [OFX.kOfxImageEffectSimpleSourceClipName, OFX.kOfxImageEffectOutputClipName]
    if context == OFX.kOfxImageEffectContextGeneral:
        names.append(REFERENCE_CLIP)
    for name in names:
        clip = host.define_clip(effect, name)
        clip.set_strings(OFX.kOfxImageEffectPropSupportedComponents, SUPPORTED_COMPONENTS)
        clip.set_int(OFX.kOfxImageEffectPropSupportsTiles, 0)
        if name == OFX.kOfxImageEffectSimpleSourceClipName:
            clip.set_int(OFX.kOfxImageEffectPropTemporalClipAccess, 1)
        if name == REFERENCE_CLIP:
            # optional: its image at "Reference 1 frame" is that frame's reference
            clip.set_int(OFX.kOfxImageClipPropOptional, 1)
    define_parameters(host, host.param_set(effect), specs)


def define_parameters(host: Host, param_set, specs: Sequence) -> None:
    """One OpenFX parameter per spec; hint slots in groups; pages by spec.page."""
    pages: dict[str, list[str]] = {}
    groups: set[int] = set()
    for spec in specs:
        if spec.kind not in params.OFX_TYPES:
            log.warning("parameter %s: kind %r has no OpenFX type; not shown", spec.name, spec.kind)
            continue
        children = pages.setdefault(spec.page, [])
        slot = params.hint_slot(spec.name)
        parent = ""
        if slot is not None:
            parent = f"hint{slot}_group"
            if slot not in groups:
                groups.add(slot)
                group = host.define_param(param_set, OFX.kOfxParamTypeGroup, parent)
                group.set_string(OFX.kOfxPropLabel, f"Hint {slot}")
                group.set_optional("int", OFX.kOfxParamPropGroupOpen, int(slot == 1))
                children.append(parent)
        else:
            children.append(spec.name)
        define_parameter(host, param_set, spec, parent)
    for page, children in pages.items():
        page_props = host.define_param(param_set, OFX.kOfxParamTypePage, "page_" + _slug(page))
        page_props.set_string(OFX.kOfxPropLabel, page)
        page_props.set_strings(OFX.kOfxParamPropPageChild, children)


def define_parameter(host: Host, param_set, spec, parent: str = "") -> PropertySet:
    props = host.define_param(param_set, params.OFX_TYPES[spec.kind], spec.name)
    props.set_string(OFX.kOfxPropLabel, spec.label)
    props.set_string(OFX.kOfxParamPropScriptName, spec.name)
    help_text = params.POSITION_HELP if spec.kind == "double2d" else spec.help
    if help_text:
        props.set_string(OFX.kOfxParamPropHint, help_text)
    if parent:
        props.set_string(OFX.kOfxParamPropParent, parent)
    props.set_int(OFX.kOfxParamPropAnimates, int(bool(spec.animatable)))
    if params.invalidates_to_end(spec.name):
        props.set_string(OFX.kOfxParamPropCacheInvalidation, OFX.kOfxParamInvalidateValueChangeToEnd)
    kind = spec.kind
    default = params.ofx_default(spec)
    if kind == "double2d":
        # A new slot at the centre of any frame: a normalised default the host scales to its
        # project (Nuke, Natron, MLT); a host that does not, hands it back unscaled and
        # params.from_ofx reads that as the centre too.
        props.set_optional(
            "string", OFX.kOfxParamPropDefaultCoordinateSystem, OFX.kOfxParamCoordinatesNormalised
        )
    if kind in ("double", "rgb", "double2d"):
        props.set_doubles(OFX.kOfxParamPropDefault, default)
    elif kind in ("int", "bool", "choice"):
        props.set_ints(OFX.kOfxParamPropDefault, default)
    else:
        props.set_strings(OFX.kOfxParamPropDefault, default)
    if kind == "choice":
        props.set_strings(OFX.kOfxParamPropChoiceOption, [label for _, label in spec.options])
    elif kind == "string":
        mode = (
            OFX.kOfxParamStringIsMultiLine
            if spec.name.endswith("json")
            else OFX.kOfxParamStringIsFilePath
            if spec.name.endswith("_file")
            else OFX.kOfxParamStringIsSingleLine
        )
        props.set_string(OFX.kOfxParamPropStringMode, mode)
    elif kind in ("double", "int"):
        _set_ranges(props, spec)
    elif kind == "double2d":
        props.set_string(OFX.kOfxParamPropDoubleType, OFX.kOfxParamDoubleTypeXYAbsolute)
        low, high = params.POSITION_RANGE
        display_low, display_high = params.POSITION_DISPLAY_RANGE
        props.set_doubles(OFX.kOfxParamPropMin, (low, low))
        props.set_doubles(OFX.kOfxParamPropMax, (high, high))
        props.set_doubles(OFX.kOfxParamPropDisplayMin, (display_low, display_low))
        props.set_doubles(OFX.kOfxParamPropDisplayMax, (display_high, display_high))
    return props


def _set_ranges(props: PropertySet, spec) -> None:
    setter = props.set_double if spec.kind == "double" else props.set_int
    minimum, maximum = spec.minimum, spec.maximum
    display_min = spec.display_minimum if spec.display_minimum is not None else minimum
    display_max = spec.display_maximum if spec.display_maximum is not None else maximum
    for name, value in (
        (OFX.kOfxParamPropMin, minimum),
        (OFX.kOfxParamPropMax, maximum),
        (OFX.kOfxParamPropDisplayMin, display_min),
        (OFX.kOfxParamPropDisplayMax, display_max),
    ):
        if value is not None:
            setter(name, value)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower())
