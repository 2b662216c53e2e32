"""Benchmark: one training step (forward over the sequence + backward) of tinygrad_rnn's LSTM, GRU
and RNN layers next to the same step written by hand in NumPy (examples/hand_bptt.py), PyTorch's
fused nn.LSTM, and an LSTM written as a Python loop of torch ops; and the memory BPTT keeps per step.

    python examples/benchmark_rnn.py                   # all four configs, float32
    python examples/benchmark_rnn.py --quick           # a short look: one process each, 3 steps
    python examples/benchmark_rnn.py --configs 4 --dtypes float32,float64 --processes 5
    python examples/benchmark_rnn.py --backend cupy    # on an NVIDIA GPU: CuPy against torch on CUDA

A training step: forward over T steps from a zero state, then backward of sum(output * G) for a
fixed random G (a random upstream gradient, so no backward can take a shortcut that only works for
sum()). The weights are drawn the same way everywhere.

Each implementation runs in processes of its own (--processes of them, 3 by default, in rotating
order), each timing --repeats steps after --warmup; the table gives the median of the process
medians. Separate processes because torch's thread pool and NumPy's OpenBLAS slow each other down
when they take turns in one process (shared/REFERENCE.md measured 23 ms against 98 ms), and because
small matmuls run fast or slow by chance for seconds at a time on a 2-core machine: spreading each
implementation over several processes and moments evens that out. PyTorch is given as many threads
as NumPy's BLAS uses. On a machine other processes are using, `OPENBLAS_NUM_THREADS=1 python
examples/benchmark_rnn.py --clock cpu` (one thread each, CPU time) still compares fairly.

Memory: the peak that tracemalloc sees during one training step (NumPy reports its arrays to it),
above what was allocated before the step, divided by T: the bytes BPTT keeps per time step. Measured
in a separate untimed step (tracing slows Python down). Not available for torch, whose allocator
tracemalloc does not see.

Goals (issue "Long sequences, small hidden sizes"): tg LSTM and tg GRU <= 1.3x the hand BPTT and
<= 0.8x the torch loop on every config, in float32; peak memory per step <= 2x the hand BPTT's.

With --backend cupy, tinygrad_rnn runs on CuPy and PyTorch on CUDA ('torch fused' is then cuDNN's
LSTM); the hand NumPy BPTT is left out. GPU kernels run asynchronously, so each timed step ends by
waiting for the GPU (CuPy's and torch's queues both), and the wall clock is used.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import deferred, nn  # noqa: E402
from tinygrad_rnn.nn import recurrent  # noqa: E402
from tinygrad_rnn.ops import matmul  # noqa: E402
from tinygrad_rnn.backend import get_backend, to_backend  # noqa: E402
from tinygrad_rnn.errors import BackendError  # noqa: E402
from hand_bptt import HandGRU, HandLSTM  # noqa: E402

# (T, B, I, H): the configurations of shared/REFERENCE.md
CONFIGS = [(50, 32, 32, 128), (100, 64, 64, 256), (35, 20, 128, 512), (1000, 8, 8, 64)]


OPENBLAS_THREAD_QUERIES = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads")


def blas_threads():
    """How many threads NumPy's OpenBLAS runs (asked through its own C function where possible)."""
    try:
        import ctypes

        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
        for path in paths:
            lib = ctypes.CDLL(path)
            for name in OPENBLAS_THREAD_QUERIES:
                if hasattr(lib, name):
                    return int(getattr(lib, name)()), "OpenBLAS"
    except OSError:
        pass
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var]), var
    return os.cpu_count() or 1, "cpu count"


# ----------------------------------------------------------------------------------------------
# The implementations. Each `make_*` returns a function that runs one training step.


def layer_weights(config, dtype, rng, gates):
    """W_ih, W_hh, b_ih, b_hh ~ U(-1/sqrt(H), 1/sqrt(H)) in PyTorch's layout."""
    T, B, I, H = config
    bound = 1 / np.sqrt(H)
    shapes = [(gates * H, I), (gates * H, H), (gates * H,), (gates * H,)]
    return [rng.uniform(-bound, bound, shape).astype(dtype) for shape in shapes]


