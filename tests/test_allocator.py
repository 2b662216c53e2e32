"""`import tinygrad_rnn` leaves the process's malloc alone; `tinygrad_rnn.reuse_freed_memory()`
changes it only when called. Measured as the issue did: the resident memory of a fresh process
after it allocates and frees 400 MiB of arrays."""

import os
import subprocess
import sys

SCRIPT = r"""
import os, sys
import numpy as np
if sys.argv[1] in ("import", "opt-in"):
    import tinygrad_rnn
if sys.argv[1] == "opt-in":
    assert tinygrad_rnn.reuse_freed_memory()
# 8 arrays of 50 MiB: each above the largest mmap threshold glibc picks by itself (32 MiB), so by
# default each is its own mapping, handed back to the system on free.
arrays = [np.ones(50 * 2**20 // 8) for _ in range(8)]
del arrays
with open("/proc/self/statm") as f:
    print(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20)
"""


def resident_mb_after_freeing(mode):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "TINYGRAD_RNN_"))}
    run = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, env=env, check=True)
    return float(run.stdout)


def test_import_does_not_change_malloc_and_the_opt_in_does():
    without = resident_mb_after_freeing("no-import")
    imported = resident_mb_after_freeing("import")
    opted_in = resident_mb_after_freeing("opt-in")
    # The import costs its own modules (a few tens of MB), not the 400 MiB that was freed.
    assert imported < without + 100, (without, imported)
    # The measurement can see the change: after the opt-in, the freed memory stays resident.
    assert opted_in > without + 300, (without, opted_in)


def test_reuse_freed_memory_is_public():
    import tinygrad_rnn

    assert "reuse_freed_memory" in tinygrad_rnn.__all__ and callable(tinygrad_rnn.reuse_freed_memory)
