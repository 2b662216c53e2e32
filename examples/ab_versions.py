"""Is this checkout faster or slower than another commit? Both versions run in one process, taking turns.

    python examples/ab_versions.py --base a26c438                     # the tanh chain, 32x128
    python examples/ab_versions.py --base HEAD~3 --layer GRU --config 1000,8,8,64 --repeats 12
    python examples/ab_versions.py --base-path ../other-checkout      # without git

Separate processes make a poor instrument for a few percent: the heap each process starts with
moves even a pure NumPy loop by up to 9% (seen with examples/benchmark_tape.py, whose NumPy
column changed that much between processes running the same code). Here the commit's package
is exported with `git archive` as `tinygrad_rnn_base`, imported beside this checkout's
`tinygrad_rnn`, and the two run alternately on the same arrays, in the same process. It prints
the median time of each and their ratio. Timings are not asserted anywhere (benchmarks print,
tests check).

Workloads: the chain of benchmark_tape.py (100 tanh ops, forward + backward; --shape), or with
--layer one training step of nn.LSTM / nn.GRU / nn.RNN as benchmark_rnn.py times it (--config
T,B,I,H).
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def export(revision, into):
    """`revision`'s tinygrad_rnn, importable from `into` as tinygrad_rnn_base."""
    try:
        archive = subprocess.run(["git", "archive", revision, "tinygrad_rnn"], cwd=ROOT, capture_output=True)
    except FileNotFoundError:
        sys.exit("ab_versions: git archive failed: git is not installed; give --base-path instead")
    if archive.returncode != 0:
        sys.exit(f"ab_versions: git archive {revision} failed: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    os.rename(os.path.join(into, "tinygrad_rnn"), os.path.join(into, "tinygrad_rnn_base"))
    sys.path.insert(0, into)


def copy_checkout(path, into):
    """The tinygrad_rnn of another checkout at `path`, importable from `into` as tinygrad_rnn_base."""
    package = os.path.join(path, "tinygrad_rnn")
    if not os.path.isdir(package):
        sys.exit(f"ab_versions: {path} holds no tinygrad_rnn package")
    shutil.copytree(package, os.path.join(into, "tinygrad_rnn_base"), ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, into)


def tanh_chain(tg, shape):
    rng = np.random.default_rng(0)
    x0, g0 = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))

    def run():
        x = tg.Tensor(x0, requires_grad=True)
        h = x
        for _ in range(100):
            h = h.tanh()
        h.backward(g0)
        return x.grad.numpy()

    return run


def layer_step(tg, kind, config):
    T, B, I, H = config
    np.random.seed(0)
    layer = getattr(tg.nn, kind)(I, H)
    x = tg.Tensor(np.random.randn(T, B, I).astype(np.float32))
    G = tg.Tensor(np.random.randn(T, B, H).astype(np.float32))

    def run():
        for p in layer.parameters():
            p.grad = None
        out, _ = layer(x)
        (out * G).sum().backward()
        return layer.weight_hh_l0.grad.numpy()

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--base", help="the commit to compare with (anything git names)")
    which.add_argument("--base-path", help="or another checkout (a folder holding tinygrad_rnn/) to compare with")
    parser.add_argument("--shape", default="32x128", help="the tanh chain's array shape (default 32x128)")
    parser.add_argument("--layer", choices=["LSTM", "GRU", "RNN"], help="time a layer's training step instead")
    parser.add_argument("--config", default="1000,8,8,64", help="T,B,I,H for --layer (default 1000,8,8,64)")
    parser.add_argument("--repeats", type=int, default=None, help="runs of each (default 400 for the chain, 12 for a layer)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (12 if args.layer else 400)
    if repeats < 2:
        parser.error("--repeats must be at least 2")

    with tempfile.TemporaryDirectory() as folder:
        if args.base is not None:
            export(args.base, folder)
        else:
            copy_checkout(args.base_path, folder)
        label = args.base or args.base_path
        import tinygrad_rnn as new
        import tinygrad_rnn_base as base

        for tg in (new, base):
            if hasattr(tg, "reuse_freed_memory"):
                tg.reuse_freed_memory()  # the same malloc for both (the first call decides it)
        if args.layer:
            config = tuple(int(v) for v in args.config.split(","))
            runs = {"base": layer_step(base, args.layer, config), "this": layer_step(new, args.layer, config)}
            what = f"{args.layer} training step, T,B,I,H = {config}"
        else:
            shape = tuple(int(v) for v in args.shape.split("x"))
            runs = {"base": tanh_chain(base, shape), "this": tanh_chain(new, shape)}
            what = f"chain of 100 tanh ops on {args.shape}, forward + backward"
        np.testing.assert_allclose(runs["this"](), runs["base"](), rtol=1e-5, atol=1e-6)  # the same work

        times = {name: [] for name in runs}
        for r in range(repeats):
            for name in ("base", "this") if r % 2 else ("this", "base"):  # neither always goes first
                start = time.process_time()
                runs[name]()
                times[name].append(time.process_time() - start)
    ms = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    print(f"{what}; median of {repeats} alternating runs in one process (cpu clock)")
    print(f"  {label}: {ms['base']:.3f} ms   this checkout: {ms['this']:.3f} ms   this / base: {ms['this'] / ms['base']:.3f}")


if __name__ == "__main__":
    main()
