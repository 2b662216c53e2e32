"""Benchmark: one training step (forward over the sequence + backward) of tinygrad_rnn's LSTM, GRU
and RNN layers next to PyTorch's fused nn.LSTM and an LSTM written as a Python loop of torch ops.

    python examples/benchmark_rnn.py                   # all four configs, float32 and float64
    python examples/benchmark_rnn.py --quick           # a short look: float32, 3 repeats
    python examples/benchmark_rnn.py --configs 2,3 --dtypes float32 --repeats 9
    python examples/benchmark_rnn.py --backend cupy    # on an NVIDIA GPU: CuPy against torch on CUDA

A training step: forward over T steps, then backward of sum(output * G) for a fixed random G
(a random upstream gradient, so no backward can take a shortcut that only works for sum()).
Implementations are interleaved (one step of each in turn, repeated) and the median is reported,
since on a shared 2-core machine small matmuls run fast or slow by chance for seconds at a time.
PyTorch is given as many threads as NumPy's BLAS uses, so both do the same matmuls on the same cores.
Single-process numbers: run the script several times before drawing a conclusion from a 10% gap.
On a machine other processes are using, threads that spin while they wait for a busy core can
make any step 10x slower; there, `OPENBLAS_NUM_THREADS=1 python examples/benchmark_rnn.py
--clock cpu` (one thread each, CPU time) still compares the implementations fairly.

Two PyTorch loops: 'torch loop' computes x_t W_ih^T inside every step (as most hand-written loops
do); 'torch loop+h' hoists it out like tinygrad_rnn's layers do.

With --backend cupy, tinygrad_rnn runs on CuPy and PyTorch on CUDA ('torch fused' is then cuDNN's
LSTM). GPU kernels run asynchronously, so each timed step ends by waiting for the GPU (CuPy's and
torch's queues both), and the wall clock is used. On a GPU these small layers are bound by the cost
of launching kernels from Python, so expect the loops (ours and torch's) far behind cuDNN.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import nn  # noqa: E402
from tinygrad_rnn.backend import get_backend, to_backend  # noqa: E402
from tinygrad_rnn.errors import BackendError  # noqa: E402

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
    bound = 1 / np.sqrt(H)

    def param(*shape):
        return torch.tensor(rng.uniform(-bound, bound, shape).astype(dtype), device=device, requires_grad=True)

    w_ih, w_hh, b_ih, b_hh = param(4 * H, I), param(4 * H, H), param(4 * H), param(4 * H)
    params = [w_ih, w_hh, b_ih, b_hh]
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


def time_config(config, dtype, repeats, warmup, names, clock=time.perf_counter, backend="numpy"):
    rng = np.random.default_rng(0)
    steps = {name: IMPLEMENTATIONS[name][1](config, dtype, rng, backend) for name in names}
    synchronize = gpu_synchronizer(backend, names)
    for _ in range(warmup):
        for name in names:
            steps[name]()
    synchronize()
    times = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:  # interleaved: a slow patch of the machine hits every implementation
            start = clock()
            steps[name]()
            synchronize()
            times[name].append((clock() - start) * 1e3)
    return {name: statistics.median(ts) for name, ts in times.items()}


def parse_args(argv):
    listing = "; ".join(f"{k + 1}: T={T} B={B} I={I} H={H}" for k, (T, B, I, H) in enumerate(CONFIGS))
    parser = argparse.ArgumentParser(
        description="ms per training step (forward + backward) of tinygrad_rnn's RNN layers against PyTorch.",
        epilog=f"Configs: {listing}. Implementations: "
        + "; ".join(f"'{k}' = {v[0]}" for k, v in IMPLEMENTATIONS.items()),
    )
    parser.add_argument("--configs", default="1,2,3,4", help="comma-separated config numbers (default: all four)")
    parser.add_argument("--dtypes", default="float32,float64", help="comma-separated: float32, float64")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed steps per implementation (default 7; 3 with --quick)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per implementation first (default 1)")
    parser.add_argument("--quick", action="store_true", help="a short look: float32 only, 3 repeats")
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall",
        help="wall: elapsed time (default); cpu: this process's CPU time, steadier on a shared machine "
        "but it also counts threads that spin while waiting (use with OPENBLAS_NUM_THREADS=1)",
    )
    parser.add_argument("--impls", default=",".join(IMPLEMENTATIONS), help="comma-separated implementation names")
    parser.add_argument(
        "--default-malloc", action="store_true",
        help="leave glibc's malloc as it is (by default the benchmark calls tinygrad_rnn.reuse_freed_memory())",
    )
    parser.add_argument(
        "--backend", choices=["numpy", "cupy"], default="numpy",
        help="numpy: CPU (default); cupy: tinygrad_rnn on CuPy and torch on CUDA (needs an NVIDIA GPU)",
    )
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
    if args.quick and args.dtypes == parser.get_default("dtypes"):
        args.dtypes = "float32"
    args.dtypes = [d.strip() for d in args.dtypes.split(",")]
    for d in args.dtypes:
        if d not in ("float32", "float64"):
            parser.error(f"--dtypes takes float32 and/or float64, got {d!r}")
    args.impls = [s.strip() for s in args.impls.split(",")]
    for name in args.impls:
        if name not in IMPLEMENTATIONS:
            parser.error(f"unknown implementation {name!r}; choose from {', '.join(IMPLEMENTATIONS)}")
    if args.backend == "cupy" and uses_torch(args.impls):
        import torch

        if not torch.cuda.is_available():  # e.g. the CPU build of torch that the dev extra pins
            args.impls = [name for name in args.impls if not name.startswith("torch")]
            print(f"note: torch {torch.__version__} cannot use the GPU (a CPU build, or no CUDA), so the "
                  f"torch implementations are left out; install a CUDA build of torch to compare with them")
            if not args.impls:
                parser.error("only torch implementations were asked for, and torch cannot use the GPU here")
    if args.repeats is None:
        args.repeats = 3 if args.quick else 7
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch

    # A benchmark owns its process: keep freed arrays' memory for reuse, as a training script would.
    kept = False if args.default_malloc else tg.reuse_freed_memory()
    print(f"malloc: {'freed blocks kept for reuse (tinygrad_rnn.reuse_freed_memory())' if kept else 'as the process started'}")

    if args.backend == "cupy":
        import cupy

        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        name = name.decode() if isinstance(name, bytes) else name
        print(f"GPU: {name}; CuPy {cupy.__version__}, torch {torch.__version__} (CUDA "
              f"{torch.version.cuda}). Median of {args.repeats} interleaved steps, ms per step (wall clock, "
              f"each step waits for the GPU to finish).")
    else:
        threads, source = blas_threads()
        torch.set_num_threads(threads)
        print(f"NumPy {np.__version__} BLAS threads: {threads} ({source}); torch {torch.__version__} set to "
              f"{torch.get_num_threads()} threads to match. Median of {args.repeats} interleaved steps, "
              f"ms per step ({args.clock} clock).")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        print(f"note: load average {load:.1f} on {os.cpu_count()} cores: other processes share the CPU, so "
              f"timings (and the ratios between them) are less reliable; rerun on an idle machine")
    names = args.impls
    ratio_to = [r for r in ("torch loop", "torch fused") if r in names]
    header = f"{'config':<22} {'dtype':<8}" + "".join(f"{n:>13}" for n in names)
    header += "".join(f"{'tg LSTM/' + r.split()[1]:>15}" for r in ratio_to if "tg LSTM" in names)
    print(header)
    print("-" * len(header))
    for config in args.configs:
        for dtype_name in args.dtypes:
            dtype = np.dtype(dtype_name).type
            clock = time.process_time if args.clock == "cpu" else time.perf_counter
            ms = time_config(config, dtype, args.repeats, args.warmup, names, clock, args.backend)
            T, B, I, H = config
            line = f"{f'T={T} B={B} I={I} H={H}':<22} {dtype_name:<8}" + "".join(f"{ms[n]:>13.1f}" for n in names)
            if "tg LSTM" in names:
                line += "".join(f"{ms['tg LSTM'] / ms[r]:>14.2f}x" for r in ratio_to)
            print(line, flush=True)


if __name__ == "__main__":
    main()