def make_ours(kind, config, dtype, rng, backend):
    T, B, I, H = config
    layer_class = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
    layer = layer_class(I, H, dtype=dtype, backend=backend)
    x = tg.Tensor(rng.standard_normal((T, B, I)).astype(dtype), requires_grad=True, backend=backend)
    # Already on the layer's backend, so no step pays for a host-to-device copy of it.
    upstream = to_backend(rng.standard_normal((T, B, H)).astype(dtype), backend)

    def step():
        layer.zero_grad()
        x.grad = None
        out, _ = layer(x)
        out.backward(upstream)

    return step


def make_hand(kind, config, dtype, rng, backend):
    """The hand-written NumPy BPTT (examples/hand_bptt.py), input projection hoisted."""
    T, B, I, H = config
    hand_class, gates = {"lstm": (HandLSTM, 4), "gru": (HandGRU, 3)}[kind]
    hand = hand_class(*layer_weights(config, dtype, rng, gates))
    x = rng.standard_normal((T, B, I)).astype(dtype)
    upstream = rng.standard_normal((T, B, H)).astype(dtype)

    def step():
        hand.forward(x)
        hand.backward(upstream)

    return step


def torch_device(backend):
    return "cuda" if backend == "cupy" else "cpu"


def make_torch_fused(config, dtype, rng, backend):
    import torch

    T, B, I, H = config
    device = torch_device(backend)
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    lstm = torch.nn.LSTM(I, H).to(device=device, dtype=torch_dtype)
    x = torch.tensor(rng.standard_normal((T, B, I)).astype(dtype), device=device, requires_grad=True)
    upstream = torch.tensor(rng.standard_normal((T, B, H)).astype(dtype), device=device)

    def step():
        lstm.zero_grad(set_to_none=True)
        x.grad = None
        out, _ = lstm(x)
        out.backward(upstream)

    return step


def make_torch_loop(config, dtype, rng, backend, hoisted):
    """The LSTM equations as a Python loop of torch ops (what one writes without nn.LSTM)."""
    import torch

    T, B, I, H = config
    device = torch_device(backend)
    torch_dtype = torch.float32 if dtype == np.float32 else torch.float64
    params = [torch.tensor(w, device=device, requires_grad=True) for w in layer_weights(config, dtype, rng, 4)]
    w_ih, w_hh, b_ih, b_hh = params
    x = torch.tensor(rng.standard_normal((T, B, I)).astype(dtype), device=device, requires_grad=True)
    upstream = torch.tensor(rng.standard_normal((T, B, H)).astype(dtype), device=device)

    def step():
        for p in params + [x]:
            p.grad = None
        h = torch.zeros(B, H, dtype=torch_dtype, device=device)
        c = torch.zeros(B, H, dtype=torch_dtype, device=device)
        if hoisted:
            x_proj = (x @ w_ih.T + (b_ih + b_hh)).unbind(0)
        outputs = []
        for t in range(T):
            if hoisted:
                gates = x_proj[t] + h @ w_hh.T
            else:
                gates = x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
            i, f, g, o = gates.chunk(4, 1)
            i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            outputs.append(h)
        torch.stack(outputs).backward(upstream)

    return step


IMPLEMENTATIONS = {
    # name: (what it is, builder)
    "tg LSTM": ("tinygrad_rnn nn.LSTM", lambda c, d, r, b: make_ours("lstm", c, d, r, b)),
    "tg GRU": ("tinygrad_rnn nn.GRU", lambda c, d, r, b: make_ours("gru", c, d, r, b)),
    "tg RNN": ("tinygrad_rnn nn.RNN", lambda c, d, r, b: make_ours("rnn", c, d, r, b)),
    "hand LSTM": ("LSTM BPTT by hand in NumPy, input projection hoisted", lambda c, d, r, b: make_hand("lstm", c, d, r, b)),
    "hand GRU": ("GRU BPTT by hand in NumPy, input projection hoisted", lambda c, d, r, b: make_hand("gru", c, d, r, b)),
    "torch fused": ("torch.nn.LSTM (one fused op per layer; cuDNN on a GPU)", make_torch_fused),
    "torch loop": (
        "LSTM as a loop of torch ops, x_t W_ih^T in every step",
        lambda c, d, r, b: make_torch_loop(c, d, r, b, False),
    ),
    "torch loop+h": (
        "the same loop, x W_ih^T hoisted out of it",
        lambda c, d, r, b: make_torch_loop(c, d, r, b, True),
    ),
}

