"""What the example scripts share: BLAS threads, a text progress bar, result tables, figures.

Import this module before NumPy (the examples do): it limits BLAS to one thread unless you chose
otherwise. The matmuls of these small recurrent nets are too small to gain from threads, and on a
busy 2-core machine a second BLAS thread that spins while waiting made a training step up to 25
times slower in our measurements.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import tinygrad_rnn  # noqa: E402  (after the BLAS settings above)

# An example is a whole program, so it may tune the process's malloc (the library never does on
# import): BPTT frees and reallocates arrays of the same sizes at every step. See allocator.py.
tinygrad_rnn.reuse_freed_memory()

DEFAULT_OUT = "examples_out"


class Progress:
    """A one-line text progress bar on stderr: `[#####.....] 50/100 loss=0.123 12.3s`.

    On a terminal it redraws in place; elsewhere (a log, a test) it prints a line every 10%.
    """

    def __init__(self, total, desc="", width=30, stream=None):
        self.total = max(1, int(total))
        self.desc = desc
        self.width = width
        self.stream = stream or sys.stderr
        self.count = 0
        self.start = time.perf_counter()
        self.last_draw = 0.0
        self.last_decile = -1
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.postfix = ""

    def update(self, n=1, **values):
        self.count += n
        if values:
            self.postfix = " ".join(f"{k}={_fmt(v)}" for k, v in values.items())
        now = time.perf_counter()
        if self.interactive:
            if now - self.last_draw > 0.1 or self.count >= self.total:
                self._draw("\r")
                self.last_draw = now
        else:
            decile = min(10, (10 * self.count) // self.total)
            if decile != self.last_decile:
                self.last_decile = decile
                self._draw("")
                self.stream.write("\n")

    def _draw(self, prefix):
        done = min(self.count, self.total)
        filled = (self.width * done) // self.total
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"{prefix}{self.desc} [{bar}] {done}/{self.total} {self.postfix} {elapsed:.1f}s")
        self.stream.flush()

    def close(self):
        if self.interactive:
            self._draw("\r")
            self.stream.write("\n")
        self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_table(headers, rows, title=None):
    """Print rows as a Markdown table (so it can be pasted into the docs as it is)."""
    cells = [[_fmt(c) if not isinstance(c, str) else c for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h)) for i, h in enumerate(headers)]
    if title:
        print(f"\n{title}")
    print("| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    sys.stdout.flush()


def out_dir(path):
    """The output folder, created if needed."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_figure(fig, out, name):
    """Save a matplotlib figure as out/name (PNG) and print where it went."""
    import matplotlib.pyplot as plt

    path = out_dir(out) / name
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"figure: {path}")
    return path


def pyplot():
    """matplotlib.pyplot with a backend that needs no display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check(condition, message):
    """--quick's assertion: exit with a clear message (status 1) when a claim does not hold."""
    if not condition:
        print(f"CHECK FAILED: {message}", file=sys.stderr)
        sys.exit(1)
    print(f"check passed: {message}")
