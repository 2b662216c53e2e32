"""How much does the tape cost? A chain of tanh ops, forward and backward, on the tape against the
same computation written by hand in NumPy.

    forward:   y_1 = tanh(x), y_2 = tanh(y_1), ..., y_n = tanh(y_{n-1})   (keeping every y_k)
    backward:  g_n = dL/dy_n;  g_{k-1} = g_k * (1 - y_k^2)                 (down to dL/dx)

The tape does exactly this arithmetic plus its bookkeeping (one node per op, the backward walk,
storing x.grad), so the ratio of the two times is the tape's overhead. The implementations are
interleaved: each repeat runs all of them, one right after another, so all see the same machine.
The table gives the median time of each and, as the ratios, the median over repeats of tape / NumPy
(and bare / NumPy) within a repeat (on a shared machine the speed drifts over a run; a ratio taken within one repeat
cancels that drift, a ratio of two medians need not). By default the clock is this process's CPU
time, which other processes on a shared machine do not inflate; --clock wall measures wall time.
At 32x128 the arrays are small and the bookkeeping shows; at 64x1024 arithmetic dominates. These
ratios are reported, not goals: the Function-per-op tape is kept for readability, and what is held
to a goal is a whole training step (examples/benchmark_rnn.py).

A third column, 'bare', is the floor of this design: the same Function-object-per-op tape,
running the same Tanh op, reduced to what a tanh chain needs (an op object, a result object, a
walk in reverse recording order) without what tinygrad_rnn's tape also does for every op
(error checks, time-step tags, hooks, released-graph checks, several outputs,
gradient accumulation). tape/bare is the cost of those features; bare/numpy is the cost of
having a tape at all.

    python examples/benchmark_tape.py --repeats 30
"""

import argparse
import itertools
import time
from operator import attrgetter

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn.ops.activation import Tanh

SHAPES = [(32, 128), (64, 1024)]


def tape_chain(x_array, grad_array, steps):
    """Forward and backward on the tape; returns dL/dx."""
    x = tg.Tensor(x_array, requires_grad=True)
    h = x
    for _ in range(steps):
        h = h.tanh()
    h.backward(grad_array)
    return x.grad.data


def numpy_chain(x_array, grad_array, steps):
    """The same by hand: keep each y for the backward, then multiply the local derivatives in."""
    ys = []
    y = x_array
    for _ in range(steps):
        y = np.tanh(y)
        ys.append(y)
    g = grad_array
    for y in reversed(ys):
        g = g * (1 - y * y)
    return g


class _BareTensor:
    creator = None

    def __init__(self, data):
        self.data = data


_bare_order = itertools.count()


def _bare_tanh(x):
    op = Tanh.__new__(Tanh)  # tinygrad_rnn's own op, so both tapes run the same forward and backward
    op.inputs = (x,)
    op.number = next(_bare_order)
    out = _BareTensor(op.forward(x.data))
    out.creator = op
    return out


def bare_chain(x_array, grad_array, steps):
    """The chain on the bare tape (see the module docstring); returns dL/dx."""
    x = _BareTensor(x_array)
    h = x
    for _ in range(steps):
        h = _bare_tanh(h)
    stack, seen = [h.creator], {h.creator}
    while stack:
        for t in stack.pop().inputs:
            if t.creator is not None and t.creator not in seen:
                seen.add(t.creator)
                stack.append(t.creator)
    pending = {h.creator: grad_array}
    for op in sorted(seen, key=attrgetter("number"), reverse=True):
        for t, g in zip(op.inputs, op.backward(pending.pop(op))):
            pending[t.creator if t.creator is not None else t] = g
    return pending[x]


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def time_once(clock, fn, *args):
    start = clock()
    fn(*args)
    return clock() - start


def measure(shape, steps, repeats, rng, clock):
    x = rng.standard_normal(shape).astype(np.float32)
    grad = rng.standard_normal(shape).astype(np.float32)
    chains = {"tape": tape_chain, "bare": bare_chain, "numpy": numpy_chain}
    # All must compute the same thing, or the comparison means nothing.
    for name in ("tape", "bare"):
        np.testing.assert_allclose(chains[name](x, grad, steps), numpy_chain(x, grad, steps), rtol=1e-5, atol=1e-6)
    for _ in range(2):  # warm up caches and the allocator
        for chain in chains.values():
            chain(x, grad, steps)
    times = {name: [] for name in chains}
    names = list(chains)
    for r in range(repeats):
        # Rotate which goes first, so none always runs on a warmer cache.
        for name in names[r % 3:] + names[:r % 3]:
            times[name].append(time_once(clock, chains[name], x, grad, steps))
    times = {name: np.array(ts) for name, ts in times.items()}
    ms = {name: float(np.median(ts)) * 1e3 for name, ts in times.items()}
    ratio = float(np.median(times["tape"] / times["numpy"]))
    bare_ratio = float(np.median(times["bare"] / times["numpy"]))
    return ms, ratio, bare_ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30, help="timed runs of each implementation (default 30)")
    parser.add_argument("--steps", type=int, default=100, help="length of the tanh chain (default 100)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="cpu: this process's CPU time (default; robust on a shared machine); wall: wall time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's malloc as it is (by default: tinygrad_rnn.reuse_freed_memory())")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.steps < 1:
        parser.error("--repeats and --steps must be positive")
    # A benchmark owns its process: keep freed arrays' memory for reuse, as a training script would.
    # Both the tape and the NumPy reference run under the same malloc, so the ratio stays fair.
    kept = False if args.default_malloc else tg.reuse_freed_memory()

    rng = np.random.default_rng(args.seed)
    print(f"chain of {args.steps} tanh ops, forward + backward, float32, median of {args.repeats} interleaved runs, "
          f"{args.clock} clock, malloc {'tuned (reuse_freed_memory)' if kept else 'as the process started'}")
    print(f"{'shape':>10}  {'tape ms':>9}  {'bare ms':>9}  {'numpy ms':>9}  {'tape/np':>8}  {'bare/np':>8}")
    ratios = []
    for shape in SHAPES:
        ms, ratio, bare_ratio = measure(shape, args.steps, args.repeats, rng, CLOCKS[args.clock])
        ratios.append(ratio)
        label = f"{shape[0]}x{shape[1]}"
        print(f"{label:>10}  {ms['tape']:9.3f}  {ms['bare']:9.3f}  {ms['numpy']:9.3f}  {ratio:7.2f}x  "
              f"{bare_ratio:7.2f}x")
    print("ratios: " + ", ".join(f"{shape[0]}x{shape[1]} {r:.2f}x" for shape, r in zip(SHAPES, ratios)))


if __name__ == "__main__":
    main()
