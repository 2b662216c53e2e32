"""Where a recurrent layer's time step goes: each op's own arithmetic, the tape around the ops,
and the hand-written BPTT (examples/hand_bptt.py) as the yardstick.

    python examples/step_breakdown.py                           # LSTM and GRU, T=1000 B=8 I=8 H=64
    python examples/step_breakdown.py --config 50,32,32,128 --cells lstm

For each cell, in microseconds per time step (float32, NumPy):
- each op of one time step in the middle of the sequence, its forward and its backward called
  again and again on arrays of that step's shapes: warm caches and no tape, so a lower bound on
  what the op's arithmetic costs;
- the layer in a training step (forward from a zero state, backward of a random upstream
  gradient, freeing the graph), CPU time, the median of --repeats steps;
- the hand BPTT's forward and backward, with the layer's weights.

The ops alone against the hand BPTT say what the arithmetic of a Function-per-op graph costs;
the layer minus the ops alone, per op node, is what the tape costs around them (node and tensor
objects, the replay, the walk, and arrays that are no longer warm). A backward that hands its
weight gradient on unmultiplied (large products, see tinygrad_rnn/deferred.py) is timed without
that product, which the walk does later.
"""

import _common  # noqa: F401  (sets BLAS threads before NumPy loads)

import argparse
import statistics
import time

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz.walk import TapeView
from _common import print_table
from hand_bptt import HandGRU, HandLSTM

LAYERS = {"lstm": (nn.LSTM, HandLSTM), "gru": (nn.GRU, HandGRU)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="1000,8,8,64", help="T,B,I,H (default 1000,8,8,64)")
    p.add_argument("--cells", default="lstm,gru", help="cells, from lstm,gru (default both)")
    p.add_argument("--repeats", type=int, default=10, help="training steps timed per part (default 10)")
    p.add_argument("--op-calls", type=int, default=2000, help="calls per op forward and backward (default 2000)")
    args = p.parse_args(argv)
    try:
        args.config = tuple(int(v) for v in args.config.split(","))
        assert len(args.config) == 4 and min(args.config) > 0
    except (ValueError, AssertionError):
        p.error(f"--config takes four positive integers T,B,I,H, got {args.config!r}")
    args.cells = [c.strip() for c in args.cells.split(",")]
    unknown = [c for c in args.cells if c not in LAYERS]
    if unknown:
        p.error(f"--cells takes lstm and gru, got {', '.join(unknown)}")
    if args.config[0] < 4:
        p.error("--config: T must be at least 4, so that the middle step is a replayed one")
    return args


def middle_step_ops(out, step):
    """[(op node, its output tensors)] of the ops recorded at time step `step`, in forward order."""
    view = TapeView([out])
    return [(fn, view.produced[id(fn)]) for fn in view.ops if fn.step == step]


def op_costs(layer, x, step, calls, rng):
    """{op label: (forward µs, backward µs)} of the ops of time step `step`, each called `calls`
    times on arrays of its inputs' and outputs' shapes, summed over the ops of one label."""
    out, _ = layer(x)
    costs = {}
    for fn, outputs in middle_step_ops(out, step):
        # The step's own arrays where the tape kept them (the weights' transposed views keep
        # their layout, which matmul's speed depends on); random ones of the recorded shapes
        # where it released them.
        inputs = [t.data if type(t.data) is np.ndarray else _standard_normal(rng, t.shape, t.dtype)
                  for t in fn.inputs]
        grads = [_standard_normal(rng, t.shape, t.dtype) for t in sorted(outputs, key=lambda t: t._index)]
        forward = _time_calls(lambda: fn.forward(*inputs), calls)
        fn.forward(*inputs)  # what backward reads (fn.saved) comes from these inputs
        backward = _time_calls(lambda: fn.backward(*grads), calls)
        before = costs.get(fn.name, (0.0, 0.0, 0))
        costs[fn.name] = (before[0] + forward, before[1] + backward, before[2] + 1)
    return costs


