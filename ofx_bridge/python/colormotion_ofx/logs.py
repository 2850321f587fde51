"""The bridge's log file (hosts hide stdout/stderr): ~/.cache/colormotion/ofx.log.

COLORMOTION_OFX_LOG overrides the path (tests, render farms); XDG_CACHE_HOME is honoured.
The same path is used by the C loader for the errors it reports before Python runs.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

log = logging.getLogger("colormotion.ofx")


def log_path() -> Path:
    explicit = os.environ.get("COLORMOTION_OFX_LOG")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "colormotion" / "ofx.log"


def setup_logging() -> Path:
    """Send the bridge's and the engine's log records to the log file (idempotent)."""
    path = log_path()
    engine = logging.getLogger("colormotion")
    if any(getattr(handler, "colormotion_ofx", False) for handler in engine.handlers):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=2, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    handler.colormotion_ofx = True
    engine.addHandler(handler)
    if engine.level == logging.NOTSET or engine.level > logging.INFO:
        engine.setLevel(logging.INFO)
    return path


def flush() -> None:
    for handler in logging.getLogger("colormotion").handlers:
        handler.flush()
