"""engine/_allocator.py: after ``settle()``, freed block-sized temporaries are reused
instead of going back to the kernel and faulting in again."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

_CODE = """
import resource, sys
import numpy as np
from funnelkit.engine import _allocator
if sys.argv[1] == "settle":
    _allocator.settle()
    _allocator.settle()  # once per process: the second call does nothing
blocks = [np.ones(300_000, dtype=np.int64) for _ in range(8)]  # a block's temporaries, 2.4 MB each
del blocks
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):  # thirty more blocks: same sizes, touched, freed
    blocks = [np.ones(300_000, dtype=np.int64) for _ in range(8)]
    del blocks
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    r = subprocess.run([sys.executable, "-c", _CODE, mode], capture_output=True, text=True, check=True)
    return int(r.stdout.strip())


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the thresholds settled are glibc's")
def test_settle_stops_refaulting_freed_temporaries():
    plain, settled = _faults("plain"), _faults("settle")
    # 30 rounds x 8 arrays x 586 pages: without settle() each round maps and faults its pages anew
    assert plain > 30 * 8 * 586 // 2
    assert settled < plain // 20