# (numerator, denominator, goal): the ratios the table prints, where both columns were timed
RATIOS = [
    ("tg LSTM", "hand LSTM", 1.3),
    ("tg GRU", "hand GRU", 1.3),
    ("tg LSTM", "torch loop", 0.8),
    ("tg GRU", "torch loop", 0.8),
    ("tg LSTM", "torch fused", None),
]
MEMORY_RATIOS = [("tg LSTM", "hand LSTM", 2.0), ("tg GRU", "hand GRU", 2.0)]


def uses_torch(names):
    return any(name.startswith("torch") for name in names)


def gpu_synchronizer(backend, names):
    """A function that waits until the GPU has run every queued kernel (a no-op on the CPU):
    CuPy's queue, and torch's when a torch implementation is timed."""
    if backend != "cupy":
        return lambda: None
    import cupy

    with_torch = uses_torch(names)
    if with_torch:
        import torch

    def synchronize():
        cupy.cuda.Device().synchronize()
        if with_torch:
            torch.cuda.synchronize()

    return synchronize


# ----------------------------------------------------------------------------------------------
# One process: one implementation, one config, one dtype


FAST_PATHS = ("replay", "defer", "gc", "layout")  # what --without can switch off, to measure what each gives


def switch_off(fast_paths):
    """Run tinygrad_rnn without these mechanisms in this process: 'replay' (layers run the cell's
    code at every step instead of replaying it, replay.py), 'defer' (weight gradients summed per
    step instead of in one matmul, deferred.py), 'gc' (the cycle collector's first young
    collection after a layer call scans the new graph, nn/recurrent.py), 'layout' (h @ W^T in
    the order it is written, ops/matmul.py). Results are the same, to round-off for 'layout' and
    'defer'; only the time differs."""
    if "replay" in fast_paths:
        for cell in (nn.RNNCell, nn.LSTMCell, nn.GRUCell):
            cell.replayable = False
    if "defer" in fast_paths:
        deferred.MIN_SIZE = float("inf")
    if "gc" in fast_paths:
        recurrent.HAND_GRAPH_TO_OLD_GENERATION = False
    if "layout" in fast_paths:
        matmul.TRANSPOSED_WEIGHT_FIRST = False


def run_worker(name, config, dtype_name, repeats, warmup, clock_name, backend, memory, default_malloc,
               without=()):
    """Time `repeats` steps of one implementation in this process; print one JSON line."""
    switch_off(without)
    if not default_malloc:
        # A benchmark owns its process: keep freed arrays' memory for reuse, as a training script
        # would (BPTT frees and reallocates same-size arrays every step; see allocator.py).
        tg.reuse_freed_memory()
    if name.startswith("torch"):
        import torch

        if backend == "numpy":
            torch.set_num_threads(blas_threads()[0])
    dtype = np.dtype(dtype_name).type
    step = IMPLEMENTATIONS[name][1](config, dtype, np.random.default_rng(0), backend)
    synchronize = gpu_synchronizer(backend, [name])
    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    for _ in range(warmup):
        step()
    synchronize()
    times = []
    for _ in range(repeats):
        start = clock()
        step()
        synchronize()
        times.append((clock() - start) * 1e3)
    result = {"ms": statistics.median(times)}
    if memory and backend == "numpy" and not name.startswith("torch"):
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        step()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        result["kib_per_step"] = (peak - before) / 1024 / config[0]
    print(json.dumps(result))


def run_in_process(name, config, dtype_name, args):
    command = [sys.executable, os.path.abspath(__file__), "--worker", name,
               "--configs", str(CONFIGS.index(config) + 1), "--dtypes", dtype_name,
               "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--clock", args.clock,
               "--backend", args.backend, "--memory" if args.memory else "--no-memory"]
    command += ["--default-malloc"] if args.default_malloc else []
    command += ["--without", ",".join(args.without)] if args.without else []
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{name} failed on {config} {dtype_name}:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(config, dtype_name, names, args):
    """Median over processes of each implementation's per-process median (and its memory)."""
    ms = {name: [] for name in names}
    memory = {}
    for p in range(args.processes):
        for name in names[p % len(names):] + names[: p % len(names)]:  # rotate who goes first
            result = run_in_process(name, config, dtype_name, args)
            ms[name].append(result["ms"])
            if "kib_per_step" in result:
                memory[name] = result["kib_per_step"]  # deterministic: any process's will do
    return {name: statistics.median(values) for name, values in ms.items()}, memory


