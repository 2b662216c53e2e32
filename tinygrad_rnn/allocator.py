"""Let freed array memory be reused, the way PyTorch's caching allocator does.

Backprop through time allocates and frees arrays of the same few sizes at every step: gate
pre-activations, their gradients, the concatenated gate gradient. glibc's malloc hands any block
above 128 KiB straight back to the operating system on free, so the next step's identical array
costs fresh pages (page faults, zeroing): on a 64 x 1024 float64 array that is most of the cost
of an addition. Raising the mmap and trim thresholds keeps such blocks in the heap for reuse.
Measured: nn.LSTM T=100 B=64 H=256 float64 went from 424 to 337 ms per training step
(examples/benchmark_rnn.py --configs 2).

Opt-in: importing tinygrad_rnn changes nothing, since malloc belongs to the whole process (a
library must not alter process-global state on import). A program that trains calls it once:

    import tinygrad_rnn as tg
    tg.reuse_freed_memory()

The examples and benchmarks do. The price: freed blocks stay in the process, so its resident
memory does not shrink after large arrays are freed (after freeing 400 MiB of arrays, 429 MB
stay resident instead of 26 MB). glibc only; it steps aside when the user already tuned malloc
(MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ in the environment) or set
TINYGRAD_RNN_KEEP_MALLOC=0.
"""

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from glibc's malloc.h
M_MMAP_THRESHOLD = -3
KEEP_BYTES = 256 * 1024 * 1024  # blocks up to this size come from (and return to) the heap


def reuse_freed_memory():
    """Raise glibc's mmap and trim thresholds for the whole process, so that freed blocks up to
    256 MiB are kept for reuse; returns True when it did (False: not glibc, or the user opted out)."""
    if os.environ.get("TINYGRAD_RNN_KEEP_MALLOC", "1") == "0":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        gnu_get_libc_version = libc.gnu_get_libc_version  # glibc only (not musl, not macOS)
    except (OSError, AttributeError):
        return False
    del gnu_get_libc_version
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, 2 * KEEP_BYTES))
