"""One method per OpenFX action the Colorize effect answers."""

from __future__ import annotations

import logging
import math
import os
import threading
import time as clock
import uuid
from dataclasses import dataclass, field

from . import describe, images
from .adapters import ClipFrames, HostParams, read_pixels
from .host import Host
from .ofx_api import CLIP_FRAME_RANGE_PREFIX, CLIP_ROI_PREFIX, OFX, OfxError

log = logging.getLogger("colormotion.ofx")

SOURCE = OFX.kOfxImageEffectSimpleSourceClipName
OUTPUT = OFX.kOfxImageEffectOutputClipName
DEFAULT_TEMPORAL_WINDOW = 16


def frame_of(time: float) -> int:
    """The frame the node renders for a host time (nearest, as the node rounds)."""
    return int(math.floor(float(time) + 0.5))


@dataclass
class Instance:
    """Per-instance data: parameter handles and the name of its Source frames. Model and frame
    states live in the engine's process cache, because hosts such as MLT create a fresh instance
    for every frame."""

    effect: int
    param_handles: dict = field(default_factory=dict)
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    generation: int = 0
    seen: dict = field(default_factory=dict)  # frame -> content digest of the Source frame there
    lock: threading.Lock = field(default_factory=threading.Lock)

    def source_identity(self, t: int, pixels) -> str:
        """The engine's identity of this instance's Source clip (hosts with temporal access).

        With it the engine keys frames by clip and time instead of fetching and fingerprinting
        every frame of a chain at each render. The frame being rendered is fingerprinted anyway
        (0.2 ms at 1080p); when it differs from what this instance last saw at t, the upstream
        graph changed, and a new generation keeps every earlier state from being reused.
        """
        from colormotion.temporal.cache import digest

        fingerprint = digest("content", pixels)
        with self.lock:
            if self.seen.get(t, fingerprint) != fingerprint:
                self.generation += 1
                self.seen.clear()
            self.seen[t] = fingerprint
            return f"ofx:{self.uid}:{self.generation}"