# ----------------------------------------------------------------------------------------------
# The table


def parse_args(argv):
    listing = "; ".join(f"{k + 1}: T={T} B={B} I={I} H={H}" for k, (T, B, I, H) in enumerate(CONFIGS))
    parser = argparse.ArgumentParser(
        description="ms per training step (forward + backward) of tinygrad_rnn's RNN layers against hand-written "
        "NumPy BPTT and PyTorch, and the memory BPTT keeps per time step.",
        epilog=f"Configs: {listing}. Implementations: "
        + "; ".join(f"'{k}' = {v[0]}" for k, v in IMPLEMENTATIONS.items()),
    )
    parser.add_argument("--configs", default="1,2,3,4", help="comma-separated config numbers (default: all four)")
    parser.add_argument("--dtypes", default="float32", help="comma-separated: float32, float64 (default float32)")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed steps per process (default 10; 3 with --quick)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per process first (default 1)")
    parser.add_argument(
        "--processes", type=int, default=None, help="processes per implementation (default 3; 1 with --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="a short look: one process each, 3 repeats")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True,
                        help="measure the memory kept per time step (default; --no-memory skips it)")
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall",
        help="wall: elapsed time (default); cpu: the process's CPU time, steadier on a shared machine "
        "but it also counts threads that spin while waiting (use with OPENBLAS_NUM_THREADS=1)",
    )
    parser.add_argument("--impls", default=None, help="comma-separated implementation names (default: all)")
    parser.add_argument(
        "--default-malloc", action="store_true",
        help="leave glibc's malloc as it is (by default the benchmark calls tinygrad_rnn.reuse_freed_memory())",
    )
    parser.add_argument(
        "--backend", choices=["numpy", "cupy"], default="numpy",
        help="numpy: CPU (default); cupy: tinygrad_rnn on CuPy and torch on CUDA (needs an NVIDIA GPU)",
    )
    parser.add_argument(
        "--without", default="",
        help="comma-separated tinygrad_rnn mechanisms to switch off, to see what each gives: replay (layers "
        "run the cell's code at every step), defer (weight gradients summed per step), gc (the collector "
        "scans each new graph once), layout (h @ W^T as written); default: none",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one implementation in this process
    args = parser.parse_args(argv)
    if args.backend == "cupy":
        if args.clock == "cpu":
            parser.error("--backend cupy times the GPU, which the CPU clock does not see; use --clock wall")
        try:
            get_backend("cupy")
        except BackendError as exc:
            parser.error(str(exc))  # says whether CuPy or the GPU is what is missing
        args.warmup = max(args.warmup, 3)  # CuPy compiles each kernel on first use, cuDNN picks algorithms
    try:
        args.configs = [CONFIGS[int(k) - 1] for k in args.configs.split(",")]
    except (ValueError, IndexError):
        parser.error(f"--configs takes numbers from 1 to {len(CONFIGS)}, got {args.configs!r}")
    args.without = [w.strip() for w in args.without.split(",") if w.strip()]
    for w in args.without:
        if w not in FAST_PATHS:
            parser.error(f"--without takes {', '.join(FAST_PATHS)} (comma-separated), got {w!r}")
    args.dtypes = [d.strip() for d in args.dtypes.split(",")]
    for d in args.dtypes:
        if d not in ("float32", "float64"):
            parser.error(f"--dtypes takes float32 and/or float64, got {d!r}")
    if args.impls is None:
        args.impls = [n for n in IMPLEMENTATIONS if not (args.backend == "cupy" and n.startswith("hand"))]
    else:
        args.impls = [s.strip() for s in args.impls.split(",")]
    for name in args.impls:
        if name not in IMPLEMENTATIONS:
            parser.error(f"unknown implementation {name!r}; choose from {', '.join(IMPLEMENTATIONS)}")
        if args.backend == "cupy" and name.startswith("hand"):
            parser.error(f"{name!r} is NumPy code and runs on the CPU only")
    if args.backend == "cupy" and uses_torch(args.impls) and args.worker is None:
        import torch

        if not torch.cuda.is_available():  # e.g. the CPU build of torch that the dev extra pins
            args.impls = [name for name in args.impls if not name.startswith("torch")]
            print(f"note: torch {torch.__version__} cannot use the GPU (a CPU build, or no CUDA), so the "
                  f"torch implementations are left out; install a CUDA build of torch to compare with them")
            if not args.impls:
                parser.error("only torch implementations were asked for, and torch cannot use the GPU here")
    if args.repeats is None:
        args.repeats = 3 if args.quick else 10
    if args.processes is None:
        args.processes = 1 if args.quick else 3
    if args.repeats < 1 or args.processes < 1:
        parser.error("--repeats and --processes must be at least 1")
    return args


def print_header(args):
    if args.backend == "cupy":
        import cupy

        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        name = name.decode() if isinstance(name, bytes) else name
        print(f"GPU: {name}; CuPy {cupy.__version__}. Wall clock; each step waits for the GPU to finish.")
    else:
        threads, source = blas_threads()
        print(f"NumPy {np.__version__}, BLAS threads: {threads} ({source}); torch, in its own processes, gets as many.")
    print(f"malloc: {'as the process started' if args.default_malloc else 'freed blocks kept for reuse (tinygrad_rnn.reuse_freed_memory())'}")
    if args.without:
        print(f"tinygrad_rnn without: {', '.join(args.without)} (switched off for this run)")
    print(f"ms per training step: median over {args.processes} process(es) of each one's median of "
          f"{args.repeats} steps ({args.clock} clock).")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        print(f"note: load average {load:.1f} on {os.cpu_count()} cores: other processes share the CPU, so "
              f"timings (and the ratios between them) are less reliable; rerun on an idle machine")


def main(argv=None):
    args = parse_args(argv)
    if args.worker is not None:
        run_worker(args.worker, args.configs[0], args.dtypes[0], args.repeats, args.warmup, args.clock,
                   args.backend, args.memory, args.default_malloc, args.without)
        return
    print_header(args)
    names = args.impls
    ratios = [(a, b, goal) for a, b, goal in RATIOS if a in names and b in names]
    memory_ratios = [(a, b, goal) for a, b, goal in MEMORY_RATIOS if a in names and b in names] if args.memory else []

    def ratio_label(a, b, goal):
        return f"{a.split()[1]}/{b}" + (f" (<={goal})" if goal else "")

    header = f"{'config':<22} {'dtype':<8}" + "".join(f"{n:>13}" for n in names)
    header += "".join(f"{ratio_label(*r):>26}" for r in ratios)
    print("\n" + header)
    print("-" * len(header))
    memory_rows = []
    for config in args.configs:
        for dtype_name in args.dtypes:
            ms, memory = measure(config, dtype_name, names, args)
            T, B, I, H = config
            label = f"{f'T={T} B={B} I={I} H={H}':<22} {dtype_name:<8}"
            line = label + "".join(f"{ms[n]:>13.1f}" for n in names)
            line += "".join(f"{ms[a] / ms[b]:>25.2f}x" for a, b, _ in ratios)
            print(line, flush=True)
            memory_rows.append((label, memory))
    if not args.memory or not any(memory for _, memory in memory_rows):
        return
    measured = [n for n in names if any(n in memory for _, memory in memory_rows)]
    print("\nKiB kept per time step (tracemalloc peak of one training step / T)")
    header = f"{'config':<22} {'dtype':<8}" + "".join(f"{n:>13}" for n in measured)
    header += "".join(f"{ratio_label(*r):>26}" for r in memory_ratios)
    print(header)
    print("-" * len(header))
    for label, memory in memory_rows:
        line = label + "".join(f"{memory[n]:>13.1f}" for n in measured)
        line += "".join(f"{memory[a] / memory[b]:>25.2f}x" for a, b, _ in memory_ratios)
        print(line)


if __name__ == "__main__":
    main()
