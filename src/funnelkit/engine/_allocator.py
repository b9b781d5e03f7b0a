"""The C allocator's steady state, reached at the first run (private).

The driver cuts every block of up to :data:`.sources.SUB_BLOCK_ROWS` rows into a dozen
temporary arrays of a few MB each (offsets, nanosecond times, windows, the bucket order,
gathered keys), freed as soon as the block's parts are made. glibc's ``malloc`` serves
such sizes with ``mmap`` while its threshold is at the start value (128 KiB), and it
adjusts the threshold upwards only when a mapped chunk is freed: until then every free
at the top of a heap beyond the trim threshold (twice the mmap threshold) goes back to
the kernel, and the next block faults the same pages in again, zeroed. In a fresh
process that is about 60,000 page faults for a 10M-event Parquet file, 0.1-0.2 s of
system time (the engine's own CPU is about 1 s).

:func:`settle` frees one mapped chunk of 16 MiB (never touched, so never resident):
glibc then does what it does after the first such free in any process, raising the
mmap threshold to 16 MiB and the trim threshold to 32 MiB, and its dynamic adjustment
stays on (``mallopt`` would switch it off for good). A long-lived session (a notebook
that has freed one medium-sized frame) is in that state already; elsewhere (another C
library, musl, macOS, or thresholds fixed by ``MALLOC_MMAP_THRESHOLD_``) the call is a
harmless allocation and free.
"""

from __future__ import annotations

import numpy as np

__all__ = ["settle"]

_SETTLE_BYTES = 16 << 20  # below glibc's largest dynamic threshold (32 MiB on 64-bit)
_settled = False


def settle() -> None:
    """Put the allocator in its steady state once per process (see the module docstring)."""
    global _settled
    if not _settled:
        _settled = True
        np.empty(_SETTLE_BYTES, dtype=np.uint8)  # allocated and freed at once, never touched
