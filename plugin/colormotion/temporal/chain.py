"""The deterministic chain rule (ARCHITECTURE.md, "Determinism across render order").

Frame `t` is the last step of a chain of model steps that begins at `chain_start(t)`. With
window `W` (even) and anchor spacing `K = W // 2`:

    nominal(t) = max(first, first + ((t - first) // K - 1) * K)
    start(t)   = the latest scene cut c with nominal(t) < c <= t, else nominal(t)

A chain therefore warms up for at least K frames before it outputs (unless a clip start or a
cut intervenes) and costs at most W steps. Everything here is pure integer arithmetic plus
`is_cut(c)`, itself a pure function of frames c-1 and c, so the chain of a frame never depends
on which frames were rendered before.
"""

from __future__ import annotations

from collections.abc import Callable


def anchor_spacing(window: int) -> int:
    """K = W // 2; the window must be an even number >= 2."""
    if window < 2 or window % 2:
        raise ValueError(f"temporal window must be an even number >= 2, got {window}")
    return window // 2


def anchor(t: int, first: int, window: int) -> int:
    """The latest anchor (a chain may begin there) at or before `t`."""
    spacing = anchor_spacing(window)
    return first + ((t - first) // spacing) * spacing


def nominal_start(t: int, first: int, window: int) -> int:
    """Where the chain of `t` begins when there is no scene cut: one anchor before anchor(t)."""
    if t < first:
        raise ValueError(f"frame {t} lies before the clip's first frame {first}")
    spacing = anchor_spacing(window)
    return max(first, first + ((t - first) // spacing - 1) * spacing)


def chain_start(t: int, first: int, window: int, is_cut: Callable[[int], bool]) -> int:
    """start(t): the latest cut c with nominal(t) < c <= t, else nominal(t).

    `is_cut(c)` says whether frame c begins a new shot (decided from frames c-1 and c).
    """
    nominal = nominal_start(t, first, window)
    for c in range(t, nominal, -1):
        if is_cut(c):
            return c
    return nominal


def live_chain_starts(t: int, start: int, first: int, window: int) -> tuple[int, ...]:
    """The chains whose state at `t` some frame at or after `t` will need, earliest first.

    They are the output chain of `t` (beginning at `start` = chain_start(t)) and, when a newer
    anchor lies after it, the warm-up chain beginning at anchor(t). Advancing exactly these
    keeps in-order rendering at two model steps per frame with no stalls.
    """
    newest = anchor(t, first, window)
    return (start, newest) if newest > start else (start,)
