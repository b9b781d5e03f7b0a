"""Threads for the engine (private): how many, and an ordered map with bounded look-ahead."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..errors import ParameterError

__all__ = ["n_threads", "ordered_map"]


def n_threads() -> int:
    """Threads to use: ``FUNNELKIT_NUM_THREADS`` or the usable cores (at most 8)."""
    env = os.environ.get("FUNNELKIT_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ParameterError(
                f"FUNNELKIT_NUM_THREADS={env!r} must be a whole number of threads, e.g. 2."
            ) from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def ordered_map(pool: ThreadPoolExecutor | None, fn: Callable[[int], Any], n: int, ahead: int) -> Iterator[Any]:
    """``map(fn, range(n))`` in order, with at most ``ahead`` calls running or waiting.

    ``pool.map`` would submit every call at once and hold every result; here results
    are consumed in order while at most ``ahead`` are in flight, which bounds memory.
    """
    if pool is None:
        yield from map(fn, range(n))
        return
    pending: deque[Any] = deque()
    nxt = 0
    try:
        while nxt < n or pending:
            while nxt < n and len(pending) < ahead:
                pending.append(pool.submit(fn, nxt))
                nxt += 1
            yield pending.popleft().result()
    finally:
        for f in pending:  # an error stops the map: do not leave work running
            f.cancel()
