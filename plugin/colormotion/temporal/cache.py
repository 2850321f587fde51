"""The process-level cache of per-frame working data, flows and chain states.

One object, `PROCESS_CACHE`, shared by every node instance and thread of the process, so a
host that builds a fresh node per frame still reuses work. Bounded in bytes (default 512 MB,
env COLORMOTION_CACHE_MB), least recently used first out, thread-safe.

Keys make stale results impossible: the engine builds them from the model's sha256, the
settings that affect the value, hint fingerprints and the source identity (or a content
fingerprint of the frame). Nothing outside the key may change a cached value, so a hit is
always exactly what recomputing would give. Stored arrays are made read-only.

`get_or_compute` computes each key once when several threads ask at the same time: the first
computes, the others wait for its result. Keys only ever depend on earlier keys (frame k on
frame k-1), so waiting cannot form a cycle; a thread asking again for a key it is itself
computing computes it directly instead of waiting on itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

log = logging.getLogger("colormotion")

DEFAULT_CACHE_MB = 512
CACHE_MB_ENV = "COLORMOTION_CACHE_MB"
_OVERHEAD_BYTES = 256  # bookkeeping per entry, so a flood of tiny values is bounded too

V = TypeVar("V")


def _parts(value: Any) -> tuple | None:
    """The items of a container the cache looks into: tuples, lists and dataclass instances
    (a contract-2 model's Encoded and Reference hold their arrays as fields)."""
    if isinstance(value, (tuple, list)):
        return tuple(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(getattr(value, f.name) for f in dataclasses.fields(value))
    return None


def _size_of(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    parts = _parts(value)
    if parts is not None:
        return sum(_size_of(item) for item in parts)
    return 64


def _freeze(value: Any) -> None:
    """Make cached arrays read-only so no caller can change a shared value in place."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    else:
        for item in _parts(value) or ():
            _freeze(item)


try:  # optional: xxh3 hashes a 1080p frame in ~0.2 ms, SHA-256 (the fallback) in ~9 ms
    import xxhash

    def _new_hasher():
        return xxhash.xxh3_128()

except ImportError:  # pragma: no cover - depends on the environment

    def _new_hasher():
        return hashlib.sha256()


def digest(*parts: Any) -> str:
    """A stable hex digest of strings, numbers, bytes and numpy arrays (shape and dtype included).

    128-bit xxh3 when the `xxhash` package is installed, else SHA-256: frames without a source
    identity are keyed by their content, so hashing speed matters at 1080p and above. Keys live
    only inside one process, so either hash serves.
    """
    hasher = _new_hasher()
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            hasher.update(f"ndarray{array.shape}{array.dtype.str}".encode())
            hasher.update(array.data)
        elif isinstance(part, bytes):
            hasher.update(b"bytes%d:" % len(part))
            hasher.update(part)
        else:
            text = repr(part).encode()
            hasher.update(b"repr%d:" % len(text))
            hasher.update(text)
    return hasher.hexdigest()[:32]


def _limit_from_env() -> int:
    text = os.environ.get(CACHE_MB_ENV, "").strip()
    if not text:
        return DEFAULT_CACHE_MB * 1024 * 1024
    try:
        megabytes = float(text)
        if megabytes < 0:
            raise ValueError
    except ValueError:
        log.warning("COLORMOTION_CACHE_MB=%r is not a size in MB; using %d MB", text, DEFAULT_CACHE_MB)
        megabytes = DEFAULT_CACHE_MB
    return int(megabytes * 1024 * 1024)


class _Pending:
    """A value one thread is computing; others wait on `done`."""

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class ProcessCache:
    """A byte-bounded, thread-safe LRU map with compute-once semantics."""

    def __init__(self, max_bytes: int) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._pending: dict[Hashable, _Pending] = {}
        self._bytes = 0
        self._max_bytes = int(max_bytes)
        self.hits = 0
        self.misses = 0

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def set_max_bytes(self, max_bytes: int) -> None:
        with self._lock:
            self._max_bytes = int(max_bytes)
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.hits = self.misses = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return default
            self._entries.move_to_end(key)
            return entry[0]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def put(self, key: Hashable, value: Any) -> None:
        _freeze(value)
        size = _size_of(value) + _OVERHEAD_BYTES
        with self._lock:
            self._store(key, value, size)

    def get_or_compute(self, key: Hashable, compute: Callable[[], V], keep: bool = True) -> V:
        """The value under `key`, computing it once however many threads ask at the same time.

        keep=False shares the result with concurrent askers but does not store it.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[0]
            self.misses += 1
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = _Pending()
                owner = True
            else:
                owner = False
        if not owner:
            if pending.owner == threading.get_ident():
                return compute()  # re-entrant request for our own key: never wait on ourselves
            pending.done.wait()
            if pending.error is not None:
                raise pending.error
            return pending.value
        try:
            value = compute()
        except BaseException as error:
            pending.error = error
            with self._lock:
                del self._pending[key]
            pending.done.set()
            raise
        _freeze(value)
        size = _size_of(value) + _OVERHEAD_BYTES
        pending.value = value
        with self._lock:
            del self._pending[key]
            if keep:
                self._store(key, value, size)
        pending.done.set()
        return value

    def _store(self, key: Hashable, value: Any, size: int) -> None:
        """Insert under the lock; a value larger than the whole bound is simply not kept."""
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        if size > self._max_bytes:
            return
        self._entries[key] = (value, size)
        self._bytes += size
        self._evict()

    def _evict(self) -> None:
        while self._bytes > self._max_bytes and self._entries:
            _, (_, size) = self._entries.popitem(last=False)
            self._bytes -= size


# The one process-wide cache the engine uses (see module docstring).
PROCESS_CACHE = ProcessCache(_limit_from_env())