class ColorizeEffect:
    def __init__(self, host: Host):
        self.host = host
        self.instances: dict[int, Instance] = {}
        self._node = None
        self._node_lock = threading.Lock()
        self.timings = os.environ.get("COLORMOTION_OFX_TIMINGS", "") not in ("", "0")

    # -- the node and its parameters --------------------------------------------------------
    @staticmethod
    def specs():
        from colormotion.node import PARAM_SPECS

        return PARAM_SPECS

    def node(self):
        with self._node_lock:
            if self._node is None:
                from colormotion.node import ColorizeNode

                self._node = ColorizeNode()
            return self._node

    def instance(self, effect: int) -> Instance:
        found = self.instances.get(effect)
        if found is None:  # a host that skipped CreateInstance
            found = self.instances[effect] = Instance(effect)
        return found

    def _params(self, effect: int, frame, render_time: float | None = None) -> HostParams:
        """Parameter values; `render_time` is the frame being rendered (hosts without temporal
        access answer every time with its values, see HostParams)."""
        param_set = self.host.param_set(effect)
        streaming_time = None if self.host.temporal_clip_access else render_time
        return HostParams(
            self.host, param_set, self.specs(), frame, self.instance(effect).param_handles, streaming_time
        )

    # -- actions ----------------------------------------------------------------------------
    def describe(self, effect, in_args, out_args) -> int:
        describe.describe(self.host, effect)
        return OFX.kOfxStatOK

    def describe_in_context(self, effect, in_args, out_args) -> int:
        context = self.host.property_set(in_args).get_string(OFX.kOfxImageEffectPropContext).encode()
        describe.describe_in_context(self.host, effect, self.specs(), context)
        return OFX.kOfxStatOK

    def create_instance(self, effect, in_args, out_args) -> int:
        self.instances[effect] = Instance(effect)
        # Resolve misses SequentialRender set only on the descriptor
        props = self.host.effect_props(effect)
        props.try_set_int(
            OFX.kOfxImageEffectInstancePropSequentialRender, describe.SEQUENTIAL_RENDER_PREFERRED
        )
        return OFX.kOfxStatOK

    def destroy_instance(self, effect, in_args, out_args) -> int:
        self.instances.pop(effect, None)
        return OFX.kOfxStatOK

    def clip_preferences(self, effect, in_args, out_args) -> int:
        # each frame depends on earlier frames, not only on its own input and parameters
        self.host.property_set(out_args).set_int(OFX.kOfxImageEffectFrameVarying, 1)
        return OFX.kOfxStatOK

    def regions_of_interest(self, effect, in_args, out_args) -> int:
        """The node colours whole frames: ask for the whole source, whatever the window."""
        time = self.host.property_set(in_args).get_double(OFX.kOfxPropTime)
        clip, _ = self.host.clip(effect, SOURCE)
        try:
            rod = self.host.clip_rod(clip, time)
        except OfxError:  # a host without clip RoDs: keep its default region
            return OFX.kOfxStatReplyDefault
        self.host.property_set(out_args).set_doubles(CLIP_ROI_PREFIX + SOURCE, rod)
        return OFX.kOfxStatOK

    def instance_changed(self, effect, in_args, out_args) -> int:
        """Checks an edited hints_json at once, so a typo shows when it is made, not at render."""
        args = self.host.property_set(in_args)
        if args.get_string(OFX.kOfxPropName) != "hints_json":
            return OFX.kOfxStatReplyDefault
        from colormotion.node import parse_hints_json

        time = args.get_double(OFX.kOfxPropTime)
        text = self._params(effect, (0.0, 0.0, 1.0, 1.0)).value("hints_json", time)
        try:
            parse_hints_json(text)
        except ValueError as error:  # HintError
            self.host.post_message(effect, OFX.kOfxMessageError, f"ColorMotion: {error}")
        return OFX.kOfxStatOK

    def purge_caches(self, effect, in_args, out_args) -> int:
        """Low memory: drop the engine's cached states (all are recomputed on demand, bit-identical)."""
        from colormotion.temporal.cache import PROCESS_CACHE

        PROCESS_CACHE.clear()
        return OFX.kOfxStatOK

    def frames_needed(self, effect, in_args, out_args) -> int:
        """The frames of the deterministic chain of t: [nominal_start(t), t] (cuts only shorten it)."""
        if not self.host.temporal_clip_access:
            return OFX.kOfxStatReplyDefault
        from colormotion.temporal import chain

        t = frame_of(self.host.property_set(in_args).get_double(OFX.kOfxPropTime))
        first = min(self._frame_range(effect, t)[0], t)  # as ClipFrames does
        if self._param_value(effect, "stateless", t, False):
            start = t  # frame by frame: no history
        else:
            window = int(self._param_value(effect, "temporal_window", t, DEFAULT_TEMPORAL_WINDOW))
            window += window % 2  # the node rounds odd windows up
            start = chain.nominal_start(t, first, window)
        self.host.property_set(out_args).set_doubles(
            CLIP_FRAME_RANGE_PREFIX + SOURCE, (float(start), float(t))
        )
        return OFX.kOfxStatOK

    def render(self, effect, in_args, out_args) -> int:
        started = clock.perf_counter()
        args = self.host.property_set(in_args)
        time = args.get_double(OFX.kOfxPropTime)
        window = tuple(args.get_ints(OFX.kOfxImageEffectPropRenderWindow, 4))
        scale = tuple(args.get_doubles(OFX.kOfxImageEffectPropRenderScale, 2))
        output_clip, _ = self.host.clip(effect, OUTPUT)
        output = self.host.fetch_image(output_clip, time)
        if output is None:
            raise OfxError(OFX.kOfxStatFailed, "clipGetImage(Output)")
        try:
            out_dtype, out_channels = images.pixel_format(output.depth, output.components)
            target = images.pixel_view(output.data, output.bounds, output.row_bytes, out_dtype, out_channels)
            coloured = self._colour_frame(effect, time, scale)
            if coloured is None:  # unconnected input: transparent black, like other filters
                images.paste(target, output.bounds, target[:0, :0], (0, 0, 0, 0), window)
                return OFX.kOfxStatOK
            result, bounds, node_seconds = coloured
            result = images.convert_pixels(result, out_dtype, out_channels)
            images.paste(target, output.bounds, result, bounds, window)
        finally:
            self.host.release_image(output)
        self.host.clear_persistent_message(effect)
        if self.timings:
            total = clock.perf_counter() - started
            log.info(
                "render t=%s total=%.2f ms node=%.2f ms", frame_of(time), 1e3 * total, 1e3 * node_seconds
            )
        return OFX.kOfxStatOK

    def _colour_frame(self, effect, time: float, scale):
        """(the node's frame at `time`, its pixel bounds, seconds in the node), None without input."""
        source_clip, _ = self.host.clip(effect, SOURCE)
        source = self.host.fetch_image(source_clip, time)
        if source is None:
            return None
        try:
            current, bounds = read_pixels(source)
        finally:
            self.host.release_image(source)
        t = frame_of(time)
        random_access = self.host.temporal_clip_access
        frames = ClipFrames(
            self.host,
            source_clip,
            t,
            current,
            bounds,
            self._frame_range(effect, t),
            random_access=random_access,
            # streaming hosts (MLT) make an instance per frame: only content can name frames there
            identity=self.instance(effect).source_identity(t, current) if random_access else None,
        )
        params = self._params(effect, self._canonical_rect(source_clip, time, bounds, scale), time)
        references = self._reference_input(effect, params, t, current)
        started = clock.perf_counter()
        result = self.node().render(t, frames, params, references)
        node_seconds = clock.perf_counter() - started
        if source.premultiplied:  # give the host back what it gave: associated alpha
            result = images.premultiply(result)
        return result, bounds, node_seconds

    # -- helpers ----------------------------------------------------------------------------
    def _reference_input(self, effect, params, t: int, current) -> tuple:
        """The General context's Reference input, when connected and no reference file is set in
        slot 1: its image at "Reference 1 frame" is that frame's reference."""
        try:
            context = self.host.effect_props(effect).get_string(OFX.kOfxImageEffectPropContext).encode()
        except OfxError:  # a host that does not say: the Filter context has no Reference input
            return ()
        if context != OFX.kOfxImageEffectContextGeneral:
            return ()
        if str(params.value("reference1_file", float(t)) or "").strip():
            return ()
        clip, props = self.host.clip(effect, describe.REFERENCE_CLIP)
        if not props.get_int_or(OFX.kOfxImageClipPropConnected, 0):
            return ()
        frame = int(params.value("reference1_frame", float(t)))
        image = self.host.fetch_image(clip, float(frame))
        if image is None:
            return ()
        try:
            pixels, _ = read_pixels(image)
        finally:
            self.host.release_image(image)
        from colormotion.references import ReferenceFrame

        return (ReferenceFrame(frame, pixels, "the Reference input"),)

    def _frame_range(self, effect, t: int) -> tuple[int, int]:
        """The Source clip's frame range (the chain counts anchors from its first frame).

        MLT gives no frame range; its OFX time counts from the filter's start, so the clip
        begins at 0 there. (Falling back to [t, t] made every MLT frame a chain of its own.)
        """
        _, clip_props = self.host.clip(effect, SOURCE)
        for props in (clip_props, self.host.effect_props(effect)):
            try:
                first, last = props.get_doubles(OFX.kOfxImageEffectPropFrameRange, 2)
                return round(first), round(last)
            except OfxError:
                continue
        return min(0, t), t

    def _param_value(self, effect, name: str, t: int, default):
        """A non-positional parameter at frame t (default when the node has no such parameter)."""
        if not any(spec.name == name for spec in self.specs()):
            return default
        return self._params(effect, (0.0, 0.0, 1.0, 1.0)).value(name, float(t))

    def _canonical_rect(self, clip, time: float, bounds, scale) -> tuple[float, float, float, float]:
        """The source frame in canonical coordinates (where position parameters live)."""
        try:
            x1, y1, x2, y2 = self.host.clip_rod(clip, time)
            if x2 > x1 and y2 > y1:
                return x1, y1, x2, y2
        except OfxError:
            pass
        sx, sy = (scale[0] or 1.0), (scale[1] or 1.0)
        return bounds[0] / sx, bounds[1] / sy, bounds[2] / sx, bounds[3] / sy