def layer_costs(layer, x, upstream, repeats):
    """(forward, backward, freeing the graph) in µs per time step: medians of CPU time."""
    T = x.shape[0]
    parts = {"forward": [], "backward": [], "free": []}
    for r in range(repeats + 2):
        layer.zero_grad()
        x.grad = None
        t0 = time.process_time()
        out, _ = layer(x)
        t1 = time.process_time()
        out.backward(upstream)
        t2 = time.process_time()
        del out, _
        t3 = time.process_time()
        if r >= 2:  # two warm-up steps
            for part, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2)):
                parts[part].append(seconds)
    return tuple(statistics.median(v) / T * 1e6 for v in parts.values())


def hand_costs(layer, hand_class, x, upstream, repeats):
    """(forward, backward) of the hand BPTT with the layer's weights, µs per time step."""
    weights = [layer.state_dict()[k] for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")]
    hand = hand_class(*weights)
    T = x.shape[0]
    forward, backward = [], []
    for r in range(repeats + 2):
        t0 = time.process_time()
        hand.forward(x)
        t1 = time.process_time()
        hand.backward(upstream)
        t2 = time.process_time()
        if r >= 2:
            forward.append(t1 - t0)
            backward.append(t2 - t1)
    return statistics.median(forward) / T * 1e6, statistics.median(backward) / T * 1e6


def breakdown(kind, config, repeats, calls, seed=0):
    """The rows of one cell's table and its summary line."""
    T, B, I, H = config
    rng = np.random.default_rng(seed)
    layer_class, hand_class = LAYERS[kind]
    layer = layer_class(I, H, dtype=np.float32)
    x_array = rng.standard_normal((T, B, I)).astype(np.float32)
    upstream = rng.standard_normal((T, B, H)).astype(np.float32)
    x = tg.Tensor(x_array, requires_grad=True)

    ops = op_costs(layer, x, T // 2, calls, rng)
    fwd, bwd, free = layer_costs(layer, x, upstream, repeats)
    hand_fwd, hand_bwd = hand_costs(layer, hand_class, x_array, upstream, repeats)

    rows = [[f"{name} (x{n})", f"{f:.1f}", f"{b:.1f}", "", f"{f + b:.1f}"] for name, (f, b, n) in
            sorted(ops.items(), key=lambda item: -(item[1][0] + item[1][1]))]
    ops_fwd = sum(f for f, _, _ in ops.values())
    ops_bwd = sum(b for _, b, _ in ops.values())
    nodes = sum(n for _, _, n in ops.values())
    layer_total, hand_total, ops_total = fwd + bwd + free, hand_fwd + hand_bwd, ops_fwd + ops_bwd
    rows += [
        ["ops alone (sum of the above)", f"{ops_fwd:.1f}", f"{ops_bwd:.1f}", "", f"{ops_total:.1f}"],
        ["layer, training step", f"{fwd:.1f}", f"{bwd:.1f}", f"{free:.1f}", f"{layer_total:.1f}"],
        ["hand BPTT", f"{hand_fwd:.1f}", f"{hand_bwd:.1f}", "", f"{hand_total:.1f}"],
    ]
    summary = (
        f"layer / hand {layer_total / hand_total:.2f}x; ops alone / hand {ops_total / hand_total:.2f}x; "
        f"the tape around the ops: {(layer_total - ops_total) / nodes:.1f} µs per op node ({nodes} per step). "
        f"At 1.3x the hand BPTT it would have {(1.3 * hand_total - ops_total) / nodes:.1f} µs per node."
    )
    return rows, summary


def main(argv=None):
    args = parse_args(argv)
    T, B, I, H = args.config
    print(f"µs per time step, T={T} B={B} I={I} H={H}, float32, NumPy {np.__version__}; "
          f"ops: {args.op_calls} calls each, warm; layer and hand: median of {args.repeats} steps, CPU time")
    for kind in args.cells:
        rows, summary = breakdown(kind, args.config, args.repeats, args.op_calls)
        print(f"\n{kind.upper()}")
        print_table(["part", "forward", "backward", "free graph", "total"], rows)
        print(summary)


def _standard_normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _time_calls(call, calls):
    """µs per call of `call()`, the best of three rounds of `calls` calls."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, time.perf_counter() - t0)
    return best / calls * 1e6


if __name__ == "__main__":
    main()
