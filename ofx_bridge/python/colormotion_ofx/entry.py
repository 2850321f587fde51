"""Entry from the C loader: bootstrap once, then dispatch every action.

Nothing raised in Python reaches the host: `dispatch` turns every exception into an OpenFX
status, writes the traceback to the log file and tells the user through the message suite.
"""

from __future__ import annotations

import json
import logging
import site
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from . import logs

log = logging.getLogger("colormotion.ofx")

CONFIG_FILE = "colormotion_ofx.json"


def read_config(resources: Path) -> dict:
    path = resources / CONFIG_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _add_environment(config: dict) -> None:
    """When joining a host's interpreter, make the build environment's packages importable."""
    for folder in config.get("site_packages", []):
        if folder not in sys.path and Path(folder).is_dir():
            site.addsitedir(folder)


def bootstrap(host_address: int, resources: str) -> Callable[[str, int, int, int], int]:
    """Called once by the loader (GIL held); returns the dispatcher it keeps."""
    resources_dir = Path(resources)
    path = logs.setup_logging()
    config = read_config(resources_dir)
    _add_environment(config)
    from .actions import ColorizeEffect
    from .host import Host

    host = Host(host_address)
    log.info(
        "ColorMotion OpenFX bridge started: host %r, Python %s, log %s, temporal clip access %s",
        host.name,
        sys.version.split()[0],
        path,
        host.temporal_clip_access,
    )
    return Dispatcher(host, ColorizeEffect(host))


class Dispatcher:
    """Maps action names to ColorizeEffect methods and contains every failure."""

    def __init__(self, host, effect):
        from .ofx_api import OFX

        self.host = host
        self.effect = effect
        self.OFX = OFX
        self.handlers: dict[str, Callable] = {
            name.decode(): method
            for name, method in (
                (OFX.kOfxActionDescribe, effect.describe),
                (OFX.kOfxImageEffectActionDescribeInContext, effect.describe_in_context),
                (OFX.kOfxActionCreateInstance, effect.create_instance),
                (OFX.kOfxActionDestroyInstance, effect.destroy_instance),
                (OFX.kOfxImageEffectActionGetClipPreferences, effect.clip_preferences),
                (OFX.kOfxImageEffectActionGetRegionsOfInterest, effect.regions_of_interest),
                (OFX.kOfxImageEffectActionGetFramesNeeded, effect.frames_needed),
                (OFX.kOfxImageEffectActionRender, effect.render),
                (OFX.kOfxActionPurgeCaches, effect.purge_caches),
                (OFX.kOfxActionInstanceChanged, effect.instance_changed),
                (OFX.kOfxImageEffectActionBeginSequenceRender, _ok),
                (OFX.kOfxImageEffectActionEndSequenceRender, _flush_ok),
                (OFX.kOfxActionUnload, _flush_ok),
            )
        }

    def __call__(self, action: str, handle: int, in_args: int, out_args: int) -> int:
        handler = self.handlers.get(action)
        if handler is None:
            return self.OFX.kOfxStatReplyDefault
        try:
            return handler(handle, in_args, out_args)
        except BaseException as error:  # noqa: BLE001 - nothing may cross into the host
            return self._failed(action, handle, error)

    def _failed(self, action: str, handle: int, error: BaseException) -> int:
        from .ofx_api import OfxError

        text = user_message(error)
        log.error("%s failed: %s\n%s", action, text, traceback.format_exc())
        logs.flush()
        message = f"ColorMotion: {text} (details: {logs.log_path()})"
        try:
            shown = action == "OfxImageEffectActionRender" and self.host.set_persistent_error(handle, message)
            if not shown:
                self.host.post_message(handle, self.OFX.kOfxMessageError, message)
        except BaseException:  # noqa: BLE001 - a broken message suite must not crash the host
            log.error("could not post the message:\n%s", traceback.format_exc())
        if isinstance(error, MemoryError):
            return self.OFX.kOfxStatErrMemory
        if isinstance(error, OfxError) and error.status == self.OFX.kOfxStatErrMissingHostFeature:
            return error.status
        return self.OFX.kOfxStatFailed


def user_message(error: BaseException) -> str:
    """One line naming the problem; known errors as they are, others with their type."""
    text = " ".join(str(error).split()) or type(error).__name__
    known = ("UnsupportedImage", "ModelError", "HintError", "FrameError", "ValueError", "OfxError")
    if type(error).__name__ in known:
        return text
    return f"internal error: {type(error).__name__}: {text}"


def _ok(handle, in_args, out_args) -> int:
    return 0


def _flush_ok(handle, in_args, out_args) -> int:
    logs.flush()
    return 0
