"""How much does the tape cost? A chain of tanh ops, forward and backward, on the tape against the
same computation written by hand in NumPy.

    forward:   y_1 = tanh(x), y_2 = tanh(y_1), ..., y_n = tanh(y_{n-1})   (keeping every y_k)
    backward:  g_n = dL/dy_n;  g_{k-1} = g_k * (1 - y_k^2)                 (down to dL/dx)

The tape does exactly this arithmetic plus its bookkeeping (one node per op, the backward walk,
storing x.grad), so the ratio of the two times is the tape's overhead. The two implementations are
interleaved: each repeat runs both, one right after the other, so both see the same machine. The
table gives the median time of each and, as the ratio, the median over repeats of tape / NumPy
within a repeat (on a shared machine the speed drifts over a run; a ratio taken within one repeat
cancels that drift, a ratio of two medians need not). By default the clock is this process's CPU
time, which other processes on a shared machine do not inflate; --clock wall measures wall time.
Goals: <= 1.3x at 32x128 (small arrays: bookkeeping shows) and <= 1.1x at
64x1024 (large arrays: arithmetic dominates).

    python examples/benchmark_tape.py --repeats 30
"""

import argparse
import time

import numpy as np

import tinygrad_rnn as tg

CASES = [((32, 128), 1.3), ((64, 1024), 1.1)]  # (shape, goal for tape time / NumPy time)


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


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def time_once(clock, fn, *args):
    start = clock()
    fn(*args)
    return clock() - start


def measure(shape, steps, repeats, rng, clock):
    x = rng.standard_normal(shape).astype(np.float32)
    grad = rng.standard_normal(shape).astype(np.float32)
    # Both must compute the same thing, or the comparison means nothing.
    np.testing.assert_allclose(tape_chain(x, grad, steps), numpy_chain(x, grad, steps), rtol=1e-5, atol=1e-6)
    for _ in range(2):  # warm up caches and the allocator
        tape_chain(x, grad, steps)
        numpy_chain(x, grad, steps)
    tape_times, numpy_times = [], []
    for r in range(repeats):
        # Alternate which goes first, so neither always runs on a warmer cache.
        if r % 2 == 0:
            tape_times.append(time_once(clock, tape_chain, x, grad, steps))
            numpy_times.append(time_once(clock, numpy_chain, x, grad, steps))
        else:
            numpy_times.append(time_once(clock, numpy_chain, x, grad, steps))
            tape_times.append(time_once(clock, tape_chain, x, grad, steps))
    tape_times, numpy_times = np.array(tape_times), np.array(numpy_times)
    ratio = float(np.median(tape_times / numpy_times))
    return float(np.median(tape_times)) * 1e3, float(np.median(numpy_times)) * 1e3, ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30, help="timed runs of each implementation (default 30)")
    parser.add_argument("--steps", type=int, default=100, help="length of the tanh chain (default 100)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="cpu: this process's CPU time (default; robust on a shared machine); wall: wall time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.steps < 1:
        parser.error("--repeats and --steps must be positive")

    rng = np.random.default_rng(args.seed)
    print(f"chain of {args.steps} tanh ops, forward + backward, float32, median of {args.repeats} interleaved runs, "
          f"{args.clock} clock")
    print(f"{'shape':>10}  {'tape ms':>9}  {'numpy ms':>9}  {'ratio':>6}  {'goal':>6}  result")
    ratios = []
    for shape, goal in CASES:
        tape_ms, numpy_ms, ratio = measure(shape, args.steps, args.repeats, rng, CLOCKS[args.clock])
        ratios.append(ratio)
        verdict = "ok" if ratio <= goal else "over goal"
        label = f"{shape[0]}x{shape[1]}"
        print(f"{label:>10}  {tape_ms:9.3f}  {numpy_ms:9.3f}  {ratio:5.2f}x  {goal:5.2f}x  {verdict}")
    print("ratios: " + ", ".join(f"{shape[0]}x{shape[1]} {r:.2f}x" for (shape, _), r in zip(CASES, ratios)))


if __name__ == "__main__":
    main()
